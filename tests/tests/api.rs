//! The admin API over real HTTP, on the router the Lambda function and `trickle dev` both host.

use reqwest::StatusCode;
use serde_json::{json, Value};
use trickle_http::openapi_document;
use trickle_tests::app::spawn_embedded;
use trickle_tests::schema::{assert_documented, violations};

const TOKEN: &str = "test-admin-token";

struct Api {
    app: trickle_tests::app::RunningApp,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl Api {
    async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let (_, app) = spawn_embedded(dir.path(), TOKEN).await;
        Self {
            app,
            http: reqwest::Client::new(),
            _dir: dir,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.app.url)
    }

    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let r = self
            .http
            .post(self.url(path))
            .bearer_auth(TOKEN)
            .json(&body)
            .send()
            .await
            .unwrap();
        documented("POST", path, r).await
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        let r = self
            .http
            .get(self.url(path))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        documented("GET", path, r).await
    }
}

/// The answer, after holding it against what the OpenAPI document promises for it.
async fn documented(method: &str, path: &str, r: reqwest::Response) -> (StatusCode, Value) {
    let status = r.status();
    let body = r.json().await.unwrap_or(Value::Null);
    if path.starts_with("/v1/") {
        assert_documented(openapi_document(), method, path, status.as_u16(), &body);
    }
    (status, body)
}

#[tokio::test]
async fn healthz_answers_without_a_token() {
    let api = Api::start().await;
    let r = api.http.get(api.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.unwrap(), json!({"status": "ok"}));
}

#[tokio::test]
async fn admin_routes_refuse_a_missing_or_wrong_token_with_a_json_error() {
    let api = Api::start().await;
    let cases = [
        None,
        Some("Bearer wrong-token"),
        Some("Bearer "),
        Some("test-admin-token"),
        Some("Basic dGVzdC1hZG1pbi10b2tlbg=="),
        Some("Bearer test-admin-token-and-more"),
    ];
    for header in cases {
        let mut request = api.http.get(api.url("/v1/contacts?phone=2125550134"));
        if let Some(h) = header {
            request = request.header("authorization", h);
        }
        let r = request.send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{header:?}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"]["code"], json!("unauthorized"), "{header:?}");
        assert!(body["error"]["message"].as_str().unwrap().contains("token"));
    }
    let (status, _) = api.get("/v1/contacts?phone=2125550134").await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn a_contact_is_created_found_by_id_and_by_any_spelling_of_its_phone() {
    let api = Api::start().await;
    let (status, created) = api
        .post(
            "/v1/contacts",
            json!({"phone": "(212) 555-0134", "first_name": " Ana ", "last_name": "Lima",
                   "email": "ana@example.com", "attributes": {"city": "Austin"}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["phone"], json!("+12125550134"));
    assert_eq!(created["first_name"], json!("Ana"));
    assert_eq!(created["attributes"]["city"], json!("Austin"));
    let id = created["id"].as_str().unwrap();
    assert!(id.starts_with("ct_"));

    let (status, fetched) = api.get(&format!("/v1/contacts/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(fetched, created);

    for spelling in ["%2B1%20212%20555%200134", "212.555.0134", "1-212-555-0134"] {
        let (status, found) = api.get(&format!("/v1/contacts?phone={spelling}")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(found["items"], json!([created.clone()]), "{spelling}");
    }
    let (_, none) = api.get("/v1/contacts?phone=2125550199").await;
    assert_eq!(none["items"], json!([]));
}

#[tokio::test]
async fn a_second_contact_with_the_same_phone_is_a_conflict_naming_the_first() {
    let api = Api::start().await;
    let (_, first) = api
        .post("/v1/contacts", json!({"phone": "+1 212 555 0134"}))
        .await;
    let (status, body) = api
        .post(
            "/v1/contacts",
            json!({"phone": "212-555-0134", "first_name": "Other"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["error"]["code"], json!("conflict"));
    assert_eq!(body["error"]["details"]["existing_contact_id"], first["id"]);
}

#[tokio::test]
async fn concurrent_creates_of_one_phone_make_exactly_one_contact() {
    let api = std::sync::Arc::new(Api::start().await);
    let mut tasks = Vec::new();
    for i in 0..10 {
        let api = api.clone();
        tasks.push(tokio::spawn(async move {
            api.post(
                "/v1/contacts",
                json!({"phone": "2125550134", "first_name": format!("n{i}")}),
            )
            .await
            .0
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::CREATED)
            .count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::CONFLICT)
            .count(),
        9
    );
}

#[tokio::test]
async fn bad_input_gets_a_clear_error() {
    let api = Api::start().await;
    let (status, body) = api
        .post("/v1/contacts", json!({"phone": "(212) 123-4567"}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("exchange code 123"),
        "{body}"
    );
    let (status, _) = api
        .post("/v1/contacts", json!({"first_name": "no phone"}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let r = api
        .http
        .post(api.url("/v1/contacts"))
        .bearer_auth(TOKEN)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let (status, _) = api.get("/v1/contacts").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, body) = api.get("/v1/contacts/ct_doesnotexist").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], json!("not_found"));
    let (status, body) = api.get("/no/such/route").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], json!("not_found"));
}

#[tokio::test]
async fn every_documented_route_exists_and_the_document_is_openapi_3_1() {
    let api = Api::start().await;
    let r = api.http.get(api.url("/openapi.json")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let doc: Value = r.json().await.unwrap();
    assert_eq!(doc["openapi"], json!("3.1.0"));
    let paths = doc["paths"].as_object().unwrap();
    for required in [
        "/healthz",
        "/openapi.json",
        "/v1/contacts",
        "/v1/contacts/{id}",
        "/v1/campaigns",
        "/v1/campaigns/{id}",
        "/v1/campaigns/preview",
        "/v1/review",
    ] {
        assert!(paths.contains_key(required), "{required} is not documented");
    }
    for (path, operations) in paths {
        let concrete = path
            .replace("{id}", "x")
            .replace("{key}", "imports/x.csv")
            .replace("{phone}", "+12125550134");
        for method in operations.as_object().unwrap().keys() {
            let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let r = api
                .http
                .request(method.clone(), api.url(&concrete))
                .bearer_auth(TOKEN)
                .send()
                .await
                .unwrap();
            assert_ne!(
                r.status(),
                StatusCode::METHOD_NOT_ALLOWED,
                "{method} {path}"
            );
            let body: Value = r.json().await.unwrap_or(Value::Null);
            assert_ne!(
                body["error"]["message"],
                json!("no such route"),
                "{method} {path}"
            );
        }
    }
}

/// The other direction: every route the router serves is in the OpenAPI document, with the same
/// methods. Routes are read from the `.route(...)` calls of `shared/http/src`; the admin
/// resources sit under `/v1`, the public ones (`lib.rs`, webhooks, local blobs) at the root.
/// The console's pages (`src/console/`) are HTML for people, not part of the API document.
#[tokio::test]
async fn every_served_route_is_documented_with_its_methods() {
    let api = Api::start().await;
    let doc: Value = api
        .http
        .get(api.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let paths = doc["paths"].as_object().unwrap();
    let served = served_routes();
    assert!(served.len() >= 30, "found only {} routes", served.len());
    for (path, methods) in &served {
        assert!(!methods.is_empty(), "no method read for {path}");
    }
    let mut missing = Vec::new();
    for (path, methods) in &served {
        match paths.get(path) {
            None => missing.push(format!("{path} (not documented)")),
            Some(ops) => {
                for m in methods {
                    if ops.get(m.as_str()).is_none() {
                        missing.push(format!("{} {path}", m.to_uppercase()));
                    }
                }
            }
        }
    }
    assert!(missing.is_empty(), "served but not documented: {missing:?}");
}

fn served_routes() -> std::collections::BTreeMap<String, Vec<String>> {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/http/src");
    let public = ["lib.rs", "local_blobs.rs", "webhooks.rs"];
    let mut routes = std::collections::BTreeMap::new();
    for entry in std::fs::read_dir(&src).unwrap() {
        let file = entry.unwrap().path();
        // The console (`src/console/`) serves HTML pages, not API routes.
        if file.is_dir() {
            continue;
        }
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&file).unwrap();
        // Test modules build their own small routers; they are not served.
        let text = text.split("#[cfg(test)]").next().unwrap();
        let prefix = if public.contains(&name.as_str()) {
            ""
        } else {
            "/v1"
        };
        for call in text.split(".route(").skip(1) {
            let call: String = call.split_whitespace().collect::<Vec<_>>().join(" ");
            let Some(path) = call.strip_prefix('"').and_then(|c| c.split('"').next()) else {
                continue;
            };
            // The handler expression ends at the call's closing parenthesis; the methods are the
            // `get(`/`post(`/… calls in it.
            let mut depth = 1;
            let end = call
                .char_indices()
                .find(|&(_, c)| {
                    depth += match c {
                        '(' => 1,
                        ')' => -1,
                        _ => 0,
                    };
                    depth == 0
                })
                .map(|(i, _)| i)
                .unwrap_or(call.len());
            let handlers = &call[..end];
            let methods: Vec<String> = ["get", "post", "put", "patch", "delete"]
                .iter()
                .filter(|m| {
                    handlers.starts_with(&format!(" {m}("))
                        || handlers.contains(&format!(", {m}("))
                        || handlers.contains(&format!(".{m}("))
                })
                .map(|m| m.to_string())
                .collect();
            let path = path.replace("{*", "{");
            routes.insert(format!("{prefix}{path}"), methods);
        }
    }
    routes
}

/// Every example the document gives is an instance of the schema it sits in.
#[test]
fn every_example_in_the_document_matches_its_schema() {
    let doc = openapi_document();
    let mut checked = 0;
    let mut problems = Vec::new();
    walk_examples(doc, doc, "#", &mut checked, &mut problems);
    assert!(checked >= 5, "only {checked} examples found");
    assert!(problems.is_empty(), "{problems:#?}");
}

fn walk_examples(
    doc: &Value,
    node: &Value,
    at: &str,
    checked: &mut usize,
    problems: &mut Vec<String>,
) {
    match node {
        Value::Object(map) => {
            if let Some(Value::Array(examples)) = map.get("examples") {
                // Only a schema's `examples` (a list of instances) is checked here.
                if map.contains_key("type") || map.contains_key("$ref") {
                    let mut schema = node.clone();
                    schema.as_object_mut().unwrap().remove("examples");
                    for example in examples {
                        *checked += 1;
                        for p in violations(doc, &schema, example) {
                            problems.push(format!("{at}: {p}"));
                        }
                    }
                }
            }
            for (key, child) in map {
                walk_examples(doc, child, &format!("{at}/{key}"), checked, problems);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                walk_examples(doc, child, &format!("{at}/{i}"), checked, problems);
            }
        }
        _ => {}
    }
}
