//! The send worker's decisions, as pure functions of what it read: what to do with a queued
//! send, what a provider answer means, and how an UNKNOWN send is resolved. Never a blind
//! resend: a send that may have reached the provider is only planned again after a lookup of the
//! provider's messages came back without it, and after a settle delay.

use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use trickle_domain::campaign::{CampaignState, SendState, SendWindow};

use super::sends::SendRecord;
use crate::ports::queue::MAX_DELAY;
use crate::ports::sms::{Direction, ProviderMessage, SmsError};

#[derive(Debug, Clone)]
pub struct SendSettings {
    /// How long a claim holds before another worker may resolve it.
    pub lease: Duration,
    /// How long after the claim a missing provider message is taken as never sent.
    pub settle: Duration,
    /// Backoff after a 429, per attempt (doubling, capped at the queue's 15 minutes).
    pub rate_limit_backoff: Duration,
    /// Delay before trying again when the provider was unreachable (the request never left).
    pub unavailable_retry: Duration,
    /// When failures pause the campaign.
    pub error_guard: super::error_guard::ErrorGuard,
}

impl Default for SendSettings {
    fn default() -> Self {
        Self {
            lease: Duration::seconds(60),
            settle: Duration::minutes(2),
            rate_limit_backoff: Duration::seconds(1),
            unavailable_retry: Duration::seconds(5),
            error_guard: Default::default(),
        }
    }
}

/// What to do with a queued send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NextStep {
    /// Nothing more to do for this message (final, or its campaign is not running: a resume
    /// re-enqueues what is still PLANNED).
    Drop(&'static str),
    /// Try again later (quiet hours, someone else's live claim).
    Wait(StdDuration),
    /// Look the message up at the provider before anything else.
    Resolve,
    /// Claim it and send.
    Claim,
}

pub fn next_step(
    send: &SendRecord,
    campaign: CampaignState,
    quiet: SendWindow,
    now: DateTime<Utc>,
) -> NextStep {
    match send.state {
        s if s.is_final() => NextStep::Drop("already final"),
        // A lookup is not a send: resolve even while paused, so nothing stays in doubt.
        SendState::Unknown => NextStep::Resolve,
        SendState::Sending => match send.lease_until {
            Some(until) if until > now => NextStep::Wait(delay_until(now, until)),
            _ => NextStep::Resolve,
        },
        _ if campaign != CampaignState::Active => NextStep::Drop("campaign not active"),
        // Deferred by the sender's daily cap: hop on the queue until that day comes.
        _ if send.not_before.is_some_and(|at| at > now) => {
            NextStep::Wait(delay_until(now, send.not_before.unwrap_or(now)))
        }
        _ => match quiet {
            SendWindow::Now => NextStep::Claim,
            SendWindow::WaitUntil(at) => NextStep::Wait(delay_until(now, at)),
        },
    }
}

/// A queue delay towards `at`, within the queue's 15-minute ceiling (the message comes back and
/// waits again if it is still early) and never zero.
pub fn delay_until(now: DateTime<Utc>, at: DateTime<Utc>) -> StdDuration {
    let wanted = (at - now).to_std().unwrap_or(StdDuration::ZERO);
    wanted.clamp(StdDuration::from_secs(1), MAX_DELAY)
}

/// What a provider answer to the send means for the record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AfterSend {
    Sent {
        provider_id: String,
    },
    /// Back to PLANNED and on the queue again after `delay`: the provider did not act.
    Replan {
        delay: StdDuration,
        reason: String,
    },
    /// FAILED for good: the provider refused this message.
    Failed {
        reason: String,
    },
    /// The provider refused the sender or the key, not this message (A2P registration not
    /// approved, 403 "Not Phone Number User", 401): every send would fail alike. PLANNED again,
    /// the campaign paused with one alert; resuming after the fix sends it.
    SenderRefused {
        reason: String,
    },
    /// The request may have reached the provider: UNKNOWN until a lookup says otherwise.
    Unknown {
        reason: String,
    },
}

pub fn after_send(
    result: &Result<ProviderMessage, SmsError>,
    attempts: u32,
    settings: &SendSettings,
) -> AfterSend {
    match result {
        Ok(message) => AfterSend::Sent {
            provider_id: message.id.clone(),
        },
        Err(SmsError::RateLimited) => AfterSend::Replan {
            delay: backoff(settings.rate_limit_backoff, attempts),
            reason: "rate limited (429)".into(),
        },
        Err(SmsError::Unavailable(m)) => AfterSend::Replan {
            delay: settings
                .unavailable_retry
                .to_std()
                .unwrap_or(StdDuration::from_secs(5)),
            reason: format!("provider unreachable: {m}"),
        },
        Err(SmsError::Rejected {
            status,
            code,
            message,
            a2p_unregistered,
        }) => {
            let reason = format!("{status} {code}: {message}");
            if *a2p_unregistered || matches!(status, 401 | 403) {
                AfterSend::SenderRefused { reason }
            } else {
                AfterSend::Failed { reason }
            }
        }
        Err(SmsError::Ambiguous(m)) => AfterSend::Unknown { reason: m.clone() },
    }
}

/// `base · 2^(attempts−1)`, at most the queue's 15 minutes.
pub fn backoff(base: Duration, attempts: u32) -> StdDuration {
    let base = base.to_std().unwrap_or(StdDuration::from_secs(1));
    base.saturating_mul(1u32 << attempts.saturating_sub(1).min(16))
        .min(MAX_DELAY)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    /// The provider has it: SENT with this id.
    Sent { provider_id: String },
    /// Absent after the settle delay: it never went out; plan it again.
    Replan,
    /// Absent, but too soon to be sure: look again after this.
    LookAgain(StdDuration),
}

/// Resolves an UNKNOWN (or lease-expired SENDING) send from the provider's messages of the
/// thread since the claim: an outgoing message with the same text is the one.
pub fn resolve(
    messages: &[ProviderMessage],
    text: &str,
    claimed_at: DateTime<Utc>,
    now: DateTime<Utc>,
    settings: &SendSettings,
) -> Resolution {
    let wanted = text.trim();
    // Provider clocks drift a little from ours.
    let since = claimed_at - Duration::seconds(30);
    let found = messages.iter().find(|m| {
        m.direction == Direction::Outgoing && m.created_at >= since && m.text.trim() == wanted
    });
    if let Some(m) = found {
        return Resolution::Sent {
            provider_id: m.id.clone(),
        };
    }
    let settled_at = claimed_at + settings.settle;
    if now >= settled_at {
        Resolution::Replan
    } else {
        Resolution::LookAgain(delay_until(now, settled_at))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use trickle_domain::campaign::Variant;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn send(state: SendState, lease_until: Option<&str>) -> SendRecord {
        SendRecord {
            campaign_id: "cp_1".into(),
            contact_id: "ct_1".into(),
            phone: "+12125550134".into(),
            position: 0,
            variant: Variant::A,
            state,
            slot: "2026-01-05".into(),
            planned_at: t("2026-01-05T15:00:00Z"),
            updated_at: t("2026-01-05T15:00:00Z"),
            attempts: 1,
            provider_id: None,
            sent_at: None,
            error: None,
            claimed_at: None,
            lease_until: lease_until.map(t),
            text: None,
            not_before: None,
            sender: None,
            failure: None,
            sent_local: None,
            delivered_at: None,
            replied_at: None,
            opted_out_at: None,
        }
    }

    fn message(id: &str, text: &str, direction: Direction, at: &str) -> ProviderMessage {
        ProviderMessage {
            id: id.into(),
            from: "+12125550100".into(),
            to: vec!["+12125550134".into()],
            text: text.into(),
            direction,
            status: "sent".into(),
            phone_number_id: None,
            created_at: t(at),
        }
    }

    #[test]
    fn next_step_table() {
        use CampaignState::*;
        use SendState::*;
        let now = t("2026-01-05T15:00:00Z");
        let open = SendWindow::Now;
        let closed = SendWindow::WaitUntil(t("2026-01-05T15:10:00Z"));
        let far = SendWindow::WaitUntil(t("2026-01-06T13:00:00Z"));
        let cases = [
            (send(Planned, None), Active, open, NextStep::Claim),
            (
                send(Planned, None),
                Active,
                closed,
                NextStep::Wait(StdDuration::from_secs(600)),
            ),
            // Quiet until tomorrow: wait the queue's longest delay and check again.
            (send(Planned, None), Active, far, NextStep::Wait(MAX_DELAY)),
            (
                send(Planned, None),
                Paused,
                open,
                NextStep::Drop("campaign not active"),
            ),
            (
                send(Planned, None),
                Archived,
                open,
                NextStep::Drop("campaign not active"),
            ),
            (
                send(Sent, None),
                Active,
                open,
                NextStep::Drop("already final"),
            ),
            (
                send(Delivered, None),
                Paused,
                open,
                NextStep::Drop("already final"),
            ),
            (
                send(Failed, None),
                Active,
                open,
                NextStep::Drop("already final"),
            ),
            (send(Unknown, None), Active, open, NextStep::Resolve),
            (send(Unknown, None), Paused, closed, NextStep::Resolve),
            (
                send(Sending, Some("2026-01-05T15:00:30Z")),
                Active,
                open,
                NextStep::Wait(StdDuration::from_secs(30)),
            ),
            (
                send(Sending, Some("2026-01-05T15:00:00Z")),
                Active,
                open,
                NextStep::Resolve,
            ),
            (send(Sending, None), Paused, open, NextStep::Resolve),
            (
                SendRecord {
                    not_before: Some(t("2026-01-05T15:05:00Z")),
                    ..send(Planned, None)
                },
                Active,
                open,
                NextStep::Wait(StdDuration::from_secs(300)),
            ),
            (
                SendRecord {
                    not_before: Some(t("2026-01-05T15:00:00Z")),
                    ..send(Planned, None)
                },
                Active,
                open,
                NextStep::Claim,
            ),
        ];
        for (i, (s, campaign, quiet, expected)) in cases.into_iter().enumerate() {
            assert_eq!(next_step(&s, campaign, quiet, now), expected, "case {i}");
        }
    }

    #[test]
    fn provider_answers_table() {
        let settings = SendSettings::default();
        let ok = Ok(message(
            "AC1",
            "hi",
            Direction::Outgoing,
            "2026-01-05T15:00:00Z",
        ));
        assert_eq!(
            after_send(&ok, 1, &settings),
            AfterSend::Sent {
                provider_id: "AC1".into()
            }
        );
        // 429: replanned, with a doubling delay, never a failure.
        for (attempts, secs) in [(1, 1), (2, 2), (3, 4), (6, 32), (30, 900)] {
            assert_eq!(
                after_send(&Err(SmsError::RateLimited), attempts, &settings),
                AfterSend::Replan {
                    delay: StdDuration::from_secs(secs),
                    reason: "rate limited (429)".into()
                },
                "attempts {attempts}"
            );
        }
        assert!(matches!(
            after_send(&Err(SmsError::Unavailable("connect refused".into())), 1, &settings),
            AfterSend::Replan { delay, .. } if delay == StdDuration::from_secs(5)
        ));
        let rejected = |status, a2p| SmsError::Rejected {
            status,
            code: "0400401".into(),
            message: "bad number".into(),
            a2p_unregistered: a2p,
        };
        assert_eq!(
            after_send(&Err(rejected(400, false)), 1, &settings),
            AfterSend::Failed {
                reason: "400 0400401: bad number".into(),
            }
        );
        // The sender or the key refused: every send would fail alike.
        for (status, a2p) in [(400, true), (403, false), (401, false)] {
            assert!(
                matches!(
                    after_send(&Err(rejected(status, a2p)), 1, &settings),
                    AfterSend::SenderRefused { .. }
                ),
                "{status} a2p={a2p}"
            );
        }
        // Timeout / 5xx: unknown, never replanned without a lookup.
        assert_eq!(
            after_send(&Err(SmsError::Ambiguous("timeout".into())), 1, &settings),
            AfterSend::Unknown {
                reason: "timeout".into()
            }
        );
    }

    #[test]
    fn resolution_table() {
        let settings = SendSettings::default();
        let claimed = t("2026-01-05T15:00:00Z");
        let text = "Acme: Hi Ann\nReply STOP to opt out";
        let ours = message("AC9", text, Direction::Outgoing, "2026-01-05T15:00:01Z");
        let reply = message("AC8", text, Direction::Incoming, "2026-01-05T15:00:02Z");
        let older = message("AC7", text, Direction::Outgoing, "2026-01-04T15:00:00Z");
        let other = message(
            "AC6",
            "Acme: something else",
            Direction::Outgoing,
            "2026-01-05T15:00:01Z",
        );
        let soon = t("2026-01-05T15:00:30Z");
        let late = t("2026-01-05T15:02:00Z");
        let cases = [
            (
                vec![ours.clone()],
                soon,
                Resolution::Sent {
                    provider_id: "AC9".into(),
                },
            ),
            (
                vec![other.clone(), reply.clone(), ours.clone()],
                late,
                Resolution::Sent {
                    provider_id: "AC9".into(),
                },
            ),
            // Same text but incoming, or before the claim, or different text: not ours.
            (
                vec![reply.clone(), older.clone(), other.clone()],
                soon,
                Resolution::LookAgain(StdDuration::from_secs(90)),
            ),
            (vec![reply, older, other], late, Resolution::Replan),
            (vec![], late, Resolution::Replan),
        ];
        for (i, (messages, now, expected)) in cases.into_iter().enumerate() {
            assert_eq!(
                resolve(&messages, text, claimed, now, &settings),
                expected,
                "case {i}"
            );
        }
    }

    #[test]
    fn delays_stay_inside_the_queue_limits() {
        let now = t("2026-01-05T15:00:00Z");
        assert_eq!(
            delay_until(now, now - Duration::seconds(5)),
            StdDuration::from_secs(1)
        );
        assert_eq!(delay_until(now, now + Duration::hours(5)), MAX_DELAY);
        assert_eq!(
            delay_until(now, now + Duration::seconds(42)),
            StdDuration::from_secs(42)
        );
    }
}
