//! `/v1/templates…`: the template library (nested under `/v1` behind the admin token).

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use trickle_app::library::{self, TemplatePage, TokenCheck};
use trickle_domain::campaign::{RawTemplate, SavedTemplate, TemplateEdit, TemplateVersion};

use crate::paging::Page;
use crate::{ApiError, AppState};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/templates", get(list).post(create))
        .route("/templates/{id}", get(get_one).patch(edit))
        .route("/templates/{id}/versions", get(versions))
        .route("/templates/{id}/versions/{version}", get(version))
        .route("/templates/{id}/archive", post(archive))
        .route("/templates/{id}/restore", post(restore))
        .route("/templates/{id}/token-check", get(token_check))
}

fn body<T>(body: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    body.map(|Json(b)| b).map_err(ApiError::bad_body)
}

#[derive(Debug, Default, Deserialize)]
struct Listing {
    #[serde(default)]
    archived: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    Query(listing): Query<Listing>,
    paging: Page,
) -> Result<Json<TemplatePage>, ApiError> {
    let archived = match listing.archived.as_deref().map(str::trim) {
        None | Some("") | Some("false") => false,
        Some("true") => true,
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "archived must be true or false, not {:?}",
                other.chars().take(20).collect::<String>()
            )))
        }
    };
    Ok(Json(
        library::list(&state.services, archived, paging.limit, paging.cursor).await?,
    ))
}

async fn create(
    State(state): State<AppState>,
    raw: Result<Json<RawTemplate>, JsonRejection>,
) -> Result<(StatusCode, Json<SavedTemplate>), ApiError> {
    let template = library::create(&state.services, body(raw)?).await?;
    Ok((StatusCode::CREATED, Json(template)))
}

async fn get_one(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<SavedTemplate>, ApiError> {
    Ok(Json(library::get(&state.services, &id).await?))
}

async fn edit(
    State(state): State<AppState>,
    Path(id): Path<String>,
    edit: Result<Json<TemplateEdit>, JsonRejection>,
) -> Result<Json<SavedTemplate>, ApiError> {
    Ok(Json(
        library::edit(&state.services, &id, body(edit)?).await?,
    ))
}

#[derive(Debug, serde::Serialize)]
struct Versions {
    items: Vec<TemplateVersion>,
}

async fn versions(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Versions>, ApiError> {
    Ok(Json(Versions {
        items: library::versions(&state.services, &id).await?,
    }))
}

async fn version(
    State(state): State<AppState>,
    Path((id, version)): Path<(String, String)>,
) -> Result<Json<TemplateVersion>, ApiError> {
    let version: u32 = version
        .parse()
        .map_err(|_| ApiError::BadRequest("a version is a whole number, such as 1".to_string()))?;
    Ok(Json(library::version(&state.services, &id, version).await?))
}

async fn archive(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<SavedTemplate>, ApiError> {
    Ok(Json(library::archive(&state.services, &id).await?))
}

async fn restore(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<SavedTemplate>, ApiError> {
    Ok(Json(library::restore(&state.services, &id).await?))
}

#[derive(Debug, Default, Deserialize)]
struct CheckQuery {
    #[serde(default)]
    list_id: Option<String>,
}

async fn token_check(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<CheckQuery>,
) -> Result<Json<TokenCheck>, ApiError> {
    let Some(list_id) = query.list_id.filter(|l| !l.trim().is_empty()) else {
        return Err(ApiError::BadRequest(
            "list_id is required: the list whose columns the template's tokens are checked against"
                .into(),
        ));
    };
    Ok(Json(
        library::check(&state.services, &id, list_id.trim()).await?,
    ))
}
