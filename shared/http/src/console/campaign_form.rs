//! New and edit campaign: one page in the product's four sections (setup, audience, scheduling
//! and rules, actions); its live preview and audience estimate are in `campaign_preview`.
//!
//! The form posts to the same use-cases as `POST /v1/campaigns` and `PATCH /v1/campaigns/{id}`;
//! "Activate Campaign" saves a draft first and shows the confirmation (`campaign_confirm.rs`)
//! before anything is sent.
//!
//! One file: the form's values, their conversion to the use-case's body (and back, with the
//! refusals placed next to their fields) and the handlers that show and save the form change
//! together with each field the form gains.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Extension;
use serde::Deserialize;
use trickle_app::audience::lists;
use trickle_app::campaigns::{self, EditedTemplate};
use trickle_app::library;
use trickle_domain::campaign::winner::DEFAULT_MIN_SENDS_EACH;
use trickle_domain::campaign::{
    AutoWinner, Campaign, CampaignPatch, RawCampaign, RawSchedule, TemplateChoice,
    DEFAULT_OPT_OUT_FOOTER,
};

use super::view::count;
use super::{render, Chrome, ConsoleError, Form, PageResult, Signed};
use crate::{ApiError, AppState};

pub(super) const DAYS: [(&str, &str); 7] = [
    ("mon", "Monday"),
    ("tue", "Tuesday"),
    ("wed", "Wednesday"),
    ("thu", "Thursday"),
    ("fri", "Friday"),
    ("sat", "Saturday"),
    ("sun", "Sunday"),
];

/// What the form shows: the values as typed (so nothing is lost on an error).
#[derive(Clone, Default)]
pub(super) struct Values {
    pub name: String,
    pub message_a: String,
    pub has_b: bool,
    pub message_b: String,
    pub split_percent: String,
    pub auto_winner: bool,
    pub min_sends_each: String,
    pub list_id: String,
    pub days: Vec<String>,
    pub send_time: String,
    pub time_zone: String,
    pub per_run: String,
    pub sender: String,
    pub business_name: String,
    pub opt_out_footer: String,
    /// The library templates messages A and B were taken from (new campaigns only).
    pub template_a: Option<Chosen>,
    pub template_b: Option<Chosen>,
}

/// A library template a message was filled from, carried by the form as hidden fields.
#[derive(Clone, Default)]
pub(super) struct Chosen {
    pub id: String,
    pub version: u32,
    pub name: String,
}

impl Chosen {
    fn from_form(form: &Form, field: &str) -> Option<Self> {
        let id = form.text(field)?;
        let version = form.text(&format!("{field}_version"))?.parse().ok()?;
        let name = form.text(&format!("{field}_name")).unwrap_or_default();
        Some(Self { id, version, name })
    }

    fn choice(&self) -> TemplateChoice {
        TemplateChoice {
            id: self.id.clone(),
            version: Some(self.version),
        }
    }
}

impl Values {
    fn blank(list_id: Option<String>) -> Self {
        Self {
            split_percent: "50".into(),
            min_sends_each: DEFAULT_MIN_SENDS_EACH.to_string(),
            list_id: list_id.unwrap_or_default(),
            days: ["mon", "tue", "wed", "thu", "fri"]
                .map(String::from)
                .to_vec(),
            send_time: "10:00".into(),
            per_run: "25".into(),
            opt_out_footer: DEFAULT_OPT_OUT_FOOTER.into(),
            ..Self::default()
        }
    }

    pub fn of(c: &Campaign) -> Self {
        let s = &c.settings;
        Self {
            name: s.name.clone(),
            message_a: s.message_a.as_str().to_string(),
            has_b: s.message_b.is_some(),
            message_b: s
                .message_b
                .as_ref()
                .map(|m| m.as_str().to_string())
                .unwrap_or_default(),
            split_percent: s.split_percent.to_string(),
            auto_winner: s.auto_winner.is_some(),
            min_sends_each: s
                .auto_winner
                .map_or(DEFAULT_MIN_SENDS_EACH, |a| a.min_sends_each)
                .to_string(),
            list_id: s.list_id.to_string(),
            days: RawSchedule::from(s.schedule.clone()).days,
            send_time: s.schedule.send_time().format("%H:%M").to_string(),
            time_zone: s.schedule.zone().name().to_string(),
            per_run: s.per_run.to_string(),
            sender: s.sender.to_string(),
            business_name: s.business_name.clone().unwrap_or_default(),
            opt_out_footer: s.opt_out_footer.clone(),
            template_a: None,
            template_b: None,
        }
    }

    fn from_form(form: &Form) -> Self {
        Self {
            name: form.get("name").unwrap_or_default().to_string(),
            message_a: form.get("message_a").unwrap_or_default().to_string(),
            has_b: form.get("has_b").is_some(),
            message_b: form.get("message_b").unwrap_or_default().to_string(),
            split_percent: form.get("split_percent").unwrap_or("50").to_string(),
            auto_winner: form.get("auto_winner").is_some(),
            min_sends_each: form
                .get("min_sends_each")
                .map(str::to_string)
                .unwrap_or_else(|| DEFAULT_MIN_SENDS_EACH.to_string()),
            list_id: form.get("list_id").unwrap_or_default().to_string(),
            days: form.all("days"),
            send_time: form.get("send_time").unwrap_or_default().to_string(),
            time_zone: form.get("time_zone").unwrap_or_default().to_string(),
            per_run: form.get("per_run").unwrap_or_default().to_string(),
            sender: form.get("sender").unwrap_or_default().to_string(),
            business_name: form.get("business_name").unwrap_or_default().to_string(),
            opt_out_footer: form.get("opt_out_footer").unwrap_or_default().to_string(),
            template_a: Chosen::from_form(form, "template_a"),
            template_b: Chosen::from_form(form, "template_b"),
        }
    }

    pub fn has_day(&self, day: &str) -> bool {
        self.days.iter().any(|d| d == day)
    }

    fn schedule(&self) -> RawSchedule {
        RawSchedule {
            days: self.days.clone(),
            send_time: self.send_time.trim().to_string(),
            time_zone: self.time_zone.trim().to_string(),
        }
    }

    /// A number field; a typed non-number is kept so the use-case's rule names it.
    fn number<T: std::str::FromStr>(text: &str) -> Result<T, String> {
        text.trim()
            .parse()
            .map_err(|_| format!("{:?} is not a whole number", text.trim()))
    }

    fn optional(text: &str) -> Option<String> {
        let t = text.trim();
        (!t.is_empty()).then(|| t.to_string())
    }

    fn raw(&self) -> Result<RawCampaign, Vec<FieldError>> {
        let per_run = Self::number::<u32>(&self.per_run);
        let split = Self::number::<u8>(&self.split_percent);
        let mut problems = Vec::new();
        if let Err(e) = &per_run {
            problems.push(FieldError::on("per_run", format!("Messages per run: {e}.")));
        }
        if self.has_b {
            if let Err(e) = &split {
                problems.push(FieldError::on("split_percent", format!("Split: {e}.")));
            }
        }
        let auto_winner = self.has_b && self.auto_winner;
        let min_sends = Self::number::<u32>(&self.min_sends_each);
        if auto_winner {
            if let Err(e) = &min_sends {
                problems.push(FieldError::on(
                    "min_sends_each",
                    format!("Sends before a winner: {e}."),
                ));
            }
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(RawCampaign {
            name: self.name.clone(),
            message_a: self.message_a.clone(),
            message_b: self.has_b.then(|| self.message_b.clone()),
            list_id: self.list_id.trim().to_string(),
            schedule: Some(self.schedule()),
            per_run: per_run.unwrap_or_default(),
            sender: self.sender.trim().to_string(),
            business_name: Self::optional(&self.business_name),
            opt_out_footer: Self::optional(&self.opt_out_footer),
            split_percent: self.has_b.then(|| split.unwrap_or(50)),
            min_days_since_contact: None,
            auto_winner: auto_winner.then(|| AutoWinner {
                min_sends_each: min_sends.unwrap_or(DEFAULT_MIN_SENDS_EACH),
            }),
            template_a: self.template_a.as_ref().map(Chosen::choice),
            template_b: self
                .template_b
                .as_ref()
                .filter(|_| self.has_b)
                .map(Chosen::choice),
        })
    }

    fn patch(&self, current: &Campaign) -> Result<CampaignPatch, Vec<FieldError>> {
        let raw = self.raw()?;
        let list_id = (raw.list_id != current.settings.list_id.as_str()).then_some(raw.list_id);
        Ok(CampaignPatch {
            name: Some(raw.name),
            message_a: Some(raw.message_a),
            message_b: Some(raw.message_b),
            list_id,
            schedule: raw.schedule,
            per_run: Some(raw.per_run),
            sender: Some(raw.sender),
            business_name: Some(raw.business_name),
            opt_out_footer: Some(raw.opt_out_footer.unwrap_or_default()),
            split_percent: raw.split_percent,
            min_days_since_contact: None,
            auto_winner: Some(raw.auto_winner),
        })
    }
}

/// A problem, placed next to the field it is about.
#[derive(Clone)]
pub(super) struct FieldError {
    pub field: &'static str,
    pub message: String,
}

impl FieldError {
    fn on(field: &'static str, message: String) -> Self {
        Self { field, message }
    }

    /// The field a use-case's message is about, read from how the rules word it; shown as a
    /// sentence.
    fn from_rule(message: String) -> Self {
        let field = Self::field_of(&message);
        Self {
            field,
            message: super::view::sentence(&message),
        }
    }

    fn field_of(message: &str) -> &'static str {
        let lower = message.to_lowercase();
        [
            ("name", "name"),
            ("message a", "message_a"),
            ("message b", "message_b"),
            ("list", "list_id"),
            ("schedule", "days"),
            ("per_run", "per_run"),
            ("sender", "sender"),
            ("split", "split_percent"),
            ("auto_winner.min_sends", "min_sends_each"),
            ("auto_winner", "min_sends_each"),
            ("template_a", "message_a"),
            ("template_b", "message_b"),
            ("business", "business_name"),
            ("opt_out_footer", "opt_out_footer"),
        ]
        .iter()
        .find(|(prefix, _)| lower.starts_with(prefix))
        .map(|(_, field)| *field)
        .unwrap_or("form")
    }
}

pub(super) struct ListOption {
    pub id: String,
    pub label: String,
}

#[derive(Template)]
#[template(path = "campaign_form.html")]
pub(super) struct FormPage {
    title: String,
    chrome: Chrome,
    /// `None` for a new campaign.
    id: Option<String>,
    values: Values,
    errors: Vec<FieldError>,
    lists: Vec<ListOption>,
    days: [(&'static str, &'static str); 7],
    senders: Vec<String>,
    /// The library's templates, to start a new campaign from.
    templates: Vec<ListOption>,
}

impl FormPage {
    pub fn error(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|e| e.field == field)
            .map(|e| e.message.as_str())
    }

    pub fn action(&self) -> String {
        match &self.id {
            Some(id) => format!("/campaigns/{id}"),
            None => "/campaigns".to_string(),
        }
    }
}

async fn list_options(state: &AppState) -> Result<Vec<ListOption>, ConsoleError> {
    let page = lists::list_lists(&state.services, 200, None).await?;
    Ok(page
        .items
        .into_iter()
        .map(|l| ListOption {
            label: format!("{} ({} members)", l.name, count(l.member_count)),
            id: l.id,
        })
        .collect())
}

async fn template_options(state: &AppState) -> Result<Vec<ListOption>, ConsoleError> {
    let page = library::list(&state.services, false, 200, None).await?;
    Ok(page
        .items
        .into_iter()
        .map(|t| ListOption {
            label: format!("{} (version {})", t.name, t.version),
            id: t.id.to_string(),
        })
        .collect())
}

async fn form_page(
    state: &AppState,
    signed: &Signed,
    id: Option<String>,
    values: Values,
    errors: Vec<FieldError>,
) -> PageResult {
    let id_is_new = id.is_none();
    let title = match &id {
        Some(_) if values.name.trim().is_empty() => "Edit campaign".to_string(),
        Some(_) => format!("Edit {}", values.name),
        None => "New campaign".to_string(),
    };
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let mut response = render(FormPage {
        title,
        chrome: Chrome::new(signed, "campaigns", state.sandbox.is_some(), None),
        id,
        values,
        errors,
        lists: list_options(state).await?,
        days: DAYS,
        senders: state
            .sandbox
            .as_ref()
            .map(|s| s.sending_numbers())
            .unwrap_or_default(),
        templates: match id_is_new {
            true => template_options(state).await?,
            false => Vec::new(),
        },
    });
    *response.status_mut() = status;
    Ok(response)
}

#[derive(Deserialize)]
pub(super) struct NewQuery {
    list_id: Option<String>,
    /// Start from these library templates (message A, and B for an A/B test).
    template: Option<String>,
    template_b: Option<String>,
}

/// The latest version of a library template, for the form; `Err` says why it cannot be used.
async fn chosen(state: &AppState, id: &str) -> Result<(Chosen, String), ConsoleError> {
    let choice = TemplateChoice {
        id: id.to_string(),
        version: None,
    };
    let version = library::choose(&state.services, &choice).await?;
    Ok((
        Chosen {
            id: version.template_id.to_string(),
            version: version.version,
            name: version.name.clone(),
        },
        version.message.as_str().to_string(),
    ))
}

pub(super) async fn new(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
    Query(q): Query<NewQuery>,
) -> PageResult {
    let mut values = Values::blank(q.list_id);
    if let Some(id) = q.template.as_deref().filter(|t| !t.trim().is_empty()) {
        let (chosen, text) = chosen(&state, id.trim()).await?;
        values.message_a = text;
        values.template_a = Some(chosen);
    }
    if let Some(id) = q.template_b.as_deref().filter(|t| !t.trim().is_empty()) {
        let (chosen, text) = chosen(&state, id.trim()).await?;
        values.has_b = true;
        values.message_b = text;
        values.template_b = Some(chosen);
    }
    form_page(&state, &signed, None, values, vec![]).await
}

pub(super) async fn edit(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
    Path(id): Path<String>,
) -> PageResult {
    let campaign = campaigns::get(&state.services, &id).await?;
    form_page(&state, &signed, Some(id), Values::of(&campaign), vec![]).await
}

/// Where the form goes after a save: the confirmation for "Activate", else the campaign.
fn after_save(id: &str, form: &Form) -> Response {
    if form.get("intent") == Some("activate") {
        Redirect::to(&format!("/campaigns/{id}/activate")).into_response()
    } else {
        super::see_other(&format!("/campaigns/{id}"), "Saved as a draft.")
    }
}

/// A use-case's refusal, as field errors; anything else is a page of its own.
fn refusal(e: campaigns::CampaignsError) -> Result<Vec<FieldError>, ConsoleError> {
    if let campaigns::CampaignsError::Invalid(invalid) = &e {
        return Ok(invalid
            .each()
            .into_iter()
            .map(|one| FieldError::from_rule(one.to_string()))
            .collect());
    }
    match ApiError::from(e) {
        ApiError::Invalid(m) | ApiError::BadRequest(m) => Ok(vec![FieldError::from_rule(m)]),
        ApiError::Conflict { message, .. } => Ok(vec![FieldError::on("form", message)]),
        other => Err(ConsoleError::from(other)),
    }
}

pub(super) async fn create(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
    form: Form,
) -> PageResult {
    let values = Values::from_form(&form);
    let errors = match values.raw() {
        Err(errors) => errors,
        Ok(raw) => {
            match campaigns::create_with(&state.services, raw, EditedTemplate::OwnText).await {
                Ok(c) => return Ok(after_save(c.id.as_str(), &form)),
                Err(e) => refusal(e)?,
            }
        }
    };
    form_page(&state, &signed, None, values, errors).await
}

pub(super) async fn update(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
    Path(id): Path<String>,
    form: Form,
) -> PageResult {
    let current = campaigns::get(&state.services, &id).await?;
    let values = Values::from_form(&form);
    let errors = match values.patch(&current) {
        Err(errors) => errors,
        Ok(patch) => match campaigns::patch(&state.services, &id, patch).await {
            Ok(c) => return Ok(after_save(c.id.as_str(), &form)),
            Err(e) => refusal(e)?,
        },
    };
    form_page(&state, &signed, Some(id), values, errors).await
}
