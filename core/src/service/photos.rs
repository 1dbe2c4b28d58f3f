//! Photos: accepting an upload into the pipeline, and reading photos back.

use chrono::Utc;

use super::Caller;
use super::upload::StagedUpload;
use crate::app::App;
use crate::audit::AuditEvent;
use crate::domain::Record;
use crate::domain::evidence::clean_file_name;
use crate::error::ApiError;
use crate::ids::{PhotoId, RecordId};
use crate::imageinfo::{self, ImageInfo};
use crate::storage::{ObjectBody, StorageError, original_key};
use crate::store::{NewPhoto, PhotoRow, PutOutcome};

/// Whether a `PUT` created the photo or found the same bytes already there.
#[derive(Debug, Clone)]
pub enum Put {
    /// 201: stored and queued.
    Created(PhotoRow),
    /// 200: an identical repeat.
    Unchanged(PhotoRow),
}

/// The record a photo is being uploaded to, checked before any byte is read: 404 when the
/// caller cannot see it, 403 when it is someone else's.
pub async fn upload_target(app: &App, caller: &Caller, record: RecordId) -> Result<Record, ApiError> {
    let record = super::records::visible_record(app, caller, record).await?;
    if record.created_by != caller.user.id {
        return Err(ApiError::Forbidden(
            "only the record's author may add photos to it",
        ));
    }
    Ok(record)
}

/// Checks the staged bytes are a complete image within the pixel limit, stores the original
/// under its hash and queues the photo. Nothing is stored when any check fails.
pub async fn put_photo(
    app: &App,
    caller: &Caller,
    record: &Record,
    id: PhotoId,
    staged: StagedUpload,
    file_name: Option<&str>,
) -> Result<Put, ApiError> {
    let info = inspect(&staged).await?;
    if info.pixels() > app.settings.max_pixels {
        return Err(ApiError::ImageTooLarge {
            width: info.width,
            height: info.height,
            max_pixels: app.settings.max_pixels,
        });
    }
    if let Some(existing) = app.store.find_photo(id).await? {
        return settle_visible(app, caller, existing, record.id, &staged.sha256).await;
    }
    let key = original_key(&staged.sha256);
    let content_type = info.format.mime();
    // The phone's clock as it told us lately (a `Device-Time` header on any mobile request).
    let device_clock_offset_ms = app
        .store
        .device_clock(caller.user.id, Utc::now() - chrono::Duration::hours(24))
        .await?;
    let (sha256, size) = (staged.sha256.clone(), staged.size);
    app.objects
        .put_staged_once(&key, staged.into_temp_path(), content_type)
        .await?;
    let new = NewPhoto {
        id,
        record_id: record.id,
        sha256: sha256.clone(),
        size_bytes: i64::try_from(size).unwrap_or(i64::MAX),
        content_type: content_type.to_owned(),
        original_key: key,
        device_clock_offset_ms,
        file_name: file_name.and_then(clean_file_name),
    };
    match app
        .store
        .put_photo(&new, record.task_id, &caller.actor(), Utc::now())
        .await?
    {
        PutOutcome::Created(row) => {
            app.photo_queued.notify_one();
            Ok(Put::Created(row))
        }
        PutOutcome::Unchanged(row) | PutOutcome::Conflict(row) => {
            settle_visible(app, caller, row, record.id, &sha256).await
        }
    }
}

/// Like [`settle`], but a photo id that belongs to someone else's record is a 404, so that
/// guessing ids reveals nothing.
async fn settle_visible(
    app: &App,
    caller: &Caller,
    existing: PhotoRow,
    record: RecordId,
    sha256: &str,
) -> Result<Put, ApiError> {
    if existing.record_id != record {
        let owner = app.store.find_record(existing.record_id).await?;
        if owner.is_none_or(|r| r.created_by != caller.user.id) {
            return Err(ApiError::NotFound("photo"));
        }
    }
    settle(existing, record, sha256)
}

async fn inspect(staged: &StagedUpload) -> Result<ImageInfo, ApiError> {
    let path = staged.path().to_path_buf();
    let info = tokio::task::spawn_blocking(move || imageinfo::inspect_file(&path))
        .await
        .map_err(|e| ApiError::Internal(format!("inspecting upload: {e}")))??;
    Ok(info)
}

fn settle(existing: PhotoRow, record: RecordId, sha256: &str) -> Result<Put, ApiError> {
    if existing.record_id == record && existing.sha256 == sha256 {
        Ok(Put::Unchanged(existing))
    } else {
        Err(ApiError::Conflict {
            code: "photo_conflict",
            detail: format!("photo {} already exists with different content", existing.id),
        })
    }
}

/// A photo the caller may see, with its record.
pub async fn find_photo(app: &App, caller: &Caller, id: PhotoId) -> Result<(PhotoRow, Record), ApiError> {
    let photo = app
        .store
        .find_photo(id)
        .await?
        .ok_or(ApiError::NotFound("photo"))?;
    let record = super::records::visible_record(app, caller, photo.record_id)
        .await
        .map_err(|_| ApiError::NotFound("photo"))?;
    Ok((photo, record))
}

/// Which stored file of a photo to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// The original bytes, unchanged.
    Original,
    /// The 256 px thumbnail.
    Small,
    /// The 1280 px thumbnail.
    Large,
}

/// Opens one stored file of a photo; 404 while a thumbnail does not exist yet. Every view of
/// an original is recorded (who looked at which evidence).
pub async fn open(
    app: &App,
    caller: &Caller,
    photo: &PhotoRow,
    record: &Record,
    variant: Variant,
) -> Result<ObjectBody, ApiError> {
    let key = match variant {
        Variant::Original => Some(&photo.original_key),
        Variant::Small => photo.thumb_small_key.as_ref(),
        Variant::Large => photo.thumb_large_key.as_ref(),
    }
    .ok_or(ApiError::NotFound("thumbnail"))?;
    let body = match app.objects.get_stream(key).await {
        Ok(body) => body,
        Err(StorageError::NotFound) => return Err(ApiError::NotFound("object")),
        Err(e) => return Err(e.into()),
    };
    if variant == Variant::Original {
        let event = AuditEvent::new(
            Utc::now(),
            &caller.actor(),
            "photo.original_viewed",
            "photo",
            photo.id.0,
            &serde_json::json!({ "record_id": record.id, "sha256": photo.sha256 }),
        )
        .on_task(record.task_id);
        app.store.append_audit(&event).await?;
    }
    Ok(body)
}
