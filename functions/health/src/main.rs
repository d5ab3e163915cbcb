//! Lambda: the hourly EventBridge schedule starts a webhook health check; the `health` queue
//! (its delayed verdict messages) judges it. One function, two triggers, told apart by shape.

use aws_lambda_events::event::sqs::SqsEvent;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;
use trickle_app::{health, queues};
use trickle_host::lambda::{secrets, LambdaHost};
use trickle_host::sqs_batch::handle_batch;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let trickle = LambdaHost::start(&[secrets::OPENPHONE_API_KEY])
        .await?
        .trickle;
    // Unconfigured, the function does nothing (the schedule stays harmless until numbers are set).
    let (Some(settings), Some(verdicts)) = (
        trickle.health.clone(),
        trickle.consumer(queues::HEALTH).cloned(),
    ) else {
        tracing::warn!("the health check is not configured (TRICKLE_HEALTH_SENDER/RECEIVER)");
        return lambda_runtime::run(service_fn(|_: LambdaEvent<Value>| async {
            Ok::<Value, Error>(Value::Null)
        }))
        .await;
    };
    let services = trickle.services;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let (services, settings, verdicts) = (services.clone(), settings.clone(), verdicts.clone());
        async move {
            if event.payload.get("Records").is_some() {
                let batch: SqsEvent = serde_json::from_value(event.payload)?;
                let answer = handle_batch(
                    services.queue.as_ref(),
                    verdicts.queue,
                    verdicts.handler.as_ref(),
                    &verdicts.policy,
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
