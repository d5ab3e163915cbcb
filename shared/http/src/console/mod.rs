//! The operator's console: server-rendered pages (askama templates, checked at compile time)
//! on the same router as the API, calling the same use-cases, so nothing the console does
//! bypasses a rule the API enforces. A little vanilla JS (`assets/console.js`) adds the live
//! preview, token buttons, uploads with progress and live import status.
//!
//! Every page except sign-in needs a session cookie; every POST carries the session's CSRF token
//! (a form field or, for the script's fetches, the `x-csrf-token` header), checked here once.

mod audience;
mod campaign_confirm;
mod campaign_form;
mod campaign_preview;
mod campaigns;
mod contacts;
mod dashboard;
mod exports;
mod insights;
mod media;
mod operations;
mod review;
mod session;
mod sign_in;
mod templates;
mod view;

use askama::Template;
use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;

use session::Session;
pub(crate) use session::SessionKeys;

use crate::{ApiError, AppState};

/// What the sandbox panel can do in `trickle dev`'s sandbox mode (the OpenPhone simulator's
/// control routes); absent in AWS and with a real OpenPhone key.
#[async_trait::async_trait]
pub trait SandboxPanel: Send + Sync {
    /// The simulator's sending numbers (E.164).
    fn sending_numbers(&self) -> Vec<String>;
    /// How the NumVerify simulator decides line types, in plain words.
    fn line_type_rule(&self) -> String;
    /// Delivers an inbound text from `from` to the sending number, as OpenPhone would.
    async fn inbound_text(&self, from: &str, text: &str) -> Result<(), String>;
}

/// The console's pages.
pub(crate) fn routes(state: &AppState) -> Router<AppState> {
    let pages = Router::new()
        .merge(dashboard::routes())
        .merge(campaigns::routes())
        .merge(audience::routes())
        .merge(contacts::routes())
        .merge(review::routes())
        .merge(media::routes())
        .merge(operations::routes())
        .merge(exports::routes())
        .merge(insights::routes())
        .merge(templates::routes())
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            require_session,
        ));
    Router::new()
        .merge(sign_in::routes())
        .route("/assets/console.css", get(stylesheet))
        .route("/assets/console.js", get(script))
        .merge(pages)
}

/// The signed-in operator's session and its CSRF token, for handlers and templates.
#[derive(Clone)]
pub(crate) struct Signed {
    pub csrf: String,
}

/// Pages need a live session (else: to sign-in, then back); POSTs need its CSRF token too.
async fn require_session(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let now = state.services.clock.now().timestamp();
    let session = request
        .headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(session::cookie_value)
        .and_then(|c| state.console.verify(c, now));
    let Some(session) = session else {
        if request.method() == Method::GET {
            let next = request
                .uri()
                .path_and_query()
                .map(|p| p.as_str())
                .unwrap_or("/");
            let target = format!("/sign-in?next={}", encode(next));
            return Redirect::to(&target).into_response();
        }
        return problem_page(
            StatusCode::UNAUTHORIZED,
            "You are signed out",
            "Your sign-in has expired. Sign in again, then repeat what you were doing.",
        );
    };
    let csrf = state.console.csrf_token(&session);
    let (parts, body) = request.into_parts();
    let mut request = if parts.method == Method::POST {
        let Ok(bytes) = axum::body::to_bytes(body, 1024 * 1024).await else {
            return problem_page(
                StatusCode::PAYLOAD_TOO_LARGE,
                "That form is too large",
                "A console form holds at most 1 MB. Shorten what you typed and try again.",
            );
        };
        if !csrf_ok(&state.console, &session, &parts.headers, &bytes) {
            return problem_page(
                StatusCode::FORBIDDEN,
                "This form has expired",
                "The page was opened before your last sign-in, or from another site. Reload \
                 the page and try again.",
            );
        }
        Request::from_parts(parts, Body::from(bytes))
    } else {
        Request::from_parts(parts, body)
    };
    request.extensions_mut().insert(Signed { csrf });
    next.run(request).await
}

fn csrf_ok(keys: &SessionKeys, session: &Session, headers: &HeaderMap, body: &[u8]) -> bool {
    if let Some(given) = headers.get("x-csrf-token").and_then(|v| v.to_str().ok()) {
        return keys.csrf_matches(session, given);
    }
    let given = form_urlencoded::parse(body)
        .find(|(k, _)| k == "_csrf")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    keys.csrf_matches(session, &given)
}

/// A form body, with its repeated keys (the days of the week) kept.
pub(crate) struct Form(Vec<(String, String)>);

impl Form {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The trimmed value, `None` when absent or blank.
    pub fn text(&self, name: &str) -> Option<String> {
        self.get(name)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    }

    pub fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    }
}

impl<S: Send + Sync> FromRequest<S> for Form {
    type Rejection = Response;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(IntoResponse::into_response)?;
        Ok(Form(
            form_urlencoded::parse(&bytes)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        ))
    }
}

/// A rendered page.
pub(crate) fn render(page: impl Template) -> Response {
    match page.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "console template failed");
            problem_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "This page could not be drawn. Reload it; if it keeps happening, tell whoever \
                 runs trickle.",
            )
        }
    }
}

/// A use-case's error, as a page in plain words (server errors say nothing internal).
pub(crate) struct ConsoleError(ApiError);

impl<E: Into<ApiError>> From<E> for ConsoleError {
    fn from(e: E) -> Self {
        ConsoleError(e.into())
    }
}

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        let (status, message) = self.0.for_people();
        let title = match status {
            StatusCode::NOT_FOUND => "Not found",
            StatusCode::CONFLICT => "That cannot be done now",
            s if s.is_server_error() => "Something went wrong",
            _ => "That did not work",
        };
        problem_page(status, title, &message)
    }
}

pub(crate) type PageResult = Result<Response, ConsoleError>;

#[derive(Template)]
#[template(path = "problem.html")]
struct ProblemPage<'a> {
    title: &'a str,
    message: &'a str,
}

fn problem_page(status: StatusCode, title: &str, message: &str) -> Response {
    let html = ProblemPage { title, message }
        .render()
        .unwrap_or_else(|_| message.to_string());
    (status, Html(html)).into_response()
}

/// After a form: back to a page, with a notice for the operator.
pub(crate) fn see_other(path: &str, notice: &str) -> Response {
    let sep = if path.contains('?') { '&' } else { '?' };
    Redirect::to(&format!("{path}{sep}notice={}", encode(notice))).into_response()
}

pub(crate) fn encode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

async fn stylesheet() -> Response {
    asset(
        "text/css; charset=utf-8",
        include_str!("../../assets/console.css"),
    )
}

async fn script() -> Response {
    asset(
        "text/javascript; charset=utf-8",
        include_str!("../../assets/console.js"),
    )
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        body,
    )
        .into_response()
}

/// Whether the browser reached us over https (directly or through API Gateway), so the
/// cookie can be `Secure`.
pub(crate) fn over_https(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|p| p.eq_ignore_ascii_case("https"))
}

pub(crate) use view::Chrome;
