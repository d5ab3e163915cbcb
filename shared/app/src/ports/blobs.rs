//! The blob-store port (S3 in AWS, files under the data directory locally).
//!
//! New objects under [`NOTIFIED_PREFIX`] are announced on the `uploads` queue (S3 sends the
//! notification in AWS, the embedded store writes the same message locally); the message's
//! shape belongs to the queue module (`crate::queues::UploadsMessage`), not to this port.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};

/// The prefix whose new objects are announced on [`queues::UPLOADS`].
pub const NOTIFIED_PREFIX: &str = "imports/";
/// Longest lifetime of a pre-signed upload URL.
pub const MAX_PRESIGN: Duration = Duration::from_secs(7 * 24 * 3600);

pub type BlobReader = Box<dyn tokio::io::AsyncRead + Send + Unpin>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobMeta {
    pub key: String,
    pub size: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresignedUpload {
    pub url: String,
    pub method: String,
    /// Headers the uploader must send with the body.
    pub headers: BTreeMap<String, String>,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BlobError {
    #[error("invalid key {0:?}")]
    InvalidKey(String),
    #[error("invalid request: {0}")]
    Invalid(String),
    /// A local upload whose signature is wrong or expired.
    #[error("upload refused: {0}")]
    Forbidden(String),
    #[error("this blob store does not accept direct uploads")]
    Unsupported,
    #[error("blob store unavailable: {0}")]
    Unavailable(String),
}

/// Keys are relative paths of printable characters with no empty, `.` or `..` segment.
pub fn check_key(key: &str) -> Result<(), BlobError> {
    let bad = key.is_empty()
        || key.len() > 1024
        || key.starts_with('/')
        || key.ends_with('/')
        || key.contains('\\')
        || key.chars().any(char::is_control)
        || key
            .split('/')
            .any(|s| s.is_empty() || s == "." || s == "..");
    if bad {
        Err(BlobError::InvalidKey(key.to_string()))
    } else {
        Ok(())
    }
}

/// Upload URLs live between a second and [`MAX_PRESIGN`] (S3's limit for signed URLs).
pub fn check_presign_expiry(expires_in: Duration) -> Result<(), BlobError> {
    if expires_in > MAX_PRESIGN || expires_in.is_zero() {
        return Err(BlobError::Invalid("expiry must be up to 7 days".into()));
    }
    Ok(())
}

/// Which bytes of an object a read wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revision<'a> {
    /// Whatever the key holds now.
    Latest,
    /// A version id of a versioned store (S3's `versionId`, the embedded store's own).
    Version(&'a str),
    /// The object as long as it still has this ETag (S3 without a version id in its
    /// notification); another write since makes it missing.
    ETag(&'a str),
}

#[async_trait]
pub trait Blobs: Send + Sync {
    async fn put(&self, key: &str, body: Bytes, content_type: &str) -> Result<(), BlobError>;

    async fn get(&self, key: &str) -> Result<Option<Bytes>, BlobError>;

    /// A streaming read, for files too large to hold in memory.
    async fn open(&self, key: &str) -> Result<Option<BlobReader>, BlobError>;

    /// A streaming read starting `offset` bytes into the object (resuming a long read). Stores
    /// that can seek override this; the default reads and drops the first bytes.
    async fn open_from(&self, key: &str, offset: u64) -> Result<Option<BlobReader>, BlobError> {
        use tokio::io::AsyncReadExt;
        let Some(mut reader) = self.open(key).await? else {
            return Ok(None);
        };
        let skipped = tokio::io::copy(&mut (&mut reader).take(offset), &mut tokio::io::sink())
            .await
            .map_err(|e| BlobError::Unavailable(e.to_string()))?;
        if skipped < offset {
            return Err(BlobError::Invalid(format!(
                "{key} is shorter than {offset} bytes"
            )));
        }
        Ok(Some(reader))
    }

    /// [`Blobs::open_from`] of one revision of the object: the one a notification named, so an
    /// object written again since cannot be read in its place. A revision that is no longer
    /// there (a version deleted, an ETag the object no longer has) reads as missing.
    async fn open_version(
        &self,
        key: &str,
        offset: u64,
        revision: Revision<'_>,
    ) -> Result<Option<BlobReader>, BlobError>;

    /// Every object under the prefix, in key order.
    async fn list(&self, prefix: &str) -> Result<Vec<BlobMeta>, BlobError>;

    async fn presign_put(
        &self,
        key: &str,
        content_type: &str,
        expires_in: Duration,
    ) -> Result<PresignedUpload, BlobError>;

    /// Stores an upload made to a URL from [`Blobs::presign_put`] when the store itself serves
    /// those URLs (the embedded store, through the local runner). S3 takes uploads directly.
    /// The URL's signature is checked before a byte of `body` is read, and the body is streamed
    /// to its place, never held whole in memory.
    async fn accept_upload(
        &self,
        _key: &str,
        _query: &BTreeMap<String, String>,
        _content_type: Option<&str>,
        _body: BlobReader,
    ) -> Result<(), BlobError> {
        Err(BlobError::Unsupported)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_checked() {
        for bad in ["", "/a", "a/", "a//b", "a/../b", "./a", "a\\b", "a\nb"] {
            assert!(check_key(bad).is_err(), "{bad:?} should be refused");
        }
        for good in [
            "a",
            "imports/x.csv",
            "media/AC1/0.jpg",
            "imports/my list (2).csv",
        ] {
            assert!(check_key(good).is_ok(), "{good:?} should pass");
        }
    }
}
