//! Lambda: SQS `validate` → NumVerify lookups of imported numbers.

use trickle_app::queues;
use trickle_host::lambda::LambdaHost;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    LambdaHost::start()
        .await?
        .serve_queue(queues::VALIDATE)
        .await
}
