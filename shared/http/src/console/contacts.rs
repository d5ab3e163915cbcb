//! Contacts (find by phone or name, one contact's timeline and opt-out state with its history)
//! and the opt-out list (add one by hand; resubscribe with a reason).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use serde::Deserialize;
use serde_json::Value;
use trickle_app::audience::lists;
use trickle_app::contacts;
use trickle_app::webhooks::{activities, failures, opt_out};
use trickle_domain::PhoneNumber;

use super::view::{text, When};
use super::{render, see_other, Chrome, Form, PageResult, Signed};
use crate::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/contacts", get(find))
        .route("/contacts/{id}", get(contact))
        .route("/contacts/{id}/resubscribe", post(resubscribe))
        .route("/contacts/{id}/opt-out", post(opt_out_contact))
        .route("/contacts/{id}/lift-suppression", post(lift_suppression))
        .route("/opt-outs", get(opt_outs).post(add_opt_out))
        .route("/opt-outs.csv", get(export_opt_outs))
}

#[derive(Deserialize)]
struct FindQuery {
    q: Option<String>,
    notice: Option<String>,
}

struct Found {
    id: String,
    name: String,
    phone: String,
    email: String,
}

#[derive(Template)]
#[template(path = "contacts.html")]
struct FindPage {
    title: String,
    chrome: Chrome,
    q: String,
    problem: Option<String>,
    found: Vec<Found>,
}

/// One search box: a phone number (any spelling) opens that contact; anything else is the start
/// of a first or last name.
async fn find(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
    Query(q): Query<FindQuery>,
) -> PageResult {
    let typed = q.q.clone().unwrap_or_default();
    let wanted = typed.trim();
    let looks_like_phone = !wanted.is_empty()
        && wanted
            .chars()
            .all(|c| c.is_ascii_digit() || " +-().".contains(c));
    let mut found = Vec::new();
    let problem = if wanted.is_empty() {
        None
    } else if looks_like_phone {
        match PhoneNumber::parse(wanted) {
            Err(e) => Some(format!(
                "{e}. Type the number as you would dial it, e.g. (212) 555-0134."
            )),
            Ok(phone) => match contacts::find_by_phone(&state.services, &phone).await? {
                Some(c) => return Ok(Redirect::to(&format!("/contacts/{}", c.id)).into_response()),
                None => Some(format!("No contact has the number {phone}.")),
            },
        }
    } else {
        found = contacts::search_by_name(&state.services, wanted, 50)
            .await?
            .into_iter()
            .map(|c| Found {
                id: c.id.to_string(),
                name: [
                    c.first_name.unwrap_or_default(),
                    c.last_name.unwrap_or_default(),
                ]
                .join(" ")
                .trim()
                .to_string(),
                phone: c.phone.to_string(),
                email: c.email.unwrap_or_default(),
            })
            .collect();
        found.is_empty().then(|| {
            format!("No contact's first or last name starts with “{wanted}”. Try fewer letters, or the phone number.")
        })
    };
    Ok(render(FindPage {
        title: "Contacts".into(),
        chrome: Chrome::new(&signed, "contacts", state.sandbox.is_some(), q.notice),
        q: typed,
        problem,
        found,
    }))
}

struct Entry {
    when: Option<When>,
    kind: String,
    direction: String,
    text: String,
    status: String,
    extra: Vec<(String, String)>,
    media: Vec<super::media::MediaView>,
}

struct AuditRow {
    when: Option<When>,
    action: String,
    actor: String,
    detail: String,
}

#[derive(Template)]
#[template(path = "contact.html")]
struct ContactPage {
    title: String,
    chrome: Chrome,
    id: String,
    phone: String,
    name: String,
    email: String,
    attributes: Vec<(String, String)>,
    opted_out: bool,
    audit: Vec<AuditRow>,
    /// The number's suppression, if any: (by the carrier, why).
    suppression: Option<(bool, String)>,
    timeline: Vec<Entry>,
}

fn entry(item: &Value) -> Entry {
    let mut extra = Vec::new();
    for (field, label) in [
        ("summary", "Summary"),
        ("transcript", "Transcript"),
        ("voicemail_transcript", "Voicemail"),
        ("duration", "Duration (s)"),
    ] {
        let value = text(item, field);
        if !value.is_empty() {
            extra.push((label.to_string(), value));
        }
    }
    let mut media = Vec::new();
    for (field, label) in [("media", "Attachment"), ("recordings", "Recording")] {
        for m in item
            .get(field)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            media.extend(super::media::view(m, label));
        }
    }
    if let Some(v) = item.get("voicemail") {
        media.extend(super::media::view(v, "Voicemail"));
    }
    Entry {
        when: When::parse(item.get("occurred_at")),
        kind: text(item, "kind").replace('_', " "),
        direction: text(item, "direction"),
        text: text(item, "text"),
        status: text(item, "status"),
        extra,
        media,
    }
}

fn audit_row(item: &Value) -> AuditRow {
    let mut detail = Vec::new();
    for field in ["text", "reason", "campaign_id"] {
        let v = text(item, field);
        if !v.is_empty() {
            detail.push(v);
        }
    }
    AuditRow {
        when: When::parse(item.get("at")),
        action: match text(item, "action").as_str() {
            "opt_out" => "opted out".into(),
            "opt_in" => "subscribed again".into(),
            other => other.to_string(),
        },
        actor: text(item, "actor"),
        detail: detail.join(" · "),
    }
}

#[derive(Deserialize)]
struct NoticeQuery {
    notice: Option<String>,
}

async fn contact(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
    Path(id): Path<String>,
    Query(q): Query<NoticeQuery>,
) -> PageResult {
    let services = &state.services;
    let c = contacts::get(services, &id).await?;
    let opt = opt_out::state_of(services, &c.phone).await?;
    let suppression = lists::suppression(services, &c.phone).await?.map(|entry| {
        let by_carrier = text(&entry, "source") == "carrier";
        (by_carrier, text(&entry, "reason"))
    });
    let page = activities::list(services, &id, 100, None).await?;
    let name = [c.first_name.clone(), c.last_name.clone()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    Ok(render(ContactPage {
        title: if name.is_empty() {
            c.phone.to_string()
        } else {
            name.clone()
        },
        chrome: Chrome::new(&signed, "contacts", state.sandbox.is_some(), q.notice),
        id,
        phone: c.phone.to_string(),
        name,
        email: c.email.clone().unwrap_or_default(),
        attributes: c.attributes.clone().into_iter().collect(),
        opted_out: text(&opt, "status") == "opted_out",
        audit: opt["audit"]
            .as_array()
            .map(|a| a.iter().map(audit_row).collect())
            .unwrap_or_default(),
        suppression,
        timeline: page.items.iter().map(entry).collect(),
    }))
}

async fn resubscribe(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: Form,
) -> PageResult {
    let c = contacts::get(&state.services, &id).await?;
    let reason = form.text("reason").unwrap_or_default();
    opt_out::manual_resubscribe(&state.services, &c.phone, &reason).await?;
    Ok(see_other(
        &format!("/contacts/{id}"),
        "Subscribed again; the reason is in the history.",
    ))
}

async fn opt_out_contact(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: Form,
) -> PageResult {
    let c = contacts::get(&state.services, &id).await?;
    let reason = form.text("reason");
    opt_out::manual_opt_out(&state.services, &c.phone, reason.as_deref()).await?;
    Ok(see_other(
        &format!("/contacts/{id}"),
        "Opted out: trickle will not text this number again.",
    ))
}

/// The operator lifts a suppression the carrier's reports caused (the API's rule: an imported
/// list's entry is refused).
async fn lift_suppression(State(state): State<AppState>, Path(id): Path<String>) -> PageResult {
    let c = contacts::get(&state.services, &id).await?;
    failures::lift_carrier_suppression(&state.services, &c.phone).await?;
    Ok(see_other(
        &format!("/contacts/{id}"),
        "Suppression lifted: campaigns may text this number again. It is in the history.",
    ))
}

#[derive(Deserialize)]
struct Paging {
    cursor: Option<String>,
    notice: Option<String>,
}

struct OptOutRow {
    phone: String,
    contact_id: String,
    status: String,
    updated: Option<When>,
    history: Vec<AuditRow>,
}

#[derive(Template)]
#[template(path = "opt_outs.html")]
struct OptOutsPage {
    title: String,
    chrome: Chrome,
    rows: Vec<OptOutRow>,
    next: Option<String>,
}

async fn opt_outs(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
    Query(q): Query<Paging>,
) -> PageResult {
    let (items, next) = opt_out::list(&state.services, 100, q.cursor).await?;
    Ok(render(OptOutsPage {
        title: "Opt-outs".into(),
        chrome: Chrome::new(&signed, "opt-outs", state.sandbox.is_some(), q.notice),
        rows: items
            .iter()
            .map(|item| OptOutRow {
                phone: text(item, "phone"),
                contact_id: text(item, "contact_id"),
                status: text(item, "status").replace('_', " "),
                updated: When::parse(item.get("updated_at")),
                history: item["audit"]
                    .as_array()
                    .map(|a| a.iter().map(audit_row).collect())
                    .unwrap_or_default(),
            })
            .collect(),
        next,
    }))
}

async fn add_opt_out(
    State(state): State<AppState>,
    form: Form,
) -> Result<Response, super::ConsoleError> {
    let typed = form.text("phone").unwrap_or_default();
    let phone = match PhoneNumber::parse(&typed) {
        Ok(p) => p,
        Err(e) => {
            return Ok(see_other(
                "/opt-outs",
                &format!("Not added: {e}. Type the number as you would dial it."),
            ))
        }
    };
    let reason = form.text("reason");
    opt_out::manual_opt_out(&state.services, &phone, reason.as_deref()).await?;
    Ok(see_other("/opt-outs", &format!("{phone} is opted out.")))
}

/// The opt-out audit as CSV, streamed (the same export as `GET /v1/opt-outs.csv`).
async fn export_opt_outs(State(state): State<AppState>) -> Response {
    crate::exports::csv_response(
        "opt-outs.csv",
        trickle_app::exports::opt_out_audit(&state.services),
    )
}
