//! The `Table` port over DynamoDB.
//!
//! Why one file: one port's adapter; every method translates the same condition, update and key
//! types, which would otherwise be shared across files for no reader's benefit.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, KeysAndAttributes, Put, ReturnValue, TransactWriteItem,
    Update as DynamoUpdate,
};
use aws_sdk_dynamodb::Client;
use base64::Engine;
use serde_json::Value;
use trickle_app::ports::table::{
    rules, Condition, Item, Key, Page, Query, SortKeyCondition, Table, TableError, TxOp, Update,
    EXPIRES_AT, PK, SK,
};

use crate::attributes::{from_attrs, to_attr, to_attrs};
use crate::describe;

#[derive(Clone)]
pub struct DynamoTable {
    client: Client,
    table: String,
}

impl DynamoTable {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }
}

/// Collects the placeholder names and values of one request's expressions.
#[derive(Default)]
struct Expr {
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
    now: Option<String>,
}

impl Expr {
    fn name(&mut self, attr: &str) -> String {
        if let Some((placeholder, _)) = self.names.iter().find(|(_, a)| a.as_str() == attr) {
            return placeholder.clone();
        }
        let placeholder = format!("#n{}", self.names.len());
        self.names.insert(placeholder.clone(), attr.to_string());
        placeholder
    }

    fn value(&mut self, value: AttributeValue) -> String {
        let placeholder = format!(":v{}", self.values.len());
        self.values.insert(placeholder.clone(), value);
        placeholder
    }

    /// The current time, for treating expired-but-unswept items as absent.
    fn now(&mut self) -> String {
        if let Some(now) = &self.now {
            return now.clone();
        }
        let now = self.value(AttributeValue::N(
            chrono::Utc::now().timestamp().to_string(),
        ));
        self.now = Some(now.clone());
        now
    }

    /// A condition expression. Compound results carry no outer parentheses: [`Self::join`]
    /// adds them, and DynamoDB refuses doubled ones ("redundant parentheses").
    fn condition(&mut self, condition: &Condition) -> String {
        match condition {
            Condition::ItemAbsent => {
                let (pk, exp, now) = (self.name(PK), self.name(EXPIRES_AT), self.now());
                format!("attribute_not_exists({pk}) OR {exp} <= {now}")
            }
            Condition::ItemExists => {
                let (pk, exp, now) = (self.name(PK), self.name(EXPIRES_AT), self.now());
                format!("attribute_exists({pk}) AND (attribute_not_exists({exp}) OR {exp} > {now})")
            }
            Condition::AttrExists(a) => format!("attribute_exists({})", self.name(a)),
            Condition::AttrAbsent(a) => format!("attribute_not_exists({})", self.name(a)),
            Condition::Equals(a, v) => self.compare(a, "=", v),
            Condition::NotEquals(a, v) => {
                let name = self.name(a);
                format!(
                    "attribute_not_exists({name}) OR {}",
                    self.compare(a, "<>", v)
                )
            }
            Condition::LessThan(a, v) => self.compare(a, "<", v),
            Condition::GreaterThan(a, v) => self.compare(a, ">", v),
            Condition::All(cs) if cs.is_empty() => self.condition(&Condition::Any(vec![
                Condition::AttrExists(PK.into()),
                Condition::AttrAbsent(PK.into()),
            ])),
            Condition::Any(cs) if cs.is_empty() => self.condition(&Condition::All(vec![
                Condition::AttrExists(PK.into()),
                Condition::AttrAbsent(PK.into()),
            ])),
            Condition::All(cs) => self.join(cs, " AND "),
            Condition::Any(cs) => self.join(cs, " OR "),
        }
    }

    fn compare(&mut self, attr: &str, op: &str, value: &Value) -> String {
        let name = self.name(attr);
        let value = self.value(to_attr(value));
        format!("{name} {op} {value}")
    }

    fn join(&mut self, conditions: &[Condition], with: &str) -> String {
        let parts: Vec<String> = conditions
            .iter()
            .map(|c| format!("({})", self.condition(c)))
            .collect();
        parts.join(with)
    }

    fn update(&mut self, update: &Update) -> String {
        let mut clauses = Vec::new();
        if !update.set.is_empty() {
            let sets: Vec<String> = update
                .set
                .iter()
                .map(|(a, v)| format!("{} = {}", self.name(a), self.value(to_attr(v))))
                .collect();
            clauses.push(format!("SET {}", sets.join(", ")));
        }
        if !update.remove.is_empty() {
            let removes: Vec<String> = update.remove.iter().map(|a| self.name(a)).collect();
            clauses.push(format!("REMOVE {}", removes.join(", ")));
        }
        if !update.add.is_empty() {
            let adds: Vec<String> = update
                .add
                .iter()
                .map(|(a, n)| {
                    format!(
                        "{} {}",
                        self.name(a),
                        self.value(AttributeValue::N(n.to_string()))
                    )
                })
                .collect();
            clauses.push(format!("ADD {}", adds.join(", ")));
        }
        clauses.join(" ")
    }

    fn key_condition(&mut self, query: &Query) -> String {
        let (pk_attr, sk_attr) = match query.index {
            None => (PK, SK),
            Some(index) => (index.pk_attr(), index.sk_attr()),
        };
        let pk = format!(
            "{} = {}",
            self.name(pk_attr),
            self.value(AttributeValue::S(query.pk.clone()))
        );
        if query.sk == SortKeyCondition::Any {
            return pk;
        }
        let sk = self.name(sk_attr);
        let mut s = |v: &String| self.value(AttributeValue::S(v.clone()));
        let range = match &query.sk {
            SortKeyCondition::Any => unreachable!("handled above"),
            SortKeyCondition::Equals(v) => format!("{sk} = {}", s(v)),
            SortKeyCondition::BeginsWith(p) => format!("begins_with({sk}, {})", s(p)),
            SortKeyCondition::Between(a, b) => format!("{sk} BETWEEN {} AND {}", s(a), s(b)),
            SortKeyCondition::LessThan(v) => format!("{sk} < {}", s(v)),
            SortKeyCondition::LessOrEqual(v) => format!("{sk} <= {}", s(v)),
            SortKeyCondition::GreaterThan(v) => format!("{sk} > {}", s(v)),
            SortKeyCondition::GreaterOrEqual(v) => format!("{sk} >= {}", s(v)),
        };
        format!("{pk} AND {range}")
    }

    fn names(&self) -> Option<HashMap<String, String>> {
        (!self.names.is_empty()).then(|| self.names.clone())
    }

    fn values(&self) -> Option<HashMap<String, AttributeValue>> {
        (!self.values.is_empty()).then(|| self.values.clone())
    }
}

/// Maps a failed single-item write (each write operation has its own error type of this shape).
macro_rules! write_error {
    ($error:expr, $key:expr) => {{
        let service = $error.into_service_error();
        if service.is_conditional_check_failed_exception() {
            TableError::condition_failed($key)
        } else {
            let code =
                aws_sdk_dynamodb::error::ProvideErrorMetadata::code(&service).map(str::to_string);
            classify(code.as_deref(), describe(&service))
        }
    }};
}

fn key_attrs(key: &Key) -> HashMap<String, AttributeValue> {
    HashMap::from([
        (PK.to_string(), AttributeValue::S(key.pk.clone())),
        (SK.to_string(), AttributeValue::S(key.sk.clone())),
    ])
}

fn unavailable<E: std::error::Error>(error: E) -> TableError {
    TableError::Unavailable(describe(&error))
}

/// A malformed expression is the caller's mistake, not an outage.
fn classify(code: Option<&str>, text: String) -> TableError {
    match code {
        Some("ValidationException") => TableError::Invalid(text),
        _ => TableError::Unavailable(text),
    }
}

fn encode_cursor(key: &HashMap<String, AttributeValue>) -> String {
    let plain: HashMap<&String, &str> = key
        .iter()
        .filter_map(|(k, v)| v.as_s().ok().map(|s| (k, s.as_str())))
        .collect();
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(serde_json::to_vec(&plain).expect("strings serialise"))
}

fn decode_cursor(cursor: &str) -> Result<HashMap<String, AttributeValue>, TableError> {
    let bad = || TableError::Invalid("malformed page cursor".into());
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| bad())?;
    let plain: HashMap<String, String> = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    if plain.is_empty() {
        return Err(bad());
    }
    Ok(plain
        .into_iter()
        .map(|(k, v)| (k, AttributeValue::S(v)))
        .collect())
}

/// Positions whose condition failed, from a cancelled transaction's reasons (or, when an
/// emulator omits them, from the message that lists them in order).
fn cancelled(reasons: &[aws_sdk_dynamodb::types::CancellationReason], message: &str) -> TableError {
    let codes: Vec<String> = if reasons.is_empty() {
        message
            .rsplit_once('[')
            .and_then(|(_, rest)| rest.split_once(']'))
            .map(|(list, _)| list.split(',').map(|c| c.trim().to_string()).collect())
            .unwrap_or_default()
    } else {
        reasons
            .iter()
            .map(|r| r.code().unwrap_or("None").to_string())
            .collect()
    };
    let failed: Vec<usize> = codes
        .iter()
        .enumerate()
        .filter(|(_, c)| c.as_str() == "ConditionalCheckFailed")
        .map(|(i, _)| i)
        .collect();
    if failed.is_empty() {
        if codes.iter().any(|c| c == "TransactionConflict") {
            return TableError::TransactionConflict;
        }
        return TableError::Unavailable(format!("transaction cancelled: {message}"));
    }
    TableError::TransactionCancelled { failed }
}

#[async_trait]
impl Table for DynamoTable {
    async fn get(&self, key: &Key) -> Result<Option<Item>, TableError> {
        rules::check_key(key)?;
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key_attrs(key)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| {
                let code =
                    aws_sdk_dynamodb::error::ProvideErrorMetadata::code(&e).map(str::to_string);
                classify(code.as_deref(), describe(&e))
            })?;
        let item = out.item.map(|attrs| from_attrs(&attrs));
        Ok(item.filter(|i| !rules::is_expired(i, chrono::Utc::now().timestamp())))
    }

    async fn get_many(&self, keys: &[Key]) -> Result<Vec<Option<Item>>, TableError> {
        let mut found: HashMap<(String, String), Item> = HashMap::new();
        // BatchGetItem refuses a repeated key and takes a hundred at a time; what it leaves
        // unprocessed (throttling) is asked again.
        let mut wanted: Vec<&Key> = Vec::new();
        for key in keys {
            rules::check_key(key)?;
            if !wanted.contains(&key) {
                wanted.push(key);
            }
        }
        for chunk in wanted.chunks(100) {
            let mut pending: Vec<HashMap<String, AttributeValue>> =
                chunk.iter().map(|k| key_attrs(k)).collect();
            while !pending.is_empty() {
                let request = KeysAndAttributes::builder()
                    .set_keys(Some(std::mem::take(&mut pending)))
                    .consistent_read(true)
                    .build()
                    .map_err(|e| TableError::Invalid(e.to_string()))?;
                let out = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, request)
                    .send()
                    .await
                    .map_err(|e| {
                        let code = aws_sdk_dynamodb::error::ProvideErrorMetadata::code(&e)
                            .map(str::to_string);
                        classify(code.as_deref(), describe(&e))
                    })?;
                for attrs in out
                    .responses
                    .unwrap_or_default()
                    .remove(&self.table)
                    .unwrap_or_default()
                {
                    let item = from_attrs(&attrs);
                    let at = |name: &str| {
                        item.get(name)
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_string()
                    };
                    found.insert((at(PK), at(SK)), item);
                }
                if let Some(left) = out.unprocessed_keys.and_then(|mut u| u.remove(&self.table)) {
                    pending = left.keys;
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            }
        }
        let now = chrono::Utc::now().timestamp();
        Ok(keys
            .iter()
            .map(|k| {
                found
                    .get(&(k.pk.clone(), k.sk.clone()))
                    .filter(|i| !rules::is_expired(i, now))
                    .cloned()
            })
            .collect())
    }

    async fn put(&self, item: Item, condition: Option<Condition>) -> Result<(), TableError> {
        let key = rules::key_of(&item)?;
        rules::check_index_attrs(&item)?;
        rules::check_item_size(&item)?;
        let mut expr = Expr::default();
        let condition = condition.map(|c| expr.condition(&c));
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_attrs(&item)))
            .set_condition_expression(condition)
            .set_expression_attribute_names(expr.names())
            .set_expression_attribute_values(expr.values())
            .send()
            .await;
        result.map_err(|e| write_error!(e, &key))?;
        Ok(())
    }

    async fn update(
        &self,
        key: &Key,
        update: Update,
        condition: Option<Condition>,
    ) -> Result<Item, TableError> {
        rules::check_key(key)?;
        rules::check_update(&update)?;
        let mut expr = Expr::default();
        let update_expression = expr.update(&update);
        let condition = condition.map(|c| expr.condition(&c));
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_attrs(key)))
            .update_expression(update_expression)
            .set_condition_expression(condition)
            .set_expression_attribute_names(expr.names())
            .set_expression_attribute_values(expr.values())
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        let out = result.map_err(|e| write_error!(e, key))?;
        Ok(from_attrs(&out.attributes.unwrap_or_default()))
    }

    async fn delete(&self, key: &Key, condition: Option<Condition>) -> Result<(), TableError> {
        rules::check_key(key)?;
        let mut expr = Expr::default();
        let condition = condition.map(|c| expr.condition(&c));
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key_attrs(key)))
            .set_condition_expression(condition)
            .set_expression_attribute_names(expr.names())
            .set_expression_attribute_values(expr.values())
            .send()
            .await;
        result.map_err(|e| write_error!(e, key))?;
        Ok(())
    }

    async fn query(&self, query: Query) -> Result<Page, TableError> {
        if query.pk.is_empty() {
            return Err(TableError::Invalid("a query needs a partition key".into()));
        }
        let mut expr = Expr::default();
        let key_condition = expr.key_condition(&query);
        let start = query.cursor.as_deref().map(decode_cursor).transpose()?;
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .set_index_name(query.index.map(|i| i.name().to_string()))
            .key_condition_expression(key_condition)
            .set_expression_attribute_names(expr.names())
            .set_expression_attribute_values(expr.values())
            .scan_index_forward(query.forward)
            .limit(rules::page_size(query.limit) as i32)
            .set_exclusive_start_key(start)
            // Secondary indexes only offer eventually consistent reads.
            .consistent_read(query.index.is_none())
            .send()
            .await
            .map_err(|e| {
                let code =
                    aws_sdk_dynamodb::error::ProvideErrorMetadata::code(&e).map(str::to_string);
                classify(code.as_deref(), describe(&e))
            })?;
        let now = chrono::Utc::now().timestamp();
        let items = out
            .items
            .unwrap_or_default()
            .iter()
            .map(from_attrs)
            .filter(|item| !rules::is_expired(item, now))
            .collect();
        Ok(Page {
            items,
            next: out
                .last_evaluated_key
                .filter(|k| !k.is_empty())
                .map(|k| encode_cursor(&k)),
        })
    }

    async fn transact(&self, ops: Vec<TxOp>) -> Result<(), TableError> {
        rules::check_transaction(&ops)?;
        let mut items = Vec::with_capacity(ops.len());
        for op in &ops {
            let mut expr = Expr::default();
            let item = match op {
                TxOp::Put { item, condition } => {
                    let condition = condition.as_ref().map(|c| expr.condition(c));
                    let put = Put::builder()
                        .table_name(&self.table)
                        .set_item(Some(to_attrs(item)))
                        .set_condition_expression(condition)
                        .set_expression_attribute_names(expr.names())
                        .set_expression_attribute_values(expr.values())
                        .build()
                        .map_err(unavailable)?;
                    TransactWriteItem::builder().put(put).build()
                }
                TxOp::Update {
                    key,
                    update,
                    condition,
                } => {
                    let update_expression = expr.update(update);
                    let condition = condition.as_ref().map(|c| expr.condition(c));
                    let update = DynamoUpdate::builder()
                        .table_name(&self.table)
                        .set_key(Some(key_attrs(key)))
                        .update_expression(update_expression)
                        .set_condition_expression(condition)
                        .set_expression_attribute_names(expr.names())
                        .set_expression_attribute_values(expr.values())
                        .build()
                        .map_err(unavailable)?;
                    TransactWriteItem::builder().update(update).build()
                }
                TxOp::Delete { key, condition } => {
                    let condition = condition.as_ref().map(|c| expr.condition(c));
                    let delete = Delete::builder()
                        .table_name(&self.table)
                        .set_key(Some(key_attrs(key)))
                        .set_condition_expression(condition)
                        .set_expression_attribute_names(expr.names())
                        .set_expression_attribute_values(expr.values())
                        .build()
                        .map_err(unavailable)?;
                    TransactWriteItem::builder().delete(delete).build()
                }
                TxOp::Check { key, condition } => {
                    let condition = expr.condition(condition);
                    let check = ConditionCheck::builder()
                        .table_name(&self.table)
                        .set_key(Some(key_attrs(key)))
                        .condition_expression(condition)
                        .set_expression_attribute_names(expr.names())
                        .set_expression_attribute_values(expr.values())
                        .build()
                        .map_err(unavailable)?;
                    TransactWriteItem::builder().condition_check(check).build()
                }
            };
            items.push(item);
        }
        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) => {
                let service = e.into_service_error();
                if let aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(c) = &service {
                    return Err(cancelled(c.cancellation_reasons(), c.message().unwrap_or_default()));
                }
                let code = aws_sdk_dynamodb::error::ProvideErrorMetadata::code(&service)
                    .map(str::to_string);
                Err(classify(code.as_deref(), describe(&service)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cancellation_message_gives_positions_when_reasons_are_missing() {
        let e = cancelled(
            &[],
            "Transaction cancelled, please refer cancellation reasons for specific reasons [None, ConditionalCheckFailed]",
        );
        assert_eq!(e, TableError::TransactionCancelled { failed: vec![1] });
    }

    #[test]
    fn cursors_round_trip() {
        let key = HashMap::from([
            ("pk".to_string(), AttributeValue::S("A".into())),
            ("sk".to_string(), AttributeValue::S("B#1".into())),
        ]);
        assert_eq!(decode_cursor(&encode_cursor(&key)).unwrap(), key);
        assert!(decode_cursor("!!").is_err());
    }
}
