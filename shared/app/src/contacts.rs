//! Contacts: created once per phone number, found by id, by phone, or by the start of a name.
//!
//! A contact with a name sits in two index entries of the `CONTACT_NAMES` partition, so a search
//! finds "Ann Lee" by "ann", "ann l" and "lee": gsi1 sorts by `first last`, gsi3 by `last first`
//! (lowercase, single spaces, then `#<id>`). Names are set when a contact is created.

use std::collections::BTreeMap;

use serde_json::Value;
use trickle_domain::{Contact, ContactError, ContactId, NewContact, PhoneNumber, RawContact};

use crate::ports::table::{Index, Query, SortKeyCondition, TableError};
use crate::records;
use crate::Services;

#[derive(Debug, thiserror::Error)]
pub enum ContactsError {
    #[error(transparent)]
    Invalid(#[from] ContactError),
    #[error("a contact with phone {phone} exists already ({existing})")]
    DuplicatePhone { phone: String, existing: String },
    #[error("contact not found")]
    NotFound,
    #[error("stored contact is unreadable: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Store(#[from] TableError),
}

/// Creates the contact, refusing a phone number that another contact holds.
pub async fn create(services: &Services, raw: RawContact) -> Result<Contact, ContactsError> {
    create_new(services, NewContact::parse(raw)?).await
}

/// Creates an already validated contact (e.g. one read from an import), with the same
/// phone-uniqueness transaction.
pub async fn create_new(services: &Services, new: NewContact) -> Result<Contact, ContactsError> {
    let (contact, ops) = new_contact_ops(services, new)?;
    match services.table.transact(ops.into()).await {
        Ok(()) => Ok(contact),
        Err(TableError::TransactionCancelled { failed }) if failed.contains(&0) => {
            Err(duplicate(services, &contact).await?)
        }
        Err(e) => Err(e.into()),
    }
}

/// [`create_new`] for many contacts at once (an import's finish step), in as few transactions
/// as the store takes. A transaction that fails (a number got its contact meanwhile) is done
/// again contact by contact. Answers in the order of `news`.
pub async fn create_new_all(
    services: &Services,
    news: Vec<NewContact>,
) -> Result<Vec<Result<Contact, ContactsError>>, ContactsError> {
    let mut contacts = Vec::with_capacity(news.len());
    let mut groups = Vec::with_capacity(news.len());
    for new in news {
        let (contact, ops) = new_contact_ops(services, new)?;
        contacts.push(contact);
        groups.push(ops.to_vec());
    }
    let mut out = Vec::with_capacity(contacts.len());
    let mut contacts = contacts.into_iter();
    for tx in crate::ports::table::rules::pack(groups) {
        let these: Vec<Contact> = contacts.by_ref().take(tx.len() / 2).collect();
        match services.table.transact(tx).await {
            Ok(()) => out.extend(these.into_iter().map(Ok)),
            Err(e) if e.is_condition_failure() => {
                for contact in these {
                    let ops = contact_ops(&contact)?;
                    out.push(match services.table.transact(ops.into()).await {
                        Ok(()) => Ok(contact),
                        Err(TableError::TransactionCancelled { failed }) if failed.contains(&0) => {
                            Err(duplicate(services, &contact).await?)
                        }
                        Err(e) => Err(e.into()),
                    });
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(out)
}

/// The refusal of a contact whose number another contact holds.
async fn duplicate(services: &Services, contact: &Contact) -> Result<ContactsError, ContactsError> {
    let existing = holder_of(services, &contact.phone)
        .await?
        .unwrap_or_default();
    Ok(ContactsError::DuplicatePhone {
        phone: contact.phone.to_string(),
        existing,
    })
}

/// A new contact and the two writes that create it: its phone guard, then the contact.
fn new_contact_ops(
    services: &Services,
    new: NewContact,
) -> Result<(Contact, [crate::ports::table::TxOp; 2]), ContactsError> {
    let contact = Contact::create(ContactId::new(), new, services.clock.now());
    let ops = contact_ops(&contact)?;
    Ok((contact, ops))
}

fn contact_ops(contact: &Contact) -> Result<[crate::ports::table::TxOp; 2], ContactsError> {
    let guard_key = records::phone_guard(contact.phone.as_str());
    let mut guard = records::to_item(&guard_key, &serde_json::json!({}))
        .map_err(|e| ContactsError::Corrupt(e.to_string()))?;
    guard.insert("contact_id".into(), Value::from(contact.id.as_str()));
    let mut item = records::to_item(&records::contact(contact.id.as_str()), contact)
        .map_err(|e| ContactsError::Corrupt(e.to_string()))?;
    for (index, sort_key) in name_keys(contact) {
        item.insert(index.pk_attr().into(), NAMES.into());
        item.insert(index.sk_attr().into(), sort_key.into());
    }
    Ok(records::guarded_ops(guard, item))
}

pub async fn get(services: &Services, id: &str) -> Result<Contact, ContactsError> {
    let item = services
        .table
        .get(&records::contact(id))
        .await?
        .ok_or(ContactsError::NotFound)?;
    records::from_item(item).map_err(|e| ContactsError::Corrupt(e.to_string()))
}

pub async fn find_by_phone(
    services: &Services,
    phone: &PhoneNumber,
) -> Result<Option<Contact>, ContactsError> {
    match holder_of(services, phone).await? {
        Some(id) => match get(services, &id).await {
            Ok(contact) => Ok(Some(contact)),
            Err(ContactsError::NotFound) => Ok(None),
            Err(e) => Err(e),
        },
        None => Ok(None),
    }
}

/// The id of the contact holding `phone`, from the phone guard (one strongly consistent read).
pub async fn holder_of(
    services: &Services,
    phone: &PhoneNumber,
) -> Result<Option<String>, ContactsError> {
    let guard = services
        .table
        .get(&records::phone_guard(phone.as_str()))
        .await?;
    Ok(guard.and_then(|g| {
        g.get("contact_id")
            .and_then(Value::as_str)
            .map(str::to_string)
    }))
}

/// The index partition of contacts by name.
const NAMES: &str = "CONTACT_NAMES";

/// Lowercase words joined by single spaces: how names are indexed and searched.
fn normalize(text: &str) -> String {
    text.split_whitespace()
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The contact's name index entries: `first last#id` on gsi1, `last first#id` on gsi3.
fn name_keys(contact: &Contact) -> Vec<(Index, String)> {
    let first = normalize(contact.first_name.as_deref().unwrap_or(""));
    let last = normalize(contact.last_name.as_deref().unwrap_or(""));
    if first.is_empty() && last.is_empty() {
        return Vec::new();
    }
    let id = contact.id.as_str();
    let joined = |a: &str, b: &str| normalize(&format!("{a} {b}"));
    let mut keys = vec![(Index::Gsi1, format!("{}#{id}", joined(&first, &last)))];
    if !first.is_empty() && !last.is_empty() {
        keys.push((Index::Gsi3, format!("{}#{id}", joined(&last, &first))));
    }
    keys
}

/// Contacts whose name starts with `query` (first then last name, or last then first), in name
/// order, at most `limit`. An empty query finds nobody.
pub async fn search_by_name(
    services: &Services,
    query: &str,
    limit: u32,
) -> Result<Vec<Contact>, ContactsError> {
    let prefix = normalize(query);
    if prefix.is_empty() {
        return Ok(Vec::new());
    }
    let limit = limit.clamp(1, 100);
    // Both orders, merged by contact id (someone called "Lee Lee" appears in both).
    let mut found: BTreeMap<String, String> = BTreeMap::new();
    for index in [Index::Gsi1, Index::Gsi3] {
        let page = services
            .table
            .query(
                Query::on_index(index, NAMES)
                    .sk(SortKeyCondition::BeginsWith(prefix.clone()))
                    .limit(limit),
            )
            .await?;
        for item in page.items {
            let Some(sort_key) = item.get(index.sk_attr()).and_then(Value::as_str) else {
                continue;
            };
            if let Some((name, id)) = sort_key.rsplit_once('#') {
                found
                    .entry(id.to_string())
                    .or_insert_with(|| name.to_string());
            }
        }
    }
    let mut ranked: Vec<(String, String)> = found.into_iter().map(|(id, n)| (n, id)).collect();
    ranked.sort();
    let mut contacts = Vec::new();
    for (_, id) in ranked.into_iter().take(limit as usize) {
        match get(services, &id).await {
            Ok(c) => contacts.push(c),
            Err(ContactsError::NotFound) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(contacts)
}
