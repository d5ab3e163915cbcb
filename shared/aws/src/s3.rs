//! The `Blobs` port over S3. Object-created notifications are wired by S3 itself (to the
//! `uploads` queue, see `template.yaml`).

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::Client;
use bytes::Bytes;
use trickle_app::ports::blobs::{
    check_key, check_presign_expiry, BlobError, BlobMeta, BlobReader, Blobs, PresignedUpload,
    Revision,
};

use crate::describe;

#[derive(Clone)]
pub struct S3Blobs {
    client: Client,
    bucket: String,
}

impl S3Blobs {
    pub fn new(client: Client, bucket: impl Into<String>) -> Self {
        Self {
            client,
            bucket: bucket.into(),
        }
    }
}

fn unavailable<E: std::error::Error>(e: E) -> BlobError {
    BlobError::Unavailable(describe(&e))
}

#[async_trait]
impl Blobs for S3Blobs {
    async fn put(&self, key: &str, body: Bytes, content_type: &str) -> Result<(), BlobError> {
        check_key(key)?;
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(|e| unavailable(e.into_service_error()))?;
        Ok(())
    }

    async fn get(&self, key: &str) -> Result<Option<Bytes>, BlobError> {
        check_key(key)?;
        let out = match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) => {
                let service = e.into_service_error();
                return if service.is_no_such_key() {
                    Ok(None)
                } else {
                    Err(unavailable(service))
                };
            }
        };
        let data = out.body.collect().await.map_err(unavailable)?;
        Ok(Some(data.into_bytes()))
    }

    async fn open(&self, key: &str) -> Result<Option<BlobReader>, BlobError> {
        check_key(key)?;
        match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(out) => Ok(Some(Box::new(out.body.into_async_read()))),
            Err(e) => {
                let service = e.into_service_error();
                if service.is_no_such_key() {
                    Ok(None)
                } else {
                    Err(unavailable(service))
                }
            }
        }
    }

    async fn open_from(&self, key: &str, offset: u64) -> Result<Option<BlobReader>, BlobError> {
        check_key(key)?;
        if offset == 0 {
            return self.open(key).await;
        }
        // A ranged GET: resuming a long import does not download what it already read.
        match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .range(format!("bytes={offset}-"))
            .send()
            .await
        {
            Ok(out) => Ok(Some(Box::new(out.body.into_async_read()))),
            Err(e) => {
                let service = e.into_service_error();
                if service.is_no_such_key() {
                    Ok(None)
                } else {
                    Err(unavailable(service))
                }
            }
        }
    }

    async fn open_version(
        &self,
        key: &str,
        offset: u64,
        revision: Revision<'_>,
    ) -> Result<Option<BlobReader>, BlobError> {
        check_key(key)?;
        let mut request = self.client.get_object().bucket(&self.bucket).key(key);
        request = match revision {
            Revision::Latest => return self.open_from(key, offset).await,
            Revision::Version(id) => request.version_id(id),
            Revision::ETag(tag) => request.if_match(format!("\"{}\"", tag.trim_matches('"'))),
        };
        if offset > 0 {
            request = request.range(format!("bytes={offset}-"));
        }
        match request.send().await {
            Ok(out) => Ok(Some(Box::new(out.body.into_async_read()))),
            Err(e) => {
                let status = e.raw_response().map(|r| r.status().as_u16());
                let service = e.into_service_error();
                // Not this revision any more: a version S3 does not have (404 NoSuchVersion,
                // or 400 for an id it cannot read), an ETag the object lost (412).
                let code = aws_sdk_s3::error::ProvideErrorMetadata::code(&service);
                let gone = service.is_no_such_key()
                    || matches!(
                        code,
                        Some("NoSuchVersion" | "InvalidArgument" | "PreconditionFailed")
                    )
                    || status == Some(412);
                if gone {
                    Ok(None)
                } else {
                    Err(unavailable(service))
                }
            }
        }
    }

    async fn list(&self, prefix: &str) -> Result<Vec<BlobMeta>, BlobError> {
        let mut found = Vec::new();
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(prefix)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| unavailable(e.into_service_error()))?;
            for object in page.contents() {
                found.push(BlobMeta {
                    key: object.key().unwrap_or_default().to_string(),
                    size: object.size().unwrap_or(0).max(0) as u64,
                });
            }
        }
        Ok(found)
    }

    async fn presign_put(
        &self,
        key: &str,
        content_type: &str,
        expires_in: Duration,
    ) -> Result<PresignedUpload, BlobError> {
        check_key(key)?;
        check_presign_expiry(expires_in)?;
        let config = PresigningConfig::expires_in(expires_in)
            .map_err(|e| BlobError::Invalid(describe(&e)))?;
        let request = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .presigned(config)
            .await
            .map_err(|e| unavailable(e.into_service_error()))?;
        let headers: BTreeMap<String, String> = request
            .headers()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.to_string()))
            .collect();
        Ok(PresignedUpload {
            url: request.uri().to_string(),
            method: request.method().to_string(),
            headers,
            expires_at: chrono::Utc::now()
                + chrono::Duration::from_std(expires_in).expect("at most 7 days"),
        })
    }
}
