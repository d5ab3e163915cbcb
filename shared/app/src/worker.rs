//! Consuming a queue: one message at a time, at least once, with backoff and parking.
//!
//! The local runner drives [`run_consumer`]; the Lambda functions get their batches from the
//! runtime and use [`retry_delay`] and [`Disposition`] the same way, so a message is retried and
//! parked alike in both hosts.

use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;
use std::time::Duration;
use trickle_domain::log_privacy::redact_phones;

use async_trait::async_trait;
use tokio::sync::watch;
use tracing::Instrument;

use crate::ports::queue::{dead_letter_queue, OutgoingMessage, Queue, ReceivedMessage, MAX_DELAY};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum HandlerError {
    /// Worth retrying later (a provider hiccup, a conflict).
    #[error("transient: {0}")]
    Transient(String),
    /// Will fail the same way every time: park it for an operator.
    #[error("permanent: {0}")]
    Permanent(String),
}

/// Whether a failed message is worth another try.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryClass {
    /// Retried with backoff until the queue's receive limit parks it.
    Transient,
    /// Parked at once for an operator: it would fail the same way every time.
    Permanent,
}

/// A use-case error a queue handler can return: each type declares, beside its enum and per
/// variant (an exhaustive match, so a new variant needs a decision), which class it is.
pub trait Retryable: std::fmt::Display {
    fn retry_class(&self) -> RetryClass;
}

impl HandlerError {
    /// The handler error of `error`, in the class its type declares.
    pub fn classified(error: &impl Retryable) -> Self {
        match error.retry_class() {
            RetryClass::Transient => HandlerError::Transient(error.to_string()),
            RetryClass::Permanent => HandlerError::Permanent(error.to_string()),
        }
    }
}

#[async_trait]
pub trait MessageHandler: Send + Sync {
    async fn handle(&self, message: &ReceivedMessage) -> Result<(), HandlerError>;
}

/// What the consumer does with a message after its handler ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disposition {
    Delete,
    RetryAfter(Duration),
    Park,
}

#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub base: Duration,
    pub cap: Duration,
    /// Receives after which a transiently failing message is parked.
    pub max_receives: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            base: Duration::from_secs(2),
            cap: MAX_DELAY,
            max_receives: 5,
        }
    }
}

impl RetryPolicy {
    pub fn disposition(
        &self,
        message: &ReceivedMessage,
        result: &Result<(), HandlerError>,
    ) -> Disposition {
        match result {
            Ok(()) => Disposition::Delete,
            Err(HandlerError::Permanent(_)) => Disposition::Park,
            Err(HandlerError::Transient(_)) if message.receive_count >= self.max_receives => {
                Disposition::Park
            }
            Err(HandlerError::Transient(_)) => Disposition::RetryAfter(retry_delay(
                self.base,
                self.cap,
                message.receive_count,
                &message.message_id,
            )),
        }
    }
}

/// Exponential backoff with full jitter: a random delay in [base·2ⁿ⁻¹ / 2, base·2ⁿ⁻¹], capped.
pub fn retry_delay(base: Duration, cap: Duration, receive_count: u32, seed: &str) -> Duration {
    let exp = receive_count.saturating_sub(1).min(20);
    let ceiling = base.saturating_mul(1u32 << exp).min(cap);
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write(seed.as_bytes());
    hasher.write_u32(receive_count);
    let fraction = (hasher.finish() % 1000) as f64 / 1000.0;
    ceiling.mul_f64(0.5 + fraction / 2.0)
}

/// Receives from `queue` until `shutdown` turns true, handing each message to `handler`.
pub async fn run_consumer(
    queue: Arc<dyn Queue>,
    name: String,
    handler: Arc<dyn MessageHandler>,
    policy: RetryPolicy,
    visibility: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    while !*shutdown.borrow() {
        let received = tokio::select! {
            r = queue.receive(&name, 10, visibility, Duration::from_secs(1)) => r,
            _ = shutdown.changed() => break,
        };
        let messages = match received {
            Ok(messages) => messages,
            Err(error) => {
                tracing::warn!(queue = %name, %error, "receive failed; backing off");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        for message in messages {
            let span = tracing::info_span!("message", queue = %name, id = %message.message_id);
            let work = async {
                let result = handler.handle(&message).await;
                if let Err(error) = &result {
                    tracing::warn!(error = %redact_phones(&error.to_string()), receive_count = message.receive_count, "handler failed");
                }
                let disposition = policy.disposition(&message, &result);
                if let Err(error) = settle(queue.as_ref(), &name, &message, disposition).await {
                    tracing::error!(%error, "could not settle message; it will be redelivered");
                }
            };
            work.instrument(span).await;
        }
    }
}

/// Carries out a disposition. Parking copies the message to the dead-letter queue before the
/// delete, so a crash in between leaves a duplicate, never a loss.
pub async fn settle(
    queue: &dyn Queue,
    name: &str,
    message: &ReceivedMessage,
    disposition: Disposition,
) -> Result<(), crate::ports::QueueError> {
    match disposition {
        Disposition::Delete => queue.delete(name, &message.receipt).await,
        Disposition::RetryAfter(delay) => {
            queue.change_visibility(name, &message.receipt, delay).await
        }
        Disposition::Park => {
            queue
                .send(
                    &dead_letter_queue(name),
                    OutgoingMessage::new(message.body.clone()),
                )
                .await?;
            queue.delete(name, &message.receipt).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(count: u32) -> ReceivedMessage {
        ReceivedMessage {
            message_id: "m".into(),
            body: "b".into(),
            receipt: "r".into(),
            receive_count: count,
        }
    }

    #[test]
    fn delays_grow_and_stay_under_the_cap() {
        let base = Duration::from_secs(2);
        let cap = Duration::from_secs(60);
        for count in 1..=10u32 {
            let d = retry_delay(base, cap, count, "seed");
            let ceiling = (base * 2u32.pow(count - 1)).min(cap);
            assert!(d <= ceiling && d >= ceiling / 2, "count {count}: {d:?}");
        }
    }

    #[test]
    fn dispositions_follow_the_policy() {
        let policy = RetryPolicy {
            max_receives: 3,
            ..RetryPolicy::default()
        };
        assert_eq!(
            policy.disposition(&message(1), &Ok(())),
            Disposition::Delete
        );
        assert_eq!(
            policy.disposition(&message(1), &Err(HandlerError::Permanent("x".into()))),
            Disposition::Park
        );
        assert!(matches!(
            policy.disposition(&message(2), &Err(HandlerError::Transient("x".into()))),
            Disposition::RetryAfter(_)
        ));
        assert_eq!(
            policy.disposition(&message(3), &Err(HandlerError::Transient("x".into()))),
            Disposition::Park
        );
    }
}
