//! "Continue with the winner", decided at the start of each run: when the campaign uses it,
//! has not switched yet and its counters show a winner (`trickle_domain::campaign::winner`),
//! the switch is written once on the campaign, conditional on there being none, with the
//! p-value, the counts it was decided on and the list position from which every member gets
//! the winner. Members planned before keep the message they were planned with.

use chrono::{DateTime, Utc};
use trickle_domain::campaign::winner::{self, WinnerSwitch};
use trickle_domain::campaign::CampaignState;

use super::{keys, stats, store, CampaignsError};
use crate::ports::table::{Condition, Update};
use crate::Services;

/// Writes the switch if it is due; returns it when this call made it.
pub async fn switch_if_decided(
    services: &Services,
    id: &str,
    now: DateTime<Utc>,
) -> Result<Option<WinnerSwitch>, CampaignsError> {
    let read = store::load(services, id).await?;
    let campaign = &read.campaign;
    let (Some(auto), None, Some(_)) = (
        campaign.settings.auto_winner,
        &campaign.winner,
        &campaign.settings.message_b,
    ) else {
        return Ok(None);
    };
    let numbers = stats::stats(services, id).await?;
    let Some(b) = numbers.b else {
        return Ok(None);
    };
    let (a, b) = (stats::variant_of(&numbers.a), stats::variant_of(&b));
    let Ok((variant, p_value)) = winner::decide(&auto, a, b) else {
        return Ok(None);
    };
    let switch = WinnerSwitch {
        variant,
        p_value,
        a,
        b,
        at: now,
        from_position: campaign.cursor,
    };
    let value = serde_json::to_value(&switch).map_err(store::corrupt)?;
    let written = services
        .table
        .update(
            &keys::campaign(id),
            Update::new()
                .set("winner", value)
                .set("updated_at", keys::time_key(now))
                .add(store::VERSION, 1),
            Some(Condition::All(vec![
                Condition::equals(store::STATE, CampaignState::Active.as_str()),
                Condition::equals("cursor", campaign.cursor),
                Condition::AttrAbsent("winner".into()),
            ])),
        )
        .await;
    match written {
        Ok(_) => {
            tracing::info!(campaign = %id, ?variant, p_value, from = campaign.cursor, "continuing with the winner");
            Ok(Some(switch))
        }
        // Paused, moved on or switched meanwhile: the next run decides again.
        Err(e) if e.is_condition_failure() => Ok(None),
        Err(e) => Err(e.into()),
    }
}
