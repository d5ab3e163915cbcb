//! Lambda: SQS validate → NumVerify lookups of imported numbers

use std::sync::Arc;
use trickle_app::queues;

use trickle_app::audience::AudienceSettings;
use trickle_app::worker::RetryPolicy;
use trickle_aws::host::{init_telemetry, AwsHost, AwsSettings};
use trickle_aws::sqs_batch::serve;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_telemetry();
    let host = AwsHost::build(AwsSettings::from_env()?).await?;
    let handler = Arc::new(trickle_app::audience::validation::ValidationWorker::new(
        host.services.clone(),
        AudienceSettings::from_env()?,
    ));
    let queue = host.services.queue.clone();
    let policy = RetryPolicy::default();
    serve(queue, queues::VALIDATE, handler, policy).await
}
