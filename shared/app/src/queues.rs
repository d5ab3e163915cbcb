//! Every queue trickle uses, by name: the one place a queue is named.
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

/// Every queue, in the order `GET /v1/health` shows their depths.
pub const ALL: [&str; 8] = [
    EVENTS, MEDIA, SENDS, VALIDATE, HEALTH, RECONCILE, UPLOADS, FORWARD,
];
