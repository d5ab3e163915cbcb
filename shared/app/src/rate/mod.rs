//! Provider rate limits shared by every worker, on every host: the per-API-key request budget
//! ([`budget`]) and the per-sender-number daily cap ([`daily_cap`]). Both live in the table, so
//! they hold across Lambda instances (DynamoDB) and across tasks (the embedded store).
//! docs/rate-limits.md explains the mechanism.

pub mod budget;
pub mod daily_cap;
pub mod gate;

pub use budget::{Admission, RateBudget, RateShare};
pub use daily_cap::{CapOutcome, DailyCap};
pub use gate::BudgetGate;

use chrono::{DateTime, Utc};

/// The `expires_at` of a limit item: `ttl` seconds after `now`, but never before the real time
/// plus `ttl`, since the store compares `expires_at` with its own (real) clock, not with the
/// injected one (tests run on a clock set in the past).
fn expires_at(now: DateTime<Utc>, ttl_seconds: i64) -> i64 {
    now.max(Utc::now()).timestamp() + ttl_seconds
}
