//! The OpenPhone REST client (as OpenPhone documents its API), implementing [`SmsProvider`].
//!
//! - Auth: the raw API key in `Authorization` (no `Bearer`), sent only to the API's own host:
//!   media URLs point elsewhere and never see the key.
//! - `POST /v1/messages` has no idempotency key, so it is never retried here: a timeout or 5xx
//!   comes back as [`SmsError::Ambiguous`] for the caller to resolve by listing messages.
//! - Reads (list, media) back off with jitter on 429 and 5xx, a few times.
//! - Rate: the caller takes the rate slot for a call's first request; every further REST
//!   request of that call (a retry, a next page) first passes the gate the composition root
//!   hands over ([`SmsProvider::gate_extra_requests`]), so each request has its own slot.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, SecondsFormat, Utc};
use rand::Rng;
use reqwest::{Method, Url};
use serde_json::{json, Value};
pub mod media_policy;
mod wire;

use media_policy::refused;
use wire::{error_from, retryable, HistoryAnswer, Many, One};

use trickle_app::ports::{
    CallArtefact, HistoryPage, HistoryQuery, MessageQuery, OutboundSms, OwnedNumber,
    ProviderMessage, RequestGate, SmsError, SmsProvider,
};

pub const DEFAULT_BASE_URL: &str = "https://api.openphone.com";

#[derive(Debug, Clone)]
pub struct OpenPhoneSettings {
    pub base_url: String,
    pub api_key: String,
    pub timeout: Duration,
    pub connect_timeout: Duration,
    /// Tries of an idempotent request (GET) before giving up on 429/5xx.
    pub read_attempts: u32,
    /// First backoff delay; doubled per retry, with jitter.
    pub backoff: Duration,
    /// Hosts (and subdomains) media is downloaded from over https, beside the API's origin.
    pub media_hosts: Vec<String>,
}

impl OpenPhoneSettings {
    pub fn new(base_url: impl Into<String>, api_key: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            api_key: api_key.into(),
            timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(3),
            read_attempts: 4,
            backoff: Duration::from_millis(250),
            media_hosts: media_policy::DEFAULT_MEDIA_HOSTS
                .iter()
                .map(|h| h.to_string())
                .collect(),
        }
    }
}

#[derive(Clone)]
pub struct OpenPhoneClient {
    http: reqwest::Client,
    base: Url,
    media: media_policy::MediaPolicy,
    settings: OpenPhoneSettings,
    /// Admits the extra requests; shared by clones, set once.
    gate: Arc<OnceLock<Arc<dyn RequestGate>>>,
}

/// Which of a GET's requests need a slot from the gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slots {
    /// The caller took one for the first request; retries pass the gate.
    CallerTookFirst,
    /// Every request passes the gate (a further page).
    Each,
    /// Not a REST route (a media URL elsewhere): no budget applies.
    None,
}

impl std::fmt::Debug for OpenPhoneClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "OpenPhoneClient({})", self.base)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("invalid base URL {0:?}")]
    BaseUrl(String),
    #[error("cannot build the HTTP client: {0}")]
    Build(String),
}

impl OpenPhoneClient {
    pub fn new(settings: OpenPhoneSettings) -> Result<Self, ClientError> {
        let mut base = Url::parse(&settings.base_url)
            .map_err(|_| ClientError::BaseUrl(settings.base_url.clone()))?;
        if !base.path().ends_with('/') {
            base.set_path(&format!("{}/", base.path()));
        }
        let media = media_policy::MediaPolicy::new(&base, &settings.media_hosts);
        let redirects = media.clone();
        // A redirect is followed only to a URL media may come from (the API never redirects).
        let redirect = reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() >= media_policy::MAX_REDIRECTS {
                attempt.error("too many redirects")
            } else if redirects.allows(attempt.url()) {
                attempt.follow()
            } else {
                let host = attempt.url().host_str().unwrap_or("?").to_string();
                attempt.error(format!(
                    "redirected to {host}, which media is not fetched from"
                ))
            }
        });
        let http = reqwest::Client::builder()
            .redirect(redirect)
            .timeout(settings.timeout)
            .connect_timeout(settings.connect_timeout)
            .user_agent("trickle/0.1")
            .build()
            .map_err(|e| ClientError::Build(e.to_string()))?;
        Ok(Self {
            http,
            base,
            media,
            settings,
            gate: Arc::new(OnceLock::new()),
        })
    }

    /// Waits at the gate, if one was handed over.
    async fn admit(&self) -> Result<(), SmsError> {
        match self.gate.get() {
            Some(gate) => gate.admit().await,
            None => Ok(()),
        }
    }

    fn url(&self, path: &str) -> Url {
        self.base
            .join(path.trim_start_matches('/'))
            .expect("relative path")
    }

    fn same_host(&self, url: &Url) -> bool {
        url.scheme() == self.base.scheme()
            && url.host_str() == self.base.host_str()
            && url.port_or_known_default() == self.base.port_or_known_default()
    }

    fn request(&self, method: Method, url: Url) -> reqwest::RequestBuilder {
        let authorised = self.same_host(&url);
        let builder = self.http.request(method, url);
        if authorised {
            builder.header("Authorization", &self.settings.api_key)
        } else {
            builder
        }
    }

    /// A GET with backoff on 429/5xx/transport failures: safe, since it changes nothing.
    async fn get_with_retries(
        &self,
        url: Url,
        slots: Slots,
    ) -> Result<reqwest::Response, SmsError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let gated = match slots {
                Slots::CallerTookFirst => attempt > 1,
                Slots::Each => true,
                Slots::None => false,
            };
            if gated {
                self.admit().await?;
            }
            let last = attempt >= self.settings.read_attempts.max(1);
            match self.request(Method::GET, url.clone()).send().await {
                Ok(r) if r.status().is_success() => return Ok(r),
                Ok(r) if !last && retryable(r.status()) => {}
                Ok(r) => return Err(error_from(r, false).await),
                Err(e) if e.is_redirect() => {
                    let why = std::error::Error::source(&e)
                        .map(|s| s.to_string())
                        .unwrap_or_else(|| e.to_string());
                    return Err(refused(format!("the media URL {why}")));
                }
                Err(e) if !last && (e.is_timeout() || e.is_connect() || e.is_request()) => {}
                Err(e) if e.is_connect() => return Err(SmsError::Unavailable(e.to_string())),
                Err(e) => return Err(SmsError::Unavailable(e.to_string())),
            }
            tokio::time::sleep(self.backoff(attempt)).await;
        }
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let ceiling = self.settings.backoff.saturating_mul(1 << attempt.min(8));
        ceiling.mul_f64(rand::rng().random_range(0.5..=1.0))
    }
}

#[async_trait]
impl SmsProvider for OpenPhoneClient {
    async fn send(&self, message: &OutboundSms) -> Result<ProviderMessage, SmsError> {
        if message.content.trim().is_empty() {
            return Err(SmsError::Rejected {
                status: 400,
                code: String::new(),
                message: "content must contain a non-space character".into(),
                a2p_unregistered: false,
            });
        }
        let body = json!({
            "content": message.content,
            "from": message.from,
            "to": [message.to.as_str()],
        });
        let sent = self
            .request(Method::POST, self.url("v1/messages"))
            .json(&body)
            .send()
            .await;
        let response = match sent {
            Ok(r) => r,
            // Refused before anything was sent: safe to retry.
            Err(e) if e.is_connect() => return Err(SmsError::Unavailable(e.to_string())),
            // Timeouts and broken connections: the provider may have sent it.
            Err(e) => return Err(SmsError::Ambiguous(e.to_string())),
        };
        if !response.status().is_success() {
            return Err(error_from(response, true).await);
        }
        let one: One = response
            .json()
            .await
            .map_err(|e| SmsError::Ambiguous(format!("unreadable send answer: {e}")))?;
        Ok(one.data.into())
    }

    fn gate_extra_requests(&self, gate: Arc<dyn RequestGate>) {
        // A second build on the same client (a test's) keeps the first gate: same budget.
        let _ = self.gate.set(gate);
    }

    async fn phone_numbers(&self) -> Result<Option<Vec<OwnedNumber>>, SmsError> {
        let response = self
            .get_with_retries(self.url("v1/phone-numbers"), Slots::CallerTookFirst)
            .await?;
        let body: Value = response
            .json()
            .await
            .map_err(|e| SmsError::Unavailable(format!("unreadable phone-numbers answer: {e}")))?;
        Ok(Some(
            body["data"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|n| Some((n["number"].as_str()?, n["id"].as_str()?)))
                .map(|(number, id)| OwnedNumber {
                    number: number.into(),
                    id: id.into(),
                })
                .collect(),
        ))
    }

    async fn list_messages(&self, query: &MessageQuery) -> Result<Vec<ProviderMessage>, SmsError> {
        let mut all = Vec::new();
        let mut page_token: Option<String> = None;
        loop {
            let mut url = self.url("v1/messages");
            {
                let mut q = url.query_pairs_mut();
                q.append_pair("phoneNumberId", &query.phone_number_id)
                    .append_pair("participants", query.participant.as_str())
                    .append_pair("maxResults", "100");
                if let Some(after) = query.created_after {
                    q.append_pair(
                        "createdAfter",
                        &after.to_rfc3339_opts(SecondsFormat::Millis, true),
                    );
                }
                if let Some(before) = query.created_before {
                    q.append_pair(
                        "createdBefore",
                        &before.to_rfc3339_opts(SecondsFormat::Millis, true),
                    );
                }
                if let Some(token) = &page_token {
                    q.append_pair("pageToken", token);
                }
            }
            let slots = if page_token.is_none() {
                Slots::CallerTookFirst
            } else {
                Slots::Each
            };
            let response = self.get_with_retries(url, slots).await?;
            let page: Many = response
                .json()
                .await
                .map_err(|e| SmsError::Unavailable(format!("unreadable list answer: {e}")))?;
            all.extend(page.data.into_iter().map(ProviderMessage::from));
            match page.next_page_token.filter(|t| !t.is_empty()) {
                Some(token) => page_token = Some(token),
                None => break,
            }
        }
        all.sort_by_key(|m| m.created_at);
        Ok(all)
    }

    async fn history(&self, query: &HistoryQuery) -> Result<HistoryPage, SmsError> {
        // The provider keeps milliseconds: a window's start rounds down and its end up, so an
        // instant inside the window is never cut off by the rounding (a re-check is harmless).
        let stamp = |t: &DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Millis, true);
        let up = |t: &DateTime<Utc>| {
            let whole_ms = t.timestamp_subsec_nanos().is_multiple_of(1_000_000);
            let t = if whole_ms {
                *t
            } else {
                *t + chrono::Duration::milliseconds(1)
            };
            stamp(&t)
        };
        let (path, mut pairs, token) = match query {
            HistoryQuery::Conversations {
                phone_number,
                updated_after,
                updated_before,
                page_token,
            } => (
                "v1/conversations",
                [
                    Some(("phoneNumbers[]", phone_number.clone())),
                    Some(("updatedAfter", stamp(updated_after))),
                    updated_before.as_ref().map(|t| ("updatedBefore", up(t))),
                ]
                .into_iter()
                .flatten()
                .collect(),
                page_token,
            ),
            HistoryQuery::Messages {
                phone_number_id,
                participant,
                created_after,
                created_before,
                page_token,
            }
            | HistoryQuery::Calls {
                phone_number_id,
                participant,
                created_after,
                created_before,
                page_token,
            } => (
                if matches!(query, HistoryQuery::Messages { .. }) {
                    "v1/messages"
                } else {
                    "v1/calls"
                },
                vec![
                    ("phoneNumberId", phone_number_id.clone()),
                    ("participants", participant.clone()),
                    ("createdAfter", stamp(created_after)),
                    ("createdBefore", up(created_before)),
                ],
                page_token,
            ),
        };
        pairs.push(("maxResults", "100".into()));
        if let Some(token) = token {
            pairs.push(("pageToken", token.clone()));
        }
        let mut url = self.url(path);
        url.query_pairs_mut().extend_pairs(pairs);
        let page: HistoryAnswer = self
            .get_with_retries(url, Slots::CallerTookFirst)
            .await?
            .json()
            .await
            .map_err(|e| SmsError::Unavailable(format!("unreadable {path} answer: {e}")))?;
        Ok(HistoryPage {
            items: page.data,
            next_page_token: page.next_page_token.filter(|t| !t.is_empty()),
        })
    }

    async fn call_artefact(
        &self,
        call_id: &str,
        kind: CallArtefact,
    ) -> Result<Option<Value>, SmsError> {
        let path = match kind {
            CallArtefact::Recordings => "v1/call-recordings",
            CallArtefact::Transcript => "v1/call-transcripts",
            CallArtefact::Summary => "v1/call-summaries",
            CallArtefact::Voicemail => "v1/call-voicemails",
        };
        let mut url = self.url(path);
        url.path_segments_mut()
            .map_err(|_| SmsError::Unavailable("base URL cannot hold a path".into()))?
            .push(call_id);
        match self.get_with_retries(url, Slots::CallerTookFirst).await {
            Ok(response) => {
                let answer: Value = response
                    .json()
                    .await
                    .map_err(|e| SmsError::Unavailable(format!("unreadable {path} answer: {e}")))?;
                Ok(answer.get("data").cloned().filter(|d| !d.is_null()))
            }
            Err(SmsError::Rejected { status: 404, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn fetch_media(&self, url: &str) -> Result<Bytes, SmsError> {
        let url = Url::parse(url).map_err(|e| SmsError::Rejected {
            status: 400,
            code: String::new(),
            message: format!("media URL {url:?}: {e}"),
            a2p_unregistered: false,
        })?;
        if !self.media.allows(&url) {
            return Err(refused(format!(
                "media URL host {} is not one media is fetched from: add it to TRICKLE_MEDIA_HOSTS if OpenPhone serves media from it",
                url.host_str().unwrap_or("(none)")
            )));
        }
        let response = self.get_with_retries(url, Slots::None).await?;
        media_policy::read_media(response).await
    }
}

/// Stands in when no provider is configured: every call says so.
#[derive(Debug, Default)]
pub struct UnconfiguredProvider;

#[async_trait]
impl SmsProvider for UnconfiguredProvider {
    async fn send(&self, _: &OutboundSms) -> Result<ProviderMessage, SmsError> {
        Err(SmsError::Unavailable(
            "no OpenPhone API key is configured".into(),
        ))
    }

    async fn list_messages(&self, _: &MessageQuery) -> Result<Vec<ProviderMessage>, SmsError> {
        Err(SmsError::Unavailable(
            "no OpenPhone API key is configured".into(),
        ))
    }

    async fn fetch_media(&self, _: &str) -> Result<Bytes, SmsError> {
        Err(SmsError::Unavailable(
            "no OpenPhone API key is configured".into(),
        ))
    }
}
