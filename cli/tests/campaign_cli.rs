//! `trickle campaign …` as a user runs it, against a real `trickle dev` process: a list imported
//! with `trickle import`, then create → activate → show → run → stats → export.

mod support;

use serde_json::Value;
use support::{trickle, trickle_ok, DevRunner};

#[test]
fn create_activate_show_run_and_stats_through_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    // Data in <dir>/.trickle, where the CLI run in <dir> finds the token.
    let runner = DevRunner::start(&dir.path().join(".trickle"), &[]);
    let url = runner.url.as_str();
    // Numbers ending in 0–4 are mobiles for the NumVerify simulator of `trickle dev`.
    std::fs::write(
        dir.path().join("friends.csv"),
        "first_name,phone\nAnn,(212) 555-0101\nBob,212-555-0102\nCy,2125550103\n",
    )
    .unwrap();
    let imported = trickle_ok(
        dir.path(),
        url,
        &["import", "friends.csv", "--list", "Friends"],
    );
    let list = imported
        .split_whitespace()
        .find(|w| w.starts_with("ls_"))
        .unwrap_or_else(|| panic!("no list id in {imported:?}"))
        .to_string();

    let created = trickle_ok(
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
            "+13105550100",
            "--business-name",
            "Acme",
        ],
    );
    let id = created.split_whitespace().next().unwrap().to_string();
    assert!(id.starts_with("cp_"), "{created}");
    assert!(created.to_lowercase().contains("draft"), "{created}");

    let activated = trickle_ok(dir.path(), url, &["campaign", "activate", &id]);
    assert!(activated.to_lowercase().contains("active"), "{activated}");

    let shown = trickle_ok(dir.path(), url, &["campaign", "show", &id]);
    for words in [
        "Spring hello",
        list.as_str(),
        "10:00",
        "America/New_York",
        "mon,wed,fri",
    ] {
        assert!(shown.contains(words), "{words:?} missing from:\n{shown}");
    }
    let listed = trickle_ok(dir.path(), url, &["campaign", "list"]);
    assert!(listed.contains(&id), "{listed}");

    let run = trickle_ok(dir.path(), url, &["campaign", "run", &id]);
    assert!(run.contains("planned 2"), "{run}");

    let stats: Value = serde_json::from_str(&trickle_ok(
        dir.path(),
        url,
        &["campaign", "stats", &id, "--json"],
    ))
    .unwrap();
    assert_eq!(stats["total"]["planned"], 2, "{stats}");
    assert_eq!(stats["campaign_id"], Value::from(id.clone()));
    let table = trickle_ok(dir.path(), url, &["campaign", "stats", &id]);
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("planned") && l.contains('2')),
        "{table}"
    );

    // The run's sends and the list's members as CSV: to stdout, or into a file.
    let sends = trickle_ok(dir.path(), url, &["export", "sends", &id]);
    let lines: Vec<&str> = sends.lines().collect();
    assert!(
        lines[0].starts_with("contact_id,phone,position,variant,state"),
        "{sends}"
    );
    assert_eq!(lines.len(), 1 + 2, "the two planned sends: {sends}");
    // `trickle dev`'s own worker may already have sent them.
    let states = [",PLANNED,", ",SENDING,", ",SENT,", ",DELIVERED,"];
    assert!(
        lines[1..]
            .iter()
            .all(|l| states.iter().any(|state| l.contains(state))),
        "{sends}"
    );
    let written = trickle(
        dir.path(),
        url,
        &["export", "members", "Friends", "--output", "members.csv"],
    );
    assert!(written.status.success(), "{written:?}");
    assert!(
        String::from_utf8_lossy(&written.stderr).contains("wrote 3 rows to members.csv"),
        "{written:?}"
    );
    let members = std::fs::read_to_string(dir.path().join("members.csv")).unwrap();
    assert!(
        members.contains("+12125550102") && members.contains("Bob"),
        "{members}"
    );

    // The same campaign from a JSON file, with a flag laid over it.
    let file = dir.path().join("campaign.json");
    std::fs::write(
        &file,
        serde_json::json!({
            "name": "From a file", "message_a": "Hello {{first_name|there}}", "list_id": list,
            "schedule": {"days": ["tue"], "send_time": "11:00", "time_zone": "America/Chicago"},
            "per_run": 1, "sender": "+13105550100", "business_name": "Acme"
        })
        .to_string(),
    )
    .unwrap();
    let from_file = trickle_ok(
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
    let refused = trickle(
        dir.path(),
        url,
        &["campaign", "pause", c["id"].as_str().unwrap()],
    );
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("409"));
}
