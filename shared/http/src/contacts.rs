use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use trickle_app::contacts;
use trickle_domain::{Contact, PhoneNumber, RawContact};

use crate::{ApiError, AppState};

/// `/v1/contacts…` (nested under `/v1` behind the admin token).
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/contacts", get(find_by_phone).post(create))
        .route("/contacts/{id}", get(get_one))
}

async fn create(
    State(state): State<AppState>,
    body: Result<Json<RawContact>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Json<Contact>), ApiError> {
    let Json(raw) = body.map_err(ApiError::bad_body)?;
    let contact = contacts::create(&state.services, raw).await?;
    Ok((StatusCode::CREATED, Json(contact)))
}

async fn get_one(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Contact>, ApiError> {
    Ok(Json(contacts::get(&state.services, &id).await?))
}

#[derive(Deserialize)]
struct ByPhone {
    phone: Option<String>,
}

async fn find_by_phone(
    State(state): State<AppState>,
    Query(query): Query<ByPhone>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let raw = query
        .phone
        .ok_or_else(|| ApiError::BadRequest("the phone query parameter is required".into()))?;
    let phone = PhoneNumber::parse(&raw).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let found = contacts::find_by_phone(&state.services, &phone).await?;
    Ok(Json(
        serde_json::json!({ "items": found.into_iter().collect::<Vec<_>>() }),
    ))
}
