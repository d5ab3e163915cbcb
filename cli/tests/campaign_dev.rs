//! A campaign through a real `trickle dev`, over a week of scheduled runs: the runner talks to
//! an OpenPhone simulator in this process (with an API key, its 10/s limit and signed webhooks),
//! and time moves by restarting the runner with a later `TRICKLE_CLOCK_START` — never by
//! sleeping for a slot. On the way: a duplicate tick, a `kill -9` in the middle of a run, a STOP
//! by webhook, a pause and a resume. It ends with the three checks every campaign story ends
//! with: every eligible contact got exactly one message, nobody else got any, and the review
//! list holds exactly the skipped contact.

mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};
use support::{trickle_ok, wait_for, DevRunner};
use trickle_sandbox::openphone::{OpenPhoneSimulator, SimulatorConfig};

const CONTACTS: usize = 100;
const PER_RUN: usize = 25;
const TEXT: &str = "thinking of selling this spring";

/// The n-th contact's number; the last digit 0–4 makes it a mobile for the NumVerify simulator.
fn phone(n: usize) -> String {
    format!("+1212555{:03}{}", n, n % 5)
}

struct Week {
    dir: tempfile::TempDir,
    simulator: OpenPhoneSimulator,
    listen: String,
}

impl Week {
    /// Starts (or restarts) `trickle dev` with its clock at `at` (RFC 3339).
    fn runner_at(&self, at: &str) -> DevRunner {
        let webhook_key = self.simulator.signing_key().to_base64();
        DevRunner::start(
            &self.data_dir(),
            &[
                ("TRICKLE_LISTEN", &self.listen),
                ("TRICKLE_CLOCK_START", at),
                ("TRICKLE_OPENPHONE_API_KEY", "op-test-key"),
                ("TRICKLE_OPENPHONE_BASE_URL", self.simulator.url()),
                ("TRICKLE_OPENPHONE_WEBHOOK_KEY", &webhook_key),
                ("TRICKLE_BUSINESS_NAME", "Acme Realty"),
            ],
        )
    }

    fn data_dir(&self) -> std::path::PathBuf {
        self.dir.path().join(".trickle")
    }

    /// Campaign messages the provider accepted, per recipient (a STOP's confirmation is not one).
    fn sent_per_recipient(&self) -> BTreeMap<String, usize> {
        let mut per = BTreeMap::new();
        for m in self.simulator.sent_messages() {
            if m["text"].as_str().unwrap_or("").contains(TEXT) {
                *per.entry(m["to"][0].as_str().unwrap().to_string())
                    .or_default() += 1;
            }
        }
        per
    }

    fn sent_total(&self) -> usize {
        self.sent_per_recipient().values().sum()
    }

    async fn wait_for_sent(&self, total: usize, within: Duration) {
        wait_for(&format!("{total} campaign messages"), within, || async {
            let sent = self.sent_total();
            if sent >= total {
                Ok(())
            } else {
                Err(format!("{sent} sent"))
            }
        })
        .await;
    }

    /// An inbound text from `from`, delivered by the simulator as a signed webhook.
    async fn inbound(&self, from: &str, text: &str) {
        let response = reqwest::Client::new()
            .post(format!("{}/_sim/inbound", self.simulator.url()))
            .json(&json!({"from": from, "text": text}))
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success());
    }
}

/// The campaign's sends (one page holds them all here).
async fn sends(runner: &DevRunner, id: &str) -> Vec<Value> {
    let page = runner
        .get(&format!("/v1/campaigns/{id}/sends?limit=1000"))
        .await;
    assert!(page["next"].is_null(), "one page");
    page["items"].as_array().unwrap().clone()
}

fn import(dir: &Path, url: &str) -> String {
    let mut csv = String::from("first_name,last_name,mobile\n");
    for n in 0..CONTACTS {
        csv.push_str(&format!("Owner{n},Lee,{}\n", phone(n)));
    }
    std::fs::write(dir.join("sellers.csv"), csv).unwrap();
    let out = trickle_ok(dir, url, &["import", "sellers.csv", "--list", "Sellers"]);
    out.split_whitespace()
        .find(|w| w.starts_with("ls_"))
        .unwrap_or_else(|| panic!("no list id in {out:?}"))
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_week_of_scheduled_runs_sends_each_eligible_contact_exactly_once() {
    let simulator = OpenPhoneSimulator::start(SimulatorConfig {
        api_key: Some("op-test-key".into()),
        rate_limit: Some(10),
        ..SimulatorConfig::default()
    })
    .await
    .unwrap();
    // One port for the whole week, so the simulator's webhooks reach every restart.
    let listen = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .to_string();
    simulator.set_webhook_url(format!("http://{listen}/webhooks/openphone"));
    let week = Week {
        dir: tempfile::tempdir().unwrap(),
        simulator,
        listen,
    };

    // Monday 5 January 2026, 09:50 in New York: the list, one contact who already wrote to us,
    // one opted out by an operator, then the campaign (10:00 on weekdays, 25 per run).
    let runner = week.runner_at("2026-01-05T14:50:00Z");
    let (dir, url) = (week.dir.path().to_path_buf(), runner.url.clone());
    let list = tokio::task::spawn_blocking(move || import(&dir, &url))
        .await
        .unwrap();
    week.inbound(&phone(5), "Is the house on Elm still for sale?")
        .await;
    wait_for("the inbound text", Duration::from_secs(20), || async {
        let found = runner
            .get(&format!(
                "/v1/contacts?phone={}",
                phone(5).replace('+', "%2B")
            ))
            .await;
        let contact = found["items"][0]["id"].as_str().unwrap_or("").to_string();
        let activities = runner
            .get(&format!("/v1/contacts/{contact}/activities"))
            .await;
        match activities["items"].as_array().map(Vec::len) {
            Some(1) => Ok(()),
            other => Err(format!("{other:?} activities")),
        }
    })
    .await;
    let (status, body) = runner
        .call(
            Method::POST,
            "/v1/opt-outs",
            Some(json!({"phone": phone(7), "reason": "asked by phone"})),
        )
        .await;
    assert!(status < 300, "{status} {body}");
    let (status, campaign) = runner
        .call(
            Method::POST,
            "/v1/campaigns",
            Some(json!({
                "name": "Spring sellers",
                "message_a": format!("Hi {{{{first_name|there}}}}, {TEXT}?"),
                "list_id": list,
                "schedule": {"days": ["mon", "tue", "wed", "thu", "fri"], "send_time": "10:00",
                             "time_zone": "America/New_York"},
                "per_run": PER_RUN,
                "sender": week.simulator.phone_number(),
                "business_name": "Acme Realty"
            })),
        )
        .await;
    assert_eq!(status, 201, "{campaign}");
    let id = campaign["id"].as_str().unwrap().to_string();
    let (status, active) = runner
        .call(Method::POST, &format!("/v1/campaigns/{id}/activate"), None)
        .await;
    assert_eq!(status, 200, "{active}");
    drop(runner);

    // Monday 10:00:20: the runner's first tick plans the run.
    let runner = week.runner_at("2026-01-05T15:00:20Z");
    week.wait_for_sent(PER_RUN, Duration::from_secs(60)).await;
    // A duplicate tick for the same slot (a restart at 10:01) plans nothing more.
    drop(runner);
    let runner = week.runner_at("2026-01-05T15:01:00Z");
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(sends(&runner, &id).await.len(), PER_RUN, "one run per slot");
    assert_eq!(week.sent_total(), PER_RUN);
    drop(runner);

    // Tuesday 10:00:20: killed with -9 in the middle of the run, restarted at 10:03. A STOP
    // from a contact further down the list arrives meanwhile.
    let mut runner = week.runner_at("2026-01-06T15:00:20Z");
    week.wait_for_sent(PER_RUN + 8, Duration::from_secs(60))
        .await;
    runner.child.kill().expect("SIGKILL");
    runner.child.wait().unwrap();
    drop(runner);
    let runner = week.runner_at("2026-01-06T15:03:00Z");
    week.inbound(&phone(60), "STOP").await;
    // Messages the killed runner had taken reappear after the queue's visibility timeout.
    week.wait_for_sent(2 * PER_RUN, Duration::from_secs(150))
        .await;
    wait_for("the STOP", Duration::from_secs(20), || async {
        let outs = runner.get("/v1/opt-outs?limit=1000").await;
        let phones: Vec<&str> = outs["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|o| o["phone"].as_str())
            .collect();
        if phones.contains(&phone(60).as_str()) {
            Ok(())
        } else {
            Err(format!("opted out: {phones:?}"))
        }
    })
    .await;
    let (status, paused) = runner
        .call(Method::POST, &format!("/v1/campaigns/{id}/pause"), None)
        .await;
    assert_eq!(status, 200, "{paused}");
    drop(runner);

    // Wednesday: paused, nothing goes out; resumed after the slot.
    let runner = week.runner_at("2026-01-07T15:00:20Z");
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(week.sent_total(), 2 * PER_RUN, "nothing while paused");
    let (status, resumed) = runner
        .call(Method::POST, &format!("/v1/campaigns/{id}/resume"), None)
        .await;
    assert_eq!(status, 200, "{resumed}");
    drop(runner);

    // 100 contacts − one reviewed − two opted out = 97 eligible: Thursday 25, Friday 22.
    let eligible = CONTACTS - 3;
    let runner = week.runner_at("2026-01-08T15:00:20Z");
    week.wait_for_sent(3 * PER_RUN, Duration::from_secs(60))
        .await;
    drop(runner);
    let runner = week.runner_at("2026-01-09T15:00:20Z");
    week.wait_for_sent(eligible, Duration::from_secs(60)).await;
    let completed = wait_for("completion", Duration::from_secs(30), || async {
        let campaign = runner.get(&format!("/v1/campaigns/{id}")).await;
        if campaign["state"] == "completed" {
            Ok(campaign)
        } else {
            Err(campaign["state"].to_string())
        }
    })
    .await;
    assert_eq!(
        completed["cursor"], CONTACTS as u64,
        "the cursor reached the end"
    );

    let per = week.sent_per_recipient();
    let want: BTreeMap<String, usize> = (0..CONTACTS)
        .filter(|n| ![5, 7, 60].contains(n))
        .map(|n| (phone(n), 1))
        .collect();
    assert_eq!(
        per, want,
        "every eligible contact exactly once, nobody else"
    );
    let review = runner.get("/v1/review").await;
    let reviewed: Vec<&str> = review["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["phone"].as_str().unwrap())
        .collect();
    assert_eq!(reviewed, [phone(5)], "{review}");
    assert_eq!(review["items"][0]["reason"], "previous_communication");
    let stats = runner.get(&format!("/v1/campaigns/{id}/stats")).await;
    assert_eq!(stats["total"]["sent"], eligible as u64, "{stats}");
    assert_eq!(stats["total"]["unknown"], 0, "{stats}");
    assert!(
        week.simulator.request_stats().busiest_second <= 10,
        "the provider's limit held"
    );
}
