//! `POST /v1/campaigns/preview`: a message as one contact would receive it, with its size.

use serde::{Deserialize, Serialize};
use trickle_domain::campaign::{analyze, compose, Encoding, Template, DEFAULT_OPT_OUT_FOOTER};
use trickle_domain::{Contact, ContactId, PhoneNumber};

use super::{audience, CampaignsError};
use crate::Services;

#[derive(Debug, Clone, Default, Deserialize)]
pub struct PreviewRequest {
    pub message: String,
    #[serde(default)]
    pub business_name: Option<String>,
    #[serde(default)]
    pub opt_out_footer: Option<String>,
    /// Render for this stored contact…
    #[serde(default)]
    pub contact_id: Option<String>,
    /// …or for these sample values (first_name, last_name, any attribute).
    #[serde(default)]
    pub sample: Option<std::collections::BTreeMap<String, String>>,
    /// Whether this is the first message to the contact (adds the opt-out footer). Default true.
    #[serde(default)]
    pub first_message: Option<bool>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Preview {
    pub text: String,
    pub characters: usize,
    pub encoding: Encoding,
    pub segments: usize,
    pub unresolved_tokens: Vec<String>,
    /// For an unresolved token that looks mistyped, the token it probably meant.
    pub did_you_mean: std::collections::BTreeMap<String, String>,
}

pub async fn preview(
    services: &Services,
    request: PreviewRequest,
) -> Result<Preview, CampaignsError> {
    let template = Template::parse(&request.message).map_err(|source| {
        CampaignsError::Invalid(trickle_domain::campaign::CampaignError::Message {
            variant: "A",
            source,
        })
    })?;
    let contact = match &request.contact_id {
        Some(id) => audience::contact(services, id)
            .await?
            .ok_or(CampaignsError::ContactNotFound)?,
        None => sample_contact(
            request.sample.clone().unwrap_or_default(),
            services.clock.now(),
        ),
    };
    let rendered = template.render(&contact);
    let text = compose(
        &rendered.text,
        request.business_name.as_deref().unwrap_or(""),
        request
            .opt_out_footer
            .as_deref()
            .unwrap_or(DEFAULT_OPT_OUT_FOOTER),
        request.first_message.unwrap_or(true),
    );
    let info = analyze(&text);
    let known = trickle_domain::campaign::template::tokens_of(&contact);
    let did_you_mean = rendered
        .unresolved
        .iter()
        .filter_map(|t| {
            trickle_domain::campaign::template::did_you_mean(t, &known)
                .map(|k| (t.clone(), k.to_string()))
        })
        .collect();
    Ok(Preview {
        did_you_mean,
        text,
        characters: info.characters,
        encoding: info.encoding,
        segments: info.segments,
        unresolved_tokens: rendered.unresolved,
    })
}

fn sample_contact(
    mut values: std::collections::BTreeMap<String, String>,
    now: chrono::DateTime<chrono::Utc>,
) -> Contact {
    Contact {
        id: ContactId::new(),
        phone: PhoneNumber::parse("+12025550100").expect("a valid sample number"),
        first_name: values.remove("first_name"),
        last_name: values.remove("last_name"),
        email: values.remove("email"),
        attributes: values,
        source: None,
        created_at: now,
        updated_at: now,
    }
}
