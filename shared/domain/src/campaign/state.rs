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
#[error("{} campaign cannot be {} ({})", .from.with_article(), .transition.done(), self.what_can())]
pub struct IllegalTransition {
    pub from: CampaignState,
    pub transition: Transition,
}

impl IllegalTransition {
    /// Which campaigns the move is for, so the person knows what to do instead.
    fn what_can(&self) -> &'static str {
        match (self.transition, self.from) {
            (Transition::Archive, CampaignState::Active) => "pause it first",
            (Transition::Activate, _) => "only a draft can",
            (Transition::Pause, _) => "only an active one can",
            (Transition::Resume, _) => "only a paused one can",
            (Transition::Complete, _) => "only an active or paused one can",
            (Transition::Archive, _) => "only a draft, paused or completed one can",
        }
    }
}

impl Transition {
    /// The past participle: "activated", "paused"…
    pub fn done(self) -> &'static str {
        match self {
            Transition::Activate => "activated",
            Transition::Pause => "paused",
            Transition::Resume => "resumed",
            Transition::Complete => "completed",
            Transition::Archive => "archived",
        }
    }
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

    /// "a draft", "an active"… as a sentence needs it.
    pub fn with_article(self) -> &'static str {
        match self {
            CampaignState::Draft => "a draft",
            CampaignState::Active => "an active",
            CampaignState::Paused => "a paused",
            CampaignState::Completed => "a completed",
            CampaignState::Archived => "an archived",
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
    fn an_illegal_move_is_said_in_plain_grammatical_words() {
        let said = |from, transition| IllegalTransition { from, transition }.to_string();
        assert_eq!(
            said(Active, Activate),
            "an active campaign cannot be activated (only a draft can)"
        );
        assert_eq!(
            said(Archived, Resume),
            "an archived campaign cannot be resumed (only a paused one can)"
        );
        assert_eq!(
            said(Active, Archive),
            "an active campaign cannot be archived (pause it first)"
        );
        assert_eq!(
            said(Draft, Pause),
            "a draft campaign cannot be paused (only an active one can)"
        );
    }

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
