//! Receiving a request body into a staging file while hashing it, within the size limit, so
//! that memory stays flat whatever the photo's size and nothing reaches storage unchecked.

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use sha2::{Digest, Sha256};
use tempfile::TempPath;
use tokio::io::AsyncWriteExt;

use crate::app::App;
use crate::error::ApiError;

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
pub async fn stage<S, E>(app: &App, mut body: S) -> Result<StagedUpload, ApiError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let limit = app.settings.max_upload_bytes;
    let dir = app.settings.data_dir.join("staging");
    tokio::fs::create_dir_all(&dir)
        .await
        .map_err(|e| ApiError::Internal(format!("creating staging directory: {e}")))?;
    let temp = tempfile::Builder::new()
        .prefix("upload-")
        .tempfile_in(&dir)
        .map_err(|e| ApiError::Internal(format!("creating staging file: {e}")))?;
    let (file, path) = temp.into_parts();
    let mut file = tokio::fs::File::from_std(file);
    let mut hasher = Sha256::new();
    let mut size: u64 = 0;
    let idle = std::time::Duration::from_secs(app.settings.upload_idle_secs.max(1));
    loop {
        // A client that stops sending (a dead phone, or a slow-body attack) is cut off.
        let Ok(next) = tokio::time::timeout(idle, body.next()).await else {
            return Err(ApiError::UploadStalled {
                idle_secs: idle.as_secs(),
            });
        };
        let Some(chunk) = next else { break };
        let chunk = chunk.map_err(|e| ApiError::Malformed(format!("the upload was interrupted: {e}")))?;
        size += chunk.len() as u64;
        if size > limit {
            return Err(ApiError::PayloadTooLarge { limit });
        }
        hasher.update(&chunk);
        file.write_all(&chunk)
            .await
            .map_err(|e| ApiError::Internal(format!("writing staging file: {e}")))?;
    }
    file.flush()
        .await
        .map_err(|e| ApiError::Internal(format!("flushing staging file: {e}")))?;
    Ok(StagedUpload {
        path,
        sha256: hex::encode(hasher.finalize()),
        size,
    })
}
