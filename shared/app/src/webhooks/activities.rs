//! Activities on a contact's timeline (messages, calls, missed calls), written once per
//! provider id, and the artefacts that complete them in any order.
//!
//! The ordering rule: an activity is created with its provider guard in one transaction; an
//! artefact is first written to the provider's `PENDING` item and then applied to the activity
//! if the guard exists; a new activity applies the `PENDING` item right after its creation.
//! Whichever runs second sees the other's write, so the record ends the same in any order.

use serde::Serialize;
use serde_json::{Map, Value};

use super::keys;
use crate::ports::table::{Condition, Item, Key, Query, SortKeyCondition, TableError, Update};
use crate::Services;

/// Where an activity lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivityRef {
    pub contact_id: String,
    pub key: Key,
    /// False when the activity existed already (a repeated or reordered delivery).
    pub created: bool,
}

/// The two writes that create the activity for `provider_id` with its guard, for a caller that
/// makes them part of its own transaction (a campaign send marked SENT): both conditional on
/// absence, so a webhook that recorded the message first makes the transaction fail instead of
/// doubling the activity.
pub fn creation_ops(
    contact_id: &str,
    provider_id: &str,
    key: &Key,
    fields: Map<String, Value>,
) -> [crate::ports::table::TxOp; 2] {
    let guard_key = keys::provider_guard(provider_id);
    let mut guard = Item::new();
    guard.insert("pk".into(), guard_key.pk.clone().into());
    guard.insert("sk".into(), guard_key.sk.clone().into());
    guard.insert("contact_id".into(), contact_id.into());
    guard.insert("activity_sk".into(), key.sk.clone().into());
    let mut item = fields;
    item.insert("pk".into(), key.pk.clone().into());
    item.insert("sk".into(), key.sk.clone().into());
    item.insert("contact_id".into(), contact_id.into());
    item.insert("provider_id".into(), provider_id.into());
    crate::records::guarded_ops(guard, item)
}

/// Creates the activity for `provider_id` unless it exists; returns where it lives.
pub async fn create_once(
    services: &Services,
    contact_id: &str,
    provider_id: &str,
    key: Key,
    fields: Map<String, Value>,
) -> Result<ActivityRef, TableError> {
    let written = services
        .table
        .transact(creation_ops(contact_id, provider_id, &key, fields).into())
        .await;
    match written {
        Ok(()) => {
            let created = ActivityRef {
                contact_id: contact_id.to_string(),
                key,
                created: true,
            };
            apply_pending(services, provider_id, &created).await?;
            Ok(created)
        }
        Err(e) if e.is_condition_failure() => match find(services, provider_id).await? {
            // Applied again: the first creation may have stopped before it did.
            Some(existing) => {
                apply_pending(services, provider_id, &existing).await?;
                Ok(existing)
            }
            None => Err(e),
        },
        Err(e) => Err(e),
    }
}

/// The activity a provider id became, if any.
pub async fn find(
    services: &Services,
    provider_id: &str,
) -> Result<Option<ActivityRef>, TableError> {
    let guard = services
        .table
        .get(&keys::provider_guard(provider_id))
        .await?;
    Ok(guard.and_then(|g| {
        let contact_id = g.get("contact_id")?.as_str()?.to_string();
        let sk = g.get("activity_sk")?.as_str()?.to_string();
        Some(ActivityRef {
            key: Key::new(keys::contact_partition(&contact_id), sk),
            contact_id,
            created: false,
        })
    }))
}

/// Sets `attrs` on the activity of `provider_id`, now or whenever it is created.
pub async fn merge_artefact(
    services: &Services,
    provider_id: &str,
    attrs: Vec<(String, Value)>,
) -> Result<(), TableError> {
    let mut update = Update::new();
    for (attr, value) in &attrs {
        update = update.set(attr, value.clone());
    }
    services
        .table
        .update(&keys::provider_pending(provider_id), update.clone(), None)
        .await?;
    if let Some(activity) = find(services, provider_id).await? {
        services
            .table
            .update(&activity.key, update, Some(Condition::ItemExists))
            .await?;
    }
    Ok(())
}

async fn apply_pending(
    services: &Services,
    provider_id: &str,
    activity: &ActivityRef,
) -> Result<(), TableError> {
    let Some(pending) = services
        .table
        .get(&keys::provider_pending(provider_id))
        .await?
    else {
        return Ok(());
    };
    let mut update = Update::new();
    for (attr, value) in pending {
        if attr != "pk" && attr != "sk" {
            update = update.set(&attr, value);
        }
    }
    if update.is_empty() {
        return Ok(());
    }
    services
        .table
        .update(&activity.key, update, Some(Condition::ItemExists))
        .await?;
    Ok(())
}

#[derive(Debug, Clone, Serialize)]
pub struct ActivityPage {
    pub items: Vec<Value>,
    pub next: Option<String>,
}

/// A contact's activities, newest first.
pub async fn list(
    services: &Services,
    contact_id: &str,
    limit: u32,
    cursor: Option<String>,
) -> Result<ActivityPage, TableError> {
    let page = services
        .table
        .query(
            Query::partition(keys::contact_partition(contact_id))
                .sk(SortKeyCondition::BeginsWith(keys::ACTIVITY_PREFIX.into()))
                .backward()
                .limit(limit.clamp(1, 100))
                .after(cursor),
        )
        .await?;
    let items = page
        .items
        .into_iter()
        .map(|mut item| {
            item.remove("pk");
            if let Some(sk) = item.remove("sk") {
                item.insert("activity_key".into(), sk);
            }
            Value::Object(item)
        })
        .collect();
    Ok(ActivityPage {
        items,
        next: page.next,
    })
}
