//! The hourly webhook health check over real HTTP: the router, the OpenPhone simulator that
//! delivers the check's text back as a signed `message.received` webhook, the events consumer
//! and the delayed verdict on the `health` queue.

use std::time::Duration;

use reqwest::Method;
use serde_json::Value;
use trickle_app::health::HealthSettings;
use trickle_domain::PhoneNumber;
use trickle_tests::webhooks::{eventually, Options, WebhookApp};

const RECEIVER: &str = "+13105550199";

fn settings(reminder_every: chrono::Duration) -> HealthSettings {
    let mut s = HealthSettings::new(
        "PNsimulator01".into(),
        PhoneNumber::parse(RECEIVER).unwrap(),
        "alerts@trickle.test".into(),
        vec!["ops@example.com".into()],
    );
    s.verdict_after = Duration::from_secs(1);
    s.reminder_every = reminder_every;
    s
}

async fn start(reminder_every: chrono::Duration) -> WebhookApp {
    WebhookApp::start_with(Options {
        health: Some(settings(reminder_every)),
        ..Options::default()
    })
    .await
}

/// Runs one check now and waits for its verdict; answers the judged check.
async fn run_check(app: &WebhookApp) -> Value {
    let (status, check) = app.send(Method::POST, "/v1/health/checks", None).await;
    assert_eq!(status, 201, "{check}");
    let token = check["token"].as_str().unwrap().to_string();
    let find = || async {
        let (_, history) = app.get("/v1/health/checks?limit=20").await;
        history["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["token"] == token.as_str())
            .cloned()
            .unwrap_or(Value::Null)
    };
    eventually(&format!("verdict of {token}"), || async {
        let judged = find().await;
        !judged.is_null() && judged["status"] != "pending"
    })
    .await;
    find().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_check_passes_with_its_latency_and_leaves_no_contact_behind() {
    let app = start(chrono::Duration::hours(6)).await;
    let check = run_check(&app).await;
    assert_eq!(check["status"], "passed", "{check}");
    assert_eq!(check["provider_accepted"], true);
    let latency = check["latency_ms"].as_i64().expect("latency recorded");
    assert!((0..1000).contains(&latency), "{latency}");
    // The check's text went through the webhook path without becoming a contact or activity.
    let sender = app.simulator.phone_number().replace('+', "%2B");
    let (_, found) = app.get(&format!("/v1/contacts?phone={sender}")).await;
    assert_eq!(
        found["items"],
        serde_json::json!([]),
        "no contact for the check"
    );
    let (_, events) = app.get("/v1/events?type=message.received").await;
    assert_eq!(
        events["items"].as_array().unwrap().len(),
        1,
        "the webhook was captured"
    );
    assert!(app.outbox().is_empty(), "no alert for a passing check");

    let (status, health) = app.get("/v1/health").await;
    assert_eq!(status, 200);
    assert_eq!(health["status"], "passing");
    assert_eq!(health["configured"], true);
    assert!(health["last_webhook_at"].is_string());
    assert_eq!(health["queue_depths"]["events-dlq"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_webhook_alerts_once_reminds_after_the_interval_and_recovers_once() {
    let app = start(chrono::Duration::seconds(8)).await;
    app.simulator.drop_internal_webhooks(true);

    let first = run_check(&app).await;
    assert_eq!(first["status"], "failed");
    assert_eq!(first["provider_accepted"], true);
    assert!(
        first["failure_reason"]
            .as_str()
            .unwrap()
            .contains("no webhook"),
        "{first}"
    );
    assert_eq!(app.outbox().len(), 1, "one alert when it turns failed");
    let alert = &app.outbox()[0];
    assert!(
        alert.contains("Subject: trickle: webhook health check FAILED"),
        "{alert}"
    );
    assert!(alert.contains("Provider accepted:  yes"), "{alert}");
    assert!(alert.contains("opt-outs (STOP)"), "{alert}");

    let second = run_check(&app).await;
    assert_eq!(second["status"], "failed");
    assert_eq!(app.outbox().len(), 1, "no reminder before the interval");
    let (_, health) = app.get("/v1/health").await;
    assert_eq!(health["status"], "failing");

    tokio::time::sleep(Duration::from_secs(8)).await;
    run_check(&app).await;
    assert_eq!(app.outbox().len(), 2, "a reminder once the interval passed");
    assert!(app.outbox()[1].contains("Subject: trickle: webhook health check still failing"));

    app.simulator.drop_internal_webhooks(false);
    let recovered = run_check(&app).await;
    assert_eq!(recovered["status"], "passed");
    assert_eq!(app.outbox().len(), 3, "one recovery email");
    assert!(app.outbox()[2].contains("Subject: trickle: webhook health check recovered"));
    run_check(&app).await;
    assert_eq!(app.outbox().len(), 3, "nothing more while it passes");
}

#[tokio::test]
async fn the_check_refuses_to_run_when_not_configured() {
    let app = WebhookApp::start().await;
    let (status, body) = app.send(Method::POST, "/v1/health/checks", None).await;
    assert_eq!(status, 409);
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("TRICKLE_HEALTH_SENDER"));
    let (status, health) = app.get("/v1/health").await;
    assert_eq!(status, 200);
    assert_eq!(health["configured"], false);
}
