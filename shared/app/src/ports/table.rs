//! The single-table store port (DynamoDB in AWS, SQLite locally).
//!
//! Items are JSON objects. Every item carries its key in the string attributes `pk` and `sk`;
//! the optional `gsiNpk`/`gsiNsk` pairs place it in secondary index N (sparse: an item without
//! `gsiNpk` is not in that index); a numeric `expires_at` (seconds since the Unix epoch) makes it
//! expire. Expired items are never returned, even before the store physically removes them
//! (DynamoDB's TTL sweeper may lag by days).
//!
//! One file: the port, its request types and the rules every adapter applies to them are one
//! contract; split, an adapter could follow one part and miss another.

use async_trait::async_trait;
use serde_json::{Map, Value};

/// One stored item: a JSON object holding at least `pk` and `sk`.
pub type Item = Map<String, Value>;

pub const PK: &str = "pk";
pub const SK: &str = "sk";
pub const EXPIRES_AT: &str = "expires_at";

/// Largest page a query returns, whatever the caller asks for.
pub const MAX_PAGE: u32 = 1000;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    pub pk: String,
    pub sk: String,
}

impl Key {
    pub fn new(pk: impl Into<String>, sk: impl Into<String>) -> Self {
        Self {
            pk: pk.into(),
            sk: sk.into(),
        }
    }

    /// The key of an item, if it has string `pk` and `sk` attributes.
    pub fn of(item: &Item) -> Option<Key> {
        Some(Key::new(item.get(PK)?.as_str()?, item.get(SK)?.as_str()?))
    }
}

/// The secondary indexes every store provides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Index {
    Gsi1,
    Gsi2,
    Gsi3,
}

impl Index {
    pub const ALL: [Index; 3] = [Index::Gsi1, Index::Gsi2, Index::Gsi3];

    pub fn name(self) -> &'static str {
        match self {
            Index::Gsi1 => "gsi1",
            Index::Gsi2 => "gsi2",
            Index::Gsi3 => "gsi3",
        }
    }

    pub fn pk_attr(self) -> &'static str {
        match self {
            Index::Gsi1 => "gsi1pk",
            Index::Gsi2 => "gsi2pk",
            Index::Gsi3 => "gsi3pk",
        }
    }

    pub fn sk_attr(self) -> &'static str {
        match self {
            Index::Gsi1 => "gsi1sk",
            Index::Gsi2 => "gsi2sk",
            Index::Gsi3 => "gsi3sk",
        }
    }
}

/// A condition on the item as it is stored before the write. Attribute names are top level.
/// Comparisons between values of different types are false, as in DynamoDB.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    ItemAbsent,
    ItemExists,
    AttrExists(String),
    AttrAbsent(String),
    Equals(String, Value),
    NotEquals(String, Value),
    LessThan(String, Value),
    GreaterThan(String, Value),
    All(Vec<Condition>),
    Any(Vec<Condition>),
}

impl Condition {
    pub fn equals(attr: &str, value: impl Into<Value>) -> Self {
        Condition::Equals(attr.to_string(), value.into())
    }

    pub fn less_than(attr: &str, value: impl Into<Value>) -> Self {
        Condition::LessThan(attr.to_string(), value.into())
    }
}

/// Changes to one item; an update of an absent item creates it (unless a condition says no).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Update {
    pub set: Vec<(String, Value)>,
    pub remove: Vec<String>,
    /// Atomic counter increments; an absent counter starts at zero.
    pub add: Vec<(String, i64)>,
}

impl Update {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn set(mut self, attr: &str, value: impl Into<Value>) -> Self {
        self.set.push((attr.to_string(), value.into()));
        self
    }

    pub fn remove(mut self, attr: &str) -> Self {
        self.remove.push(attr.to_string());
        self
    }

    pub fn add(mut self, attr: &str, by: i64) -> Self {
        self.add.push((attr.to_string(), by));
        self
    }

    pub fn is_empty(&self) -> bool {
        self.set.is_empty() && self.remove.is_empty() && self.add.is_empty()
    }
}

/// Which sort keys a query returns (on the table's `sk` or the index's sort key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SortKeyCondition {
    Any,
    Equals(String),
    BeginsWith(String),
    /// Inclusive at both ends.
    Between(String, String),
    LessThan(String),
    LessOrEqual(String),
    GreaterThan(String),
    GreaterOrEqual(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    pub index: Option<Index>,
    pub pk: String,
    pub sk: SortKeyCondition,
    /// Ascending sort-key order when true.
    pub forward: bool,
    pub limit: u32,
    /// The `next` of the previous page.
    pub cursor: Option<String>,
}

impl Query {
    pub fn partition(pk: impl Into<String>) -> Self {
        Self {
            index: None,
            pk: pk.into(),
            sk: SortKeyCondition::Any,
            forward: true,
            limit: 100,
            cursor: None,
        }
    }

    pub fn on_index(index: Index, pk: impl Into<String>) -> Self {
        Self {
            index: Some(index),
            ..Self::partition(pk)
        }
    }

    pub fn sk(mut self, sk: SortKeyCondition) -> Self {
        self.sk = sk;
        self
    }

    pub fn backward(mut self) -> Self {
        self.forward = false;
        self
    }

    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = limit;
        self
    }

    pub fn after(mut self, cursor: Option<String>) -> Self {
        self.cursor = cursor;
        self
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Page {
    pub items: Vec<Item>,
    /// Present when more items may follow; pass it back as `Query::cursor`.
    pub next: Option<String>,
}

/// One write inside a transaction. All succeed or none does.
#[derive(Debug, Clone, PartialEq)]
pub enum TxOp {
    Put {
        item: Item,
        condition: Option<Condition>,
    },
    Update {
        key: Key,
        update: Update,
        condition: Option<Condition>,
    },
    Delete {
        key: Key,
        condition: Option<Condition>,
    },
    /// A condition on an item that the transaction does not write.
    Check { key: Key, condition: Condition },
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum TableError {
    #[error("the condition on {pk}/{sk} failed")]
    ConditionFailed { pk: String, sk: String },
    /// `failed` holds the positions (in request order) of the operations whose condition failed.
    #[error("transaction cancelled: conditions failed at positions {failed:?}")]
    TransactionCancelled { failed: Vec<usize> },
    /// Another writer touched the same items at the same moment; safe to retry.
    #[error("transaction conflict, retry")]
    TransactionConflict,
    #[error("invalid request: {0}")]
    Invalid(String),
    #[error("store unavailable: {0}")]
    Unavailable(String),
}

impl TableError {
    pub fn condition_failed(key: &Key) -> Self {
        TableError::ConditionFailed {
            pk: key.pk.clone(),
            sk: key.sk.clone(),
        }
    }

    pub fn is_condition_failure(&self) -> bool {
        matches!(
            self,
            TableError::ConditionFailed { .. } | TableError::TransactionCancelled { .. }
        )
    }
}

/// Largest number of operations one transaction may hold (DynamoDB's limit).
pub const MAX_TRANSACTION_OPS: usize = 100;

/// Largest item DynamoDB stores: 400 KB, names and values counted as [`rules::item_bytes`] does.
pub const MAX_ITEM_BYTES: usize = 400 * 1024;

/// Largest total size of the items one transaction writes (DynamoDB's 4 MB).
pub const MAX_TRANSACTION_BYTES: usize = 4 * 1024 * 1024;

#[async_trait]
pub trait Table: Send + Sync {
    /// A strongly consistent read.
    async fn get(&self, key: &Key) -> Result<Option<Item>, TableError>;

    /// Strongly consistent reads of many items, answered in the order of `keys` (DynamoDB's
    /// BatchGetItem: one round trip per hundred keys instead of one per key).
    async fn get_many(&self, keys: &[Key]) -> Result<Vec<Option<Item>>, TableError> {
        let mut found = Vec::with_capacity(keys.len());
        for key in keys {
            found.push(self.get(key).await?);
        }
        Ok(found)
    }

    /// Writes the whole item (replacing any stored one) if the condition holds.
    async fn put(&self, item: Item, condition: Option<Condition>) -> Result<(), TableError>;

    /// Applies the update if the condition holds and returns the item as it is afterwards.
    async fn update(
        &self,
        key: &Key,
        update: Update,
        condition: Option<Condition>,
    ) -> Result<Item, TableError>;

    /// Removes the item if the condition holds; removing an absent item is not an error.
    async fn delete(&self, key: &Key, condition: Option<Condition>) -> Result<(), TableError>;

    async fn query(&self, query: Query) -> Result<Page, TableError>;

    async fn transact(&self, ops: Vec<TxOp>) -> Result<(), TableError>;
}

/// Checks shared by every adapter so that they refuse the same requests.
pub mod rules {
    use super::*;

    const RESERVED: [&str; 2] = [PK, SK];

    pub fn key_of(item: &Item) -> Result<Key, TableError> {
        let key = Key::of(item)
            .ok_or_else(|| TableError::Invalid("an item needs string pk and sk".into()))?;
        check_key(&key)?;
        Ok(key)
    }

    pub fn check_key(key: &Key) -> Result<(), TableError> {
        if key.pk.is_empty() || key.sk.is_empty() {
            return Err(TableError::Invalid("pk and sk must not be empty".into()));
        }
        Ok(())
    }

    pub fn check_index_attrs(item: &Item) -> Result<(), TableError> {
        for index in Index::ALL {
            for attr in [index.pk_attr(), index.sk_attr()] {
                if let Some(v) = item.get(attr) {
                    if !v.is_string() || v.as_str() == Some("") {
                        return Err(TableError::Invalid(format!(
                            "{attr} must be a non-empty string"
                        )));
                    }
                }
            }
        }
        Ok(())
    }

    pub fn check_update(update: &Update) -> Result<(), TableError> {
        if update.is_empty() {
            return Err(TableError::Invalid(
                "an update must change something".into(),
            ));
        }
        let mut seen = std::collections::HashSet::new();
        let names = update
            .set
            .iter()
            .map(|(a, _)| a)
            .chain(update.remove.iter())
            .chain(update.add.iter().map(|(a, _)| a));
        for name in names {
            if RESERVED.contains(&name.as_str()) {
                return Err(TableError::Invalid(format!("{name} cannot be updated")));
            }
            if name.is_empty() {
                return Err(TableError::Invalid("empty attribute name".into()));
            }
            if !seen.insert(name.clone()) {
                return Err(TableError::Invalid(format!(
                    "{name} appears twice in one update"
                )));
            }
        }
        for (attr, value) in &update.set {
            if attr.starts_with("gsi") && (!value.is_string() || value.as_str() == Some("")) {
                return Err(TableError::Invalid(format!(
                    "{attr} must be a non-empty string"
                )));
            }
        }
        Ok(())
    }

    /// An item's size as DynamoDB counts it: each attribute's name plus its value (strings by
    /// their UTF-8 bytes, numbers about one byte per two digits, maps and lists 3 bytes plus
    /// one per element).
    pub fn item_bytes(item: &Item) -> usize {
        item.iter()
            .map(|(name, v)| name.len() + value_bytes(v))
            .sum()
    }

    fn value_bytes(value: &Value) -> usize {
        match value {
            Value::Null | Value::Bool(_) => 1,
            Value::Number(n) => n.to_string().len().div_ceil(2) + 1,
            Value::String(s) => s.len(),
            Value::Array(items) => 3 + items.iter().map(|v| 1 + value_bytes(v)).sum::<usize>(),
            Value::Object(map) => {
                3 + map
                    .iter()
                    .map(|(k, v)| 1 + k.len() + value_bytes(v))
                    .sum::<usize>()
            }
        }
    }

    /// The bytes an update writes (its key and set values): what a transaction counts.
    fn update_bytes(key: &Key, update: &Update) -> usize {
        key.pk.len()
            + key.sk.len()
            + update
                .set
                .iter()
                .map(|(name, v)| name.len() + value_bytes(v))
                .sum::<usize>()
            + update
                .add
                .iter()
                .map(|(name, _)| name.len() + 8)
                .sum::<usize>()
    }

    /// Refuses an item larger than DynamoDB stores.
    pub fn check_item_size(item: &Item) -> Result<(), TableError> {
        let bytes = item_bytes(item);
        if bytes > MAX_ITEM_BYTES {
            return Err(TableError::Invalid(format!(
                "an item of {bytes} bytes is larger than the {MAX_ITEM_BYTES} bytes the table stores"
            )));
        }
        Ok(())
    }

    /// The bytes one transaction operation counts against [`MAX_TRANSACTION_BYTES`].
    pub fn op_bytes(op: &TxOp) -> usize {
        match op {
            TxOp::Put { item, .. } => item_bytes(item),
            TxOp::Update { key, update, .. } => update_bytes(key, update),
            TxOp::Delete { key, .. } | TxOp::Check { key, .. } => key.pk.len() + key.sk.len(),
        }
    }

    /// Packs groups of operations (each group must commit together) into as few transactions
    /// as DynamoDB's limits allow: at most [`MAX_TRANSACTION_OPS`] operations and
    /// [`MAX_TRANSACTION_BYTES`] each, never splitting a group.
    pub fn pack(groups: Vec<Vec<TxOp>>) -> Vec<Vec<TxOp>> {
        // A margin under the limit for the request's own framing.
        const BUDGET: usize = MAX_TRANSACTION_BYTES - 64 * 1024;
        let mut out: Vec<Vec<TxOp>> = Vec::new();
        let mut current: Vec<TxOp> = Vec::new();
        let mut bytes = 0;
        for group in groups {
            let size: usize = group.iter().map(op_bytes).sum();
            let fits = current.len() + group.len() <= MAX_TRANSACTION_OPS && bytes + size <= BUDGET;
            if !fits && !current.is_empty() {
                out.push(std::mem::take(&mut current));
                bytes = 0;
            }
            bytes += size;
            current.extend(group);
        }
        if !current.is_empty() {
            out.push(current);
        }
        out
    }

    pub fn check_transaction(ops: &[TxOp]) -> Result<(), TableError> {
        if ops.is_empty() || ops.len() > MAX_TRANSACTION_OPS {
            return Err(TableError::Invalid(format!(
                "a transaction holds 1 to {MAX_TRANSACTION_OPS} operations"
            )));
        }
        let bytes: usize = ops.iter().map(op_bytes).sum();
        if bytes > MAX_TRANSACTION_BYTES {
            return Err(TableError::Invalid(format!(
                "a transaction of {bytes} bytes is larger than the {MAX_TRANSACTION_BYTES} bytes the table takes"
            )));
        }
        let mut keys = std::collections::HashSet::new();
        for op in ops {
            let key = match op {
                TxOp::Put { item, .. } => {
                    check_index_attrs(item)?;
                    check_item_size(item)?;
                    key_of(item)?
                }
                TxOp::Update { key, update, .. } => {
                    check_update(update)?;
                    key.clone()
                }
                TxOp::Delete { key, .. } | TxOp::Check { key, .. } => key.clone(),
            };
            check_key(&key)?;
            if !keys.insert(key.clone()) {
                return Err(TableError::Invalid(format!(
                    "{}/{} appears twice in one transaction",
                    key.pk, key.sk
                )));
            }
        }
        Ok(())
    }

    /// True when the item carries an `expires_at` in the past.
    pub fn is_expired(item: &Item, now_epoch_secs: i64) -> bool {
        item.get(EXPIRES_AT)
            .and_then(Value::as_i64)
            .is_some_and(|at| at <= now_epoch_secs)
    }

    pub fn page_size(limit: u32) -> u32 {
        limit.clamp(1, MAX_PAGE)
    }
}
