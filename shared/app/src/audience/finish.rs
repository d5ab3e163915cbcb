//! The finish step: once every distinct number has a verdict, the candidates in file order
//! become list members (existing contacts reused, new ones created) or rejects; the last step
//! writes the rejects file and makes the list visible and the import completed together.

use serde_json::Value;
use trickle_domain::csv_export;
use trickle_domain::csv_import::{Candidate, RejectReason};
use trickle_domain::Contact;

use super::model::{
    skipped_attr, CandidateItem, ImportKind, ImportStatus, ListRecord, MemberRecord, RejectItem,
    MOBILE, VERDICT,
};
use super::steps::send_step;
use super::store;
use super::{keys, AudienceError, AudienceSettings};
use crate::contacts::{self, ContactsError};
use crate::ports::table::{rules, Condition, Index, Query, SortKeyCondition, TxOp, Update};
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
    let mut skipped: Vec<(RejectItem, RejectReason)> = Vec::new();
    let mut last_sk = start.clone();
    let mut rows = Vec::with_capacity(page.items.len());
    for item in &page.items {
        last_sk = item
            .get("sk")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        rows.push(records::from_item::<CandidateItem>(item.clone())?);
    }
    // Every verdict of the chunk in one read.
    let verdict_keys: Vec<_> = rows
        .iter()
        .map(|row| keys::number(id, row.phone.as_str()))
        .collect();
    let verdicts = services.table.get_many(&verdict_keys).await?;
    let mut mobiles = Vec::with_capacity(rows.len());
    for (row, verdict) in rows.into_iter().zip(verdicts) {
        let verdict =
            verdict.and_then(|n| n.get(VERDICT).and_then(Value::as_str).map(str::to_string));
        match verdict.as_deref() {
            Some(MOBILE) => mobiles.push(row),
            Some(other) => {
                let reason = serde_json::from_value::<RejectReason>(Value::from(other))?;
                let reject = RejectItem {
                    line: row.line,
                    reason,
                    detail: format!("NumVerify: {}", reason.words()),
                    original: row.original,
                };
                skipped.push((reject, reason));
            }
            None => {
                return Err(AudienceError::Conflict(format!(
                    "{} has no verdict yet",
                    row.phone
                )));
            }
        }
    }
    // The contacts, found or created together; members keep file order.
    let candidates = mobiles.iter().map(|row| row.candidate.clone()).collect();
    let contacts = contacts_for(services, id, candidates).await?;
    let mut writes = Vec::with_capacity(mobiles.len() + skipped.len());
    for (row, (contact_id, was_existing)) in mobiles.iter().zip(contacts) {
        let member = MemberRecord {
            position,
            contact_id,
            phone: row.phone.to_string(),
        };
        let item = records::to_item(&keys::member(&import.list_id, position), &member)?;
        writes.push(vec![TxOp::Put {
            item,
            condition: None,
        }]);
        position += 1;
        added += 1;
        if was_existing {
            existing += 1;
        }
    }
    let mut skipped_counts: Vec<(RejectReason, i64)> = Vec::new();
    for (reject, reason) in skipped {
        let item = records::to_item(&keys::reject(id, reject.line), &reject)?;
        writes.push(vec![TxOp::Put {
            item,
            condition: None,
        }]);
        match skipped_counts.iter_mut().find(|(r, _)| *r == reason) {
            Some((_, n)) => *n += 1,
            None => skipped_counts.push((reason, 1)),
        }
    }
    // Members and rejects in as few transactions as the store takes; a repeat of this step
    // writes the same items at the same keys.
    for group in rules::pack(writes) {
        services.table.transact(group).await?;
    }
    let skipped = skipped_counts;
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

/// The contacts mobile candidates add to the list, in their order: the one holding the number
/// already (`true`), or a new one. A contact this import created on an earlier, interrupted
/// delivery counts as new. Holders are read in one request; new contacts created together.
async fn contacts_for(
    services: &Services,
    import_id: &str,
    candidates: Vec<Candidate>,
) -> Result<Vec<(String, bool)>, AudienceError> {
    let guard_keys: Vec<_> = candidates
        .iter()
        .map(|c| records::phone_guard(c.phone.as_str()))
        .collect();
    let holders: Vec<Option<String>> = services
        .table
        .get_many(&guard_keys)
        .await?
        .into_iter()
        .map(|g| {
            g.and_then(|g| {
                g.get("contact_id")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
        })
        .collect();
    let held_keys: Vec<_> = holders
        .iter()
        .flatten()
        .map(|id| records::contact(id))
        .collect();
    let mut held = services.table.get_many(&held_keys).await?.into_iter();
    let mut found = Vec::with_capacity(candidates.len());
    let mut news = Vec::new();
    for (candidate, holder) in candidates.into_iter().zip(holders) {
        match holder {
            Some(holder) => {
                let ours = held
                    .next()
                    .flatten()
                    .and_then(|item| records::from_item::<Contact>(item).ok())
                    .is_some_and(|c| c.source.as_deref() == Some(import_id));
                found.push(Some((holder, !ours)));
            }
            None => {
                news.push(candidate.into_new_contact(import_id));
                found.push(None);
            }
        }
    }
    let mut created = contacts::create_new_all(services, news).await?.into_iter();
    found
        .into_iter()
        .map(|known| match known {
            Some(known) => Ok(known),
            None => match created.next().expect("one answer per new contact") {
                Ok(contact) => Ok((contact.id.to_string(), false)),
                Err(ContactsError::DuplicatePhone { existing, .. }) => Ok((existing, true)),
                Err(e) => Err(e.into()),
            },
        })
        .collect()
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
