//! Lambda: SQS `uploads` (S3 `imports/` notifications and import steps) → parse and finish CSV
//! imports.

use trickle_app::queues;
use trickle_host::lambda::LambdaHost;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    LambdaHost::start(&[])
        .await?
        .serve_queue(queues::UPLOADS)
        .await
}
