//! Lambda: SQS `events` → process captured OpenPhone webhook events (partial batch failures).

use std::sync::Arc;
use trickle_app::queues;

use trickle_app::rate::budget::{RateBudget, DEFAULT_PER_SECOND};
use trickle_app::webhooks::process::{EventProcessor, ProcessSettings};
use trickle_app::worker::RetryPolicy;
use trickle_aws::host::{init_telemetry, AwsHost, AwsSettings};
use trickle_aws::sqs_batch::serve;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_telemetry();
    let host = AwsHost::build(AwsSettings::from_env()?).await?;
    let defaults = ProcessSettings::default();
    let settings = ProcessSettings {
        business_name: std::env::var("TRICKLE_BUSINESS_NAME")
            .ok()
            .filter(|v| !v.is_empty())
            .unwrap_or(defaults.business_name),
        max_attempts: std::env::var("TRICKLE_EVENT_MAX_ATTEMPTS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(defaults.max_attempts),
        // Opt-out confirmations share the key's request budget with every provider caller.
        budget: Some(RateBudget::for_api_key(
            host.secrets.get("openphone-api-key").unwrap_or_default(),
            DEFAULT_PER_SECOND,
        )),
    };
    let policy = RetryPolicy {
        max_receives: settings.max_attempts,
        ..RetryPolicy::default()
    };
    let handler = Arc::new(EventProcessor::new(host.services.clone(), settings));
    let queue = host.services.queue.clone();
    serve(queue, queues::EVENTS, handler, policy).await
}
