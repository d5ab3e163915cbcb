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
    Revision, NOTIFIED_PREFIX,
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
    /// Each announced object's bytes under its version id (a hard link, so no copy): an import
    /// reads the version its notification named, whatever was written to the key since.
    versions: PathBuf,
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
        let versions = data_dir.join("blobs-versions");
        crate::private_files::create_dir(&root)?;
        crate::private_files::create_dir(&partial)?;
        crate::private_files::create_dir(&versions)?;
        let key_path = data_dir.join("upload-signing.key");
        let signing_key = match std::fs::read(&key_path) {
            Ok(key) if key.len() >= 32 => key,
            _ => {
                let key = (0..4)
                    .flat_map(|_| *uuid::Uuid::new_v4().as_bytes())
                    .collect::<Vec<u8>>();
                // A short or unreadable key is replaced by a new private one.
                let _ = std::fs::remove_file(&key_path);
                crate::private_files::write_new(&key_path, &key)?;
                key
            }
        };
        Ok(Self {
            root,
            partial,
            versions,
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

    /// Writes the `uploads` notification S3 would send for a new object under the prefix.
    async fn announce(
        &self,
        key: &str,
        size: u64,
        digest: &[u8],
        version: Option<String>,
    ) -> Result<(), BlobError> {
        if key.starts_with(NOTIFIED_PREFIX) {
            let event = ObjectCreated {
                bucket: BUCKET.into(),
                key: key.to_string(),
                size,
                version,
                etag: Some(hex::encode(&digest[..16])),
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

    async fn write_file(&self, key: &str, body: &Bytes) -> Result<Option<String>, BlobError> {
        // Write aside then rename, so a reader never sees half a file.
        let temp = self.partial.join(uuid::Uuid::new_v4().to_string());
        tokio::fs::write(&temp, body).await.map_err(io)?;
        self.place(&temp, key).await
    }

    /// Moves a fully written file to `key`; an object S3 would announce gets a version, linked
    /// before the move so no later write to the key can take its place.
    async fn place(&self, temp: &Path, key: &str) -> Result<Option<String>, BlobError> {
        let version = if key.starts_with(NOTIFIED_PREFIX) {
            let version = uuid::Uuid::now_v7().to_string();
            tokio::fs::hard_link(temp, self.versions.join(&version))
                .await
                .map_err(io)?;
            Some(version)
        } else {
            None
        };
        let target = self.path_of(key)?;
        if let Some(dir) = target.parent() {
            tokio::fs::create_dir_all(dir).await.map_err(io)?;
        }
        tokio::fs::rename(temp, &target).await.map_err(io)?;
        Ok(version)
    }
}

/// Largest upload the local runner takes through a pre-signed URL (S3 takes them in AWS).
pub const MAX_UPLOAD: u64 = 1024 * 1024 * 1024;

/// Streams `body` to a new file at `temp`; its size and SHA-256.
async fn stream_to(temp: &Path, mut body: BlobReader) -> Result<(u64, Vec<u8>), BlobError> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut file = tokio::fs::File::create(temp).await.map_err(io)?;
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let n = body.read(&mut buffer).await.map_err(io)?;
        if n == 0 {
            break;
        }
        size += n as u64;
        if size > MAX_UPLOAD {
            return Err(BlobError::Invalid(
                "the file is larger than 1 GiB: split it into smaller files".into(),
            ));
        }
        hasher.update(&buffer[..n]);
        file.write_all(&buffer[..n]).await.map_err(io)?;
    }
    file.flush().await.map_err(io)?;
    Ok((size, hasher.finalize().to_vec()))
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
        let version = self.write_file(key, &body).await?;
        self.announce(key, body.len() as u64, &Sha256::digest(&body), version)
            .await
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

    async fn open_version(
        &self,
        key: &str,
        offset: u64,
        revision: Revision<'_>,
    ) -> Result<Option<BlobReader>, BlobError> {
        use tokio::io::AsyncSeekExt;
        check_key(key)?;
        // Every announced object here has a version; an ETag alone is not kept.
        let Revision::Version(version) = revision else {
            return self.open_from(key, offset).await;
        };
        if uuid::Uuid::parse_str(version).is_err() {
            return Err(BlobError::Invalid(format!(
                "{version:?} is not a version id"
            )));
        }
        let mut file = match tokio::fs::File::open(self.versions.join(version)).await {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io(e)),
        };
        file.seek(std::io::SeekFrom::Start(offset))
            .await
            .map_err(io)?;
        Ok(Some(Box::new(tokio::io::BufReader::new(file))))
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
        body: BlobReader,
    ) -> Result<(), BlobError> {
        check_key(key)?;
        // The signature first: a forged URL costs nothing, however large its body.
        self.verify(key, content_type.unwrap_or_default(), query)?;
        let temp = self.partial.join(uuid::Uuid::new_v4().to_string());
        let streamed = stream_to(&temp, body).await;
        let (size, digest) = match streamed {
            Ok(done) => done,
            Err(e) => {
                let _ = tokio::fs::remove_file(&temp).await;
                return Err(e);
            }
        };
        let version = self.place(&temp, key).await?;
        self.announce(key, size, &digest, version).await
    }
}

const PATH_ENCODE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'/')
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');
