//! The `Table` port over SQLite, answering as DynamoDB does.

use std::cmp::Ordering;

use async_trait::async_trait;
use base64::Engine;
use rusqlite::{params, OptionalExtension, Transaction};
use serde_json::Value;
use trickle_app::ports::table::{
    rules, Condition, Item, Key, Page, Query, SortKeyCondition, Table, TableError, TxOp, Update,
    EXPIRES_AT,
};

use crate::store::{epoch_secs, EmbeddedStore};

#[derive(Clone)]
pub struct EmbeddedTable {
    store: EmbeddedStore,
}

impl EmbeddedTable {
    pub fn new(store: EmbeddedStore) -> Self {
        Self { store }
    }

    /// Deletes expired items for good (reads already hide them).
    pub async fn sweep_expired(&self) -> Result<usize, TableError> {
        self.store
            .with_conn(|conn| {
                conn.prepare_cached(
                    "DELETE FROM items WHERE expires_at IS NOT NULL AND expires_at <= ?1",
                )
                .map_err(unavailable)?
                .execute([epoch_secs()])
                .map_err(unavailable)
            })
            .await
    }
}

fn unavailable(e: rusqlite::Error) -> TableError {
    TableError::Unavailable(e.to_string())
}

fn read(tx: &Transaction<'_>, key: &Key) -> Result<Option<Item>, TableError> {
    let body: Option<String> = tx
        .prepare_cached("SELECT body FROM items WHERE pk = ?1 AND sk = ?2")
        .map_err(unavailable)?
        .query_row(params![key.pk, key.sk], |row| row.get(0))
        .optional()
        .map_err(unavailable)?;
    let Some(body) = body else { return Ok(None) };
    let item: Item =
        serde_json::from_str(&body).map_err(|e| TableError::Unavailable(e.to_string()))?;
    if rules::is_expired(&item, epoch_secs()) {
        return Ok(None);
    }
    Ok(Some(item))
}

fn write(tx: &Transaction<'_>, item: &Item) -> Result<(), TableError> {
    let key = rules::key_of(item)?;
    let text = |attr: &str| item.get(attr).and_then(Value::as_str).map(str::to_string);
    let body = serde_json::to_string(item).map_err(|e| TableError::Invalid(e.to_string()))?;
    tx.prepare_cached(
        "INSERT OR REPLACE INTO items
            (pk, sk, body, expires_at, gsi1pk, gsi1sk, gsi2pk, gsi2sk, gsi3pk, gsi3sk)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )
    .map_err(unavailable)?
    .execute(params![
        key.pk,
        key.sk,
        body,
        item.get(EXPIRES_AT).and_then(Value::as_i64),
        text("gsi1pk"),
        text("gsi1sk"),
        text("gsi2pk"),
        text("gsi2sk"),
        text("gsi3pk"),
        text("gsi3sk"),
    ])
    .map_err(unavailable)?;
    Ok(())
}

fn remove(tx: &Transaction<'_>, key: &Key) -> Result<(), TableError> {
    tx.prepare_cached("DELETE FROM items WHERE pk = ?1 AND sk = ?2")
        .map_err(unavailable)?
        .execute(params![key.pk, key.sk])
        .map_err(unavailable)?;
    Ok(())
}

/// Orders two attribute values the way DynamoDB compares them; `None` for different types.
fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(x), Some(y)) => Some(x.cmp(&y)),
            _ => x.as_f64()?.partial_cmp(&y.as_f64()?),
        },
        (Value::String(x), Value::String(y)) => Some(x.as_bytes().cmp(y.as_bytes())),
        (Value::Bool(x), Value::Bool(y)) if x == y => Some(Ordering::Equal),
        (Value::Null, Value::Null) => Some(Ordering::Equal),
        _ if a == b => Some(Ordering::Equal),
        _ => None,
    }
}

pub(crate) fn holds(condition: &Condition, item: Option<&Item>) -> bool {
    let attr = |name: &str| item.and_then(|i| i.get(name));
    match condition {
        Condition::ItemAbsent => item.is_none(),
        Condition::ItemExists => item.is_some(),
        Condition::AttrExists(a) => attr(a).is_some(),
        Condition::AttrAbsent(a) => attr(a).is_none(),
        Condition::Equals(a, v) => attr(a).and_then(|x| compare(x, v)) == Some(Ordering::Equal),
        Condition::NotEquals(a, v) => match attr(a) {
            None => true,
            Some(x) => compare(x, v) != Some(Ordering::Equal),
        },
        Condition::LessThan(a, v) => attr(a).and_then(|x| compare(x, v)) == Some(Ordering::Less),
        Condition::GreaterThan(a, v) => {
            attr(a).and_then(|x| compare(x, v)) == Some(Ordering::Greater)
        }
        Condition::All(cs) => cs.iter().all(|c| holds(c, item)),
        Condition::Any(cs) => cs.iter().any(|c| holds(c, item)),
    }
}

fn apply(key: &Key, current: Option<Item>, update: &Update) -> Result<Item, TableError> {
    let mut item = current.unwrap_or_else(|| {
        let mut fresh = Item::new();
        fresh.insert("pk".into(), key.pk.clone().into());
        fresh.insert("sk".into(), key.sk.clone().into());
        fresh
    });
    for (attr, value) in &update.set {
        item.insert(attr.clone(), value.clone());
    }
    for attr in &update.remove {
        item.remove(attr);
    }
    for (attr, by) in &update.add {
        let now = match item.get(attr) {
            None => 0,
            Some(v) => v.as_i64().ok_or_else(|| {
                TableError::Invalid(format!("{attr} is not a number and cannot be added to"))
            })?,
        };
        item.insert(attr.clone(), Value::from(now + by));
    }
    Ok(item)
}

fn check_condition(
    tx: &Transaction<'_>,
    key: &Key,
    condition: Option<&Condition>,
) -> Result<(Option<Item>, bool), TableError> {
    let current = read(tx, key)?;
    let ok = condition.is_none_or(|c| holds(c, current.as_ref()));
    Ok((current, ok))
}

/// A page cursor is the sort position of the last item returned.
fn encode_cursor(position: &[String]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(serde_json::to_vec(position).expect("strings serialise"))
}

fn decode_cursor(cursor: &str, parts: usize) -> Result<Vec<String>, TableError> {
    let bad = || TableError::Invalid("malformed page cursor".into());
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| bad())?;
    let position: Vec<String> = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    if position.len() != parts {
        return Err(bad());
    }
    Ok(position)
}

/// The least string above every string that starts with `prefix` (UTF-8 byte order is code
/// point order): the prefix with its last character raised by one; `None` when there is none.
fn prefix_upper_bound(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let next = match u32::from(last) + 1 {
            0xD800 => 0xE000, // past the surrogates, which are no characters
            n => n,
        };
        if let Some(c) = char::from_u32(next) {
            chars.push(c);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

fn run_query(conn: &mut rusqlite::Connection, query: &Query) -> Result<Page, TableError> {
    let (pk_col, sk_col) = match query.index {
        None => ("pk".to_string(), "sk".to_string()),
        Some(index) => (index.pk_attr().to_string(), index.sk_attr().to_string()),
    };
    // The full sort position: the index sort key, then the table key that breaks ties.
    let order_cols: Vec<String> = match query.index {
        None => vec![sk_col.clone()],
        Some(_) => vec![sk_col.clone(), "pk".into(), "sk".into()],
    };
    let mut sql = format!(
        "SELECT body, {} FROM items WHERE {pk_col} = ? AND {sk_col} IS NOT NULL \
         AND (expires_at IS NULL OR expires_at > ?)",
        order_cols.join(", ")
    );
    let mut args: Vec<rusqlite::types::Value> = vec![query.pk.clone().into(), epoch_secs().into()];
    let mut bind = |sql: &mut String, clause: &str, values: &[&String]| {
        sql.push_str(clause);
        for v in values {
            args.push((*v).clone().into());
        }
    };
    match &query.sk {
        SortKeyCondition::Any => {}
        SortKeyCondition::Equals(v) => bind(&mut sql, &format!(" AND {sk_col} = ?"), &[v]),
        SortKeyCondition::BeginsWith(p) => {
            // A range on the prefix keeps the index usable (without it SQLite reads the whole
            // partition: every send of a campaign to find its 8 counter items); substr
            // confirms byte-wise.
            let clause = format!(" AND substr({sk_col}, 1, length(?)) = ? AND {sk_col} >= ?");
            bind(&mut sql, &clause, &[p, p, p]);
            if let Some(upper) = prefix_upper_bound(p) {
                bind(&mut sql, &format!(" AND {sk_col} < ?"), &[&upper]);
            }
        }
        SortKeyCondition::Between(a, b) => {
            bind(&mut sql, &format!(" AND {sk_col} BETWEEN ? AND ?"), &[a, b])
        }
        SortKeyCondition::LessThan(v) => bind(&mut sql, &format!(" AND {sk_col} < ?"), &[v]),
        SortKeyCondition::LessOrEqual(v) => bind(&mut sql, &format!(" AND {sk_col} <= ?"), &[v]),
        SortKeyCondition::GreaterThan(v) => bind(&mut sql, &format!(" AND {sk_col} > ?"), &[v]),
        SortKeyCondition::GreaterOrEqual(v) => bind(&mut sql, &format!(" AND {sk_col} >= ?"), &[v]),
    }
    let direction = if query.forward { "ASC" } else { "DESC" };
    if let Some(cursor) = &query.cursor {
        let position = decode_cursor(cursor, order_cols.len())?;
        let op = if query.forward { ">" } else { "<" };
        let placeholders = vec!["?"; position.len()].join(", ");
        sql.push_str(&format!(
            " AND ({}) {op} ({placeholders})",
            order_cols.join(", ")
        ));
        args.extend(position.into_iter().map(Into::into));
    }
    let limit = rules::page_size(query.limit);
    sql.push_str(&format!(
        " ORDER BY {} LIMIT {}",
        order_cols
            .iter()
            .map(|c| format!("{c} {direction}"))
            .collect::<Vec<_>>()
            .join(", "),
        limit + 1
    ));
    let mut statement = conn.prepare_cached(&sql).map_err(unavailable)?;
    let width = order_cols.len();
    let rows = statement
        .query_map(rusqlite::params_from_iter(args), |row| {
            let body: String = row.get(0)?;
            let mut position = Vec::with_capacity(width);
            for i in 0..width {
                position.push(row.get::<_, String>(i + 1)?);
            }
            Ok((body, position))
        })
        .map_err(unavailable)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(unavailable)?;
    let more = rows.len() > limit as usize;
    let mut items = Vec::with_capacity(rows.len().min(limit as usize));
    let mut last = None;
    for (body, position) in rows.into_iter().take(limit as usize) {
        items
            .push(serde_json::from_str(&body).map_err(|e| TableError::Unavailable(e.to_string()))?);
        last = Some(position);
    }
    Ok(Page {
        items,
        next: if more {
            last.map(|p| encode_cursor(&p))
        } else {
            None
        },
    })
}

#[async_trait]
impl Table for EmbeddedTable {
    async fn get(&self, key: &Key) -> Result<Option<Item>, TableError> {
        rules::check_key(key)?;
        let key = key.clone();
        self.store
            .with_conn(move |conn| {
                let tx = conn.transaction().map_err(unavailable)?;
                read(&tx, &key)
            })
            .await
    }

    async fn get_many(&self, keys: &[Key]) -> Result<Vec<Option<Item>>, TableError> {
        for key in keys {
            rules::check_key(key)?;
        }
        let keys = keys.to_vec();
        self.store
            .with_conn(move |conn| {
                let tx = conn.transaction().map_err(unavailable)?;
                keys.iter().map(|key| read(&tx, key)).collect()
            })
            .await
    }

    async fn put(&self, item: Item, condition: Option<Condition>) -> Result<(), TableError> {
        let key = rules::key_of(&item)?;
        rules::check_index_attrs(&item)?;
        rules::check_item_size(&item)?;
        self.store
            .with_conn(move |conn| {
                let tx = conn.transaction().map_err(unavailable)?;
                let (_, ok) = check_condition(&tx, &key, condition.as_ref())?;
                if !ok {
                    return Err(TableError::condition_failed(&key));
                }
                write(&tx, &item)?;
                tx.commit().map_err(unavailable)
            })
            .await
    }

    async fn update(
        &self,
        key: &Key,
        update: Update,
        condition: Option<Condition>,
    ) -> Result<Item, TableError> {
        rules::check_key(key)?;
        rules::check_update(&update)?;
        let key = key.clone();
        self.store
            .with_conn(move |conn| {
                let tx = conn.transaction().map_err(unavailable)?;
                let (current, ok) = check_condition(&tx, &key, condition.as_ref())?;
                if !ok {
                    return Err(TableError::condition_failed(&key));
                }
                let item = apply(&key, current, &update)?;
                // DynamoDB measures the item as it would be after the update.
                rules::check_item_size(&item)?;
                write(&tx, &item)?;
                tx.commit().map_err(unavailable)?;
                Ok(item)
            })
            .await
    }

    async fn delete(&self, key: &Key, condition: Option<Condition>) -> Result<(), TableError> {
        rules::check_key(key)?;
        let key = key.clone();
        self.store
            .with_conn(move |conn| {
                let tx = conn.transaction().map_err(unavailable)?;
                let (_, ok) = check_condition(&tx, &key, condition.as_ref())?;
                if !ok {
                    return Err(TableError::condition_failed(&key));
                }
                remove(&tx, &key)?;
                tx.commit().map_err(unavailable)
            })
            .await
    }

    async fn query(&self, query: Query) -> Result<Page, TableError> {
        if query.pk.is_empty() {
            return Err(TableError::Invalid("a query needs a partition key".into()));
        }
        self.store
            .with_conn(move |conn| run_query(conn, &query))
            .await
    }

    async fn transact(&self, ops: Vec<TxOp>) -> Result<(), TableError> {
        rules::check_transaction(&ops)?;
        self.store
            .with_conn(move |conn| {
                let tx = conn.transaction().map_err(unavailable)?;
                let mut failed = Vec::new();
                let mut writes = Vec::new();
                for (position, op) in ops.iter().enumerate() {
                    let (key, condition) = match op {
                        TxOp::Put { item, condition } => (rules::key_of(item)?, condition.as_ref()),
                        TxOp::Update { key, condition, .. } | TxOp::Delete { key, condition } => {
                            (key.clone(), condition.as_ref())
                        }
                        TxOp::Check { key, condition } => (key.clone(), Some(condition)),
                    };
                    let (current, ok) = check_condition(&tx, &key, condition)?;
                    if !ok {
                        failed.push(position);
                    }
                    writes.push((key, current));
                }
                if !failed.is_empty() {
                    return Err(TableError::TransactionCancelled { failed });
                }
                for (op, (key, current)) in ops.iter().zip(writes) {
                    match op {
                        TxOp::Put { item, .. } => write(&tx, item)?,
                        TxOp::Update { update, .. } => {
                            let item = apply(&key, current, update)?;
                            rules::check_item_size(&item)?;
                            write(&tx, &item)?
                        }
                        TxOp::Delete { .. } => remove(&tx, &key)?,
                        TxOp::Check { .. } => {}
                    }
                }
                tx.commit().map_err(unavailable)
            })
            .await
    }
}

#[cfg(test)]
mod prefix_tests {
    use super::prefix_upper_bound;

    #[test]
    fn the_upper_bound_is_above_every_string_with_the_prefix_and_below_the_rest() {
        let upper = prefix_upper_bound("STATS#").unwrap();
        assert_eq!(upper, "STATS$");
        for inside in ["STATS#", "STATS#0", "STATS#\u{10FFFF}x"] {
            assert!(inside < upper.as_str(), "{inside}");
        }
        assert!("STATS$" >= upper.as_str() && "STATT" > upper.as_str());
        assert_eq!(prefix_upper_bound("a\u{D7FF}").unwrap(), "a\u{E000}");
        assert_eq!(prefix_upper_bound("a\u{10FFFF}").unwrap(), "b");
        assert_eq!(prefix_upper_bound("\u{10FFFF}"), None);
    }
}
