//! One CSV row → a candidate contact, or the reason it cannot be one.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::columns::{ColumnMapping, ColumnRole};
use crate::contact::{check_email, NewContact, RawContact, MAX_ATTRIBUTES};
use crate::phone::PhoneNumber;

/// Why a row does not end up in the list; `as_str` is the reason written in the rejects file
/// and the key of the summary counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectReason {
    NoPhone,
    InvalidPhone,
    InvalidRow,
    /// A number outside North America on a row that does not say its time zone: quiet hours
    /// cannot be kept for it.
    UnknownTimeZone,
    /// A row over [`super::limits::MAX_ROW_BYTES`] or [`super::limits::MAX_COLUMNS`]: no
    /// contact is that large, and the table could not hold it.
    RowTooLarge,
    DuplicateInFile,
    /// NumVerify: `valid: false`.
    Invalid,
    Landline,
    TollFree,
    /// Any other line type NumVerify reports (special services, VoIP, paging, unknown…).
    NotMobile,
}

impl RejectReason {
    pub const ALL: [RejectReason; 10] = [
        RejectReason::Landline,
        RejectReason::Invalid,
        RejectReason::TollFree,
        RejectReason::NotMobile,
        RejectReason::DuplicateInFile,
        RejectReason::NoPhone,
        RejectReason::InvalidPhone,
        RejectReason::InvalidRow,
        RejectReason::UnknownTimeZone,
        RejectReason::RowTooLarge,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RejectReason::NoPhone => "no_phone",
            RejectReason::InvalidPhone => "invalid_phone",
            RejectReason::InvalidRow => "invalid_row",
            RejectReason::UnknownTimeZone => "unknown_time_zone",
            RejectReason::RowTooLarge => "row_too_large",
            RejectReason::DuplicateInFile => "duplicate_in_file",
            RejectReason::Invalid => "invalid",
            RejectReason::Landline => "landline",
            RejectReason::TollFree => "toll_free",
            RejectReason::NotMobile => "not_mobile",
        }
    }

    /// Words for the summary sentence ("90 landline").
    pub fn words(self) -> &'static str {
        match self {
            RejectReason::NoPhone => "no phone",
            RejectReason::InvalidPhone => "unreadable phone",
            RejectReason::InvalidRow => "unusable row",
            RejectReason::UnknownTimeZone => "no time zone for a number outside North America",
            RejectReason::RowTooLarge => "row too large",
            RejectReason::DuplicateInFile => "duplicate in file",
            RejectReason::Invalid => "invalid",
            RejectReason::Landline => "landline",
            RejectReason::TollFree => "toll-free",
            RejectReason::NotMobile => "other line type",
        }
    }
}

/// A row that names a usable phone: the contact it would create, plus the row's other numbers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Candidate {
    pub phone: PhoneNumber,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
}

impl Candidate {
    pub fn into_new_contact(self, source: &str) -> NewContact {
        NewContact {
            phone: self.phone,
            first_name: self.first_name,
            last_name: self.last_name,
            email: self.email,
            attributes: self.attributes,
            source: Some(source.to_string()),
        }
    }
}

/// The attribute holding a row's other usable numbers, comma separated, in E.164.
pub const ALTERNATE_PHONES: &str = "alternate_phones";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowRejected {
    pub reason: RejectReason,
    pub detail: String,
}

/// Reads one row (already split into fields) under `mapping`.
pub fn candidate_from_row(
    mapping: &ColumnMapping,
    fields: &[&str],
) -> Result<Candidate, RowRejected> {
    let mut raw = RawContact::default();
    let mut attributes = BTreeMap::new();
    let mut mobiles: Vec<String> = Vec::new();
    let mut others: Vec<String> = Vec::new();
    let mut full_name: Option<String> = None;
    for (column, value) in mapping.columns.iter().zip(fields) {
        let flat: String;
        let mut value = value.trim();
        if value.contains(char::is_control) {
            // Cells with line breaks (quoted newlines) become one line.
            flat = value
                .split(char::is_control)
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .collect::<Vec<_>>()
                .join(" ");
            value = flat.as_str();
        }
        if value.is_empty() {
            continue;
        }
        let text = || Some(value.to_string());
        match column.role {
            ColumnRole::FirstName => raw.first_name = text(),
            ColumnRole::LastName => raw.last_name = text(),
            ColumnRole::FullName => full_name = text(),
            ColumnRole::Phone { mobile: true } => mobiles.push(value.to_string()),
            ColumnRole::Phone { mobile: false } => others.push(value.to_string()),
            ColumnRole::Email => raw.email = text(),
            ColumnRole::Street => {
                attributes.insert("street".to_string(), value.to_string());
            }
            ColumnRole::City => {
                attributes.insert("city".to_string(), value.to_string());
            }
            ColumnRole::State => {
                attributes.insert("state".to_string(), value.to_string());
            }
            ColumnRole::Zip => {
                attributes.insert("zip".to_string(), value.to_string());
            }
            ColumnRole::Attribute => {
                if let Some(key) = &column.attribute {
                    attributes.insert(key.clone(), value.to_string());
                    // The first consent column of each kind names the contact's consent.
                    if let Some(field) = super::consent::consent_field(key) {
                        attributes
                            .entry(field.to_string())
                            .or_insert_with(|| super::consent::normalise(field, value));
                    }
                }
            }
        }
    }
    if let (Some(full), None, None) = (full_name, &raw.first_name, &raw.last_name) {
        let (first, last) = split_full_name(&full);
        raw.first_name = first;
        raw.last_name = last;
    }

    // Mobile-labelled columns first; every other usable number is kept as an alternate.
    let mut phones: Vec<PhoneNumber> = Vec::new();
    let mut first_error = None;
    for value in mobiles.iter().chain(others.iter()) {
        match PhoneNumber::parse(value) {
            Ok(p) if !phones.contains(&p) => phones.push(p),
            Ok(_) => {}
            Err(e) => {
                first_error.get_or_insert_with(|| format!("{value:?}: {e}"));
            }
        }
    }
    if phones.is_empty() {
        return Err(match first_error {
            Some(detail) => RowRejected {
                reason: RejectReason::InvalidPhone,
                detail,
            },
            None => RowRejected {
                reason: RejectReason::NoPhone,
                detail: "no phone number in this row".into(),
            },
        });
    }
    let phone = phones.remove(0);
    // Quiet hours need the recipient's local time; outside North America only the list can
    // say it.
    if !phone.is_nanp() && crate::campaign::declared_zone(&attributes).is_none() {
        return Err(RowRejected {
            reason: RejectReason::UnknownTimeZone,
            detail: format!(
                "The number {phone} is outside North America and the row names no time zone: add a Time Zone column with a zone such as Europe/London or Australia/Sydney"
            ),
        });
    }
    if !phones.is_empty() {
        let alternates: Vec<&str> = phones.iter().map(PhoneNumber::as_str).collect();
        attributes.insert(ALTERNATE_PHONES.to_string(), alternates.join(","));
    }
    while attributes.len() > MAX_ATTRIBUTES {
        let last = attributes.keys().next_back().cloned().expect("not empty");
        attributes.remove(&last);
    }
    if let Some(email) = raw.email.take() {
        // An unusable email does not cost the contact: keep it for the operator to see.
        match check_email(email.trim()) {
            Ok(()) => raw.email = Some(email),
            Err(_) => {
                attributes.insert("email_unusable".into(), email);
            }
        }
    }
    raw.attributes = Some(attributes);
    let checked = NewContact::parse_with_phone(phone, raw);
    match checked {
        Ok(new) => Ok(Candidate {
            phone: new.phone,
            first_name: new.first_name,
            last_name: new.last_name,
            email: new.email,
            attributes: new.attributes,
        }),
        Err(e) => Err(RowRejected {
            reason: RejectReason::InvalidRow,
            detail: e.to_string(),
        }),
    }
}

/// `Ann Marie Smith` → (`Ann Marie`, `Smith`); `Smith, Ann` → (`Ann`, `Smith`).
pub fn split_full_name(full: &str) -> (Option<String>, Option<String>) {
    let full = full.trim();
    if let Some((last, first)) = full.split_once(',') {
        let (first, last) = (first.trim(), last.trim());
        return (
            (!first.is_empty()).then(|| first.to_string()),
            (!last.is_empty()).then(|| last.to_string()),
        );
    }
    let words: Vec<&str> = full.split_whitespace().collect();
    match words.len() {
        0 => (None, None),
        1 => (Some(words[0].to_string()), None),
        n => (
            Some(words[..n - 1].join(" ")),
            Some(words[n - 1].to_string()),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapping(headers: &[&str]) -> ColumnMapping {
        let headers: Vec<String> = headers.iter().map(|h| h.to_string()).collect();
        ColumnMapping::detect(&headers, &[]).unwrap()
    }

    #[test]
    fn full_names_are_split() {
        assert_eq!(
            split_full_name("Ann Marie Smith"),
            (Some("Ann Marie".into()), Some("Smith".into()))
        );
        assert_eq!(
            split_full_name("Smith, Ann"),
            (Some("Ann".into()), Some("Smith".into()))
        );
        assert_eq!(split_full_name("Cher"), (Some("Cher".into()), None));
    }

    #[test]
    fn the_mobile_column_wins_and_other_numbers_are_alternates() {
        let m = mapping(&["Name", "Phone 1", "Owner 1 Mobile", "Phone 2"]);
        let c = candidate_from_row(&m, &["Ann Smith", "212-555-0134", "(646) 555-0101", "bad"])
            .unwrap();
        assert_eq!(c.phone.as_str(), "+16465550101");
        assert_eq!(c.attributes[ALTERNATE_PHONES], "+12125550134");
        assert_eq!(c.first_name.as_deref(), Some("Ann"));
        assert_eq!(c.last_name.as_deref(), Some("Smith"));
    }

    #[test]
    fn rows_without_a_usable_phone_are_rejected_with_the_reason() {
        let m = mapping(&["first_name", "phone", "email"]);
        let none = candidate_from_row(&m, &["Ann", "", "a@example.com"]).unwrap_err();
        assert_eq!(none.reason, RejectReason::NoPhone);
        let bad = candidate_from_row(&m, &["Ann", "555.123.4567 x12", ""]).unwrap_err();
        assert_eq!(bad.reason, RejectReason::InvalidPhone);
        assert!(bad.detail.contains("555.123.4567"), "{}", bad.detail);
    }

    #[test]
    fn an_unusable_email_is_kept_as_an_attribute_not_fatal() {
        let m = mapping(&["phone", "email"]);
        let c = candidate_from_row(&m, &["212.555.0134 x12", "not an email"]).unwrap();
        assert_eq!(c.phone.as_str(), "+12125550134");
        assert_eq!(c.email, None);
        assert_eq!(c.attributes["email_unusable"], "not an email");
    }
}
