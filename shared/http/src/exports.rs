//! `GET /v1/campaigns/{id}/sends.csv`, `/v1/lists/{id}/members.csv`, `/v1/review.csv` and
//! `/v1/opt-outs.csv`: the exports, streamed (see `trickle_app::exports`). The console serves
//! the same streams behind its session.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use trickle_app::exports::{self, CsvStream};

use crate::{ApiError, AppState};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/campaigns/{id}/sends.csv", get(campaign_sends))
        .route("/lists/{id}/members.csv", get(list_members))
        .route("/review.csv", get(review_list))
        .route("/opt-outs.csv", get(opt_outs))
}

/// A CSV attachment whose body is `stream`, as it is read.
pub(crate) fn csv_response(file_name: &str, stream: CsvStream) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file_name}\""),
            ),
        ],
        Body::from_stream(stream),
    )
        .into_response()
}

pub(crate) async fn campaign_sends(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let stream = exports::campaign_sends(&state.services, &id).await?;
    Ok(csv_response(&format!("{id}-sends.csv"), stream))
}

pub(crate) async fn list_members(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let stream = exports::list_members(&state.services, &id).await?;
    Ok(csv_response(&format!("{id}-members.csv"), stream))
}

pub(crate) async fn review_list(State(state): State<AppState>) -> Response {
    csv_response("review.csv", exports::review_list(&state.services))
}

pub(crate) async fn opt_outs(State(state): State<AppState>) -> Response {
    csv_response("opt-outs.csv", exports::opt_out_audit(&state.services))
}
