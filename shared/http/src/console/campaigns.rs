//! Campaigns: the list (filter, search, paging), one campaign's detail (state, actions,
//! progress, funnel per variant, A/B result, sends with their reasons), and the life-cycle
//! actions, each the same use-case the API's routes call.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Extension, Router};
use serde::Deserialize;
use trickle_app::audience::lists;
use trickle_app::campaigns::stats::{self, Counts};
use trickle_app::campaigns::{self, sends, RunOutcome, SendRecord};
use trickle_domain::campaign::{CampaignState, SendState, Variant};

use super::view::{count, percent, When};
use super::{campaign_confirm, campaign_form, campaign_preview};
use super::{render, see_other, Chrome, PageResult, Signed};
use crate::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/campaigns", get(list).post(campaign_form::create))
        .route("/campaigns/new", get(campaign_form::new))
        .route("/campaigns/preview", post(campaign_preview::preview))
        .route(
            "/campaigns/audience",
            get(campaign_preview::audience_estimate),
        )
        .route("/campaigns/{id}", get(detail).post(campaign_form::update))
        .route("/campaigns/{id}/edit", get(campaign_form::edit))
        .route(
            "/campaigns/{id}/activate",
            get(campaign_confirm::confirm).post(activate),
        )
        .route("/campaigns/{id}/pause", post(pause))
        .route("/campaigns/{id}/resume", post(resume))
        .route("/campaigns/{id}/archive", post(archive))
        .route("/campaigns/{id}/duplicate", post(duplicate))
        .route("/campaigns/{id}/run", post(run))
}

#[derive(Deserialize)]
struct ListQuery {
    state: Option<String>,
    q: Option<String>,
    cursor: Option<String>,
    notice: Option<String>,
}

struct Row {
    id: String,
    name: String,
    state: &'static str,
    updated: When,
}

#[derive(Template)]
#[template(path = "campaigns.html")]
struct ListPage {
    title: String,
    chrome: Chrome,
    rows: Vec<Row>,
    state: String,
    q: String,
    next: Option<String>,
    states: [&'static str; 5],
}

async fn list(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
    Query(query): Query<ListQuery>,
) -> PageResult {
    let page = campaigns::list(&state.services, 100, query.cursor.clone()).await?;
    let wanted_state = query.state.clone().unwrap_or_default();
    let needle = query.q.clone().unwrap_or_default().to_lowercase();
    let mut rows: Vec<Row> = page
        .items
        .iter()
        .filter(|c| wanted_state.is_empty() || c.state.as_str() == wanted_state)
        .filter(|c| needle.is_empty() || c.settings.name.to_lowercase().contains(&needle))
        .map(|c| Row {
            id: c.id.to_string(),
            name: c.settings.name.clone(),
            state: c.state.as_str(),
            updated: When::of(c.updated_at),
        })
        .collect();
    rows.sort_by(|a, b| b.updated.iso.cmp(&a.updated.iso));
    Ok(render(ListPage {
        title: "Campaigns".into(),
        chrome: Chrome::new(&signed, "campaigns", state.sandbox.is_some(), query.notice),
        rows,
        state: wanted_state,
        q: query.q.unwrap_or_default(),
        next: page.next,
        states: ["draft", "active", "paused", "completed", "archived"],
    }))
}

/// One variant's funnel, as shown.
struct Funnel {
    label: &'static str,
    planned: String,
    sent: String,
    delivered: String,
    failed: String,
    replied: String,
    opted_out: String,
    reply_rate: String,
}

/// "33.3% (6.1–79.2%)": the rate and its 95% interval.
fn rate_text(rate: Option<&trickle_domain::campaign::Rate>) -> String {
    match rate {
        None => "–".into(),
        Some(r) => format!(
            "{:.1}% ({:.1}–{:.1}%)",
            r.rate * 100.0,
            r.low * 100.0,
            r.high * 100.0
        ),
    }
}

impl Funnel {
    fn of(label: &'static str, c: &Counts, rates: &trickle_app::campaigns::stats::Rates) -> Self {
        Self {
            label,
            planned: count(c.planned),
            sent: count(c.sent),
            delivered: count(c.delivered),
            failed: count(c.failed),
            replied: count(c.replied),
            opted_out: count(c.opted_out),
            reply_rate: rate_text(rates.reply.as_ref()),
        }
    }
}

/// "Continue with the winner", in words.
struct WinnerLine {
    switched: bool,
    text: String,
}

fn winner_line(status: &stats::AutoWinnerStatus) -> WinnerLine {
    use trickle_domain::campaign::winner::NoSwitch;
    match (&status.switched, status.waiting) {
        (Some(w), _) => WinnerLine {
            switched: true,
            text: format!(
                "Continuing with message {}: on {} it had the higher reply rate ({} of {} against                  {} of {}, p = {:.3}), so every contact from list position {} on gets it.",
                if w.variant == Variant::B { "B" } else { "A" },
                When::of(w.at).text,
                count(if w.variant == Variant::B { w.b.replied } else { w.a.replied }),
                count(if w.variant == Variant::B { w.b.sent } else { w.a.sent }),
                count(if w.variant == Variant::B { w.a.replied } else { w.b.replied }),
                count(if w.variant == Variant::B { w.a.sent } else { w.b.sent }),
                w.p_value,
                w.from_position + 1,
            ),
        },
        (None, Some(NoSwitch::TooFewSends)) => WinnerLine {
            switched: false,
            text: format!(
                "Continue with the winner is on: it decides once both messages have {} sends.",
                count(u64::from(status.min_sends_each))
            ),
        },
        (None, _) => WinnerLine {
            switched: false,
            text: "Continue with the winner is on: both messages have enough sends, and neither                    has a clearly higher reply rate yet, so the split goes on."
                .into(),
        },
    }
}

/// "2 failed: 1 never left (…), 1 refused by OpenPhone": absent without failures.
fn failures_text(c: &Counts) -> Option<String> {
    if c.failed == 0 {
        return None;
    }
    let parts: Vec<String> = [
        (
            c.failed_withheld,
            "never left (opted out, suppressed, no time zone or a missing value)",
        ),
        (c.failed_refused, "refused by OpenPhone"),
        (c.failed_carrier, "not delivered by the carrier"),
    ]
    .iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, what)| format!("{} {what}", count(*n)))
    .collect();
    Some(format!("{} failed: {}.", count(c.failed), parts.join(", ")))
}

struct SendRow {
    phone: String,
    contact_id: String,
    variant: &'static str,
    state: &'static str,
    why: String,
}

/// Why a send is where it is, in the operator's words.
fn reason(send: &SendRecord) -> String {
    match send.state {
        SendState::Planned => match send.not_before {
            Some(t) => format!(
                "waiting: the sender's daily limit is full until {}",
                When::of(t).text
            ),
            None => "waiting for its turn (and for quiet hours to end, if it is night where \
                     the contact lives)"
                .into(),
        },
        SendState::Sending => "being sent now".into(),
        SendState::Sent if send.delivered_at.is_some() => "delivered".into(),
        SendState::Sent => "accepted by OpenPhone; waiting for the delivery report".into(),
        SendState::Delivered => "delivered".into(),
        SendState::Failed => match &send.error {
            Some(e) => format!("failed: {e}"),
            None => "failed".into(),
        },
        SendState::Unknown => {
            "may have gone out; trickle is asking OpenPhone before it tries again".into()
        }
    }
}

/// One day of the sends-and-replies chart, laid out in the SVG's own units.
struct Bar {
    x: u32,
    sent_y: u32,
    sent_h: u32,
    replied_y: u32,
    replied_h: u32,
    label: String,
    sent: u64,
    replied: u64,
}

const CHART_HEIGHT: u32 = 120;
const BAR_SLOT: u32 = 40;

/// The last 14 days with activity, scaled to the busiest one.
fn bars(days: &[stats::DayCounts]) -> Vec<Bar> {
    let shown = &days[days.len().saturating_sub(14)..];
    let most = shown
        .iter()
        .map(|d| d.sent.max(d.replied))
        .max()
        .unwrap_or(1)
        .max(1);
    let height = |n: u64| (n * u64::from(CHART_HEIGHT) / most) as u32;
    shown
        .iter()
        .enumerate()
        .map(|(i, d)| Bar {
            x: i as u32 * BAR_SLOT + 4,
            sent_y: CHART_HEIGHT - height(d.sent),
            sent_h: height(d.sent),
            replied_y: CHART_HEIGHT - height(d.replied),
            replied_h: height(d.replied),
            label: d.date.format("%b %-d").to_string(),
            sent: d.sent,
            replied: d.replied,
        })
        .collect()
}

struct ReplyRow {
    contact_id: String,
    phone: String,
    text: String,
    at: Option<When>,
}

#[derive(Template)]
#[template(path = "campaign.html")]
struct DetailPage {
    bars: Vec<Bar>,
    chart_width: u32,
    replies: Vec<ReplyRow>,
    title: String,
    chrome: Chrome,
    id: String,
    name: String,
    state: &'static str,
    list_id: String,
    list_name: String,
    audience: String,
    sent: String,
    percent: u64,
    next_run: Option<When>,
    funnels: Vec<Funnel>,
    ab_result: Option<String>,
    /// Why sends failed, in words (absent without failures).
    failures: Option<String>,
    winner: Option<WinnerLine>,
    sends: Vec<SendRow>,
    send_state: String,
    send_states: [&'static str; 6],
    more_sends: Option<String>,
    message_a: String,
    message_b: Option<String>,
    /// "From template “X”, version 2" per message, with the template's id.
    template_a: Option<(String, String)>,
    template_b: Option<(String, String)>,
    can_edit: bool,
    can_activate: bool,
    can_pause: bool,
    can_resume: bool,
    can_archive: bool,
    can_run: bool,
}

#[derive(Deserialize)]
struct DetailQuery {
    notice: Option<String>,
    sends: Option<String>,
    cursor: Option<String>,
}

async fn detail(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
    Path(id): Path<String>,
    Query(q): Query<DetailQuery>,
) -> PageResult {
    let services = &state.services;
    let campaign = campaigns::get(services, &id).await?;
    let numbers = stats::stats(services, &id).await?;
    let list = lists::get_list(services, campaign.settings.list_id.as_str())
        .await
        .ok();
    let audience = list.as_ref().map(|l| l.member_count).unwrap_or(0);
    let mut funnels = vec![Funnel::of("All", &numbers.total, &numbers.rates.total)];
    if let Some(b) = &numbers.b {
        funnels.push(Funnel::of("Message A", &numbers.a, &numbers.rates.a));
        let b_rates = numbers.rates.b.clone().unwrap_or_default();
        funnels.push(Funnel::of("Message B", b, &b_rates));
    }
    let ab_result = numbers.reply_test.as_ref().map(|t| match t.winner {
        Some(w) => format!(
            "{}'s reply rate is higher, p = {:.3}: significant at 95%.",
            if w == Variant::B { "B" } else { "A" },
            t.p_value
        ),
        None => format!(
            "No significant difference in reply rate yet (p = {:.3}); keep sending.",
            t.p_value
        ),
    });
    let page = sends::list(services, &id, 100, q.cursor.clone()).await?;
    let send_state = q.sends.clone().unwrap_or_default();
    let sends = page
        .items
        .iter()
        .filter(|s| send_state.is_empty() || s.state.as_str().eq_ignore_ascii_case(&send_state))
        .map(|s| SendRow {
            phone: s.phone.clone(),
            contact_id: s.contact_id.clone(),
            variant: if s.variant == Variant::B { "B" } else { "A" },
            state: s.state.as_str(),
            why: reason(s),
        })
        .collect();
    let timeline = stats::timeline(services, &id).await?;
    let bars = bars(&timeline.days);
    let st = campaign.state;
    Ok(render(DetailPage {
        chart_width: (bars.len() as u32).max(1) * BAR_SLOT + 8,
        bars,
        replies: timeline
            .replies
            .into_iter()
            .take(50)
            .map(|r| ReplyRow {
                at: r.at.map(When::of),
                contact_id: r.contact_id,
                phone: r.phone,
                text: r.text,
            })
            .collect(),
        title: campaign.settings.name.clone(),
        chrome: Chrome::new(&signed, "campaigns", state.sandbox.is_some(), q.notice),
        id: id.clone(),
        name: campaign.settings.name.clone(),
        state: st.as_str(),
        list_id: campaign.settings.list_id.to_string(),
        list_name: list
            .map(|l| l.name)
            .unwrap_or_else(|| "(list not found)".into()),
        audience: count(audience),
        sent: count(numbers.total.sent),
        percent: percent(numbers.total.sent, audience),
        next_run: campaign.next_run_at.map(When::of),
        funnels,
        ab_result,
        failures: failures_text(&numbers.total),
        winner: numbers.auto_winner.as_ref().map(winner_line),
        sends,
        send_state,
        send_states: [
            "PLANNED",
            "SENDING",
            "SENT",
            "DELIVERED",
            "FAILED",
            "UNKNOWN",
        ],
        more_sends: page.next,
        message_a: campaign.settings.message_a.as_str().to_string(),
        message_b: campaign
            .settings
            .message_b
            .as_ref()
            .map(|m| m.as_str().to_string()),
        template_a: campaign.settings.template_a.as_ref().map(template_line),
        template_b: campaign.settings.template_b.as_ref().map(template_line),
        can_edit: matches!(st, CampaignState::Draft | CampaignState::Paused),
        can_activate: st == CampaignState::Draft,
        can_pause: st == CampaignState::Active,
        can_resume: st == CampaignState::Paused,
        can_archive: st != CampaignState::Archived,
        can_run: st == CampaignState::Active,
    }))
}

fn template_line(t: &trickle_domain::campaign::TemplateRef) -> (String, String) {
    (
        t.id.to_string(),
        format!(
            "From template \u{201c}{}\u{201d}, version {}",
            t.name, t.version
        ),
    )
}

fn back(id: &str, notice: &str) -> Response {
    see_other(&format!("/campaigns/{id}"), notice)
}

async fn activate(State(state): State<AppState>, Path(id): Path<String>) -> PageResult {
    campaigns::activate_within(&state.services, &id, state.budget.as_ref()).await?;
    Ok(back(
        &id,
        "Activated: the first run goes out at the next scheduled time.",
    ))
}

async fn pause(State(state): State<AppState>, Path(id): Path<String>) -> PageResult {
    campaigns::pause(&state.services, &id).await?;
    Ok(back(&id, "Paused: nothing more is sent until you resume."))
}

async fn resume(State(state): State<AppState>, Path(id): Path<String>) -> PageResult {
    campaigns::resume_within(&state.services, &id, state.budget.as_ref()).await?;
    Ok(back(&id, "Resumed."))
}

async fn archive(State(state): State<AppState>, Path(id): Path<String>) -> PageResult {
    campaigns::archive(&state.services, &id).await?;
    Ok(back(&id, "Archived."))
}

async fn duplicate(State(state): State<AppState>, Path(id): Path<String>) -> PageResult {
    let copy = campaigns::duplicate(&state.services, &id).await?;
    Ok(see_other(
        &format!("/campaigns/{}/edit", copy.id),
        "Duplicated as a new draft: edit it, then activate.",
    ))
}

async fn run(State(state): State<AppState>, Path(id): Path<String>) -> PageResult {
    let report = campaigns::run_now(&state.services, &id).await?;
    let words = match report.outcome {
        RunOutcome::Planned => format!(
            "Run started: {} planned, {} skipped, {} sent to the review list.",
            report.planned, report.skipped, report.reviewed
        ),
        RunOutcome::Continues => format!(
            "Run started: {} planned so far, {} skipped, {} sent to the review list. The rest \
             is planned in the background within a minute.",
            report.planned, report.skipped, report.reviewed
        ),
        other => format!(
            "Nothing to run now ({}).",
            format!("{other:?}").to_lowercase()
        ),
    };
    Ok(back(&id, &words))
}
