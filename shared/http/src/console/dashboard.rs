//! The dashboard: active campaigns with progress, this deployment's totals, webhook health,
//! what waits for the operator (review list, failed events), and sign-out.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use serde::Deserialize;
use trickle_app::audience::model::ImportStatus;
use trickle_app::audience::{lists, store};
use trickle_app::campaigns::{self, review, stats};
use trickle_app::health;
use trickle_app::webhooks::events::{self, EventFilter, EventStatus};
use trickle_domain::campaign::CampaignState;

use super::view::{count, percent, When};
use super::{over_https, render, session, Chrome, PageResult, Signed};
use crate::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(dashboard))
        .route("/sign-out", post(sign_out))
}

#[derive(Deserialize)]
pub(crate) struct Notice {
    pub notice: Option<String>,
}

pub(crate) struct Progress {
    pub id: String,
    pub name: String,
    pub state: &'static str,
    pub sent: String,
    pub audience: String,
    pub percent: u64,
    pub next_run: Option<When>,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    title: String,
    chrome: Chrome,
    running: Vec<Progress>,
    sent: String,
    replied: String,
    opted_out: String,
    health_status: String,
    failing_since: Option<When>,
    last_webhook: Option<When>,
    review_waiting: String,
    failed_events: String,
    replies: Vec<RecentReply>,
    imports: Vec<ImportInProgress>,
}

struct RecentReply {
    campaign_id: String,
    campaign: String,
    contact_id: String,
    phone: String,
    text: String,
    at: Option<When>,
}

struct ImportInProgress {
    id: String,
    list_name: String,
    status: &'static str,
    checked: String,
    to_check: String,
    percent: u64,
}

async fn dashboard(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
    Query(q): Query<Notice>,
) -> PageResult {
    let services = &state.services;
    let page = campaigns::list(services, 200, None).await?;
    let mut running = Vec::new();
    let mut replies = Vec::new();
    let (mut sent, mut replied, mut opted_out) = (0, 0, 0);
    // Running ones, and those that finished this week (so a short campaign does not vanish).
    let week_ago = services.clock.now() - chrono::Duration::days(7);
    for campaign in page.items {
        let recent = campaign.state == CampaignState::Completed && campaign.updated_at > week_ago;
        if !(recent
            || matches!(
                campaign.state,
                CampaignState::Active | CampaignState::Paused
            ))
        {
            continue;
        }
        let totals = stats::stats(services, campaign.id.as_str()).await?.total;
        if totals.replied > 0 {
            for r in stats::timeline(services, campaign.id.as_str())
                .await?
                .replies
            {
                replies.push(RecentReply {
                    campaign_id: campaign.id.to_string(),
                    campaign: campaign.settings.name.clone(),
                    contact_id: r.contact_id,
                    phone: r.phone,
                    text: r.text,
                    at: r.at.map(When::of),
                });
            }
        }
        sent += totals.sent;
        replied += totals.replied;
        opted_out += totals.opted_out;
        let audience = lists::get_list(services, campaign.settings.list_id.as_str())
            .await
            .map(|l| l.member_count)
            .unwrap_or(0);
        running.push(Progress {
            id: campaign.id.to_string(),
            name: campaign.settings.name.clone(),
            state: campaign.state.as_str(),
            sent: count(totals.sent),
            audience: count(audience),
            percent: percent(totals.sent, audience),
            next_run: campaign.next_run_at.map(When::of),
        });
    }
    // Newest first across campaigns; a few are enough here (each campaign page has them all).
    replies.sort_by(|a, b| {
        let key = |r: &RecentReply| r.at.as_ref().map(|w| w.iso.clone());
        key(b).cmp(&key(a))
    });
    replies.truncate(5);
    let imports = imports_in_progress(services).await?;
    let health = health::current(services, &crate::health::queue_names()).await?;
    let review = review::list(services, 100, None).await?;
    let failed = events::list(
        services,
        EventFilter {
            status: Some(EventStatus::Failed),
            event_type: None,
            limit: 100,
            cursor: None,
        },
    )
    .await?;
    Ok(render(DashboardPage {
        title: "Dashboard".into(),
        chrome: Chrome::new(&signed, "dashboard", state.sandbox.is_some(), q.notice),
        running,
        sent: count(sent),
        replied: count(replied),
        opted_out: count(opted_out),
        health_status: super::view::text(&health, "status"),
        failing_since: When::parse(health.get("failing_since")),
        last_webhook: When::parse(health.get("last_webhook_at")),
        review_waiting: more(review.items.len(), review.next.is_some()),
        failed_events: more(failed.items.len(), failed.next.is_some()),
        replies,
        imports,
    }))
}

/// Imports among the ten most recent that are still working (or paused, waiting for a person).
async fn imports_in_progress(
    services: &trickle_app::Services,
) -> Result<Vec<ImportInProgress>, super::ConsoleError> {
    let recent = store::recent(services, 10).await?;
    Ok(recent
        .into_iter()
        .filter(|i| {
            matches!(
                i.status,
                ImportStatus::Uploaded
                    | ImportStatus::Parsing
                    | ImportStatus::Validating
                    | ImportStatus::Paused
            )
        })
        .map(|i| ImportInProgress {
            percent: percent(i.validated, i.distinct),
            checked: count(i.validated),
            to_check: count(i.distinct),
            status: i.status.as_str(),
            list_name: i.list_name,
            id: i.id,
        })
        .collect())
}

/// `100+` when there is another page.
fn more(n: usize, another: bool) -> String {
    if another {
        format!("{n}+")
    } else {
        n.to_string()
    }
}

async fn sign_out(headers: HeaderMap) -> Response {
    (
        [(
            header::SET_COOKIE,
            session::set_cookie(None, over_https(&headers)),
        )],
        Redirect::to("/sign-in"),
    )
        .into_response()
}
