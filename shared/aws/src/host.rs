//! What every Lambda function builds once at cold start: typed settings, the SDK config, the
//! secrets and the adapters behind the ports.

use std::collections::HashMap;
use std::sync::Arc;

use trickle_app::Services;
use trickle_domain::SystemClock;

use crate::clients;
use crate::{
    load_sdk_config, load_secrets, AwsEndpoint, DynamoTable, S3Blobs, SesMailer, SqsQueue,
};

/// Names of the resources, from the environment `template.yaml` sets.
#[derive(Debug, Clone)]
pub struct AwsSettings {
    pub table_name: String,
    pub bucket: String,
    pub queue_prefix: String,
    pub secrets_prefix: String,
    /// `TRICKLE_ALERT_EMAIL`, each address on its own (empty: no alerts).
    pub alert_to: Vec<String>,
    pub alert_from: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("environment variable {0} is not set")]
    Missing(&'static str),
    #[error("environment variable {name}: {problem}")]
    Invalid { name: &'static str, problem: String },
    #[error("secret {name} is missing under {prefix}")]
    MissingSecret { name: &'static str, prefix: String },
    #[error(transparent)]
    Secrets(#[from] crate::SecretsError),
}

impl AwsSettings {
    pub fn from_env() -> Result<Self, SettingsError> {
        let required = |name: &'static str| {
            std::env::var(name)
                .ok()
                .filter(|v| !v.is_empty())
                .ok_or(SettingsError::Missing(name))
        };
        let optional = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        Ok(Self {
            table_name: required("TRICKLE_TABLE_NAME")?,
            bucket: required("TRICKLE_BUCKET")?,
            queue_prefix: required("TRICKLE_QUEUE_PREFIX")?,
            secrets_prefix: required("TRICKLE_SECRETS_PREFIX")?,
            alert_to: match optional("TRICKLE_ALERT_EMAIL") {
                Some(list) => trickle_domain::AlertRecipients::parse(&list)
                    .map_err(|e| SettingsError::Invalid {
                        name: "TRICKLE_ALERT_EMAIL",
                        problem: e.to_string(),
                    })?
                    .to_vec(),
                None => Vec::new(),
            },
            alert_from: optional("TRICKLE_ALERT_FROM"),
        })
    }
}

/// The secrets a function needs, read from SSM once.
#[derive(Clone)]
pub struct Secrets(HashMap<String, String>);

impl Secrets {
    pub fn require(&self, name: &'static str, prefix: &str) -> Result<String, SettingsError> {
        self.0
            .get(name)
            .filter(|v| !v.is_empty())
            .cloned()
            .ok_or_else(|| SettingsError::MissingSecret {
                name,
                prefix: prefix.to_string(),
            })
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }
}

/// The clients and adapters of one cold start.
pub struct AwsHost {
    pub settings: AwsSettings,
    pub secrets: Secrets,
    pub services: Services,
}

impl AwsHost {
    pub async fn build(settings: AwsSettings) -> Result<Self, SettingsError> {
        let config = load_sdk_config(&AwsEndpoint {
            url: None,
            retries: true,
        })
        .await;
        let secrets =
            Secrets(load_secrets(&clients::Ssm::new(&config), &settings.secrets_prefix).await?);
        let table = Arc::new(DynamoTable::new(
            clients::DynamoDb::new(&config),
            &settings.table_name,
        ));
        let sms = openphone_client(&secrets);
        let services = Services {
            table: table.clone(),
            queue: Arc::new(SqsQueue::new(
                clients::Sqs::new(&config),
                &settings.queue_prefix,
                table,
            )),
            blobs: Arc::new(S3Blobs::new(clients::s3(&config), &settings.bucket)),
            mailer: Arc::new(SesMailer::new(clients::SesV2::new(&config))),
            sms,
            clock: Arc::new(SystemClock),
            validator: numverify_validator(&secrets),
        };
        Ok(Self {
            settings,
            secrets,
            services,
        })
    }
}

/// NumVerify with the key from `TRICKLE_NUMVERIFY_KEY` or the `numverify-key` secret, at
/// `TRICKLE_NUMVERIFY_BASE_URL`; without a key every import pauses with a clear reason.
fn numverify_validator(secrets: &Secrets) -> Arc<dyn trickle_app::ports::PhoneValidator> {
    let key = std::env::var("TRICKLE_NUMVERIFY_KEY")
        .ok()
        .filter(|k| !k.is_empty())
        .or_else(|| secrets.get("numverify-key").map(str::to_string));
    let base_url = std::env::var("TRICKLE_NUMVERIFY_BASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| trickle_providers::numverify::DEFAULT_BASE_URL.to_string());
    match key {
        Some(key) => Arc::new(trickle_providers::numverify::NumVerifyClient::new(
            &base_url, &key,
        )),
        None => Arc::new(trickle_app::ports::validator::NotConfigured),
    }
}

/// OpenPhone with the `openphone-api-key` secret at `TRICKLE_OPENPHONE_BASE_URL` (default the
/// public API); without the secret every provider call fails as unavailable.
fn openphone_client(secrets: &Secrets) -> Arc<dyn trickle_app::ports::SmsProvider> {
    use trickle_providers::openphone::{self, OpenPhoneClient, OpenPhoneSettings};
    let Some(key) = secrets.get("openphone-api-key").filter(|k| !k.is_empty()) else {
        tracing::warn!("secret openphone-api-key is missing: provider calls will fail");
        return Arc::new(openphone::UnconfiguredProvider);
    };
    let base = std::env::var("TRICKLE_OPENPHONE_BASE_URL")
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| openphone::DEFAULT_BASE_URL.to_string());
    match OpenPhoneClient::new(OpenPhoneSettings::new(base, key)) {
        Ok(client) => Arc::new(client),
        Err(error) => {
            tracing::error!(%error, "cannot build the OpenPhone client");
            Arc::new(openphone::UnconfiguredProvider)
        }
    }
}

/// JSON log lines for CloudWatch, with the level taken from `RUST_LOG`.
pub fn init_telemetry() {
    trickle_app::metrics::init(trickle_app::metrics::Sink::EmfStdout);
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(true)
        .without_time()
        .init();
}
