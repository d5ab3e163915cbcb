//! `/v1/reconciliations…`: start a reconciliation with OpenPhone now, and read the runs.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use trickle_app::reconcile::{self, RunRecord, StartRequest};

use crate::paging::Page;
use crate::{ApiError, AppState};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/reconciliations", post(start).get(list))
        .route("/reconciliations/{id}", get(one))
}

async fn start(
    State(state): State<AppState>,
    body: Option<Json<StartRequest>>,
) -> Result<(StatusCode, Json<RunRecord>), ApiError> {
    let settings = state
        .reconcile
        .as_ref()
        .as_ref()
        .ok_or_else(|| ApiError::Conflict {
            message: "reconciliation is not configured: set TRICKLE_RECONCILE_NUMBERS (and an \
                      OpenPhone API key)"
                .into(),
            details: Value::Null,
        })?;
    let request = body.map(|Json(b)| b).unwrap_or_default();
    let run = reconcile::start(&state.services, settings, request).await?;
    Ok((StatusCode::ACCEPTED, Json(run)))
}

async fn list(State(state): State<AppState>, page: Page) -> Result<Json<Value>, ApiError> {
    let (items, next) = reconcile::list(&state.services, page.limit, page.cursor).await?;
    Ok(Json(json!({ "items": items, "next": next })))
}

async fn one(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<RunRecord>, ApiError> {
    Ok(Json(reconcile::get(&state.services, &id).await?))
}
