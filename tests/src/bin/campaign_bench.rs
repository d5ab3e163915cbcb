//! Campaign send benchmarks: the planner, the send workers and the OpenPhone client over real
//! HTTP against the simulator, on the embedded store, with a business clock that starts on a
//! Monday at the campaign's send time and runs at real speed.
//!
//! ```sh
//! cargo run --release -p trickle-tests --bin campaign_bench -- [--messages 2000] [--workers 8]
//!     [--only limited|ceiling]
//! ```
//! 1. `limited`: the simulator allows 10 requests in any sliding second (429 above); the engine
//!    runs with its default budget of 10/s. Prints messages/s, the busiest second the simulator
//!    saw, 429s, duplicates and skips.
//! 2. `ceiling`: the simulator has no limit and the budget is lifted to 5,000/s: what the engine
//!    itself can plan, claim, send and record per second.
//!
//! The daily cap per sender (125 in production) is lifted: it would stop both runs early.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration as StdDuration, Instant};

use async_trait::async_trait;
use trickle_app::campaigns::send_rules::SendSettings;
use trickle_app::campaigns::send_worker::{AlertSettings, SendLimits, SendWorker};
use trickle_app::campaigns::{self, keys};
use trickle_app::ports::ReceivedMessage;
use trickle_app::queues;
use trickle_app::rate::{DailyCap, RateBudget};
use trickle_app::worker::{run_consumer, HandlerError, MessageHandler, RetryPolicy};
use trickle_app::Services;
use trickle_domain::campaign::{RawCampaign, RawSchedule};
use trickle_domain::OffsetClock;
use trickle_providers::openphone::{OpenPhoneClient, OpenPhoneSettings};
use trickle_sandbox::openphone::{OpenPhoneSimulator, SimulatorConfig};
use trickle_tests::campaign_world::{utc, World};

const API_KEY: &str = "bench-key";

struct Args {
    messages: u32,
    workers: usize,
    only: Option<String>,
}

fn args() -> Args {
    let mut args = Args {
        messages: 2000,
        workers: 8,
        only: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--messages" => args.messages = value.parse().expect("--messages N"),
            "--workers" => args.workers = value.parse().expect("--workers N"),
            "--only" => args.only = Some(value),
            other => panic!("unknown flag {other}"),
        }
    }
    args
}

/// Records when each handled message finished (the send is recorded by then).
struct Timed {
    inner: SendWorker,
    done: Mutex<Vec<Instant>>,
}

#[async_trait]
impl MessageHandler for Timed {
    async fn handle(&self, message: &ReceivedMessage) -> Result<(), HandlerError> {
        let result = self.inner.handle(message).await;
        self.done.lock().unwrap().push(Instant::now());
        result
    }
}

struct Run {
    messages: u32,
    planned_in: StdDuration,
    sending_in: StdDuration,
    /// Per second of the send phase: claims, provider requests, recorded sends.
    claimed: u64,
    claimed_span: StdDuration,
    requests: u64,
    sent_span: StdDuration,
    recorded: u64,
    recorded_span: StdDuration,
    busiest_second: u64,
    rate_limited: u64,
    duplicates: usize,
    skipped: usize,
}

fn per_second(count: u64, span: StdDuration) -> f64 {
    count as f64 / span.as_secs_f64().max(1e-9)
}

async fn run(messages: u32, workers: usize, limited: bool) -> Run {
    // Monday 2026-01-05 10:00 in New York: the send time, inside quiet hours' window.
    let world = World::new(utc("2026-01-05T14:00:00Z"));
    let simulator = OpenPhoneSimulator::start(SimulatorConfig {
        rate_limit: limited.then_some(10),
        ..SimulatorConfig::default()
    })
    .await
    .expect("simulator");
    let sms = Arc::new(
        OpenPhoneClient::new(OpenPhoneSettings::new(simulator.url(), API_KEY)).expect("client"),
    );

    eprintln!("seeding {messages} contacts…");
    let people = world.contacts(0, messages).await;
    let ids: Vec<String> = people.iter().map(|c| c.id.to_string()).collect();
    let list = world.list(&ids, "completed").await;
    // Activated just before the send time; planned at it.
    let services = Services {
        clock: Arc::new(OffsetClock::starting_at(utc("2026-01-05T14:59:59Z"))),
        ..world.services.clone()
    };
    let campaign = campaigns::create(
        &services,
        RawCampaign {
            name: "Bench".into(),
            message_a: "Hi {{first_name|there}}, thinking of selling this spring?".into(),
            list_id: list.to_string(),
            schedule: Some(RawSchedule {
                days: ["mon", "tue", "wed", "thu", "fri"]
                    .map(String::from)
                    .to_vec(),
                send_time: "10:00".into(),
                time_zone: "America/New_York".into(),
            }),
            per_run: messages,
            sender: simulator.phone_number().into(),
            business_name: Some("Acme Realty".into()),
            ..RawCampaign::default()
        },
    )
    .await
    .expect("campaign");
    let id = campaign.id.to_string();
    campaigns::activate(&services, &id).await.expect("activate");

    let started = Instant::now();
    let tick = campaigns::plan_due_campaigns(&services, utc("2026-01-05T15:00:00Z"))
        .await
        .expect("plan");
    let planned_in = started.elapsed();
    let planned: u64 = tick.runs.iter().map(|r| r.planned).sum();
    assert_eq!(
        planned,
        u64::from(messages),
        "every contact planned in one run"
    );

    let budget = if limited { 10 } else { 5000 };
    let handler = Arc::new(Timed {
        inner: SendWorker {
            services: services.clone(),
            sms,
            settings: SendSettings::default(),
            limits: SendLimits {
                budget: RateBudget::for_api_key(API_KEY, budget),
                daily_cap: DailyCap {
                    per_sender: 1_000_000,
                },
                ..SendLimits::new(API_KEY)
            },
            alerts: AlertSettings {
                from: "alerts@trickle.local".into(),
                to: vec!["ops@trickle.local".into()],
            },
        },
        done: Mutex::new(Vec::new()),
    });
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let sending = Instant::now();
    let tasks: Vec<_> = (0..workers)
        .map(|_| {
            tokio::spawn(run_consumer(
                services.queue.clone(),
                queues::SENDS.to_string(),
                handler.clone(),
                RetryPolicy::default(),
                StdDuration::from_secs(60),
                stopped.clone(),
            ))
        })
        .collect();
    let deadline = Instant::now() + StdDuration::from_secs(u64::from(messages) / 5 + 120);
    loop {
        tokio::time::sleep(StdDuration::from_millis(250)).await;
        let depth = services.queue.depth(queues::SENDS).await.unwrap();
        if depth == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "sends still queued: {depth}");
    }
    stop.send(true).unwrap();
    for t in tasks {
        t.await.unwrap();
    }

    let stats = simulator.request_stats();
    let mut per_recipient: BTreeMap<String, usize> = BTreeMap::new();
    for m in simulator.sent_messages() {
        *per_recipient
            .entry(m["to"][0].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    let duplicates = per_recipient.values().filter(|n| **n > 1).count();
    let reached: HashSet<&String> = per_recipient.keys().collect();
    let skipped = people
        .iter()
        .filter(|p| !reached.contains(&p.phone.to_string()))
        .count();

    // Claims and records from the send records (business-clock instants, real speed).
    let sends = world
        .items(&keys::campaign_pk(&id), keys::SEND_PREFIX)
        .await;
    let instants = |field: &str| -> Vec<chrono::DateTime<chrono::Utc>> {
        let mut v: Vec<_> = sends
            .iter()
            .filter_map(|s| s.get(field)?.as_str().map(utc))
            .collect();
        v.sort();
        v
    };
    let span_of = |v: &[chrono::DateTime<chrono::Utc>]| -> StdDuration {
        match (v.first(), v.last()) {
            (Some(a), Some(b)) => (*b - *a).to_std().unwrap_or_default(),
            _ => StdDuration::ZERO,
        }
    };
    let claims = instants("claimed_at");
    let done = handler.done.lock().unwrap().clone();
    let recorded_span = done
        .iter()
        .max()
        .map(|last| last.duration_since(sending))
        .unwrap_or_default();
    let sent_count = sends
        .iter()
        .filter(|s| s.get("state").and_then(|v| v.as_str()) == Some("SENT"))
        .count() as u64;
    Run {
        messages,
        planned_in,
        sending_in: sending.elapsed(),
        claimed: claims.len() as u64,
        claimed_span: span_of(&claims),
        requests: stats.requests,
        sent_span: stats.span,
        recorded: sent_count,
        recorded_span,
        busiest_second: stats.busiest_second,
        rate_limited: stats.rate_limited,
        duplicates,
        skipped,
    }
}

fn report(label: &str, r: &Run) {
    println!("== {label}: {} messages", r.messages);
    println!(
        "planned:  {} in {:.2} s = {:.0}/s",
        r.messages,
        r.planned_in.as_secs_f64(),
        per_second(u64::from(r.messages), r.planned_in)
    );
    println!(
        "claimed:  {} over {:.2} s = {:.1}/s",
        r.claimed,
        r.claimed_span.as_secs_f64(),
        per_second(r.claimed.saturating_sub(1), r.claimed_span)
    );
    println!(
        "sent:     {} provider requests over {:.2} s = {:.2}/s (first to last request)",
        r.requests,
        r.sent_span.as_secs_f64(),
        per_second(r.requests.saturating_sub(1), r.sent_span)
    );
    println!(
        "recorded: {} SENT, send phase {:.2} s = {:.2}/s (workers started to last record)",
        r.recorded,
        r.recorded_span.as_secs_f64(),
        per_second(r.recorded, r.recorded_span)
    );
    println!(
        "busiest sliding second at the provider: {}; 429s: {}; duplicates: {}; skipped: {}; \
         queue drained after {:.1} s",
        r.busiest_second,
        r.rate_limited,
        r.duplicates,
        r.skipped,
        r.sending_in.as_secs_f64()
    );
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let args = args();
    let only = args.only.as_deref();
    if only.is_none() || only == Some("limited") {
        let r = run(args.messages, args.workers, true).await;
        report("simulator limited to 10 requests/s, budget 10/s", &r);
    }
    if only.is_none() || only == Some("ceiling") {
        let r = run(args.messages, args.workers, false).await;
        report("engine ceiling (simulator unlimited, budget 5000/s)", &r);
    }
}
