//! CSV exports, streamed page by page: a campaign's sends with their outcome and first reply,
//! a list's members, the review list and the opt-out audit. Every cell is formula-safe
//! (`csv_export::cell`), and each page of rows is one chunk of the body, so an export of any
//! size holds one page in memory. Whatever can be refused (an unknown campaign or list) is
//! refused before the first byte.

use std::future::Future;
use std::pin::Pin;

use bytes::Bytes;
use futures::stream::{self, Stream, StreamExt};
use serde_json::Value;
use trickle_domain::csv_export;

use crate::campaigns::audience as campaign_audience;
use crate::campaigns::{review, sends, stats, store, CampaignsError};
use crate::webhooks::opt_out;
use crate::Services;

/// Rows per page read (and per chunk written).
const PAGE: u32 = 200;

/// The body of an export: chunks of CSV text, or the error that cut it short.
pub type CsvStream = Pin<Box<dyn Stream<Item = Result<Bytes, std::io::Error>> + Send>>;

/// One page of rows (already CSV text) and the cursor of the next.
type PageOut = Result<(String, Option<String>), std::io::Error>;

fn cut(e: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::other(e.to_string())
}

fn line(cells: &[String]) -> String {
    let cells: Vec<String> = cells.iter().map(|c| csv_export::cell(c)).collect();
    format!("{}\r\n", cells.join(","))
}

/// The header, then one chunk per page `fetch` reads, until it answers no next cursor.
fn paged<F, Fut>(header: &[&str], fetch: F) -> CsvStream
where
    F: FnMut(Option<String>) -> Fut + Send + 'static,
    Fut: Future<Output = PageOut> + Send,
{
    enum Step {
        Header(String),
        Page(Option<String>),
        Done,
    }
    let header = line(&header.iter().map(|h| h.to_string()).collect::<Vec<_>>());
    stream::unfold(
        (Step::Header(header), fetch),
        |(step, mut fetch)| async move {
            match step {
                Step::Header(text) => Some((Ok(Bytes::from(text)), (Step::Page(None), fetch))),
                Step::Page(cursor) => match fetch(cursor).await {
                    Ok((rows, Some(next))) => {
                        Some((Ok(Bytes::from(rows)), (Step::Page(Some(next)), fetch)))
                    }
                    Ok((rows, None)) => Some((Ok(Bytes::from(rows)), (Step::Done, fetch))),
                    Err(e) => Some((Err(e), (Step::Done, fetch))),
                },
                Step::Done => None,
            }
        },
    )
    .boxed()
}

fn text(v: &Value, key: &str) -> String {
    match v.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

pub const SENDS_HEADER: [&str; 14] = [
    "contact_id",
    "phone",
    "position",
    "variant",
    "state",
    "run",
    "planned_at",
    "sent_at",
    "provider_message_id",
    "error",
    "replied",
    "first_reply_at",
    "first_reply",
    "opted_out_after",
];

/// A campaign's sends, in contact-id order, each with its outcome: the first reply after it
/// went out, and whether the person opted out after it.
pub async fn campaign_sends(services: &Services, id: &str) -> Result<CsvStream, CampaignsError> {
    store::load(services, id).await?;
    let (services, id) = (services.clone(), id.to_string());
    Ok(paged(&SENDS_HEADER, move |cursor| {
        let (services, id) = (services.clone(), id.clone());
        async move {
            let page = sends::list(&services, &id, PAGE, cursor)
                .await
                .map_err(cut)?;
            let mut rows = String::new();
            for send in &page.items {
                let sent = send.sent_at;
                let (reply, opted_out) = match sent {
                    Some(at) => (
                        stats::first_reply_since(&services, &send.contact_id, at)
                            .await
                            .map_err(cut)?,
                        stats::opted_out_since(&services, &send.phone, at)
                            .await
                            .map_err(cut)?,
                    ),
                    None => (None, false),
                };
                let reply = reply.map(Value::Object).unwrap_or(Value::Null);
                rows.push_str(&line(&[
                    send.contact_id.clone(),
                    send.phone.clone(),
                    send.position.to_string(),
                    format!("{:?}", send.variant),
                    send.state.as_str().to_string(),
                    send.slot.clone(),
                    send.planned_at.to_rfc3339(),
                    sent.map(|t| t.to_rfc3339()).unwrap_or_default(),
                    send.provider_id.clone().unwrap_or_default(),
                    send.error.clone().unwrap_or_default(),
                    if reply.is_null() { "no" } else { "yes" }.into(),
                    text(&reply, "occurred_at"),
                    text(&reply, "text"),
                    if opted_out { "yes" } else { "no" }.into(),
                ]));
            }
            Ok((rows, page.next))
        }
    }))
}

pub const MEMBERS_HEADER: [&str; 7] = [
    "position",
    "contact_id",
    "phone",
    "first_name",
    "last_name",
    "email",
    "attributes",
];

/// A list's members in list order, with each contact's name, email and attributes (as JSON).
/// Paged by position, as the campaign engine reads a list.
pub async fn list_members(services: &Services, id: &str) -> Result<CsvStream, CampaignsError> {
    if campaign_audience::list_info(services, id).await?.is_none() {
        return Err(CampaignsError::NotFound);
    }
    let (services, id) = (services.clone(), id.to_string());
    Ok(paged(&MEMBERS_HEADER, move |cursor| {
        let (services, id) = (services.clone(), id.clone());
        async move {
            let from = cursor.and_then(|c| c.parse::<u64>().ok()).unwrap_or(0);
            let members = campaign_audience::members_from(&services, &id, from, PAGE)
                .await
                .map_err(cut)?;
            let mut rows = String::new();
            for member in &members {
                let contact = crate::contacts::get(&services, &member.contact_id)
                    .await
                    .ok();
                let field = |f: fn(&trickle_domain::Contact) -> Option<String>| {
                    contact.as_ref().and_then(f).unwrap_or_default()
                };
                let phone = member
                    .phone
                    .clone()
                    .or_else(|| contact.as_ref().map(|c| c.phone.to_string()))
                    .unwrap_or_default();
                rows.push_str(&line(&[
                    member.position.to_string(),
                    member.contact_id.clone(),
                    phone,
                    field(|c| c.first_name.clone()),
                    field(|c| c.last_name.clone()),
                    field(|c| c.email.clone()),
                    contact
                        .as_ref()
                        .map(|c| serde_json::to_string(&c.attributes).unwrap_or_default())
                        .unwrap_or_default(),
                ]));
            }
            let next = (members.len() as u32 == PAGE)
                .then(|| members.last().map(|m| (m.position + 1).to_string()))
                .flatten();
            Ok((rows, next))
        }
    }))
}

pub const REVIEW_HEADER: [&str; 6] = [
    "contact_id",
    "phone",
    "campaign_id",
    "reason",
    "added_at",
    "position",
];

/// The review list, newest first.
pub fn review_list(services: &Services) -> CsvStream {
    let services = services.clone();
    paged(&REVIEW_HEADER, move |cursor| {
        let services = services.clone();
        async move {
            let page = review::list(&services, PAGE, cursor).await.map_err(cut)?;
            let mut rows = String::new();
            for listed in &page.items {
                let e = &listed.entry;
                rows.push_str(&line(&[
                    e.contact_id.clone(),
                    e.phone.clone(),
                    e.campaign_id.clone(),
                    serde_json::to_value(e.reason)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default(),
                    e.added_at.to_rfc3339(),
                    e.position.map(|p| p.to_string()).unwrap_or_default(),
                ]));
            }
            Ok((rows, page.next))
        }
    })
}

pub const OPT_OUTS_HEADER: [&str; 9] = [
    "phone",
    "status",
    "changed_at",
    "action",
    "actor",
    "at",
    "text",
    "reason",
    "campaign_id",
];

/// The opt-out audit: one row per change (a number never changed has one row).
pub fn opt_out_audit(services: &Services) -> CsvStream {
    let services = services.clone();
    paged(&OPT_OUTS_HEADER, move |cursor| {
        let services = services.clone();
        async move {
            let (items, next) = opt_out::list(&services, 100, cursor).await.map_err(cut)?;
            let mut rows = String::new();
            for item in &items {
                let audit = item["audit"].as_array().cloned().unwrap_or_default();
                let changes = if audit.is_empty() {
                    vec![Value::Null]
                } else {
                    audit
                };
                for a in changes {
                    rows.push_str(&line(&[
                        text(item, "phone"),
                        text(item, "status"),
                        text(item, "updated_at"),
                        text(&a, "action"),
                        text(&a, "actor"),
                        text(&a, "at"),
                        text(&a, "text"),
                        text(&a, "reason"),
                        text(&a, "campaign_id"),
                    ]));
                }
            }
            Ok((rows, next))
        }
    })
}
