//! The reminder outbox: phases that may need a reminder, reminders created once by their
//! unique key, messages claimed with a lease and their outcomes (receipts are in `receipts`).

use chrono::{DateTime, Duration, Utc};

use futures_util::StreamExt;

use super::{Store, StoreError, StoreResult, audit, in_tx, on_pool};
use crate::audit::AuditEvent;
use crate::ids::{OrgId, PhaseId, TaskId, UrgeId, UserId};

/// Reminders per transaction.
const TX_ROWS: usize = 1000;
/// Transactions writing a burst of reminders at once.
const PARALLEL_TXS: usize = 4;

/// An open phase of a task in progress that falls due before the schedule's horizon.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ReminderCandidate {
    /// The phase.
    pub phase_id: PhaseId,
    /// Its title, for the message.
    pub title: String,
    /// Its due date.
    pub due_at: DateTime<Utc>,
    /// Its task.
    pub task_id: TaskId,
    /// The supervision group that issued the task.
    pub group_id: Option<OrgId>,
    /// The agency rectifying.
    pub agency_id: Option<OrgId>,
    /// The supervisor in charge (who issued the task).
    pub created_by: UserId,
    /// The site's time zone.
    pub timezone: String,
}

/// One SMS to one person, as created.
#[derive(Debug, Clone)]
pub struct NewMessage {
    /// Its id, also sent to the provider so that receipts and duplicates can be matched.
    pub id: uuid::Uuid,
    /// Whose person it is (the daily cap and reports are per organisation).
    pub org_id: Option<OrgId>,
    /// Who.
    pub recipient_name: String,
    /// The number (or what the organisation entered when it is not a mobile).
    pub mobile: String,
    /// The site's time zone, for quiet hours and the daily cap's day.
    pub timezone: String,
    /// The template's variables as JSON (`[[name, value], …]`).
    pub params: String,
    /// The text as the recipient reads it.
    pub body: String,
    /// `queued`, or `unreachable` when the number cannot take an SMS.
    pub status: &'static str,
    /// Why it is unreachable.
    pub error: Option<String>,
}

/// One reminder event with its messages and its audit event.
#[derive(Debug, Clone)]
pub struct NewReminder {
    /// Its id.
    pub id: uuid::Uuid,
    /// The task.
    pub task_id: TaskId,
    /// The phase, absent for an urge on a whole task.
    pub phase_id: Option<PhaseId>,
    /// `due_soon`, `overdue`, `escalation` or `urge`.
    pub kind: &'static str,
    /// The schedule step.
    pub step: i32,
    /// The phase's due date the reminder was made for.
    pub due_at: Option<DateTime<Utc>>,
    /// The urge it carries.
    pub urge_id: Option<UrgeId>,
    /// Unique per event: a second scheduler making the same one creates nothing.
    pub dedup_key: String,
    /// When.
    pub created_at: DateTime<Utc>,
    /// One per person.
    pub messages: Vec<NewMessage>,
    /// `reminder.created`.
    pub event: AuditEvent,
}

/// A reminder as listed on its task.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ReminderRow {
    /// Its id.
    pub id: uuid::Uuid,
    /// The task.
    pub task_id: TaskId,
    /// The phase.
    pub phase_id: Option<PhaseId>,
    /// Its kind.
    pub kind: String,
    /// Its step.
    pub step: i32,
    /// The due date it was made for.
    pub due_at: Option<DateTime<Utc>>,
    /// The urge it carries.
    pub urge_id: Option<UrgeId>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

/// One message of a reminder with its whole story.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MessageRow {
    /// Its id.
    pub id: uuid::Uuid,
    /// Its reminder.
    pub reminder_id: uuid::Uuid,
    /// The task.
    pub task_id: TaskId,
    /// The recipient's organisation.
    pub org_id: Option<OrgId>,
    /// Who.
    pub recipient_name: String,
    /// The number.
    pub mobile: String,
    /// The site's time zone.
    pub timezone: String,
    /// The reminder kind (which template).
    pub kind: String,
    /// The template's variables as JSON.
    pub params: String,
    /// The text.
    pub body: String,
    /// `queued`, `sending`, `sent`, `delivered`, `failed`, `unreachable` or `cancelled`.
    pub status: String,
    /// Attempts made.
    pub attempts: i32,
    /// When it is next tried.
    pub next_attempt_at: DateTime<Utc>,
    /// Why the last attempt failed or why it waits.
    pub last_error: Option<String>,
    /// The provider that took it.
    pub provider: Option<String>,
    /// The provider's id for it (Aliyun BizId, Tencent SerialNo).
    pub provider_message_id: Option<String>,
    /// When the provider took it.
    pub sent_at: Option<DateTime<Utc>>,
    /// When the phone received it, by the receipt.
    pub delivered_at: Option<DateTime<Utc>>,
    /// The delivery receipt as the provider sent it.
    pub receipt: Option<String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

const MESSAGE_COLUMNS: &str = "id, reminder_id, task_id, org_id, recipient_name, mobile, timezone, kind, \
     params, body, status, attempts, next_attempt_at, last_error, provider, provider_message_id, \
     sent_at, delivered_at, receipt, created_at";

/// The rows due for sending, oldest first; also those whose sender died (lease expired, for
/// which `next_attempt_at` holds the lease's end).
const CLAIM_CANDIDATES: &str = "SELECT id FROM reminder_messages \
     WHERE status IN ('queued', 'sending') AND next_attempt_at <= $3 \
     ORDER BY next_attempt_at LIMIT $4";

/// Inserts the reminders of the slice `$chunk` whose key is still free, with their messages
/// and audit events, inside the caller's transaction `$tx`; evaluates to how many were new.
/// A macro because the statements must be typed for each backend's transaction.
macro_rules! insert_reminders {
    ($tx:ident, $chunk:expr) => {{
        let chunk: &[$crate::store::NewReminder] = $chunk;
        let mut q = sqlx::QueryBuilder::new(
            "INSERT INTO reminders (id, task_id, phase_id, kind, step, due_at, urge_id, dedup_key, created_at) ",
        );
        q.push_values(chunk, |mut b, r| {
            b.push_bind(r.id)
                .push_bind(r.task_id)
                .push_bind(r.phase_id)
                .push_bind(r.kind)
                .push_bind(r.step)
                .push_bind(r.due_at)
                .push_bind(r.urge_id)
                .push_bind(r.dedup_key.as_str())
                .push_bind(r.created_at);
        });
        q.push(" ON CONFLICT (dedup_key) DO NOTHING RETURNING id");
        let ids: Vec<uuid::Uuid> = q.build_query_scalar().fetch_all(&mut *$tx).await?;
        let ids: std::collections::HashSet<uuid::Uuid> = ids.into_iter().collect();
        let won: Vec<&$crate::store::NewReminder> = chunk.iter().filter(|r| ids.contains(&r.id)).collect();
        let messages: Vec<(&$crate::store::NewReminder, &$crate::store::NewMessage)> = won
            .iter()
            .flat_map(|r| r.messages.iter().map(move |m| (*r, m)))
            .collect();
        for part in messages.chunks(2000) {
            let mut q = sqlx::QueryBuilder::new(
                "INSERT INTO reminder_messages (id, reminder_id, task_id, org_id, recipient_name, mobile, \
                 timezone, kind, params, body, status, attempts, next_attempt_at, last_error, created_at) ",
            );
            q.push_values(part, |mut b, (r, m)| {
                b.push_bind(m.id)
                    .push_bind(r.id)
                    .push_bind(r.task_id)
                    .push_bind(m.org_id)
                    .push_bind(m.recipient_name.as_str())
                    .push_bind(m.mobile.as_str())
                    .push_bind(m.timezone.as_str())
                    .push_bind(r.kind)
                    .push_bind(m.params.as_str())
                    .push_bind(m.body.as_str())
                    .push_bind(m.status)
                    .push_bind(0_i32)
                    .push_bind(r.created_at)
                    .push_bind(m.error.as_deref())
                    .push_bind(r.created_at);
            });
            q.build().execute(&mut *$tx).await?;
        }
        let events: Vec<&$crate::audit::AuditEvent> = won.iter().map(|r| &r.event).collect();
        $crate::store::audit::insert_events!($tx, events);
        won.len()
    }};
}
pub(crate) use insert_reminders;

impl Store {
    /// Open phases of tasks in progress due before `horizon`, by the partial due-date index.
    pub async fn reminder_candidates(&self, horizon: DateTime<Utc>) -> StoreResult<Vec<ReminderCandidate>> {
        Ok(on_pool!(self, pool => {
            sqlx::query_as(CANDIDATES_SQL).bind(horizon).fetch_all(pool).await?
        }))
    }

    /// The executed plan of the candidate scan (`EXPLAIN ANALYZE` on PostgreSQL), for the
    /// benchmark's note.
    pub async fn explain_reminder_candidates(&self, horizon: DateTime<Utc>) -> StoreResult<String> {
        let lines: Vec<String> = match self {
            Store::Postgres(pool) => {
                sqlx::query_scalar(&format!("EXPLAIN (ANALYZE, BUFFERS) {CANDIDATES_SQL}"))
                    .bind(horizon)
                    .fetch_all(pool)
                    .await?
            }
            Store::Sqlite(pool) => {
                let rows: Vec<(i64, i64, i64, String)> =
                    sqlx::query_as(&format!("EXPLAIN QUERY PLAN {CANDIDATES_SQL}"))
                        .bind(horizon)
                        .fetch_all(pool)
                        .await?;
                rows.into_iter().map(|r| r.3).collect()
            }
        };
        Ok(lines.join("\n"))
    }

    /// The keys of the reminders already made for the open phases due before `horizon` (for
    /// their current due dates): one join, whatever the planner knows of the table's size.
    pub async fn existing_reminder_keys(&self, horizon: DateTime<Utc>) -> StoreResult<Vec<String>> {
        Ok(on_pool!(self, pool => {
            sqlx::query_scalar(
                "SELECT r.dedup_key FROM phases p JOIN reminders r ON r.phase_id = p.id AND r.due_at = p.due_at \
                 WHERE p.status <> 'accepted' AND p.due_at <= $1",
            )
            .bind(horizon)
            .fetch_all(pool)
            .await?
        }))
    }

    /// Creates the reminders whose key is still free, each with its messages and audit event in
    /// the same transaction; returns how many were created (a key taken meanwhile by another
    /// scheduler is skipped, with its messages).
    pub async fn create_reminders(&self, reminders: &[NewReminder]) -> StoreResult<usize> {
        if reminders.is_empty() {
            return Ok(0);
        }
        // Chunks are independent (each key is taken once, whoever takes it), so a burst of
        // reminders is written by a few transactions at once; SQLite takes them in turn.
        // Collected first: a lazy `map` closure held across the await would make the future
        // not `Send` for every lifetime, which `tokio::spawn` needs.
        let writes: Vec<_> = reminders
            .chunks(TX_ROWS)
            .map(|chunk| self.create_reminder_chunk(chunk))
            .collect();
        let results: Vec<StoreResult<usize>> = futures_util::stream::iter(writes)
            .buffer_unordered(PARALLEL_TXS)
            .collect()
            .await;
        results.into_iter().sum()
    }

    /// Writes one chunk of reminders in its own transaction; how many were new.
    async fn create_reminder_chunk(&self, chunk: &[NewReminder]) -> StoreResult<usize> {
        Ok(in_tx!(self, tx => { insert_reminders!(tx, chunk) }))
    }

    /// Leases up to `limit` due messages to `owner` until `now + lease`.
    ///
    /// PostgreSQL skips rows another sender is claiming (`FOR UPDATE SKIP LOCKED`); SQLite
    /// serialises writers, so the same statement without the lock clause is atomic there.
    pub async fn claim_messages(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        lease: Duration,
        limit: i64,
    ) -> StoreResult<Vec<MessageRow>> {
        let update = |candidates: &str| {
            format!(
                "UPDATE reminder_messages SET status = 'sending', lease_owner = $1, lease_expires_at = $2, \
                 next_attempt_at = $2, attempts = attempts + 1 WHERE id IN ({candidates}) RETURNING {MESSAGE_COLUMNS}"
            )
        };
        let until = now + lease;
        Ok(match self {
            Store::Postgres(pool) => {
                let sql = update(&format!("{CLAIM_CANDIDATES} FOR UPDATE SKIP LOCKED"));
                sqlx::query_as(&sql)
                    .bind(owner)
                    .bind(until)
                    .bind(now)
                    .bind(limit)
                    .fetch_all(pool)
                    .await?
            }
            Store::Sqlite(pool) => {
                sqlx::query_as(&update(CLAIM_CANDIDATES))
                    .bind(owner)
                    .bind(until)
                    .bind(now)
                    .bind(limit)
                    .fetch_all(pool)
                    .await?
            }
        })
    }

    /// Counts one SMS against `org`'s cap for `day`; `false` (and nothing counted) when the
    /// cap is reached.
    pub async fn take_sms_quota(&self, org: OrgId, day: &str, cap: u32) -> StoreResult<bool> {
        let row: Option<i32> = on_pool!(self, pool => {
            sqlx::query_scalar(
                "INSERT INTO sms_daily_usage (org_id, day, sent) VALUES ($1, $2, 1) \
                 ON CONFLICT (org_id, day) DO UPDATE SET sent = sms_daily_usage.sent + 1 \
                 WHERE sms_daily_usage.sent < $3 RETURNING sent",
            )
            .bind(org)
            .bind(day)
            .bind(i64::from(cap))
            .fetch_optional(pool)
            .await?
        });
        Ok(row.is_some_and(|sent| i64::from(sent) <= i64::from(cap)))
    }

    /// Puts a claimed message back to wait until `until` (quiet hours, the daily cap, or a
    /// retry after a provider error when `attempted`); `false` when the lease was lost.
    pub async fn defer_message(
        &self,
        id: uuid::Uuid,
        owner: &str,
        until: DateTime<Utc>,
        why: &str,
        attempted: bool,
    ) -> StoreResult<bool> {
        let done = on_pool!(self, pool => {
            sqlx::query(
                "UPDATE reminder_messages SET status = 'queued', lease_owner = NULL, lease_expires_at = NULL, \
                 next_attempt_at = $3, last_error = $4, attempts = attempts + $5 \
                 WHERE id = $1 AND lease_owner = $2 AND status = 'sending'",
            )
            .bind(id)
            .bind(owner)
            .bind(until)
            .bind(why)
            // The claim counted an attempt; waiting (quiet hours, the cap) is not one.
            .bind(if attempted { 0_i32 } else { -1 })
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(done == 1)
    }

    /// Ends a claimed message as `sent` (with the provider's id) or `failed` (with why), with
    /// its audit event; `false` when the lease was lost.
    pub async fn finish_message(
        &self,
        id: uuid::Uuid,
        owner: &str,
        provider: &str,
        outcome: MessageOutcome<'_>,
        event: &AuditEvent,
    ) -> StoreResult<bool> {
        let (status, provider_id, error, attempted) = match outcome {
            MessageOutcome::Sent { provider_message_id } => ("sent", Some(provider_message_id), None, 0),
            MessageOutcome::Failed { error } => ("failed", None, Some(error), 0),
            // The claim counted an attempt that was not made.
            MessageOutcome::Cancelled { reason } => ("cancelled", None, Some(reason), -1),
        };
        in_tx!(self, tx => {
            let done = sqlx::query(
                "UPDATE reminder_messages SET status = $3, lease_owner = NULL, lease_expires_at = NULL, \
                 attempts = attempts + $8, provider = $4, provider_message_id = $5, last_error = $6, \
                 sent_at = CASE WHEN $3 = 'sent' THEN $7 ELSE sent_at END \
                 WHERE id = $1 AND lease_owner = $2 AND status = 'sending'",
            )
            .bind(id)
            .bind(owner)
            .bind(status)
            .bind(provider)
            .bind(provider_id)
            .bind(error)
            .bind(event.at)
            .bind(attempted)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if done == 1 {
                audit::insert(event).execute(&mut *tx).await?;
            }
            Ok::<bool, StoreError>(done == 1)
        })
    }

    /// A task's reminders, oldest first, with their messages.
    pub async fn list_reminders(&self, task: TaskId) -> StoreResult<Vec<(ReminderRow, Vec<MessageRow>)>> {
        let (reminders, messages): (Vec<ReminderRow>, Vec<MessageRow>) = on_pool!(self, pool => {
            let r = sqlx::query_as(
                "SELECT id, task_id, phase_id, kind, step, due_at, urge_id, created_at FROM reminders \
                 WHERE task_id = $1 ORDER BY created_at, id",
            )
            .bind(task)
            .fetch_all(pool)
            .await?;
            let m = sqlx::query_as(&format!(
                "SELECT {MESSAGE_COLUMNS} FROM reminder_messages WHERE task_id = $1 ORDER BY created_at, id"
            ))
            .bind(task)
            .fetch_all(pool)
            .await?;
            (r, m)
        });
        Ok(reminders
            .into_iter()
            .map(|r| {
                let mine = messages
                    .iter()
                    .filter(|m| m.reminder_id == r.id)
                    .cloned()
                    .collect();
                (r, mine)
            })
            .collect())
    }

    /// A user's display name, mobile number and organisation, for reminders.
    pub async fn reminder_contact(
        &self,
        id: UserId,
    ) -> StoreResult<Option<(String, Option<String>, Option<OrgId>)>> {
        Ok(on_pool!(self, pool => {
            sqlx::query_as("SELECT display_name, mobile, org_id FROM users WHERE id = $1 AND active")
                .bind(id)
                .fetch_optional(pool)
                .await?
        }))
    }

    /// Active supervisors of `org` without a mobile number, whom reminders cannot reach.
    pub async fn supervisors_without_mobile(&self, org: OrgId) -> StoreResult<Vec<String>> {
        Ok(on_pool!(self, pool => {
            sqlx::query_scalar(
                "SELECT display_name FROM users WHERE org_id = $1 AND active AND role = 'supervisor' \
                 AND (mobile IS NULL OR mobile = '') ORDER BY username",
            )
            .bind(org)
            .fetch_all(pool)
            .await?
        }))
    }

    /// Whether a reminder still stands: an urge always; a scheduled one while its phase is
    /// open with the same due date and its task is in progress.
    pub async fn reminder_stands(&self, reminder: uuid::Uuid) -> StoreResult<bool> {
        let n: i64 = on_pool!(self, pool => {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM reminders r JOIN tasks t ON t.id = r.task_id \
                 LEFT JOIN phases p ON p.id = r.phase_id \
                 WHERE r.id = $1 AND (r.kind = 'urge' OR (p.status <> 'accepted' AND p.due_at = r.due_at \
                 AND t.status = 'in_progress'))",
            )
            .bind(reminder)
            .fetch_one(pool)
            .await?
        });
        Ok(n > 0)
    }

    /// SMS reminders of a task that went out (sent or delivered).
    pub async fn reminders_sent(&self, task: TaskId) -> StoreResult<i64> {
        Ok(on_pool!(self, pool => {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM reminder_messages WHERE task_id = $1 AND status IN ('sent', 'delivered')",
            )
            .bind(task)
            .fetch_one(pool)
            .await?
        }))
    }
}

/// How a send attempt ended for good.
#[derive(Debug, Clone, Copy)]
pub enum MessageOutcome<'a> {
    /// The provider took it.
    Sent {
        /// The provider's id for it.
        provider_message_id: &'a str,
    },
    /// The provider refused it for good, or every attempt failed.
    Failed {
        /// Why.
        error: &'a str,
    },
    /// Its reason went away before it was sent (the phase was accepted, its due date moved,
    /// or its task ended): not sent.
    Cancelled {
        /// Why.
        reason: &'a str,
    },
}

const CANDIDATES_SQL: &str = "SELECT p.id AS phase_id, p.title, p.due_at, p.task_id, t.group_id, \
     t.agency_id, t.created_by, s.timezone \
     FROM phases p JOIN tasks t ON t.id = p.task_id JOIN sites s ON s.id = t.site_id \
     WHERE p.status <> 'accepted' AND p.due_at <= $1 AND t.status = 'in_progress'";
