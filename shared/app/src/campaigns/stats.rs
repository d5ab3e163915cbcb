//! A campaign's numbers: how many sends were planned, went out, were delivered, failed, are in
//! doubt, got a reply or an opt-out — in total and per variant — with the reply and opt-out
//! rates and their 95% intervals, the median time to a first reply, and whether A or B gets
//! more replies (chi-square, 95%).
//!
//! Counting: a paged scan of the campaign's `SEND#` items (1,000 per page), plus, for every send
//! that went out, one query of the contact's activities since the send (a reply) and one read of
//! its opt-out state. Cost: ⌈sends/1000⌉ pages + 2 small reads per sent message, about 2,000
//! reads for a 1,000-contact campaign; fine for the admin screens and the CLI. Replies and
//! opt-outs are written by the webhook handler, so counters kept on the send transitions could
//! not cover them without touching that code; when campaigns grow past ~10k sends, the
//! webhook handler should add to per-campaign counters instead (same response shape).

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use trickle_domain::campaign::significance::{reply_rate_test, wilson_95, ChiSquare, Rate};
use trickle_domain::campaign::{SendState, Variant};

use super::sends::{self, SendRecord};
use super::{keys, store, CampaignsError};
use crate::ports::table::{Query, SortKeyCondition};
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
    /// May or may not have gone out; being resolved by a provider lookup.
    pub unknown: u64,
    /// Sent, and the contact wrote back after it.
    pub replied: u64,
    /// Sent, and the contact opted out after it.
    pub opted_out: u64,
}

#[derive(Debug, Clone, Serialize)]
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
}

/// What share of the sent messages got a reply or an opt-out, with 95% intervals, and how long
/// the first reply took.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Rates {
    /// Replied / sent; absent before anything went out.
    pub reply: Option<Rate>,
    pub opt_out: Option<Rate>,
    /// Minutes from the send to the first reply, the median over those that got one.
    pub median_minutes_to_first_reply: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RatesByVariant {
    pub total: Rates,
    pub a: Rates,
    pub b: Option<Rates>,
}

fn rates(c: &Counts, minutes: &mut [f64]) -> Rates {
    Rates {
        reply: wilson_95(c.replied, c.sent),
        opt_out: wilson_95(c.opted_out, c.sent),
        median_minutes_to_first_reply: median(minutes),
    }
}

fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    Some(if values.len().is_multiple_of(2) {
        (values[mid - 1] + values[mid]) / 2.0
    } else {
        values[mid]
    })
}

pub async fn stats(
    services: &Services,
    campaign_id: &str,
) -> Result<CampaignStats, CampaignsError> {
    let campaign = store::load(services, campaign_id).await?.campaign;
    let mut total = Counts::default();
    let mut a = Counts::default();
    let mut b = Counts::default();
    let (mut minutes_a, mut minutes_b) = (Vec::new(), Vec::new());
    for send in sends::all(services, campaign_id).await? {
        let (counts, minutes) = tally(services, &send).await?;
        if let Some(m) = minutes {
            if send.variant == Variant::B {
                minutes_b.push(m);
            } else {
                minutes_a.push(m);
            }
        }
        for c in [
            &mut total,
            if send.variant == Variant::B {
                &mut b
            } else {
                &mut a
            },
        ] {
            add(c, &counts);
        }
    }
    let has_b = campaign.settings.message_b.is_some();
    let reply_test = if has_b {
        reply_rate_test(a.sent, a.replied, b.sent, b.replied)
    } else {
        None
    };
    let mut minutes_all: Vec<f64> = minutes_a.iter().chain(&minutes_b).copied().collect();
    let rates = RatesByVariant {
        total: rates(&total, &mut minutes_all),
        a: rates(&a, &mut minutes_a),
        b: has_b.then(|| rates(&b, &mut minutes_b)),
    };
    Ok(CampaignStats {
        campaign_id: campaign_id.to_string(),
        total,
        a,
        b: has_b.then_some(b),
        reply_test,
        rates,
    })
}

fn add(to: &mut Counts, c: &Counts) {
    to.planned += c.planned;
    to.pending += c.pending;
    to.sent += c.sent;
    to.delivered += c.delivered;
    to.failed += c.failed;
    to.unknown += c.unknown;
    to.replied += c.replied;
    to.opted_out += c.opted_out;
}

/// One send's contribution, and the minutes its first reply took (if it got one).
async fn tally(
    services: &Services,
    send: &SendRecord,
) -> Result<(Counts, Option<f64>), CampaignsError> {
    let mut c = Counts {
        planned: 1,
        ..Counts::default()
    };
    match send.state {
        SendState::Planned | SendState::Sending => c.pending = 1,
        SendState::Failed => c.failed = 1,
        SendState::Unknown => c.unknown = 1,
        SendState::Sent => c.sent = 1,
        SendState::Delivered => {
            c.sent = 1;
            c.delivered = 1;
        }
    }
    let mut minutes = None;
    if c.sent == 1 {
        let since = send.sent_at.unwrap_or(send.updated_at);
        if let Some(reply) = first_reply_since(services, &send.contact_id, since).await? {
            c.replied = 1;
            minutes = reply_time(&reply).map(|at| (at - since).num_seconds().max(0) as f64 / 60.0);
        }
        c.opted_out = u64::from(opted_out_since(services, &send.phone, since).await?);
    }
    Ok((c, minutes))
}

/// When an activity happened: its `occurred_at`, else the time in its sort key.
fn reply_time(item: &crate::ports::Item) -> Option<DateTime<Utc>> {
    let parse = |t: &str| {
        DateTime::parse_from_rfc3339(t)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    };
    item.get("occurred_at")
        .and_then(Value::as_str)
        .and_then(parse)
        .or_else(|| {
            item.get("sk")
                .and_then(Value::as_str)
                .and_then(|sk| sk.strip_prefix(keys::ACTIVITY_PREFIX))
                .and_then(|rest| rest.split('#').next())
                .and_then(parse)
        })
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
