//! What one send adds to its campaign's counters, and to the account's best-time and daily
//! counters: [`contribution`] of a send's facts. Every write that changes a send's facts adds
//! `contribution(after) − contribution(before)` ([`delta`]) in the same conditional
//! transaction, so the counters always equal the sum of the contributions of the sends as they
//! are stored: a recount by scanning gives the same numbers (tested), and a write that loses its
//! condition adds nothing.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::send::SendState;
use super::variant::Variant;

/// Why a send failed, as the counters break failures down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// Never left: the contact opted out or was suppressed after planning, has no time zone,
    /// no longer exists, or lacks a value for a token.
    Withheld,
    /// The provider refused the message.
    Refused,
    /// The provider accepted it and the carrier did not deliver it.
    Carrier,
}

impl FailureKind {
    pub const ALL: [FailureKind; 3] = [
        FailureKind::Withheld,
        FailureKind::Refused,
        FailureKind::Carrier,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::Withheld => "withheld",
            FailureKind::Refused => "refused",
            FailureKind::Carrier => "carrier",
        }
    }

    /// The kind of a failure that happened in state `from`.
    pub fn of_failure_from(from: SendState) -> FailureKind {
        match from {
            SendState::Planned => FailureKind::Withheld,
            SendState::Sent | SendState::Delivered => FailureKind::Carrier,
            SendState::Sending | SendState::Unknown | SendState::Failed => FailureKind::Refused,
        }
    }
}

/// When a message went out, in its recipient's local time: the cell of the best-time grid it
/// counts in, and the day of the daily counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LocalSendTime {
    pub date: NaiveDate,
    pub hour: u8,
}

impl LocalSendTime {
    /// `at` in `zone` (DST applies: the same UTC hour is a different local hour in July).
    pub fn at(at: DateTime<Utc>, zone: Tz) -> Self {
        let local = at.with_timezone(&zone);
        Self {
            date: local.date_naive(),
            hour: local.hour() as u8,
        }
    }

    /// 0 = Monday … 6 = Sunday.
    pub fn weekday(&self) -> u8 {
        self.date.weekday().num_days_from_monday() as u8
    }

    /// Stored on the send as `YYYY-MM-DDTHH`.
    pub fn encode(&self) -> String {
        format!("{}T{:02}", self.date.format("%Y-%m-%d"), self.hour)
    }

    pub fn decode(text: &str) -> Option<Self> {
        let (date, hour) = text.split_once('T')?;
        let hour: u8 = hour.parse().ok().filter(|h| *h < 24)?;
        Some(Self {
            date: NaiveDate::parse_from_str(date, "%Y-%m-%d").ok()?,
            hour,
        })
    }
}

/// Everything about one send that a counter depends on.
#[derive(Debug, Clone, PartialEq)]
pub struct SendFacts {
    pub campaign_id: String,
    pub variant: Variant,
    pub state: SendState,
    pub failure: Option<FailureKind>,
    pub delivered: bool,
    /// Minutes from the send to the contact's first reply after it.
    pub reply_minutes: Option<f64>,
    pub opted_out: bool,
    pub sent_local: Option<LocalSendTime>,
}

impl SendFacts {
    /// Out at the provider (SENT or DELIVERED): only these count as sent, replied, opted out.
    fn out(&self) -> bool {
        matches!(self.state, SendState::Sent | SendState::Delivered)
    }
}

/// Counter name → amount: what one send adds to each item it counts in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Contribution {
    /// To its campaign's counters; names carry the variant (`a_sent`, `b_replied`, …).
    pub campaign: BTreeMap<String, i64>,
    /// To the account's counters of the recipient-local day it went out on
    /// (`sent`, `replied`, `s<weekday>_<hour>`, `r<weekday>_<hour>`, `c_<campaign>_sent`, …).
    pub days: Vec<(NaiveDate, BTreeMap<String, i64>)>,
}

/// The variant prefix of a campaign counter.
pub fn variant_prefix(variant: Variant) -> &'static str {
    match variant {
        Variant::A => "a_",
        Variant::B => "b_",
    }
}

/// Names of the campaign counters (before the variant prefix).
pub mod names {
    pub const SENT: &str = "sent";
    pub const DELIVERED: &str = "delivered";
    pub const FAILED: &str = "failed";
    pub const UNKNOWN: &str = "unknown";
    pub const REPLIED: &str = "replied";
    pub const OPTED_OUT: &str = "opted_out";
    /// `failed_<kind>`.
    pub const FAILED_PREFIX: &str = "failed_";
    /// `reply_m<bucket>`: replies whose first answer took that bucket's minutes.
    pub const REPLY_MINUTES_PREFIX: &str = "reply_m";
    /// Campaign-day counters in the daily items: `c_<campaign id>_sent`, `c_<id>_replied`.
    pub const CAMPAIGN_DAY_PREFIX: &str = "c_";
}

/// The grid cell names of the daily items.
pub fn sent_cell(weekday: u8, hour: u8) -> String {
    format!("s{weekday}_{hour:02}")
}

pub fn replied_cell(weekday: u8, hour: u8) -> String {
    format!("r{weekday}_{hour:02}")
}

pub fn contribution(f: &SendFacts) -> Contribution {
    use names::*;
    let mut campaign = BTreeMap::new();
    let v = variant_prefix(f.variant);
    let mut one = |name: &str| {
        campaign.insert(format!("{v}{name}"), 1);
    };
    match f.state {
        SendState::Planned | SendState::Sending => {}
        SendState::Unknown => one(UNKNOWN),
        SendState::Failed => {
            one(FAILED);
            let kind = f.failure.unwrap_or(FailureKind::Refused);
            one(&format!("{FAILED_PREFIX}{}", kind.as_str()));
        }
        SendState::Sent | SendState::Delivered => one(SENT),
    }
    let out = f.out();
    if out && f.delivered {
        one(DELIVERED);
    }
    if out && f.opted_out {
        one(OPTED_OUT);
    }
    if let (true, Some(minutes)) = (out, f.reply_minutes) {
        one(REPLIED);
        one(&format!(
            "{REPLY_MINUTES_PREFIX}{}",
            reply_minutes_bucket(minutes)
        ));
    }
    let days = f
        .sent_local
        .filter(|_| out || f.state == SendState::Failed)
        .map(|local| {
            let mut day = BTreeMap::new();
            let (w, h) = (local.weekday(), local.hour);
            let c = format!("{CAMPAIGN_DAY_PREFIX}{}_", f.campaign_id);
            if f.state == SendState::Failed {
                day.insert(FAILED.to_string(), 1);
            }
            if out {
                day.insert(SENT.to_string(), 1);
                day.insert(sent_cell(w, h), 1);
                day.insert(format!("{c}{SENT}"), 1);
                if f.delivered {
                    day.insert(DELIVERED.to_string(), 1);
                }
                if f.opted_out {
                    day.insert(OPTED_OUT.to_string(), 1);
                }
                if f.reply_minutes.is_some() {
                    day.insert(REPLIED.to_string(), 1);
                    day.insert(replied_cell(w, h), 1);
                    day.insert(format!("{c}{REPLIED}"), 1);
                }
            }
            (local.date, day)
        });
    Contribution {
        campaign,
        days: days.into_iter().collect(),
    }
}

/// What changes when a send's facts go from `before` to `after`: only non-zero amounts.
pub fn delta(before: &SendFacts, after: &SendFacts) -> Contribution {
    let (b, a) = (contribution(before), contribution(after));
    let mut days: BTreeMap<NaiveDate, BTreeMap<String, i64>> = BTreeMap::new();
    for (date, counts) in b.days {
        let entry = days.entry(date).or_default();
        for (k, v) in counts {
            *entry.entry(k).or_insert(0) -= v;
        }
    }
    for (date, counts) in a.days {
        let entry = days.entry(date).or_default();
        for (k, v) in counts {
            *entry.entry(k).or_insert(0) += v;
        }
    }
    Contribution {
        campaign: difference(&b.campaign, &a.campaign),
        days: days
            .into_iter()
            .map(|(date, mut counts)| {
                counts.retain(|_, v| *v != 0);
                (date, counts)
            })
            .filter(|(_, counts)| !counts.is_empty())
            .collect(),
    }
}

fn difference(
    before: &BTreeMap<String, i64>,
    after: &BTreeMap<String, i64>,
) -> BTreeMap<String, i64> {
    let mut d: BTreeMap<String, i64> = after.clone();
    for (k, v) in before {
        *d.entry(k.clone()).or_insert(0) -= v;
    }
    d.retain(|_, v| *v != 0);
    d
}

/// Upper bounds (minutes) of the reply-time buckets: 1-minute steps to 10, then coarser; the
/// last bucket holds everything later. A median read from them is exact to its bucket.
pub const REPLY_MINUTE_BOUNDS: [f64; 24] = [
    1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 15.0, 20.0, 30.0, 45.0, 60.0, 90.0, 120.0,
    180.0, 240.0, 360.0, 720.0, 1440.0, 2880.0, 10080.0,
];

/// The bucket (0-based) of a reply that came `minutes` after its send.
pub fn reply_minutes_bucket(minutes: f64) -> usize {
    REPLY_MINUTE_BOUNDS
        .iter()
        .position(|bound| minutes < *bound)
        .unwrap_or(REPLY_MINUTE_BOUNDS.len())
}

/// The median time to a first reply from bucket counts (index → count): the midpoint of the
/// bucket holding the middle reply (the last, open bucket reports its lower bound).
pub fn median_from_buckets(counts: &BTreeMap<usize, u64>) -> Option<f64> {
    let total: u64 = counts.values().sum();
    if total == 0 {
        return None;
    }
    let middle = total.div_ceil(2);
    let mut seen = 0;
    for (bucket, n) in counts {
        seen += n;
        if seen >= middle {
            let low = if *bucket == 0 {
                0.0
            } else {
                REPLY_MINUTE_BOUNDS[(*bucket - 1).min(REPLY_MINUTE_BOUNDS.len() - 1)]
            };
            return Some(match REPLY_MINUTE_BOUNDS.get(*bucket) {
                Some(high) => (low + high) / 2.0,
                None => low,
            });
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn facts(state: SendState) -> SendFacts {
        SendFacts {
            campaign_id: "cp_1".into(),
            variant: Variant::B,
            state,
            failure: None,
            delivered: false,
            reply_minutes: None,
            opted_out: false,
            sent_local: None,
        }
    }

    #[test]
    fn a_reply_counts_only_on_a_send_that_went_out() {
        let local = LocalSendTime::decode("2026-03-02T09").unwrap();
        let before = SendFacts {
            sent_local: Some(local),
            ..facts(SendState::Sent)
        };
        let after = SendFacts {
            reply_minutes: Some(12.0),
            ..before.clone()
        };
        let d = delta(&before, &after);
        assert_eq!(d.campaign.get("b_replied"), Some(&1));
        assert_eq!(d.campaign.get("b_reply_m10"), Some(&1));
        assert_eq!(d.campaign.len(), 2);
        let (date, day) = d.days[0].clone();
        assert_eq!(date, local.date);
        // 2 March 2026 is a Monday.
        assert_eq!(day.get("r0_09"), Some(&1));
        assert_eq!(day.get("c_cp_1_replied"), Some(&1));
        // A carrier failure afterwards takes the send, its reply and its cell back out.
        let failed = SendFacts {
            state: SendState::Failed,
            failure: Some(FailureKind::Carrier),
            ..after.clone()
        };
        let d = delta(&after, &failed);
        assert_eq!(d.campaign.get("b_sent"), Some(&-1));
        assert_eq!(d.campaign.get("b_replied"), Some(&-1));
        assert_eq!(d.campaign.get("b_failed_carrier"), Some(&1));
        let (_, day) = d.days[0].clone();
        assert_eq!(day.get("s0_09"), Some(&-1));
        assert_eq!(day.get("failed"), Some(&1));
        // Nothing changes, nothing is written.
        assert_eq!(delta(&after, &after), Contribution::default());
        assert!(contribution(&SendFacts {
            reply_minutes: Some(3.0),
            ..facts(SendState::Planned)
        })
        .campaign
        .is_empty());
    }

    #[test]
    fn the_local_send_time_follows_the_recipients_zone_and_daylight_saving() {
        let ny: Tz = "America/New_York".parse().unwrap();
        let la: Tz = "America/Los_Angeles".parse().unwrap();
        // 14:00 UTC: 9:00 in New York in winter, 10:00 in summer; 6:00 in Los Angeles.
        let winter = Utc.with_ymd_and_hms(2026, 3, 6, 14, 0, 0).unwrap();
        let summer = Utc.with_ymd_and_hms(2026, 3, 9, 14, 0, 0).unwrap();
        assert_eq!(LocalSendTime::at(winter, ny).hour, 9);
        assert_eq!(LocalSendTime::at(summer, ny).hour, 10);
        assert_eq!(LocalSendTime::at(winter, la).hour, 6);
        // 03:00 UTC on a Tuesday is still Monday evening in Los Angeles.
        let late = Utc.with_ymd_and_hms(2026, 3, 3, 3, 0, 0).unwrap();
        let t = LocalSendTime::at(late, la);
        assert_eq!((t.weekday(), t.hour), (0, 19));
        assert_eq!(LocalSendTime::decode(&t.encode()), Some(t));
        assert_eq!(LocalSendTime::decode("2026-03-03T24"), None);
    }

    #[test]
    fn the_median_reply_time_is_read_from_its_bucket() {
        assert_eq!(reply_minutes_bucket(0.5), 0);
        assert_eq!(reply_minutes_bucket(12.0), 10);
        assert_eq!(reply_minutes_bucket(99_999.0), REPLY_MINUTE_BOUNDS.len());
        let counts: BTreeMap<usize, u64> = [(0, 1), (10, 1), (13, 1)].into_iter().collect();
        assert_eq!(median_from_buckets(&counts), Some(12.5));
        assert_eq!(median_from_buckets(&BTreeMap::new()), None);
        let last: BTreeMap<usize, u64> = [(REPLY_MINUTE_BOUNDS.len(), 1)].into_iter().collect();
        assert_eq!(median_from_buckets(&last), Some(10080.0));
    }

    #[test]
    fn failures_are_told_apart_by_the_state_they_left() {
        assert_eq!(
            FailureKind::of_failure_from(SendState::Planned),
            FailureKind::Withheld
        );
        assert_eq!(
            FailureKind::of_failure_from(SendState::Sending),
            FailureKind::Refused
        );
        assert_eq!(
            FailureKind::of_failure_from(SendState::Sent),
            FailureKind::Carrier
        );
    }
}
