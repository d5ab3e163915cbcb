//! The audience estimate shown before a campaign starts: the planner's exclusions counted on the
//! list's first members, contacts without recorded consent, the longest token values, and an
//! extrapolation (said to be one) beyond the sample.

use std::collections::BTreeMap;

use trickle_app::campaigns::estimate::{estimate, SAMPLE};
use trickle_app::contacts;
use trickle_domain::RawContact;
use trickle_tests::campaign_world::{utc, World};

async fn person(world: &World, i: u32, first: &str, consent: Option<&str>) -> String {
    let mut attributes = BTreeMap::new();
    attributes.insert("neighborhood".to_string(), format!("Block {i}"));
    if let Some(c) = consent {
        attributes.insert("Consent source".to_string(), c.to_string());
    }
    let raw = RawContact {
        phone: format!("+1212{:07}", 3_000_000 + i),
        first_name: Some(first.into()),
        last_name: Some("Lee".into()),
        attributes: Some(attributes),
        ..RawContact::default()
    };
    contacts::create(&world.services, raw)
        .await
        .unwrap()
        .id
        .to_string()
}

#[tokio::test]
async fn a_small_list_is_counted_exactly_with_every_exclusion_named() {
    let world = World::new(utc("2026-03-02T12:00:00Z"));
    let mut ids = Vec::new();
    ids.push(person(&world, 0, "Ann", Some("open house sign-in")).await);
    ids.push(person(&world, 1, "Bartholomew-Alexander", None).await);
    ids.push(person(&world, 2, "Cy", None).await);
    ids.push(person(&world, 3, "Di", Some("")).await);
    ids.push(person(&world, 40, "Ed", None).await);
    ids.push("ct_00000000000000000000000000000000".into());
    let people = world.contacts(10, 3).await;
    world.opt_out(&people[0]).await;
    world.suppress(&people[1]).await;
    world
        .activity(&people[2], utc("2026-01-10T12:00:00Z"), None)
        .await;
    ids.extend(people.iter().map(|c| c.id.to_string()));
    let list = world.list(&ids, "completed").await;

    let e = estimate(&world.services, list.as_str(), None)
        .await
        .unwrap();
    assert_eq!(e.members, 9);
    assert_eq!(e.checked, 9);
    assert!(!e.estimated);
    assert_eq!(
        (e.opted_out, e.suppressed, e.review, e.invalid),
        (1, 1, 1, 1)
    );
    assert_eq!(e.reachable, 5);
    // Ann has a consent source; Di's is blank, so she counts as without consent.
    assert_eq!(e.without_consent, 4);
    assert_eq!(e.longest["first_name"], "Bartholomew-Alexander");
    assert_eq!(e.longest["neighborhood"], "Block 40");
}

#[tokio::test]
async fn a_campaigns_own_messages_are_not_previous_communication() {
    let world = World::new(utc("2026-03-02T12:00:00Z"));
    let people = world.contacts(0, 2).await;
    let campaign = "cp_0123456789abcdef0123456789abcdef";
    world
        .activity(&people[0], utc("2026-02-01T12:00:00Z"), Some(campaign))
        .await;
    let ids: Vec<String> = people.iter().map(|c| c.id.to_string()).collect();
    let list = world.list(&ids, "completed").await;
    let own = estimate(&world.services, list.as_str(), Some(campaign))
        .await
        .unwrap();
    assert_eq!((own.reachable, own.review), (2, 0));
    let other = estimate(&world.services, list.as_str(), None)
        .await
        .unwrap();
    assert_eq!((other.reachable, other.review), (1, 1));
}

#[tokio::test]
async fn a_big_list_is_estimated_from_its_first_members_and_says_so() {
    let world = World::new(utc("2026-03-02T12:00:00Z"));
    let people = world.contacts(0, SAMPLE + 100).await;
    // One in four of the sample opted out.
    for c in people.iter().take(SAMPLE as usize).step_by(4) {
        world.opt_out(c).await;
    }
    let ids: Vec<String> = people.iter().map(|c| c.id.to_string()).collect();
    let list = world.list(&ids, "completed").await;
    let e = estimate(&world.services, list.as_str(), None)
        .await
        .unwrap();
    assert!(e.estimated);
    assert_eq!(e.checked, u64::from(SAMPLE));
    assert_eq!(e.members, u64::from(SAMPLE + 100));
    assert_eq!(e.opted_out, u64::from(SAMPLE / 4));
    // Three in four of 300 reachable.
    assert_eq!(e.reachable, 225);
}
