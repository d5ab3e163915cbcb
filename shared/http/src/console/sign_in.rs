//! Sign-in: the operator pastes the admin token once and gets a session cookie.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;

use super::{over_https, render, session, Form};
use crate::auth::token_matches;
use crate::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/sign-in", get(page).post(sign_in))
}

#[derive(Template)]
#[template(path = "sign_in.html")]
struct SignInPage {
    next: String,
    error: Option<String>,
}

#[derive(Deserialize)]
struct Next {
    next: Option<String>,
}

/// Only a path on this site: never `//elsewhere` or `https://elsewhere`.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_string(),
        _ => "/".to_string(),
    }
}

async fn page(Query(q): Query<Next>) -> Response {
    render(SignInPage {
        next: safe_next(q.next.as_deref()),
        error: None,
    })
}

async fn sign_in(State(state): State<AppState>, headers: HeaderMap, form: Form) -> Response {
    let next = safe_next(form.get("next"));
    let token = form.get("token").unwrap_or_default().trim();
    if !token_matches(token, &state.admin_token) {
        let mut response = render(SignInPage {
            next,
            error: Some(
                "That is not this trickle's admin token. Copy it again: `trickle dev` prints it \
                 at start-up and keeps it in its data folder; in AWS it is the admin-token \
                 secret in SSM."
                    .into(),
            ),
        });
        *response.status_mut() = StatusCode::UNAUTHORIZED;
        return response;
    }
    let nonce: [u8; 16] = rand::random();
    let now = state.services.clock.now().timestamp();
    let cookie = state.console.issue(now, &nonce);
    (
        [(
            header::SET_COOKIE,
            session::set_cookie(Some(&cookie), over_https(&headers)),
        )],
        Redirect::to(&next),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn sign_in_only_returns_to_this_site() {
        assert_eq!(safe_next(Some("/campaigns?x=1")), "/campaigns?x=1");
        for bad in ["//evil.example", "https://evil.example", "/\\evil", ""] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad}");
        }
        assert_eq!(safe_next(None), "/");
    }
}
