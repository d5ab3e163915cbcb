use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::Connection;
use tokio::sync::Notify;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the store at {path}: {source}")]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("cannot create {path}: {source}")]
    Dir {
        path: PathBuf,
        source: std::io::Error,
    },
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS items (
    pk TEXT NOT NULL,
    sk TEXT NOT NULL,
    body TEXT NOT NULL,
    expires_at INTEGER,
    gsi1pk TEXT, gsi1sk TEXT,
    gsi2pk TEXT, gsi2sk TEXT,
    gsi3pk TEXT, gsi3sk TEXT,
    PRIMARY KEY (pk, sk)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS items_gsi1 ON items (gsi1pk, gsi1sk, pk, sk) WHERE gsi1pk IS NOT NULL;
CREATE INDEX IF NOT EXISTS items_gsi2 ON items (gsi2pk, gsi2sk, pk, sk) WHERE gsi2pk IS NOT NULL;
CREATE INDEX IF NOT EXISTS items_gsi3 ON items (gsi3pk, gsi3sk, pk, sk) WHERE gsi3pk IS NOT NULL;
CREATE INDEX IF NOT EXISTS items_expiry ON items (expires_at) WHERE expires_at IS NOT NULL;

CREATE TABLE IF NOT EXISTS queue_messages (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    queue TEXT NOT NULL,
    body TEXT NOT NULL,
    visible_at INTEGER NOT NULL,
    receive_count INTEGER NOT NULL DEFAULT 0,
    receipt TEXT,
    sent_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS queue_ready ON queue_messages (queue, visible_at, seq);
CREATE UNIQUE INDEX IF NOT EXISTS queue_receipts ON queue_messages (receipt) WHERE receipt IS NOT NULL;

CREATE TABLE IF NOT EXISTS queue_dedup (
    queue TEXT NOT NULL,
    dedup_id TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (queue, dedup_id)
) WITHOUT ROWID;
";

/// The embedded durable store: one SQLite file shared by the table and the queues.
#[derive(Clone)]
pub struct EmbeddedStore {
    pub(crate) conn: Arc<Mutex<Connection>>,
    /// Wakes long-polling receivers when a message is sent.
    pub(crate) sent: Arc<Notify>,
    path: PathBuf,
}

impl EmbeddedStore {
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = path.as_ref().to_path_buf();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            crate::private_files::create_dir(dir).map_err(|source| StoreError::Dir {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        // Personal data: the file is the owner's alone, and SQLite gives its journals the same.
        crate::private_files::touch(&path).map_err(|source| StoreError::Dir {
            path: path.clone(),
            source,
        })?;
        let open = || -> rusqlite::Result<Connection> {
            let conn = Connection::open(&path)?;
            // WAL + NORMAL survives a killed process (only an OS crash can lose the last commits).
            conn.pragma_update(None, "journal_mode", "WAL")?;
            conn.pragma_update(None, "synchronous", "NORMAL")?;
            // A 64 MiB page cache and memory-mapped reads: the default 2 MiB cache made every
            // write under load re-read index pages through system calls.
            conn.pragma_update(None, "cache_size", -65536)?;
            conn.pragma_update(None, "mmap_size", 268_435_456)?;
            conn.pragma_update(None, "temp_store", "MEMORY")?;
            conn.busy_timeout(std::time::Duration::from_secs(5))?;
            conn.execute_batch(SCHEMA)?;
            // Every statement is prepared once and reused: parsing SQL per call was a
            // measurable share of each write under load.
            conn.set_prepared_statement_cache_capacity(128);
            Ok(conn)
        };
        let conn = open().map_err(|source| StoreError::Open {
            path: path.clone(),
            source,
        })?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
            sent: Arc::new(Notify::new()),
            path,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs blocking SQLite work off the async threads.
    pub(crate) async fn with_conn<R, F>(&self, work: F) -> R
    where
        F: FnOnce(&mut Connection) -> R + Send + 'static,
        R: Send + 'static,
    {
        // An idle store runs the work here: statements take microseconds, while handing them
        // to the blocking pool and back cost two thread wake-ups each. A busy one is waited
        // for on the pool, so no async worker blocks on the lock.
        if let Ok(mut guard) = self.conn.try_lock() {
            return work(&mut guard);
        }
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            work(&mut guard)
        })
        .await
        .expect("store task panicked")
    }
}

pub(crate) fn epoch_secs() -> i64 {
    chrono::Utc::now().timestamp()
}

pub(crate) fn epoch_millis() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
