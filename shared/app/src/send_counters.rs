//! Counters kept as sends settle, so that a campaign's numbers, the best time to send and the
//! overview are read from a few items instead of a scan of every send.
//!
//! A send's facts (state, failure kind, delivered, first reply, opt-out, local send time) are
//! read from its stored item; every write that changes them goes through [`change_send`] or adds
//! [`ops`] to its own transaction, which carries `contribution(after) − contribution(before)`
//! (`trickle_domain::campaign::counts`) to:
//! - the campaign's counters, `CAMPAIGN#<id>`/`STATS#<shard>`, one of [`SHARDS`] items chosen by
//!   the contact, so concurrent sends of one campaign rarely write the same item (DynamoDB
//!   cancels transactions that meet on an item);
//! - the account's counters of the recipient-local day the message went out on,
//!   `INSIGHT`/`DAY#<date>#<shard>`: totals, the weekday × hour grid and each campaign's
//!   sends and replies that day.
//!
//! The planned counts are kept on the campaign's `TALLY` item by the planner's own transaction.
//! Both families only ever change inside the transaction that changes the send, so they never
//! drift from the sends; `tests/tests/campaign_counters.rs` compares them with a recount.
//! (Shared by the campaign and webhook modules, so it depends on neither.)

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;
use trickle_domain::campaign::counts::{self, FailureKind, LocalSendTime, SendFacts};
use trickle_domain::campaign::{SendState, Variant};

use crate::ports::table::{
    Condition, Item, Key, Query, SortKeyCondition, TableError, TxOp, Update,
};
use crate::Services;

/// How many counter items a campaign's (and each day's) counters are spread over.
pub const SHARDS: u32 = 8;

pub const STATS_PREFIX: &str = "STATS#";
pub const INSIGHT_PK: &str = "INSIGHT";
pub const DAY_PREFIX: &str = "DAY#";

/// The stored attributes a send's facts are read from.
pub mod attrs {
    pub const STATE: &str = "state";
    pub const FAILURE: &str = "failure";
    pub const SENT_AT: &str = "sent_at";
    pub const SENT_LOCAL: &str = "sent_local";
    pub const DELIVERED_AT: &str = "delivered_at";
    pub const REPLIED_AT: &str = "replied_at";
    pub const OPTED_OUT_AT: &str = "opted_out_at";
}

pub fn stats_shard(campaign_id: &str, shard: u32) -> Key {
    Key::new(
        format!("CAMPAIGN#{campaign_id}"),
        format!("{STATS_PREFIX}{shard}"),
    )
}

pub fn day_shard(date: NaiveDate, shard: u32) -> Key {
    Key::new(INSIGHT_PK, format!("{DAY_PREFIX}{date}#{shard}"))
}

/// The shard of a contact: FNV-1a of its id (stable across hosts and versions).
pub fn shard_of(contact_id: &str) -> u32 {
    let mut hash: u32 = 0x811c_9dc5;
    for byte in contact_id.bytes() {
        hash ^= u32::from(byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    hash % SHARDS
}

fn text<'a>(item: &'a Item, attr: &str) -> Option<&'a str> {
    item.get(attr).and_then(Value::as_str)
}

fn time(item: &Item, attr: &str) -> Option<DateTime<Utc>> {
    text(item, attr)
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc))
}

fn state_of(item: &Item) -> Option<SendState> {
    serde_json::from_value(item.get(attrs::STATE)?.clone()).ok()
}

/// The facts of a stored send item; `None` for an item that is not a send.
pub fn facts(item: &Item) -> Option<SendFacts> {
    let state = state_of(item)?;
    let variant = match text(item, "variant") {
        Some("B") => Variant::B,
        _ => Variant::A,
    };
    let sent_at = time(item, attrs::SENT_AT);
    let reply_minutes = match (sent_at, time(item, attrs::REPLIED_AT)) {
        (Some(sent), Some(replied)) if replied >= sent => {
            Some((replied - sent).num_seconds() as f64 / 60.0)
        }
        _ => None,
    };
    Some(SendFacts {
        campaign_id: text(item, "campaign_id")?.to_string(),
        variant,
        state,
        failure: item
            .get(attrs::FAILURE)
            .and_then(|v| serde_json::from_value::<FailureKind>(v.clone()).ok()),
        delivered: item.get(attrs::DELIVERED_AT).is_some_and(|v| !v.is_null()),
        reply_minutes,
        opted_out: item.get(attrs::OPTED_OUT_AT).is_some_and(|v| !v.is_null()),
        sent_local: text(item, attrs::SENT_LOCAL).and_then(LocalSendTime::decode),
    })
}

/// The item as it will be after `update` (sets and removes; counters of a send are not added).
pub fn updated(item: &Item, update: &Update) -> Item {
    let mut after = item.clone();
    for (k, v) in &update.set {
        after.insert(k.clone(), v.clone());
    }
    for k in &update.remove {
        after.remove(k);
    }
    after
}

/// The counter writes that take the counters from `before`'s facts to `after`'s (empty when
/// nothing counted changes).
pub fn ops(before: &Item, after: &Item) -> Vec<TxOp> {
    let (Some(b), Some(a)) = (facts(before), facts(after)) else {
        return Vec::new();
    };
    let contact = text(after, "contact_id").unwrap_or_default();
    delta_ops(&a.campaign_id, contact, &counts::delta(&b, &a))
}

/// The counter writes of a send that did not exist before (a test's or a bench's fixture).
pub fn ops_of_new(item: &Item) -> Vec<TxOp> {
    let Some(f) = facts(item) else {
        return Vec::new();
    };
    let contact = text(item, "contact_id").unwrap_or_default();
    delta_ops(&f.campaign_id, contact, &counts::contribution(&f))
}

fn delta_ops(campaign_id: &str, contact_id: &str, delta: &counts::Contribution) -> Vec<TxOp> {
    let shard = shard_of(contact_id);
    let adds = |m: &BTreeMap<String, i64>| {
        m.iter()
            .fold(Update::new(), |u, (name, by)| u.add(name, *by))
    };
    let mut ops = Vec::new();
    if !delta.campaign.is_empty() {
        ops.push(TxOp::Update {
            key: stats_shard(campaign_id, shard),
            update: adds(&delta.campaign),
            condition: None,
        });
    }
    for (date, day) in &delta.days {
        ops.push(TxOp::Update {
            key: day_shard(*date, shard),
            update: adds(day).set("date", date.to_string()),
            condition: None,
        });
    }
    ops
}

/// The condition that a send's counted facts are as read in `item`.
pub fn unchanged(item: &Item) -> Condition {
    let mut all = vec![match item.get(attrs::STATE) {
        Some(state) => Condition::Equals(attrs::STATE.into(), state.clone()),
        None => Condition::AttrAbsent(attrs::STATE.into()),
    }];
    for attr in [
        attrs::FAILURE,
        attrs::SENT_AT,
        attrs::DELIVERED_AT,
        attrs::REPLIED_AT,
        attrs::OPTED_OUT_AT,
    ] {
        all.push(match item.get(attr).filter(|v| !v.is_null()) {
            Some(v) => Condition::Equals(attr.into(), v.clone()),
            None => Condition::AttrAbsent(attr.into()),
        });
    }
    Condition::All(all)
}

/// Reads the send at `key`, asks `change` what to write (`None`: nothing), and writes it with
/// its counters, conditional on the send being as read; read again if it moved meanwhile.
/// Returns whether a change was written.
pub async fn change_send(
    services: &Services,
    key: &Key,
    change: impl Fn(&Item) -> Option<Update>,
) -> Result<bool, TableError> {
    crate::races::retry_lost_races(crate::races::lost, || async {
        let Some(before) = services.table.get(key).await? else {
            return Ok(false);
        };
        let Some(update) = change(&before) else {
            return Ok(false);
        };
        let after = updated(&before, &update);
        let mut tx = vec![TxOp::Update {
            key: key.clone(),
            update,
            condition: Some(unchanged(&before)),
        }];
        tx.extend(ops(&before, &after));
        services.table.transact(tx).await.map(|()| true)
    })
    .await
}

/// Sums counter items (names → totals), leaving out the key and bookkeeping attributes.
fn sum(items: impl IntoIterator<Item = Item>, into: &mut BTreeMap<String, i64>) {
    for item in items {
        for (name, value) in item {
            if let Some(n) = value.as_i64() {
                if !name.starts_with("gsi") && name != "expires_at" {
                    *into.entry(name).or_insert(0) += n;
                }
            }
        }
    }
}

/// A campaign's counters, summed over its shards.
pub async fn campaign_totals(
    services: &Services,
    campaign_id: &str,
) -> Result<BTreeMap<String, i64>, TableError> {
    let page = services
        .table
        .query(
            Query::partition(format!("CAMPAIGN#{campaign_id}"))
                .sk(SortKeyCondition::BeginsWith(STATS_PREFIX.into()))
                .limit(SHARDS * 2),
        )
        .await?;
    let mut totals = BTreeMap::new();
    sum(page.items, &mut totals);
    Ok(totals)
}

/// The account's counters per recipient-local day, `from` to `to` inclusive.
pub async fn days(
    services: &Services,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<BTreeMap<NaiveDate, BTreeMap<String, i64>>, TableError> {
    let mut out: BTreeMap<NaiveDate, BTreeMap<String, i64>> = BTreeMap::new();
    let mut cursor = None;
    loop {
        let page = services
            .table
            .query(
                Query::partition(INSIGHT_PK)
                    .sk(SortKeyCondition::Between(
                        format!("{DAY_PREFIX}{from}#"),
                        format!("{DAY_PREFIX}{to}#~"),
                    ))
                    .limit(crate::ports::table::MAX_PAGE)
                    .after(cursor),
            )
            .await?;
        for item in page.items {
            let Some(date) = text(&item, "date").and_then(|d| d.parse::<NaiveDate>().ok()) else {
                continue;
            };
            sum([item], out.entry(date).or_default());
        }
        match page.next {
            Some(next) => cursor = Some(next),
            None => return Ok(out),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn item(v: Value) -> Item {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn shards_spread_contacts_and_stay_put() {
        let shards: std::collections::BTreeSet<u32> =
            (0..200).map(|n| shard_of(&format!("ct_{n}"))).collect();
        assert_eq!(shards.len() as u32, SHARDS);
        assert_eq!(shard_of("ct_7"), shard_of("ct_7"));
    }

    #[test]
    fn a_delivery_adds_one_delivered_to_the_campaign_and_its_day() {
        let before = item(json!({
            "campaign_id": "cp_1", "contact_id": "ct_1", "variant": "A", "state": "SENT",
            "sent_at": "2026-03-02T14:00:00.000Z", "sent_local": "2026-03-02T09",
        }));
        let after = updated(
            &before,
            &Update::new().set(attrs::DELIVERED_AT, "2026-03-02T14:00:05.000Z"),
        );
        let ops = ops(&before, &after);
        assert_eq!(ops.len(), 2, "{ops:?}");
        let TxOp::Update { key, update, .. } = &ops[0] else {
            panic!("{ops:?}")
        };
        assert_eq!(key, &stats_shard("cp_1", shard_of("ct_1")));
        assert_eq!(update.add, vec![("a_delivered".to_string(), 1)]);
        let TxOp::Update { key, update, .. } = &ops[1] else {
            panic!("{ops:?}")
        };
        assert_eq!(key.pk, INSIGHT_PK);
        assert_eq!(update.add, vec![("delivered".to_string(), 1)]);
        // The condition pins what was read: a second delivery report finds delivered_at set.
        let Condition::All(parts) = unchanged(&after) else {
            panic!()
        };
        assert!(parts.contains(&Condition::Equals(
            attrs::DELIVERED_AT.into(),
            json!("2026-03-02T14:00:05.000Z")
        )));
        assert!(parts.contains(&Condition::AttrAbsent(attrs::REPLIED_AT.into())));
    }
}
