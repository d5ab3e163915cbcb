//! The tick planner on the embedded store: who gets planned, who goes to the review list, and
//! that duplicate, concurrent and late ticks, pauses and resumes never plan a contact twice or
//! skip one. Time moves by a `FixedClock`, never by sleeping.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};
use trickle_app::campaigns::{self, keys, RunOutcome, SendRecord};
use trickle_app::ports::table::Update;
use trickle_app::records;
use trickle_domain::campaign::{
    CampaignState, RawCampaign, RawSchedule, SendState, SkipReason, Variant,
};
use trickle_domain::{Contact, ListId};
use trickle_tests::campaign_world::{utc, World};

fn raw(list: &ListId, per_run: u32, message_b: Option<&str>) -> RawCampaign {
    RawCampaign {
        name: "Winter offer".into(),
        message_a: "Hi {{first_name|there}}, 20% off this week".into(),
        message_b: message_b.map(str::to_string),
        list_id: list.to_string(),
        schedule: Some(RawSchedule {
            days: ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
                .map(String::from)
                .to_vec(),
            send_time: "10:00".into(),
            time_zone: "America/New_York".into(),
        }),
        per_run,
        sender: "+12125550100".into(),
        business_name: Some("Acme".into()),
        opt_out_footer: None,
        split_percent: None,
        min_days_since_contact: None,
        auto_winner: None,
        template_a: None,
        template_b: None,
    }
}

async fn sends(world: &World, campaign_id: &str) -> Vec<SendRecord> {
    world
        .items(&keys::campaign_pk(campaign_id), keys::SEND_PREFIX)
        .await
        .into_iter()
        .map(|i| records::from_item(i).unwrap())
        .collect()
}

async fn review(world: &World) -> BTreeMap<String, (String, SkipReason)> {
    let page = campaigns::review::list(&world.services, 1000, None)
        .await
        .unwrap();
    assert!(page.next.is_none());
    page.items
        .into_iter()
        .map(|l| (l.entry.contact_id, (l.entry.campaign_id, l.entry.reason)))
        .collect()
}

async fn tick(world: &World) -> (u64, Vec<RunOutcome>) {
    let report = campaigns::plan_due_campaigns(&world.services, world.now())
        .await
        .unwrap();
    (
        report.runs.iter().map(|r| r.planned).sum(),
        report.runs.iter().map(|r| r.outcome.clone()).collect(),
    )
}

fn ids(contacts: &[&Contact]) -> BTreeSet<String> {
    contacts.iter().map(|c| c.id.to_string()).collect()
}

/// 10:00 New York on 2026-01-05 + `days` (EST, so 15:00Z).
fn slot(days: i64) -> DateTime<Utc> {
    utc("2026-01-05T15:00:00Z") + Duration::days(days)
}

#[tokio::test]
async fn runs_plan_every_eligible_contact_exactly_once_and_review_the_rest_embedded() {
    runs_plan_every_eligible_contact_exactly_once_and_review_the_rest(
        World::new(utc("2026-01-05T12:00:00Z")),
        250,
        100,
    )
    .await;
}

#[tokio::test]
async fn runs_plan_every_eligible_contact_exactly_once_and_review_the_rest_dynamo() {
    runs_plan_every_eligible_contact_exactly_once_and_review_the_rest(
        World::on_dynamo(utc("2026-01-05T12:00:00Z")).await,
        60,
        20,
    )
    .await;
}

/// `size` contacts, `per_run` per run (smaller on DynamoDB: moto is slow).
async fn runs_plan_every_eligible_contact_exactly_once_and_review_the_rest(
    world: World,
    size: u32,
    per_run: u32,
) {
    let people = world.contacts(0, size).await;
    let mut eligible = Vec::new();
    let mut reviewed = Vec::new();
    let other_campaign = "cp_0123456789abcdef0123456789abcdef";
    for (i, c) in people.iter().enumerate() {
        if i % 10 == 3 {
            world.opt_out(c).await;
        } else if i % 15 == 4 {
            world.suppress(c).await;
        } else if i % 7 == 5 {
            // Any previous communication, including another campaign's message.
            let by = (i % 2 == 0).then_some(other_campaign);
            world.activity(c, utc("2025-06-01T12:00:00Z"), by).await;
            reviewed.push(c);
        } else {
            eligible.push(c);
        }
    }
    // An opted-back-in contact is eligible.
    let resubscribed = &people[3];
    world
        .services
        .table
        .update(
            &keys::opt_out(resubscribed.phone.as_str()),
            Update::new().set("status", "subscribed"),
            None,
        )
        .await
        .unwrap();
    eligible.push(resubscribed);
    // The list: everyone, one contact twice, and a member whose contact does not exist.
    let mut members: Vec<String> = people.iter().map(|c| c.id.to_string()).collect();
    members.insert(size as usize * 2 / 5, people[0].id.to_string());
    members.insert(
        size as usize * 4 / 5,
        "ct_00000000000000000000000000000000".into(),
    );
    let list = world.list(&members, "completed").await;
    let list_size = members.len() as u64;

    let campaign = campaigns::create(
        &world.services,
        raw(&list, per_run, Some("Hello {{first_name|friend}}")),
    )
    .await
    .unwrap();
    let id = campaign.id.to_string();
    let active = campaigns::activate(&world.services, &id).await.unwrap();
    assert_eq!(active.next_run_at, Some(slot(0)));

    // Before the send time nothing happens.
    world.clock.set(slot(0) - Duration::seconds(1));
    assert_eq!(tick(&world).await, (0, vec![]));

    let mut per_day = Vec::new();
    // Enough days to walk the whole list, and two more that find it done.
    let days = i64::from(size.div_ceil(per_run)) + 2;
    for day in 0..days {
        world.clock.set(slot(day));
        let (planned, _) = tick(&world).await;
        // A duplicate tick in the same minute, and a late one an hour on, plan nothing.
        world.clock.set(slot(day) + Duration::seconds(30));
        assert_eq!(tick(&world).await.0, 0, "duplicate tick on day {day}");
        world.clock.set(slot(day) + Duration::hours(1));
        assert_eq!(tick(&world).await.0, 0, "late tick on day {day}");
        per_day.push(planned);
    }
    let eligible_ids = ids(&eligible);
    let total = eligible_ids.len() as u64;
    // Full runs of N until the list runs out, then nothing.
    let per_run = u64::from(per_run);
    let expected: Vec<u64> = (0..days as u64)
        .map(|d| (total.saturating_sub(d * per_run)).min(per_run))
        .collect();
    assert_eq!(per_day, expected);

    // Every eligible contact planned exactly once, nobody else.
    let planned = sends(&world, &id).await;
    let planned_ids: Vec<String> = planned.iter().map(|s| s.contact_id.clone()).collect();
    assert_eq!(planned_ids.len() as u64, total);
    assert_eq!(
        planned_ids.iter().cloned().collect::<BTreeSet<_>>(),
        eligible_ids
    );
    // And queued exactly once each.
    let queued = world.drain_sends().await;
    let mut queued_ids: Vec<String> = queued
        .iter()
        .map(|m| m["contact_id"].as_str().unwrap().to_string())
        .collect();
    queued_ids.sort();
    let mut sorted = planned_ids.clone();
    sorted.sort();
    assert_eq!(queued_ids, sorted);
    assert!(queued
        .iter()
        .all(|m| m["campaign_id"].as_str() == Some(id.as_str())));
    // The review list holds exactly the contacts with previous communication.
    let review = review(&world).await;
    assert_eq!(
        review.keys().cloned().collect::<BTreeSet<_>>(),
        ids(&reviewed)
    );
    assert!(review
        .values()
        .all(|(c, r)| c == &id && *r == SkipReason::PreviousCommunication));
    // The A/B split is interleaved by list position: A, B, A, B…
    for s in &planned {
        let expected = if s.position % 2 == 0 {
            Variant::A
        } else {
            Variant::B
        };
        assert_eq!(s.variant, expected, "position {}", s.position);
        assert_eq!(s.state, SendState::Planned);
    }
    let c = campaigns::get(&world.services, &id).await.unwrap();
    assert_eq!(c.cursor, list_size);
    // Not completed while sends are still in flight.
    assert_eq!(c.state, CampaignState::Active);

    // Once every send is final, the next run completes the campaign.
    for s in &planned {
        world
            .services
            .table
            .update(
                &keys::send(&id, &s.contact_id),
                Update::new().set("state", "SENT"),
                None,
            )
            .await
            .unwrap();
    }
    world.clock.set(slot(days));
    let report = campaigns::plan_due_campaigns(&world.services, world.now())
        .await
        .unwrap();
    assert!(report.runs[0].completed);
    let c = campaigns::get(&world.services, &id).await.unwrap();
    assert_eq!(c.state, CampaignState::Completed);
    world.clock.set(slot(days + 1));
    assert_eq!(tick(&world).await, (0, vec![]));
}

/// An A/B test compares messages, not weekdays: with 10 sends a day, every day's run carries
/// both messages in the split's ratio (within one message), and the whole list still gets
/// exactly its share of each.
#[tokio::test]
async fn every_run_carries_both_messages_in_the_split_ratio() {
    let world = World::new(slot(0) - Duration::hours(1));
    let people = world.contacts(0, 100).await;
    let members: Vec<String> = people.iter().map(|c| c.id.to_string()).collect();
    let list = world.list(&members, "completed").await;
    let mut settings = raw(
        &list,
        10,
        Some("Hello {{first_name|friend}}, spring is here"),
    );
    settings.split_percent = Some(30);
    let id = campaigns::create(&world.services, settings)
        .await
        .unwrap()
        .id
        .to_string();
    campaigns::activate(&world.services, &id).await.unwrap();
    for day in 0..10 {
        world.clock.set(slot(day));
        assert_eq!(tick(&world).await.0, 10, "day {day}");
    }
    let mut by_run: BTreeMap<String, (u32, u32)> = BTreeMap::new();
    for s in sends(&world, &id).await {
        let counts = by_run.entry(s.slot.clone()).or_default();
        match s.variant {
            Variant::A => counts.0 += 1,
            Variant::B => counts.1 += 1,
        }
    }
    assert_eq!(by_run.len(), 10, "{by_run:?}");
    for (run, (a, b)) in &by_run {
        // 30% of 10 is 3: each run holds 2 to 4 A's.
        assert!(
            (2..=4).contains(a) && a + b == 10,
            "run {run}: {a} A, {b} B"
        );
    }
    let total_a: u32 = by_run.values().map(|(a, _)| a).sum();
    assert_eq!(total_a, 30, "{by_run:?}");
}

#[tokio::test]
async fn pause_and_resume_continue_from_the_cursor_at_the_next_scheduled_time_embedded() {
    pause_and_resume_continue_from_the_cursor_at_the_next_scheduled_time(World::new(utc(
        "2026-01-05T12:00:00Z",
    )))
    .await;
}

#[tokio::test]
async fn pause_and_resume_continue_from_the_cursor_at_the_next_scheduled_time_dynamo() {
    pause_and_resume_continue_from_the_cursor_at_the_next_scheduled_time(
        World::on_dynamo(utc("2026-01-05T12:00:00Z")).await,
    )
    .await;
}

async fn pause_and_resume_continue_from_the_cursor_at_the_next_scheduled_time(world: World) {
    let people = world.contacts(0, 35).await;
    let list = world
        .list(
            &people.iter().map(|c| c.id.to_string()).collect::<Vec<_>>(),
            "completed",
        )
        .await;
    let id = campaigns::create(&world.services, raw(&list, 10, None))
        .await
        .unwrap()
        .id
        .to_string();
    campaigns::activate(&world.services, &id).await.unwrap();

    world.clock.set(slot(0));
    assert_eq!(tick(&world).await.0, 10);
    campaigns::pause(&world.services, &id).await.unwrap();
    // Paused: the next slots pass without a run.
    for day in 1..3 {
        world.clock.set(slot(day));
        assert_eq!(tick(&world).await, (0, vec![]));
    }
    // Resumed mid-afternoon after the slot: not at once, at tomorrow's 10:00.
    world.clock.set(slot(2) + Duration::hours(3));
    let resumed = campaigns::resume(&world.services, &id).await.unwrap();
    assert_eq!(resumed.next_run_at, Some(slot(3)));
    assert_eq!(resumed.cursor, 10);
    assert_eq!(tick(&world).await, (0, vec![]));
    for day in 3..7 {
        world.clock.set(slot(day));
        tick(&world).await;
    }
    let mut positions: Vec<u64> = sends(&world, &id)
        .await
        .iter()
        .map(|s| s.position)
        .collect();
    positions.sort();
    assert_eq!(positions, (0..35).collect::<Vec<_>>());
    // Each run took the next positions in order.
    let by_slot: BTreeMap<String, Vec<u64>> =
        sends(&world, &id)
            .await
            .into_iter()
            .fold(BTreeMap::new(), |mut m, s| {
                m.entry(s.slot).or_insert_with(Vec::new).push(s.position);
                m
            });
    let ranges: Vec<(u64, u64)> = by_slot
        .values()
        .map(|p| (*p.iter().min().unwrap(), *p.iter().max().unwrap()))
        .collect();
    assert_eq!(ranges, vec![(0, 9), (10, 19), (20, 29), (30, 34)]);
    assert_eq!(by_slot.keys().next().unwrap(), "2026-01-05");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_ticks_plan_each_contact_once_embedded() {
    concurrent_ticks_plan_each_contact_once(World::new(utc("2026-01-05T12:00:00Z")), 150).await;
}

// No DynamoDB variant: moto's server checks conditions and writes without a lock, so it cannot
// show atomicity under concurrent ticks (DynamoDB itself guarantees it; the sequential
// duplicate-tick tests run on moto).

async fn concurrent_ticks_plan_each_contact_once(world: World, per_run: u32) {
    let people = world.contacts(0, 2 * per_run).await;
    let list = world
        .list(
            &people.iter().map(|c| c.id.to_string()).collect::<Vec<_>>(),
            "completed",
        )
        .await;
    let id = campaigns::create(&world.services, raw(&list, per_run, None))
        .await
        .unwrap()
        .id
        .to_string();
    campaigns::activate(&world.services, &id).await.unwrap();
    for day in 0..2 {
        world.clock.set(slot(day));
        let ticks: Vec<_> = (0..6)
            .map(|_| {
                let services = world.services.clone();
                let now = world.now();
                tokio::spawn(
                    async move { campaigns::plan_due_campaigns(&services, now).await.unwrap() },
                )
            })
            .collect();
        let mut total = 0;
        for t in ticks {
            total += t.await.unwrap().runs.iter().map(|r| r.planned).sum::<u64>();
        }
        assert_eq!(total, u64::from(per_run), "day {day}");
        let c = campaigns::get(&world.services, &id).await.unwrap();
        assert_eq!(c.cursor, u64::from(per_run) * (day as u64 + 1));
        let run = world
            .services
            .table
            .get(&keys::run(&id, &format!("2026-01-0{}", 5 + day)))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(run["planned"], per_run);
    }
    let mut positions: Vec<u64> = sends(&world, &id)
        .await
        .iter()
        .map(|s| s.position)
        .collect();
    positions.sort();
    assert_eq!(positions, (0..2 * u64::from(per_run)).collect::<Vec<_>>());
    let queued = world.drain_sends().await;
    assert_eq!(queued.len(), 2 * per_run as usize, "each send queued once");
}

#[tokio::test]
async fn a_slot_missed_by_more_than_the_grace_is_skipped_not_fired_late() {
    let world = World::new(utc("2026-01-05T12:00:00Z"));
    let people = world.contacts(0, 5).await;
    let list = world
        .list(
            &people.iter().map(|c| c.id.to_string()).collect::<Vec<_>>(),
            "completed",
        )
        .await;
    let id = campaigns::create(&world.services, raw(&list, 2, None))
        .await
        .unwrap()
        .id
        .to_string();
    campaigns::activate(&world.services, &id).await.unwrap();

    world
        .clock
        .set(slot(0) + Duration::hours(2) + Duration::minutes(1));
    assert_eq!(tick(&world).await, (0, vec![RunOutcome::SkippedLate]));
    let c = campaigns::get(&world.services, &id).await.unwrap();
    assert_eq!((c.cursor, c.next_run_at), (0, Some(slot(1))));
    // Within the grace a late tick still runs the slot.
    world.clock.set(slot(1) + Duration::minutes(119));
    assert_eq!(tick(&world).await, (2, vec![RunOutcome::Planned]));
    let run = world
        .services
        .table
        .get(&keys::run(&id, "2026-01-05"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(run["status"], "skipped");
}

#[tokio::test]
async fn min_days_since_contact_marks_recent_contacts_and_a_campaigns_own_activity_does_not_count()
{
    let world = World::new(utc("2026-01-05T12:00:00Z"));
    let people = world.contacts(0, 4).await;
    let list = world
        .list(
            &people.iter().map(|c| c.id.to_string()).collect::<Vec<_>>(),
            "completed",
        )
        .await;
    let mut r = raw(&list, 10, None);
    r.min_days_since_contact = Some(30);
    let id = campaigns::create(&world.services, r)
        .await
        .unwrap()
        .id
        .to_string();
    world
        .activity(&people[0], utc("2026-01-01T12:00:00Z"), None)
        .await;
    world
        .activity(&people[1], utc("2025-06-01T12:00:00Z"), None)
        .await;
    // The campaign's own message (e.g. a reply webhook recorded before a re-plan) is not "previous".
    world
        .activity(&people[2], utc("2026-01-01T12:00:00Z"), Some(&id))
        .await;
    campaigns::activate(&world.services, &id).await.unwrap();
    world.clock.set(slot(0));
    assert_eq!(tick(&world).await.0, 2);
    let review = review(&world).await;
    assert_eq!(review[people[0].id.as_str()].1, SkipReason::RecentContact);
    assert_eq!(
        review[people[1].id.as_str()].1,
        SkipReason::PreviousCommunication
    );
    assert_eq!(review.len(), 2);
    let planned: BTreeSet<String> = sends(&world, &id)
        .await
        .into_iter()
        .map(|s| s.contact_id)
        .collect();
    assert_eq!(planned, ids(&[&people[2], &people[3]]));
}

#[tokio::test]
async fn runs_follow_the_campaign_zone_across_the_spring_forward_change() {
    // 02:30 New York does not exist on 2026-03-08; the run fires once at 03:30 EDT (07:30Z).
    let world = World::new(utc("2026-03-06T12:00:00Z"));
    let people = world.contacts(0, 10).await;
    let list = world
        .list(
            &people.iter().map(|c| c.id.to_string()).collect::<Vec<_>>(),
            "completed",
        )
        .await;
    let mut r = raw(&list, 2, None);
    r.schedule.as_mut().unwrap().send_time = "02:30".into();
    let id = campaigns::create(&world.services, r)
        .await
        .unwrap()
        .id
        .to_string();
    let c = campaigns::activate(&world.services, &id).await.unwrap();
    assert_eq!(c.next_run_at, Some(utc("2026-03-07T07:30:00Z")));
    let mut fired = Vec::new();
    let mut at = utc("2026-03-07T00:00:00Z");
    while at < utc("2026-03-10T12:00:00Z") {
        world.clock.set(at);
        if tick(&world).await.0 > 0 {
            fired.push(at);
        }
        at += Duration::minutes(30);
    }
    assert_eq!(
        fired,
        vec![
            utc("2026-03-07T07:30:00Z"),
            utc("2026-03-08T07:30:00Z"),
            utc("2026-03-09T06:30:00Z"),
            utc("2026-03-10T06:30:00Z"),
        ]
    );
}
