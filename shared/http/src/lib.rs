//! The one HTTP router of trickle: admin API, webhook, OpenAPI document. Hosted by `lambda_http`
//! in AWS and by the local runner on a TCP port.

mod activities;
mod audience;
mod auth;
mod campaigns;
mod console;
mod contacts;
mod error;
mod events;
mod exports;
mod health;
mod insights;
mod local_blobs;
mod openapi;
mod opt_outs;
mod paging;
mod reconciliations;
mod templates;
mod webhooks;

use std::sync::Arc;

use axum::routing::get;
use axum::{middleware, Json, Router};
use trickle_app::health::HealthSettings;
use trickle_app::reconcile::ReconcileSettings;
use trickle_app::webhooks::ingest::IngestSettings;
use trickle_app::Services;

pub use console::SandboxPanel;
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
    /// The console's sandbox panel (sandbox mode of `trickle dev` only).
    pub sandbox: Option<Arc<dyn SandboxPanel>>,
    /// The OpenPhone key's request budget, for the provider calls a request makes (the sender
    /// check at activation); `None` asks without one.
    pub budget: Option<trickle_app::rate::RateBudget>,
}

#[derive(Clone)]
pub(crate) struct AppState {
    pub services: Services,
    pub admin_token: Arc<str>,
    pub webhooks: Arc<IngestSettings>,
    pub health: Arc<Option<HealthSettings>>,
    pub reconcile: Arc<Option<ReconcileSettings>>,
    /// Signs the console's session cookies (derived from the admin token).
    pub console: console::SessionKeys,
    pub sandbox: Option<Arc<dyn SandboxPanel>>,
    pub budget: Option<trickle_app::rate::RateBudget>,
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
        console: console::SessionKeys::from_admin_token(&settings.admin_token),
        sandbox: settings.sandbox,
        budget: settings.budget,
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
        .merge(exports::routes())
        .merge(health::routes())
        .merge(insights::routes())
        .merge(templates::routes())
        .merge(reconciliations::routes())
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            auth::require_admin,
        ));
    let public = Router::new()
        .route("/healthz", get(healthz))
        .route("/openapi.json", get(openapi::serve))
        .merge(local_blobs::routes())
        .merge(webhooks::routes())
        .merge(console::routes(&state));
    public
        .nest("/v1", admin)
        .fallback(|| async { ApiError::NotFound("no such route".into()) })
        .layer(middleware::from_fn(log_request))
        .with_state(state)
}

async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

/// Every log line of a request carries its id: the caller's `x-request-id` when it is a sane
/// token, else a new one; the response echoes it. One line per request, with its method, path,
/// status and latency.
async fn log_request(
    request: axum::extract::Request,
    next: middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    use tracing::Instrument;
    let id = request
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| is_sane_request_id(v))
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    let span = tracing::info_span!("request", request_id = %id);
    let method = request.method().clone();
    // A path may name a number (`/v1/opt-outs/%2B1…`): logged by its last four digits.
    let path = trickle_domain::log_privacy::redact_phones(request.uri().path());
    let started = std::time::Instant::now();
    let mut response = next.run(request).instrument(span.clone()).await;
    span.in_scope(|| {
        tracing::info!(
            %method,
            %path,
            status = response.status().as_u16(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "request"
        )
    });
    if let Some(opaque) = response
        .extensions()
        .get::<error::OpaqueServerError>()
        .copied()
    {
        // The body names the request id, so a person can hand it to whoever reads the logs.
        let body = serde_json::json!({
            "error": { "code": opaque.code, "message": opaque.message, "request_id": id }
        });
        let status = response.status();
        response = (status, Json(body)).into_response();
    }
    if let Ok(value) = http::HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    response
}

const REQUEST_ID: &str = "x-request-id";

fn is_sane_request_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

#[cfg(test)]
mod request_id_tests {
    use super::*;
    use tower::ServiceExt;

    async fn answer(header: Option<&str>) -> Option<String> {
        let app = Router::new()
            .route("/healthz", get(healthz))
            .layer(middleware::from_fn(log_request));
        let mut request = http::Request::builder().uri("/healthz");
        if let Some(h) = header {
            request = request.header(REQUEST_ID, h);
        }
        let response = app
            .oneshot(request.body(axum::body::Body::empty()).unwrap())
            .await
            .unwrap();
        response
            .headers()
            .get(REQUEST_ID)
            .map(|v| v.to_str().unwrap().to_string())
    }

    #[tokio::test]
    async fn a_server_error_names_its_request_id_and_nothing_internal() {
        async fn failing() -> Result<(), error::ApiError> {
            Err(error::ApiError::Internal(
                "stored campaign CAMPAIGN#x is unreadable".into(),
            ))
        }
        let app = Router::new()
            .route("/boom", get(failing))
            .layer(middleware::from_fn(log_request));
        let request = http::Request::builder()
            .uri("/boom")
            .header(REQUEST_ID, "req-7")
            .body(axum::body::Body::empty())
            .unwrap();
        let response = app.oneshot(request).await.unwrap();
        assert_eq!(response.status(), http::StatusCode::INTERNAL_SERVER_ERROR);
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(body["error"]["request_id"], "req-7");
        assert_eq!(body["error"]["code"], "internal");
        assert!(!body.to_string().contains("CAMPAIGN#"), "{body}");
    }

    #[tokio::test]
    async fn a_sane_caller_id_is_kept_and_echoed() {
        assert_eq!(
            answer(Some("req-42_a.b")).await.as_deref(),
            Some("req-42_a.b")
        );
    }

    #[tokio::test]
    async fn a_missing_or_unsafe_id_is_replaced_by_a_new_one() {
        for header in [
            None,
            Some("has space"),
            Some("semi;colon"),
            Some(&"x".repeat(65)[..]),
        ] {
            let id = answer(header).await.expect("an id on every response");
            assert_eq!(id.len(), 36, "a uuid: {id}");
            assert_ne!(Some(id.as_str()), header);
        }
        assert_ne!(answer(None).await, answer(None).await, "a new id each time");
    }
}
