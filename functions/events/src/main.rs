//! Lambda: SQS `events` → process captured OpenPhone webhook events (partial batch failures).

use trickle_app::queues;
use trickle_host::lambda::{secrets, LambdaHost};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    LambdaHost::start(&[secrets::OPENPHONE_API_KEY])
        .await?
        .serve_queue(queues::EVENTS)
        .await
}
