//! One page of a listing and its continuation cursor, shared by every listing use-case.

use serde::Serialize;

use crate::ports::table::{Index, Item, Query, TableError};
use crate::Services;

/// Items of one page; `next` continues after the last (none: the listing ended).
#[derive(Debug, Clone, Serialize)]
pub struct Paged<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

/// Longest page of a listing whose items are large (campaigns, templates).
pub const MAX_PAGE: u32 = 200;

/// A page of a gsi1 listing partition, newest first, each item read by `decode`.
pub async fn newest_first<T, E: From<TableError>>(
    services: &Services,
    listing: &str,
    limit: u32,
    after: Option<String>,
    decode: impl FnMut(Item) -> Result<T, E>,
) -> Result<Paged<T>, E> {
    let page = services
        .table
        .query(
            Query::on_index(Index::Gsi1, listing)
                .backward()
                .limit(limit.max(1))
                .after(after),
        )
        .await?;
    Ok(Paged {
        items: page
            .items
            .into_iter()
            .map(decode)
            .collect::<Result<_, E>>()?,
        next: page.next,
    })
}
