//! The error-rate guard: a campaign whose recent sends fail too often pauses itself (once) and
//! someone gets an email that says what happened and what to do.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use bytes::Bytes;
use chrono::Utc;
use trickle_app::campaigns::error_guard::{ErrorGuard, Outcome, Verdict};
use trickle_app::campaigns::send_rules::SendSettings;
use trickle_app::campaigns::send_worker::{AlertSettings, SendLimits, SendWorker, Step};
use trickle_app::campaigns::{self, SendJob};
use trickle_app::ports::sms::{
    Direction, MessageQuery, OutboundSms, ProviderMessage, SmsError, SmsProvider,
};
use trickle_domain::campaign::{CampaignState, RawCampaign, RawSchedule, SendState};
use trickle_domain::Contact;
use trickle_embedded::OutboxMailer;
use trickle_tests::campaign_world::{utc, World};

/// Refuses the numbers whose position (by the order they are asked) is in `refuse`, accepts
/// the rest; an in-memory stand-in for the provider port while the simulator is elsewhere.
struct Scripted {
    refuse: Box<dyn Fn(usize) -> bool + Send + Sync>,
    calls: Mutex<usize>,
}

#[async_trait]
impl SmsProvider for Scripted {
    async fn send(&self, message: &OutboundSms) -> Result<ProviderMessage, SmsError> {
        let mut calls = self.calls.lock().unwrap();
        let n = *calls;
        *calls += 1;
        if (self.refuse)(n) {
            return Err(SmsError::Rejected {
                status: 400,
                code: "0400402".into(),
                message: "The recipient's carrier rejected the message".into(),
                a2p_unregistered: false,
            });
        }
        Ok(ProviderMessage {
            id: format!("AC{n}"),
            from: message.from.clone(),
            to: vec![message.to.to_string()],
            text: message.content.clone(),
            direction: Direction::Outgoing,
            status: "queued".into(),
            phone_number_id: None,
            created_at: Utc::now(),
        })
    }
    async fn list_messages(&self, _: &MessageQuery) -> Result<Vec<ProviderMessage>, SmsError> {
        Ok(vec![])
    }
    async fn fetch_media(&self, _: &str) -> Result<Bytes, SmsError> {
        Err(SmsError::Unavailable("no media".into()))
    }
}

async fn planned(world: &World, count: u32) -> (String, Vec<Contact>) {
    let people = world.contacts(0, count).await;
    let list = world
        .list(
            &people.iter().map(|c| c.id.to_string()).collect::<Vec<_>>(),
            "completed",
        )
        .await;
    let raw = RawCampaign {
        name: "Spring offer".into(),
        message_a: "Hi {{first_name|there}}".into(),
        list_id: list.to_string(),
        schedule: Some(RawSchedule {
            days: vec!["mon".into()],
            send_time: "10:00".into(),
            time_zone: "America/New_York".into(),
        }),
        per_run: count,
        sender: "+12125550100".into(),
        business_name: Some("Acme".into()),
        ..RawCampaign::default()
    };
    let id = campaigns::create(&world.services, raw)
        .await
        .unwrap()
        .id
        .to_string();
    campaigns::activate(&world.services, &id).await.unwrap();
    world.clock.set(utc("2026-01-05T15:00:00Z"));
    campaigns::plan_due_campaigns(&world.services, world.now())
        .await
        .unwrap();
    world.drain_sends().await;
    // Off the slot boundaries that the rate budget holds for its small shares (slots 0 and 5).
    world.clock.set(utc("2026-01-05T15:00:00.150Z"));
    (id, people)
}

async fn run(
    refuse: impl Fn(usize) -> bool + Send + Sync + 'static,
    count: u32,
) -> (World, String, Vec<Step>, tempfile::TempDir) {
    let mut world = World::new(utc("2026-01-05T12:00:00Z"));
    let outbox = tempfile::tempdir().unwrap();
    world.services.mailer = Arc::new(OutboxMailer::open(outbox.path()).unwrap());
    let (id, people) = planned(&world, count).await;
    let worker = SendWorker {
        services: world.services.clone(),
        sms: Arc::new(Scripted {
            refuse: Box::new(refuse),
            calls: Mutex::new(0),
        }),
        settings: SendSettings::default(),
        alerts: AlertSettings {
            from: "alerts@trickle.local".into(),
            to: vec!["ops@trickle.local".into()],
        },
        limits: SendLimits::new("test-key"),
    };
    let mut steps = Vec::new();
    for p in &people {
        world.clock.advance(chrono::Duration::seconds(1));
        let job = SendJob {
            campaign_id: id.clone(),
            contact_id: p.id.to_string(),
        };
        steps.push(worker.process(&job).await.unwrap());
    }
    (world, id, steps, outbox)
}

/// The alert emails, oldest first.
fn emails(outbox: &tempfile::TempDir) -> Vec<String> {
    trickle_embedded::OutboxMailer::sent(outbox.path()).expect("outbox readable")
}

#[tokio::test]
async fn too_many_failures_pause_the_campaign_once_and_alert_a_person() {
    // Every other message is refused: 50% failures.
    let (world, id, steps, outbox) = run(|n| n % 2 == 1, 40).await;
    let failed = steps
        .iter()
        .filter(|s| matches!(s, Step::Failed(_)))
        .count();
    // Paused at the 11th failure (more than 20% of 50), i.e. after the 22nd message.
    assert_eq!(failed, 11, "{steps:?}");
    assert!(steps[..22]
        .iter()
        .all(|s| matches!(s, Step::Sent { .. } | Step::Failed(_))));
    assert!(steps[22..]
        .iter()
        .all(|s| *s == Step::Dropped("campaign not active")));
    let campaign = campaigns::get(&world.services, &id).await.unwrap();
    assert_eq!(campaign.state, CampaignState::Paused);
    let mails = emails(&outbox);
    assert_eq!(mails.len(), 1, "one alert per pause");
    let mail = &mails[0];
    for words in [
        "Campaign paused: Spring offer (too many failed messages)",
        "11 of its last 50 messages failed",
        "20%",
        "The recipient's carrier rejected the message",
        "resume",
        "ops@trickle.local",
    ] {
        assert!(mail.contains(words), "{words:?} missing from:\n{mail}");
    }

    // Resumed: the window starts afresh, so the next ordinary failure does not pause it again.
    campaigns::resume(&world.services, &id).await.unwrap();
    assert_eq!(
        ErrorGuard::default()
            .record(&world.services, &id, Outcome::Failed)
            .await
            .unwrap(),
        Verdict::Healthy
    );
}

#[tokio::test]
async fn failures_under_the_threshold_do_not_pause() {
    // One refusal in six (about 17%).
    let (world, id, steps, outbox) = run(|n| n % 6 == 5, 60).await;
    assert_eq!(
        steps
            .iter()
            .filter(|s| matches!(s, Step::Failed(_)))
            .count(),
        10
    );
    assert!(steps
        .iter()
        .all(|s| matches!(s, Step::Sent { .. } | Step::Failed(_))));
    let campaign = campaigns::get(&world.services, &id).await.unwrap();
    assert_eq!(campaign.state, CampaignState::Active);
    assert!(emails(&outbox).is_empty());
}

#[tokio::test]
async fn the_guard_judges_only_the_latest_window() {
    let world = World::new(utc("2026-01-05T12:00:00Z"));
    let guard = ErrorGuard {
        window: 10,
        max_failure_rate: 0.2,
    };
    let s = &world.services;
    // Two failures, then a long healthy stretch: old failures slide out of the window.
    for outcome in [Outcome::Failed, Outcome::Failed] {
        assert_eq!(
            guard.record(s, "cp_1", outcome).await.unwrap(),
            Verdict::Healthy
        );
    }
    for _ in 0..10 {
        guard.record(s, "cp_1", Outcome::Sent).await.unwrap();
    }
    for _ in 0..2 {
        assert_eq!(
            guard.record(s, "cp_1", Outcome::Failed).await.unwrap(),
            Verdict::Healthy
        );
    }
    assert_eq!(
        guard.record(s, "cp_1", Outcome::Failed).await.unwrap(),
        Verdict::Trip {
            failures: 3,
            window: 10
        }
    );
    // Another campaign has its own window.
    assert_eq!(
        guard.record(s, "cp_2", Outcome::Failed).await.unwrap(),
        Verdict::Healthy
    );
}

/// Refuses the sender (OpenPhone's 403 "Not Phone Number User") until the operator fixes it.
struct RefusesTheSender {
    fixed: std::sync::atomic::AtomicBool,
    sent: Mutex<usize>,
}

#[async_trait]
impl SmsProvider for RefusesTheSender {
    async fn send(&self, message: &OutboundSms) -> Result<ProviderMessage, SmsError> {
        if !self.fixed.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(SmsError::Rejected {
                status: 403,
                code: "0206403".into(),
                message: "Not Phone Number User".into(),
                a2p_unregistered: false,
            });
        }
        let mut sent = self.sent.lock().unwrap();
        *sent += 1;
        Ok(ProviderMessage {
            id: format!("ACfixed{sent}"),
            from: message.from.clone(),
            to: vec![message.to.to_string()],
            text: message.content.clone(),
            direction: Direction::Outgoing,
            status: "queued".into(),
            phone_number_id: None,
            created_at: Utc::now(),
        })
    }
    async fn list_messages(&self, _: &MessageQuery) -> Result<Vec<ProviderMessage>, SmsError> {
        Ok(vec![])
    }
    async fn fetch_media(&self, _: &str) -> Result<Bytes, SmsError> {
        Err(SmsError::Unavailable("no media".into()))
    }
}

#[tokio::test]
async fn a_refused_sender_pauses_at_the_first_answer_and_its_sends_go_out_after_resume() {
    let mut world = World::new(utc("2026-01-05T12:00:00Z"));
    let outbox = tempfile::tempdir().unwrap();
    world.services.mailer = Arc::new(OutboxMailer::open(outbox.path()).unwrap());
    let (id, people) = planned(&world, 5).await;
    let provider = Arc::new(RefusesTheSender {
        fixed: false.into(),
        sent: Mutex::new(0),
    });
    let worker = SendWorker {
        services: world.services.clone(),
        sms: provider.clone(),
        settings: SendSettings::default(),
        alerts: AlertSettings {
            from: "alerts@trickle.local".into(),
            to: vec!["ops@trickle.local".into()],
        },
        limits: SendLimits::new("test-key"),
    };
    let job = |p: &Contact| SendJob {
        campaign_id: id.clone(),
        contact_id: p.id.to_string(),
    };
    let mut steps = Vec::new();
    for p in &people {
        world.clock.advance(chrono::Duration::seconds(1));
        steps.push(worker.process(&job(p)).await.unwrap());
    }
    // The first refusal stops the campaign: nobody else is even tried.
    assert!(matches!(steps[0], Step::Replanned(_)), "{steps:?}");
    assert!(steps[1..]
        .iter()
        .all(|s| *s == Step::Dropped("campaign not active")));
    let campaign = campaigns::get(&world.services, &id).await.unwrap();
    assert_eq!(campaign.state, CampaignState::Paused);
    let mails = emails(&outbox);
    assert_eq!(mails.len(), 1, "one alert: {mails:?}");
    for words in [
        "refused the sending number",
        "Not Phone Number User",
        "resume",
    ] {
        assert!(
            mails[0].contains(words),
            "{words:?} missing from:\n{}",
            mails[0]
        );
    }
    // Nothing failed: every send waits, PLANNED.
    let sends = campaigns::sends::all(&world.services, &id).await.unwrap();
    assert_eq!(sends.len(), 5);
    assert!(
        sends.iter().all(|s| s.state == SendState::Planned),
        "{sends:?}"
    );

    // The operator fixes the sender and resumes: each held send goes out once.
    provider
        .fixed
        .store(true, std::sync::atomic::Ordering::SeqCst);
    world.clock.advance(chrono::Duration::minutes(5));
    campaigns::resume(&world.services, &id).await.unwrap();
    for queued in world.drain_sends().await {
        let job: SendJob = serde_json::from_value(queued).unwrap();
        world.clock.advance(chrono::Duration::seconds(1));
        let step = worker.process(&job).await.unwrap();
        assert!(matches!(step, Step::Sent { .. }), "{step:?}");
    }
    assert_eq!(*provider.sent.lock().unwrap(), 5);
    let sends = campaigns::sends::all(&world.services, &id).await.unwrap();
    assert!(
        sends.iter().all(|s| s.state == SendState::Sent),
        "{sends:?}"
    );
    assert_eq!(emails(&outbox).len(), 1, "no second alert");
}
