//! The send worker's guards that must hold *before* any provider call: the claim transaction's
//! checks (campaign active, contact not opted out or suppressed at that moment) and quiet hours.
//! The provider here refuses to be called at all — every path tested must end without a call.
//! Paths that do call the provider (202, 429, 5xx, timeouts, a crash after the 202) are tested
//! end-to-end against the OpenPhone simulator over HTTP once it lands (issue 3).

use std::sync::Arc;
use std::time::Duration as StdDuration;

use async_trait::async_trait;
use bytes::Bytes;
use trickle_app::campaigns::send_rules::SendSettings;
use trickle_app::campaigns::send_worker::{AlertSettings, SendLimits, SendWorker, Step};
use trickle_app::campaigns::{self, keys, SendJob, SendRecord};
use trickle_app::ports::sms::{MessageQuery, OutboundSms, ProviderMessage, SmsError, SmsProvider};
use trickle_app::queues;
use trickle_app::records;
use trickle_domain::campaign::{RawCampaign, RawSchedule, SendState};
use trickle_domain::ListId;
use trickle_tests::campaign_world::{utc, World};

/// A provider that must never be reached.
struct NeverCalled;

#[async_trait]
impl SmsProvider for NeverCalled {
    async fn send(&self, message: &OutboundSms) -> Result<ProviderMessage, SmsError> {
        panic!("the provider was called for {}", message.to)
    }
    async fn list_messages(&self, _: &MessageQuery) -> Result<Vec<ProviderMessage>, SmsError> {
        panic!("the provider was asked for messages")
    }
    async fn fetch_media(&self, _: &str) -> Result<Bytes, SmsError> {
        panic!("the provider was asked for media")
    }
}

fn raw(list: &ListId) -> RawCampaign {
    RawCampaign {
        name: "Guards".into(),
        message_a: "Hi {{first_name|there}}".into(),
        list_id: list.to_string(),
        schedule: Some(RawSchedule {
            days: vec!["mon".into(), "tue".into(), "wed".into()],
            send_time: "10:00".into(),
            time_zone: "America/New_York".into(),
        }),
        per_run: 10,
        sender: "+12125550100".into(),
        business_name: Some("Acme".into()),
        ..RawCampaign::default()
    }
}

fn worker(world: &World) -> SendWorker {
    SendWorker {
        services: world.services.clone(),
        sms: Arc::new(NeverCalled),
        settings: SendSettings::default(),
        alerts: AlertSettings {
            from: "alerts@trickle.local".into(),
            to: vec!["ops@trickle.local".into()],
        },
        limits: SendLimits::new("test-key"),
    }
}

async fn send_state(world: &World, campaign: &str, contact: &str) -> SendRecord {
    let item = world
        .services
        .table
        .get(&keys::send(campaign, contact))
        .await
        .unwrap()
        .unwrap();
    records::from_item(item).unwrap()
}

/// Four planned sends (New York numbers) of an active campaign, planned Monday 10:00 ET.
async fn planned(world: &World) -> (String, Vec<trickle_domain::Contact>) {
    let people = world.contacts(0, 4).await;
    let id = planned_to(world, &people).await;
    (id, people)
}

/// An active campaign to `people`, its sends planned Monday 10:00 ET (and taken off the queue).
async fn planned_to(world: &World, people: &[trickle_domain::Contact]) -> String {
    planned_with(world, people, raw).await
}

/// [`planned_to`] with the campaign `campaign` makes of the list.
async fn planned_with(
    world: &World,
    people: &[trickle_domain::Contact],
    campaign: impl FnOnce(&ListId) -> RawCampaign,
) -> String {
    let list = world
        .list(
            &people.iter().map(|c| c.id.to_string()).collect::<Vec<_>>(),
            "completed",
        )
        .await;
    let id = campaigns::create(&world.services, campaign(&list))
        .await
        .unwrap()
        .id
        .to_string();
    campaigns::activate(&world.services, &id).await.unwrap();
    world.clock.set(utc("2026-01-05T15:00:00Z"));
    let report = campaigns::plan_due_campaigns(&world.services, world.now())
        .await
        .unwrap();
    assert_eq!(report.runs[0].planned, people.len() as u64);
    world.drain_sends().await;
    id
}

#[tokio::test]
async fn an_opt_out_or_suppression_after_planning_withholds_the_send_embedded() {
    withholds(World::new(utc("2026-01-05T12:00:00Z"))).await;
}

#[tokio::test]
async fn an_opt_out_or_suppression_after_planning_withholds_the_send_dynamo() {
    withholds(World::on_dynamo(utc("2026-01-05T12:00:00Z")).await).await;
}

async fn withholds(world: World) {
    let (id, people) = planned(&world).await;
    world.opt_out(&people[0]).await;
    world.suppress(&people[1]).await;
    let w = worker(&world);
    let step = w
        .process(&SendJob {
            campaign_id: id.clone(),
            contact_id: people[0].id.to_string(),
        })
        .await
        .unwrap();
    assert_eq!(step, Step::Withheld("opted out"));
    let step = w
        .process(&SendJob {
            campaign_id: id.clone(),
            contact_id: people[1].id.to_string(),
        })
        .await
        .unwrap();
    assert_eq!(step, Step::Withheld("suppressed"));
    for (p, why) in [(&people[0], "opted out"), (&people[1], "suppressed")] {
        let s = send_state(&world, &id, p.id.as_str()).await;
        assert_eq!(
            (s.state, s.error.as_deref()),
            (SendState::Failed, Some(why))
        );
    }
    // A second delivery of the same message finds the send final.
    let again = w
        .process(&SendJob {
            campaign_id: id.clone(),
            contact_id: people[0].id.to_string(),
        })
        .await
        .unwrap();
    assert_eq!(again, Step::Dropped("already final"));
}

#[tokio::test]
async fn a_paused_campaign_holds_its_sends_and_resume_queues_them_again() {
    let world = World::new(utc("2026-01-05T12:00:00Z"));
    let (id, people) = planned(&world).await;
    campaigns::pause(&world.services, &id).await.unwrap();
    let w = worker(&world);
    for p in &people {
        let step = w
            .process(&SendJob {
                campaign_id: id.clone(),
                contact_id: p.id.to_string(),
            })
            .await
            .unwrap();
        assert_eq!(step, Step::Dropped("campaign not active"));
        assert_eq!(
            send_state(&world, &id, p.id.as_str()).await.state,
            SendState::Planned
        );
    }
    campaigns::resume(&world.services, &id).await.unwrap();
    let mut requeued: Vec<String> = world
        .drain_sends()
        .await
        .iter()
        .map(|m| m["contact_id"].as_str().unwrap().to_string())
        .collect();
    requeued.sort();
    let mut expected: Vec<String> = people.iter().map(|p| p.id.to_string()).collect();
    expected.sort();
    assert_eq!(requeued, expected);
}

#[tokio::test]
async fn outside_quiet_hours_a_send_waits_on_the_queue_and_stays_planned() {
    let world = World::new(utc("2026-01-05T12:00:00Z"));
    let (id, people) = planned(&world).await;
    // 03:00 in New York, five hours before the window opens: the queue's 15 minutes at most.
    world.clock.set(utc("2026-01-06T08:00:00Z"));
    let w = worker(&world);
    let job = SendJob {
        campaign_id: id.clone(),
        contact_id: people[0].id.to_string(),
    };
    assert_eq!(
        w.process(&job).await.unwrap(),
        Step::Waiting(StdDuration::from_secs(900))
    );
    // 07:58: two minutes to go.
    world.clock.set(utc("2026-01-06T12:58:00Z"));
    assert_eq!(
        w.process(&job).await.unwrap(),
        Step::Waiting(StdDuration::from_secs(120))
    );
    assert_eq!(
        send_state(&world, &id, people[0].id.as_str()).await.state,
        SendState::Planned
    );
    // Both re-queued messages are delayed (not yet visible), and counted.
    assert!(world.drain_sends().await.is_empty());
    assert_eq!(world.services.queue.depth(queues::SENDS).await.unwrap(), 2);
    // A send that is not there (or not ours) is dropped.
    let ghost = SendJob {
        campaign_id: id,
        contact_id: "ct_0123456789abcdef0123456789abcdef".into(),
    };
    assert_eq!(
        w.process(&ghost).await.unwrap(),
        Step::Dropped("no such send")
    );
}

/// Business time that runs with real time from `at` (the rate budget waits in real time).
struct RunningClock {
    from: chrono::DateTime<chrono::Utc>,
    started: std::time::Instant,
}

impl trickle_domain::Clock for RunningClock {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.from + chrono::Duration::from_std(self.started.elapsed()).unwrap()
    }
}

#[tokio::test]
async fn a_send_that_waits_for_its_rate_slot_past_nine_pm_waits_for_the_morning() {
    let world = World::new(utc("2026-01-05T12:00:00Z"));
    let (id, people) = planned(&world).await;
    // One request a second: slots start every 1.04 s of the epoch and may be taken for 30 ms.
    // A day whose 21:00 in New York falls 0.2–1.0 s into a slot: checked 0.1 s before 21:00,
    // the send's slot opens only after it.
    let slot_ms = 1040;
    let nine_pm = (6..60)
        .map(|day| utc("2026-01-06T02:00:00Z") + chrono::Duration::days(day - 6))
        .find(|t| (200..1000).contains(&(t.timestamp_millis() % slot_ms)))
        .unwrap();
    let phone = trickle_domain::PhoneNumber::parse(people[0].phone.as_str()).unwrap();
    let quiet = trickle_domain::campaign::QuietHours::for_recipient(&phone).unwrap();
    let checked_at = nine_pm - chrono::Duration::milliseconds(100);
    assert_eq!(
        quiet.check(checked_at),
        trickle_domain::campaign::SendWindow::Now
    );
    assert_ne!(
        quiet.check(nine_pm),
        trickle_domain::campaign::SendWindow::Now
    );

    let clock = Arc::new(RunningClock {
        from: checked_at,
        started: std::time::Instant::now(),
    });
    let mut services = world.services.clone();
    services.clock = clock.clone();
    let w = SendWorker {
        services,
        limits: SendLimits {
            budget: trickle_app::rate::budget::RateBudget::for_api_key("guard-key", 1)
                .with_clock(clock),
            ..SendLimits::new("guard-key")
        },
        ..worker(&world)
    };
    let job = SendJob {
        campaign_id: id.clone(),
        contact_id: people[0].id.to_string(),
    };
    // The provider here panics if called: the send is judged again when its slot comes.
    let step = w.process(&job).await.unwrap();
    assert!(
        matches!(step, Step::Waiting(d) if d >= StdDuration::from_secs(60)),
        "{step:?}"
    );
    assert_eq!(
        send_state(&world, &id, people[0].id.as_str()).await.state,
        SendState::Planned
    );
}

#[tokio::test]
async fn a_recipient_whose_time_zone_is_unknown_is_held_and_a_declared_zone_is_kept() {
    let world = World::new(utc("2026-01-05T12:00:00Z"));
    let mut people = Vec::new();
    for (phone, zone) in [
        ("+447911123450", None),
        ("+447911123451", Some("Europe/London")),
    ] {
        let attributes = zone.map(|z| [("time_zone".to_string(), z.to_string())].into());
        people.push(
            trickle_app::contacts::create(
                &world.services,
                trickle_domain::RawContact {
                    phone: phone.into(),
                    attributes,
                    ..Default::default()
                },
            )
            .await
            .unwrap(),
        );
    }
    let id = planned_to(&world, &people).await;
    // 21:30 in London, 16:30 in New York: open in every North American window, not in London.
    world.clock.set(utc("2026-01-05T21:30:00Z"));
    let w = worker(&world);
    let job = |contact: &trickle_domain::Contact| SendJob {
        campaign_id: id.clone(),
        contact_id: contact.id.to_string(),
    };
    assert_eq!(
        w.process(&job(&people[0])).await.unwrap(),
        Step::Withheld("time zone unknown")
    );
    let held = send_state(&world, &id, people[0].id.as_str()).await;
    assert_eq!(held.state, SendState::Failed);
    let item = world
        .services
        .table
        .get(&keys::send(&id, people[0].id.as_str()))
        .await
        .unwrap()
        .unwrap();
    assert!(
        item["error"]
            .as_str()
            .unwrap()
            .contains("time zone is unknown"),
        "{item:?}"
    );
    // London's 8:00 is 08:00Z: the queue's 15 minutes at most.
    assert_eq!(
        w.process(&job(&people[1])).await.unwrap(),
        Step::Waiting(StdDuration::from_secs(900))
    );
}

/// A token with no value and no fallback is never sent as an empty gap ("Hi ,"): activation
/// checks the list for as long as it may, and a contact it did not reach, or one edited since,
/// is held by the send worker with what to do.
#[tokio::test]
async fn a_send_whose_token_has_no_value_is_held_not_texted_with_a_gap() {
    let world = World::new(utc("2026-01-05T12:00:00Z"));
    let people = world.contacts(0, 2).await;
    let id = planned_with(&world, &people, |list| RawCampaign {
        message_a: "Hi {{first_name}}, thinking of selling?".into(),
        ..raw(list)
    })
    .await;
    // After activation, the first contact's first name is cleared.
    world
        .services
        .table
        .update(
            &trickle_app::records::contact(people[0].id.as_str()),
            trickle_app::ports::table::Update::new().remove("first_name"),
            None,
        )
        .await
        .unwrap();
    let w = worker(&world);
    let step = w
        .process(&SendJob {
            campaign_id: id.clone(),
            contact_id: people[0].id.to_string(),
        })
        .await
        .unwrap();
    assert_eq!(step, Step::Withheld("a token has no value"));
    let send = send_state(&world, &id, people[0].id.as_str()).await;
    assert_eq!(send.state, SendState::Failed, "{send:?}");
    let error = send.error.as_deref().unwrap();
    assert!(
        error.contains("first_name") && error.contains("{{first_name|there}}"),
        "{error}"
    );
}
