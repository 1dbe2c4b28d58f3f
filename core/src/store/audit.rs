//! Audit events: appended unchained in the writer's transaction, sealed into the hash chain
//! afterwards, and read back for a task's history and for verification.

use chrono::{DateTime, Utc};
use sqlx::{Database, Encode, Type};
use uuid::Uuid;

use super::{Store, StoreResult, on_pool};
use crate::audit::{Actor, AuditEvent, ClientInfo, SealedEvent, chain_hash};
use crate::ids::{AuditEventId, OrgId, TaskId, UserId};

const EVENT_COLUMNS: &str = "id, at, actor_id, actor_org_id, actor_role, client_ip, user_agent, action, \
                             entity_kind, entity_id, task_id, summary, seq, hash";

/// Inserts many events with multi-row statements inside the caller's transaction `$tx`
/// (a macro because the row binder must be typed for each backend's transaction).
macro_rules! insert_events {
    ($tx:ident, $events:expr) => {
        for part in $events.chunks(2000) {
            let mut q = sqlx::QueryBuilder::new(
                "INSERT INTO audit_events (id, at, actor_id, actor_org_id, actor_role, client_ip, \
                 user_agent, action, entity_kind, entity_id, task_id, summary) ",
            );
            q.push_values(part, |mut b, e: &&$crate::audit::AuditEvent| {
                b.push_bind(e.id.0)
                    .push_bind(e.at)
                    .push_bind(e.actor.user_id.map(|a| a.0))
                    .push_bind(e.actor.org_id.map(|o| o.0))
                    .push_bind(e.actor.role.as_deref())
                    .push_bind(e.actor.client.ip.as_deref())
                    .push_bind(e.actor.client.user_agent.as_deref())
                    .push_bind(e.action.as_str())
                    .push_bind(e.entity_kind.as_str())
                    .push_bind(e.entity_id)
                    .push_bind(e.task_id.map(|t| t.0))
                    .push_bind(e.summary.as_str());
            });
            q.build().execute(&mut *$tx).await?;
        }
    };
}
pub(crate) use insert_events;

/// The insert statement for one event, for whichever backend the caller's transaction uses.
pub(crate) fn insert<'q, DB>(event: &'q AuditEvent) -> sqlx::query::Query<'q, DB, DB::Arguments<'q>>
where
    DB: Database,
    Uuid: Encode<'q, DB> + Type<DB>,
    Option<Uuid>: Encode<'q, DB> + Type<DB>,
    DateTime<Utc>: Encode<'q, DB> + Type<DB>,
    &'q str: Encode<'q, DB> + Type<DB>,
    Option<&'q str>: Encode<'q, DB> + Type<DB>,
{
    sqlx::query(
        "INSERT INTO audit_events (id, at, actor_id, actor_org_id, actor_role, client_ip, user_agent, \
         action, entity_kind, entity_id, task_id, summary) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(event.id.0)
    .bind(event.at)
    .bind(event.actor.user_id.map(|a| a.0))
    .bind(event.actor.org_id.map(|o| o.0))
    .bind(event.actor.role.as_deref())
    .bind(event.actor.client.ip.as_deref())
    .bind(event.actor.client.user_agent.as_deref())
    .bind(event.action.as_str())
    .bind(event.entity_kind.as_str())
    .bind(event.entity_id)
    .bind(event.task_id.map(|t| t.0))
    .bind(event.summary.as_str())
}

#[derive(sqlx::FromRow)]
struct EventRow {
    id: Uuid,
    at: DateTime<Utc>,
    actor_id: Option<Uuid>,
    actor_org_id: Option<Uuid>,
    actor_role: Option<String>,
    client_ip: Option<String>,
    user_agent: Option<String>,
    action: String,
    entity_kind: String,
    entity_id: Uuid,
    task_id: Option<Uuid>,
    summary: String,
    seq: Option<i64>,
    hash: Option<String>,
}

impl EventRow {
    fn into_parts(self) -> (AuditEvent, Option<i64>, Option<String>) {
        let event = AuditEvent {
            id: AuditEventId(self.id),
            at: self.at,
            actor: Actor {
                user_id: self.actor_id.map(UserId),
                org_id: self.actor_org_id.map(OrgId),
                role: self.actor_role,
                client: ClientInfo {
                    ip: self.client_ip,
                    user_agent: self.user_agent,
                },
            },
            action: self.action,
            entity_kind: self.entity_kind,
            entity_id: self.entity_id,
            task_id: self.task_id.map(TaskId),
            summary: self.summary,
        };
        (event, self.seq, self.hash)
    }
}

/// An event as listed in a history: its chain position once sealed.
#[derive(Debug, Clone)]
pub struct ListedEvent {
    /// The event.
    pub event: AuditEvent,
    /// Its place in the chain, `None` until sealed.
    pub seq: Option<i64>,
}

/// The chain head as the database holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainHead {
    /// The last sealed position (0 before any).
    pub seq: i64,
    /// Its hash.
    pub hash: String,
}

impl Store {
    /// Appends one event on its own (for things that change no other row, such as a failed
    /// login or a view of an original).
    pub async fn append_audit(&self, event: &AuditEvent) -> StoreResult<()> {
        on_pool!(self, pool => {
            insert(event).execute(pool).await?;
        });
        Ok(())
    }

    /// Seals up to `batch` committed, unsealed events into the chain, oldest first; returns
    /// the new head when it moved. Replicas take turns on the head row's lock.
    pub async fn seal_audit(&self, batch: i64, now: DateTime<Utc>) -> StoreResult<Option<ChainHead>> {
        let select_head = "SELECT seq, hash FROM audit_chain_head WHERE id = 1";
        let select_events =
            format!("SELECT {EVENT_COLUMNS} FROM audit_events WHERE seq IS NULL ORDER BY at, id LIMIT $1");
        // Writing the head first takes its lock (a row lock on PostgreSQL, the write lock on
        // SQLite) before anything is read, so two sealers never chain from the same head.
        let lock_head = "UPDATE audit_chain_head SET sealed_at = $1 WHERE id = 1";
        let update_head = "UPDATE audit_chain_head SET seq = $1, hash = $2 WHERE id = 1";
        match self {
            Store::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                sqlx::query(lock_head).bind(now).execute(&mut *tx).await?;
                let (seq, hash): (i64, String) = sqlx::query_as(select_head).fetch_one(&mut *tx).await?;
                let rows: Vec<EventRow> = sqlx::query_as(&select_events)
                    .bind(batch)
                    .fetch_all(&mut *tx)
                    .await?;
                let Some((ids, seqs, hashes, head)) = chain(rows, seq, hash) else {
                    return Ok(None);
                };
                sqlx::query(
                    "UPDATE audit_events SET seq = u.seq, hash = u.hash \
                     FROM UNNEST($1::uuid[], $2::bigint[], $3::text[]) AS u(id, seq, hash) \
                     WHERE audit_events.id = u.id",
                )
                .bind(&ids)
                .bind(&seqs)
                .bind(&hashes)
                .execute(&mut *tx)
                .await?;
                sqlx::query(update_head)
                    .bind(head.seq)
                    .bind(&head.hash)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(Some(head))
            }
            Store::Sqlite(pool) => {
                let mut tx = pool.begin().await?;
                sqlx::query(lock_head).bind(now).execute(&mut *tx).await?;
                let (seq, hash): (i64, String) = sqlx::query_as(select_head).fetch_one(&mut *tx).await?;
                let rows: Vec<EventRow> = sqlx::query_as(&select_events)
                    .bind(batch)
                    .fetch_all(&mut *tx)
                    .await?;
                let Some((ids, seqs, hashes, head)) = chain(rows, seq, hash) else {
                    return Ok(None);
                };
                for ((id, seq), hash) in ids.iter().zip(&seqs).zip(&hashes) {
                    sqlx::query("UPDATE audit_events SET seq = $1, hash = $2 WHERE id = $3")
                        .bind(seq)
                        .bind(hash)
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                }
                sqlx::query(update_head)
                    .bind(head.seq)
                    .bind(&head.hash)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(Some(head))
            }
        }
    }

    /// The head as stored in the database.
    pub async fn audit_head(&self) -> StoreResult<ChainHead> {
        let (seq, hash): (i64, String) = on_pool!(self, pool => {
            sqlx::query_as("SELECT seq, hash FROM audit_chain_head WHERE id = 1").fetch_one(pool).await?
        });
        Ok(ChainHead { seq, hash })
    }

    /// Sealed events after position `after`, in chain order, at most `limit`.
    pub async fn sealed_events(&self, after: i64, limit: i64) -> StoreResult<Vec<SealedEvent>> {
        let sql = format!("SELECT {EVENT_COLUMNS} FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT $2");
        let rows: Vec<EventRow> = on_pool!(self, pool => {
            sqlx::query_as(&sql).bind(after).bind(limit).fetch_all(pool).await?
        });
        Ok(rows
            .into_iter()
            .map(|r| {
                let (event, seq, hash) = r.into_parts();
                SealedEvent {
                    seq: seq.unwrap_or_default(),
                    hash: hash.unwrap_or_default(),
                    event,
                }
            })
            .collect())
    }

    /// How many committed events wait to be sealed.
    pub async fn unsealed_events(&self) -> StoreResult<i64> {
        Ok(on_pool!(self, pool => {
            sqlx::query_scalar("SELECT COUNT(*) FROM audit_events WHERE seq IS NULL").fetch_one(pool).await?
        }))
    }

    /// A task's trail, oldest first.
    pub async fn task_history(&self, task: TaskId, limit: i64) -> StoreResult<Vec<ListedEvent>> {
        let sql =
            format!("SELECT {EVENT_COLUMNS} FROM audit_events WHERE task_id = $1 ORDER BY at, id LIMIT $2");
        let rows: Vec<EventRow> = on_pool!(self, pool => {
            sqlx::query_as(&sql).bind(task).bind(limit).fetch_all(pool).await?
        });
        Ok(rows
            .into_iter()
            .map(|r| {
                let (event, seq, _) = r.into_parts();
                ListedEvent { event, seq }
            })
            .collect())
    }
}

type Chained = (Vec<Uuid>, Vec<i64>, Vec<String>, ChainHead);

/// Gives each row the next position and its chain hash; `None` when there is nothing to seal.
fn chain(rows: Vec<EventRow>, mut seq: i64, mut hash: String) -> Option<Chained> {
    if rows.is_empty() {
        return None;
    }
    let mut ids = Vec::with_capacity(rows.len());
    let mut seqs = Vec::with_capacity(rows.len());
    let mut hashes = Vec::with_capacity(rows.len());
    for row in rows {
        let (event, _, _) = row.into_parts();
        seq += 1;
        hash = chain_hash(&hash, seq, &event);
        ids.push(event.id.0);
        seqs.push(seq);
        hashes.push(hash.clone());
    }
    Some((ids, seqs, hashes, ChainHead { seq, hash }))
}
