//! The tick within its deadline: a run far larger than one tick can plan finishes over several
//! deadline-bounded steps chained through the `planner` queue, every contact planned exactly
//! once, while a campaign due with it is planned by the next step at the latest.

use std::collections::BTreeSet;
use std::time::{Duration as StdDuration, Instant};

use trickle_app::campaigns::continuation;
use trickle_app::campaigns::tick::PlannerWorker;
use trickle_app::campaigns::{self, keys, PlannerSettings, RunOutcome, SendRecord};
use trickle_app::queues;
use trickle_app::records;
use trickle_domain::campaign::{RawCampaign, RawSchedule};
use trickle_domain::ListId;
use trickle_tests::campaign_world::{utc, World};

/// A step this short ends after its first batch (the deadline is checked after each batch), so
/// the run's length in steps is known without timing anything: BATCH contacts per step.
const STEP: StdDuration = StdDuration::from_millis(1);
/// Five batches: larger than one step plans, small enough for moto to hold quickly.
const BIG: u32 = 400;

fn raw(name: &str, send_time: &str, list: &ListId, per_run: u32) -> RawCampaign {
    RawCampaign {
        name: name.into(),
        message_a: "Hi {{first_name|there}}, thinking of selling this spring?".into(),
        list_id: list.to_string(),
        schedule: Some(RawSchedule {
            days: ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
                .map(String::from)
                .to_vec(),
            send_time: send_time.into(),
            time_zone: "America/New_York".into(),
        }),
        per_run,
        sender: "+12125550100".into(),
        business_name: Some("Acme Realty".into()),
        ..RawCampaign::default()
    }
}

async fn campaign_of(
    world: &World,
    name: &str,
    send_time: &str,
    (first, count): (u32, u32),
    per_run: u32,
) -> String {
    let people = world.contacts(first, count).await;
    let ids: Vec<String> = people.iter().map(|c| c.id.to_string()).collect();
    let list = world.list(&ids, "completed").await;
    let id = campaigns::create(&world.services, raw(name, send_time, &list, per_run))
        .await
        .unwrap()
        .id
        .to_string();
    campaigns::activate(&world.services, &id).await.unwrap();
    id
}

async fn planned_contacts(world: &World, id: &str) -> Vec<String> {
    world
        .items(&keys::campaign_pk(id), keys::SEND_PREFIX)
        .await
        .into_iter()
        .map(|i| records::from_item::<SendRecord>(i).unwrap().contact_id)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_of_many_batches_finishes_over_deadline_bounded_steps_and_a_campaign_due_with_it_waits_one_step_at_most(
) {
    let world = World::on_dynamo(utc("2026-01-05T12:00:00Z")).await;
    let big = campaign_of(&world, "Big list", "09:55", (0, BIG), BIG).await;
    let small = campaign_of(&world, "Small list", "10:00", (10_000, 20), 100).await;
    let at = utc("2026-01-05T15:00:00Z");
    world.clock.set(at);
    let settings = PlannerSettings {
        step_time: STEP,
        ..PlannerSettings::default()
    };

    let first = campaigns::plan_due_campaigns_with(&world.services, at, &settings)
        .await
        .unwrap();
    let run_of = |report: &campaigns::TickReport, id: &str| {
        report
            .runs
            .iter()
            .find(|r| r.campaign_id == id)
            .cloned()
            .unwrap_or_else(|| panic!("no run of {id} in {report:?}"))
    };
    // The big run is due first (09:55): it gets the step's one batch, and the small campaign
    // is left for the next step.
    let big_run = run_of(&first, &big);
    assert_eq!(
        (big_run.outcome, big_run.planned),
        (RunOutcome::Continues, u64::from(campaigns::BATCH)),
        "the big run stops after one batch past its deadline"
    );
    assert_eq!((first.runs.len(), first.deferred), (1, 1), "{first:?}");
    assert!(first.continuation_queued, "{first:?}");
    // The tick function again, once per `planner` message, as the queue delivers them.
    let worker = PlannerWorker {
        services: world.services.clone(),
        settings: settings.clone(),
    };
    let mut steps: u32 = 1;
    loop {
        let got = world
            .services
            .queue
            .receive(
                queues::PLANNER,
                10,
                StdDuration::from_secs(60),
                StdDuration::ZERO,
            )
            .await
            .unwrap();
        if got.is_empty() {
            break;
        }
        assert_eq!(got.len(), 1, "one continuation at a time");
        world
            .services
            .queue
            .delete(queues::PLANNER, &got[0].receipt)
            .await
            .unwrap();
        let report = worker.step(Instant::now() + STEP).await.unwrap();
        steps += 1;
        if steps == 2 {
            // The deferred campaign goes first in the next step, ahead of the big run.
            let small_run = run_of(&report, &small);
            assert_eq!(
                (small_run.outcome, small_run.planned),
                (RunOutcome::Planned, 20),
                "{report:?}"
            );
        }
        assert!(steps < 200, "the run never finished: {report:?}");
    }
    println!("a run of {BIG} on moto took {steps} steps");
    let batches = BIG.div_ceil(campaigns::BATCH);
    assert!(steps >= batches, "{steps} steps for {batches} batches");

    let planned = planned_contacts(&world, &big).await;
    let distinct: BTreeSet<&String> = planned.iter().collect();
    assert_eq!(planned.len(), BIG as usize, "every contact planned");
    assert_eq!(distinct.len(), BIG as usize, "none twice");
    assert_eq!(planned_contacts(&world, &small).await.len(), 20);
    assert_eq!(
        continuation::queued_at(&world.services).await.unwrap(),
        None,
        "the chain ended"
    );
    let run = world
        .services
        .table
        .get(&keys::run(&big, "2026-01-05T15:00:00.000Z"))
        .await
        .unwrap();
    let slots: Vec<_> = world
        .items(&keys::campaign_pk(&big), "RUN#")
        .await
        .into_iter()
        .map(|r| (r["slot"].clone(), r["status"].clone(), r["planned"].clone()))
        .collect();
    assert_eq!(slots.len(), 1, "one run: {slots:?} ({run:?})");
    assert_eq!(slots[0].1, "done", "{slots:?}");
    assert_eq!(slots[0].2, BIG, "{slots:?}");

    // Later ticks, while the sender's daily cap keeps most of the backlog PLANNED, queue nothing
    // again: the messages are already on the queue.
    let queued = world.drain_sends().await.len();
    assert_eq!(queued, BIG as usize + 20, "one message per planned send");
    for minutes in [1, 2, 60] {
        campaigns::plan_due_campaigns_with(
            &world.services,
            at + chrono::Duration::minutes(minutes),
            &settings,
        )
        .await
        .unwrap();
    }
    assert_eq!(world.drain_sends_peek().await, 0, "no backlog re-queued");
}

/// Run now on a run larger than a request may plan: the request plans one batch and answers
/// `Continues`; its continuation message is lost (a crash right after the commit), and the
/// every-minute ticks still finish the run, every contact planned exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manual_run_too_large_for_a_request_is_finished_by_the_ticks_even_if_its_message_is_lost()
{
    // On the embedded store (the chain through the planner queue is proved on DynamoDB above).
    let world = World::new(utc("2026-01-05T12:00:00Z"));
    // Scheduled for the evening: only the manual run is planned at 10:00 New York time.
    let id = campaign_of(&world, "By hand", "19:00", (0, BIG), BIG).await;
    let at = utc("2026-01-05T15:00:00Z");
    world.clock.set(at);
    let report = campaigns::manual_run::run_now_within(&world.services, &id, StdDuration::ZERO)
        .await
        .unwrap();
    assert_eq!(
        (report.outcome.clone(), report.planned),
        (RunOutcome::Continues, u64::from(campaigns::BATCH)),
        "{report:?}"
    );
    // The continuation message is lost.
    let lost = world
        .services
        .queue
        .receive(
            queues::PLANNER,
            10,
            StdDuration::from_secs(600),
            StdDuration::ZERO,
        )
        .await
        .unwrap();
    assert_eq!(lost.len(), 1, "the request asked for a continuation");
    for message in &lost {
        world
            .services
            .queue
            .delete(queues::PLANNER, &message.receipt)
            .await
            .unwrap();
    }
    let settings = PlannerSettings {
        step_time: STEP,
        ..PlannerSettings::default()
    };
    let slot = report.slot.clone().unwrap();
    let mut ticks = 0;
    loop {
        ticks += 1;
        let now = at + chrono::Duration::minutes(ticks);
        world.clock.set(now);
        campaigns::plan_due_campaigns_with(&world.services, now, &settings)
            .await
            .unwrap();
        let run = world
            .services
            .table
            .get(&keys::run(&id, &slot))
            .await
            .unwrap()
            .unwrap();
        if run["status"] == "done" {
            break;
        }
        assert!(ticks < 50, "the manual run never finished: {run:?}");
    }
    let planned = planned_contacts(&world, &id).await;
    let distinct: BTreeSet<&String> = planned.iter().collect();
    assert_eq!(planned.len(), BIG as usize, "every contact planned");
    assert_eq!(distinct.len(), BIG as usize, "none twice");
    assert!(
        world.items("MANUALRUN", &id).await.is_empty(),
        "nothing is left to continue"
    );
    let batches = BIG.div_ceil(campaigns::BATCH);
    assert!(
        ticks + 1 >= i64::from(batches),
        "{ticks} ticks for {batches} batches"
    );
}
