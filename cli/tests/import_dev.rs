//! `trickle import` as a user runs it, against a real `trickle dev` that validates through
//! NumVerify (played by its simulator with a key and a quota): a Windows-1252, semicolon, CRLF
//! export pauses on the quota, resumes, completes; a second file reuses contacts and the cache.

mod support;

use std::time::Duration;

use reqwest::Method;
use support::{trickle, trickle_ok, wait_for, DevRunner};
use trickle_sandbox::numverify::{NumVerifySettings, NumVerifySimulator};

/// A PropertyRadar-style export saved by Excel on Windows: `José` is one byte, `0xE9`.
fn first_file() -> Vec<u8> {
    let rows = [
        "First Name;Last Name;Owner 1 Mobile;Email",
        "Jos\u{e9};Lee;212-555-0134;jose@example.com",
        "Bob;Stone;(646) 555-0101;",
        "Cara;Diaz;212-555-0135;",
        "Dan;Wu;917-555-0177;",
        "Eve;Ray;646-555-0148;",
        "Fay;Kim;+1 212 555 0134;",
        "Gus;Orr;;",
        "Hal;Poe;212.555.0102 x12;",
    ];
    rows.join("\r\n")
        .chars()
        .map(|c| u8::try_from(u32::from(c)).expect("Latin-1"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_pauses_on_the_quota_resumes_and_a_second_one_reuses_contacts_and_cache() {
    let numverify = NumVerifySimulator::start(NumVerifySettings {
        access_key: Some("nv-test-key".into()),
        quota: Some(3),
        latency: Duration::ZERO,
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let runner = DevRunner::start(
        &dir.path().join(".trickle"),
        &[
            ("TRICKLE_NUMVERIFY_KEY", "nv-test-key"),
            ("TRICKLE_NUMVERIFY_BASE_URL", &numverify.base_url),
            ("TRICKLE_ALERT_EMAIL", "ops@example.com"),
        ],
    );
    std::fs::write(dir.path().join("buyers.csv"), first_file()).unwrap();
    let cli = |args: &'static [&'static str], must_succeed: bool| {
        let (dir, url) = (dir.path().to_path_buf(), runner.url.clone());
        // The CLI blocks; the NumVerify simulator in this process must keep answering.
        tokio::task::spawn_blocking(move || {
            if must_succeed {
                (trickle_ok(&dir, &url, args), String::new())
            } else {
                let out = trickle(&dir, &url, args);
                assert!(
                    !out.status.success(),
                    "a paused import exits with a failure"
                );
                (
                    String::from_utf8_lossy(&out.stdout).to_string(),
                    String::from_utf8_lossy(&out.stderr).to_string(),
                )
            }
        })
    };

    let (_, stderr) = cli(&["import", "buyers.csv", "--list", "Spring buyers"], false)
        .await
        .unwrap();
    assert!(stderr.contains("rows 8"), "progress was shown: {stderr}");
    let id = stderr
        .split("import ")
        .filter_map(|rest| rest.split_once(" is paused"))
        .map(|(id, _)| id.to_string())
        .next()
        .unwrap_or_else(|| panic!("no pause in {stderr}"));
    assert!(stderr.contains("quota"), "{stderr}");
    assert_eq!(numverify.lookups(), 3, "the quota was honoured");
    let paused = runner.get(&format!("/v1/imports/{id}")).await;
    assert_eq!(paused["status"], "paused");
    assert_eq!(paused["mapping"]["columns"][2]["header"], "Owner 1 Mobile");
    assert_eq!(paused["mapping"]["columns"][2]["role"], "mobile_phone");
    let list_id = paused["list_id"].as_str().unwrap().to_string();
    let (status, _) = runner
        .call(Method::GET, &format!("/v1/lists/{list_id}"), None)
        .await;
    assert_eq!(status, 404, "no half list while paused");
    let mails = runner.outbox();
    assert_eq!(mails.len(), 1, "one alert for one pause");
    assert!(mails[0].contains("ops@example.com") && mails[0].contains("Spring buyers"));

    numverify.set_quota(None);
    let (status, resumed) = runner
        .call(Method::POST, &format!("/v1/imports/{id}/resume"), None)
        .await;
    assert_eq!(status, 200, "{resumed}");
    let done = wait_for("the import", Duration::from_secs(60), || async {
        let import = runner.get(&format!("/v1/imports/{id}")).await;
        match import["status"].as_str() {
            Some("completed" | "failed") => Ok(import),
            _ => Err(import.to_string()),
        }
    })
    .await;
    assert_eq!(
        done["summary"],
        "3 valid mobile numbers added (0 already contacts); 5 skipped: \
         1 landline, 1 invalid, 1 toll-free, 1 duplicate in file, 1 no phone"
    );
    assert_eq!(numverify.lookups(), 6, "no number looked up twice");

    let members = runner.get(&format!("/v1/lists/{list_id}/members")).await;
    let phones: Vec<&str> = members["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["phone"].as_str().unwrap())
        .collect();
    assert_eq!(phones, ["+12125550134", "+16465550101", "+12125550102"]);
    let jose_id = members["items"][0]["contact_id"].as_str().unwrap();
    let jose = runner.get(&format!("/v1/contacts/{jose_id}")).await;
    assert_eq!(jose["first_name"], "José", "Windows-1252 decoded");
    assert_eq!(jose["email"], "jose@example.com");

    let rejects = runner.http_text(&format!("/v1/imports/{id}/rejects")).await;
    let reasons: Vec<String> = rejects
        .lines()
        .skip(1)
        .map(|l| l.split(',').take(2).collect::<Vec<_>>().join(","))
        .collect();
    assert_eq!(
        reasons,
        [
            "4,landline",
            "5,toll_free",
            "6,invalid",
            "7,duplicate_in_file",
            "8,no_phone"
        ]
    );

    // A second file overlapping the first: one contact already known, cached numbers reused.
    std::fs::write(
        dir.path().join("summer.csv"),
        "Name,Mobile\nJose Again,2125550134\nIvy New,646 555 0103\nCara,2125550135\n",
    )
    .unwrap();
    let (stdout, _) = cli(&["import", "summer.csv", "--list", "Summer"], true)
        .await
        .unwrap();
    assert!(
        stdout.contains("2 valid mobile numbers added (1 already contacts); 1 skipped: 1 landline"),
        "{stdout}"
    );
    assert_eq!(numverify.lookups(), 7, "only the new number was looked up");
    let found = runner.get("/v1/contacts?phone=%2B12125550134").await;
    assert_eq!(found["items"].as_array().unwrap().len(), 1, "{found}");
    assert_eq!(found["items"][0]["first_name"], "José", "kept as it was");
    let lists = runner.get("/v1/lists").await;
    let names: Vec<&str> = lists["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Summer", "Spring buyers"]);
}
