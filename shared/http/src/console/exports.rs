//! The exports behind the console's session (the same streams as `GET /v1/…csv`); a refusal
//! is a console page.

use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;

use super::ConsoleError;
use crate::exports;
use crate::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/campaigns/{id}/sends.csv", get(sends))
        .route("/lists/{id}/members.csv", get(members))
        .route("/review.csv", get(exports::review_list))
}

async fn sends(state: State<AppState>, id: Path<String>) -> Result<Response, ConsoleError> {
    Ok(exports::campaign_sends(state, id).await?)
}

async fn members(state: State<AppState>, id: Path<String>) -> Result<Response, ConsoleError> {
    Ok(exports::list_members(state, id).await?)
}
