//! `trickle dev` as a user runs it: a real process on a loopback port, killed and restarted.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::{json, Value};
use trickle_app::ports::{OutgoingMessage, Queue};
use trickle_embedded::{EmbeddedQueue, EmbeddedStore, QueueSettings};

struct Runner {
    child: Child,
    url: String,
    token: String,
}

/// Starts `trickle dev` on a free port and reads its start-up lines.
fn start(data_dir: &Path) -> Runner {
    let mut child = Command::new(env!("CARGO_BIN_EXE_trickle"))
        .arg("dev")
        .env("TRICKLE_LISTEN", "127.0.0.1:0")
        .env("TRICKLE_DATA_DIR", data_dir)
        .env_remove("TRICKLE_ADMIN_TOKEN")
        .env_remove("TRICKLE_CLOCK_START")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start trickle dev");
    let stdout = child.stdout.take().unwrap();
    let (lines, received) = mpsc::channel();
    std::thread::spawn(move || {
        // Keep draining after start-up: a closed pipe would kill the runner at its next line.
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = lines.send(line);
        }
    });
    let mut url = None;
    while url.is_none() {
        let line = received
            .recv_timeout(Duration::from_secs(30))
            .expect("trickle dev printed its address");
        if let Some(rest) = line.strip_prefix("trickle dev listening on ") {
            url = Some(rest.trim().to_string());
        }
    }
    // The token is written before the runner listens (and printed only when it is generated).
    let token = std::fs::read_to_string(data_dir.join("admin-token"))
        .expect("the admin token is kept in the data dir")
        .trim()
        .to_string();
    Runner {
        child,
        url: url.unwrap(),
        token,
    }
}

fn kill_hard(runner: &mut Runner) {
    runner.child.kill().expect("SIGKILL");
    runner.child.wait().unwrap();
}

#[tokio::test]
async fn the_runner_serves_the_api_and_loses_nothing_to_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    // No pooled connections: the restarted runner may get the killed one's port back.
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let mut runner = start(dir.path());

    let health = http
        .get(format!("{}/healthz", runner.url))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let refused = http
        .get(format!("{}/v1/contacts?phone=2125550134", runner.url))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);

    let created: Value = http
        .post(format!("{}/v1/contacts", runner.url))
        .bearer_auth(&runner.token)
        .json(&json!({"phone": "(212) 555-0134", "first_name": "Ana"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().expect("contact created").to_string();

    // A message taken by a consumer but not yet deleted when the process dies. (A dead-letter
    // queue: no consumer of the runner competes for it.)
    let store = EmbeddedStore::open(dir.path().join("trickle.db")).unwrap();
    let queue = EmbeddedQueue::new(store, QueueSettings::default());
    queue
        .send("uploads-dlq", OutgoingMessage::new("in flight"))
        .await
        .unwrap();
    let taken = queue
        .receive(
            "uploads-dlq",
            1,
            Duration::from_secs(2),
            Duration::from_secs(1),
        )
        .await
        .unwrap();
    assert_eq!(taken.len(), 1);

    let token = runner.token.clone();
    kill_hard(&mut runner);
    let mut runner = start(dir.path());
    assert_eq!(
        runner.token, token,
        "the generated token is kept in the data dir"
    );

    let fetched = http
        .get(format!("{}/v1/contacts/{id}", runner.url))
        .bearer_auth(&runner.token)
        .send()
        .await
        .unwrap();
    assert_eq!(fetched.status(), 200);
    assert_eq!(fetched.json::<Value>().await.unwrap(), created);

    let again = queue
        .receive(
            "uploads-dlq",
            1,
            Duration::from_secs(30),
            Duration::from_secs(5),
        )
        .await
        .unwrap();
    assert_eq!(again.len(), 1, "the undeleted message is delivered again");
    assert_eq!(again[0].body, "in flight");
    assert_eq!(again[0].receive_count, 2);
    kill_hard(&mut runner);
}

#[tokio::test]
async fn sigterm_stops_the_runner_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let mut runner = start(dir.path());
    let pid = runner.child.id().to_string();
    let status = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(status.success());
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(exit) = runner.child.try_wait().unwrap() {
            assert!(exit.success(), "exit status {exit:?}");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "still running 10 s after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
