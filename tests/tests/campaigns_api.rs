//! The campaign routes over real HTTP: life cycle and its 409s, activation checks, preview,
//! run-now, sends and the review list.

use chrono::Duration;
use reqwest::StatusCode;
use serde_json::{json, Value};
use trickle_domain::ListId;
use trickle_tests::api_client::ApiClient;
use trickle_tests::campaign_world::{utc, World};

const TOKEN: &str = "campaign-test-token";

struct Api {
    world: World,
    client: ApiClient,
}

impl std::ops::Deref for Api {
    type Target = ApiClient;
    fn deref(&self) -> &ApiClient {
        &self.client
    }
}

impl Api {
    async fn start() -> Self {
        // Monday 2026-01-05, 07:00 in New York.
        let world = World::new(utc("2026-01-05T12:00:00Z"));
        let client = ApiClient::serve(&world, TOKEN).await;
        Self { world, client }
    }
}

fn campaign_body(list: &ListId) -> Value {
    json!({
        "name": "Winter offer",
        "message_a": "Hi {{first_name}}, 20% off this week",
        "list_id": list.to_string(),
        "schedule": {"days": ["mon", "wed", "fri"], "send_time": "10:00", "time_zone": "America/New_York"},
        "per_run": 3,
        "sender": "+12125550100",
        "business_name": "Acme"
    })
}

#[tokio::test]
async fn a_campaign_goes_through_its_life_cycle_and_illegal_moves_are_409() {
    let api = Api::start().await;
    let people = api.world.contacts(0, 4).await;
    let ids: Vec<String> = people.iter().map(|c| c.id.to_string()).collect();
    let list = api.world.list(&ids, "completed").await;

    let (status, created) = api.post("/v1/campaigns", campaign_body(&list)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["state"], "draft");
    assert_eq!(created["opt_out_footer"], "Reply STOP to opt out");
    assert_eq!(created["split_percent"], 50);
    let id = created["id"].as_str().unwrap().to_string();
    let (status, fetched) = api.get(&format!("/v1/campaigns/{id}")).await;
    assert_eq!((status, &fetched), (StatusCode::OK, &created));

    // Draft: editable; cannot be paused or resumed.
    let (status, patched) = api
        .patch(&format!("/v1/campaigns/{id}"), json!({"per_run": 2}))
        .await;
    assert_eq!(
        (status, patched["per_run"].clone()),
        (StatusCode::OK, json!(2))
    );
    for action in ["pause", "resume"] {
        let (status, body) = api
            .post(&format!("/v1/campaigns/{id}/{action}"), json!({}))
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "{action}: {body}");
        assert_eq!(body["error"]["details"]["state"], "draft");
    }

    let (status, active) = api
        .post(&format!("/v1/campaigns/{id}/activate"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{active}");
    assert_eq!(active["state"], "active");
    // Monday 07:00 New York → the first run is today at 10:00 (15:00Z).
    assert_eq!(active["next_run_at"], "2026-01-05T15:00:00Z");
    assert_eq!(active["next_slot"], "2026-01-05");

    // Active: not editable, not archivable, not activatable again.
    let (status, _) = api
        .patch(&format!("/v1/campaigns/{id}"), json!({"per_run": 5}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    for action in ["archive", "activate", "resume"] {
        let (status, _) = api
            .post(&format!("/v1/campaigns/{id}/{action}"), json!({}))
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "{action}");
    }

    let (status, paused) = api
        .post(&format!("/v1/campaigns/{id}/pause"), json!({}))
        .await;
    assert_eq!(
        (status, paused["state"].clone()),
        (StatusCode::OK, json!("paused"))
    );
    assert_eq!(paused["next_run_at"], Value::Null);
    let (status, _) = api
        .patch(
            &format!("/v1/campaigns/{id}"),
            json!({"name": "Winter offer 2"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    // A started campaign keeps its list (the cursor is a position in it).
    let other = api.world.list(&ids, "completed").await;
    let (status, _) = api
        .patch(
            &format!("/v1/campaigns/{id}"),
            json!({"list_id": other.to_string()}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    // Edits made while paused are checked again on resume.
    let (status, _) = api
        .patch(
            &format!("/v1/campaigns/{id}"),
            json!({"business_name": null}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, refused) = api
        .post(&format!("/v1/campaigns/{id}/resume"), json!({}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(refused["error"]["details"]["problems"]
        .to_string()
        .contains("business_name"));
    api.patch(
        &format!("/v1/campaigns/{id}"),
        json!({"business_name": "Acme"}),
    )
    .await;

    // Resumed on Monday 11:00 New York: the next slot is Wednesday 10:00, not now.
    api.world.clock.set(utc("2026-01-05T16:00:00Z"));
    let (status, resumed) = api
        .post(&format!("/v1/campaigns/{id}/resume"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(resumed["next_run_at"], "2026-01-07T15:00:00Z");

    let (status, copy) = api
        .post(&format!("/v1/campaigns/{id}/duplicate"), json!({}))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(copy["state"], "draft");
    assert_eq!(copy["name"], "Winter offer 2 (copy)");
    assert_ne!(copy["id"], resumed["id"]);

    api.post(&format!("/v1/campaigns/{id}/pause"), json!({}))
        .await;
    let (status, archived) = api
        .post(&format!("/v1/campaigns/{id}/archive"), json!({}))
        .await;
    assert_eq!(
        (status, archived["state"].clone()),
        (StatusCode::OK, json!("archived"))
    );
    let (status, _) = api
        .post(&format!("/v1/campaigns/{id}/resume"), json!({}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);

    // Newest first, paged.
    let (_, page) = api.get("/v1/campaigns?limit=1").await;
    assert_eq!(page["items"][0]["id"], copy["id"]);
    let next = page["next"].as_str().unwrap();
    let (_, rest) = api
        .get(&format!(
            "/v1/campaigns?limit=10&cursor={}",
            urlencode(next)
        ))
        .await;
    assert_eq!(rest["items"][0]["id"], json!(id));
    assert_eq!(rest["items"].as_array().unwrap().len(), 1);
    // `after` used to be read here but ignored elsewhere; now every list route refuses it.
    for route in [
        "/v1/campaigns",
        "/v1/review",
        "/v1/lists",
        "/v1/opt-outs",
        "/v1/events",
    ] {
        let (status, answer) = api.get(&format!("{route}?after={}", urlencode(next))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{route}: {answer}");
        assert!(
            answer["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("`cursor`")),
            "{route}: {answer}"
        );
    }

    let (status, _) = api
        .get("/v1/campaigns/cp_0123456789abcdef0123456789abcdef")
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn a_mistyped_token_gets_a_did_you_mean() {
    let api = Api::start().await;
    let (status, p) = api
        .post(
            "/v1/campaigns/preview",
            json!({"message": "Hi {{frist_name}}", "sample": {"first_name": "Ana"}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{p}");
    assert_eq!(p["unresolved_tokens"], json!(["frist_name"]));
    assert_eq!(p["did_you_mean"], json!({"frist_name": "first_name"}));
}

#[tokio::test]
async fn a_malformed_body_is_explained_without_parser_text() {
    let api = Api::start().await;
    let (status, answer) = api.post("/v1/campaigns", json!({"name": "x"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let said = answer["error"]["message"].as_str().unwrap();
    assert!(said.contains("`list_id` is required"), "{said}");
    assert!(
        !said.contains("deserialize") && !said.contains("line 1"),
        "{said}"
    );
    let mut body = campaign_body(&ListId::new());
    body["frist_name"] = json!("x");
    let (status, answer) = api.post("/v1/campaigns", body).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    let said = answer["error"]["message"].as_str().unwrap();
    assert!(said.contains("`frist_name` is not a field here"), "{said}");
    let (status, answer) = api
        .patch(
            &format!("/v1/campaigns/{}", "cp_0123456789abcdef0123456789abcdef"),
            json!({"nmae": "x"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert!(answer["error"]["message"]
        .as_str()
        .unwrap()
        .contains("`nmae` is not a field here"));
}

#[tokio::test]
async fn every_problem_of_a_campaign_is_named_in_one_answer() {
    let api = Api::start().await;
    let mut body = campaign_body(&ListId::new());
    body["per_run"] = json!(0);
    body["sender"] = json!("12");
    body["name"] = json!("");
    let (status, answer) = api.post("/v1/campaigns", body).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    let said = answer["error"]["message"].as_str().unwrap();
    // The list id is well formed but names no list: said in the same answer.
    for part in ["name", "per_run", "sender", "no list has the id"] {
        assert!(said.contains(part), "{part} missing: {said}");
    }
}

#[tokio::test]
async fn an_unknown_list_is_refused_at_create_and_at_edit() {
    let api = Api::start().await;
    let unknown = ListId::new();
    let (status, answer) = api.post("/v1/campaigns", campaign_body(&unknown)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    let said = answer["error"]["message"].as_str().unwrap();
    assert!(
        said.contains("list_id")
            && said.contains(&unknown.to_string())
            && said.contains("trickle lists"),
        "{said}"
    );
    let (_, listed) = api.get("/v1/campaigns").await;
    assert_eq!(listed["items"], json!([]), "nothing was created");

    let ids: Vec<String> = api
        .world
        .contacts(0, 1)
        .await
        .iter()
        .map(|c| c.id.to_string())
        .collect();
    let list = api.world.list(&ids, "completed").await;
    let (status, created) = api.post("/v1/campaigns", campaign_body(&list)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().unwrap();
    let (status, answer) = api
        .patch(
            &format!("/v1/campaigns/{id}"),
            json!({"list_id": unknown.to_string()}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    let (_, shown) = api.get(&format!("/v1/campaigns/{id}")).await;
    assert_eq!(
        shown["list_id"],
        json!(list.to_string()),
        "the edit changed nothing"
    );
}

#[tokio::test]
async fn bad_campaigns_are_refused_with_the_reason() {
    let api = Api::start().await;
    let list = ListId::new();
    let cases = [
        (json!({"per_run": 0}), "per_run"),
        (json!({"message_a": "Hi {{first_name"}), "never closed"),
        (
            json!({"schedule": {"days": [], "send_time": "10:00", "time_zone": "America/New_York"}}),
            "day",
        ),
        (
            json!({"schedule": {"days": ["mon"], "send_time": "10:00", "time_zone": "Eastern"}}),
            "IANA",
        ),
        (json!({"sender": "12"}), "sender"),
        (json!({"split_percent": 100}), "split_percent"),
    ];
    for (change, expected) in cases {
        let mut body = campaign_body(&list);
        for (k, v) in change.as_object().unwrap() {
            body[k] = v.clone();
        }
        let (status, answer) = api.post("/v1/campaigns", body).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{change}: {answer}"
        );
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(message.contains(expected), "{change}: {message}");
    }
    let (status, _) = api.post("/v1/campaigns", json!({"name": "x"})).await;
    assert!(status.is_client_error());
}

#[tokio::test]
async fn activation_names_every_problem() {
    let api = Api::start().await;
    let people = api.world.contacts(0, 3).await;
    let ids: Vec<String> = people.iter().map(|c| c.id.to_string()).collect();
    let building = api.world.list(&ids, "building").await;
    let empty = api.world.list(&[], "completed").await;

    let mut body = campaign_body(&building);
    body["business_name"] = Value::Null;
    let (_, c) = api.post("/v1/campaigns", body).await;
    let (status, refused) = api
        .post(
            &format!("/v1/campaigns/{}/activate", c["id"].as_str().unwrap()),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let problems = refused["error"]["details"]["problems"].to_string();
    assert!(problems.contains("business_name"), "{problems}");
    assert!(problems.contains("not completed"), "{problems}");

    let (_, c) = api.post("/v1/campaigns", campaign_body(&empty)).await;
    let (status, refused) = api
        .post(
            &format!("/v1/campaigns/{}/activate", c["id"].as_str().unwrap()),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(refused["error"]["details"]["problems"]
        .to_string()
        .contains("no members"));

    // A member with no first name and a token without fallback: named in the refusal.
    let nameless = trickle_app::contacts::create(
        &api.world.services,
        trickle_domain::RawContact {
            phone: "+13125550177".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let mut with_nameless = ids.clone();
    with_nameless.push(nameless.id.to_string());
    let list = api.world.list(&with_nameless, "completed").await;
    let mut body = campaign_body(&list);
    body["message_b"] = json!("Hey {{first_name|there}} from {{city}}");
    let (_, c) = api.post("/v1/campaigns", body).await;
    let id = c["id"].as_str().unwrap().to_string();
    let (status, refused) = api
        .post(&format!("/v1/campaigns/{id}/activate"), json!({}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let problems: Vec<String> =
        serde_json::from_value(refused["error"]["details"]["problems"].clone()).unwrap();
    // Message A: only the nameless contact; message B: every contact lacks `city`.
    assert_eq!(
        problems
            .iter()
            .filter(|p| p.starts_with("message A"))
            .count(),
        1,
        "{problems:?}"
    );
    assert!(problems
        .iter()
        .any(|p| p.contains(nameless.id.as_str()) && p.contains("first_name")));
    assert_eq!(
        problems
            .iter()
            .filter(|p| p.starts_with("message B") && p.contains("city"))
            .count(),
        4
    );

    // Fallbacks fix it.
    let (status, _) = api
        .patch(&format!("/v1/campaigns/{id}"), json!({"message_a": "Hi {{first_name|there}}", "message_b": "Hey {{first_name|there}} from {{city|town}}"}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = api
        .post(&format!("/v1/campaigns/{id}/activate"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn preview_renders_with_identification_footer_encoding_and_segments() {
    let api = Api::start().await;
    let people = api.world.contacts(0, 1).await;
    let (status, p) = api
        .post(
            "/v1/campaigns/preview",
            json!({"message": "Hi {{first_name|there}}, {{offer}}", "business_name": "Acme",
            "contact_id": people[0].id}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{p}");
    // Trailing space trimmed; identification prefixed; the footer on a first message.
    assert_eq!(p["text"], "Acme: Hi Ann0,\nReply STOP to opt out");
    assert_eq!(p["unresolved_tokens"], json!(["offer"]));
    assert_eq!(p["encoding"], "GSM-7");
    assert_eq!(p["segments"], 1);
    assert_eq!(p["characters"], 14 + 1 + 21);

    let long = "x".repeat(150);
    let (_, p) = api
        .post(
            "/v1/campaigns/preview",
            json!({"message": format!("{long} {{{{first_name}}}}"), "business_name": "Acme",
            "sample": {"first_name": "Zoë"}, "first_message": false}),
        )
        .await;
    assert_eq!(p["encoding"], "UCS-2");
    assert_eq!(p["characters"], 6 + 150 + 4);
    assert_eq!(p["segments"], 3);
    assert_eq!(p["unresolved_tokens"], json!([]));

    let (status, _) = api
        .post("/v1/campaigns/preview", json!({"message": "{{oops"}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = api
        .post(
            "/v1/campaigns/preview",
            json!({"message": "hi", "contact_id": "ct_0123456789abcdef0123456789abcdef"}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn run_now_plans_the_next_batch_and_sends_and_review_show_it() {
    let api = Api::start().await;
    let people = api.world.contacts(0, 6).await;
    api.world
        .activity(&people[1], utc("2025-10-01T12:00:00Z"), None)
        .await;
    api.world.opt_out(&people[2]).await;
    let ids: Vec<String> = people.iter().map(|c| c.id.to_string()).collect();
    let list = api.world.list(&ids, "completed").await;
    let (_, c) = api.post("/v1/campaigns", campaign_body(&list)).await;
    let id = c["id"].as_str().unwrap().to_string();
    let (status, _) = api
        .post(&format!("/v1/campaigns/{id}/run"), json!({}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "a draft does not run");
    api.post(&format!("/v1/campaigns/{id}/activate"), json!({}))
        .await;

    let (status, run) = api
        .post(&format!("/v1/campaigns/{id}/run"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{run}");
    assert_eq!(
        (
            run["planned"].clone(),
            run["skipped"].clone(),
            run["reviewed"].clone()
        ),
        (json!(3), json!(2), json!(1))
    );
    let (_, sends) = api.get(&format!("/v1/campaigns/{id}/sends")).await;
    let mut got: Vec<String> = sends["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["contact_id"].as_str().unwrap().to_string())
        .collect();
    got.sort();
    let mut expected = vec![ids[0].clone(), ids[3].clone(), ids[4].clone()];
    expected.sort();
    assert_eq!(got, expected);
    assert!(sends["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["state"] == "PLANNED" && s["variant"] == "A"));
    let (_, review) = api.get("/v1/review").await;
    assert_eq!(review["items"].as_array().unwrap().len(), 1);
    assert_eq!(review["items"][0]["contact_id"], json!(ids[1]));
    assert_eq!(review["items"][0]["reason"], "previous_communication");

    // The schedule is untouched; the scheduled run later continues from the cursor.
    let (_, now) = api.get(&format!("/v1/campaigns/{id}")).await;
    assert_eq!(now["next_run_at"], "2026-01-05T15:00:00Z");
    assert_eq!(now["cursor"], 5);
    api.world
        .clock
        .set(utc("2026-01-05T15:00:00Z") + Duration::seconds(5));
    let report = trickle_app::campaigns::plan_due_campaigns(&api.world.services, api.world.now())
        .await
        .unwrap();
    assert_eq!(report.runs[0].planned, 1);
    let (_, sends) = api.get(&format!("/v1/campaigns/{id}/sends?limit=2")).await;
    assert_eq!(sends["items"].as_array().unwrap().len(), 2);
    assert!(sends["next"].is_string());
    let (status, _) = api
        .get("/v1/campaigns/cp_0123456789abcdef0123456789abcdef/sends")
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
