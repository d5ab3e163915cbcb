//! Lambda: the EventBridge schedule (every minute) and the `planner` queue's continuations →
//! plan the due campaign runs, each invocation until its own deadline.

use lambda_runtime::Error;
use trickle_app::queues;
use trickle_host::lambda::LambdaHost;

#[tokio::main]
async fn main() -> Result<(), Error> {
    LambdaHost::start(&[])
        .await?
        .serve_tick(queues::PLANNER)
        .await
}
