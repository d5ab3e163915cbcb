//! One function builds trickle from services and settings: the router's settings, the webhook
//! ingest settings and every queue consumer with its retry policy.

use std::sync::Arc;
use std::time::Duration;

use trickle_app::audience::dispatch::ImportWorker;
use trickle_app::audience::validation::ValidationWorker;
use trickle_app::campaigns::send_rules::SendSettings;
use trickle_app::campaigns::send_worker::{AlertSettings, SendLimits, SendWorker};
use trickle_app::campaigns::tick::PlannerWorker;
use trickle_app::campaigns::PlannerSettings;
use trickle_app::health::{HealthSettings, VerdictHandler};
use trickle_app::queues;
use trickle_app::rate::RateBudget;
use trickle_app::reconcile::{ReconcileHandler, ReconcileSettings};
use trickle_app::webhooks::forward::ForwardHandler;
use trickle_app::webhooks::ingest::{IngestSettings, SignatureTime};
use trickle_app::webhooks::media::MediaHandler;
use trickle_app::webhooks::process::EventProcessor;
use trickle_app::webhooks::settings::ProcessSettings;
use trickle_app::worker::{MessageHandler, RetryPolicy};
use trickle_app::Services;
use trickle_domain::webhook_signature::SigningKey;
use trickle_http::HttpSettings;
use trickle_providers::forwarder::HttpForwarder;

use crate::settings::{Secret, Settings, DEFAULT_ALERT_FROM};

/// What a host knows that the environment does not say: secrets it fetched, and how it runs.
#[derive(Debug, Clone)]
pub struct Extras {
    /// Every `/v1` request must carry it as a bearer token.
    pub admin_token: Secret,
    /// The forwarder's signing key (the `forward-key` secret); forwarding needs it.
    pub forward_key: Option<Secret>,
    /// How long one reconciliation step works before it hands over (well under a Lambda's
    /// timeout; short locally so the runner stops promptly).
    pub reconcile_step_time: Duration,
    /// What a webhook signature's timestamp is checked against.
    pub signature_time: SignatureTime,
}

impl Extras {
    pub fn new(admin_token: Secret) -> Self {
        Self {
            admin_token,
            forward_key: None,
            reconcile_step_time: Duration::from_secs(600),
            signature_time: SignatureTime::ServiceClock,
        }
    }
}

/// A queue's consumer: the handler of its messages and when a failing one is parked.
#[derive(Clone)]
pub struct Consumer {
    pub queue: &'static str,
    pub handler: Arc<dyn MessageHandler>,
    pub policy: RetryPolicy,
}

/// trickle, wired: what the router and the queue consumers of any host run on.
#[derive(Clone)]
pub struct Trickle {
    pub services: Services,
    pub http: HttpSettings,
    pub ingest: IngestSettings,
    pub health: Option<HealthSettings>,
    pub reconcile: Option<ReconcileSettings>,
    /// The OpenPhone key's request budget, shared by every provider caller.
    pub budget: RateBudget,
    /// The tick's grace and step time (the scheduled tick and its `planner` continuations).
    pub planner: PlannerSettings,
    /// One per queue this deployment consumes, in [`queues::ALL`] order.
    pub consumers: Vec<Consumer>,
}

impl Trickle {
    /// The one router: webhook, admin API (and everything else `trickle_http` serves).
    pub fn router(&self) -> axum::Router {
        trickle_http::router_with_webhooks(
            self.services.clone(),
            self.http.clone(),
            self.ingest.clone(),
        )
    }

    /// The consumer of `queue`, when this deployment has one.
    pub fn consumer(&self, queue: &str) -> Option<&Consumer> {
        self.consumers.iter().find(|c| c.queue == queue)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("{name} is not a usable signing key: {problem}")]
    SigningKey { name: &'static str, problem: String },
    #[error("forwarding to {url} cannot start: {problem}")]
    Forwarder { url: String, problem: String },
}

/// Builds trickle on `services` from `settings`: the same wiring in every host.
pub fn build(
    services: Services,
    settings: &Settings,
    extras: &Extras,
) -> Result<Trickle, BuildError> {
    let api_key = settings
        .openphone
        .api_key
        .as_ref()
        .map(Secret::expose)
        .unwrap_or("sandbox");
    let limits = SendLimits::new(api_key);
    let budget = limits.budget.clone();
    // A provider call's retries and further pages take their own slots of the same budget.
    services
        .sms
        .gate_extra_requests(Arc::new(trickle_app::rate::BudgetGate::new(
            services.table.clone(),
            budget.clone(),
        )));
    let alerts = AlertSettings {
        from: settings
            .alerts
            .from
            .clone()
            .unwrap_or_else(|| DEFAULT_ALERT_FROM.into()),
        to: settings.alerts.to.clone(),
    };
    // Every alert (import paused, A2P refusal, health, reconciliation) goes to the same list.
    let mut audience = settings.audience.clone();
    audience.alert_to = alerts.to.clone();
    audience.alert_from = alerts.from.clone();
    let process = ProcessSettings {
        business_name: settings.business_name.clone(),
        max_attempts: settings.event_max_attempts,
        budget: Some(budget.clone()),
    };

    let mut keys = Vec::new();
    for (i, secret) in settings.openphone.webhook_keys.iter().enumerate() {
        let name = if i == 0 {
            "the webhook signing key"
        } else {
            "the previous webhook signing key"
        };
        keys.push(SigningKey::from_base64(secret.expose()).map_err(|e| {
            BuildError::SigningKey {
                name,
                problem: e.to_string(),
            }
        })?);
    }
    if keys.is_empty() {
        tracing::warn!("no webhook signing key is configured: every webhook will be refused");
    }
    if trickle_providers::numverify::is_clear_text(&settings.numverify.base_url) {
        tracing::warn!(
            base_url = %settings.numverify.base_url,
            "NumVerify is reached over plain HTTP: phone numbers and the key travel unencrypted"
        );
    }
    let mut ingest = IngestSettings::new(keys);
    ingest.window = settings.openphone.webhook_window;
    ingest.signature_time = extras.signature_time;
    ingest.forward = settings.forward_url.is_some();
    ingest.retention = (settings.webhook_retention_days > 0)
        .then(|| chrono::Duration::days(i64::from(settings.webhook_retention_days)));

    let health = settings.health.as_ref().map(|check| {
        let mut health = HealthSettings::new(
            check.sender.clone(),
            check.receiver.clone(),
            alerts.from.clone(),
            alerts.to.clone(),
        );
        health.verdict_after = settings.health_timings.verdict_after;
        health.reminder_every = settings.health_timings.reminder_every;
        health.budget = Some(budget.clone());
        health
    });
    let reconcile = (!settings.reconcile_numbers.is_empty()).then(|| {
        let mut reconcile =
            ReconcileSettings::new(settings.reconcile_numbers.clone(), budget.clone());
        reconcile.overlap = settings.reconcile_overlap;
        reconcile.step_time = extras.reconcile_step_time;
        reconcile.process = process.clone();
        reconcile.alert_from = alerts.from.clone();
        reconcile.alert_to = alerts.to.clone();
        reconcile
    });

    let send_worker = SendWorker {
        services: services.clone(),
        sms: services.sms.clone(),
        settings: SendSettings::default(),
        limits,
        alerts,
    };
    let planner = PlannerSettings {
        step_time: settings.tick_step,
        ..PlannerSettings::default()
    };
    let policy = RetryPolicy::default();
    let mut consumers = vec![
        Consumer {
            queue: queues::UPLOADS,
            handler: Arc::new(ImportWorker::new(services.clone(), audience.clone())),
            policy,
        },
        Consumer {
            queue: queues::VALIDATE,
            handler: Arc::new(ValidationWorker::new(services.clone(), audience)),
            policy,
        },
        Consumer {
            queue: queues::EVENTS,
            handler: Arc::new(EventProcessor::new(services.clone(), process.clone())),
            policy: RetryPolicy {
                max_receives: process.max_attempts,
                ..policy
            },
        },
        Consumer {
            queue: queues::MEDIA,
            handler: Arc::new(MediaHandler::new(services.clone()).with_budget(budget.clone())),
            policy,
        },
        Consumer {
            queue: queues::SENDS,
            handler: Arc::new(send_worker.clone()),
            policy,
        },
        Consumer {
            queue: queues::PLANNER,
            handler: Arc::new(PlannerWorker {
                services: services.clone(),
                settings: planner.clone(),
            }),
            policy,
        },
    ];
    if let Some(health) = &health {
        consumers.push(Consumer {
            queue: queues::HEALTH,
            handler: Arc::new(VerdictHandler {
                services: services.clone(),
                settings: health.clone(),
            }),
            policy,
        });
    }
    if let Some(reconcile) = &reconcile {
        consumers.push(Consumer {
            queue: queues::RECONCILE,
            handler: Arc::new(ReconcileHandler {
                services: services.clone(),
                settings: reconcile.clone(),
                sends: Some(send_worker.clone()),
            }),
            policy,
        });
    }
    if let (Some(url), Some(key)) = (&settings.forward_url, &extras.forward_key) {
        let forwarder = SigningKey::from_base64(key.expose())
            .map_err(|e| e.to_string())
            .and_then(|key| HttpForwarder::new(url, key))
            .map_err(|problem| BuildError::Forwarder {
                url: url.clone(),
                problem,
            })?;
        consumers.push(Consumer {
            queue: queues::FORWARD,
            handler: Arc::new(ForwardHandler::new(services.clone(), Arc::new(forwarder))),
            policy,
        });
    }
    consumers.sort_by_key(|c| queues::ALL.iter().position(|q| *q == c.queue));

    let http = HttpSettings {
        admin_token: extras.admin_token.expose().to_string(),
        health: health.clone(),
        reconcile: reconcile.clone(),
        sandbox: None,
        budget: Some(budget.clone()),
    };
    Ok(Trickle {
        services,
        http,
        ingest,
        health,
        reconcile,
        budget,
        planner,
        consumers,
    })
}

/// What turns on the consumer of an optional queue, in an operator's words.
pub fn what_enables(queue: &str) -> &'static str {
    match queue {
        queues::RECONCILE => "set TRICKLE_RECONCILE_NUMBERS to turn reconciliation on",
        queues::HEALTH => "set TRICKLE_HEALTH_SENDER and TRICKLE_HEALTH_RECEIVER",
        queues::FORWARD => "set TRICKLE_FORWARD_URL and the forward-key secret",
        _ => "every deployment has it; this is a bug",
    }
}
