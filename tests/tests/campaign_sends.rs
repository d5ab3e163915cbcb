//! Campaign sends end to end: the planner, the send worker and the OpenPhone client over real
//! HTTP against the simulator, with time moved by a `FixedClock` (never by sleeping for a slot).
//! Every scenario ends with the same checks: each eligible contact got exactly one message, no
//! one else got any, and the review list holds exactly the skipped contacts.

use std::collections::BTreeMap;
use std::time::Duration as StdDuration;

use chrono::Duration;
use trickle_app::campaigns::send_worker::Step;
use trickle_app::campaigns::{self, SendJob};
use trickle_app::queues;
use trickle_domain::campaign::RawCampaign;
use trickle_domain::Contact;
use trickle_sandbox::openphone::Shape;
use trickle_tests::campaign_world::utc;
use trickle_tests::send_world::{campaign, scenario};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_contacts_at_a_hundred_per_run_with_pause_resume_and_duplicate_ticks() {
    let s = scenario(None, 1000).await;
    let (people, id) = s.active_campaign(1000).await;

    let mut day = utc("2026-01-05T15:00:00Z");
    let mut runs = 0;
    for index in 0..40 {
        s.world.clock.set(day);
        if index == 3 {
            campaigns::pause(&s.world.services, &id).await.unwrap();
        }
        if index == 6 {
            campaigns::resume(&s.world.services, &id).await.unwrap();
        }
        let before = s.simulator.sent_messages().len();
        // A duplicate (and a late) tick for the same slot plans nothing extra.
        campaigns::plan_due_campaigns(&s.world.services, day)
            .await
            .unwrap();
        campaigns::plan_due_campaigns(&s.world.services, day + Duration::minutes(1))
            .await
            .unwrap();
        s.work_sends().await;
        let sent_now = s.simulator.sent_messages().len() - before;
        assert!(sent_now <= 100, "run {index} sent {sent_now}");
        if (3..6).contains(&index) {
            assert_eq!(sent_now, 0, "nothing while paused (day {index})");
        }
        if sent_now > 0 {
            runs += 1;
        }
        if s.simulator.sent_messages().len() == 1000 {
            break;
        }
        day += Duration::days(1);
    }
    assert_eq!(runs, 10, "1,000 contacts at 100 per run");
    s.assert_each_got_exactly_one(&people);
    // The first message to each contact names the business and carries the opt-out footer.
    let first = &s.simulator.sent_messages()[0];
    let text = first["text"].as_str().unwrap();
    assert!(
        text.contains("Acme Realty") && text.contains("Reply STOP to opt out"),
        "{text}"
    );
    let review = s.world.items("REVIEW", "").await;
    assert!(review.is_empty(), "nobody skipped: {review:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_answer_after_the_202_and_a_storm_of_429s_and_5xx_send_nothing_twice() {
    let s = scenario(None, 10).await;
    let (people, _) = s.active_campaign(12).await;
    // 599: the provider sends, then the answer is lost (the worker cannot know it went out).
    s.simulator
        .fail_next_sends(&[599, 429, 500, 429, 503, 599, 429, 500]);
    s.plan_at("2026-01-05T15:00:00Z").await;
    let steps = s.work_sends().await;
    assert!(
        steps.iter().any(|st| matches!(st, Step::Unknown(_))),
        "the lost answers made sends UNKNOWN: {steps:?}"
    );
    s.assert_each_got_exactly_one(&people);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_simulator_rate_limit_is_absorbed_without_failures() {
    let s = scenario(Some(10), 10).await;
    let (people, _) = s.active_campaign(30).await;
    s.plan_at("2026-01-05T15:00:00Z").await;
    let steps = s.work_sends().await;
    assert!(
        !steps.iter().any(|st| matches!(st, Step::Failed(_))),
        "429s are not failures: {steps:?}"
    );
    s.assert_each_got_exactly_one(&people);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_between_the_202_and_the_record_sends_nothing_twice_and_skips_no_one() {
    let s = scenario(None, 1000).await;
    let (people, id) = s.active_campaign(10).await;
    s.plan_at("2026-01-05T15:00:00Z").await;
    let jobs = s.world.drain_sends().await;
    assert_eq!(jobs.len(), 10);
    let dying = s.dying_worker();
    for job in &jobs[..3] {
        let job: SendJob = serde_json::from_value(job.clone()).unwrap();
        let killed = tokio::time::timeout(StdDuration::from_millis(500), dying.process(&job)).await;
        assert!(killed.is_err(), "the worker died before recording");
    }
    assert_eq!(s.sent_per_recipient().len(), 3, "the provider took them");
    // The queue redelivers every message whose worker died; the others were never taken.
    for job in &jobs {
        s.world
            .services
            .queue
            .send(
                queues::SENDS,
                trickle_app::ports::OutgoingMessage::new(job.to_string()),
            )
            .await
            .unwrap();
    }
    // Past the dead workers' lease: their sends are resolved by a lookup, not resent.
    s.world.clock.advance(Duration::minutes(2));
    let steps = s.work_sends().await;
    let sent = steps
        .iter()
        .filter(|st| matches!(st, Step::Sent { .. }))
        .count();
    assert_eq!(sent, 10, "3 found at the provider, 7 sent: {steps:?}");
    s.assert_each_got_exactly_one(&people);
    let stats = campaigns::stats::stats(&s.world.services, &id)
        .await
        .unwrap();
    assert_eq!(stats.total.sent, 10, "every send recorded: {stats:?}");
    assert!(s.review_list().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_arriving_by_webhook_while_sends_are_queued_withholds_them() {
    let s = scenario(None, 1000).await;
    let (people, _) = s.active_campaign(12).await;
    s.plan_at("2026-01-05T15:00:00Z").await;
    assert_eq!(s.world.drain_sends_peek().await, 12, "queued");

    let stopped = &people[3..6];
    let replies: Vec<(&str, &str)> = stopped
        .iter()
        .map(|c| c.phone.as_str())
        .zip(["STOP", "unsubscribe", "Stop please"])
        .collect();
    s.receive_replies(&replies, "Acme Realty").await;

    let steps = s.work_sends().await;
    let withheld = steps
        .iter()
        .filter(|st| matches!(st, Step::Withheld("opted out")))
        .count();
    assert_eq!(withheld, 3, "{steps:?}");
    let eligible: Vec<Contact> = people
        .iter()
        .filter(|p| !stopped.iter().any(|o| o.id == p.id))
        .cloned()
        .collect();
    s.assert_each_got_exactly_one(&eligible);
    assert!(s.review_list().await.is_empty());
    // Each STOP was confirmed once, and only to those who sent it.
    let confirmations: Vec<String> = s
        .simulator
        .sent_messages()
        .iter()
        .filter(|m| !m["text"].as_str().unwrap().contains("thinking of selling"))
        .map(|m| m["to"][0].as_str().unwrap().to_string())
        .collect();
    let mut expected: Vec<String> = stopped.iter().map(|c| c.phone.to_string()).collect();
    let mut got = confirmations.clone();
    expected.sort();
    got.sort();
    assert_eq!(got, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_and_help_replies_name_the_business_of_the_campaign_that_texted_them() {
    let s = scenario(None, 1000).await;
    let (people, _) = s.active_campaign(3).await;
    s.plan_at("2026-01-05T15:00:00Z").await;
    s.work_sends().await;
    s.assert_each_got_exactly_one(&people);
    let stranger = "+12125559876";
    s.receive_replies(
        &[
            (people[0].phone.as_str(), "STOP"),
            (people[1].phone.as_str(), "HELP"),
            (stranger, "HELP"),
        ],
        "trickle",
    )
    .await;
    let replies_to = |phone: &str| -> Vec<String> {
        s.simulator
            .sent_messages()
            .iter()
            .filter(|m| {
                m["to"][0] == phone && !m["text"].as_str().unwrap().contains("thinking of selling")
            })
            .map(|m| m["text"].as_str().unwrap().to_string())
            .collect()
    };
    // The campaign that reached them is "Acme Realty"; the deployment's default is "trickle".
    let stopped = replies_to(people[0].phone.as_str());
    assert_eq!(stopped.len(), 1, "{stopped:?}");
    assert!(
        stopped[0].starts_with("Acme Realty: you are unsubscribed"),
        "{stopped:?}"
    );
    let helped = replies_to(people[1].phone.as_str());
    assert_eq!(helped.len(), 1, "{helped:?}");
    assert!(helped[0].starts_with("Acme Realty: "), "{helped:?}");
    // Someone no campaign reached hears from the deployment's name.
    let other = replies_to(stranger);
    assert_eq!(other.len(), 1, "{other:?}");
    assert!(other[0].starts_with("trickle: "), "{other:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_message_fails_its_send_and_two_carrier_failures_suppress_the_number() {
    let s = scenario(None, 1000).await;
    let (people, id) = s.active_campaign(3).await;
    s.plan_at("2026-01-05T15:00:00Z").await;
    s.work_sends().await;
    s.assert_each_got_exactly_one(&people);
    let message_to = |phone: &str| {
        s.simulator
            .sent_messages()
            .into_iter()
            .find(|m| m["to"][0] == phone)
            .unwrap()
    };
    let (dead, landline) = (people[0].phone.as_str(), people[1].phone.as_str());
    let first = message_to(dead);
    let unreachable =
        s.simulator
            .failed_event(Shape::V4, &first, "Unreachable destination handset (30003)");
    // The same number failed before: a message sent from the OpenPhone app, weeks earlier.
    let mut earlier = first.clone();
    earlier["id"] = serde_json::json!("AC_earlier_app_message");
    let sent_at =
        chrono::DateTime::parse_from_rfc3339(first["createdAt"].as_str().unwrap()).unwrap();
    earlier["createdAt"] = serde_json::json!((sent_at - Duration::days(30)).to_rfc3339());
    let earlier = s
        .simulator
        .failed_event(Shape::V3, &earlier, "not a mobile number");
    let wired =
        s.simulator
            .failed_event(Shape::V4, &message_to(landline), "The number is a landline");
    let replayed = [unreachable.clone(), earlier.clone()];
    // Each report is delivered twice (a redelivery is one report).
    s.receive_events(
        &[
            unreachable.clone(),
            unreachable,
            wired.clone(),
            wired,
            earlier,
        ],
        "trickle",
    )
    .await;

    let stats = campaigns::stats::stats(&s.world.services, &id)
        .await
        .unwrap();
    assert_eq!((stats.total.sent, stats.total.failed), (1, 2), "{stats:?}");
    let send = s
        .world
        .items(&format!("CAMPAIGN#{id}"), "SEND#")
        .await
        .into_iter()
        .find(|i| i["phone"] == dead)
        .unwrap();
    assert_eq!(send["state"], "FAILED");
    assert!(
        send["error"]
            .as_str()
            .unwrap()
            .contains("Unreachable destination handset"),
        "{send:?}"
    );
    let timeline = s
        .world
        .items(&format!("CONTACT#{}", people[0].id), "ACT#")
        .await;
    let activity = timeline
        .iter()
        .find(|a| a["provider_id"] == first["id"])
        .unwrap();
    assert_eq!(activity["status"], "failed");
    // Two reports within 180 days: suppressed, with the reports in the audit. One: not yet.
    let suppressed = s.world.items(&format!("SUPPRESS#{dead}"), "").await;
    assert_eq!(
        suppressed.len(),
        2,
        "the suppression and its audit: {suppressed:?}"
    );
    let audit = suppressed
        .iter()
        .find(|i| i["action"] == "suppressed")
        .unwrap();
    assert_eq!(audit["reports"].as_array().unwrap().len(), 2, "{audit:?}");
    assert!(s
        .world
        .items(&format!("SUPPRESS#{landline}"), "")
        .await
        .is_empty());
    // The next campaign's claim refuses the suppressed number.
    let suppressed_now = || async {
        trickle_app::campaigns::audience::is_suppressed(&s.world.services, &people[0].phone)
            .await
            .unwrap()
    };
    assert!(suppressed_now().await);

    // A day later an operator lifts it (the number was ported to a mobile): it can be texted
    // again, the decision is in the audit, and the old reports delivered once more (a
    // reconciliation replay, a webhook retry) do not bring the suppression back.
    s.world.clock.advance(Duration::days(1));
    let lift = trickle_app::webhooks::failures::lift_carrier_suppression;
    let lifted = lift(&s.world.services, &people[0].phone).await.unwrap();
    assert_eq!(lifted["suppressed"], false, "{lifted}");
    assert!(!suppressed_now().await);
    let audit = s.world.items(&format!("SUPPRESS#{dead}"), "AUDIT#").await;
    assert!(
        audit
            .iter()
            .any(|a| a["action"] == "lifted" && a["actor"] == "operator"),
        "{audit:?}"
    );
    s.receive_events(&replayed, "trickle").await;
    assert!(
        !suppressed_now().await,
        "reports from before the lift do not count"
    );
    // Lifting again, or a number that is not suppressed, says so.
    let again = lift(&s.world.services, &people[0].phone).await.unwrap_err();
    assert!(
        matches!(again, trickle_app::audience::AudienceError::NotFound(_)),
        "{again:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quiet_hours_hold_west_coast_sends_until_eight_local() {
    let s = scenario(None, 1000).await;
    // Los Angeles numbers: the 10:00 New York run is 7:00 there.
    let mut people = Vec::new();
    for i in 0..5 {
        people.push(
            trickle_app::contacts::create(
                &s.world.services,
                trickle_domain::RawContact {
                    phone: format!("+1213555{:04}", 100 + i),
                    first_name: Some(format!("Lu{i}")),
                    ..Default::default()
                },
            )
            .await
            .unwrap(),
        );
    }
    s.active_campaign_to(&people, 100).await;
    s.plan_at("2026-01-05T15:00:00Z").await;
    let jobs: Vec<SendJob> = s
        .world
        .drain_sends()
        .await
        .into_iter()
        .map(|j| serde_json::from_value(j).unwrap())
        .collect();
    assert_eq!(jobs.len(), 5);
    for job in &jobs {
        let step = s.worker.process(job).await.unwrap();
        assert!(matches!(step, Step::Waiting(_)), "{step:?}");
    }
    assert!(
        s.sent_per_recipient().is_empty(),
        "nothing before 8:00 in LA"
    );
    assert_eq!(
        s.world.drain_sends_peek().await,
        5,
        "held on the queue, not dropped"
    );
    // At 8:00 in Los Angeles the held messages come back (their queue delay runs in real time,
    // so the test hands the same jobs to the worker).
    s.world.clock.set(utc("2026-01-05T16:00:00Z"));
    for job in &jobs {
        let step = s.worker.process(job).await.unwrap();
        assert!(matches!(step, Step::Sent { .. }), "{step:?}");
    }
    s.assert_each_got_exactly_one(&people);
    assert!(s.review_list().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ab_split_alternates_down_the_list_and_sends_the_exact_shares() {
    let s = scenario(None, 1000).await;
    let people = s.world.contacts(0, 20).await;
    let ids: Vec<String> = people.iter().map(|c| c.id.to_string()).collect();
    let list = s.world.list(&ids, "completed").await;
    let sender = s.simulator.phone_number().to_string();
    let raw = RawCampaign {
        message_b: Some("Hello {{first_name|there}}, thinking of selling before summer?".into()),
        split_percent: Some(30),
        ..campaign(&list, &sender, 100)
    };
    let id = campaigns::create(&s.world.services, raw)
        .await
        .unwrap()
        .id
        .to_string();
    campaigns::activate(&s.world.services, &id).await.unwrap();
    s.plan_at("2026-01-05T15:00:00Z").await;
    s.work_sends().await;
    s.assert_each_got_exactly_one(&people);
    let texts: BTreeMap<String, String> = s
        .simulator
        .sent_messages()
        .iter()
        .map(|m| {
            (
                m["to"][0].as_str().unwrap().to_string(),
                m["text"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    // 30%: A at positions 0, 3, 6, 10, 13, 16 (where the running share steps up), B elsewhere.
    for (position, person) in people.iter().enumerate() {
        let text = &texts[person.phone.as_str()];
        let want_b = ![0, 3, 6, 10, 13, 16].contains(&position);
        assert_eq!(
            text.contains(": Hello "),
            want_b,
            "position {position}: {text}"
        );
    }
    let stats = campaigns::stats::stats(&s.world.services, &id)
        .await
        .unwrap();
    assert_eq!(stats.a.sent, 6);
    assert_eq!(stats.b.map(|b| b.sent), Some(14));
    assert!(s.review_list().await.is_empty());
}

/// A send whose answer was lost is looked up by the number it went out from (by that number's
/// `PN…` id), even when the operator changed the campaign's sender while it was paused: asking
/// about the new number would find nothing and text the contact a second time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sender_changed_while_paused_does_not_turn_a_pending_lookup_into_a_second_text() {
    let s = scenario(None, 10).await;
    s.simulator.add_internal_number("+13105550177");
    let (people, id) = s.active_campaign(1).await;
    s.simulator.fail_next_sends(&[599]);
    s.plan_at("2026-01-05T15:00:00Z").await;
    let jobs = s.world.drain_sends().await;
    assert_eq!(jobs.len(), 1);
    let job: SendJob = serde_json::from_value(jobs[0].clone()).unwrap();
    let step = s.worker.process(&job).await.unwrap();
    assert!(matches!(step, Step::Unknown(_)), "{step:?}");

    campaigns::pause(&s.world.services, &id).await.unwrap();
    let patch = trickle_domain::campaign::CampaignPatch {
        sender: Some("+13105550177".into()),
        ..Default::default()
    };
    campaigns::patch(&s.world.services, &id, patch)
        .await
        .unwrap();
    campaigns::resume(&s.world.services, &id).await.unwrap();
    s.world.clock.advance(Duration::seconds(2));
    let steps = s.work_sends().await;
    assert!(
        steps.iter().any(|st| matches!(st, Step::Sent { .. })),
        "the lookup found the message: {steps:?}"
    );
    s.assert_each_got_exactly_one(&people);
    let from: Vec<String> = s
        .simulator
        .sent_messages()
        .iter()
        .map(|m| m["from"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(from, vec![s.simulator.phone_number().to_string()]);
}

/// No webhooks are configured here: the first campaign's own sends are what make the contacts
/// "previously contacted" for the second one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_campaign_on_the_same_list_texts_no_one_the_first_one_reached() {
    let s = scenario(None, 100).await;
    let (people, first) = s.active_campaign(5).await;
    s.plan_at("2026-01-05T15:00:00Z").await;
    s.work_sends().await;
    s.assert_each_got_exactly_one(&people);
    // Each send is on the contact's timeline once, as an outbound message of the campaign.
    for person in &people {
        let timeline = s
            .world
            .items(&format!("CONTACT#{}", person.id), "ACT#")
            .await;
        assert_eq!(timeline.len(), 1, "{timeline:?}");
        assert_eq!(timeline[0]["direction"], "outgoing");
        assert_eq!(timeline[0]["campaign_id"], first.as_str());
        assert!(timeline[0]["text"]
            .as_str()
            .unwrap()
            .contains("thinking of selling"));
    }

    // Minutes later a second campaign on the same people: everyone goes to its review list.
    let second = s.active_campaign_to(&people, 100).await;
    s.plan_at("2026-01-06T15:00:00Z").await;
    s.work_sends().await;
    s.assert_each_got_exactly_one(&people);
    let review = s.world.items("REVIEW", "").await;
    let of_second: Vec<_> = review
        .iter()
        .filter(|r| r["campaign_id"] == second.as_str())
        .collect();
    assert_eq!(of_second.len(), people.len(), "{review:?}");
    assert!(
        of_second
            .iter()
            .all(|r| r["reason"] == "previous_communication"),
        "{of_second:?}"
    );
}

/// The campaign's tally of open sends matches a recount of its sends after every step, and the
/// send that settles last completes the campaign: the worker reads the tally, not every send.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tally_of_open_sends_matches_a_recount_and_the_last_settled_send_completes_the_campaign(
) {
    use trickle_app::campaigns::planner::open_sends;
    use trickle_domain::campaign::CampaignState;
    let s = scenario(None, 1000).await;
    let (people, id) = s.active_campaign(6).await;
    s.plan_at("2026-01-05T15:00:00Z").await;
    let recount = || async {
        s.world
            .items(&format!("CAMPAIGN#{id}"), "SEND#")
            .await
            .iter()
            .filter(|send| !matches!(send["state"].as_str(), Some("SENT" | "FAILED")))
            .count() as i64
    };
    let state = || async {
        campaigns::store::load(&s.world.services, &id)
            .await
            .unwrap()
            .campaign
            .state
    };
    let tally = || async { open_sends(&s.world.services, &id).await.unwrap() };
    assert_eq!((tally().await, recount().await), (Some(6), 6));

    // One opted out after planning (withheld: failed without a text), one rate limited
    // (planned again): neither is lost from the tally.
    s.world.opt_out(&people[0]).await;
    s.simulator.fail_next_sends(&[429]);
    let jobs = s.world.drain_sends().await;
    assert_eq!(jobs.len(), 6);
    for job in jobs {
        let job: SendJob = serde_json::from_value(job).unwrap();
        s.worker.process(&job).await.unwrap();
        s.worker.complete_if_last(&id).await;
        assert_eq!(tally().await, Some(recount().await));
        assert_eq!(state().await, CampaignState::Active);
    }
    assert_eq!(
        tally().await,
        Some(1),
        "the rate-limited send is still open"
    );
    let steps = s.work_sends().await;
    assert!(
        steps.iter().any(|s| matches!(s, Step::Sent { .. })),
        "{steps:?}"
    );
    assert_eq!((tally().await, recount().await), (Some(0), 0));
    s.worker.complete_if_last(&id).await;
    assert_eq!(state().await, CampaignState::Completed);
    // The opted-out contact got nothing; everyone else exactly one message.
    s.assert_each_got_exactly_one(&people[1..]);
}
