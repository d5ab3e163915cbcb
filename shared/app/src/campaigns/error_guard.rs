//! The error-rate guard: a campaign whose recent sends fail too often is paused automatically
//! (a conditional state change) so a broken number, message or registration stops burning the
//! list, and someone is told by email.
//!
//! Recent outcomes live in a ring of `window` items beside the campaign:
//! `CAMPAIGN#<id>`/`OUTCOMES` holds `n`, the count of outcomes so far (an atomic add, so
//! concurrent workers never collide), and outcome `n` lands in `CAMPAIGN#<id>`/`OUTCOME#<n mod
//! window>` with `n` and `failed`. Only a failure reads the ring back (one query of `window` small
//! items): a run of successes costs two writes each and no read.

use serde_json::{Map, Value};

use super::{keys, CampaignsError};
use crate::ports::table::{Key, Query, SortKeyCondition, Update, PK, SK};
use crate::Services;

const OUTCOMES: &str = "OUTCOMES";
const OUTCOME_PREFIX: &str = "OUTCOME#";
/// On the `OUTCOMES` item: the count of outcomes when the window last started afresh.
const SINCE: &str = "since";

/// Starts the campaign's window afresh (on resume): the failures that paused it were seen and
/// dealt with, so the first ordinary failure after a resume must not pause it again.
pub async fn fresh_window(services: &Services, campaign_id: &str) -> Result<(), CampaignsError> {
    let key = Key::new(keys::campaign_pk(campaign_id), OUTCOMES);
    let n = services
        .table
        .get(&key)
        .await?
        .and_then(|item| item.get("n").and_then(Value::as_u64))
        .unwrap_or(0);
    services
        .table
        .update(&key, Update::new().set(SINCE, n), None)
        .await?;
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ErrorGuard {
    /// How many of the latest sends are judged.
    pub window: u32,
    /// The campaign pauses once more than this share of the window failed.
    pub max_failure_rate: f64,
}

impl Default for ErrorGuard {
    fn default() -> Self {
        Self {
            window: 50,
            max_failure_rate: 0.20,
        }
    }
}

/// How a send the provider answered ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Sent,
    Failed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Healthy,
    /// Too many failures: pause the campaign.
    Trip {
        failures: u32,
        window: u32,
    },
}

impl ErrorGuard {
    /// Records one outcome of the campaign and judges its latest `window` outcomes.
    pub async fn record(
        &self,
        services: &Services,
        campaign_id: &str,
        outcome: Outcome,
    ) -> Result<Verdict, CampaignsError> {
        let window = u64::from(self.window.max(1));
        let pk = keys::campaign_pk(campaign_id);
        let counter = services
            .table
            .update(&Key::new(&pk, OUTCOMES), Update::new().add("n", 1), None)
            .await?;
        let n = counter.get("n").and_then(Value::as_u64).unwrap_or(1);
        // Outcomes up to `since` were judged before the last resume: they count no more.
        let since = counter.get(SINCE).and_then(Value::as_u64).unwrap_or(0);
        let failed = outcome == Outcome::Failed;
        let mut item = Map::new();
        item.insert(PK.into(), Value::from(pk.clone()));
        item.insert(
            SK.into(),
            Value::from(format!("{OUTCOME_PREFIX}{:04}", (n - 1) % window)),
        );
        item.insert("n".into(), Value::from(n));
        item.insert("failed".into(), Value::from(failed));
        services.table.put(item, None).await?;
        if !failed {
            return Ok(Verdict::Healthy);
        }
        let page = services
            .table
            .query(
                Query::partition(pk)
                    .sk(SortKeyCondition::BeginsWith(OUTCOME_PREFIX.into()))
                    .limit(self.window.max(1)),
            )
            .await?;
        let oldest = n.saturating_sub(window).max(since);
        let failures = page
            .items
            .iter()
            .filter(|i| i.get("n").and_then(Value::as_u64).unwrap_or(0) > oldest)
            .filter(|i| i.get("failed").and_then(Value::as_bool).unwrap_or(false))
            .count() as u32;
        // Judged against the whole window, so a first failure or two never pauses a campaign.
        if f64::from(failures) > self.max_failure_rate * window as f64 {
            Ok(Verdict::Trip {
                failures,
                window: self.window,
            })
        } else {
            Ok(Verdict::Healthy)
        }
    }
}
