//! The `Queue` port over SQLite: durable, with visibility timeouts, delays, deduplication and
//! dead-letter queues that behave like SQS redrive policies.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::{params, OptionalExtension};
use trickle_app::ports::queue::{
    check_receive, dead_letter_queue, OutgoingMessage, Queue, QueueError, ReceivedMessage,
    SendOutcome, DEDUP_WINDOW,
};

use crate::store::{epoch_millis, EmbeddedStore};

/// The queues the system uses (`trickle_app::queues::ALL`), each with its receive limit before
/// dead-lettering (as in `template.yaml`).
pub const DEFAULT_QUEUES: [&str; 9] = trickle_app::queues::ALL;

#[derive(Debug, Clone)]
pub struct QueueSettings {
    /// Queue name → receives allowed before the message moves to `<name>-dlq`.
    pub max_receives: HashMap<String, u32>,
}

impl QueueSettings {
    pub fn with_queues(names: &[&str], max_receives: u32) -> Self {
        Self {
            max_receives: names
                .iter()
                .map(|n| (n.to_string(), max_receives))
                .collect(),
        }
    }
}

impl Default for QueueSettings {
    fn default() -> Self {
        Self::with_queues(&DEFAULT_QUEUES, 5)
    }
}

#[derive(Clone)]
pub struct EmbeddedQueue {
    store: EmbeddedStore,
    settings: Arc<QueueSettings>,
}

enum Role {
    /// A source queue with its receive limit and dead-letter queue.
    Source {
        max_receives: u32,
        dlq: String,
    },
    DeadLetter,
}

impl EmbeddedQueue {
    pub fn new(store: EmbeddedStore, settings: QueueSettings) -> Self {
        Self {
            store,
            settings: Arc::new(settings),
        }
    }

    fn role(&self, queue: &str) -> Result<Role, QueueError> {
        if let Some(max) = self.settings.max_receives.get(queue) {
            return Ok(Role::Source {
                max_receives: *max,
                dlq: dead_letter_queue(queue),
            });
        }
        let is_dlq = queue
            .strip_suffix("-dlq")
            .is_some_and(|source| self.settings.max_receives.contains_key(source));
        if is_dlq {
            Ok(Role::DeadLetter)
        } else {
            Err(QueueError::UnknownQueue(queue.to_string()))
        }
    }

    fn try_receive(
        &self,
        queue: &str,
        max: u32,
        visibility: Duration,
    ) -> impl FnOnce(&mut rusqlite::Connection) -> Result<Vec<ReceivedMessage>, QueueError> {
        let role = self.role(queue);
        let queue = queue.to_string();
        move |conn| {
            let role = role?;
            let tx = conn.transaction().map_err(unavailable)?;
            let now = epoch_millis();
            let mut out = Vec::new();
            loop {
                let want = max as usize - out.len();
                let candidates: Vec<(i64, String, String, u32)> = {
                    let mut statement = tx
                        .prepare_cached(
                            "SELECT seq, id, body, receive_count FROM queue_messages
                             WHERE queue = ?1 AND visible_at <= ?2
                             ORDER BY visible_at, seq LIMIT ?3",
                        )
                        .map_err(unavailable)?;
                    let rows = statement
                        .query_map(params![queue, now, want as i64], |r| {
                            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                        })
                        .map_err(unavailable)?;
                    rows.collect::<Result<_, _>>().map_err(unavailable)?
                };
                if candidates.is_empty() {
                    break;
                }
                let mut moved = false;
                for (seq, id, body, count) in candidates {
                    if let Role::Source { max_receives, dlq } = &role {
                        if count >= *max_receives {
                            // Redrive: the receive that would exceed the limit moves it instead.
                            tx.prepare_cached(
                                "UPDATE queue_messages SET queue = ?1, receive_count = 0,
                                 receipt = NULL, visible_at = ?2 WHERE seq = ?3",
                            )
                            .map_err(unavailable)?
                            .execute(params![dlq, now, seq])
                            .map_err(unavailable)?;
                            moved = true;
                            continue;
                        }
                    }
                    let receipt = uuid::Uuid::new_v4().to_string();
                    tx.prepare_cached(
                        "UPDATE queue_messages SET receive_count = receive_count + 1,
                         receipt = ?1, visible_at = ?2 WHERE seq = ?3",
                    )
                    .map_err(unavailable)?
                    .execute(params![receipt, now + visibility.as_millis() as i64, seq])
                    .map_err(unavailable)?;
                    out.push(ReceivedMessage {
                        message_id: id,
                        body,
                        receipt,
                        receive_count: count + 1,
                    });
                }
                if out.len() >= max as usize || !moved {
                    break;
                }
            }
            tx.commit().map_err(unavailable)?;
            Ok(out)
        }
    }
}

fn unavailable(e: rusqlite::Error) -> QueueError {
    QueueError::Unavailable(e.to_string())
}

#[async_trait]
impl Queue for EmbeddedQueue {
    async fn send(&self, queue: &str, message: OutgoingMessage) -> Result<SendOutcome, QueueError> {
        message.check()?;
        self.role(queue)?;
        let queue = queue.to_string();
        let outcome = self
            .store
            .with_conn(move |conn| {
                let tx = conn.transaction().map_err(unavailable)?;
                let now = epoch_millis();
                if let Some(dedup) = &message.dedup_id {
                    tx.prepare_cached("DELETE FROM queue_dedup WHERE queue = ?1 AND dedup_id = ?2 AND expires_at <= ?3")
.map_err(unavailable)?
.execute(
                        params![queue, dedup, now],
                    )
                    .map_err(unavailable)?;
                    let fresh = tx
                        .prepare_cached("INSERT OR IGNORE INTO queue_dedup (queue, dedup_id, expires_at)
                             VALUES (?1, ?2, ?3)")
.map_err(unavailable)?
.execute(
                            params![queue, dedup, now + DEDUP_WINDOW.as_millis() as i64],
                        )
                        .map_err(unavailable)?;
                    if fresh == 0 {
                        return Ok(SendOutcome::Duplicate);
                    }
                }
                let id = uuid::Uuid::new_v4().to_string();
                tx.prepare_cached("INSERT INTO queue_messages (id, queue, body, visible_at, sent_at)
                     VALUES (?1, ?2, ?3, ?4, ?5)")
.map_err(unavailable)?
.execute(
                    params![
                        id,
                        queue,
                        message.body,
                        now + message.delay.as_millis() as i64,
                        now
                    ],
                )
                .map_err(unavailable)?;
                tx.commit().map_err(unavailable)?;
                Ok(SendOutcome::Sent { message_id: id })
            })
            .await?;
        self.store.sent.notify_waiters();
        Ok(outcome)
    }

    async fn receive(
        &self,
        queue: &str,
        max: u32,
        visibility: Duration,
        wait: Duration,
    ) -> Result<Vec<ReceivedMessage>, QueueError> {
        check_receive(max, wait)?;
        self.role(queue)?;
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            // Registered before the attempt so a send in between is not missed.
            let notified = self.store.sent.notified();
            let got = self
                .store
                .with_conn(self.try_receive(queue, max, visibility))
                .await?;
            let now = tokio::time::Instant::now();
            if !got.is_empty() || now >= deadline {
                return Ok(got);
            }
            // Delayed and timed-out messages become visible without a send: poll as well.
            let nap = (deadline - now).min(Duration::from_millis(100));
            tokio::select! {
                _ = notified => {}
                _ = tokio::time::sleep(nap) => {}
            }
        }
    }

    async fn delete(&self, queue: &str, receipt: &str) -> Result<(), QueueError> {
        self.role(queue)?;
        let (queue, receipt) = (queue.to_string(), receipt.to_string());
        self.store
            .with_conn(move |conn| {
                conn.prepare_cached("DELETE FROM queue_messages WHERE queue = ?1 AND receipt = ?2")
                    .map_err(unavailable)?
                    .execute(params![queue, receipt])
                    .map_err(unavailable)?;
                Ok(())
            })
            .await
    }

    async fn change_visibility(
        &self,
        queue: &str,
        receipt: &str,
        timeout: Duration,
    ) -> Result<(), QueueError> {
        self.role(queue)?;
        if timeout > Duration::from_secs(12 * 3600) {
            return Err(QueueError::Invalid(
                "visibility timeout over 12 hours".into(),
            ));
        }
        let (queue, receipt) = (queue.to_string(), receipt.to_string());
        self.store
            .with_conn(move |conn| {
                conn.prepare_cached(
                    "UPDATE queue_messages SET visible_at = ?1 WHERE queue = ?2 AND receipt = ?3",
                )
                .map_err(unavailable)?
                .execute(params![
                    epoch_millis() + timeout.as_millis() as i64,
                    queue,
                    receipt
                ])
                .map_err(unavailable)?;
                Ok(())
            })
            .await
    }

    async fn depth(&self, queue: &str) -> Result<u64, QueueError> {
        self.role(queue)?;
        let queue = queue.to_string();
        self.store
            .with_conn(move |conn| {
                let n: Option<i64> = conn
                    .prepare_cached("SELECT COUNT(*) FROM queue_messages WHERE queue = ?1")
                    .map_err(unavailable)?
                    .query_row([queue], |r| r.get(0))
                    .optional()
                    .map_err(unavailable)?;
                Ok(n.unwrap_or(0) as u64)
            })
            .await
    }
}
