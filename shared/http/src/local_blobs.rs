//! Uploads to the URLs the embedded blob store pre-signs (the local runner's stand-in for S3).

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::DefaultBodyLimit;
use axum::extract::{Path, Query, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::put;
use axum::Router;

use crate::{ApiError, AppState};

/// Largest upload the local runner takes through a pre-signed URL (S3 takes them in AWS).
pub const MAX_LOCAL_UPLOAD: usize = 1024 * 1024 * 1024;

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route(
        "/local-blobs/{*key}",
        put(upload).layer(DefaultBodyLimit::max(MAX_LOCAL_UPLOAD)),
    )
}

async fn upload(
    State(state): State<AppState>,
    Path(key): Path<String>,
    Query(query): Query<BTreeMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    let content_type = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok());
    state
        .services
        .blobs
        .accept_upload(&key, &query, content_type, body)
        .await?;
    Ok(StatusCode::OK)
}
