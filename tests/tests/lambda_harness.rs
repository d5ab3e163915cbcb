//! The deployment as AWS runs it (see `trickle_tests::lambda`): each function's own binary
//! under a Lambda Runtime API, with the environment and resources `template.yaml` defines, on
//! moto, driven by an HTTP API, SQS event source mappings, S3 notifications and schedules.
//!
//! Needs the function binaries (`cargo build --workspace --bins`) and moto: `make test` does
//! both.

use std::time::Duration;

use chrono::{Timelike, Utc};
use reqwest::Method;
use serde_json::{json, Value};
use trickle_sandbox::openphone::{Delivery, Format, Shape};
use trickle_tests::lambda::{scheduled_event, Deployment, Options};

/// Waits up to `seconds` for `check` to give a value; panics with the functions' logs if not.
async fn until<T, F, Fut>(deployment: &Deployment, what: &str, seconds: u64, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(seconds);
    loop {
        if let Some(value) = check().await {
            return value;
        }
        if tokio::time::Instant::now() > deadline {
            panic!(
                "{what} did not happen within {seconds} s\n{}",
                deployment.logs()
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The simulator's own number, its id, and an internal number of the same workspace.
const OUR_NUMBER: &str = "+13105550100";
const OUR_NUMBER_ID: &str = "PNsimulator01";
const RECEIVER: &str = "+13105550199";

/// Health check and reconciliation on (what a full deployment sets).
fn configured() -> Options {
    Options {
        parameters: vec![
            ("HealthSender", OUR_NUMBER_ID.into()),
            ("HealthReceiver", RECEIVER.into()),
            ("ReconcileNumbers", OUR_NUMBER.into()),
        ],
        environment: vec![("TRICKLE_HEALTH_VERDICT_SECONDS", "8".into())],
        ..Options::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_function_starts_cold_under_the_runtime_api_with_its_template_environment() {
    let deployment = Deployment::start(configured()).await;
    assert_eq!(
        deployment.stack.template.all_binaries().len(),
        std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../functions"))
            .unwrap()
            .count(),
        "every crate in functions/ is a function of the template"
    );
    // Forwarding is off (ForwardUrl is empty): the template leaves that function out.
    assert!(!deployment.functions.contains_key("ForwardFunction"));
    for function in deployment.functions.values() {
        let cold = function
            .cold_start()
            .await
            .unwrap_or_else(|e| panic!("{}: {e}\n{}", function.spec.name, function.log_tail()));
        assert!(
            cold.init < Duration::from_secs(10),
            "{}",
            function.spec.name
        );
    }
    let (status, body) = deployment.api(Method::GET, "/v1/campaigns", None).await;
    assert_eq!(status, 200, "{body}\n{}", deployment.logs());
    assert!(body["items"].is_array(), "{body}");
    let anonymous = deployment
        .http
        .get(format!("{}/v1/campaigns", deployment.gateway.url))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    deployment.assert_calls_within_policies();
}

const ALICE: &str = "+14155550101";

async fn opt_out_of(deployment: &Deployment, phone: &str) -> Option<Value> {
    let (_, list) = deployment.api(Method::GET, "/v1/opt-outs", None).await;
    list["items"]
        .as_array()?
        .iter()
        .find(|s| s["phone"] == json!(phone))
        .cloned()
}

async fn contact_of(deployment: &Deployment, phone: &str) -> Option<Value> {
    let (_, page) = deployment
        .api(
            Method::GET,
            &format!("/v1/contacts?phone={}", phone.replace('+', "%2B")),
            None,
        )
        .await;
    page["items"].as_array()?.first().cloned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_signed_webhook_becomes_a_stored_activity_and_a_stop_opts_out() {
    let deployment = Deployment::start(Options::default()).await;
    let sim = &deployment.openphone;
    let hello = sim.inbound_event(Shape::V3, ALICE, "Is the house on Elm still for sale?", &[]);
    let statuses = sim.deliver(&hello, Delivery::once(Format::Standard)).await;
    assert_eq!(statuses, vec![200], "{}", deployment.logs());
    // The http function captured it; the events function (from the events queue) stored it.
    let contact = until(&deployment, "the contact", 60, || {
        contact_of(&deployment, ALICE)
    })
    .await;
    let id = contact["id"].as_str().unwrap().to_string();
    let activities = until(&deployment, "the activity", 60, || async {
        let (_, page) = deployment
            .api(Method::GET, &format!("/v1/contacts/{id}/activities"), None)
            .await;
        let items = page["items"].as_array()?.clone();
        (!items.is_empty()).then_some(items)
    })
    .await;
    assert_eq!(activities.len(), 1, "{activities:?}");
    assert_eq!(activities[0]["direction"], "incoming", "{activities:?}");
    assert_eq!(activities[0]["text"], "Is the house on Elm still for sale?");

    // A forged delivery is refused before anything is stored.
    let forged = deployment
        .http
        .post(format!("{}/webhooks/openphone", deployment.gateway.url))
        .header("openphone-signature", "hmac;1;1700000000000;AAAA")
        .body(hello.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 401);

    let stop = sim.inbound_event(Shape::V3, ALICE, "STOP", &[]);
    assert_eq!(
        sim.deliver(&stop, Delivery::once(Format::Legacy)).await,
        vec![200]
    );
    let state = until(&deployment, "the opt-out", 60, || async {
        opt_out_of(&deployment, ALICE)
            .await
            .filter(|s| s["status"] == "opted_out")
    })
    .await;
    assert_eq!(state["audit"][0]["text"], "STOP", "{state}");
    // One confirmation went back through OpenPhone, from the send the opt-out made.
    let confirmations = until(&deployment, "the confirmation", 30, || async {
        let sent: Vec<Value> = sim
            .sent_messages()
            .into_iter()
            .filter(|m| m["to"][0] == json!(ALICE))
            .collect();
        (!sent.is_empty()).then_some(sent)
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        sim.sent_messages()
            .iter()
            .filter(|m| m["to"][0] == json!(ALICE))
            .count(),
        1,
        "{confirmations:?}"
    );
    let events = deployment.mapping("EventsQueue").stats();
    assert!(
        events.invocations >= 1 && events.function_errors.is_empty(),
        "{events:?}"
    );
    deployment.assert_calls_within_policies();
}

/// Creates an import through the HTTP API, uploads `csv` to its pre-signed S3 URL (moto tells
/// the uploads queue), and waits for the import and validate functions to finish it.
async fn import(deployment: &Deployment, list_name: &str, csv: &str) -> Value {
    let (status, created) = deployment
        .api(
            Method::POST,
            "/v1/imports",
            Some(json!({"list_name": list_name, "kind": "contacts"})),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let mut put = deployment.http.put(created["upload_url"].as_str().unwrap());
    for (name, value) in created["headers"].as_object().unwrap() {
        put = put.header(name, value.as_str().unwrap());
    }
    let uploaded = put.body(csv.to_string()).send().await.unwrap();
    assert!(
        uploaded.status().is_success(),
        "upload: {}",
        uploaded.status()
    );
    let id = created["id"].as_str().unwrap().to_string();
    until(deployment, "the import to finish", 120, || async {
        let (_, body) = deployment
            .api(Method::GET, &format!("/v1/imports/{id}"), None)
            .await;
        ["completed", "failed", "paused"]
            .contains(&body["status"].as_str().unwrap_or_default())
            .then_some(body)
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_uploaded_csv_becomes_a_validated_list() {
    let deployment = Deployment::start(Options::default()).await;
    // By the NumVerify simulator's last-digit rule: 0–4 mobile, 5 landline, 8 invalid.
    let csv = "first_name,last_name,phone\n\
               Ann,Lee,(212) 555-0101\n\
               Bob,Ray,212.555.0102\n\
               Cy,Day,+1 212 555 0105\n\
               Di,Fox,2125550108\n\
               Ed,Gum,not a number\n\
               Ann,Lee,212-555-0101\n";
    let done = import(&deployment, "Open house", csv).await;
    assert_eq!(done["status"], "completed", "{done}\n{}", deployment.logs());
    assert_eq!(
        done["summary"],
        "2 valid mobile numbers added (0 already contacts); 4 skipped: \
         1 landline, 1 invalid, 1 duplicate in file, 1 unreadable phone",
        "{done}"
    );
    let list_id = done["list_id"].as_str().unwrap();
    let (_, members) = deployment
        .api(Method::GET, &format!("/v1/lists/{list_id}/members"), None)
        .await;
    let phones: Vec<&str> = members["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["phone"].as_str())
        .collect();
    assert_eq!(phones, ["+12125550101", "+12125550102"], "{members}");
    assert_eq!(
        deployment.numverify.lookups(),
        4,
        "one lookup per distinct readable number"
    );
    let uploads = deployment.mapping("UploadsQueue").stats();
    assert!(uploads.function_errors.is_empty(), "{uploads:?}");
    deployment.assert_calls_within_policies();
}

/// A NANP area code where it is now between 8:00 and 20:50 local time (the legal window with
/// a margin), so the test's texts may go out whenever the suite runs.
fn area_code_open_now() -> Option<&'static str> {
    let now = Utc::now();
    [
        ("212", chrono_tz::America::New_York),
        ("787", chrono_tz::America::Puerto_Rico),
        ("709", chrono_tz::America::St_Johns),
        ("312", chrono_tz::America::Chicago),
        ("415", chrono_tz::America::Los_Angeles),
        ("808", chrono_tz::Pacific::Honolulu),
        ("671", chrono_tz::Pacific::Guam),
    ]
    .into_iter()
    .find(|(_, zone)| {
        let local = now.with_timezone(zone);
        let minutes = local.hour() * 60 + local.minute();
        (8 * 60..20 * 60 + 50).contains(&minutes)
    })
    .map(|(code, _)| code)
}

/// Makes an active campaign due now: its next run moves from tomorrow to today's slot at the
/// same time (the schedule's send time, a minute ago), as if the tick had waited a day.
async fn due_now(deployment: &Deployment, campaign: &Value) {
    use trickle_app::campaigns::keys;
    use trickle_app::ports::Table;
    let id = campaign["id"].as_str().unwrap();
    let tomorrow = chrono::DateTime::parse_from_rfc3339(campaign["next_run_at"].as_str().unwrap())
        .unwrap()
        .with_timezone(&Utc);
    let today = tomorrow - chrono::Duration::days(1);
    let table = trickle_aws::DynamoTable::new(
        deployment.stack.dynamo.clone(),
        deployment.stack.template.table().name,
    );
    let mut item = table.get(&keys::campaign(id)).await.unwrap().unwrap();
    item.insert("next_run_at".into(), json!(keys::time_key(today)));
    item.insert(
        "next_slot".into(),
        json!(today.date_naive().format("%Y-%m-%d").to_string()),
    );
    item.insert("gsi2sk".into(), json!(keys::due_sort_key(today, id)));
    table.put(item, None).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_scheduled_tick_sends_through_openphone_once_each_and_a_poisoned_record_fails_alone() {
    let deployment = Deployment::start(Options::default()).await;
    let code = area_code_open_now();
    // Ten mobile numbers (last digits 0–4), in a zone where it is daytime now.
    let phones: Vec<String> = (0..10)
        .map(|i| format!("+1{}55501{}{}", code.unwrap_or("212"), i, i % 5))
        .collect();
    let mut csv = String::from("first_name,phone\n");
    for (i, phone) in phones.iter().enumerate() {
        csv.push_str(&format!("Buyer{i},{phone}\n"));
    }
    let imported = import(&deployment, "Buyers", &csv).await;
    assert_eq!(imported["status"], "completed", "{imported}");
    let now = Utc::now() - chrono::Duration::minutes(1);
    let (status, campaign) = deployment
        .api(
            Method::POST,
            "/v1/campaigns",
            Some(json!({
                "name": "Open house Saturday",
                "message_a": "Hi {{first_name}}, open house on Elm St this Saturday 10-2.",
                "list_id": imported["list_id"],
                "schedule": {
                    "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                    "send_time": now.format("%H:%M").to_string(),
                    "time_zone": "UTC",
                },
                "per_run": 10,
                "sender": OUR_NUMBER,
                "business_name": "Acme Realty",
            })),
        )
        .await;
    assert_eq!(status, 201, "{campaign}");
    let id = campaign["id"].as_str().unwrap().to_string();
    let (status, active) = deployment
        .api(
            Method::POST,
            &format!("/v1/campaigns/{id}/activate"),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, 200, "{active}\n{}", deployment.logs());
    due_now(&deployment, &active).await;

    // A record no consumer can read sits in the same queue; OpenPhone refuses one send with a
    // 429 (certainly not sent: planned again after a pause).
    deployment
        .stack
        .sqs
        .send_message()
        .queue_url(deployment.stack.queue_url("SendsQueue"))
        .message_body("{\"not\": \"a send\"")
        .send()
        .await
        .unwrap();
    deployment.openphone.fail_next_sends(&[429]);

    let report = deployment
        .function("TickFunction")
        .invoke(&scheduled_event("tick"))
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", deployment.logs()));
    assert_eq!(report["runs"][0]["planned"], 10, "{report}");

    let Some(_) = code else {
        // No +1 zone is between 8:00 and 20:50 right now (about 11:00–11:30 UTC): the sends
        // must wait for the window instead of going out.
        tokio::time::sleep(Duration::from_secs(5)).await;
        assert!(deployment.openphone.sent_messages().is_empty());
        return;
    };
    let sent = until(&deployment, "ten texts", 90, || async {
        let sent = deployment.openphone.sent_messages();
        let delivered: Vec<Value> = sent
            .into_iter()
            .filter(|m| m["status"] != "failed")
            .collect();
        (delivered.len() >= 10).then_some(delivered)
    })
    .await;
    // Let any duplicate show itself before counting.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let sent = {
        let all = deployment.openphone.sent_messages();
        assert!(all.len() >= sent.len());
        all
    };
    let mut recipients: Vec<String> = sent
        .iter()
        .map(|m| m["to"][0].as_str().unwrap().to_string())
        .collect();
    recipients.sort();
    let mut expected = phones.clone();
    expected.sort();
    assert_eq!(recipients, expected, "each contact exactly once");
    let text = sent[0]["text"].as_str().unwrap_or_default();
    assert!(
        text.contains("Hi Buyer") && text.contains("Acme Realty") && text.contains("STOP"),
        "{}",
        sent[0]
    );

    let sends = deployment.mapping("SendsQueue").stats();
    assert!(sends.function_errors.is_empty(), "{sends:?}");
    // The poisoned record failed alone: no batch failed with it, and it went to the
    // dead-letter queue while the records around it were sent.
    assert!(sends.failed_bodies.is_empty(), "{sends:?}");
    let (waiting, in_flight) = deployment.stack.depth("SendsDeadLetterQueue").await;
    assert_eq!((waiting, in_flight), (1, 0));
    let parked = deployment
        .stack
        .sqs
        .receive_message()
        .queue_url(deployment.stack.queue_url("SendsDeadLetterQueue"))
        .send()
        .await
        .unwrap();
    assert_eq!(parked.messages()[0].body(), Some("{\"not\": \"a send\""));

    let (_, stats) = deployment
        .api(Method::GET, &format!("/v1/campaigns/{id}/stats"), None)
        .await;
    assert_eq!(stats["total"]["sent"], 10, "{stats}");
    assert_eq!(stats["total"]["failed"], 0, "{stats}");
    deployment.assert_calls_within_policies();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_hourly_health_check_texts_the_receiver_and_judges_from_its_queue() {
    let deployment = Deployment::start(configured()).await;
    deployment.openphone.add_internal_number(RECEIVER);
    let (_, before) = deployment.api(Method::GET, "/v1/health", None).await;
    assert_eq!(before["configured"], true, "{before}");

    deployment
        .function("HealthFunction")
        .invoke(&scheduled_event("hourly"))
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", deployment.logs()));
    // The check's text went out from the sender to the receiver…
    let sent = deployment.openphone.sent_messages();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0]["to"][0], RECEIVER);
    // …its webhook came back through the HTTP API and the events queue, and the verdict
    // (on the health queue, 8 s later: the text, its webhook and the events queue in between) found it.
    let health = until(&deployment, "a passing verdict", 60, || async {
        let (_, health) = deployment.api(Method::GET, "/v1/health", None).await;
        (health["status"] == "passing").then_some(health)
    })
    .await;
    assert!(health["last_webhook_at"].is_string(), "{health}");
    let (_, checks) = deployment.api(Method::GET, "/v1/health/checks", None).await;
    assert_eq!(
        checks["items"].as_array().map(Vec::len),
        Some(1),
        "{checks}"
    );
    assert!(deployment.mapping("HealthQueue").stats().invocations >= 1);
    deployment.assert_calls_within_policies();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_daily_reconciliation_recovers_a_message_whose_webhook_never_came() {
    let deployment = Deployment::start(configured()).await;
    let sim = &deployment.openphone;
    sim.set_webhook_outage(true);
    // Recorded by OpenPhone, never delivered to us.
    sim.inbound_event(Shape::V3, ALICE, "Yes, please call me about Elm St", &[]);
    trickle_tests::lambda::fire_queue_rule(&deployment.stack, "DailyReconciliationRule").await;
    let run = until(&deployment, "a completed reconciliation", 90, || async {
        let (_, runs) = deployment
            .api(Method::GET, "/v1/reconciliations", None)
            .await;
        runs["items"]
            .as_array()?
            .first()
            .filter(|r| r["status"] == "completed")
            .cloned()
    })
    .await;
    let contact = until(&deployment, "the recovered contact", 30, || {
        contact_of(&deployment, ALICE)
    })
    .await;
    let (_, page) = deployment
        .api(
            Method::GET,
            &format!(
                "/v1/contacts/{}/activities",
                contact["id"].as_str().unwrap()
            ),
            None,
        )
        .await;
    let texts: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["text"].as_str())
        .collect();
    assert_eq!(texts, ["Yes, please call me about Elm St"], "{run}");
    let reconcile = deployment.mapping("ReconcileQueue").stats();
    assert!(reconcile.function_errors.is_empty(), "{reconcile:?}");
    deployment.assert_calls_within_policies();
}
