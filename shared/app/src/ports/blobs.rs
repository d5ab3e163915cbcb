//! The blob-store port (S3 in AWS, files under the data directory locally).
//!
//! "Object created" notifications arrive on the `uploads` queue as S3 event JSON in both hosts:
//! S3 sends them there in AWS and the embedded store writes the same shape locally, so one
//! parser ([`ObjectCreated::parse_event`]) serves both.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde_json::Value;

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
    async fn accept_upload(
        &self,
        _key: &str,
        _query: &BTreeMap<String, String>,
        _content_type: Option<&str>,
        _body: Bytes,
    ) -> Result<(), BlobError> {
        Err(BlobError::Unsupported)
    }
}

/// One object-created notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectCreated {
    pub bucket: String,
    /// Decoded: S3 sends keys URL-encoded with `+` for spaces.
    pub key: String,
    pub size: u64,
    pub version: Option<String>,
    pub etag: Option<String>,
}

impl ObjectCreated {
    /// The object-created records in an S3 event body. Tolerant: fields S3 adds but moto omits
    /// (`userIdentity`, `requestParameters`) are not needed; test events and other event names
    /// give no records.
    pub fn parse_event(body: &str) -> Result<Vec<ObjectCreated>, serde_json::Error> {
        let event: Value = serde_json::from_str(body)?;
        let records = event
            .get("Records")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        Ok(records.iter().filter_map(Self::from_record).collect())
    }

    fn from_record(record: &Value) -> Option<ObjectCreated> {
        let name = record.get("eventName")?.as_str()?;
        if !name.starts_with("ObjectCreated:") {
            return None;
        }
        let s3 = record.get("s3")?;
        let object = s3.get("object")?;
        let raw_key = object.get("key")?.as_str()?;
        let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_string);
        Some(ObjectCreated {
            bucket: text(s3.get("bucket").and_then(|b| b.get("name"))).unwrap_or_default(),
            key: decode_key(raw_key),
            size: object.get("size").and_then(Value::as_u64).unwrap_or(0),
            version: text(object.get("versionId")),
            etag: text(object.get("eTag")),
        })
    }

    /// The S3 event body announcing this object, as S3 would write it.
    pub fn to_event(&self, at: DateTime<Utc>) -> String {
        let encoded: String =
            percent_encoding::utf8_percent_encode(&self.key, S3_KEY_ENCODE).collect();
        serde_json::json!({
            "Records": [{
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "eventTime": at.to_rfc3339(),
                "eventName": "ObjectCreated:Put",
                "s3": {
                    "bucket": { "name": self.bucket },
                    "object": {
                        "key": encoded.replace("%20", "+"),
                        "size": self.size,
                        "eTag": self.etag,
                        "versionId": self.version,
                    }
                }
            }]
        })
        .to_string()
    }
}

const S3_KEY_ENCODE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'/')
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

fn decode_key(raw: &str) -> String {
    let spaced = raw.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8_lossy()
        .into_owned()
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

    #[test]
    fn moto_style_record_without_identity_parses_and_key_is_decoded() {
        let body = r#"{"Records":[{"eventVersion":"2.1","eventSource":"aws:s3","awsRegion":"us-east-1",
            "eventTime":"2026-01-01T00:00:00Z","eventName":"ObjectCreated:Put",
            "s3":{"s3SchemaVersion":"1.0","configurationId":"c","bucket":{"name":"b","arn":"arn:aws:s3:::b"},
            "object":{"key":"imports/my+list+%282%29.csv","size":42,"eTag":"e","versionId":"v1"}}}]}"#;
        let got = ObjectCreated::parse_event(body).unwrap();
        assert_eq!(
            got,
            vec![ObjectCreated {
                bucket: "b".into(),
                key: "imports/my list (2).csv".into(),
                size: 42,
                version: Some("v1".into()),
                etag: Some("e".into()),
            }]
        );
    }

    #[test]
    fn test_events_and_removals_give_no_records() {
        let test_event = r#"{"Service":"Amazon S3","Event":"s3:TestEvent","Bucket":"b"}"#;
        assert!(ObjectCreated::parse_event(test_event).unwrap().is_empty());
        let removed =
            r#"{"Records":[{"eventName":"ObjectRemoved:Delete","s3":{"object":{"key":"a"}}}]}"#;
        assert!(ObjectCreated::parse_event(removed).unwrap().is_empty());
        assert!(ObjectCreated::parse_event("not json").is_err());
    }

    #[test]
    fn to_event_round_trips_through_the_parser() {
        let created = ObjectCreated {
            bucket: "local".into(),
            key: "imports/José & co+1.csv".into(),
            size: 7,
            version: None,
            etag: Some("abc".into()),
        };
        let body = created.to_event(Utc::now());
        assert_eq!(ObjectCreated::parse_event(&body).unwrap(), vec![created]);
    }
}
