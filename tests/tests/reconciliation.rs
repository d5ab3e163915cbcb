//! Reconciliation with OpenPhone over real HTTP against the simulator: a webhook outage during
//! which messages, a STOP, a missed call with voicemail and a call with recording, transcript and
//! summary happen; a run inserts exactly those (through the webhook code path, marked
//! `source: reconciliation`), a second run inserts nothing; a run cut off mid-way resumes from
//! its checkpoint; UNKNOWN campaign sends are resolved both ways.

use std::time::Duration as StdDuration;

use bytes::Bytes;
use chrono::Duration;
use reqwest::Method;
use serde_json::{json, Value};
use trickle_app::campaigns::send_rules::SendSettings;
use trickle_app::campaigns::send_worker::{AlertSettings, SendLimits, SendWorker, Step};
use trickle_app::campaigns::{self, keys, SendJob};
use trickle_app::rate::RateBudget;
use trickle_app::reconcile::{self, ReconcileSettings, RunStatus, StartRequest, StepOutcome};
use trickle_domain::campaign::{RawCampaign, RawSchedule};
use trickle_providers::openphone::{OpenPhoneClient, OpenPhoneSettings};
use trickle_sandbox::openphone::{
    CallScript, Delivery, Format, InboundMedia, OpenPhoneSimulator, Shape, SimulatorConfig,
};
use trickle_tests::campaign_world::{utc, World};
use trickle_tests::webhooks::{eventually, Options, WebhookApp};

fn settings(numbers: Vec<String>) -> ReconcileSettings {
    let mut s = ReconcileSettings::new(numbers, RateBudget::for_api_key("test-key", 10));
    s.step_time = StdDuration::from_secs(60);
    s.alert_from = "alerts@trickle.test".into();
    s.alert_to = vec!["ops@example.com".into()];
    s.process.business_name = "Acme Realty".into();
    s
}

fn audio(tag: &str) -> InboundMedia {
    InboundMedia {
        bytes: Bytes::from(format!("audio of {tag}")),
        content_type: "audio/mpeg".into(),
    }
}

const KEPT: &str = "+12125550101";
const ASKING: &str = "+12125550102";
const STOPPING: &str = "+12125550103";
const MISSED: &str = "+12125550104";
const TALKED: &str = "+12125550105";

/// One message delivered normally, then an outage during which the rest happens.
async fn history_with_an_outage(app: &WebhookApp) {
    let sim = &app.simulator;
    let kept = sim.inbound_event(Shape::V3, KEPT, "Got your note, thanks", &[]);
    sim.deliver(&kept, Delivery::once(Format::Legacy)).await;
    app.processed(&[kept["id"].as_str().unwrap()]).await;

    sim.set_webhook_outage(true);
    for (from, text) in [
        (ASKING, "Is the house on Elm St still for sale?"),
        (STOPPING, "STOP"),
    ] {
        let event = sim.inbound_event(Shape::V3, from, text, &[]);
        assert!(sim
            .deliver(&event, Delivery::once(Format::Legacy))
            .await
            .is_empty());
    }
    let missed = CallScript {
        from: MISSED.into(),
        voicemail: Some(audio("voicemail")),
        ..CallScript::default()
    };
    let talked = CallScript {
        from: TALKED.into(),
        answered: true,
        duration: 95,
        recording: Some(audio("recording")),
        transcript: vec![
            ("agent".into(), "Hello, Acme Realty".into()),
            ("caller".into(), "Hi, about Elm St".into()),
        ],
        summary: vec!["Caller asked about Elm St".into()],
        next_steps: vec!["Send the listing".into()],
        ..CallScript::default()
    };
    for script in [&missed, &talked] {
        for event in sim.call_events(Shape::V4, script) {
            assert!(sim
                .deliver(&event, Delivery::once(Format::Legacy))
                .await
                .is_empty());
        }
    }
    sim.set_webhook_outage(false);
}

async fn run_to_completion(app: &WebhookApp, body: Value) -> Value {
    let (status, run) = app
        .send(Method::POST, "/v1/reconciliations", Some(body))
        .await;
    assert_eq!(status, 202, "{run}");
    let id = run["id"].as_str().unwrap().to_string();
    let mut last = Value::Null;
    let deadline = tokio::time::Instant::now() + StdDuration::from_secs(60);
    while tokio::time::Instant::now() < deadline {
        last = app.get(&format!("/v1/reconciliations/{id}")).await.1;
        if last["status"] == "completed" {
            return last;
        }
        tokio::time::sleep(StdDuration::from_millis(200)).await;
    }
    panic!("reconciliation {id} did not complete: {last}");
}

async fn activities_of(app: &WebhookApp, phone: &str) -> Vec<Value> {
    let id = app.contact_id(phone).await;
    app.activities(&id).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconciliation_inserts_exactly_what_the_outage_lost_and_a_second_run_nothing() {
    let number = SimulatorConfig::default().phone_number;
    let app = WebhookApp::start_with(Options {
        reconcile: Some(settings(vec![number])),
        ..Options::default()
    })
    .await;
    history_with_an_outage(&app).await;

    let run = run_to_completion(&app, json!({})).await;
    let c = &run["counts"];
    assert_eq!(c["messages_inserted"], 2, "{run}");
    assert_eq!(c["calls_inserted"], 2, "{run}");
    assert_eq!(c["voicemails_inserted"], 1, "{run}");
    assert_eq!(c["recordings_inserted"], 1, "{run}");
    assert_eq!(c["transcripts_inserted"], 1, "{run}");
    assert_eq!(c["summaries_inserted"], 1, "{run}");
    assert_eq!(c["opt_outs_found"], 1, "{run}");
    assert_eq!(c["conversations_checked"], 5, "{run}");
    assert_eq!(run["opt_outs"], json!([STOPPING]));

    // Delivered by webhook: untouched, not duplicated.
    let kept = activities_of(&app, KEPT).await;
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0]["source"], "webhook");
    // Lost: inserted once, marked.
    let asking = activities_of(&app, ASKING).await;
    assert_eq!(asking.len(), 1, "{asking:?}");
    assert_eq!(asking[0]["source"], "reconciliation");
    assert_eq!(asking[0]["text"], "Is the house on Elm St still for sale?");
    let missed = activities_of(&app, MISSED).await;
    assert_eq!(missed.len(), 1, "{missed:?}");
    assert_eq!(missed[0]["kind"], "missed_call");
    assert!(missed[0]["voicemail"]["url"].is_string(), "{missed:?}");
    let talked = activities_of(&app, TALKED).await;
    assert_eq!(talked.len(), 1, "{talked:?}");
    assert_eq!(talked[0]["kind"], "call");
    assert_eq!(talked[0]["source"], "reconciliation");
    assert_eq!(talked[0]["recordings"].as_array().map(Vec::len), Some(1));
    assert_eq!(talked[0]["transcript"][1]["content"], "Hi, about Elm St");
    assert_eq!(talked[0]["summary"], json!(["Caller asked about Elm St"]));
    assert_eq!(talked[0]["next_steps"], json!(["Send the listing"]));
    // The late STOP is processed: opted out, and confirmed once.
    let (_, opt_outs) = app.get("/v1/opt-outs").await;
    let state = opt_outs["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["phone"] == json!(STOPPING))
        .cloned()
        .unwrap_or(Value::Null);
    assert_eq!(state["status"], "opted_out", "{opt_outs}");
    let confirmations = app
        .simulator
        .sent_messages()
        .iter()
        .filter(|m| m["to"][0] == json!(STOPPING))
        .count();
    assert_eq!(confirmations, 1);

    // One alert email, readable, with the counts.
    let mails = app.outbox();
    assert_eq!(mails.len(), 1, "{mails:?}");
    let mail = &mails[0];
    assert!(mail.contains("missed webhook events recovered"), "{mail}");
    assert!(
        mail.contains("2 messages") && mail.contains("2 calls"),
        "{mail}"
    );
    assert!(mail.contains(STOPPING), "{mail}");

    // A second run over the same window finds everything in place.
    let again = run_to_completion(&app, json!({})).await;
    // (It also sees the opt-out confirmation the first run's late STOP caused.)
    assert!(again["counts"]["messages_checked"].as_u64() >= c["messages_checked"].as_u64());
    let inserted: u64 = [
        "messages_inserted",
        "calls_inserted",
        "voicemails_inserted",
        "recordings_inserted",
        "transcripts_inserted",
        "summaries_inserted",
    ]
    .iter()
    .map(|k| again["counts"][k].as_u64().unwrap())
    .sum();
    assert_eq!(inserted, 0, "{again}");
    assert_eq!(activities_of(&app, ASKING).await.len(), 1);
    assert_eq!(app.outbox().len(), 1, "no alert when nothing was missing");
    let (_, runs) = app.get("/v1/reconciliations").await;
    assert_eq!(runs["items"].as_array().map(Vec::len), Some(2));
    assert_eq!(runs["items"][0]["id"], again["id"], "newest first");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_cut_off_mid_way_resumes_from_its_checkpoint() {
    // No consumer: the test takes the steps itself.
    let app = WebhookApp::start().await;
    history_with_an_outage(&app).await;
    let number = SimulatorConfig::default().phone_number;
    let mut settings = settings(vec![number]);
    // One conversation per step, and a dead step's lease runs out at once.
    settings.step_time = StdDuration::ZERO;
    settings.lease_margin = Duration::zero();
    let run = reconcile::start(&app.services, &settings, StartRequest::default())
        .await
        .unwrap();

    let first = reconcile::step(&app.services, &settings, None, &run.id)
        .await
        .unwrap();
    assert_eq!(first, StepOutcome::Continued);
    let after_first = reconcile::get(&app.services, &run.id).await.unwrap();
    assert_eq!(after_first.counts.conversations_checked, 1);

    // The next step dies mid-conversation (its future is dropped, as a killed process stops).
    let killed = tokio::time::timeout(
        StdDuration::from_millis(300),
        reconcile::step(&app.services, &settings, None, &run.id),
    )
    .await;
    assert!(killed.is_err(), "the step was cut off");
    let after_kill = reconcile::get(&app.services, &run.id).await.unwrap();
    assert_eq!(after_kill.status, RunStatus::Running);
    assert_eq!(
        after_kill.counts.conversations_checked, 1,
        "the checkpoint held"
    );

    let mut outcome = StepOutcome::Continued;
    for _ in 0..20 {
        outcome = reconcile::step(&app.services, &settings, None, &run.id)
            .await
            .unwrap();
        if matches!(outcome, StepOutcome::Completed(_)) {
            break;
        }
    }
    let StepOutcome::Completed(done) = outcome else {
        panic!("the run never completed: {outcome:?}");
    };
    assert_eq!(done.counts.conversations_checked, 5, "{done:?}");
    assert!(done.steps >= 5, "resumed step by step: {}", done.steps);
    // Whatever the dead step did, everything is there exactly once.
    for phone in [ASKING, STOPPING, MISSED, TALKED] {
        let (_, found) = app
            .get(&format!("/v1/contacts?phone={}", phone.replace('+', "%2B")))
            .await;
        assert!(found["items"][0]["id"].is_string(), "{phone}: {done:?}");
        assert_eq!(activities_of(&app, phone).await.len(), 1, "{phone}");
    }
    let talked = activities_of(&app, TALKED).await;
    assert!(talked[0]["summary"].is_array() && talked[0]["transcript"].is_array());
    // A late duplicate of a finished run's message does nothing.
    assert_eq!(
        reconcile::step(&app.services, &settings, None, &run.id)
            .await
            .unwrap(),
        StepOutcome::NothingToDo
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_sends_are_resolved_both_ways() {
    let mut world = World::new(utc("2026-01-05T12:00:00Z"));
    let simulator = OpenPhoneSimulator::start(SimulatorConfig {
        rate_limit: None,
        ..SimulatorConfig::default()
    })
    .await
    .unwrap();
    let mut client = OpenPhoneSettings::new(simulator.url(), "test-key");
    client.backoff = StdDuration::from_millis(5);
    client.read_attempts = 1;
    let sms = std::sync::Arc::new(OpenPhoneClient::new(client).unwrap());
    world.services.sms = sms.clone();
    let worker = SendWorker {
        services: world.services.clone(),
        sms,
        settings: SendSettings {
            settle: Duration::seconds(1),
            unavailable_retry: Duration::milliseconds(10),
            ..SendSettings::default()
        },
        limits: SendLimits {
            budget: RateBudget::for_api_key("test-key", 1000),
            ..SendLimits::new("test-key")
        },
        alerts: AlertSettings {
            from: "alerts@trickle.test".into(),
            to: vec!["ops@example.com".into()],
        },
    };
    let people = world.contacts(0, 2).await;
    let ids: Vec<String> = people.iter().map(|c| c.id.to_string()).collect();
    let list = world.list(&ids, "completed").await;
    let id = campaigns::create(
        &world.services,
        RawCampaign {
            name: "Resolve".into(),
            message_a: "Hi {{first_name|there}}, thinking of selling?".into(),
            list_id: list.to_string(),
            schedule: Some(RawSchedule {
                days: vec!["mon".into()],
                send_time: "10:00".into(),
                time_zone: "America/New_York".into(),
            }),
            per_run: 10,
            sender: simulator.phone_number().into(),
            business_name: Some("Acme Realty".into()),
            ..RawCampaign::default()
        },
    )
    .await
    .unwrap()
    .id
    .to_string();
    campaigns::activate(&world.services, &id).await.unwrap();
    world.clock.set(utc("2026-01-05T15:00:00Z"));
    campaigns::plan_due_campaigns(&world.services, world.now())
        .await
        .unwrap();
    // The first is sent but its answer is lost (599); the second never reaches the provider
    // (500 before sending): both become UNKNOWN.
    simulator.fail_next_sends(&[599, 500]);
    let mut jobs = Vec::new();
    for job in world.drain_sends().await {
        let job: SendJob = serde_json::from_value(job).unwrap();
        let step = worker.process(&job).await.unwrap();
        assert!(matches!(step, Step::Unknown(_)), "{step:?}");
        jobs.push(job);
    }
    assert_eq!(simulator.sent_messages().len(), 1);
    // Their queue messages are lost with the worker; the daily run settles them.
    world.drain_sends().await;
    world.clock.advance(Duration::minutes(5));
    let settings = settings(vec![]);
    let run = reconcile::start(&world.services, &settings, StartRequest::default())
        .await
        .unwrap();
    let StepOutcome::Completed(done) =
        reconcile::step(&world.services, &settings, Some(&worker), &run.id)
            .await
            .unwrap()
    else {
        panic!("one step completes a run with no numbers");
    };
    assert_eq!(done.counts.sends_resolved_sent, 1, "{done:?}");
    assert_eq!(done.counts.sends_resolved_retry, 1, "{done:?}");
    let mut states = Vec::new();
    for job in &jobs {
        let item = world
            .services
            .table
            .get(&keys::send(&job.campaign_id, &job.contact_id))
            .await
            .unwrap()
            .unwrap();
        states.push(item["state"].as_str().unwrap().to_string());
    }
    states.sort();
    assert_eq!(states, vec!["PLANNED", "SENT"]);
    // The one handed back goes out once the engine retries it; nobody gets two.
    for job in world.drain_sends().await {
        let job: SendJob = serde_json::from_value(job).unwrap();
        worker.process(&job).await.unwrap();
    }
    eventually("the retried send", || async {
        for job in world.drain_sends().await {
            let job: SendJob = serde_json::from_value(job).unwrap();
            worker.process(&job).await.unwrap();
        }
        simulator.sent_messages().len() == 2
    })
    .await;
    let mut to: Vec<String> = simulator
        .sent_messages()
        .iter()
        .map(|m| m["to"][0].as_str().unwrap().to_string())
        .collect();
    to.sort();
    to.dedup();
    assert_eq!(to.len(), 2, "each contact exactly once");
}

/// A STOP whose processing stopped after its activity was written (the state never changed) is
/// applied by the next reconciliation: the activity existing is no reason to skip an opt-out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_left_unapplied_behind_its_activity_is_applied_by_reconciliation() {
    let number = SimulatorConfig::default().phone_number;
    let app = WebhookApp::start_with(Options {
        reconcile: Some(settings(vec![number])),
        ..Options::default()
    })
    .await;
    let stop = app
        .simulator
        .inbound_event(Shape::V3, STOPPING, "Please stop texting me", &[]);
    app.simulator
        .deliver(&stop, Delivery::once(Format::Legacy))
        .await;
    app.processed(&[stop["id"].as_str().unwrap()]).await;
    // As if the processing had stopped after the activity: the opt-out was never written.
    app.services
        .table
        .delete(&keys::opt_out(STOPPING), None)
        .await
        .unwrap();
    let phone = trickle_domain::PhoneNumber::parse(STOPPING).unwrap();
    let opted_out = || trickle_app::webhooks::opt_out::is_opted_out(&app.services, &phone);
    assert!(!opted_out().await.unwrap());
    assert_eq!(activities_of(&app, STOPPING).await.len(), 1);

    let run = run_to_completion(&app, json!({})).await;
    assert_eq!(run["counts"]["messages_inserted"], 0, "{run}");
    assert!(
        opted_out().await.unwrap(),
        "reconciliation applied the STOP: {run}"
    );
    assert_eq!(
        activities_of(&app, STOPPING).await.len(),
        1,
        "nothing doubled"
    );
}
