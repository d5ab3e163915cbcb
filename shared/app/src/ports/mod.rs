//! The ports: what the use-cases need from the outside world, and nothing more.

pub mod blobs;
pub mod mailer;
pub mod queue;
pub mod sms;
pub mod table;
pub mod validator;

pub use blobs::{BlobError, BlobMeta, BlobReader, Blobs, PresignedUpload};
pub use mailer::{Email, MailError, Mailer};
pub use queue::{OutgoingMessage, Queue, QueueError, ReceivedMessage, SendOutcome};
pub use sms::{
    CallArtefact, Direction, HistoryPage, HistoryQuery, MessageQuery, OutboundSms, OwnedNumber,
    ProviderMessage, RequestGate, SmsError, SmsProvider,
};
pub use table::{
    Condition, Index, Item, Key, Page, Query, SortKeyCondition, Table, TableError, TxOp, Update,
};
pub use validator::{NumberCheck, PhoneValidator, ValidatorError};
