//! The template library in the console: the saved templates (and the archived ones), a new
//! template, and one template's page with its versions, its edit form, archive/restore, a
//! token check against a list and "start a campaign from it". Calls the same use-cases as
//! `/v1/templates…`; a campaign's message is saved as a template from the campaign page.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Extension, Router};
use serde::Deserialize;
use trickle_app::audience::lists;
use trickle_app::campaigns;
use trickle_app::library::{self, TemplatesError};
use trickle_domain::campaign::{RawTemplate, SavedTemplate, TemplateEdit};

use super::view::{sentence, When};
use super::{render, see_other, Chrome, ConsoleError, Form, PageResult, Signed};
use crate::{ApiError, AppState};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/templates", get(index).post(create))
        .route("/templates/{id}", get(page).post(edit))
        .route("/templates/{id}/archive", post(archive))
        .route("/templates/{id}/restore", post(restore))
        .route("/campaigns/{id}/save-template", post(from_campaign))
}

struct Row {
    id: String,
    name: String,
    version: u32,
    tokens: String,
    updated: When,
    archived: Option<When>,
}

impl Row {
    fn of(t: &SavedTemplate) -> Self {
        Self {
            id: t.id.to_string(),
            name: t.name.clone(),
            version: t.version,
            tokens: tokens_text(&t.tokens),
            updated: When::of(t.updated_at),
            archived: t.archived_at.map(When::of),
        }
    }
}

fn tokens_text(tokens: &[String]) -> String {
    if tokens.is_empty() {
        "none".to_string()
    } else {
        tokens
            .iter()
            .map(|t| format!("{{{{{t}}}}}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[derive(Template)]
#[template(path = "templates.html")]
struct IndexPage {
    title: String,
    chrome: Chrome,
    archived: bool,
    rows: Vec<Row>,
    next: Option<String>,
    name: String,
    message: String,
    errors: Vec<String>,
}

#[derive(Deserialize)]
struct IndexQuery {
    archived: Option<String>,
    cursor: Option<String>,
    notice: Option<String>,
}

async fn index_page(
    state: &AppState,
    signed: &Signed,
    archived: bool,
    cursor: Option<String>,
    notice: Option<String>,
    typed: (String, String, Vec<String>),
) -> PageResult {
    let page = library::list(&state.services, archived, 50, cursor).await?;
    let (name, message, errors) = typed;
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let mut response = render(IndexPage {
        title: if archived {
            "Archived templates".into()
        } else {
            "Templates".into()
        },
        chrome: Chrome::new(signed, "templates", state.sandbox.is_some(), notice),
        archived,
        rows: page.items.iter().map(Row::of).collect(),
        next: page.next,
        name,
        message,
        errors,
    });
    *response.status_mut() = status;
    Ok(response)
}

async fn index(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
    Query(q): Query<IndexQuery>,
) -> PageResult {
    let archived = q.archived.as_deref() == Some("true");
    index_page(
        &state,
        &signed,
        archived,
        q.cursor,
        q.notice,
        Default::default(),
    )
    .await
}

/// The problems of a refused template, each in plain words.
fn problems(e: TemplatesError) -> Result<Vec<String>, ConsoleError> {
    match e {
        TemplatesError::Invalid(trickle_domain::campaign::library::LibraryError::Several(all)) => {
            Ok(all.iter().map(|e| sentence(&e.to_string())).collect())
        }
        TemplatesError::Invalid(one) => Ok(vec![sentence(&one.to_string())]),
        other => match ApiError::from(other) {
            ApiError::Conflict { message, .. } => Ok(vec![message]),
            e => Err(ConsoleError::from(e)),
        },
    }
}

async fn create(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
    form: Form,
) -> PageResult {
    let raw = RawTemplate {
        name: form.get("name").unwrap_or_default().to_string(),
        message: form.get("message").unwrap_or_default().to_string(),
    };
    match library::create(&state.services, raw.clone()).await {
        Ok(t) => Ok(see_other(
            &format!("/templates/{}", t.id),
            &format!("Saved template \u{201c}{}\u{201d}.", t.name),
        )),
        Err(e) => {
            let errors = problems(e)?;
            index_page(
                &state,
                &signed,
                false,
                None,
                None,
                (raw.name, raw.message, errors),
            )
            .await
        }
    }
}

struct VersionRow {
    version: u32,
    name: String,
    message: String,
    saved: When,
}

struct Flag {
    text: String,
    /// No fallback: activation stops at each member without a value.
    blocking: bool,
}

struct ListChoice {
    id: String,
    label: String,
    selected: bool,
}

#[derive(Template)]
#[template(path = "template.html")]
struct TemplatePage {
    title: String,
    chrome: Chrome,
    template: Row,
    message: String,
    versions: Vec<VersionRow>,
    /// What the edit form shows (as typed, after a refusal).
    edit_name: String,
    edit_message: String,
    errors: Vec<String>,
    lists: Vec<ListChoice>,
    /// The token check against the chosen list: `None` before a list is chosen.
    check: Option<Check>,
}

struct Check {
    list_name: String,
    columns_known: bool,
    flags: Vec<Flag>,
}

#[derive(Deserialize)]
struct PageQuery {
    list_id: Option<String>,
    notice: Option<String>,
}

async fn template_page(
    state: &AppState,
    signed: &Signed,
    id: &str,
    list_id: Option<String>,
    notice: Option<String>,
    typed: Option<(String, String, Vec<String>)>,
) -> PageResult {
    let services = &state.services;
    let template = library::get(services, id).await?;
    let versions = library::versions(services, id).await?;
    let all_lists = lists::list_lists(services, 200, None).await?.items;
    let list_id = list_id.filter(|l| !l.trim().is_empty());
    let check = match &list_id {
        None => None,
        Some(list_id) => {
            let checked = library::check(services, id, list_id).await?;
            Some(Check {
                list_name: all_lists
                    .iter()
                    .find(|l| &l.id == list_id)
                    .map(|l| l.name.clone())
                    .unwrap_or_else(|| list_id.clone()),
                columns_known: checked.columns.is_some(),
                flags: checked
                    .flags
                    .into_iter()
                    .map(|f| Flag {
                        blocking: f.flag.fallback.is_none(),
                        text: f.description,
                    })
                    .collect(),
            })
        }
    };
    let (edit_name, edit_message, errors) = typed.unwrap_or_else(|| {
        (
            template.name.clone(),
            template.message.as_str().to_string(),
            Vec::new(),
        )
    });
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let mut response = render(TemplatePage {
        title: template.name.clone(),
        chrome: Chrome::new(signed, "templates", state.sandbox.is_some(), notice),
        message: template.message.as_str().to_string(),
        template: Row::of(&template),
        versions: versions
            .into_iter()
            .map(|v| VersionRow {
                version: v.version,
                name: v.name,
                message: v.message.as_str().to_string(),
                saved: When::of(v.saved_at),
            })
            .collect(),
        edit_name,
        edit_message,
        errors,
        lists: all_lists
            .into_iter()
            .map(|l| ListChoice {
                selected: list_id.as_deref() == Some(l.id.as_str()),
                label: l.name,
                id: l.id,
            })
            .collect(),
        check,
    });
    *response.status_mut() = status;
    Ok(response)
}

async fn page(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
    Path(id): Path<String>,
    Query(q): Query<PageQuery>,
) -> PageResult {
    template_page(&state, &signed, &id, q.list_id, q.notice, None).await
}

async fn edit(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
    Path(id): Path<String>,
    form: Form,
) -> PageResult {
    let name = form.get("name").unwrap_or_default().to_string();
    let message = form.get("message").unwrap_or_default().to_string();
    let change = TemplateEdit {
        name: Some(name.clone()),
        message: Some(message.clone()),
    };
    match library::edit(&state.services, &id, change).await {
        Ok(t) => Ok(see_other(
            &format!("/templates/{id}"),
            &format!(
                "Saved: \u{201c}{}\u{201d} is at version {}.",
                t.name, t.version
            ),
        )),
        Err(e) => {
            let errors = problems(e)?;
            template_page(
                &state,
                &signed,
                &id,
                None,
                None,
                Some((name, message, errors)),
            )
            .await
        }
    }
}

async fn archive(State(state): State<AppState>, Path(id): Path<String>) -> PageResult {
    let t = library::archive(&state.services, &id).await?;
    Ok(see_other(
        &format!("/templates/{id}"),
        &format!(
            "Archived \u{201c}{}\u{201d}: it is out of the library, and campaigns that used it keep it.",
            t.name
        ),
    ))
}

async fn restore(State(state): State<AppState>, Path(id): Path<String>) -> PageResult {
    let t = library::restore(&state.services, &id).await?;
    Ok(see_other(
        &format!("/templates/{id}"),
        &format!("Restored \u{201c}{}\u{201d} to the library.", t.name),
    ))
}

/// "Save message A (or B) as a template" on the campaign page.
async fn from_campaign(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: Form,
) -> PageResult {
    let campaign = campaigns::get(&state.services, &id).await?;
    let s = &campaign.settings;
    let (label, message) = match form.get("message") {
        Some("B") => match &s.message_b {
            Some(b) => ("B", b),
            None => {
                return Ok(see_other(
                    &format!("/campaigns/{id}"),
                    "This campaign has no message B to save.",
                ))
            }
        },
        _ => ("A", &s.message_a),
    };
    let name = form
        .text("name")
        .unwrap_or_else(|| format!("{} (message {label})", s.name));
    let raw = RawTemplate {
        name,
        message: message.as_str().to_string(),
    };
    match library::create(&state.services, raw).await {
        Ok(t) => Ok(see_other(
            &format!("/templates/{}", t.id),
            &format!(
                "Saved message {label} as template \u{201c}{}\u{201d}.",
                t.name
            ),
        )),
        Err(e) => Ok(see_other(
            &format!("/campaigns/{id}"),
            &problems(e)?.join(" "),
        )),
    }
}
