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

/// A slot of the key's request budget for one provider call of event processing (waiting a few
/// seconds at most); none free → a transient error, retried with backoff. No budget (tests
/// without a key) → no wait.
pub(crate) async fn provider_slot(
    services: &crate::Services,
    budget: Option<&crate::rate::RateBudget>,
    share: crate::rate::RateShare,
) -> Result<(), HandlerError> {
    let Some(budget) = budget else {
        return Ok(());
    };
    match budget
        .acquire_within(services, share, std::time::Duration::from_secs(5))
        .await
        .map_err(transient)?
    {
        crate::rate::Admission::Granted => Ok(()),
        crate::rate::Admission::Wait(_) => Err(transient("no provider request slot free")),
    }
}
