//! The review list: contacts a campaign skipped for a person to look at, and the two decisions
//! (release to the campaign, dismiss), through the same use-cases as `/v1/review`.

use askama::Template;
use axum::extract::{Query, State};
use axum::routing::{get, post};
use axum::{Extension, Router};
use serde::Deserialize;
use trickle_app::campaigns::{self, review, CampaignsError};
use trickle_domain::campaign::SkipReason;

use super::view::When;
use super::{render, see_other, Chrome, Form, PageResult, Signed};
use crate::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/review", get(review_list))
        .route("/review/dismiss", post(dismiss_review))
        .route("/review/release", post(release_review))
}

struct ReviewRow {
    id: String,
    contact_id: String,
    phone: String,
    campaign_id: String,
    campaign_name: String,
    reason: String,
    added: When,
}

#[derive(Template)]
#[template(path = "review.html")]
struct ReviewPage {
    title: String,
    chrome: Chrome,
    rows: Vec<ReviewRow>,
    next: Option<String>,
}

#[derive(Deserialize)]
struct Paging {
    cursor: Option<String>,
    notice: Option<String>,
}

async fn review_list(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
    Query(q): Query<Paging>,
) -> PageResult {
    let page = review::list(&state.services, 100, q.cursor).await?;
    // A page holds entries of a few campaigns: read each campaign's name once.
    let mut names = std::collections::HashMap::new();
    let mut rows = Vec::with_capacity(page.items.len());
    for listed in page.items {
        let r = listed.entry;
        if !names.contains_key(&r.campaign_id) {
            let name = match campaigns::get(&state.services, &r.campaign_id).await {
                Ok(c) => c.settings.name,
                Err(_) => "a deleted campaign".to_string(),
            };
            names.insert(r.campaign_id.clone(), name);
        }
        rows.push(ReviewRow {
            id: listed.id,
            reason: match r.reason {
                SkipReason::RecentContact => "contacted recently".to_string(),
                SkipReason::PreviousCommunication => "talked with you before".to_string(),
                other => serde_json::to_value(other)
                    .ok()
                    .and_then(|v| v.as_str().map(|s| s.replace('_', " ")))
                    .unwrap_or_default(),
            },
            added: When::of(r.added_at),
            campaign_name: names[&r.campaign_id].clone(),
            contact_id: r.contact_id,
            phone: r.phone,
            campaign_id: r.campaign_id,
        });
    }
    Ok(render(ReviewPage {
        title: "Review list".into(),
        chrome: Chrome::new(&signed, "review", state.sandbox.is_some(), q.notice),
        rows,
        next: page.next,
    }))
}

/// A review action's outcome as a notice on the review list; a refusal (opted out since, the
/// campaign finished, someone else acted first) is a notice too, not an error page.
fn review_outcome(result: Result<String, CampaignsError>) -> PageResult {
    match result {
        Ok(notice) => Ok(see_other("/review", &notice)),
        Err(CampaignsError::Review(refusal)) => Ok(see_other(
            "/review",
            &format!("Nothing changed: {refusal}."),
        )),
        Err(e) => Err(e.into()),
    }
}

async fn dismiss_review(State(state): State<AppState>, form: Form) -> PageResult {
    let id = form.get("entry").unwrap_or_default().to_string();
    review_outcome(
        review::dismiss(&state.services, &id)
            .await
            .map(|()| "Dismissed: the contact stays out of that campaign.".to_string()),
    )
}

async fn release_review(State(state): State<AppState>, form: Form) -> PageResult {
    let id = form.get("entry").unwrap_or_default().to_string();
    review_outcome(review::release(&state.services, &id).await.map(|send| {
        format!(
            "Released: {} gets the campaign's message (quiet hours and the daily cap still apply).",
            send.phone
        )
    }))
}
