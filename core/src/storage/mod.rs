//! Object storage for originals and thumbnails: a directory, or an S3-compatible bucket.

mod fs;
mod s3;

use std::path::Path;
use std::pin::Pin;

use bytes::Bytes;
use futures_util::Stream;
use tempfile::TempPath;

pub use fs::FsStore;
pub use s3::S3Store;

use crate::config::Settings;

/// Why an object operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The storage URL names a scheme we do not support.
    #[error("unsupported storage URL `{0}`; use `file:///path` or `s3://bucket[/prefix]`")]
    UnknownScheme(String),
    /// No object under this key.
    #[error("object not found")]
    NotFound,
    /// A key that could escape its prefix; keys are made by the server, so this is a bug.
    #[error("invalid object key")]
    InvalidKey,
    /// Local file system error.
    #[error("file storage error: {0}")]
    Io(#[from] std::io::Error),
    /// The S3 service answered with an error or could not be reached.
    #[error("S3 error: {0}")]
    S3(String),
}

/// Result of an object operation.
pub type StorageResult<T> = Result<T, StorageError>;

/// A boxed byte stream of an object's content.
pub type ByteStream = Pin<Box<dyn Stream<Item = std::io::Result<Bytes>> + Send>>;

/// An object being read: its length and its bytes as a stream.
pub struct ObjectBody {
    /// Content length in bytes.
    pub len: u64,
    /// The bytes.
    pub stream: ByteStream,
}

/// Where objects live; chosen by the storage URL.
#[derive(Debug, Clone)]
pub enum ObjectStore {
    /// A directory (embedded mode).
    Fs(FsStore),
    /// An S3-compatible bucket (scaled out).
    S3(S3Store),
}

impl ObjectStore {
    /// Opens the store named by `settings.storage_url()`.
    pub async fn open(settings: &Settings) -> StorageResult<ObjectStore> {
        let url = settings.storage_url();
        if let Some(path) = url.strip_prefix("file://") {
            Ok(ObjectStore::Fs(FsStore::open(Path::new(path)).await?))
        } else if let Some(rest) = url.strip_prefix("s3://") {
            Ok(ObjectStore::S3(S3Store::open(rest, settings).await?))
        } else {
            Err(StorageError::UnknownScheme(url))
        }
    }

    /// Stores a staged file under `key` unless an object is already there (content-addressed
    /// originals are written once; the same key always means the same bytes). The directory
    /// store moves the file into place instead of copying it; the staged file is gone after.
    pub async fn put_staged_once(
        &self,
        key: &str,
        staged: TempPath,
        content_type: &str,
    ) -> StorageResult<()> {
        check_key(key)?;
        match self {
            ObjectStore::Fs(s) => s.put_moved_once(key, staged).await,
            ObjectStore::S3(s) => s.put_file_once(key, &staged, content_type).await,
        }
    }

    /// Stores (or replaces) a small object such as a thumbnail.
    pub async fn put_bytes(&self, key: &str, bytes: Bytes, content_type: &str) -> StorageResult<()> {
        check_key(key)?;
        match self {
            ObjectStore::Fs(s) => s.put_bytes(key, &bytes).await,
            ObjectStore::S3(s) => s.put_bytes(key, bytes, content_type).await,
        }
    }

    /// Reads a whole object into memory (the worker's input; bounded by the upload limit).
    pub async fn get_bytes(&self, key: &str) -> StorageResult<Bytes> {
        check_key(key)?;
        match self {
            ObjectStore::Fs(s) => s.get_bytes(key).await,
            ObjectStore::S3(s) => s.get_bytes(key).await,
        }
    }

    /// Opens an object as a stream, for downloads.
    pub async fn get_stream(&self, key: &str) -> StorageResult<ObjectBody> {
        check_key(key)?;
        match self {
            ObjectStore::Fs(s) => s.get_stream(key).await,
            ObjectStore::S3(s) => s.get_stream(key).await,
        }
    }

    /// Deletes one object; deleting what is not there is not an error.
    pub async fn delete(&self, key: &str) -> StorageResult<()> {
        check_key(key)?;
        match self {
            ObjectStore::Fs(s) => s.delete(key).await,
            ObjectStore::S3(s) => s.delete(key).await,
        }
    }

    /// Deletes every object whose key starts with `prefix/` (an upload's chunks, including
    /// any a crashed request stored but never committed). Deleting nothing is not an error.
    pub async fn delete_prefix(&self, prefix: &str) -> StorageResult<()> {
        check_key(prefix)?;
        match self {
            ObjectStore::Fs(s) => s.delete_prefix(prefix).await,
            ObjectStore::S3(s) => s.delete_prefix(prefix).await,
        }
    }

    /// Whether the store is reachable and writable; used by `/readyz`.
    pub async fn health(&self) -> StorageResult<()> {
        match self {
            ObjectStore::Fs(s) => s.health().await,
            ObjectStore::S3(s) => s.health().await,
        }
    }

    /// The backend's name, for logs.
    pub fn kind(&self) -> &'static str {
        match self {
            ObjectStore::Fs(_) => "file",
            ObjectStore::S3(_) => "s3",
        }
    }
}

/// Object key of an original: its SHA-256, fanned out so no directory grows too large.
pub fn original_key(sha256_hex: &str) -> String {
    let a = sha256_hex.get(0..2).unwrap_or("00");
    let b = sha256_hex.get(2..4).unwrap_or("00");
    format!("originals/{a}/{b}/{sha256_hex}")
}

/// Object key of a photo's thumbnail of one size.
pub fn thumbnail_key(photo: crate::ids::PhotoId, size: &str, format: crate::config::ThumbFormat) -> String {
    format!("thumbnails/{photo}/{size}.{}", format.extension())
}

/// Keys are made by the server from hex digests and UUIDs; anything else is refused so that no
/// key can ever leave its prefix.
fn check_key(key: &str) -> StorageResult<()> {
    let ok = !key.is_empty()
        && !key.starts_with('/')
        && key
            .split('/')
            .all(|part| !part.is_empty() && part != "." && part != "..")
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-".contains(&b));
    if ok { Ok(()) } else { Err(StorageError::InvalidKey) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_cannot_escape_their_prefix() {
        assert!(check_key("originals/ab/cd/abcd").is_ok());
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "a/../b",
            "a//b",
            "a\\b",
            "a b",
            "a/./b",
        ] {
            assert!(check_key(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn original_keys_fan_out_by_hash() {
        assert_eq!(original_key("abcdef"), "originals/ab/cd/abcdef");
    }
}
