//! Contacts: created once per phone number, found by id or by phone.

use serde_json::Value;
use trickle_domain::{Contact, ContactError, ContactId, NewContact, PhoneNumber, RawContact};

use crate::ports::table::TableError;
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
    let contact = Contact::create(ContactId::new(), new, services.clock.now());
    let guard_key = records::phone_guard(contact.phone.as_str());
    let mut guard = records::to_item(&guard_key, &serde_json::json!({}))
        .map_err(|e| ContactsError::Corrupt(e.to_string()))?;
    guard.insert("contact_id".into(), Value::from(contact.id.as_str()));
    let item = records::to_item(&records::contact(contact.id.as_str()), &contact)
        .map_err(|e| ContactsError::Corrupt(e.to_string()))?;
    let written = records::put_guarded(services.table.as_ref(), guard, item).await;
    match written {
        Ok(()) => Ok(contact),
        Err(TableError::TransactionCancelled { failed }) if failed.contains(&0) => {
            let existing = holder_of(services, &contact.phone)
                .await?
                .unwrap_or_default();
            Err(ContactsError::DuplicatePhone {
                phone: contact.phone.to_string(),
                existing,
            })
        }
        Err(e) => Err(e.into()),
    }
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
