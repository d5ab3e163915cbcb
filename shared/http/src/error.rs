//! The one place where errors become HTTP statuses.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use trickle_app::audience::AudienceError;
use trickle_app::campaigns::{review, CampaignsError};
use trickle_app::contacts::ContactsError;
use trickle_app::health::HealthError;
use trickle_app::library::TemplatesError;
use trickle_app::ports::{BlobError, QueueError, TableError};
use trickle_app::reconcile::ReconcileError;
use trickle_app::webhooks::events::EventsError;
use trickle_app::webhooks::ingest::IngestError;
use trickle_app::webhooks::opt_out::OptOutError;
use trickle_domain::log_privacy::redact_phones;
use trickle_domain::webhook_signature::SignatureError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("{message}")]
    Conflict {
        message: String,
        details: serde_json::Value,
    },
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    Unavailable(String),
    #[error("{0}")]
    Internal(String),
}

impl ApiError {
    fn parts(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            ApiError::Conflict { .. } => (StatusCode::CONFLICT, "conflict"),
            ApiError::Invalid(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
            ApiError::PayloadTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            ApiError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

/// What a client is told of a server error: a fixed sentence per kind, never the detail (which
/// can hold table keys or provider text). The detail goes to the log; `log_request` adds the
/// request id to the body so the operator can find that log line.
#[derive(Debug, Clone, Copy)]
pub(crate) struct OpaqueServerError {
    pub code: &'static str,
    pub message: &'static str,
}

const INTERNAL_MESSAGE: &str = "Something went wrong inside trickle. Nothing you sent was wrong; \
     try again, and if it keeps happening, give this request id to whoever runs trickle.";
const UNAVAILABLE_MESSAGE: &str = "A service trickle depends on is not answering right now. \
     Try again in a minute; if it keeps happening, give this request id to whoever runs trickle.";

impl ApiError {
    /// A JSON body that could not be read, in plain words instead of the parser's: which field
    /// is missing or unknown, or what kind of value a field needs.
    pub(crate) fn bad_body(rejection: axum::extract::rejection::JsonRejection) -> Self {
        ApiError::BadRequest(plain_body_error(&rejection.body_text()))
    }

    /// The status and the words a person sees for this error (the console's pages): the
    /// message of a client error, the fixed sentence of a server error (whose detail is logged).
    pub(crate) fn for_people(&self) -> (StatusCode, String) {
        let (status, _) = self.parts();
        if status.is_server_error() {
            tracing::error!(error = %redact_phones(&self.to_string()), "console request failed");
            let sentence = if status == StatusCode::SERVICE_UNAVAILABLE {
                UNAVAILABLE_MESSAGE
            } else {
                INTERNAL_MESSAGE
            };
            return (status, sentence.to_string());
        }
        (status, self.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.parts();
        if status.is_server_error() {
            tracing::error!(error = %redact_phones(&self.to_string()), "request failed");
            let opaque = OpaqueServerError {
                code,
                message: if status == StatusCode::SERVICE_UNAVAILABLE {
                    UNAVAILABLE_MESSAGE
                } else {
                    INTERNAL_MESSAGE
                },
            };
            let body = serde_json::json!({ "error": { "code": code, "message": opaque.message } });
            let mut response = (status, Json(body)).into_response();
            response.extensions_mut().insert(opaque);
            return response;
        }
        let mut error = serde_json::json!({ "code": code, "message": self.to_string() });
        if let ApiError::Conflict { details, .. } = &self {
            error["details"] = details.clone();
        }
        (status, Json(serde_json::json!({ "error": error }))).into_response()
    }
}

impl From<TableError> for ApiError {
    fn from(e: TableError) -> Self {
        match e {
            TableError::Invalid(m) => ApiError::Internal(m),
            TableError::Unavailable(m) => ApiError::Unavailable(m),
            TableError::TransactionConflict => ApiError::Unavailable(e.to_string()),
            // A use-case turns the conditions it expects into its own errors; one that escapes
            // is a bug, and its keys are no business of the client's.
            other @ (TableError::ConditionFailed { .. }
            | TableError::TransactionCancelled { .. }) => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<ReconcileError> for ApiError {
    fn from(e: ReconcileError) -> Self {
        match e {
            ReconcileError::NotFound => ApiError::NotFound(e.to_string()),
            ReconcileError::Invalid(m) => ApiError::BadRequest(m),
            ReconcileError::Table(e) => e.into(),
            ReconcileError::Queue(e) => ApiError::Unavailable(e.to_string()),
            ReconcileError::Provider(m) => ApiError::Unavailable(m),
            ReconcileError::Corrupt(m) => ApiError::Internal(m),
        }
    }
}

impl From<HealthError> for ApiError {
    fn from(e: HealthError) -> Self {
        match e {
            HealthError::NotFound(_) => ApiError::NotFound(e.to_string()),
            HealthError::Corrupt(m) => ApiError::Internal(m),
            HealthError::Store(e) => e.into(),
            HealthError::Queue(e) => ApiError::Unavailable(e.to_string()),
            HealthError::Mail(e) => ApiError::Unavailable(e.to_string()),
        }
    }
}

impl From<ContactsError> for ApiError {
    fn from(e: ContactsError) -> Self {
        match e {
            ContactsError::Invalid(e) => ApiError::Invalid(e.to_string()),
            ContactsError::DuplicatePhone { ref existing, .. } => ApiError::Conflict {
                details: serde_json::json!({ "existing_contact_id": existing }),
                message: e.to_string(),
            },
            ContactsError::NotFound => ApiError::NotFound(e.to_string()),
            ContactsError::Corrupt(m) => ApiError::Internal(m),
            ContactsError::Store(e) => e.into(),
        }
    }
}

impl From<BlobError> for ApiError {
    fn from(e: BlobError) -> Self {
        match e {
            BlobError::InvalidKey(_) | BlobError::Invalid(_) => ApiError::BadRequest(e.to_string()),
            BlobError::Forbidden(_) => ApiError::Forbidden(e.to_string()),
            BlobError::Unsupported => ApiError::NotFound(e.to_string()),
            BlobError::Unavailable(m) => ApiError::Unavailable(m),
        }
    }
}

impl From<CampaignsError> for ApiError {
    fn from(e: CampaignsError) -> Self {
        let conflict = |e: &CampaignsError, details| ApiError::Conflict {
            message: e.to_string(),
            details,
        };
        match e {
            CampaignsError::Invalid(ref inner) => ApiError::Invalid(inner.to_string()),
            CampaignsError::NotFound | CampaignsError::ContactNotFound => {
                ApiError::NotFound(e.to_string())
            }
            CampaignsError::IllegalTransition(ref t) => conflict(
                &e,
                serde_json::json!({ "state": t.from, "transition": t.transition }),
            ),
            CampaignsError::NotEditable(state) | CampaignsError::NotActive(state) => {
                conflict(&e, serde_json::json!({ "state": state }))
            }
            CampaignsError::AudienceLocked => conflict(&e, serde_json::Value::Null),
            CampaignsError::ActivationRefused(ref problems) => {
                conflict(&e, serde_json::json!({ "problems": problems }))
            }
            CampaignsError::Review(review::ReviewRefusal::Gone) => {
                ApiError::NotFound(e.to_string())
            }
            CampaignsError::Review(_) => conflict(&e, serde_json::Value::Null),
            CampaignsError::Corrupt(m) => ApiError::Internal(m),
            CampaignsError::Provider(m) => ApiError::Unavailable(m),
            CampaignsError::Store(e) => e.into(),
            // Mapped here rather than by a `From<QueueError>` so other resources stay free to add one.
            CampaignsError::Queue(QueueError::Unavailable(m)) => ApiError::Unavailable(m),
            CampaignsError::Queue(e) => ApiError::Internal(e.to_string()),
        }
    }
}

impl From<TemplatesError> for ApiError {
    fn from(e: TemplatesError) -> Self {
        match e {
            TemplatesError::Invalid(_) => ApiError::Invalid(e.to_string()),
            TemplatesError::NotFound(_)
            | TemplatesError::NoSuchVersion { .. }
            | TemplatesError::ListNotFound(_) => ApiError::NotFound(e.to_string()),
            TemplatesError::Archived(_) | TemplatesError::NotArchived(_) => ApiError::Conflict {
                message: e.to_string(),
                details: serde_json::Value::Null,
            },
            TemplatesError::Busy => ApiError::Unavailable(e.to_string()),
            TemplatesError::Corrupt(m) => ApiError::Internal(m),
            TemplatesError::Store(e) => e.into(),
        }
    }
}

impl From<IngestError> for ApiError {
    fn from(e: IngestError) -> Self {
        match e {
            IngestError::TooLarge => ApiError::PayloadTooLarge(e.to_string()),
            IngestError::Signature(SignatureError::NoKey) => {
                ApiError::Unavailable("webhook signing key is not configured".into())
            }
            IngestError::Signature(s) => ApiError::Unauthorized(s.to_string()),
            // Not captured: a 5xx makes the provider deliver again.
            IngestError::Store(_) | IngestError::Blob(_) | IngestError::Queue(_) => {
                ApiError::Unavailable(e.to_string())
            }
        }
    }
}

impl From<AudienceError> for ApiError {
    fn from(e: AudienceError) -> Self {
        match e {
            AudienceError::NotFound(_) => ApiError::NotFound(e.to_string()),
            AudienceError::Invalid(m) => ApiError::Invalid(m),
            AudienceError::Conflict(m) => ApiError::Conflict {
                message: m,
                details: serde_json::Value::Null,
            },
            AudienceError::Store(e) => e.into(),
            AudienceError::Blob(e) => e.into(),
            AudienceError::Queue(e) => ApiError::Unavailable(e.to_string()),
            AudienceError::Mail(e) => ApiError::Unavailable(e.to_string()),
            AudienceError::Provider(m) => ApiError::Unavailable(m),
            AudienceError::Corrupt(m) | AudienceError::Read(m) => ApiError::Internal(m),
        }
    }
}

impl From<EventsError> for ApiError {
    fn from(e: EventsError) -> Self {
        match e {
            EventsError::NotFound => ApiError::NotFound(e.to_string()),
            EventsError::Store(e) => e.into(),
            EventsError::Queue(e) => ApiError::Unavailable(e.to_string()),
        }
    }
}

impl From<OptOutError> for ApiError {
    fn from(e: OptOutError) -> Self {
        match e {
            OptOutError::Invalid(m) => ApiError::BadRequest(m),
            OptOutError::AlreadyOptedOut(_) | OptOutError::NotOptedOut(_) => ApiError::Conflict {
                message: e.to_string(),
                details: serde_json::Value::Null,
            },
            OptOutError::Store(e) => e.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body_of(response: Response) -> serde_json::Value {
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    /// A condition failure used to answer 409 with `the condition on CONTACT#…/PROFILE failed`.
    #[tokio::test]
    async fn an_escaped_condition_failure_is_an_opaque_500() {
        let error: ApiError = TableError::ConditionFailed {
            pk: "CONTACT#c-1".into(),
            sk: "PROFILE".into(),
        }
        .into();
        let response = error.into_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(response.extensions().get::<OpaqueServerError>().is_some());
        let body = body_of(response).await;
        assert_eq!(body["error"]["code"], "internal");
        let text = body.to_string();
        assert!(
            !text.contains("CONTACT#") && !text.contains("PROFILE"),
            "{text}"
        );
    }

    #[tokio::test]
    async fn unavailable_answers_say_what_to_do_and_hide_the_detail() {
        let error = ApiError::Unavailable("dynamodb: connection reset by 10.0.3.7".into());
        let response = error.into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        let text = body_of(response).await.to_string();
        assert!(
            !text.contains("10.0.3.7") && text.contains("Try again"),
            "{text}"
        );
    }

    #[tokio::test]
    async fn client_errors_keep_their_plain_message() {
        let response = ApiError::NotFound("no such campaign".into()).into_response();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        let body = body_of(response).await;
        assert_eq!(body["error"]["message"], "no such campaign");
    }
}

/// serde's wording of a body error, turned into a sentence for a person.
fn plain_body_error(text: &str) -> String {
    let detail = text
        .split_once(": ")
        .map(|(_, d)| d)
        .unwrap_or(text)
        .split(" at line ")
        .next()
        .unwrap_or(text)
        .trim();
    // serde names the path to the bad value first ("schedule.days: invalid type: …").
    let (path, detail) = [
        "missing field",
        "unknown field",
        "invalid type: ",
        "invalid value: ",
    ]
    .iter()
    .find_map(|phrase| detail.find(phrase))
    .map(|at| (detail[..at].trim_end_matches([':', ' ']), &detail[at..]))
    .unwrap_or(("", detail));
    let quoted = |d: &str| d.split('`').nth(1).map(str::to_string);
    if let Some(field) = detail
        .strip_prefix("missing field")
        .and_then(|_| quoted(detail))
    {
        return format!("`{field}` is required; add it to the body");
    }
    if detail.starts_with("unknown field") {
        let field = quoted(detail).unwrap_or_default();
        let expected: Vec<&str> = detail
            .split("expected ")
            .nth(1)
            .map(|e| e.split('`').skip(1).step_by(2).collect())
            .unwrap_or_default();
        return if expected.is_empty() {
            format!("`{field}` is not a field here; remove it")
        } else {
            format!(
                "`{field}` is not a field here; the fields are: {}",
                expected.join(", ")
            )
        };
    }
    if let Some(rest) = detail
        .strip_prefix("invalid type: ")
        .or_else(|| detail.strip_prefix("invalid value: "))
    {
        let what = if path.is_empty() {
            "a value".to_string()
        } else {
            format!("`{path}`")
        };
        return format!("{what} has the wrong type or value ({rest}); see GET /openapi.json");
    }
    if text.contains("Content-Type") {
        return "send the body as JSON with the header `content-type: application/json`".into();
    }
    format!("the body is not valid JSON for this route ({detail}); see GET /openapi.json")
}

#[cfg(test)]
mod body_error_tests {
    use super::plain_body_error;

    #[test]
    fn parser_text_becomes_a_sentence() {
        assert_eq!(
            plain_body_error("Failed to deserialize the JSON body into the target type: missing field `message_a` at line 1 column 12"),
            "`message_a` is required; add it to the body"
        );
        let unknown = plain_body_error("Failed to deserialize the JSON body into the target type: unknown field `nmae`, expected `name` or `per_run` at line 1 column 7");
        assert_eq!(
            unknown,
            "`nmae` is not a field here; the fields are: name, per_run"
        );
        let wrong = plain_body_error("Failed to deserialize the JSON body into the target type: per_run: invalid type: string \"x\", expected u32 at line 1 column 14");
        assert!(!wrong.contains("line 1"), "{wrong}");
        assert!(wrong.starts_with("`per_run` has the wrong type"), "{wrong}");
    }
}
