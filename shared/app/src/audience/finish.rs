//! The finish step: once every distinct number has a verdict, the candidates in file order
//! become list members (existing contacts reused, new ones created) or rejects; the last step
//! writes the rejects file and makes the list visible and the import completed together.

use serde_json::Value;
use trickle_domain::csv_export;
use trickle_domain::csv_import::{Candidate, RejectReason};

use super::model::{
    skipped_attr, CandidateItem, ImportKind, ImportStatus, ListRecord, MemberRecord, RejectItem,
    MOBILE, VERDICT,
};
use super::steps::send_step;
use super::store;
use super::{keys, AudienceError, AudienceSettings};
use crate::contacts::{self, ContactsError};
use crate::ports::table::{Condition, Index, Query, SortKeyCondition, TxOp, Update};
use crate::queues::Step;
use crate::records;
use crate::Services;

/// Sends the finish step once every distinct number has a verdict.
pub async fn maybe_finish(services: &Services, id: &str) -> Result<(), AudienceError> {
    let import = store::load(services, id).await?;
    if import.kind == ImportKind::Contacts
        && import.parse_done
        && import.status == ImportStatus::Validating
        && import.validated >= import.distinct
    {
        send_step(services, Step::Finish, id, "start").await?;
    }
    Ok(())
}

/// One finish step: the next candidates in file order become list members (existing contacts
/// are reused, new ones created with the phone-guard transaction), or rejects.
pub async fn finish_chunk(
    services: &Services,
    settings: &AudienceSettings,
    id: &str,
) -> Result<(), AudienceError> {
    let import = store::load(services, id).await?;
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
            Some(MOBILE) => None,
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
        let member = MemberRecord {
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
pub(crate) async fn complete(services: &Services, id: &str) -> Result<(), AudienceError> {
    let import = store::load(services, id).await?;
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
    let list = records::from_item::<ListRecord>(
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
                csv_export::cell(&reject.detail),
                csv_export::cell(&reject.original)
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
