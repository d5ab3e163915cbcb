//! A campaign's numbers: how many sends were planned, went out, were delivered, failed (and
//! why), are in doubt, got a reply or an opt-out — in total and per variant — with the reply and
//! opt-out rates and their 95% intervals, the median time to a first reply, whether A or B gets
//! more replies (chi-square, 95%), and where "continue with the winner" stands.
//!
//! Read cost is fixed: the campaign, its `TALLY` (planned per variant) and its counter shards
//! (`crate::send_counters`), three reads whatever the campaign's size. [`recount`] adds up the
//! same numbers from every send instead (a paged scan): the check the counters are held to.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use trickle_domain::campaign::counts::{self, names, FailureKind};
use trickle_domain::campaign::significance::{reply_rate_test, wilson_95, ChiSquare, Rate};
use trickle_domain::campaign::winner::{self, NoSwitch, VariantCounts};
use trickle_domain::campaign::{Campaign, SendState, Variant, WinnerSwitch};

use super::{keys, sends, store, CampaignsError};
use crate::ports::table::{Query, SortKeyCondition};
use crate::send_counters;
use crate::Services;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Every send the planner wrote (all states).
    pub planned: u64,
    /// Planned but not yet out (PLANNED, SENDING).
    pub pending: u64,
    /// Accepted by the provider (SENT or DELIVERED).
    pub sent: u64,
    pub delivered: u64,
    pub failed: u64,
    /// Of `failed`: never left (opted out or suppressed after planning, no zone, a token
    /// without a value, contact gone).
    pub failed_withheld: u64,
    /// Of `failed`: the provider refused the message.
    pub failed_refused: u64,
    /// Of `failed`: accepted, and the carrier did not deliver it.
    pub failed_carrier: u64,
    /// May or may not have gone out; being resolved by a provider lookup.
    pub unknown: u64,
    /// Sent, and the contact wrote back after it.
    pub replied: u64,
    /// Sent, and the contact opted out after it.
    pub opted_out: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CampaignStats {
    pub campaign_id: String,
    pub total: Counts,
    pub a: Counts,
    /// Present when the campaign has a message B.
    pub b: Option<Counts>,
    /// Reply rate A vs B; absent without a message B or before both have sends and replies
    /// to compare.
    pub reply_test: Option<ChiSquare>,
    /// Rates of `total`, `a` and `b` (same presence as the counts).
    pub rates: RatesByVariant,
    /// "Continue with the winner": absent when the campaign does not use it.
    pub auto_winner: Option<AutoWinnerStatus>,
}

/// Where "continue with the winner" stands.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AutoWinnerStatus {
    pub min_sends_each: u32,
    /// The switch, once made.
    pub switched: Option<WinnerSwitch>,
    /// Why it has not switched yet.
    pub waiting: Option<NoSwitch>,
}

/// What share of the sent messages got a reply or an opt-out, with 95% intervals, and how long
/// the first reply took.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Rates {
    /// Replied / sent; absent before anything went out.
    pub reply: Option<Rate>,
    pub opt_out: Option<Rate>,
    /// Minutes from the send to the first reply: the median over those that got one, to the
    /// nearest bucket (1-minute steps up to 10 minutes, coarser after).
    pub median_minutes_to_first_reply: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RatesByVariant {
    pub total: Rates,
    pub a: Rates,
    pub b: Option<Rates>,
}

/// The campaign's numbers from its counters (three reads).
pub async fn stats(
    services: &Services,
    campaign_id: &str,
) -> Result<CampaignStats, CampaignsError> {
    let campaign = store::load(services, campaign_id).await?.campaign;
    let planned = planned(services, campaign_id).await?;
    let totals = send_counters::campaign_totals(services, campaign_id).await?;
    Ok(from_totals(&campaign, planned, &totals))
}

/// The same numbers added up from every send (a scan of the campaign's sends): what the
/// counters must equal.
pub async fn recount(
    services: &Services,
    campaign_id: &str,
) -> Result<CampaignStats, CampaignsError> {
    let campaign = store::load(services, campaign_id).await?.campaign;
    let mut planned = (0, 0);
    let mut totals: BTreeMap<String, i64> = BTreeMap::new();
    let mut cursor = None;
    loop {
        let page = services
            .table
            .query(
                Query::partition(keys::campaign_pk(campaign_id))
                    .sk(SortKeyCondition::BeginsWith(keys::SEND_PREFIX.into()))
                    .limit(crate::ports::table::MAX_PAGE)
                    .after(cursor),
            )
            .await?;
        for item in &page.items {
            let Some(facts) = send_counters::facts(item) else {
                continue;
            };
            match facts.variant {
                Variant::A => planned.0 += 1,
                Variant::B => planned.1 += 1,
            }
            for (name, n) in counts::contribution(&facts).campaign {
                *totals.entry(name).or_insert(0) += n;
            }
        }
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    Ok(from_totals(&campaign, planned, &totals))
}

/// Sends planned with A and with B, from the campaign's tally.
async fn planned(services: &Services, campaign_id: &str) -> Result<(u64, u64), CampaignsError> {
    let tally = services.table.get(&keys::tally(campaign_id)).await?;
    let read = |variant| {
        tally
            .as_ref()
            .and_then(|t| t.get(&keys::planned(variant)))
            .and_then(Value::as_u64)
            .unwrap_or(0)
    };
    Ok((read(Variant::A), read(Variant::B)))
}

/// One variant's counts (`prefix` "a_" or "b_") and its reply-time buckets.
fn variant_counts(
    planned: u64,
    totals: &BTreeMap<String, i64>,
    variant: Variant,
) -> (Counts, BTreeMap<usize, u64>) {
    let prefix = counts::variant_prefix(variant);
    let get = |name: &str| {
        totals
            .get(&format!("{prefix}{name}"))
            .copied()
            .unwrap_or(0)
            .max(0) as u64
    };
    let failed_kind =
        |kind: FailureKind| get(&format!("{}{}", names::FAILED_PREFIX, kind.as_str()));
    let sent = get(names::SENT);
    let failed = get(names::FAILED);
    let unknown = get(names::UNKNOWN);
    let c = Counts {
        planned,
        pending: planned.saturating_sub(sent + failed + unknown),
        sent,
        delivered: get(names::DELIVERED),
        failed,
        failed_withheld: failed_kind(FailureKind::Withheld),
        failed_refused: failed_kind(FailureKind::Refused),
        failed_carrier: failed_kind(FailureKind::Carrier),
        unknown,
        replied: get(names::REPLIED),
        opted_out: get(names::OPTED_OUT),
    };
    let bucket_prefix = format!("{prefix}{}", names::REPLY_MINUTES_PREFIX);
    let buckets = totals
        .iter()
        .filter_map(|(name, n)| {
            let bucket = name.strip_prefix(&bucket_prefix)?.parse().ok()?;
            Some((bucket, (*n).max(0) as u64))
        })
        .collect();
    (c, buckets)
}

fn from_totals(
    campaign: &Campaign,
    (planned_a, planned_b): (u64, u64),
    totals: &BTreeMap<String, i64>,
) -> CampaignStats {
    let (a, buckets_a) = variant_counts(planned_a, totals, Variant::A);
    let (b, buckets_b) = variant_counts(planned_b, totals, Variant::B);
    let mut buckets_all = buckets_a.clone();
    for (k, n) in &buckets_b {
        *buckets_all.entry(*k).or_insert(0) += n;
    }
    let total = add(&a, &b);
    let has_b = campaign.settings.message_b.is_some();
    let reply_test = if has_b {
        reply_rate_test(a.sent, a.replied, b.sent, b.replied)
    } else {
        None
    };
    let rates = RatesByVariant {
        total: rates(&total, &buckets_all),
        a: rates(&a, &buckets_a),
        b: has_b.then(|| rates(&b, &buckets_b)),
    };
    let auto_winner = campaign.settings.auto_winner.map(|auto| AutoWinnerStatus {
        min_sends_each: auto.min_sends_each,
        switched: campaign.winner.clone(),
        waiting: match &campaign.winner {
            Some(_) => None,
            None => winner::decide(&auto, variant_of(&a), variant_of(&b)).err(),
        },
    });
    CampaignStats {
        campaign_id: campaign.id.to_string(),
        total,
        a,
        b: has_b.then_some(b),
        reply_test,
        rates,
        auto_winner,
    }
}

pub(super) fn variant_of(c: &Counts) -> VariantCounts {
    VariantCounts {
        sent: c.sent,
        replied: c.replied,
    }
}

fn rates(c: &Counts, buckets: &BTreeMap<usize, u64>) -> Rates {
    Rates {
        reply: wilson_95(c.replied, c.sent),
        opt_out: wilson_95(c.opted_out, c.sent),
        median_minutes_to_first_reply: counts::median_from_buckets(buckets),
    }
}

fn add(a: &Counts, b: &Counts) -> Counts {
    Counts {
        planned: a.planned + b.planned,
        pending: a.pending + b.pending,
        sent: a.sent + b.sent,
        delivered: a.delivered + b.delivered,
        failed: a.failed + b.failed,
        failed_withheld: a.failed_withheld + b.failed_withheld,
        failed_refused: a.failed_refused + b.failed_refused,
        failed_carrier: a.failed_carrier + b.failed_carrier,
        unknown: a.unknown + b.unknown,
        replied: a.replied + b.replied,
        opted_out: a.opted_out + b.opted_out,
    }
}

/// The contact's first inbound text at or after `since`.
pub(crate) async fn first_reply_since(
    services: &Services,
    contact_id: &str,
    since: DateTime<Utc>,
) -> Result<Option<crate::ports::Item>, CampaignsError> {
    let mut cursor = None;
    loop {
        let page = services
            .table
            .query(
                Query::partition(keys::contact_pk(contact_id))
                    .sk(SortKeyCondition::Between(
                        format!("{}{}", keys::ACTIVITY_PREFIX, keys::time_key(since)),
                        format!("{}~", keys::ACTIVITY_PREFIX),
                    ))
                    .limit(100)
                    .after(cursor),
            )
            .await?;
        let text =
            |i: &crate::ports::Item, k: &str| i.get(k).and_then(Value::as_str).map(str::to_string);
        if let Some(reply) = page.items.into_iter().find(|i| {
            text(i, "direction").as_deref() == Some("incoming")
                && text(i, "kind").as_deref() == Some("message")
        }) {
            return Ok(Some(reply));
        }
        match page.next {
            Some(next) => cursor = Some(next),
            None => return Ok(None),
        }
    }
}

pub(crate) async fn opted_out_since(
    services: &Services,
    phone: &str,
    since: DateTime<Utc>,
) -> Result<bool, CampaignsError> {
    let Some(item) = services.table.get(&keys::opt_out(phone)).await? else {
        return Ok(false);
    };
    if item.get("status").and_then(Value::as_str) != Some("opted_out") {
        return Ok(false);
    }
    // An opt-out from before the send would have withheld it; without a time, count it.
    let at = item
        .get("updated_at")
        .and_then(Value::as_str)
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc));
    Ok(at.is_none_or(|at| at >= since))
}

/// Sends and replies per local day of the campaign's schedule, and the replies themselves.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CampaignTimeline {
    pub days: Vec<DayCounts>,
    /// Newest first.
    pub replies: Vec<Reply>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DayCounts {
    pub date: chrono::NaiveDate,
    pub sent: u64,
    pub replied: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reply {
    pub contact_id: String,
    pub phone: String,
    pub text: String,
    pub at: Option<DateTime<Utc>>,
}

pub async fn timeline(
    services: &Services,
    campaign_id: &str,
) -> Result<CampaignTimeline, CampaignsError> {
    let campaign = store::load(services, campaign_id).await?.campaign;
    let zone = campaign.settings.schedule.zone();
    let mut days: std::collections::BTreeMap<chrono::NaiveDate, DayCounts> = Default::default();
    let mut replies = Vec::new();
    let day = |at: DateTime<Utc>| at.with_timezone(&zone).date_naive();
    for send in sends::all(services, campaign_id).await? {
        let Some(sent_at) = send
            .sent_at
            .filter(|_| matches!(send.state, SendState::Sent | SendState::Delivered))
        else {
            continue;
        };
        let date = day(sent_at);
        days.entry(date)
            .or_insert(DayCounts {
                date,
                sent: 0,
                replied: 0,
            })
            .sent += 1;
        // Only a send marked replied has a reply to read (reply detection marks it).
        if send.replied_at.is_none() {
            continue;
        }
        let Some(reply) = first_reply_since(services, &send.contact_id, sent_at).await? else {
            continue;
        };
        let field = |k: &str| reply.get(k).and_then(Value::as_str).map(str::to_string);
        let at = field("occurred_at")
            .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
            .map(|t| t.with_timezone(&Utc));
        let date = day(at.unwrap_or(sent_at));
        days.entry(date)
            .or_insert(DayCounts {
                date,
                sent: 0,
                replied: 0,
            })
            .replied += 1;
        replies.push(Reply {
            contact_id: send.contact_id.clone(),
            phone: send.phone.clone(),
            text: field("text").unwrap_or_default(),
            at,
        });
    }
    replies.sort_by_key(|r| std::cmp::Reverse(r.at));
    Ok(CampaignTimeline {
        days: days.into_values().collect(),
        replies,
    })
}
