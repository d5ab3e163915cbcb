//! `/v1/insights/…`: the best time to send and the overview of a date range, across campaigns.

use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{Duration, NaiveDate};
use serde::Deserialize;
use trickle_app::insights::{self, BestTime, InsightsError, Overview};

use crate::{ApiError, AppState};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/insights/best-time", get(best_time))
        .route("/insights/overview", get(overview))
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct Range {
    pub from: Option<String>,
    pub to: Option<String>,
}

impl Range {
    /// The dates asked for; `to` defaults to today (UTC) and `from` to `default_days` before.
    pub fn dates(
        &self,
        today: NaiveDate,
        default_days: i64,
    ) -> Result<(NaiveDate, NaiveDate), ApiError> {
        let parse = |field: &str, value: &Option<String>| -> Result<Option<NaiveDate>, String> {
            value
                .as_deref()
                .filter(|v| !v.trim().is_empty())
                .map(|v| {
                    NaiveDate::parse_from_str(v.trim(), "%Y-%m-%d").map_err(|_| {
                        format!("{field} must be a date written YYYY-MM-DD, such as 2026-03-01")
                    })
                })
                .transpose()
        };
        let (from, to) = (parse("from", &self.from), parse("to", &self.to));
        let problems: Vec<String> = [&from, &to]
            .iter()
            .filter_map(|r| r.as_ref().err().cloned())
            .collect();
        if !problems.is_empty() {
            return Err(ApiError::BadRequest(problems.join("; ")));
        }
        let to = to.ok().flatten().unwrap_or(today);
        let from = from
            .ok()
            .flatten()
            .unwrap_or(to - Duration::days(default_days - 1));
        Ok((from, to))
    }
}

impl From<InsightsError> for ApiError {
    fn from(e: InsightsError) -> Self {
        match e {
            InsightsError::Range => ApiError::BadRequest(e.to_string()),
            InsightsError::Store(e) => e.into(),
        }
    }
}

async fn best_time(
    State(state): State<AppState>,
    Query(range): Query<Range>,
) -> Result<Json<BestTime>, ApiError> {
    let today = state.services.clock.now().date_naive();
    let (from, to) = range.dates(today, 90)?;
    Ok(Json(insights::best_time(&state.services, from, to).await?))
}

async fn overview(
    State(state): State<AppState>,
    Query(range): Query<Range>,
) -> Result<Json<Overview>, ApiError> {
    let today = state.services.clock.now().date_naive();
    let (from, to) = range.dates(today, 30)?;
    Ok(Json(insights::overview(&state.services, from, to).await?))
}
