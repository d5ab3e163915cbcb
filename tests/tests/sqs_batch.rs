//! The SQS Lambda glue: partial batch failures, backoff and parking, decided as locally.

use std::time::Duration;

use async_trait::async_trait;
use aws_lambda_events::event::sqs::SqsEvent;
use serde_json::json;
use trickle_app::ports::{OutgoingMessage, ReceivedMessage};
use trickle_app::worker::{HandlerError, MessageHandler, RetryPolicy};
use trickle_host::sqs_batch::handle_batch;

/// Answers by the message body: "ok", "retry" or "broken".
struct ByBody;

#[async_trait]
impl MessageHandler for ByBody {
    async fn handle(&self, message: &ReceivedMessage) -> Result<(), HandlerError> {
        match message.body.as_str() {
            "ok" => Ok(()),
            "retry" => Err(HandlerError::Transient("try later".into())),
            _ => Err(HandlerError::Permanent("never".into())),
        }
    }
}

#[tokio::test]
async fn failures_are_reported_per_record_and_permanent_ones_are_parked() {
    let fixture = trickle_tests::fixtures::embedded_queue().await;
    let queue = fixture.port.clone();
    // Real receipts, so the retry delay can be applied.
    for body in ["ok", "retry", "broken", "retry"] {
        queue
            .send("work", OutgoingMessage::new(body))
            .await
            .unwrap();
    }
    let received = queue
        .receive("work", 10, Duration::from_secs(30), Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(received.len(), 4);
    let records: Vec<_> = received
        .iter()
        .enumerate()
        .map(|(n, m)| {
            json!({
                "messageId": m.message_id, "receiptHandle": m.receipt, "body": m.body,
                // The last one has used up its receives.
                "attributes": {"ApproximateReceiveCount": if n == 3 { "3" } else { "1" }},
                "messageAttributes": {}, "eventSource": "aws:sqs",
            })
        })
        .collect();
    let event: SqsEvent = serde_json::from_value(json!({ "Records": records })).unwrap();
    let policy = RetryPolicy {
        max_receives: 3,
        ..RetryPolicy::default()
    };
    let response = handle_batch(queue.as_ref(), "work", &ByBody, &policy, event).await;
    let failed: Vec<&str> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    assert_eq!(
        failed,
        vec![received[1].message_id.as_str()],
        "only the retryable one"
    );
    assert_eq!(
        queue.depth("work-dlq").await.unwrap(),
        2,
        "broken + exhausted retry"
    );
}
