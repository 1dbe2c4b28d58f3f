//! Objects as files under one directory; writes go to a temporary file and are renamed into
//! place, so a reader never sees half an object.

use std::path::{Path, PathBuf};

use bytes::Bytes;
use futures_util::StreamExt;
use tempfile::TempPath;
use tokio::io::AsyncWriteExt;
use tokio_util::io::ReaderStream;

use super::{ObjectBody, StorageError, StorageResult};

/// Bytes read from a file per step of a stream.
const READ_CHUNK: usize = 256 * 1024;

/// A directory holding objects by key.
#[derive(Debug, Clone)]
pub struct FsStore {
    root: PathBuf,
}

impl FsStore {
    /// Opens (and creates) the directory.
    pub async fn open(root: &Path) -> StorageResult<FsStore> {
        tokio::fs::create_dir_all(root.join(".tmp")).await?;
        Ok(FsStore {
            root: root.to_path_buf(),
        })
    }

    fn path(&self, key: &str) -> PathBuf {
        self.root.join(key)
    }

    fn temp_path(&self) -> PathBuf {
        self.root.join(".tmp").join(uuid::Uuid::new_v4().to_string())
    }

    async fn publish(&self, temp: &Path, key: &str) -> StorageResult<()> {
        let dest = self.path(key);
        if let Some(parent) = dest.parent() {
            tokio::fs::create_dir_all(parent).await?;
        }
        tokio::fs::rename(temp, dest).await?;
        Ok(())
    }

    pub(super) async fn put_moved_once(&self, key: &str, staged: TempPath) -> StorageResult<()> {
        if self.exists(key).await? {
            return Ok(());
        }
        let dest = self.path(key);
        if let Some(parent) = dest.parent() {
            tokio::fs::create_dir_all(parent).await?;
        }
        // A rename within one file system; from another one (a staging directory elsewhere)
        // the bytes are copied instead.
        match tokio::task::spawn_blocking(move || staged.persist(&dest)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => self.put_file_once(key, &e.path).await,
            Err(e) => Err(StorageError::Io(std::io::Error::other(e))),
        }
    }

    async fn put_file_once(&self, key: &str, src: &Path) -> StorageResult<()> {
        if self.exists(key).await? {
            return Ok(());
        }
        let temp = self.temp_path();
        tokio::fs::copy(src, &temp).await?;
        self.publish(&temp, key).await
    }

    pub(super) async fn put_bytes(&self, key: &str, bytes: &[u8]) -> StorageResult<()> {
        let temp = self.temp_path();
        let mut file = tokio::fs::File::create(&temp).await?;
        file.write_all(bytes).await?;
        file.sync_all().await?;
        drop(file);
        self.publish(&temp, key).await
    }

    pub(super) async fn get_bytes(&self, key: &str) -> StorageResult<Bytes> {
        match tokio::fs::read(self.path(key)).await {
            Ok(b) => Ok(Bytes::from(b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(StorageError::NotFound),
            Err(e) => Err(e.into()),
        }
    }

    pub(super) async fn get_stream(&self, key: &str) -> StorageResult<ObjectBody> {
        let file = match tokio::fs::File::open(self.path(key)).await {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(StorageError::NotFound),
            Err(e) => return Err(e.into()),
        };
        let len = file.metadata().await?.len();
        Ok(ObjectBody {
            len,
            // Large reads: the default 4 KiB would cost one blocking-pool trip per 4 KiB.
            stream: ReaderStream::with_capacity(file, READ_CHUNK).boxed(),
        })
    }

    pub(super) async fn exists(&self, key: &str) -> StorageResult<bool> {
        Ok(tokio::fs::try_exists(self.path(key)).await?)
    }

    pub(super) async fn delete(&self, key: &str) -> StorageResult<()> {
        match tokio::fs::remove_file(self.path(key)).await {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        }
    }

    pub(super) async fn delete_prefix(&self, prefix: &str) -> StorageResult<()> {
        match tokio::fs::remove_dir_all(self.path(prefix)).await {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        }
    }

    pub(super) async fn health(&self) -> StorageResult<()> {
        let probe = self.temp_path();
        tokio::fs::write(&probe, b"ok").await?;
        tokio::fs::remove_file(&probe).await?;
        Ok(())
    }
}
