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

/// A provider that only remembers whether it was handed a gate for its extra requests.
#[derive(Default)]
struct GateRecorder(std::sync::Mutex<Option<std::sync::Arc<dyn trickle_app::ports::RequestGate>>>);

#[async_trait::async_trait]
impl trickle_app::ports::SmsProvider for GateRecorder {
    async fn send(
        &self,
        _: &trickle_app::ports::OutboundSms,
    ) -> Result<trickle_app::ports::ProviderMessage, trickle_app::ports::SmsError> {
        Err(trickle_app::ports::SmsError::Unavailable(
            "not in this test".into(),
        ))
    }
    async fn list_messages(
        &self,
        _: &trickle_app::ports::MessageQuery,
    ) -> Result<Vec<trickle_app::ports::ProviderMessage>, trickle_app::ports::SmsError> {
        Ok(Vec::new())
    }
    async fn fetch_media(&self, _: &str) -> Result<bytes::Bytes, trickle_app::ports::SmsError> {
        Err(trickle_app::ports::SmsError::Unavailable(
            "not in this test".into(),
        ))
    }
    fn gate_extra_requests(&self, gate: std::sync::Arc<dyn trickle_app::ports::RequestGate>) {
        *self.0.lock().unwrap() = Some(gate);
    }
}

#[tokio::test]
async fn the_provider_gets_a_gate_that_takes_slots_of_the_keys_budget() {
    let dir = tempfile::tempdir().unwrap();
    let mut services = trickle_tests::fixtures::embedded_services(dir.path(), "http://127.0.0.1:1");
    let provider = std::sync::Arc::new(GateRecorder::default());
    services.sms = provider.clone();
    let trickle =
        trickle_host::build(services, &settings(&[]), &Extras::new(Secret::new("token"))).unwrap();
    let gate = provider.0.lock().unwrap().clone().expect("a gate");
    // Two extra requests: each takes one slot of the budget, so two slot items appear.
    gate.admit().await.unwrap();
    gate.admit().await.unwrap();
    let page = trickle
        .services
        .table
        .query(trickle_app::ports::table::Query::partition(
            trickle.budget.partition_key(),
        ))
        .await
        .unwrap();
    assert_eq!(page.items.len(), 2, "{:?}", page.items);
}
