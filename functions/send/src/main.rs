//! Lambda: SQS `sends` → one campaign send each: claim, send through OpenPhone, record.

use trickle_app::queues;
use trickle_host::lambda::LambdaHost;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    LambdaHost::start().await?.serve_queue(queues::SENDS).await
}
