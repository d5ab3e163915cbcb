//! Phone numbers do not reach the logs: request paths that name one, and the opt-out handling,
//! log only the last four digits. Its own test binary, because it installs the process's one
//! log subscriber and reads everything logged.

use std::io::Write;
use std::sync::{Arc, Mutex};

use reqwest::Method;
use serde_json::json;
use trickle_tests::webhooks::WebhookApp;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn request_logs_name_a_number_by_its_last_four_digits() {
    let captured = Captured::default();
    let writer = captured.clone();
    tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_max_level(tracing::Level::INFO)
        .with_ansi(false)
        .init();
    let app = WebhookApp::start().await;
    let (status, _) = app
        .send(
            Method::POST,
            "/v1/opt-outs",
            Some(json!({"phone": "+12125550187", "reason": "asked by phone"})),
        )
        .await;
    assert_eq!(status, 201);
    let (status, _) = app
        .send(
            Method::DELETE,
            "/v1/opt-outs/%2B12125550187?reason=typed%20in%20error",
            None,
        )
        .await;
    assert_eq!(status, 200);
    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("/v1/opt-outs/+…0187"), "{logs}");
    assert!(!logs.contains("2125550187"), "{logs}");
}
