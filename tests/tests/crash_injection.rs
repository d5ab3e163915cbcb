//! Crashes between a state change and its queue message, injected where a killed process stops,
//! on DynamoDB and SQS (moto): inside the SQS adapter between its dedup guard and `SendMessage`,
//! between a planner commit and its enqueues, and in the middle of a resume. A kill is a future
//! that never returns, dropped by a timeout: nothing after it runs. After one more tick within
//! five minutes every contact is still texted exactly once and the campaign completes.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use std::time::Duration as StdDuration;
use tokio::sync::Notify;

use async_trait::async_trait;
use chrono::Duration;
use serde_json::Value;
use trickle_app::campaigns::{self, keys};
use trickle_app::ports::queue::{OutgoingMessage, Queue, QueueError, ReceivedMessage, SendOutcome};
use trickle_app::ports::table::{
    Condition, Index, Item, Key, Page, Query, Table, TableError, TxOp, Update,
};
use trickle_app::queues;
use trickle_aws::SqsQueue;
use trickle_domain::campaign::CampaignState;
use trickle_tests::campaign_world::{utc, World};
use trickle_tests::fixtures;
use trickle_tests::send_world::{scenario_in, Scenario};

/// The guard table of a process that dies right after writing a dedup guard, once armed.
struct DiesAfterGuard {
    inner: Arc<dyn Table>,
    armed: AtomicBool,
    /// Told when the process dies, so a test waits for the death rather than for a time.
    died: Arc<Notify>,
}

#[async_trait]
impl Table for DiesAfterGuard {
    async fn get(&self, key: &Key) -> Result<Option<Item>, TableError> {
        self.inner.get(key).await
    }
    async fn put(&self, item: Item, condition: Option<Condition>) -> Result<(), TableError> {
        self.inner.put(item, condition).await?;
        if self.armed.load(Ordering::SeqCst) {
            self.died.notify_one();
            std::future::pending::<()>().await;
        }
        Ok(())
    }
    async fn update(
        &self,
        key: &Key,
        update: Update,
        condition: Option<Condition>,
    ) -> Result<Item, TableError> {
        self.inner.update(key, update, condition).await
    }
    async fn delete(&self, key: &Key, condition: Option<Condition>) -> Result<(), TableError> {
        self.inner.delete(key, condition).await
    }
    async fn query(&self, query: Query) -> Result<Page, TableError> {
        self.inner.query(query).await
    }
    async fn transact(&self, ops: Vec<TxOp>) -> Result<(), TableError> {
        self.inner.transact(ops).await
    }
}

/// A process that is killed while it enqueues its `n`-th message: the earlier ones go out; the
/// `n`-th dies inside the SQS adapter right after its dedup guard if it has one (the adapter's
/// own crash window), or just before it is handed to SQS if not.
struct KilledAtSend {
    inner: SqsQueue,
    guards: Arc<DiesAfterGuard>,
    before_kill: AtomicUsize,
    died: Arc<Notify>,
}

impl KilledAtSend {
    fn new(sqs: &trickle_aws::clients::Sqs, prefix: &str, table: Arc<dyn Table>, n: usize) -> Self {
        let died = Arc::new(Notify::new());
        let guards = Arc::new(DiesAfterGuard {
            inner: table,
            armed: AtomicBool::new(false),
            died: died.clone(),
        });
        Self {
            inner: SqsQueue::new(sqs.clone(), prefix, guards.clone()),
            guards,
            before_kill: AtomicUsize::new(n - 1),
            died,
        }
    }
}

#[async_trait]
impl Queue for KilledAtSend {
    async fn send(&self, queue: &str, message: OutgoingMessage) -> Result<SendOutcome, QueueError> {
        let left = self.before_kill.load(Ordering::SeqCst);
        if left > 0 {
            self.before_kill.store(left - 1, Ordering::SeqCst);
            return self.inner.send(queue, message).await;
        }
        if message.dedup_id.is_some() {
            self.guards.armed.store(true, Ordering::SeqCst);
            self.inner.send(queue, message).await?;
        }
        self.died.notify_one();
        std::future::pending().await
    }
    async fn receive(
        &self,
        queue: &str,
        max: u32,
        visibility: StdDuration,
        wait: StdDuration,
    ) -> Result<Vec<ReceivedMessage>, QueueError> {
        self.inner.receive(queue, max, visibility, wait).await
    }
    async fn delete(&self, queue: &str, receipt: &str) -> Result<(), QueueError> {
        self.inner.delete(queue, receipt).await
    }
    async fn change_visibility(
        &self,
        queue: &str,
        receipt: &str,
        visibility: StdDuration,
    ) -> Result<(), QueueError> {
        self.inner
            .change_visibility(queue, receipt, visibility)
            .await
    }
    async fn depth(&self, queue: &str) -> Result<u64, QueueError> {
        self.inner.depth(queue).await
    }
}

const QUEUES: [&str; 3] = [queues::SENDS, queues::EVENTS, queues::PLANNER];

/// A send scenario whose table is DynamoDB and whose queues are SQS, both on moto; `sqs` and
/// `prefix` build the dying twin of its queue adapter.
async fn on_aws() -> (Scenario, trickle_aws::clients::Sqs, String) {
    let mut world = World::on_dynamo(utc("2026-01-05T12:00:00Z")).await;
    let (sqs, prefix) = fixtures::sqs_queues(&QUEUES).await;
    world.services.queue = Arc::new(SqsQueue::new(
        sqs.clone(),
        &prefix,
        world.services.table.clone(),
    ));
    (scenario_in(world, None, 1000).await, sqs, prefix)
}

/// 120 New York contacts (under the sender's daily cap of 125) and an active campaign planning
/// all of them in one run (two batches: 96 and 24).
async fn active_campaign_of_120(s: &Scenario) -> (Vec<trickle_domain::Contact>, String) {
    let people = s.world.contacts(0, 120).await;
    let id = s.active_campaign_to(&people, 120).await;
    (people, id)
}

async fn state(s: &Scenario, id: &str) -> CampaignState {
    campaigns::get(&s.world.services, id).await.unwrap().state
}

/// Runs `work` until the dying adapter says the process died, then drops it, as a kill would.
async fn killed<F: std::future::Future>(work: F, died: Arc<Notify>) {
    tokio::select! {
        _ = work => panic!("the work finished: the process was never killed"),
        _ = died.notified() => {}
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guard_left_by_a_send_killed_before_sqs_does_not_swallow_the_next_send() {
    let table = fixtures::dynamo_table().await;
    let (sqs, prefix) = fixtures::sqs_queues(&["work"]).await;
    let dying = KilledAtSend::new(&sqs, &prefix, table.port.clone(), 1);
    killed(
        dying.send("work", OutgoingMessage::new("first try").dedup("job-1")),
        dying.died.clone(),
    )
    .await;
    let guard = Key::new("QDEDUP#work#job-1", "QDEDUP");
    assert!(
        table.port.get(&guard).await.unwrap().is_some(),
        "the guard was written"
    );

    // A minute and more later (the guard's claim time moved back, as the clock would have).
    let two_minutes_ago = chrono::Utc::now().timestamp() - 120;
    table
        .port
        .update(
            &guard,
            Update::new().set("claimed_at", two_minutes_ago),
            None,
        )
        .await
        .unwrap();
    let queue = SqsQueue::new(sqs.clone(), &prefix, table.port.clone());
    let retry = queue
        .send("work", OutgoingMessage::new("second try").dedup("job-1"))
        .await
        .unwrap();
    assert!(matches!(retry, SendOutcome::Sent { .. }), "{retry:?}");
    let got = queue
        .receive("work", 10, StdDuration::from_secs(30), StdDuration::ZERO)
        .await
        .unwrap();
    let bodies: Vec<&str> = got.iter().map(|m| m.body.as_str()).collect();
    assert_eq!(bodies, ["second try"], "the message went out once");

    // A guard whose send went through still deduplicates...
    let again = queue
        .send("work", OutgoingMessage::new("third try").dedup("job-1"))
        .await
        .unwrap();
    assert_eq!(again, SendOutcome::Duplicate);
    // ...until it expires, even while DynamoDB's TTL has not deleted it yet.
    let expired = chrono::Utc::now().timestamp() - 1;
    table
        .port
        .update(&guard, Update::new().set("expires_at", expired), None)
        .await
        .unwrap();
    let later = queue
        .send(
            "work",
            OutgoingMessage::new("after the window").dedup("job-1"),
        )
        .await
        .unwrap();
    assert!(matches!(later, SendOutcome::Sent { .. }), "{later:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tick_killed_between_its_commit_and_its_enqueues_loses_no_send() {
    let (mut s, sqs, prefix) = on_aws().await;
    let (people, id) = active_campaign_of_120(&s).await;
    let healthy = s.world.services.clone();
    let at = utc("2026-01-05T15:00:00Z");
    s.world.clock.set(at);

    // Killed while enqueuing the first batch's 41st message.
    let dying = Arc::new(KilledAtSend::new(&sqs, &prefix, healthy.table.clone(), 41));
    s.world.services.queue = dying.clone();
    killed(
        campaigns::plan_due_campaigns(&s.world.services, at),
        dying.died.clone(),
    )
    .await;
    s.world.services = healthy;
    let planned = s
        .world
        .items(&keys::campaign_pk(&id), keys::SEND_PREFIX)
        .await;
    assert_eq!(
        planned.len(),
        campaigns::BATCH as usize,
        "the first batch committed"
    );
    assert_eq!(s.world.drain_sends_peek().await, 40, "40 messages went out");

    // The next tick, three minutes later, inside the dedup window.
    s.world.clock.set(at + Duration::minutes(3));
    let report = campaigns::plan_due_campaigns(&s.world.services, s.world.now())
        .await
        .unwrap();
    assert_eq!(report.outbox_swept, 1, "{report:?}");
    assert_eq!(
        report.runs[0].planned,
        120 - u64::from(campaigns::BATCH),
        "the rest of the run: {report:?}"
    );
    s.work_sends().await;
    s.assert_each_got_exactly_one(&people);
    assert!(campaigns::complete_if_done(&s.world.services, &id)
        .await
        .unwrap());
    assert_eq!(state(&s, &id).await, CampaignState::Completed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resume_killed_part_way_still_sends_every_planned_contact_once() {
    let (mut s, sqs, prefix) = on_aws().await;
    let (people, id) = active_campaign_of_120(&s).await;
    let healthy = s.world.services.clone();
    let at = utc("2026-01-05T15:00:00Z");
    s.world.clock.set(at);
    campaigns::plan_due_campaigns(&s.world.services, at)
        .await
        .unwrap();
    campaigns::pause(&s.world.services, &id).await.unwrap();
    // While paused the worker drops the sends' messages.
    assert_eq!(s.world.drain_sends().await.len(), 120);

    s.world.clock.set(at + Duration::minutes(10));
    let dying = Arc::new(KilledAtSend::new(&sqs, &prefix, healthy.table.clone(), 31));
    s.world.services.queue = dying.clone();
    killed(
        campaigns::resume(&s.world.services, &id),
        dying.died.clone(),
    )
    .await;
    s.world.services = healthy;
    assert_eq!(
        state(&s, &id).await,
        CampaignState::Active,
        "the resume took"
    );

    // The next tick, a minute later: not a scheduled run, but it finishes the resume's work.
    s.world.clock.set(at + Duration::minutes(11));
    let report = campaigns::plan_due_campaigns(&s.world.services, s.world.now())
        .await
        .unwrap();
    assert!(report.sends_requeued >= 90, "{report:?}");
    s.work_sends().await;
    s.assert_each_got_exactly_one(&people);
    assert!(campaigns::complete_if_done(&s.world.services, &id)
        .await
        .unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_captured_event_whose_message_was_lost_is_queued_by_a_later_tick() {
    let (s, _, _) = on_aws().await;
    let services = &s.world.services;
    // A capture that stored the event and died before its enqueue.
    let received_at = "2026-01-05T11:50:00.000Z";
    let key = trickle_app::webhooks::keys::event("WH-lost");
    let mut item = Item::new();
    for (k, v) in [
        ("pk", key.pk.as_str()),
        ("sk", key.sk.as_str()),
        ("id", "WH-lost"),
        ("type", "message.received"),
        ("status", "received"),
        ("received_at", received_at),
    ] {
        item.insert(k.into(), Value::from(v));
    }
    item.insert("attempts".into(), Value::from(0));
    item.insert(
        Index::Gsi1.pk_attr().into(),
        Value::from(trickle_app::webhooks::keys::events_by_status("received")),
    );
    item.insert(
        Index::Gsi1.sk_attr().into(),
        Value::from(format!("{received_at}#WH-lost")),
    );
    services.table.put(item, None).await.unwrap();

    let report = campaigns::plan_due_campaigns(services, s.world.now())
        .await
        .unwrap();
    assert_eq!(report.events_requeued, 1, "{report:?}");
    let got = services
        .queue
        .receive(
            queues::EVENTS,
            10,
            StdDuration::from_secs(30),
            StdDuration::ZERO,
        )
        .await
        .unwrap();
    assert_eq!(got.len(), 1);
    assert!(got[0].body.contains("WH-lost"), "{}", got[0].body);
    // Queued once: the next tick leaves it alone while the worker gets to it.
    let again = campaigns::plan_due_campaigns(services, s.world.now() + Duration::minutes(1))
        .await
        .unwrap();
    assert_eq!(again.events_requeued, 0);
    assert!(services.table.get(&key).await.unwrap().is_some());
}
