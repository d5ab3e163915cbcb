//! The one HTTP router of trickle: admin API, webhook, OpenAPI document. Hosted by `lambda_http`
//! in AWS and by the local runner on a TCP port.

mod audience;
mod auth;
mod campaigns;
mod contacts;
mod error;
mod local_blobs;
mod openapi;

use std::sync::Arc;

use axum::routing::get;
use axum::{middleware, Json, Router};
use trickle_app::Services;

pub use error::ApiError;
pub use openapi::document as openapi_document;

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
    // Every resource brings its own routes; `/v1` ones sit behind the admin token.
    let admin = Router::new()
        .merge(contacts::routes())
        .merge(campaigns::routes())
        .merge(audience::routes())
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            auth::require_admin,
        ));
    let public = Router::new()
        .route("/healthz", get(healthz))
        .route("/openapi.json", get(openapi::serve))
        .merge(local_blobs::routes());
    public
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
