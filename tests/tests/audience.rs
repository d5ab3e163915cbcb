//! CSV imports end to end over real HTTP: the router and the `uploads`/`validate` consumers as
//! `trickle dev` runs them, on the embedded store, with NumVerify played by its simulator.

use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::sync::watch;
use trickle_app::audience::steps::send_step;
use trickle_app::audience::AudienceSettings;
use trickle_app::ports::{OutgoingMessage, Table};
use trickle_app::queues;
use trickle_app::queues::Step;
use trickle_app::queues::{ObjectCreated, QueueMessage, UploadsMessage};
use trickle_app::Services;
use trickle_http::HttpSettings;
use trickle_providers::numverify::NumVerifyClient;
use trickle_sandbox::numverify::{NumVerifySettings, NumVerifySimulator};

const TOKEN: &str = "test-admin-token";

struct Dev {
    url: String,
    services: Services,
    sim: NumVerifySimulator,
    http: reqwest::Client,
    dir: tempfile::TempDir,
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for Dev {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl Dev {
    /// Small chunks, so that even these files are parsed and finished in several steps.
    async fn start(quota: Option<u64>) -> Dev {
        Dev::start_with(quota, 1).await
    }

    /// `workers` consumers per queue, as several Lambda instances would run.
    async fn start_with(quota: Option<u64>, workers: usize) -> Dev {
        Dev::start_on(quota, workers, None).await
    }

    /// With `table` in place of the embedded one (DynamoDB on moto).
    async fn start_on(quota: Option<u64>, workers: usize, table: Option<Arc<dyn Table>>) -> Dev {
        let dir = tempfile::tempdir().unwrap();
        let sim = NumVerifySimulator::start(NumVerifySettings {
            access_key: Some("nv-key".into()),
            quota,
            latency: Duration::ZERO,
        })
        .await
        .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let mut services = trickle_tests::fixtures::embedded_services_with(
            dir.path(),
            &url,
            Arc::new(NumVerifyClient::new(&sim.base_url, "nv-key")),
        );
        if let Some(table) = table {
            services.table = table;
        }
        let settings = AudienceSettings {
            alert_to: vec!["ops@example.com".into(), "owner@example.com".into()],
            validations_per_second: 500.0,
            parse_chunk_rows: 3,
            finish_chunk_rows: 2,
            ..AudienceSettings::default()
        };
        let (stop, stopped) = watch::channel(false);
        let mut tasks =
            trickle_tests::import_consumers::spawn(&services, settings, workers, stopped);
        let router = trickle_http::router(
            services.clone(),
            HttpSettings {
                admin_token: TOKEN.into(),
                health: None,
                reconcile: None,
                sandbox: None,
                budget: None,
            },
        );
        tasks.push(tokio::spawn(async move {
            axum::serve(listener, router).await.unwrap();
        }));
        Dev {
            url,
            services,
            sim,
            http: reqwest::Client::new(),
            dir,
            stop,
            tasks,
        }
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.url))
            .bearer_auth(TOKEN);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let r = request.send().await.unwrap();
        (r.status(), r.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(reqwest::Method::GET, path, None).await
    }

    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    /// Creates an import and uploads `csv` to its pre-signed URL; returns the import id.
    async fn upload(&self, list_name: &str, kind: &str, csv: impl Into<Vec<u8>>) -> String {
        let (status, created) = self
            .post("/v1/imports", json!({"list_name": list_name, "kind": kind}))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        assert_eq!(created["method"], "PUT");
        let mut put = self.http.put(created["upload_url"].as_str().unwrap());
        for (name, value) in created["headers"].as_object().unwrap() {
            put = put.header(name, value.as_str().unwrap());
        }
        let r = put.body(csv.into()).send().await.unwrap();
        assert!(r.status().is_success(), "upload: {}", r.status());
        created["id"].as_str().unwrap().to_string()
    }

    /// Polls the import until its status is one of `wanted`; returns every status seen.
    async fn wait_for(&self, id: &str, wanted: &[&str]) -> (Value, Vec<String>) {
        let mut seen: Vec<String> = Vec::new();
        for _ in 0..400 {
            let (status, body) = self.get(&format!("/v1/imports/{id}")).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            let now = body["status"].as_str().unwrap().to_string();
            if seen.last() != Some(&now) {
                seen.push(now.clone());
            }
            if wanted.contains(&now.as_str()) {
                return (body, seen);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("import {id} never reached {wanted:?}; saw {seen:?}");
    }

    async fn wait_for_parse(&self, id: &str) -> Value {
        for _ in 0..400 {
            let (status, body) = self.get(&format!("/v1/imports/{id}")).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            if body["progress"]["parsed"] == true {
                return body;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("import {id} never finished parsing its file");
    }

    async fn members(&self, list_id: &str) -> Vec<Value> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let path = match &cursor {
                Some(c) => format!(
                    "/v1/lists/{list_id}/members?limit=2&cursor={}",
                    urlencode(c)
                ),
                None => format!("/v1/lists/{list_id}/members?limit=2"),
            };
            let (status, page) = self.get(&path).await;
            assert_eq!(status, StatusCode::OK, "{page}");
            out.extend(page["items"].as_array().unwrap().iter().cloned());
            match page["next"].as_str() {
                Some(next) => cursor = Some(next.to_string()),
                None => return out,
            }
        }
    }

    async fn rejects(&self, id: &str) -> String {
        let r = self
            .http
            .get(format!("{}/v1/imports/{id}/rejects", self.url))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        r.text().await.unwrap()
    }

    fn outbox(&self) -> Vec<String> {
        trickle_embedded::OutboxMailer::sent(self.dir.path()).expect("outbox readable")
    }
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Simulator verdicts by last digit: 0–4 mobile, 5–6 landline, 7 toll-free, 8 invalid.
const FIRST_FILE: &str = "first_name,last_name,phone,email\n\
Ann,Lee,212-555-0134,ann@example.com\n\
Bob,Stone,(646) 555-0101,\n\
Cara,Diaz,212-555-0135,\n\
Dan,Wu,917-555-0177,\n\
Eve,Ray,646-555-0148,\n\
Fay,Kim,+1 212 555 0134,\n\
Gus,Orr,,\n\
Hal,Poe,212.555.0102 x12,\n";

#[tokio::test]
async fn import_pauses_on_quota_resumes_and_a_second_import_reuses_contacts_and_cache() {
    pause_resume_and_reuse(Dev::start(Some(3)).await).await;
}

/// The same story with the records in DynamoDB (moto): its conditions, transactions, queries
/// and expiry behave as the embedded store's.
#[tokio::test]
async fn the_same_import_story_on_dynamodb() {
    let table = trickle_tests::fixtures::dynamo_table().await;
    pause_resume_and_reuse(Dev::start_on(Some(3), 1, Some(table.port.clone())).await).await;
}

async fn pause_resume_and_reuse(dev: Dev) {
    let id = dev.upload("Spring buyers", "contacts", FIRST_FILE).await;

    // The list is invisible while the import runs.
    let (paused, seen) = dev.wait_for(&id, &["paused", "completed", "failed"]).await;
    assert_eq!(paused["status"], "paused", "{paused}");
    assert!(
        paused["paused_reason"].as_str().unwrap().contains("quota"),
        "{paused}"
    );
    assert!(!seen.contains(&"completed".to_string()));
    // Parsing goes on while validation is paused: read the counts once the file is parsed.
    let paused = dev.wait_for_parse(&id).await;
    assert_eq!(paused["status"], "paused", "{paused}");
    assert_eq!(paused["progress"]["rows_read"], 8);
    assert_eq!(paused["progress"]["contacts_found"], 6);
    assert_eq!(paused["progress"]["duplicates_in_file"], 1);
    assert_eq!(paused["progress"]["without_phone"], 1);
    assert_eq!(paused["mapping"]["columns"][2]["role"], "phone");
    let list_id = paused["list_id"].as_str().unwrap().to_string();
    assert_eq!(
        dev.get(&format!("/v1/lists/{list_id}")).await.0,
        StatusCode::NOT_FOUND
    );
    let mails = dev.outbox();
    assert_eq!(mails.len(), 1, "one alert for one pause");
    assert!(
        mails[0].contains("To: ops@example.com, owner@example.com\r\n")
            && mails[0].contains("Spring buyers"),
        "the pause alert goes to every recipient: {}",
        mails[0]
    );
    assert_eq!(dev.sim.lookups(), 3, "the quota was honoured");

    // Quota lifted: resume, and the import completes without looking any number up twice.
    dev.sim.set_quota(None);
    let (status, body) = dev
        .post(&format!("/v1/imports/{id}/resume"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (done, _) = dev.wait_for(&id, &["completed", "failed"]).await;
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(
        done["summary"],
        "3 valid mobile numbers added (0 already contacts); 5 skipped: \
         1 landline, 1 invalid, 1 toll-free, 1 duplicate in file, 1 no phone"
    );
    assert_eq!(dev.sim.lookups(), 6);
    for number in [
        "+12125550134",
        "+16465550101",
        "+12125550135",
        "+19175550177",
        "+16465550148",
        "+12125550102",
    ] {
        assert_eq!(dev.sim.lookups_of(number), 1, "{number}");
    }
    let (status, again) = dev
        .post(&format!("/v1/imports/{id}/resume"), json!({}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{again}");

    // The list, in file order, and the rejects file with a reason per row.
    let (status, list) = dev.get(&format!("/v1/lists/{list_id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (list["name"].clone(), list["member_count"].clone()),
        (json!("Spring buyers"), json!(3))
    );
    let members = dev.members(&list_id).await;
    let phones: Vec<&str> = members
        .iter()
        .map(|m| m["phone"].as_str().unwrap())
        .collect();
    assert_eq!(phones, ["+12125550134", "+16465550101", "+12125550102"]);
    let positions: Vec<u64> = members
        .iter()
        .map(|m| m["position"].as_u64().unwrap())
        .collect();
    assert_eq!(positions, [0, 1, 2]);
    let rejects = dev.rejects(&id).await;
    let lines: Vec<&str> = rejects.lines().collect();
    assert_eq!(lines[0], "row,reason,detail,original_row");
    let reasons: Vec<String> = lines[1..]
        .iter()
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
    assert!(
        lines[1].ends_with("\"Cara,Diaz,212-555-0135,\""),
        "{}",
        lines[1]
    );
    let ann_id = members[0]["contact_id"].as_str().unwrap().to_string();
    let (_, ann) = dev.get(&format!("/v1/contacts/{ann_id}")).await;
    assert_eq!(ann["first_name"], "Ann");
    assert_eq!(ann["email"], "ann@example.com");
    assert_eq!(ann["source"], json!(id));

    // A second file overlapping the first: Ann is an existing contact, cached numbers are not
    // looked up again.
    let second = "Name,Mobile\nAnn Again,2125550134\nIvy New,646 555 0103\nCara,2125550135\n";
    let id2 = dev.upload("Summer", "contacts", second).await;
    let (done2, _) = dev.wait_for(&id2, &["completed", "failed", "paused"]).await;
    assert_eq!(
        done2["summary"],
        "2 valid mobile numbers added (1 already contacts); 1 skipped: 1 landline"
    );
    assert_eq!(dev.sim.lookups(), 7, "only the new number was looked up");
    assert_eq!(dev.sim.lookups_of("+12125550134"), 1);
    let members2 = dev.members(done2["list_id"].as_str().unwrap()).await;
    assert_eq!(members2[0]["contact_id"], json!(ann_id));
    let (_, found) = dev.get("/v1/contacts?phone=2125550134").await;
    assert_eq!(found["items"].as_array().unwrap().len(), 1);
    assert_eq!(
        found["items"][0]["first_name"], "Ann",
        "the existing contact is kept as is"
    );

    let (_, lists) = dev.get("/v1/lists").await;
    let names: Vec<&str> = lists["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Summer", "Spring buyers"]);
}

#[tokio::test]
async fn outages_are_retried_and_a_dropped_file_imports_once_under_its_name() {
    let dev = Dev::start(None).await;
    dev.sim.fail_next(3);
    let csv = "phone\n2125550134\n2125550101\n";
    dev.services
        .blobs
        .put(
            "imports/Open house.csv",
            csv.as_bytes().to_vec().into(),
            "text/csv",
        )
        .await
        .unwrap();
    let mut list = Value::Null;
    for _ in 0..200 {
        let (_, lists) = dev.get("/v1/lists").await;
        if let Some(found) = lists["items"].as_array().unwrap().first() {
            list = found.clone();
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(list["name"], "Open house", "{list}");
    assert_eq!(list["member_count"], 2);
    assert!(dev.sim.requests() >= 5, "the 500s were retried");

    // The same object-created event again (S3 redelivers): no second import.
    let import_id = list["import_id"].as_str().unwrap().to_string();
    let (_, first) = dev.get(&format!("/v1/imports/{import_id}")).await;
    assert_eq!(first["status"], "completed");
    // Replay the event with the object version the import recorded.
    let version: Option<String> = dev
        .services
        .table
        .get(&trickle_app::audience::keys::import(&import_id))
        .await
        .unwrap()
        .and_then(|i| {
            i.get("object_version")
                .and_then(|v| v.as_str().map(str::to_string))
        });
    let replay = ObjectCreated {
        bucket: "local".into(),
        key: "imports/Open house.csv".into(),
        size: csv.len() as u64,
        version,
        etag: None,
    };
    dev.services
        .queue
        .send(
            queues::UPLOADS,
            OutgoingMessage::new(UploadsMessage::Uploaded(vec![replay]).encode()),
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (_, lists) = dev.get("/v1/lists").await;
    assert_eq!(lists["items"].as_array().unwrap().len(), 1, "{lists}");
}

#[tokio::test]
async fn a_cancelled_import_stops_where_it_is_and_never_shows_its_list() {
    let dev = Dev::start(None).await;
    dev.sim.set_latency(Duration::from_millis(400));
    let id = dev.upload("Wrong file", "contacts", FIRST_FILE).await;
    let (running, _) = dev
        .wait_for(&id, &["validating", "completed", "failed"])
        .await;
    assert_eq!(running["status"], "validating", "{running}");
    let list_id = running["list_id"].as_str().unwrap().to_string();

    let (status, cancelled) = dev
        .post(&format!("/v1/imports/{id}/cancel"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{cancelled}");
    assert_eq!(cancelled["status"], "cancelled");
    assert!(cancelled["cancelled_at"].is_string(), "{cancelled}");
    assert!(
        cancelled["summary"]
            .as_str()
            .unwrap()
            .contains("no list was made"),
        "{cancelled}"
    );

    // Lookups in flight finish and every step arrives again: it stays cancelled, listless.
    dev.sim.set_latency(Duration::ZERO);
    for step in [Step::Parse, Step::Requeue, Step::Finish] {
        send_step(&dev.services, step, &id, "after-cancel")
            .await
            .unwrap();
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (_, after) = dev.get(&format!("/v1/imports/{id}")).await;
    assert_eq!(after["status"], "cancelled", "{after}");
    assert_eq!(after["progress"]["members_added"], 0, "{after}");
    assert_eq!(
        dev.get(&format!("/v1/lists/{list_id}")).await.0,
        StatusCode::NOT_FOUND
    );
    let (_, lists) = dev.get("/v1/lists").await;
    assert_eq!(lists["items"], json!([]), "no half list");
    for action in ["resume", "cancel"] {
        let (status, body) = dev
            .post(&format!("/v1/imports/{id}/{action}"), json!({}))
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "{action}: {body}");
    }

    // A completed import cannot be cancelled.
    let done = dev
        .upload("Right file", "contacts", "phone\n2125550101\n")
        .await;
    let (finished, _) = dev.wait_for(&done, &["completed", "failed"]).await;
    assert_eq!(finished["status"], "completed", "{finished}");
    let (status, body) = dev
        .post(&format!("/v1/imports/{done}/cancel"), json!({}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("completed"),
        "{body}"
    );
}

#[tokio::test]
async fn suppression_lists_answer_by_phone_without_lookups() {
    let dev = Dev::start(Some(0)).await;
    let id = dev
        .upload(
            "Do not contact",
            "suppression",
            "Phone\n(212) 555-0134\n212.555.0199\n\n",
        )
        .await;
    let (done, _) = dev.wait_for(&id, &["completed", "failed", "paused"]).await;
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(done["summary"], "2 numbers suppressed");
    assert_eq!(dev.sim.requests(), 0);
    let (_, yes) = dev.get("/v1/suppressions?phone=%2B12125550134").await;
    assert_eq!(yes["suppressed"], true, "{yes}");
    let (_, no) = dev.get("/v1/suppressions?phone=2125550101").await;
    assert_eq!(no["suppressed"], false);
    let (status, _) = dev.get("/v1/suppressions?phone=hello").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // An imported list's entry is the list's: it cannot be lifted like a carrier suppression.
    let delete = |path: &'static str| dev.call(reqwest::Method::DELETE, path, None);
    let (status, body) = delete("/v1/suppressions/%2B12125550134").await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(
        body.to_string().contains("imported suppression list"),
        "{body}"
    );
    let (_, still) = dev.get("/v1/suppressions?phone=%2B12125550134").await;
    assert_eq!(still["suppressed"], true, "{still}");
    let (status, _) = delete("/v1/suppressions/2125550101").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_unreadable_file_fails_with_a_clear_reason_and_no_list() {
    let dev = Dev::start(None).await;
    let id = dev
        .upload(
            "Mystery",
            "contacts",
            "2125550134,6465550101\n9175550177,2125550188\n",
        )
        .await;
    let (failed, _) = dev.wait_for(&id, &["failed", "completed"]).await;
    assert_eq!(failed["status"], "failed");
    assert!(
        failed["error"].as_str().unwrap().contains("no header row"),
        "{failed}"
    );
    let (_, lists) = dev.get("/v1/lists").await;
    assert!(lists["items"].as_array().unwrap().is_empty());
    let (status, _) = dev.post("/v1/imports", json!({"list_name": "  "})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/fixtures/csv/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

#[tokio::test]
async fn messy_and_latin1_files_resume_across_chunks_with_exact_row_numbers() {
    let dev = Dev::start(None).await;
    // BOM + CRLF + quoted newlines: resumed chunks start at byte offsets past the BOM.
    let id = dev.upload("Messy", "contacts", fixture("messy.csv")).await;
    let (done, _) = dev.wait_for(&id, &["completed", "failed", "paused"]).await;
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(done["progress"]["rows_read"], 7);
    assert_eq!(done["mapping"]["encoding"], "utf8_bom");
    assert_eq!(done["mapping"]["delimiter"], ";");
    let rejects = dev.rejects(&id).await;
    let reasons: Vec<String> = rejects
        .lines()
        .skip(1)
        .map(|l| l.split(',').take(2).collect::<Vec<_>>().join(","))
        .collect();
    assert_eq!(
        reasons,
        [
            "5,duplicate_in_file",
            "6,duplicate_in_file",
            "8,invalid_phone",
            "10,no_phone",
            "11,toll_free"
        ]
    );
    let members = dev.members(done["list_id"].as_str().unwrap()).await;
    assert_eq!(members.len(), 2);

    // Windows-1252: resumed chunks decode from the start and skip what was read. (A fresh
    // instance: the same numbers are contacts already here.)
    let dev = Dev::start(None).await;
    let id = dev.upload("Latin", "contacts", fixture("latin1.csv")).await;
    let (done, _) = dev.wait_for(&id, &["completed", "failed", "paused"]).await;
    assert_eq!(done["mapping"]["encoding"], "windows1252");
    let members = dev.members(done["list_id"].as_str().unwrap()).await;
    let first = members[0]["contact_id"].as_str().unwrap();
    let (_, contact) = dev.get(&format!("/v1/contacts/{first}")).await;
    assert_eq!(contact["first_name"], "José");
    assert_eq!(contact["attributes"]["apellido"], "Núñez");
}

#[tokio::test]
async fn concurrent_imports_of_the_same_numbers_create_each_contact_once() {
    let dev = Dev::start_with(None, 3).await;
    let numbers: Vec<String> = (0..12)
        .map(|i| format!("212555{:04}", 200 + i * 10 + (i % 5)))
        .collect();
    let file = |name: &str| {
        let mut csv = String::from("name,mobile\n");
        for n in &numbers {
            csv.push_str(&format!("{name},{n}\n"));
        }
        csv
    };
    let (a, b, c) = tokio::join!(
        dev.upload("A", "contacts", file("Ann")),
        dev.upload("B", "contacts", file("Bob")),
        dev.upload("C", "contacts", file("Cy")),
    );
    let mut member_sets = Vec::new();
    for id in [a, b, c] {
        let (done, _) = dev.wait_for(&id, &["completed", "failed", "paused"]).await;
        assert_eq!(done["status"], "completed", "{done}");
        assert_eq!(done["added"], 12);
        let members = dev.members(done["list_id"].as_str().unwrap()).await;
        member_sets.push(
            members
                .iter()
                .map(|m| m["contact_id"].as_str().unwrap().to_string())
                .collect::<Vec<_>>(),
        );
    }
    assert_eq!(member_sets[0], member_sets[1]);
    assert_eq!(member_sets[1], member_sets[2]);
    for n in &numbers {
        let (_, found) = dev.get(&format!("/v1/contacts?phone={n}")).await;
        assert_eq!(found["items"].as_array().unwrap().len(), 1, "{n}");
        assert_eq!(
            dev.sim.lookups_of(&format!("1{n}")),
            1,
            "{n} looked up once"
        );
    }
}

#[tokio::test]
async fn the_rejects_file_never_holds_a_spreadsheet_formula() {
    let dev = Dev::start(None).await;
    let id = dev
        .upload(
            "Formulas",
            "contacts",
            "first_name,phone\n=1+2,notaphone\n@SUM(A1),\n-3+4,x\nAnn,2125550134\n",
        )
        .await;
    let (done, _) = dev.wait_for(&id, &["completed", "failed", "paused"]).await;
    assert_eq!(done["status"], "completed", "{done}");
    let rejects = dev.rejects(&id).await;
    let lines: Vec<&str> = rejects.lines().skip(1).collect();
    assert_eq!(lines.len(), 3, "{rejects}");
    // The original row is one cell: it opens with an apostrophe, so a spreadsheet shows it as text.
    assert!(lines[0].ends_with(",\"'=1+2,notaphone\""), "{}", lines[0]);
    assert!(lines[1].ends_with(",\"'@SUM(A1),\""), "{}", lines[1]);
    assert!(lines[2].ends_with(",\"'-3+4,x\""), "{}", lines[2]);
}

#[tokio::test]
async fn a_number_outside_north_america_is_imported_only_with_its_time_zone() {
    let dev = Dev::start(None).await;
    let id = dev
        .upload(
            "Abroad",
            "contacts",
            "first_name,phone,time zone\nAnn,2125550134,\nBen,+447911123456,\nCat,+447911123452,Europe/London\nDan,+61412345678,somewhere sunny\n",
        )
        .await;
    let (done, _) = dev.wait_for(&id, &["completed", "failed", "paused"]).await;
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(done["skipped"]["unknown_time_zone"], 2, "{done}");
    let summary = done["summary"].as_str().unwrap();
    assert!(
        summary.contains("2 no time zone for a number outside North America"),
        "{summary}"
    );
    let rejects = dev.rejects(&id).await;
    assert!(
        rejects.contains("+447911123456 is outside North America"),
        "{rejects}"
    );
    assert!(
        rejects.contains("+61412345678 is outside North America"),
        "{rejects}"
    );
    assert!(!rejects.contains("+447911123452"), "{rejects}");
    // Cat is a member of the list, with her zone.
    let (_, contacts) = dev.get("/v1/contacts?phone=%2B447911123452").await;
    assert_eq!(
        contacts["items"][0]["attributes"]["time_zone"], "Europe/London",
        "{contacts}"
    );
}

#[tokio::test]
async fn consent_columns_give_each_contact_its_consent_and_the_campaign_counts_who_has_none() {
    let dev = Dev::start(None).await;
    let id = dev
        .upload(
            "Consented",
            "contacts",
            "first_name,phone,Opt-in Date,Source\nAnn,2125550131,3/14/2025,Zillow open house\nBen,2125550132,,\n",
        )
        .await;
    let (done, _) = dev.wait_for(&id, &["completed", "failed", "paused"]).await;
    assert_eq!(done["status"], "completed", "{done}");
    let (_, ann) = dev.get("/v1/contacts?phone=%2B12125550131").await;
    let attributes = &ann["items"][0]["attributes"];
    assert_eq!(attributes["consent_at"], "2025-03-14", "{ann}");
    assert_eq!(attributes["consent_source"], "Zillow open house", "{ann}");
    assert_eq!(
        attributes["opt_in_date"], "3/14/2025",
        "the column itself is kept: {ann}"
    );
    let (_, ben) = dev.get("/v1/contacts?phone=%2B12125550132").await;
    assert!(
        ben["items"][0]["attributes"]["consent_at"].is_null(),
        "{ben}"
    );
    // What the campaign's confirmation shows: one of the two has no recorded consent.
    let list_id = done["list_id"].as_str().unwrap();
    let estimate = trickle_app::campaigns::estimate::estimate(&dev.services, list_id, None)
        .await
        .unwrap();
    assert_eq!(
        (estimate.reachable, estimate.without_consent),
        (2, 1),
        "{estimate:?}"
    );
}

#[tokio::test]
async fn a_file_larger_than_an_import_takes_fails_at_once_with_what_to_do() {
    let dev = Dev::start(None).await;
    let (status, created) = dev
        .post(
            "/v1/imports",
            json!({"list_name": "Huge", "kind": "contacts"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().unwrap().to_string();
    // S3 announces a 2 GiB object at the import's key (the bytes never need to exist).
    let event = trickle_app::queues::ObjectCreated {
        bucket: "b".into(),
        key: format!("imports/{id}.csv"),
        size: 2 * 1024 * 1024 * 1024,
        version: Some("v1".into()),
        etag: Some("e1".into()),
    };
    trickle_app::audience::dispatch::object_created(&dev.services, &event)
        .await
        .unwrap();
    let (done, _) = dev.wait_for(&id, &["completed", "failed", "paused"]).await;
    assert_eq!(done["status"], "failed", "{done}");
    let error = done["error"].as_str().unwrap();
    assert!(
        error.contains("2147 MB") && error.contains("split it into smaller files"),
        "{error}"
    );
}

/// A forged upload URL is refused before its body is read: the request below declares 512 MiB
/// and sends 5 bytes, so a server that read the body first would never answer.
#[tokio::test]
async fn a_forged_upload_url_is_refused_before_its_body_is_read() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let dev = Dev::start(None).await;
    let (status, created) = dev
        .post(
            "/v1/imports",
            json!({"list_name": "Forged", "kind": "contacts"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let url = reqwest::Url::parse(created["upload_url"].as_str().unwrap()).unwrap();
    let forged: String = url
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == "signature" {
                "00".repeat(32)
            } else {
                v.into_owned()
            };
            format!("{k}={v}")
        })
        .collect::<Vec<_>>()
        .join("&");
    let content_type = created["headers"]["content-type"].as_str().unwrap();
    let mut stream = tokio::net::TcpStream::connect(format!(
        "{}:{}",
        url.host_str().unwrap(),
        url.port().unwrap()
    ))
    .await
    .unwrap();
    let request = format!(
        "PUT {}?{forged} HTTP/1.1\r\nHost: x\r\nContent-Type: {content_type}\r\n\
         Content-Length: {}\r\n\r\nphone",
        url.path(),
        512u64 * 1024 * 1024
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = vec![0u8; 12];
    tokio::time::timeout(Duration::from_secs(10), stream.read_exact(&mut answer))
        .await
        .expect("the refusal comes without waiting for the body")
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&answer), "HTTP/1.1 403");
}

/// Rows near the table's limits: 60 rows of 60 KB each become members and 60 more are
/// rejected (both batched within DynamoDB's 4 MB per transaction), a row over 64 KB is
/// rejected with its reason, and a quote that is never closed fails the import at its line
/// instead of reading the rest of the file as one row.
async fn large_rows_stay_within_the_store_limits(dev: Dev) {
    let columns: Vec<String> = (0..60).map(|c| format!("note{c}")).collect();
    let cells = vec!["n".repeat(1000); 60].join(",");
    let mut file = format!("first_name,phone,{}\n", columns.join(","));
    for i in 0..60 {
        file.push_str(&format!("P{i},2125551{i:02}0,{cells}\n"));
    }
    let long_cell = "r".repeat(60 * 1024);
    for i in 0..60 {
        file.push_str(&format!("R{i},21255502{i:02},{long_cell}\n"));
    }
    file.push_str(&format!("Big,2125550399,{}\n", "b".repeat(100 * 1024)));
    let id = dev.upload("Long notes", "contacts", file).await;
    let (done, _) = dev.wait_for(&id, &["completed", "failed", "paused"]).await;
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(done["skipped"]["row_too_large"], 1, "{done}");
    assert_eq!(done["skipped"]["invalid_row"], 60, "{done}");
    let list_id = done["list_id"].as_str().unwrap();
    let (_, list) = dev.get(&format!("/v1/lists/{list_id}")).await;
    assert_eq!(list["member_count"], 60, "{list}");
    let rejects = dev.rejects(&id).await;
    let big = rejects
        .lines()
        .find(|l| l.starts_with("122,"))
        .expect("the oversized row is in the rejects file");
    assert!(
        big.contains("row_too_large") && big.contains("at most 64 KB") && big.len() < 600,
        "only the row's opening is kept: {big}"
    );

    let mut runaway = String::from("first_name,phone,notes\nAnn,2125550134,\"oops\n");
    for i in 0..40_000 {
        runaway.push_str(&format!("Row{i},212555{:04},a note\n", i % 10_000));
    }
    let id = dev.upload("Unclosed", "contacts", runaway).await;
    let (failed, _) = dev.wait_for(&id, &["completed", "failed", "paused"]).await;
    assert_eq!(failed["status"], "failed", "{failed}");
    let error = failed["error"].as_str().unwrap();
    assert!(
        error.contains("line 2 runs past 1 MB") && error.contains("never closed"),
        "{error}"
    );
}

#[tokio::test]
async fn large_rows_stay_within_the_store_limits_on_the_embedded_store() {
    large_rows_stay_within_the_store_limits(Dev::start(None).await).await;
}

#[tokio::test]
async fn large_rows_stay_within_the_store_limits_on_dynamodb() {
    let table = trickle_tests::fixtures::dynamo_table().await;
    large_rows_stay_within_the_store_limits(Dev::start_on(None, 1, Some(table.port.clone())).await)
        .await;
}

/// A template's tokens are checked against the columns the import read: a token no column
/// fills is flagged with the fallback every member would get (or none), for the template on
/// its own and for a campaign on that list, before activation.
#[tokio::test]
async fn tokens_no_column_of_a_list_fills_are_flagged_with_their_fallbacks() {
    let dev = Dev::start(None).await;
    let id = dev
        .upload(
            "Open house visitors",
            "contacts",
            "First Name,Mobile,Property City,Price\nAnn,2125550141,Austin,$410k\nBen,2125550142,Dallas,\n",
        )
        .await;
    let (done, _) = dev.wait_for(&id, &["completed", "failed", "paused"]).await;
    assert_eq!(done["status"], "completed", "{done}");
    let list_id = done["list_id"].as_str().unwrap();

    let message = "Hi {{first_name}}, homes in {{city}} from {{price}}; ask {{agent|me}} about {{frist_name}}";
    let (status, template) = dev
        .post(
            "/v1/templates",
            json!({"name": "Visitors", "message": message}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{template}");
    let template_id = template["id"].as_str().unwrap();
    let (status, check) = dev
        .get(&format!(
            "/v1/templates/{template_id}/token-check?list_id={list_id}"
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{check}");
    let columns: Vec<&str> = check["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert_eq!(columns, ["first_name", "full_name", "city", "price"]);
    let flags: Vec<(&str, Value, Value)> = check["flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["token"].as_str().unwrap(),
                f["fallback"].clone(),
                f["did_you_mean"].clone(),
            )
        })
        .collect();
    assert_eq!(
        flags,
        [
            ("agent", json!("me"), Value::Null),
            ("frist_name", Value::Null, json!("first_name"))
        ]
    );
    assert_eq!(
        check["flags"][0]["description"],
        "the template: no column of the list fills {{agent}}; every member gets the fallback \u{201c}me\u{201d}"
    );

    // The same check for a campaign started from the template, before it is activated.
    let (status, campaign) = dev
        .post(
            "/v1/campaigns",
            json!({
                "name": "Visitors", "template_a": {"id": template_id}, "list_id": list_id,
                "schedule": {"days": ["mon"], "send_time": "10:00", "time_zone": "America/Chicago"},
                "per_run": 5, "sender": "+12125550100", "business_name": "Acme Realty"
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{campaign}");
    let (status, check) = dev
        .get(&format!(
            "/v1/campaigns/{}/token-check",
            campaign["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{check}");
    let described: Vec<&str> = check["flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["description"].as_str().unwrap())
        .collect();
    assert_eq!(
        described,
        [
            "message A: no column of the list fills {{agent}}; every member gets the fallback \u{201c}me\u{201d}",
            "message A: no column of the list fills {{frist_name}} (did you mean {{first_name}}?) and it has no fallback; add one ({{frist_name|…}}), or activation stops at each member without a value",
        ]
    );
}
