//! Every queue trickle uses, by name, and the one typed message each carries: the one place a
//! queue is named and its body's shape is decided. A handler decodes its message once
//! ([`QueueMessage::decode`]); an unreadable body is a permanent failure (parked, never retried).
//!
//! In AWS each is an SQS standard queue `<stack>-<name>` with a dead-letter queue
//! `<stack>-<name>-dlq` (`template.yaml`; a test checks the two agree); locally each is a table
//! of the embedded queue. Standard queues reorder and duplicate, so every consumer is
//! idempotent.

/// The import's work: S3 object-created events under `imports/`, then the import's own steps.
pub const UPLOADS: &str = "uploads";
/// Batches of distinct imported numbers for the validation worker.
pub const VALIDATE: &str = "validate";
/// Captured webhook events waiting to be processed.
pub const EVENTS: &str = "events";
/// Provider media (MMS, recordings, voicemails) waiting to be copied into the blob store.
pub const MEDIA: &str = "media";
/// Planned campaign sends, one message per send.
pub const SENDS: &str = "sends";
/// The health check's delayed verdicts.
pub const HEALTH: &str = "health";
/// Reconciliation runs: the first step and each continuation.
pub const RECONCILE: &str = "reconcile";
/// Captured events waiting for the development forwarder (when it is on).
pub const FORWARD: &str = "forward";
/// The tick's continuations: a tick that stopped at its deadline with runs unfinished.
pub const PLANNER: &str = "planner";

/// Every queue, in the order `GET /v1/health` shows their depths.
pub const ALL: [&str; 9] = [
    EVENTS, MEDIA, SENDS, PLANNER, VALIDATE, HEALTH, RECONCILE, UPLOADS, FORWARD,
];

mod messages;
mod s3_event;

pub use messages::{
    ForwardJob, HealthVerdict, MediaJob, NumberBatch, PlannerStep, QueuedEvent, ReconcileMessage,
    SendJob, Step, StepMessage, UploadsMessage,
};
pub use s3_event::ObjectCreated;

use crate::worker::HandlerError;

/// A queue's message: which queue carries it and how its body is written and read.
pub trait QueueMessage: Sized {
    /// The queue this message travels on.
    const QUEUE: &'static str;

    fn encode(&self) -> String;

    /// The message in `body`; a body that is not one is a permanent failure naming the queue.
    fn decode(body: &str) -> Result<Self, HandlerError>;
}

/// The serde-shaped messages: JSON objects both ways.
macro_rules! json_message {
    ($type:ty, $queue:expr) => {
        impl $crate::queues::QueueMessage for $type {
            const QUEUE: &'static str = $queue;

            fn encode(&self) -> String {
                serde_json::to_string(self).expect("a queue message serialises")
            }

            fn decode(body: &str) -> Result<Self, $crate::worker::HandlerError> {
                serde_json::from_str(body).map_err(|e| {
                    $crate::worker::HandlerError::Permanent(format!(
                        "not a {} queue message: {e}",
                        $queue
                    ))
                })
            }
        }
    };
}
pub(crate) use json_message;
