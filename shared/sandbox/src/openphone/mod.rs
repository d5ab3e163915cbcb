//! An OpenPhone simulator (as OpenPhone documents its public REST API).
//!
//! REST subset: `POST /v1/messages` (202), `GET /v1/messages` (sent and received, oldest first,
//! paged, `participants` required, `createdAfter`/`createdBefore`), `GET /v1/messages/{id}`,
//! `GET /v1/conversations` (one per counterpart number, newest first), `GET /v1/calls` (paged,
//! exactly one participant), `GET /v1/calls/{id}`, the call artefacts
//! (`GET /v1/call-recordings/{callId}`, `/v1/call-transcripts/{callId}`,
//! `/v1/call-summaries/{callId}`, `/v1/call-voicemails/{callId}`), and the media URLs it hands
//! out in webhooks (`GET /media/{id}`). Auth is the raw key in `Authorization`; more than
//! `rate_limit` requests in one second per key get a 429. Errors use the documented body
//! (`message`, `code`, `status`, `docs`, `title`). Page tokens are offsets; time filters take
//! RFC 3339 and form half-open windows (`…After` inclusive, `…Before` exclusive).
//!
//! Webhooks are delivered, signed, to a configured URL, in the legacy (`openphone-signature`)
//! or Standard-Webhooks format, in v3 (app) or v4 (API) shapes. Control routes under `/_sim`
//! (and the same methods in Rust) inject inbound messages with media, calls with their
//! recording/transcript/summary/voicemail in any order, duplicate deliveries, and send failures.
//! Every inbound message and call is recorded when its events are built, so the list routes
//! above serve it even when its webhooks never arrive (`set_webhook_outage`, or
//! `POST /_sim/outage {"down": true}`): what a reconciliation job reads back.
//!
//! Here: the configuration, the state, the [`OpenPhoneSimulator`] handle, the route table and
//! the helpers the routes share (auth and rate limit, error bodies). `rest` serves `/v1/...`,
//! `media` the call artefacts and media files, `webhooks` builds, signs and delivers events,
//! `control` serves `/_sim/...`.

mod control;
mod media;
mod rest;
mod webhooks;

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use bytes::Bytes;
use chrono::SecondsFormat;
use serde_json::{json, Value};
use trickle_domain::webhook_signature::SigningKey;

mod account;
mod clock;
pub use clock::SimClock;
pub use webhooks::{CallScript, Delivery, Format, InboundMedia, Shape};

#[derive(Debug, Clone)]
pub struct SimulatorConfig {
    /// The API key requests must carry; `None` accepts any non-empty key.
    pub api_key: Option<String>,
    /// Requests per second per key before 429; `None` is unlimited.
    pub rate_limit: Option<u32>,
    pub webhook_url: Option<String>,
    pub signing_key: SigningKey,
    /// Our OpenPhone number and its id.
    pub phone_number: String,
    pub phone_number_id: String,
    /// Where message and call times come from: the runner's clock, so `trickle dev
    /// --clock-start` moves the simulator's conversation times along with everything else.
    pub clock: SimClock,
}

impl Default for SimulatorConfig {
    fn default() -> Self {
        Self {
            api_key: None,
            rate_limit: Some(10),
            webhook_url: None,
            signing_key: SigningKey::from_bytes(b"openphone-simulator-signing-key".to_vec()),
            phone_number: "+13105550100".into(),
            phone_number_id: "PNsimulator01".into(),
            clock: SimClock::default(),
        }
    }
}

struct MediaFile {
    bytes: Bytes,
    content_type: String,
}

/// The REST answers about one call's artefacts (only those scripted).
#[derive(Default)]
struct CallArtefacts {
    recordings: Vec<Value>,
    transcript: Option<Value>,
    summary: Option<Value>,
    voicemail: Option<Value>,
}

#[derive(Default)]
struct State_ {
    /// Only the messages sent through `POST /v1/messages` (what `sent_messages` answers).
    messages: Vec<Value>,
    /// Every inbound message `inbound_event` made, as a REST Message, oldest first.
    inbound: Vec<Value>,
    /// Every call `call_events` made, as a REST Call in its final state, oldest first.
    calls: Vec<Value>,
    /// Call id → its artefacts.
    artefacts: HashMap<String, CallArtefacts>,
    /// While true, `deliver` sends nothing (history is still recorded).
    webhook_outage: bool,
    media: HashMap<String, MediaFile>,
    /// key → the instants of the requests it was allowed in the last second
    windows: HashMap<String, VecDeque<Instant>>,
    /// Arrival of every authenticated REST request, allowed or refused.
    arrivals: Vec<Instant>,
    /// Requests answered 429.
    rate_limited: u64,
    /// Status codes the next sends answer with, in order.
    failures: Vec<u16>,
    webhook_url: Option<String>,
    deliveries: u64,
    /// Numbers of the same workspace: a text sent to one comes back as `message.received`.
    internal_numbers: Vec<String>,
    /// Simulates a webhook outage for those internal deliveries.
    drop_internal: bool,
}

#[derive(Clone)]
struct Shared {
    config: Arc<SimulatorConfig>,
    state: Arc<Mutex<State_>>,
    base_url: Arc<str>,
    http: reqwest::Client,
}

/// A running simulator; dropping it stops the server.
pub struct OpenPhoneSimulator {
    shared: Shared,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for OpenPhoneSimulator {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// What the simulator's REST API saw (see [`OpenPhoneSimulator::request_stats`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestStats {
    pub requests: u64,
    pub rate_limited: u64,
    /// The most requests that arrived within any 1-second window.
    pub busiest_second: u64,
    /// From the first request to the last.
    pub span: Duration,
}

impl OpenPhoneSimulator {
    pub async fn start(config: SimulatorConfig) -> std::io::Result<Self> {
        Self::start_on("127.0.0.1:0".parse().expect("address"), config).await
    }

    pub async fn start_on(address: SocketAddr, config: SimulatorConfig) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(address).await?;
        let base_url: Arc<str> = Arc::from(format!("http://{}", listener.local_addr()?));
        let shared = Shared {
            state: Arc::new(Mutex::new(State_ {
                webhook_url: config.webhook_url.clone(),
                ..Default::default()
            })),
            config: Arc::new(config),
            base_url,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .expect("http client"),
        };
        let app = Router::new()
            .route(
                "/v1/messages",
                post(rest::send_message).get(rest::list_messages),
            )
            .route("/v1/messages/{id}", get(rest::get_message))
            .route("/v1/conversations", get(rest::list_conversations))
            .route("/v1/phone-numbers", get(rest::list_phone_numbers))
            .route("/v1/calls", get(rest::list_calls))
            .route("/v1/calls/{id}", get(rest::get_call))
            .route("/v1/call-recordings/{id}", get(media::get_call_recordings))
            .route("/v1/call-transcripts/{id}", get(media::get_call_transcript))
            .route("/v1/call-summaries/{id}", get(media::get_call_summary))
            .route("/v1/call-voicemails/{id}", get(media::get_call_voicemail))
            .route("/media/{id}", get(media::get_media))
            .route("/_sim/inbound", post(control::control_inbound))
            .route("/_sim/call", post(control::control_call))
            .route("/_sim/fail", post(control::control_fail))
            .route("/_sim/sent", get(control::control_sent))
            .route("/_sim/outage", post(control::control_outage))
            .with_state(shared.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self { shared, task })
    }

    pub fn url(&self) -> &str {
        &self.shared.base_url
    }

    pub fn signing_key(&self) -> &SigningKey {
        &self.shared.config.signing_key
    }

    pub fn phone_number(&self) -> &str {
        &self.shared.config.phone_number
    }

    pub fn set_webhook_url(&self, url: impl Into<String>) {
        self.shared.state.lock().unwrap().webhook_url = Some(url.into());
    }

    /// While true, webhooks are not delivered: `deliver` sends nothing and answers no statuses
    /// (inbound messages and calls are still recorded, and listed by the REST API).
    pub fn set_webhook_outage(&self, down: bool) {
        self.shared.state.lock().unwrap().webhook_outage = down;
    }

    /// What the REST API saw: requests, 429s, and the most requests in any sliding second.
    pub fn request_stats(&self) -> RequestStats {
        let state = self.shared.state.lock().unwrap();
        let times = &state.arrivals;
        let mut busiest = 0;
        let mut first = 0;
        for (last, at) in times.iter().enumerate() {
            while at.duration_since(times[first]) >= Duration::from_secs(1) {
                first += 1;
            }
            busiest = busiest.max(last - first + 1);
        }
        RequestStats {
            requests: times.len() as u64,
            rate_limited: state.rate_limited,
            busiest_second: busiest as u64,
            span: match (times.first(), times.last()) {
                (Some(first), Some(last)) => last.duration_since(*first),
                _ => Duration::ZERO,
            },
        }
    }

    /// The messages sent through `POST /v1/messages`, oldest first.
    pub fn sent_messages(&self) -> Vec<Value> {
        self.shared.state.lock().unwrap().messages.clone()
    }

    /// Every inbound message made by `inbound_event` (and the `/_sim/inbound` route), as the
    /// REST API lists it, oldest first.
    pub fn received_messages(&self) -> Vec<Value> {
        self.shared.state.lock().unwrap().inbound.clone()
    }

    /// Every call made by `call_events` (and the `/_sim/call` route), as the REST API lists it,
    /// oldest first.
    pub fn calls(&self) -> Vec<Value> {
        self.shared.state.lock().unwrap().calls.clone()
    }

    /// The next sends answer these statuses (e.g. 429, 500, 400 for A2P), one each; 599 sends
    /// the message and then answers 500 (an answer lost after the fact).
    pub fn fail_next_sends(&self, statuses: &[u16]) {
        self.shared
            .state
            .lock()
            .unwrap()
            .failures
            .extend_from_slice(statuses);
    }

    /// Makes `number` one of the workspace's own numbers: a text sent to it through
    /// `POST /v1/messages` is delivered back as a signed `message.received` webhook (how the
    /// health check sees its message arrive).
    pub fn add_internal_number(&self, number: impl Into<String>) {
        self.shared
            .state
            .lock()
            .unwrap()
            .internal_numbers
            .push(number.into());
    }

    /// While true, texts to internal numbers are accepted but their webhooks never come.
    pub fn drop_internal_webhooks(&self, drop: bool) {
        self.shared.state.lock().unwrap().drop_internal = drop;
    }

    /// Serves `bytes` at a media URL of this simulator.
    pub fn host_media(&self, media: &InboundMedia) -> String {
        self.shared.host_media(media)
    }

    /// A `message.received` event from `from` to our number.
    pub fn inbound_event(
        &self,
        shape: Shape,
        from: &str,
        text: &str,
        media: &[InboundMedia],
    ) -> Value {
        self.shared.inbound_event(shape, from, text, media)
    }

    /// The events of one call, in the natural order: ringing, completed, recording, transcript,
    /// summary (artefacts only when scripted). Reorder them to test out-of-order delivery.
    pub fn call_events(&self, shape: Shape, script: &CallScript) -> Vec<Value> {
        self.shared.call_events(shape, script)
    }

    /// A `message.delivered` event for a message sent through this simulator.
    pub fn delivered_event(&self, shape: Shape, message: &Value) -> Value {
        let mut object = message.clone();
        object["object"] = json!("message");
        object["status"] = json!("delivered");
        if shape == Shape::V3 {
            object["body"] = object["text"].take();
            object["to"] = json!(object["to"][0].as_str().unwrap_or_default());
        }
        self.shared.envelope(shape, "message.delivered", object)
    }

    /// Delivers `event` to the webhook URL; answers the HTTP status of each copy.
    pub async fn deliver(&self, event: &Value, delivery: Delivery) -> Vec<u16> {
        self.shared.deliver(event, delivery).await
    }
}

impl Shared {
    /// Auth and the per-key rate limit, shared by every REST route.
    fn admit(&self, headers: &HeaderMap) -> Result<String, Box<Response>> {
        let key = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .filter(|k| !k.is_empty())
            .ok_or_else(|| {
                Box::new(api_error(401, "0100401", "Unauthorized", "Missing API key"))
            })?;
        if let Some(expected) = &self.config.api_key {
            if key != expected {
                return Err(Box::new(api_error(
                    401,
                    "0100401",
                    "Unauthorized",
                    "Invalid API key",
                )));
            }
        }
        let mut state = self.state.lock().unwrap();
        let now = Instant::now();
        state.arrivals.push(now);
        if let Some(limit) = self.config.rate_limit {
            // A sliding window: no second, wherever it starts, holds more than `limit`.
            let window = state.windows.entry(key.to_string()).or_default();
            while window
                .front()
                .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1))
            {
                window.pop_front();
            }
            if window.len() >= limit as usize {
                state.rate_limited += 1;
                return Err(Box::new(api_error(
                    429,
                    "0100429",
                    "Too Many Requests",
                    "Rate limit exceeded",
                )));
            }
            window.push_back(now);
        }
        Ok(key.to_string())
    }
}

impl Shared {
    /// Now on the simulator's clock, as OpenPhone writes times.
    fn now(&self) -> String {
        self.config
            .clock
            .0
            .now()
            .to_rfc3339_opts(SecondsFormat::Millis, true)
    }
}

fn digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_alphanumeric).collect()
}

fn api_error(status: u16, code: &str, title: &str, message: &str) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        status,
        Json(json!({
            "message": message, "code": code, "status": status.as_u16(),
            "docs": "https://www.openphone.com/docs", "title": title,
            "trace": uuid::Uuid::new_v4().simple().to_string(),
        })),
    )
        .into_response()
}

fn not_found(message: &str) -> Response {
    api_error(404, "0100404", "Not Found", message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn history_is_served_while_webhooks_are_down() {
        let sim = OpenPhoneSimulator::start(SimulatorConfig::default())
            .await
            .unwrap();
        sim.set_webhook_url("http://127.0.0.1:9/unreachable");
        sim.set_webhook_outage(true);
        let customer = "+13105550123";
        let event = sim.inbound_event(Shape::V4, customer, "hello", &[]);
        assert!(sim
            .deliver(&event, Delivery::once(Format::Legacy))
            .await
            .is_empty());
        let events = sim.call_events(
            Shape::V3,
            &CallScript {
                from: customer.into(),
                duration: 30,
                voicemail: Some(InboundMedia {
                    bytes: Bytes::from_static(b"audio"),
                    content_type: "audio/mpeg".into(),
                }),
                transcript: vec![("caller".into(), "call me back".into())],
                ..Default::default()
            },
        );
        let call_id = events[0]["data"]["object"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(sim.sent_messages().is_empty());

        let http = reqwest::Client::new();
        let get = |path: &str| {
            let request = http
                .get(format!("{}{path}", sim.url()))
                .header("authorization", "k");
            async move {
                let response = request.send().await.unwrap();
                (
                    response.status().as_u16(),
                    response.json::<Value>().await.unwrap(),
                )
            }
        };
        let (status, body) = get(
            "/v1/messages?phoneNumberId=PNsimulator01&participants=%2B13105550123&maxResults=10",
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(body["data"][0]["id"], event["data"]["object"]["id"]);
        assert_eq!(body["data"][0]["direction"], "incoming");

        let (status, body) =
            get("/v1/conversations?phoneNumbers%5B%5D=PNsimulator01&maxResults=10").await;
        assert_eq!(status, 200);
        assert_eq!(body["data"][0]["participants"][0], customer);
        assert_eq!(body["data"][0]["lastActivityId"], call_id.as_str());

        let (status, body) =
            get("/v1/calls?phoneNumberId=PNsimulator01&participants=%2B13105550123&maxResults=10")
                .await;
        assert_eq!(
            (status, body["data"][0]["id"].as_str()),
            (200, Some(call_id.as_str()))
        );
        assert_eq!(body["data"][0]["status"], "no-answer");
        assert_eq!(get(&format!("/v1/calls/{call_id}")).await.0, 200);
        let (_, body) = get(&format!("/v1/call-recordings/{call_id}")).await;
        assert_eq!(body["data"], json!([]));
        let (_, body) = get(&format!("/v1/call-voicemails/{call_id}")).await;
        let voicemail_url = &events[1]["data"]["object"]["voicemail"]["url"];
        assert_eq!(&body["data"]["recordingUrl"], voicemail_url);
        assert_eq!(get(&format!("/v1/call-transcripts/{call_id}")).await.0, 200);
        assert_eq!(get(&format!("/v1/call-summaries/{call_id}")).await.0, 404);
        assert_eq!(get("/v1/call-recordings/ACnone").await.0, 404);
        assert_eq!(get("/v1/conversations?maxResults=10").await.0, 400);
    }
}
