//! The contact an event is about: found by phone, or created from it.

use trickle_domain::{PhoneNumber, RawContact};

use crate::contacts::{self, ContactsError};
use crate::worker::HandlerError;
use crate::Services;

use super::{permanent, transient};

/// The contact holding `phone`, created (source `webhook`) when none does yet.
pub async fn upsert_by_phone(
    services: &Services,
    phone: &str,
) -> Result<(String, PhoneNumber), HandlerError> {
    let number =
        PhoneNumber::parse(phone).map_err(|e| permanent(format!("phone {phone:?}: {e}")))?;
    if let Some(contact) = contacts::find_by_phone(services, &number)
        .await
        .map_err(transient)?
    {
        return Ok((contact.id.as_str().to_string(), number));
    }
    let raw = RawContact {
        phone: number.as_str().to_string(),
        first_name: None,
        last_name: None,
        email: None,
        attributes: None,
    };
    match contacts::create(services, raw).await {
        Ok(contact) => Ok((contact.id.as_str().to_string(), number)),
        // Another worker created it a moment ago.
        Err(ContactsError::DuplicatePhone { existing, .. }) if !existing.is_empty() => {
            Ok((existing, number))
        }
        Err(ContactsError::Invalid(e)) => Err(permanent(e)),
        Err(e) => Err(transient(e)),
    }
}
