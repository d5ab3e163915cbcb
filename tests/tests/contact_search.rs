//! Finding contacts by the start of a name, on the embedded store and on DynamoDB (moto): first
//! then last name or last then first, case-insensitive, each contact once, in name order.

use trickle_app::contacts;
use trickle_domain::RawContact;
use trickle_tests::campaign_world::{utc, World};

async fn person(world: &World, phone: &str, first: Option<&str>, last: Option<&str>) -> String {
    let raw = RawContact {
        phone: phone.into(),
        first_name: first.map(str::to_string),
        last_name: last.map(str::to_string),
        ..RawContact::default()
    };
    contacts::create(&world.services, raw)
        .await
        .unwrap()
        .id
        .to_string()
}

async fn names(world: &World, query: &str) -> Vec<String> {
    contacts::search_by_name(&world.services, query, 50)
        .await
        .unwrap()
        .into_iter()
        .map(|c| {
            format!(
                "{} {}",
                c.first_name.unwrap_or_default(),
                c.last_name.unwrap_or_default()
            )
            .trim()
            .to_string()
        })
        .collect()
}

async fn search_by_the_start_of_a_name(world: World) {
    person(&world, "+12125550101", Some("Maria"), Some("Lopez")).await;
    person(&world, "+12125550102", Some("James"), Some("Chen")).await;
    person(&world, "+12125550103", Some("Mario"), Some("  Rossi ")).await;
    person(&world, "+12125550104", Some("Lee"), Some("Lee")).await;
    person(&world, "+12125550105", None, Some("Leeds")).await;
    person(&world, "+12125550106", None, None).await;

    assert_eq!(names(&world, "mari").await, ["Maria Lopez", "Mario Rossi"]);
    assert_eq!(names(&world, "MARIA").await, ["Maria Lopez"]);
    // The last name alone, and "last first".
    assert_eq!(names(&world, "chen").await, ["James Chen"]);
    assert_eq!(names(&world, "lopez ma").await, ["Maria Lopez"]);
    // Extra spaces do not matter; "Lee Lee" is found once though indexed twice.
    assert_eq!(names(&world, "  james   chen ").await, ["James Chen"]);
    assert_eq!(names(&world, "lee").await, ["Lee Lee", "Leeds"]);
    // Nothing for a name nobody has, nor for an empty query.
    assert!(names(&world, "zed").await.is_empty());
    assert!(names(&world, "   ").await.is_empty());
    // The limit holds.
    let two = contacts::search_by_name(&world.services, "l", 1)
        .await
        .unwrap();
    assert_eq!(two.len(), 1);
}

#[tokio::test]
async fn search_by_the_start_of_a_name_embedded() {
    search_by_the_start_of_a_name(World::new(utc("2026-03-01T12:00:00Z"))).await;
}

#[tokio::test]
async fn search_by_the_start_of_a_name_dynamo() {
    search_by_the_start_of_a_name(World::on_dynamo(utc("2026-03-01T12:00:00Z")).await).await;
}
