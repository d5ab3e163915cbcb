//! The `Queue` port over SQS standard queues. Queue `x` is the SQS queue `<prefix>x`; its
//! dead-letter queue `x-dlq` is wired by the redrive policy in `template.yaml`.
//!
//! Standard queues have no deduplication, so a dedup id is claimed as a short-lived guard item
//! in the table first (released again if the send fails, so a retry is not mistaken for a
//! duplicate) and confirmed once SQS took the message. A guard a crash left unconfirmed (the
//! process died between the claim and `SendMessage`) is taken over after [`UNCONFIRMED_STALE`],
//! and an expired guard that DynamoDB's TTL has not deleted yet (it can take days) is taken over
//! at once: neither may turn a later send into a silent "duplicate".

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_sqs::error::ProvideErrorMetadata;
use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};
use aws_sdk_sqs::Client;
use serde_json::Value;
use trickle_app::ports::queue::{
    check_receive, OutgoingMessage, Queue, QueueError, ReceivedMessage, SendOutcome, DEDUP_WINDOW,
};
use trickle_app::ports::table::{Condition, Item, Key, Table, TableError, Update};

use crate::describe;

#[derive(Clone)]
pub struct SqsQueue {
    client: Client,
    prefix: String,
    urls: Arc<Mutex<HashMap<String, String>>>,
    dedup: Arc<dyn Table>,
}

/// An unconfirmed guard this old was left by a process that died before its `SendMessage`
/// (a live one confirms within a few seconds).
pub const UNCONFIRMED_STALE: Duration = Duration::from_secs(60);

fn whole_seconds(d: Duration) -> i32 {
    d.as_secs_f64().ceil() as i32
}

impl SqsQueue {
    pub fn new(client: Client, prefix: impl Into<String>, dedup: Arc<dyn Table>) -> Self {
        Self {
            client,
            prefix: prefix.into(),
            urls: Arc::default(),
            dedup,
        }
    }

    async fn url(&self, queue: &str) -> Result<String, QueueError> {
        if let Some(url) = self.urls.lock().expect("url cache").get(queue) {
            return Ok(url.clone());
        }
        let out = self
            .client
            .get_queue_url()
            .queue_name(format!("{}{queue}", self.prefix))
            .send()
            .await
            .map_err(|e| {
                let service = e.into_service_error();
                if service.is_queue_does_not_exist() {
                    QueueError::UnknownQueue(queue.to_string())
                } else {
                    QueueError::Unavailable(describe(&service))
                }
            })?;
        let url = out
            .queue_url
            .ok_or_else(|| QueueError::Unavailable("no queue URL returned".into()))?;
        self.urls
            .lock()
            .expect("url cache")
            .insert(queue.to_string(), url.clone());
        Ok(url)
    }

    fn guard_key(queue: &str, dedup: &str) -> Key {
        Key::new(format!("QDEDUP#{queue}#{dedup}"), "QDEDUP")
    }

    async fn claim_dedup(&self, queue: &str, dedup: &str) -> Result<bool, QueueError> {
        let key = Self::guard_key(queue, dedup);
        let mut item = Item::new();
        item.insert("pk".into(), Value::from(key.pk.clone()));
        item.insert("sk".into(), Value::from(key.sk.clone()));
        let now = chrono::Utc::now().timestamp();
        item.insert(
            "expires_at".into(),
            Value::from(now + DEDUP_WINDOW.as_secs() as i64),
        );
        item.insert("claimed_at".into(), Value::from(now));
        let free = Condition::Any(vec![
            Condition::ItemAbsent,
            Condition::less_than("expires_at", now),
            Condition::All(vec![
                Condition::AttrAbsent("sent".into()),
                Condition::less_than("claimed_at", now - UNCONFIRMED_STALE.as_secs() as i64),
            ]),
        ]);
        match self.dedup.put(item, Some(free)).await {
            Ok(()) => Ok(true),
            Err(TableError::ConditionFailed { .. }) => Ok(false),
            Err(e) => Err(QueueError::Unavailable(format!("dedup guard: {e}"))),
        }
    }

    /// SQS holds the message: the guard now stands for a real send.
    async fn confirm_dedup(&self, queue: &str, dedup: &str) {
        let confirmed = self
            .dedup
            .update(
                &Self::guard_key(queue, dedup),
                Update::new().set("sent", true),
                Some(Condition::ItemExists),
            )
            .await;
        if let Err(error) = confirmed {
            // Harmless: an unconfirmed guard only lets a later repeat through after a minute.
            tracing::warn!(%error, queue, dedup, "dedup guard not confirmed");
        }
    }
}

fn classify<E>(error: E) -> QueueError
where
    E: std::error::Error + ProvideErrorMetadata,
{
    match error.code() {
        Some(code)
            if code.contains("InvalidParameterValue")
                || code.contains("ReceiptHandleIsInvalid")
                || code.contains("MessageNotInflight")
                || code.contains("InvalidMessageContents") =>
        {
            QueueError::Invalid(describe(&error))
        }
        _ => QueueError::Unavailable(describe(&error)),
    }
}

#[async_trait]
impl Queue for SqsQueue {
    async fn send(&self, queue: &str, message: OutgoingMessage) -> Result<SendOutcome, QueueError> {
        message.check()?;
        let url = self.url(queue).await?;
        if let Some(dedup) = &message.dedup_id {
            if !self.claim_dedup(queue, dedup).await? {
                return Ok(SendOutcome::Duplicate);
            }
        }
        let sent = self
            .client
            .send_message()
            .queue_url(url)
            .message_body(&message.body)
            .delay_seconds(whole_seconds(message.delay))
            .send()
            .await;
        match sent {
            Ok(out) => {
                if let Some(dedup) = &message.dedup_id {
                    self.confirm_dedup(queue, dedup).await;
                }
                Ok(SendOutcome::Sent {
                    message_id: out.message_id.unwrap_or_default(),
                })
            }
            Err(e) => {
                if let Some(dedup) = &message.dedup_id {
                    let release = self
                        .dedup
                        .delete(&Self::guard_key(queue, dedup), None)
                        .await;
                    if let Err(error) = release {
                        tracing::error!(%error, queue, dedup, "dedup guard not released");
                    }
                }
                Err(classify(e.into_service_error()))
            }
        }
    }

    async fn receive(
        &self,
        queue: &str,
        max: u32,
        visibility: Duration,
        wait: Duration,
    ) -> Result<Vec<ReceivedMessage>, QueueError> {
        check_receive(max, wait)?;
        let url = self.url(queue).await?;
        let out = self
            .client
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(max as i32)
            .visibility_timeout(whole_seconds(visibility))
            .wait_time_seconds(wait.as_secs() as i32)
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .send()
            .await
            .map_err(|e| classify(e.into_service_error()))?;
        Ok(out
            .messages
            .unwrap_or_default()
            .into_iter()
            .map(|m| {
                let receive_count = m
                    .attributes
                    .as_ref()
                    .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
                    .and_then(|c| c.parse().ok())
                    .unwrap_or(1);
                ReceivedMessage {
                    message_id: m.message_id.unwrap_or_default(),
                    body: m.body.unwrap_or_default(),
                    receipt: m.receipt_handle.unwrap_or_default(),
                    receive_count,
                }
            })
            .collect())
    }

    async fn delete(&self, queue: &str, receipt: &str) -> Result<(), QueueError> {
        let url = self.url(queue).await?;
        self.client
            .delete_message()
            .queue_url(url)
            .receipt_handle(receipt)
            .send()
            .await
            .map_err(|e| classify(e.into_service_error()))?;
        Ok(())
    }

    async fn change_visibility(
        &self,
        queue: &str,
        receipt: &str,
        timeout: Duration,
    ) -> Result<(), QueueError> {
        let url = self.url(queue).await?;
        self.client
            .change_message_visibility()
            .queue_url(url)
            .receipt_handle(receipt)
            .visibility_timeout(whole_seconds(timeout))
            .send()
            .await
            .map_err(|e| classify(e.into_service_error()))?;
        Ok(())
    }

    async fn depth(&self, queue: &str) -> Result<u64, QueueError> {
        let url = self.url(queue).await?;
        let out = self
            .client
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesDelayed)
            .send()
            .await
            .map_err(|e| classify(e.into_service_error()))?;
        Ok(out
            .attributes
            .unwrap_or_default()
            .values()
            .filter_map(|v| v.parse::<u64>().ok())
            .sum())
    }
}
