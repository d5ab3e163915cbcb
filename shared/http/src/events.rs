//! `/v1/events…`: the captured webhook events, for operators (nested under `/v1`).

use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::Value;
use trickle_app::webhooks::events::{self, EventFilter, EventPage, EventStatus};

use crate::paging::Page;
use crate::{ApiError, AppState};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/events", get(list))
        .route("/events/{id}", get(get_one))
        .route("/events/{id}/replay", post(replay))
}

#[derive(Deserialize)]
struct ListQuery {
    status: Option<String>,
    #[serde(rename = "type")]
    event_type: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    Query(query): Query<ListQuery>,
    paging: Page,
) -> Result<Json<EventPage>, ApiError> {
    let status = match query.status.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(EventStatus::parse(s).ok_or_else(|| {
            ApiError::BadRequest(format!(
                "status must be one of received, processed, failed, ignored (got {s:?})"
            ))
        })?),
    };
    let filter = EventFilter {
        status,
        event_type: query.event_type.filter(|t| !t.is_empty()),
        limit: paging.limit,
        cursor: paging.cursor,
    };
    Ok(Json(events::list(&state.services, filter).await?))
}

async fn get_one(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(events::get(&state.services, &id).await?))
}

async fn replay(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(events::replay(&state.services, &id).await?))
}
