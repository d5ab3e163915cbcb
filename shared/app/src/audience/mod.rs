//! Audience creation: CSV imports (upload, parse, validate, finish), lists and suppressions.
//!
//! The import runs as steps on queues, each idempotent and resumable:
//! `uploads` carries the object-created event and then the import's own steps (`parse` chunk,
//! `finish` chunk, `requeue` after a resume); `validate` carries batches of distinct numbers
//! for the validation worker.

pub mod dispatch;
pub mod finish;
pub mod imports;
pub mod keys;
pub mod lists;
pub mod model;
pub mod parse;
pub mod settings;
pub mod steps;
pub mod store;
pub mod validation;

pub use model::{ImportKind, ImportRecord, ImportStatus, ListRecord, ListStatus, MemberRecord};
pub use settings::AudienceSettings;

use crate::contacts::ContactsError;
use crate::ports::{BlobError, MailError, QueueError, TableError};
use crate::worker::{HandlerError, RetryClass, Retryable};

#[derive(Debug, thiserror::Error)]
pub enum AudienceError {
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Conflict(String),
    #[error("stored record is unreadable: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Store(#[from] TableError),
    #[error(transparent)]
    Blob(#[from] BlobError),
    #[error(transparent)]
    Queue(#[from] QueueError),
    #[error(transparent)]
    Mail(#[from] MailError),
    #[error("reading the file failed: {0}")]
    Read(String),
    /// The validation service failed in a way worth retrying.
    #[error("{0}")]
    Provider(String),
}

impl From<ContactsError> for AudienceError {
    fn from(e: ContactsError) -> Self {
        match e {
            ContactsError::Store(e) => AudienceError::Store(e),
            other => AudienceError::Corrupt(other.to_string()),
        }
    }
}

impl From<serde_json::Error> for AudienceError {
    fn from(e: serde_json::Error) -> Self {
        AudienceError::Corrupt(e.to_string())
    }
}

impl Retryable for AudienceError {
    /// Outages are retried; what is wrong with the import or its records is parked.
    fn retry_class(&self) -> RetryClass {
        let outage = |yes: bool| {
            if yes {
                RetryClass::Transient
            } else {
                RetryClass::Permanent
            }
        };
        match self {
            AudienceError::NotFound(_)
            | AudienceError::Invalid(_)
            | AudienceError::Conflict(_)
            | AudienceError::Corrupt(_) => RetryClass::Permanent,
            AudienceError::Store(e) => outage(!matches!(e, TableError::Invalid(_))),
            AudienceError::Blob(e) => outage(matches!(e, BlobError::Unavailable(_))),
            AudienceError::Queue(e) => outage(matches!(e, QueueError::Unavailable(_))),
            AudienceError::Mail(e) => outage(matches!(e, MailError::Unavailable(_))),
            AudienceError::Read(_) | AudienceError::Provider(_) => RetryClass::Transient,
        }
    }
}

impl From<AudienceError> for HandlerError {
    fn from(e: AudienceError) -> Self {
        HandlerError::classified(&e)
    }
}
