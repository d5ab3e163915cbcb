//! The confirmation before activation: who, how fast, when it starts and ends, how big each
//! message is. Nothing is sent until the operator presses "Activate now".

use askama::Template;
use axum::extract::{Path, State};
use axum::Extension;
use serde_json::Value;
use trickle_app::audience::lists;
use trickle_app::campaigns;
use trickle_domain::campaign::CampaignState;

use super::campaign_form::{Values, DAYS};
use super::view::{count, When};
use super::{render, Chrome, PageResult, Signed};
use crate::AppState;

#[derive(Template)]
#[template(path = "campaign_confirm.html")]
struct ConfirmPage {
    title: String,
    chrome: Chrome,
    id: String,
    name: String,
    audience: String,
    per_run: String,
    days: String,
    first_run: When,
    last_run: Option<When>,
    segments: usize,
    encoding: String,
    sender: String,
}

/// The summary shown before activation: who, how fast, when it starts and ends.
pub(super) async fn confirm(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
    Path(id): Path<String>,
) -> PageResult {
    let services = &state.services;
    let campaign = campaigns::get(services, &id).await?;
    if campaign.state != CampaignState::Draft && campaign.state != CampaignState::Paused {
        return Ok(super::see_other(
            &format!("/campaigns/{id}"),
            &format!(
                "This campaign is {}: nothing to activate.",
                campaign.state.as_str()
            ),
        ));
    }
    let s = &campaign.settings;
    let members = lists::get_list(services, s.list_id.as_str())
        .await
        .map(|l| l.member_count)
        .unwrap_or(0);
    let runs = members.div_ceil(u64::from(s.per_run.max(1)));
    let first = s.schedule.next_run_after(services.clock.now());
    let mut last = first.clone();
    for _ in 1..runs.min(5000) {
        last = s.schedule.next_run_after(last.at);
    }
    let size = trickle_domain::campaign::analyze(&trickle_domain::campaign::compose(
        s.message_a.as_str(),
        s.business_name.as_deref().unwrap_or(""),
        &s.opt_out_footer,
        true,
    ));
    let values = Values::of(&campaign);
    let days: Vec<&str> = DAYS
        .iter()
        .filter(|(d, _)| values.has_day(d))
        .map(|(_, name)| *name)
        .collect();
    Ok(render(ConfirmPage {
        title: format!("Activate {}", s.name),
        chrome: Chrome::new(&signed, "campaigns", state.sandbox.is_some(), None),
        id,
        name: s.name.clone(),
        audience: count(members),
        per_run: count(u64::from(s.per_run)),
        days: days.join(", "),
        first_run: When::of(first.at),
        last_run: (runs > 1).then(|| When::of(last.at)),
        segments: size.segments,
        encoding: serde_json::to_value(size.encoding)
            .ok()
            .and_then(|v: Value| v.as_str().map(str::to_string))
            .unwrap_or_default(),
        sender: s.sender.to_string(),
    }))
}
