//! The template library: messages saved under a name, to start campaigns from.
//!
//! A saved template is versioned: changing its text makes a new version and leaves the old ones
//! readable, so a campaign keeps the exact version it was started from ([`TemplateRef`]). It is
//! archived, never deleted: an archived template is left out of the library's listing and
//! cannot start a new campaign, but every campaign that used it still names it.
//!
//! Before a campaign on a list is activated, [`token_check`] compares the message's tokens with
//! the list's columns: a token no column fills is flagged, with the fallback every member would
//! get instead (or none, which activation refuses).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::template::{did_you_mean, Template, TemplateError, MAX_MESSAGE_CHARS};
use crate::csv_import::consent::consent_field;
use crate::csv_import::{ColumnMapping, ColumnRole};
use crate::ids::TemplateId;

pub const MAX_TEMPLATE_NAME_CHARS: usize = 100;

/// A template of the library as it is now: its name, its latest version and that version's text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedTemplate {
    pub id: TemplateId,
    pub name: String,
    /// The latest version (1 for a new template).
    pub version: u32,
    pub message: Template,
    /// The tokens the message uses, in order of first use.
    #[serde(default)]
    pub tokens: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archived_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One version of a template's text, as it was saved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TemplateVersion {
    pub template_id: TemplateId,
    pub version: u32,
    pub name: String,
    pub message: Template,
    pub saved_at: DateTime<Utc>,
}

/// Which template (and version) a campaign's message was taken from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateRef {
    pub id: TemplateId,
    pub version: u32,
    /// The template's name when the campaign took it.
    pub name: String,
}

/// A template as typed (API body or console form).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTemplate {
    pub name: String,
    pub message: String,
}

/// Changes to a template: a new name, a new text (which makes a new version), or both.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateEdit {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
}

/// The choice of a template when creating a campaign: its id, and a version (the latest when
/// left out).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateChoice {
    pub id: String,
    #[serde(default)]
    pub version: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LibraryError {
    #[error("name must be one line of 1 to {MAX_TEMPLATE_NAME_CHARS} characters")]
    Name,
    #[error("message: {0}")]
    Message(TemplateError),
    #[error("message is {0} characters, at most {MAX_MESSAGE_CHARS}")]
    MessageTooLong(usize),
    #[error("nothing to change: give a new name, a new message or both")]
    NothingToChange,
    /// More than one field is wrong: each is named.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Several(Vec<LibraryError>),
}

/// A valid name and message, ready to save.
#[derive(Debug, Clone, PartialEq)]
pub struct TemplateText {
    pub name: String,
    pub message: Template,
}

fn name(name: &str) -> Result<String, LibraryError> {
    let name = name.trim();
    if name.is_empty()
        || name.chars().count() > MAX_TEMPLATE_NAME_CHARS
        || name.contains(char::is_control)
    {
        return Err(LibraryError::Name);
    }
    Ok(name.to_string())
}

fn message(source: &str) -> Result<Template, LibraryError> {
    let chars = source.chars().count();
    if chars > MAX_MESSAGE_CHARS {
        return Err(LibraryError::MessageTooLong(chars));
    }
    Template::parse(source).map_err(LibraryError::Message)
}

fn all(mut problems: Vec<LibraryError>) -> LibraryError {
    if problems.len() == 1 {
        problems.remove(0)
    } else {
        LibraryError::Several(problems)
    }
}

impl RawTemplate {
    /// Validates both fields and names every problem at once.
    pub fn parse(&self) -> Result<TemplateText, LibraryError> {
        match (name(&self.name), message(&self.message)) {
            (Ok(name), Ok(message)) => Ok(TemplateText { name, message }),
            (n, m) => Err(all([n.err(), m.err()].into_iter().flatten().collect())),
        }
    }
}

impl SavedTemplate {
    pub fn new(id: TemplateId, text: TemplateText, now: DateTime<Utc>) -> SavedTemplate {
        SavedTemplate {
            id,
            name: text.name,
            tokens: token_names(&text.message),
            message: text.message,
            version: 1,
            archived_at: None,
            created_at: now,
            updated_at: now,
        }
    }

    /// The template after `edit`: a changed text is a new version; a rename alone is not.
    pub fn edited(&self, edit: &TemplateEdit, now: DateTime<Utc>) -> Result<Self, LibraryError> {
        let new_name = edit.name.as_deref().map(name).transpose();
        let new_message = edit.message.as_deref().map(message).transpose();
        let (new_name, new_message) = match (new_name, new_message) {
            (Ok(n), Ok(m)) => (n, m),
            (n, m) => return Err(all([n.err(), m.err()].into_iter().flatten().collect())),
        };
        let renamed = new_name.filter(|n| *n != self.name);
        let rewritten = new_message.filter(|m| m.as_str() != self.message.as_str());
        if renamed.is_none() && rewritten.is_none() {
            return Err(LibraryError::NothingToChange);
        }
        let mut next = self.clone();
        if let Some(n) = renamed {
            next.name = n;
        }
        if let Some(m) = rewritten {
            next.tokens = token_names(&m);
            next.message = m;
            next.version += 1;
        }
        next.updated_at = now;
        Ok(next)
    }

    /// The version this template's current text is.
    pub fn current_version(&self) -> TemplateVersion {
        TemplateVersion {
            template_id: self.id.clone(),
            version: self.version,
            name: self.name.clone(),
            message: self.message.clone(),
            saved_at: self.updated_at,
        }
    }
}

impl TemplateVersion {
    pub fn reference(&self) -> TemplateRef {
        TemplateRef {
            id: self.template_id.clone(),
            version: self.version,
            name: self.name.clone(),
        }
    }
}

/// The token names of a message, each once, in order of first use.
pub fn token_names(message: &Template) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for token in message.tokens() {
        if !names.iter().any(|n| n.eq_ignore_ascii_case(&token.name)) {
            names.push(token.name.clone());
        }
    }
    names
}

/// The tokens a list's columns fill, as the import mapped them: the names (`first_name`,
/// `last_name`, `full_name`), the address parts and every attribute column.
pub fn tokens_of_columns(mapping: &ColumnMapping) -> Vec<String> {
    let mut tokens: Vec<String> = Vec::new();
    let mut add = |t: &str| {
        if !tokens.iter().any(|k| k == t) {
            tokens.push(t.to_string());
        }
    };
    for column in &mapping.columns {
        match column.role {
            ColumnRole::FirstName => {
                add("first_name");
                add("full_name");
            }
            ColumnRole::LastName => {
                add("last_name");
                add("full_name");
            }
            ColumnRole::FullName => {
                add("first_name");
                add("last_name");
                add("full_name");
            }
            ColumnRole::Street => add("street"),
            ColumnRole::City => add("city"),
            ColumnRole::State => add("state"),
            ColumnRole::Zip => add("zip"),
            ColumnRole::Attribute => {
                if let Some(key) = &column.attribute {
                    add(key);
                    if let Some(field) = consent_field(key) {
                        add(field);
                    }
                }
            }
            ColumnRole::Phone { .. } | ColumnRole::Email => {}
        }
    }
    tokens
}

/// A token of a message that no column of the list fills.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenFlag {
    /// `A` or `B` (a campaign's message), or `template` (a template checked on its own).
    pub message: String,
    pub token: String,
    /// What every member gets instead; `None` means the token has no fallback, and activation
    /// refuses the campaign.
    pub fallback: Option<String>,
    /// A column the token probably meant (`frist_name` → `first_name`).
    pub did_you_mean: Option<String>,
}

impl TokenFlag {
    /// The sentence an operator reads.
    pub fn describe(&self) -> String {
        let meant = self
            .did_you_mean
            .as_deref()
            .map(|m| format!(" (did you mean {{{{{m}}}}}?)"))
            .unwrap_or_default();
        let which = match self.message.as_str() {
            "A" | "B" => format!("message {}", self.message),
            _ => "the template".to_string(),
        };
        let token = &self.token;
        match &self.fallback {
            Some(f) if f.is_empty() => format!(
                "{which}: no column of the list fills {{{{{token}}}}}{meant}; every member gets nothing in its place"
            ),
            Some(f) => format!(
                "{which}: no column of the list fills {{{{{token}}}}}{meant}; every member gets the fallback \u{201c}{f}\u{201d}"
            ),
            None => format!(
                "{which}: no column of the list fills {{{{{token}}}}}{meant} and it has no fallback; add one ({{{{{token}|…}}}}), or activation stops at each member without a value"
            ),
        }
    }
}

/// The tokens of `message` (called `label`, A or B) that `columns` do not fill, with the
/// fallback each would use. A token used twice with different fallbacks is flagged once per
/// fallback.
pub fn token_check(label: &str, message: &Template, columns: &[String]) -> Vec<TokenFlag> {
    let mut flags: Vec<TokenFlag> = Vec::new();
    for token in message.tokens() {
        if columns.iter().any(|c| c.eq_ignore_ascii_case(&token.name)) {
            continue;
        }
        let flag = TokenFlag {
            message: label.to_string(),
            token: token.name.clone(),
            fallback: token.fallback.clone(),
            did_you_mean: did_you_mean(&token.name, columns).map(str::to_string),
        };
        if !flags.contains(&flag) {
            flags.push(flag);
        }
    }
    flags
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::csv_import::Column;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn raw(name: &str, message: &str) -> RawTemplate {
        RawTemplate {
            name: name.into(),
            message: message.into(),
        }
    }

    #[test]
    fn a_template_names_every_problem_at_once() {
        let err = raw(" ", "Hi {{first_name").parse().unwrap_err();
        assert_eq!(
            err.to_string(),
            "name must be one line of 1 to 100 characters; message: a token opened at character 3 is never closed with }}"
        );
        let long = "x".repeat(1601);
        assert_eq!(
            raw("Listing", &long).parse().unwrap_err(),
            LibraryError::MessageTooLong(1601)
        );
    }

    #[test]
    fn a_new_text_is_a_new_version_and_a_rename_is_not() {
        let now = at("2026-12-01T10:00:00Z");
        let text = raw("Open house", "Hi {{first_name|there}}, open house Sat")
            .parse()
            .unwrap();
        let t = SavedTemplate::new(TemplateId::new(), text, now);
        assert_eq!(
            (t.version, t.tokens.clone()),
            (1, vec!["first_name".into()])
        );

        let renamed = t
            .edited(
                &TemplateEdit {
                    name: Some("Open house (spring)".into()),
                    message: None,
                },
                now,
            )
            .unwrap();
        assert_eq!(
            (renamed.version, renamed.name.as_str()),
            (1, "Open house (spring)")
        );

        let later = at("2026-12-02T10:00:00Z");
        let v2 = renamed
            .edited(
                &TemplateEdit {
                    name: None,
                    message: Some("Hi {{first_name|there}}, see {{street}} Sunday".into()),
                },
                later,
            )
            .unwrap();
        assert_eq!(v2.version, 2);
        assert_eq!(
            v2.tokens,
            vec!["first_name".to_string(), "street".to_string()]
        );
        assert_eq!(v2.current_version().saved_at, later);

        let same = v2.edited(
            &TemplateEdit {
                name: Some(v2.name.clone()),
                message: Some(v2.message.as_str().into()),
            },
            later,
        );
        assert_eq!(same.unwrap_err(), LibraryError::NothingToChange);
    }

    #[test]
    fn the_columns_of_a_list_name_the_tokens_they_fill() {
        let column = |header: &str, role, attribute: Option<&str>| Column {
            header: header.into(),
            role,
            attribute: attribute.map(str::to_string),
        };
        let mapping = ColumnMapping {
            columns: vec![
                column("Name", ColumnRole::FullName, None),
                column("Cell", ColumnRole::Phone { mobile: true }, None),
                column("Property City", ColumnRole::City, None),
                column("Price", ColumnRole::Attribute, Some("price")),
            ],
            has_header: true,
        };
        assert_eq!(
            tokens_of_columns(&mapping),
            ["first_name", "last_name", "full_name", "city", "price"]
        );
    }

    #[test]
    fn tokens_no_column_fills_are_flagged_with_their_fallbacks() {
        let columns: Vec<String> = ["first_name", "last_name", "full_name", "city"]
            .map(String::from)
            .to_vec();
        let message = Template::parse(
            "Hi {{First_Name}}, homes in {{city}} from {{price|$300k}} near {{stret}} {{agent|}}",
        )
        .unwrap();
        let flags = token_check("A", &message, &columns);
        let described: Vec<String> = flags.iter().map(TokenFlag::describe).collect();
        assert_eq!(
            described,
            [
                "message A: no column of the list fills {{price}}; every member gets the fallback \u{201c}$300k\u{201d}",
                "message A: no column of the list fills {{stret}} and it has no fallback; add one ({{stret|…}}), or activation stops at each member without a value",
                "message A: no column of the list fills {{agent}}; every member gets nothing in its place",
            ]
        );
        let typo = token_check(
            "B",
            &Template::parse("Hi {{frist_name}}").unwrap(),
            &columns,
        );
        assert_eq!(typo[0].did_you_mean.as_deref(), Some("first_name"));
    }
}
