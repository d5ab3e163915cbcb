//! The development forwarder: re-delivers each captured event, re-signed with a separate
//! forwarding key, to one allow-listed URL (a developer's `trickle dev`), from its own `forward`
//! queue. It never touches the event's status, so its failures cannot delay or fail processing.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;

use super::keys;
use crate::ports::ReceivedMessage;
use crate::queues::{ForwardJob, QueueMessage};
use crate::worker::{HandlerError, MessageHandler};
use crate::Services;

use super::{permanent, transient};

/// Delivers one raw event body somewhere (the HTTP implementation lives in `trickle-providers`).
#[async_trait]
pub trait EventForwarder: Send + Sync {
    async fn forward(&self, event_id: &str, body: &[u8]) -> Result<(), String>;
}

pub struct ForwardHandler {
    services: Services,
    forwarder: Arc<dyn EventForwarder>,
}

impl ForwardHandler {
    pub fn new(services: Services, forwarder: Arc<dyn EventForwarder>) -> Self {
        Self {
            services,
            forwarder,
        }
    }
}

#[async_trait]
impl MessageHandler for ForwardHandler {
    async fn handle(&self, message: &ReceivedMessage) -> Result<(), HandlerError> {
        let queued = ForwardJob::decode(&message.body)?;
        let Some(stored) = self
            .services
            .table
            .get(&keys::event(&queued.event_id))
            .await
            .map_err(transient)?
        else {
            return Err(permanent(format!(
                "event {} is not stored",
                queued.event_id
            )));
        };
        let body = match stored.get("body").and_then(Value::as_str) {
            Some(body) => body.as_bytes().to_vec(),
            None => {
                let key = stored
                    .get("body_key")
                    .and_then(Value::as_str)
                    .ok_or_else(|| permanent("event without a body"))?;
                self.services
                    .blobs
                    .get(key)
                    .await
                    .map_err(transient)?
                    .ok_or_else(|| permanent(format!("event body {key} is missing")))?
                    .to_vec()
            }
        };
        self.forwarder
            .forward(&queued.event_id, &body)
            .await
            .map_err(transient)
    }
}
