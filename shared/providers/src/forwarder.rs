//! The development forwarder's HTTP side: POSTs a captured event to one allow-listed URL,
//! signed (legacy `openphone-signature`) with the forwarding key, so the developer's
//! `trickle dev` verifies it with `TRICKLE_OPENPHONE_WEBHOOK_KEY` set to that key.

use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use reqwest::Url;
use trickle_app::webhooks::forward::EventForwarder;
use trickle_domain::webhook_signature::{sign_legacy, SigningKey};

pub struct HttpForwarder {
    http: reqwest::Client,
    url: Url,
    key: SigningKey,
}

impl HttpForwarder {
    /// The one URL events may go to: HTTPS, or plain HTTP to a loopback address only.
    pub fn new(url: &str, key: SigningKey) -> Result<Self, String> {
        let url = Url::parse(url).map_err(|e| format!("forward URL {url:?}: {e}"))?;
        let loopback = matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
        if !(url.scheme() == "https" || (url.scheme() == "http" && loopback)) {
            return Err(format!("forward URL {url} must be https"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err("forward URL must not carry credentials".into());
        }
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Self { http, url, key })
    }
}

#[async_trait]
impl EventForwarder for HttpForwarder {
    async fn forward(&self, event_id: &str, body: &[u8]) -> Result<(), String> {
        let response = self
            .http
            .post(self.url.clone())
            .header("content-type", "application/json")
            .header(
                "openphone-signature",
                sign_legacy(&self.key, Utc::now(), body),
            )
            .header("x-trickle-forwarded-event", event_id)
            .body(body.to_vec())
            .send()
            .await
            .map_err(|e| format!("forwarding {event_id}: {e}"))?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(format!(
                "forwarding {event_id}: answered {}",
                response.status()
            ))
        }
    }
}
