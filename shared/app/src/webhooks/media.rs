//! Copying provider media (MMS attachments, call recordings, voicemails) into the blob store.
//!
//! Webhook processing only queues a job per file; the `media` queue worker downloads it through
//! the provider client and stores it under a key fixed at queue time (`media/<provider id>/<slot>`),
//! so a retried job overwrites the same object. The activity then records when it was stored.

use async_trait::async_trait;
use serde_json::Value;

use super::activities;
use super::payload::MediaRef;
use crate::ports::queue::OutgoingMessage;
use crate::ports::{QueueError, ReceivedMessage, SmsError};
use crate::queues;
use crate::queues::QueueMessage;
use crate::worker::{HandlerError, MessageHandler};
use crate::Services;

use super::{permanent, transient};

/// The body of a `media` queue message (defined in `crate::queues`).
pub use crate::queues::MediaJob;

pub fn blob_key(provider_id: &str, slot: &str) -> String {
    let safe: String = provider_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("media/{safe}/{slot}")
}

/// The media entry an activity shows: the provider's URL and the object key it is copied to.
pub fn entry(provider_id: &str, slot: &str, media: &MediaRef) -> Value {
    let mut v = serde_json::to_value(media).expect("serialisable");
    v["slot"] = slot.into();
    v["blob_key"] = blob_key(provider_id, slot).into();
    v
}

pub async fn enqueue(
    services: &Services,
    provider_id: &str,
    slot: &str,
    media: &MediaRef,
) -> Result<(), QueueError> {
    let job = MediaJob {
        provider_id: provider_id.to_string(),
        slot: slot.to_string(),
        url: media.url.clone(),
        content_type: media.content_type.clone(),
        blob_key: blob_key(provider_id, slot),
    };
    services
        .queue
        .send(
            queues::MEDIA,
            OutgoingMessage::new(job.encode()).dedup(format!("{provider_id}#{slot}")),
        )
        .await
        .map(|_| ())
}

/// The `media` queue worker.
pub struct MediaHandler {
    services: Services,
    /// The key's request budget: the voicemail transcript's API call takes a slot of it.
    budget: Option<crate::rate::RateBudget>,
}

impl MediaHandler {
    pub fn new(services: Services) -> Self {
        Self {
            services,
            budget: None,
        }
    }

    pub fn with_budget(mut self, budget: crate::rate::RateBudget) -> Self {
        self.budget = Some(budget);
        self
    }
}

#[async_trait]
impl MessageHandler for MediaHandler {
    async fn handle(&self, message: &ReceivedMessage) -> Result<(), HandlerError> {
        let job = MediaJob::decode(&message.body)?;
        copy(&self.services, &job).await?;
        if job.slot == VOICEMAIL_SLOT {
            voicemail_transcript(&self.services, self.budget.as_ref(), &job.provider_id).await?;
        }
        Ok(())
    }
}

/// The slot a call's voicemail audio is copied to.
pub const VOICEMAIL_SLOT: &str = "voicemail";

/// A missed call's voicemail transcript (`GET /v1/call-voicemails/{callId}`), kept on the call's
/// activity as `voicemail_transcript`. Still being written at the provider → retried later
/// (the audio copy before it is idempotent); none at all → nothing to keep.
pub async fn voicemail_transcript(
    services: &Services,
    budget: Option<&crate::rate::RateBudget>,
    call_id: &str,
) -> Result<(), HandlerError> {
    super::provider_slot(services, budget, crate::rate::RateShare::RECONCILE).await?;
    let voicemail = services
        .sms
        .call_artefact(call_id, crate::ports::sms::CallArtefact::Voicemail)
        .await
        .map_err(transient)?;
    let Some(voicemail) = voicemail else {
        return Ok(());
    };
    let transcript = voicemail
        .get("transcript")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|t| !t.is_empty());
    match transcript {
        Some(text) => activities::merge_artefact(
            services,
            call_id,
            vec![("voicemail_transcript".into(), text.into())],
        )
        .await
        .map_err(transient),
        None => {
            let status = voicemail.get("status").and_then(Value::as_str);
            if matches!(
                status,
                Some("pending" | "processing" | "in-progress" | "queued")
            ) {
                Err(transient("the voicemail transcript is not ready yet"))
            } else {
                Ok(()) // no transcript for this voicemail
            }
        }
    }
}

pub async fn copy(services: &Services, job: &MediaJob) -> Result<(), HandlerError> {
    let bytes = services
        .sms
        .fetch_media(&job.url)
        .await
        .map_err(|e| match e {
            // Gone, or refused for good (a host, type or size the client does not take).
            SmsError::Rejected { status, .. }
                if (400..500).contains(&status) && status != 408 && status != 429 =>
            {
                permanent(e)
            }
            other => transient(other),
        })?;
    let size = bytes.len();
    services
        .blobs
        .put(
            &job.blob_key,
            bytes,
            job.content_type
                .as_deref()
                .unwrap_or("application/octet-stream"),
        )
        .await
        .map_err(transient)?;
    let now = super::keys::sort_time(services.clock.now());
    activities::merge_artefact(
        services,
        &job.provider_id,
        vec![(
            format!("stored_{}", job.slot),
            serde_json::json!({ "blob_key": job.blob_key, "bytes": size, "at": now }),
        )],
    )
    .await
    .map_err(transient)
}
