//! The webhooks the simulator sends trickle: the event shapes (v3 app, v4 API), the scripted
//! inbound messages and calls they come from, and their signed delivery (legacy or Standard
//! Webhooks).

use bytes::Bytes;
use chrono::Utc;
use serde::Deserialize;
use serde_json::{json, Value};
use trickle_domain::webhook_signature::{sign_legacy, sign_standard};

use super::{digits, CallArtefacts, Shared};

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
    /// What `GET /v1/call-voicemails/{id}` says the caller said (`null` when `None`).
    pub voicemail_transcript: Option<String>,
    pub transcript: Vec<(String, String)>,
    pub summary: Vec<String>,
    pub next_steps: Vec<String>,
}

/// How long a scripted voicemail lasts, in seconds.
const VOICEMAIL_SECONDS: u32 = 9;

impl Shared {
    pub(super) fn envelope(&self, shape: Shape, event_type: &str, object: Value) -> Value {
        let mut data = json!({ "object": object });
        if shape == Shape::V4 {
            data["deepLink"] = json!("https://my.openphone.com/inbox");
        }
        json!({
            "id": format!("EV{}", uuid::Uuid::new_v4().simple()),
            "object": "event",
            "apiVersion": match shape { Shape::V3 => "v3", Shape::V4 => "v4" },
            "createdAt": self.now(),
            "type": event_type,
            "data": data,
        })
    }

    pub(super) fn inbound_event(
        &self,
        shape: Shape,
        from: &str,
        text: &str,
        media: &[InboundMedia],
    ) -> Value {
        let media: Vec<Value> = media
            .iter()
            .map(|m| json!({ "url": self.host_media(m), "type": m.content_type }))
            .collect();
        let id = format!("AC{}", uuid::Uuid::new_v4().simple());
        let ours = &self.config.phone_number;
        let created = self.now();
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

    pub(super) fn call_events(&self, shape: Shape, script: &CallScript) -> Vec<Value> {
        let id = format!("AC{}", uuid::Uuid::new_v4().simple());
        let ours = self.config.phone_number.clone();
        let created = self.now();
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
        let completed_at = self.now();
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
                "duration": VOICEMAIL_SECONDS, "transcript": script.voicemail_transcript,
                "recordingUrl": url})
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
                "callId": id, "createdAt": self.now(), "duration": script.duration,
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

    pub(super) async fn deliver(&self, event: &Value, delivery: Delivery) -> Vec<u16> {
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
}

impl super::OpenPhoneSimulator {
    /// A `message.failed` event for a message sent through this simulator, with the carrier's
    /// reason (`errorMessage`; the field's name in OpenPhone's payload is unconfirmed, so the
    /// handler reads several).
    pub fn failed_event(&self, shape: Shape, message: &Value, reason: &str) -> Value {
        let mut object = message.clone();
        object["object"] = json!("message");
        object["status"] = json!("failed");
        object["errorMessage"] = json!(reason);
        if shape == Shape::V3 {
            object["body"] = object["text"].take();
            object["to"] = json!(object["to"][0].as_str().unwrap_or_default());
        }
        self.shared.envelope(shape, "message.failed", object)
    }

    /// A missed call as the new webhook system (API version 2026-03-30) reports it:
    /// `call.missed`, then `call.voicemail.completed` for its voicemail, each resource under
    /// `data.resource`. The call's artefacts are stored for the REST lookups as usual.
    pub fn missed_call_events_2026(&self, script: &CallScript) -> Vec<Value> {
        let legacy = self.shared.call_events(Shape::V4, script);
        let call = legacy[1]["data"]["object"].clone();
        let envelope = |event_type: &str, resource: Value| {
            json!({
                "id": format!("EV{}", uuid::Uuid::new_v4().simple()),
                "apiVersion": "2026-03-30",
                "createdAt": self.shared.now(),
                "type": event_type,
                "data": {"resource": resource, "context": {}, "links": {}},
            })
        };
        let mut missed = call.clone();
        missed["status"] = json!("missed");
        // The new system reports the voicemail in its own event.
        missed["voicemail"] = Value::Null;
        let mut events = vec![envelope("call.missed", missed)];
        if let Some(voicemail) = call.get("voicemail").filter(|v| !v.is_null()) {
            events.push(envelope(
                "call.voicemail.completed",
                json!({
                    "id": format!("VM{}", digits(call["id"].as_str().unwrap_or_default())),
                    "object": "voicemail",
                    "callId": call["id"],
                    "status": "completed",
                    "duration": voicemail["duration"],
                    "transcript": script.voicemail_transcript,
                    "recordingUrl": voicemail["url"],
                    "type": voicemail["type"],
                }),
            ));
        }
        events
    }
}
