//! The whole webhook path on real HTTP: the router with its signing key, the `events` and
//! `media` consumers on the embedded queue, and an OpenPhone simulator that delivers signed
//! webhooks to it and answers the provider client.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::watch;
use trickle_app::health::{HealthSettings, VerdictHandler};
use trickle_app::queues;
use trickle_app::webhooks::forward::ForwardHandler;
use trickle_app::webhooks::ingest::IngestSettings;
use trickle_app::webhooks::media::MediaHandler;
use trickle_app::webhooks::process::EventProcessor;
use trickle_app::webhooks::settings::ProcessSettings;
use trickle_app::worker::{run_consumer, MessageHandler, RetryPolicy};
use trickle_app::Services;
use trickle_domain::webhook_signature::SigningKey;
use trickle_http::HttpSettings;
use trickle_providers::forwarder::HttpForwarder;
use trickle_providers::openphone::{OpenPhoneClient, OpenPhoneSettings};
use trickle_sandbox::openphone::{OpenPhoneSimulator, SimulatorConfig};

pub const TOKEN: &str = "webhook-test-admin-token";
pub const BUSINESS: &str = "Acme Realty";
/// Tries before an event is parked in these tests.
pub const MAX_ATTEMPTS: u32 = 3;

pub struct WebhookApp {
    pub url: String,
    pub services: Services,
    pub simulator: OpenPhoneSimulator,
    pub http: reqwest::Client,
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

impl Drop for WebhookApp {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// How a test app differs from the plain one.
#[derive(Default)]
pub struct Options {
    /// Keys accepted besides the simulator's (a forwarding key, a previous key).
    pub extra_keys: Vec<SigningKey>,
    /// Forward every captured event to this URL, signed with this key.
    pub forward_to: Option<(String, SigningKey)>,
    /// Run the webhook health check with these settings (its receiver becomes an internal
    /// number of the simulator, and the `health` queue gets its verdict consumer).
    pub health: Option<HealthSettings>,
    /// Reconcile with the simulator (the `reconcile` queue gets its consumer).
    pub reconcile: Option<trickle_app::reconcile::ReconcileSettings>,
}

impl WebhookApp {
    pub async fn start() -> Self {
        Self::start_with(Options::default()).await
    }

    pub async fn start_with(options: Options) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let url = format!("http://{}", listener.local_addr().unwrap());
        let simulator = OpenPhoneSimulator::start(SimulatorConfig {
            webhook_url: Some(format!("{url}/webhooks/openphone")),
            rate_limit: None,
            ..SimulatorConfig::default()
        })
        .await
        .expect("simulator");
        let mut client = OpenPhoneSettings::new(simulator.url(), "test-key");
        client.backoff = Duration::from_millis(5);
        let mut services = crate::fixtures::embedded_services(dir.path(), &url);
        services.sms = Arc::new(OpenPhoneClient::new(client).expect("client"));
        let mut keys = vec![simulator.signing_key().clone()];
        keys.extend(options.extra_keys);
        let mut ingest = IngestSettings::new(keys);
        ingest.forward = options.forward_to.is_some();
        let router = trickle_http::router_with_webhooks(
            services.clone(),
            HttpSettings {
                admin_token: TOKEN.into(),
                health: options.health.clone(),
                reconcile: options.reconcile.clone(),
                sandbox: None,
                budget: None,
            },
            ingest,
        );
        let mut tasks = vec![tokio::spawn(async move {
            axum::serve(listener, router).await.expect("serve");
        })];
        let (stop, stopped) = watch::channel(false);
        let process = ProcessSettings {
            business_name: BUSINESS.into(),
            max_attempts: MAX_ATTEMPTS,
            budget: None,
        };
        let mut consumers: Vec<(&str, Arc<dyn MessageHandler>)> = vec![
            (
                queues::EVENTS,
                Arc::new(EventProcessor::new(services.clone(), process)),
            ),
            (queues::MEDIA, Arc::new(MediaHandler::new(services.clone()))),
        ];
        if let Some(settings) = options.health.clone() {
            simulator.add_internal_number(settings.receiver.as_str());
            consumers.push((
                queues::HEALTH,
                Arc::new(VerdictHandler {
                    services: services.clone(),
                    settings,
                }),
            ));
        }
        if let Some(settings) = options.reconcile.clone() {
            consumers.push((
                queues::RECONCILE,
                Arc::new(trickle_app::reconcile::ReconcileHandler {
                    services: services.clone(),
                    settings,
                    sends: None,
                }),
            ));
        }
        if let Some((url, key)) = options.forward_to {
            let forwarder = HttpForwarder::new(&url, key).expect("forward URL");
            consumers.push((
                queues::FORWARD,
                Arc::new(ForwardHandler::new(services.clone(), Arc::new(forwarder))),
            ));
        }
        let policy = RetryPolicy {
            base: Duration::from_millis(20),
            cap: Duration::from_millis(200),
            max_receives: MAX_ATTEMPTS,
        };
        for (queue, handler) in consumers {
            tasks.push(tokio::spawn(run_consumer(
                services.queue.clone(),
                queue.to_string(),
                handler,
                policy,
                Duration::from_secs(5),
                stopped.clone(),
            )));
        }
        Self {
            url,
            services,
            simulator,
            http: reqwest::Client::new(),
            stop,
            tasks,
            _dir: dir,
        }
    }

    /// The alert emails written to the outbox so far, oldest first.
    pub fn outbox(&self) -> Vec<String> {
        trickle_embedded::OutboxMailer::sent(self._dir.path()).expect("outbox readable")
    }

    pub fn webhook_url(&self) -> String {
        format!("{}/webhooks/openphone", self.url)
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        let r = self
            .http
            .get(format!("{}{path}", self.url))
            .bearer_auth(TOKEN)
            .send()
            .await
            .expect("request");
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }

    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.url))
            .bearer_auth(TOKEN);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let r = request.send().await.expect("request");
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }

    /// The stored event, through the admin API.
    pub async fn event(&self, id: &str) -> Value {
        self.get(&format!("/v1/events/{id}")).await.1
    }

    /// Waits until every listed event is processed.
    pub async fn processed(&self, ids: &[&str]) {
        for id in ids {
            let id = id.to_string();
            eventually(&format!("event {id} processed"), || async {
                self.event(&id).await["status"] == "processed"
            })
            .await;
        }
    }

    /// The contact holding `phone`, through the admin API.
    pub async fn contact_id(&self, phone: &str) -> String {
        let (_, found) = self
            .get(&format!("/v1/contacts?phone={}", phone.replace('+', "%2B")))
            .await;
        found["items"][0]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("no contact for {phone}: {found}"))
            .to_string()
    }

    pub async fn activities(&self, contact_id: &str) -> Vec<Value> {
        let (status, page) = self
            .get(&format!("/v1/contacts/{contact_id}/activities"))
            .await;
        assert_eq!(status, 200, "{page}");
        page["items"].as_array().cloned().unwrap_or_default()
    }
}

/// Polls `check` until it holds, for up to 15 seconds.
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        if check().await {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}
