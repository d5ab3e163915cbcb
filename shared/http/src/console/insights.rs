//! Insights: the overview of a date range (totals against the range before, the best
//! campaigns) and the best time to send as a heat map of the recipients' local hour × weekday.
//! Reads the same use-cases as `/v1/insights/…`.

use askama::Template;
use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Extension, Router};
use trickle_app::insights::{self, Cell};

use super::view::count;
use super::{render, Chrome, PageResult, Signed};
use crate::insights::Range;
use crate::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/insights", get(page))
}

const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

struct Total {
    label: &'static str,
    value: String,
    /// "▲ 12% vs the previous 30 days", when there was something to compare with.
    trend: Option<(bool, String)>,
}

struct HeatCell {
    text: String,
    title: String,
    /// 0 = not enough data, 1–5 = reply-rate bands relative to the best cell.
    level: u8,
}

struct HeatRow {
    hour: String,
    cells: Vec<HeatCell>,
}

struct Ranked {
    id: String,
    name: String,
    sent: String,
    rate: String,
}

#[derive(Template)]
#[template(path = "insights.html")]
struct InsightsPage {
    title: String,
    chrome: Chrome,
    from: String,
    to: String,
    days: i64,
    totals: Vec<Total>,
    /// The overview's reply rate, and its 95% interval (shown smaller beneath it).
    reply_rate: (String, String),
    rows: Vec<HeatRow>,
    weekdays: [&'static str; 7],
    min_sends: String,
    any_coloured: bool,
    top: Vec<Ranked>,
}

fn trend(now: u64, before: u64, days: i64) -> Option<(bool, String)> {
    if before == 0 {
        return None;
    }
    let change = (now as f64 - before as f64) / before as f64 * 100.0;
    let arrow = if change >= 0.0 { "▲" } else { "▼" };
    Some((
        change >= 0.0,
        format!(
            "{arrow} {:.0}% against the {days} days before",
            change.abs()
        ),
    ))
}

fn heat(cells: &[Cell], min_sends: u64) -> Vec<HeatRow> {
    let best = cells
        .iter()
        .filter_map(|c| c.reply_rate.map(|r| r.rate))
        .fold(0.0_f64, f64::max);
    (0..24u8)
        .map(|hour| HeatRow {
            hour: format!("{hour:02}:00"),
            cells: (0..7u8)
                .map(|weekday| {
                    let c = &cells[usize::from(weekday) * 24 + usize::from(hour)];
                    let day = WEEKDAYS[usize::from(weekday)];
                    match c.reply_rate {
                        Some(r) => HeatCell {
                            text: format!("{:.0}%", r.rate * 100.0),
                            title: format!(
                                "{day} {hour:02}:00: {} replies to {} texts ({:.1}%, 95% interval {:.1}–{:.1}%)",
                                count(c.replied),
                                count(c.sent),
                                r.rate * 100.0,
                                r.low * 100.0,
                                r.high * 100.0
                            ),
                            level: if best > 0.0 {
                                1 + ((r.rate / best) * 4.0).round().min(4.0) as u8
                            } else {
                                1
                            },
                        },
                        None => HeatCell {
                            text: if c.sent == 0 { String::new() } else { "·".into() },
                            title: format!(
                                "{day} {hour:02}:00: {} texts, not enough data (a rate needs {})",
                                count(c.sent),
                                count(min_sends)
                            ),
                            level: 0,
                        },
                    }
                })
                .collect(),
        })
        .collect()
}

async fn page(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
    Query(range): Query<Range>,
) -> PageResult {
    let services = &state.services;
    let today = services.clock.now().date_naive();
    let (from, to) = range.dates(today, 30)?;
    let overview = insights::overview(services, from, to).await?;
    let grid = insights::best_time(services, from, to).await?;
    let days = (to - from).num_days() + 1;
    let (t, p) = (&overview.totals, &overview.previous);
    let totals = vec![
        Total {
            label: "texts sent",
            value: count(t.sent),
            trend: trend(t.sent, p.sent, days),
        },
        Total {
            label: "replies",
            value: count(t.replied),
            trend: trend(t.replied, p.replied, days),
        },
        Total {
            label: "opt-outs",
            value: count(t.opted_out),
            trend: trend(t.opted_out, p.opted_out, days),
        },
        Total {
            label: "failed",
            value: count(t.failed),
            trend: trend(t.failed, p.failed, days),
        },
    ];
    let rate = |r: Option<trickle_domain::campaign::Rate>| {
        r.map_or("–".into(), |r| {
            format!(
                "{:.1}% ({:.1}–{:.1}%)",
                r.rate * 100.0,
                r.low * 100.0,
                r.high * 100.0
            )
        })
    };
    let rows = heat(&grid.cells, grid.min_sends);
    Ok(render(InsightsPage {
        title: "Insights".into(),
        chrome: Chrome::new(&signed, "insights", state.sandbox.is_some(), None),
        from: from.to_string(),
        to: to.to_string(),
        days,
        totals,
        reply_rate: overview
            .reply_rate
            .map_or(("–".into(), String::new()), |r| {
                (
                    format!("{:.1}%", r.rate * 100.0),
                    format!("95% interval {:.1}–{:.1}%", r.low * 100.0, r.high * 100.0),
                )
            }),
        any_coloured: grid.cells.iter().any(|c| c.reply_rate.is_some()),
        rows,
        weekdays: WEEKDAYS,
        min_sends: count(grid.min_sends),
        top: overview
            .top_campaigns
            .into_iter()
            .map(|c| Ranked {
                name: c.name.unwrap_or_else(|| c.campaign_id.clone()),
                id: c.campaign_id,
                sent: count(c.sent),
                rate: rate(c.reply_rate),
            })
            .collect(),
    }))
}
