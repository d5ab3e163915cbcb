//! The opt-out pipeline (US SMS rules, CTIA and TCPA): STOP and friends opt a number out of every
//! campaign at once, START/UNSTOP (and YES, for someone opted out) opt it back in, HELP/INFO get
//! the help reply. Each change is one transaction: the state, its audit record and the claim of
//! the one reply owed, keyed by the inbound message id. The reply is then sent at most once
//! however often the webhook is delivered or the contact repeats STOP.
//!
//! Why one file: every opt-out, opt-in and help change is one transaction built the same way;
//! keeping them together is what lets a reader check that each owes at most one reply.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use trickle_domain::log_privacy::{last_four, redact_phones};
use trickle_domain::opt_out_keyword::{classify, Intent};
use trickle_domain::PhoneNumber;

use super::keys;
use super::payload::MessageObject;
use super::settings::ProcessSettings;
use crate::contacts;
use crate::ports::table::{
    Condition, Index, Item, Query, SortKeyCondition, TableError, TxOp, Update,
};
use crate::ports::{Direction, MessageQuery, OutboundSms, SmsError};
use crate::worker::HandlerError;
use crate::Services;

use super::{permanent, transient};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OptOutStatus {
    OptedOut,
    Subscribed,
}

impl OptOutStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OptOutStatus::OptedOut => "opted_out",
            OptOutStatus::Subscribed => "subscribed",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplyKind {
    OptOutConfirmation,
    OptInConfirmation,
    Help,
}

/// An inbound message, as the opt-out pipeline needs it.
pub struct Inbound<'a> {
    pub contact_id: &'a str,
    pub phone: &'a PhoneNumber,
    pub message: &'a MessageObject,
    /// The campaign that reached the contact last, if any.
    pub campaign_id: Option<&'a str>,
}

/// What one state change records.
struct Change<'a> {
    phone: &'a PhoneNumber,
    contact_id: Option<&'a str>,
    to: OptOutStatus,
    actor: &'a str,
    text: Option<&'a str>,
    provider_message_id: Option<&'a str>,
    campaign_id: Option<&'a str>,
    reason: Option<&'a str>,
    /// Makes the audit key unique and the change idempotent: the inbound message id, or a
    /// fresh id for an operator's action.
    discriminator: &'a str,
    /// The reply owed: its kind, the number it goes from and the business it names.
    reply: Option<(ReplyKind, String, String)>,
    /// When the person said it (the provider's time of their message); `None` for an
    /// operator's action, which counts as said now. The latest word wins, whatever the order
    /// the messages arrive in.
    said_at: Option<DateTime<Utc>>,
}

/// The audit reason of a reply that reads like a refusal without naming one.
pub const POSSIBLE_OPT_OUT: &str =
    "possible opt-out: the reply reads like a refusal; re-subscribe with a reason if it was not one";

pub async fn on_inbound(
    services: &Services,
    settings: &ProcessSettings,
    inbound: Inbound<'_>,
) -> Result<(), HandlerError> {
    let message = inbound.message;
    // Prefer false positives: the contains-STOP rule applies to every North American number.
    let intent = classify(&message.text, inbound.phone.is_nanp());
    let reply_from = message
        .phone_number_id
        .clone()
        .or_else(|| message.to.first().cloned());
    if matches!(intent, Intent::None) {
        return Ok(()); // most replies: nothing owed, so no campaign read either
    }
    let business = replying_business(services, settings, inbound.campaign_id).await?;
    let change = |to, kind| Change {
        phone: inbound.phone,
        contact_id: Some(inbound.contact_id),
        to,
        actor: "contact",
        text: Some(&message.text),
        provider_message_id: Some(&message.id),
        campaign_id: inbound.campaign_id,
        reason: None,
        discriminator: &message.id,
        reply: reply_from
            .clone()
            .map(|from| (kind, from, business.clone())),
        said_at: message.created_at,
    };
    match intent {
        Intent::OptOut => {
            apply(
                services,
                change(OptOutStatus::OptedOut, ReplyKind::OptOutConfirmation),
            )
            .await
            .map_err(transient)?;
        }
        Intent::PossibleOptOut => {
            // Held like an opt-out (never a missed one); the audit says why, so a person can
            // re-subscribe the number with a reason if it was not a refusal.
            apply(
                services,
                Change {
                    reason: Some(POSSIBLE_OPT_OUT),
                    ..change(OptOutStatus::OptedOut, ReplyKind::OptOutConfirmation)
                },
            )
            .await
            .map_err(transient)?;
        }
        Intent::OptIn { .. } => {
            // START, UNSTOP and YES only mean something to a number that is opted out.
            apply(
                services,
                change(OptOutStatus::Subscribed, ReplyKind::OptInConfirmation),
            )
            .await
            .map_err(transient)?;
        }
        Intent::Help => {
            if let Some(from) = &reply_from {
                let reply = (ReplyKind::Help, from.clone(), business.clone());
                claim_reply(services, inbound.phone, &message.id, &reply)
                    .await
                    .map_err(transient)?;
            }
        }
        Intent::None => return Ok(()), // answered before the campaign read
    }
    send_reply(services, settings, inbound.phone, &message.id).await
}

/// The business an automatic reply names: the one of the campaign that reached the contact last
/// (the person answers the business that texted them), else the deployment's default.
async fn replying_business(
    services: &Services,
    settings: &ProcessSettings,
    campaign_id: Option<&str>,
) -> Result<String, HandlerError> {
    let Some(id) = campaign_id else {
        return Ok(settings.business_name.clone());
    };
    match crate::campaigns::store::load(services, id).await {
        Ok(stored) => Ok(stored
            .campaign
            .settings
            .business_name
            .filter(|b| !b.trim().is_empty())
            .unwrap_or_else(|| settings.business_name.clone())),
        // Deleted since it texted them: the default still identifies the sender.
        Err(crate::campaigns::CampaignsError::NotFound) => Ok(settings.business_name.clone()),
        Err(e) => Err(transient(e)),
    }
}

/// True when the number is opted out (campaigns check this before every send).
pub async fn is_opted_out(services: &Services, phone: &PhoneNumber) -> Result<bool, TableError> {
    let state = services
        .table
        .get(&keys::opt_out_state(phone.as_str()))
        .await?;
    Ok(
        state.and_then(|s| s.get("status").and_then(Value::as_str).map(str::to_string))
            == Some(OptOutStatus::OptedOut.as_str().to_string()),
    )
}

/// Applies a change if it changes the state. Returns false when it did not (already there).
async fn apply(services: &Services, change: Change<'_>) -> Result<bool, TableError> {
    let now = services.clock.now();
    let e164 = change.phone.as_str();
    let state_key = keys::opt_out_state(e164);
    let mut state = Item::new();
    state.insert("pk".into(), state_key.pk.clone().into());
    state.insert("sk".into(), state_key.sk.clone().into());
    state.insert("phone".into(), e164.into());
    state.insert("status".into(), change.to.as_str().into());
    state.insert("updated_at".into(), keys::sort_time(now).into());
    state.insert("contact_id".into(), json!(change.contact_id));
    state.insert("last_message_id".into(), json!(change.provider_message_id));
    let said_at = keys::sort_time(change.said_at.unwrap_or(now));
    state.insert("said_at".into(), said_at.clone().into());
    state.insert(Index::Gsi1.pk_attr().into(), keys::OPT_OUTS.into());
    state.insert(
        Index::Gsi1.sk_attr().into(),
        format!("{}#{e164}", keys::sort_time(now)).into(),
    );
    let state_condition = match change.to {
        OptOutStatus::OptedOut => Condition::Any(vec![
            Condition::ItemAbsent,
            Condition::NotEquals("status".into(), OptOutStatus::OptedOut.as_str().into()),
        ]),
        OptOutStatus::Subscribed => Condition::equals("status", OptOutStatus::OptedOut.as_str()),
    };
    // Only a later word than the one the state holds may change it.
    let state_condition = Condition::All(vec![
        state_condition,
        Condition::Any(vec![
            Condition::ItemAbsent,
            Condition::AttrAbsent("said_at".into()),
            Condition::less_than("said_at", said_at.clone()),
        ]),
    ]);
    let audit_key = keys::opt_out_audit(e164, now, change.discriminator);
    let Value::Object(mut audit) = json!({
        "action": match change.to { OptOutStatus::OptedOut => "opt_out", OptOutStatus::Subscribed => "opt_in" },
        "actor": change.actor,
        "phone": e164,
        "contact_id": change.contact_id,
        "text": change.text,
        "provider_message_id": change.provider_message_id,
        "campaign_id": change.campaign_id,
        "reason": change.reason,
        "at": keys::sort_time(now),
    }) else {
        unreachable!()
    };
    audit.insert("pk".into(), audit_key.pk.into());
    audit.insert("sk".into(), audit_key.sk.into());
    audit.insert("said_at".into(), said_at.clone().into());
    let mut ops = vec![
        TxOp::Put {
            item: state,
            condition: Some(state_condition),
        },
        TxOp::Put {
            item: audit.clone(),
            condition: Some(Condition::ItemAbsent),
        },
    ];
    if let Some(reply) = &change.reply {
        ops.push(TxOp::Put {
            item: reply_item(e164, change.discriminator, reply, now),
            condition: Some(Condition::ItemAbsent),
        });
    }
    let mut written = services.table.transact(ops.clone()).await;
    if let Err(TableError::TransactionCancelled { failed }) = &written {
        // Only the reply was claimed before (this message was processed once and the state
        // lost since): the change still applies, without a second reply.
        if !failed.is_empty() && failed.iter().all(|&i| i == 2) {
            ops.truncate(2);
            written = services.table.transact(ops).await;
        }
    }
    match written {
        Ok(()) => {}
        Err(e) if e.is_condition_failure() => {
            // Already in that state: a later word in the same direction still moves `said_at`,
            // so an older word of the other direction cannot undo it.
            let moved = services
                .table
                .update(
                    &state_key,
                    Update::new()
                        .set("said_at", said_at.clone())
                        .set("last_message_id", json!(change.provider_message_id)),
                    Some(Condition::All(vec![
                        Condition::equals("status", change.to.as_str()),
                        Condition::Any(vec![
                            Condition::AttrAbsent("said_at".into()),
                            Condition::less_than("said_at", said_at.clone()),
                        ]),
                    ])),
                )
                .await;
            match moved {
                Ok(_) => {}
                Err(e) if e.is_condition_failure() => {
                    record_if_older(services, &state_key, audit, &said_at).await?;
                }
                Err(e) => return Err(e),
            }
            // A retry after a crash between the change and the marks finishes them.
            mark_campaign_sends(services, &change, now).await?;
            return Ok(false);
        }
        Err(e) => return Err(e),
    }
    // The contact carries the flag too, for views; the state item is what sends check.
    let contact_id = match change.contact_id {
        Some(id) => Some(id.to_string()),
        None => contacts::find_by_phone(services, change.phone)
            .await
            .ok()
            .flatten()
            .map(|c| c.id.as_str().to_string()),
    };
    if let Some(id) = contact_id {
        let flagged = services
            .table
            .update(
                &crate::records::contact(&id),
                Update::new().set("opted_out", change.to == OptOutStatus::OptedOut),
                Some(Condition::ItemExists),
            )
            .await;
        if let Err(e) = flagged {
            if !e.is_condition_failure() {
                return Err(e);
            }
        }
    }
    mark_campaign_sends(services, &change, now).await?;
    Ok(true)
}

/// An opt-out counts against every campaign that texted the contact before it.
async fn mark_campaign_sends(
    services: &Services,
    change: &Change<'_>,
    now: DateTime<Utc>,
) -> Result<(), TableError> {
    if change.to != OptOutStatus::OptedOut {
        return Ok(());
    }
    let contact_id = match change.contact_id {
        Some(id) => id.to_string(),
        None => match contacts::find_by_phone(services, change.phone)
            .await
            .ok()
            .flatten()
        {
            Some(contact) => contact.id.as_str().to_string(),
            None => return Ok(()),
        },
    };
    super::replies::on_opt_out(services, &contact_id, change.said_at.unwrap_or(now)).await
}

/// A change refused because the state holds a later word: written to the audit as `ignored`
/// (once per message), so the history shows it arrived and why it changed nothing.
async fn record_if_older(
    services: &Services,
    state_key: &crate::ports::table::Key,
    mut audit: Item,
    said_at: &str,
) -> Result<(), TableError> {
    let Some(state) = services.table.get(state_key).await? else {
        return Ok(());
    };
    let held = state.get("said_at").and_then(Value::as_str).unwrap_or("");
    let same_message = audit
        .get("provider_message_id")
        .is_some_and(|id| !id.is_null())
        && state.get("last_message_id") == audit.get("provider_message_id");
    if held.is_empty() || held < said_at || same_message {
        return Ok(()); // refused for another reason: already in that state, or a redelivery
    }
    let action = audit
        .get("action")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    audit.insert("action".into(), "ignored".into());
    audit.insert(
        "reason".into(),
        format!("an older message ({action}) than the one the state holds (said {held}); it changes nothing").into(),
    );
    match services.table.put(audit, Some(Condition::ItemAbsent)).await {
        Ok(()) => Ok(()),
        Err(e) if e.is_condition_failure() => Ok(()),
        Err(e) => Err(e),
    }
}

/// The claim of a reply; it keeps the business named, so a retry sends the very same text (and
/// the lookup of an unknown outcome finds it).
fn reply_item(
    e164: &str,
    message_id: &str,
    (kind, from, business): &(ReplyKind, String, String),
    now: DateTime<Utc>,
) -> Item {
    let key = keys::auto_reply(e164, message_id);
    let Value::Object(mut item) = json!({
        "kind": kind,
        "status": "pending",
        "to": e164,
        "from": from,
        "business": business,
        "created_at": keys::sort_time(now),
    }) else {
        unreachable!()
    };
    item.insert("pk".into(), key.pk.into());
    item.insert("sk".into(), key.sk.into());
    item
}

async fn claim_reply(
    services: &Services,
    phone: &PhoneNumber,
    message_id: &str,
    reply: &(ReplyKind, String, String),
) -> Result<(), TableError> {
    let item = reply_item(phone.as_str(), message_id, reply, services.clock.now());
    match services.table.put(item, Some(Condition::ItemAbsent)).await {
        Err(e) if !e.is_condition_failure() => Err(e),
        _ => Ok(()),
    }
}

/// Compliance replies take a slot of the sends' share.
async fn provider_slot(
    services: &Services,
    settings: &ProcessSettings,
) -> Result<(), HandlerError> {
    super::provider_slot(
        services,
        settings.budget.as_ref(),
        crate::rate::RateShare::SENDS,
    )
    .await
}

/// Sends the reply owed for this inbound message, if one is owed and not yet sent.
/// `pending` → `sending` is claimed with a conditional write; a send whose outcome is unknown is
/// left `unknown` for an operator rather than risk a second message.
async fn send_reply(
    services: &Services,
    settings: &ProcessSettings,
    phone: &PhoneNumber,
    message_id: &str,
) -> Result<(), HandlerError> {
    let key = keys::auto_reply(phone.as_str(), message_id);
    let Some(reply) = services.table.get(&key).await.map_err(transient)? else {
        return Ok(()); // nothing owed: a repeated STOP, or START from someone subscribed
    };
    let kind: ReplyKind = serde_json::from_value(reply.get("kind").cloned().unwrap_or(Value::Null))
        .map_err(|e| permanent(format!("unreadable reply kind: {e}")))?;
    let from = reply
        .get("from")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    // Claims made before replies kept their business name the default.
    let business = reply
        .get("business")
        .and_then(Value::as_str)
        .unwrap_or(&settings.business_name)
        .to_string();
    let content = reply_text(kind, &business);
    match reply.get("status").and_then(Value::as_str) {
        Some("pending") => {}
        Some("unknown") => {
            provider_slot(services, settings).await?;
            if !resolve_unknown(services, &key, &reply, phone, &from, &content).await? {
                return Ok(()); // the provider has it: sent once, done
            }
        }
        _ => return Ok(()),
    }
    // The slot before the claim: waiting for it must not hold the reply in `sending`.
    provider_slot(services, settings).await?;
    let claimed = services
        .table
        .update(
            &key,
            Update::new().set("status", "sending"),
            Some(Condition::equals("status", "pending")),
        )
        .await;
    match claimed {
        Ok(_) => {}
        Err(e) if e.is_condition_failure() => return Ok(()),
        Err(e) => return Err(transient(e)),
    }
    let sent = services
        .sms
        .send(&OutboundSms {
            from,
            to: phone.clone(),
            content,
        })
        .await;
    let (status, extra, outcome) = match sent {
        Ok(message) => ("sent", json!(message.id), Ok(())),
        // Not sent: give the claim back and retry later.
        Err(e @ (SmsError::RateLimited | SmsError::Unavailable(_))) => {
            ("pending", Value::Null, Err(transient(e)))
        }
        Err(e @ SmsError::Rejected { .. }) => ("rejected", json!(e.to_string()), Err(permanent(e))),
        // Maybe sent: never resend blindly. The retry looks the message up first.
        Err(e @ SmsError::Ambiguous(_)) => {
            tracing::warn!(error = %redact_phones(&e.to_string()), phone = %last_four(phone.as_str()), "auto reply outcome unknown; will look it up");
            ("unknown", json!(e.to_string()), Err(transient(e)))
        }
    };
    services
        .table
        .update(
            &key,
            Update::new()
                .set("status", status)
                .set("result", extra)
                .set("updated_at", keys::sort_time(services.clock.now())),
            Some(Condition::ItemExists),
        )
        .await
        .map_err(transient)?;
    outcome
}

/// A reply whose send had an unknown outcome: asks the provider for the thread since the claim.
/// Found → recorded as sent, nothing more to do (false). Missing → handed back as `pending`
/// so the caller sends it (true).
async fn resolve_unknown(
    services: &Services,
    key: &crate::ports::table::Key,
    reply: &Item,
    phone: &PhoneNumber,
    from: &str,
    content: &str,
) -> Result<bool, HandlerError> {
    let since = reply
        .get("created_at")
        .and_then(Value::as_str)
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc) - chrono::Duration::minutes(1));
    let thread = services
        .sms
        .list_messages(&MessageQuery {
            phone_number_id: from.to_string(),
            participant: phone.clone(),
            created_after: since,
            created_before: None,
        })
        .await
        .map_err(transient)?;
    let found = thread
        .iter()
        .find(|m| m.direction == Direction::Outgoing && m.text == content);
    let (status, result) = match found {
        Some(message) => ("sent", json!(message.id)),
        None => ("pending", Value::Null),
    };
    let updated = services
        .table
        .update(
            key,
            Update::new().set("status", status).set("result", result),
            Some(Condition::equals("status", "unknown")),
        )
        .await;
    match updated {
        Ok(_) => Ok(found.is_none()),
        Err(e) if e.is_condition_failure() => Ok(false),
        Err(e) => Err(transient(e)),
    }
}

pub fn reply_text(kind: ReplyKind, business: &str) -> String {
    match kind {
        ReplyKind::OptOutConfirmation => format!(
            "{business}: you are unsubscribed and will receive no more messages. Reply START to resubscribe."
        ),
        ReplyKind::OptInConfirmation => {
            format!("{business}: you are subscribed again. Reply STOP to opt out.")
        }
        ReplyKind::Help => format!(
            "{business}: reply to this message to reach us. Reply STOP to opt out."
        ),
    }
}

// ---- the operator's side ----

#[derive(Debug, thiserror::Error)]
pub enum OptOutError {
    #[error("{0}")]
    Invalid(String),
    #[error("{0} is already opted out")]
    AlreadyOptedOut(String),
    #[error("{0} is not opted out")]
    NotOptedOut(String),
    #[error(transparent)]
    Store(#[from] TableError),
}

/// An operator opts a number out (no confirmation is texted; the audit names the operator).
pub async fn manual_opt_out(
    services: &Services,
    phone: &PhoneNumber,
    reason: Option<&str>,
) -> Result<Value, OptOutError> {
    let discriminator = format!("manual-{}", services.clock.now().timestamp_millis());
    let changed = apply(
        services,
        Change {
            phone,
            contact_id: None,
            to: OptOutStatus::OptedOut,
            actor: "operator",
            text: None,
            provider_message_id: None,
            campaign_id: None,
            reason,
            discriminator: &discriminator,
            reply: None,
            said_at: None,
        },
    )
    .await?;
    if !changed {
        return Err(OptOutError::AlreadyOptedOut(phone.to_string()));
    }
    state_with_audit(services, phone).await
}

/// An operator re-subscribes a number; a reason is required for the audit.
pub async fn manual_resubscribe(
    services: &Services,
    phone: &PhoneNumber,
    reason: &str,
) -> Result<Value, OptOutError> {
    if reason.trim().is_empty() {
        return Err(OptOutError::Invalid(
            "a reason is required to re-subscribe a number".into(),
        ));
    }
    let discriminator = format!("manual-{}", services.clock.now().timestamp_millis());
    let changed = apply(
        services,
        Change {
            phone,
            contact_id: None,
            to: OptOutStatus::Subscribed,
            actor: "operator",
            text: None,
            provider_message_id: None,
            campaign_id: None,
            reason: Some(reason.trim()),
            discriminator: &discriminator,
            reply: None,
            said_at: None,
        },
    )
    .await?;
    if !changed {
        return Err(OptOutError::NotOptedOut(phone.to_string()));
    }
    state_with_audit(services, phone).await
}

/// Opt-out states, most recently changed first, each with its audit trail (oldest first).
pub async fn list(
    services: &Services,
    limit: u32,
    cursor: Option<String>,
) -> Result<(Vec<Value>, Option<String>), OptOutError> {
    let page = services
        .table
        .query(
            Query::on_index(Index::Gsi1, keys::OPT_OUTS)
                .backward()
                .limit(limit.clamp(1, 100))
                .after(cursor),
        )
        .await?;
    let mut items = Vec::new();
    for state in page.items {
        let Some(phone) = state.get("phone").and_then(Value::as_str) else {
            continue;
        };
        let phone = phone.to_string();
        items.push(with_audit(services, &phone, state).await?);
    }
    Ok((items, page.next))
}

/// One number's opt-out state with its audit trail (oldest first); `{}` plus an empty audit
/// when the number never opted out.
pub async fn state_of(services: &Services, phone: &PhoneNumber) -> Result<Value, OptOutError> {
    state_with_audit(services, phone).await
}

async fn state_with_audit(services: &Services, phone: &PhoneNumber) -> Result<Value, OptOutError> {
    let state = services
        .table
        .get(&keys::opt_out_state(phone.as_str()))
        .await?
        .unwrap_or_default();
    with_audit(services, phone.as_str(), state).await
}

async fn with_audit(
    services: &Services,
    e164: &str,
    mut state: Item,
) -> Result<Value, OptOutError> {
    let audit = services
        .table
        .query(
            Query::partition(keys::opt_out_partition(e164))
                .sk(SortKeyCondition::BeginsWith("AUDIT#".into()))
                .limit(100),
        )
        .await?;
    strip(&mut state);
    state.insert(
        "audit".into(),
        Value::Array(
            audit
                .items
                .into_iter()
                .map(|mut a| {
                    strip(&mut a);
                    Value::Object(a)
                })
                .collect(),
        ),
    );
    Ok(Value::Object(state))
}

fn strip(item: &mut Item) {
    for attr in ["pk", "sk"] {
        item.remove(attr);
    }
    for index in Index::ALL {
        item.remove(index.pk_attr());
        item.remove(index.sk_attr());
    }
}
