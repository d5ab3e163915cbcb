//! The send record (`CAMPAIGN#<id>`/`SEND#<contact id>`) and the queue message that carries it
//! to the send worker.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use trickle_domain::campaign::counts::FailureKind;
use trickle_domain::campaign::{SendState, Variant};

use super::{keys, store, CampaignsError};
use crate::ports::table::{Query, SortKeyCondition};
use crate::records;
use crate::Services;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendRecord {
    pub campaign_id: String,
    pub contact_id: String,
    pub phone: String,
    /// The member's position in the list (decides the variant).
    pub position: u64,
    pub variant: Variant,
    pub state: SendState,
    /// The run that planned it.
    pub slot: String,
    pub planned_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(default)]
    pub attempts: u32,
    #[serde(default)]
    pub provider_id: Option<String>,
    #[serde(default)]
    pub sent_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub error: Option<String>,
    /// When the current claim was taken, and until when it holds (SENDING).
    #[serde(default)]
    pub claimed_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub lease_until: Option<DateTime<Utc>>,
    /// The exact text sent (or being sent): what a provider lookup must match.
    #[serde(default)]
    pub text: Option<String>,
    /// Not to be claimed before this (the sender's daily cap was full: the next local day).
    #[serde(default)]
    pub not_before: Option<DateTime<Utc>>,
    /// The number the current claim sends from (a lookup asks about this number even if the
    /// campaign's sender changed while it was paused).
    #[serde(default)]
    pub sender: Option<String>,
    // What the counters read (crate::send_counters); written by the send path and the
    // webhooks, absent (never null) until they happen, so "not yet" is a condition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<FailureKind>,
    /// When it went out in the recipient's local time, `YYYY-MM-DDTHH`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent_local: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivered_at: Option<DateTime<Utc>>,
    /// The contact's first reply after the send.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replied_at: Option<DateTime<Utc>>,
    /// The contact opted out after the send.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opted_out_at: Option<DateTime<Utc>>,
}

impl SendRecord {
    /// A new PLANNED send of `campaign_id` to the member at `position`, planned by `slot`.
    pub fn planned(
        campaign_id: &str,
        contact_id: &str,
        phone: String,
        position: u64,
        variant: Variant,
        slot: String,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            campaign_id: campaign_id.to_string(),
            contact_id: contact_id.to_string(),
            phone,
            position,
            variant,
            state: SendState::Planned,
            slot,
            planned_at: now,
            updated_at: now,
            attempts: 0,
            provider_id: None,
            sent_at: None,
            error: None,
            claimed_at: None,
            lease_until: None,
            text: None,
            not_before: None,
            sender: None,
            failure: None,
            sent_local: None,
            delivered_at: None,
            replied_at: None,
            opted_out_at: None,
        }
    }
}

/// The body of a `sends` queue message (defined with every queue's message in `crate::queues`).
pub use crate::queues::SendJob;

#[derive(Debug, Clone, Serialize)]
pub struct SendPage {
    pub items: Vec<SendRecord>,
    pub next: Option<String>,
}

/// A campaign's sends in contact-id order, paged.
pub async fn list(
    services: &Services,
    campaign_id: &str,
    limit: u32,
    after: Option<String>,
) -> Result<SendPage, CampaignsError> {
    let page = services
        .table
        .query(
            Query::partition(keys::campaign_pk(campaign_id))
                .sk(SortKeyCondition::BeginsWith(keys::SEND_PREFIX.into()))
                .limit(limit)
                .after(after),
        )
        .await?;
    let items = page
        .items
        .into_iter()
        .map(|i| records::from_item(i).map_err(store::corrupt))
        .collect::<Result<_, _>>()?;
    Ok(SendPage {
        items,
        next: page.next,
    })
}

/// Every send of a campaign.
pub async fn all(
    services: &Services,
    campaign_id: &str,
) -> Result<Vec<SendRecord>, CampaignsError> {
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let page = list(services, campaign_id, 1000, after).await?;
        out.extend(page.items);
        match page.next {
            Some(next) => after = Some(next),
            None => return Ok(out),
        }
    }
}
