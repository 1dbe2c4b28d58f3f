//! Receiving a request body into a staging file while hashing it, within the size limit, so
//! that memory stays flat whatever the photo's size and nothing reaches storage unchecked.

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use sha2::{Digest, Sha256};
use tempfile::TempPath;
use tokio::io::AsyncWriteExt;

use crate::app::App;
use crate::error::ApiError;

/// Bytes gathered before each write to the staging file.
const WRITE_BUFFER: usize = 256 * 1024;

/// A fully received body on local disk; the file is removed when this is dropped.
#[derive(Debug)]
pub struct StagedUpload {
    path: TempPath,
    /// SHA-256 of the bytes, hex.
    pub sha256: String,
    /// Number of bytes.
    pub size: u64,
}

impl StagedUpload {
    /// Where the bytes are.
    pub fn path(&self) -> &std::path::Path {
        &self.path
    }

    /// The staged file itself, to be moved into storage.
    pub fn into_temp_path(self) -> TempPath {
        self.path
    }
}

/// 413 before a byte is read when the declared `Content-Length` is over the upload limit.
pub fn refuse_declared_oversize(app: &App, headers: &axum::http::HeaderMap) -> Result<(), ApiError> {
    let limit = app.settings.max_upload_bytes;
    let declared = headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit) {
        return Err(ApiError::PayloadTooLarge { limit });
    }
    Ok(())
}

/// Streams `body` to a staging file, hashing as it goes; 413 as soon as it passes the limit.
pub async fn stage<S, E>(app: &App, body: S) -> Result<StagedUpload, ApiError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let limit = app.settings.max_upload_bytes;
    let received = receive(app, body, limit, false).await?;
    match received.end {
        BodyEnd::Complete => Ok(received.staged),
        BodyEnd::Interrupted(e) => Err(ApiError::Malformed(format!("the upload was interrupted: {e}"))),
        BodyEnd::Stalled { idle_secs } => Err(ApiError::UploadStalled { idle_secs }),
        BodyEnd::OverLimit => Err(ApiError::PayloadTooLarge { limit }),
    }
}

/// How a received body ended.
#[derive(Debug)]
pub enum BodyEnd {
    /// Every byte arrived.
    Complete,
    /// The connection broke; what arrived before is staged.
    Interrupted(String),
    /// The client sent nothing for too long; what arrived before is staged.
    Stalled {
        /// The idle limit.
        idle_secs: u64,
    },
    /// More bytes came than allowed; the staged bytes stop before the limit was passed.
    OverLimit,
}

/// A body received as far as it went: resumable uploads keep what arrived before a cut.
#[derive(Debug)]
pub struct Received {
    /// The bytes that arrived.
    pub staged: StagedUpload,
    /// Why receiving stopped.
    pub end: BodyEnd,
    /// SHA-1 of the staged bytes, when asked for (tus checksums may use it).
    pub sha1: Option<[u8; 20]>,
}

/// Streams `body` to a staging file, hashing it with SHA-256 (and SHA-1 when `with_sha1`),
/// until it ends, breaks, stalls or would pass `limit` bytes. Only local I/O failures are
/// errors; the caller decides what a cut-off body means.
pub async fn receive<S, E>(app: &App, mut body: S, limit: u64, with_sha1: bool) -> Result<Received, ApiError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let dir = app.settings.data_dir.join("staging");
    tokio::fs::create_dir_all(&dir)
        .await
        .map_err(|e| ApiError::Internal(format!("creating staging directory: {e}")))?;
    let temp = tempfile::Builder::new()
        .prefix("upload-")
        .tempfile_in(&dir)
        .map_err(|e| ApiError::Internal(format!("creating staging file: {e}")))?;
    let (file, path) = temp.into_parts();
    // Network frames are small; buffered, they reach the disk in few blocking-pool trips.
    let mut file = tokio::io::BufWriter::with_capacity(WRITE_BUFFER, tokio::fs::File::from_std(file));
    let mut sha256 = Sha256::new();
    let mut sha1 = with_sha1.then(sha1::Sha1::new);
    let mut size: u64 = 0;
    let idle = std::time::Duration::from_secs(app.settings.upload_idle_secs.max(1));
    let end = loop {
        // A client that stops sending (a dead phone, or a slow-body attack) is cut off.
        let Ok(next) = tokio::time::timeout(idle, body.next()).await else {
            break BodyEnd::Stalled {
                idle_secs: idle.as_secs(),
            };
        };
        let chunk = match next {
            None => break BodyEnd::Complete,
            Some(Err(e)) => break BodyEnd::Interrupted(e.to_string()),
            Some(Ok(chunk)) => chunk,
        };
        if size + chunk.len() as u64 > limit {
            break BodyEnd::OverLimit;
        }
        size += chunk.len() as u64;
        sha256.update(&chunk);
        if let Some(h) = sha1.as_mut() {
            h.update(&chunk);
        }
        file.write_all(&chunk)
            .await
            .map_err(|e| ApiError::Internal(format!("writing staging file: {e}")))?;
    };
    file.flush()
        .await
        .map_err(|e| ApiError::Internal(format!("flushing staging file: {e}")))?;
    Ok(Received {
        staged: StagedUpload {
            path,
            sha256: hex::encode(sha256.finalize()),
            size,
        },
        end,
        sha1: sha1.map(|h| h.finalize().into()),
    })
}

/// Deletes staging files older than `age`: a process killed mid-request leaves its file
/// behind (a running request deletes its own when it ends).
pub async fn remove_stale_staging(app: &App, age: std::time::Duration) -> std::io::Result<usize> {
    let dir = app.settings.data_dir.join("staging");
    let mut entries = match tokio::fs::read_dir(&dir).await {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    let mut removed = 0;
    while let Some(entry) = entries.next_entry().await? {
        let stale = entry
            .metadata()
            .await
            .and_then(|m| m.modified())
            .is_ok_and(|modified| modified.elapsed().is_ok_and(|elapsed| elapsed > age));
        if stale && entry.file_name().to_string_lossy().starts_with("upload-") {
            tokio::fs::remove_file(entry.path()).await?;
            removed += 1;
        }
    }
    Ok(removed)
}
