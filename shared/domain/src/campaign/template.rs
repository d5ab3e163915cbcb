//! Message templates with personalisation tokens: `{{first_name}}`, `{{last_name}}`,
//! `{{full_name}}`, any imported attribute, each with an optional fallback
//! (`{{first_name|there}}`).

use serde::{Deserialize, Serialize};

use crate::contact::Contact;

/// OpenPhone's limit on one message.
pub const MAX_MESSAGE_CHARS: usize = 1600;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Template {
    source: String,
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Token(Token),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub name: String,
    pub fallback: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("a message cannot be empty")]
    Empty,
    #[error("a token opened at character {0} is never closed with }}}}")]
    Unclosed(usize),
    #[error("the token at character {0} has no name")]
    EmptyToken(usize),
}

/// A template rendered for one contact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rendered {
    pub text: String,
    /// Tokens with no value for this contact and no fallback (rendered as nothing).
    pub unresolved: Vec<String>,
}

impl TryFrom<String> for Template {
    type Error = TemplateError;

    fn try_from(source: String) -> Result<Self, Self::Error> {
        Template::parse(&source)
    }
}

impl From<Template> for String {
    fn from(t: Template) -> Self {
        t.source
    }
}

impl Template {
    pub fn parse(source: &str) -> Result<Template, TemplateError> {
        if source.trim().is_empty() {
            return Err(TemplateError::Empty);
        }
        let mut parts = Vec::new();
        let mut rest = source;
        while let Some(open) = rest.find("{{") {
            if open > 0 {
                parts.push(Part::Text(rest[..open].to_string()));
            }
            let at = source.len() - rest.len() + open;
            let char_at = source[..at].chars().count();
            let after = &rest[open + 2..];
            let close = after.find("}}").ok_or(TemplateError::Unclosed(char_at))?;
            let inner = &after[..close];
            let (name, fallback) = match inner.split_once('|') {
                Some((n, f)) => (n.trim(), Some(f.trim().to_string())),
                None => (inner.trim(), None),
            };
            if name.is_empty() || name.contains("{{") {
                return Err(TemplateError::EmptyToken(char_at));
            }
            parts.push(Part::Token(Token {
                name: name.to_string(),
                fallback,
            }));
            rest = &after[close + 2..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_string()));
        }
        Ok(Template {
            source: source.to_string(),
            parts,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.source
    }

    pub fn tokens(&self) -> impl Iterator<Item = &Token> {
        self.parts.iter().filter_map(|p| match p {
            Part::Token(t) => Some(t),
            Part::Text(_) => None,
        })
    }

    /// Token names that a contact must supply because they carry no fallback.
    pub fn required_tokens(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self
            .tokens()
            .filter(|t| t.fallback.is_none())
            .map(|t| t.name.as_str())
            .collect();
        names.sort_unstable();
        names.dedup();
        names
    }

    pub fn render(&self, contact: &Contact) -> Rendered {
        let mut text = String::with_capacity(self.source.len());
        let mut unresolved: Vec<String> = Vec::new();
        for part in &self.parts {
            match part {
                Part::Text(t) => text.push_str(t),
                Part::Token(token) => match token_value(contact, &token.name) {
                    Some(v) => text.push_str(&v),
                    None => match &token.fallback {
                        Some(f) => text.push_str(f),
                        None => {
                            if !unresolved.contains(&token.name) {
                                unresolved.push(token.name.clone());
                            }
                        }
                    },
                },
            }
        }
        Rendered { text, unresolved }
    }
}

/// The value of a token for a contact; blank values count as missing.
pub fn token_value(contact: &Contact, name: &str) -> Option<String> {
    let present = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let value = match name.to_ascii_lowercase().as_str() {
        "first_name" => present(&contact.first_name),
        "last_name" => present(&contact.last_name),
        "full_name" => {
            let parts: Vec<String> = [present(&contact.first_name), present(&contact.last_name)]
                .into_iter()
                .flatten()
                .collect();
            (!parts.is_empty()).then(|| parts.join(" "))
        }
        _ => contact
            .attributes
            .get(name)
            .or_else(|| {
                contact
                    .attributes
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(name))
                    .map(|(_, v)| v)
            })
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty()),
    };
    value
}

/// The tokens a contact offers: the built-in names and its attribute columns.
pub fn tokens_of(contact: &Contact) -> Vec<String> {
    ["first_name", "last_name", "full_name"]
        .iter()
        .map(|t| t.to_string())
        .chain(contact.attributes.keys().cloned())
        .collect()
}

/// The known token a mistyped one most likely meant (at most two edits away), for "did you
/// mean `first_name`?".
pub fn did_you_mean<'a>(typed: &str, known: &'a [String]) -> Option<&'a str> {
    let typed = typed.to_ascii_lowercase();
    known
        .iter()
        .map(|k| (edits(&typed, &k.to_ascii_lowercase()), k))
        .filter(|(d, _)| (1..=2).contains(d))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k.as_str())
}

/// Levenshtein distance, with a swap of neighbours counted as one edit ("frist").
fn edits(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
            }
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    #[test]
    fn a_mistyped_token_suggests_the_one_meant() {
        let known: Vec<String> = ["first_name", "last_name", "neighborhood"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            super::did_you_mean("frist_name", &known),
            Some("first_name")
        );
        assert_eq!(
            super::did_you_mean("First_Nmae", &known),
            Some("first_name")
        );
        assert_eq!(
            super::did_you_mean("neighbourhood", &known),
            Some("neighborhood")
        );
        assert_eq!(
            super::did_you_mean("first_name", &known),
            None,
            "not a mistake"
        );
        assert_eq!(super::did_you_mean("price", &known), None, "nothing close");
    }

    use super::*;
    use crate::{ContactId, PhoneNumber};

    fn contact(first: Option<&str>, last: Option<&str>, attrs: &[(&str, &str)]) -> Contact {
        let now = chrono::Utc::now();
        Contact {
            id: ContactId::new(),
            phone: PhoneNumber::parse("+12125550134").unwrap(),
            first_name: first.map(str::to_string),
            last_name: last.map(str::to_string),
            email: None,
            attributes: attrs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>(),
            source: None,
            created_at: now,
            updated_at: now,
        }
    }

    #[test]
    fn render_table() {
        let ann = contact(
            Some("Ann"),
            Some("Lee"),
            &[("City", "Boston"), ("blank", "  ")],
        );
        let nobody = contact(None, None, &[]);
        let last_only = contact(None, Some("Lee"), &[]);
        let cases: &[(&str, &Contact, &str, &[&str])] = &[
            ("Hi {{first_name}}!", &ann, "Hi Ann!", &[]),
            ("Hi {{ first_name | there }}!", &nobody, "Hi there!", &[]),
            ("Hi {{first_name|there}}!", &ann, "Hi Ann!", &[]),
            ("{{full_name}}", &ann, "Ann Lee", &[]),
            ("{{full_name}}", &last_only, "Lee", &[]),
            ("{{full_name|friend}}", &nobody, "friend", &[]),
            (
                "{{last_name}}, {{first_name}}",
                &nobody,
                ", ",
                &["last_name", "first_name"],
            ),
            ("See you in {{City}}", &ann, "See you in Boston", &[]),
            ("See you in {{city}}", &ann, "See you in Boston", &[]),
            ("{{blank|x}}{{blank}}", &ann, "x", &["blank"]),
            ("{{missing}} and {{missing}}", &ann, " and ", &["missing"]),
            ("{{first_name|}}ok", &nobody, "ok", &[]),
            (
                "no tokens 😀 {single} braces }}",
                &ann,
                "no tokens 😀 {single} braces }}",
                &[],
            ),
            ("{{FIRST_NAME}}", &ann, "Ann", &[]),
        ];
        for (source, who, text, unresolved) in cases {
            let rendered = Template::parse(source).unwrap().render(who);
            assert_eq!(rendered.text, *text, "{source}");
            assert_eq!(rendered.unresolved, *unresolved, "{source}");
        }
    }

    #[test]
    fn parse_errors() {
        assert_eq!(Template::parse("  "), Err(TemplateError::Empty));
        assert_eq!(
            Template::parse("Hi {{first_name"),
            Err(TemplateError::Unclosed(3))
        );
        assert_eq!(
            Template::parse("é {{ | x}}"),
            Err(TemplateError::EmptyToken(2))
        );
        assert_eq!(
            Template::parse("a {{}} b"),
            Err(TemplateError::EmptyToken(2))
        );
    }

    #[test]
    fn required_tokens_are_those_without_fallback() {
        let t = Template::parse("{{a}} {{b|x}} {{c}} {{a}}").unwrap();
        assert_eq!(t.required_tokens(), vec!["a", "c"]);
        assert_eq!(t.tokens().count(), 4);
    }

    #[test]
    fn serialises_as_its_source() {
        let t = Template::parse("Hi {{first_name|there}}").unwrap();
        assert_eq!(
            serde_json::to_value(&t).unwrap(),
            serde_json::json!("Hi {{first_name|there}}")
        );
        assert!(serde_json::from_value::<Template>(serde_json::json!("{{oops")).is_err());
    }
}
