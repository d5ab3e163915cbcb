//! SQS batches delivered to a Lambda function, handled one message at a time with the same
//! retry and parking rules as the local consumers (`RetryPolicy`), answering with partial
//! batch failures.

use std::sync::Arc;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use tracing::Instrument;
use trickle_app::ports::{Queue, ReceivedMessage};
use trickle_app::worker::{settle, Disposition, MessageHandler, RetryPolicy};

/// Runs `handler` over every record of the batch from `queue` (its unprefixed name). A failed
/// record is reported back (SQS redelivers it after the backoff set on it); a record the policy
/// parks is moved to the dead-letter queue and reported done.
pub async fn handle_batch(
    queue: Arc<dyn Queue>,
    name: &str,
    handler: &dyn MessageHandler,
    policy: &RetryPolicy,
    event: SqsEvent,
) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    for record in event.records {
        let message = received(&record);
        let span = tracing::info_span!("message", queue = %name, id = %message.message_id);
        let failed = async {
            let result = handler.handle(&message).await;
            if let Err(error) = &result {
                tracing::warn!(%error, receive_count = message.receive_count, "handler failed");
            }
            match policy.disposition(&message, &result) {
                Disposition::Delete => false,
                Disposition::RetryAfter(delay) => {
                    let retry = Disposition::RetryAfter(delay);
                    if let Err(error) = settle(queue.as_ref(), name, &message, retry).await {
                        tracing::warn!(%error, "could not set the retry delay");
                    }
                    true
                }
                Disposition::Park => {
                    // Copy to the DLQ now; Lambda deletes the original when we report success.
                    let dlq = trickle_app::ports::queue::dead_letter_queue(name);
                    let copy = trickle_app::ports::OutgoingMessage::new(message.body.clone());
                    match queue.send(&dlq, copy).await {
                        Ok(_) => false,
                        Err(error) => {
                            tracing::error!(%error, "could not park the message");
                            true
                        }
                    }
                }
            }
        }
        .instrument(span)
        .await;
        if failed {
            response.add_failure(message.message_id);
        }
    }
    response
}

fn received(record: &SqsMessage) -> ReceivedMessage {
    ReceivedMessage {
        message_id: record.message_id.clone().unwrap_or_default(),
        body: record.body.clone().unwrap_or_default(),
        receipt: record.receipt_handle.clone().unwrap_or_default(),
        receive_count: record
            .attributes
            .get("ApproximateReceiveCount")
            .and_then(|c| c.parse().ok())
            .unwrap_or(1),
    }
}
