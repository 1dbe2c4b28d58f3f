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
    /// How far the uploading phone's clock ran from the server's (device minus server), in
    /// milliseconds, when it had told us lately.
    pub device_clock_offset_ms: Option<i64>,
    /// The file name the phone gave, cleaned (see [`crate::domain::evidence::clean_file_name`]).
    pub file_name: Option<String>,
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
    /// The uploading phone's clock offset in milliseconds (device minus server), if known.
    pub device_clock_offset_ms: Option<i64>,
    /// The file name the phone gave, cleaned.
    pub file_name: Option<String>,
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
    /// When the record's phase went live (a rectification report's window opens then).
    pub phase_started_at: Option<DateTime<Utc>>,
    /// How far the uploading phone's clock ran ahead of the server's (negative: behind).
    pub device_clock_offset: Option<chrono::Duration>,
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
                 attempts, next_attempt_at, received_at, device_clock_offset_ms, file_name) VALUES ($1, $2, $3, $4, $5, $6, 'received', 0, $7, $7, $8, $9) \
                 ON CONFLICT (id) DO NOTHING",
            )
            .bind(new.id)
            .bind(new.record_id)
            .bind(&new.sha256)
            .bind(new.size_bytes)
            .bind(&new.content_type)
            .bind(&new.original_key)
            .bind(now)
            .bind(new.device_clock_offset_ms)
            .bind(&new.file_name)
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
        let phase_started_at = match record.phase_id {
            Some(phase) => self.find_phase(phase).await?.and_then(|p| p.starts_at),
            None => None,
        };
        Ok(PhotoContext {
            record,
            task,
            site,
            phase_started_at,
            device_clock_offset: None,
        })
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

    /// The earliest photo of another record whose perceptual hash lies within `max_distance`
    /// bits of `hash`, with the distance.
    ///
    /// Two hashes within `d` bits agree on at least one of their four 16-bit quarters within
    /// `d / 4` bits, so each quarter's index is asked for every value that close (17 values a
    /// quarter at the default threshold). The indexes hold the whole hash too, so the
    /// candidates are compared without reading a row; only the few close hashes are then
    /// looked up with their records.
    pub async fn find_similar_use(
        &self,
        hash: u64,
        max_distance: u32,
        except_record: RecordId,
    ) -> StoreResult<Option<(DuplicateUse, u32)>> {
        if max_distance == 0 {
            return Ok(None);
        }
        let radius = max_distance / 4;
        // Only integers made here go into the statements.
        let candidates_sql = (0..4)
            .map(|q| {
                let values = neighbours(quarter(hash, q), radius)
                    .iter()
                    .map(u16::to_string)
                    .collect::<Vec<_>>()
                    .join(",");
                format!("SELECT phash FROM photos WHERE phash_{q} IN ({values})")
            })
            .collect::<Vec<_>>()
            // One index-only scan per quarter; an OR would make a bitmap scan that reads rows.
            .join(" UNION ALL ");
        let candidates: Vec<i64> = on_pool!(self, pool => {
            sqlx::query_scalar(&candidates_sql).fetch_all(pool).await?
        });
        let mut close: Vec<(u32, u64)> = candidates
            .into_iter()
            .map(|other| ((hash ^ other as u64).count_ones(), other as u64))
            .filter(|(distance, _)| *distance <= max_distance)
            .collect();
        close.sort_unstable();
        close.dedup();
        close.truncate(MAX_CLOSE_HASHES);
        if close.is_empty() {
            return Ok(None);
        }
        let wanted = close
            .iter()
            .map(|(_, h)| format!("(p.phash_0 = {} AND p.phash = {})", quarter(*h, 0), *h as i64))
            .collect::<Vec<_>>()
            .join(" OR ");
        let sql = format!(
            "SELECT p.id, p.record_id, r.task_id, p.phash FROM photos p JOIN records r ON r.id = p.record_id \
             WHERE ({wanted}) AND p.record_id <> $1 ORDER BY p.received_at, p.id LIMIT 1"
        );
        let row: Option<(PhotoId, RecordId, TaskId, i64)> = on_pool!(self, pool => {
            sqlx::query_as(&sql).bind(except_record).fetch_optional(pool).await?
        });
        Ok(row.map(|(photo_id, record_id, task_id, other)| {
            (
                DuplicateUse {
                    photo_id,
                    record_id,
                    task_id,
                },
                (hash ^ other as u64).count_ones(),
            )
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
        let hash = analysis.perceptual_hash;
        let width = i32::try_from(analysis.width).unwrap_or(i32::MAX);
        let height = i32::try_from(analysis.height).unwrap_or(i32::MAX);
        let done = in_tx!(self, tx => {
            let done = sqlx::query(
                "UPDATE photos SET status = 'done', lease_owner = NULL, lease_expires_at = NULL, last_error = NULL, \
                 content_type = $1, width = $2, height = $3, exif = $4, verification = $5, verdict = $6, \
                 thumb_small_key = $7, thumb_large_key = $8, processed_at = $9, \
                 phash = $12, phash_0 = $13, phash_1 = $14, phash_2 = $15, phash_3 = $16 \
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
            .bind(hash.map(|h| h as i64))
            .bind(hash.map(|h| i32::from(quarter(h, 0))))
            .bind(hash.map(|h| i32::from(quarter(h, 1))))
            .bind(hash.map(|h| i32::from(quarter(h, 2))))
            .bind(hash.map(|h| i32::from(quarter(h, 3))))
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

/// Most distinct close hashes looked up with their records (a flat or black picture has many
/// look-alikes; the earliest among the closest is enough).
const MAX_CLOSE_HASHES: usize = 200;

/// Quarter `q` (0–3, low bits first) of a 64-bit hash.
fn quarter(hash: u64, q: u32) -> u16 {
    (hash >> (16 * q)) as u16
}

/// Every 16-bit value within `radius` bits of `value`, `value` first.
fn neighbours(value: u16, radius: u32) -> Vec<u16> {
    let mut out = vec![value];
    let mut frontier = vec![(value, 0u32)];
    for _ in 0..radius.min(16) {
        let mut next = Vec::new();
        for (v, lowest) in frontier {
            // Flip only bits above the last one flipped, so each set is made once.
            for bit in lowest..16 {
                let flipped = v ^ (1 << bit);
                out.push(flipped);
                next.push((flipped, bit + 1));
            }
        }
        frontier = next;
    }
    out
}

#[cfg(test)]
mod similarity_tests {
    use super::*;

    #[test]
    fn neighbours_are_every_value_within_the_radius_once() {
        for radius in 0..=3 {
            let mut n = neighbours(0xA5A5, radius);
            let count = n.len();
            n.sort_unstable();
            n.dedup();
            assert_eq!(n.len(), count, "duplicates at radius {radius}");
            let expected = (0..=0xFFFFu16)
                .filter(|v| (v ^ 0xA5A5).count_ones() <= radius)
                .count();
            assert_eq!(count, expected);
        }
    }

    #[test]
    fn quarters_cover_the_hash() {
        let h = 0x0123_4567_89AB_CDEF_u64;
        let back = (0..4).fold(0u64, |acc, q| acc | (u64::from(quarter(h, q)) << (16 * q)));
        assert_eq!(back, h);
    }
}
