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
    reachable: String,
    exclusions: String,
    estimated: bool,
    checked: String,
    without_consent: String,
    longest_segments: Option<usize>,
    per_run: String,
    days: String,
    first_run: When,
    last_run: Option<When>,
    segments: usize,
    encoding: String,
    sender: String,
    /// Tokens no column of the list fills, each with the fallback members get (and whether it
    /// has none, which stops activation at each member without a value).
    token_flags: Vec<(bool, String)>,
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
    let estimate =
        campaigns::estimate::estimate(services, s.list_id.as_str(), Some(id.as_str())).await?;
    let runs = estimate
        .reachable
        .max(1)
        .div_ceil(u64::from(s.per_run.max(1)));
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
    // The size for the longest names and values in the list, when it differs.
    let longest = campaigns::preview(
        services,
        campaigns::PreviewRequest {
            message: s.message_a.as_str().to_string(),
            business_name: s.business_name.clone(),
            opt_out_footer: Some(s.opt_out_footer.clone()),
            contact_id: None,
            sample: Some(estimate.longest.clone()),
            first_message: Some(true),
        },
    )
    .await
    .ok()
    .map(|p| p.segments);
    let token_flags = campaigns::from_template::token_check(services, &campaign)
        .await?
        .flags
        .into_iter()
        .map(|f| (f.flag.fallback.is_none(), f.description))
        .collect();
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
        reachable: count(estimate.reachable),
        exclusions: format!(
            "{} opted out, {} on a do-not-contact list, {} with previous communication (they go to the review list), {} no longer a contact",
            count(estimate.opted_out),
            count(estimate.suppressed),
            count(estimate.review),
            count(estimate.invalid)
        ),
        estimated: estimate.estimated,
        checked: count(estimate.checked),
        without_consent: count(estimate.without_consent),
        longest_segments: longest.filter(|l| *l > size.segments),
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
        token_flags,
    }))
}
