//! A run started by hand (`POST /v1/campaigns/{id}/run`, the console's Run now): an extra run
//! (`RUN#manual-<time>`) under every rule of a scheduled one, which leaves the schedule alone.
//!
//! Bounded on the HTTP path: the request plans for a few seconds at most and answers; the tick
//! plans the rest. A `MANUALRUN` item for each unfinished run is written with the run itself
//! (one transaction), every tick and continuation step plans those runs first, and the item
//! goes when the run is done. A crash after the commit loses nothing: the next scheduled tick
//! finds the item whether or not its continuation message was queued.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use trickle_domain::campaign::CampaignState;

use super::continuation::{self, Asker};
use super::planner::{complete_if_done, plan_run, RunOutcome, RunReport};
use super::{keys, store, CampaignsError};
use crate::ports::table::{Condition, Key, Query, SortKeyCondition, TxOp, Update};
use crate::records;
use crate::Services;

/// How long a request plans before leaving the rest to the tick (well inside the http
/// function's 29 s).
pub const RUN_INLINE: Duration = Duration::from_secs(5);

const PK: &str = "MANUALRUN";

fn marker(id: &str, slot: &str) -> Key {
    Key::new(PK, format!("{id}#{slot}"))
}

fn report(id: &str, slot: &str) -> RunReport {
    RunReport {
        campaign_id: id.to_string(),
        slot: Some(slot.to_string()),
        outcome: RunOutcome::Planned,
        planned: 0,
        skipped: 0,
        reviewed: 0,
        completed: false,
    }
}

/// Plans the next batch of an active campaign now, for at most [`RUN_INLINE`]; a run left
/// unfinished answers `Continues` and the tick plans the rest.
pub async fn run_now(services: &Services, id: &str) -> Result<RunReport, CampaignsError> {
    run_now_within(services, id, RUN_INLINE).await
}

/// [`run_now`], planning on the caller's time for `inline` at most (at least one batch).
pub async fn run_now_within(
    services: &Services,
    id: &str,
    inline: Duration,
) -> Result<RunReport, CampaignsError> {
    let read = store::load(services, id).await?;
    if read.campaign.state != CampaignState::Active {
        return Err(CampaignsError::NotActive(read.campaign.state));
    }
    let now = services.clock.now();
    let slot = format!("manual-{}", keys::time_key(now));
    let run = json!({
        "campaign_id": id, "slot": slot, "due_at": keys::time_key(now),
        "started_at": keys::time_key(now), "status": "planning", "planned": 0,
    });
    let unfinished = records::to_item(
        &marker(id, &slot),
        &json!({"campaign_id": id, "slot": slot}),
    )
    .map_err(store::corrupt)?;
    services
        .table
        .transact(vec![
            TxOp::Put {
                item: records::to_item(&keys::run(id, &slot), &run).map_err(store::corrupt)?,
                condition: Some(Condition::ItemAbsent),
            },
            TxOp::Put {
                item: unfinished,
                condition: None,
            },
        ])
        .await?;
    let mut report = report(id, &slot);
    plan_run(
        services,
        id,
        &slot,
        false,
        now,
        Some(Instant::now() + inline),
        &mut report,
    )
    .await?;
    if report.outcome == RunOutcome::Continues {
        continuation::request(services, now, Asker::Schedule, &[]).await?;
        return Ok(report);
    }
    finish(services, id, &slot, now, &mut report).await?;
    Ok(report)
}

/// A manual run is over (whole, or its campaign no longer active): its status says so, its
/// `MANUALRUN` item goes, and a campaign at the end of its list completes.
async fn finish(
    services: &Services,
    id: &str,
    slot: &str,
    now: DateTime<Utc>,
    report: &mut RunReport,
) -> Result<(), CampaignsError> {
    let status = match report.outcome {
        RunOutcome::Interrupted => "interrupted",
        _ => "done",
    };
    let updated = services
        .table
        .update(
            &keys::run(id, slot),
            Update::new()
                .set("status", status)
                .set("finished_at", keys::time_key(now)),
            Some(Condition::equals("status", "planning")),
        )
        .await;
    match updated {
        Ok(_) => {}
        Err(e) if e.is_condition_failure() => {} // finished by another step
        Err(e) => return Err(e.into()),
    }
    services.table.delete(&marker(id, slot), None).await?;
    report.completed = complete_if_done(services, id).await?;
    Ok(())
}

/// Plans the unfinished manual runs until `deadline` (each gets at least one batch); returns
/// their reports and whether any is still unfinished.
pub async fn continue_unfinished(
    services: &Services,
    now: DateTime<Utc>,
    deadline: Instant,
) -> Result<(Vec<RunReport>, bool), CampaignsError> {
    let page = services
        .table
        .query(Query::partition(PK).sk(SortKeyCondition::Any).limit(100))
        .await?;
    let mut reports = Vec::new();
    let mut left = page.next.is_some();
    for (i, item) in page.items.iter().enumerate() {
        let text = |name: &str| item.get(name).and_then(Value::as_str).map(str::to_string);
        let (Some(id), Some(slot)) = (text("campaign_id"), text("slot")) else {
            continue;
        };
        if i > 0 && Instant::now() >= deadline {
            left = true;
            break;
        }
        let mut run = report(&id, &slot);
        plan_run(services, &id, &slot, false, now, Some(deadline), &mut run).await?;
        if run.outcome == RunOutcome::Continues {
            left = true;
        } else {
            finish(services, &id, &slot, now, &mut run).await?;
        }
        reports.push(run);
    }
    Ok((reports, left))
}
