//! Objects in an S3-compatible bucket through `aws-sdk-s3` (AWS, MinIO, Ceph RGW, …).

use std::path::Path;

use aws_sdk_s3::Client;
use aws_sdk_s3::config::{Credentials, Region, RequestChecksumCalculation, ResponseChecksumValidation};
use aws_sdk_s3::error::{DisplayErrorContext, SdkError};
use aws_sdk_s3::primitives::ByteStream as AwsByteStream;
use bytes::Bytes;
use futures_util::StreamExt;
use tokio_util::io::ReaderStream;

use super::{ObjectBody, StorageError, StorageResult};
use crate::config::Settings;

/// A bucket, with an optional key prefix.
#[derive(Debug, Clone)]
pub struct S3Store {
    client: Client,
    bucket: String,
    prefix: String,
}

fn s3_error<E: std::error::Error + 'static, R: std::fmt::Debug>(err: SdkError<E, R>) -> StorageError {
    StorageError::S3(DisplayErrorContext(err).to_string())
}

impl S3Store {
    /// Connects to `bucket[/prefix]` with the endpoint, region and credentials of `settings`.
    pub async fn open(bucket_and_prefix: &str, settings: &Settings) -> StorageResult<S3Store> {
        let (bucket, prefix) = match bucket_and_prefix.split_once('/') {
            Some((b, p)) => (b, p.trim_matches('/')),
            None => (bucket_and_prefix, ""),
        };
        if bucket.is_empty() {
            return Err(StorageError::UnknownScheme(format!("s3://{bucket_and_prefix}")));
        }
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(Region::new(settings.s3_region.clone()));
        if let (Some(id), Some(secret)) = (&settings.s3_access_key_id, &settings.s3_secret_access_key) {
            loader = loader.credentials_provider(Credentials::new(
                id.expose(),
                secret.expose(),
                None,
                None,
                "fieldproof-settings",
            ));
        }
        let shared = loader.load().await;
        // Checksums only where the API requires them: many S3-compatible services predate the
        // SDK's default CRC trailers and reject or mangle them.
        let mut builder = aws_sdk_s3::config::Builder::from(&shared)
            .force_path_style(settings.s3_path_style)
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired);
        if let Some(endpoint) = &settings.s3_endpoint {
            builder = builder.endpoint_url(endpoint);
        }
        Ok(S3Store {
            client: Client::from_conf(builder.build()),
            bucket: bucket.to_owned(),
            prefix: if prefix.is_empty() {
                String::new()
            } else {
                format!("{prefix}/")
            },
        })
    }

    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    pub(super) async fn put_file_once(&self, key: &str, src: &Path, content_type: &str) -> StorageResult<()> {
        if self.exists(key).await? {
            return Ok(());
        }
        let body = AwsByteStream::from_path(src)
            .await
            .map_err(|e| StorageError::S3(format!("reading upload: {e}")))?;
        let result = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(self.key(key))
            .content_type(content_type)
            .if_none_match("*")
            .body(body)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // Another writer stored the same content-addressed object first.
            Err(e) if e.raw_response().map(|r| r.status().as_u16()) == Some(412) => Ok(()),
            Err(e) => Err(s3_error(e)),
        }
    }

    pub(super) async fn put_bytes(&self, key: &str, bytes: Bytes, content_type: &str) -> StorageResult<()> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(self.key(key))
            .content_type(content_type)
            .body(AwsByteStream::from(bytes))
            .send()
            .await
            .map_err(s3_error)?;
        Ok(())
    }

    async fn get(&self, key: &str) -> StorageResult<aws_sdk_s3::operation::get_object::GetObjectOutput> {
        match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(self.key(key))
            .send()
            .await
        {
            Ok(out) => Ok(out),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => Err(StorageError::NotFound),
            Err(e) => Err(s3_error(e)),
        }
    }

    pub(super) async fn get_bytes(&self, key: &str) -> StorageResult<Bytes> {
        let out = self.get(key).await?;
        let data = out
            .body
            .collect()
            .await
            .map_err(|e| StorageError::S3(format!("reading object: {e}")))?;
        Ok(data.into_bytes())
    }

    pub(super) async fn get_stream(&self, key: &str) -> StorageResult<ObjectBody> {
        let out = self.get(key).await?;
        let len = out
            .content_length()
            .and_then(|l| u64::try_from(l).ok())
            .unwrap_or(0);
        let reader = out.body.into_async_read();
        Ok(ObjectBody {
            len,
            stream: ReaderStream::new(reader).boxed(),
        })
    }

    pub(super) async fn exists(&self, key: &str) -> StorageResult<bool> {
        match self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(self.key(key))
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => Ok(false),
            Err(e) if e.raw_response().map(|r| r.status().as_u16()) == Some(404) => Ok(false),
            Err(e) => Err(s3_error(e)),
        }
    }

    pub(super) async fn delete(&self, key: &str) -> StorageResult<()> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(self.key(key))
            .send()
            .await
            .map_err(s3_error)?;
        Ok(())
    }

    pub(super) async fn delete_prefix(&self, prefix: &str) -> StorageResult<()> {
        let mut token = None;
        loop {
            let page = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(format!("{}/", self.key(prefix)))
                .set_continuation_token(token)
                .send()
                .await
                .map_err(s3_error)?;
            for object in page.contents() {
                if let Some(key) = object.key() {
                    self.client
                        .delete_object()
                        .bucket(&self.bucket)
                        .key(key)
                        .send()
                        .await
                        .map_err(s3_error)?;
                }
            }
            token = page.next_continuation_token().map(str::to_owned);
            if token.is_none() {
                return Ok(());
            }
        }
    }

    pub(super) async fn health(&self) -> StorageResult<()> {
        self.client
            .head_bucket()
            .bucket(&self.bucket)
            .send()
            .await
            .map_err(s3_error)?;
        Ok(())
    }
}
