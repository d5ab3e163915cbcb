//! The console's sandbox panel in `trickle dev`: the OpenPhone simulator's numbers, how the
//! NumVerify simulator decides line types, and inbound texts played through the simulator's
//! control route (so they reach trickle as signed webhooks, like real ones).

use serde_json::json;
use trickle_http::SandboxPanel;

pub struct SimulatorPanel {
    control_url: String,
    numbers: Vec<String>,
    http: reqwest::Client,
}

impl SimulatorPanel {
    pub fn new(simulator_url: &str, sending_number: &str) -> Self {
        Self {
            control_url: format!("{}/_sim/inbound", simulator_url.trim_end_matches('/')),
            numbers: vec![sending_number.to_string()],
            http: reqwest::Client::new(),
        }
    }
}

/// The NumVerify simulator's rule (`trickle_sandbox::numverify`), in an operator's words.
pub const LINE_TYPE_RULE: &str = "The last digit of a number decides what the NumVerify \
     simulator says: 0 to 4 a mobile (imported), 5 or 6 a landline, 7 toll-free, 9 special \
     services (all skipped), 8 an invalid number (skipped).";

#[async_trait::async_trait]
impl SandboxPanel for SimulatorPanel {
    fn sending_numbers(&self) -> Vec<String> {
        self.numbers.clone()
    }

    fn line_type_rule(&self) -> String {
        LINE_TYPE_RULE.to_string()
    }

    async fn inbound_text(&self, from: &str, text: &str) -> Result<(), String> {
        let answer = self
            .http
            .post(&self.control_url)
            .json(&json!({ "from": from, "text": text }))
            .send()
            .await
            .map_err(|e| format!("the simulator is not answering ({e})"))?;
        if !answer.status().is_success() {
            return Err(format!("the simulator answered {}", answer.status()));
        }
        let body: serde_json::Value = answer.json().await.map_err(|e| e.to_string())?;
        // The simulator reports the webhook's answer for each copy it delivered.
        let delivered = body["statuses"].as_array().is_some_and(|s| {
            s.iter()
                .any(|c| c.as_u64().is_some_and(|c| (200..300).contains(&c)))
        });
        if delivered {
            Ok(())
        } else {
            Err(format!(
                "trickle's webhook did not accept it (answers: {})",
                body["statuses"]
            ))
        }
    }
}
