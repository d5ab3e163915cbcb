//! The one place where errors become HTTP statuses.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use trickle_app::audience::AudienceError;
use trickle_app::campaigns::CampaignsError;
use trickle_app::contacts::ContactsError;
use trickle_app::health::HealthError;
use trickle_app::ports::{BlobError, QueueError, TableError};
use trickle_app::reconcile::ReconcileError;
use trickle_app::webhooks::events::EventsError;
use trickle_app::webhooks::ingest::IngestError;
use trickle_app::webhooks::opt_out::OptOutError;
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

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.parts();
        if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
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
            other => ApiError::Conflict {
                message: other.to_string(),
                details: serde_json::Value::Null,
            },
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
            CampaignsError::Corrupt(m) => ApiError::Internal(m),
            CampaignsError::Provider(m) => ApiError::Unavailable(m),
            CampaignsError::Store(e) => e.into(),
            // Mapped here rather than by a `From<QueueError>` so other resources stay free to add one.
            CampaignsError::Queue(QueueError::Unavailable(m)) => ApiError::Unavailable(m),
            CampaignsError::Queue(e) => ApiError::Internal(e.to_string()),
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
