//! Knobs of the import pipeline, from the environment in both hosts.

use std::time::Duration;

#[derive(Debug, Clone)]
pub struct AudienceSettings {
    /// Who is told when validation pauses (quota, bad key).
    pub alert_email: Option<String>,
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
            alert_email: None,
            alert_from: "alerts@trickle.local".into(),
            validations_per_second: 5.0,
            parse_chunk_rows: 20_000,
            finish_chunk_rows: 200,
            upload_expiry: Duration::from_secs(3600),
        }
    }
}

impl AudienceSettings {
    /// `TRICKLE_ALERT_EMAIL`, `TRICKLE_ALERT_FROM`, `TRICKLE_NUMVERIFY_RATE` (requests per
    /// second), `TRICKLE_IMPORT_CHUNK_ROWS`; defaults otherwise.
    pub fn from_env() -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let default = Self::default();
        Self {
            alert_email: var("TRICKLE_ALERT_EMAIL"),
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
        }
    }
}
