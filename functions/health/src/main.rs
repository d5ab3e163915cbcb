//! Lambda: the hourly EventBridge schedule starts a webhook health check; the `health` queue
//! (its delayed verdict messages) judges it. One function, two triggers, told apart by shape.

use std::sync::Arc;
use trickle_app::queues;

use aws_lambda_events::event::sqs::SqsEvent;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;
use trickle_app::health::{self, HealthSettings, VerdictHandler};
use trickle_app::rate::budget::{RateBudget, DEFAULT_PER_SECOND};
use trickle_app::worker::RetryPolicy;
use trickle_aws::host::{init_telemetry, AwsHost, AwsSettings};
use trickle_aws::sqs_batch::handle_batch;

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_telemetry();
    let host = AwsHost::build(AwsSettings::from_env()?).await?;
    // Unconfigured, the function does nothing (the schedule stays harmless until numbers are set).
    let Some(mut settings) = HealthSettings::from_env()? else {
        tracing::warn!("the health check is not configured (TRICKLE_HEALTH_SENDER/RECEIVER)");
        return lambda_runtime::run(service_fn(|_: LambdaEvent<Value>| async {
            Ok::<Value, Error>(Value::Null)
        }))
        .await;
    };
    settings.budget = Some(RateBudget::for_api_key(
        host.secrets.get("openphone-api-key").unwrap_or_default(),
        DEFAULT_PER_SECOND,
    ));
    let services = host.services;
    let verdicts = Arc::new(VerdictHandler {
        services: services.clone(),
        settings: settings.clone(),
    });
    let policy = RetryPolicy::default();
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let (services, settings, verdicts) = (services.clone(), settings.clone(), verdicts.clone());
        async move {
            if event.payload.get("Records").is_some() {
                let batch: SqsEvent = serde_json::from_value(event.payload)?;
                let queue = services.queue.clone();
                let answer = handle_batch(
                    queue.as_ref(),
                    queues::HEALTH,
                    verdicts.as_ref(),
                    &policy,
                    batch,
                )
                .await;
                return Ok::<Value, Error>(serde_json::to_value(answer)?);
            }
            let check = health::start_check(&services, services.sms.as_ref(), &settings).await?;
            Ok(serde_json::to_value(check)?)
        }
    }))
    .await
}
