//! Daily reconciliation with OpenPhone, the source of truth: list what happened in a window
//! (conversations updated in it, then their messages and calls, and the calls' recordings,
//! transcripts, summaries and voicemails) and insert what is missing locally through the same
//! code path the webhooks take, marked `source: reconciliation`. It only adds; it never changes
//! or duplicates what is there.
//!
//! A run works in steps of bounded length ([`step`]); each finished conversation moves the
//! run's checkpoint, so a run longer than one invocation continues in the next (a continuation
//! message on [`queues::RECONCILE`]) and a crashed step resumes from the last checkpoint. The
//! watermark (`until` of the last completed run) only moves when a run completes; the next run
//! starts from it minus an overlap.
//!
//! Records: the run `RECON#<id>`/`RUN` (gsi1 `RECONCILIATIONS` / `<started at>#<id>`), the
//! watermark `RECON`/`WATERMARK`.

mod history;
mod run;

pub use history::{step, StepOutcome};
pub use run::{get, list, start, RunCounts, RunRecord, RunStatus, StartRequest};

use std::time::Duration as StdDuration;

use crate::queues::{QueueMessage, ReconcileMessage};
use crate::rate::RateBudget;
use crate::webhooks::settings::ProcessSettings;

#[derive(Debug, Clone)]
pub struct ReconcileSettings {
    /// Our OpenPhone numbers to reconcile (`PN…` ids or E.164).
    pub phone_numbers: Vec<String>,
    /// How far before the watermark a run starts again (default 1 h).
    pub overlap: chrono::Duration,
    /// The window of the very first run (default 24 h).
    pub first_window: chrono::Duration,
    /// How long one step works before it checkpoints and hands over (Lambda: well under the
    /// function's timeout).
    pub step_time: StdDuration,
    /// A step's lease lasts `step_time` plus this; a crashed step's run resumes after it.
    pub lease_margin: chrono::Duration,
    /// The provider budget of the OpenPhone key; reconciliation uses its own share.
    pub budget: RateBudget,
    pub process: ProcessSettings,
    pub alert_from: String,
    pub alert_to: Vec<String>,
}

impl ReconcileSettings {
    pub fn new(phone_numbers: Vec<String>, budget: RateBudget) -> Self {
        Self {
            phone_numbers,
            overlap: chrono::Duration::hours(1),
            first_window: chrono::Duration::hours(24),
            step_time: StdDuration::from_secs(600),
            lease_margin: chrono::Duration::minutes(2),
            budget,
            process: ProcessSettings::default(),
            alert_from: "alerts@trickle.local".into(),
            alert_to: vec![],
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error("no such reconciliation")]
    NotFound,
    #[error("invalid request: {0}")]
    Invalid(String),
    #[error(transparent)]
    Table(#[from] crate::ports::TableError),
    #[error(transparent)]
    Queue(#[from] crate::ports::QueueError),
    #[error("provider: {0}")]
    Provider(String),
    #[error("stored reconciliation is unreadable: {0}")]
    Corrupt(String),
}

impl crate::worker::Retryable for ReconcileError {
    /// The checkpoint holds, so an outage is retried and resumes where the step stopped.
    fn retry_class(&self) -> crate::worker::RetryClass {
        use crate::worker::RetryClass::{Permanent, Transient};
        match self {
            ReconcileError::NotFound | ReconcileError::Invalid(_) | ReconcileError::Corrupt(_) => {
                Permanent
            }
            ReconcileError::Table(_) | ReconcileError::Queue(_) | ReconcileError::Provider(_) => {
                Transient
            }
        }
    }
}

/// Works on the run a `reconcile` queue message names (the consumer in Lambda and locally).
pub struct ReconcileHandler {
    pub services: crate::Services,
    pub settings: ReconcileSettings,
    /// Settles stuck campaign sends the send worker's way; `None` leaves them to the engine.
    pub sends: Option<crate::campaigns::send_worker::SendWorker>,
}

#[async_trait::async_trait]
impl crate::worker::MessageHandler for ReconcileHandler {
    async fn handle(
        &self,
        message: &crate::ports::ReceivedMessage,
    ) -> Result<(), crate::worker::HandlerError> {
        use crate::worker::HandlerError;
        // `{"run_id"}`: work on a run; `{"start": "scheduled"}`: the daily schedule's message.
        let run_id = match ReconcileMessage::decode(&message.body)? {
            ReconcileMessage::Continue { run_id } => run_id,
            ReconcileMessage::Start { start: trigger } => {
                let request = StartRequest {
                    since: None,
                    trigger: Some(trigger),
                };
                return match start(&self.services, &self.settings, request).await {
                    Ok(run) => {
                        tracing::info!(run = %run.id, "scheduled reconciliation queued");
                        Ok(())
                    }
                    Err(e) => Err(HandlerError::classified(&e)),
                };
            }
        };
        let work = RunWork { run_id };
        match step(
            &self.services,
            &self.settings,
            self.sends.as_ref(),
            &work.run_id,
        )
        .await
        {
            Ok(StepOutcome::Busy) => Err(HandlerError::Transient(format!(
                "run {} is leased by another step; retrying after its lease",
                work.run_id
            ))),
            Ok(outcome) => {
                tracing::info!(run = %work.run_id, outcome = ?outcome_name(&outcome), "reconciliation step");
                Ok(())
            }
            Err(e) => Err(HandlerError::classified(&e)),
        }
    }
}

struct RunWork {
    run_id: String,
}

fn outcome_name(outcome: &StepOutcome) -> &'static str {
    match outcome {
        StepOutcome::Continued => "continued",
        StepOutcome::Completed(_) => "completed",
        StepOutcome::NothingToDo => "nothing to do",
        StepOutcome::Busy => "busy",
    }
}
