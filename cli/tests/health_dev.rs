//! The webhook health check through a real `trickle dev` in sandbox mode, with the verdict
//! after 2 s (`TRICKLE_HEALTH_VERDICT_SECONDS`): a check that passes leaves no contact behind;
//! a webhook outage turns it failed with one alert; the next passing check mails one recovery.

mod support;

use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};
use support::{wait_for, DevRunner};

/// Runs one check now and waits for its verdict.
async fn run_check(runner: &DevRunner) -> Value {
    let (status, check) = runner.call(Method::POST, "/v1/health/checks", None).await;
    assert_eq!(status, 201, "{check}");
    let token = check["token"].as_str().unwrap().to_string();
    wait_for(
        &format!("the verdict of {token}"),
        Duration::from_secs(30),
        || async {
            let history = runner.get("/v1/health/checks?limit=50").await;
            let check = history["items"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["token"] == token.as_str())
                .cloned()
                .unwrap_or(Value::Null);
            match check["status"].as_str() {
                Some("passed" | "failed") => Ok(check),
                _ => Err(check.to_string()),
            }
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_check_passes_then_an_outage_alerts_once_and_the_recovery_is_mailed_once() {
    let dir = tempfile::tempdir().unwrap();
    let runner = DevRunner::start(
        dir.path(),
        &[
            ("TRICKLE_HEALTH_VERDICT_SECONDS", "2"),
            ("TRICKLE_ALERT_EMAIL", "ops@example.com"),
        ],
    );

    let passed = run_check(&runner).await;
    assert_eq!(passed["status"], "passed", "{passed}");
    let latency = passed["latency_ms"].as_i64().expect("latency recorded");
    assert!((0..2000).contains(&latency), "{latency}");
    // Judged at the setting, not a poll interval or a minute later.
    let at = |field: &str| {
        chrono::DateTime::parse_from_rfc3339(passed[field].as_str().expect(field)).unwrap()
    };
    let judged_after = (at("judged_at") - at("started_at")).num_milliseconds();
    assert!(
        (2000..5000).contains(&judged_after),
        "judged {judged_after} ms after the start, with the verdict set to 2 s"
    );
    // The check's text came back through the webhook path without becoming a contact.
    let sent = runner.simulator_get("/_sim/sent").await;
    let sender = sent["data"][0]["from"].as_str().expect("the check's text");
    let found = runner
        .get(&format!(
            "/v1/contacts?phone={}",
            sender.replace('+', "%2B")
        ))
        .await;
    assert_eq!(found["items"], json!([]), "no contact for the check");
    assert!(runner.outbox().is_empty(), "no alert for a passing check");
    assert_eq!(runner.get("/v1/health").await["status"], "passing");

    runner
        .simulator_control("outage", json!({"down": true}))
        .await;
    let failed = run_check(&runner).await;
    assert_eq!(failed["status"], "failed", "{failed}");
    assert_eq!(failed["provider_accepted"], true);
    let health = runner.get("/v1/health").await;
    assert_eq!(health["status"], "failing", "{health}");
    let mails = runner.outbox();
    assert_eq!(mails.len(), 1, "one alert when it turns failed");
    assert!(mails[0].contains("To: ops@example.com"), "{}", mails[0]);
    assert!(
        mails[0].contains("Subject: trickle: webhook health check FAILED"),
        "{}",
        mails[0]
    );
    assert!(mails[0].contains("Provider accepted:  yes"), "{}", mails[0]);
    let again = run_check(&runner).await;
    assert_eq!(again["status"], "failed");
    assert_eq!(runner.outbox().len(), 1, "no reminder before 6 hours");

    runner
        .simulator_control("outage", json!({"down": false}))
        .await;
    let recovered = run_check(&runner).await;
    assert_eq!(recovered["status"], "passed", "{recovered}");
    let mails = runner.outbox();
    assert_eq!(mails.len(), 2, "one recovery email");
    assert!(
        mails[1].contains("Subject: trickle: webhook health check recovered"),
        "{}",
        mails[1]
    );
}
