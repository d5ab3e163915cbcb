//! OpenPhone for `trickle dev`: the real API when a key is set, else the in-process simulator
//! (sandbox mode), which then also signs the webhooks it sends back to the runner.

use std::sync::Arc;

use trickle_app::ports::SmsProvider;
use trickle_domain::webhook_signature::SigningKey;
use trickle_domain::Clock;
use trickle_host::{Secret, Settings};
use trickle_providers::openphone::{OpenPhoneClient, OpenPhoneSettings};
use trickle_sandbox::openphone::{OpenPhoneSimulator, SimClock, SimulatorConfig};

pub struct OpenPhone {
    pub sms: Arc<dyn SmsProvider>,
    /// Running in sandbox mode; dropping it stops the simulator.
    pub simulator: Option<OpenPhoneSimulator>,
}

/// The provider for `settings`; in sandbox mode the simulator's signing key becomes the
/// runner's webhook key when none is configured.
pub async fn build(
    settings: &mut Settings,
    public_url: &str,
    simulator_rate_limit: u32,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<OpenPhone> {
    if let Some(key) = &settings.openphone.api_key {
        let client = OpenPhoneClient::new(settings.openphone.client(key.expose()))?;
        return Ok(OpenPhone {
            sms: Arc::new(client),
            simulator: None,
        });
    }
    let mut config = SimulatorConfig {
        webhook_url: Some(format!("{public_url}/webhooks/openphone")),
        rate_limit: (simulator_rate_limit > 0).then_some(simulator_rate_limit),
        clock: SimClock(clock),
        ..SimulatorConfig::default()
    };
    match settings.openphone.webhook_keys.first() {
        Some(key) => config.signing_key = SigningKey::from_base64(key.expose())?,
        None => settings
            .openphone
            .webhook_keys
            .push(Secret::new(config.signing_key.to_base64())),
    }
    let simulator = OpenPhoneSimulator::start(config).await?;
    let client = OpenPhoneClient::new(OpenPhoneSettings::new(simulator.url(), "sandbox"))?;
    Ok(OpenPhone {
        sms: Arc::new(client),
        simulator: Some(simulator),
    })
}
