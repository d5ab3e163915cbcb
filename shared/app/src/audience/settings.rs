//! Knobs of the import pipeline, from the environment in both hosts.

use std::time::Duration;

use trickle_domain::AlertRecipients;

#[derive(Debug, Clone)]
pub struct AudienceSettings {
    /// Who is told when validation pauses (quota, bad key): each address on its own.
    pub alert_to: Vec<String>,
    pub alert_from: String,
    /// Largest NumVerify request rate of one worker.
    pub validations_per_second: f64,
    /// Rows one parse step reads before it checkpoints and hands over to the next step.
    pub parse_chunk_rows: usize,
    /// Candidates one finish step turns into list members.
    pub finish_chunk_rows: u32,
    /// How long a pre-signed upload URL stays valid.
    pub upload_expiry: Duration,
}

impl Default for AudienceSettings {
    fn default() -> Self {
        Self {
            alert_to: Vec::new(),
            alert_from: "alerts@trickle.local".into(),
            validations_per_second: 5.0,
            parse_chunk_rows: 20_000,
            finish_chunk_rows: 200,
            upload_expiry: Duration::from_secs(3600),
        }
    }
}

impl AudienceSettings {
    /// `TRICKLE_ALERT_EMAIL` (comma-separated), `TRICKLE_ALERT_FROM`, `TRICKLE_NUMVERIFY_RATE`
    /// (requests per second), `TRICKLE_IMPORT_CHUNK_ROWS`; defaults otherwise.
    pub fn from_env() -> Result<Self, String> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// The same settings from any source of named values (the environment, a test's map).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let var = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let default = Self::default();
        let alert_to = match var("TRICKLE_ALERT_EMAIL") {
            Some(list) => AlertRecipients::parse(&list)
                .map_err(|e| format!("TRICKLE_ALERT_EMAIL: {e}"))?
                .to_vec(),
            None => Vec::new(),
        };
        Ok(Self {
            alert_to,
            alert_from: var("TRICKLE_ALERT_FROM").unwrap_or(default.alert_from),
            validations_per_second: var("TRICKLE_NUMVERIFY_RATE")
                .and_then(|v| v.parse().ok())
                .filter(|r: &f64| *r > 0.0)
                .unwrap_or(default.validations_per_second),
            parse_chunk_rows: var("TRICKLE_IMPORT_CHUNK_ROWS")
                .and_then(|v| v.parse().ok())
                .filter(|n: &usize| *n > 0)
                .unwrap_or(default.parse_chunk_rows),
            ..default
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            pairs
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.to_string())
        }
    }

    /// Two recipients used to reach the import-paused alert as one address `"a, b"`, which SES
    /// refuses, so the alert was dropped.
    #[test]
    fn every_alert_recipient_is_its_own_address() {
        let settings = AudienceSettings::from_lookup(lookup(&[(
            "TRICKLE_ALERT_EMAIL",
            "ops@example.com, owner@example.com",
        )]))
        .unwrap();
        assert_eq!(settings.alert_to, ["ops@example.com", "owner@example.com"]);
    }

    #[test]
    fn a_malformed_recipient_is_refused_by_name() {
        let error = AudienceSettings::from_lookup(lookup(&[(
            "TRICKLE_ALERT_EMAIL",
            "ops@example.com owner@example.com",
        )]))
        .unwrap_err();
        assert!(error.starts_with("TRICKLE_ALERT_EMAIL: "), "{error}");
    }
}
