//! What the campaign form asks while the operator types: the live preview (with the size for the
//! list's longest values) and the Audience section's estimate of who the list reaches.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;
use trickle_app::audience::lists;
use trickle_app::campaigns::{self, PreviewRequest};

use super::view::count;
use crate::{ApiError, AppState};

#[derive(Deserialize)]
pub(super) struct PreviewBody {
    message: String,
    #[serde(default)]
    business_name: Option<String>,
    #[serde(default)]
    opt_out_footer: Option<String>,
    #[serde(default)]
    list_id: Option<String>,
    /// The longest value of each token in the list (from the audience estimate).
    #[serde(default)]
    longest: Option<std::collections::BTreeMap<String, String>>,
}

/// The live preview: the message as the chosen list's first member would get it, with its
/// size and the tokens that list offers.
pub(super) async fn preview(
    State(state): State<AppState>,
    Json(body): Json<PreviewBody>,
) -> Response {
    let services = &state.services;
    let member = match body.list_id.as_deref().filter(|l| !l.is_empty()) {
        Some(list) => lists::members(services, list, 1, None)
            .await
            .ok()
            .and_then(|p| p.items.into_iter().next()),
        None => None,
    };
    let contact = match &member {
        Some(m) => trickle_app::contacts::get(services, &m.contact_id)
            .await
            .ok(),
        None => None,
    };
    let mut tokens = vec!["first_name".to_string(), "last_name".to_string()];
    if let Some(c) = &contact {
        tokens.extend(c.attributes.keys().cloned());
    }
    // The size for the list's longest values too: the first member may have a short name.
    let longest_segments = match body.longest.filter(|l| !l.is_empty()) {
        Some(values) => campaigns::preview(
            services,
            PreviewRequest {
                message: body.message.clone(),
                business_name: body.business_name.clone(),
                opt_out_footer: body.opt_out_footer.clone().filter(|f| !f.trim().is_empty()),
                contact_id: None,
                sample: Some(values),
                first_message: Some(true),
            },
        )
        .await
        .ok()
        .map(|p| p.segments),
        None => None,
    };
    let request = PreviewRequest {
        message: body.message,
        business_name: body.business_name.filter(|b| !b.trim().is_empty()),
        opt_out_footer: body.opt_out_footer.filter(|f| !f.trim().is_empty()),
        contact_id: contact.as_ref().map(|c| c.id.to_string()),
        sample: None,
        first_message: Some(true),
    };
    match campaigns::preview(services, request).await {
        Ok(p) => Json(json!({
            "text": p.text,
            "characters": p.characters,
            "encoding": p.encoding,
            "segments": p.segments,
            "longest_segments": longest_segments,
            "unresolved_tokens": p.unresolved_tokens,
            "did_you_mean": p.did_you_mean,
            "tokens": tokens,
            "for": contact.map(|c| c.first_name.unwrap_or_else(|| c.phone.to_string())),
        }))
        .into_response(),
        Err(e) => {
            let (status, message) = ApiError::from(e).for_people();
            (status, Json(json!({ "error": message, "tokens": tokens }))).into_response()
        }
    }
}

#[derive(Deserialize)]
pub(super) struct AudienceQuery {
    list_id: String,
    #[serde(default)]
    campaign_id: Option<String>,
}

/// The Audience section's estimate: who the chosen list reaches after exclusions, in words,
/// and the list's longest values for the segment counter.
pub(super) async fn audience_estimate(
    State(state): State<AppState>,
    Query(q): Query<AudienceQuery>,
) -> Response {
    let estimate = match campaigns::estimate::estimate(
        &state.services,
        q.list_id.trim(),
        q.campaign_id.as_deref().filter(|c| !c.is_empty()),
    )
    .await
    {
        Ok(e) => e,
        Err(e) => {
            let (status, message) = ApiError::from(e).for_people();
            return (status, Json(json!({ "error": message }))).into_response();
        }
    };
    Json(json!({
        "text": estimate_words(&estimate),
        "longest": estimate.longest,
        "estimate": estimate,
    }))
    .into_response()
}

/// "About 2,300 of 2,500 contacts will get it: …" in plain words.
pub(super) fn estimate_words(e: &campaigns::estimate::AudienceEstimate) -> String {
    if e.members == 0 {
        return "This list has no members yet.".to_string();
    }
    let mut words = format!(
        "{}{} of {} contacts will get it",
        if e.estimated { "About " } else { "" },
        count(e.reachable),
        count(e.members)
    );
    let mut left_out = Vec::new();
    for (n, what) in [
        (e.opted_out, "opted out"),
        (e.suppressed, "on a do-not-contact list"),
        (
            e.review,
            "talked with you before (they go to the review list)",
        ),
        (e.invalid, "no longer a contact"),
    ] {
        if n > 0 {
            left_out.push(format!("{} {what}", count(n)));
        }
    }
    if !left_out.is_empty() {
        words.push_str(": ");
        words.push_str(&left_out.join(", "));
    }
    if e.estimated {
        words.push_str(&format!(" (from the first {} checked)", count(e.checked)));
    }
    words.push('.');
    if e.without_consent > 0 {
        words.push_str(&format!(
            " {} of them have no consent recorded (a consent column such as consent_source).",
            count(e.without_consent)
        ));
    }
    words
}
