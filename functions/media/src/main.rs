//! Lambda: SQS `media` → copy provider media (MMS, recordings, voicemails) into S3.

use std::sync::Arc;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{service_fn, LambdaEvent};
use trickle_app::webhooks::media::MediaHandler;
use trickle_app::webhooks::MEDIA_QUEUE;
use trickle_app::worker::RetryPolicy;
use trickle_aws::host::{init_telemetry, AwsHost, AwsSettings};
use trickle_aws::sqs_batch::handle_batch;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_telemetry();
    let host = AwsHost::build(AwsSettings::from_env()?).await?;
    let policy = RetryPolicy::default();
    let handler = Arc::new(MediaHandler::new(host.services.clone()));
    let queue = host.services.queue.clone();
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let (handler, queue) = (handler.clone(), queue.clone());
        async move {
            Ok::<SqsBatchResponse, lambda_runtime::Error>(
                handle_batch(
                    queue.as_ref(),
                    MEDIA_QUEUE,
                    handler.as_ref(),
                    &policy,
                    event.payload,
                )
                .await,
            )
        }
    }))
    .await
}
