//! A NumVerify simulator: `GET /validate?access_key=K&number=N`, answering like the real API
//! (as apilayer documents NumVerify): HTTP 200 for answers and for errors alike.
//!
//! Deterministic answers, by the last digit of the number:
//!
//! | last digit | answer |
//! |---|---|
//! | 0–4 | `valid: true`, `line_type: "mobile"` |
//! | 5–6 | `valid: true`, `line_type: "landline"` |
//! | 7 | `valid: true`, `line_type: "toll_free"` |
//! | 8 | `valid: false` (every string empty, `line_type: null`) |
//! | 9 | `valid: true`, `line_type: "special_services"` |
//!
//! Errors: a wrong `access_key` (when one is configured) → 101; more answered lookups than the
//! quota → 104 (until [`NumVerifySimulator::set_quota`] lifts it); no number → 210;
//! [`NumVerifySimulator::fail_next`] makes the next requests answer HTTP 500;
//! [`NumVerifySimulator::set_latency`] slows every answer down.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

#[derive(Debug, Clone, Default)]
pub struct NumVerifySettings {
    /// The only key accepted; any key when `None`.
    pub access_key: Option<String>,
    /// Lookups answered before error 104; unlimited when `None`.
    pub quota: Option<u64>,
    pub latency: Duration,
}

#[derive(Default)]
struct SimState {
    settings: NumVerifySettings,
    /// Lookups answered with a result, per number (digits as sent).
    answered: HashMap<String, u64>,
    answered_total: u64,
    requests: u64,
    fail_next: u32,
}

/// A running simulator; dropping it stops the server.
pub struct NumVerifySimulator {
    pub base_url: String,
    state: Arc<Mutex<SimState>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for NumVerifySimulator {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl NumVerifySimulator {
    /// Serves on a free loopback port.
    pub async fn start(settings: NumVerifySettings) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base_url = format!("http://{}/api", listener.local_addr()?);
        let state = Arc::new(Mutex::new(SimState {
            settings,
            ..SimState::default()
        }));
        let app = Router::new()
            .route("/api/validate", get(validate))
            .with_state(state.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self {
            base_url,
            state,
            task,
        })
    }

    fn with<T>(&self, f: impl FnOnce(&mut SimState) -> T) -> T {
        f(&mut self.state.lock().expect("never poisoned"))
    }

    /// Lookups answered with a result (what the quota counts).
    pub fn lookups(&self) -> u64 {
        self.with(|s| s.answered_total)
    }

    /// Lookups answered for one number, given in E.164 or digits.
    pub fn lookups_of(&self, number: &str) -> u64 {
        let digits: String = number.chars().filter(char::is_ascii_digit).collect();
        self.with(|s| s.answered.get(&digits).copied().unwrap_or(0))
    }

    /// Every request, errors included.
    pub fn requests(&self) -> u64 {
        self.with(|s| s.requests)
    }

    pub fn set_quota(&self, quota: Option<u64>) {
        self.with(|s| s.settings.quota = quota);
    }

    pub fn set_latency(&self, latency: Duration) {
        self.with(|s| s.settings.latency = latency);
    }

    /// The next `n` requests answer HTTP 500.
    pub fn fail_next(&self, n: u32) {
        self.with(|s| s.fail_next = n);
    }
}

/// The answer the simulator gives for `digits` (documented above).
pub fn answer_for(digits: &str) -> serde_json::Value {
    let last = digits
        .chars()
        .last()
        .and_then(|c| c.to_digit(10))
        .unwrap_or(8);
    let line_type = match last {
        0..=4 => "mobile",
        5 | 6 => "landline",
        7 => "toll_free",
        8 => {
            return json!({"valid": false, "number": digits, "local_format": "",
                "international_format": "", "country_prefix": "", "country_code": "",
                "country_name": "", "location": "", "carrier": "", "line_type": null});
        }
        _ => "special_services",
    };
    let national = digits.strip_prefix('1').unwrap_or(digits);
    json!({
        "valid": true, "number": digits, "local_format": national,
        "international_format": format!("+{digits}"), "country_prefix": "+1",
        "country_code": "US", "country_name": "United States of America",
        "location": "", "carrier": if line_type == "mobile" { "Simulated Wireless" } else { "" },
        "line_type": line_type,
    })
}

fn error(code: u32, kind: &str, info: &str) -> Response {
    Json(json!({"success": false, "error": {"code": code, "type": kind, "info": info}}))
        .into_response()
}

async fn validate(
    State(state): State<Arc<Mutex<SimState>>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let latency = {
        let mut s = state.lock().expect("never poisoned");
        s.requests += 1;
        s.settings.latency
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let mut s = state.lock().expect("never poisoned");
    if s.fail_next > 0 {
        s.fail_next -= 1;
        return (StatusCode::INTERNAL_SERVER_ERROR, "simulated outage").into_response();
    }
    let key = query.get("access_key").map(String::as_str).unwrap_or("");
    let key_ok = match &s.settings.access_key {
        Some(expected) => key == expected,
        None => !key.is_empty(),
    };
    if !key_ok {
        return error(
            101,
            "invalid_access_key",
            "You have not supplied a valid API Access Key.",
        );
    }
    let digits: String = query
        .get("number")
        .map(|n| n.chars().filter(char::is_ascii_digit).collect())
        .unwrap_or_default();
    if digits.is_empty() {
        return error(
            210,
            "no_phone_number_provided",
            "Please specify a phone number.",
        );
    }
    if s.settings.quota.is_some_and(|q| s.answered_total >= q) {
        return error(
            104,
            "usage_limit_reached",
            "Your monthly API request volume has been reached. Please upgrade your plan.",
        );
    }
    s.answered_total += 1;
    *s.answered.entry(digits.clone()).or_default() += 1;
    Json(answer_for(&digits)).into_response()
}
