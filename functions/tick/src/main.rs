//! Lambda: the EventBridge schedule (every minute) → plan the due campaign runs.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use trickle_host::lambda::LambdaHost;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let services = LambdaHost::start().await?.trickle.services;
    lambda_runtime::run(service_fn(move |_: LambdaEvent<serde_json::Value>| {
        let services = services.clone();
        async move {
            let now = services.clock.now();
            let report = trickle_app::campaigns::plan_due_campaigns(&services, now).await?;
            Ok::<_, Error>(serde_json::to_value(report)?)
        }
    }))
    .await
}
