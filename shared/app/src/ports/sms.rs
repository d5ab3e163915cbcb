//! The SMS provider port (OpenPhone over HTTP; its simulator locally and in tests).
//!
//! Sending is not idempotent at the provider: a POST that timed out may still have sent. So the
//! port tells a clear refusal ([`SmsError::Rejected`]) apart from an outcome nobody knows
//! ([`SmsError::Ambiguous`]), and offers [`SmsProvider::list_messages`] to find out.

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde_json::Value;
use trickle_domain::PhoneNumber;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundSms {
    /// The sending number: an OpenPhone phone-number id (`PN…`) or an E.164 number.
    pub from: String,
    pub to: PhoneNumber,
    pub content: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Incoming,
    Outgoing,
}

/// A message as the provider reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderMessage {
    /// The provider's message id (`AC…`), the key of idempotency everywhere.
    pub id: String,
    pub from: String,
    pub to: Vec<String>,
    pub text: String,
    pub direction: Direction,
    /// `queued`, `sent`, `delivered`, `undelivered` as the provider says.
    pub status: String,
    pub phone_number_id: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// One of the account's numbers: E.164 and the provider's id for it (`PN…` at OpenPhone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedNumber {
    pub number: String,
    pub id: String,
}

/// Which messages to list: one recipient's thread with one of our numbers, since a moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageQuery {
    /// The number's provider id (`PN…`), as OpenPhone requires.
    pub phone_number_id: String,
    pub participant: PhoneNumber,
    pub created_after: Option<DateTime<Utc>>,
    pub created_before: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum SmsError {
    /// 429: over the provider's request rate. Not a failure: wait and retry.
    #[error("rate limited by the provider")]
    RateLimited,
    /// A clear refusal (4xx other than 429): the message was not sent and will not be by
    /// retrying. `a2p_unregistered` marks the carrier-registration refusal that must pause
    /// campaigns and alert.
    #[error("provider refused ({status} {code}): {message}")]
    Rejected {
        status: u16,
        code: String,
        message: String,
        a2p_unregistered: bool,
    },
    /// Timeout, connection reset, 5xx: the provider may or may not have acted. Never resend
    /// blindly: look the message up first.
    #[error("outcome unknown: {0}")]
    Ambiguous(String),
    /// The request did not reach the provider (DNS, connect refused): safe to retry.
    #[error("provider unreachable: {0}")]
    Unavailable(String),
}

/// Admits each REST request a provider client makes beyond the one its caller took a rate slot
/// for (a retry, a further page), so every request has its own slot in the key's budget.
#[async_trait]
pub trait RequestGate: Send + Sync {
    async fn admit(&self) -> Result<(), SmsError>;
}

#[async_trait]
pub trait SmsProvider: Send + Sync {
    async fn send(&self, message: &OutboundSms) -> Result<ProviderMessage, SmsError>;

    /// Every message of the thread in the window, oldest first (the adapter pages through).
    async fn list_messages(&self, query: &MessageQuery) -> Result<Vec<ProviderMessage>, SmsError>;

    /// Downloads a media or recording URL the provider gave in a webhook.
    async fn fetch_media(&self, url: &str) -> Result<Bytes, SmsError>;

    /// The account's own sending numbers with their ids, so activation can refuse a sender that
    /// is not one of them and lookups can name the number by its id; `None` when this provider
    /// cannot tell.
    async fn phone_numbers(&self) -> Result<Option<Vec<OwnedNumber>>, SmsError> {
        Ok(None)
    }

    /// One page of the provider's history (one request): reconciliation's view of the truth.
    async fn history(&self, _query: &HistoryQuery) -> Result<HistoryPage, SmsError> {
        Err(SmsError::Unavailable(
            "this provider keeps no history".into(),
        ))
    }

    /// Hands the client the gate its extra requests (retries, further pages) pass through.
    /// The composition root, which owns the rate budget, calls it once; the provider is built
    /// before the root, and a provider that makes no extra requests ignores it.
    fn gate_extra_requests(&self, _gate: std::sync::Arc<dyn RequestGate>) {}

    /// One artefact of a call (one request); `None` when the call has none.
    async fn call_artefact(
        &self,
        _call_id: &str,
        _kind: CallArtefact,
    ) -> Result<Option<Value>, SmsError> {
        Err(SmsError::Unavailable(
            "this provider keeps no history".into(),
        ))
    }
}

/// A window of one of our numbers' history, one page at a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HistoryQuery {
    /// Conversations of `phone_number` (`PN…` id or E.164) updated since a moment (and before
    /// another, if given), newest first.
    Conversations {
        phone_number: String,
        updated_after: DateTime<Utc>,
        updated_before: Option<DateTime<Utc>>,
        page_token: Option<String>,
    },
    /// Messages with one participant, oldest first.
    Messages {
        phone_number_id: String,
        participant: String,
        created_after: DateTime<Utc>,
        created_before: DateTime<Utc>,
        page_token: Option<String>,
    },
    /// Calls with one participant, oldest first.
    Calls {
        phone_number_id: String,
        participant: String,
        created_after: DateTime<Utc>,
        created_before: DateTime<Utc>,
        page_token: Option<String>,
    },
}

/// The provider's objects as it wrote them (the webhook parsers read the same shapes), and the
/// token of the next page.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HistoryPage {
    pub items: Vec<Value>,
    pub next_page_token: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallArtefact {
    Recordings,
    Transcript,
    Summary,
    Voicemail,
}
