//! The `/v1/...` REST API trickle calls: sending and listing messages, conversations and calls,
//! with the query checks, time windows and offset paging the list routes share.

use std::cmp::Reverse;
use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use bytes::Bytes;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Value};

use super::{api_error, digits, not_found, Delivery, Format, Shape, Shared};

fn is_e164(s: &str) -> bool {
    s.len() >= 8
        && s.len() <= 16
        && s.starts_with('+')
        && s[1..].bytes().all(|b| b.is_ascii_digit())
}

pub(super) async fn send_message(
    State(sim): State<Shared>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
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
    let Some((from_number, from_id)) = sim.owned(from) else {
        return api_error(
            403,
            "0206403",
            "Not Phone Number User",
            "Not Phone Number User",
        );
    };
    let injected = {
        let mut state = sim.state.lock().unwrap();
        (!state.failures.is_empty()).then(|| state.failures.remove(0))
    };
    let message = json!({
        "id": format!("AC{}", uuid::Uuid::new_v4().simple()),
        "to": [to[0]], "from": from_number, "text": content,
        "phoneNumberId": from_id, "direction": "outgoing",
        "userId": body.get("userId").cloned().unwrap_or(json!("USsim")),
        "status": "sent", "createdAt": sim.now(), "updatedAt": sim.now(),
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

/// One page of `items` from the offset `offset`, with the next offset as the page token.
fn page(items: &[Value], offset: usize, max: usize) -> Response {
    let page: Vec<Value> = items.iter().skip(offset).take(max).cloned().collect();
    let next = (offset + max < items.len()).then(|| (offset + max).to_string());
    Json(json!({ "data": page, "totalItems": items.len(), "nextPageToken": next })).into_response()
}

pub(super) async fn list_messages(
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
    // As documented: the number's `PN…` id, not the number itself.
    let number_id = params.one("phoneNumberId").unwrap_or_default().to_string();
    if !is_phone_number_id(&number_id) {
        return bad_request("0206400", "phoneNumberId must be a phone number id (PN…)");
    }
    let is_participant = |v: &Value| {
        v.as_str()
            .is_some_and(|n| participants.iter().any(|p| p == n))
    };
    let mut matching: Vec<Value> = {
        let state = sim.state.lock().unwrap();
        let ours = |m: &&Value| m["phoneNumberId"].as_str() == Some(number_id.as_str());
        let sent = state.messages.iter().filter(ours).filter(|m| {
            m["to"]
                .as_array()
                .is_some_and(|to| to.iter().any(is_participant))
        });
        let received = state
            .inbound
            .iter()
            .filter(ours)
            .filter(|m| is_participant(&m["from"]));
        sent.chain(received)
            .filter(|m| window.contains(m, "createdAt"))
            .cloned()
            .collect()
    };
    matching.sort_by_key(|m| time_of(m, "createdAt"));
    page(&matching, params.offset(), max)
}

pub(super) async fn get_message(
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

/// `PN` and letters or digits: the shape of OpenPhone's phone number ids.
fn is_phone_number_id(id: &str) -> bool {
    id.len() > 2 && id.starts_with("PN") && id[2..].chars().all(|c| c.is_ascii_alphanumeric())
}

/// `GET /v1/phone-numbers`: the workspace's numbers (not paged), the sending number first.
pub(super) async fn list_phone_numbers(State(sim): State<Shared>, headers: HeaderMap) -> Response {
    if let Err(r) = sim.admit(&headers) {
        return *r;
    }
    let mut numbers = vec![json!({
        "id": sim.config.phone_number_id,
        "number": sim.config.phone_number,
        "name": "Sandbox",
        "users": [],
    })];
    let internal = sim.state.lock().unwrap().internal_numbers.clone();
    for (i, number) in internal.iter().enumerate() {
        numbers.push(json!({
            "id": super::account::internal_number_id(i),
            "number": number,
            "name": "Sandbox (internal)",
            "users": [],
        }));
    }
    Json(json!({ "data": numbers })).into_response()
}

pub(super) async fn list_conversations(
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

pub(super) async fn list_calls(
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
    if !params.one("phoneNumberId").is_some_and(is_phone_number_id) {
        return bad_request(
            "0100400",
            "phoneNumberId (a PN… phone number id) is required",
        );
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

pub(super) async fn get_call(
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
