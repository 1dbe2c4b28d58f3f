//! Resumable uploads, whatever the protocol speaking them: create one for a photo, append a
//! chunk at an offset, make the photo when the last byte is in, terminate, and clean up
//! expired ones. tus 1.0.0 and the IETF resumable-upload draft are two dialects over this.
//!
//! Each accepted chunk is its own object under `uploads/<id>/` in the configured storage and
//! counts once its row is committed, so any replica can resume an upload, and a chunk cut off
//! mid-way keeps the bytes that arrived.

use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures_util::{StreamExt, stream};

use super::Caller;
use super::photos;
use super::upload::{self, BodyEnd, StagedUpload};
use crate::app::App;
use crate::error::ApiError;
use crate::ids::{PhotoId, RecordId, UploadId};
use crate::store::{UploadChunk, UploadRow};

/// What a client asks for when it starts an upload.
#[derive(Debug, Clone)]
pub struct NewUpload {
    /// The record the photo belongs to (the caller must be its author).
    pub record_id: RecordId,
    /// The photo's id, chosen by the phone.
    pub photo_id: PhotoId,
    /// Total length, when the client knows it.
    pub length: Option<u64>,
    /// Raw `Upload-Metadata`, echoed back to tus clients.
    pub metadata: String,
}

/// A checksum a client sent with a chunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checksum {
    /// SHA-1 of the chunk.
    Sha1([u8; 20]),
    /// SHA-256 of the chunk.
    Sha256([u8; 32]),
}

impl Checksum {
    fn algorithm(&self) -> &'static str {
        match self {
            Checksum::Sha1(_) => "sha1",
            Checksum::Sha256(_) => "sha256",
        }
    }
}

/// One append as the client described it.
#[derive(Debug, Clone)]
pub struct Append {
    /// Where the client believes the upload is.
    pub offset: u64,
    /// The chunk's declared `Content-Length`, checked before reading.
    pub declared_len: Option<u64>,
    /// The chunk's checksum, if sent; a mismatch discards the chunk.
    pub checksum: Option<Checksum>,
    /// The client says this chunk ends the upload (the IETF draft's `Upload-Complete: ?1`);
    /// tus uploads end when their declared length is reached.
    pub last: bool,
}

/// The upload after an append.
#[derive(Debug)]
pub enum Appended {
    /// More bytes are expected.
    Open(UploadRow),
    /// The last byte arrived and the photo was made, as the plain `PUT` would have made it.
    Finished(UploadRow, Box<photos::Put>),
}

fn expiry(app: &App) -> chrono::Duration {
    let secs = i64::try_from(app.settings.upload_expiry_secs).unwrap_or(i64::MAX / 1000);
    chrono::Duration::seconds(secs.max(1))
}

/// Starts an upload of one photo of a record the caller wrote.
pub async fn create(app: &App, caller: &Caller, new: NewUpload) -> Result<UploadRow, ApiError> {
    photos::upload_target(app, caller, new.record_id).await?;
    // A photo id taken by another record can never finish; say so before any byte is sent.
    if let Some(existing) = app.store.find_photo(new.photo_id).await?
        && existing.record_id != new.record_id
    {
        return Err(ApiError::Conflict {
            code: "photo_conflict",
            detail: format!("photo {} already belongs to another record", new.photo_id),
        });
    }
    let limit = app.settings.max_upload_bytes;
    if let Some(length) = new.length {
        if length > limit {
            return Err(ApiError::PayloadTooLarge { limit });
        }
        if length == 0 {
            return Err(ApiError::EmptyFile);
        }
    }
    let now = Utc::now();
    let row = UploadRow {
        id: UploadId::new(),
        owner_id: caller.user.id,
        record_id: new.record_id,
        photo_id: new.photo_id,
        length: new.length.map(to_i64),
        received: 0,
        metadata: new.metadata,
        created_at: now,
        expires_at: now + expiry(app),
        completed_at: None,
    };
    app.store.create_upload(&row).await?;
    Ok(row)
}

/// The caller's upload: 404 when it does not exist or is someone else's, 410 when its time
/// ran out before it was finished.
pub async fn find(app: &App, caller: &Caller, id: UploadId) -> Result<UploadRow, ApiError> {
    let upload = app
        .store
        .find_upload(id)
        .await?
        .filter(|u| u.owner_id == caller.user.id)
        .ok_or(ApiError::NotFound("upload"))?;
    if upload.completed_at.is_none() && upload.expires_at <= Utc::now() {
        return Err(ApiError::UploadExpired);
    }
    Ok(upload)
}

/// Appends `body` at `append.offset`. The chunk is discarded whole when it would pass the
/// upload's length or fails its checksum; otherwise what arrived is kept even if the
/// connection broke, so the client resumes after it. The append that completes the upload
/// makes the photo.
pub async fn append<S, E>(
    app: &App,
    caller: &Caller,
    upload: UploadRow,
    append: Append,
    body: S,
) -> Result<Appended, ApiError>
where
    S: futures_util::Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    if upload.completed_at.is_some() {
        return Err(ApiError::UploadCompleted);
    }
    let received = to_u64(upload.received);
    if append.offset != received {
        return Err(ApiError::UploadOffsetMismatch {
            expected: received,
            provided: append.offset,
        });
    }
    let length = upload.length.map(to_u64);
    let too_long = || match length {
        Some(length) => ApiError::UploadLengthExceeded { length },
        None => ApiError::PayloadTooLarge {
            limit: app.settings.max_upload_bytes,
        },
    };
    let room = length
        .unwrap_or(app.settings.max_upload_bytes)
        .saturating_sub(received);
    if append.declared_len.is_some_and(|len| len > room) {
        return Err(too_long());
    }
    let with_sha1 = matches!(append.checksum, Some(Checksum::Sha1(_)));
    let got = upload::receive(app, body, room, with_sha1).await?;
    if let BodyEnd::OverLimit = got.end {
        return Err(too_long());
    }
    if let Some(expected) = &append.checksum {
        if !matches!(got.end, BodyEnd::Complete) {
            // A chunk cut short cannot match its checksum; nothing of it is kept.
            return Err(cut_off(got.end));
        }
        if !checksum_matches(expected, &got.staged, got.sha1.as_ref())? {
            return Err(ApiError::ChecksumMismatch {
                algorithm: expected.algorithm(),
            });
        }
    }
    let completes = append.last && matches!(got.end, BodyEnd::Complete);
    let size = got.staged.size;
    let told_length = completes.then_some(received + size);
    if let (Some(known), Some(told)) = (length, told_length)
        && known != told
    {
        return Err(ApiError::UploadLengthMismatch(format!(
            "the upload was declared {known} bytes long but ended at {told}"
        )));
    }
    if received == 0
        && size > 0
        && matches!(got.end, BodyEnd::Complete)
        && (length == Some(size) || told_length == Some(size))
    {
        // The whole photo in one request: it becomes the photo straight from staging, as a
        // plain PUT does. Should the server stop before the upload is marked complete, the
        // client's retry finds the photo already made (idempotent by its id).
        let put = make_photo(app, caller, &upload, got.staged).await?;
        let upload = UploadRow {
            received: to_i64(size),
            length: Some(to_i64(size)),
            ..upload
        };
        return Ok(Appended::Finished(upload, Box::new(put)));
    }
    let mut upload = upload;
    if size > 0 {
        commit_chunk(app, &mut upload, got.staged, told_length).await?;
    } else if let Some(told) = told_length {
        if !app.store.set_upload_length(upload.id, to_i64(told)).await? {
            return Err(ApiError::UploadLengthMismatch(format!(
                "the upload cannot end at {told} bytes"
            )));
        }
        upload.length = Some(to_i64(told));
    }
    if upload.length == Some(upload.received) {
        let put = finish(app, caller, &upload).await?;
        return Ok(Appended::Finished(upload, Box::new(put)));
    }
    match got.end {
        BodyEnd::Complete => Ok(Appended::Open(upload)),
        // The client is probably gone; what arrived is kept for its next attempt.
        other => Err(cut_off(other)),
    }
}

fn cut_off(end: BodyEnd) -> ApiError {
    match end {
        BodyEnd::Stalled { idle_secs } => ApiError::UploadStalled { idle_secs },
        BodyEnd::Interrupted(e) => ApiError::Malformed(format!("the upload was interrupted: {e}")),
        BodyEnd::Complete | BodyEnd::OverLimit => ApiError::Malformed("the upload was cut off".into()),
    }
}

fn checksum_matches(
    expected: &Checksum,
    staged: &StagedUpload,
    sha1: Option<&[u8; 20]>,
) -> Result<bool, ApiError> {
    Ok(match expected {
        Checksum::Sha1(want) => sha1 == Some(want),
        Checksum::Sha256(want) => {
            let got = hex::decode(&staged.sha256).map_err(|e| ApiError::Internal(e.to_string()))?;
            got == want
        }
    })
}

/// Stores the chunk's bytes (moved into place on the directory store), then commits them at
/// the upload's offset; when another request moved the offset first, this chunk's object is
/// deleted again.
async fn commit_chunk(
    app: &App,
    upload: &mut UploadRow,
    staged: StagedUpload,
    told_length: Option<u64>,
) -> Result<(), ApiError> {
    let start = upload.received;
    let key = format!(
        "uploads/{}/{:020}-{}",
        upload.id,
        start,
        uuid::Uuid::new_v4().simple()
    );
    let size = to_i64(staged.size);
    app.objects
        .put_staged_once(&key, staged.into_temp_path(), "application/octet-stream")
        .await?;
    let chunk = UploadChunk {
        start_offset: start,
        size,
        object_key: key,
    };
    let now = Utc::now();
    let expires_at = now + expiry(app);
    let committed = app
        .store
        .append_upload_chunk(upload.id, &chunk, told_length.map(to_i64), expires_at, now)
        .await?;
    if !committed {
        // Nothing refers to the object: delete it now, since a terminated or finished upload
        // is never cleaned up again.
        if let Err(e) = app.objects.delete(&chunk.object_key).await {
            tracing::warn!(upload = %upload.id, error = %e, "deleting a chunk that lost its race failed");
        }
        let current = app.store.find_upload(upload.id).await?;
        return Err(match current {
            Some(u) if u.completed_at.is_some() => ApiError::UploadCompleted,
            Some(u) if u.received != start => ApiError::UploadOffsetMismatch {
                expected: to_u64(u.received),
                provided: to_u64(start),
            },
            Some(_) => ApiError::UploadExpired,
            None => ApiError::NotFound("upload"),
        });
    }
    upload.received += chunk.size;
    upload.length = upload.length.or(told_length.map(to_i64));
    upload.expires_at = expires_at;
    Ok(())
}

/// Makes the photo from a complete upload, exactly as the plain `PUT` does (same checks,
/// same idempotency). A photo that is refused for its content ends the upload; a storage or
/// database failure leaves it for a retry (a `HEAD` finishes it).
pub async fn finish(app: &App, caller: &Caller, upload: &UploadRow) -> Result<photos::Put, ApiError> {
    let staged = assemble(app, upload).await?;
    make_photo(app, caller, upload, staged).await
}

/// The value of `key` in tus `Upload-Metadata` (`key base64,…`; checked when the upload was
/// created), if present and UTF-8.
fn metadata_value(raw: &str, key: &str) -> Option<String> {
    use base64::Engine;
    raw.split(',')
        .filter_map(|pair| pair.trim().split_once(' '))
        .find(|(k, _)| *k == key)
        .and_then(|(_, v)| base64::engine::general_purpose::STANDARD.decode(v.trim()).ok())
        .and_then(|v| String::from_utf8(v).ok())
}

/// Makes the photo from the whole upload in `staged` and marks the upload complete.
async fn make_photo(
    app: &App,
    caller: &Caller,
    upload: &UploadRow,
    staged: StagedUpload,
) -> Result<photos::Put, ApiError> {
    let length = to_i64(staged.size);
    let record = photos::upload_target(app, caller, upload.record_id).await?;
    let file_name =
        metadata_value(&upload.metadata, "filename").or_else(|| metadata_value(&upload.metadata, "name"));
    match photos::put_photo(
        app,
        caller,
        &record,
        upload.photo_id,
        staged,
        file_name.as_deref(),
    )
    .await
    {
        Ok(put) => {
            let now = Utc::now();
            app.store
                .complete_upload(upload.id, length, now, now + expiry(app))
                .await?;
            discard_chunks(app, upload.id).await;
            Ok(put)
        }
        Err(e) if e.code_and_status().1.is_client_error() => {
            app.store.delete_upload(upload.id).await?;
            discard_chunks(app, upload.id).await;
            Err(e)
        }
        Err(e) => Err(e),
    }
}

/// Reads an upload's chunks back, in order, into one staged file.
async fn assemble(app: &App, upload: &UploadRow) -> Result<StagedUpload, ApiError> {
    let chunks = app.store.list_upload_chunks(upload.id).await?;
    let mut next = 0;
    for chunk in &chunks {
        if chunk.start_offset != next {
            return Err(ApiError::Internal(format!(
                "upload {} has no chunk at offset {next}",
                upload.id
            )));
        }
        next += chunk.size;
    }
    if Some(next) != upload.length {
        return Err(ApiError::Internal(format!(
            "upload {} holds {next} bytes, not its length",
            upload.id
        )));
    }
    let objects = app.objects.clone();
    let body = stream::iter(chunks)
        .then(move |chunk| {
            let objects = objects.clone();
            async move { objects.get_stream(&chunk.object_key).await }
        })
        .flat_map(|opened| match opened {
            Ok(object) => object.stream,
            Err(e) => stream::once(async move { Err(std::io::Error::other(e)) }).boxed(),
        })
        .boxed();
    let got = upload::receive(app, body, app.settings.max_upload_bytes, false).await?;
    match got.end {
        BodyEnd::Complete => Ok(got.staged),
        other => Err(ApiError::Internal(format!(
            "reading upload {} back: {other:?}",
            upload.id
        ))),
    }
}

/// Ends an upload on the client's request and deletes its bytes.
pub async fn terminate(app: &App, caller: &Caller, id: UploadId) -> Result<(), ApiError> {
    let upload = match find(app, caller, id).await {
        Ok(upload) => upload,
        // An expired upload can still be terminated; it would be cleaned up anyway.
        Err(ApiError::UploadExpired) => app
            .store
            .find_upload(id)
            .await?
            .ok_or(ApiError::NotFound("upload"))?,
        Err(e) => return Err(e),
    };
    discard_chunks(app, upload.id).await;
    app.store.delete_upload(upload.id).await?;
    Ok(())
}

/// Deletes an upload's chunk objects; a failure is logged and left for the expiry clean-up.
async fn discard_chunks(app: &App, id: UploadId) {
    if let Err(e) = app.objects.delete_prefix(&format!("uploads/{id}")).await {
        tracing::warn!(upload = %id, error = %e, "deleting upload chunks failed; left for clean-up");
    }
}

/// Deletes uploads whose time ran out by `now`, objects first so that a failure leaves the
/// row to try again; returns how many went.
pub async fn remove_expired(app: &App, now: DateTime<Utc>) -> Result<usize, ApiError> {
    let mut removed = 0;
    for id in app.store.expired_uploads(now, 100).await? {
        app.objects.delete_prefix(&format!("uploads/{id}")).await?;
        if app.store.delete_expired_upload(id, now).await? {
            removed += 1;
        }
    }
    Ok(removed)
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn to_u64(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}
