use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use trickle_app::ports::queue::{
    dead_letter_queue, OutgoingMessage, Queue, QueueError, SendOutcome,
};

use crate::fixtures::{Fixture, CONTRACT_MAX_RECEIVES};

type F = Fixture<dyn Queue>;

const LONG: Duration = Duration::from_secs(30);
const NO_WAIT: Duration = Duration::ZERO;

async fn send(q: &dyn Queue, queue: &str, body: &str) -> String {
    match q.send(queue, OutgoingMessage::new(body)).await.unwrap() {
        SendOutcome::Sent { message_id } => message_id,
        SendOutcome::Duplicate => panic!("not a duplicate"),
    }
}

/// Receives until `want` messages arrived or `within` passed (SQS may return fewer than asked).
async fn receive_all(
    q: &dyn Queue,
    queue: &str,
    want: usize,
    within: Duration,
) -> Vec<trickle_app::ports::ReceivedMessage> {
    let deadline = Instant::now() + within;
    let mut got = Vec::new();
    while got.len() < want && Instant::now() < deadline {
        got.extend(
            q.receive(queue, 10, LONG, Duration::from_secs(1))
                .await
                .unwrap(),
        );
    }
    got
}

pub async fn a_sent_message_is_received_once_and_deleted(f: &F) {
    let q = f.port.as_ref();
    let id = send(q, "work", r#"{"job":1}"#).await;
    let got = q
        .receive("work", 10, LONG, Duration::from_secs(2))
        .await
        .unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].message_id, id);
    assert_eq!(got[0].body, r#"{"job":1}"#);
    assert_eq!(got[0].receive_count, 1);
    assert!(
        q.receive("work", 10, LONG, NO_WAIT)
            .await
            .unwrap()
            .is_empty(),
        "in flight"
    );
    assert!(
        q.receive("other", 10, LONG, NO_WAIT)
            .await
            .unwrap()
            .is_empty(),
        "queues are apart"
    );
    q.delete("work", &got[0].receipt).await.unwrap();
    assert_eq!(q.depth("work").await.unwrap(), 0);
}

pub async fn an_undeleted_message_comes_back_after_its_visibility_timeout(f: &F) {
    let q = f.port.as_ref();
    let id = send(q, "work", "again").await;
    let first = q
        .receive("work", 1, Duration::from_secs(1), Duration::from_secs(2))
        .await
        .unwrap();
    assert_eq!(first.len(), 1);
    let second = q
        .receive("work", 1, LONG, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(second.len(), 1, "redelivered after the timeout");
    assert_eq!(second[0].message_id, id);
    assert_eq!(second[0].receive_count, 2);
    assert_ne!(second[0].receipt, first[0].receipt);
    q.delete("work", &second[0].receipt).await.unwrap();
    assert!(q
        .receive("work", 1, LONG, Duration::from_secs(2))
        .await
        .unwrap()
        .is_empty());
}

pub async fn visibility_can_be_changed_to_release_a_message_now(f: &F) {
    let q = f.port.as_ref();
    send(q, "work", "release me").await;
    let got = q
        .receive("work", 1, LONG, Duration::from_secs(2))
        .await
        .unwrap();
    q.change_visibility("work", &got[0].receipt, Duration::ZERO)
        .await
        .unwrap();
    let again = q
        .receive("work", 1, LONG, Duration::from_secs(2))
        .await
        .unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].body, "release me");
}

pub async fn a_delayed_message_waits_its_delay(f: &F) {
    let q = f.port.as_ref();
    let sent = Instant::now();
    q.send(
        "work",
        OutgoingMessage::new("later").delayed(Duration::from_secs(2)),
    )
    .await
    .unwrap();
    assert!(q
        .receive("work", 1, LONG, NO_WAIT)
        .await
        .unwrap()
        .is_empty());
    let got = receive_all(q, "work", 1, Duration::from_secs(8)).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].body, "later");
    assert!(
        sent.elapsed() >= Duration::from_millis(1500),
        "arrived after {:?}",
        sent.elapsed()
    );
}

pub async fn a_repeated_dedup_id_is_dropped(f: &F) {
    let q = f.port.as_ref();
    let first = q
        .send(
            "work",
            OutgoingMessage::new("once").dedup("tick#c1#2026-01-01T09:00"),
        )
        .await
        .unwrap();
    assert!(matches!(first, SendOutcome::Sent { .. }));
    let again = q
        .send(
            "work",
            OutgoingMessage::new("once").dedup("tick#c1#2026-01-01T09:00"),
        )
        .await
        .unwrap();
    assert_eq!(again, SendOutcome::Duplicate);
    // The same id on another queue is another message.
    let other = q
        .send(
            "other",
            OutgoingMessage::new("once").dedup("tick#c1#2026-01-01T09:00"),
        )
        .await
        .unwrap();
    assert!(matches!(other, SendOutcome::Sent { .. }));
    let got = receive_all(q, "work", 2, Duration::from_secs(3)).await;
    assert_eq!(got.len(), 1);
}

pub async fn a_message_moves_to_the_dead_letter_queue_after_its_receive_limit(f: &F) {
    let q = f.port.as_ref();
    let id = send(q, "work", "poison").await;
    for attempt in 1..=CONTRACT_MAX_RECEIVES {
        let got = q
            .receive("work", 1, Duration::from_secs(1), Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(got.len(), 1, "receive {attempt}");
        assert_eq!(got[0].receive_count, attempt);
        tokio::time::sleep(Duration::from_millis(1100)).await;
    }
    assert!(q
        .receive("work", 1, LONG, Duration::from_secs(2))
        .await
        .unwrap()
        .is_empty());
    let dlq = dead_letter_queue("work");
    let parked = q
        .receive(&dlq, 1, LONG, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(parked.len(), 1);
    assert_eq!(parked[0].body, "poison");
    assert_eq!(parked[0].message_id, id);
}

pub async fn batches_hold_up_to_ten_and_nothing_is_lost(f: &F) {
    let q = f.port.as_ref();
    let mut sent = BTreeSet::new();
    for i in 0..15 {
        sent.insert(send(q, "work", &format!("m{i}")).await);
    }
    assert_eq!(q.depth("work").await.unwrap(), 15);
    let mut seen = BTreeSet::new();
    let deadline = Instant::now() + Duration::from_secs(15);
    while seen.len() < 15 && Instant::now() < deadline {
        let batch = q
            .receive("work", 10, LONG, Duration::from_secs(1))
            .await
            .unwrap();
        assert!(batch.len() <= 10);
        for m in batch {
            assert!(
                seen.insert(m.message_id.clone()),
                "delivered twice while in flight"
            );
            q.delete("work", &m.receipt).await.unwrap();
        }
    }
    assert_eq!(seen, sent);
    assert_eq!(q.depth("work").await.unwrap(), 0);
}

pub async fn bad_requests_and_unknown_queues_are_refused(f: &F) {
    let q = f.port.as_ref();
    let too_late = OutgoingMessage::new("x").delayed(Duration::from_secs(16 * 60));
    assert!(matches!(
        q.send("work", too_late).await,
        Err(QueueError::Invalid(_))
    ));
    assert!(matches!(
        q.send("work", OutgoingMessage::new("")).await,
        Err(QueueError::Invalid(_))
    ));
    assert!(matches!(
        q.receive("work", 0, LONG, NO_WAIT).await,
        Err(QueueError::Invalid(_))
    ));
    assert!(matches!(
        q.receive("work", 11, LONG, NO_WAIT).await,
        Err(QueueError::Invalid(_))
    ));
    assert!(matches!(
        q.receive("work", 1, LONG, Duration::from_secs(21)).await,
        Err(QueueError::Invalid(_))
    ));
    assert_eq!(
        q.send("no-such-queue", OutgoingMessage::new("x")).await,
        Err(QueueError::UnknownQueue("no-such-queue".into()))
    );
}
