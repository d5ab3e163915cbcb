//! Lambda: API Gateway HTTP API → the trickle router (admin API and webhook).

use trickle_app::health::HealthSettings;
use trickle_app::rate::budget::{RateBudget, DEFAULT_PER_SECOND};
use trickle_app::reconcile::ReconcileSettings;
use trickle_app::webhooks::ingest::IngestSettings;
use trickle_aws::host::{init_telemetry, AwsHost, AwsSettings};
use trickle_domain::webhook_signature::SigningKey;
use trickle_http::HttpSettings;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    init_telemetry();
    let settings = AwsSettings::from_env()?;
    let host = AwsHost::build(settings).await?;
    let admin_token = host
        .secrets
        .require("admin-token", &host.settings.secrets_prefix)?;
    // Current key required; the previous one accepted too while a rotation is under way.
    let mut keys = vec![SigningKey::from_base64(
        &host
            .secrets
            .require("openphone-webhook-key", &host.settings.secrets_prefix)?,
    )?];
    if let Some(previous) = host
        .secrets
        .get("openphone-webhook-key-previous")
        .filter(|k| !k.trim().is_empty())
    {
        keys.push(SigningKey::from_base64(previous)?);
    }
    let mut webhooks = IngestSettings::new(keys);
    if let Some(secs) = std::env::var("TRICKLE_WEBHOOK_WINDOW_SECS")
        .ok()
        .and_then(|v| v.parse::<i64>().ok())
    {
        webhooks.window = chrono::Duration::seconds(secs);
    }
    // The development forwarder: off unless a URL is configured (and then a forward-key secret).
    webhooks.forward = std::env::var("TRICKLE_FORWARD_URL").is_ok_and(|u| !u.is_empty());
    // One request budget per OpenPhone key, shared by every provider caller.
    let budget = RateBudget::for_api_key(
        host.secrets.get("openphone-api-key").unwrap_or_default(),
        DEFAULT_PER_SECOND,
    );
    let mut health = HealthSettings::from_env()?;
    if let Some(health) = &mut health {
        health.budget = Some(budget.clone());
    }
    let reconcile = ReconcileSettings::from_env(budget)?;
    let router = trickle_http::router_with_webhooks(
        host.services,
        HttpSettings {
            admin_token,
            health,
            reconcile,
        },
        webhooks,
    );
    lambda_http::run(router).await
}
