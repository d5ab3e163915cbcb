//! Where campaign records, and the records of other families they read, live in the table
//! (docs/architecture.md, "The single table").

use chrono::{DateTime, SecondsFormat, Utc};

use crate::ports::table::Key;

pub const META: &str = "META";
pub const SEND_PREFIX: &str = "SEND#";
pub const MEMBER_PREFIX: &str = "M#";
pub const ACTIVITY_PREFIX: &str = "ACT#";
pub const REVIEW_PK: &str = "REVIEW";
/// gsi1 partition listing every campaign by creation time.
pub const ALL_CAMPAIGNS: &str = "CAMPAIGNS";
/// gsi2 partition of active campaigns, sorted by next run time.
pub const DUE_ACTIVE: &str = "DUE#active";

/// Times in keys: RFC 3339 UTC with milliseconds, so they sort.
pub fn time_key(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub fn campaign_pk(id: &str) -> String {
    format!("CAMPAIGN#{id}")
}

pub fn campaign(id: &str) -> Key {
    Key::new(campaign_pk(id), META)
}

/// The campaign's tally: `open`, its sends not yet final (planned, sending, unknown). Raised in
/// the transaction that creates sends, lowered after a send turns final; a crash in between
/// leaves it high, never low, so `open == 0` means every send is final.
pub fn tally(id: &str) -> Key {
    Key::new(campaign_pk(id), "TALLY")
}

/// The tally's count of sends not yet final.
pub const OPEN_SENDS: &str = "open";

/// The tally's count of sends ever planned with `variant` (kept with `open`, by the same
/// transactions; the other counters live in `crate::send_counters`).
pub fn planned(variant: trickle_domain::campaign::Variant) -> String {
    format!(
        "{}planned",
        trickle_domain::campaign::counts::variant_prefix(variant)
    )
}

pub fn run(id: &str, slot: &str) -> Key {
    Key::new(campaign_pk(id), format!("RUN#{slot}"))
}

pub fn send(campaign_id: &str, contact_id: &str) -> Key {
    Key::new(
        campaign_pk(campaign_id),
        format!("{SEND_PREFIX}{contact_id}"),
    )
}

pub fn review(at: DateTime<Utc>, contact_id: &str) -> Key {
    Key::new(REVIEW_PK, format!("{}#{contact_id}", time_key(at)))
}

/// The gsi2 sort key of an active campaign: `<next run at>#<id>`.
pub fn due_sort_key(next_run_at: DateTime<Utc>, id: &str) -> String {
    format!("{}#{id}", time_key(next_run_at))
}

// ---- records owned by other families (read only here) ----

pub fn list_pk(list_id: &str) -> String {
    format!("LIST#{list_id}")
}

pub fn list_meta(list_id: &str) -> Key {
    Key::new(list_pk(list_id), META)
}

/// A list member's sort key: 9-digit 0-based position.
pub fn member_sk(position: u64) -> String {
    format!("{MEMBER_PREFIX}{position:09}")
}

pub fn contact_pk(contact_id: &str) -> String {
    format!("CONTACT#{contact_id}")
}

pub fn opt_out(e164: &str) -> Key {
    Key::new(format!("OPTOUT#{e164}"), "STATE")
}

pub fn suppression(e164: &str) -> Key {
    Key::new(format!("SUPPRESS#{e164}"), "SUPPRESS")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn keys_follow_the_documented_layout() {
        let at = Utc.with_ymd_and_hms(2026, 1, 5, 14, 0, 0).unwrap();
        assert_eq!(time_key(at), "2026-01-05T14:00:00.000Z");
        assert_eq!(campaign("cp_1"), Key::new("CAMPAIGN#cp_1", "META"));
        assert_eq!(
            run("cp_1", "2026-01-05"),
            Key::new("CAMPAIGN#cp_1", "RUN#2026-01-05")
        );
        assert_eq!(send("cp_1", "ct_2"), Key::new("CAMPAIGN#cp_1", "SEND#ct_2"));
        assert_eq!(
            review(at, "ct_2"),
            Key::new("REVIEW", "2026-01-05T14:00:00.000Z#ct_2")
        );
        assert_eq!(due_sort_key(at, "cp_1"), "2026-01-05T14:00:00.000Z#cp_1");
        assert_eq!(member_sk(42), "M#000000042");
        assert_eq!(
            opt_out("+12125550134"),
            Key::new("OPTOUT#+12125550134", "STATE")
        );
        assert_eq!(suppression("+1212"), Key::new("SUPPRESS#+1212", "SUPPRESS"));
    }
}
