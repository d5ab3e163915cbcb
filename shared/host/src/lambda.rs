//! The Lambda host: what every function builds once at cold start — its settings from the
//! environment `template.yaml` gives it, its secrets from SSM, the SDK adapters behind the ports
//! — and the loops that hand Lambda's events to trickle.

use std::sync::Arc;
use std::time::{Duration, Instant};

use trickle_app::ports::{PhoneValidator, SmsProvider};
use trickle_app::Services;
use trickle_aws::{
    clients, load_sdk_config, load_secrets, AwsEndpoint, DynamoTable, S3Blobs, SecretsError,
    SesMailer, SqsQueue,
};
use trickle_domain::{token_strength, SystemClock};
use trickle_providers::numverify::NumVerifyClient;
use trickle_providers::openphone::{OpenPhoneClient, UnconfiguredProvider};

use crate::root::{build, BuildError, Extras, Trickle};
use crate::settings::{Secret, Settings, SettingsError};
use crate::sqs_batch;

#[derive(Debug, thiserror::Error)]
pub enum HostError {
    #[error(transparent)]
    Settings(#[from] SettingsError),
    #[error("secret {name} is missing under {prefix}")]
    MissingSecret { name: &'static str, prefix: String },
    #[error(transparent)]
    Secrets(#[from] SecretsError),
    #[error(transparent)]
    Build(#[from] BuildError),
    #[error(
        "secret {name} under {prefix} is too weak to guard a deployment (about {bits} bits; \
         at least {required} are needed): set it to the output of `openssl rand -base64 32`"
    )]
    WeakSecret {
        name: &'static str,
        prefix: String,
        bits: u32,
        required: u32,
    },
    #[error("{0}")]
    NotConfigured(String),
}

/// The deployed admin API is on the internet: a guessable token is refused at start.
fn admin_token_strength(token: &str, prefix: &str) -> Result<(), HostError> {
    let bits = token_strength::estimated_bits(token);
    if bits < token_strength::REQUIRED_BITS {
        return Err(HostError::WeakSecret {
            name: "admin-token",
            prefix: prefix.to_string(),
            bits,
            required: token_strength::REQUIRED_BITS,
        });
    }
    Ok(())
}

/// The SSM secrets (under `TRICKLE_SECRETS_PREFIX`) a function can ask for. Each function's
/// `main` names the ones it uses, and its role in `template.yaml` may read exactly those.
pub mod secrets {
    pub const ADMIN_TOKEN: &str = "admin-token";
    pub const OPENPHONE_API_KEY: &str = "openphone-api-key";
    pub const OPENPHONE_WEBHOOK_KEY: &str = "openphone-webhook-key";
    /// The key before a rotation, accepted until it is removed.
    pub const OPENPHONE_WEBHOOK_KEY_PREVIOUS: &str = "openphone-webhook-key-previous";
    pub const NUMVERIFY_KEY: &str = "numverify-key";
    pub const FORWARD_KEY: &str = "forward-key";
}

/// One cold start's trickle: settings, services, router settings and consumers.
pub struct LambdaHost {
    pub settings: Settings,
    pub trickle: Trickle,
}

impl LambdaHost {
    /// Telemetry, settings, the named `secrets` and adapters, once per cold start.
    pub async fn start(wanted: &[&str]) -> Result<Self, HostError> {
        init_telemetry();
        let mut settings = Settings::from_env()?;
        let aws = settings.require_aws()?.clone();
        let config = load_sdk_config(&AwsEndpoint {
            url: None,
            retries: true,
        })
        .await;
        let stored = if wanted.is_empty() {
            Default::default()
        } else {
            load_secrets(&clients::Ssm::new(&config), &aws.secrets_prefix, wanted).await?
        };
        let secret = |name: &str| {
            stored
                .get(name)
                .filter(|v| !v.trim().is_empty())
                .map(|v| Secret::new(v.trim()))
        };
        // In AWS the keys live in SSM; an environment value (a test, a one-off) still wins.
        if settings.openphone.api_key.is_none() {
            settings.openphone.api_key = secret(secrets::OPENPHONE_API_KEY);
        }
        if settings.numverify.key.is_none() {
            settings.numverify.key = secret(secrets::NUMVERIFY_KEY);
        }
        if settings.openphone.webhook_keys.is_empty() {
            settings.openphone.webhook_keys = [
                secrets::OPENPHONE_WEBHOOK_KEY,
                secrets::OPENPHONE_WEBHOOK_KEY_PREVIOUS,
            ]
            .iter()
            .filter_map(|name| secret(name))
            .collect();
        }
        let mut extras =
            Extras::new(secret(secrets::ADMIN_TOKEN).unwrap_or_else(|| Secret::new("")));
        extras.forward_key = secret(secrets::FORWARD_KEY);

        let table = Arc::new(DynamoTable::new(
            clients::DynamoDb::new(&config),
            &aws.table_name,
        ));
        let services = Services {
            table: table.clone(),
            queue: Arc::new(SqsQueue::new(
                clients::Sqs::new(&config),
                &aws.queue_prefix,
                table,
            )),
            blobs: Arc::new(S3Blobs::new(clients::s3(&config), &aws.bucket)),
            mailer: Arc::new(SesMailer::new(clients::SesV2::new(&config))),
            sms: openphone(&settings, wanted.contains(&secrets::OPENPHONE_API_KEY)),
            clock: Arc::new(SystemClock),
            validator: numverify(&settings),
        };
        let trickle = build(services, &settings, &extras)?;
        Ok(Self { settings, trickle })
    }

    /// The admin token the http function needs (the others do not).
    pub fn require_admin_token(&self) -> Result<(), HostError> {
        if self.trickle.http.admin_token.is_empty() {
            return Err(HostError::MissingSecret {
                name: "admin-token",
                prefix: self.secrets_prefix(),
            });
        }
        admin_token_strength(&self.trickle.http.admin_token, &self.secrets_prefix())?;
        if self.trickle.ingest.keys.is_empty() {
            return Err(HostError::MissingSecret {
                name: "openphone-webhook-key",
                prefix: self.secrets_prefix(),
            });
        }
        Ok(())
    }

    fn secrets_prefix(&self) -> String {
        self.settings
            .aws
            .as_ref()
            .map(|a| a.secrets_prefix.clone())
            .unwrap_or_default()
    }

    /// Serves an SQS-triggered function: `queue`'s consumer, with partial batch responses.
    pub async fn serve_queue(self, queue: &'static str) -> Result<(), lambda_runtime::Error> {
        let consumer = self.trickle.consumer(queue).cloned().ok_or_else(|| {
            HostError::NotConfigured(format!(
                "the {queue} queue has no consumer in this deployment: {}",
                crate::root::what_enables(queue)
            ))
        })?;
        sqs_batch::serve(
            self.trickle.services.queue.clone(),
            consumer.queue,
            consumer.handler,
            consumer.policy,
        )
        .await
    }
}

/// Kept back from a tick's deadline for the writes after its last batch: a quarter of the time,
/// at most five seconds.
const TICK_MARGIN: Duration = Duration::from_secs(5);

impl LambdaHost {
    /// Serves the tick function: EventBridge's schedule and the continuations of `queue` (the
    /// `planner` queue, as an SQS batch), each planned until the invocation's own deadline less
    /// a margin.
    pub async fn serve_tick(self, queue: &'static str) -> Result<(), lambda_runtime::Error> {
        use trickle_app::campaigns::continuation::Asker;
        if queue != trickle_app::queues::PLANNER {
            return Err(HostError::NotConfigured(format!(
                "the tick continues through the {} queue, not {queue}",
                trickle_app::queues::PLANNER
            ))
            .into());
        }
        let services = self.trickle.services.clone();
        let settings = self.trickle.planner.clone();
        lambda_runtime::run(lambda_runtime::service_fn(
            move |event: lambda_runtime::LambdaEvent<serde_json::Value>| {
                let services = services.clone();
                let settings = settings.clone();
                async move {
                    let deadline = tick_deadline(event.context.deadline, settings.step_time);
                    let chain = event.payload.get("Records").is_some();
                    let asker = if chain { Asker::Chain } else { Asker::Schedule };
                    let now = services.clock.now();
                    let report =
                        trickle_app::campaigns::tick(&services, now, &settings, deadline, asker)
                            .await?;
                    tracing::info!(
                        runs = report.runs.len(),
                        continuation = report.continuation_queued,
                        swept = report.outbox_swept,
                        events_requeued = report.events_requeued,
                        "tick"
                    );
                    Ok::<_, lambda_runtime::Error>(if chain {
                        // Every record is the same request to continue: all of them are done.
                        serde_json::json!({ "batchItemFailures": [] })
                    } else {
                        serde_json::to_value(report)?
                    })
                }
            },
        ))
        .await
    }
}

/// When a tick stops: the invocation's deadline (milliseconds since the epoch) less the
/// margin, and never later than the configured step time.
fn tick_deadline(deadline_ms: u64, step: Duration) -> Instant {
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default();
    let remaining = Duration::from_millis(deadline_ms.saturating_sub(now_ms));
    let margin = TICK_MARGIN.min(remaining / 4);
    Instant::now() + remaining.saturating_sub(margin).min(step)
}

/// NumVerify with its key; without one every import pauses with a clear reason.
fn numverify(settings: &Settings) -> Arc<dyn PhoneValidator> {
    match &settings.numverify.key {
        Some(key) => Arc::new(NumVerifyClient::new(
            &settings.numverify.base_url,
            key.expose(),
        )),
        None => Arc::new(trickle_app::ports::validator::NotConfigured),
    }
}

/// OpenPhone with its key; without one every provider call fails as unavailable (a function
/// that does not ask for the key makes no provider calls).
fn openphone(settings: &Settings, wanted: bool) -> Arc<dyn SmsProvider> {
    let Some(key) = &settings.openphone.api_key else {
        if wanted {
            tracing::warn!("secret openphone-api-key is missing: provider calls will fail");
        }
        return Arc::new(UnconfiguredProvider);
    };
    let client = OpenPhoneClient::new(settings.openphone.client(key.expose()));
    match client {
        Ok(client) => Arc::new(client),
        Err(error) => {
            tracing::error!(%error, "cannot build the OpenPhone client");
            Arc::new(UnconfiguredProvider)
        }
    }
}

/// JSON log lines for CloudWatch, with the level taken from `RUST_LOG`.
fn init_telemetry() {
    trickle_app::metrics::init(trickle_app::metrics::Sink::EmfStdout);
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(true)
        .without_time()
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_guessable_admin_token_stops_the_http_function_with_what_to_do() {
        let error = admin_token_strength("test-admin-token", "/trickle/prod").unwrap_err();
        let text = error.to_string();
        assert!(
            text.contains("admin-token under /trickle/prod is too weak")
                && text.contains("openssl rand -base64 32"),
            "{text}"
        );
        assert!(admin_token_strength("q3V0cV2n8m2yQeJ7Pz1dM0hN5bTqX4wRkLs9aUfGc6E=", "/p").is_ok());
    }
}
