//! The stored webhook events: their status, the operator's listing and replay.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::keys;
use crate::ports::queue::OutgoingMessage;
use crate::ports::table::{Condition, Index, Item, Query, TableError, Update};
use crate::ports::QueueError;
use crate::queues;
use crate::Services;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventStatus {
    Received,
    Processed,
    Failed,
    Ignored,
}

impl EventStatus {
    pub const ALL: [EventStatus; 4] = [
        EventStatus::Received,
        EventStatus::Processed,
        EventStatus::Failed,
        EventStatus::Ignored,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventStatus::Received => "received",
            EventStatus::Processed => "processed",
            EventStatus::Failed => "failed",
            EventStatus::Ignored => "ignored",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// The body of an `events` queue message (defined in `crate::queues`).
pub use crate::queues::QueuedEvent;

#[derive(Debug, thiserror::Error)]
pub enum EventsError {
    #[error("event not found")]
    NotFound,
    #[error(transparent)]
    Store(#[from] TableError),
    #[error(transparent)]
    Queue(#[from] QueueError),
}

#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    pub status: Option<EventStatus>,
    pub event_type: Option<String>,
    pub limit: u32,
    pub cursor: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct EventPage {
    pub items: Vec<Value>,
    pub next: Option<String>,
}

/// Events newest first, by status (gsi1), by type (gsi2) or all (gsi3); with both filters the
/// status index is read and the type filtered on the page (a page may then hold fewer items).
pub async fn list(services: &Services, filter: EventFilter) -> Result<EventPage, EventsError> {
    let query = match (&filter.status, &filter.event_type) {
        (Some(status), _) => Query::on_index(Index::Gsi1, keys::events_by_status(status.as_str())),
        (None, Some(t)) => Query::on_index(Index::Gsi2, keys::events_by_type(t)),
        (None, None) => Query::on_index(Index::Gsi3, keys::ALL_EVENTS),
    }
    .backward()
    .limit(filter.limit.clamp(1, 100))
    .after(filter.cursor.clone());
    let page = services.table.query(query).await?;
    let items = page
        .items
        .into_iter()
        .filter(|item| match &filter.event_type {
            Some(t) => item.get("type").and_then(Value::as_str) == Some(t.as_str()),
            None => true,
        })
        .map(public_view)
        .collect();
    Ok(EventPage {
        items,
        next: page.next,
    })
}

pub async fn get(services: &Services, id: &str) -> Result<Value, EventsError> {
    let item = services
        .table
        .get(&keys::event(id))
        .await?
        .ok_or(EventsError::NotFound)?;
    Ok(public_view(item))
}

/// Sends the event through processing again, with a fresh attempt budget. Processing is
/// idempotent, so replaying a processed event changes nothing that was right.
pub async fn replay(services: &Services, id: &str) -> Result<Value, EventsError> {
    let key = keys::event(id);
    let stored = services
        .table
        .get(&key)
        .await?
        .ok_or(EventsError::NotFound)?;
    let replays = stored.get("replays").and_then(Value::as_i64).unwrap_or(0) + 1;
    let item = set_status(
        services,
        id,
        stored_sort(&stored),
        EventStatus::Received,
        Update::new()
            .set("attempts", 0)
            .set("replays", replays)
            .remove("last_error"),
    )
    .await?;
    let body = serde_json::to_string(&QueuedEvent {
        event_id: id.to_string(),
    })
    .expect("serialisable");
    services
        .queue
        .send(
            queues::EVENTS,
            OutgoingMessage::new(body).dedup(format!("{id}#replay#{replays}")),
        )
        .await?;
    Ok(public_view(item))
}

/// Moves an event to `status` (keeping gsi1 in step) together with `extra` changes.
pub(crate) async fn set_status(
    services: &Services,
    id: &str,
    sort: String,
    status: EventStatus,
    extra: Update,
) -> Result<Item, TableError> {
    let mut update = extra.set("status", status.as_str()).set(
        Index::Gsi1.pk_attr(),
        keys::events_by_status(status.as_str()),
    );
    if !sort.is_empty() {
        update = update.set(Index::Gsi1.sk_attr(), sort);
    }
    services
        .table
        .update(&keys::event(id), update, Some(Condition::ItemExists))
        .await
}

pub(crate) fn stored_sort(item: &Item) -> String {
    item.get(Index::Gsi1.sk_attr())
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// An event as the admin API shows it: the record without its key and index attributes, the
/// raw body parsed when it is JSON.
fn public_view(mut item: Item) -> Value {
    for attr in ["pk", "sk"] {
        item.remove(attr);
    }
    for index in Index::ALL {
        item.remove(index.pk_attr());
        item.remove(index.sk_attr());
    }
    if let Some(Value::String(raw)) = item.get("body") {
        if let Ok(parsed) = serde_json::from_str::<Value>(raw) {
            item.insert("payload".into(), parsed);
        }
    }
    Value::Object(item)
}
