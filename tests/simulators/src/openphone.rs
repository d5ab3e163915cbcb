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

use std::cmp::Reverse;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use bytes::Bytes;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Deserialize;
use serde_json::{json, Value};
use trickle_domain::webhook_signature::{sign_legacy, sign_standard, SigningKey};

/// Which webhook system signs a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    #[default]
    Legacy,
    Standard,
}

/// Which payload generation to produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Shape {
    /// App webhooks: `body`, `to` as a string, `media`.
    #[default]
    V3,
    /// API webhooks: `text`, `to` as an array, `recordings`.
    V4,
}

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

/// One webhook delivery to make.
#[derive(Debug, Clone, Copy, Default)]
pub struct Delivery {
    pub format: Format,
    /// How many times the same event is delivered (a duplicate is the same id and body).
    pub copies: usize,
}

impl Delivery {
    pub fn once(format: Format) -> Self {
        Self { format, copies: 1 }
    }
}

#[derive(Debug, Clone)]
pub struct InboundMedia {
    pub bytes: Bytes,
    pub content_type: String,
}

#[derive(Debug, Clone, Default)]
pub struct CallScript {
    pub from: String,
    pub answered: bool,
    pub duration: u32,
    pub recording: Option<InboundMedia>,
    pub voicemail: Option<InboundMedia>,
    pub transcript: Vec<(String, String)>,
    pub summary: Vec<String>,
    pub next_steps: Vec<String>,
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
            .route("/v1/messages", post(send_message).get(list_messages))
            .route("/v1/messages/{id}", get(get_message))
            .route("/v1/conversations", get(list_conversations))
            .route("/v1/calls", get(list_calls))
            .route("/v1/calls/{id}", get(get_call))
            .route("/v1/call-recordings/{id}", get(get_call_recordings))
            .route("/v1/call-transcripts/{id}", get(get_call_transcript))
            .route("/v1/call-summaries/{id}", get(get_call_summary))
            .route("/v1/call-voicemails/{id}", get(get_call_voicemail))
            .route("/media/{id}", get(get_media))
            .route("/_sim/inbound", post(control_inbound))
            .route("/_sim/call", post(control_call))
            .route("/_sim/fail", post(control_fail))
            .route("/_sim/sent", get(control_sent))
            .route("/_sim/outage", post(control_outage))
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
    fn host_media(&self, media: &InboundMedia) -> String {
        let id = format!("ME{}", uuid::Uuid::new_v4().simple());
        self.state.lock().unwrap().media.insert(
            id.clone(),
            MediaFile {
                bytes: media.bytes.clone(),
                content_type: media.content_type.clone(),
            },
        );
        format!("{}/media/{id}", self.base_url)
    }

    fn envelope(&self, shape: Shape, event_type: &str, object: Value) -> Value {
        let mut data = json!({ "object": object });
        if shape == Shape::V4 {
            data["deepLink"] = json!("https://my.openphone.com/inbox");
        }
        json!({
            "id": format!("EV{}", uuid::Uuid::new_v4().simple()),
            "object": "event",
            "apiVersion": match shape { Shape::V3 => "v3", Shape::V4 => "v4" },
            "createdAt": now(),
            "type": event_type,
            "data": data,
        })
    }

    fn inbound_event(&self, shape: Shape, from: &str, text: &str, media: &[InboundMedia]) -> Value {
        let media: Vec<Value> = media
            .iter()
            .map(|m| json!({ "url": self.host_media(m), "type": m.content_type }))
            .collect();
        let id = format!("AC{}", uuid::Uuid::new_v4().simple());
        let ours = &self.config.phone_number;
        let created = now();
        let object = match shape {
            Shape::V3 => json!({
                "id": id, "object": "message", "from": from, "to": ours, "direction": "incoming",
                "body": text, "media": media, "status": "received", "createdAt": created,
                "userId": "USsim", "phoneNumberId": self.config.phone_number_id,
                "conversationId": format!("CN{}", digits(from)),
            }),
            Shape::V4 => json!({
                "id": id, "object": "message", "from": from, "to": [ours], "direction": "incoming",
                "text": text, "media": media, "status": "received", "createdAt": created,
                "userId": "USsim", "phoneNumberId": self.config.phone_number_id,
                "conversationId": format!("CN{}", digits(from)), "contactIds": [],
            }),
        };
        self.state.lock().unwrap().inbound.push(json!({
            "id": id, "to": [ours], "from": from, "text": text,
            "phoneNumberId": self.config.phone_number_id, "direction": "incoming",
            "userId": "USsim", "status": "received", "createdAt": created, "updatedAt": created,
        }));
        self.envelope(shape, "message.received", object)
    }

    fn call_events(&self, shape: Shape, script: &CallScript) -> Vec<Value> {
        let id = format!("AC{}", uuid::Uuid::new_v4().simple());
        let ours = self.config.phone_number.clone();
        let created = now();
        let recordings: Vec<Value> = script
            .recording
            .iter()
            .map(|r| {
                json!({"id": format!("RC{}", digits(&id)), "url": self.host_media(r),
                "type": r.content_type, "duration": script.duration, "startTime": created})
            })
            .collect();
        let voicemail_url = script.voicemail.as_ref().map(|v| self.host_media(v));
        let voicemail = script.voicemail.as_ref().zip(voicemail_url.as_ref()).map(
            |(v, url)| json!({"url": url, "type": v.content_type, "duration": VOICEMAIL_SECONDS}),
        );
        let completed_at = now();
        let answered_at = script.answered.then(|| completed_at.clone());
        let call = |status: &str, completed: bool, with_recordings: bool| -> Value {
            let answered_at = if completed { answered_at.clone() } else { None };
            let completed_at = completed.then(|| completed_at.clone());
            match shape {
                Shape::V3 => json!({
                    "id": id, "object": "call", "from": script.from, "to": ours,
                    "direction": "incoming", "status": status, "createdAt": created,
                    "answeredAt": answered_at, "completedAt": completed_at,
                    "media": if with_recordings { json!(recordings) } else { json!([]) },
                    "voicemail": if completed { json!(voicemail) } else { Value::Null },
                    "userId": "USsim", "phoneNumberId": self.config.phone_number_id,
                    "conversationId": format!("CN{}", digits(&script.from)),
                }),
                Shape::V4 => json!({
                    "id": id, "object": "call", "from": script.from, "to": ours,
                    "participants": [script.from, ours], "direction": "incoming", "status": status,
                    "duration": if completed { json!(script.duration) } else { json!(0) },
                    "createdAt": created, "answeredAt": answered_at,
                    "completedAt": completed_at,
                    "recordings": if with_recordings { json!(recordings) } else { Value::Null },
                    "voicemail": if completed { json!(voicemail) } else { Value::Null },
                    "phoneNumberId": self.config.phone_number_id,
                }),
            }
        };
        let final_status = if script.answered {
            "completed"
        } else {
            "no-answer"
        };
        let mut artefacts = CallArtefacts {
            recordings: recordings
                .iter()
                .map(|r| {
                    let mut r = r.clone();
                    r["status"] = json!("completed");
                    r
                })
                .collect(),
            voicemail: voicemail_url.map(|url| {
                json!({"id": format!("VM{}", digits(&id)), "status": "completed",
                "duration": VOICEMAIL_SECONDS, "transcript": null, "recordingUrl": url})
            }),
            ..Default::default()
        };
        let mut events = vec![
            self.envelope(shape, "call.ringing", call("ringing", false, false)),
            self.envelope(shape, "call.completed", call(final_status, true, false)),
        ];
        if !recordings.is_empty() {
            events.push(self.envelope(
                shape,
                "call.recording.completed",
                call(final_status, true, true),
            ));
        }
        if !script.transcript.is_empty() {
            let dialogue: Vec<Value> = script
                .transcript
                .iter()
                .enumerate()
                .map(|(n, (who, said))| {
                    json!({"content": said, "start": n, "end": n + 1,
                    "identifier": who, "userId": null})
                })
                .collect();
            let transcript = json!({
                "callId": id, "createdAt": now(), "duration": script.duration,
                "status": "completed", "dialogue": dialogue,
            });
            let mut object = transcript.clone();
            object["object"] = json!("callTranscript");
            artefacts.transcript = Some(transcript);
            events.push(self.envelope(shape, "call.transcript.completed", object));
        }
        if !script.summary.is_empty() {
            // One doc sample spells the type `callSummary`: the v4 shape uses it here.
            let event_type = match shape {
                Shape::V3 => "call.summary.completed",
                Shape::V4 => "callSummary",
            };
            artefacts.summary = Some(json!({
                "callId": id, "status": "completed", "summary": script.summary,
                "nextSteps": script.next_steps, "jobs": [],
            }));
            events.push(self.envelope(
                shape,
                event_type,
                json!({
                    "callId": id, "object": "callSummary", "status": "completed",
                    "summary": script.summary, "nextSteps": script.next_steps,
                }),
            ));
        }
        let record = json!({
            "id": id, "phoneNumberId": self.config.phone_number_id, "userId": "USsim",
            "direction": "incoming", "status": final_status, "participants": [script.from, ours],
            "duration": script.duration, "createdAt": created, "answeredAt": answered_at,
            "completedAt": completed_at, "updatedAt": completed_at,
        });
        let mut state = self.state.lock().unwrap();
        state.calls.push(record);
        state.artefacts.insert(id, artefacts);
        events
    }

    async fn deliver(&self, event: &Value, delivery: Delivery) -> Vec<u16> {
        let url = {
            let state = self.state.lock().unwrap();
            if state.webhook_outage {
                return vec![];
            }
            state.webhook_url.clone()
        };
        let Some(url) = url else {
            return vec![];
        };
        let body = serde_json::to_vec(event).expect("serialisable");
        let webhook_id = format!(
            "msg_{}",
            event["id"]
                .as_str()
                .unwrap_or("unknown")
                .trim_start_matches("EV")
        );
        let mut statuses = Vec::new();
        for _ in 0..delivery.copies.max(1) {
            let key = &self.config.signing_key;
            let request = self
                .http
                .post(&url)
                .header("content-type", "application/json")
                .body(body.clone());
            let request = match delivery.format {
                Format::Legacy => {
                    request.header("openphone-signature", sign_legacy(key, Utc::now(), &body))
                }
                Format::Standard => {
                    let (ts, sig) = sign_standard(key, &webhook_id, Utc::now(), &body);
                    request
                        .header("webhook-id", &webhook_id)
                        .header("webhook-timestamp", ts)
                        .header("webhook-signature", sig)
                }
            };
            self.state.lock().unwrap().deliveries += 1;
            statuses.push(match request.send().await {
                Ok(r) => r.status().as_u16(),
                Err(_) => 0,
            });
        }
        statuses
    }

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

/// How long a scripted voicemail lasts, in seconds.
const VOICEMAIL_SECONDS: u32 = 9;

fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)
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

fn is_e164(s: &str) -> bool {
    s.len() >= 8
        && s.len() <= 16
        && s.starts_with('+')
        && s[1..].bytes().all(|b| b.is_ascii_digit())
}

async fn send_message(State(sim): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(r) = sim.admit(&headers) {
        return *r;
    }
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return api_error(400, "0206400", "Bad Request", "Body must be JSON");
    };
    let content = body["content"].as_str().unwrap_or_default();
    let to: Vec<&str> = body["to"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let from = body["from"].as_str().unwrap_or_default();
    if content.trim().is_empty() || content.chars().count() > 1600 {
        return api_error(
            400,
            "0206400",
            "Bad Request",
            "content must hold 1-1600 characters",
        );
    }
    if to.len() != 1 || !is_e164(to[0]) {
        return api_error(
            400,
            "0206400",
            "Bad Request",
            "to must hold exactly one E.164 number",
        );
    }
    if from != sim.config.phone_number && from != sim.config.phone_number_id {
        return api_error(
            403,
            "0206403",
            "Not Phone Number User",
            "Not Phone Number User",
        );
    }
    let injected = {
        let mut state = sim.state.lock().unwrap();
        (!state.failures.is_empty()).then(|| state.failures.remove(0))
    };
    let message = json!({
        "id": format!("AC{}", uuid::Uuid::new_v4().simple()),
        "to": [to[0]], "from": sim.config.phone_number, "text": content,
        "phoneNumberId": sim.config.phone_number_id, "direction": "outgoing",
        "userId": body.get("userId").cloned().unwrap_or(json!("USsim")),
        "status": "sent", "createdAt": now(), "updatedAt": now(),
    });
    match injected {
        // The answer is lost after the message went out: the caller cannot know it was sent.
        Some(599) => {
            sim.state.lock().unwrap().messages.push(message);
            return api_error(
                500,
                "0206500",
                "Internal Server Error",
                "Injected lost answer",
            );
        }
        Some(400) => {
            return api_error(
                400,
                "0206400",
                "A2P Registration Not Approved",
                "A2P Registration Not Approved",
            )
        }
        Some(status) => {
            return api_error(
                status,
                &format!("0206{status}"),
                "Injected failure",
                "Injected failure",
            )
        }
        None => {}
    }
    let echo = {
        let mut state = sim.state.lock().unwrap();
        state.messages.push(message.clone());
        state.internal_numbers.iter().any(|n| n == to[0]) && !state.drop_internal
    };
    if echo {
        let event = sim.inbound_event(Shape::V3, &sim.config.phone_number, content, &[]);
        let sim = sim.clone();
        tokio::spawn(async move {
            sim.deliver(&event, Delivery::once(Format::default())).await;
        });
    }
    (StatusCode::ACCEPTED, Json(json!({ "data": message }))).into_response()
}

/// The query string of a REST request, with the checks the list routes share. Errors are the
/// message of a 400.
struct Params(Vec<(String, String)>);

impl Params {
    fn one(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a repeatable key, spelled `name` or `name[]`.
    fn all(&self, name: &str) -> Vec<String> {
        let bracketed = format!("{name}[]");
        self.0
            .iter()
            .filter(|(k, _)| *k == name || *k == bracketed)
            .map(|(_, v)| v.clone())
            .collect()
    }

    fn max_results(&self) -> Result<usize, String> {
        match self.one("maxResults").and_then(|m| m.parse().ok()) {
            Some(m) if (1..=100).contains(&m) => Ok(m),
            _ => Err("maxResults must be 1-100".into()),
        }
    }

    fn offset(&self) -> usize {
        self.one("pageToken")
            .and_then(|t| t.parse().ok())
            .unwrap_or(0)
    }

    fn time(&self, name: &str) -> Result<Option<DateTime<Utc>>, String> {
        match self.one(name) {
            None => Ok(None),
            Some(s) => parse_time(s)
                .map(Some)
                .ok_or_else(|| format!("{name} must be an ISO-8601 date-time")),
        }
    }

    /// The window `{prefix}After` (inclusive) .. `{prefix}Before` (exclusive).
    fn window(&self, prefix: &str) -> Result<Window, String> {
        Ok(Window {
            after: self.time(&format!("{prefix}After"))?,
            before: self.time(&format!("{prefix}Before"))?,
        })
    }
}

/// A half-open time window; an open bound admits anything.
struct Window {
    after: Option<DateTime<Utc>>,
    before: Option<DateTime<Utc>>,
}

impl Window {
    /// Whether the time in `item[field]` falls inside (an item without one only passes an
    /// unbounded window).
    fn contains(&self, item: &Value, field: &str) -> bool {
        match time_of(item, field) {
            Some(at) => {
                self.after.is_none_or(|after| at >= after)
                    && self.before.is_none_or(|before| at < before)
            }
            None => self.after.is_none() && self.before.is_none(),
        }
    }
}

fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

fn time_of(item: &Value, field: &str) -> Option<DateTime<Utc>> {
    item[field].as_str().and_then(parse_time)
}

fn bad_request(code: &str, message: &str) -> Response {
    api_error(400, code, "Bad Request", message)
}

fn not_found(message: &str) -> Response {
    api_error(404, "0100404", "Not Found", message)
}

/// One page of `items` from the offset `offset`, with the next offset as the page token.
fn page(items: &[Value], offset: usize, max: usize) -> Response {
    let page: Vec<Value> = items.iter().skip(offset).take(max).cloned().collect();
    let next = (offset + max < items.len()).then(|| (offset + max).to_string());
    Json(json!({ "data": page, "totalItems": items.len(), "nextPageToken": next })).into_response()
}

async fn list_messages(
    State(sim): State<Shared>,
    headers: HeaderMap,
    Query(query): Query<Vec<(String, String)>>,
) -> Response {
    if let Err(r) = sim.admit(&headers) {
        return *r;
    }
    let params = Params(query);
    let participants = params.all("participants");
    let (max, window) = match params
        .max_results()
        .and_then(|m| Ok((m, params.window("created")?)))
    {
        Ok(checked) => checked,
        Err(message) => return bad_request("0206400", &message),
    };
    if params.one("phoneNumberId").is_none() || participants.is_empty() {
        return bad_request("0206400", "phoneNumberId and participants are required");
    }
    let is_participant = |v: &Value| {
        v.as_str()
            .is_some_and(|n| participants.iter().any(|p| p == n))
    };
    let mut matching: Vec<Value> = {
        let state = sim.state.lock().unwrap();
        let sent = state.messages.iter().filter(|m| {
            m["to"]
                .as_array()
                .is_some_and(|to| to.iter().any(is_participant))
        });
        let received = state.inbound.iter().filter(|m| is_participant(&m["from"]));
        sent.chain(received)
            .filter(|m| window.contains(m, "createdAt"))
            .cloned()
            .collect()
    };
    matching.sort_by_key(|m| time_of(m, "createdAt"));
    page(&matching, params.offset(), max)
}

async fn get_message(
    State(sim): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Err(r) = sim.admit(&headers) {
        return *r;
    }
    let found = {
        let state = sim.state.lock().unwrap();
        state
            .messages
            .iter()
            .chain(state.inbound.iter())
            .find(|m| m["id"] == id)
            .cloned()
    };
    match found {
        Some(m) => Json(json!({ "data": m })).into_response(),
        None => api_error(404, "0206404", "Not Found", "Message not found"),
    }
}

/// One conversation's activity so far: the earliest and the latest (time, id).
struct Activity {
    first: (DateTime<Utc>, String),
    last: (DateTime<Utc>, String),
}

impl Shared {
    /// One conversation per counterpart number, across sent and received messages and calls.
    fn conversations(&self) -> Vec<Value> {
        let ours = self.config.phone_number.as_str();
        let state = self.state.lock().unwrap();
        let sent = state
            .messages
            .iter()
            .map(|m| (m["to"][0].as_str(), m["createdAt"].as_str(), m));
        let received = state
            .inbound
            .iter()
            .map(|m| (m["from"].as_str(), m["createdAt"].as_str(), m));
        let calls = state.calls.iter().map(|c| {
            let other = c["participants"]
                .as_array()
                .and_then(|p| p.iter().filter_map(Value::as_str).find(|p| *p != ours));
            let at = c["completedAt"].as_str().or(c["createdAt"].as_str());
            (other, at, c)
        });
        let mut by_participant: BTreeMap<String, Activity> = BTreeMap::new();
        for (participant, at, item) in sent.chain(received).chain(calls) {
            let (Some(participant), Some(at)) = (participant, at.and_then(parse_time)) else {
                continue;
            };
            if participant == ours {
                continue;
            }
            let id = item["id"].as_str().unwrap_or_default().to_string();
            by_participant
                .entry(participant.to_string())
                .and_modify(|a| {
                    if at < a.first.0 {
                        a.first = (at, id.clone());
                    }
                    if at >= a.last.0 {
                        a.last = (at, id.clone());
                    }
                })
                .or_insert_with(|| Activity {
                    first: (at, id.clone()),
                    last: (at, id.clone()),
                });
        }
        let stamp = |t: &DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Millis, true);
        by_participant
            .into_iter()
            .map(|(participant, activity)| {
                let last = stamp(&activity.last.0);
                json!({
                    "id": format!("CN{}", digits(&participant)),
                    "phoneNumberId": self.config.phone_number_id,
                    "participants": [participant], "name": null, "assignedTo": null,
                    "createdAt": stamp(&activity.first.0), "updatedAt": last,
                    "deletedAt": null, "lastActivityAt": last,
                    "lastActivityId": activity.last.1,
                })
            })
            .collect()
    }
}

async fn list_conversations(
    State(sim): State<Shared>,
    headers: HeaderMap,
    Query(query): Query<Vec<(String, String)>>,
) -> Response {
    if let Err(r) = sim.admit(&headers) {
        return *r;
    }
    let params = Params(query);
    let numbers = params.all("phoneNumbers");
    if numbers.is_empty()
        || numbers.len() > 100
        || numbers.iter().any(|n| !n.starts_with("PN") && !is_e164(n))
    {
        return bad_request(
            "0100400",
            "phoneNumbers must hold 1-100 phone-number ids or E.164 numbers",
        );
    }
    let checked = params
        .max_results()
        .and_then(|max| Ok((max, params.window("created")?, params.window("updated")?)));
    let (max, created, updated) = match checked {
        Ok(checked) => checked,
        Err(message) => return bad_request("0100400", &message),
    };
    let config = &sim.config;
    let ours = numbers
        .iter()
        .any(|n| *n == config.phone_number || *n == config.phone_number_id);
    let mut matching: Vec<Value> = if ours {
        sim.conversations()
            .into_iter()
            .filter(|c| created.contains(c, "createdAt") && updated.contains(c, "updatedAt"))
            .collect()
    } else {
        vec![]
    };
    matching.sort_by_key(|c| Reverse(time_of(c, "updatedAt")));
    page(&matching, params.offset(), max)
}

async fn list_calls(
    State(sim): State<Shared>,
    headers: HeaderMap,
    Query(query): Query<Vec<(String, String)>>,
) -> Response {
    if let Err(r) = sim.admit(&headers) {
        return *r;
    }
    let params = Params(query);
    let (max, window) = match params
        .max_results()
        .and_then(|m| Ok((m, params.window("created")?)))
    {
        Ok(checked) => checked,
        Err(message) => return bad_request("0100400", &message),
    };
    if params.one("phoneNumberId").is_none() {
        return bad_request("0100400", "phoneNumberId is required");
    }
    let participants = params.all("participants");
    let [participant] = participants.as_slice() else {
        return bad_request("0100400", "participants must hold exactly one number");
    };
    let mut matching: Vec<Value> = sim
        .state
        .lock()
        .unwrap()
        .calls
        .iter()
        .filter(|c| {
            c["participants"]
                .as_array()
                .is_some_and(|p| p.iter().any(|p| p == participant))
        })
        .filter(|c| window.contains(c, "createdAt"))
        .cloned()
        .collect();
    matching.sort_by_key(|c| time_of(c, "createdAt"));
    page(&matching, params.offset(), max)
}

async fn get_call(
    State(sim): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Err(r) = sim.admit(&headers) {
        return *r;
    }
    let found = sim
        .state
        .lock()
        .unwrap()
        .calls
        .iter()
        .find(|c| c["id"] == id)
        .cloned();
    match found {
        Some(call) => Json(json!({ "data": call })).into_response(),
        None => not_found("Call not found"),
    }
}

/// Answers `{"data": pick(artefacts)}`, or 404 when there is no such call or `pick` finds none.
fn call_artefact(
    sim: &Shared,
    headers: &HeaderMap,
    call_id: &str,
    what: &str,
    pick: impl FnOnce(&CallArtefacts) -> Option<Value>,
) -> Response {
    if let Err(r) = sim.admit(headers) {
        return *r;
    }
    let state = sim.state.lock().unwrap();
    if !state.calls.iter().any(|c| c["id"] == call_id) {
        return not_found("Call not found");
    }
    let none = CallArtefacts::default();
    match pick(state.artefacts.get(call_id).unwrap_or(&none)) {
        Some(data) => Json(json!({ "data": data })).into_response(),
        None => not_found(&format!("{what} not found")),
    }
}

async fn get_call_recordings(
    State(sim): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    call_artefact(&sim, &headers, &id, "Recordings", |a| {
        Some(json!(a.recordings))
    })
}

async fn get_call_transcript(
    State(sim): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    call_artefact(&sim, &headers, &id, "Transcript", |a| a.transcript.clone())
}

async fn get_call_summary(
    State(sim): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    call_artefact(&sim, &headers, &id, "Summary", |a| a.summary.clone())
}

async fn get_call_voicemail(
    State(sim): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    call_artefact(&sim, &headers, &id, "Voicemail", |a| a.voicemail.clone())
}

/// Media URLs are public (like the provider's CDN links): no key needed.
async fn get_media(State(sim): State<Shared>, Path(id): Path<String>) -> Response {
    let state = sim.state.lock().unwrap();
    match state.media.get(&id) {
        Some(file) => (
            [("content-type", file.content_type.clone())],
            file.bytes.clone(),
        )
            .into_response(),
        None => api_error(404, "0206404", "Not Found", "Media not found"),
    }
}

#[derive(Deserialize)]
struct ControlMedia {
    /// Standard base64 of the file.
    base64: String,
    #[serde(rename = "type")]
    content_type: String,
}

impl ControlMedia {
    fn decode(&self) -> Option<InboundMedia> {
        Some(InboundMedia {
            bytes: base64::engine::general_purpose::STANDARD
                .decode(&self.base64)
                .ok()?
                .into(),
            content_type: self.content_type.clone(),
        })
    }
}

#[derive(Deserialize)]
struct ControlInbound {
    from: String,
    text: String,
    #[serde(default)]
    media: Vec<ControlMedia>,
    #[serde(default)]
    shape: Shape,
    #[serde(default)]
    format: Format,
    #[serde(default = "one")]
    copies: usize,
}

fn one() -> usize {
    1
}

async fn control_inbound(State(sim): State<Shared>, Json(body): Json<ControlInbound>) -> Response {
    let media: Option<Vec<InboundMedia>> = body.media.iter().map(ControlMedia::decode).collect();
    let Some(media) = media else {
        return (StatusCode::BAD_REQUEST, "media.base64 is not base64").into_response();
    };
    let event = sim.inbound_event(body.shape, &body.from, &body.text, &media);
    let statuses = sim
        .deliver(
            &event,
            Delivery {
                format: body.format,
                copies: body.copies,
            },
        )
        .await;
    Json(json!({ "event": event, "statuses": statuses })).into_response()
}

#[derive(Deserialize)]
struct ControlCall {
    from: String,
    #[serde(default)]
    answered: bool,
    #[serde(default)]
    duration: u32,
    recording: Option<ControlMedia>,
    voicemail: Option<ControlMedia>,
    #[serde(default)]
    transcript: Vec<(String, String)>,
    #[serde(default)]
    summary: Vec<String>,
    #[serde(default)]
    next_steps: Vec<String>,
    #[serde(default)]
    shape: Shape,
    #[serde(default)]
    format: Format,
    /// Delivery order as indexes into ringing, completed, recording, transcript, summary
    /// (those scripted); default the natural order.
    order: Option<Vec<usize>>,
}

async fn control_call(State(sim): State<Shared>, Json(body): Json<ControlCall>) -> Response {
    let script = CallScript {
        from: body.from,
        answered: body.answered,
        duration: body.duration,
        recording: body.recording.as_ref().and_then(ControlMedia::decode),
        voicemail: body.voicemail.as_ref().and_then(ControlMedia::decode),
        transcript: body.transcript,
        summary: body.summary,
        next_steps: body.next_steps,
    };
    let events = sim.call_events(body.shape, &script);
    let order = body.order.unwrap_or_else(|| (0..events.len()).collect());
    let mut statuses = Vec::new();
    for i in order {
        if let Some(event) = events.get(i) {
            statuses.extend(sim.deliver(event, Delivery::once(body.format)).await);
        }
    }
    Json(json!({ "events": events, "statuses": statuses })).into_response()
}

#[derive(Deserialize)]
struct ControlFail {
    statuses: Vec<u16>,
}

async fn control_fail(State(sim): State<Shared>, Json(body): Json<ControlFail>) -> Response {
    sim.state.lock().unwrap().failures.extend(body.statuses);
    StatusCode::NO_CONTENT.into_response()
}

#[derive(Deserialize)]
struct ControlOutage {
    down: bool,
}

/// A webhook outage: while down, events are recorded in the history but not delivered.
async fn control_outage(State(sim): State<Shared>, Json(body): Json<ControlOutage>) -> Response {
    sim.state.lock().unwrap().webhook_outage = body.down;
    StatusCode::NO_CONTENT.into_response()
}

async fn control_sent(State(sim): State<Shared>) -> Response {
    Json(json!({ "data": sim.state.lock().unwrap().messages.clone() })).into_response()
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
