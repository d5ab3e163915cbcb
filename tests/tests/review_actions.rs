//! The review list's two decisions: dismiss (the contact stays out) and release (the contact gets
//! the campaign's message after all). A release never bypasses the opt-out or the do-not-contact
//! list, plans at most one send per contact, and queues it only while the campaign is active.

use chrono::Duration;
use reqwest::StatusCode;
use serde_json::Value;
use trickle_app::campaigns::review::{self, ReviewRefusal};
use trickle_app::campaigns::{self, keys, CampaignsError};
use trickle_domain::campaign::{CampaignState, RawCampaign, RawSchedule, SendState};
use trickle_domain::{Contact, ListId};
use trickle_tests::campaign_world::{utc, World};

const TOKEN: &str = "review-token";

fn raw(list: &ListId) -> RawCampaign {
    RawCampaign {
        name: "Spring open house".into(),
        message_a: "Hi {{first_name|there}}, open house on Saturday".into(),
        message_b: None,
        list_id: list.to_string(),
        schedule: Some(RawSchedule {
            days: ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
                .map(String::from)
                .to_vec(),
            send_time: "10:00".into(),
            time_zone: "America/New_York".into(),
        }),
        per_run: 10,
        sender: "+12125550100".into(),
        business_name: Some("Acme Realty".into()),
        opt_out_footer: None,
        split_percent: None,
        min_days_since_contact: None,
        auto_winner: None,
        template_a: None,
        template_b: None,
    }
}

/// Five contacts, the first three talked with before (so reviewed); one run planned.
async fn reviewed_world() -> (World, String, Vec<review::ListedReview>, Vec<Contact>) {
    let world = World::new(utc("2026-01-05T14:00:00Z"));
    let people = world.contacts(0, 5).await;
    for c in &people[..3] {
        world.activity(c, utc("2025-11-01T12:00:00Z"), None).await;
    }
    let ids: Vec<String> = people.iter().map(|c| c.id.to_string()).collect();
    let list = world.list(&ids, "completed").await;
    let campaign = campaigns::create(&world.services, raw(&list))
        .await
        .unwrap();
    let id = campaign.id.to_string();
    campaigns::activate(&world.services, &id).await.unwrap();
    world.clock.set(utc("2026-01-05T15:00:00Z"));
    campaigns::plan_due_campaigns(&world.services, world.now())
        .await
        .unwrap();
    assert_eq!(world.drain_sends().await.len(), 2, "the two new contacts");
    let entries = review::list(&world.services, 100, None)
        .await
        .unwrap()
        .items;
    assert_eq!(entries.len(), 3);
    (world, id, entries, people)
}

#[tokio::test]
async fn a_released_contact_is_planned_and_queued_once_and_leaves_the_review_list() {
    let (world, id, entries, _) = reviewed_world().await;
    let entry = &entries[0];
    assert_eq!(entry.id, entry.entry.id());
    assert!(entry.entry.position.is_some());

    let send = review::release(&world.services, &entry.id).await.unwrap();
    assert_eq!(send.contact_id, entry.entry.contact_id);
    assert_eq!(send.state, SendState::Planned);
    let queued = world.drain_sends().await;
    assert_eq!(queued.len(), 1);
    assert_eq!(
        queued[0]["contact_id"],
        Value::from(send.contact_id.clone())
    );
    assert_eq!(queued[0]["campaign_id"], Value::from(id.clone()));
    let stored = world
        .services
        .table
        .get(&keys::send(&id, &send.contact_id))
        .await
        .unwrap();
    assert!(stored.is_some(), "the send record exists for the worker");

    let left: Vec<String> = review::list(&world.services, 100, None)
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|l| l.id)
        .collect();
    assert_eq!(left.len(), 2);
    assert!(!left.contains(&entry.id));

    // A second release (a double click, another operator) changes nothing.
    match review::release(&world.services, &entry.id).await {
        Err(CampaignsError::Review(ReviewRefusal::Gone)) => {}
        other => panic!("expected Gone, got {other:?}"),
    }
    assert!(world.drain_sends().await.is_empty());
}

#[tokio::test]
async fn a_release_never_reaches_someone_who_opted_out_or_is_on_the_do_not_contact_list() {
    let (world, id, entries, people) = reviewed_world().await;
    let by_contact = |cid: &str| {
        entries
            .iter()
            .find(|e| e.entry.contact_id == cid)
            .unwrap()
            .id
            .clone()
    };
    world.opt_out(&people[0]).await;
    world.suppress(&people[1]).await;
    match review::release(&world.services, &by_contact(people[0].id.as_str())).await {
        Err(CampaignsError::Review(ReviewRefusal::OptedOut)) => {}
        other => panic!("expected OptedOut, got {other:?}"),
    }
    match review::release(&world.services, &by_contact(people[1].id.as_str())).await {
        Err(CampaignsError::Review(ReviewRefusal::Suppressed)) => {}
        other => panic!("expected Suppressed, got {other:?}"),
    }
    // Refused entries stay for a person to dismiss; nothing was planned or queued.
    assert_eq!(
        review::list(&world.services, 100, None)
            .await
            .unwrap()
            .items
            .len(),
        3
    );
    assert!(world.drain_sends().await.is_empty());
    for p in &people[..2] {
        assert!(world
            .services
            .table
            .get(&keys::send(&id, p.id.as_str()))
            .await
            .unwrap()
            .is_none());
    }
}

#[tokio::test]
async fn a_paused_campaign_keeps_the_release_for_its_resume_and_a_closed_one_refuses_it() {
    let (world, id, entries, _) = reviewed_world().await;
    campaigns::pause(&world.services, &id).await.unwrap();
    let send = review::release(&world.services, &entries[0].id)
        .await
        .unwrap();
    assert!(
        world.drain_sends().await.is_empty(),
        "nothing queued while paused"
    );
    world.clock.advance(Duration::minutes(1));
    campaigns::resume(&world.services, &id).await.unwrap();
    let queued = world.drain_sends().await;
    assert!(
        queued
            .iter()
            .any(|m| m["contact_id"].as_str() == Some(send.contact_id.as_str())),
        "resume queues the released send"
    );

    campaigns::pause(&world.services, &id).await.unwrap();
    campaigns::archive(&world.services, &id).await.unwrap();
    match review::release(&world.services, &entries[1].id).await {
        Err(CampaignsError::Review(ReviewRefusal::CampaignClosed(CampaignState::Archived))) => {}
        other => panic!("expected CampaignClosed, got {other:?}"),
    }
}

#[tokio::test]
async fn dismiss_and_release_over_the_api_answer_with_plain_statuses() {
    let (world, _id, entries, people) = reviewed_world().await;
    let served = world.serve(TOKEN).await;
    let http = reqwest::Client::new();
    let url = |id: &str| format!("{}/v1/review/{}", served.url, form_urlencoded_id(id));

    let r = http
        .delete(url(&entries[0].id))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = http
        .delete(url(&entries[0].id))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let body: Value = r.json().await.unwrap();
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("dismissed or released it already"));

    let r = http
        .post(format!("{}/release", url(&entries[1].id)))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let send: Value = r.json().await.unwrap();
    assert_eq!(send["state"], "PLANNED");
    assert_eq!(
        send["contact_id"],
        Value::from(entries[1].entry.contact_id.clone())
    );

    let third = entries
        .iter()
        .find(|e| e.id != entries[0].id && e.id != entries[1].id)
        .unwrap();
    let person = people
        .iter()
        .find(|p| p.id.as_str() == third.entry.contact_id)
        .unwrap();
    world.opt_out(person).await;
    let r = http
        .post(format!("{}/release", url(&third.id)))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let body: Value = r.json().await.unwrap();
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("opted out"));

    let page: Value = http
        .get(format!("{}/v1/review", served.url))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ids: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![third.id.as_str()]);
}

/// The id holds `#` and `:`, which a path segment must escape.
fn form_urlencoded_id(id: &str) -> String {
    id.replace('%', "%25")
        .replace('#', "%23")
        .replace(':', "%3A")
}

#[tokio::test]
async fn a_release_reopens_a_completed_campaign_until_the_released_send_settles() {
    let (world, id, entries, _) = reviewed_world().await;
    let settle = |contact_id: String| {
        let world = &world;
        let id = id.clone();
        async move {
            world
                .services
                .table
                .update(
                    &keys::send(&id, &contact_id),
                    trickle_app::ports::table::Update::new().set("state", "SENT"),
                    None,
                )
                .await
                .unwrap();
        }
    };
    for item in world
        .items(&keys::campaign_pk(&id), keys::SEND_PREFIX)
        .await
    {
        let send: campaigns::SendRecord = trickle_app::records::from_item(item).unwrap();
        settle(send.contact_id).await;
    }
    assert!(campaigns::complete_if_done(&world.services, &id)
        .await
        .unwrap());

    let send = review::release(&world.services, &entries[0].id)
        .await
        .unwrap();
    let campaign = campaigns::get(&world.services, &id).await.unwrap();
    assert_eq!(campaign.state, CampaignState::Active, "reopened");
    assert_eq!(
        world.drain_sends().await.len(),
        1,
        "the released send is queued"
    );
    assert!(
        !campaigns::complete_if_done(&world.services, &id)
            .await
            .unwrap(),
        "not complete while the released send is open"
    );
    settle(send.contact_id).await;
    assert!(campaigns::complete_if_done(&world.services, &id)
        .await
        .unwrap());
}
