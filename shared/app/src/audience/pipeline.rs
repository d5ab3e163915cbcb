//! The import's steps on the `uploads` queue: the object-created event, parse chunks, finish
//! chunks, and the requeue after a resume. Every step reads its checkpoint from the import
//! record and commits only from where it started, so a redelivered or duplicated step is
//! harmless.

use std::collections::HashSet;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::io::AsyncReadExt;
use trickle_domain::csv_import::{
    rows_from, Candidate, FileFormat, ParseCounts, ParsedRow, RejectReason, RowPosition, RowReader,
    SNIFF_BYTES,
};
use trickle_domain::{ImportId, PhoneNumber};

use super::imports::{self, check_list_name};
use super::model::{skipped_attr, ImportKind, ImportRecord, ImportStatus};
use super::validation::{self, VERDICT};
use super::{keys, AudienceError, AudienceSettings};
use crate::contacts::{self, ContactsError};
use crate::ports::blobs::{ObjectCreated, NOTIFIED_PREFIX, UPLOADS_QUEUE};
use crate::ports::queue::{OutgoingMessage, ReceivedMessage};
use crate::ports::table::{Condition, Index, Item, Query, SortKeyCondition, TxOp, Update};
use crate::records;
use crate::worker::{HandlerError, MessageHandler};
use crate::Services;

/// Numbers per validation message.
pub const NUMBERS_PER_BATCH: usize = 25;
/// Rows per table transaction while parsing (two writes each).
const ROWS_PER_TRANSACTION: usize = 50;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    Parse,
    Finish,
    Requeue,
}

#[derive(Debug, Serialize, Deserialize)]
struct StepMessage {
    step: Step,
    import_id: String,
}

pub async fn send_step(
    services: &Services,
    step: Step,
    import_id: &str,
    dedup: &str,
) -> Result<(), AudienceError> {
    let body = serde_json::to_string(&StepMessage {
        step,
        import_id: import_id.to_string(),
    })?;
    services
        .queue
        .send(
            UPLOADS_QUEUE,
            OutgoingMessage::new(body).dedup(format!("{import_id}-{step:?}-{dedup}")),
        )
        .await?;
    Ok(())
}

/// The consumer of the `uploads` queue.
pub struct ImportWorker {
    services: Services,
    settings: AudienceSettings,
}

impl ImportWorker {
    pub fn new(services: Services, settings: AudienceSettings) -> Self {
        Self { services, settings }
    }

    pub async fn handle_body(&self, body: &str) -> Result<(), AudienceError> {
        if let Ok(step) = serde_json::from_str::<StepMessage>(body) {
            let s = &self.services;
            return match step.step {
                Step::Parse => parse_chunk(s, &self.settings, &step.import_id).await,
                Step::Finish => finish_chunk(s, &self.settings, &step.import_id).await,
                Step::Requeue => requeue(s, &step.import_id).await,
            };
        }
        let events = ObjectCreated::parse_event(body)
            .map_err(|e| AudienceError::Invalid(format!("not an upload event: {e}")))?;
        for event in events {
            object_created(&self.services, &event).await?;
        }
        Ok(())
    }
}

#[async_trait]
impl MessageHandler for ImportWorker {
    async fn handle(&self, message: &ReceivedMessage) -> Result<(), HandlerError> {
        self.handle_body(&message.body).await.map_err(Into::into)
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
            let (import, list) = imports::new_records(
                &id,
                list_name,
                ImportKind::Contacts,
                ImportStatus::Uploaded,
                event.key.clone(),
                version.clone(),
                services.clock.now(),
            );
            imports::insert(services, &import, &list).await?;
            return send_step(services, Step::Parse, id.as_str(), "upload").await;
        }
    };
    let claimed = services
        .table
        .update(
            &keys::import(id.as_str()),
            Update::new()
                .set("status", ImportStatus::Uploaded.as_str())
                .set("object_version", serde_json::to_value(&version)?)
                .set("updated_at", serde_json::to_value(services.clock.now())?),
            Some(Condition::equals(
                "status",
                ImportStatus::AwaitingUpload.as_str(),
            )),
        )
        .await;
    match claimed {
        Ok(_) => send_step(services, Step::Parse, id.as_str(), "upload").await,
        Err(e) if e.is_condition_failure() => {
            let import = imports::load(services, id.as_str()).await?;
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

async fn fail(services: &Services, id: &str, error: &str) -> Result<(), AudienceError> {
    let failed = services
        .table
        .update(
            &keys::import(id),
            Update::new()
                .set("status", ImportStatus::Failed.as_str())
                .set("error", error)
                .set("updated_at", serde_json::to_value(services.clock.now())?),
            Some(unfinished_condition()),
        )
        .await;
    match failed {
        Ok(_) => {}
        // Completed or cancelled meanwhile: that outcome stands.
        Err(e) if e.is_condition_failure() => return Ok(()),
        Err(e) => return Err(e.into()),
    }
    crate::metrics::record(crate::metrics::Metric::count(
        "Imports",
        &[("Outcome", "failed")],
    ));
    Ok(())
}

async fn detect_format(
    services: &Services,
    import: &ImportRecord,
) -> Result<Option<FileFormat>, AudienceError> {
    let Some(mut reader) = services.blobs.open(&import.object_key).await? else {
        fail(services, &import.id, "the uploaded file is missing").await?;
        return Ok(None);
    };
    let mut sample = Vec::with_capacity(SNIFF_BYTES);
    (&mut reader)
        .take(SNIFF_BYTES as u64 + 1)
        .read_to_end(&mut sample)
        .await
        .map_err(|e| AudienceError::Read(e.to_string()))?;
    let complete = sample.len() <= SNIFF_BYTES;
    sample.truncate(SNIFF_BYTES);
    match FileFormat::detect(&sample, complete) {
        Ok(format) => Ok(Some(format)),
        Err(refusal) => {
            fail(services, &import.id, &refusal.to_string()).await?;
            Ok(None)
        }
    }
}

struct Chunk {
    rows: Vec<ParsedRow>,
    end: RowPosition,
    eof: bool,
}

/// Up to `max_rows` rows from `from`, read on a blocking thread from the streaming blob.
async fn read_chunk(
    services: &Services,
    key: &str,
    format: &FileFormat,
    from: RowPosition,
    max_rows: usize,
) -> Result<Chunk, AudienceError> {
    let seekable = format.encoding.offsets_match_file();
    let reader = if seekable {
        services
            .blobs
            .open_from(key, format.encoding.bom_len() + from.offset)
            .await?
    } else {
        services.blobs.open(key).await?
    };
    let reader = reader.ok_or_else(|| AudienceError::Read(format!("{key} is missing")))?;
    let format = format.clone();
    let handle = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || -> Result<Chunk, AudienceError> {
        let sync = tokio_util::io::SyncIoBridge::new_with_handle(reader, handle);
        let read = |e: std::io::Error| AudienceError::Read(e.to_string());
        let rows: Box<dyn Iterator<Item = std::io::Result<ParsedRow>>> = if seekable {
            Box::new(RowReader::new(sync, &format, from))
        } else {
            Box::new(rows_from(sync, &format, from).map_err(read)?)
        };
        let mut out = Vec::new();
        let mut end = from;
        let mut eof = true;
        for row in rows {
            let row = row.map_err(read)?;
            end = row.next;
            out.push(row);
            if out.len() >= max_rows {
                eof = false;
                break;
            }
        }
        Ok(Chunk {
            rows: out,
            end,
            eof,
        })
    })
    .await
    .map_err(|e| AudienceError::Read(e.to_string()))?
}

#[derive(Serialize, Deserialize)]
pub(crate) struct CandidateItem {
    pub line: u64,
    pub phone: PhoneNumber,
    pub candidate: Candidate,
    pub original: String,
}

#[derive(Serialize, Deserialize)]
pub(crate) struct RejectItem {
    pub line: u64,
    pub reason: RejectReason,
    pub detail: String,
    pub original: String,
}

/// One parse step: reads the next chunk of rows, records candidates (deduplicated across the
/// whole file by a guard item per number), rejects and validation batches, then moves the
/// checkpoint.
pub async fn parse_chunk(
    services: &Services,
    settings: &AudienceSettings,
    id: &str,
) -> Result<(), AudienceError> {
    let mut import = imports::load(services, id).await?;
    let parsing = matches!(
        import.status,
        ImportStatus::Uploaded | ImportStatus::Parsing | ImportStatus::Paused
    );
    if import.parse_done || !parsing {
        return Ok(());
    }
    if import.format.is_none() {
        let Some(format) = detect_format(services, &import).await? else {
            return Ok(());
        };
        let start = format.start();
        let item = services
            .table
            .update(
                &keys::import(id),
                Update::new()
                    .set("format", serde_json::to_value(&format)?)
                    .set("status", ImportStatus::Parsing.as_str())
                    .set("parse_offset", start.offset)
                    .set("parse_line", start.line)
                    .set("updated_at", serde_json::to_value(services.clock.now())?),
                Some(Condition::equals("status", ImportStatus::Uploaded.as_str())),
            )
            .await;
        match item {
            Ok(item) => import = records::from_item(item)?,
            Err(e) if e.is_condition_failure() => return Ok(()),
            Err(e) => return Err(e.into()),
        }
    }
    let format = import.format.clone().expect("set above");
    let from = RowPosition {
        offset: import.parse_offset,
        line: import.parse_line,
    };
    let chunk = read_chunk(
        services,
        &import.object_key,
        &format,
        from,
        settings.parse_chunk_rows,
    )
    .await?;

    // First sighting inside this chunk, then across the file through the guard items.
    let mut seen_here: HashSet<PhoneNumber> = HashSet::new();
    let mut fresh: Vec<bool> = vec![false; chunk.rows.len()];
    let mut to_guard: Vec<usize> = Vec::new();
    for (i, row) in chunk.rows.iter().enumerate() {
        if let Ok(candidate) = &row.outcome {
            if seen_here.insert(candidate.phone.clone()) {
                to_guard.push(i);
            }
        }
    }
    for group in to_guard.chunks(ROWS_PER_TRANSACTION) {
        let ops = group
            .iter()
            .flat_map(|&i| guard_ops(&import, &chunk.rows[i], format.delimiter, services))
            .collect::<Result<Vec<_>, AudienceError>>()?;
        match services
            .table
            .transact(ops.into_iter().flatten().collect())
            .await
        {
            Ok(()) => group.iter().for_each(|&i| fresh[i] = true),
            Err(e) if e.is_condition_failure() => {
                for &i in group {
                    fresh[i] =
                        guard_one(services, &import, &chunk.rows[i], format.delimiter).await?;
                }
            }
            Err(e) => return Err(e.into()),
        }
    }

    let mut counts = ParseCounts::default();
    let mut rejects: Vec<TxOp> = Vec::new();
    let mut numbers: Vec<String> = Vec::new();
    for (i, row) in chunk.rows.iter().enumerate() {
        match counts.count(row, fresh[i]) {
            None => {
                if let Ok(c) = &row.outcome {
                    numbers.push(c.phone.as_str().to_string());
                }
            }
            Some(reason) => {
                let detail = match &row.outcome {
                    Err(rejected) => rejected.detail.clone(),
                    Ok(c) => format!("{} appears earlier in the file", c.phone),
                };
                let item = RejectItem {
                    line: row.line,
                    reason,
                    detail,
                    original: row.original(format.delimiter),
                };
                rejects.push(TxOp::Put {
                    item: records::to_item(&keys::reject(id, row.line), &item)?,
                    condition: None,
                });
            }
        }
    }
    for group in rejects.chunks(100) {
        services.table.transact(group.to_vec()).await?;
    }
    if import.kind == ImportKind::Contacts {
        for batch in numbers.chunks(NUMBERS_PER_BATCH) {
            validation::send_batch(services, id, batch).await?;
        }
    }

    // Commit the checkpoint, only from where this step started.
    for _ in 0..5 {
        let mut parse = import.parse;
        parse.add(&counts);
        let status = match (chunk.eof, import.status, import.kind) {
            (_, ImportStatus::Paused, _) => ImportStatus::Paused,
            (true, _, ImportKind::Contacts) => ImportStatus::Validating,
            _ => ImportStatus::Parsing,
        };
        let committed = services
            .table
            .update(
                &keys::import(id),
                Update::new()
                    .set("parse", serde_json::to_value(parse)?)
                    .set("parse_offset", chunk.end.offset)
                    .set("parse_line", chunk.end.line)
                    .set("parse_done", chunk.eof)
                    .set("distinct", parse.contacts)
                    .set("status", status.as_str())
                    .set("updated_at", serde_json::to_value(services.clock.now())?),
                Some(Condition::All(vec![
                    Condition::equals("parse_offset", from.offset),
                    Condition::equals("status", import.status.as_str()),
                ])),
            )
            .await;
        match committed {
            Ok(_) => break,
            Err(e) if e.is_condition_failure() => {
                import = imports::load(services, id).await?;
                if import.parse_offset != from.offset || import.parse_done {
                    return Ok(()); // another delivery of this step got there first
                }
                if matches!(
                    import.status,
                    ImportStatus::Failed | ImportStatus::Cancelled
                ) {
                    return Ok(());
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
    if !chunk.eof {
        return send_step(services, Step::Parse, id, &chunk.end.offset.to_string()).await;
    }
    match import.kind {
        ImportKind::Contacts => maybe_finish(services, id).await,
        ImportKind::Suppression => complete(services, id).await,
    }
}

/// The writes that claim a row's number for this import (conditional on it being unclaimed)
/// and record the row: a candidate, or a suppression entry.
fn guard_ops(
    import: &ImportRecord,
    row: &ParsedRow,
    delimiter: char,
    services: &Services,
) -> Option<Result<Vec<TxOp>, AudienceError>> {
    let candidate = row.outcome.as_ref().ok()?;
    let build = || -> Result<Vec<TxOp>, AudienceError> {
        let e164 = candidate.phone.as_str();
        let mut guard = Item::new();
        guard.insert("line".into(), row.line.into());
        guard.insert("phone".into(), e164.into());
        let guard = records::to_item(&keys::number(&import.id, e164), &guard)?;
        let second = match import.kind {
            ImportKind::Contacts => records::to_item(
                &keys::candidate(&import.id, row.line),
                &CandidateItem {
                    line: row.line,
                    phone: candidate.phone.clone(),
                    candidate: candidate.clone(),
                    original: row.original(delimiter),
                },
            )?,
            ImportKind::Suppression => records::to_item(
                &keys::suppression(e164),
                &serde_json::json!({
                    "phone": e164,
                    "list_id": import.list_id,
                    "import_id": import.id,
                    "added_at": services.clock.now(),
                }),
            )?,
        };
        Ok(vec![
            TxOp::Put {
                item: guard,
                condition: Some(Condition::ItemAbsent),
            },
            TxOp::Put {
                item: second,
                condition: None,
            },
        ])
    };
    Some(build())
}

/// Claims one row's number; true when this row holds it (first time, or a redelivery of the
/// step that claimed it).
async fn guard_one(
    services: &Services,
    import: &ImportRecord,
    row: &ParsedRow,
    delimiter: char,
) -> Result<bool, AudienceError> {
    let Some(ops) = guard_ops(import, row, delimiter, services) else {
        return Ok(false);
    };
    match services.table.transact(ops?).await {
        Ok(()) => Ok(true),
        Err(e) if e.is_condition_failure() => {
            let phone = row.outcome.as_ref().map(|c| c.phone.as_str()).unwrap_or("");
            let holder = services.table.get(&keys::number(&import.id, phone)).await?;
            Ok(holder
                .and_then(|h| h.get("line").and_then(Value::as_u64))
                .is_some_and(|line| line == row.line))
        }
        Err(e) => Err(e.into()),
    }
}

/// Sends the finish step once every distinct number has a verdict.
pub async fn maybe_finish(services: &Services, id: &str) -> Result<(), AudienceError> {
    let import = imports::load(services, id).await?;
    if import.kind == ImportKind::Contacts
        && import.parse_done
        && import.status == ImportStatus::Validating
        && import.validated >= import.distinct
    {
        send_step(services, Step::Finish, id, "start").await?;
    }
    Ok(())
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
            validation::send_batch(services, id, batch).await?;
        }
        cursor = page.next;
        if cursor.is_none() {
            break;
        }
    }
    maybe_finish(services, id).await
}

/// One finish step: the next candidates in file order become list members (existing contacts
/// are reused, new ones created with the phone-guard transaction), or rejects.
pub async fn finish_chunk(
    services: &Services,
    settings: &AudienceSettings,
    id: &str,
) -> Result<(), AudienceError> {
    let import = imports::load(services, id).await?;
    if import.status != ImportStatus::Validating
        || !import.parse_done
        || import.validated < import.distinct
    {
        return Ok(());
    }
    let start = import.finish_after.clone();
    let sk = if start.is_empty() {
        SortKeyCondition::BeginsWith(keys::CANDIDATE_PREFIX.into())
    } else {
        SortKeyCondition::Between(
            format!("{start}\u{1}"),
            format!("{}\u{10FFFF}", keys::CANDIDATE_PREFIX),
        )
    };
    let page = services
        .table
        .query(
            Query::partition(keys::import_pk(id))
                .sk(sk)
                .limit(settings.finish_chunk_rows),
        )
        .await?;
    let mut position = import.finish_position;
    let mut added = 0i64;
    let mut existing = 0i64;
    let mut skipped: Vec<(RejectReason, i64)> = Vec::new();
    let mut last_sk = start.clone();
    for item in &page.items {
        last_sk = item
            .get("sk")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let row: CandidateItem = records::from_item(item.clone())?;
        let verdict = services
            .table
            .get(&keys::number(id, row.phone.as_str()))
            .await?
            .and_then(|n| n.get(VERDICT).and_then(Value::as_str).map(str::to_string));
        let rejection = match verdict.as_deref() {
            Some(validation::MOBILE) => None,
            Some(other) => Some(serde_json::from_value::<RejectReason>(Value::from(other))?),
            None => {
                return Err(AudienceError::Conflict(format!(
                    "{} has no verdict yet",
                    row.phone
                )));
            }
        };
        if let Some(reason) = rejection {
            let reject = RejectItem {
                line: row.line,
                reason,
                detail: format!("NumVerify: {}", reason.words()),
                original: row.original.clone(),
            };
            services
                .table
                .put(
                    records::to_item(&keys::reject(id, row.line), &reject)?,
                    None,
                )
                .await?;
            match skipped.iter_mut().find(|(r, _)| *r == reason) {
                Some((_, n)) => *n += 1,
                None => skipped.push((reason, 1)),
            }
            continue;
        }
        let (contact_id, was_existing) = contact_for(services, id, row.candidate).await?;
        let member = super::model::MemberRecord {
            position,
            contact_id,
            phone: row.phone.to_string(),
        };
        services
            .table
            .put(
                records::to_item(&keys::member(&import.list_id, position), &member)?,
                None,
            )
            .await?;
        position += 1;
        added += 1;
        if was_existing {
            existing += 1;
        }
    }
    let mut update = Update::new()
        .set("finish_after", last_sk.clone())
        .set("finish_position", position)
        .set("updated_at", serde_json::to_value(services.clock.now())?);
    if added > 0 {
        update = update.add("added", added);
    }
    if existing > 0 {
        update = update.add("existing", existing);
    }
    for (reason, n) in skipped {
        update = update.add(&skipped_attr(reason), n);
    }
    let committed = services
        .table
        .update(
            &keys::import(id),
            update,
            Some(Condition::equals("finish_after", start.clone())),
        )
        .await;
    match committed {
        Ok(_) => {}
        Err(e) if e.is_condition_failure() => return Ok(()), // a duplicate step won
        Err(e) => return Err(e.into()),
    }
    if page.next.is_some() && !page.items.is_empty() {
        send_step(services, Step::Finish, id, &last_sk).await
    } else {
        complete(services, id).await
    }
}

/// The contact a mobile candidate adds to the list: the one holding the number already, or a
/// new one. A contact this import created on an earlier, interrupted delivery counts as new.
async fn contact_for(
    services: &Services,
    import_id: &str,
    candidate: Candidate,
) -> Result<(String, bool), AudienceError> {
    let phone = candidate.phone.clone();
    if let Some(holder) = contacts::holder_of(services, &phone).await? {
        let ours = match contacts::get(services, &holder).await {
            Ok(c) => c.source.as_deref() == Some(import_id),
            Err(_) => false,
        };
        return Ok((holder, !ours));
    }
    match contacts::create_new(services, candidate.into_new_contact(import_id)).await {
        Ok(contact) => Ok((contact.id.to_string(), false)),
        Err(ContactsError::DuplicatePhone { existing, .. }) => Ok((existing, true)),
        Err(e) => Err(e.into()),
    }
}

/// Writes the rejects file, then makes the list visible and the import completed together.
async fn complete(services: &Services, id: &str) -> Result<(), AudienceError> {
    let import = imports::load(services, id).await?;
    // Only a running import completes (a cancelled or failed one never shows its list).
    if !matches!(
        import.status,
        ImportStatus::Parsing | ImportStatus::Validating
    ) {
        return Ok(());
    }
    write_rejects(services, id).await?;
    let now = services.clock.now();
    let now_json = serde_json::to_value(now)?;
    let list = records::from_item::<super::model::ListRecord>(
        services
            .table
            .get(&keys::list(&import.list_id))
            .await?
            .ok_or_else(|| AudienceError::NotFound(format!("list {}", import.list_id)))?,
    )?;
    let members = match import.kind {
        ImportKind::Contacts => import.finish_position,
        ImportKind::Suppression => import.parse.contacts,
    };
    let list_sort = format!(
        "{}#{}",
        list.created_at.format("%Y-%m-%dT%H:%M:%S%.3fZ"),
        list.id
    );
    let from_status = import.status.as_str();
    let done = services
        .table
        .transact(vec![
            TxOp::Update {
                key: keys::import(id),
                update: Update::new()
                    .set("status", ImportStatus::Completed.as_str())
                    .set("completed_at", now_json.clone())
                    .set("updated_at", now_json.clone()),
                condition: Some(Condition::equals("status", from_status)),
            },
            TxOp::Update {
                key: keys::list(&import.list_id),
                update: Update::new()
                    .set("status", "completed")
                    .set("member_count", members)
                    .set("completed_at", now_json)
                    .set(Index::Gsi1.pk_attr(), keys::LISTS_INDEX_PK)
                    .set(Index::Gsi1.sk_attr(), list_sort),
                condition: None,
            },
        ])
        .await;
    match done {
        Ok(()) => {
            crate::metrics::record(crate::metrics::Metric::count(
                "Imports",
                &[("Outcome", "completed")],
            ));
            Ok(())
        }
        Err(e) if e.is_condition_failure() => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// `imports/<id>/rejects.csv`: line, reason, detail, original row.
async fn write_rejects(services: &Services, id: &str) -> Result<(), AudienceError> {
    let mut out = String::from("row,reason,detail,original_row\n");
    let mut cursor = None;
    loop {
        let page = services
            .table
            .query(
                Query::partition(keys::import_pk(id))
                    .sk(SortKeyCondition::BeginsWith(keys::REJECT_PREFIX.into()))
                    .limit(1000)
                    .after(cursor),
            )
            .await?;
        for item in page.items {
            let reject: RejectItem = records::from_item(item)?;
            out.push_str(&format!(
                "{},{},{},{}\n",
                reject.line,
                reject.reason.as_str(),
                csv_field(&reject.detail),
                csv_field(&reject.original)
            ));
        }
        cursor = page.next;
        if cursor.is_none() {
            break;
        }
    }
    services
        .blobs
        .put(&keys::rejects_blob(id), out.into_bytes().into(), "text/csv")
        .await?;
    Ok(())
}

fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// An import that has not ended (completed, failed or cancelled).
fn unfinished_condition() -> Condition {
    Condition::Any(
        [
            ImportStatus::AwaitingUpload,
            ImportStatus::Uploaded,
            ImportStatus::Parsing,
            ImportStatus::Validating,
            ImportStatus::Paused,
        ]
        .iter()
        .map(|s| Condition::equals("status", s.as_str()))
        .collect(),
    )
}

/// Marks the import of a validation batch as paused for an operator.
pub(crate) fn paused_condition() -> Condition {
    Condition::Any(vec![
        Condition::equals("status", ImportStatus::Parsing.as_str()),
        Condition::equals("status", ImportStatus::Validating.as_str()),
    ])
}
