//! The tick: finds active campaigns whose run is due (an index query on gsi2) and plans each
//! run — up to N sends from the persistent cursor — within the tick's deadline.
//!
//! Idempotence: a run is keyed by campaign and slot (`RUN#<slot>`); each batch of planned sends
//! (conditional puts) commits in one transaction with the conditional cursor move, the run's
//! counter and an outbox entry holding the batch's queue messages, so a duplicate, late or
//! concurrent tick can never plan a contact twice or skip one, and a crash after the commit
//! cannot lose a send's message (the next tick's outbox sweep sends it).
//!
//! Time: a tick works until its deadline (the Lambda's, less a margin, or the configured step
//! time), checked after every committed batch. The due campaigns share it (each gets its slice,
//! and at least one batch), so a long run cannot starve a campaign due at the same minute; a run
//! left unfinished stays `planning` and a `planner` message continues it at once.
//!
//! Why one file: planning one run (cursor, slot, caps, exclusions) is one transaction per batch
//! whose conditions must be read side by side to see that no contact is planned twice.

use std::collections::HashSet;
use std::time::{Duration as StdDuration, Instant};

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use serde_json::{json, Value};
use trickle_domain::campaign::{Campaign, CampaignState, SkipReason, Variant};

use super::audience::{self, Member};
use super::sends::{SendJob, SendRecord};
use super::store::{self, Stored};
use super::{keys, sends, CampaignsError};
use crate::outbox;
use crate::ports::table::{Condition, Index, TableError, TxOp, Update};
use crate::records;
use crate::Services;

/// Members considered per transaction: each adds at most one write, plus the cursor, the run,
/// the tally and the outbox entry (DynamoDB's limit is 100 items per transaction).
pub const BATCH: u32 = 96;
/// Consecutive lost races after which a run gives up until the next tick.
const MAX_RACES: usize = 8;

#[derive(Debug, Clone)]
pub struct PlannerSettings {
    /// A slot missed by more than this is skipped (and logged), not fired late.
    pub grace: Duration,
    /// The longest one tick plans for (a Lambda's own deadline can shorten it).
    pub step_time: StdDuration,
}

impl Default for PlannerSettings {
    fn default() -> Self {
        Self {
            grace: Duration::hours(2),
            step_time: StdDuration::from_secs(20),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunOutcome {
    /// The run planned (possibly zero) sends and the next run is scheduled.
    Planned,
    /// The run had been done already (a duplicate tick).
    AlreadyDone,
    /// The slot was missed by more than the grace; the next one is scheduled.
    SkippedLate,
    /// The campaign was paused or changed while the run went on; it stopped at the cursor.
    Interrupted,
    /// Not due after all (the index lags, or another tick moved it on).
    NotDue,
    /// The tick's time ran out part-way; the run is still `planning` and a continuation (or the
    /// next tick) plans the rest.
    Continues,
}

#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    pub campaign_id: String,
    pub slot: Option<String>,
    pub outcome: RunOutcome,
    pub planned: u64,
    pub skipped: u64,
    pub reviewed: u64,
    pub completed: bool,
}

/// Plans the due run of one campaign, within the settings' step time.
pub async fn run_campaign(
    services: &Services,
    id: &str,
    now: DateTime<Utc>,
    settings: &PlannerSettings,
) -> Result<RunReport, CampaignsError> {
    let deadline = Instant::now() + settings.step_time;
    run_campaign_until(services, id, now, settings, deadline).await
}

/// Plans the due run of one campaign until `deadline` (at least one batch either way, so every
/// due run moves on).
pub(super) async fn run_campaign_until(
    services: &Services,
    id: &str,
    now: DateTime<Utc>,
    settings: &PlannerSettings,
    deadline: Instant,
) -> Result<RunReport, CampaignsError> {
    let read = store::load(services, id).await?;
    let mut report = RunReport {
        campaign_id: id.to_string(),
        slot: read.campaign.next_slot.clone(),
        outcome: RunOutcome::NotDue,
        planned: 0,
        skipped: 0,
        reviewed: 0,
        completed: false,
    };
    let c = &read.campaign;
    let (CampaignState::Active, Some(due_at), Some(slot)) =
        (c.state, c.next_run_at, c.next_slot.clone())
    else {
        return Ok(report);
    };
    if due_at > now {
        return Ok(report);
    }
    let run_key = keys::run(id, &slot);
    let existing = services.table.get(&run_key).await?;
    let status = existing
        .as_ref()
        .and_then(|r| r.get("status"))
        .and_then(Value::as_str)
        .map(str::to_string);
    if now - due_at > settings.grace {
        tracing::warn!(campaign = %id, %slot, due_at = %due_at, "slot missed by more than the grace: skipped, not fired late");
        finish_run(services, &read, &slot, due_at, now, "skipped").await?;
        report.outcome = RunOutcome::SkippedLate;
        return Ok(report);
    }
    match status.as_deref() {
        Some("done") | Some("skipped") => {
            // The run finished but the campaign still points at it: only a crash between the
            // two writes can do that; move the schedule on.
            finish_run(services, &read, &slot, due_at, now, "done").await?;
            report.outcome = RunOutcome::AlreadyDone;
            return Ok(report);
        }
        Some(_) => {}
        None => {
            let run = json!({
                "campaign_id": id, "slot": slot, "due_at": keys::time_key(due_at),
                "started_at": keys::time_key(now), "status": "planning", "planned": 0,
            });
            let item = records::to_item(&run_key, &run).map_err(store::corrupt)?;
            match services.table.put(item, Some(Condition::ItemAbsent)).await {
                Ok(()) => {}
                Err(e) if e.is_condition_failure() => {} // a concurrent tick created it
                Err(e) => return Err(e.into()),
            }
        }
    }
    plan_run(services, id, &slot, true, now, Some(deadline), &mut report).await?;
    if matches!(
        report.outcome,
        RunOutcome::Interrupted | RunOutcome::Continues
    ) {
        return Ok(report);
    }
    let read = store::load(services, id).await?;
    if read.campaign.state != CampaignState::Active
        || read.campaign.next_slot.as_deref() != Some(&slot)
    {
        report.outcome = RunOutcome::AlreadyDone;
        return Ok(report);
    }
    finish_run(services, &read, &slot, due_at, now, "done").await?;
    report.outcome = RunOutcome::Planned;
    report.completed = complete_if_done(services, id).await?;
    Ok(report)
}

/// Walks the list from the cursor and plans until the run has N sends, the list ends or the
/// deadline passes (checked after each committed batch).
pub(super) async fn plan_run(
    services: &Services,
    id: &str,
    slot: &str,
    scheduled: bool,
    now: DateTime<Utc>,
    deadline: Option<Instant>,
    report: &mut RunReport,
) -> Result<(), CampaignsError> {
    super::winner_switch::switch_if_decided(services, id, now).await?;
    let mut races = 0;
    let mut first = true;
    loop {
        if !first && deadline.is_some_and(|d| Instant::now() >= d) {
            report.outcome = RunOutcome::Continues;
            return Ok(());
        }
        first = false;
        let read = store::load(services, id).await?;
        let campaign = &read.campaign;
        let moved_on = scheduled && campaign.next_slot.as_deref() != Some(slot);
        if campaign.state != CampaignState::Active || moved_on {
            report.outcome = RunOutcome::Interrupted;
            return Ok(());
        }
        let run = services
            .table
            .get(&keys::run(id, slot))
            .await?
            .unwrap_or_default();
        if run.get("status").and_then(Value::as_str) != Some("planning") {
            return Ok(());
        }
        let already = run.get("planned").and_then(Value::as_u64).unwrap_or(0);
        let per_run = u64::from(campaign.settings.per_run);
        if already >= per_run {
            return Ok(());
        }
        let list_id = campaign.settings.list_id.as_str();
        let members = audience::members_from(services, list_id, campaign.cursor, BATCH).await?;
        if members.is_empty() {
            return Ok(()); // the end of the list
        }
        let batch = plan_batch(services, campaign, slot, per_run - already, &members, now).await?;
        let planned_here = batch.jobs.len() as u64;
        let messages = outbox_entry(id, slot, &read, &batch, now)?;
        match commit_batch(services, &read, slot, scheduled, &batch, &messages).await {
            Ok(()) => {
                races = 0;
                report.planned += planned_here;
                report.skipped += batch.skipped;
                report.reviewed += batch.reviewed;
                if let Some(messages) = messages {
                    messages.deliver(services).await.map_err(|e| match e {
                        outbox::OutboxError::Store(e) => CampaignsError::Store(e),
                        outbox::OutboxError::Queue(e) => CampaignsError::Queue(e),
                    })?;
                }
                // The run is whole when it reached N or the list's end: no step spent finding so.
                let list_ended = members.len() < BATCH as usize;
                if list_ended || already + planned_here >= per_run {
                    return Ok(());
                }
            }
            Err(TableError::TransactionCancelled { .. } | TableError::TransactionConflict) => {
                races += 1;
                if races >= MAX_RACES {
                    tracing::warn!(campaign = %id, %slot, "run keeps losing races; the next tick continues it");
                    report.outcome = RunOutcome::Interrupted;
                    return Ok(());
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
}

struct Batch {
    ops: Vec<TxOp>,
    jobs: Vec<SendJob>,
    /// How many of `jobs` carry message B.
    planned_b: u64,
    new_cursor: u64,
    skipped: u64,
    reviewed: u64,
}

enum Verdict {
    Plan(Box<SendRecord>),
    Skip(SkipReason, String),
}

async fn plan_batch(
    services: &Services,
    campaign: &Campaign,
    slot: &str,
    remaining: u64,
    members: &[Member],
    now: DateTime<Utc>,
) -> Result<Batch, CampaignsError> {
    let mut batch = Batch {
        ops: Vec::new(),
        jobs: Vec::new(),
        planned_b: 0,
        new_cursor: campaign.cursor,
        skipped: 0,
        reviewed: 0,
    };
    let mut seen = HashSet::new();
    for member in members {
        if batch.jobs.len() as u64 >= remaining {
            break;
        }
        batch.new_cursor = member.position + 1;
        if !seen.insert(member.contact_id.clone()) {
            batch.skipped += 1;
            continue;
        }
        match judge(services, campaign, slot, member, now).await? {
            Verdict::Plan(send) => {
                let key = keys::send(campaign.id.as_str(), &send.contact_id);
                let item = records::to_item(&key, &send).map_err(store::corrupt)?;
                batch.ops.push(TxOp::Put {
                    item,
                    condition: Some(Condition::ItemAbsent),
                });
                batch.planned_b += u64::from(send.variant == Variant::B);
                batch.jobs.push(SendJob {
                    campaign_id: send.campaign_id,
                    contact_id: send.contact_id,
                });
            }
            Verdict::Skip(reason, phone) => {
                batch.skipped += 1;
                tracing::debug!(campaign = %campaign.id, contact = %member.contact_id, ?reason, "skipped");
                if reason.needs_review() {
                    batch.reviewed += 1;
                    let entry = super::review::ReviewEntry {
                        contact_id: member.contact_id.clone(),
                        phone,
                        campaign_id: campaign.id.to_string(),
                        reason,
                        added_at: now,
                        position: Some(member.position),
                    };
                    let item = records::to_item(&keys::review(now, &member.contact_id), &entry)
                        .map_err(store::corrupt)?;
                    batch.ops.push(TxOp::Put {
                        item,
                        condition: None,
                    });
                }
            }
        }
    }
    Ok(batch)
}

/// Whether one member gets a send, and if not, why.
async fn judge(
    services: &Services,
    campaign: &Campaign,
    slot: &str,
    member: &Member,
    now: DateTime<Utc>,
) -> Result<Verdict, CampaignsError> {
    let campaign_id = campaign.id.as_str();
    let Some(contact) = audience::contact(services, &member.contact_id).await? else {
        return Ok(Verdict::Skip(
            SkipReason::Invalid,
            member.phone.clone().unwrap_or_default(),
        ));
    };
    let phone = contact.phone.to_string();
    if services
        .table
        .get(&keys::send(campaign_id, &member.contact_id))
        .await?
        .is_some()
    {
        return Ok(Verdict::Skip(SkipReason::AlreadyPlanned, phone));
    }
    if audience::is_opted_out(services, &contact.phone).await? {
        return Ok(Verdict::Skip(SkipReason::OptedOut, phone));
    }
    if audience::is_suppressed(services, &contact.phone).await? {
        return Ok(Verdict::Skip(SkipReason::Suppressed, phone));
    }
    let foreign: Vec<_> = audience::activities(services, &member.contact_id)
        .await?
        .into_iter()
        .filter(|a| a.campaign_id.as_deref() != Some(campaign_id))
        .collect();
    if !foreign.is_empty() {
        let latest = foreign.iter().filter_map(|a| a.at).max();
        let recent = match (campaign.settings.min_days_since_contact, latest) {
            (Some(days), Some(at)) => now - at < Duration::days(i64::from(days)),
            _ => false,
        };
        let reason = if recent {
            SkipReason::RecentContact
        } else {
            SkipReason::PreviousCommunication
        };
        return Ok(Verdict::Skip(reason, phone));
    }
    let variant = campaign.variant_for(member.position);
    Ok(Verdict::Plan(Box::new(SendRecord::planned(
        campaign_id,
        &member.contact_id,
        phone,
        member.position,
        variant,
        slot.to_string(),
        now,
    ))))
}

/// The batch's send messages, owed once it commits (none for a batch that plans no send).
fn outbox_entry(
    id: &str,
    slot: &str,
    read: &Stored,
    batch: &Batch,
    now: DateTime<Utc>,
) -> Result<Option<outbox::Entry>, CampaignsError> {
    if batch.jobs.is_empty() {
        return Ok(None);
    }
    let bodies = batch
        .jobs
        .iter()
        .map(serde_json::to_string)
        .collect::<Result<Vec<_>, _>>()
        .map_err(store::corrupt)?;
    let name = format!("{id}#{slot}#{}", read.campaign.cursor);
    Ok(Some(outbox::Entry::new(
        crate::queues::SENDS,
        bodies,
        now,
        &name,
    )))
}

/// The batch's sends and review entries, the cursor move, the run's counter and the outbox
/// entry of its messages: all or nothing.
async fn commit_batch(
    services: &Services,
    read: &Stored,
    slot: &str,
    scheduled: bool,
    batch: &Batch,
    messages: &Option<outbox::Entry>,
) -> Result<(), TableError> {
    let id = read.campaign.id.as_str();
    let mut ops = batch.ops.clone();
    if let Some(messages) = messages {
        ops.push(messages.op());
    }
    let mut campaign_unchanged = vec![
        Condition::equals(store::STATE, CampaignState::Active.as_str()),
        Condition::equals("cursor", read.campaign.cursor),
    ];
    if scheduled {
        campaign_unchanged.push(Condition::equals("next_slot", slot));
    }
    ops.push(TxOp::Update {
        key: keys::campaign(id),
        update: Update::new()
            .set("cursor", batch.new_cursor)
            .add(store::VERSION, 1),
        condition: Some(Condition::All(campaign_unchanged)),
    });
    if !batch.jobs.is_empty() {
        let planned_b = batch.planned_b as i64;
        let planned_a = batch.jobs.len() as i64 - planned_b;
        let mut update = Update::new().add(keys::OPEN_SENDS, batch.jobs.len() as i64);
        for (variant, n) in [(Variant::A, planned_a), (Variant::B, planned_b)] {
            if n > 0 {
                update = update.add(&keys::planned(variant), n);
            }
        }
        ops.push(TxOp::Update {
            key: keys::tally(id),
            update,
            condition: None,
        });
    }
    ops.push(TxOp::Update {
        key: keys::run(id, slot),
        update: Update::new()
            .add("planned", batch.jobs.len() as i64)
            .add("skipped", batch.skipped as i64)
            .add("reviewed", batch.reviewed as i64),
        condition: Some(Condition::equals("status", "planning")),
    });
    services.table.transact(ops).await
}

/// Marks the run `status` and moves the campaign to its next slot, in one transaction.
async fn finish_run(
    services: &Services,
    read: &Stored,
    slot: &str,
    due_at: DateTime<Utc>,
    now: DateTime<Utc>,
    status: &str,
) -> Result<(), CampaignsError> {
    let id = read.campaign.id.as_str();
    let next = read
        .campaign
        .settings
        .schedule
        .next_run_after(due_at.max(now));
    let ops = vec![
        TxOp::Update {
            key: keys::run(id, slot),
            update: Update::new()
                .set("status", status)
                .set("finished_at", keys::time_key(now))
                .set("campaign_id", id)
                .set("slot", slot),
            condition: None,
        },
        TxOp::Update {
            key: keys::campaign(id),
            update: Update::new()
                .set("next_run_at", keys::time_key(next.at))
                .set("next_slot", next.id())
                .set(Index::Gsi2.sk_attr(), keys::due_sort_key(next.at, id))
                .add(store::VERSION, 1),
            condition: Some(Condition::All(vec![
                Condition::equals(store::STATE, CampaignState::Active.as_str()),
                Condition::equals("next_slot", slot),
            ])),
        },
    ];
    match services.table.transact(ops).await {
        Ok(()) => Ok(()),
        // Another tick finished it, or the campaign was paused meanwhile: nothing to move.
        Err(e) if e.is_condition_failure() => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// The campaign's count of sends not yet final (`None` for a campaign planned before the
/// tally was kept). Never below the true count; see [`keys::tally`].
pub async fn open_sends(services: &Services, id: &str) -> Result<Option<i64>, CampaignsError> {
    Ok(services
        .table
        .get(&keys::tally(id))
        .await?
        .and_then(|item| item.get(keys::OPEN_SENDS).and_then(Value::as_i64)))
}

/// Completes an active campaign whose cursor reached the end of its list and whose sends are all
/// final. Returns whether it did.
pub async fn complete_if_done(services: &Services, id: &str) -> Result<bool, CampaignsError> {
    let read = store::load(services, id).await?;
    let c = &read.campaign;
    if c.state != CampaignState::Active {
        return Ok(false);
    }
    let list = audience::list_info(services, c.settings.list_id.as_str()).await?;
    let at_end = audience::members_from(services, c.settings.list_id.as_str(), c.cursor, 1)
        .await?
        .is_empty();
    if !at_end || list.is_none() {
        return Ok(false);
    }
    if sends::all(services, id)
        .await?
        .iter()
        .any(|s| !s.state.is_final())
    {
        return Ok(false);
    }
    let now = services.clock.now();
    let update = Update::new()
        .set(store::STATE, CampaignState::Completed.as_str())
        .set(
            "updated_at",
            serde_json::to_value(now).map_err(store::corrupt)?,
        )
        .remove("next_run_at")
        .remove("next_slot")
        .remove(Index::Gsi2.pk_attr())
        .remove(Index::Gsi2.sk_attr())
        .add(store::VERSION, 1);
    match services
        .table
        .update(
            &keys::campaign(id),
            update,
            Some(store::unchanged_since(&read)),
        )
        .await
    {
        Ok(_) => Ok(true),
        Err(e) if e.is_condition_failure() => Ok(false),
        Err(e) => Err(e.into()),
    }
}
