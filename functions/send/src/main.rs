//! Lambda: SQS `sends` → one campaign send each: claim, send through OpenPhone, record.

use std::sync::Arc;
use trickle_app::queues;

use trickle_app::campaigns::send_rules::SendSettings;
use trickle_app::campaigns::send_worker::{AlertSettings, SendLimits, SendWorker};
use trickle_app::worker::RetryPolicy;
use trickle_aws::host::{init_telemetry, AwsHost, AwsSettings};
use trickle_aws::sqs_batch::serve;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_telemetry();
    let host = AwsHost::build(AwsSettings::from_env()?).await?;
    let alerts = AlertSettings {
        from: host.settings.alert_from.clone().unwrap_or_default(),
        to: host.settings.alert_to.clone(),
    };
    let handler = Arc::new(SendWorker {
        services: host.services.clone(),
        sms: host.services.sms.clone(),
        settings: SendSettings::default(),
        limits: SendLimits::new(host.secrets.get("openphone-api-key").unwrap_or_default()),
        alerts,
    });
    let queue = host.services.queue.clone();
    serve(queue, queues::SENDS, handler, RetryPolicy::default()).await
}
