//! Lambda: SQS `media` → copy provider media (MMS, recordings, voicemails) into S3.

use std::sync::Arc;
use trickle_app::queues;

use trickle_app::webhooks::media::MediaHandler;
use trickle_app::worker::RetryPolicy;
use trickle_aws::host::{init_telemetry, AwsHost, AwsSettings};
use trickle_aws::sqs_batch::serve;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_telemetry();
    let host = AwsHost::build(AwsSettings::from_env()?).await?;
    let policy = RetryPolicy::default();
    let handler = Arc::new(MediaHandler::new(host.services.clone()));
    let queue = host.services.queue.clone();
    serve(queue, queues::MEDIA, handler, policy).await
}
