//! Lambda: SQS `validate` → NumVerify lookups of imported numbers.

use trickle_app::queues;
use trickle_host::lambda::{secrets, LambdaHost};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    LambdaHost::start(&[secrets::NUMVERIFY_KEY])
        .await?
        .serve_queue(queues::VALIDATE)
        .await
}
