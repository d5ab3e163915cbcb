//! An SQS-triggered Lambda's batch, handed record by record to a [`MessageHandler`], with the
//! same retry and parking rules as the local consumer (`trickle_app::worker`).
//!
//! A record to retry gets its visibility set to the backoff delay and is reported as a batch
//! item failure (the event source mapping needs `ReportBatchItemFailures`); a parked record is
//! copied to the dead-letter queue and reported as done, so Lambda deletes it.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use tracing::Instrument;
use trickle_app::ports::{Queue, ReceivedMessage};
use trickle_app::worker::{Disposition, MessageHandler, RetryPolicy};

pub async fn handle_batch(
    queue: &dyn Queue,
    queue_name: &str,
    handler: &dyn MessageHandler,
    policy: &RetryPolicy,
    event: SqsEvent,
) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    for record in event.records {
        let message = received(&record);
        let span = tracing::info_span!("message", queue = queue_name, id = %message.message_id,
            receive_count = message.receive_count);
        let failed = async {
            let result = handler.handle(&message).await;
            if let Err(error) = &result {
                tracing::warn!(error = %trickle_domain::log_privacy::redact_phones(&error.to_string()), "handler failed");
            }
            match policy.disposition(&message, &result) {
                Disposition::Delete => false,
                Disposition::RetryAfter(delay) => {
                    if let Err(error) = queue
                        .change_visibility(queue_name, &message.receipt, delay)
                        .await
                    {
                        tracing::warn!(%error, "could not set the retry delay");
                    }
                    true
                }
                Disposition::Park => {
                    // Copy to the DLQ, then let Lambda delete it; if the copy fails, keep it.
                    let parked = queue
                        .send(
                            &trickle_app::ports::queue::dead_letter_queue(queue_name),
                            trickle_app::ports::OutgoingMessage::new(message.body.clone()),
                        )
                        .await;
                    if let Err(error) = &parked {
                        tracing::error!(%error, "could not park the message");
                    }
                    parked.is_err()
                }
            }
        }
        .instrument(span)
        .await;
        if failed {
            response.add_failure(message.message_id.clone());
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

/// Runs an SQS-triggered function: every batch from `queue_name` goes to `handler` through
/// [`handle_batch`]. The clients and the handler are built once, before the first event.
pub async fn serve(
    queue: std::sync::Arc<dyn Queue>,
    queue_name: &'static str,
    handler: std::sync::Arc<dyn MessageHandler>,
    policy: RetryPolicy,
) -> Result<(), lambda_runtime::Error> {
    lambda_runtime::run(lambda_runtime::service_fn(
        move |event: lambda_runtime::LambdaEvent<SqsEvent>| {
            let (queue, handler) = (queue.clone(), handler.clone());
            async move {
                Ok::<SqsBatchResponse, lambda_runtime::Error>(
                    handle_batch(
                        queue.as_ref(),
                        queue_name,
                        handler.as_ref(),
                        &policy,
                        event.payload,
                    )
                    .await,
                )
            }
        },
    ))
    .await
}
