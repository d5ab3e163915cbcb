//! `message.received` and `message.delivered`.

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};
use trickle_domain::health::HealthToken;

use super::activities::{self, ActivityRef};
use super::payload::{Envelope, MessageObject};
use super::settings::ProcessSettings;
use super::{contacts, keys, media, opt_out, replies};
use crate::ports::table::{Condition, Update};
use crate::send_counters;
use crate::worker::HandlerError;
use crate::Services;

use super::{permanent, transient};

pub async fn received(
    services: &Services,
    settings: &ProcessSettings,
    envelope: &Envelope,
) -> Result<(), HandlerError> {
    let message = MessageObject::read(&envelope.object).map_err(permanent)?;
    // The hourly health check's own text: record its arrival, and nothing else (no contact,
    // activity, opt-out or reply).
    if let Some(token) = HealthToken::find_in(&message.text) {
        crate::health::record_receipt(services, &token, services.clock.now())
            .await
            .map_err(transient)?;
        return Ok(());
    }
    let from = message
        .from
        .clone()
        .ok_or_else(|| permanent("message.received without from"))?;
    let (contact_id, phone) = contacts::upsert_by_phone(services, &from).await?;
    // The opt-out first: whatever fails later (the activity, media, reply marks) is retried,
    // but a STOP is never left waiting behind it.
    let last_campaign = replies::last_campaign(services, &contact_id)
        .await
        .map_err(transient)?;
    opt_out::on_inbound(
        services,
        settings,
        opt_out::Inbound {
            contact_id: &contact_id,
            phone: &phone,
            message: &message,
            campaign_id: last_campaign.as_deref(),
        },
    )
    .await?;
    let at = occurred_at(&message, envelope, services);
    let mut fields = base_fields(&message, "incoming", phone.as_str(), at, envelope.source);
    fields.insert(
        "media".into(),
        Value::Array(
            message
                .media
                .iter()
                .enumerate()
                .map(|(n, m)| media::entry(&message.id, &format!("media_{n}"), m))
                .collect(),
        ),
    );
    if let Some(id) = &envelope.id {
        fields.insert("event_id".into(), id.clone().into());
    }
    let key = keys::activity(&contact_id, at, &message.id);
    let activity = activities::create_once(services, &contact_id, &message.id, key, fields)
        .await
        .map_err(transient)?;
    for (n, m) in message.media.iter().enumerate() {
        media::enqueue(services, &message.id, &format!("media_{n}"), m)
            .await
            .map_err(transient)?;
    }
    replies::on_inbound(services, &activity.contact_id, at)
        .await
        .map_err(transient)?;
    Ok(())
}

pub async fn delivered(services: &Services, envelope: &Envelope) -> Result<(), HandlerError> {
    let message = MessageObject::read(&envelope.object).map_err(permanent)?;
    // A delivery report whose status says it did not arrive is a failure, whatever its name.
    if super::failures::is_failure_status(message.status.as_deref()) {
        return super::failures::failed(services, envelope).await;
    }
    let now = services.clock.now();
    let delivered_at = keys::sort_time(now);
    let activity: ActivityRef = match activities::find(services, &message.id)
        .await
        .map_err(transient)?
    {
        Some(a) => a,
        None => {
            // Sent from the OpenPhone app (or by a campaign whose activity is not written yet):
            // record the outbound message now.
            let to = message
                .to
                .first()
                .cloned()
                .ok_or_else(|| permanent("message.delivered without to"))?;
            let (contact_id, phone) = contacts::upsert_by_phone(services, &to).await?;
            let at = occurred_at(&message, envelope, services);
            let fields = base_fields(&message, "outgoing", phone.as_str(), at, envelope.source);
            let key = keys::activity(&contact_id, at, &message.id);
            activities::create_once(services, &contact_id, &message.id, key, fields)
                .await
                .map_err(transient)?
        }
    };
    // The first delivery report wins; a repeated one changes nothing.
    let result = services
        .table
        .update(
            &activity.key,
            Update::new()
                .set("status", "delivered")
                .set("delivered_at", delivered_at.clone()),
            Some(Condition::All(vec![
                Condition::ItemExists,
                Condition::AttrAbsent("delivered_at".into()),
            ])),
        )
        .await;
    match result {
        Ok(_) => {}
        Err(e) if e.is_condition_failure() => {}
        Err(e) => return Err(transient(e)),
    }
    mark_campaign_send_delivered(services, &message.id, &delivered_at).await
}

/// Once campaigns exist, their send carries gsi3 `SENDMSG#<provider message id>`: note the
/// delivery on it (the campaign issue owns the send's state transition itself).
async fn mark_campaign_send_delivered(
    services: &Services,
    provider_message_id: &str,
    at: &str,
) -> Result<(), HandlerError> {
    for key in super::failures::campaign_sends_of(services, provider_message_id).await? {
        // The first report wins; the campaign's delivered counter moves with it.
        send_counters::change_send(services, &key, |send| {
            (!send.contains_key(send_counters::attrs::DELIVERED_AT))
                .then(|| Update::new().set(send_counters::attrs::DELIVERED_AT, at))
        })
        .await
        .map_err(transient)?;
    }
    Ok(())
}

fn occurred_at(message: &MessageObject, envelope: &Envelope, services: &Services) -> DateTime<Utc> {
    message
        .created_at
        .or(envelope.created_at)
        .unwrap_or_else(|| services.clock.now())
}

fn base_fields(
    message: &MessageObject,
    direction: &str,
    phone: &str,
    at: DateTime<Utc>,
    source: &str,
) -> Map<String, Value> {
    let Value::Object(map) = json!({
        "kind": "message",
        "direction": direction,
        "source": source,
        "phone": phone,
        "text": message.text,
        "status": message.status,
        "from": message.from,
        "to": message.to,
        "conversation_id": message.conversation_id,
        "phone_number_id": message.phone_number_id,
        "user_id": message.user_id,
        "occurred_at": keys::sort_time(at),
    }) else {
        unreachable!()
    };
    map
}
