//! `trickle dev`: the router, the queue consumers and the scheduler loop in one process, on the
//! embedded store. Stands in for API Gateway, SQS, EventBridge, S3 notifications and SES.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::sync::watch;
use trickle_app::health::{self, HealthSettings};
use trickle_app::ports::{OutgoingMessage, PhoneValidator};
use trickle_app::queues;
use trickle_app::webhooks::ingest::SignatureTime;
use trickle_app::worker::run_consumer;
use trickle_app::Services;
use trickle_domain::{Clock, OffsetClock, PhoneNumber, SystemClock};
use trickle_embedded::EmbeddedTable;
use trickle_host::settings::HealthCheckSettings;
use trickle_host::{Extras, Secret};
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
    let mut tree = settings.tree()?;
    let data_dir = settings.data_dir.clone();
    trickle_embedded::private_files::create_dir(&data_dir)
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

    let clock: Arc<dyn Clock> = match settings.clock_start {
        Some(start) => Arc::new(OffsetClock::starting_at(start)),
        None => Arc::new(SystemClock),
    };
    let (validator, numverify_sandbox) = validator(&tree).await?;
    let openphone = crate::openphone::build(
        &mut tree,
        &public_url,
        settings.simulator_rate_limit,
        clock.clone(),
    )
    .await?;
    sandbox_defaults(&mut tree, &openphone)?;
    let local = trickle_host::embedded::open(
        &data_dir,
        &public_url,
        openphone.sms.clone(),
        validator,
        clock.clone(),
    )?;
    let mut extras = Extras::new(Secret::new(admin_token.clone()));
    // Short steps, so the runner stops promptly; signatures carry the real time even when the
    // runner's clock was moved for a demo.
    extras.reconcile_step_time = Duration::from_secs(60);
    extras.signature_time = SignatureTime::SystemClock;
    let mut trickle = trickle_host::build(local.services.clone(), &tree, &extras)?;
    if let Some(sim) = &openphone.simulator {
        trickle.http.sandbox = Some(Arc::new(crate::sandbox_panel::SimulatorPanel::new(
            sim.url(),
            sim.phone_number(),
        )));
    }
    let services = trickle.services.clone();

    let (stop, stopped) = watch::channel(false);
    let mut background = vec![
        tokio::spawn(sweep_expired(local.table, stopped.clone())),
        tokio::spawn(campaign_ticks(
            services.clone(),
            trickle.planner.clone(),
            stopped.clone(),
        )),
    ];
    if trickle.reconcile.is_some() {
        background.push(tokio::spawn(daily_reconciliations(
            services.clone(),
            stopped.clone(),
        )));
    }
    if let Some(health) = &trickle.health {
        background.push(tokio::spawn(health_checks(
            services.clone(),
            health.clone(),
            stopped.clone(),
        )));
    }
    // The queue consumers that stand in for the SQS-triggered functions.
    for consumer in &trickle.consumers {
        background.push(tokio::spawn(run_consumer(
            services.queue.clone(),
            consumer.queue.to_string(),
            consumer.handler.clone(),
            consumer.policy,
            CONSUMER_VISIBILITY,
            stopped.clone(),
        )));
    }

    let app = trickle.router();
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
    say!("console: {public_url}/ (sign in with the admin token)");
    match &openphone.simulator {
        Some(sim) => say!(
            "SANDBOX MODE: TRICKLE_OPENPHONE_API_KEY is unset, so no real texts are sent; \
             an OpenPhone simulator runs at {} (webhooks go to {public_url}/webhooks/openphone); \
             its sending number is {}. {}",
            sim.url(),
            sim.phone_number(),
            crate::sandbox_panel::LINE_TYPE_RULE
        ),
        None => say!(
            "OpenPhone: {} (real texts are sent)",
            tree.openphone.base_url
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
    drop(openphone);
    tracing::info!("trickle dev stopped");
    Ok(())
}

/// What the sandbox fills in locally: an outbox recipient for alerts, and (with the OpenPhone
/// simulator) a health check between two simulator numbers and reconciliation of the
/// simulator's number — unless the environment configures them.
fn sandbox_defaults(
    tree: &mut trickle_host::Settings,
    openphone: &crate::openphone::OpenPhone,
) -> anyhow::Result<()> {
    if tree.alerts.to.is_empty() {
        // Locally every alert lands in the outbox, addressed to a stand-in operator.
        tree.alerts.to = vec![LOCAL_ALERT_RECIPIENT.to_string()];
    }
    let Some(simulator) = &openphone.simulator else {
        return Ok(());
    };
    if tree.health.is_none() {
        // The receiver becomes one of the simulator's own numbers, so its webhook comes back.
        let receiver = PhoneNumber::parse(SANDBOX_HEALTH_RECEIVER)?;
        simulator.add_internal_number(receiver.as_str());
        tree.health = Some(HealthCheckSettings {
            sender: simulator.phone_number().to_string(),
            receiver,
        });
    }
    if tree.reconcile_numbers.is_empty() {
        tree.reconcile_numbers = vec![simulator.phone_number().to_string()];
    }
    Ok(())
}

/// NumVerify with the configured key, or the in-process simulator (sandbox mode) without one.
async fn validator(
    tree: &trickle_host::Settings,
) -> anyhow::Result<(Arc<dyn PhoneValidator>, Option<NumVerifySimulator>)> {
    match &tree.numverify.key {
        Some(key) => Ok((
            Arc::new(NumVerifyClient::new(&tree.numverify.base_url, key.expose())),
            None,
        )),
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

/// EventBridge's one-minute tick: plans the due campaign runs (for the configured step time; the
/// `planner` consumer continues a tick that stopped there).
async fn campaign_ticks(
    services: Services,
    planner: trickle_app::campaigns::PlannerSettings,
    mut stopped: watch::Receiver<bool>,
) {
    loop {
        let now = services.clock.now();
        let tick = trickle_app::campaigns::plan_due_campaigns_with(&services, now, &planner);
        if let Err(error) = tick.await {
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
