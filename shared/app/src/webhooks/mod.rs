//! OpenPhone webhooks: capture (verify, store raw, enqueue), processing per event type, media
//! copies, the opt-out pipeline, and the operator's view of events.
//!
//! Capture answers the provider as soon as the raw event is durably stored; everything else
//! happens on the `events` and `media` queues, idempotently (provider-id guards, conditional
//! writes), so a delivery repeated or reordered by the provider ends in the same records.

pub mod activities;
pub mod calls;
pub mod contacts;
pub mod events;
pub mod failures;
pub mod forward;
pub mod ingest;
pub mod keys;
pub mod lost;
pub mod media;
pub mod messages;
pub mod opt_out;
pub mod payload;
pub mod process;
pub mod replies;
pub mod settings;

pub use lost::requeue_lost_events;

use crate::worker::HandlerError;

/// A processing failure: `Transient` is retried with backoff, `Permanent` parks the event.
pub(crate) fn transient(e: impl std::fmt::Display) -> HandlerError {
    HandlerError::Transient(e.to_string())
}

pub(crate) fn permanent(e: impl std::fmt::Display) -> HandlerError {
    HandlerError::Permanent(e.to_string())
}
