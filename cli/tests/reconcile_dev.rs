//! Reconciliation through a real `trickle dev` in sandbox mode: its OpenPhone simulator goes
//! through a webhook outage while a text and a call arrive; `POST /v1/reconciliations` finds them,
//! inserts them once (marked `source: reconciliation`) and mails an alert to the outbox.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

struct Runner {
    child: Child,
    url: String,
    simulator: String,
    token: String,
    /// Drains the runner's stdout for its whole life.
    _lines: mpsc::Receiver<String>,
}

impl Drop for Runner {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(data_dir: &Path) -> Runner {
    let mut child = Command::new(env!("CARGO_BIN_EXE_trickle"))
        .arg("dev")
        .env("TRICKLE_LISTEN", "127.0.0.1:0")
        .env("TRICKLE_DATA_DIR", data_dir)
        .env("TRICKLE_SIMULATOR_RATE_LIMIT", "0")
        .env_remove("TRICKLE_ADMIN_TOKEN")
        .env_remove("TRICKLE_CLOCK_START")
        .env_remove("TRICKLE_OPENPHONE_API_KEY")
        .env_remove("TRICKLE_RECONCILE_NUMBERS")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start trickle dev");
    let stdout = child.stdout.take().unwrap();
    let (lines, received) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = lines.send(line);
        }
    });
    let (mut url, mut simulator, mut token) = (None, None, None);
    while url.is_none() || simulator.is_none() || token.is_none() {
        let line = received
            .recv_timeout(Duration::from_secs(30))
            .expect("trickle dev printed its start-up lines");
        if let Some(rest) = line.strip_prefix("trickle dev listening on ") {
            url = Some(rest.trim().to_string());
        }
        if line.starts_with("admin token") {
            token = line.rsplit(": ").next().map(str::to_string);
        }
        if let Some((_, rest)) = line.split_once("an OpenPhone simulator runs at ") {
            simulator = rest.split_whitespace().next().map(str::to_string);
        }
    }
    Runner {
        child,
        url: url.unwrap(),
        simulator: simulator.unwrap(),
        token: token.unwrap(),
        _lines: received,
    }
}

/// One of the simulator's control routes.
async fn control(http: &reqwest::Client, simulator: &str, path: &str, body: Value) {
    let r = http
        .post(format!("{simulator}/_sim/{path}"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{path}: {}", r.status());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconciliation_through_trickle_dev_recovers_what_an_outage_lost() {
    let dir = tempfile::tempdir().unwrap();
    let runner = start(dir.path());
    let http = reqwest::Client::new();
    let sim = runner.simulator.as_str();
    control(&http, sim, "outage", json!({"down": true})).await;
    control(
        &http,
        sim,
        "inbound",
        json!({"from": "+12125550177", "text": "Still looking to sell?"}),
    )
    .await;
    control(
        &http,
        sim,
        "call",
        json!({"from": "+12125550178", "answered": true, "duration": 40,
               "summary": ["Wants a valuation"], "next_steps": ["Call back Friday"]}),
    )
    .await;
    control(&http, sim, "outage", json!({"down": false})).await;

    let api = |method: reqwest::Method, path: &str| {
        http.request(method, format!("{}{path}", runner.url))
            .bearer_auth(&runner.token)
    };
    let started: Value = api(reqwest::Method::POST, "/v1/reconciliations")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = started["id"].as_str().expect("a run").to_string();
    let deadline = Instant::now() + Duration::from_secs(60);
    let run = loop {
        let run: Value = api(reqwest::Method::GET, &format!("/v1/reconciliations/{id}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if run["status"] == "completed" {
            break run;
        }
        assert!(Instant::now() < deadline, "not completed: {run}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert_eq!(run["counts"]["messages_inserted"], 1, "{run}");
    assert_eq!(run["counts"]["calls_inserted"], 1, "{run}");
    assert_eq!(run["counts"]["summaries_inserted"], 1, "{run}");

    let found: Value = api(reqwest::Method::GET, "/v1/contacts?phone=%2B12125550177")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let contact = found["items"][0]["id"].as_str().expect("contact created");
    let activities: Value = api(
        reqwest::Method::GET,
        &format!("/v1/contacts/{contact}/activities"),
    )
    .send()
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let items = activities["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{activities}");
    assert_eq!(items[0]["source"], "reconciliation");
    assert_eq!(items[0]["text"], "Still looking to sell?");

    let outbox: Vec<String> = std::fs::read_dir(dir.path().join("outbox"))
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| std::fs::read_to_string(e.path()).unwrap())
        .filter(|m| m.contains("reconciliation"))
        .collect();
    assert_eq!(outbox.len(), 1, "one alert");
    let mail = &outbox[0];
    assert!(
        mail.contains("- 1 message") && !mail.contains("1 messages"),
        "{mail}"
    );
    assert!(
        mail.contains("- 1 call") && !mail.contains("1 calls"),
        "{mail}"
    );
}
