//! Lambda: SQS `forward` → re-deliver captured events, re-signed with the forwarding key, to the
//! one allow-listed developer URL (`TRICKLE_FORWARD_URL`). Only deployed events reach it when
//! the HTTP function has forwarding on; its failures stay on its own queue.

use std::sync::Arc;
use trickle_app::queues;

use trickle_app::webhooks::forward::ForwardHandler;
use trickle_app::worker::RetryPolicy;
use trickle_aws::host::{init_telemetry, AwsHost, AwsSettings};
use trickle_aws::sqs_batch::serve;
use trickle_domain::webhook_signature::SigningKey;
use trickle_providers::forwarder::HttpForwarder;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_telemetry();
    let host = AwsHost::build(AwsSettings::from_env()?).await?;
    let url = std::env::var("TRICKLE_FORWARD_URL").map_err(|_| "TRICKLE_FORWARD_URL is not set")?;
    let key = SigningKey::from_base64(
        &host
            .secrets
            .require("forward-key", &host.settings.secrets_prefix)?,
    )?;
    let handler = Arc::new(ForwardHandler::new(
        host.services.clone(),
        Arc::new(HttpForwarder::new(&url, key)?),
    ));
    let policy = RetryPolicy::default();
    let queue = host.services.queue.clone();
    serve(queue, queues::FORWARD, handler, policy).await
}
