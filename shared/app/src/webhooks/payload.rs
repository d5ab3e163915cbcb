//! Defensive reading of OpenPhone webhook payloads.
//!
//! App webhooks (v2/v3) and API webhooks (v4) differ: `body` vs `text`, `to` as a string
//! (possibly comma-joined) vs an array, `media` vs `recordings`, summaries and transcripts keyed
//! by `callId`. Every reader here accepts all of them and never trusts a field to be present.

use chrono::{DateTime, Utc};
use serde_json::Value;

/// The event types this system acts on. Anything else is stored and marked `ignored`.
pub const KNOWN_TYPES: [&str; 13] = [
    "message.received",
    "message.delivered",
    "message.failed",
    "call.ringing",
    "call.completed",
    // New webhook system (2026-03-30): a missed call, and its voicemail in an event of its own.
    "call.missed",
    "call.voicemail.completed",
    "call.recording.completed",
    "call.transcript.completed",
    "call.summary.completed",
    "callSummary",
    "contact.updated",
    "contact.deleted",
];

pub fn is_known_type(event_type: &str) -> bool {
    KNOWN_TYPES.contains(&event_type)
}

pub const SOURCE_WEBHOOK: &str = "webhook";
pub const SOURCE_RECONCILIATION: &str = "reconciliation";

/// The envelope of any event generation.
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope {
    pub id: Option<String>,
    pub event_type: String,
    pub api_version: Option<String>,
    pub created_at: Option<DateTime<Utc>>,
    /// `data.object` (legacy) or `data.resource` (new system).
    pub object: Value,
    /// Who delivered it: `webhook`, or `reconciliation` for what a reconciliation run found
    /// missing (the only difference a reconciled record shows).
    pub source: &'static str,
}

impl Envelope {
    pub fn read(body: &Value) -> Envelope {
        let data = body.get("data");
        let object = data
            .and_then(|d| d.get("object").or_else(|| d.get("resource")))
            .cloned()
            .unwrap_or(Value::Null);
        Envelope {
            id: string(body, "id"),
            event_type: string(body, "type").unwrap_or_default(),
            api_version: string(body, "apiVersion"),
            created_at: time(body, "createdAt"),
            object,
            source: SOURCE_WEBHOOK,
        }
    }
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MediaRef {
    pub url: String,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MessageObject {
    pub id: String,
    pub from: Option<String>,
    pub to: Vec<String>,
    pub text: String,
    pub direction: Option<String>,
    pub status: Option<String>,
    pub media: Vec<MediaRef>,
    pub phone_number_id: Option<String>,
    pub conversation_id: Option<String>,
    pub user_id: Option<String>,
    pub created_at: Option<DateTime<Utc>>,
}

impl MessageObject {
    pub fn read(object: &Value) -> Result<Self, String> {
        let id = string(object, "id").ok_or("message without id")?;
        Ok(Self {
            id,
            from: string(object, "from"),
            to: numbers(object.get("to")),
            text: string(object, "body")
                .or_else(|| string(object, "text"))
                .unwrap_or_default(),
            direction: string(object, "direction"),
            status: string(object, "status"),
            media: media_list(object.get("media")),
            phone_number_id: string(object, "phoneNumberId"),
            conversation_id: string(object, "conversationId"),
            user_id: string(object, "userId"),
            created_at: time(object, "createdAt"),
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct CallObject {
    pub id: String,
    pub from: Option<String>,
    pub to: Vec<String>,
    pub participants: Vec<String>,
    pub direction: Option<String>,
    pub status: Option<String>,
    pub duration: Option<f64>,
    pub created_at: Option<DateTime<Utc>>,
    pub answered_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub voicemail: Option<MediaRef>,
    /// v2/v3 `media` or v4 `recordings` (null at call.completed in v4).
    pub recordings: Vec<MediaRef>,
    pub phone_number_id: Option<String>,
    pub conversation_id: Option<String>,
}

impl CallObject {
    pub fn read(object: &Value) -> Result<Self, String> {
        // Artefact events of some generations key the call as `callId`.
        let id = string(object, "id")
            .or_else(|| string(object, "callId"))
            .ok_or("call without id")?;
        let mut recordings = media_list(object.get("media"));
        recordings.extend(media_list(object.get("recordings")));
        Ok(Self {
            id,
            from: string(object, "from"),
            to: numbers(object.get("to")),
            participants: numbers(object.get("participants")),
            direction: string(object, "direction"),
            status: string(object, "status"),
            duration: object.get("duration").and_then(Value::as_f64),
            created_at: time(object, "createdAt"),
            answered_at: time(object, "answeredAt"),
            completed_at: time(object, "completedAt"),
            voicemail: object.get("voicemail").and_then(media_ref),
            recordings,
            phone_number_id: string(object, "phoneNumberId"),
            conversation_id: string(object, "conversationId"),
        })
    }

    /// The other party's number: the caller of an incoming call, the callee of an outgoing one.
    pub fn counterpart(&self) -> Option<String> {
        let outgoing = matches!(self.direction.as_deref(), Some("outgoing" | "outbound"));
        let direct = if outgoing {
            self.to.first().cloned()
        } else {
            self.from.clone()
        };
        direct.or_else(|| self.participants.first().cloned())
    }
}

/// `call.summary.completed`: summary lines and next steps, keyed by `callId`.
#[derive(Debug, Clone, PartialEq)]
pub struct CallSummary {
    pub call_id: String,
    pub summary: Vec<String>,
    pub next_steps: Vec<String>,
}

impl CallSummary {
    pub fn read(object: &Value) -> Result<Self, String> {
        Ok(Self {
            call_id: call_id(object)?,
            summary: strings(object.get("summary")),
            next_steps: strings(object.get("nextSteps")),
        })
    }
}

/// `call.transcript.completed`: the full dialogue, keyed by `callId`.
#[derive(Debug, Clone, PartialEq)]
pub struct CallTranscript {
    pub call_id: String,
    pub dialogue: Value,
    pub duration: Option<f64>,
}

impl CallTranscript {
    pub fn read(object: &Value) -> Result<Self, String> {
        Ok(Self {
            call_id: call_id(object)?,
            dialogue: object
                .get("dialogue")
                .cloned()
                .filter(Value::is_array)
                .unwrap_or_else(|| Value::Array(vec![])),
            duration: object.get("duration").and_then(Value::as_f64),
        })
    }
}

fn call_id(object: &Value) -> Result<String, String> {
    string(object, "callId")
        .or_else(|| string(object, "id"))
        .ok_or_else(|| "call artefact without callId".to_string())
}

fn string(v: &Value, key: &str) -> Option<String> {
    v.get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

fn time(v: &Value, key: &str) -> Option<DateTime<Utc>> {
    v.get(key)
        .and_then(Value::as_str)
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc))
}

/// A string (possibly comma-joined) or an array of strings.
fn numbers(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => s
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        _ => vec![],
    }
}

fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|i| {
                i.as_str()
                    .map(str::to_string)
                    .or_else(|| (!i.is_null()).then(|| i.to_string()))
            })
            .collect(),
        _ => vec![],
    }
}

fn media_ref(v: &Value) -> Option<MediaRef> {
    let url = string(v, "url").or_else(|| string(v, "recordingUrl"))?;
    Some(MediaRef {
        url,
        content_type: string(v, "type"),
        duration: v.get("duration").and_then(Value::as_f64),
    })
}

fn media_list(v: Option<&Value>) -> Vec<MediaRef> {
    match v {
        Some(Value::Array(items)) => items.iter().filter_map(media_ref).collect(),
        _ => vec![],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn messages_of_every_generation() {
        let v3 = json!({"id":"AC1","from":"+12125550134","to":"+13105550100, +13105550101",
            "body":"hi","media":[{"url":"https://m/1","type":"image/jpeg"},{"nourl":1}],
            "direction":"incoming","phoneNumberId":"PN1","conversationId":"CN1",
            "createdAt":"2026-01-01T10:00:00.000Z"});
        let m = MessageObject::read(&v3).unwrap();
        assert_eq!(m.text, "hi");
        assert_eq!(m.to, vec!["+13105550100", "+13105550101"]);
        assert_eq!(m.media.len(), 1);
        assert_eq!(
            m.created_at.unwrap().to_rfc3339(),
            "2026-01-01T10:00:00+00:00"
        );
        let v4 = json!({"id":"AC2","from":"+12125550134","to":["+13105550100"],"text":"yo",
            "contactIds":["x"], "createdAt": "not a date"});
        let m = MessageObject::read(&v4).unwrap();
        assert_eq!((m.text.as_str(), m.to.len(), m.created_at), ("yo", 1, None));
        assert!(MessageObject::read(&json!({"text":"no id"})).is_err());
    }

    #[test]
    fn calls_and_artefacts() {
        let v3 = json!({"id":"AC9","from":"+12125550134","to":"+13105550100","direction":"incoming",
            "media":[{"url":"https://r/1","type":"audio/mpeg","duration":12}],
            "voicemail":{"url":"https://v/1","type":"audio/mpeg","duration":7}});
        let c = CallObject::read(&v3).unwrap();
        assert_eq!(c.counterpart().as_deref(), Some("+12125550134"));
        assert_eq!(
            (c.recordings.len(), c.voicemail.unwrap().duration),
            (1, Some(7.0))
        );
        let v4 = json!({"id":"AC9","participants":["+12125550134"],"direction":"outgoing",
            "recordings":null,"duration":30});
        let c = CallObject::read(&v4).unwrap();
        assert_eq!(c.counterpart().as_deref(), Some("+12125550134"));
        assert_eq!(c.duration, Some(30.0));
        let s = CallSummary::read(&json!({"callId":"AC9","object":"callSummary",
            "summary":["a","b"],"nextSteps":["c"]}))
        .unwrap();
        assert_eq!(
            (s.call_id.as_str(), s.summary.len(), s.next_steps.len()),
            ("AC9", 2, 1)
        );
        let t =
            CallTranscript::read(&json!({"callId":"AC9","dialogue":[{"content":"hi"}]})).unwrap();
        assert_eq!(t.dialogue.as_array().unwrap().len(), 1);
    }

    #[test]
    fn envelopes() {
        let e = Envelope::read(&json!({"id":"EV1","type":"callSummary","apiVersion":"v3",
            "data":{"object":{"callId":"AC1"}}}));
        assert_eq!(
            (e.id.as_deref(), e.event_type.as_str()),
            (Some("EV1"), "callSummary")
        );
        assert_eq!(e.object["callId"], "AC1");
        let e = Envelope::read(&json!({"type":"call.missed","data":{"resource":{"id":"AC2"}}}));
        assert_eq!(e.object["id"], "AC2");
        assert!(is_known_type("call.missed"));
        assert!(!is_known_type("call.answered"));
    }
}
