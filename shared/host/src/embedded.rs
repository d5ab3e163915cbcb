//! The local host's adapters: the embedded store, queue, blobs and `.eml` outbox under one data
//! directory, as `trickle dev` and the test harness use them.

use std::path::Path;
use std::sync::Arc;

use trickle_app::ports::{PhoneValidator, SmsProvider};
use trickle_app::Services;
use trickle_domain::Clock;
use trickle_embedded::{
    EmbeddedBlobs, EmbeddedQueue, EmbeddedStore, EmbeddedTable, OutboxMailer, QueueSettings,
};

/// The embedded services rooted at `data_dir`, plus the table (for the expiry sweep that
/// DynamoDB's TTL does in AWS).
pub struct EmbeddedHost {
    pub services: Services,
    pub table: EmbeddedTable,
}

#[derive(Debug, thiserror::Error)]
#[error("the data directory {dir} cannot be used: {problem}")]
pub struct EmbeddedError {
    pub dir: String,
    pub problem: String,
}

/// Opens (or creates) the embedded store under `data_dir`; pre-signed upload URLs point at
/// `public_url`.
pub fn open(
    data_dir: &Path,
    public_url: &str,
    sms: Arc<dyn SmsProvider>,
    validator: Arc<dyn PhoneValidator>,
    clock: Arc<dyn Clock>,
) -> Result<EmbeddedHost, EmbeddedError> {
    let fail = |e: &dyn std::fmt::Display| EmbeddedError {
        dir: data_dir.display().to_string(),
        problem: e.to_string(),
    };
    let store = EmbeddedStore::open(data_dir.join("trickle.db")).map_err(|e| fail(&e))?;
    let table = EmbeddedTable::new(store.clone());
    let queue = Arc::new(EmbeddedQueue::new(store, QueueSettings::default()));
    let services = Services {
        table: Arc::new(table.clone()),
        queue: queue.clone(),
        blobs: Arc::new(EmbeddedBlobs::open(data_dir, public_url, queue).map_err(|e| fail(&e))?),
        mailer: Arc::new(OutboxMailer::open(data_dir).map_err(|e| fail(&e))?),
        sms,
        clock,
        validator,
    };
    Ok(EmbeddedHost { services, table })
}
