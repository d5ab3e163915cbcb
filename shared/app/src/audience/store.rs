//! The import record store: reading the import, writing a new import with its list, and the
//! conditions every step's commit is guarded by.

use chrono::{DateTime, Utc};
use trickle_domain::{ImportId, ListId};

use super::keys;
use super::model::{ImportKind, ImportRecord, ImportStatus, ListRecord, ListStatus};
use super::AudienceError;
use crate::ports::table::{Condition, Index, Query, TxOp, Update};
use crate::records;
use crate::Services;

/// The import and its (still invisible) list, written together.
pub(crate) fn new_records(
    id: &ImportId,
    list_name: String,
    kind: ImportKind,
    status: ImportStatus,
    object_key: String,
    object_version: Option<String>,
    now: DateTime<Utc>,
) -> (ImportRecord, ListRecord) {
    let list_id = ListId::from_uuid(id.uuid());
    let import = ImportRecord {
        id: id.to_string(),
        kind,
        list_id: list_id.to_string(),
        list_name: list_name.clone(),
        status,
        object_key,
        object_version,
        object_version_id: None,
        object_etag: None,
        format: None,
        error: None,
        paused_reason: None,
        parse: Default::default(),
        parse_offset: 0,
        parse_line: 0,
        parse_done: false,
        distinct: 0,
        validated: 0,
        finish_after: String::new(),
        finish_position: 0,
        added: 0,
        existing: 0,
        skipped: Default::default(),
        created_at: now,
        updated_at: now,
        completed_at: None,
        cancelled_at: None,
    };
    let list = ListRecord {
        id: list_id.to_string(),
        name: list_name,
        kind,
        status: ListStatus::Building,
        member_count: 0,
        import_id: id.to_string(),
        created_at: now,
        completed_at: None,
    };
    (import, list)
}

/// Writes a new import with its list; false when the import exists already.
pub(crate) async fn insert(
    services: &Services,
    import: &ImportRecord,
    list: &ListRecord,
) -> Result<bool, AudienceError> {
    let mut item = records::to_item(&keys::import(&import.id), import)?;
    item.insert(Index::Gsi1.pk_attr().into(), keys::IMPORTS_INDEX_PK.into());
    item.insert(
        Index::Gsi1.sk_attr().into(),
        format!(
            "{}#{}",
            import
                .created_at
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            import.id
        )
        .into(),
    );
    let written = services
        .table
        .transact(vec![
            TxOp::Put {
                item,
                condition: Some(Condition::ItemAbsent),
            },
            TxOp::Put {
                item: records::to_item(&keys::list(&list.id), list)?,
                condition: Some(Condition::ItemAbsent),
            },
        ])
        .await;
    match written {
        Ok(()) => Ok(true),
        Err(e) if e.is_condition_failure() => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// The import with this id, or `NotFound`.
pub async fn load(services: &Services, id: &str) -> Result<ImportRecord, AudienceError> {
    let item = services
        .table
        .get(&keys::import(id))
        .await?
        .ok_or_else(|| AudienceError::NotFound(format!("import {id}")))?;
    Ok(records::from_item(item)?)
}

/// Ends a running import as failed with a reason an operator reads; a completion or a cancel
/// that got there first stands.
pub(crate) async fn fail(services: &Services, id: &str, error: &str) -> Result<(), AudienceError> {
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

/// An import that has not ended (completed, failed or cancelled).
pub(crate) fn unfinished_condition() -> Condition {
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

/// The most recent imports, newest first.
pub async fn recent(services: &Services, limit: u32) -> Result<Vec<ImportRecord>, AudienceError> {
    let page = services
        .table
        .query(
            Query::on_index(Index::Gsi1, keys::IMPORTS_INDEX_PK)
                .backward()
                .limit(limit),
        )
        .await?;
    page.items
        .into_iter()
        .map(|i| records::from_item(i).map_err(AudienceError::from))
        .collect()
}
