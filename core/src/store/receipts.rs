//! Delivery receipts of SMS: filed on their messages once, each with its audit event.

use chrono::{DateTime, Utc};

use super::{Store, StoreError, StoreResult, audit, in_tx};
use crate::audit::AuditEvent;
use crate::ids::TaskId;

/// The message a receipt moved on, for its audit event.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ReceiptTarget {
    /// The message.
    pub id: uuid::Uuid,
    /// Its reminder.
    pub reminder_id: uuid::Uuid,
    /// Its task.
    pub task_id: TaskId,
    /// Its number.
    pub mobile: String,
}

/// What a receipt says happened to a message.
#[derive(Debug, Clone)]
pub struct Receipt {
    /// Our message id when the provider echoes it back (OutId, SessionContext).
    pub message_id: Option<uuid::Uuid>,
    /// The provider's id for it.
    pub provider_message_id: Option<String>,
    /// Whether the phone got it.
    pub delivered: bool,
    /// When, by the provider.
    pub at: DateTime<Utc>,
    /// The receipt as sent, kept with the message.
    pub raw: String,
}

impl Store {
    /// Files delivery receipts on their messages (matched by our id, else the provider's id)
    /// with an audit event each, all in one transaction; returns how many changed a message.
    /// A receipt only moves a `sent` message on, so `delivered` and an undelivered report
    /// are final, a repeat changes nothing and writes no event, and a message never sent
    /// takes none. Each statement writes before it reads, so SQLite never has to upgrade a
    /// reader's lock.
    pub async fn record_receipts(
        &self,
        provider: &str,
        receipts: &[Receipt],
        event_for: impl Fn(&ReceiptTarget, bool) -> AuditEvent,
    ) -> StoreResult<usize> {
        let sql = "UPDATE reminder_messages SET status = $3, delivered_at = $4, receipt = $5, \
                   last_error = CASE WHEN $3 = 'failed' THEN 'not delivered' ELSE last_error END \
                   WHERE provider = $1 AND status = 'sent' AND id = $2 \
                   RETURNING id, reminder_id, task_id, mobile";
        let by_provider_id = "UPDATE reminder_messages SET status = $3, delivered_at = $4, receipt = $5, \
                   last_error = CASE WHEN $3 = 'failed' THEN 'not delivered' ELSE last_error END \
                   WHERE provider = $1 AND status = 'sent' AND provider_message_id = $2 \
                   RETURNING id, reminder_id, task_id, mobile";
        in_tx!(self, tx => {
            let mut events = Vec::new();
            for r in receipts {
                let status = if r.delivered { "delivered" } else { "failed" };
                let at = r.delivered.then_some(r.at);
                let targets: Vec<ReceiptTarget> = match (r.message_id, &r.provider_message_id) {
                    (Some(id), _) => {
                        sqlx::query_as(sql)
                            .bind(provider)
                            .bind(id)
                            .bind(status)
                            .bind(at)
                            .bind(r.raw.as_str())
                            .fetch_all(&mut *tx)
                            .await?
                    }
                    (None, Some(pid)) => {
                        sqlx::query_as(by_provider_id)
                            .bind(provider)
                            .bind(pid.as_str())
                            .bind(status)
                            .bind(at)
                            .bind(r.raw.as_str())
                            .fetch_all(&mut *tx)
                            .await?
                    }
                    (None, None) => Vec::new(),
                };
                events.extend(targets.iter().map(|t| event_for(t, r.delivered)));
            }
            let refs: Vec<&AuditEvent> = events.iter().collect();
            audit::insert_events!(tx, refs);
            Ok::<usize, StoreError>(events.len())
        })
    }
}
