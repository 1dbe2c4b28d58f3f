//! Resumable uploads: the committed offset of each upload and the chunks that make it up.
//!
//! Appending is one conditional update (`received = expected`) plus the chunk's row keyed by
//! its start, so two replicas appending at the same offset cannot both succeed.

use chrono::{DateTime, Utc};

use super::{Store, StoreResult, in_tx, on_pool};
use crate::ids::{PhotoId, RecordId, UploadId, UserId};

/// One resumable upload as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UploadRow {
    /// Its id, in its URL.
    pub id: UploadId,
    /// The user who created it; nobody else may touch it.
    pub owner_id: UserId,
    /// The record the photo belongs to.
    pub record_id: RecordId,
    /// The photo it becomes when complete.
    pub photo_id: PhotoId,
    /// Total length, when known (tus always; the IETF draft may tell it only at the end).
    pub length: Option<i64>,
    /// Bytes committed so far: the offset a client resumes from.
    pub received: i64,
    /// The client's `Upload-Metadata`, echoed back on `HEAD`.
    pub metadata: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// After this, an unfinished upload is gone; every append moves it on.
    pub expires_at: DateTime<Utc>,
    /// When the photo was made from it.
    pub completed_at: Option<DateTime<Utc>>,
}

/// One committed chunk of an upload.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UploadChunk {
    /// Offset of its first byte.
    pub start_offset: i64,
    /// Its length.
    pub size: i64,
    /// Where its bytes are.
    pub object_key: String,
}

const COLUMNS: &str =
    "id, owner_id, record_id, photo_id, length, received, metadata, created_at, expires_at, completed_at";

impl Store {
    /// Records a new, empty upload.
    pub async fn create_upload(&self, upload: &UploadRow) -> StoreResult<()> {
        on_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO uploads (id, owner_id, record_id, photo_id, length, received, metadata, \
                 created_at, expires_at, completed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(upload.id)
            .bind(upload.owner_id)
            .bind(upload.record_id)
            .bind(upload.photo_id)
            .bind(upload.length)
            .bind(upload.received)
            .bind(&upload.metadata)
            .bind(upload.created_at)
            .bind(upload.expires_at)
            .bind(upload.completed_at)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// An upload by id.
    pub async fn find_upload(&self, id: UploadId) -> StoreResult<Option<UploadRow>> {
        let sql = format!("SELECT {COLUMNS} FROM uploads WHERE id = $1");
        Ok(on_pool!(self, pool => {
            sqlx::query_as(&sql).bind(id).fetch_optional(pool).await?
        }))
    }

    /// Commits a chunk stored under `object_key` at its start, when the upload is still open,
    /// unexpired at `now` and still at that offset; `length` is set when the client has just
    /// told it. Returns false (and changes nothing) when another request moved the offset
    /// first or the upload ran out of time.
    pub async fn append_upload_chunk(
        &self,
        id: UploadId,
        chunk: &UploadChunk,
        length: Option<i64>,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        Ok(in_tx!(self, tx => {
            let moved = sqlx::query(
                "UPDATE uploads SET received = received + $3, expires_at = $4, \
                 length = COALESCE(length, $5) \
                 WHERE id = $1 AND received = $2 AND completed_at IS NULL AND expires_at > $6 \
                 AND (COALESCE(length, $5) IS NULL OR received + $3 <= COALESCE(length, $5))",
            )
            .bind(id)
            .bind(chunk.start_offset)
            .bind(chunk.size)
            .bind(expires_at)
            .bind(length)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if moved == 1 {
                sqlx::query(
                    "INSERT INTO upload_chunks (upload_id, start_offset, size, object_key) \
                     VALUES ($1, $2, $3, $4)",
                )
                .bind(id)
                .bind(chunk.start_offset)
                .bind(chunk.size)
                .bind(&chunk.object_key)
                .execute(&mut *tx)
                .await?;
            }
            moved == 1
        }))
    }

    /// Sets the length of an upload that did not know it (the IETF draft's last append with
    /// no bytes); false when it is already set to something else.
    pub async fn set_upload_length(&self, id: UploadId, length: i64) -> StoreResult<bool> {
        let moved = on_pool!(self, pool => {
            sqlx::query(
                "UPDATE uploads SET length = $2 WHERE id = $1 AND (length IS NULL OR length = $2) \
                 AND received <= $2",
            )
            .bind(id)
            .bind(length)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(moved == 1)
    }

    /// An upload's chunks in order.
    pub async fn list_upload_chunks(&self, id: UploadId) -> StoreResult<Vec<UploadChunk>> {
        Ok(on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT start_offset, size, object_key FROM upload_chunks WHERE upload_id = $1 \
                 ORDER BY start_offset",
            )
            .bind(id)
            .fetch_all(pool)
            .await?
        }))
    }

    /// Marks an upload of `length` bytes as made into its photo and forgets its chunks (their
    /// objects are deleted by the caller); the row stays until it expires so a late `HEAD`
    /// still answers.
    pub async fn complete_upload(
        &self,
        id: UploadId,
        length: i64,
        at: DateTime<Utc>,
        keep_until: DateTime<Utc>,
    ) -> StoreResult<()> {
        in_tx!(self, tx => {
            sqlx::query(
                "UPDATE uploads SET completed_at = COALESCE(completed_at, $2), expires_at = $3, \
                 received = $4, length = $4 WHERE id = $1",
            )
            .bind(id)
            .bind(at)
            .bind(keep_until)
            .bind(length)
            .execute(&mut *tx)
            .await?;
            sqlx::query("DELETE FROM upload_chunks WHERE upload_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
        });
        Ok(())
    }

    /// Forgets an upload and its chunks (termination, or a photo that was refused).
    pub async fn delete_upload(&self, id: UploadId) -> StoreResult<()> {
        on_pool!(self, pool => {
            sqlx::query("DELETE FROM uploads WHERE id = $1")
                .bind(id)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// Uploads whose time ran out by `now`, oldest first.
    pub async fn expired_uploads(&self, now: DateTime<Utc>, limit: i64) -> StoreResult<Vec<UploadId>> {
        Ok(on_pool!(self, pool => {
            sqlx::query_scalar(
                "SELECT id FROM uploads WHERE expires_at < $1 ORDER BY expires_at LIMIT $2",
            )
            .bind(now)
            .bind(limit)
            .fetch_all(pool)
            .await?
        }))
    }

    /// Deletes an upload only if it is still expired at `now` (an append may have just moved
    /// it on); true when this call deleted it, so only one replica cleans its objects up.
    pub async fn delete_expired_upload(&self, id: UploadId, now: DateTime<Utc>) -> StoreResult<bool> {
        let gone = on_pool!(self, pool => {
            sqlx::query("DELETE FROM uploads WHERE id = $1 AND expires_at < $2")
                .bind(id)
                .bind(now)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(gone == 1)
    }
}
