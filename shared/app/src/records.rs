//! Where each kind of record lives in the single table, and how records map to items.

use serde::{de::DeserializeOwned, Serialize};
use serde_json::Value;

use crate::ports::table::{Index, Item, Key, PK, SK};

pub fn contact(id: &str) -> Key {
    Key::new(format!("CONTACT#{id}"), "PROFILE")
}

/// Guards phone uniqueness: written in the same transaction as the contact it names.
pub fn phone_guard(e164: &str) -> Key {
    Key::new(format!("PHONE#{e164}"), "UNIQUE")
}

/// A record as an item under `key`: the record's own fields plus the key attributes.
pub fn to_item<T: Serialize>(key: &Key, record: &T) -> Result<Item, serde_json::Error> {
    let mut item = match serde_json::to_value(record)? {
        Value::Object(map) => map,
        other => {
            let mut map = Item::new();
            map.insert("value".into(), other);
            map
        }
    };
    item.insert(PK.into(), key.pk.clone().into());
    item.insert(SK.into(), key.sk.clone().into());
    Ok(item)
}

/// The record stored in an item, ignoring the key and index attributes.
pub fn from_item<T: DeserializeOwned>(mut item: Item) -> Result<T, serde_json::Error> {
    item.remove(PK);
    item.remove(SK);
    for index in Index::ALL {
        item.remove(index.pk_attr());
        item.remove(index.sk_attr());
    }
    serde_json::from_value(Value::Object(item))
}

/// The two writes that store `item` with the `guard` item making it unique (phone, provider id),
/// each only if absent: a guard that exists already fails the transaction at its position.
pub fn guarded_ops(guard: Item, item: Item) -> [crate::ports::table::TxOp; 2] {
    use crate::ports::table::{Condition, TxOp};
    [
        TxOp::Put {
            item: guard,
            condition: Some(Condition::ItemAbsent),
        },
        TxOp::Put {
            item,
            condition: Some(Condition::ItemAbsent),
        },
    ]
}
