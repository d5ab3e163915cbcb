//! `/v1/imports…`, `/v1/lists…`, `/v1/suppressions` (nested under `/v1` behind the admin token).

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use trickle_app::audience::{imports, lists, AudienceSettings};
use trickle_domain::PhoneNumber;

use crate::paging::Page;
use crate::{ApiError, AppState};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/imports", post(create_import))
        .route("/imports/{id}", get(get_import))
        .route("/imports/{id}/rejects", get(get_rejects))
        .route("/imports/{id}/resume", post(resume_import))
        .route("/imports/{id}/cancel", post(cancel_import))
        .route("/lists", get(list_lists))
        .route("/lists/{id}", get(get_list))
        .route("/lists/{id}/members", get(list_members))
        .route("/suppressions", get(find_suppression))
        .route("/suppressions/{phone}", delete(lift_suppression))
}

async fn create_import(
    State(state): State<AppState>,
    body: Result<Json<imports::NewImport>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Json<imports::ImportCreated>), ApiError> {
    let Json(request) = body.map_err(ApiError::bad_body)?;
    let created = imports::create(&state.services, &AudienceSettings::default(), request).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

async fn get_import(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let import = imports::load(&state.services, &id).await?;
    Ok(Json(imports::view(&import)))
}

async fn resume_import(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let import = imports::resume(&state.services, &id).await?;
    Ok(Json(imports::view(&import)))
}

async fn cancel_import(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let import = imports::cancel(&state.services, &id).await?;
    Ok(Json(imports::view(&import)))
}

pub(crate) async fn get_rejects(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let reader = imports::rejects(&state.services, &id).await?;
    let body = Body::from_stream(tokio_util::io::ReaderStream::new(reader));
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"rejects-{id}.csv\""),
            ),
        ],
        body,
    )
        .into_response())
}

async fn list_lists(State(state): State<AppState>, page: Page) -> Result<Json<Value>, ApiError> {
    let found = lists::list_lists(&state.services, page.limit, page.cursor).await?;
    Ok(Json(json!({ "items": found.items, "next": found.next })))
}

async fn get_list(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let list = lists::get_list(&state.services, &id).await?;
    Ok(Json(
        serde_json::to_value(list).map_err(|e| ApiError::Internal(e.to_string()))?,
    ))
}

async fn list_members(
    State(state): State<AppState>,
    Path(id): Path<String>,
    page: Page,
) -> Result<Json<Value>, ApiError> {
    let found = lists::members(&state.services, &id, page.limit, page.cursor).await?;
    Ok(Json(json!({ "items": found.items, "next": found.next })))
}

#[derive(Deserialize)]
struct ByPhone {
    phone: Option<String>,
}

async fn find_suppression(
    State(state): State<AppState>,
    Query(query): Query<ByPhone>,
) -> Result<Json<Value>, ApiError> {
    let raw = query
        .phone
        .ok_or_else(|| ApiError::BadRequest("the phone query parameter is required".into()))?;
    let phone = PhoneNumber::parse(&raw).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let entry = lists::suppression(&state.services, &phone).await?;
    Ok(Json(json!({
        "phone": phone,
        "suppressed": entry.is_some(),
        "entry": entry,
    })))
}

/// Lifts a suppression the carrier's reports caused (an imported list's entry stays).
async fn lift_suppression(
    State(state): State<AppState>,
    Path(phone): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let phone = PhoneNumber::parse(&phone).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    Ok(Json(
        trickle_app::webhooks::failures::lift_carrier_suppression(&state.services, &phone).await?,
    ))
}
