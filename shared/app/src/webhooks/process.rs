//! The `events` queue worker: reads a captured event and processes it by type.
//!
//! The event item carries the outcome: `attempts` counts tries, `last_error` the latest failure,
//! `status` ends `processed`, or `failed` after `max_attempts` (the message is then parked in
//! the dead-letter queue; `POST /v1/events/{id}/replay` sends it through again).

use async_trait::async_trait;
use serde_json::Value;

use super::events::{self, EventStatus, QueuedEvent};
use super::payload::{is_known_type, Envelope};
use super::{calls, keys, messages};
use crate::metrics::{self, Metric};
use crate::ports::table::{Condition, Update};
use crate::ports::ReceivedMessage;
use crate::queues::QueueMessage;
use crate::worker::{HandlerError, MessageHandler};
use crate::Services;

use super::settings::ProcessSettings;
use super::{permanent, transient};

pub struct EventProcessor {
    services: Services,
    settings: ProcessSettings,
}

impl EventProcessor {
    pub fn new(services: Services, settings: ProcessSettings) -> Self {
        Self { services, settings }
    }
}

#[async_trait]
impl MessageHandler for EventProcessor {
    async fn handle(&self, message: &ReceivedMessage) -> Result<(), HandlerError> {
        let queued = QueuedEvent::decode(&message.body)?;
        process_event(&self.services, &self.settings, &queued.event_id).await
    }
}

pub async fn process_event(
    services: &Services,
    settings: &ProcessSettings,
    event_id: &str,
) -> Result<(), HandlerError> {
    let key = keys::event(event_id);
    let Some(stored) = services.table.get(&key).await.map_err(transient)? else {
        return Err(permanent(format!("event {event_id} is not stored")));
    };
    let status = stored
        .get("status")
        .and_then(Value::as_str)
        .and_then(EventStatus::parse);
    if status != Some(EventStatus::Received) {
        return Ok(()); // processed, ignored or parked already: a duplicate queue message
    }
    let sort = events::stored_sort(&stored);
    let counted = services
        .table
        .update(
            &key,
            Update::new().add("attempts", 1),
            Some(Condition::equals("status", EventStatus::Received.as_str())),
        )
        .await;
    let attempts = match counted {
        Ok(item) => item.get("attempts").and_then(Value::as_i64).unwrap_or(1),
        Err(e) if e.is_condition_failure() => return Ok(()),
        Err(e) => return Err(transient(e)),
    };
    let body = load_body(services, &stored).await?;
    let envelope = serde_json::from_str::<Value>(&body).map(|json| Envelope::read(&json));
    if let Ok(envelope) = &envelope {
        if !is_known_type(&envelope.event_type) {
            // A replayed event of a type nobody handles stays what it was: ignored.
            events::set_status(
                services,
                event_id,
                sort,
                EventStatus::Ignored,
                Update::new(),
            )
            .await
            .map_err(transient)?;
            return Ok(());
        }
    }
    let result = match envelope {
        Ok(envelope) => dispatch(services, settings, &envelope).await,
        Err(e) => Err(permanent(format!("body is not JSON: {e}"))),
    };
    let now = keys::sort_time(services.clock.now());
    match result {
        Ok(()) => {
            events::set_status(
                services,
                event_id,
                sort,
                EventStatus::Processed,
                Update::new().set("processed_at", now).remove("last_error"),
            )
            .await
            .map_err(transient)?;
            metrics::record(Metric::count("EventsProcessed", &[]));
            Ok(())
        }
        Err(error) => {
            metrics::record(Metric::count("EventsFailed", &[]));
            let message = error.to_string();
            let exhausted = attempts >= i64::from(settings.max_attempts)
                || matches!(error, HandlerError::Permanent(_));
            if exhausted {
                events::set_status(
                    services,
                    event_id,
                    sort,
                    EventStatus::Failed,
                    Update::new()
                        .set("last_error", message.clone())
                        .set("failed_at", now),
                )
                .await
                .map_err(transient)?;
                tracing::error!(event_id, attempts, error = %trickle_domain::log_privacy::redact_phones(&message), "event parked as failed");
                metrics::record(Metric::count("EventsParked", &[]));
                Err(HandlerError::Permanent(message))
            } else {
                services
                    .table
                    .update(
                        &key,
                        Update::new().set("last_error", message),
                        Some(Condition::ItemExists),
                    )
                    .await
                    .map_err(transient)?;
                Err(error)
            }
        }
    }
}

/// Processes one event by type: the path every webhook takes, and reconciliation too.
pub async fn dispatch(
    services: &Services,
    settings: &ProcessSettings,
    envelope: &Envelope,
) -> Result<(), HandlerError> {
    match envelope.event_type.as_str() {
        "message.received" => messages::received(services, settings, envelope).await,
        "message.delivered" => messages::delivered(services, envelope).await,
        "message.failed" => super::failures::failed(services, envelope).await,
        "call.ringing" => calls::ringing(services, envelope).await,
        // A missed call is a call that completed unanswered: the same record.
        "call.completed" | "call.missed" => calls::completed(services, envelope).await,
        "call.voicemail.completed" => calls::voicemail_completed(services, envelope).await,
        "call.recording.completed" => calls::recording_completed(services, envelope).await,
        "call.transcript.completed" => calls::transcript_completed(services, envelope).await,
        "call.summary.completed" | "callSummary" => {
            calls::summary_completed(services, envelope).await
        }
        // Kept as events; local contact fields are not overwritten by the provider's (yet).
        "contact.updated" | "contact.deleted" => Ok(()),
        other => Err(permanent(format!("no processing for event type {other:?}"))),
    }
}

async fn load_body(
    services: &Services,
    stored: &crate::ports::table::Item,
) -> Result<String, HandlerError> {
    if let Some(body) = stored.get("body").and_then(Value::as_str) {
        return Ok(body.to_string());
    }
    let key = stored
        .get("body_key")
        .and_then(Value::as_str)
        .ok_or_else(|| permanent("event without a body"))?;
    let bytes = services
        .blobs
        .get(key)
        .await
        .map_err(transient)?
        .ok_or_else(|| permanent(format!("event body {key} is missing")))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}
