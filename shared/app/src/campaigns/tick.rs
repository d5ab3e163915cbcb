//! One tick of the planner: the sweeps that keep queue messages from being lost, then the
//! due campaign runs, all within the tick's deadline, and a continuation when work is left.
//! (How one run is planned is `planner.rs`.)

use std::time::Instant;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use super::continuation::{self, Asker};
use super::planner::{run_campaign_until, PlannerSettings, RunOutcome, RunReport};
use super::{keys, CampaignsError};
use crate::outbox;
use crate::ports::table::{Index, Query, SortKeyCondition};
use crate::queues::QueueMessage;
use crate::Services;

#[derive(Debug, Clone, Default, Serialize)]
pub struct TickReport {
    pub runs: Vec<RunReport>,
    /// Outbox entries whose messages an interrupted writer had left unsent.
    pub outbox_swept: u64,
    /// Captured webhook events whose queue message had been lost, queued again.
    pub events_requeued: u64,
    /// Due campaigns the deadline left unvisited (a continuation visits them).
    pub deferred: usize,
    /// Sends of resumed campaigns queued again.
    pub sends_requeued: u64,
    /// Whether resumed campaigns still have sends to queue again.
    pub requeue_left: bool,
    /// Whether runs started by hand are still unfinished.
    pub manual_left: bool,
    /// Whether a `planner` continuation was queued.
    pub continuation_queued: bool,
}

impl TickReport {
    /// Whether work is left that a continuation should do.
    pub fn unfinished(&self) -> bool {
        self.deferred > 0
            || self.requeue_left
            || self.manual_left
            || self.runs.iter().any(|r| r.outcome == RunOutcome::Continues)
    }
}

pub async fn plan_due_campaigns(
    services: &Services,
    now: DateTime<Utc>,
) -> Result<TickReport, CampaignsError> {
    plan_due_campaigns_with(services, now, &PlannerSettings::default()).await
}

pub async fn plan_due_campaigns_with(
    services: &Services,
    now: DateTime<Utc>,
    settings: &PlannerSettings,
) -> Result<TickReport, CampaignsError> {
    let deadline = Instant::now() + settings.step_time;
    tick(services, now, settings, deadline, Asker::Schedule).await
}

/// One tick (scheduled, or a continuation when `asker` is the chain) that plans until
/// `deadline`: first the outbox and lost-event sweeps, then the due runs, each with its share
/// of the time left.
pub async fn tick(
    services: &Services,
    now: DateTime<Utc>,
    settings: &PlannerSettings,
    deadline: Instant,
    asker: Asker,
) -> Result<TickReport, CampaignsError> {
    let mut report = TickReport::default();
    // The sweeps are small and bounded; their trouble must not stop the planning.
    match outbox::sweep(services, now, Some(deadline)).await {
        Ok(n) => report.outbox_swept = n,
        Err(error) => tracing::error!(%error, "outbox sweep failed"),
    }
    match crate::webhooks::requeue_lost_events(services, now).await {
        Ok(n) => report.events_requeued = n,
        Err(error) => tracing::error!(%error, "lost-event sweep failed"),
    }
    let begun = Instant::now();
    let requeue_until = begun + deadline.saturating_duration_since(begun) / 2;
    let (requeued, requeue_left) = super::requeue::work(services, requeue_until).await?;
    report.sends_requeued = requeued;
    report.requeue_left = requeue_left;
    // Runs started by hand: the request planned what it could in its few seconds.
    let started = Instant::now();
    let manual_until = started + deadline.saturating_duration_since(started) / 2;
    match super::manual_run::continue_unfinished(services, now, manual_until).await {
        Ok((runs, left)) => {
            report.runs.extend(runs);
            report.manual_left = left;
        }
        Err(error) => {
            tracing::error!(%error, "manual runs could not be continued");
            report.manual_left = true;
        }
    }
    let mut due = due_campaign_ids(services, now).await?;
    let first = continuation::visit_first(services).await?;
    // Stable: the deferred ones first, each group in due order.
    due.sort_by_key(|id| !first.contains(id));
    let mut deferred = Vec::new();
    for (i, id) in due.iter().enumerate() {
        let started = Instant::now();
        // The first always gets its batch, so a chain of steps moves on even when the sweeps
        // used a short step's time up.
        if i > 0 && started >= deadline {
            report.deferred = due.len() - i;
            deferred = due[i..].to_vec();
            break;
        }
        let slice = deadline.saturating_duration_since(started) / (due.len() - i) as u32;
        let run = run_campaign_until(services, id, now, settings, started + slice).await;
        match run {
            Ok(run) => {
                tracing::info!(campaign = %id, slot = ?run.slot, outcome = ?run.outcome, planned = run.planned,
                    skipped = run.skipped, reviewed = run.reviewed, completed = run.completed, "campaign run");
                report.runs.push(run);
            }
            // One campaign's trouble must not hold up the others; the next tick retries it.
            Err(e) => tracing::error!(campaign = %id, error = %e, "campaign run failed"),
        }
    }
    if report.unfinished() {
        report.continuation_queued = continuation::request(services, now, asker, &deferred).await?;
    } else if asker == Asker::Chain {
        continuation::finished(services).await?;
    }
    Ok(report)
}

/// Active campaigns whose next run time is at or before `now`.
async fn due_campaign_ids(
    services: &Services,
    now: DateTime<Utc>,
) -> Result<Vec<String>, CampaignsError> {
    let mut ids = Vec::new();
    let mut after = None;
    loop {
        let page = services
            .table
            .query(
                Query::on_index(Index::Gsi2, keys::DUE_ACTIVE)
                    .sk(SortKeyCondition::LessOrEqual(format!(
                        "{}#~",
                        keys::time_key(now)
                    )))
                    .limit(100)
                    .after(after),
            )
            .await?;
        for item in &page.items {
            if let Some((_, id)) = item
                .get(Index::Gsi2.sk_attr())
                .and_then(Value::as_str)
                .and_then(|sk| sk.rsplit_once('#'))
            {
                ids.push(id.to_string());
            }
        }
        match page.next {
            Some(next) => after = Some(next),
            None => return Ok(ids),
        }
    }
}

/// The `planner` queue's consumer: one continuation step, with the settings' step time (the
/// Lambda host passes the invocation's own deadline to [`PlannerWorker::step`] instead).
#[derive(Clone)]
pub struct PlannerWorker {
    pub services: Services,
    pub settings: PlannerSettings,
}

impl PlannerWorker {
    /// Plans until `deadline`, as a step of the chain.
    pub async fn step(&self, deadline: std::time::Instant) -> Result<TickReport, CampaignsError> {
        let now = self.services.clock.now();
        let report = tick(&self.services, now, &self.settings, deadline, Asker::Chain).await?;
        tracing::info!(
            runs = report.runs.len(),
            planned = report.runs.iter().map(|r| r.planned).sum::<u64>(),
            continues = report.continuation_queued,
            "planner continuation"
        );
        Ok(report)
    }
}

#[async_trait::async_trait]
impl crate::worker::MessageHandler for PlannerWorker {
    async fn handle(
        &self,
        message: &crate::ports::queue::ReceivedMessage,
    ) -> Result<(), crate::worker::HandlerError> {
        crate::queues::PlannerStep::decode(&message.body)?;
        let deadline = std::time::Instant::now() + self.settings.step_time;
        self.step(deadline)
            .await
            .map(|_| ())
            .map_err(|e| crate::worker::HandlerError::classified(&e))
    }
}
