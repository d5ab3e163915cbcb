//! "Continue with the winner": once both messages have enough sends and the reply rates differ
//! at 95%, the rest of the list gets the message with more replies. The switch is made once,
//! recorded with its p-value and the counts it was decided on, and never undone; without
//! significance nothing switches and the split goes on to the end.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::significance::reply_rate_test;
use super::variant::Variant;

pub const DEFAULT_MIN_SENDS_EACH: u32 = 100;
pub const MIN_SENDS_EACH_RANGE: std::ops::RangeInclusive<u32> = 10..=100_000;

/// The operator's choice to continue with the winner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AutoWinner {
    /// Sends each message needs before the test may decide.
    #[serde(default = "default_min_sends")]
    pub min_sends_each: u32,
}

fn default_min_sends() -> u32 {
    DEFAULT_MIN_SENDS_EACH
}

impl Default for AutoWinner {
    fn default() -> Self {
        Self {
            min_sends_each: DEFAULT_MIN_SENDS_EACH,
        }
    }
}

/// Replies of one message when the switch was decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct VariantCounts {
    pub sent: u64,
    pub replied: u64,
}

/// The switch as recorded on the campaign.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WinnerSwitch {
    pub variant: Variant,
    pub p_value: f64,
    pub a: VariantCounts,
    pub b: VariantCounts,
    pub at: DateTime<Utc>,
    /// List position from which every member gets the winner.
    pub from_position: u64,
}

/// Why the campaign has not switched (for the console and the API).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NoSwitch {
    /// A message has fewer sends than the minimum.
    TooFewSends,
    /// Both have enough sends and the difference is not significant at 95%.
    NotSignificant,
}

/// The winner, if the counts decide one under `auto`.
pub fn decide(
    auto: &AutoWinner,
    a: VariantCounts,
    b: VariantCounts,
) -> Result<(Variant, f64), NoSwitch> {
    let min = u64::from(auto.min_sends_each);
    if a.sent < min || b.sent < min {
        return Err(NoSwitch::TooFewSends);
    }
    match reply_rate_test(a.sent, a.replied, b.sent, b.replied) {
        Some(test) => match test.winner {
            Some(winner) => Ok((winner, test.p_value)),
            None => Err(NoSwitch::NotSignificant),
        },
        None => Err(NoSwitch::NotSignificant),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(sent: u64, replied: u64) -> VariantCounts {
        VariantCounts { sent, replied }
    }

    #[test]
    fn a_significant_difference_with_enough_sends_decides() {
        let auto = AutoWinner::default();
        let (winner, p) = decide(&auto, counts(100, 30), counts(100, 15)).unwrap();
        assert_eq!(winner, Variant::A);
        assert!(p < 0.05, "{p}");
        assert_eq!(
            decide(&auto, counts(100, 15), counts(120, 40)).unwrap().0,
            Variant::B
        );
    }

    #[test]
    fn nothing_switches_below_the_minimum_or_without_significance() {
        let auto = AutoWinner::default();
        // Even a huge difference waits for 100 sends each.
        assert_eq!(
            decide(&auto, counts(99, 60), counts(100, 1)),
            Err(NoSwitch::TooFewSends)
        );
        assert_eq!(
            decide(&auto, counts(100, 12), counts(100, 10)),
            Err(NoSwitch::NotSignificant)
        );
        // Nobody replied at all: no test, no switch.
        assert_eq!(
            decide(&auto, counts(500, 0), counts(500, 0)),
            Err(NoSwitch::NotSignificant)
        );
        let low = AutoWinner { min_sends_each: 10 };
        assert!(decide(&low, counts(40, 20), counts(40, 2)).is_ok());
    }

    #[test]
    fn unknown_fields_are_refused_and_the_minimum_defaults_to_100() {
        let auto: AutoWinner = serde_json::from_str("{}").unwrap();
        assert_eq!(auto.min_sends_each, 100);
        assert!(serde_json::from_str::<AutoWinner>(r#"{"min_sends":5}"#).is_err());
    }
}
