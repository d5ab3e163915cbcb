//! Reconciliation through a real `trickle dev` in sandbox mode: its OpenPhone simulator goes
//! through a webhook outage while a text and a call arrive; `POST /v1/reconciliations` finds them,
//! inserts them once (marked `source: reconciliation`) and mails an alert to the outbox.

mod support;

use reqwest::Method;
use serde_json::json;
use std::time::Duration;
use support::{wait_for, DevRunner};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconciliation_through_trickle_dev_recovers_what_an_outage_lost() {
    let dir = tempfile::tempdir().unwrap();
    let runner = DevRunner::start(dir.path(), &[("TRICKLE_SIMULATOR_RATE_LIMIT", "0")]);
    runner
        .simulator_control("outage", json!({"down": true}))
        .await;
    runner
        .simulator_control(
            "inbound",
            json!({"from": "+12125550177", "text": "Still looking to sell?"}),
        )
        .await;
    runner
        .simulator_control(
            "call",
            json!({"from": "+12125550178", "answered": true, "duration": 40,
                   "summary": ["Wants a valuation"], "next_steps": ["Call back Friday"]}),
        )
        .await;
    runner
        .simulator_control("outage", json!({"down": false}))
        .await;

    let (status, started) = runner.call(Method::POST, "/v1/reconciliations", None).await;
    assert!(status < 300, "{status} {started}");
    let id = started["id"].as_str().expect("a run").to_string();
    let run = wait_for("the run", Duration::from_secs(60), || async {
        let run = runner.get(&format!("/v1/reconciliations/{id}")).await;
        if run["status"] == "completed" {
            Ok(run)
        } else {
            Err(run.to_string())
        }
    })
    .await;
    assert_eq!(run["counts"]["messages_inserted"], 1, "{run}");
    assert_eq!(run["counts"]["calls_inserted"], 1, "{run}");
    assert_eq!(run["counts"]["summaries_inserted"], 1, "{run}");

    let found = runner.get("/v1/contacts?phone=%2B12125550177").await;
    let contact = found["items"][0]["id"].as_str().expect("contact created");
    let activities = runner
        .get(&format!("/v1/contacts/{contact}/activities"))
        .await;
    let items = activities["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{activities}");
    assert_eq!(items[0]["source"], "reconciliation");
    assert_eq!(items[0]["text"], "Still looking to sell?");

    let alerts: Vec<String> = runner
        .outbox()
        .into_iter()
        .filter(|m| m.contains("reconciliation"))
        .collect();
    assert_eq!(alerts.len(), 1, "one alert");
    let mail = &alerts[0];
    assert!(
        mail.contains("- 1 message") && !mail.contains("1 messages"),
        "{mail}"
    );
    assert!(
        mail.contains("- 1 call") && !mail.contains("1 calls"),
        "{mail}"
    );
}
