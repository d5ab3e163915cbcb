//! The run record: window, status, counts, checkpoint; starting, reading and listing runs.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{ReconcileError, ReconcileSettings};
use crate::ports::table::{Condition, Index, Key, Query, Update};
use crate::ports::OutgoingMessage;
use crate::queues;
use crate::queues::{QueueMessage, ReconcileMessage};
use crate::records;
use crate::Services;

const LISTING: &str = "RECONCILIATIONS";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Running,
    Completed,
    Failed,
}

/// What a run checked and inserted, per kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RunCounts {
    pub conversations_checked: u64,
    pub messages_checked: u64,
    pub messages_inserted: u64,
    pub calls_checked: u64,
    pub calls_inserted: u64,
    pub recordings_inserted: u64,
    pub transcripts_inserted: u64,
    pub summaries_inserted: u64,
    pub voicemails_inserted: u64,
    /// Opt-out keywords found in reconciled inbound messages (processed late).
    pub opt_outs_found: u64,
    /// UNKNOWN or lease-expired SENDING campaign sends settled: found at the provider (SENT)…
    pub sends_resolved_sent: u64,
    /// …or confirmed absent and handed back to the engine.
    pub sends_resolved_retry: u64,
}

impl RunCounts {
    pub fn inserted(&self) -> u64 {
        self.messages_inserted
            + self.calls_inserted
            + self.recordings_inserted
            + self.transcripts_inserted
            + self.summaries_inserted
            + self.voicemails_inserted
    }
}

/// Where a run stands: which of our numbers, which page of its conversations, and which
/// conversations of that page are done (by id: a page can change order between steps, as
/// conversations get updated).
/// `number == phone_numbers.len()` means the history is done and the campaign sends come next.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Checkpoint {
    pub number: usize,
    pub page_token: Option<String>,
    pub done: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    pub id: String,
    pub status: RunStatus,
    /// `manual` (the API) or `scheduled`.
    pub trigger: String,
    pub since: DateTime<Utc>,
    pub until: DateTime<Utc>,
    pub started_at: DateTime<Utc>,
    #[serde(default)]
    pub finished_at: Option<DateTime<Utc>>,
    pub phone_numbers: Vec<String>,
    #[serde(default)]
    pub counts: RunCounts,
    /// Phones whose opt-out keyword only reconciliation found.
    #[serde(default)]
    pub opt_outs: Vec<String>,
    #[serde(default)]
    pub errors: Vec<String>,
    #[serde(default)]
    pub checkpoint: Checkpoint,
    /// Steps taken (1 when it finished in one invocation).
    #[serde(default)]
    pub steps: u32,
    /// Who works on it now, until when (a crashed step's lease runs out and the next resumes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_until: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct StartRequest {
    /// Overrides the window's start (default: the watermark less the overlap).
    #[serde(default)]
    pub since: Option<DateTime<Utc>>,
    #[serde(default)]
    pub trigger: Option<String>,
}

pub(super) fn run_key(id: &str) -> Key {
    Key::new(format!("RECON#{id}"), "RUN")
}

pub(super) fn watermark_key() -> Key {
    Key::new("RECON", "WATERMARK")
}

pub(super) fn stamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn corrupt(e: impl std::fmt::Display) -> ReconcileError {
    ReconcileError::Corrupt(e.to_string())
}

/// Records a new run over `[since, now)` and queues its first step.
pub async fn start(
    services: &Services,
    settings: &ReconcileSettings,
    request: StartRequest,
) -> Result<RunRecord, ReconcileError> {
    let now = services.clock.now();
    let since = match request.since {
        Some(since) if since >= now => {
            return Err(ReconcileError::Invalid("since must be in the past".into()))
        }
        Some(since) => since,
        None => match watermark(services).await? {
            Some(mark) => mark - settings.overlap,
            None => now - settings.first_window,
        },
    };
    let id = format!("rc_{}", uuid::Uuid::new_v4().simple());
    let run = RunRecord {
        id: id.clone(),
        status: RunStatus::Running,
        trigger: request.trigger.unwrap_or_else(|| "manual".into()),
        since,
        until: now,
        started_at: now,
        finished_at: None,
        phone_numbers: settings.phone_numbers.clone(),
        counts: RunCounts::default(),
        opt_outs: vec![],
        errors: vec![],
        checkpoint: Checkpoint::default(),
        steps: 0,
        lease_until: None,
    };
    let mut item = records::to_item(&run_key(&id), &run).map_err(corrupt)?;
    item.insert(Index::Gsi1.pk_attr().into(), LISTING.into());
    item.insert(
        Index::Gsi1.sk_attr().into(),
        format!("{}#{id}", stamp(now)).into(),
    );
    services
        .table
        .put(item, Some(Condition::ItemAbsent))
        .await?;
    continue_later(services, &id).await?;
    tracing::info!(run = %id, since = %run.since, until = %run.until, "reconciliation started");
    Ok(run)
}

/// Queues a step of the run (the first, or a continuation).
pub(super) async fn continue_later(services: &Services, id: &str) -> Result<(), ReconcileError> {
    let body = ReconcileMessage::Continue {
        run_id: id.to_string(),
    }
    .encode();
    services
        .queue
        .send(queues::RECONCILE, OutgoingMessage::new(body))
        .await?;
    Ok(())
}

pub async fn get(services: &Services, id: &str) -> Result<RunRecord, ReconcileError> {
    let item = services
        .table
        .get(&run_key(id))
        .await?
        .ok_or(ReconcileError::NotFound)?;
    records::from_item(item).map_err(corrupt)
}

/// Runs newest first, a page at a time.
pub async fn list(
    services: &Services,
    limit: u32,
    cursor: Option<String>,
) -> Result<(Vec<RunRecord>, Option<String>), ReconcileError> {
    let page = services
        .table
        .query(
            Query::on_index(Index::Gsi1, LISTING)
                .backward()
                .limit(limit.clamp(1, 100))
                .after(cursor),
        )
        .await?;
    let runs = page
        .items
        .into_iter()
        .map(records::from_item)
        .collect::<Result<Vec<RunRecord>, _>>()
        .map_err(corrupt)?;
    Ok((runs, page.next))
}

/// The end of the last completed run's window.
pub(super) async fn watermark(
    services: &Services,
) -> Result<Option<DateTime<Utc>>, ReconcileError> {
    let Some(item) = services.table.get(&watermark_key()).await? else {
        return Ok(None);
    };
    Ok(item
        .get("until")
        .and_then(Value::as_str)
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc)))
}

/// Moves the watermark to `until` unless a later run has moved it further already.
pub(super) async fn advance_watermark(
    services: &Services,
    until: DateTime<Utc>,
    run_id: &str,
) -> Result<(), ReconcileError> {
    let result = services
        .table
        .update(
            &watermark_key(),
            Update::new()
                .set("until", stamp(until))
                .set("run_id", run_id),
            Some(Condition::Any(vec![
                Condition::AttrAbsent("until".into()),
                Condition::less_than("until", stamp(until)),
            ])),
        )
        .await;
    match result {
        Ok(_) => Ok(()),
        Err(e) if e.is_condition_failure() => Ok(()),
        Err(e) => Err(e.into()),
    }
}
