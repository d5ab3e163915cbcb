//! `message.failed`, and a delivery report whose status says the message did not arrive: the
//! outbound message's activity and its campaign send become failed with the carrier's reason.
//! A number the carrier reports unreachable or not a mobile twice within 180 days is suppressed
//! (never texted by a campaign again) with an audit entry, so a dead number stops costing the
//! sending number's reputation.

use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};
use trickle_domain::campaign::counts::FailureKind;
use trickle_domain::PhoneNumber;

use super::payload::{Envelope, MessageObject};
use super::{activities, keys};
use crate::audience::AudienceError;
use crate::ports::table::{
    Condition, Item, Key, Query, SortKeyCondition, TxOp, Update, EXPIRES_AT,
};
use crate::send_counters;
use crate::worker::HandlerError;
use crate::Services;

use super::{permanent, transient};

/// Carrier reports of "unreachable or not a mobile" that suppress a number.
pub const STRIKES_TO_SUPPRESS: usize = 2;
/// The window those reports are counted in.
pub const STRIKE_WINDOW_DAYS: i64 = 180;

/// Delivery statuses that mean the message did not arrive.
pub fn is_failure_status(status: Option<&str>) -> bool {
    matches!(status, Some("failed" | "undelivered"))
}

/// The carrier's words for why, from whichever field the payload carries them in.
fn reason_of(object: &Value) -> String {
    let text = |name: &str| {
        object.get(name).and_then(|v| match v {
            Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
    };
    let words: Vec<String> = [
        "errorMessage",
        "error",
        "failureReason",
        "statusReason",
        "reason",
    ]
    .iter()
    .filter_map(|f| text(f))
    .chain(text("errorCode").map(|c| format!("code {c}")))
    .collect();
    if words.is_empty() {
        "the carrier did not deliver the message".into()
    } else {
        words.join("; ")
    }
}

/// Whether a carrier reason says the number cannot take texts (unreachable, not a mobile):
/// the words carriers and aggregators use, and their common error codes (30003 unreachable,
/// 30005 unknown destination, 30006 landline or unreachable carrier).
pub fn means_unreachable(reason: &str) -> bool {
    let lower = reason.to_lowercase();
    [
        "unreachable",
        "not a mobile",
        "not mobile",
        "landline",
        "unknown destination",
        "unknown subscriber",
        "invalid destination",
        "not in service",
        "30003",
        "30005",
        "30006",
    ]
    .iter()
    .any(|w| lower.contains(w))
}

pub async fn failed(services: &Services, envelope: &Envelope) -> Result<(), HandlerError> {
    let message = MessageObject::read(&envelope.object).map_err(permanent)?;
    let reason = reason_of(&envelope.object);
    let at = message
        .created_at
        .or(envelope.created_at)
        .unwrap_or_else(|| services.clock.now());
    let now = keys::sort_time(services.clock.now());
    if let Some(activity) = activities::find(services, &message.id)
        .await
        .map_err(transient)?
    {
        let marked = services
            .table
            .update(
                &activity.key,
                Update::new()
                    .set("status", "failed")
                    .set("failure_reason", reason.clone())
                    .set("failed_at", now.clone()),
                Some(Condition::ItemExists),
            )
            .await;
        ignore_condition(marked)?;
    }
    fail_campaign_sends(services, &message.id, &reason, &now).await?;
    if means_unreachable(&reason) {
        if let Some(phone) = message.to.first().and_then(|t| PhoneNumber::parse(t).ok()) {
            strike(services, &phone, &message.id, &reason, at).await?;
        }
    }
    Ok(())
}

/// The campaign send of this provider message (gsi3 `SENDMSG#<id>`): SENT or DELIVERED →
/// FAILED with the reason; a send in any other state is left alone.
async fn fail_campaign_sends(
    services: &Services,
    provider_message_id: &str,
    reason: &str,
    now: &str,
) -> Result<(), HandlerError> {
    for key in campaign_sends_of(services, provider_message_id).await? {
        send_counters::change_send(services, &key, |send| {
            let state = send
                .get(send_counters::attrs::STATE)
                .and_then(Value::as_str);
            matches!(state, Some("SENT" | "DELIVERED")).then(|| {
                Update::new()
                    .set(send_counters::attrs::STATE, "FAILED")
                    .set(send_counters::attrs::FAILURE, FailureKind::Carrier.as_str())
                    .set("error", format!("the carrier did not deliver it: {reason}"))
                    .set("failed_at", now)
                    .set("updated_at", now)
            })
        })
        .await
        .map_err(transient)?;
    }
    Ok(())
}

/// The campaign sends a provider message id belongs to (gsi3 `SENDMSG#<id>`; one, in practice).
pub(super) async fn campaign_sends_of(
    services: &Services,
    provider_message_id: &str,
) -> Result<Vec<crate::ports::table::Key>, HandlerError> {
    let page = services
        .table
        .query(
            Query::on_index(
                crate::ports::table::Index::Gsi3,
                keys::send_by_message(provider_message_id),
            )
            .limit(10),
        )
        .await
        .map_err(transient)?;
    Ok(page
        .items
        .iter()
        .filter_map(crate::ports::table::Key::of)
        .collect())
}

/// One carrier report against the number, once per message; the second within the window
/// suppresses it.
async fn strike(
    services: &Services,
    phone: &PhoneNumber,
    message_id: &str,
    reason: &str,
    at: DateTime<Utc>,
) -> Result<(), HandlerError> {
    let e164 = phone.as_str();
    let pk = format!("CARRIERFAIL#{e164}");
    let mut item = Item::new();
    item.insert("pk".into(), pk.clone().into());
    item.insert(
        "sk".into(),
        format!("{}#{message_id}", keys::sort_time(at)).into(),
    );
    item.insert("reason".into(), reason.into());
    item.insert("message_id".into(), message_id.into());
    // The TTL runs on the real time: kept at least the window past the report or past now.
    let kept_from = at.max(Utc::now());
    item.insert(
        EXPIRES_AT.into(),
        (kept_from + Duration::days(STRIKE_WINDOW_DAYS + 1))
            .timestamp()
            .into(),
    );
    let put = services.table.put(item, Some(Condition::ItemAbsent)).await;
    ignore_condition(put)?;
    // Reports arrive in any order: count those within the window on either side of this one,
    // and none from before an operator last lifted the number's suppression.
    let lifted = services
        .table
        .get(&lift_key(e164))
        .await
        .map_err(transient)?
        .and_then(|marker| marker.get("lifted_at").cloned())
        .and_then(|at| serde_json::from_value::<DateTime<Utc>>(at).ok());
    let window_start = at - Duration::days(STRIKE_WINDOW_DAYS);
    let since = keys::sort_time(lifted.map_or(window_start, |l| l.max(window_start)));
    let until = format!(
        "{}#~",
        keys::sort_time(at + Duration::days(STRIKE_WINDOW_DAYS))
    );
    let strikes = services
        .table
        .query(
            Query::partition(pk)
                .sk(SortKeyCondition::Between(since, until))
                .limit(20),
        )
        .await
        .map_err(transient)?
        .items;
    if strikes.len() < STRIKES_TO_SUPPRESS {
        return Ok(());
    }
    let why = format!(
        "the carrier reported the number unreachable or not a mobile {} times within {STRIKE_WINDOW_DAYS} days",
        strikes.len()
    );
    let key = crate::campaigns::keys::suppression(e164);
    let mut suppression = Item::new();
    suppression.insert("pk".into(), key.pk.clone().into());
    suppression.insert("sk".into(), key.sk.clone().into());
    suppression.insert("phone".into(), e164.into());
    suppression.insert("source".into(), "carrier".into());
    suppression.insert("reason".into(), why.clone().into());
    suppression.insert("added_at".into(), json!(services.clock.now()));
    let mut audit = Item::new();
    audit.insert("pk".into(), key.pk.into());
    audit.insert(
        "sk".into(),
        format!(
            "AUDIT#{}#{message_id}",
            keys::sort_time(services.clock.now())
        )
        .into(),
    );
    audit.insert("action".into(), "suppressed".into());
    audit.insert("actor".into(), "carrier".into());
    audit.insert("phone".into(), e164.into());
    audit.insert("reason".into(), why.into());
    audit.insert(
        "reports".into(),
        Value::Array(
            strikes
                .iter()
                .map(|s| json!({"message_id": s.get("message_id"), "reason": s.get("reason")}))
                .collect(),
        ),
    );
    // Suppressed once: a later report (or a redelivery) changes nothing.
    let written = services
        .table
        .transact(crate::records::guarded_ops(suppression, audit).into())
        .await;
    match written {
        Ok(()) => {
            tracing::warn!(phone = %trickle_domain::log_privacy::last_four(e164), "number suppressed after carrier failures");
            Ok(())
        }
        Err(e) if e.is_condition_failure() => Ok(()),
        Err(e) => Err(transient(e)),
    }
}

fn ignore_condition<T>(
    result: Result<T, crate::ports::table::TableError>,
) -> Result<(), HandlerError> {
    match result {
        Ok(_) => Ok(()),
        Err(e) if e.is_condition_failure() => Ok(()),
        Err(e) => Err(transient(e)),
    }
}

/// `CARRIERFAIL#<e164>` / `LIFTED`: when an operator last lifted the number's carrier
/// suppression. Its sort key sorts after every report's, so it is never counted as one.
fn lift_key(e164: &str) -> Key {
    Key::new(format!("CARRIERFAIL#{e164}"), "LIFTED")
}

/// Lifts a suppression the carrier's reports caused: an operator's decision (the number was
/// ported to a mobile, the carrier fixed a fault), written to the number's audit. Only reports
/// after the lift count towards a new suppression, so a late or repeated old report cannot
/// bring it back. A number on an imported suppression list stays suppressed.
pub async fn lift_carrier_suppression(
    services: &Services,
    phone: &PhoneNumber,
) -> Result<Value, AudienceError> {
    let e164 = phone.as_str();
    let key = crate::campaigns::keys::suppression(e164);
    let Some(current) = services.table.get(&key).await? else {
        return Err(AudienceError::NotFound(format!("a suppression of {e164}")));
    };
    if current.get("source").and_then(Value::as_str) != Some("carrier") {
        return Err(AudienceError::Conflict(format!(
            "{e164} is on an imported suppression list, not suppressed by the carrier; it stays \
             suppressed while that list holds it"
        )));
    }
    let now = services.clock.now();
    let mut audit = Item::new();
    audit.insert("pk".into(), key.pk.clone().into());
    audit.insert(
        "sk".into(),
        format!("AUDIT#{}#lifted", keys::sort_time(now)).into(),
    );
    audit.insert("action".into(), "lifted".into());
    audit.insert("actor".into(), "operator".into());
    audit.insert("phone".into(), e164.into());
    audit.insert(
        "reason".into(),
        current.get("reason").cloned().unwrap_or_default(),
    );
    let mut marker = Item::new();
    let marker_key = lift_key(e164);
    marker.insert("pk".into(), marker_key.pk.into());
    marker.insert("sk".into(), marker_key.sk.into());
    marker.insert("lifted_at".into(), json!(now));
    let lifted = services
        .table
        .transact(vec![
            TxOp::Delete {
                key: key.clone(),
                condition: Some(Condition::equals("source", "carrier")),
            },
            TxOp::Put {
                item: audit,
                condition: Some(Condition::ItemAbsent),
            },
            TxOp::Put {
                item: marker,
                condition: None,
            },
        ])
        .await;
    match lifted {
        Ok(()) => {}
        // Lifted a moment ago by another request: the same outcome.
        Err(e) if e.is_condition_failure() => {}
        Err(e) => return Err(e.into()),
    }
    tracing::info!(phone = %trickle_domain::log_privacy::last_four(e164), "carrier suppression lifted");
    Ok(json!({"phone": e164, "suppressed": false, "lifted_at": now}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn carrier_reasons_that_mean_the_number_cannot_take_texts() {
        for reason in [
            "Unreachable destination handset",
            "code 30003",
            "The number is a landline",
            "Message failed: not a mobile number",
            "unknown subscriber",
        ] {
            assert!(means_unreachable(reason), "{reason}");
        }
        for reason in [
            "the carrier did not deliver the message",
            "spam filter (30007)",
            "rate limited",
        ] {
            assert!(!means_unreachable(reason), "{reason}");
        }
        assert_eq!(
            reason_of(&json!({"errorMessage": "Unreachable", "errorCode": 30003})),
            "Unreachable; code 30003"
        );
        assert_eq!(
            reason_of(&json!({})),
            "the carrier did not deliver the message"
        );
    }
}
