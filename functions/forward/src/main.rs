//! Lambda: SQS `forward` → re-deliver captured events, re-signed with the forwarding key, to the
//! one allow-listed developer URL (`TRICKLE_FORWARD_URL`). Only deployed events reach it when
//! the HTTP function has forwarding on; its failures stay on its own queue.

use trickle_app::queues;
use trickle_host::lambda::{secrets, LambdaHost};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    LambdaHost::start(&[secrets::FORWARD_KEY])
        .await?
        .serve_queue(queues::FORWARD)
        .await
}
