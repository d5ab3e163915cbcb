//! `/v1/campaigns…` and `/v1/review` (nested under `/v1` behind the admin token).

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use trickle_app::campaigns::{
    self, review, sends, CampaignPage, Preview, PreviewRequest, RunReport,
};
use trickle_domain::campaign::{Campaign, CampaignPatch, RawCampaign};

use crate::paging::Page;
use crate::{ApiError, AppState};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/campaigns", get(list).post(create))
        .route("/campaigns/preview", post(preview))
        .route("/campaigns/{id}", get(get_one).patch(patch))
        .route("/campaigns/{id}/activate", post(activate))
        .route("/campaigns/{id}/pause", post(pause))
        .route("/campaigns/{id}/resume", post(resume))
        .route("/campaigns/{id}/archive", post(archive))
        .route("/campaigns/{id}/duplicate", post(duplicate))
        .route("/campaigns/{id}/run", post(run))
        .route("/campaigns/{id}/sends", get(list_sends))
        .route("/campaigns/{id}/stats", get(stats))
        .route("/campaigns/{id}/token-check", get(token_check))
        .route("/review", get(list_review))
        .route("/review/{id}", delete(dismiss_review))
        .route("/review/{id}/release", post(release_review))
}

fn body<T>(body: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    body.map(|Json(b)| b).map_err(ApiError::bad_body)
}

async fn create(
    State(state): State<AppState>,
    raw: Result<Json<RawCampaign>, JsonRejection>,
) -> Result<(StatusCode, Json<Campaign>), ApiError> {
    let campaign = campaigns::create(&state.services, body(raw)?).await?;
    Ok((StatusCode::CREATED, Json(campaign)))
}

async fn list(State(state): State<AppState>, paging: Page) -> Result<Json<CampaignPage>, ApiError> {
    let limit = paging.limit;
    Ok(Json(
        campaigns::list(&state.services, limit, paging.cursor).await?,
    ))
}

async fn stats(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<campaigns::stats::CampaignStats>, ApiError> {
    Ok(Json(campaigns::stats::stats(&state.services, &id).await?))
}

/// The campaign's tokens against its list's columns, before activation.
async fn token_check(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<trickle_app::library::TokenCheck>, ApiError> {
    let campaign = campaigns::get(&state.services, &id).await?;
    Ok(Json(
        campaigns::from_template::token_check(&state.services, &campaign).await?,
    ))
}

async fn get_one(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Campaign>, ApiError> {
    Ok(Json(campaigns::get(&state.services, &id).await?))
}

async fn patch(
    State(state): State<AppState>,
    Path(id): Path<String>,
    patch: Result<Json<CampaignPatch>, JsonRejection>,
) -> Result<Json<Campaign>, ApiError> {
    Ok(Json(
        campaigns::patch(&state.services, &id, body(patch)?).await?,
    ))
}

async fn activate(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Campaign>, ApiError> {
    Ok(Json(
        campaigns::activate_within(&state.services, &id, state.budget.as_ref()).await?,
    ))
}

async fn pause(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Campaign>, ApiError> {
    Ok(Json(campaigns::pause(&state.services, &id).await?))
}

async fn resume(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Campaign>, ApiError> {
    Ok(Json(
        campaigns::resume_within(&state.services, &id, state.budget.as_ref()).await?,
    ))
}

async fn archive(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Campaign>, ApiError> {
    Ok(Json(campaigns::archive(&state.services, &id).await?))
}

async fn duplicate(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<Campaign>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(campaigns::duplicate(&state.services, &id).await?),
    ))
}

/// 200 with the whole run, or 202 when the run is larger than a request plans: the tick plans
/// the rest within a minute (the run's progress is in the campaign's stats and sends).
async fn run(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<RunReport>), ApiError> {
    let report = campaigns::run_now(&state.services, &id).await?;
    let status = if report.outcome == campaigns::RunOutcome::Continues {
        StatusCode::ACCEPTED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(report)))
}

async fn preview(
    State(state): State<AppState>,
    request: Result<Json<PreviewRequest>, JsonRejection>,
) -> Result<Json<Preview>, ApiError> {
    Ok(Json(
        campaigns::preview(&state.services, body(request)?).await?,
    ))
}

async fn list_sends(
    State(state): State<AppState>,
    Path(id): Path<String>,
    paging: Page,
) -> Result<Json<sends::SendPage>, ApiError> {
    // A campaign that does not exist is a 404, not an empty page.
    campaigns::get(&state.services, &id).await?;
    let limit = paging.limit;
    Ok(Json(
        sends::list(&state.services, &id, limit, paging.cursor).await?,
    ))
}

async fn list_review(
    State(state): State<AppState>,
    paging: Page,
) -> Result<Json<review::ReviewPage>, ApiError> {
    let limit = paging.limit;
    Ok(Json(
        review::list(&state.services, limit, paging.cursor).await?,
    ))
}

/// `DELETE /v1/review/{id}`: the contact stays out of that campaign.
async fn dismiss_review(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    review::dismiss(&state.services, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /v1/review/{id}/release`: the contact gets the campaign's message after all.
async fn release_review(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<campaigns::SendRecord>), ApiError> {
    let send = review::release(&state.services, &id).await?;
    Ok((StatusCode::CREATED, Json(send)))
}
