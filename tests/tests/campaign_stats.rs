//! `GET /v1/campaigns/{id}/stats` over real HTTP: counts by state, replies and opt-outs after
//! the send, per variant, and the chi-square test on reply rate A vs B.

use reqwest::StatusCode;
use serde_json::{json, Value};
use trickle_app::campaigns::keys;
use trickle_app::ports::table::{Key, Update};
use trickle_domain::campaign::reply_rate_test;
use trickle_tests::campaign_world::{utc, World};

const TOKEN: &str = "stats-test-token";

async fn set_send(world: &World, campaign: &str, contact: &str, state: &str) {
    let mut update = Update::new().set("state", state);
    if state == "SENT" || state == "DELIVERED" {
        update = update.set("sent_at", "2026-01-05T15:00:00.000Z");
    }
    world
        .services
        .table
        .update(&keys::send(campaign, contact), update, None)
        .await
        .unwrap();
}

#[tokio::test]
async fn stats_count_each_state_replies_and_opt_outs_per_variant_with_the_ab_test() {
    let world = World::new(utc("2026-01-05T12:00:00Z"));
    let served = world.serve(TOKEN).await;
    let http = reqwest::Client::new();
    let people = world.contacts(0, 40).await;
    let ids: Vec<String> = people.iter().map(|c| c.id.to_string()).collect();
    let list = world.list(&ids, "completed").await;
    let post = |path: String, body: Value| {
        http.post(format!("{}{path}", served.url))
            .bearer_auth(TOKEN)
            .json(&body)
            .send()
    };
    let created: Value = post(
        "/v1/campaigns".into(),
        json!({
            "name": "Split", "message_a": "Hi {{first_name}}", "message_b": "Hello {{first_name}}!",
            "split_percent": 50, "list_id": list.to_string(),
            "schedule": {"days": ["mon"], "send_time": "10:00", "time_zone": "America/New_York"},
            "per_run": 40, "sender": "+12125550100", "business_name": "Acme"
        }),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let id = created["id"].as_str().unwrap().to_string();
    post(format!("/v1/campaigns/{id}/activate"), json!({}))
        .await
        .unwrap();
    let run: Value = post(format!("/v1/campaigns/{id}/run"), json!({}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(run["planned"], 40, "{run}");

    // The split alternates A, B, A, B…: the k-th A (k < 20) is at position 2k, the k-th B
    // (k = 20 + j) at 2j + 1. The story below is told in those terms.
    let at = |k: usize| if k < 20 { 2 * k } else { 2 * (k - 20) + 1 };
    set_send(&world, &id, &ids[at(0)], "FAILED").await;
    set_send(&world, &id, &ids[at(1)], "UNKNOWN").await;
    // A's third stays PLANNED.
    for k in 3..40 {
        let state = if (3..6).contains(&k) {
            "DELIVERED"
        } else {
            "SENT"
        };
        set_send(&world, &id, &ids[at(k)], state).await;
    }
    let after = utc("2026-01-05T16:00:00Z");
    for k in [3, 4].into_iter().chain(20..34) {
        world.activity(&people[at(k)], after, None).await;
    }
    // A message before the send is no reply; an opt-out before it does not count either.
    world
        .activity(&people[at(6)], utc("2026-01-05T14:00:00Z"), None)
        .await;
    world.opt_out(&people[at(35)]).await;
    world
        .services
        .table
        .update(
            &Key::new(format!("OPTOUT#{}", people[at(34)].phone.as_str()), "STATE"),
            Update::new()
                .set("status", "opted_out")
                .set("updated_at", "2026-01-05T16:05:00.000Z"),
            None,
        )
        .await
        .unwrap();

    let response = http
        .get(format!("{}/v1/campaigns/{id}/stats", served.url))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let stats: Value = response.json().await.unwrap();
    let counts = |v: &Value| {
        [
            "planned",
            "pending",
            "sent",
            "delivered",
            "failed",
            "unknown",
            "replied",
            "opted_out",
        ]
        .map(|k| v[k].as_u64().unwrap())
    };
    assert_eq!(counts(&stats["a"]), [20, 1, 17, 3, 1, 1, 2, 0], "{stats}");
    assert_eq!(counts(&stats["b"]), [20, 0, 20, 0, 0, 0, 14, 1], "{stats}");
    assert_eq!(
        counts(&stats["total"]),
        [40, 1, 37, 3, 1, 1, 16, 1],
        "{stats}"
    );
    // Rates with their 95% (Wilson) intervals, and the time to a first reply (an hour each).
    let rate = |v: &Value| {
        (
            v["rate"].as_f64().unwrap(),
            v["low"].as_f64().unwrap(),
            v["high"].as_f64().unwrap(),
        )
    };
    let near = |got: (f64, f64, f64), want: trickle_domain::campaign::Rate| {
        (got.0 - want.rate).abs() < 1e-12
            && (got.1 - want.low).abs() < 1e-12
            && (got.2 - want.high).abs() < 1e-12
    };
    let wilson = trickle_domain::campaign::wilson_95;
    let rates = &stats["rates"];
    assert!(
        near(rate(&rates["a"]["reply"]), wilson(2, 17).unwrap()),
        "{rates}"
    );
    assert!(
        near(rate(&rates["b"]["reply"]), wilson(14, 20).unwrap()),
        "{rates}"
    );
    assert!(
        near(rate(&rates["b"]["opt_out"]), wilson(1, 20).unwrap()),
        "{rates}"
    );
    assert!(
        near(rate(&rates["total"]["reply"]), wilson(16, 37).unwrap()),
        "{rates}"
    );
    let b_reply = rate(&rates["b"]["reply"]);
    assert!(
        b_reply.1 < 0.7 && 0.7 < b_reply.2,
        "the interval holds the rate: {rates}"
    );
    assert_eq!(rates["a"]["median_minutes_to_first_reply"], 60.0, "{rates}");
    assert_eq!(rates["total"]["median_minutes_to_first_reply"], 60.0);
    let expected = reply_rate_test(17, 2, 20, 14).unwrap();
    let test = &stats["reply_test"];
    assert!((test["p_value"].as_f64().unwrap() - expected.p_value).abs() < 1e-12);
    assert!(expected.p_value < 0.05);
    assert_eq!(test["winner"], "B");

    let missing = http
        .get(format!(
            "{}/v1/campaigns/cp_0123456789abcdef0123456789abcdef/stats",
            served.url
        ))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}

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
