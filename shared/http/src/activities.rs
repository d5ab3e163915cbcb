//! `/v1/contacts/{id}/activities`: a contact's timeline (messages, calls, missed calls).

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use trickle_app::contacts;
use trickle_app::webhooks::activities::{self, ActivityPage};

use crate::paging::Page;
use crate::{ApiError, AppState};

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/contacts/{id}/activities", get(list))
}

async fn list(
    State(state): State<AppState>,
    Path(id): Path<String>,
    paging: Page,
) -> Result<Json<ActivityPage>, ApiError> {
    contacts::get(&state.services, &id).await?;
    let page = activities::list(&state.services, &id, paging.limit, paging.cursor).await?;
    Ok(Json(page))
}
