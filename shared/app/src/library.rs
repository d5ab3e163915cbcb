//! The template library (docs/architecture.md, "The single table"): saving, versioning,
//! archiving and restoring templates, and checking a template's tokens against a list.
//!
//! `TEMPLATE#<id>` / `META` holds the template as it is now, with a `revision` every write
//! bumps (each write is conditional on the revision it read). `TEMPLATE#<id>` / `V#<version>`
//! holds each version's text, written once, in the same transaction that makes it the latest:
//! a campaign that names version 2 can always read version 2.

use serde::Serialize;
use serde_json::Value;
use trickle_domain::campaign::library::{
    token_check, tokens_of_columns, LibraryError, RawTemplate, SavedTemplate, TemplateChoice,
    TemplateEdit, TemplateVersion, TokenFlag,
};
use trickle_domain::campaign::Template;
use trickle_domain::TemplateId;

use crate::ports::table::{Condition, Index, Item, Key, Query, SortKeyCondition, TxOp};
use crate::ports::TableError;
use crate::records;
use crate::Services;

/// gsi1 partitions listing the library, newest first: templates in use, and archived ones.
pub const ACTIVE_INDEX: &str = "TEMPLATES#active";
pub const ARCHIVED_INDEX: &str = "TEMPLATES#archived";
const REVISION: &str = "revision";
const VERSION_PREFIX: &str = "V#";
/// Attempts at a write when another write to the same template got in first.

#[derive(Debug, thiserror::Error)]
pub enum TemplatesError {
    #[error(transparent)]
    Invalid(#[from] LibraryError),
    #[error("no template has the id {0}; `GET /v1/templates` lists the templates there are")]
    NotFound(String),
    #[error("template \u{201c}{name}\u{201d} has no version {version}; its latest is {latest}")]
    NoSuchVersion {
        name: String,
        version: u32,
        latest: u32,
    },
    #[error("template \u{201c}{0}\u{201d} is archived; restore it first")]
    Archived(String),
    #[error("template \u{201c}{0}\u{201d} is not archived")]
    NotArchived(String),
    #[error("no list has the id {0}")]
    ListNotFound(String),
    #[error("the template changed while it was being saved; try again")]
    Busy,
    #[error("stored template is unreadable: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Store(#[from] TableError),
}

pub type TemplatePage = crate::paging::Paged<SavedTemplate>;

/// What a template's tokens meet in a list: the tokens its columns fill, and the flags.
#[derive(Debug, Clone, Serialize)]
pub struct TokenCheck {
    pub list_id: String,
    /// The tokens the list's columns fill; `None` when the list's columns are not known (a
    /// list made before imports recorded them): then nothing is flagged and activation's
    /// member check is the only one.
    pub columns: Option<Vec<String>>,
    pub flags: Vec<CheckedToken>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CheckedToken {
    #[serde(flatten)]
    pub flag: TokenFlag,
    /// The flag in plain words.
    pub description: String,
}

fn meta(id: &str) -> Key {
    Key::new(format!("TEMPLATE#{id}"), "META")
}

fn version_key(id: &str, version: u32) -> Key {
    Key::new(
        format!("TEMPLATE#{id}"),
        format!("{VERSION_PREFIX}{version:06}"),
    )
}

fn corrupt(e: impl std::fmt::Display) -> TemplatesError {
    TemplatesError::Corrupt(e.to_string())
}

fn meta_item(template: &SavedTemplate, revision: i64) -> Result<Item, TemplatesError> {
    let id = template.id.as_str();
    let mut item = records::to_item(&meta(id), template).map_err(corrupt)?;
    item.insert(REVISION.into(), revision.into());
    let listing = if template.archived_at.is_some() {
        ARCHIVED_INDEX
    } else {
        ACTIVE_INDEX
    };
    item.insert(Index::Gsi1.pk_attr().into(), listing.into());
    item.insert(
        Index::Gsi1.sk_attr().into(),
        format!("{}#{id}", template.created_at.to_rfc3339()).into(),
    );
    Ok(item)
}

fn version_op(version: &TemplateVersion) -> Result<TxOp, TemplatesError> {
    let key = version_key(version.template_id.as_str(), version.version);
    Ok(TxOp::Put {
        item: records::to_item(&key, version).map_err(corrupt)?,
        condition: Some(Condition::ItemAbsent),
    })
}

/// A template as read, with the revision its next write must match.
struct Read {
    template: SavedTemplate,
    revision: i64,
}

async fn read(services: &Services, id: &str) -> Result<Read, TemplatesError> {
    let not_found = || TemplatesError::NotFound(id.chars().take(64).collect());
    if TemplateId::parse(id).is_err() {
        return Err(not_found());
    }
    let mut item = services.table.get(&meta(id)).await?.ok_or_else(not_found)?;
    let revision = item.remove(REVISION).and_then(|v| v.as_i64()).unwrap_or(0);
    Ok(Read {
        template: records::from_item(item).map_err(corrupt)?,
        revision,
    })
}

/// `POST /v1/templates`: a new template, at version 1.
pub async fn create(
    services: &Services,
    raw: RawTemplate,
) -> Result<SavedTemplate, TemplatesError> {
    let text = raw.parse()?;
    let template = SavedTemplate::new(TemplateId::new(), text, services.clock.now());
    services
        .table
        .transact(vec![
            TxOp::Put {
                item: meta_item(&template, 1)?,
                condition: Some(Condition::ItemAbsent),
            },
            version_op(&template.current_version())?,
        ])
        .await?;
    Ok(template)
}

pub async fn get(services: &Services, id: &str) -> Result<SavedTemplate, TemplatesError> {
    Ok(read(services, id).await?.template)
}

/// The library, newest first: the templates in use, or (`archived`) the archived ones.
pub async fn list(
    services: &Services,
    archived: bool,
    limit: u32,
    after: Option<String>,
) -> Result<TemplatePage, TemplatesError> {
    let listing = if archived {
        ARCHIVED_INDEX
    } else {
        ACTIVE_INDEX
    };
    crate::paging::newest_first(
        services,
        listing,
        limit.min(crate::paging::MAX_PAGE),
        after,
        |mut item| {
            item.remove(REVISION);
            records::from_item(item).map_err(corrupt)
        },
    )
    .await
}

/// Writes `change(template)` conditional on the revision read, retrying when another write got
/// in first. A change of text adds its version in the same transaction.
async fn change(
    services: &Services,
    id: &str,
    change: impl Fn(&SavedTemplate) -> Result<SavedTemplate, TemplatesError>,
) -> Result<SavedTemplate, TemplatesError> {
    let lost = |e: &TemplatesError| matches!(e, TemplatesError::Store(e) if crate::races::lost(e));
    crate::races::retry_lost_races(lost, || async {
        let read = read(services, id).await?;
        let next = change(&read.template)?;
        let mut ops = vec![TxOp::Put {
            item: meta_item(&next, read.revision + 1)?,
            condition: Some(Condition::equals(REVISION, read.revision)),
        }];
        if next.version != read.template.version {
            ops.push(version_op(&next.current_version())?);
        }
        services.table.transact(ops).await?;
        Ok(next)
    })
    .await
    .map_err(|e| if lost(&e) { TemplatesError::Busy } else { e })
}

/// `PATCH /v1/templates/{id}`: a rename, or a new text (a new version); an archived template
/// is restored before it is changed.
pub async fn edit(
    services: &Services,
    id: &str,
    edit: TemplateEdit,
) -> Result<SavedTemplate, TemplatesError> {
    let now = services.clock.now();
    change(services, id, |t| {
        if t.archived_at.is_some() {
            return Err(TemplatesError::Archived(t.name.clone()));
        }
        Ok(t.edited(&edit, now)?)
    })
    .await
}

/// `POST /v1/templates/{id}/archive`: out of the library's listing; campaigns keep it.
pub async fn archive(services: &Services, id: &str) -> Result<SavedTemplate, TemplatesError> {
    let now = services.clock.now();
    change(services, id, |t| {
        if t.archived_at.is_some() {
            return Err(TemplatesError::Archived(t.name.clone()));
        }
        let mut next = t.clone();
        next.archived_at = Some(now);
        next.updated_at = now;
        Ok(next)
    })
    .await
}

/// `POST /v1/templates/{id}/restore`: back in the library.
pub async fn restore(services: &Services, id: &str) -> Result<SavedTemplate, TemplatesError> {
    let now = services.clock.now();
    change(services, id, |t| {
        if t.archived_at.is_none() {
            return Err(TemplatesError::NotArchived(t.name.clone()));
        }
        let mut next = t.clone();
        next.archived_at = None;
        next.updated_at = now;
        Ok(next)
    })
    .await
}

/// Every version of a template, newest first.
pub async fn versions(
    services: &Services,
    id: &str,
) -> Result<Vec<TemplateVersion>, TemplatesError> {
    read(services, id).await?;
    let mut all = Vec::new();
    let mut after = None;
    loop {
        let page = services
            .table
            .query(
                Query::partition(format!("TEMPLATE#{id}"))
                    .sk(SortKeyCondition::BeginsWith(VERSION_PREFIX.into()))
                    .backward()
                    .limit(200)
                    .after(after),
            )
            .await?;
        for item in page.items {
            all.push(records::from_item(item).map_err(corrupt)?);
        }
        match page.next {
            Some(next) => after = Some(next),
            None => return Ok(all),
        }
    }
}

pub async fn version(
    services: &Services,
    id: &str,
    version: u32,
) -> Result<TemplateVersion, TemplatesError> {
    let template = read(services, id).await?.template;
    let item = services.table.get(&version_key(id, version)).await?;
    match item {
        Some(item) => records::from_item(item).map_err(corrupt),
        None => Err(TemplatesError::NoSuchVersion {
            name: template.name,
            version,
            latest: template.version,
        }),
    }
}

/// The version a new campaign takes: the one chosen, or the latest. An archived template
/// starts no new campaign.
pub async fn choose(
    services: &Services,
    choice: &TemplateChoice,
) -> Result<TemplateVersion, TemplatesError> {
    let template = get(services, &choice.id).await?;
    if template.archived_at.is_some() {
        return Err(TemplatesError::Archived(template.name));
    }
    match choice.version {
        None => Ok(template.current_version()),
        Some(v) if v == template.version => Ok(template.current_version()),
        Some(v) => version(services, &choice.id, v).await,
    }
}

/// The tokens a list's columns fill, from the mapping its import read the file with; `None`
/// when the list has no recorded mapping.
pub async fn list_tokens(
    services: &Services,
    list_id: &str,
) -> Result<Option<Vec<String>>, TemplatesError> {
    let missing = || TemplatesError::ListNotFound(list_id.chars().take(64).collect());
    let Some(list) = services
        .table
        .get(&crate::audience::keys::list(list_id))
        .await?
    else {
        return Err(missing());
    };
    let Some(import_id) = list.get("import_id").and_then(Value::as_str) else {
        return Ok(None);
    };
    let import = match crate::audience::store::load(services, import_id).await {
        Ok(import) => import,
        Err(crate::audience::AudienceError::NotFound(_)) => return Ok(None),
        Err(e) => return Err(TemplatesError::Corrupt(e.to_string())),
    };
    Ok(import.format.map(|f| tokens_of_columns(&f.mapping)))
}

/// The flags of `messages` (label and text) against the columns of `list_id`.
pub async fn check_messages(
    services: &Services,
    list_id: &str,
    messages: &[(&str, &Template)],
) -> Result<TokenCheck, TemplatesError> {
    let columns = list_tokens(services, list_id).await?;
    let flags = match &columns {
        None => Vec::new(),
        Some(columns) => messages
            .iter()
            .flat_map(|(label, message)| token_check(label, message, columns))
            .map(|flag| CheckedToken {
                description: flag.describe(),
                flag,
            })
            .collect(),
    };
    Ok(TokenCheck {
        list_id: list_id.to_string(),
        columns,
        flags,
    })
}

/// `GET /v1/templates/{id}/token-check?list_id=…`: the latest version against a list.
pub async fn check(
    services: &Services,
    id: &str,
    list_id: &str,
) -> Result<TokenCheck, TemplatesError> {
    let template = get(services, id).await?;
    check_messages(services, list_id, &[("template", &template.message)]).await
}
