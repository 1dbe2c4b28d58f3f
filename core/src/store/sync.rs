//! What phone sync reads: the tasks a caller sees in id order, the tasks touched by sealed
//! audit events after a position, the tasks whose phases fell due in a window, and the keys
//! the replicas share.
//!
//! The change feed is the audit chain: the sealer numbers events only after they commit, one
//! at a time, so a position in it never has a gap that a later commit could fill.

use chrono::{DateTime, Utc};

use super::{Scope, Store, StoreResult, on_pool};
use crate::ids::TaskId;

impl Store {
    /// The key named `name`, storing `candidate` as it if no replica made one yet.
    pub async fn server_key(&self, name: &str, candidate: &str) -> StoreResult<String> {
        let existing: Option<String> = on_pool!(self, pool => {
            sqlx::query_scalar("SELECT key FROM server_keys WHERE name = $1")
                .bind(name)
                .fetch_optional(pool)
                .await?
        });
        if let Some(key) = existing {
            return Ok(key);
        }
        Ok(on_pool!(self, pool => {
            sqlx::query("INSERT INTO server_keys (name, key) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
                .bind(name)
                .bind(candidate)
                .execute(pool)
                .await?;
            sqlx::query_scalar("SELECT key FROM server_keys WHERE name = $1")
                .bind(name)
                .fetch_one(pool)
                .await?
        }))
    }

    /// Up to `limit` unfinished tasks (not closed or cancelled) in `scope` after `after`, in
    /// id order: the pages of a first sync.
    pub async fn active_task_ids(&self, scope: Scope, after: TaskId, limit: i64) -> StoreResult<Vec<TaskId>> {
        let (condition, org) = match scope {
            Scope::All => ("", None),
            Scope::Group(org) => (" AND group_id = $3", Some(org)),
            Scope::Agency(org) => (" AND agency_id = $3", Some(org)),
        };
        let sql = format!(
            "SELECT id FROM tasks WHERE status NOT IN ('closed', 'cancelled') AND id > $1{condition} \
             ORDER BY id LIMIT $2"
        );
        Ok(on_pool!(self, pool => {
            let mut query = sqlx::query_scalar(&sql).bind(after).bind(limit);
            if let Some(org) = org {
                query = query.bind(org);
            }
            query.fetch_all(pool).await?
        }))
    }

    /// Sealed audit events after position `after` up to `upto` that concern a task in
    /// `scope`, in order, at most `limit`: `(seq, task)`.
    pub async fn task_changes(
        &self,
        scope: Scope,
        after: i64,
        upto: i64,
        limit: i64,
    ) -> StoreResult<Vec<(i64, TaskId)>> {
        let (condition, org) = match scope {
            Scope::All => ("", None),
            Scope::Group(org) => (" AND t.group_id = $4", Some(org)),
            Scope::Agency(org) => (" AND t.agency_id = $4", Some(org)),
        };
        let sql = format!(
            "SELECT e.seq, e.task_id FROM audit_events e JOIN tasks t ON t.id = e.task_id \
             WHERE e.seq > $1 AND e.seq <= $2{condition} ORDER BY e.seq LIMIT $3"
        );
        Ok(on_pool!(self, pool => {
            let mut query = sqlx::query_as(&sql).bind(after).bind(upto).bind(limit);
            if let Some(org) = org {
                query = query.bind(org);
            }
            query.fetch_all(pool).await?
        }))
    }

    /// Tasks with a phase not yet accepted whose due date passed in `(from, to]`: their
    /// overdue state changed without any event.
    pub async fn tasks_falling_due(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<TaskId>> {
        Ok(on_pool!(self, pool => {
            sqlx::query_scalar(
                "SELECT DISTINCT task_id FROM phases \
                 WHERE status <> 'accepted' AND due_at > $1 AND due_at <= $2",
            )
            .bind(from)
            .bind(to)
            .fetch_all(pool)
            .await?
        }))
    }
}
