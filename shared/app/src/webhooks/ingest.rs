//! Capture: verify the signature over the raw bytes, store the raw event, queue it, answer.
//!
//! The event is durably stored (conditional put on `EVENT#<id>`) before the caller answers 2xx;
//! a second delivery of the same id finds the item and is not processed again. Nothing here
//! waits on a provider.

use chrono::Duration;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use trickle_domain::webhook_signature::{
    self, Scheme, SignatureError, SignatureHeaders, SigningKey, DEFAULT_WINDOW,
};

use super::events::{EventStatus, QueuedEvent};
use super::keys;
use super::payload::{is_known_type, Envelope};
use crate::metrics::{self, Metric};
use crate::ports::queue::OutgoingMessage;
use crate::ports::table::{Condition, Index, TableError};
use crate::ports::{BlobError, QueueError};
use crate::queues;
use crate::queues::{ForwardJob, QueueMessage};
use crate::Services;

/// Largest body accepted (413 above).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Bodies above this go to the blob store (a table item holds at most 400 KB in DynamoDB).
const INLINE_BODY_BYTES: usize = 256 * 1024;

#[derive(Clone, Debug)]
pub struct IngestSettings {
    /// Current key first, then the previous one while a rotation is under way.
    pub keys: Vec<SigningKey>,
    pub window: Duration,
    /// When set, every captured event is also queued for the development forwarder.
    pub forward: bool,
    /// What a signature's timestamp is checked against.
    pub signature_time: SignatureTime,
    /// How long a captured event is kept (it holds numbers and message text); `None` keeps it.
    pub retention: Option<chrono::Duration>,
}

/// How long captured events are kept unless a setting says otherwise.
pub const DEFAULT_RETENTION_DAYS: i64 = 90;

/// The time a signature's timestamp must be near. OpenPhone signs with the real time, so a
/// runner whose clock was moved for a demo (`TRICKLE_CLOCK_START`) checks against the system's.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SignatureTime {
    /// The services' clock (the system clock in Lambda; tests move it).
    #[default]
    ServiceClock,
    SystemClock,
}

impl IngestSettings {
    pub fn new(keys: Vec<SigningKey>) -> Self {
        Self {
            keys,
            window: DEFAULT_WINDOW,
            forward: false,
            retention: Some(chrono::Duration::days(DEFAULT_RETENTION_DAYS)),
            signature_time: SignatureTime::ServiceClock,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ingested {
    /// Stored and queued (or stored as `ignored` for an unknown type).
    Accepted {
        event_id: String,
        status: EventStatus,
    },
    /// Seen before: not processed again.
    Duplicate { event_id: String },
    /// Verified but not JSON: stored as `failed` for inspection; the caller answers 400.
    NotJson { event_id: String },
}

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("body over {MAX_BODY_BYTES} bytes")]
    TooLarge,
    #[error(transparent)]
    Signature(#[from] SignatureError),
    #[error("could not store the event: {0}")]
    Store(#[from] TableError),
    #[error("could not store the event body: {0}")]
    Blob(#[from] BlobError),
    #[error("could not queue the event: {0}")]
    Queue(#[from] QueueError),
}

pub async fn ingest(
    services: &Services,
    settings: &IngestSettings,
    headers: &SignatureHeaders<'_>,
    body: &[u8],
) -> Result<Ingested, IngestError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(IngestError::TooLarge);
    }
    let now = services.clock.now();
    let signed_near = match settings.signature_time {
        SignatureTime::ServiceClock => now,
        SignatureTime::SystemClock => chrono::Utc::now(),
    };
    let verified =
        webhook_signature::verify(headers, body, &settings.keys, signed_near, settings.window)?;
    let parsed: Option<Value> = serde_json::from_slice(body).ok().filter(Value::is_object);
    let envelope = parsed.as_ref().map(Envelope::read);
    // Standard Webhooks deduplicate on webhook-id; legacy ones on the envelope id; a body with
    // neither gets a content hash, so the same bytes still dedupe.
    let event_id = verified
        .webhook_id
        .clone()
        .or_else(|| envelope.as_ref().and_then(|e| e.id.clone()))
        .unwrap_or_else(|| format!("sha256-{}", hex_digest(body)));
    let event_type = envelope
        .as_ref()
        .map(|e| e.event_type.clone())
        .unwrap_or_default();
    let status = match &envelope {
        None => EventStatus::Failed,
        Some(e) if is_known_type(&e.event_type) => EventStatus::Received,
        Some(_) => EventStatus::Ignored,
    };

    let received_at = keys::sort_time(now);
    let key = keys::event(&event_id);
    let mut item = crate::ports::table::Item::new();
    item.insert("pk".into(), key.pk.clone().into());
    item.insert("sk".into(), key.sk.clone().into());
    item.insert("id".into(), event_id.clone().into());
    item.insert("type".into(), event_type.clone().into());
    item.insert(
        "api_version".into(),
        json!(envelope.as_ref().and_then(|e| e.api_version.clone())),
    );
    item.insert(
        "scheme".into(),
        json!(match verified.scheme {
            Scheme::Legacy => "legacy",
            Scheme::Standard => "standard",
        }),
    );
    item.insert("status".into(), status.as_str().into());
    item.insert("attempts".into(), 0.into());
    item.insert("received_at".into(), received_at.clone().into());
    if let Some(retention) = settings.retention {
        // The table's TTL deletes it then (the embedded table stops returning it). TTLs run on
        // the real time, in DynamoDB and here, whatever the business clock says (a demo's).
        item.insert(
            crate::ports::table::EXPIRES_AT.into(),
            (chrono::Utc::now() + retention).timestamp().into(),
        );
    }
    if body.len() > INLINE_BODY_BYTES {
        let blob_key = format!("events/{}.raw", hex_digest(event_id.as_bytes()));
        services
            .blobs
            .put(
                &blob_key,
                bytes::Bytes::copy_from_slice(body),
                "application/octet-stream",
            )
            .await?;
        item.insert("body_key".into(), blob_key.into());
    } else {
        item.insert(
            "body".into(),
            String::from_utf8_lossy(body).into_owned().into(),
        );
    }
    if envelope.is_none() {
        item.insert("last_error".into(), "body is not a JSON object".into());
    }
    let sort = format!("{received_at}#{event_id}");
    item.insert(
        Index::Gsi1.pk_attr().into(),
        keys::events_by_status(status.as_str()).into(),
    );
    item.insert(Index::Gsi1.sk_attr().into(), sort.clone().into());
    item.insert(
        Index::Gsi2.pk_attr().into(),
        keys::events_by_type(if event_type.is_empty() {
            "-"
        } else {
            &event_type
        })
        .into(),
    );
    item.insert(Index::Gsi2.sk_attr().into(), sort.clone().into());
    item.insert(Index::Gsi3.pk_attr().into(), keys::ALL_EVENTS.into());
    item.insert(Index::Gsi3.sk_attr().into(), sort.into());

    match services.table.put(item, Some(Condition::ItemAbsent)).await {
        Ok(()) => {}
        Err(e) if e.is_condition_failure() => {
            // A capture that stored the event but crashed before queueing it is finished here.
            if let Some(stored) = services.table.get(&key).await? {
                let unqueued = stored.get("status").and_then(Value::as_str)
                    == Some(EventStatus::Received.as_str())
                    && stored.get("attempts").and_then(Value::as_i64) == Some(0);
                if unqueued {
                    enqueue(services, &event_id, settings.forward).await?;
                }
            }
            metrics::record(Metric::count("EventsDuplicate", &[]));
            return Ok(Ingested::Duplicate { event_id });
        }
        Err(e) => return Err(e.into()),
    }
    match status {
        EventStatus::Received => enqueue(services, &event_id, settings.forward).await?,
        _ if settings.forward && envelope.is_some() => enqueue_forward(services, &event_id).await?,
        _ => {}
    }
    metrics::record(Metric::count("EventsReceived", &[]));
    Ok(match envelope {
        None => Ingested::NotJson { event_id },
        Some(_) => Ingested::Accepted { event_id, status },
    })
}

async fn enqueue(services: &Services, event_id: &str, forward: bool) -> Result<(), QueueError> {
    let body = QueuedEvent {
        event_id: event_id.to_string(),
    }
    .encode();
    services
        .queue
        .send(queues::EVENTS, OutgoingMessage::new(body).dedup(event_id))
        .await?;
    if forward {
        enqueue_forward(services, event_id).await?;
    }
    Ok(())
}

/// The forwarder has its own queue so that its failures never hold up processing.
async fn enqueue_forward(services: &Services, event_id: &str) -> Result<(), QueueError> {
    let body = ForwardJob {
        event_id: event_id.to_string(),
    }
    .encode();
    services
        .queue
        .send(
            queues::FORWARD,
            OutgoingMessage::new(body).dedup(format!("fwd-{event_id}")),
        )
        .await
        .map(|_| ())
}

fn hex_digest(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}
