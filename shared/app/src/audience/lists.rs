//! Lists (visible once their import completed), their members in send order, suppressions.

use serde_json::Value;
use trickle_domain::PhoneNumber;

use super::model::{ListRecord, ListStatus, MemberRecord};
use super::{keys, AudienceError};
use crate::ports::table::{Query, SortKeyCondition};
use crate::Services;
use crate::{paging, records};

pub use crate::paging::Paged;

/// Completed lists, newest first.
pub async fn list_lists(
    services: &Services,
    limit: u32,
    cursor: Option<String>,
) -> Result<Paged<ListRecord>, AudienceError> {
    paging::newest_first(services, keys::LISTS_INDEX_PK, limit, cursor, |item| {
        Ok(records::from_item(item)?)
    })
    .await
}

/// A completed list; a list still being built does not exist yet for its readers.
pub async fn get_list(services: &Services, id: &str) -> Result<ListRecord, AudienceError> {
    let found = services.table.get(&keys::list(id)).await?;
    let list: Option<ListRecord> = found.map(records::from_item).transpose()?;
    list.filter(|l| l.status == ListStatus::Completed)
        .ok_or_else(|| AudienceError::NotFound(format!("list {id}")))
}

/// Members in list (send) order.
pub async fn members(
    services: &Services,
    id: &str,
    limit: u32,
    cursor: Option<String>,
) -> Result<Paged<MemberRecord>, AudienceError> {
    get_list(services, id).await?;
    let page = services
        .table
        .query(
            Query::partition(keys::list_pk(id))
                .sk(SortKeyCondition::BeginsWith(keys::MEMBER_PREFIX.into()))
                .limit(limit)
                .after(cursor),
        )
        .await?;
    let items = page
        .items
        .into_iter()
        .map(records::from_item)
        .collect::<Result<_, _>>()?;
    Ok(Paged {
        items,
        next: page.next,
    })
}

/// The suppression entry of a number, if an uploaded do-not-contact list holds it.
pub async fn suppression(
    services: &Services,
    phone: &PhoneNumber,
) -> Result<Option<Value>, AudienceError> {
    let found = services
        .table
        .get(&keys::suppression(phone.as_str()))
        .await?;
    Ok(found.map(|item| {
        let record: serde_json::Map<String, Value> = records::from_item(item).unwrap_or_default();
        Value::Object(record)
    }))
}

/// True when campaigns must not text `phone`.
pub async fn is_suppressed(
    services: &Services,
    phone: &PhoneNumber,
) -> Result<bool, AudienceError> {
    Ok(services
        .table
        .get(&keys::suppression(phone.as_str()))
        .await?
        .is_some())
}
