//! The operator console over real HTTP, on the router every host serves: sign-in, the session
//! cookie, CSRF, and the console enforcing exactly the API's rules. (The whole journey in a
//! real browser is `tests/browser/journey.mjs`, run by `make test`.)

use reqwest::redirect::Policy;
use reqwest::StatusCode;
use serde_json::{json, Value};
use trickle_tests::app::spawn_embedded;

const TOKEN: &str = "console-test-token";

struct Console {
    services: trickle_app::Services,
    app: trickle_tests::app::RunningApp,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl Console {
    async fn start() -> Self {
        Self::start_with(TOKEN).await
    }

    async fn start_with(token: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let (services, app) = spawn_embedded(dir.path(), token).await;
        let http = reqwest::Client::builder()
            .redirect(Policy::none())
            .build()
            .unwrap();
        Self {
            services,
            app,
            http,
            _dir: dir,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.app.url)
    }

    async fn sign_in(&self, token: &str, https: bool) -> reqwest::Response {
        let mut request = self
            .http
            .post(self.url("/sign-in"))
            .form(&[("token", token), ("next", "/campaigns")]);
        if https {
            request = request.header("x-forwarded-proto", "https");
        }
        request.send().await.unwrap()
    }

    /// The session cookie (`name=value`) of a good sign-in.
    async fn session(&self) -> String {
        self.session_with(TOKEN).await
    }

    async fn session_with(&self, token: &str) -> String {
        let r = self.sign_in(token, false).await;
        let set = r.headers()["set-cookie"].to_str().unwrap().to_string();
        set.split(';').next().unwrap().to_string()
    }

    async fn page(&self, cookie: &str, path: &str) -> (StatusCode, String) {
        let r = self
            .http
            .get(self.url(path))
            .header("cookie", cookie)
            .send()
            .await
            .unwrap();
        (r.status(), r.text().await.unwrap())
    }

    /// The CSRF token a signed-in page carries.
    async fn csrf(&self, cookie: &str) -> String {
        let (_, html) = self.page(cookie, "/").await;
        html.split("data-csrf=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .expect("the page carries a CSRF token")
            .to_string()
    }

    async fn post_form(
        &self,
        cookie: &str,
        path: &str,
        form: &[(&str, &str)],
    ) -> reqwest::Response {
        self.http
            .post(self.url(path))
            .header("cookie", cookie)
            .form(form)
            .send()
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn a_signed_out_visit_goes_to_sign_in_and_comes_back() {
    let c = Console::start().await;
    let r = c
        .http
        .get(c.url("/campaigns?state=active"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        r.headers()["location"],
        "/sign-in?next=%2Fcampaigns%3Fstate%3Dactive"
    );
    let r = c.http.get(c.url("/sign-in")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains("Admin token"));
}

#[tokio::test]
async fn a_wrong_token_gets_no_session_and_a_right_one_a_strict_cookie() {
    let c = Console::start().await;
    for wrong in [
        "",
        "console-test-toke",
        "console-test-token-and-more",
        "Bearer x",
    ] {
        let r = c.sign_in(wrong, false).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{wrong:?}");
        assert!(r.headers().get("set-cookie").is_none(), "{wrong:?}");
        assert!(r.text().await.unwrap().contains("not this trickle"));
    }
    let r = c.sign_in(TOKEN, false).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/campaigns");
    let cookie = r.headers()["set-cookie"].to_str().unwrap();
    for part in [
        "trickle_session=",
        "HttpOnly",
        "SameSite=Strict",
        "Max-Age=",
    ] {
        assert!(cookie.contains(part), "{cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain http: {cookie}");
    let r = c.sign_in(TOKEN, true).await;
    assert!(r.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .contains("Secure"));
}

#[tokio::test]
async fn a_forged_cookie_or_one_signed_with_another_token_is_no_session() {
    let c = Console::start().await;
    let good = c.session().await;
    let (status, _) = c.page(&good, "/campaigns").await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = c.page(&format!("{good}x"), "/campaigns").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    // Rotating the admin token revokes every session: one signed under another token fails.
    let rotated = Console::start_with("the-new-admin-token").await;
    let (status, _) = rotated.page(&good, "/campaigns").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let fresh = rotated.session_with("the-new-admin-token").await;
    let (status, _) = rotated.page(&fresh, "/campaigns").await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn a_state_changing_form_needs_the_sessions_csrf_token() {
    let c = Console::start().await;
    let cookie = c.session().await;
    for form in [
        vec![("phone", "+12125550199")],
        vec![("phone", "+12125550199"), ("_csrf", "forged")],
    ] {
        let r = c.post_form(&cookie, "/opt-outs", &form).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{form:?}");
        assert!(r.text().await.unwrap().contains("Reload the page"));
    }
    let opt_outs: Value = c
        .http
        .get(c.url("/v1/opt-outs"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        opt_outs["items"],
        json!([]),
        "a refused form changes nothing"
    );

    let csrf = c.csrf(&cookie).await;
    let r = c
        .post_form(
            &cookie,
            "/opt-outs",
            &[("phone", "(212) 555-0199"), ("_csrf", &csrf)],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let opt_outs: Value = c
        .http
        .get(c.url("/v1/opt-outs"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(opt_outs["items"][0]["phone"], json!("+12125550199"));
    // Signed out, the same form is refused.
    let r = c
        .http
        .post(c.url("/opt-outs"))
        .form(&[("phone", "+12125550198"), ("_csrf", &csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_console_refuses_a_campaign_with_the_apis_own_words() {
    let c = Console::start().await;
    let body = json!({
        "name": "",
        "message_a": "Hi {{first_name}}",
        "list_id": "ls_0123456789abcdef0123456789abcdef",
        "schedule": {"days": ["mon"], "send_time": "10:00", "time_zone": "America/New_York"},
        "per_run": 10,
        "sender": "12"
    });
    let api: Value = c
        .http
        .post(c.url("/v1/campaigns"))
        .bearer_auth(TOKEN)
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let rule = api["error"]["message"].as_str().unwrap().to_string();
    assert!(rule.contains("name"), "{rule}");

    let cookie = c.session().await;
    let csrf = c.csrf(&cookie).await;
    let r = c
        .post_form(
            &cookie,
            "/campaigns",
            &[
                ("_csrf", csrf.as_str()),
                ("name", ""),
                ("message_a", "Hi {{first_name}}"),
                ("list_id", "ls_0123456789abcdef0123456789abcdef"),
                ("days", "mon"),
                ("send_time", "10:00"),
                ("time_zone", "America/New_York"),
                ("per_run", "10"),
                ("sender", "12"),
                ("intent", "draft"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    let shown = html
        .replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&#39;", "'")
        .to_lowercase();
    for problem in rule.split("; ") {
        assert!(
            shown.contains(&problem.to_lowercase()),
            "the console says what the API says: {problem}"
        );
    }
    assert!(html.contains("id=\"name-error\""), "next to its field");
    assert!(
        html.contains("id=\"sender-error\""),
        "every problem at once"
    );
    // The list id names no list: refused at create too, next to the list dropdown.
    assert!(
        html.contains("id=\"list_id-error\""),
        "the unknown list is named"
    );
    assert!(html.contains("Fix 3 problems"), "the summary counts them");
    assert!(html.contains("Hi {{first_name}}"), "nothing typed is lost");
    let (_, page) = c.page(&cookie, "/campaigns").await;
    assert!(page.contains("No campaign matches"), "nothing was created");
}

#[tokio::test]
async fn every_console_page_renders_for_a_signed_in_operator() {
    let c = Console::start().await;
    let cookie = c.session().await;
    for path in [
        "/",
        "/campaigns",
        "/campaigns/new",
        "/lists",
        "/imports/new",
        "/contacts",
        "/review",
        "/opt-outs",
        "/operations",
    ] {
        let (status, html) = c.page(&cookie, path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(html.starts_with("<!doctype html>"), "{path}");
        assert!(html.contains("<main id=\"main\">"), "{path}");
    }
    // Not in sandbox mode here: the panel says where it lives instead of half-working.
    let (status, html) = c.page(&cookie, "/sandbox").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(html.contains("sandbox mode"));
    let (status, _) = c
        .page(&cookie, "/campaigns/cp_0123456789abcdef0123456789abcdef")
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_dashboard_shows_an_import_in_progress_and_not_a_finished_one() {
    let c = Console::start().await;
    let mut ids = Vec::new();
    for name in ["Open house visitors", "Old leads"] {
        let created: Value = c
            .http
            .post(c.url("/v1/imports"))
            .bearer_auth(TOKEN)
            .json(&json!({ "list_name": name }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        ids.push(created["id"].as_str().unwrap().to_string());
    }
    let cookie = c.session().await;
    let (_, html) = c.page(&cookie, "/").await;
    assert!(
        !html.contains("Imports in progress"),
        "an import still waiting for its file is not in progress"
    );
    // One validating, one completed (as the pipeline would leave them).
    let table = &c.services.table;
    for (id, status) in [(&ids[0], "validating"), (&ids[1], "completed")] {
        table
            .update(
                &trickle_app::audience::keys::import(id),
                trickle_app::ports::table::Update::new()
                    .set("status", status)
                    .set("distinct", 10)
                    .set("validated", if status == "completed" { 10 } else { 4 }),
                None,
            )
            .await
            .unwrap();
    }
    let (_, html) = c.page(&cookie, "/").await;
    let section = html
        .split("Imports in progress")
        .nth(1)
        .expect("the dashboard lists imports in progress");
    assert!(section.contains("Open house visitors"), "{section}");
    assert!(section.contains("4 of 10 numbers checked"), "{section}");
    assert!(
        !section
            .split("</section>")
            .next()
            .unwrap()
            .contains("Old leads"),
        "a completed import is not in progress"
    );
}

#[tokio::test]
async fn a_contacts_pictures_and_recordings_play_in_the_timeline_and_nothing_else_renders() {
    let c = Console::start().await;
    let contact: Value = c
        .http
        .post(c.url("/v1/contacts"))
        .bearer_auth(TOKEN)
        .json(&json!({ "phone": "+12125550131", "first_name": "Maria" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = contact["id"].as_str().unwrap();
    let blobs = &c.services.blobs;
    let png = b"\x89PNG\r\n\x1a\nnot really a picture".to_vec();
    blobs
        .put("media/ACpicture/media_0", png.clone().into(), "image/png")
        .await
        .unwrap();
    blobs
        .put(
            "media/ACpicture/media_1",
            b"<script>alert(1)</script>".to_vec().into(),
            "text/html",
        )
        .await
        .unwrap();
    blobs
        .put(
            "media/CAcall/recording_0",
            b"ID3 sound".to_vec().into(),
            "audio/mpeg",
        )
        .await
        .unwrap();
    let put = |sk: &str, body: Value| {
        let mut item = body.as_object().unwrap().clone();
        item.insert("pk".into(), format!("CONTACT#{id}").into());
        item.insert("sk".into(), sk.into());
        item
    };
    let table = &c.services.table;
    table
        .put(
            put(
                "ACT#2026-03-01T12:00:00.000Z#ACpicture",
                json!({"kind": "message", "direction": "incoming", "text": "Here is the house",
                "occurred_at": "2026-03-01T12:00:00Z",
                "media": [
                    {"url": "https://files.example/1", "type": "image/png", "slot": "media_0", "blob_key": "media/ACpicture/media_0"},
                    {"url": "https://files.example/2", "type": "text/html", "slot": "media_1", "blob_key": "media/ACpicture/media_1"}
                ]}),
            ),
            None,
        )
        .await
        .unwrap();
    table
        .put(
            put(
                "ACT#2026-03-01T13:00:00.000Z#CAcall",
                json!({"kind": "call", "direction": "incoming", "occurred_at": "2026-03-01T13:00:00Z",
                "recordings": [{"url": "https://files.example/3", "slot": "recording_0", "blob_key": "media/CAcall/recording_0"}]}),
            ),
            None,
        )
        .await
        .unwrap();

    let cookie = c.session().await;
    let (status, html) = c.page(&cookie, &format!("/contacts/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    let picture = "/media/ACpicture/media_0?type=image%2Fpng";
    assert!(html.contains(&format!("<img src=\"{picture}\"")), "{html}");
    assert!(
        html.contains(
            "<audio controls preload=\"none\" src=\"/media/CAcall/recording_0?type=audio%2Fmpeg\""
        ),
        "{html}"
    );
    assert!(
        html.contains("Download the attachment"),
        "the HTML file is only a download"
    );

    let get = |path: &str, cookie: Option<&str>| {
        let mut r = c.http.get(c.url(path));
        if let Some(cookie) = cookie {
            r = r.header("cookie", cookie);
        }
        r.send()
    };
    let r = get(picture, Some(&cookie)).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "image/png");
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    assert_eq!(r.bytes().await.unwrap().to_vec(), png);
    // A file that would run on the console's origin is served as an opaque download, even when
    // the link asks for HTML.
    let r = get("/media/ACpicture/media_1?type=text/html", Some(&cookie))
        .await
        .unwrap();
    assert_eq!(r.headers()["content-type"], "application/octet-stream");
    assert!(r.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment"));
    assert!(r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("sandbox"));
    // Not copied yet: a plain answer; signed out: the sign-in page.
    let r = get("/media/ACnothing/media_0?type=image/png", Some(&cookie))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = get(picture, None).await.unwrap();
    assert!(r.status().is_redirection(), "{}", r.status());
}

/// A number the carrier's reports suppressed says so on its contact page, with a button that
/// lifts it through the same use-case as `DELETE /v1/suppressions/{phone}`; an imported list's
/// entry shows no button, and the API refuses it the same way.
#[tokio::test]
async fn a_carrier_suppression_is_shown_and_lifted_from_the_contact_page() {
    let c = Console::start().await;
    let cookie = c.session().await;
    let mut ids = Vec::new();
    for (phone, source) in [("+12125550141", "carrier"), ("+12125550142", "list")] {
        let contact: Value = c
            .http
            .post(c.url("/v1/contacts"))
            .bearer_auth(TOKEN)
            .json(&json!({ "phone": phone }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        ids.push(contact["id"].as_str().unwrap().to_string());
        let mut entry = serde_json::Map::new();
        for (k, v) in [
            ("pk", json!(format!("SUPPRESS#{phone}"))),
            ("sk", json!("SUPPRESS")),
            ("phone", json!(phone)),
            ("source", json!(source)),
            (
                "reason",
                json!("the carrier reported the number unreachable or not a mobile 2 times within 180 days"),
            ),
        ] {
            entry.insert(k.into(), v);
        }
        c.services.table.put(entry, None).await.unwrap();
    }
    let (_, carrier) = c.page(&cookie, &format!("/contacts/{}", ids[0])).await;
    assert!(carrier.contains("id=\"suppression\""), "{carrier}");
    assert!(carrier.contains("unreachable or not a mobile 2 times"));
    assert!(carrier.contains("Lift the suppression"));
    let (_, listed) = c.page(&cookie, &format!("/contacts/{}", ids[1])).await;
    assert!(
        listed.contains("on an imported suppression list"),
        "{listed}"
    );
    assert!(!listed.contains("Lift the suppression"));

    let csrf = c.csrf(&cookie).await;
    let r = c
        .post_form(
            &cookie,
            &format!("/contacts/{}/lift-suppression", ids[0]),
            &[("_csrf", &csrf)],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, after) = c.page(&cookie, &format!("/contacts/{}", ids[0])).await;
    assert!(!after.contains("id=\"suppression\""), "{after}");
    let phone = trickle_domain::PhoneNumber::parse("+12125550141").unwrap();
    assert!(
        !trickle_app::campaigns::audience::is_suppressed(&c.services, &phone)
            .await
            .unwrap()
    );
    // The list's entry: the console form is refused with the API's words.
    let r = c
        .post_form(
            &cookie,
            &format!("/contacts/{}/lift-suppression", ids[1]),
            &[("_csrf", &csrf)],
        )
        .await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("imported suppression list"));
}
