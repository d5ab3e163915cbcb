//! Lambda: SQS `reconcile` → reconciliation steps. EventBridge puts the daily
//! `{"start": "scheduled"}` message on the queue; each step that runs out of time queues its own
//! continuation (a step works at most 10 minutes, well under the 15-minute timeout).

use trickle_app::queues;
use trickle_host::lambda::{secrets, LambdaHost};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    LambdaHost::start(&[secrets::OPENPHONE_API_KEY])
        .await?
        .serve_queue(queues::RECONCILE)
        .await
}
