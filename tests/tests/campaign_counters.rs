//! A campaign's counters, kept as its sends settle, against a recount of every send; and
//! "continue with the winner", which reads them. Everything goes through the real paths: the
//! planner, the send worker against the OpenPhone simulator, and signed webhooks for
//! deliveries, carrier failures, replies and STOP.

use std::collections::BTreeMap;

use serde_json::Value;
use trickle_app::campaigns::{self, stats};
use trickle_domain::campaign::winner::NoSwitch;
use trickle_domain::campaign::{AutoWinner, Variant};
use trickle_sandbox::openphone::Shape;
use trickle_tests::send_world::{campaign, scenario, Scenario};

const BUSINESS: &str = "Acme Realty";

/// An active A/B campaign to `count` new New York contacts, and the contacts.
async fn ab_campaign(
    s: &Scenario,
    count: u32,
    per_run: u32,
    auto_winner: Option<AutoWinner>,
) -> (String, Vec<trickle_domain::Contact>) {
    let people = s.world.contacts(0, count).await;
    let ids: Vec<String> = people.iter().map(|c| c.id.to_string()).collect();
    let list = s.world.list(&ids, "completed").await;
    let sender = s.simulator.phone_number().to_string();
    let mut raw = campaign(&list, &sender, per_run);
    raw.message_b = Some("Hello {{first_name|there}}, thinking of selling soon?".into());
    raw.auto_winner = auto_winner;
    let id = campaigns::create(&s.world.services, raw)
        .await
        .unwrap()
        .id
        .to_string();
    campaigns::activate(&s.world.services, &id).await.unwrap();
    (id, people)
}

/// Phones of the campaign's sends, by variant and state.
async fn sends_by(s: &Scenario, id: &str) -> BTreeMap<(String, String), Vec<String>> {
    let mut by: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for send in s.world.items(&format!("CAMPAIGN#{id}"), "SEND#").await {
        let text = |k: &str| send[k].as_str().unwrap_or_default().to_string();
        by.entry((text("variant"), text("state")))
            .or_default()
            .push(text("phone"));
    }
    by
}

async fn assert_counters_match_a_recount(s: &Scenario, id: &str) -> stats::CampaignStats {
    let counted = stats::stats(&s.world.services, id).await.unwrap();
    let recounted = stats::recount(&s.world.services, id).await.unwrap();
    assert_eq!(
        counted, recounted,
        "counters against a recount of every send"
    );
    counted
}

#[tokio::test]
async fn the_counters_match_a_recount_through_sends_deliveries_replies_opt_outs_and_failures() {
    let s = scenario(None, 1000).await;
    let (id, people) = ab_campaign(&s, 40, 100, None).await;
    s.plan_at("2026-01-05T15:00:00Z").await;
    let planned = assert_counters_match_a_recount(&s, &id).await;
    assert_eq!((planned.a.planned, planned.b.unwrap().planned), (20, 20));
    assert_eq!(planned.total.pending, 40);

    // One contact opts out between planning and sending: withheld, a failure that never left.
    s.world.opt_out(&people[0]).await;
    s.work_sends().await;
    let sent = assert_counters_match_a_recount(&s, &id).await;
    assert_eq!(
        (
            sent.total.sent,
            sent.total.failed,
            sent.total.failed_withheld
        ),
        (39, 1, 1)
    );
    assert_eq!(sent.total.pending, 0);

    // Deliveries (one reported twice), a carrier failure, replies and a STOP, as webhooks.
    let by = sends_by(&s, &id).await;
    let a_sent = &by[&("A".to_string(), "SENT".to_string())];
    let b_sent = &by[&("B".to_string(), "SENT".to_string())];
    let messages: Vec<Value> = s.simulator.sent_messages();
    let message_to = |phone: &str| {
        messages
            .iter()
            .find(|m| m["to"][0].as_str() == Some(phone))
            .unwrap()
            .clone()
    };
    let mut events = Vec::new();
    for phone in a_sent.iter().take(6).chain(b_sent.iter().take(4)) {
        events.push(s.simulator.delivered_event(Shape::V3, &message_to(phone)));
    }
    events.push(
        s.simulator
            .delivered_event(Shape::V3, &message_to(&a_sent[0])),
    );
    let carrier_failed = &b_sent[18];
    events.push(s.simulator.failed_event(
        Shape::V3,
        &message_to(carrier_failed),
        "carrier rejected",
    ));
    s.receive_events(&events, BUSINESS).await;
    let replies: Vec<(&str, &str)> = a_sent
        .iter()
        .take(2)
        .chain(b_sent.iter().take(12))
        .map(|p| (p.as_str(), "Yes, call me"))
        .chain([(b_sent[15].as_str(), "STOP")])
        // A second text from someone who already replied changes nothing.
        .chain([(a_sent[0].as_str(), "Still interested")])
        .collect();
    s.receive_replies(&replies, BUSINESS).await;

    let after = assert_counters_match_a_recount(&s, &id).await;
    let b = after.b.unwrap();
    assert_eq!(after.a.delivered, 6, "{after:?}");
    assert_eq!(b.delivered, 4, "{after:?}");
    assert_eq!((b.failed_carrier, b.sent), (1, 19), "{after:?}");
    assert_eq!(after.a.replied, 2, "{after:?}");
    // STOP is a reply too (the contact wrote back), and the campaign's one opt-out.
    assert_eq!((b.replied, b.opted_out), (13, 1), "{after:?}");
    assert_eq!(after.total.opted_out, 1);
    assert!(after.rates.total.median_minutes_to_first_reply.is_some());
    let test = after.reply_test.clone().unwrap();
    assert_eq!(test.winner, Some(Variant::B), "{test:?}");

    // The API answers the same numbers.
    let served = s.world.serve("counters-token").await;
    let body: Value = reqwest::Client::new()
        .get(format!("{}/v1/campaigns/{id}/stats", served.url))
        .bearer_auth("counters-token")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let want = serde_json::to_value(&after).unwrap();
    for part in ["total", "a", "b", "auto_winner"] {
        assert_eq!(body[part], want[part], "{part}");
    }
    assert_eq!(body["reply_test"]["winner"], "B");
}

/// Day one sends 10 A and 10 B; `b_replies` of the B recipients and `a_replies` of the A ones
/// answer; day two plans the next 20. Answers the stats after day one's replies and the
/// variants day two planned.
async fn two_days(
    auto: AutoWinner,
    a_replies: usize,
    b_replies: usize,
) -> (Scenario, String, Vec<String>) {
    let s = scenario(None, 1000).await;
    let (id, _) = ab_campaign(&s, 60, 20, Some(auto)).await;
    s.plan_at("2026-01-05T15:00:00Z").await;
    s.work_sends().await;
    let by = sends_by(&s, &id).await;
    let a = &by[&("A".to_string(), "SENT".to_string())];
    let b = &by[&("B".to_string(), "SENT".to_string())];
    assert_eq!((a.len(), b.len()), (10, 10));
    let replies: Vec<(&str, &str)> = a
        .iter()
        .take(a_replies)
        .chain(b.iter().take(b_replies))
        .map(|p| (p.as_str(), "Tell me more"))
        .collect();
    s.receive_replies(&replies, BUSINESS).await;
    s.plan_at("2026-01-06T15:00:00Z").await;
    let day_two: Vec<String> = s
        .world
        .items(&format!("CAMPAIGN#{id}"), "SEND#")
        .await
        .iter()
        .filter(|send| send["slot"] == "2026-01-06")
        .map(|send| send["variant"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(day_two.len(), 20);
    (s, id, day_two)
}

#[tokio::test]
async fn a_significant_winner_gets_the_rest_of_the_list_and_the_switch_is_recorded() {
    let (s, id, day_two) = two_days(AutoWinner { min_sends_each: 10 }, 0, 8).await;
    assert!(day_two.iter().all(|v| v == "B"), "{day_two:?}");
    let campaign = campaigns::store::load(&s.world.services, &id)
        .await
        .unwrap()
        .campaign;
    let switch = campaign.winner.expect("the switch is recorded");
    assert_eq!(switch.variant, Variant::B);
    assert_eq!((switch.a.sent, switch.a.replied), (10, 0));
    assert_eq!((switch.b.sent, switch.b.replied), (10, 8));
    assert!(switch.p_value < 0.05, "{switch:?}");
    assert_eq!(switch.from_position, 20);
    let numbers = stats::stats(&s.world.services, &id).await.unwrap();
    let status = numbers.auto_winner.unwrap();
    assert_eq!(status.switched, Some(switch));
    assert_eq!(status.waiting, None);
    // The day's members still each get one message: B's tally grew by the whole run.
    assert_eq!(numbers.b.unwrap().planned, 30);
}

/// Day two keeps the split (10 of its 20 get B) and the stats say why nothing switched.
async fn assert_no_switch(auto: AutoWinner, a_replies: usize, b_replies: usize, why: NoSwitch) {
    let (s, id, day_two) = two_days(auto, a_replies, b_replies).await;
    let b = day_two.iter().filter(|v| *v == "B").count();
    assert_eq!(b, 10, "the split goes on: {day_two:?}");
    let numbers = stats::stats(&s.world.services, &id).await.unwrap();
    let status = numbers.auto_winner.unwrap();
    assert_eq!((status.switched, status.waiting), (None, Some(why)));
}

#[tokio::test]
async fn nothing_switches_below_the_minimum_sends() {
    // The same clear difference, with the default minimum of 100 sends each.
    assert_no_switch(AutoWinner::default(), 0, 8, NoSwitch::TooFewSends).await;
}

#[tokio::test]
async fn nothing_switches_without_significance() {
    assert_no_switch(
        AutoWinner { min_sends_each: 10 },
        2,
        3,
        NoSwitch::NotSignificant,
    )
    .await;
}

#[tokio::test]
async fn the_best_time_grid_counts_each_send_in_its_recipients_local_hour_across_zones_and_dst() {
    use trickle_app::contacts;
    use trickle_app::insights;
    use trickle_domain::RawContact;
    use trickle_tests::campaign_world::utc;
    let s = scenario(None, 1000).await;
    // New York and Los Angeles recipients, alternating, two a run.
    let mut people = Vec::new();
    for (n, area) in ["212", "310", "212", "310"].iter().enumerate() {
        let raw = RawContact {
            phone: format!("+1{area}2000{n:03}"),
            first_name: Some(format!("Sam{n}")),
            ..RawContact::default()
        };
        people.push(contacts::create(&s.world.services, raw).await.unwrap());
    }
    let ids: Vec<String> = people.iter().map(|c| c.id.to_string()).collect();
    let list = s.world.list(&ids, "completed").await;
    let mut raw = campaign(&list, s.simulator.phone_number(), 2);
    raw.schedule.as_mut().unwrap().time_zone = "America/Los_Angeles".into();
    s.world.clock.set(utc("2026-03-06T12:00:00Z"));
    let id = campaigns::create(&s.world.services, raw)
        .await
        .unwrap()
        .id
        .to_string();
    campaigns::activate(&s.world.services, &id).await.unwrap();
    // Friday 6 March, 10:00 in Los Angeles = 18:00 UTC; Monday 9 March (daylight saving time
    // began on the 8th), 10:00 in Los Angeles = 17:00 UTC.
    s.plan_at("2026-03-06T18:00:00Z").await;
    s.work_sends().await;
    s.plan_at("2026-03-09T17:00:00Z").await;
    s.work_sends().await;
    s.receive_replies(
        &[
            (people[1].phone.as_str(), "yes"),
            (people[2].phone.as_str(), "maybe"),
        ],
        BUSINESS,
    )
    .await;

    let from = chrono::NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
    let to = chrono::NaiveDate::from_ymd_opt(2026, 3, 31).unwrap();
    let grid = insights::best_time(&s.world.services, from, to)
        .await
        .unwrap();
    let cell = |weekday: u8, hour: u8| {
        let c = &grid.cells[usize::from(weekday) * 24 + usize::from(hour)];
        (c.sent, c.replied)
    };
    // The same local hour in both weeks, whatever the UTC hour: 13:00 in New York, 10:00 in
    // Los Angeles; nothing at the UTC hours.
    assert_eq!(cell(4, 13), (1, 0), "Friday 13:00 New York");
    assert_eq!(cell(4, 10), (1, 1), "Friday 10:00 Los Angeles, replied");
    assert_eq!(cell(0, 13), (1, 1), "Monday 13:00 New York, replied");
    assert_eq!(cell(0, 10), (1, 0), "Monday 10:00 Los Angeles");
    let total: u64 = grid.cells.iter().map(|c| c.sent).sum();
    assert_eq!(total, 4);
    assert!(
        grid.cells.iter().all(|c| c.reply_rate.is_none()),
        "no cell has enough sends for a rate"
    );

    let overview = insights::overview(&s.world.services, from, to)
        .await
        .unwrap();
    assert_eq!((overview.totals.sent, overview.totals.replied), (4, 2));
    assert_eq!(overview.days.len(), 31);
    let sent_on = |day: u32| {
        overview
            .days
            .iter()
            .find(|d| d.date == chrono::NaiveDate::from_ymd_opt(2026, 3, day).unwrap())
            .unwrap()
            .totals
            .sent
    };
    assert_eq!((sent_on(6), sent_on(9), sent_on(7)), (2, 2, 0));
    assert_eq!(overview.previous.sent, 0);
    assert!(
        overview.top_campaigns.is_empty(),
        "4 sends rank no campaign"
    );
}
