//! `trickle dev`: the router, the queue consumers and the scheduler loop in one process, on the
//! embedded store. Stands in for API Gateway, SQS, EventBridge, S3 notifications and SES.

use std::sync::Arc;
use std::time::Duration;
use trickle_app::queues;

use anyhow::Context;
use tokio::sync::watch;
use trickle_app::audience::dispatch::ImportWorker;
use trickle_app::audience::validation::ValidationWorker;
use trickle_app::audience::AudienceSettings;
use trickle_app::campaigns;
use trickle_app::campaigns::send_rules::SendSettings;
use trickle_app::campaigns::send_worker::{AlertSettings, SendLimits, SendWorker};
use trickle_app::health::{self, HealthSettings, VerdictHandler};
use trickle_app::ports::{OutgoingMessage, PhoneValidator};
use trickle_app::reconcile::{ReconcileHandler, ReconcileSettings};
use trickle_app::webhooks::{self, media::MediaHandler, process::EventProcessor};
use trickle_app::worker::{run_consumer, MessageHandler, RetryPolicy};
use trickle_app::Services;
use trickle_domain::{Clock, OffsetClock, PhoneNumber, SystemClock};
use trickle_embedded::{
    EmbeddedBlobs, EmbeddedQueue, EmbeddedStore, EmbeddedTable, OutboxMailer, QueueSettings,
};
use trickle_http::HttpSettings;
use trickle_providers::numverify::NumVerifyClient;
use trickle_sandbox::numverify::{NumVerifySettings, NumVerifySimulator};

use crate::settings::{self, DevSettings};

/// How often the scheduler loop deletes expired items (DynamoDB's TTL sweeper does it in AWS).
const SWEEP_EVERY: Duration = Duration::from_secs(600);
/// How often the scheduler loop looks for due campaign runs (EventBridge's rate in AWS).
const TICK_EVERY: Duration = Duration::from_secs(60);
/// How often the local scheduler runs the webhook health check.
const HEALTH_EVERY: Duration = Duration::from_secs(3600);
/// The internal number the sandbox health check texts.
const SANDBOX_HEALTH_RECEIVER: &str = "+13105550199";
/// How long a message being handled stays hidden from the other consumers.
const CONSUMER_VISIBILITY: Duration = Duration::from_secs(60);

/// Prints a start-up line; a closed stdout (a reader that went away) must not stop the runner.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

pub async fn run(settings: DevSettings) -> anyhow::Result<()> {
    let data_dir = settings.data_dir.clone();
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("creating data dir {}", data_dir.display()))?;
    let (admin_token, generated) =
        settings::admin_token(settings.admin_token.as_deref(), &data_dir)?;

    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .with_context(|| format!("listening on {}", settings.listen))?;
    let address = listener.local_addr()?;
    let public_url = settings.public_url.clone().unwrap_or_else(|| {
        let host = if address.ip().is_unspecified() {
            "127.0.0.1".to_string()
        } else {
            address.ip().to_string()
        };
        format!("http://{host}:{}", address.port())
    });

    let store = EmbeddedStore::open(data_dir.join("trickle.db"))?;
    let table = EmbeddedTable::new(store.clone());
    let queue = Arc::new(EmbeddedQueue::new(store.clone(), QueueSettings::default()));
    let clock: Arc<dyn Clock> = match settings.clock_start {
        Some(start) => Arc::new(OffsetClock::starting_at(start)),
        None => Arc::new(SystemClock),
    };
    let (validator, numverify_sandbox) = validator(&settings).await?;
    let openphone = crate::openphone::build(&settings.openphone, &public_url).await?;
    let services = Services {
        table: Arc::new(table.clone()),
        queue: queue.clone(),
        blobs: Arc::new(EmbeddedBlobs::open(&data_dir, &public_url, queue.clone())?),
        mailer: Arc::new(OutboxMailer::open(&data_dir)?),
        sms: openphone.sms.clone(),
        clock: clock.clone(),
        validator,
    };
    let mut audience = AudienceSettings::from_env().map_err(anyhow::Error::msg)?;
    if audience.alert_to.is_empty() {
        // Locally every alert lands in the outbox, addressed to a stand-in operator.
        audience.alert_to = vec![LOCAL_ALERT_RECIPIENT.to_string()];
    }
    let mut health = health_settings(&openphone, &audience)?;

    let (stop, stopped) = watch::channel(false);
    let mut background = vec![
        tokio::spawn(sweep_expired(table, stopped.clone())),
        tokio::spawn(campaign_ticks(services.clone(), stopped.clone())),
    ];
    let api_key = settings
        .openphone
        .openphone_api_key
        .as_deref()
        .unwrap_or("sandbox");
    let send_worker = SendWorker {
        services: services.clone(),
        sms: services.sms.clone(),
        settings: SendSettings::default(),
        // The budget is per OpenPhone key, shared with every other provider caller.
        limits: SendLimits::new(api_key),
        alerts: AlertSettings {
            from: audience.alert_from.clone(),
            to: audience.alert_to.clone(),
        },
    };
    let reconcile = reconcile_settings(&openphone, &send_worker, &openphone.process);
    if let Some(health) = &mut health {
        health.budget = Some(send_worker.limits.budget.clone());
    }
    // The queue consumers that stand in for the SQS-triggered functions: (queue, handler).
    let mut consumers: Vec<(&str, Arc<dyn MessageHandler>)> = vec![
        (
            queues::UPLOADS,
            Arc::new(ImportWorker::new(services.clone(), audience.clone())),
        ),
        (
            queues::VALIDATE,
            Arc::new(ValidationWorker::new(services.clone(), audience.clone())),
        ),
        (
            queues::EVENTS,
            Arc::new(EventProcessor::new(
                services.clone(),
                openphone.process.clone(),
            )),
        ),
        (queues::MEDIA, Arc::new(MediaHandler::new(services.clone()))),
        (queues::SENDS, Arc::new(send_worker.clone())),
    ];
    if let Some(settings) = &reconcile {
        consumers.push((
            queues::RECONCILE,
            Arc::new(ReconcileHandler {
                services: services.clone(),
                settings: settings.clone(),
                sends: Some(send_worker.clone()),
            }),
        ));
        background.push(tokio::spawn(daily_reconciliations(
            services.clone(),
            stopped.clone(),
        )));
    }
    if let Some(settings) = &health {
        consumers.push((
            queues::HEALTH,
            Arc::new(VerdictHandler {
                services: services.clone(),
                settings: settings.clone(),
            }),
        ));
        background.push(tokio::spawn(health_checks(
            services.clone(),
            settings.clone(),
            stopped.clone(),
        )));
    }
    for (name, handler) in consumers {
        background.push(tokio::spawn(run_consumer(
            services.queue.clone(),
            name.to_string(),
            handler,
            RetryPolicy::default(),
            CONSUMER_VISIBILITY,
            stopped.clone(),
        )));
    }

    let app = trickle_http::router_with_webhooks(
        services,
        HttpSettings {
            admin_token: admin_token.clone(),
            health: health.clone(),
            reconcile: reconcile.clone(),
        },
        openphone.ingest.clone(),
    );
    let shutdown = shutdown_signal();
    say!("trickle dev listening on http://{address}");
    say!("data dir: {}", data_dir.display());
    if generated {
        say!(
            "admin token (kept in {}): {admin_token}",
            data_dir.join("admin-token").display()
        );
    }
    if let Some(sandbox) = &numverify_sandbox {
        say!(
            "sandbox mode: phone numbers are validated by the NumVerify simulator at {} \
             (set TRICKLE_NUMVERIFY_KEY to use NumVerify)",
            sandbox.base_url
        );
    }
    match &openphone.simulator {
        Some(sim) => say!(
            "SANDBOX MODE: TRICKLE_OPENPHONE_API_KEY is unset, so no real texts are sent; \
             an OpenPhone simulator runs at {} (webhooks go to {public_url}/webhooks/openphone)",
            sim.url()
        ),
        None => say!(
            "OpenPhone: {} (real texts are sent)",
            settings.openphone.openphone_base_url
        ),
    }
    if let Some(start) = settings.clock_start {
        say!("clock starts at {start} and runs forward");
    }
    tracing::info!(%address, now = %clock.now(), "trickle dev started");

    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await?;
    let _ = stop.send(true);
    for task in background {
        let _ = task.await;
    }
    drop(numverify_sandbox);
    tracing::info!("trickle dev stopped");
    Ok(())
}

/// NumVerify with the configured key, or the in-process simulator (sandbox mode) without one.
async fn validator(
    settings: &DevSettings,
) -> anyhow::Result<(Arc<dyn PhoneValidator>, Option<NumVerifySimulator>)> {
    let base_url = settings
        .numverify_base_url
        .clone()
        .unwrap_or_else(|| trickle_providers::numverify::DEFAULT_BASE_URL.to_string());
    match settings
        .numverify_key
        .as_deref()
        .filter(|k| !k.trim().is_empty())
    {
        Some(key) => Ok((Arc::new(NumVerifyClient::new(&base_url, key.trim())), None)),
        None => {
            let sandbox = NumVerifySimulator::start(NumVerifySettings::default())
                .await
                .context("starting the NumVerify simulator")?;
            let client = NumVerifyClient::new(&sandbox.base_url, "sandbox");
            Ok((Arc::new(client), Some(sandbox)))
        }
    }
}

async fn sweep_expired(table: EmbeddedTable, mut stopped: watch::Receiver<bool>) {
    loop {
        match table.sweep_expired().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(removed = n, "expired items swept"),
            Err(error) => tracing::warn!(%error, "expiry sweep failed"),
        }
        tokio::select! {
            _ = tokio::time::sleep(SWEEP_EVERY) => {}
            _ = stopped.changed() => return,
        }
    }
}

/// EventBridge's one-minute tick: plans the due campaign runs.
async fn campaign_ticks(services: Services, mut stopped: watch::Receiver<bool>) {
    loop {
        let now = services.clock.now();
        if let Err(error) = trickle_app::campaigns::plan_due_campaigns(&services, now).await {
            tracing::warn!(%error, "campaign tick failed");
        }
        tokio::select! {
            _ = tokio::time::sleep(TICK_EVERY) => {}
            _ = stopped.changed() => return,
        }
    }
}

/// Where alerts go locally when `TRICKLE_ALERT_EMAIL` is not set (the outbox keeps them).
const LOCAL_ALERT_RECIPIENT: &str = "operator@trickle.local";

/// The health check's settings: from the environment, or in sandbox mode a pair of simulator
/// numbers (the receiver becomes one of the simulator's own numbers, so its webhook comes back).
fn health_settings(
    openphone: &crate::openphone::OpenPhone,
    audience: &AudienceSettings,
) -> anyhow::Result<Option<HealthSettings>> {
    if let Some(settings) = HealthSettings::from_env().map_err(anyhow::Error::msg)? {
        return Ok(Some(settings));
    }
    let Some(simulator) = &openphone.simulator else {
        return Ok(None);
    };
    let receiver = PhoneNumber::parse(SANDBOX_HEALTH_RECEIVER)?;
    simulator.add_internal_number(receiver.as_str());
    Ok(Some(
        HealthSettings::new(
            simulator.phone_number().to_string(),
            receiver,
            audience.alert_from.clone(),
            audience.alert_to.clone(),
        )
        .tuned_from_env()
        .map_err(anyhow::Error::msg)?,
    ))
}

/// Reconciliation's numbers: `TRICKLE_RECONCILE_NUMBERS` (comma-separated `PN…` ids or E.164),
/// or the simulator's number in sandbox mode; `None` (not configured) otherwise.
fn reconcile_settings(
    openphone: &crate::openphone::OpenPhone,
    send_worker: &SendWorker,
    process: &trickle_app::webhooks::settings::ProcessSettings,
) -> Option<ReconcileSettings> {
    let configured: Vec<String> = std::env::var("TRICKLE_RECONCILE_NUMBERS")
        .unwrap_or_default()
        .split(',')
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty())
        .collect();
    let numbers = match (&openphone.simulator, configured.is_empty()) {
        (_, false) => configured,
        (Some(sim), true) => vec![sim.phone_number().to_string()],
        (None, true) => return None,
    };
    let mut settings = ReconcileSettings::new(numbers, send_worker.limits.budget.clone());
    settings.step_time = Duration::from_secs(60);
    settings.process = process.clone();
    settings.alert_from = send_worker.alerts.from.clone();
    settings.alert_to = send_worker.alerts.to.clone();
    Some(settings)
}

/// EventBridge's daily reconciliation schedule, locally: the first run ten minutes after start.
async fn daily_reconciliations(services: Services, mut stopped: watch::Receiver<bool>) {
    let mut wait = Duration::from_secs(600);
    loop {
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stopped.changed() => return,
        }
        let start = OutgoingMessage::new(r#"{"start":"scheduled"}"#);
        if let Err(error) = services.queue.send(queues::RECONCILE, start).await {
            tracing::warn!(%error, "reconciliation could not be queued");
        }
        wait = Duration::from_secs(24 * 3600);
    }
}

/// EventBridge's hourly health schedule, locally: the first check a minute after start.
async fn health_checks(
    services: Services,
    settings: HealthSettings,
    mut stopped: watch::Receiver<bool>,
) {
    let mut wait = Duration::from_secs(60);
    loop {
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stopped.changed() => return,
        }
        match health::start_check(&services, services.sms.as_ref(), &settings).await {
            Ok(check) => tracing::info!(token = %check.token, "health check started"),
            Err(error) => tracing::warn!(%error, "health check could not start"),
        }
        wait = HEALTH_EVERY;
    }
}

/// Waits for Ctrl-C or SIGTERM. The handlers are installed when this is called, not when the
/// future is first polled, so a signal arriving during start-up already stops cleanly.
#[cfg(unix)]
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut interrupt = signal(SignalKind::interrupt()).ok();
    let mut terminate = signal(SignalKind::terminate()).ok();
    async move {
        tokio::select! {
            _ = wait_for(interrupt.as_mut()) => {},
            _ = wait_for(terminate.as_mut()) => {},
        }
        tracing::info!("shutting down");
    }
}

#[cfg(unix)]
async fn wait_for(signal: Option<&mut tokio::signal::unix::Signal>) {
    match signal {
        Some(s) => {
            s.recv().await;
        }
        None => std::future::pending::<()>().await,
    }
}

#[cfg(not(unix))]
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    async {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down");
    }
}
