//! `/v1/contacts/{id}/activities`: a contact's timeline (messages, calls, missed calls).

use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use trickle_app::contacts;
use trickle_app::webhooks::activities::{self, ActivityPage};

use crate::{ApiError, AppState};

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/contacts/{id}/activities", get(list))
}

#[derive(Deserialize)]
struct Paging {
    limit: Option<u32>,
    cursor: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(paging): Query<Paging>,
) -> Result<Json<ActivityPage>, ApiError> {
    contacts::get(&state.services, &id).await?;
    let page = activities::list(
        &state.services,
        &id,
        paging.limit.unwrap_or(50),
        paging.cursor,
    )
    .await?;
    Ok(Json(page))
}
