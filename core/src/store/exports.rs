//! Background exports: the row is the job (queued → running → done | failed), leased to one
//! runner at a time on any replica, its file in object storage.

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use super::{Store, StoreResult, audit, in_tx, on_pool};
use crate::audit::{Actor, AuditEvent};
use crate::ids::UserId;

/// Attempts before an export that keeps failing (or whose runner keeps dying) is `failed`.
pub const MAX_EXPORT_ATTEMPTS: i32 = 3;

const EXPORT_COLUMNS: &str = "id, requested_by, kind, format, params, status, progress, rows_written, object_key, \
                              size_bytes, error, attempts, created_at, finished_at";

/// An export and how far it got.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ExportRow {
    /// Its id.
    pub id: Uuid,
    /// Who asked for it; only they may download it.
    pub requested_by: UserId,
    /// `statistics` or `tasks`.
    pub kind: String,
    /// `csv` or `xlsx`.
    pub format: String,
    /// Its parameters as JSON (grouping, language).
    pub params: String,
    /// `queued`, `running`, `done` or `failed`.
    pub status: String,
    /// Percent done.
    pub progress: i32,
    /// Rows written so far.
    pub rows_written: i64,
    /// Where the finished file is.
    pub object_key: Option<String>,
    /// Its size.
    pub size_bytes: Option<i64>,
    /// Why it failed.
    pub error: Option<String>,
    /// Attempts so far.
    pub attempts: i32,
    /// When it was asked for.
    pub created_at: DateTime<Utc>,
    /// When it finished.
    pub finished_at: Option<DateTime<Utc>>,
}

/// Queued exports, and running ones whose runner's lease ran out, oldest first.
const CLAIM_CANDIDATE: &str = "SELECT id FROM exports WHERE (status = 'queued' OR (status = 'running' AND lease_expires_at < $3)) \
                               AND attempts < $4 ORDER BY created_at LIMIT 1";

impl Store {
    /// Queues an export with its audit event.
    pub async fn create_export(&self, export: &ExportRow, actor: &Actor) -> StoreResult<()> {
        let event = AuditEvent::new(
            export.created_at,
            actor,
            "export.requested",
            "export",
            export.id,
            &serde_json::json!({ "kind": export.kind, "format": export.format, "params": export.params }),
        );
        in_tx!(self, tx => {
            sqlx::query(
                "INSERT INTO exports (id, requested_by, kind, format, params, status, created_at) \
                 VALUES ($1, $2, $3, $4, $5, 'queued', $6)",
            )
            .bind(export.id)
            .bind(export.requested_by)
            .bind(&export.kind)
            .bind(&export.format)
            .bind(&export.params)
            .bind(export.created_at)
            .execute(&mut *tx)
            .await?;
            audit::insert(&event).execute(&mut *tx).await?;
        });
        Ok(())
    }

    /// Leases the oldest waiting export to `owner` until `now + lease`, if there is one.
    pub async fn claim_export(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> StoreResult<Option<ExportRow>> {
        let update = |candidate: &str| {
            format!(
                "UPDATE exports SET status = 'running', lease_owner = $1, lease_expires_at = $2, attempts = attempts + 1, \
                 progress = 0, rows_written = 0 WHERE id IN ({candidate}) RETURNING {EXPORT_COLUMNS}"
            )
        };
        let until = now + lease;
        Ok(match self {
            Store::Postgres(pool) => {
                sqlx::query_as(&update(&format!("{CLAIM_CANDIDATE} FOR UPDATE SKIP LOCKED")))
                    .bind(owner)
                    .bind(until)
                    .bind(now)
                    .bind(MAX_EXPORT_ATTEMPTS)
                    .fetch_optional(pool)
                    .await?
            }
            Store::Sqlite(pool) => {
                sqlx::query_as(&update(CLAIM_CANDIDATE))
                    .bind(owner)
                    .bind(until)
                    .bind(now)
                    .bind(MAX_EXPORT_ATTEMPTS)
                    .fetch_optional(pool)
                    .await?
            }
        })
    }

    /// Records progress and extends the lease; `false` when `owner` no longer holds it.
    pub async fn export_progress(
        &self,
        id: Uuid,
        owner: &str,
        progress: i32,
        rows: i64,
        lease_until: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let held = on_pool!(self, pool => {
            sqlx::query(
                "UPDATE exports SET progress = $3, rows_written = $4, lease_expires_at = $5 \
                 WHERE id = $1 AND lease_owner = $2 AND status = 'running'",
            )
            .bind(id)
            .bind(owner)
            .bind(progress)
            .bind(rows)
            .bind(lease_until)
            .execute(pool)
            .await?
            .rows_affected()
                == 1
        });
        Ok(held)
    }

    /// Ends a running export held by `owner`: `done` with its file, or `failed` (for good, or
    /// back to the queue while attempts remain) with the reason; audited either way.
    pub async fn finish_export(
        &self,
        export: &ExportRow,
        owner: &str,
        outcome: Result<(&str, i64, i64), &str>,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let (status, action, summary) = match outcome {
            Ok((_, rows, size)) => (
                "done",
                "export.finished",
                serde_json::json!({ "rows": rows, "size_bytes": size }),
            ),
            Err(why) if export.attempts < MAX_EXPORT_ATTEMPTS => {
                ("queued", "export.retrying", serde_json::json!({ "error": why }))
            }
            Err(why) => ("failed", "export.failed", serde_json::json!({ "error": why })),
        };
        let event = AuditEvent::new(now, &Actor::system(), action, "export", export.id, &summary);
        let (key, rows, size, error) = match outcome {
            Ok((key, rows, size)) => (Some(key), rows, Some(size), None),
            Err(why) => (None, 0, None, Some(why)),
        };
        let updated = in_tx!(self, tx => {
            let updated = sqlx::query(
                "UPDATE exports SET status = $3, progress = CASE WHEN $3 = 'done' THEN 100 ELSE progress END, \
                 rows_written = $4, object_key = $5, size_bytes = $6, error = $7, lease_owner = NULL, \
                 lease_expires_at = NULL, finished_at = CASE WHEN $3 = 'queued' THEN NULL ELSE $8 END \
                 WHERE id = $1 AND lease_owner = $2 AND status = 'running'",
            )
            .bind(export.id)
            .bind(owner)
            .bind(status)
            .bind(rows)
            .bind(key)
            .bind(size)
            .bind(error)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if updated {
                audit::insert(&event).execute(&mut *tx).await?;
            }
            updated
        });
        Ok(updated)
    }

    /// How many of `user`'s exports are queued or running.
    pub async fn exports_in_progress(&self, user: UserId) -> StoreResult<i64> {
        Ok(on_pool!(self, pool => {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM exports WHERE requested_by = $1 AND status IN ('queued', 'running')",
            )
            .bind(user)
            .fetch_one(pool)
            .await?
        }))
    }

    /// Forgets the files of exports finished before `before` (the rows stay, with the error
    /// `expired`); returns the object keys to delete.
    pub async fn expire_exports(&self, before: DateTime<Utc>) -> StoreResult<Vec<String>> {
        let keys: Vec<Option<String>> = on_pool!(self, pool => {
            sqlx::query_scalar(
                "UPDATE exports SET object_key = NULL, error = 'expired' \
                 WHERE status = 'done' AND object_key IS NOT NULL AND finished_at < $1 RETURNING object_key",
            )
            .bind(before)
            .fetch_all(pool)
            .await?
        });
        Ok(keys.into_iter().flatten().collect())
    }

    /// One export.
    pub async fn find_export(&self, id: Uuid) -> StoreResult<Option<ExportRow>> {
        let sql = format!("SELECT {EXPORT_COLUMNS} FROM exports WHERE id = $1");
        Ok(on_pool!(self, pool => {
            sqlx::query_as(&sql).bind(id).fetch_optional(pool).await?
        }))
    }

    /// A user's latest exports, newest first.
    pub async fn list_exports(&self, user: UserId, limit: i64) -> StoreResult<Vec<ExportRow>> {
        let sql = format!(
            "SELECT {EXPORT_COLUMNS} FROM exports WHERE requested_by = $1 ORDER BY created_at DESC LIMIT $2"
        );
        Ok(on_pool!(self, pool => {
            sqlx::query_as(&sql).bind(user).bind(limit).fetch_all(pool).await?
        }))
    }

    /// Records that `actor` downloaded an export.
    pub async fn audit_export_download(
        &self,
        export: &ExportRow,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let event = AuditEvent::new(
            now,
            actor,
            "export.downloaded",
            "export",
            export.id,
            &serde_json::json!({ "kind": export.kind, "format": export.format }),
        );
        self.append_audit(&event).await
    }
}
