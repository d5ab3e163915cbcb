//! The hourly webhook health check: the token a check message carries, and when to alert.

use std::fmt;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// Every health-check text starts with this, so the webhook path can recognise one cheaply.
pub const HEALTH_TEXT_PREFIX: &str = "trickle health check ";

/// A unique token carried by one check's message.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct HealthToken(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a health-check token")]
pub struct HealthTokenError(String);

impl HealthToken {
    const PREFIX: &'static str = "hc_";

    pub fn new() -> Self {
        Self(format!("{}{}", Self::PREFIX, uuid::Uuid::new_v4().simple()))
    }

    pub fn parse(text: &str) -> Result<Self, HealthTokenError> {
        let hex = text
            .strip_prefix(Self::PREFIX)
            .filter(|h| h.len() == 32 && h.bytes().all(|b| b.is_ascii_hexdigit()))
            .ok_or_else(|| HealthTokenError(text.to_string()))?;
        Ok(Self(format!(
            "{}{}",
            Self::PREFIX,
            hex.to_ascii_lowercase()
        )))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The text the check sends.
    pub fn message_text(&self) -> String {
        format!("{HEALTH_TEXT_PREFIX}{}", self.0)
    }

    /// The token of a received health-check text, if it is one (whitespace around is ignored,
    /// anything else in the text means it is not ours).
    pub fn find_in(text: &str) -> Option<Self> {
        text.trim()
            .strip_prefix(HEALTH_TEXT_PREFIX)
            .and_then(|rest| Self::parse(rest.trim()).ok())
    }
}

impl Default for HealthToken {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for HealthToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for HealthToken {
    type Error = HealthTokenError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<HealthToken> for String {
    fn from(token: HealthToken) -> Self {
        token.0
    }
}

/// Whether the alerting is currently in a failed spell, and when it last mailed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertState {
    pub failing_since: Option<DateTime<Utc>>,
    pub last_alert_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertAction {
    Nothing,
    /// The state just turned failed.
    Failure,
    /// Still failing, and the last mail is older than the reminder interval.
    Reminder,
    /// Passing again after a failed spell.
    Recovery,
}

/// One alert when the state turns failed, a reminder at most every `reminder_every` while it
/// stays failed, one recovery when it passes again.
pub fn next_alert(
    state: &AlertState,
    passed: bool,
    now: DateTime<Utc>,
    reminder_every: Duration,
) -> (AlertAction, AlertState) {
    match (passed, state.failing_since) {
        (true, None) => (AlertAction::Nothing, state.clone()),
        (true, Some(_)) => (AlertAction::Recovery, AlertState::default()),
        (false, None) => (
            AlertAction::Failure,
            AlertState {
                failing_since: Some(now),
                last_alert_at: Some(now),
            },
        ),
        (false, Some(since)) => {
            let due = state
                .last_alert_at
                .is_none_or(|last| now - last >= reminder_every);
            if due {
                (
                    AlertAction::Reminder,
                    AlertState {
                        failing_since: Some(since),
                        last_alert_at: Some(now),
                    },
                )
            } else {
                (AlertAction::Nothing, state.clone())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minutes: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + minutes * 60, 0).unwrap()
    }

    #[test]
    fn tokens_round_trip_and_are_found_only_in_check_texts() {
        let token = HealthToken::new();
        assert_eq!(HealthToken::parse(token.as_str()).unwrap(), token);
        assert_eq!(
            HealthToken::find_in(&token.message_text()),
            Some(token.clone())
        );
        assert_eq!(
            HealthToken::find_in(&format!("  {}\n", token.message_text())),
            Some(token.clone())
        );
        for not_ours in [
            "STOP".to_string(),
            format!("hello {}", token.message_text()),
            format!("{} and more", token.message_text()),
            format!("{HEALTH_TEXT_PREFIX}hc_123"),
            token.as_str().to_string(),
        ] {
            assert_eq!(HealthToken::find_in(&not_ours), None, "{not_ours:?}");
        }
        assert_ne!(HealthToken::new(), HealthToken::new());
    }

    #[test]
    fn alerts_follow_failure_reminder_and_recovery() {
        let every = Duration::hours(6);
        let passing = AlertState::default();
        // (minutes since start, passed?, expected action)
        let script = [
            (0, true, AlertAction::Nothing),
            (60, false, AlertAction::Failure),
            (120, false, AlertAction::Nothing),
            (300, false, AlertAction::Nothing),
            (420, false, AlertAction::Reminder),
            (480, false, AlertAction::Nothing),
            (780, false, AlertAction::Reminder),
            (840, true, AlertAction::Recovery),
            (900, true, AlertAction::Nothing),
            (960, false, AlertAction::Failure),
        ];
        let mut state = passing;
        for (minute, passed, expected) in script {
            let (action, next) = next_alert(&state, passed, at(minute), every);
            assert_eq!(action, expected, "at minute {minute}");
            state = next;
        }
        assert_eq!(state.failing_since, Some(at(960)));
    }
}
