use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use trickle_app::contacts;
use trickle_domain::{Contact, PhoneNumber, RawContact};

use crate::{ApiError, AppState};

/// `/v1/contacts…` (nested under `/v1` behind the admin token).
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/contacts", get(find).post(create))
        .route("/contacts/{id}", get(get_one))
}

async fn create(
    State(state): State<AppState>,
    body: Result<Json<RawContact>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Json<Contact>), ApiError> {
    let Json(raw) = body.map_err(ApiError::bad_body)?;
    let contact = contacts::create(&state.services, raw).await?;
    Ok((StatusCode::CREATED, Json(contact)))
}

async fn get_one(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Contact>, ApiError> {
    Ok(Json(contacts::get(&state.services, &id).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Find {
    phone: Option<String>,
    name: Option<String>,
    limit: Option<u32>,
}

/// `GET /v1/contacts?phone=…` (the one contact with that number) or `?name=…` (contacts whose
/// first or last name starts with it).
async fn find(
    State(state): State<AppState>,
    query: Result<Query<Find>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let Query(query) = query.map_err(|_| {
        ApiError::BadRequest(
            "find contacts with `phone` (a number in any common spelling) or `name` (the start of a first or last name), and optionally `limit`".into(),
        )
    })?;
    let found = match (query.phone, query.name) {
        (Some(raw), None) => {
            let phone =
                PhoneNumber::parse(&raw).map_err(|e| ApiError::BadRequest(e.to_string()))?;
            contacts::find_by_phone(&state.services, &phone)
                .await?
                .into_iter()
                .collect::<Vec<_>>()
        }
        (None, Some(name)) if !name.trim().is_empty() => {
            contacts::search_by_name(&state.services, &name, query.limit.unwrap_or(50)).await?
        }
        (Some(_), Some(_)) => {
            return Err(ApiError::BadRequest(
                "give either `phone` or `name`, not both".into(),
            ))
        }
        _ => {
            return Err(ApiError::BadRequest(
                "the `phone` or `name` query parameter is required".into(),
            ))
        }
    };
    Ok(Json(serde_json::json!({ "items": found })))
}
