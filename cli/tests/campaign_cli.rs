//! `trickle campaign …` as a user runs it, against a real `trickle dev` process: a list imported
//! with `trickle import`, then create → activate → show → run → stats.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

struct Runner {
    child: Child,
    url: String,
    /// Kept so the reader thread drains the runner's stdout for its whole life (a closed pipe
    /// would make its next line fail).
    _lines: Option<mpsc::Receiver<String>>,
}

impl Drop for Runner {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `trickle dev` with its data in `<dir>/.trickle` (where the CLI looks for the token).
fn start(dir: &Path) -> Runner {
    let child = Command::new(env!("CARGO_BIN_EXE_trickle"))
        .arg("dev")
        .env("TRICKLE_LISTEN", "127.0.0.1:0")
        .env("TRICKLE_DATA_DIR", dir.join(".trickle"))
        .env_remove("TRICKLE_ADMIN_TOKEN")
        .env_remove("TRICKLE_CLOCK_START")
        .env_remove("TRICKLE_NUMVERIFY_KEY")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start trickle dev");
    // Owned by the runner at once, so it is killed and waited for on every path.
    let mut runner = Runner {
        child,
        url: String::new(),
        _lines: None,
    };
    let stdout = runner.child.stdout.take().unwrap();
    let (lines, received) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    loop {
        let line = received
            .recv_timeout(Duration::from_secs(30))
            .expect("trickle dev printed its address");
        if let Some(rest) = line.strip_prefix("trickle dev listening on ") {
            runner.url = rest.trim().to_string();
            runner._lines = Some(received);
            return runner;
        }
    }
}

/// Runs the CLI in `dir` (no token given: it reads ./.trickle/admin-token) and returns stdout.
fn trickle(dir: &Path, url: &str, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_trickle"))
        .args(args)
        .args(["--api", url])
        .current_dir(dir)
        .env_remove("TRICKLE_ADMIN_TOKEN")
        .env_remove("TRICKLE_API_URL")
        .output()
        .expect("run trickle");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "trickle {args:?} failed: {}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
fn create_activate_show_run_and_stats_through_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let runner = start(dir.path());
    let url = runner.url.as_str();
    // Numbers ending in 0–4 are mobiles for the NumVerify simulator of `trickle dev`.
    std::fs::write(
        dir.path().join("friends.csv"),
        "first_name,phone\nAnn,(212) 555-0101\nBob,212-555-0102\nCy,2125550103\n",
    )
    .unwrap();
    let imported = trickle(
        dir.path(),
        url,
        &["import", "friends.csv", "--list", "Friends"],
    );
    let list = imported
        .split_whitespace()
        .find(|w| w.starts_with("ls_"))
        .unwrap_or_else(|| panic!("no list id in {imported:?}"))
        .to_string();

    let created = trickle(
        dir.path(),
        url,
        &[
            "campaign",
            "create",
            "--name",
            "Spring hello",
            "--message-a",
            "Hi {{first_name|there}}, spring is here",
            "--list",
            &list,
            "--days",
            "mon,wed,fri",
            "--time",
            "10:00",
            "--zone",
            "America/New_York",
            "--per-run",
            "2",
            "--sender",
            "+12125550100",
            "--business-name",
            "Acme",
        ],
    );
    let id = created.split_whitespace().next().unwrap().to_string();
    assert!(id.starts_with("cp_"), "{created}");
    assert!(created.to_lowercase().contains("draft"), "{created}");

    let activated = trickle(dir.path(), url, &["campaign", "activate", &id]);
    assert!(activated.to_lowercase().contains("active"), "{activated}");

    let shown = trickle(dir.path(), url, &["campaign", "show", &id]);
    for words in [
        "Spring hello",
        list.as_str(),
        "10:00",
        "America/New_York",
        "mon,wed,fri",
    ] {
        assert!(shown.contains(words), "{words:?} missing from:\n{shown}");
    }
    let listed = trickle(dir.path(), url, &["campaign", "list"]);
    assert!(listed.contains(&id), "{listed}");

    let run = trickle(dir.path(), url, &["campaign", "run", &id]);
    assert!(run.contains("planned 2"), "{run}");

    let stats: Value = serde_json::from_str(&trickle(
        dir.path(),
        url,
        &["campaign", "stats", &id, "--json"],
    ))
    .unwrap();
    assert_eq!(stats["total"]["planned"], 2, "{stats}");
    assert_eq!(stats["campaign_id"], Value::from(id.clone()));
    let table = trickle(dir.path(), url, &["campaign", "stats", &id]);
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("planned") && l.contains('2')),
        "{table}"
    );

    // The same campaign from a JSON file, with a flag laid over it.
    let file = dir.path().join("campaign.json");
    std::fs::write(
        &file,
        serde_json::json!({
            "name": "From a file", "message_a": "Hello {{first_name|there}}", "list_id": list,
            "schedule": {"days": ["tue"], "send_time": "11:00", "time_zone": "America/Chicago"},
            "per_run": 1, "sender": "+12125550100", "business_name": "Acme"
        })
        .to_string(),
    )
    .unwrap();
    let from_file = trickle(
        dir.path(),
        url,
        &[
            "campaign",
            "create",
            "--file",
            "campaign.json",
            "--per-run",
            "3",
            "--json",
        ],
    );
    let c: Value = serde_json::from_str(&from_file).unwrap();
    assert_eq!(
        (c["name"].as_str(), c["per_run"].as_u64()),
        (Some("From a file"), Some(3))
    );

    // A refusal reads as the API's message, with a failing exit status.
    let refused = Command::new(env!("CARGO_BIN_EXE_trickle"))
        .args(["campaign", "pause", c["id"].as_str().unwrap(), "--api", url])
        .current_dir(dir.path())
        .env_remove("TRICKLE_ADMIN_TOKEN")
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("409"));
}
