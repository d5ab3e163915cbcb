//! The CSV exports over real HTTP (`GET /v1/…csv`, the same streams the console and
//! `trickle export` serve): their columns, one row per record, formula-safe cells, and a body
//! written one page at a time.

use futures::StreamExt;
use reqwest::StatusCode;
use serde_json::{json, Value};
use trickle_app::campaigns::keys;
use trickle_app::exports;
use trickle_app::ports::table::{Key, Update};
use trickle_tests::campaign_world::{utc, World};

const TOKEN: &str = "exports-test-token";

fn rows(body: &str) -> Vec<Vec<String>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(body.as_bytes());
    reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect()
}

#[tokio::test]
async fn each_export_has_its_columns_one_row_per_record_and_no_formula() {
    let world = World::new(utc("2026-01-05T12:00:00Z"));
    let served = world.serve(TOKEN).await;
    let http = reqwest::Client::new();
    let get = |path: String| {
        http.get(format!("{}{path}", served.url))
            .bearer_auth(TOKEN)
            .send()
    };
    let mut people = world.contacts(0, 4).await;
    // A name that a spreadsheet would run as a formula.
    let formula = trickle_app::contacts::create(
        &world.services,
        trickle_domain::RawContact {
            phone: "+12125559001".into(),
            first_name: Some("=HYPERLINK(\"http://evil\")".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    people.push(formula);
    let ids: Vec<String> = people.iter().map(|c| c.id.to_string()).collect();
    let list = world.list(&ids, "completed").await;

    let (status, body) = {
        let r = get(format!("/v1/lists/{list}/members.csv")).await.unwrap();
        (r.status(), r.text().await.unwrap())
    };
    assert_eq!(status, StatusCode::OK);
    let members = rows(&body);
    assert_eq!(members[0], exports::MEMBERS_HEADER);
    assert_eq!(members.len(), 1 + 5, "{body}");
    assert_eq!(members[1][2], "+12122000000");
    assert_eq!(members[1][3], "Ann0");
    assert_eq!(members[5][3], "'=HYPERLINK(\"http://evil\")", "{body}");

    // A campaign: run it, mark two sends sent, one replied to.
    let campaign: Value = http
        .post(format!("{}/v1/campaigns", served.url))
        .bearer_auth(TOKEN)
        .json(&json!({
            "name": "Export", "message_a": "Hi {{first_name|there}}", "list_id": list.to_string(),
            "schedule": {"days": ["mon"], "send_time": "10:00", "time_zone": "America/New_York"},
            "per_run": 10, "sender": "+12125550100", "business_name": "Acme"
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = campaign["id"].as_str().unwrap().to_string();
    for path in ["activate", "run"] {
        let r = http
            .post(format!("{}/v1/campaigns/{id}/{path}", served.url))
            .bearer_auth(TOKEN)
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert!(
            r.status().is_success(),
            "{path}: {}",
            r.text().await.unwrap()
        );
    }
    for c in &people[..2] {
        world
            .services
            .table
            .update(
                &keys::send(&id, c.id.as_str()),
                Update::new()
                    .set("state", "SENT")
                    .set("sent_at", "2026-01-05T15:00:00.000Z")
                    .set("provider_id", format!("AC{}", c.id)),
                None,
            )
            .await
            .unwrap();
    }
    let reply_key = Key::new(
        keys::contact_pk(people[0].id.as_str()),
        "ACT#2026-01-05T16:00:00.000Z#ACreply".to_string(),
    );
    let mut reply = serde_json::Map::new();
    for (k, v) in [
        ("pk", json!(reply_key.pk)),
        ("sk", json!(reply_key.sk)),
        ("kind", json!("message")),
        ("direction", json!("incoming")),
        ("text", json!("+1 yes, call me")),
        ("occurred_at", json!("2026-01-05T16:00:00.000Z")),
    ] {
        reply.insert(k.into(), v);
    }
    world.services.table.put(reply, None).await.unwrap();

    let body = get(format!("/v1/campaigns/{id}/sends.csv"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let sends = rows(&body);
    assert_eq!(sends[0], exports::SENDS_HEADER);
    assert_eq!(sends.len(), 1 + 5, "{body}");
    let column = |name: &str| {
        exports::SENDS_HEADER
            .iter()
            .position(|h| *h == name)
            .unwrap()
    };
    let of = |phone: &str| {
        sends
            .iter()
            .find(|r| r[column("phone")] == phone)
            .unwrap_or_else(|| panic!("{phone} in {body}"))
            .clone()
    };
    let replied = of(people[0].phone.as_str());
    assert_eq!(replied[column("state")], "SENT");
    assert_eq!(replied[column("replied")], "yes");
    assert_eq!(
        replied[column("first_reply")],
        "'+1 yes, call me",
        "formula-safe"
    );
    assert_eq!(
        replied[column("first_reply_at")],
        "2026-01-05T16:00:00.000Z"
    );
    let silent = of(people[1].phone.as_str());
    assert_eq!(
        (
            silent[column("replied")].as_str(),
            silent[column("opted_out_after")].as_str()
        ),
        ("no", "no")
    );
    let pending = of(people[2].phone.as_str());
    assert_eq!(pending[column("state")], "PLANNED");

    let review = get("/v1/review.csv".into())
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(rows(&review)[0], exports::REVIEW_HEADER);
    let opted = http
        .post(format!("{}/v1/opt-outs", served.url))
        .bearer_auth(TOKEN)
        .json(&json!({"phone": people[3].phone.as_str(), "reason": "asked by phone"}))
        .send()
        .await
        .unwrap();
    assert!(
        opted.status().is_success(),
        "{}",
        opted.text().await.unwrap()
    );
    let opt_outs = get("/v1/opt-outs.csv".into())
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let opt_outs = rows(&opt_outs);
    assert_eq!(opt_outs[0], exports::OPT_OUTS_HEADER);
    assert_eq!(opt_outs[1][0], people[3].phone.as_str(), "{opt_outs:?}");
    assert!(
        opt_outs[1].iter().any(|c| c == "asked by phone"),
        "{opt_outs:?}"
    );

    // What cannot be exported is refused before the first byte.
    let missing = get("/v1/campaigns/cp_00000000000000000000000000000000/sends.csv".into())
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}

/// A list of 450 members is written as the header and one chunk per page of 200: the export
/// never holds more than a page.
#[tokio::test]
async fn an_export_is_written_one_page_at_a_time() {
    let world = World::new(utc("2026-01-05T12:00:00Z"));
    let people = world.contacts(0, 450).await;
    let ids: Vec<String> = people.iter().map(|c| c.id.to_string()).collect();
    let list = world.list(&ids, "completed").await;
    let mut stream = exports::list_members(&world.services, list.as_str())
        .await
        .unwrap();
    let mut chunks = Vec::new();
    while let Some(chunk) = stream.next().await {
        chunks.push(chunk.unwrap());
    }
    let lines: Vec<usize> = chunks
        .iter()
        .map(|c| c.iter().filter(|b| **b == b'\n').count())
        .collect();
    assert_eq!(lines, [1, 200, 200, 50]);
}
