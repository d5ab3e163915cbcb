//! Uploads to the URLs the embedded blob store pre-signs (the local runner's stand-in for S3).
//! The body is handed on as a stream: the store checks the URL's signature before reading it.

use std::collections::BTreeMap;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::put;
use axum::Router;
use futures::TryStreamExt;
use tokio_util::io::StreamReader;

use crate::{ApiError, AppState};

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/local-blobs/{*key}", put(upload))
}

async fn upload(
    State(state): State<AppState>,
    Path(key): Path<String>,
    Query(query): Query<BTreeMap<String, String>>,
    headers: HeaderMap,
    body: Body,
) -> Result<StatusCode, ApiError> {
    let content_type = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok());
    let body = StreamReader::new(body.into_data_stream().map_err(std::io::Error::other));
    state
        .services
        .blobs
        .accept_upload(&key, &query, content_type, Box::new(body))
        .await?;
    Ok(StatusCode::OK)
}
