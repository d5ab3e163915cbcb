//! The body of each queue's messages, as plain data.

use serde::{Deserialize, Serialize};
use trickle_domain::health::HealthToken;

use super::s3_event::ObjectCreated;
use super::VALIDATE;
use super::{json_message, QueueMessage, FORWARD, HEALTH, MEDIA, PLANNER, RECONCILE, SENDS};
use super::{EVENTS, UPLOADS};
use crate::worker::HandlerError;

/// An import's own step on the `uploads` queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    Parse,
    Finish,
    Requeue,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepMessage {
    pub step: Step,
    pub import_id: String,
}

/// What arrives on `uploads`: an object-created notification (S3's event shape, which the
/// embedded store writes too) or one of an import's own steps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UploadsMessage {
    Uploaded(Vec<ObjectCreated>),
    Step(StepMessage),
}

impl QueueMessage for UploadsMessage {
    const QUEUE: &'static str = UPLOADS;

    fn encode(&self) -> String {
        match self {
            UploadsMessage::Step(step) => serde_json::to_string(step).expect("serialises"),
            UploadsMessage::Uploaded(objects) => ObjectCreated::to_event(objects),
        }
    }

    fn decode(body: &str) -> Result<Self, HandlerError> {
        if let Ok(step) = serde_json::from_str::<StepMessage>(body) {
            return Ok(UploadsMessage::Step(step));
        }
        ObjectCreated::parse_event(body)
            .map(UploadsMessage::Uploaded)
            .map_err(|e| HandlerError::Permanent(format!("not an upload event: {e}")))
    }
}

/// A batch of an import's distinct numbers for the validation worker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NumberBatch {
    pub import_id: String,
    pub numbers: Vec<String>,
}
json_message!(NumberBatch, VALIDATE);

/// A captured webhook event to process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueuedEvent {
    pub event_id: String,
}
json_message!(QueuedEvent, EVENTS);

/// A captured webhook event to re-deliver to the development forwarder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForwardJob {
    pub event_id: String,
}
json_message!(ForwardJob, FORWARD);

/// A provider file to copy into the blob store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaJob {
    /// The message or call id the file belongs to.
    pub provider_id: String,
    /// Names the file within its activity: `media_0`, `recording_1`, `voicemail`.
    pub slot: String,
    pub url: String,
    #[serde(default)]
    pub content_type: Option<String>,
    pub blob_key: String,
}
json_message!(MediaJob, MEDIA);

/// Which campaign send to work on (the send record holds the rest).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendJob {
    pub campaign_id: String,
    pub contact_id: String,
}
json_message!(SendJob, SENDS);

impl SendJob {
    /// Deduplicates repeated enqueues of one send.
    pub fn dedup_id(&self) -> String {
        format!("{}#{}", self.campaign_id, self.contact_id)
    }
}

/// The delayed message that judges a health check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthVerdict {
    pub token: HealthToken,
}
json_message!(HealthVerdict, HEALTH);

/// Work for reconciliation: start a run (EventBridge's daily `{"start": "scheduled"}`) or
/// continue one (`{"run_id"}`: the first step and each continuation).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ReconcileMessage {
    Continue { run_id: String },
    Start { start: String },
}
json_message!(ReconcileMessage, RECONCILE);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_message_round_trips() {
        let step = UploadsMessage::Step(StepMessage {
            step: Step::Finish,
            import_id: "i".into(),
        });
        assert_eq!(UploadsMessage::decode(&step.encode()).unwrap(), step);
        let uploaded = UploadsMessage::Uploaded(vec![ObjectCreated {
            bucket: "b".into(),
            key: "imports/a b.csv".into(),
            size: 3,
            version: Some("v".into()),
            etag: None,
        }]);
        assert_eq!(
            UploadsMessage::decode(&uploaded.encode()).unwrap(),
            uploaded
        );
        let send = SendJob {
            campaign_id: "c".into(),
            contact_id: "k".into(),
        };
        assert_eq!(SendJob::decode(&send.encode()).unwrap(), send);
        for work in [
            ReconcileMessage::Continue { run_id: "r".into() },
            ReconcileMessage::Start {
                start: "scheduled".into(),
            },
        ] {
            assert_eq!(ReconcileMessage::decode(&work.encode()).unwrap(), work);
        }
        assert_eq!(
            ReconcileMessage::decode(r#"{"start":"scheduled"}"#).unwrap(),
            ReconcileMessage::Start {
                start: "scheduled".into()
            }
        );
    }

    #[test]
    fn an_unreadable_body_is_permanent_and_names_its_queue() {
        match SendJob::decode("{}") {
            Err(HandlerError::Permanent(text)) => assert!(text.contains("sends"), "{text}"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            ReconcileMessage::decode("{}"),
            Err(HandlerError::Permanent(_))
        ));
        assert!(matches!(
            UploadsMessage::decode("not json"),
            Err(HandlerError::Permanent(_))
        ));
    }
}

/// A tick's continuation: the due runs it left unfinished at its deadline are planned further.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannerStep {
    /// When the stopped tick asked for it (for the logs).
    pub asked_at: String,
}
json_message!(PlannerStep, PLANNER);
