//! Captured events whose queue message was lost: a capture that stored the event and died
//! before its enqueue (or whose guard a crash left behind) would otherwise wait for the daily
//! reconciliation — a STOP among them for a day. Every tick looks at the oldest events still
//! `received` and never tried, and queues them again.

use chrono::{DateTime, Duration, Utc};
use serde_json::Value;

use super::events::EventStatus;
use super::keys;
use crate::ports::queue::{OutgoingMessage, QueueError};
use crate::ports::table::{Index, Key, Query, SortKeyCondition, TableError, Update};
use crate::queues::{QueueMessage, QueuedEvent, EVENTS};
use crate::Services;

/// An event untried this long after its capture (or its last requeue) has lost its message: the
/// events worker takes seconds, not minutes, unless the queue is backed up, and then a second
/// message only costs a no-op.
pub const LOST_AFTER: Duration = Duration::minutes(5);
/// The oldest events looked at per tick.
const PAGE: u32 = 50;

#[derive(Debug, thiserror::Error)]
pub enum LostEventsError {
    #[error(transparent)]
    Store(#[from] TableError),
    #[error(transparent)]
    Queue(#[from] QueueError),
}

/// Queues again the events captured before `now` − [`LOST_AFTER`] that were never tried.
/// Returns how many it queued.
pub async fn requeue_lost_events(
    services: &Services,
    now: DateTime<Utc>,
) -> Result<u64, LostEventsError> {
    let cutoff = keys::sort_time(now - LOST_AFTER);
    let page = services
        .table
        .query(
            Query::on_index(
                Index::Gsi1,
                keys::events_by_status(EventStatus::Received.as_str()),
            )
            .sk(SortKeyCondition::LessOrEqual(format!("{cutoff}#~")))
            .limit(PAGE),
        )
        .await?;
    let mut requeued = 0;
    for item in page.items {
        let untried = item.get("attempts").and_then(Value::as_i64).unwrap_or(0) == 0;
        let recently_requeued = item
            .get("requeued_at")
            .and_then(Value::as_str)
            .is_some_and(|at| at > cutoff.as_str());
        let (Some(id), Some(key)) = (item.get("id").and_then(Value::as_str), Key::of(&item)) else {
            continue;
        };
        if !untried || recently_requeued {
            continue;
        }
        let body = QueuedEvent {
            event_id: id.to_string(),
        }
        .encode();
        services
            .queue
            .send(EVENTS, OutgoingMessage::new(body))
            .await?;
        services
            .table
            .update(
                &key,
                Update::new().set("requeued_at", keys::sort_time(now)),
                None,
            )
            .await?;
        tracing::warn!(
            event_id = id,
            "captured event had lost its queue message: queued again"
        );
        requeued += 1;
    }
    Ok(requeued)
}
