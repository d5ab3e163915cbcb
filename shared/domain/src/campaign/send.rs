//! One planned message of a campaign to one contact, and its states.

use serde::{Deserialize, Serialize};

/// `PLANNED → SENDING → SENT → DELIVERED`, `SENDING → FAILED`, `SENDING → UNKNOWN → SENT | PLANNED`
/// (see docs/architecture.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SendState {
    Planned,
    Sending,
    Sent,
    Delivered,
    Failed,
    Unknown,
}

impl SendState {
    pub fn as_str(self) -> &'static str {
        match self {
            SendState::Planned => "PLANNED",
            SendState::Sending => "SENDING",
            SendState::Sent => "SENT",
            SendState::Delivered => "DELIVERED",
            SendState::Failed => "FAILED",
            SendState::Unknown => "UNKNOWN",
        }
    }

    /// A final send needs no more work: the provider has it, or it failed for good.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            SendState::Sent | SendState::Delivered | SendState::Failed
        )
    }
}

/// Why a contact of the list was not planned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    OptedOut,
    Suppressed,
    Invalid,
    /// Already planned by this campaign (the contact is in the list twice).
    AlreadyPlanned,
    /// Any activity not caused by this campaign: goes to the review list.
    PreviousCommunication,
    /// Contacted within the campaign's `min_days_since_contact`: goes to the review list.
    RecentContact,
}

impl SkipReason {
    /// Whether a person should look at the contact (the review list).
    pub fn needs_review(self) -> bool {
        matches!(
            self,
            SkipReason::PreviousCommunication | SkipReason::RecentContact
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn final_states() {
        use SendState::*;
        let finals: Vec<_> = [Planned, Sending, Sent, Delivered, Failed, Unknown]
            .into_iter()
            .filter(|s| s.is_final())
            .collect();
        assert_eq!(finals, vec![Sent, Delivered, Failed]);
        assert_eq!(serde_json::to_value(Planned).unwrap(), "PLANNED");
        assert_eq!(Unknown.as_str(), "UNKNOWN");
    }

    #[test]
    fn only_communication_reasons_need_review() {
        use SkipReason::*;
        let review: Vec<_> = [
            OptedOut,
            Suppressed,
            Invalid,
            AlreadyPlanned,
            PreviousCommunication,
            RecentContact,
        ]
        .into_iter()
        .filter(|r| r.needs_review())
        .collect();
        assert_eq!(review, vec![PreviousCommunication, RecentContact]);
    }
}
