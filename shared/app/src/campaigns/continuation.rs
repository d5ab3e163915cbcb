//! The tick's continuation: a tick that stops at its deadline with due runs unfinished asks for
//! one `planner` message, whose consumer (the tick function again) plans further.
//!
//! One chain at a time: a marker item records when the last continuation was queued. A
//! scheduled tick starts a chain only when no continuation was queued in the last
//! [`CHAIN_STALE`] (so a long run does not grow a new chain every minute), while a step of the
//! chain always queues the next one. A chain whose message was lost (a crash between the marker
//! and the enqueue) goes stale, and the next scheduled tick starts a new one.
//!
//! Fair turns: the marker also names the due campaigns a step's deadline left unvisited, and
//! the next step visits them first, so one huge run cannot keep a smaller one waiting.

use chrono::{DateTime, Duration, Utc};
use serde_json::Value;

use super::keys::time_key;
use super::CampaignsError;
use crate::ports::queue::OutgoingMessage;
use crate::ports::table::{Condition, Key, Update};
use crate::queues::{PlannerStep, QueueMessage, PLANNER};
use crate::Services;

/// A continuation queued longer ago than this is taken for lost.
pub const CHAIN_STALE: Duration = Duration::minutes(2);

fn marker() -> Key {
    Key::new("PLANNER", "CONTINUATION")
}

/// Who asks for the continuation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Asker {
    /// The every-minute schedule.
    Schedule,
    /// A step of the chain (a `planner` message).
    Chain,
}

/// Queues the next continuation, which visits `deferred` first. Returns whether one was queued
/// (a scheduled tick leaves a live chain alone).
pub async fn request(
    services: &Services,
    now: DateTime<Utc>,
    asker: Asker,
    deferred: &[String],
) -> Result<bool, CampaignsError> {
    let condition = match asker {
        Asker::Chain => None,
        Asker::Schedule => Some(Condition::Any(vec![
            Condition::ItemAbsent,
            Condition::less_than("queued_at", time_key(now - CHAIN_STALE)),
        ])),
    };
    let update = Update::new()
        .set("queued_at", time_key(now))
        .set("visit_first", deferred.to_vec());
    match services.table.update(&marker(), update, condition).await {
        Ok(_) => {}
        Err(e) if e.is_condition_failure() => return Ok(false),
        Err(e) => return Err(e.into()),
    }
    let step = PlannerStep {
        asked_at: time_key(now),
    };
    services
        .queue
        .send(PLANNER, OutgoingMessage::new(step.encode()))
        .await?;
    Ok(true)
}

/// The chain's work is done: a later long run starts a new chain at once.
pub async fn finished(services: &Services) -> Result<(), CampaignsError> {
    services.table.delete(&marker(), None).await?;
    Ok(())
}

/// The campaigns the last step left unvisited, to be visited first.
pub async fn visit_first(services: &Services) -> Result<Vec<String>, CampaignsError> {
    let marker = services.table.get(&marker()).await?;
    Ok(marker
        .and_then(|m| m.get("visit_first").cloned())
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default())
}

/// When the last continuation was queued, if a chain is live (for the health page and tests).
pub async fn queued_at(services: &Services) -> Result<Option<String>, CampaignsError> {
    Ok(services.table.get(&marker()).await?.and_then(|m| {
        m.get("queued_at")
            .and_then(Value::as_str)
            .map(str::to_string)
    }))
}
