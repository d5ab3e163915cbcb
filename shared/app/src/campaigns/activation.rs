//! What must hold before a campaign may start: identification present, the list completed and
//! non-empty, and every token of every message rendering for every member (or having a
//! fallback). The schedule was validated when it was set.
//!
//! The token check reads members for [`TOKEN_CHECK_TIME`] at most, so activation answers well
//! inside the http function's 29 s on a list of any size; a member it did not reach is held by
//! the send worker instead (a message with a token left empty is never sent).

use trickle_domain::campaign::Campaign;

use super::{audience, CampaignsError};
use crate::rate::budget::{Admission, RateShare};
use crate::rate::RateBudget;
use crate::Services;

/// How many member problems are listed before the rest are only counted.
const MAX_LISTED: usize = 20;

/// How long activation reads members to check tokens before leaving the rest to the sends.
pub const TOKEN_CHECK_TIME: std::time::Duration = std::time::Duration::from_secs(5);

pub async fn problems(
    services: &Services,
    campaign: &Campaign,
    budget: Option<&RateBudget>,
) -> Result<Vec<String>, CampaignsError> {
    let settings = &campaign.settings;
    let mut problems = Vec::new();
    if settings.business_name.is_none() {
        problems.push(
            "business_name is required: every message must identify the business".to_string(),
        );
    }
    // A sender the account does not own fails every send (OpenPhone's 403 "Not Phone Number
    // User"); say so now, with the numbers that would work.
    let admitted = match budget {
        Some(b) => {
            b.acquire_within(
                services,
                RateShare::RECONCILE,
                std::time::Duration::from_secs(3),
            )
            .await?
        }
        None => Admission::Granted,
    };
    let numbers = match admitted {
        Admission::Granted => services.sms.phone_numbers().await,
        Admission::Wait(_) => Err(crate::ports::SmsError::Unavailable(
            "OpenPhone's request limit is in use by sends right now".into(),
        )),
    };
    match numbers {
        Ok(Some(owned)) if !owned.iter().any(|n| n.number == settings.sender.as_str()) => {
            let numbers: Vec<&str> = owned.iter().map(|n| n.number.as_str()).collect();
            problems.push(format!(
                "sender {} is not a number of this OpenPhone account; use one of: {}",
                settings.sender,
                if numbers.is_empty() {
                    "(the account has no numbers)".to_string()
                } else {
                    numbers.join(", ")
                }
            ));
        }
        Ok(_) => {}
        Err(e) => problems.push(format!(
            "the sending number could not be checked with OpenPhone ({e}); try again in a minute"
        )),
    }
    let list_id = settings.list_id.as_str();
    let list = match audience::list_info(services, list_id).await? {
        None => {
            problems.push(format!("list {list_id} does not exist"));
            return Ok(problems);
        }
        Some(list) => list,
    };
    if !list.completed {
        problems.push(format!("list {list_id} is not completed yet"));
    }
    if list.member_count == 0 {
        problems.push(format!("list {list_id} has no members"));
    }
    if !problems.is_empty() {
        return Ok(problems);
    }
    let needs_tokens = settings
        .templates()
        .any(|t| !t.required_tokens().is_empty());
    if !needs_tokens {
        return Ok(problems);
    }
    let mut unrenderable = 0usize;
    let mut from = 0u64;
    let check_until = std::time::Instant::now() + TOKEN_CHECK_TIME;
    loop {
        if std::time::Instant::now() >= check_until {
            tracing::info!(list = %list_id, checked = from, "token check stopped at its time: the sends check the rest");
            break;
        }
        let members = audience::members_from(services, list_id, from, 1000).await?;
        let Some(last) = members.last() else { break };
        from = last.position + 1;
        for member in &members {
            // A member whose contact is gone is skipped at send time as invalid.
            let Some(contact) = audience::contact(services, &member.contact_id).await? else {
                continue;
            };
            for (variant, template) in [
                ("A", Some(&settings.message_a)),
                ("B", settings.message_b.as_ref()),
            ] {
                let Some(template) = template else { continue };
                let unresolved = template.render(&contact).unresolved;
                if !unresolved.is_empty() {
                    unrenderable += 1;
                    if unrenderable <= MAX_LISTED {
                        let known = trickle_domain::campaign::template::tokens_of(&contact);
                        let named: Vec<String> = unresolved
                            .iter()
                            .map(|t| {
                                match trickle_domain::campaign::template::did_you_mean(t, &known) {
                                    Some(meant) => format!("{t} (did you mean {meant}?)"),
                                    None => t.clone(),
                                }
                            })
                            .collect();
                        problems.push(format!(
                            "message {variant}: contact {} (list position {}) has no value for {} and no fallback is given",
                            member.contact_id,
                            member.position,
                            named.join(", ")
                        ));
                    }
                }
            }
        }
    }
    if unrenderable > MAX_LISTED {
        problems.push(format!(
            "… and {} more members with missing values",
            unrenderable - MAX_LISTED
        ));
    }
    Ok(problems)
}
