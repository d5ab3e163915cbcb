//! Starting an import through the API, reading its status, resuming it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use trickle_domain::csv_import::ColumnRole;
use trickle_domain::ImportId;

use super::keys;
use super::model::{check_list_name, ImportKind, ImportRecord, ImportStatus};
use super::steps::send_step;
use super::store::{insert, new_records};
use super::{AudienceError, AudienceSettings};
use crate::queues::Step;

pub use super::model::MAX_LIST_NAME_CHARS;
pub use super::store::load;
use crate::ports::blobs::BlobReader;
use crate::ports::table::{Condition, Update};
use crate::records;
use crate::Services;

#[derive(Debug, Clone, Deserialize)]
pub struct NewImport {
    pub list_name: String,
    #[serde(default)]
    pub kind: Option<ImportKind>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ImportCreated {
    pub id: String,
    pub list_id: String,
    pub upload_url: String,
    pub method: String,
    pub headers: std::collections::BTreeMap<String, String>,
    pub expires_at: DateTime<Utc>,
}

/// `POST /v1/imports`: an import awaiting its file, and where to upload it.
pub async fn create(
    services: &Services,
    settings: &AudienceSettings,
    request: NewImport,
) -> Result<ImportCreated, AudienceError> {
    let list_name = check_list_name(&request.list_name)?;
    let id = ImportId::new();
    let key = keys::upload_blob(id.as_str());
    let upload = services
        .blobs
        .presign_put(&key, "text/csv", settings.upload_expiry)
        .await?;
    let (import, list) = new_records(
        &id,
        list_name,
        request.kind.unwrap_or(ImportKind::Contacts),
        ImportStatus::AwaitingUpload,
        key,
        None,
        services.clock.now(),
    );
    insert(services, &import, &list).await?;
    Ok(ImportCreated {
        id: import.id,
        list_id: import.list_id,
        upload_url: upload.url,
        method: upload.method,
        headers: upload.headers,
        expires_at: upload.expires_at,
    })
}

/// What `GET /v1/imports/{id}` shows.
pub fn view(import: &ImportRecord) -> Value {
    let mapping = import.format.as_ref().map(|f| {
        let columns: Vec<Value> = f
            .mapping
            .columns
            .iter()
            .map(|c| {
                let role = match c.role {
                    ColumnRole::Phone { mobile: true } => "mobile_phone".to_string(),
                    ColumnRole::Phone { mobile: false } => "phone".to_string(),
                    other => serde_json::to_value(other)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default(),
                };
                serde_json::json!({"header": c.header, "role": role, "attribute": c.attribute})
            })
            .collect();
        serde_json::json!({
            "has_header": f.mapping.has_header,
            "encoding": f.encoding,
            "delimiter": f.delimiter.to_string(),
            "columns": columns,
            "description": f.mapping.describe(),
        })
    });
    let skipped: serde_json::Map<String, Value> = import
        .skipped_by_reason()
        .into_iter()
        .map(|(r, n)| (r.as_str().to_string(), Value::from(n)))
        .collect();
    serde_json::json!({
        "id": import.id,
        "kind": import.kind,
        "status": import.status.as_str(),
        "list_id": import.list_id,
        "list_name": import.list_name,
        "mapping": mapping,
        "progress": {
            "rows_read": import.parse.rows,
            "contacts_found": import.parse.contacts,
            "duplicates_in_file": import.parse.duplicates,
            "without_phone": import.parse.no_phone + import.parse.invalid_phone,
            "ragged_rows": import.parse.ragged,
            "parsed": import.parse_done,
            "numbers_to_validate": import.distinct,
            "numbers_validated": import.validated,
            "members_added": import.added,
        },
        "added": import.added,
        "existing": import.existing,
        "skipped": skipped,
        "summary": import.summary(),
        "paused_reason": import.paused_reason,
        "error": import.error,
        "created_at": import.created_at,
        "completed_at": import.completed_at,
        "cancelled_at": import.cancelled_at,
    })
}

/// `POST /v1/imports/{id}/cancel`: stops an unfinished import for good. Its list never becomes
/// visible (completion is conditional on the status this changes); contacts an interrupted
/// finish step already created stay, as contacts, in no list.
pub async fn cancel(services: &Services, id: &str) -> Result<ImportRecord, AudienceError> {
    for _ in 0..5 {
        let import = load(services, id).await?;
        if matches!(
            import.status,
            ImportStatus::Completed | ImportStatus::Failed | ImportStatus::Cancelled
        ) {
            return Err(AudienceError::Conflict(format!(
                "import {id} is {}: only an unfinished import can be cancelled",
                import.status.as_str()
            )));
        }
        let now = serde_json::to_value(services.clock.now())?;
        let cancelled = services
            .table
            .update(
                &keys::import(id),
                Update::new()
                    .set("status", ImportStatus::Cancelled.as_str())
                    .remove("paused_reason")
                    .set("cancelled_at", now.clone())
                    .set("updated_at", now),
                Some(Condition::equals("status", import.status.as_str())),
            )
            .await;
        match cancelled {
            Ok(_) => {
                crate::metrics::record(crate::metrics::Metric::count(
                    "Imports",
                    &[("Outcome", "cancelled")],
                ));
                return load(services, id).await;
            }
            // A worker moved it on meanwhile: look again.
            Err(e) if e.is_condition_failure() => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(AudienceError::Conflict(format!(
        "import {id} kept changing; try again"
    )))
}

/// `POST /v1/imports/{id}/resume`: a paused import validates again.
pub async fn resume(services: &Services, id: &str) -> Result<ImportRecord, AudienceError> {
    let import = load(services, id).await?;
    if import.status != ImportStatus::Paused {
        return Err(AudienceError::Conflict(format!(
            "import {id} is {}, not paused",
            import.status.as_str()
        )));
    }
    let status = if import.parse_done {
        ImportStatus::Validating
    } else {
        ImportStatus::Parsing
    };
    let updated = services
        .table
        .update(
            &keys::import(id),
            Update::new()
                .set("status", status.as_str())
                .remove("paused_reason")
                .set("updated_at", serde_json::to_value(services.clock.now())?),
            Some(Condition::equals("status", ImportStatus::Paused.as_str())),
        )
        .await
        .map_err(|e| {
            if e.is_condition_failure() {
                AudienceError::Conflict(format!("import {id} is no longer paused"))
            } else {
                e.into()
            }
        })?;
    send_step(
        services,
        Step::Requeue,
        id,
        &format!("resume-{}", now_ms(services)),
    )
    .await?;
    if !import.parse_done {
        send_step(
            services,
            Step::Parse,
            id,
            &format!("resume-parse-{}", now_ms(services)),
        )
        .await?;
    }
    Ok(records::from_item(updated)?)
}

fn now_ms(services: &Services) -> i64 {
    services.clock.now().timestamp_millis()
}

/// `GET /v1/imports/{id}/rejects`: the rejects file, once the import completed.
pub async fn rejects(services: &Services, id: &str) -> Result<BlobReader, AudienceError> {
    let import = load(services, id).await?;
    if import.status != ImportStatus::Completed {
        return Err(AudienceError::Conflict(format!(
            "the rejects file is written when the import completes (it is {})",
            import.status.as_str()
        )));
    }
    services
        .blobs
        .open(&keys::rejects_blob(id))
        .await?
        .ok_or_else(|| AudienceError::NotFound(format!("rejects file of import {id}")))
}
