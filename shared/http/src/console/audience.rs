//! Lists and imports: lists with counts, a list's members, and the import page (the browser
//! uploads straight to the pre-signed URL, then watches the import's status live).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use trickle_app::audience::{imports, lists, AudienceSettings};

use super::view::{count, text, When};
use super::{render, see_other, Chrome, PageResult, Signed};
use crate::{ApiError, AppState};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/lists", get(all_lists))
        .route("/lists/{id}", get(one_list))
        .route("/imports/new", get(new_import))
        .route("/imports", post(create_import))
        .route("/imports/{id}", get(import_status))
        .route("/imports/{id}/rejects", get(crate::audience::get_rejects))
        .route("/imports/{id}/cancel", post(cancel))
        .route("/imports/{id}/resume", post(resume))
}

#[derive(Deserialize)]
struct Paging {
    cursor: Option<String>,
    q: Option<String>,
    notice: Option<String>,
}

struct ListRow {
    id: String,
    name: String,
    members: String,
    created: When,
}

#[derive(Template)]
#[template(path = "lists.html")]
struct ListsPage {
    title: String,
    chrome: Chrome,
    rows: Vec<ListRow>,
    next: Option<String>,
}

async fn all_lists(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
    Query(q): Query<Paging>,
) -> PageResult {
    let page = lists::list_lists(&state.services, 100, q.cursor).await?;
    Ok(render(ListsPage {
        title: "Lists".into(),
        chrome: Chrome::new(&signed, "lists", state.sandbox.is_some(), q.notice),
        rows: page
            .items
            .into_iter()
            .map(|l| ListRow {
                members: count(l.member_count),
                created: When::of(l.created_at),
                id: l.id,
                name: l.name,
            })
            .collect(),
        next: page.next,
    }))
}

struct MemberRow {
    position: u64,
    contact_id: String,
    phone: String,
}

#[derive(Template)]
#[template(path = "list.html")]
struct ListPage {
    title: String,
    chrome: Chrome,
    id: String,
    name: String,
    members: String,
    rows: Vec<MemberRow>,
    q: String,
    next: Option<String>,
}

async fn one_list(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
    Path(id): Path<String>,
    Query(q): Query<Paging>,
) -> PageResult {
    let list = lists::get_list(&state.services, &id).await?;
    let page = lists::members(&state.services, &id, 100, q.cursor).await?;
    let needle: String =
        q.q.clone()
            .unwrap_or_default()
            .chars()
            .filter(char::is_ascii_digit)
            .collect();
    Ok(render(ListPage {
        title: list.name.clone(),
        chrome: Chrome::new(&signed, "lists", state.sandbox.is_some(), q.notice),
        id,
        name: list.name,
        members: count(list.member_count),
        rows: page
            .items
            .into_iter()
            .filter(|m| needle.is_empty() || m.phone.contains(&needle))
            .map(|m| MemberRow {
                position: m.position,
                contact_id: m.contact_id,
                phone: m.phone,
            })
            .collect(),
        q: q.q.unwrap_or_default(),
        next: page.next,
    }))
}

#[derive(Template)]
#[template(path = "import_new.html")]
struct NewImportPage {
    title: String,
    chrome: Chrome,
}

async fn new_import(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
) -> Response {
    render(NewImportPage {
        title: "Import a CSV file".into(),
        chrome: Chrome::new(&signed, "lists", state.sandbox.is_some(), None),
    })
}

/// The script's first step: an import awaiting its file, and where to upload it.
async fn create_import(
    State(state): State<AppState>,
    Json(request): Json<imports::NewImport>,
) -> Response {
    match imports::create(&state.services, &AudienceSettings::default(), request).await {
        Ok(created) => (StatusCode::CREATED, Json(json!(created))).into_response(),
        Err(e) => {
            let (status, message) = ApiError::from(e).for_people();
            (status, Json(json!({ "error": message }))).into_response()
        }
    }
}

struct Reason {
    reason: String,
    count: String,
}

#[derive(Template)]
#[template(path = "import.html")]
struct ImportPage {
    title: String,
    chrome: Chrome,
    id: String,
    status: String,
    list_id: String,
    list_name: String,
    kind: String,
    live: bool,
    finished: bool,
    rows_read: String,
    to_validate: String,
    validated: String,
    percent: u64,
    summary: String,
    reasons: Vec<Reason>,
    paused_reason: String,
    error: String,
    mapping: String,
}

async fn import_status(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
    Path(id): Path<String>,
    Query(q): Query<Paging>,
) -> PageResult {
    let import = imports::load(&state.services, &id).await?;
    let view = imports::view(&import);
    let status = text(&view, "status");
    let progress = &view["progress"];
    let number = |field: &str| progress[field].as_u64().unwrap_or(0);
    let reasons = view["skipped"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(reason, n)| Reason {
                    reason: reason.replace('_', " "),
                    count: count(n.as_u64().unwrap_or(0)),
                })
                .collect()
        })
        .unwrap_or_default();
    let live = matches!(
        status.as_str(),
        "awaiting_upload" | "uploaded" | "parsing" | "validating"
    );
    Ok(render(ImportPage {
        title: format!("Import {}", text(&view, "list_name")),
        chrome: Chrome::new(&signed, "lists", state.sandbox.is_some(), q.notice),
        id,
        live,
        finished: status == "completed",
        status: status.replace('_', " "),
        list_id: text(&view, "list_id"),
        list_name: text(&view, "list_name"),
        kind: text(&view, "kind"),
        rows_read: count(number("rows_read")),
        to_validate: count(number("numbers_to_validate")),
        validated: count(number("numbers_validated")),
        percent: super::view::percent(number("numbers_validated"), number("numbers_to_validate")),
        summary: text(&view, "summary"),
        reasons,
        paused_reason: text(&view, "paused_reason"),
        error: text(&view, "error"),
        mapping: view["mapping"]
            .get("description")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
    }))
}

async fn cancel(State(state): State<AppState>, Path(id): Path<String>) -> PageResult {
    imports::cancel(&state.services, &id).await?;
    Ok(see_other(&format!("/imports/{id}"), "Import cancelled."))
}

async fn resume(State(state): State<AppState>, Path(id): Path<String>) -> PageResult {
    imports::resume(&state.services, &id).await?;
    Ok(see_other(&format!("/imports/{id}"), "Import resumed."))
}
