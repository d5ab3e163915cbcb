//! One settings tree, read once per host and passed down as plain data.
//!
//! Both hosts read the same names: a Lambda from the environment `template.yaml` gives it (plus
//! its SSM secrets), `trickle dev` from its environment (plus its own flags, see the CLI's
//! settings). Every problem is reported at once, by variable name, in plain words. Secrets are
//! [`Secret`]s, which never print.

use std::fmt;
use std::time::Duration;

use trickle_app::audience::AudienceSettings;
use trickle_domain::{AlertRecipients, PhoneNumber};

/// A value that must never reach a log line or an error message.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value itself, for the one client that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Where alerts go and who sends them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alerts {
    /// `TRICKLE_ALERT_EMAIL`, each address on its own (empty: nobody is told).
    pub to: Vec<String>,
    /// `TRICKLE_ALERT_FROM`.
    pub from: Option<String>,
}

/// The hourly webhook health check's numbers and timings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthCheckSettings {
    /// `TRICKLE_HEALTH_SENDER`: the sending number's `PN…` id or E.164.
    pub sender: String,
    /// `TRICKLE_HEALTH_RECEIVER`: the internal number whose webhook must arrive.
    pub receiver: PhoneNumber,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthTimings {
    /// `TRICKLE_HEALTH_REMINDER_HOURS` (default 6, 1 h to a year).
    pub reminder_every: chrono::Duration,
    /// `TRICKLE_HEALTH_VERDICT_SECONDS` (default 120, 1–900).
    pub verdict_after: Duration,
}

/// OpenPhone: the API key (an SSM secret in AWS) and where the API lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenPhoneSettings {
    /// `TRICKLE_OPENPHONE_API_KEY` locally, the `openphone-api-key` secret in AWS; unset runs
    /// the simulator locally and fails provider calls in AWS.
    pub api_key: Option<Secret>,
    /// `TRICKLE_OPENPHONE_BASE_URL`.
    pub base_url: String,
    /// `TRICKLE_OPENPHONE_WEBHOOK_KEY` and `…_PREVIOUS` locally, the `openphone-webhook-key`
    /// secrets in AWS: current first.
    pub webhook_keys: Vec<Secret>,
    /// `TRICKLE_WEBHOOK_WINDOW_SECS`: accepted age of a webhook's signed timestamp.
    pub webhook_window: chrono::Duration,
    /// `TRICKLE_MEDIA_HOSTS` (comma separated): hosts, with their subdomains, media URLs are
    /// downloaded from over https besides the API's own.
    pub media_hosts: Vec<String>,
}

impl OpenPhoneSettings {
    /// The provider client's settings for `key`.
    pub fn client(&self, key: &str) -> trickle_providers::openphone::OpenPhoneSettings {
        let mut client = trickle_providers::openphone::OpenPhoneSettings::new(&self.base_url, key);
        client.media_hosts = self.media_hosts.clone();
        client
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumVerifySettings {
    /// `TRICKLE_NUMVERIFY_KEY` (or the `numverify-key` secret in AWS).
    pub key: Option<Secret>,
    /// `TRICKLE_NUMVERIFY_BASE_URL`.
    pub base_url: String,
}

/// The AWS resources `template.yaml` names (required in a Lambda, absent locally).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsResources {
    pub table_name: String,
    pub bucket: String,
    pub queue_prefix: String,
    pub secrets_prefix: String,
}

/// Everything a host needs to build trickle, as plain data.
#[derive(Debug, Clone)]
pub struct Settings {
    pub alerts: Alerts,
    /// Import knobs (`TRICKLE_NUMVERIFY_RATE`, `TRICKLE_IMPORT_CHUNK_ROWS`); its alert fields
    /// are filled from [`Self::alerts`].
    pub audience: AudienceSettings,
    /// `TRICKLE_BUSINESS_NAME`: named in opt-out confirmations and HELP replies.
    pub business_name: String,
    /// `TRICKLE_EVENT_MAX_ATTEMPTS`: tries before a webhook event is parked as failed.
    pub event_max_attempts: u32,
    /// `TRICKLE_TICK_STEP_SECONDS` (default 20, 1–25): the longest one tick (or one of its
    /// continuations) plans; in Lambda the invocation's own deadline can shorten it.
    pub tick_step: Duration,
    pub health: Option<HealthCheckSettings>,
    pub health_timings: HealthTimings,
    /// `TRICKLE_RECONCILE_NUMBERS` (empty: reconciliation is off).
    pub reconcile_numbers: Vec<String>,
    /// `TRICKLE_RECONCILE_OVERLAP_MINUTES`.
    pub reconcile_overlap: chrono::Duration,
    /// `TRICKLE_WEBHOOK_RETENTION_DAYS` (default 90; 0 keeps them): how long a captured webhook
    /// event (which holds phone numbers and message text) is kept.
    pub webhook_retention_days: u32,
    /// `TRICKLE_FORWARD_URL`: the one developer URL captured events are re-delivered to.
    pub forward_url: Option<String>,
    pub openphone: OpenPhoneSettings,
    pub numverify: NumVerifySettings,
    pub aws: Option<AwsResources>,
}

/// Every setting that is malformed, each with its variable's name and what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("settings are not usable:\n{}", .problems.join("\n"))]
pub struct SettingsError {
    pub problems: Vec<String>,
}

pub const DEFAULT_ALERT_FROM: &str = "alerts@trickle.local";

impl Settings {
    /// The settings of this process's environment.
    pub fn from_env() -> Result<Self, SettingsError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// The same settings from any source of named values (the environment, a test's map).
    /// Blank values count as unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let var = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let mut problems = Vec::new();
        let mut number = |name: &str, what: &str| -> Option<u64> {
            let value = var(name)?;
            match value.parse::<u64>() {
                Ok(n) => Some(n),
                Err(_) => {
                    problems.push(format!("{name}={value:?} is not {what}"));
                    None
                }
            }
        };
        let reminder_hours = number("TRICKLE_HEALTH_REMINDER_HOURS", "a whole number of hours");
        let verdict_seconds = number(
            "TRICKLE_HEALTH_VERDICT_SECONDS",
            "a whole number of seconds",
        );
        let overlap_minutes = number(
            "TRICKLE_RECONCILE_OVERLAP_MINUTES",
            "a whole number of minutes",
        );
        let window_secs = number("TRICKLE_WEBHOOK_WINDOW_SECS", "a whole number of seconds");
        let tick_step_secs = number("TRICKLE_TICK_STEP_SECONDS", "a whole number of seconds");
        let max_attempts = number("TRICKLE_EVENT_MAX_ATTEMPTS", "a whole number");
        let chunk_rows = number("TRICKLE_IMPORT_CHUNK_ROWS", "a whole number of rows");
        let retention_days = number("TRICKLE_WEBHOOK_RETENTION_DAYS", "a whole number of days");

        let alert_to = match var("TRICKLE_ALERT_EMAIL") {
            Some(list) => match AlertRecipients::parse(&list) {
                Ok(list) => list.to_vec(),
                Err(e) => {
                    problems.push(format!("TRICKLE_ALERT_EMAIL: {e}"));
                    Vec::new()
                }
            },
            None => Vec::new(),
        };
        let alerts = Alerts {
            to: alert_to,
            from: var("TRICKLE_ALERT_FROM"),
        };

        let mut audience = AudienceSettings::default();
        if let Some(rate) = var("TRICKLE_NUMVERIFY_RATE") {
            match rate.parse::<f64>() {
                Ok(r) if r > 0.0 && r.is_finite() => audience.validations_per_second = r,
                _ => problems.push(format!(
                    "TRICKLE_NUMVERIFY_RATE={rate:?} is not a positive number of lookups per second"
                )),
            }
        }
        if let Some(rows) = chunk_rows.filter(|n| *n > 0) {
            audience.parse_chunk_rows = rows as usize;
        }
        audience.alert_to = alerts.to.clone();
        audience.alert_from = alerts
            .from
            .clone()
            .unwrap_or_else(|| DEFAULT_ALERT_FROM.into());

        let health = match (var("TRICKLE_HEALTH_SENDER"), var("TRICKLE_HEALTH_RECEIVER")) {
            (Some(sender), Some(receiver)) => {
                if alerts.to.is_empty() {
                    problems.push(
                        "TRICKLE_ALERT_EMAIL is needed for health-check alerts: set it, or unset \
                         TRICKLE_HEALTH_SENDER"
                            .into(),
                    );
                }
                if alerts.from.is_none() {
                    problems.push(
                        "TRICKLE_ALERT_FROM is needed for health-check alerts: set it, or unset \
                         TRICKLE_HEALTH_SENDER"
                            .into(),
                    );
                }
                match PhoneNumber::parse(&receiver) {
                    Ok(receiver) => Some(HealthCheckSettings { sender, receiver }),
                    Err(e) => {
                        problems.push(format!("TRICKLE_HEALTH_RECEIVER: {e}"));
                        None
                    }
                }
            }
            (Some(_), None) => {
                problems.push("TRICKLE_HEALTH_SENDER is set but TRICKLE_HEALTH_RECEIVER is not: set both or neither".into());
                None
            }
            (None, Some(_)) => {
                problems.push("TRICKLE_HEALTH_RECEIVER is set but TRICKLE_HEALTH_SENDER is not: set both or neither".into());
                None
            }
            (None, None) => None,
        };
        let health_timings = HealthTimings {
            reminder_every: chrono::Duration::hours(
                reminder_hours.unwrap_or(6).clamp(1, 24 * 365) as i64
            ),
            verdict_after: Duration::from_secs(verdict_seconds.unwrap_or(120).clamp(1, 900)),
        };

        let reconcile_numbers = var("TRICKLE_RECONCILE_NUMBERS")
            .unwrap_or_default()
            .split(',')
            .map(|n| n.trim().to_string())
            .filter(|n| !n.is_empty())
            .collect();

        let webhook_keys = [
            "TRICKLE_OPENPHONE_WEBHOOK_KEY",
            "TRICKLE_OPENPHONE_WEBHOOK_KEY_PREVIOUS",
        ]
        .iter()
        .filter_map(|name| var(name).map(Secret::new))
        .collect();

        let aws = match (
            var("TRICKLE_TABLE_NAME"),
            var("TRICKLE_BUCKET"),
            var("TRICKLE_QUEUE_PREFIX"),
            var("TRICKLE_SECRETS_PREFIX"),
        ) {
            (Some(table_name), Some(bucket), Some(queue_prefix), Some(secrets_prefix)) => {
                Some(AwsResources {
                    table_name,
                    bucket,
                    queue_prefix,
                    secrets_prefix,
                })
            }
            _ => None,
        };

        let numverify_base_url = var("TRICKLE_NUMVERIFY_BASE_URL")
            .unwrap_or_else(|| trickle_providers::numverify::DEFAULT_BASE_URL.into());
        if !numverify_base_url.starts_with("https://") && !numverify_base_url.starts_with("http://")
        {
            problems.push(format!(
                "TRICKLE_NUMVERIFY_BASE_URL={numverify_base_url:?} is not an https:// (or, for the \
                 free plan, http://) URL"
            ));
        }
        let settings = Settings {
            alerts,
            audience,
            business_name: var("TRICKLE_BUSINESS_NAME").unwrap_or_else(|| "trickle".into()),
            event_max_attempts: max_attempts.unwrap_or(5).clamp(1, 100) as u32,
            health,
            health_timings,
            tick_step: Duration::from_secs(tick_step_secs.unwrap_or(20).clamp(1, 25)),
            reconcile_numbers,
            reconcile_overlap: chrono::Duration::minutes(overlap_minutes.unwrap_or(60) as i64),
            forward_url: var("TRICKLE_FORWARD_URL"),
            webhook_retention_days: retention_days.unwrap_or(90).min(36_500) as u32,
            openphone: OpenPhoneSettings {
                api_key: var("TRICKLE_OPENPHONE_API_KEY").map(Secret::new),
                base_url: var("TRICKLE_OPENPHONE_BASE_URL")
                    .unwrap_or_else(|| trickle_providers::openphone::DEFAULT_BASE_URL.into()),
                webhook_keys,
                webhook_window: chrono::Duration::seconds(window_secs.unwrap_or(300) as i64),
                media_hosts: match var("TRICKLE_MEDIA_HOSTS") {
                    Some(list) => list
                        .split(',')
                        .map(|h| h.trim().to_string())
                        .filter(|h| !h.is_empty())
                        .collect(),
                    None => trickle_providers::openphone::media_policy::DEFAULT_MEDIA_HOSTS
                        .iter()
                        .map(|h| h.to_string())
                        .collect(),
                },
            },
            numverify: NumVerifySettings {
                key: var("TRICKLE_NUMVERIFY_KEY").map(Secret::new),
                base_url: numverify_base_url,
            },
            aws,
        };
        if problems.is_empty() {
            Ok(settings)
        } else {
            Err(SettingsError { problems })
        }
    }

    /// The names of the AWS resources, which a Lambda cannot run without.
    pub fn require_aws(&self) -> Result<&AwsResources, SettingsError> {
        self.aws.as_ref().ok_or_else(|| SettingsError {
            problems: vec![
                "TRICKLE_TABLE_NAME, TRICKLE_BUCKET, TRICKLE_QUEUE_PREFIX and \
                 TRICKLE_SECRETS_PREFIX must all be set (template.yaml sets them)"
                    .into(),
            ],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(pairs: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        Settings::from_lookup(|name| {
            pairs
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.to_string())
        })
    }

    /// Two recipients used to reach the import-paused alert as one address `"a, b"`, which SES
    /// refuses, so the alert was dropped.
    #[test]
    fn every_alert_recipient_is_its_own_address_everywhere() {
        let settings =
            from(&[("TRICKLE_ALERT_EMAIL", "ops@example.com, owner@example.com")]).unwrap();
        assert_eq!(settings.alerts.to, ["ops@example.com", "owner@example.com"]);
        assert_eq!(settings.audience.alert_to, settings.alerts.to);
    }

    #[test]
    fn every_problem_is_named_at_once() {
        let error = from(&[
            ("TRICKLE_ALERT_EMAIL", "ops@example.com owner@example.com"),
            ("TRICKLE_NUMVERIFY_RATE", "fast"),
            ("TRICKLE_HEALTH_SENDER", "PN123"),
            ("TRICKLE_EVENT_MAX_ATTEMPTS", "-1"),
        ])
        .unwrap_err();
        let text = error.to_string();
        for name in [
            "TRICKLE_ALERT_EMAIL: ",
            "TRICKLE_NUMVERIFY_RATE=",
            "TRICKLE_HEALTH_RECEIVER is not",
            "TRICKLE_EVENT_MAX_ATTEMPTS=",
        ] {
            assert!(text.contains(name), "{name} missing from {text}");
        }
        assert_eq!(error.problems.len(), 4, "{text}");
    }

    #[test]
    fn defaults_hold_when_nothing_is_set() {
        let settings = from(&[]).unwrap();
        assert!(settings.alerts.to.is_empty());
        assert_eq!(settings.audience.alert_from, DEFAULT_ALERT_FROM);
        assert_eq!(settings.event_max_attempts, 5);
        assert_eq!(
            settings.openphone.webhook_window,
            chrono::Duration::seconds(300)
        );
        assert!(settings.health.is_none() && settings.reconcile_numbers.is_empty());
        assert!(settings.aws.is_none());
        assert!(settings.require_aws().is_err());
        assert_eq!(settings.numverify.base_url, "https://apilayer.net/api");
    }

    #[test]
    fn numverify_is_reached_over_https_unless_told_otherwise() {
        let free = from(&[("TRICKLE_NUMVERIFY_BASE_URL", "http://apilayer.net/api")]).unwrap();
        assert_eq!(free.numverify.base_url, "http://apilayer.net/api");
        let wrong = from(&[("TRICKLE_NUMVERIFY_BASE_URL", "apilayer.net/api")]).unwrap_err();
        assert!(
            wrong
                .to_string()
                .contains("TRICKLE_NUMVERIFY_BASE_URL=\"apilayer.net/api\""),
            "{wrong}"
        );
    }

    #[test]
    fn secrets_never_print() {
        let settings = from(&[
            ("TRICKLE_OPENPHONE_API_KEY", "op-secret-value"),
            ("TRICKLE_NUMVERIFY_KEY", "nv-secret-value"),
            ("TRICKLE_OPENPHONE_WEBHOOK_KEY", "d2ViaG9vay1rZXk="),
        ])
        .unwrap();
        let printed = format!("{settings:?}");
        for secret in ["op-secret-value", "nv-secret-value", "d2ViaG9vay1rZXk="] {
            assert!(!printed.contains(secret), "{secret} printed");
        }
        assert_eq!(
            settings.openphone.api_key.as_ref().map(Secret::expose),
            Some("op-secret-value")
        );
    }

    #[test]
    fn health_needs_both_numbers_and_an_alert_address() {
        let ok = from(&[
            ("TRICKLE_HEALTH_SENDER", "PN1"),
            ("TRICKLE_HEALTH_RECEIVER", "+13105550100"),
            ("TRICKLE_ALERT_EMAIL", "ops@example.com"),
            ("TRICKLE_ALERT_FROM", "alerts@example.com"),
            ("TRICKLE_HEALTH_VERDICT_SECONDS", "5000"),
        ])
        .unwrap();
        let health = ok.health.unwrap();
        assert_eq!(health.receiver.as_str(), "+13105550100");
        assert_eq!(ok.health_timings.verdict_after, Duration::from_secs(900));
        let missing = from(&[
            ("TRICKLE_HEALTH_SENDER", "PN1"),
            ("TRICKLE_HEALTH_RECEIVER", "+13105550100"),
        ])
        .unwrap_err();
        assert_eq!(missing.problems.len(), 2, "{missing}");
    }
}
