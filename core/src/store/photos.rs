//! Photos: idempotent insert, the work-queue claim with leases, results and retries.

use chrono::{DateTime, Duration, Utc};
use sqlx::types::Json;

use super::rows::{PHOTO_COLUMNS, PhotoDbRow};
use super::{Store, StoreError, StoreResult, audit, in_tx, on_pool};
use crate::audit::{Actor, AuditEvent};
use crate::domain::{ExifSummary, PhotoAnalysis, PhotoStatus, Record, Site, Task, Verification};
use crate::ids::{PhotoId, RecordId, TaskId};

/// A stored photo and where it is in the pipeline.
#[derive(Debug, Clone, PartialEq)]
pub struct PhotoRow {
    /// The id the phone chose.
    pub id: PhotoId,
    /// Its record.
    pub record_id: RecordId,
    /// SHA-256 of the original, hex; also its content address.
    pub sha256: String,
    /// Size of the original.
    pub size_bytes: i64,
    /// MIME type detected from the bytes.
    pub content_type: String,
    /// Object key of the original.
    pub original_key: String,
    /// Pipeline state.
    pub status: PhotoStatus,
    /// Processing attempts so far.
    pub attempts: i32,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// Displayed width.
    pub width: Option<i32>,
    /// Displayed height.
    pub height: Option<i32>,
    /// Allowlisted EXIF fields.
    pub exif: Option<ExifSummary>,
    /// The verdict and reasons.
    pub verification: Option<Verification>,
    /// Object key of the 256 px thumbnail.
    pub thumb_small_key: Option<String>,
    /// Object key of the 1280 px thumbnail.
    pub thumb_large_key: Option<String>,
    /// When the server stored it.
    pub received_at: DateTime<Utc>,
    /// When processing finished.
    pub processed_at: Option<DateTime<Utc>>,
}

/// A photo whose original is already in object storage, to be recorded and queued.
#[derive(Debug, Clone)]
pub struct NewPhoto {
    /// The id the phone chose.
    pub id: PhotoId,
    /// Its record.
    pub record_id: RecordId,
    /// SHA-256 of the original, hex.
    pub sha256: String,
    /// Size of the original.
    pub size_bytes: i64,
    /// Detected MIME type.
    pub content_type: String,
    /// Object key of the original.
    pub original_key: String,
}

/// What a `PUT` of a photo did.
#[derive(Debug, Clone)]
pub enum PutOutcome {
    /// Stored and queued.
    Created(PhotoRow),
    /// The same bytes were already stored under this id.
    Unchanged(PhotoRow),
    /// The id holds other bytes or belongs to another record.
    Conflict(PhotoRow),
}

/// A photo leased to one worker.
#[derive(Debug, Clone)]
pub struct ClaimedPhoto {
    /// The photo.
    pub photo: PhotoRow,
    /// Which attempt this is (1-based).
    pub attempt: i32,
}

/// Everything verification needs about where a photo belongs.
#[derive(Debug, Clone)]
pub struct PhotoContext {
    /// The record the photo was filed with.
    pub record: Record,
    /// The record's task.
    pub task: Task,
    /// The task's site.
    pub site: Site,
}

/// Where the same bytes were used as evidence before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DuplicateUse {
    /// The earlier photo.
    pub photo_id: PhotoId,
    /// Its record.
    pub record_id: RecordId,
    /// Its task.
    pub task_id: TaskId,
}

/// Appends `$event` filed under the task of `$photo`, in the transaction `$tx`.
macro_rules! insert_on_photo_task {
    ($tx:ident, $photo:expr, $event:expr) => {{
        let task: Option<TaskId> = sqlx::query_scalar(
            "SELECT r.task_id FROM photos p JOIN records r ON r.id = p.record_id WHERE p.id = $1",
        )
        .bind($photo)
        .fetch_optional(&mut *$tx)
        .await?;
        let event = match task {
            Some(task) => $event.clone().on_task(task),
            None => $event.clone(),
        };
        audit::insert(&event).execute(&mut *$tx).await?;
    }};
}

const CLAIM_CANDIDATES: &str = "SELECT id FROM photos \
     WHERE status IN ('received', 'processing') AND next_attempt_at <= $3 \
       AND (lease_expires_at IS NULL OR lease_expires_at < $3) \
     ORDER BY next_attempt_at, id LIMIT 1";

impl Store {
    /// Records a stored original and queues it, in the record's transaction scope.
    pub async fn put_photo(
        &self,
        new: &NewPhoto,
        task: TaskId,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> StoreResult<PutOutcome> {
        let event = AuditEvent::new(
            now,
            actor,
            "photo.received",
            "photo",
            new.id.0,
            &serde_json::json!({ "record_id": new.record_id, "sha256": new.sha256, "size_bytes": new.size_bytes }),
        )
        .on_task(task);
        let inserted = in_tx!(self, tx => {
            let done = sqlx::query(
                "INSERT INTO photos (id, record_id, sha256, size_bytes, content_type, original_key, status, \
                 attempts, next_attempt_at, received_at) VALUES ($1, $2, $3, $4, $5, $6, 'received', 0, $7, $7) \
                 ON CONFLICT (id) DO NOTHING",
            )
            .bind(new.id)
            .bind(new.record_id)
            .bind(&new.sha256)
            .bind(new.size_bytes)
            .bind(&new.content_type)
            .bind(&new.original_key)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            let inserted = done.rows_affected() == 1;
            if inserted {
                audit::insert(&event).execute(&mut *tx).await?;
            }
            inserted
        });
        let stored = self
            .find_photo(new.id)
            .await?
            .ok_or_else(|| StoreError::Corrupt("photo vanished after insert".into()))?;
        if inserted && let Err(e) = self.announce_photo_queued().await {
            // The row is queued either way; workers poll.
            tracing::warn!(error = %e, "could not announce a queued photo");
        }
        Ok(if inserted {
            PutOutcome::Created(stored)
        } else if stored.record_id == new.record_id && stored.sha256 == new.sha256 {
            PutOutcome::Unchanged(stored)
        } else {
            PutOutcome::Conflict(stored)
        })
    }

    /// One photo.
    pub async fn find_photo(&self, id: PhotoId) -> StoreResult<Option<PhotoRow>> {
        let sql = format!("SELECT {PHOTO_COLUMNS} FROM photos WHERE id = $1");
        let row: Option<PhotoDbRow> = on_pool!(self, pool => {
            sqlx::query_as(&sql).bind(id).fetch_optional(pool).await?
        });
        row.map(PhotoDbRow::into_photo).transpose()
    }

    /// The photos of some records, in upload order.
    pub async fn list_photos(&self, record: RecordId) -> StoreResult<Vec<PhotoRow>> {
        let sql = format!("SELECT {PHOTO_COLUMNS} FROM photos WHERE record_id = $1 ORDER BY received_at, id");
        let rows: Vec<PhotoDbRow> = on_pool!(self, pool => {
            sqlx::query_as(&sql).bind(record).fetch_all(pool).await?
        });
        rows.into_iter().map(PhotoDbRow::into_photo).collect()
    }

    /// The record, task and site a photo is evidence for.
    pub async fn photo_context(&self, record: RecordId) -> StoreResult<PhotoContext> {
        let record = self
            .find_record(record)
            .await?
            .ok_or_else(|| StoreError::Corrupt("photo without record".into()))?;
        let task = self
            .find_task(record.task_id)
            .await?
            .ok_or_else(|| StoreError::Corrupt("record without task".into()))?;
        let site = self
            .find_site(task.site_id)
            .await?
            .ok_or_else(|| StoreError::Corrupt("task without site".into()))?;
        Ok(PhotoContext { record, task, site })
    }

    /// The earliest other photo with the same bytes, if any.
    pub async fn find_duplicate_use(
        &self,
        sha256: &str,
        except: PhotoId,
    ) -> StoreResult<Option<DuplicateUse>> {
        let row: Option<(PhotoId, RecordId, TaskId)> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT p.id, p.record_id, r.task_id FROM photos p JOIN records r ON r.id = p.record_id \
                 WHERE p.sha256 = $1 AND p.id <> $2 ORDER BY p.received_at, p.id LIMIT 1",
            )
            .bind(sha256)
            .bind(except)
            .fetch_optional(pool)
            .await?
        });
        Ok(row.map(|(photo_id, record_id, task_id)| DuplicateUse {
            photo_id,
            record_id,
            task_id,
        }))
    }

    /// Leases the next due photo to `worker` until `now + lease`; `None` when the queue is empty.
    ///
    /// PostgreSQL skips rows another worker is claiming (`FOR UPDATE SKIP LOCKED`); SQLite
    /// serialises writers, so the same statement without the lock clause is atomic there.
    pub async fn claim_photo(
        &self,
        worker: &str,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> StoreResult<Option<ClaimedPhoto>> {
        let update = |candidates: &str| {
            format!(
                "UPDATE photos SET status = 'processing', attempts = attempts + 1, lease_owner = $1, \
                 lease_expires_at = $2 WHERE id = ({candidates}) RETURNING {PHOTO_COLUMNS}"
            )
        };
        let row: Option<PhotoDbRow> = match self {
            Store::Postgres(pool) => {
                let sql = update(&format!("{CLAIM_CANDIDATES} FOR UPDATE SKIP LOCKED"));
                sqlx::query_as(&sql)
                    .bind(worker)
                    .bind(now + lease)
                    .bind(now)
                    .fetch_optional(pool)
                    .await?
            }
            Store::Sqlite(pool) => {
                let sql = update(CLAIM_CANDIDATES);
                sqlx::query_as(&sql)
                    .bind(worker)
                    .bind(now + lease)
                    .bind(now)
                    .fetch_optional(pool)
                    .await?
            }
        };
        row.map(|r| {
            let photo = r.into_photo()?;
            Ok(ClaimedPhoto {
                attempt: photo.attempts,
                photo,
            })
        })
        .transpose()
    }

    /// Extends a lease while work goes on; `false` when the lease was lost to another worker.
    pub async fn renew_lease(&self, photo: PhotoId, worker: &str, until: DateTime<Utc>) -> StoreResult<bool> {
        let done = on_pool!(self, pool => {
            sqlx::query(
                "UPDATE photos SET lease_expires_at = $1 WHERE id = $2 AND lease_owner = $3 AND status = 'processing'",
            )
            .bind(until)
            .bind(photo)
            .bind(worker)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(done == 1)
    }

    /// Stores the pipeline's results and marks the photo done; `false` if the lease was lost.
    pub async fn complete_photo(
        &self,
        photo: PhotoId,
        worker: &str,
        analysis: &PhotoAnalysis,
        thumb_small_key: &str,
        thumb_large_key: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let event = AuditEvent::new(
            now,
            &Actor::system(),
            "photo.verified",
            "photo",
            photo.0,
            &serde_json::json!({
                "verdict": analysis.verification.verdict.as_str(),
                "reasons": analysis.verification.reasons.len(),
            }),
        );
        let width = i32::try_from(analysis.width).unwrap_or(i32::MAX);
        let height = i32::try_from(analysis.height).unwrap_or(i32::MAX);
        let done = in_tx!(self, tx => {
            let done = sqlx::query(
                "UPDATE photos SET status = 'done', lease_owner = NULL, lease_expires_at = NULL, last_error = NULL, \
                 content_type = $1, width = $2, height = $3, exif = $4, verification = $5, verdict = $6, \
                 thumb_small_key = $7, thumb_large_key = $8, processed_at = $9 \
                 WHERE id = $10 AND lease_owner = $11 AND status = 'processing'",
            )
            .bind(&analysis.content_type)
            .bind(width)
            .bind(height)
            .bind(Json(&analysis.exif))
            .bind(Json(&analysis.verification))
            .bind(analysis.verification.verdict.as_str())
            .bind(thumb_small_key)
            .bind(thumb_large_key)
            .bind(now)
            .bind(photo)
            .bind(worker)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if done {
                insert_on_photo_task!(tx, photo, event);
            }
            done
        });
        Ok(done)
    }

    /// Records a failed attempt: retried after `retry_at`, or `failed` for good when `retry_at`
    /// is `None`. `false` if the lease was lost.
    pub async fn fail_photo(
        &self,
        photo: PhotoId,
        worker: &str,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let final_failure = retry_at.is_none();
        let event = AuditEvent::new(
            now,
            &Actor::system(),
            if final_failure {
                "photo.failed"
            } else {
                "photo.retry_scheduled"
            },
            "photo",
            photo.0,
            &serde_json::json!({ "error": error }),
        );
        let done = in_tx!(self, tx => {
            let done = sqlx::query(
                "UPDATE photos SET status = $1, lease_owner = NULL, lease_expires_at = NULL, last_error = $2, \
                 next_attempt_at = $3, processed_at = $4 WHERE id = $5 AND lease_owner = $6 AND status = 'processing'",
            )
            .bind(if final_failure { "failed" } else { "received" })
            .bind(error)
            .bind(retry_at.unwrap_or(now))
            .bind(final_failure.then_some(now))
            .bind(photo)
            .bind(worker)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if done {
                insert_on_photo_task!(tx, photo, event);
            }
            done
        });
        Ok(done)
    }

    /// How many photos are waiting or being processed (a metric and a test aid).
    pub async fn pending_photos(&self) -> StoreResult<i64> {
        let n: i64 = on_pool!(self, pool => {
            sqlx::query_scalar("SELECT COUNT(*) FROM photos WHERE status IN ('received', 'processing')")
                .fetch_one(pool)
                .await?
        });
        Ok(n)
    }
}
