//! OpenPhone's answers as they come over the wire, and how an error answer maps to [`SmsError`].

use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::Value;
use trickle_app::ports::{Direction, ProviderMessage, SmsError};

/// The documented error body.
#[derive(Debug, Default, Deserialize)]
pub(super) struct ErrorBody {
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    errors: Option<Vec<Value>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct RestMessage {
    id: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: Vec<String>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    direction: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    phone_number_id: Option<String>,
    #[serde(default)]
    created_at: Option<DateTime<Utc>>,
}

impl From<RestMessage> for ProviderMessage {
    fn from(m: RestMessage) -> Self {
        ProviderMessage {
            id: m.id,
            from: m.from,
            to: m.to,
            text: m.text.unwrap_or_default(),
            direction: match m.direction.as_deref() {
                Some("incoming") => Direction::Incoming,
                _ => Direction::Outgoing,
            },
            status: m.status.unwrap_or_else(|| "queued".into()),
            phone_number_id: m.phone_number_id,
            created_at: m.created_at.unwrap_or_else(Utc::now),
        }
    }
}

#[derive(Deserialize)]
pub(super) struct One {
    pub(super) data: RestMessage,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Many {
    pub(super) data: Vec<RestMessage>,
    #[serde(default)]
    pub(super) next_page_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct HistoryAnswer {
    #[serde(default)]
    pub(super) data: Vec<Value>,
    #[serde(default)]
    pub(super) next_page_token: Option<String>,
}

pub(super) fn retryable(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error()
}

/// Maps a non-2xx answer. `sent_request` marks a request that may have acted (a POST): a 5xx
/// there is ambiguous, not a failure.
pub(super) async fn error_from(response: reqwest::Response, sent_request: bool) -> SmsError {
    let status = response.status();
    let body: ErrorBody = response.json().await.unwrap_or_default();
    if status == StatusCode::TOO_MANY_REQUESTS {
        return SmsError::RateLimited;
    }
    let message = body
        .message
        .clone()
        .or(body.title.clone())
        .unwrap_or_else(|| status.to_string());
    if status.is_server_error() {
        return if sent_request {
            SmsError::Ambiguous(format!("{status}: {message}"))
        } else {
            SmsError::Unavailable(format!("{status}: {message}"))
        };
    }
    let a2p = [&body.message, &body.title]
        .iter()
        .filter_map(|t| t.as_deref())
        .any(|t| t.to_ascii_lowercase().contains("a2p"));
    let mut message = message;
    if let Some(errors) = body.errors.filter(|e| !e.is_empty()) {
        message = format!("{message} {}", Value::Array(errors));
    }
    SmsError::Rejected {
        status: status.as_u16(),
        code: body.code.unwrap_or_default(),
        message,
        a2p_unregistered: a2p,
    }
}
