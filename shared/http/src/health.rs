//! `/v1/health…`: the webhook health check, its history and the current state.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use trickle_app::health::{self, HealthCheck};
use trickle_app::ports::queue::dead_letter_queue;
use trickle_app::queues;

use crate::paging::Page;
use crate::{ApiError, AppState};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/health", get(current))
        .route("/health/checks", post(run_now).get(history))
}

async fn run_now(
    State(state): State<AppState>,
) -> Result<(StatusCode, Json<HealthCheck>), ApiError> {
    let settings = state
        .health
        .as_ref()
        .as_ref()
        .ok_or_else(|| ApiError::Conflict {
            message: "the health check is not configured: set TRICKLE_HEALTH_SENDER, \
                  TRICKLE_HEALTH_RECEIVER, TRICKLE_ALERT_EMAIL and TRICKLE_ALERT_FROM"
                .into(),
            details: Value::Null,
        })?;
    let services = &state.services;
    let check = health::start_check(services, services.sms.as_ref(), settings).await?;
    Ok((StatusCode::CREATED, Json(check)))
}

async fn history(State(state): State<AppState>, page: Page) -> Result<Json<Value>, ApiError> {
    let (items, next) = health::history(&state.services, page.limit, page.cursor).await?;
    Ok(Json(json!({ "items": items, "next": next })))
}

/// Every queue and its dead-letter queue, whose depths the health answer reports.
pub(crate) fn queue_names() -> Vec<&'static str> {
    static NAMES: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    NAMES
        .get_or_init(|| {
            let dlqs = queues::ALL
                .iter()
                .map(|q| &*Box::leak(dead_letter_queue(q).into_boxed_str()));
            queues::ALL.iter().copied().chain(dlqs).collect()
        })
        .clone()
}

async fn current(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let mut body = health::current(&state.services, &queue_names()).await?;
    body["configured"] = json!(state.health.is_some());
    Ok(Json(body))
}
