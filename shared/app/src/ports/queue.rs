//! The work-queue port (SQS in AWS, the embedded store locally).
//!
//! Delivery is at least once: a received message comes back after its visibility timeout unless
//! it is deleted, and after the queue's receive limit it moves to the dead-letter queue named
//! `<queue>-dlq`. Consumers must be idempotent.

use std::time::Duration;

use async_trait::async_trait;

/// SQS's ceiling for a per-message delay; both adapters refuse longer ones.
pub const MAX_DELAY: Duration = Duration::from_secs(15 * 60);
/// SQS's ceiling for a long-poll wait.
pub const MAX_WAIT: Duration = Duration::from_secs(20);
/// SQS's ceiling for one receive.
pub const MAX_BATCH: u32 = 10;
/// How long a deduplication id suppresses repeats (as SQS FIFO queues do).
pub const DEDUP_WINDOW: Duration = Duration::from_secs(5 * 60);
/// SQS's largest message body.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// The dead-letter queue of a queue.
pub fn dead_letter_queue(queue: &str) -> String {
    format!("{queue}-dlq")
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMessage {
    pub body: String,
    pub delay: Duration,
    /// A second send with the same id inside [`DEDUP_WINDOW`] is accepted and dropped.
    pub dedup_id: Option<String>,
}

impl OutgoingMessage {
    pub fn new(body: impl Into<String>) -> Self {
        Self {
            body: body.into(),
            delay: Duration::ZERO,
            dedup_id: None,
        }
    }

    pub fn delayed(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    pub fn dedup(mut self, id: impl Into<String>) -> Self {
        self.dedup_id = Some(id.into());
        self
    }

    pub fn check(&self) -> Result<(), QueueError> {
        if self.delay > MAX_DELAY {
            return Err(QueueError::Invalid(format!(
                "delay {:?} is over the {:?} limit",
                self.delay, MAX_DELAY
            )));
        }
        if self.body.is_empty() || self.body.len() > MAX_BODY_BYTES {
            return Err(QueueError::Invalid(format!(
                "a message body holds 1 to {MAX_BODY_BYTES} bytes"
            )));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendOutcome {
    Sent {
        message_id: String,
    },
    /// Dropped because the deduplication id was seen inside the window.
    Duplicate,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedMessage {
    pub message_id: String,
    pub body: String,
    /// Changes on every receive; delete and visibility changes need the latest one.
    pub receipt: String,
    /// 1 on the first delivery.
    pub receive_count: u32,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum QueueError {
    #[error("no queue named {0}")]
    UnknownQueue(String),
    #[error("invalid request: {0}")]
    Invalid(String),
    #[error("queue unavailable: {0}")]
    Unavailable(String),
}

/// Checks shared by both adapters so they refuse the same requests.
pub fn check_receive(max: u32, wait: Duration) -> Result<(), QueueError> {
    if max == 0 || max > MAX_BATCH {
        return Err(QueueError::Invalid(format!(
            "receive takes 1 to {MAX_BATCH} messages"
        )));
    }
    if wait > MAX_WAIT {
        return Err(QueueError::Invalid(format!(
            "wait {wait:?} is over the {MAX_WAIT:?} limit"
        )));
    }
    Ok(())
}

#[async_trait]
pub trait Queue: Send + Sync {
    async fn send(&self, queue: &str, message: OutgoingMessage) -> Result<SendOutcome, QueueError>;

    /// Up to `max` visible messages, waiting up to `wait` for the first one. Each is hidden for
    /// `visibility` and then delivered again unless deleted.
    async fn receive(
        &self,
        queue: &str,
        max: u32,
        visibility: Duration,
        wait: Duration,
    ) -> Result<Vec<ReceivedMessage>, QueueError>;

    async fn delete(&self, queue: &str, receipt: &str) -> Result<(), QueueError>;

    /// Hides a received message for `timeout` from now (zero makes it visible at once).
    async fn change_visibility(
        &self,
        queue: &str,
        receipt: &str,
        timeout: Duration,
    ) -> Result<(), QueueError>;

    /// Messages waiting (visible or delayed or in flight), approximately.
    async fn depth(&self, queue: &str) -> Result<u64, QueueError>;
}
