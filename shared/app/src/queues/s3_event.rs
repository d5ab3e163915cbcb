//! S3's object-created event, the body AWS puts on the `uploads` queue (and the embedded store
//! writes too, so both hosts carry one shape): read into [`ObjectCreated`] here, at the queue's
//! edge, so neither the blob port nor the import steps speak S3's JSON.

use chrono::{DateTime, Utc};
use serde_json::Value;

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

    /// The S3 event body announcing these objects, as S3 would write it.
    pub fn to_event(objects: &[ObjectCreated]) -> String {
        let at = Utc::now();
        let records: Vec<Value> = objects.iter().map(|o| o.to_record(at)).collect();
        serde_json::json!({ "Records": records }).to_string()
    }

    fn to_record(&self, at: DateTime<Utc>) -> Value {
        let encoded: String =
            percent_encoding::utf8_percent_encode(&self.key, S3_KEY_ENCODE).collect();
        serde_json::json!({
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
        })
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
        let body = ObjectCreated::to_event(std::slice::from_ref(&created));
        assert_eq!(ObjectCreated::parse_event(&body).unwrap(), vec![created]);
    }
}
