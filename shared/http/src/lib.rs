//! The one HTTP router of trickle: admin API, webhook, OpenAPI document. Hosted by `lambda_http`
//! in AWS and by the local runner on a TCP port.

mod activities;
mod audience;
mod auth;
mod campaigns;
mod contacts;
mod error;
mod events;
mod health;
mod local_blobs;
mod openapi;
mod opt_outs;
mod reconciliations;
mod webhooks;

use std::sync::Arc;

use axum::routing::get;
use axum::{middleware, Json, Router};
use trickle_app::health::HealthSettings;
use trickle_app::reconcile::ReconcileSettings;
use trickle_app::webhooks::ingest::IngestSettings;
use trickle_app::Services;

pub use error::ApiError;
pub use openapi::document as openapi_document;

#[derive(Clone)]
pub struct HttpSettings {
    /// Every `/v1` request must carry `Authorization: Bearer <admin_token>`.
    pub admin_token: String,
    /// The webhook health check (`POST /v1/health/checks`); `None` when not configured.
    pub health: Option<HealthSettings>,
    /// Reconciliation with OpenPhone (`POST /v1/reconciliations`); `None` when not configured.
    pub reconcile: Option<ReconcileSettings>,
}

#[derive(Clone)]
pub(crate) struct AppState {
    pub services: Services,
    pub admin_token: Arc<str>,
    pub webhooks: Arc<IngestSettings>,
    pub health: Arc<Option<HealthSettings>>,
    pub reconcile: Arc<Option<ReconcileSettings>>,
}

pub fn router(services: Services, settings: HttpSettings) -> Router {
    router_with_webhooks(services, settings, IngestSettings::new(vec![]))
}

/// The router with the webhook's signing keys (without keys every webhook is refused).
pub fn router_with_webhooks(
    services: Services,
    settings: HttpSettings,
    webhooks: IngestSettings,
) -> Router {
    let state = AppState {
        services,
        admin_token: Arc::from(settings.admin_token),
        webhooks: Arc::new(webhooks),
        health: Arc::new(settings.health),
        reconcile: Arc::new(settings.reconcile),
    };
    // Every resource brings its own routes; `/v1` ones sit behind the admin token.
    let admin = Router::new()
        .merge(contacts::routes())
        .merge(campaigns::routes())
        .merge(audience::routes())
        .merge(activities::routes())
        .merge(events::routes())
        .merge(opt_outs::routes())
        .merge(health::routes())
        .merge(reconciliations::routes())
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            auth::require_admin,
        ));
    let public = Router::new()
        .route("/healthz", get(healthz))
        .route("/openapi.json", get(openapi::serve))
        .merge(local_blobs::routes())
        .merge(webhooks::routes());
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
