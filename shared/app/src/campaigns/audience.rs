//! What a campaign reads about its audience from the records other families own: the list
//! (`LIST#<id>`/`META`, members `M#<position>`), contacts, opt-outs, suppressions and activities.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;
use trickle_domain::{Contact, PhoneNumber};

use super::keys;
use super::CampaignsError;
use crate::ports::table::{Query, SortKeyCondition};
use crate::records;
use crate::Services;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListInfo {
    pub completed: bool,
    pub member_count: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Member {
    #[serde(skip)]
    pub position: u64,
    pub contact_id: String,
    #[serde(default)]
    pub phone: Option<String>,
}

/// An activity under `CONTACT#<id>` as far as a campaign cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Activity {
    pub at: Option<DateTime<Utc>>,
    pub campaign_id: Option<String>,
}

pub async fn list_info(
    services: &Services,
    list_id: &str,
) -> Result<Option<ListInfo>, CampaignsError> {
    let Some(item) = services.table.get(&keys::list_meta(list_id)).await? else {
        return Ok(None);
    };
    Ok(Some(ListInfo {
        completed: item.get("status").and_then(Value::as_str) == Some("completed"),
        member_count: item
            .get("member_count")
            .and_then(Value::as_u64)
            .unwrap_or(0),
    }))
}

/// Up to `limit` members from position `from` on, in list order.
pub async fn members_from(
    services: &Services,
    list_id: &str,
    from: u64,
    limit: u32,
) -> Result<Vec<Member>, CampaignsError> {
    let page = services
        .table
        .query(
            Query::partition(keys::list_pk(list_id))
                .sk(SortKeyCondition::Between(
                    keys::member_sk(from),
                    keys::member_sk(999_999_999),
                ))
                .limit(limit),
        )
        .await?;
    page.items
        .into_iter()
        .map(|item| {
            let position = item
                .get("sk")
                .and_then(Value::as_str)
                .and_then(|sk| sk.strip_prefix(keys::MEMBER_PREFIX))
                .and_then(|p| p.parse::<u64>().ok())
                .ok_or_else(|| CampaignsError::Corrupt("list member without a position".into()))?;
            let mut member: Member = records::from_item(item).map_err(super::store::corrupt)?;
            member.position = position;
            Ok(member)
        })
        .collect()
}

/// The contact, or `None` when it is missing or unreadable (an invalid member).
pub async fn contact(
    services: &Services,
    contact_id: &str,
) -> Result<Option<Contact>, CampaignsError> {
    let item = services
        .table
        .get(&crate::records::contact(contact_id))
        .await?;
    Ok(item.and_then(|item| records::from_item(item).ok()))
}

pub async fn is_opted_out(
    services: &Services,
    phone: &PhoneNumber,
) -> Result<bool, CampaignsError> {
    let item = services.table.get(&keys::opt_out(phone.as_str())).await?;
    Ok(item.is_some_and(|i| i.get("status").and_then(Value::as_str) == Some("opted_out")))
}

pub async fn is_suppressed(
    services: &Services,
    phone: &PhoneNumber,
) -> Result<bool, CampaignsError> {
    Ok(services
        .table
        .get(&keys::suppression(phone.as_str()))
        .await?
        .is_some())
}

/// Every activity of a contact (messages, calls), oldest first.
pub async fn activities(
    services: &Services,
    contact_id: &str,
) -> Result<Vec<Activity>, CampaignsError> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let page = services
            .table
            .query(
                Query::partition(keys::contact_pk(contact_id))
                    .sk(SortKeyCondition::BeginsWith(keys::ACTIVITY_PREFIX.into()))
                    .limit(1000)
                    .after(cursor),
            )
            .await?;
        for item in page.items {
            // `ACT#<time>#<provider id>`
            let at = item
                .get("sk")
                .and_then(Value::as_str)
                .and_then(|sk| sk.strip_prefix(keys::ACTIVITY_PREFIX))
                .and_then(|rest| rest.split('#').next())
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.with_timezone(&Utc));
            let campaign_id = item
                .get("campaign_id")
                .and_then(Value::as_str)
                .map(str::to_string);
            out.push(Activity { at, campaign_id });
        }
        match page.next {
            Some(next) => cursor = Some(next),
            None => return Ok(out),
        }
    }
}
