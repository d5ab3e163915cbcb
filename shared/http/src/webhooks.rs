//! `POST /webhooks/openphone`: public, authenticated by the webhook signature alone.

use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use bytes::Bytes;
use serde_json::{json, Value};
use trickle_app::webhooks::ingest::{self, Ingested, MAX_BODY_BYTES};
use trickle_domain::webhook_signature::SignatureHeaders;

use crate::{ApiError, AppState};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/webhooks/openphone", post(receive))
        // One byte over the limit is enough to know the body is too large.
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES + 1))
}

async fn receive(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let body = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge(format!(
                "webhook bodies are limited to {MAX_BODY_BYTES} bytes"
            ))
        } else {
            ApiError::BadRequest(e.body_text())
        }
    })?;
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let signature = SignatureHeaders {
        openphone_signature: header("openphone-signature"),
        webhook_id: header("webhook-id"),
        webhook_timestamp: header("webhook-timestamp"),
        webhook_signature: header("webhook-signature"),
    };
    let outcome = ingest::ingest(&state.services, &state.webhooks, &signature, &body).await?;
    Ok(match outcome {
        Ingested::Accepted { event_id, status } => (
            StatusCode::OK,
            Json(json!({ "event_id": event_id, "status": status.as_str() })),
        ),
        Ingested::Duplicate { event_id } => (
            StatusCode::OK,
            Json(json!({ "event_id": event_id, "status": "duplicate" })),
        ),
        Ingested::NotJson { event_id } => {
            return Err(ApiError::BadRequest(format!(
                "the body is not a JSON object; stored as event {event_id} for inspection"
            )))
        }
    })
}
