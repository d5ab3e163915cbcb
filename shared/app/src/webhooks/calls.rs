//! `call.ringing`, `call.completed` (and `call.missed`), the call artefacts (recording, transcript,
//! summary) and `call.voicemail.completed`.
//!
//! One activity per call id. A completed call nobody answered is a `missed_call`. Artefacts go
//! through [`activities::merge_artefact`], so they land on the call whether they arrive before
//! or after `call.completed`, once or twice.

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

use super::activities;
use super::payload::{CallObject, CallSummary, CallTranscript, Envelope, MediaRef};
use super::{contacts, keys, media};
use crate::ports::table::{Condition, Update};
use crate::worker::HandlerError;
use crate::Services;

use super::{permanent, transient};

pub async fn ringing(services: &Services, envelope: &Envelope) -> Result<(), HandlerError> {
    let call = CallObject::read(&envelope.object).map_err(permanent)?;
    let activity = ensure_activity(services, envelope, &call, "ringing").await?;
    if !activity.created {
        // A late ringing never rewinds a call that has completed.
        let result = services
            .table
            .update(
                &activity.key,
                Update::new().set("status", "ringing"),
                Some(Condition::All(vec![
                    Condition::ItemExists,
                    Condition::AttrAbsent("completed_at".into()),
                ])),
            )
            .await;
        match result {
            Ok(_) => {}
            Err(e) if e.is_condition_failure() => {}
            Err(e) => return Err(transient(e)),
        }
    }
    Ok(())
}

pub async fn completed(services: &Services, envelope: &Envelope) -> Result<(), HandlerError> {
    let call = CallObject::read(&envelope.object).map_err(permanent)?;
    let activity = ensure_activity(services, envelope, &call, "completed").await?;
    let answered = call.answered_at.is_some();
    let completed_at = call
        .completed_at
        .or(envelope.created_at)
        .unwrap_or_else(|| services.clock.now());
    let mut update = Update::new()
        .set("kind", if answered { "call" } else { "missed_call" })
        .set(
            "status",
            call.status.clone().unwrap_or_else(|| "completed".into()),
        )
        .set("answered", answered)
        .set("answered_at", json!(call.answered_at.map(keys::sort_time)))
        .set("completed_at", keys::sort_time(completed_at));
    if let Some(duration) = call.duration {
        update = update.set("duration", duration);
    }
    if let Some(voicemail) = &call.voicemail {
        update = update.set(
            "voicemail",
            media::entry(&call.id, media::VOICEMAIL_SLOT, voicemail),
        );
    }
    services
        .table
        .update(&activity.key, update, Some(Condition::ItemExists))
        .await
        .map_err(transient)?;
    if let Some(voicemail) = &call.voicemail {
        media::enqueue(services, &call.id, media::VOICEMAIL_SLOT, voicemail)
            .await
            .map_err(transient)?;
    }
    if !call.recordings.is_empty() {
        recordings(services, &call.id, &call.recordings).await?;
    }
    Ok(())
}

/// `call.voicemail.completed` (new webhook system): the voicemail of a missed call, keyed by
/// `callId`, with its audio (`recordingUrl`) and, when ready, its transcript. Kept on the call's
/// activity now or whenever `call.missed` creates it; the audio is copied like any media.
pub async fn voicemail_completed(
    services: &Services,
    envelope: &Envelope,
) -> Result<(), HandlerError> {
    let object = &envelope.object;
    let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_string);
    let call_id = text(object.get("callId"))
        .or_else(|| text(object.get("id")).filter(|id| id.starts_with("AC")))
        .ok_or_else(|| permanent("voicemail without callId"))?;
    let nested = object.get("voicemail");
    let url = text(object.get("recordingUrl"))
        .or_else(|| text(object.get("url")))
        .or_else(|| text(nested.and_then(|v| v.get("url"))));
    let transcript = text(object.get("transcript"))
        .or_else(|| text(nested.and_then(|v| v.get("transcript"))))
        .filter(|t| !t.trim().is_empty());
    let mut attrs = Vec::new();
    let audio = url.map(|url| MediaRef {
        url,
        content_type: text(object.get("type")).or_else(|| Some("audio/mpeg".into())),
        duration: object.get("duration").and_then(Value::as_f64),
    });
    if let Some(audio) = &audio {
        attrs.push((
            "voicemail".to_string(),
            media::entry(&call_id, media::VOICEMAIL_SLOT, audio),
        ));
    }
    if let Some(transcript) = transcript {
        attrs.push(("voicemail_transcript".to_string(), json!(transcript)));
    }
    if attrs.is_empty() {
        return Ok(());
    }
    activities::merge_artefact(services, &call_id, attrs)
        .await
        .map_err(transient)?;
    if let Some(audio) = &audio {
        media::enqueue(services, &call_id, media::VOICEMAIL_SLOT, audio)
            .await
            .map_err(transient)?;
    }
    Ok(())
}

pub async fn recording_completed(
    services: &Services,
    envelope: &Envelope,
) -> Result<(), HandlerError> {
    let call = CallObject::read(&envelope.object).map_err(permanent)?;
    recordings(services, &call.id, &call.recordings).await
}

pub async fn transcript_completed(
    services: &Services,
    envelope: &Envelope,
) -> Result<(), HandlerError> {
    let transcript = CallTranscript::read(&envelope.object).map_err(permanent)?;
    activities::merge_artefact(
        services,
        &transcript.call_id,
        vec![("transcript".into(), transcript.dialogue)],
    )
    .await
    .map_err(transient)
}

pub async fn summary_completed(
    services: &Services,
    envelope: &Envelope,
) -> Result<(), HandlerError> {
    let summary = CallSummary::read(&envelope.object).map_err(permanent)?;
    activities::merge_artefact(
        services,
        &summary.call_id,
        vec![
            ("summary".into(), json!(summary.summary)),
            ("next_steps".into(), json!(summary.next_steps)),
        ],
    )
    .await
    .map_err(transient)
}

async fn recordings(
    services: &Services,
    call_id: &str,
    list: &[MediaRef],
) -> Result<(), HandlerError> {
    if list.is_empty() {
        return Ok(());
    }
    let entries: Vec<Value> = list
        .iter()
        .enumerate()
        .map(|(n, r)| media::entry(call_id, &format!("recording_{n}"), r))
        .collect();
    activities::merge_artefact(
        services,
        call_id,
        vec![("recordings".into(), Value::Array(entries))],
    )
    .await
    .map_err(transient)?;
    for (n, r) in list.iter().enumerate() {
        media::enqueue(services, call_id, &format!("recording_{n}"), r)
            .await
            .map_err(transient)?;
    }
    Ok(())
}

async fn ensure_activity(
    services: &Services,
    envelope: &Envelope,
    call: &CallObject,
    status: &str,
) -> Result<activities::ActivityRef, HandlerError> {
    if let Some(existing) = activities::find(services, &call.id)
        .await
        .map_err(transient)?
    {
        return Ok(existing);
    }
    let counterpart = call
        .counterpart()
        .ok_or_else(|| permanent("call without a counterpart number"))?;
    let (contact_id, phone) = contacts::upsert_by_phone(services, &counterpart).await?;
    let at: DateTime<Utc> = call
        .created_at
        .or(envelope.created_at)
        .unwrap_or_else(|| services.clock.now());
    let direction = match call.direction.as_deref() {
        Some("outgoing" | "outbound") => "outgoing",
        _ => "incoming",
    };
    let Value::Object(fields) = json!({
        "kind": "call",
        "direction": direction,
        "source": envelope.source,
        "phone": phone.as_str(),
        "status": status,
        "from": call.from,
        "to": call.to,
        "conversation_id": call.conversation_id,
        "phone_number_id": call.phone_number_id,
        "occurred_at": keys::sort_time(at),
    }) else {
        unreachable!()
    };
    let fields: Map<String, Value> = fields;
    activities::create_once(
        services,
        &contact_id,
        &call.id,
        keys::activity(&contact_id, at, &call.id),
        fields,
    )
    .await
    .map_err(transient)
}
