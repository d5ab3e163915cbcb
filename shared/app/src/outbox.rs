//! The transactional outbox: queue messages written in the same table transaction as the state
//! change they announce, sent after it commits, and deleted once sent.
//!
//! An SQS enqueue cannot join a DynamoDB transaction, so a process that dies between a commit
//! and its enqueue would otherwise leave committed work (a planned send) without a message for
//! good. The entry survives such a crash; [`sweep`], run by every tick, sends the messages of
//! entries older than [`SWEEP_AFTER`] again and deletes them. Consumers are idempotent (the send
//! worker claims a send with a conditional write), so an entry swept after its messages did go
//! out only costs a duplicate message, never a second text.

use std::time::Instant;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::campaigns::keys::time_key;
use crate::ports::queue::{OutgoingMessage, QueueError};
use crate::ports::table::{Key, Query, SortKeyCondition, TableError, TxOp};
use crate::Services;

/// The partition every outbox entry lives in, sorted by the time it was written.
pub const PARTITION: &str = "OUTBOX";
/// An entry this old was left by a process that died: no live writer takes so long to send a
/// few dozen messages (the longest function timeout is 30 s).
pub const SWEEP_AFTER: Duration = Duration::minutes(2);
/// Entries swept per call; the next tick takes the rest.
const SWEEP_PAGE: u32 = 25;

#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    #[error(transparent)]
    Store(#[from] TableError),
    #[error(transparent)]
    Queue(#[from] QueueError),
}

/// Messages for one queue, owed once a transaction commits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub queue: String,
    pub bodies: Vec<String>,
    #[serde(skip)]
    key: Option<Key>,
}

impl Entry {
    /// An entry for `bodies` on `queue`; `name` makes its key unique (a campaign, slot and cursor).
    pub fn new(queue: &str, bodies: Vec<String>, now: DateTime<Utc>, name: &str) -> Self {
        Self {
            queue: queue.to_string(),
            bodies,
            key: Some(Key::new(PARTITION, format!("{}#{name}", time_key(now)))),
        }
    }

    fn key(&self) -> &Key {
        self.key
            .as_ref()
            .expect("an entry made by Entry::new has a key")
    }

    /// The put that joins the state change's transaction.
    pub fn op(&self) -> TxOp {
        let key = self.key();
        let mut item = crate::ports::table::Item::new();
        item.insert("pk".into(), Value::from(key.pk.clone()));
        item.insert("sk".into(), Value::from(key.sk.clone()));
        item.insert("queue".into(), Value::from(self.queue.clone()));
        item.insert(
            "bodies".into(),
            Value::from(
                self.bodies
                    .iter()
                    .cloned()
                    .map(Value::from)
                    .collect::<Vec<_>>(),
            ),
        );
        TxOp::Put {
            item,
            condition: None,
        }
    }

    /// After the commit: sends every message, then deletes the entry. A failure part-way leaves
    /// the entry for the sweeper.
    pub async fn deliver(&self, services: &Services) -> Result<(), OutboxError> {
        send_all(services, &self.queue, &self.bodies).await?;
        services.table.delete(self.key(), None).await?;
        Ok(())
    }
}

async fn send_all(services: &Services, queue: &str, bodies: &[String]) -> Result<(), QueueError> {
    for body in bodies {
        // No dedup id: a message must go out even where an earlier, crashed send left a guard.
        services
            .queue
            .send(queue, OutgoingMessage::new(body.clone()))
            .await?;
    }
    Ok(())
}

/// Sends again the messages of entries older than [`SWEEP_AFTER`] and deletes them; stops at
/// `deadline`. Returns how many entries it delivered.
pub async fn sweep(
    services: &Services,
    now: DateTime<Utc>,
    deadline: Option<Instant>,
) -> Result<u64, OutboxError> {
    let cutoff = format!("{}#~", time_key(now - SWEEP_AFTER));
    let page = services
        .table
        .query(
            Query::partition(PARTITION)
                .sk(SortKeyCondition::LessOrEqual(cutoff))
                .limit(SWEEP_PAGE),
        )
        .await?;
    let mut delivered = 0;
    for item in page.items {
        if deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
        let (Some(Value::String(pk)), Some(Value::String(sk))) = (item.get("pk"), item.get("sk"))
        else {
            continue;
        };
        let key = Key::new(pk.clone(), sk.clone());
        let queue = item
            .get("queue")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let bodies: Vec<String> = item
            .get("bodies")
            .and_then(Value::as_array)
            .map(|b| {
                b.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        tracing::warn!(entry = %key.sk, queue, messages = bodies.len(),
            "outbox entry left by an interrupted writer: its messages are sent again");
        match send_all(services, queue, &bodies).await {
            Ok(()) => delivered += 1,
            // A message no queue would take stays unsendable: dropping it (loudly) keeps the
            // sweep from sticking on it for ever.
            Err(error @ (QueueError::Invalid(_) | QueueError::UnknownQueue(_))) => {
                tracing::error!(entry = %key.sk, %error, "outbox entry cannot be sent: dropped");
            }
            Err(error) => return Err(error.into()),
        }
        services.table.delete(&key, None).await?;
    }
    Ok(delivered)
}
