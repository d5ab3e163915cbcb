//! A campaign's stats before anything was planned. The counts themselves, per variant and
//! against a recount, are told through the real send and webhook paths in
//! `campaign_counters.rs`.

use trickle_tests::campaign_world::{utc, World};

#[tokio::test]
async fn a_single_message_campaign_has_no_ab_test() {
    let world = World::new(utc("2026-01-05T12:00:00Z"));
    let services = &world.services;
    let people = world.contacts(0, 2).await;
    let ids: Vec<String> = people.iter().map(|c| c.id.to_string()).collect();
    let list = world.list(&ids, "completed").await;
    let raw = trickle_domain::campaign::RawCampaign {
        name: "Solo".into(),
        message_a: "Hi".into(),
        list_id: list.to_string(),
        schedule: Some(trickle_domain::campaign::RawSchedule {
            days: vec!["mon".into()],
            send_time: "10:00".into(),
            time_zone: "America/New_York".into(),
        }),
        per_run: 5,
        sender: "+12125550100".into(),
        business_name: Some("Acme".into()),
        ..Default::default()
    };
    let id = trickle_app::campaigns::create(services, raw)
        .await
        .unwrap()
        .id
        .to_string();
    let stats = trickle_app::campaigns::stats::stats(services, &id)
        .await
        .unwrap();
    assert_eq!(stats.total.planned, 0);
    assert!(stats.b.is_none() && stats.reply_test.is_none());
}
