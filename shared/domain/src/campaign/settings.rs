//! A campaign: what to say, to whom, when, and how fast.
//!
//! One file: the typed settings, the raw body, the patch and the one validation that turns
//! the raw body into settings (naming every problem at once) change together; nearly half the
//! file is the tests of that validation.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::library::{TemplateChoice, TemplateRef};
use super::message::DEFAULT_OPT_OUT_FOOTER;
use super::schedule::{RawSchedule, Schedule, ScheduleError};
use super::state::CampaignState;
use super::template::{Template, TemplateError};
use super::variant::DEFAULT_SPLIT_PERCENT;
use super::winner::{AutoWinner, WinnerSwitch, MIN_SENDS_EACH_RANGE};
use crate::ids::{CampaignId, ListId};
use crate::phone::{PhoneError, PhoneNumber};

pub const MAX_NAME_CHARS: usize = 200;
pub use super::template::MAX_MESSAGE_CHARS;
pub const MAX_PER_RUN: u32 = 10_000;
pub const MAX_MIN_DAYS: u32 = 3650;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Campaign {
    pub id: CampaignId,
    #[serde(flatten)]
    pub settings: CampaignSettings,
    pub state: CampaignState,
    /// Position in the list of the next member to consider.
    #[serde(default)]
    pub cursor: u64,
    /// The instant of the next scheduled run, while active.
    #[serde(default)]
    pub next_run_at: Option<DateTime<Utc>>,
    /// The id of that run's slot (its local date).
    #[serde(default)]
    pub next_slot: Option<String>,
    /// Set once when "continue with the winner" decided (see `winner`); absent until then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub winner: Option<WinnerSwitch>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Campaign {
    /// The message of the member at `position`: the split, or the winner from the switch on.
    pub fn variant_for(&self, position: u64) -> super::variant::Variant {
        match &self.winner {
            Some(switch) if position >= switch.from_position => switch.variant,
            _ => super::variant::variant_for(
                position,
                self.settings.split_percent,
                self.settings.message_b.is_some(),
            ),
        }
    }
}

/// Everything an operator sets; validated as a whole.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CampaignSettings {
    pub name: String,
    pub message_a: Template,
    #[serde(default)]
    pub message_b: Option<Template>,
    pub list_id: ListId,
    pub schedule: Schedule,
    pub per_run: u32,
    pub sender: PhoneNumber,
    /// The identification every message carries; required to activate.
    #[serde(default)]
    pub business_name: Option<String>,
    pub opt_out_footer: String,
    pub split_percent: u8,
    #[serde(default)]
    pub min_days_since_contact: Option<u32>,
    /// Continue with the winner of the A/B test (needs a message B).
    #[serde(default)]
    pub auto_winner: Option<AutoWinner>,
    /// The library template (and version) message A was taken from, while its text is unchanged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_a: Option<TemplateRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_b: Option<TemplateRef>,
}

/// A campaign as typed (API body): defaults filled in by [`CampaignSettings::parse`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCampaign {
    pub name: String,
    /// Required unless `template_a` fills it (then an empty message is refused by `parse`).
    #[serde(default)]
    pub message_a: String,
    #[serde(default)]
    pub message_b: Option<String>,
    pub list_id: String,
    pub schedule: Option<RawSchedule>,
    pub per_run: u32,
    pub sender: String,
    #[serde(default)]
    pub business_name: Option<String>,
    #[serde(default)]
    pub opt_out_footer: Option<String>,
    #[serde(default)]
    pub split_percent: Option<u8>,
    #[serde(default)]
    pub min_days_since_contact: Option<u32>,
    #[serde(default)]
    pub auto_winner: Option<AutoWinner>,
    /// Take message A from a library template (its text fills `message_a`, which is then left
    /// out or given unchanged). Resolved by the campaigns use-case, which reads the library.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_a: Option<TemplateChoice>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_b: Option<TemplateChoice>,
}

/// Changes to a draft or paused campaign; absent fields stay as they are. `Some(None)` (JSON
/// `null`) clears an optional field.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CampaignPatch {
    pub name: Option<String>,
    pub message_a: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    pub message_b: Option<Option<String>>,
    pub list_id: Option<String>,
    pub schedule: Option<RawSchedule>,
    pub per_run: Option<u32>,
    pub sender: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    pub business_name: Option<Option<String>>,
    pub opt_out_footer: Option<String>,
    pub split_percent: Option<u8>,
    #[serde(default, deserialize_with = "double_option")]
    pub min_days_since_contact: Option<Option<u32>>,
    #[serde(default, deserialize_with = "double_option")]
    pub auto_winner: Option<Option<AutoWinner>>,
}

fn double_option<'de, T, D>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: serde::Deserializer<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CampaignError {
    #[error("name must be 1 to {MAX_NAME_CHARS} characters")]
    Name,
    #[error("message {variant}: {source}")]
    Message {
        variant: &'static str,
        source: TemplateError,
    },
    #[error("message {variant} is {chars} characters, at most {MAX_MESSAGE_CHARS}")]
    MessageTooLong { variant: &'static str, chars: usize },
    #[error("list_id: {0}")]
    ListId(String),
    #[error("a schedule is required")]
    NoSchedule,
    #[error("schedule: {0}")]
    Schedule(#[from] ScheduleError),
    #[error("per_run must be 1 to {MAX_PER_RUN}")]
    PerRun,
    #[error("sender: {0}")]
    Sender(#[from] PhoneError),
    #[error("split_percent must be 1 to 99")]
    Split,
    #[error("min_days_since_contact must be 1 to {MAX_MIN_DAYS}")]
    MinDays,
    #[error("auto_winner needs a message B to compare with message A")]
    AutoWinnerWithoutB,
    #[error("auto_winner.min_sends_each must be {} to {}", MIN_SENDS_EACH_RANGE.start(), MIN_SENDS_EACH_RANGE.end())]
    AutoWinnerMinSends,
    /// `template_a`/`template_b` names no usable template (the use-case that reads the library
    /// says why).
    #[error("{field}: {problem}")]
    Template {
        field: &'static str,
        problem: String,
    },
    #[error("{0} contains a line break or another control character")]
    ControlCharacter(&'static str),
    /// More than one field is wrong: each is named.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Several(Vec<CampaignError>),
}

impl CampaignError {
    /// One problem as itself, several as `Several`.
    pub fn all(mut problems: Vec<CampaignError>) -> Self {
        if problems.len() == 1 {
            problems.remove(0)
        } else {
            CampaignError::Several(problems)
        }
    }

    /// Each problem on its own (for showing them next to their fields).
    pub fn each(&self) -> Vec<&CampaignError> {
        match self {
            CampaignError::Several(all) => all.iter().collect(),
            one => vec![one],
        }
    }
}

fn template(source: &str, variant: &'static str) -> Result<Template, CampaignError> {
    let chars = source.chars().count();
    if chars > MAX_MESSAGE_CHARS {
        return Err(CampaignError::MessageTooLong { variant, chars });
    }
    Template::parse(source).map_err(|source| CampaignError::Message { variant, source })
}

fn single_line(value: &str, field: &'static str) -> Result<String, CampaignError> {
    let value = value.trim();
    if value.chars().any(char::is_control) {
        return Err(CampaignError::ControlCharacter(field));
    }
    Ok(value.to_string())
}

impl CampaignSettings {
    /// Validates every field, and names every problem at once (one error, or `Several`).
    pub fn parse(raw: RawCampaign) -> Result<CampaignSettings, CampaignError> {
        fn keep<T>(
            problems: &mut Vec<CampaignError>,
            result: Result<T, CampaignError>,
        ) -> Option<T> {
            result.map_err(|e| problems.push(e)).ok()
        }
        let mut problems = Vec::new();
        let name = keep(
            &mut problems,
            single_line(&raw.name, "name").and_then(|name| {
                if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
                    Err(CampaignError::Name)
                } else {
                    Ok(name)
                }
            }),
        );
        let message_a = keep(&mut problems, template(&raw.message_a, "A"));
        let message_b = keep(
            &mut problems,
            match raw.message_b.as_deref().map(str::trim) {
                None | Some("") => Ok(None),
                Some(b) => template(b, "B").map(Some),
            },
        );
        let list_id = keep(
            &mut problems,
            ListId::parse(raw.list_id.trim()).map_err(|e| CampaignError::ListId(e.to_string())),
        );
        let schedule = keep(
            &mut problems,
            raw.schedule
                .ok_or(CampaignError::NoSchedule)
                .and_then(|s| Schedule::parse(s).map_err(CampaignError::from)),
        );
        let per_run = keep(
            &mut problems,
            if raw.per_run == 0 || raw.per_run > MAX_PER_RUN {
                Err(CampaignError::PerRun)
            } else {
                Ok(raw.per_run)
            },
        );
        let sender = keep(
            &mut problems,
            PhoneNumber::parse(&raw.sender).map_err(CampaignError::from),
        );
        let business_name = keep(
            &mut problems,
            match raw.business_name {
                Some(b) => {
                    single_line(&b, "business_name").map(|b| Some(b).filter(|b| !b.is_empty()))
                }
                None => Ok(None),
            },
        );
        let opt_out_footer = keep(
            &mut problems,
            match raw.opt_out_footer {
                Some(f) => single_line(&f, "opt_out_footer"),
                None => Ok(DEFAULT_OPT_OUT_FOOTER.to_string()),
            },
        );
        let split_percent = keep(&mut problems, {
            let split = raw.split_percent.unwrap_or(DEFAULT_SPLIT_PERCENT);
            if (1..=99).contains(&split) {
                Ok(split)
            } else {
                Err(CampaignError::Split)
            }
        });
        let min_days = keep(
            &mut problems,
            match raw.min_days_since_contact {
                Some(days) if days == 0 || days > MAX_MIN_DAYS => Err(CampaignError::MinDays),
                other => Ok(other),
            },
        );
        let auto_winner = keep(
            &mut problems,
            match raw.auto_winner {
                Some(a) if !MIN_SENDS_EACH_RANGE.contains(&a.min_sends_each) => {
                    Err(CampaignError::AutoWinnerMinSends)
                }
                Some(_) if matches!(message_b, Some(None)) => {
                    Err(CampaignError::AutoWinnerWithoutB)
                }
                other => Ok(other),
            },
        );
        match (
            name,
            message_a,
            message_b,
            list_id,
            schedule,
            per_run,
            sender,
            business_name,
            opt_out_footer,
            split_percent,
            min_days,
            auto_winner,
        ) {
            (
                Some(name),
                Some(message_a),
                Some(message_b),
                Some(list_id),
                Some(schedule),
                Some(per_run),
                Some(sender),
                Some(business_name),
                Some(opt_out_footer),
                Some(split_percent),
                Some(min_days_since_contact),
                Some(auto_winner),
            ) => Ok(CampaignSettings {
                name,
                message_a,
                message_b,
                list_id,
                schedule,
                per_run,
                sender,
                business_name,
                opt_out_footer,
                split_percent,
                min_days_since_contact,
                auto_winner,
                // Set by the use-case that read the library (see `RawCampaign::template_a`).
                template_a: None,
                template_b: None,
            }),
            _ => Err(CampaignError::all(problems)),
        }
    }

    pub fn to_raw(&self) -> RawCampaign {
        RawCampaign {
            name: self.name.clone(),
            message_a: self.message_a.as_str().to_string(),
            message_b: self.message_b.as_ref().map(|t| t.as_str().to_string()),
            list_id: self.list_id.to_string(),
            schedule: Some(self.schedule.clone().into()),
            per_run: self.per_run,
            sender: self.sender.to_string(),
            business_name: self.business_name.clone(),
            opt_out_footer: Some(self.opt_out_footer.clone()),
            split_percent: Some(self.split_percent),
            min_days_since_contact: self.min_days_since_contact,
            auto_winner: self.auto_winner,
            template_a: None,
            template_b: None,
        }
    }

    /// The settings with `patch` applied, validated again as a whole.
    pub fn patched(&self, patch: CampaignPatch) -> Result<CampaignSettings, CampaignError> {
        let mut raw = self.to_raw();
        if let Some(v) = patch.name {
            raw.name = v;
        }
        if let Some(v) = patch.message_a {
            raw.message_a = v;
        }
        if let Some(v) = patch.message_b {
            raw.message_b = v;
        }
        if let Some(v) = patch.list_id {
            raw.list_id = v;
        }
        if let Some(v) = patch.schedule {
            raw.schedule = Some(v);
        }
        if let Some(v) = patch.per_run {
            raw.per_run = v;
        }
        if let Some(v) = patch.sender {
            raw.sender = v;
        }
        if let Some(v) = patch.business_name {
            raw.business_name = v;
        }
        if let Some(v) = patch.opt_out_footer {
            raw.opt_out_footer = Some(v);
        }
        if let Some(v) = patch.split_percent {
            raw.split_percent = Some(v);
        }
        if let Some(v) = patch.min_days_since_contact {
            raw.min_days_since_contact = v;
        }
        if let Some(v) = patch.auto_winner {
            raw.auto_winner = v;
        }
        let mut patched = CampaignSettings::parse(raw)?;
        // A message still names its template only while its text is the template's.
        if patched.message_a.as_str() == self.message_a.as_str() {
            patched.template_a = self.template_a.clone();
        }
        if let (Some(new), Some(old)) = (&patched.message_b, &self.message_b) {
            if new.as_str() == old.as_str() {
                patched.template_b = self.template_b.clone();
            }
        }
        Ok(patched)
    }

    /// The templates in use: A, and B when present.
    pub fn templates(&self) -> impl Iterator<Item = &Template> {
        std::iter::once(&self.message_a).chain(self.message_b.as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw() -> RawCampaign {
        RawCampaign {
            name: "Spring offer".into(),
            message_a: "Hi {{first_name|there}}".into(),
            message_b: None,
            list_id: ListId::new().to_string(),
            schedule: Some(RawSchedule {
                days: vec!["mon".into()],
                send_time: "10:00".into(),
                time_zone: "America/New_York".into(),
            }),
            per_run: 100,
            sender: "(212) 555-0199".into(),
            business_name: Some("Acme".into()),
            opt_out_footer: None,
            split_percent: None,
            min_days_since_contact: None,
            auto_winner: None,
            template_a: None,
            template_b: None,
        }
    }

    #[test]
    fn every_wrong_field_is_named_at_once() {
        let mut bad = raw();
        bad.name = String::new();
        bad.per_run = 0;
        bad.sender = "not a phone".into();
        bad.split_percent = Some(0);
        let error = CampaignSettings::parse(bad).unwrap_err();
        let said = error.to_string();
        for part in ["name", "per_run", "sender", "split_percent"] {
            assert!(said.contains(part), "{part} missing from: {said}");
        }
        assert_eq!(error.each().len(), 4, "{said}");
        // One problem stays itself.
        let mut one = raw();
        one.per_run = 0;
        assert_eq!(
            CampaignSettings::parse(one).unwrap_err(),
            CampaignError::PerRun
        );
    }

    #[test]
    fn defaults_are_filled_in() {
        let s = CampaignSettings::parse(raw()).unwrap();
        assert_eq!(s.opt_out_footer, "Reply STOP to opt out");
        assert_eq!(s.split_percent, 50);
        assert_eq!(s.sender.as_str(), "+12125550199");
        assert_eq!(s.message_b, None);
        assert_eq!(s.templates().count(), 1);
    }

    #[test]
    fn validation_table() {
        type Edit = fn(&mut RawCampaign);
        type Check = fn(&CampaignError) -> bool;
        let cases: &[(Edit, Check)] = &[
            (
                |r| r.name = " ".into(),
                |e| matches!(e, CampaignError::Name),
            ),
            (
                |r| r.name = "a\nb".into(),
                |e| matches!(e, CampaignError::ControlCharacter("name")),
            ),
            (
                |r| r.message_a = "".into(),
                |e| matches!(e, CampaignError::Message { variant: "A", .. }),
            ),
            (
                |r| r.message_b = Some("{{x".into()),
                |e| matches!(e, CampaignError::Message { variant: "B", .. }),
            ),
            (
                |r| r.message_a = "a".repeat(1601),
                |e| matches!(e, CampaignError::MessageTooLong { chars: 1601, .. }),
            ),
            (
                |r| r.list_id = "nope".into(),
                |e| matches!(e, CampaignError::ListId(_)),
            ),
            (
                |r| r.schedule = None,
                |e| matches!(e, CampaignError::NoSchedule),
            ),
            (
                |r| r.schedule.as_mut().unwrap().time_zone = "EST5".into(),
                |e| matches!(e, CampaignError::Schedule(_)),
            ),
            (|r| r.per_run = 0, |e| matches!(e, CampaignError::PerRun)),
            (
                |r| r.per_run = 10_001,
                |e| matches!(e, CampaignError::PerRun),
            ),
            (
                |r| r.sender = "12".into(),
                |e| matches!(e, CampaignError::Sender(_)),
            ),
            (
                |r| r.split_percent = Some(0),
                |e| matches!(e, CampaignError::Split),
            ),
            (
                |r| r.split_percent = Some(100),
                |e| matches!(e, CampaignError::Split),
            ),
            (
                |r| r.min_days_since_contact = Some(0),
                |e| matches!(e, CampaignError::MinDays),
            ),
        ];
        for (i, (edit, check)) in cases.iter().enumerate() {
            let mut r = raw();
            edit(&mut r);
            let err = CampaignSettings::parse(r).unwrap_err();
            assert!(check(&err), "case {i}: {err}");
        }
    }

    #[test]
    fn continuing_with_the_winner_needs_a_message_b_and_a_sane_minimum() {
        let mut r = raw();
        r.auto_winner = Some(AutoWinner::default());
        assert_eq!(
            CampaignSettings::parse(r.clone()),
            Err(CampaignError::AutoWinnerWithoutB)
        );
        r.message_b = Some("Hello {{first_name|friend}}".into());
        assert_eq!(
            CampaignSettings::parse(r.clone()).unwrap().auto_winner,
            Some(AutoWinner {
                min_sends_each: 100
            })
        );
        r.auto_winner = Some(AutoWinner { min_sends_each: 3 });
        assert_eq!(
            CampaignSettings::parse(r),
            Err(CampaignError::AutoWinnerMinSends)
        );
    }

    #[test]
    fn blank_b_and_blank_business_mean_absent() {
        let mut r = raw();
        r.message_b = Some("  ".into());
        r.business_name = Some(" ".into());
        let s = CampaignSettings::parse(r).unwrap();
        assert_eq!((s.message_b, s.business_name), (None, None));
    }

    #[test]
    fn patch_changes_only_what_it_names_and_revalidates() {
        let s = CampaignSettings::parse(raw()).unwrap();
        let patch: CampaignPatch = serde_json::from_value(serde_json::json!({
            "message_b": "Hello {{first_name|friend}}",
            "per_run": 5,
            "business_name": null
        }))
        .unwrap();
        let p = s.patched(patch).unwrap();
        assert_eq!(p.per_run, 5);
        assert_eq!(p.message_b.unwrap().as_str(), "Hello {{first_name|friend}}");
        assert_eq!(p.business_name, None);
        assert_eq!(p.name, s.name);
        let bad: CampaignPatch = serde_json::from_value(serde_json::json!({"per_run": 0})).unwrap();
        assert_eq!(s.patched(bad), Err(CampaignError::PerRun));
        assert!(serde_json::from_value::<CampaignPatch>(serde_json::json!({"nope": 1})).is_err());
    }

    #[test]
    fn a_campaign_round_trips_through_json() {
        let now = Utc::now();
        let c = Campaign {
            id: CampaignId::new(),
            settings: CampaignSettings::parse(raw()).unwrap(),
            state: CampaignState::Draft,
            cursor: 7,
            next_run_at: Some(now),
            next_slot: Some("2026-01-05".into()),
            winner: None,
            created_at: now,
            updated_at: now,
        };
        let json = serde_json::to_value(&c).unwrap();
        assert_eq!(json["message_a"], "Hi {{first_name|there}}");
        assert_eq!(json["state"], "draft");
        assert_eq!(serde_json::from_value::<Campaign>(json).unwrap(), c);
    }
}
