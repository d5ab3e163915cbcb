//! The `uploads` queue's consumer: the object-created event starts (or claims) an import, and
//! the import's own steps are handed to parse, finish or requeue.

use async_trait::async_trait;
use serde_json::Value;
use sha2::{Digest, Sha256};
use trickle_domain::ImportId;

use super::finish::{finish_chunk, maybe_finish};
use super::model::{check_list_name, ImportKind, ImportStatus, VERDICT};
use super::parse::parse_chunk;
use super::steps::{send_batch, send_step, NUMBERS_PER_BATCH};
use super::store::{self, insert, new_records};
use super::{keys, AudienceError, AudienceSettings};
use crate::ports::blobs::NOTIFIED_PREFIX;
use crate::ports::queue::ReceivedMessage;
use crate::ports::table::{Condition, Query, SortKeyCondition, Update};
use crate::queues::{ObjectCreated, QueueMessage, Step, UploadsMessage};
use crate::worker::{HandlerError, MessageHandler};
use crate::Services;

/// The consumer of the `uploads` queue.
pub struct ImportWorker {
    services: Services,
    settings: AudienceSettings,
}

impl ImportWorker {
    pub fn new(services: Services, settings: AudienceSettings) -> Self {
        Self { services, settings }
    }

    pub async fn handle_message(&self, message: UploadsMessage) -> Result<(), AudienceError> {
        let s = &self.services;
        match message {
            UploadsMessage::Step(step) => match step.step {
                Step::Parse => parse_chunk(s, &self.settings, &step.import_id).await,
                Step::Finish => finish_chunk(s, &self.settings, &step.import_id).await,
                Step::Requeue => requeue(s, &step.import_id).await,
            },
            UploadsMessage::Uploaded(objects) => {
                for object in objects {
                    object_created(s, &object).await?;
                }
                Ok(())
            }
        }
    }
}

#[async_trait]
impl MessageHandler for ImportWorker {
    async fn handle(&self, message: &ReceivedMessage) -> Result<(), HandlerError> {
        let message = UploadsMessage::decode(&message.body)?;
        self.handle_message(message).await.map_err(Into::into)
    }
}

/// The import an uploaded object starts: the one created through the API for that key, or a
/// new one (named after the file) for a file dropped straight into `imports/`.
pub async fn object_created(
    services: &Services,
    event: &ObjectCreated,
) -> Result<(), AudienceError> {
    let Some(name) = event
        .key
        .strip_prefix(NOTIFIED_PREFIX)
        .filter(|rest| !rest.contains('/'))
    else {
        return Ok(()); // rejects files and other objects under imports/<id>/
    };
    let stem = name.strip_suffix(".csv").unwrap_or(name);
    let version = event.version.clone().or_else(|| event.etag.clone());
    let id = match ImportId::parse(stem) {
        Ok(id)
            if services
                .table
                .get(&keys::import(id.as_str()))
                .await?
                .is_some() =>
        {
            id
        }
        _ => {
            // Same object and version → same import id, so a redelivery cannot import twice.
            let digest = Sha256::digest(format!(
                "{}\n{}",
                event.key,
                version.as_deref().unwrap_or("")
            ));
            let mut bytes = [0u8; 16];
            bytes.copy_from_slice(&digest[..16]);
            let id = ImportId::from_uuid(uuid::Builder::from_random_bytes(bytes).into_uuid());
            let list_name = check_list_name(stem).unwrap_or_else(|_| "imported list".into());
            let (mut import, list) = new_records(
                &id,
                list_name,
                ImportKind::Contacts,
                ImportStatus::Uploaded,
                event.key.clone(),
                version.clone(),
                services.clock.now(),
            );
            import.object_version_id = event.version.clone();
            import.object_etag = event.etag.clone();
            insert(services, &import, &list).await?;
            return first_step(services, event, id.as_str()).await;
        }
    };
    let claimed = services
        .table
        .update(
            &keys::import(id.as_str()),
            Update::new()
                .set("status", ImportStatus::Uploaded.as_str())
                .set("object_version", serde_json::to_value(&version)?)
                .set("object_version_id", serde_json::to_value(&event.version)?)
                .set("object_etag", serde_json::to_value(&event.etag)?)
                .set("updated_at", serde_json::to_value(services.clock.now())?),
            Some(Condition::equals(
                "status",
                ImportStatus::AwaitingUpload.as_str(),
            )),
        )
        .await;
    match claimed {
        Ok(_) => first_step(services, event, id.as_str()).await,
        Err(e) if e.is_condition_failure() => {
            let import = store::load(services, id.as_str()).await?;
            if import.object_version == version {
                // A redelivered event: make sure the first step was sent, nothing more.
                if import.status == ImportStatus::Uploaded {
                    send_step(services, Step::Parse, id.as_str(), "upload").await?;
                }
            } else {
                tracing::warn!(import = %id, key = %event.key, "a second upload to a started import is ignored");
            }
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

/// The largest file an import reads (the local runner's upload cap too).
pub const MAX_IMPORT_BYTES: u64 = 1024 * 1024 * 1024;

/// Parsing, unless the object is larger than an import takes: then the import fails at once,
/// saying so (a redelivery fails it again, which changes nothing).
async fn first_step(
    services: &Services,
    event: &ObjectCreated,
    id: &str,
) -> Result<(), AudienceError> {
    if event.size > MAX_IMPORT_BYTES {
        let message = format!(
            "the file is {} MB and an import takes at most {} MB: split it into smaller files and upload each",
            event.size / 1_000_000,
            MAX_IMPORT_BYTES / 1_000_000
        );
        return super::store::fail(services, id, &message).await;
    }
    send_step(services, Step::Parse, id, "upload").await
}

/// After a resume: every number still without a verdict goes back to the validation queue.
pub async fn requeue(services: &Services, id: &str) -> Result<(), AudienceError> {
    let mut cursor = None;
    loop {
        let page = services
            .table
            .query(
                Query::partition(keys::import_pk(id))
                    .sk(SortKeyCondition::BeginsWith(keys::NUMBER_PREFIX.into()))
                    .limit(1000)
                    .after(cursor),
            )
            .await?;
        let pending: Vec<String> = page
            .items
            .iter()
            .filter(|item| !item.contains_key(VERDICT))
            .filter_map(|item| {
                item.get("phone")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
            .collect();
        for batch in pending.chunks(NUMBERS_PER_BATCH) {
            send_batch(services, id, batch).await?;
        }
        cursor = page.next;
        if cursor.is_none() {
            break;
        }
    }
    maybe_finish(services, id).await
}
