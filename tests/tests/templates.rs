//! The template library over real HTTP, on the embedded store and on DynamoDB (moto): saving,
//! versions, archive and restore, and campaigns started from a template keeping the version
//! they took. Every answer is held against the OpenAPI document.

use reqwest::StatusCode;
use serde_json::{json, Value};
use trickle_domain::ListId;
use trickle_tests::api_client::ApiClient;
use trickle_tests::campaign_world::{utc, World};

const TOKEN: &str = "template-test-token";

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
    async fn on(world: World) -> Self {
        let client = ApiClient::serve(&world, TOKEN).await;
        Self { world, client }
    }

    async fn listed(&self, archived: bool) -> Vec<String> {
        let (status, page) = self
            .get(&format!("/v1/templates?archived={archived}"))
            .await;
        assert_eq!(status, StatusCode::OK, "{page}");
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap().to_string())
            .collect()
    }
}

fn campaign(list: &ListId, extra: Value) -> Value {
    let mut body = json!({
        "name": "Spring sellers",
        "list_id": list.to_string(),
        "schedule": {"days": ["mon", "wed"], "send_time": "10:00", "time_zone": "America/New_York"},
        "per_run": 5,
        "sender": "+12125550100",
        "business_name": "Acme Realty"
    });
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    body
}

const V1: &str = "Hi {{first_name|there}}, open house Saturday at {{street|our listing}}";
const V2: &str = "Hi {{first_name|there}}, open house Sunday at {{street|our listing}}";
const V3: &str = "Hello {{first_name|there}}, last chance for Sunday";

async fn the_library_story(api: Api) {
    let people = api.world.contacts(0, 2).await;
    let ids: Vec<String> = people.iter().map(|c| c.id.to_string()).collect();
    let list = api.world.list(&ids, "completed").await;

    // Every problem of a template at once.
    let (status, refused) = api
        .post(
            "/v1/templates",
            json!({"name": "", "message": "Hi {{first_name"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    let message = refused["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("name must be") && message.contains("never closed"),
        "{message}"
    );

    let (status, saved) = api
        .post(
            "/v1/templates",
            json!({"name": "Open house", "message": V1}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{saved}");
    assert_eq!(
        (saved["version"].clone(), saved["tokens"].clone()),
        (json!(1), json!(["first_name", "street"]))
    );
    let id = saved["id"].as_str().unwrap().to_string();

    // A rename is not a new version; a new text is.
    let (status, renamed) = api
        .patch(
            &format!("/v1/templates/{id}"),
            json!({"name": "Open house (spring)"}),
        )
        .await;
    assert_eq!(
        (status, renamed["version"].clone()),
        (StatusCode::OK, json!(1)),
        "{renamed}"
    );
    let (status, v2) = api
        .patch(&format!("/v1/templates/{id}"), json!({"message": V2}))
        .await;
    assert_eq!(
        (status, v2["version"].clone(), v2["message"].clone()),
        (StatusCode::OK, json!(2), json!(V2)),
        "{v2}"
    );
    let (status, same) = api
        .patch(&format!("/v1/templates/{id}"), json!({"message": V2}))
        .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "nothing to change: {same}"
    );

    // A campaign from the template takes its latest version, and names it.
    let (status, from_latest) = api
        .post(
            "/v1/campaigns",
            campaign(&list, json!({"template_a": {"id": id}})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{from_latest}");
    assert_eq!(from_latest["message_a"], V2);
    assert_eq!(
        from_latest["template_a"],
        json!({"id": id, "version": 2, "name": "Open house (spring)"})
    );
    let latest_id = from_latest["id"].as_str().unwrap().to_string();
    // …or the version it names.
    let (status, from_v1) = api
        .post(
            "/v1/campaigns",
            campaign(&list, json!({"template_a": {"id": id, "version": 1}})),
        )
        .await;
    assert_eq!(
        (status, from_v1["message_a"].clone()),
        (StatusCode::CREATED, json!(V1)),
        "{from_v1}"
    );
    assert_eq!(from_v1["template_a"]["version"], 1);

    // A third version changes no campaign that exists; every version stays readable.
    let (status, _) = api
        .patch(&format!("/v1/templates/{id}"), json!({"message": V3}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, kept) = api.get(&format!("/v1/campaigns/{latest_id}")).await;
    assert_eq!(
        (
            kept["message_a"].clone(),
            kept["template_a"]["version"].clone()
        ),
        (json!(V2), json!(2))
    );
    let (status, versions) = api.get(&format!("/v1/templates/{id}/versions")).await;
    assert_eq!(status, StatusCode::OK, "{versions}");
    let texts: Vec<(u64, &str)> = versions["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["version"].as_u64().unwrap(),
                v["message"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(texts, [(3, V3), (2, V2), (1, V1)]);
    let (status, first) = api.get(&format!("/v1/templates/{id}/versions/1")).await;
    assert_eq!(
        (status, first["message"].clone(), first["name"].clone()),
        (StatusCode::OK, json!(V1), json!("Open house"))
    );
    let (status, missing) = api.get(&format!("/v1/templates/{id}/versions/9")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        missing["error"]["message"]
            .as_str()
            .unwrap()
            .contains("its latest is 3"),
        "{missing}"
    );

    // A message that differs from the template it names, an unknown template and a bad
    // per_run: all named at once.
    let (status, refused) = api
        .post(
            "/v1/campaigns",
            campaign(
                &list,
                json!({
                    "template_a": {"id": id}, "message_a": "Something else",
                    "template_b": {"id": "tp_0193b2c4d5e6f708192a3b4c5d6e7f80"},
                    "per_run": 0
                }),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    let message = refused["error"]["message"].as_str().unwrap();
    for part in [
        "per_run must be",
        "template_a: message_a differs from template",
        "template_b: no template has the id",
    ] {
        assert!(message.contains(part), "{part:?} missing from {message}");
    }

    // Editing the message of a campaign makes it the campaign's own.
    let (status, edited) = api
        .patch(&format!("/v1/campaigns/{latest_id}"), json!({"per_run": 4}))
        .await;
    assert_eq!(
        (status, edited["template_a"]["version"].clone()),
        (StatusCode::OK, json!(2)),
        "a change elsewhere keeps the template: {edited}"
    );
    let (_, edited) = api
        .patch(
            &format!("/v1/campaigns/{latest_id}"),
            json!({"message_a": "Hi {{first_name|there}}, my own words"}),
        )
        .await;
    assert!(edited.get("template_a").is_none(), "{edited}");

    // Archived: out of the listing, never deleted, starts no campaign, cannot change.
    assert_eq!(api.listed(false).await, ["Open house (spring)"]);
    let (status, archived) = api
        .post(&format!("/v1/templates/{id}/archive"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{archived}");
    assert!(archived["archived_at"].is_string());
    assert!(api.listed(false).await.is_empty());
    assert_eq!(api.listed(true).await, ["Open house (spring)"]);
    let (status, _) = api.get(&format!("/v1/templates/{id}")).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "an archived template is still there"
    );
    let (status, refused) = api
        .post(
            "/v1/campaigns",
            campaign(&list, json!({"template_a": {"id": id}})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert!(refused["error"]["message"]
        .as_str()
        .unwrap()
        .contains("is archived; restore it first"));
    let (status, _) = api
        .patch(&format!("/v1/templates/{id}"), json!({"name": "x"}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (_, still) = api
        .get(&format!(
            "/v1/campaigns/{}",
            from_v1["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(
        still["template_a"]["id"],
        json!(id),
        "a campaign keeps an archived template"
    );

    let (status, restored) = api
        .post(&format!("/v1/templates/{id}/restore"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{restored}");
    assert!(restored.get("archived_at").is_none());
    assert_eq!(api.listed(false).await, ["Open house (spring)"]);
    let (status, _) = api
        .post(&format!("/v1/templates/{id}/restore"), json!({}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "restoring twice");

    // A list whose columns were not recorded flags nothing (activation checks the members).
    let (status, check) = api
        .get(&format!("/v1/templates/{id}/token-check?list_id={list}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{check}");
    assert_eq!(
        (check["columns"].clone(), check["flags"].clone()),
        (Value::Null, json!([]))
    );
    let (status, _) = api.get(&format!("/v1/templates/{id}/token-check")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = api.get("/v1/templates/tp_nope").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn templates_are_versioned_archived_and_kept_by_campaigns() {
    the_library_story(Api::on(World::new(utc("2026-01-05T12:00:00Z"))).await).await;
}

#[tokio::test]
async fn the_same_library_story_on_dynamodb() {
    the_library_story(Api::on(World::on_dynamo(utc("2026-01-05T12:00:00Z")).await).await).await;
}
