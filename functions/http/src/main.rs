//! Lambda: API Gateway HTTP API → the trickle router (admin API and webhook).

use trickle_aws::host::{init_telemetry, AwsHost, AwsSettings};
use trickle_http::HttpSettings;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    init_telemetry();
    let settings = AwsSettings::from_env()?;
    let host = AwsHost::build(settings).await?;
    let admin_token = host
        .secrets
        .require("admin-token", &host.settings.secrets_prefix)?;
    let router = trickle_http::router(host.services, HttpSettings { admin_token });
    lambda_http::run(router).await
}
