//! Lambda: SQS `reconcile` → reconciliation steps. EventBridge puts the daily
//! `{"start": "scheduled"}` message on the queue; each step that runs out of time queues its own
//! continuation.

use std::sync::Arc;
use std::time::Duration;
use trickle_app::queues;

use trickle_app::campaigns::send_rules::SendSettings;
use trickle_app::campaigns::send_worker::{AlertSettings, SendLimits, SendWorker};
use trickle_app::reconcile::{ReconcileHandler, ReconcileSettings};
use trickle_app::worker::RetryPolicy;
use trickle_aws::host::{init_telemetry, AwsHost, AwsSettings};
use trickle_aws::sqs_batch::serve;

/// Well under the function's 15-minute timeout: a step checkpoints and hands over after this.
const STEP_TIME: Duration = Duration::from_secs(10 * 60);

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_telemetry();
    let host = AwsHost::build(AwsSettings::from_env()?).await?;
    let limits = SendLimits::new(host.secrets.get("openphone-api-key").unwrap_or_default());
    let Some(mut settings) = ReconcileSettings::from_env(limits.budget.clone())? else {
        return Err("reconciliation is not configured: set TRICKLE_RECONCILE_NUMBERS".into());
    };
    settings.step_time = STEP_TIME;
    let sends = SendWorker {
        services: host.services.clone(),
        sms: host.services.sms.clone(),
        settings: SendSettings::default(),
        limits,
        alerts: AlertSettings {
            from: settings.alert_from.clone(),
            to: settings.alert_to.clone(),
        },
    };
    let handler = Arc::new(ReconcileHandler {
        services: host.services.clone(),
        settings,
        sends: Some(sends),
    });
    let queue = host.services.queue.clone();
    serve(queue, queues::RECONCILE, handler, RetryPolicy::default()).await
}
