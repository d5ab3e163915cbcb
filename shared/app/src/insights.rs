//! Across campaigns: the best time to send (replies and reply rate by the recipient's local
//! weekday and hour) and the overview of a date range (sends, replies, opt-outs, failures per
//! day, against the range before it, and the campaigns with the best reply rate).
//!
//! Both read the daily counters kept as sends settle (`crate::send_counters`): one paged query
//! of `SHARDS` items per day of the range, whatever the number of sends. Days are the recipients'
//! local days; a reply counts in the cell and on the day its message went out.

use std::collections::BTreeMap;

use chrono::{Duration, NaiveDate};
use serde::Serialize;
use trickle_domain::campaign::counts::{names, replied_cell, sent_cell};
use trickle_domain::campaign::significance::{wilson_95, Rate};

use crate::ports::TableError;
use crate::send_counters;
use crate::Services;

/// Fewer sends than this in a cell and its rate says nothing yet: "not enough data".
pub const MIN_SENDS_PER_CELL: u64 = 20;
/// The longest range one request reads (a year and a day).
pub const MAX_RANGE_DAYS: i64 = 366;

#[derive(Debug, thiserror::Error)]
pub enum InsightsError {
    #[error("the range must end on or after its start, and cover at most {MAX_RANGE_DAYS} days")]
    Range,
    #[error(transparent)]
    Store(#[from] TableError),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BestTime {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub min_sends: u64,
    /// 7 × 24 cells, Monday 00:00 first.
    pub cells: Vec<Cell>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cell {
    /// 0 = Monday … 6 = Sunday.
    pub weekday: u8,
    pub hour: u8,
    pub sent: u64,
    pub replied: u64,
    /// Present only with at least `min_sends` sends.
    pub reply_rate: Option<Rate>,
}

/// Sends, replies and reply rates by the recipient's local weekday and hour, `from`..=`to`.
pub async fn best_time(
    services: &Services,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<BestTime, InsightsError> {
    check(from, to)?;
    let days = send_counters::days(services, from, to).await?;
    Ok(grid(from, to, days.values()))
}

/// The grid of summed daily counters.
pub fn grid<'a>(
    from: NaiveDate,
    to: NaiveDate,
    days: impl IntoIterator<Item = &'a BTreeMap<String, i64>>,
) -> BestTime {
    let mut sum: BTreeMap<&str, i64> = BTreeMap::new();
    for day in days {
        for (name, n) in day {
            *sum.entry(name.as_str()).or_insert(0) += n;
        }
    }
    let get = |name: &str| sum.get(name).copied().unwrap_or(0).max(0) as u64;
    let mut cells = Vec::with_capacity(7 * 24);
    for weekday in 0..7u8 {
        for hour in 0..24u8 {
            let sent = get(&sent_cell(weekday, hour));
            let replied = get(&replied_cell(weekday, hour));
            cells.push(Cell {
                weekday,
                hour,
                sent,
                replied,
                reply_rate: (sent >= MIN_SENDS_PER_CELL)
                    .then(|| wilson_95(replied, sent))
                    .flatten(),
            });
        }
    }
    BestTime {
        from,
        to,
        min_sends: MIN_SENDS_PER_CELL,
        cells,
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    pub sent: u64,
    pub delivered: u64,
    pub failed: u64,
    pub replied: u64,
    pub opted_out: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DayTotals {
    pub date: NaiveDate,
    #[serde(flatten)]
    pub totals: Totals,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CampaignRank {
    pub campaign_id: String,
    pub name: Option<String>,
    pub sent: u64,
    pub replied: u64,
    pub reply_rate: Option<Rate>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Overview {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub totals: Totals,
    /// The same length of time just before `from`: the trend.
    pub previous: Totals,
    pub reply_rate: Option<Rate>,
    pub opt_out_rate: Option<Rate>,
    /// Every day of the range, empty days included.
    pub days: Vec<DayTotals>,
    /// The campaigns with the highest reply rate in the range (at least
    /// [`MIN_SENDS_PER_CELL`] sends), best first, at most 5.
    pub top_campaigns: Vec<CampaignRank>,
}

fn totals(day: &BTreeMap<String, i64>) -> Totals {
    let get = |name: &str| day.get(name).copied().unwrap_or(0).max(0) as u64;
    Totals {
        sent: get(names::SENT),
        delivered: get(names::DELIVERED),
        failed: get(names::FAILED),
        replied: get(names::REPLIED),
        opted_out: get(names::OPTED_OUT),
    }
}

fn add(to: &mut Totals, t: &Totals) {
    to.sent += t.sent;
    to.delivered += t.delivered;
    to.failed += t.failed;
    to.replied += t.replied;
    to.opted_out += t.opted_out;
}

fn check(from: NaiveDate, to: NaiveDate) -> Result<(), InsightsError> {
    if to < from || (to - from).num_days() >= MAX_RANGE_DAYS {
        return Err(InsightsError::Range);
    }
    Ok(())
}

pub async fn overview(
    services: &Services,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Overview, InsightsError> {
    check(from, to)?;
    let length = (to - from).num_days() + 1;
    let days = send_counters::days(services, from, to).await?;
    let before = send_counters::days(
        services,
        from - Duration::days(length),
        from - Duration::days(1),
    )
    .await?;
    let mut all = Totals::default();
    let mut per_day = Vec::new();
    let mut by_campaign: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let mut date = from;
    while date <= to {
        let t = days.get(&date).map(totals).unwrap_or_default();
        add(&mut all, &t);
        per_day.push(DayTotals { date, totals: t });
        date += Duration::days(1);
    }
    for day in days.values() {
        for (name, n) in day {
            let Some(rest) = name.strip_prefix(names::CAMPAIGN_DAY_PREFIX) else {
                continue;
            };
            let n = (*n).max(0) as u64;
            if let Some(id) = rest.strip_suffix(&format!("_{}", names::SENT)) {
                by_campaign.entry(id.to_string()).or_default().0 += n;
            } else if let Some(id) = rest.strip_suffix(&format!("_{}", names::REPLIED)) {
                by_campaign.entry(id.to_string()).or_default().1 += n;
            }
        }
    }
    let mut previous = Totals::default();
    for day in before.values() {
        add(&mut previous, &totals(day));
    }
    let mut ranked: Vec<CampaignRank> = by_campaign
        .into_iter()
        .filter(|(_, (sent, _))| *sent >= MIN_SENDS_PER_CELL)
        .map(|(campaign_id, (sent, replied))| CampaignRank {
            campaign_id,
            name: None,
            sent,
            replied,
            reply_rate: wilson_95(replied, sent),
        })
        .collect();
    ranked.sort_by(|a, b| {
        let rate = |r: &CampaignRank| r.reply_rate.map_or(0.0, |r| r.rate);
        rate(b).total_cmp(&rate(a)).then(b.sent.cmp(&a.sent))
    });
    ranked.truncate(5);
    for rank in &mut ranked {
        rank.name = crate::campaigns::get(services, &rank.campaign_id)
            .await
            .ok()
            .map(|c| c.settings.name);
    }
    Ok(Overview {
        from,
        to,
        reply_rate: wilson_95(all.replied, all.sent),
        opt_out_rate: wilson_95(all.opted_out, all.sent),
        totals: all,
        previous,
        days: per_day,
        top_campaigns: ranked,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_cells_with_enough_sends_get_a_rate() {
        let day: BTreeMap<String, i64> = [
            (sent_cell(0, 9), 25),
            (replied_cell(0, 9), 5),
            (sent_cell(4, 17), 19),
            (replied_cell(4, 17), 19),
        ]
        .into_iter()
        .collect();
        let d = NaiveDate::from_ymd_opt(2026, 3, 2).unwrap();
        let g = grid(d, d, [&day, &day]);
        assert_eq!(g.cells.len(), 168);
        let monday_nine = &g.cells[9];
        assert_eq!((monday_nine.sent, monday_nine.replied), (50, 10));
        assert!((monday_nine.reply_rate.unwrap().rate - 0.2).abs() < 1e-12);
        let friday_five = &g.cells[4 * 24 + 17];
        assert_eq!(friday_five.sent, 38);
        assert!(friday_five.reply_rate.is_some());
        let single = grid(d, d, [&day]);
        assert_eq!(
            single.cells[4 * 24 + 17].reply_rate,
            None,
            "19 sends: not enough"
        );
    }

    #[test]
    fn a_range_must_run_forward_and_stay_under_a_year() {
        let d = |m, day| NaiveDate::from_ymd_opt(2026, m, day).unwrap();
        assert!(check(d(3, 2), d(3, 1)).is_err());
        assert!(check(d(1, 1), d(12, 31)).is_ok());
        assert!(check(d(1, 1), d(1, 1)).is_ok());
        assert!(check(NaiveDate::from_ymd_opt(2025, 1, 1).unwrap(), d(1, 2)).is_err());
    }
}
