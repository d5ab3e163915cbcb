//! OpenPhone for `trickle dev`: the real API when a key is set, else the in-process simulator
//! (sandbox mode), plus the webhook signing keys and processing settings.

use std::sync::Arc;

use anyhow::Context;
use trickle_app::ports::SmsProvider;
use trickle_app::rate::budget::{RateBudget, DEFAULT_PER_SECOND};
use trickle_app::webhooks::ingest::{IngestSettings, SignatureTime};
use trickle_app::webhooks::settings::ProcessSettings;
use trickle_domain::webhook_signature::SigningKey;
use trickle_providers::openphone::{OpenPhoneClient, OpenPhoneSettings, DEFAULT_BASE_URL};
use trickle_sandbox::openphone::{OpenPhoneSimulator, SimulatorConfig};

#[derive(clap::Args, Debug, Clone)]
pub struct OpenPhoneArgs {
    /// OpenPhone API key; when unset, `trickle dev` runs an OpenPhone simulator (sandbox mode).
    #[arg(long, env = "TRICKLE_OPENPHONE_API_KEY", hide_env_values = true)]
    pub openphone_api_key: Option<String>,
    #[arg(long, env = "TRICKLE_OPENPHONE_BASE_URL", default_value = DEFAULT_BASE_URL)]
    pub openphone_base_url: String,
    /// The webhook signing secret (base64, as OpenPhone shows it).
    #[arg(long, env = "TRICKLE_OPENPHONE_WEBHOOK_KEY", hide_env_values = true)]
    pub openphone_webhook_key: Option<String>,
    /// The previous signing secret, accepted too while a key rotation is under way.
    #[arg(
        long,
        env = "TRICKLE_OPENPHONE_WEBHOOK_KEY_PREVIOUS",
        hide_env_values = true
    )]
    pub openphone_webhook_key_previous: Option<String>,
    /// Accepted distance between a webhook's signed timestamp and now, in seconds.
    #[arg(long, env = "TRICKLE_WEBHOOK_WINDOW_SECS", default_value_t = 300)]
    pub webhook_window_secs: u32,
    /// Named in opt-out confirmations and help replies.
    #[arg(long, env = "TRICKLE_BUSINESS_NAME", default_value = "trickle")]
    pub business_name: String,
    /// Tries before a webhook event is parked as failed.
    #[arg(long, env = "TRICKLE_EVENT_MAX_ATTEMPTS", default_value_t = 5)]
    pub event_max_attempts: u32,
    /// Requests per second the sandbox simulator allows per key (0: unlimited).
    #[arg(long, env = "TRICKLE_SIMULATOR_RATE_LIMIT", default_value_t = 10)]
    pub simulator_rate_limit: u32,
}

pub struct OpenPhone {
    pub sms: Arc<dyn SmsProvider>,
    pub ingest: IngestSettings,
    pub process: ProcessSettings,
    /// Running in sandbox mode; dropping it stops the simulator.
    pub simulator: Option<OpenPhoneSimulator>,
}

pub async fn build(args: &OpenPhoneArgs, public_url: &str) -> anyhow::Result<OpenPhone> {
    let mut keys = Vec::new();
    for (name, secret) in [
        ("TRICKLE_OPENPHONE_WEBHOOK_KEY", &args.openphone_webhook_key),
        (
            "TRICKLE_OPENPHONE_WEBHOOK_KEY_PREVIOUS",
            &args.openphone_webhook_key_previous,
        ),
    ] {
        if let Some(secret) = secret.as_deref().filter(|s| !s.trim().is_empty()) {
            keys.push(SigningKey::from_base64(secret).with_context(|| name.to_string())?);
        }
    }
    let api_key = args
        .openphone_api_key
        .clone()
        .filter(|k| !k.trim().is_empty());
    let process = ProcessSettings {
        business_name: args.business_name.clone(),
        max_attempts: args.event_max_attempts.max(1),
        // The same budget the send worker uses (keyed by the API key, or "sandbox").
        budget: Some(RateBudget::for_api_key(
            api_key.as_deref().unwrap_or("sandbox"),
            DEFAULT_PER_SECOND,
        )),
    };
    let (sms, simulator): (Arc<dyn SmsProvider>, _) = match api_key {
        Some(key) => {
            let client =
                OpenPhoneClient::new(OpenPhoneSettings::new(&args.openphone_base_url, key))?;
            (Arc::new(client), None)
        }
        None => {
            let mut config = SimulatorConfig {
                webhook_url: Some(format!("{public_url}/webhooks/openphone")),
                rate_limit: (args.simulator_rate_limit > 0).then_some(args.simulator_rate_limit),
                ..SimulatorConfig::default()
            };
            match keys.first() {
                Some(key) => config.signing_key = key.clone(),
                None => keys.push(config.signing_key.clone()),
            }
            let simulator = OpenPhoneSimulator::start(config).await?;
            let client = OpenPhoneClient::new(OpenPhoneSettings::new(simulator.url(), "sandbox"))?;
            (Arc::new(client) as Arc<dyn SmsProvider>, Some(simulator))
        }
    };
    if keys.is_empty() {
        tracing::warn!("TRICKLE_OPENPHONE_WEBHOOK_KEY is unset: every webhook will be refused");
    }
    let mut ingest = IngestSettings::new(keys);
    // Signatures carry the real time even when the runner's clock was moved for a demo.
    ingest.signature_time = SignatureTime::SystemClock;
    ingest.window = chrono::Duration::seconds(i64::from(args.webhook_window_secs));
    Ok(OpenPhone {
        sms,
        ingest,
        process,
        simulator,
    })
}
