//! The one HTTP router of trickle: admin API, webhook, OpenAPI document. Hosted by `lambda_http`
//! in AWS and by the local runner on a TCP port.

mod auth;
mod contacts;
mod error;
mod local_blobs;
mod openapi;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, put};
use axum::{middleware, Json, Router};
use trickle_app::Services;

pub use error::ApiError;
pub use openapi::OPENAPI_JSON;

/// Largest upload the local runner takes through a pre-signed URL (S3 takes them in AWS).
pub const MAX_LOCAL_UPLOAD: usize = 1024 * 1024 * 1024;

#[derive(Clone)]
pub struct HttpSettings {
    /// Every `/v1` request must carry `Authorization: Bearer <admin_token>`.
    pub admin_token: String,
}

#[derive(Clone)]
pub(crate) struct AppState {
    pub services: Services,
    pub admin_token: Arc<str>,
}

pub fn router(services: Services, settings: HttpSettings) -> Router {
    let state = AppState {
        services,
        admin_token: Arc::from(settings.admin_token),
    };
    let admin = Router::new()
        .route(
            "/contacts",
            get(contacts::find_by_phone).post(contacts::create),
        )
        .route("/contacts/{id}", get(contacts::get))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            auth::require_admin,
        ));
    Router::new()
        .route("/healthz", get(healthz))
        .route("/openapi.json", get(openapi::document))
        .route(
            "/local-blobs/{*key}",
            put(local_blobs::upload).layer(DefaultBodyLimit::max(MAX_LOCAL_UPLOAD)),
        )
        .nest("/v1", admin)
        .fallback(|| async { ApiError::NotFound("no such route".into()) })
        .layer(middleware::from_fn(log_request))
        .with_state(state)
}

async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

/// One line per request, with its method, path, status and latency.
async fn log_request(
    request: axum::extract::Request,
    next: middleware::Next,
) -> axum::response::Response {
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    tracing::info!(
        %method,
        %path,
        status = response.status().as_u16(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "request"
    );
    response
}
