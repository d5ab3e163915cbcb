//! The campaign life cycle: Draft → Active ⇄ Paused → Completed, and Archived.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CampaignState {
    Draft,
    Active,
    Paused,
    Completed,
    Archived,
}

/// What an operator (or the engine) asks of a campaign.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Transition {
    Activate,
    Pause,
    Resume,
    /// The engine's: the cursor reached the end and every send is final.
    Complete,
    Archive,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("cannot {transition:?} a campaign that is {from:?}")]
pub struct IllegalTransition {
    pub from: CampaignState,
    pub transition: Transition,
}

impl CampaignState {
    pub fn as_str(self) -> &'static str {
        match self {
            CampaignState::Draft => "draft",
            CampaignState::Active => "active",
            CampaignState::Paused => "paused",
            CampaignState::Completed => "completed",
            CampaignState::Archived => "archived",
        }
    }

    /// The state after `transition`, or why it is not allowed.
    ///
    /// An active campaign must be paused before it is archived, so that archiving never races a
    /// run in flight. A paused campaign may complete: its last queued sends can finish while it
    /// is paused.
    pub fn apply(self, transition: Transition) -> Result<CampaignState, IllegalTransition> {
        use CampaignState::*;
        use Transition::*;
        let next = match (self, transition) {
            (Draft, Activate) => Active,
            (Active, Pause) => Paused,
            (Paused, Resume) => Active,
            (Active | Paused, Complete) => Completed,
            (Draft | Paused | Completed, Archive) => Archived,
            (from, transition) => return Err(IllegalTransition { from, transition }),
        };
        Ok(next)
    }

    /// Whether the campaign's settings may still be edited.
    pub fn is_editable(self) -> bool {
        matches!(self, CampaignState::Draft | CampaignState::Paused)
    }
}

#[cfg(test)]
mod tests {
    use super::CampaignState::*;
    use super::Transition::*;
    use super::*;

    #[test]
    fn every_pair_of_state_and_transition() {
        let table = [
            (Draft, Activate, Some(Active)),
            (Draft, Pause, None),
            (Draft, Resume, None),
            (Draft, Complete, None),
            (Draft, Archive, Some(Archived)),
            (Active, Activate, None),
            (Active, Pause, Some(Paused)),
            (Active, Resume, None),
            (Active, Complete, Some(Completed)),
            (Active, Archive, None),
            (Paused, Activate, None),
            (Paused, Pause, None),
            (Paused, Resume, Some(Active)),
            (Paused, Complete, Some(Completed)),
            (Paused, Archive, Some(Archived)),
            (Completed, Activate, None),
            (Completed, Pause, None),
            (Completed, Resume, None),
            (Completed, Complete, None),
            (Completed, Archive, Some(Archived)),
            (Archived, Activate, None),
            (Archived, Pause, None),
            (Archived, Resume, None),
            (Archived, Complete, None),
            (Archived, Archive, None),
        ];
        for (from, transition, expected) in table {
            let got = from.apply(transition);
            match expected {
                Some(to) => assert_eq!(got, Ok(to), "{from:?} {transition:?}"),
                None => assert_eq!(
                    got,
                    Err(IllegalTransition { from, transition }),
                    "{from:?} {transition:?}"
                ),
            }
        }
    }

    #[test]
    fn only_draft_and_paused_are_editable() {
        let editable: Vec<_> = [Draft, Active, Paused, Completed, Archived]
            .into_iter()
            .filter(|s| s.is_editable())
            .collect();
        assert_eq!(editable, vec![Draft, Paused]);
    }

    #[test]
    fn states_serialise_in_snake_case() {
        assert_eq!(serde_json::to_string(&Active).unwrap(), "\"active\"");
        assert_eq!(Paused.as_str(), "paused");
    }
}
