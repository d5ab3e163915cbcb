//! The parse step: reads the next chunk of rows from the uploaded file, records candidates
//! (deduplicated across the whole file by a guard item per number), rejects and validation
//! batches, then moves the checkpoint — only from where the step started.

use std::collections::HashSet;

use serde_json::Value;
use tokio::io::AsyncReadExt;
use trickle_domain::csv_import::reader::RowRunsOn;
use trickle_domain::csv_import::{
    rows_from, FileFormat, ParseCounts, ParsedRow, RowPosition, RowReader, SNIFF_BYTES,
};
use trickle_domain::PhoneNumber;

use super::finish::{complete, maybe_finish};
use super::model::{CandidateItem, ImportKind, ImportRecord, ImportStatus, RejectItem};
use super::steps::{send_batch, send_step, NUMBERS_PER_BATCH};
use super::store::{self, fail};
use super::{keys, AudienceError, AudienceSettings};
use crate::ports::blobs::Revision;
use crate::ports::table::{rules, Condition, Item, TxOp, Update, MAX_TRANSACTION_BYTES};
use crate::queues::Step;
use crate::records;
use crate::Services;

/// Rows per table transaction while parsing (two writes each).
const ROWS_PER_TRANSACTION: usize = 50;

async fn detect_format(
    services: &Services,
    import: &ImportRecord,
) -> Result<Option<FileFormat>, AudienceError> {
    let Some(mut reader) = services
        .blobs
        .open_version(&import.object_key, 0, import.revision())
        .await?
    else {
        fail(services, &import.id, REPLACED).await?;
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
    /// A row that never ends: the file cannot be read past it.
    runaway: Option<RowRunsOn>,
}

/// Up to `max_rows` rows from `from`, read on a blocking thread from the streaming blob.
async fn read_chunk(
    services: &Services,
    (key, revision): (&str, Revision<'_>),
    format: &FileFormat,
    from: RowPosition,
    max_rows: usize,
) -> Result<Option<Chunk>, AudienceError> {
    let seekable = format.encoding.offsets_match_file();
    let offset = if seekable {
        format.encoding.bom_len() + from.offset
    } else {
        0
    };
    let Some(reader) = services.blobs.open_version(key, offset, revision).await? else {
        return Ok(None);
    };
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
        let mut runaway = None;
        for row in rows {
            let row = match row {
                Ok(row) => row,
                Err(e) => match RowRunsOn::behind(&e) {
                    Some(row) => {
                        runaway = Some(row);
                        break;
                    }
                    None => return Err(read(e)),
                },
            };
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
            runaway,
        })
    })
    .await
    .map_err(|e| AudienceError::Read(e.to_string()))?
    .map(Some)
}

/// Why an import stops when its file is not the one announced (gone, or written again).
const REPLACED: &str = "the uploaded file is missing or was replaced after it was uploaded: upload it again as a new import";

/// One parse step: reads the next chunk of rows, records candidates (deduplicated across the
/// whole file by a guard item per number), rejects and validation batches, then moves the
/// checkpoint.
pub async fn parse_chunk(
    services: &Services,
    settings: &AudienceSettings,
    id: &str,
) -> Result<(), AudienceError> {
    let mut import = store::load(services, id).await?;
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
        (&import.object_key, import.revision()),
        &format,
        from,
        settings.parse_chunk_rows,
    )
    .await?;
    let Some(chunk) = chunk else {
        return fail(services, id, REPLACED).await;
    };
    if let Some(runaway) = chunk.runaway {
        return fail(services, id, &runaway.to_string()).await;
    }

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
        // Large rows make fewer rows per transaction (DynamoDB takes 4 MB at most).
        let sizes: Vec<usize> = ops
            .iter()
            .map(|row| row.iter().map(rules::op_bytes).sum())
            .collect();
        if sizes.iter().sum::<usize>() > MAX_TRANSACTION_BYTES / 2 {
            for &i in group {
                fresh[i] = guard_one(services, &import, &chunk.rows[i], format.delimiter).await?;
            }
            continue;
        }
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
    for group in rules::pack(rejects.into_iter().map(|op| vec![op]).collect()) {
        services.table.transact(group).await?;
    }
    if import.kind == ImportKind::Contacts {
        for batch in numbers.chunks(NUMBERS_PER_BATCH) {
            send_batch(services, id, batch).await?;
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
                import = store::load(services, id).await?;
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
