//! The review list (`REVIEW`/`<time>#<contact id>`): contacts a campaign skipped because someone
//! has been in touch with them before, for a person to handle.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use trickle_domain::campaign::SkipReason;

use super::{keys, store, CampaignsError};
use crate::ports::table::Query;
use crate::records;
use crate::Services;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewEntry {
    pub contact_id: String,
    pub phone: String,
    pub campaign_id: String,
    pub reason: SkipReason,
    pub added_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReviewPage {
    pub items: Vec<ReviewEntry>,
    pub next: Option<String>,
}

/// Newest first.
pub async fn list(
    services: &Services,
    limit: u32,
    after: Option<String>,
) -> Result<ReviewPage, CampaignsError> {
    let page = services
        .table
        .query(
            Query::partition(keys::REVIEW_PK)
                .backward()
                .limit(limit)
                .after(after),
        )
        .await?;
    let items = page
        .items
        .into_iter()
        .map(|i| records::from_item(i).map_err(store::corrupt))
        .collect::<Result<_, _>>()?;
    Ok(ReviewPage {
        items,
        next: page.next,
    })
}
