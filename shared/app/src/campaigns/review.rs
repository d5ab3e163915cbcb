//! The review list (`REVIEW`/`<time>#<contact id>`): contacts a campaign skipped because someone
//! has been in touch with them before, for a person to handle. A person either dismisses an
//! entry (the contact stays out of that campaign) or releases it: the contact gets that
//! campaign's message after all, still subject to the opt-out, do-not-contact and quiet-hours
//! rules every send obeys.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use trickle_domain::campaign::{CampaignState, SkipReason};
use trickle_domain::PhoneNumber;

use super::{audience, keys, store, CampaignsError, SendJob, SendRecord};
use crate::ports::table::{Condition, Key, Query, TxOp, Update};
use crate::ports::OutgoingMessage;
use crate::queues;
use crate::records;
use crate::Services;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewEntry {
    pub contact_id: String,
    pub phone: String,
    pub campaign_id: String,
    pub reason: SkipReason,
    pub added_at: DateTime<Utc>,
    /// The member's position in the list (decides the variant if the contact is released).
    #[serde(default)]
    pub position: Option<u64>,
}

impl ReviewEntry {
    /// The entry's id in the API and the console: its sort key, `<added at>#<contact id>`.
    pub fn id(&self) -> String {
        format!("{}#{}", keys::time_key(self.added_at), self.contact_id)
    }
}

/// Why a review action was refused, in words for the operator.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReviewRefusal {
    #[error("this review entry is gone (someone dismissed or released it already)")]
    Gone,
    #[error("the campaign is {}: a contact can only be released to an active, paused or completed campaign", .0.as_str())]
    CampaignClosed(CampaignState),
    #[error("the contact has opted out since; they cannot be released to any campaign")]
    OptedOut,
    #[error("the contact is on the do-not-contact list; they cannot be released")]
    Suppressed,
    #[error("the contact already has a message in this campaign")]
    AlreadyPlanned,
}

/// An entry as listed: with the id its actions take.
#[derive(Debug, Clone, Serialize)]
pub struct ListedReview {
    pub id: String,
    #[serde(flatten)]
    pub entry: ReviewEntry,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReviewPage {
    pub items: Vec<ListedReview>,
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
        .map(|i| {
            let entry: ReviewEntry = records::from_item(i).map_err(store::corrupt)?;
            Ok(ListedReview {
                id: entry.id(),
                entry,
            })
        })
        .collect::<Result<_, CampaignsError>>()?;
    Ok(ReviewPage {
        items,
        next: page.next,
    })
}

/// One entry by its id (`<added at>#<contact id>`).
pub async fn get(services: &Services, id: &str) -> Result<Option<ReviewEntry>, CampaignsError> {
    match services.table.get(&Key::new(keys::REVIEW_PK, id)).await? {
        Some(item) => Ok(Some(records::from_item(item).map_err(store::corrupt)?)),
        None => Ok(None),
    }
}

/// Takes the entry off the review list; the contact stays out of that campaign.
pub async fn dismiss(services: &Services, id: &str) -> Result<(), CampaignsError> {
    match services
        .table
        .delete(&Key::new(keys::REVIEW_PK, id), Some(Condition::ItemExists))
        .await
    {
        Ok(()) => Ok(()),
        Err(e) if e.is_condition_failure() => Err(ReviewRefusal::Gone.into()),
        Err(e) => Err(e.into()),
    }
}

/// Plans the campaign's message for the entry's contact after all, and takes the entry off the
/// list, in one transaction; an active campaign sends it at once (quiet hours and the daily cap
/// still apply), a paused one when it resumes, and a completed one is active again until this
/// send settles. Returns the planned send.
pub async fn release(services: &Services, id: &str) -> Result<SendRecord, CampaignsError> {
    let Some(entry) = get(services, id).await? else {
        return Err(ReviewRefusal::Gone.into());
    };
    let campaign = store::load(services, &entry.campaign_id).await?.campaign;
    // A completed campaign reopens for the released contact (its list is used up, so no run is
    // scheduled; the send worker completes it again once this send settles).
    if !matches!(
        campaign.state,
        CampaignState::Active | CampaignState::Paused | CampaignState::Completed
    ) {
        return Err(ReviewRefusal::CampaignClosed(campaign.state).into());
    }
    let phone = PhoneNumber::parse(&entry.phone).map_err(store::corrupt)?;
    if audience::is_opted_out(services, &phone).await? {
        return Err(ReviewRefusal::OptedOut.into());
    }
    if audience::is_suppressed(services, &phone).await? {
        return Err(ReviewRefusal::Suppressed.into());
    }
    let position = entry.position.unwrap_or(0);
    let now = services.clock.now();
    let send = SendRecord::planned(
        &entry.campaign_id,
        &entry.contact_id,
        phone.to_string(),
        position,
        campaign.variant_for(position),
        format!("release#{}", keys::time_key(now)),
        now,
    );
    let item = records::to_item(&keys::send(&send.campaign_id, &send.contact_id), &send)
        .map_err(store::corrupt)?;
    let mut ops = vec![
        TxOp::Put {
            item,
            condition: Some(Condition::ItemAbsent),
        },
        TxOp::Delete {
            key: Key::new(keys::REVIEW_PK, id),
            condition: Some(Condition::ItemExists),
        },
    ];
    ops.push(TxOp::Update {
        key: keys::tally(&entry.campaign_id),
        update: Update::new()
            .add(keys::OPEN_SENDS, 1)
            .add(&keys::planned(send.variant), 1),
        condition: None,
    });
    if campaign.state == CampaignState::Completed {
        ops.push(TxOp::Update {
            key: keys::campaign(&entry.campaign_id),
            update: Update::new()
                .set(store::STATE, CampaignState::Active.as_str())
                .set(
                    "updated_at",
                    serde_json::to_value(now).map_err(store::corrupt)?,
                )
                .add(store::VERSION, 1),
            condition: Some(Condition::equals(
                store::STATE,
                CampaignState::Completed.as_str(),
            )),
        });
    }
    match services.table.transact(ops).await {
        Ok(()) => {}
        Err(crate::ports::TableError::TransactionCancelled { failed }) if failed.contains(&0) => {
            return Err(ReviewRefusal::AlreadyPlanned.into())
        }
        Err(e) if e.is_condition_failure() => return Err(ReviewRefusal::Gone.into()),
        Err(e) => return Err(e.into()),
    }
    if campaign.state != CampaignState::Paused {
        let job = SendJob {
            campaign_id: send.campaign_id.clone(),
            contact_id: send.contact_id.clone(),
        };
        let body = serde_json::to_string(&job).map_err(store::corrupt)?;
        let dedup = format!("{}#{}", job.dedup_id(), send.slot);
        services
            .queue
            .send(queues::SENDS, OutgoingMessage::new(body).dedup(dedup))
            .await?;
    }
    Ok(send)
}
