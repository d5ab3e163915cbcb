//! Who a campaign on a list would reach, before it starts: the list's first members checked the
//! way the planner will judge them (opted out, do-not-contact, previous communication → review
//! list), how many lack a recorded consent, and the longest value of each token, so a message's
//! size is counted for the longest names and not only for the first member's.
//!
//! Bounded: at most `SAMPLE` members are read (about four reads each, 16 at a time), so the
//! answer is quick on the HTTP path whatever the list's size; beyond the sample the counts are
//! extrapolated and the answer says so.

use std::collections::BTreeMap;

use serde::Serialize;
use trickle_domain::Contact;

use super::audience::{self, Member};
use super::CampaignsError;
use crate::Services;

/// Members checked one by one; a bigger list is estimated from these.
pub const SAMPLE: u32 = 200;

/// Attribute columns that record consent (any non-empty value counts): the `consent_at` and
/// `consent_source` an import derives from a list's consent columns, and columns named for it
/// (`Consent date`, `opted_in`) on contacts created otherwise.
fn records_consent(column: &str) -> bool {
    let c = column.to_lowercase();
    c.contains("consent") || c.contains("opted_in") || c.contains("opt_in") || c.contains("opt-in")
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AudienceEstimate {
    /// Members of the list.
    pub members: u64,
    /// Members checked one by one (all of them when `members <= SAMPLE`).
    pub checked: u64,
    pub opted_out: u64,
    pub suppressed: u64,
    /// Previous communication: these go to the review list instead of being texted.
    pub review: u64,
    /// Members whose contact is missing.
    pub invalid: u64,
    /// Reachable members (of those checked) with no consent column filled in.
    pub without_consent: u64,
    /// Members the campaign would text: exact when every member was checked, else extrapolated.
    pub reachable: u64,
    pub estimated: bool,
    /// The longest value of each token among the checked members (`first_name`, `last_name`,
    /// every attribute column).
    pub longest: BTreeMap<String, String>,
}

enum Judged {
    Invalid,
    OptedOut,
    Suppressed,
    Review(Contact),
    Reachable(Contact),
}

/// The estimate for a campaign on `list_id`; `campaign_id` is the campaign's own id, whose
/// messages are not "previous communication".
pub async fn estimate(
    services: &Services,
    list_id: &str,
    campaign_id: Option<&str>,
) -> Result<AudienceEstimate, CampaignsError> {
    let members = audience::list_info(services, list_id)
        .await?
        .map(|l| l.member_count)
        .unwrap_or(0);
    let sample = audience::members_from(services, list_id, 0, SAMPLE).await?;
    let mut judged: Vec<Judged> = Vec::with_capacity(sample.len());
    for chunk in sample.chunks(16) {
        let futures = chunk
            .iter()
            .map(|member| judge(services, member, campaign_id));
        judged.extend(futures::future::try_join_all(futures).await?);
    }
    let mut e = AudienceEstimate {
        members,
        checked: judged.len() as u64,
        ..AudienceEstimate::default()
    };
    let mut reachable = 0u64;
    for j in &judged {
        match j {
            Judged::Invalid => e.invalid += 1,
            Judged::OptedOut => e.opted_out += 1,
            Judged::Suppressed => e.suppressed += 1,
            Judged::Review(c) => {
                e.review += 1;
                longest(&mut e.longest, c);
            }
            Judged::Reachable(c) => {
                reachable += 1;
                if !c
                    .attributes
                    .iter()
                    .any(|(k, v)| records_consent(k) && !v.trim().is_empty())
                {
                    e.without_consent += 1;
                }
                longest(&mut e.longest, c);
            }
        }
    }
    e.estimated = e.checked < members;
    e.reachable = if e.estimated && e.checked > 0 {
        // Round to the nearest contact.
        (reachable * members + e.checked / 2) / e.checked
    } else {
        reachable
    };
    Ok(e)
}

async fn judge(
    services: &Services,
    member: &Member,
    campaign_id: Option<&str>,
) -> Result<Judged, CampaignsError> {
    let Some(contact) = audience::contact(services, &member.contact_id).await? else {
        return Ok(Judged::Invalid);
    };
    if audience::is_opted_out(services, &contact.phone).await? {
        return Ok(Judged::OptedOut);
    }
    if audience::is_suppressed(services, &contact.phone).await? {
        return Ok(Judged::Suppressed);
    }
    let foreign = audience::activities(services, &member.contact_id)
        .await?
        .into_iter()
        .any(|a| a.campaign_id.is_none() || a.campaign_id.as_deref() != campaign_id);
    Ok(if foreign {
        Judged::Review(contact)
    } else {
        Judged::Reachable(contact)
    })
}

fn longest(into: &mut BTreeMap<String, String>, contact: &Contact) {
    let mut keep = |token: &str, value: &str| {
        let value = value.trim();
        if value.is_empty() {
            return;
        }
        let slot = into.entry(token.to_string()).or_default();
        if value.chars().count() > slot.chars().count() {
            *slot = value.to_string();
        }
    };
    keep("first_name", contact.first_name.as_deref().unwrap_or(""));
    keep("last_name", contact.last_name.as_deref().unwrap_or(""));
    for (k, v) in &contact.attributes {
        keep(k, v);
    }
}
