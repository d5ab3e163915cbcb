//! The `Blobs` port over files under the data directory. Pre-signed upload URLs point at the
//! local runner, which hands the body to [`Blobs::accept_upload`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use trickle_app::ports::blobs::{
    check_key, check_presign_expiry, BlobError, BlobMeta, BlobReader, Blobs, PresignedUpload,
    NOTIFIED_PREFIX,
};
use trickle_app::ports::{OutgoingMessage, Queue};
use trickle_app::queues::{self, ObjectCreated, QueueMessage, UploadsMessage};

/// The route prefix the local runner serves uploads on.
pub const UPLOAD_ROUTE: &str = "/local-blobs/";
const BUCKET: &str = "local";

#[derive(Clone)]
pub struct EmbeddedBlobs {
    root: PathBuf,
    partial: PathBuf,
    signing_key: Arc<Vec<u8>>,
    public_url: String,
    notifications: Arc<dyn Queue>,
}

impl EmbeddedBlobs {
    /// `data_dir/blobs` holds the objects; the signing key for upload URLs is kept in
    /// `data_dir/upload-signing.key` so URLs survive a restart.
    pub fn open(
        data_dir: &Path,
        public_url: &str,
        notifications: Arc<dyn Queue>,
    ) -> std::io::Result<Self> {
        let root = data_dir.join("blobs");
        let partial = data_dir.join("blobs-partial");
        std::fs::create_dir_all(&root)?;
        std::fs::create_dir_all(&partial)?;
        let key_path = data_dir.join("upload-signing.key");
        let signing_key = match std::fs::read(&key_path) {
            Ok(key) if key.len() >= 32 => key,
            _ => {
                let key = (0..4)
                    .flat_map(|_| *uuid::Uuid::new_v4().as_bytes())
                    .collect::<Vec<u8>>();
                std::fs::write(&key_path, &key)?;
                key
            }
        };
        Ok(Self {
            root,
            partial,
            signing_key: Arc::new(signing_key),
            public_url: public_url.trim_end_matches('/').to_string(),
            notifications,
        })
    }

    fn path_of(&self, key: &str) -> Result<PathBuf, BlobError> {
        check_key(key)?;
        Ok(self.root.join(key))
    }

    fn signature(&self, key: &str, content_type: &str, expires: i64) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.signing_key).expect("any key length");
        mac.update(format!("PUT\n{key}\n{content_type}\n{expires}").as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    fn verify(
        &self,
        key: &str,
        content_type: &str,
        query: &BTreeMap<String, String>,
    ) -> Result<(), BlobError> {
        let forbidden = |why: &str| BlobError::Forbidden(why.to_string());
        let expires: i64 = query
            .get("expires")
            .and_then(|e| e.parse().ok())
            .ok_or_else(|| forbidden("missing expiry"))?;
        let given = query
            .get("signature")
            .and_then(|s| hex::decode(s).ok())
            .ok_or_else(|| forbidden("missing signature"))?;
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.signing_key).expect("any key length");
        mac.update(format!("PUT\n{key}\n{content_type}\n{expires}").as_bytes());
        mac.verify_slice(&given)
            .map_err(|_| forbidden("signature does not match"))?;
        if Utc::now().timestamp() > expires {
            return Err(forbidden("upload URL expired"));
        }
        Ok(())
    }

    async fn write_file(&self, key: &str, body: &Bytes) -> Result<(), BlobError> {
        let target = self.path_of(key)?;
        if let Some(dir) = target.parent() {
            tokio::fs::create_dir_all(dir).await.map_err(io)?;
        }
        // Write aside then rename, so a reader never sees half a file.
        let temp = self.partial.join(uuid::Uuid::new_v4().to_string());
        tokio::fs::write(&temp, body).await.map_err(io)?;
        tokio::fs::rename(&temp, &target).await.map_err(io)?;
        Ok(())
    }
}

fn io(e: std::io::Error) -> BlobError {
    BlobError::Unavailable(e.to_string())
}

fn walk(root: &Path, dir: &Path, prefix: &str, out: &mut Vec<BlobMeta>) -> std::io::Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        let path = entry.path();
        let Ok(relative) = path.strip_prefix(root) else {
            continue;
        };
        let key = relative.to_string_lossy().replace('\\', "/");
        if entry.file_type()?.is_dir() {
            // Descend only where keys under this folder can still match the prefix.
            let folder = format!("{key}/");
            if folder.starts_with(prefix) || prefix.starts_with(&folder) {
                walk(root, &path, prefix, out)?;
            }
        } else if key.starts_with(prefix) {
            out.push(BlobMeta {
                key,
                size: entry.metadata()?.len(),
            });
        }
    }
    Ok(())
}

#[async_trait]
impl Blobs for EmbeddedBlobs {
    async fn put(&self, key: &str, body: Bytes, _content_type: &str) -> Result<(), BlobError> {
        self.write_file(key, &body).await?;
        if key.starts_with(NOTIFIED_PREFIX) {
            let event = ObjectCreated {
                bucket: BUCKET.into(),
                key: key.to_string(),
                size: body.len() as u64,
                version: Some(uuid::Uuid::now_v7().to_string()),
                etag: Some(hex::encode(&Sha256::digest(&body)[..16])),
            };
            self.notifications
                .send(
                    queues::UPLOADS,
                    OutgoingMessage::new(UploadsMessage::Uploaded(vec![event]).encode()),
                )
                .await
                .map_err(|e| BlobError::Unavailable(format!("notification not queued: {e}")))?;
        }
        Ok(())
    }

    async fn get(&self, key: &str) -> Result<Option<Bytes>, BlobError> {
        match tokio::fs::read(self.path_of(key)?).await {
            Ok(bytes) => Ok(Some(Bytes::from(bytes))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io(e)),
        }
    }

    async fn open(&self, key: &str) -> Result<Option<BlobReader>, BlobError> {
        match tokio::fs::File::open(self.path_of(key)?).await {
            Ok(file) => Ok(Some(Box::new(tokio::io::BufReader::new(file)))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io(e)),
        }
    }

    async fn list(&self, prefix: &str) -> Result<Vec<BlobMeta>, BlobError> {
        let (root, prefix) = (self.root.clone(), prefix.to_string());
        let mut found = tokio::task::spawn_blocking(move || {
            let mut out = Vec::new();
            walk(&root, &root, &prefix, &mut out).map(|_| out)
        })
        .await
        .expect("list task panicked")
        .map_err(io)?;
        found.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(found)
    }

    async fn presign_put(
        &self,
        key: &str,
        content_type: &str,
        expires_in: Duration,
    ) -> Result<PresignedUpload, BlobError> {
        check_key(key)?;
        check_presign_expiry(expires_in)?;
        let expires_at: DateTime<Utc> =
            Utc::now() + chrono::Duration::from_std(expires_in).expect("at most 7 days");
        let expires = expires_at.timestamp();
        let encoded: String = percent_encoding::utf8_percent_encode(key, PATH_ENCODE).collect();
        let url = format!(
            "{}{UPLOAD_ROUTE}{encoded}?expires={expires}&signature={}",
            self.public_url,
            self.signature(key, content_type, expires)
        );
        Ok(PresignedUpload {
            url,
            method: "PUT".into(),
            headers: BTreeMap::from([("content-type".to_string(), content_type.to_string())]),
            expires_at,
        })
    }

    async fn accept_upload(
        &self,
        key: &str,
        query: &BTreeMap<String, String>,
        content_type: Option<&str>,
        body: Bytes,
    ) -> Result<(), BlobError> {
        check_key(key)?;
        let content_type = content_type.unwrap_or_default();
        self.verify(key, content_type, query)?;
        self.put(key, body, content_type).await
    }
}

const PATH_ENCODE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'/')
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');
