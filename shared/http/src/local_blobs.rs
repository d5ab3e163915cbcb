//! Uploads to the URLs the embedded blob store pre-signs (the local runner's stand-in for S3).

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};

use crate::{ApiError, AppState};

pub(crate) async fn upload(
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
