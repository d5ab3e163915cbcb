//! The `/_sim/...` control routes, the HTTP twins of the handle's methods (for a simulator in
//! another process, such as `trickle dev`'s sandbox): inject inbound messages and calls, queue
//! send failures, read the sent messages, switch a webhook outage on or off.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine;
use serde::Deserialize;
use serde_json::json;

use super::{CallScript, Delivery, Format, InboundMedia, Shape, Shared};

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
pub(super) struct ControlInbound {
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

pub(super) async fn control_inbound(
    State(sim): State<Shared>,
    Json(body): Json<ControlInbound>,
) -> Response {
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
pub(super) struct ControlCall {
    from: String,
    #[serde(default)]
    answered: bool,
    #[serde(default)]
    duration: u32,
    recording: Option<ControlMedia>,
    voicemail: Option<ControlMedia>,
    #[serde(default)]
    voicemail_transcript: Option<String>,
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

pub(super) async fn control_call(
    State(sim): State<Shared>,
    Json(body): Json<ControlCall>,
) -> Response {
    let script = CallScript {
        from: body.from,
        answered: body.answered,
        duration: body.duration,
        recording: body.recording.as_ref().and_then(ControlMedia::decode),
        voicemail: body.voicemail.as_ref().and_then(ControlMedia::decode),
        voicemail_transcript: body.voicemail_transcript,
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
pub(super) struct ControlFail {
    statuses: Vec<u16>,
}

pub(super) async fn control_fail(
    State(sim): State<Shared>,
    Json(body): Json<ControlFail>,
) -> Response {
    sim.state.lock().unwrap().failures.extend(body.statuses);
    StatusCode::NO_CONTENT.into_response()
}

#[derive(Deserialize)]
pub(super) struct ControlOutage {
    down: bool,
}

/// A webhook outage: while down, events are recorded in the history but not delivered.
pub(super) async fn control_outage(
    State(sim): State<Shared>,
    Json(body): Json<ControlOutage>,
) -> Response {
    sim.state.lock().unwrap().webhook_outage = body.down;
    StatusCode::NO_CONTENT.into_response()
}

pub(super) async fn control_sent(State(sim): State<Shared>) -> Response {
    Json(json!({ "data": sim.state.lock().unwrap().messages.clone() })).into_response()
}
