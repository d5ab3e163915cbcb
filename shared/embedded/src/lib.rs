//! Embedded adapters: the whole system on one machine with no cloud account.
//!
//! One SQLite file (WAL, so a `kill -9` loses nothing that was acknowledged) holds the table and
//! the queues; blobs are files; mail goes to an outbox folder of `.eml` files.

mod blobs;
mod mailer;
pub mod private_files;
mod queue;
mod store;
mod table;

pub use blobs::EmbeddedBlobs;
pub use mailer::OutboxMailer;
pub use queue::{EmbeddedQueue, QueueSettings, DEFAULT_QUEUES};
pub use store::{EmbeddedStore, StoreError};
pub use table::EmbeddedTable;
