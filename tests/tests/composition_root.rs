//! The composition root wires the same consumers for every host: the six every deployment
//! has, plus health, reconciliation and forwarding exactly when their settings turn them on.

use std::collections::HashMap;

use trickle_app::queues;
use trickle_host::{Extras, Secret, Settings};

fn settings(pairs: &[(&str, &str)]) -> Settings {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Settings::from_lookup(|name| map.get(name).cloned()).expect("settings")
}

fn queues_of(trickle: &trickle_host::Trickle) -> Vec<&'static str> {
    trickle.consumers.iter().map(|c| c.queue).collect()
}

#[tokio::test]
async fn a_bare_deployment_consumes_the_six_core_queues() {
    let dir = tempfile::tempdir().unwrap();
    let services = trickle_tests::fixtures::embedded_services(dir.path(), "http://127.0.0.1:1");
    let trickle =
        trickle_host::build(services, &settings(&[]), &Extras::new(Secret::new("token"))).unwrap();
    assert_eq!(
        queues_of(&trickle),
        [
            queues::EVENTS,
            queues::MEDIA,
            queues::SENDS,
            queues::PLANNER,
            queues::VALIDATE,
            queues::UPLOADS
        ]
    );
    assert!(trickle.health.is_none() && trickle.reconcile.is_none());
    assert!(!trickle.ingest.forward);
}

#[tokio::test]
async fn configured_features_add_their_consumers_and_share_the_alert_list() {
    let dir = tempfile::tempdir().unwrap();
    let services = trickle_tests::fixtures::embedded_services(dir.path(), "http://127.0.0.1:1");
    let tree = settings(&[
        ("TRICKLE_ALERT_EMAIL", "ops@example.com, owner@example.com"),
        ("TRICKLE_ALERT_FROM", "alerts@example.com"),
        ("TRICKLE_HEALTH_SENDER", "PN1"),
        ("TRICKLE_HEALTH_RECEIVER", "+13105550100"),
        ("TRICKLE_RECONCILE_NUMBERS", "PN1, +13105550101"),
        ("TRICKLE_FORWARD_URL", "https://dev.example.com/hook"),
        ("TRICKLE_EVENT_MAX_ATTEMPTS", "7"),
    ]);
    let mut extras = Extras::new(Secret::new("token"));
    extras.forward_key = Some(Secret::new("c2VjcmV0LWZvcndhcmQta2V5"));
    let trickle = trickle_host::build(services, &tree, &extras).unwrap();
    let mut got = queues_of(&trickle);
    got.sort();
    let mut all = queues::ALL.to_vec();
    all.sort();
    assert_eq!(got, all);
    let events = trickle.consumer(queues::EVENTS).unwrap();
    assert_eq!(events.policy.max_receives, 7);
    let health = trickle.health.as_ref().unwrap();
    assert_eq!(health.alert_to, ["ops@example.com", "owner@example.com"]);
    let reconcile = trickle.reconcile.as_ref().unwrap();
    assert_eq!(reconcile.phone_numbers, ["PN1", "+13105550101"]);
    assert_eq!(reconcile.alert_to, health.alert_to);
    assert!(trickle.ingest.forward);
}

#[tokio::test]
async fn a_malformed_signing_key_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let services = trickle_tests::fixtures::embedded_services(dir.path(), "http://127.0.0.1:1");
    let tree = settings(&[("TRICKLE_OPENPHONE_WEBHOOK_KEY", "not base64 !!")]);
    let error = trickle_host::build(services, &tree, &Extras::new(Secret::new("t")))
        .err()
        .expect("refused");
    assert!(error.to_string().contains("webhook signing key"), "{error}");
}
