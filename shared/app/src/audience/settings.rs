//! Knobs of the import pipeline; each host reads them once (see the composition root).

use std::time::Duration;

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
