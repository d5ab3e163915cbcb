//! Reading and writing the campaign record (`CAMPAIGN#<id>`/`META`).
//!
//! The stored item carries a `version` that every write bumps, so a write made from a stale
//! read fails its condition instead of undoing someone else's change (a pause racing a run).

use serde_json::Value;
use trickle_domain::campaign::{Campaign, CampaignState};

use super::keys;
use super::CampaignsError;
use crate::ports::table::{Condition, Index, Item};
use crate::records;
use crate::Services;

pub const VERSION: &str = "version";
pub const STATE: &str = "state";

/// A campaign as read, with the version its next write must match.
#[derive(Debug, Clone)]
pub struct Stored {
    pub campaign: Campaign,
    pub version: i64,
}

pub fn to_item(campaign: &Campaign, version: i64) -> Result<Item, CampaignsError> {
    let id = campaign.id.as_str();
    let mut item = records::to_item(&keys::campaign(id), campaign).map_err(corrupt)?;
    item.insert(VERSION.into(), version.into());
    item.insert(Index::Gsi1.pk_attr().into(), keys::ALL_CAMPAIGNS.into());
    item.insert(
        Index::Gsi1.sk_attr().into(),
        format!("{}#{id}", keys::time_key(campaign.created_at)).into(),
    );
    // Only active campaigns are in the due index.
    if let (CampaignState::Active, Some(at)) = (campaign.state, campaign.next_run_at) {
        item.insert(Index::Gsi2.pk_attr().into(), keys::DUE_ACTIVE.into());
        item.insert(
            Index::Gsi2.sk_attr().into(),
            keys::due_sort_key(at, id).into(),
        );
    }
    Ok(item)
}

pub fn from_item(item: Item) -> Result<Stored, CampaignsError> {
    let version = item.get(VERSION).and_then(Value::as_i64).unwrap_or(0);
    let campaign = records::from_item(item).map_err(corrupt)?;
    Ok(Stored { campaign, version })
}

pub async fn load(services: &Services, id: &str) -> Result<Stored, CampaignsError> {
    let item = services
        .table
        .get(&keys::campaign(id))
        .await?
        .ok_or(CampaignsError::NotFound)?;
    from_item(item)
}

/// Creates a campaign that must not exist yet.
pub async fn insert(services: &Services, campaign: &Campaign) -> Result<(), CampaignsError> {
    let item = to_item(campaign, 1)?;
    services
        .table
        .put(item, Some(Condition::ItemAbsent))
        .await?;
    Ok(())
}

/// Replaces the campaign if it is still in `expected` state at `expected.version`.
pub async fn replace(
    services: &Services,
    campaign: &Campaign,
    expected: &Stored,
) -> Result<(), CampaignsError> {
    let item = to_item(campaign, expected.version + 1)?;
    services
        .table
        .put(item, Some(unchanged_since(expected)))
        .await?;
    Ok(())
}

/// The condition that the stored campaign is the one that was read.
pub fn unchanged_since(read: &Stored) -> Condition {
    Condition::All(vec![
        Condition::equals(STATE, read.campaign.state.as_str()),
        Condition::equals(VERSION, read.version),
    ])
}

pub fn corrupt(e: impl std::fmt::Display) -> CampaignsError {
    CampaignsError::Corrupt(e.to_string())
}
