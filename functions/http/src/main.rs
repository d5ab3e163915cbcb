//! Lambda: API Gateway HTTP API → the trickle router (admin API and webhook).

use trickle_host::lambda::{secrets, LambdaHost};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let host = LambdaHost::start(&[
        secrets::ADMIN_TOKEN,
        secrets::OPENPHONE_API_KEY,
        secrets::OPENPHONE_WEBHOOK_KEY,
        secrets::OPENPHONE_WEBHOOK_KEY_PREVIOUS,
    ])
    .await?;
    // Without the admin token or a webhook signing key the function would refuse every request.
    host.require_admin_token()?;
    lambda_http::run(host.trickle.router()).await
}
