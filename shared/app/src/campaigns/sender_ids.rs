//! The provider id (`PN…`) of each sending number. OpenPhone's message lookups take the number's
//! id, not the number, so the send worker resolves it once through `GET /v1/phone-numbers` (one
//! request, with its own slot of the key's budget) and keeps the answer for the process.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::CampaignsError;
use crate::ports::sms::SmsProvider;
use crate::rate::{Admission, RateBudget, RateShare};
use crate::Services;

#[derive(Debug, Clone, Default)]
pub struct SenderIds(Arc<Mutex<HashMap<String, String>>>);

/// A sender's id, or how long to wait for a budget slot to ask for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SenderId {
    Id(String),
    Wait(Duration),
}

impl SenderIds {
    /// The id of `sender` (E.164, or already an id).
    pub async fn id_of(
        &self,
        services: &Services,
        sms: &dyn SmsProvider,
        budget: &RateBudget,
        patience: Duration,
        sender: &str,
    ) -> Result<SenderId, CampaignsError> {
        if sender.starts_with("PN") {
            return Ok(SenderId::Id(sender.to_string()));
        }
        if let Some(id) = self.0.lock().expect("sender ids").get(sender) {
            return Ok(SenderId::Id(id.clone()));
        }
        if let Admission::Wait(wait) = budget
            .acquire_within(services, RateShare::RECONCILE, patience)
            .await?
        {
            return Ok(SenderId::Wait(wait));
        }
        let owned = sms
            .phone_numbers()
            .await
            .map_err(|e| CampaignsError::Provider(format!("phone numbers: {e}")))?;
        let Some(owned) = owned else {
            // A provider that has no ids names its numbers by themselves.
            return Ok(SenderId::Id(sender.to_string()));
        };
        let mut ids = self.0.lock().expect("sender ids");
        for n in owned {
            ids.insert(n.number, n.id);
        }
        ids.get(sender).cloned().map(SenderId::Id).ok_or_else(|| {
            CampaignsError::Provider(format!(
                "{sender} is not a number of this OpenPhone account"
            ))
        })
    }
}
