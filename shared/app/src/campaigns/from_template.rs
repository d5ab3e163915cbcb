//! Campaigns started from the template library: the chosen version's text becomes the message,
//! and the campaign names that version (`template_a`/`template_b`) while its text is unchanged,
//! so a later version of the template never changes a campaign that already exists.

use trickle_domain::campaign::library::TemplateRef;
use trickle_domain::campaign::{Campaign, CampaignError, RawCampaign};

use super::CampaignsError;
use crate::library::{self, TemplatesError, TokenCheck};
use crate::Services;

/// What a typed message that differs from the template chosen beside it means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EditedTemplate {
    /// A problem to report (the API: the caller sent two texts and must say which it meant).
    Refused,
    /// The operator's own text: the campaign keeps it and no longer names the template (the
    /// console, whose form starts from the template's text and lets it be edited).
    OwnText,
}

/// Fills `message_a`/`message_b` from the templates `raw` chooses. Returns the versions taken
/// and the problems to report beside the other fields' (all at once).
pub(super) async fn resolve(
    services: &Services,
    raw: &mut RawCampaign,
    edited: EditedTemplate,
) -> Result<([Option<TemplateRef>; 2], Vec<CampaignError>), CampaignsError> {
    let mut refs = [None, None];
    let mut problems = Vec::new();
    let choices = [
        ("template_a", "message_a", raw.template_a.take()),
        ("template_b", "message_b", raw.template_b.take()),
    ];
    for (slot, (field, message_field, choice)) in choices.into_iter().enumerate() {
        let Some(choice) = choice else { continue };
        let version = match library::choose(services, &choice).await {
            Ok(v) => v,
            Err(
                e @ (TemplatesError::NotFound(_)
                | TemplatesError::NoSuchVersion { .. }
                | TemplatesError::Archived(_)),
            ) => {
                problems.push(CampaignError::Template {
                    field,
                    problem: e.to_string(),
                });
                continue;
            }
            Err(TemplatesError::Store(e)) => return Err(e.into()),
            Err(e) => return Err(CampaignsError::Corrupt(e.to_string())),
        };
        let text = version.message.as_str().to_string();
        let typed = if slot == 0 {
            &mut raw.message_a
        } else {
            raw.message_b.get_or_insert_with(String::new)
        };
        if typed.trim().is_empty() {
            *typed = text;
        } else if typed.as_str() != text {
            if edited == EditedTemplate::OwnText {
                continue;
            }
            problems.push(CampaignError::Template {
                field,
                problem: format!(
                    "{message_field} differs from template \u{201c}{}\u{201d} version {}; leave {message_field} out to use the template, or {field} out to write your own",
                    version.name, version.version
                ),
            });
            continue;
        }
        refs[slot] = Some(version.reference());
    }
    Ok((refs, problems))
}

/// The campaign's messages against its list's columns: the tokens no column fills, with the
/// fallback each member would get (shown before activation).
pub async fn token_check(
    services: &Services,
    campaign: &Campaign,
) -> Result<TokenCheck, CampaignsError> {
    let s = &campaign.settings;
    let mut messages = vec![("A", &s.message_a)];
    if let Some(b) = &s.message_b {
        messages.push(("B", b));
    }
    library::check_messages(services, s.list_id.as_str(), &messages)
        .await
        .map_err(|e| match e {
            TemplatesError::Store(e) => CampaignsError::Store(e),
            other => CampaignsError::Corrupt(other.to_string()),
        })
}
