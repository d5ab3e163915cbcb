//! Contacts: the people a campaign texts.
//!
//! Why one file: the contact record and the table tests of its merge rules read together; the
//! code alone is under 240 lines.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::ContactId;
use crate::phone::{PhoneError, PhoneNumber};

pub const MAX_NAME_CHARS: usize = 100;
pub const MAX_EMAIL_CHARS: usize = 254;
pub const MAX_ATTRIBUTE_KEY_CHARS: usize = 64;
pub const MAX_ATTRIBUTE_VALUE_CHARS: usize = 1000;
pub const MAX_ATTRIBUTES: usize = 100;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    pub id: ContactId,
    pub phone: PhoneNumber,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
    #[serde(default)]
    pub source: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A contact as typed or imported, before validation (API bodies, CSV rows).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RawContact {
    pub phone: String,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub attributes: Option<BTreeMap<String, String>>,
}

/// A validated contact that has no id yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewContact {
    pub phone: PhoneNumber,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub attributes: BTreeMap<String, String>,
    pub source: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContactError {
    #[error("invalid phone number: {0}")]
    Phone(#[from] PhoneError),
    #[error("{field} is too long ({chars} characters, at most {max})")]
    TooLong {
        field: String,
        chars: usize,
        max: usize,
    },
    #[error("{field} contains a control character such as a line break")]
    ControlCharacter { field: String },
    #[error("email {0:?} is not valid: it needs one @ with text on both sides and no spaces")]
    InvalidEmail(String),
    #[error("an attribute has an empty name")]
    EmptyAttributeKey,
    #[error("attribute {0:?} appears twice once surrounding spaces are removed")]
    DuplicateAttributeKey(String),
    #[error("too many attributes ({count}, at most {max})")]
    TooManyAttributes { count: usize, max: usize },
}

impl ContactError {
    /// The same error about the field named `field`.
    fn for_field(self, field: String) -> Self {
        match self {
            ContactError::TooLong { chars, max, .. } => ContactError::TooLong { field, chars, max },
            ContactError::ControlCharacter { .. } => ContactError::ControlCharacter { field },
            other => other,
        }
    }
}

impl NewContact {
    /// Validates and tidies raw input: text is trimmed, empty text means absent (an empty
    /// attribute is dropped), limits are counted in characters. `source` starts unset.
    pub fn parse(raw: RawContact) -> Result<NewContact, ContactError> {
        let phone = PhoneNumber::parse(&raw.phone)?;
        Self::parse_with_phone(phone, raw)
    }

    /// [`Self::parse`] for a caller that already parsed the phone (`raw.phone` is ignored).
    pub fn parse_with_phone(
        phone: PhoneNumber,
        raw: RawContact,
    ) -> Result<NewContact, ContactError> {
        let first_name = optional_text(raw.first_name, "first name", MAX_NAME_CHARS)?;
        let last_name = optional_text(raw.last_name, "last name", MAX_NAME_CHARS)?;
        let email = optional_text(raw.email, "email", MAX_EMAIL_CHARS)?;
        if let Some(email) = &email {
            check_email(email)?;
        }
        let attributes = attributes(raw.attributes.unwrap_or_default())?;
        Ok(NewContact {
            phone,
            first_name,
            last_name,
            email,
            attributes,
            source: None,
        })
    }

    /// Records where the contact came from (e.g. `api`, or an import id).
    pub fn with_source(mut self, source: impl Into<String>) -> Self {
        self.source = Some(source.into());
        self
    }
}

impl Contact {
    /// The stored contact for `new`, created at `now`.
    pub fn create(id: ContactId, new: NewContact, now: DateTime<Utc>) -> Contact {
        Contact {
            id,
            phone: new.phone,
            first_name: new.first_name,
            last_name: new.last_name,
            email: new.email,
            attributes: new.attributes,
            source: new.source,
            created_at: now,
            updated_at: now,
        }
    }
}

/// Trimmed and checked text, keeping the allocation when nothing needs trimming (imports check
/// millions).
fn text_owned(value: String, field: &str, max: usize) -> Result<String, ContactError> {
    let trimmed = value.trim();
    if trimmed.len() == value.len() {
        checked(&value, field, max)?;
        Ok(value)
    } else {
        checked(trimmed, field, max).map(str::to_owned)
    }
}

fn checked<'a>(value: &'a str, field: &str, max: usize) -> Result<&'a str, ContactError> {
    let (control, chars) = if value.is_ascii() {
        (value.bytes().any(|b| b.is_ascii_control()), value.len())
    } else {
        (value.chars().any(char::is_control), value.chars().count())
    };
    if control {
        return Err(ContactError::ControlCharacter {
            field: field.to_owned(),
        });
    }
    if chars > max {
        return Err(ContactError::TooLong {
            field: field.to_owned(),
            chars,
            max,
        });
    }
    Ok(value)
}

fn optional_text(
    value: Option<String>,
    field: &str,
    max: usize,
) -> Result<Option<String>, ContactError> {
    match value {
        Some(v) => text_owned(v, field, max).map(|t| Some(t).filter(|t| !t.is_empty())),
        None => Ok(None),
    }
}

// Deliberately loose: a stricter check rejects real addresses, and deliverability is the
// mail system's call.
pub fn check_email(email: &str) -> Result<(), ContactError> {
    let valid = match email.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && !has_whitespace(email)
        }
        None => false,
    };
    if valid {
        Ok(())
    } else {
        Err(ContactError::InvalidEmail(email.to_owned()))
    }
}

fn has_whitespace(text: &str) -> bool {
    if text.is_ascii() {
        // The ASCII characters `char::is_whitespace` names, without decoding each one.
        text.bytes()
            .any(|b| matches!(b, b' ' | b'\t' | b'\n' | 0x0B | 0x0C | b'\r'))
    } else {
        text.chars().any(char::is_whitespace)
    }
}

fn attributes(raw: BTreeMap<String, String>) -> Result<BTreeMap<String, String>, ContactError> {
    // An import's attributes are trimmed cells already: checked in place and kept, instead of
    // moved into a new map (a fifth of a million-row parse went to that copy).
    let tidy_already = raw.iter().all(|(key, value)| {
        !key.is_empty() && !value.is_empty() && key.trim() == key && value.trim() == value
    });
    if tidy_already {
        for (key, value) in &raw {
            checked(key, "attribute name", MAX_ATTRIBUTE_KEY_CHARS)?;
            checked(value, "attribute", MAX_ATTRIBUTE_VALUE_CHARS)
                .map_err(|e| e.for_field(format!("attribute {key:?}")))?;
        }
        return too_many_attributes(raw);
    }
    let mut tidy = BTreeMap::new();
    for (key, value) in raw {
        let key = text_owned(key, "attribute name", MAX_ATTRIBUTE_KEY_CHARS)?;
        if key.is_empty() {
            return Err(ContactError::EmptyAttributeKey);
        }
        // The field name is only spelled out on the error path: imports check millions.
        let value = text_owned(value, "attribute", MAX_ATTRIBUTE_VALUE_CHARS)
            .map_err(|e| e.for_field(format!("attribute {key:?}")))?;
        if value.is_empty() {
            continue;
        }
        match tidy.entry(key) {
            std::collections::btree_map::Entry::Vacant(entry) => {
                entry.insert(value);
            }
            std::collections::btree_map::Entry::Occupied(entry) => {
                return Err(ContactError::DuplicateAttributeKey(entry.key().clone()));
            }
        }
    }
    too_many_attributes(tidy)
}

fn too_many_attributes(
    tidy: BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, ContactError> {
    if tidy.len() > MAX_ATTRIBUTES {
        return Err(ContactError::TooManyAttributes {
            count: tidy.len(),
            max: MAX_ATTRIBUTES,
        });
    }
    Ok(tidy)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn raw(phone: &str) -> RawContact {
        RawContact {
            phone: phone.to_owned(),
            ..RawContact::default()
        }
    }

    fn with_attributes<const N: usize>(pairs: [(&str, &str); N]) -> RawContact {
        let map = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        RawContact {
            attributes: Some(map),
            ..raw("555-234-5678")
        }
    }

    fn too_long(field: &str, chars: usize, max: usize) -> ContactError {
        ContactError::TooLong {
            field: field.to_owned(),
            chars,
            max,
        }
    }

    #[test]
    fn parses_and_tidies_a_full_contact() {
        let input = RawContact {
            phone: " (555) 234-5678 ".into(),
            first_name: Some("  Maria ".into()),
            last_name: Some("\u{a0}Lopez".into()),
            email: Some(" maria@example.com ".into()),
            attributes: Some(BTreeMap::from([
                (" city ".to_string(), " Austin ".to_string()),
                ("budget".to_string(), "450k".to_string()),
                ("notes".to_string(), "   ".to_string()),
            ])),
        };
        let new = NewContact::parse(input).unwrap();
        assert_eq!(
            new,
            NewContact {
                phone: PhoneNumber::parse("+15552345678").unwrap(),
                first_name: Some("Maria".into()),
                last_name: Some("Lopez".into()),
                email: Some("maria@example.com".into()),
                attributes: BTreeMap::from([
                    ("budget".to_string(), "450k".to_string()),
                    ("city".to_string(), "Austin".to_string()),
                ]),
                source: None,
            }
        );
        assert_eq!(new.with_source("api").source.as_deref(), Some("api"));
    }

    #[test]
    fn blank_optional_text_becomes_none() {
        for blank in ["", "   ", "\u{a0}\t"] {
            let new = NewContact::parse(RawContact {
                first_name: Some(blank.into()),
                last_name: Some(blank.into()),
                email: Some(blank.into()),
                ..raw("5552345678")
            })
            .unwrap();
            assert_eq!(new.first_name, None, "{blank:?}");
            assert_eq!(new.last_name, None, "{blank:?}");
            assert_eq!(new.email, None, "{blank:?}");
        }
        let bare = NewContact::parse(raw("5552345678")).unwrap();
        assert!(bare.attributes.is_empty());
    }

    #[test]
    fn enforces_length_limits_at_the_boundary() {
        let name = |n: usize| Some("é".repeat(n));
        let email = |n: usize| Some(format!("{}@example.com", "a".repeat(n - 12)));
        let cases = [
            (
                RawContact {
                    first_name: name(100),
                    ..raw("5552345678")
                },
                None,
            ),
            (
                RawContact {
                    first_name: name(101),
                    ..raw("5552345678")
                },
                Some(too_long("first name", 101, 100)),
            ),
            (
                RawContact {
                    last_name: name(100),
                    ..raw("5552345678")
                },
                None,
            ),
            (
                RawContact {
                    last_name: name(101),
                    ..raw("5552345678")
                },
                Some(too_long("last name", 101, 100)),
            ),
            (
                RawContact {
                    email: email(254),
                    ..raw("5552345678")
                },
                None,
            ),
            (
                RawContact {
                    email: email(255),
                    ..raw("5552345678")
                },
                Some(too_long("email", 255, 254)),
            ),
        ];
        for (input, expected) in cases {
            let got = NewContact::parse(input.clone()).err();
            assert_eq!(got, expected, "{input:?}");
        }
    }

    #[test]
    fn checks_email_shape() {
        let cases = [
            ("maria@example.com", true),
            ("m.lopez+homes@realty.co", true),
            ("a@b", true),
            ("maria.example.com", false),
            ("@example.com", false),
            ("maria@", false),
            ("maria@@example.com", false),
            ("maria@home@example.com", false),
            ("maria lopez@example.com", false),
        ];
        for (email, ok) in cases {
            let got = NewContact::parse(RawContact {
                email: Some(email.into()),
                ..raw("5552345678")
            });
            match got {
                Ok(new) => {
                    assert!(ok, "{email} accepted");
                    assert_eq!(new.email.as_deref(), Some(email));
                }
                Err(e) => {
                    assert!(!ok, "{email} rejected: {e}");
                    assert_eq!(e, ContactError::InvalidEmail(email.into()));
                }
            }
        }
    }

    #[test]
    fn validates_attributes() {
        let key64 = "k".repeat(64);
        let key65 = "k".repeat(65);
        let value1000 = "v".repeat(1000);
        let value1001 = "v".repeat(1001);
        let cases = [
            (with_attributes([(&key64, "x")]), None),
            (
                with_attributes([(&key65, "x")]),
                Some(too_long("attribute name", 65, 64)),
            ),
            (with_attributes([("city", &value1000)]), None),
            (
                with_attributes([("city", &value1001)]),
                Some(too_long("attribute \"city\"", 1001, 1000)),
            ),
            (
                with_attributes([("  ", "x")]),
                Some(ContactError::EmptyAttributeKey),
            ),
            (
                with_attributes([("city", "Austin"), ("city ", "Dallas")]),
                Some(ContactError::DuplicateAttributeKey("city".into())),
            ),
            (with_attributes([("city", "Austin"), ("city ", "")]), None),
            (
                with_attributes([("city", "Austin\nTX")]),
                Some(ContactError::ControlCharacter {
                    field: "attribute \"city\"".into(),
                }),
            ),
        ];
        for (input, expected) in cases {
            let got = NewContact::parse(input.clone()).err();
            assert_eq!(got, expected, "{input:?}");
        }
    }

    #[test]
    fn limits_the_number_of_attributes() {
        let many = |n: usize| RawContact {
            attributes: Some((0..n).map(|i| (format!("k{i}"), "v".to_string())).collect()),
            ..raw("5552345678")
        };
        assert_eq!(NewContact::parse(many(100)).unwrap().attributes.len(), 100);
        assert_eq!(
            NewContact::parse(many(101)),
            Err(ContactError::TooManyAttributes {
                count: 101,
                max: 100
            })
        );
    }

    #[test]
    fn rejects_bad_phones_and_control_characters() {
        let cases = [
            (
                raw("(555) 123-4567"),
                "invalid phone number: exchange code 123 is not valid",
            ),
            (raw(""), "invalid phone number: phone number is empty"),
            (
                RawContact {
                    first_name: Some("Ma\nria".into()),
                    ..raw("5552345678")
                },
                "first name contains a control character",
            ),
        ];
        for (input, message) in cases {
            let err = NewContact::parse(input).unwrap_err();
            assert!(err.to_string().starts_with(message), "{err}");
        }
    }

    #[test]
    fn serde_shapes() {
        let raw: RawContact = serde_json::from_str(r#"{"phone":"555-234-5678"}"#).unwrap();
        assert_eq!(raw, self::raw("555-234-5678"));
        assert!(serde_json::from_str::<RawContact>(r#"{"first_name":"Maria"}"#).is_err());

        let now = Utc.with_ymd_and_hms(2025, 1, 2, 3, 4, 5).unwrap();
        let new = NewContact::parse(with_attributes([("city", "Austin")]))
            .unwrap()
            .with_source("import:im_1");
        let id = ContactId::new();
        let contact = Contact::create(id.clone(), new.clone(), now);
        assert_eq!(contact.id, id);
        assert_eq!(contact.phone, new.phone);
        assert_eq!(contact.attributes, new.attributes);
        assert_eq!(contact.source.as_deref(), Some("import:im_1"));
        assert_eq!((contact.created_at, contact.updated_at), (now, now));

        let json = serde_json::to_value(&contact).unwrap();
        assert_eq!(json["phone"], "+15552345678");
        assert_eq!(json["id"], id.as_str());
        assert_eq!(json["created_at"], "2025-01-02T03:04:05Z");
        let back: Contact = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(back, contact);

        let mut tampered = json;
        tampered["phone"] = "555-123-4567".into();
        assert!(serde_json::from_value::<Contact>(tampered).is_err());
    }
}
