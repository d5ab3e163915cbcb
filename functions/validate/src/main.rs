//! Lambda: SQS validate → NumVerify lookups of imported numbers

use std::sync::Arc;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{service_fn, LambdaEvent};
use trickle_app::audience::AudienceSettings;
use trickle_app::worker::RetryPolicy;
use trickle_aws::host::{init_telemetry, AwsHost, AwsSettings};
use trickle_aws::lambda_sqs::handle_batch;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_telemetry();
    let host = AwsHost::build(AwsSettings::from_env()?).await?;
    let handler = Arc::new(trickle_app::audience::validation::ValidationWorker::new(
        host.services.clone(),
        AudienceSettings::from_env(),
    ));
    let queue = host.services.queue.clone();
    let policy = RetryPolicy::default();
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let (queue, handler) = (queue.clone(), handler.clone());
        async move {
            Ok::<SqsBatchResponse, lambda_runtime::Error>(
                handle_batch(
                    queue,
                    trickle_app::audience::VALIDATE_QUEUE,
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
