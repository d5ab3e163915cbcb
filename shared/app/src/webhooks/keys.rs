//! Where the webhook record families live in the single table (`docs/architecture.md`).

use chrono::{DateTime, SecondsFormat, Utc};

use crate::ports::table::Key;

pub fn event(id: &str) -> Key {
    Key::new(format!("EVENT#{id}"), "EVENT")
}

/// gsi1 partition listing events by status.
pub fn events_by_status(status: &str) -> String {
    format!("EVENTS#{status}")
}

/// gsi2 partition listing events by type.
pub fn events_by_type(event_type: &str) -> String {
    format!("EVENTTYPE#{event_type}")
}

/// gsi3 partition listing every event.
pub const ALL_EVENTS: &str = "EVENTS";

pub fn activity(contact_id: &str, at: DateTime<Utc>, provider_id: &str) -> Key {
    Key::new(
        format!("CONTACT#{contact_id}"),
        format!("ACT#{}#{provider_id}", sort_time(at)),
    )
}

pub const ACTIVITY_PREFIX: &str = "ACT#";

pub fn contact_partition(contact_id: &str) -> String {
    format!("CONTACT#{contact_id}")
}

/// Makes activity writes idempotent: names the activity a provider id became.
pub fn provider_guard(provider_id: &str) -> Key {
    Key::new(format!("PROVIDER#{provider_id}"), "GUARD")
}

/// Artefacts (recording, transcript, summary, stored media) that arrived for a provider id,
/// kept so that they land on the activity whichever is written first.
pub fn provider_pending(provider_id: &str) -> Key {
    Key::new(format!("PROVIDER#{provider_id}"), "PENDING")
}

pub fn opt_out_state(e164: &str) -> Key {
    Key::new(format!("OPTOUT#{e164}"), "STATE")
}

pub fn opt_out_partition(e164: &str) -> String {
    format!("OPTOUT#{e164}")
}

pub fn opt_out_audit(e164: &str, at: DateTime<Utc>, discriminator: &str) -> Key {
    Key::new(
        format!("OPTOUT#{e164}"),
        format!("AUDIT#{}#{discriminator}", sort_time(at)),
    )
}

/// gsi1 partition listing opt-out states.
pub const OPT_OUTS: &str = "OPTOUTS";

/// The automatic reply (confirmation or help) owed for one inbound message: claimed before the
/// send so that a repeated delivery never sends it twice.
pub fn auto_reply(e164: &str, inbound_message_id: &str) -> Key {
    Key::new(
        format!("OPTOUT#{e164}"),
        format!("REPLY#{inbound_message_id}"),
    )
}

/// The reverse index a campaign send writes so an inbound reply finds the sends of its contact.
pub fn campaign_ref(contact_id: &str, campaign_id: &str) -> Key {
    Key::new(
        format!("CONTACT#{contact_id}"),
        format!("CAMPAIGNREF#{campaign_id}"),
    )
}

pub const CAMPAIGN_REF_PREFIX: &str = "CAMPAIGNREF#";

pub fn campaign_send(campaign_id: &str, contact_id: &str) -> Key {
    Key::new(
        format!("CAMPAIGN#{campaign_id}"),
        format!("SEND#{contact_id}"),
    )
}

/// gsi3 partition of a campaign send once it has a provider message id.
pub fn send_by_message(provider_message_id: &str) -> String {
    format!("SENDMSG#{provider_message_id}")
}

/// RFC 3339 UTC with milliseconds: sorts as text.
pub fn sort_time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}
