//! `/v1/opt-outs…`: the opt-out states with their audit trail; manual opt-out and re-subscribe.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{delete, get};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use trickle_app::webhooks::opt_out;
use trickle_domain::PhoneNumber;

use crate::paging::Page;
use crate::{ApiError, AppState};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/opt-outs", get(list).post(create))
        .route("/opt-outs/{phone}", delete(resubscribe))
}

async fn list(State(state): State<AppState>, paging: Page) -> Result<Json<Value>, ApiError> {
    let (items, next) = opt_out::list(&state.services, paging.limit, paging.cursor).await?;
    Ok(Json(json!({ "items": items, "next": next })))
}

#[derive(Deserialize)]
struct ManualOptOut {
    phone: String,
    reason: Option<String>,
}

async fn create(
    State(state): State<AppState>,
    body: Result<Json<ManualOptOut>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let Json(body) = body.map_err(ApiError::bad_body)?;
    let phone = parse_phone(&body.phone)?;
    let state_view =
        opt_out::manual_opt_out(&state.services, &phone, body.reason.as_deref()).await?;
    Ok((StatusCode::CREATED, Json(state_view)))
}

#[derive(Deserialize)]
struct Reason {
    reason: Option<String>,
}

async fn resubscribe(
    State(state): State<AppState>,
    Path(phone): Path<String>,
    Query(query): Query<Reason>,
) -> Result<Json<Value>, ApiError> {
    let phone = parse_phone(&phone)?;
    let reason = query
        .reason
        .ok_or_else(|| ApiError::BadRequest("the reason query parameter is required".into()))?;
    Ok(Json(
        opt_out::manual_resubscribe(&state.services, &phone, &reason).await?,
    ))
}

fn parse_phone(raw: &str) -> Result<PhoneNumber, ApiError> {
    PhoneNumber::parse(raw).map_err(|e| ApiError::BadRequest(e.to_string()))
}
