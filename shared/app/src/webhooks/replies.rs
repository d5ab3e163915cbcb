//! Reply detection: an inbound message marks the contact's campaign sends as replied.
//!
//! A campaign send lives under `CAMPAIGN#<id>`/`SEND#<contact>`; to find the sends of a contact
//! without a scan, the send path writes a reverse reference `CONTACT#<contact>`/
//! `CAMPAIGNREF#<campaign>` with [`record_campaign_contact`]. (The campaign issue calls it when a
//! send is made; until then no references exist and this hook finds nothing.)

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::keys;
use crate::ports::table::{Item, Query, SortKeyCondition, TableError, Update};
use crate::send_counters;
use crate::Services;

/// Notes that `campaign_id` messaged `contact_id` at `at` (the campaign send path calls this).
pub async fn record_campaign_contact(
    services: &Services,
    contact_id: &str,
    campaign_id: &str,
    at: DateTime<Utc>,
) -> Result<(), TableError> {
    let key = keys::campaign_ref(contact_id, campaign_id);
    let mut item = Item::new();
    item.insert("pk".into(), key.pk.into());
    item.insert("sk".into(), key.sk.into());
    item.insert("campaign_id".into(), campaign_id.into());
    item.insert("contact_id".into(), contact_id.into());
    item.insert("sent_at".into(), keys::sort_time(at).into());
    services.table.put(item, None).await
}

/// The campaigns that reached the contact, with when: `(campaign id, sent at)`.
async fn campaign_refs(
    services: &Services,
    contact_id: &str,
) -> Result<Vec<(String, String)>, TableError> {
    let mut refs = Vec::new();
    let mut cursor = None;
    loop {
        let page = services
            .table
            .query(
                Query::partition(keys::contact_partition(contact_id))
                    .sk(SortKeyCondition::BeginsWith(
                        keys::CAMPAIGN_REF_PREFIX.into(),
                    ))
                    .after(cursor),
            )
            .await?;
        for item in &page.items {
            if let Some(campaign_id) = item.get("campaign_id").and_then(Value::as_str) {
                let sent_at = item.get("sent_at").and_then(Value::as_str).unwrap_or("");
                refs.push((campaign_id.to_string(), sent_at.to_string()));
            }
        }
        match page.next {
            Some(next) => cursor = Some(next),
            None => return Ok(refs),
        }
    }
}

/// The campaign that reached the contact last (for the opt-out audit), read only.
pub async fn last_campaign(
    services: &Services,
    contact_id: &str,
) -> Result<Option<String>, TableError> {
    Ok(campaign_refs(services, contact_id)
        .await?
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1))
        .map(|(id, _)| id))
}

/// Marks every campaign send of the contact replied (first reply wins), if the reply came after
/// it; the campaign's reply counters move in the same write.
pub async fn on_inbound(
    services: &Services,
    contact_id: &str,
    at: DateTime<Utc>,
) -> Result<(), TableError> {
    mark_sends(services, contact_id, send_counters::attrs::REPLIED_AT, at).await
}

/// Marks every campaign send of the contact as followed by an opt-out (the first one counts).
pub async fn on_opt_out(
    services: &Services,
    contact_id: &str,
    at: DateTime<Utc>,
) -> Result<(), TableError> {
    mark_sends(services, contact_id, send_counters::attrs::OPTED_OUT_AT, at).await
}

/// Sets `attr` to `at` on each of the contact's campaign sends that went out before `at` and
/// has no `attr` yet.
async fn mark_sends(
    services: &Services,
    contact_id: &str,
    attr: &str,
    at: DateTime<Utc>,
) -> Result<(), TableError> {
    let stamp = keys::sort_time(at);
    for (campaign_id, _) in campaign_refs(services, contact_id).await? {
        let key = keys::campaign_send(&campaign_id, contact_id);
        send_counters::change_send(services, &key, |send| {
            let sent_before = send
                .get(send_counters::attrs::SENT_AT)
                .and_then(Value::as_str)
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                .is_none_or(|sent| sent <= at);
            (sent_before && !send.contains_key(attr))
                .then(|| Update::new().set(attr, stamp.clone()))
        })
        .await?;
    }
    Ok(())
}
