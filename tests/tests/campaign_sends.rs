//! Campaign sends end to end: the planner, the send worker and the OpenPhone client over real
//! HTTP against the simulator, with time moved by a `FixedClock` (never by sleeping for a slot).
//! Every scenario ends with the same checks: each eligible contact got exactly one message, no
//! one else got any, and the review list holds exactly the skipped contacts.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::Duration;
use trickle_app::campaigns::send_rules::SendSettings;
use trickle_app::campaigns::send_worker::{AlertSettings, SendLimits, SendWorker, Step};
use trickle_app::campaigns::{self, SendJob};
use trickle_app::rate::budget::RateBudget;
use trickle_domain::campaign::{RawCampaign, RawSchedule};
use trickle_domain::{Contact, ListId};
use trickle_providers::openphone::{OpenPhoneClient, OpenPhoneSettings};
use trickle_simulators::openphone::{OpenPhoneSimulator, SimulatorConfig};
use trickle_tests::campaign_world::{utc, World};

struct Scenario {
    world: World,
    simulator: OpenPhoneSimulator,
    worker: SendWorker,
}

/// `budget`: requests per second the send worker allows itself (the provider's is `rate_limit`).
async fn scenario(rate_limit: Option<u32>, budget: u32) -> Scenario {
    // Monday 2026-01-05, before the 10:00 New York send time.
    let world = World::new(utc("2026-01-05T12:00:00Z"));
    let simulator = OpenPhoneSimulator::start(SimulatorConfig {
        rate_limit,
        ..SimulatorConfig::default()
    })
    .await
    .unwrap();
    let mut client = OpenPhoneSettings::new(simulator.url(), "test-key");
    client.backoff = StdDuration::from_millis(5);
    let worker = SendWorker {
        services: world.services.clone(),
        sms: Arc::new(OpenPhoneClient::new(client).unwrap()),
        settings: SendSettings {
            lease: Duration::seconds(60),
            // Short, because the embedded queue's delays run in real time.
            settle: Duration::seconds(1),
            rate_limit_backoff: Duration::milliseconds(10),
            unavailable_retry: Duration::milliseconds(10),
            ..SendSettings::default()
        },
        limits: SendLimits {
            budget: RateBudget::for_api_key("test-key", budget),
            ..SendLimits::new("test-key")
        },
        alerts: AlertSettings {
            from: "alerts@trickle.test".into(),
            to: vec!["ops@example.com".into()],
        },
    };
    Scenario {
        world,
        simulator,
        worker,
    }
}

fn campaign(list: &ListId, sender: &str, per_run: u32) -> RawCampaign {
    RawCampaign {
        name: "Spring sellers".into(),
        message_a: "Hi {{first_name|there}}, thinking of selling this spring?".into(),
        list_id: list.to_string(),
        schedule: Some(RawSchedule {
            days: ["mon", "tue", "wed", "thu", "fri"]
                .map(String::from)
                .to_vec(),
            send_time: "10:00".into(),
            time_zone: "America/New_York".into(),
        }),
        per_run,
        sender: sender.into(),
        business_name: Some("Acme Realty".into()),
        ..RawCampaign::default()
    }
}

impl Scenario {
    /// Works the `sends` queue until it is empty, moving the clock past the settle delay when
    /// sends wait on a lookup. Answers the steps taken.
    async fn work_sends(&self) -> Vec<Step> {
        let mut steps = Vec::new();
        for _ in 0..200 {
            let jobs = self.world.drain_sends().await;
            if jobs.is_empty() {
                // Requeued jobs may carry a short real-time delay.
                tokio::time::sleep(StdDuration::from_millis(100)).await;
                if self.world.drain_sends_peek().await == 0 {
                    return steps;
                }
                continue;
            }
            for job in jobs {
                let job: SendJob = serde_json::from_value(job).unwrap();
                let step = self.worker.process(&job).await.unwrap();
                if matches!(step, Step::Unknown(_)) {
                    self.world.clock.advance(Duration::seconds(2));
                }
                steps.push(step);
            }
        }
        panic!("the sends queue never emptied: {steps:?}");
    }

    /// `contacts` New York contacts on a completed list, and an active campaign (100 per run)
    /// sending to them from the simulator's number.
    async fn active_campaign(&self, contacts: u32) -> (Vec<Contact>, String) {
        let people = self.world.contacts(0, contacts).await;
        let ids: Vec<String> = people.iter().map(|c| c.id.to_string()).collect();
        let list = self.world.list(&ids, "completed").await;
        let sender = self.simulator.phone_number().to_string();
        let id = campaigns::create(&self.world.services, campaign(&list, &sender, 100))
            .await
            .unwrap()
            .id
            .to_string();
        campaigns::activate(&self.world.services, &id)
            .await
            .unwrap();
        (people, id)
    }

    /// Messages the provider holds, per recipient.
    fn sent_per_recipient(&self) -> BTreeMap<String, usize> {
        let mut per = BTreeMap::new();
        for m in self.simulator.sent_messages() {
            *per.entry(m["to"][0].as_str().unwrap().to_string())
                .or_default() += 1;
        }
        per
    }

    fn assert_each_got_exactly_one(&self, eligible: &[Contact]) {
        let per = self.sent_per_recipient();
        let want: BTreeMap<String, usize> =
            eligible.iter().map(|c| (c.phone.to_string(), 1)).collect();
        assert_eq!(per.len(), want.len(), "recipients");
        assert_eq!(
            per, want,
            "every eligible contact exactly once, nobody else"
        );
    }
}

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
    s.world.clock.set(utc("2026-01-05T15:00:00Z"));
    campaigns::plan_due_campaigns(&s.world.services, s.world.now())
        .await
        .unwrap();
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
    s.world.clock.set(utc("2026-01-05T15:00:00Z"));
    campaigns::plan_due_campaigns(&s.world.services, s.world.now())
        .await
        .unwrap();
    let steps = s.work_sends().await;
    assert!(
        !steps.iter().any(|st| matches!(st, Step::Failed(_))),
        "429s are not failures: {steps:?}"
    );
    s.assert_each_got_exactly_one(&people);
}
