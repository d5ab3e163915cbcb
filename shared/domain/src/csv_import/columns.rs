//! Smart column mapping: which header is the phone, the names, the email, the address, and
//! which columns are kept as attributes.
//!
//! Why one file: the header heuristics and their table tests (a third of the file) read together.

use serde::{Deserialize, Serialize};

use crate::phone::PhoneNumber;

/// Number of phone columns a row may offer (`Phone 1` … and more); the rest become attributes.
pub const MAX_PHONE_COLUMNS: usize = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ColumnRole {
    FirstName,
    LastName,
    FullName,
    /// A phone column; `mobile` when its header says mobile, cell or wireless.
    Phone {
        mobile: bool,
    },
    Email,
    Street,
    City,
    State,
    Zip,
    /// Kept as a contact attribute under this column's attribute key.
    Attribute,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Column {
    /// The header as written (or `column N` in a file without a header row).
    pub header: String,
    pub role: ColumnRole,
    /// The attribute key (snake case of the header) for attribute columns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attribute: Option<String>,
}

/// How each column of a file is read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnMapping {
    pub columns: Vec<Column>,
    /// False when the file had no header row and was mapped by its content.
    pub has_header: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MappingError {
    #[error("the file is empty")]
    Empty,
    #[error("no phone column found in the header row ({0}); name a column phone, mobile or cell")]
    NoPhoneColumn(String),
    #[error(
        "the file has no header row and its columns cannot be told apart ({0}); \
         add a header row such as first_name,last_name,phone,email"
    )]
    NoHeader(String),
    #[error(
        "the first row runs past 64 KB: the file may not be a CSV, or a quote in its first line \
         is never closed; check the first line and upload the file again"
    )]
    HeaderTooLarge,
    #[error(
        "the file has {0} columns and a list takes at most {max}; remove the columns you do not \
         need and upload it again", max = super::limits::MAX_COLUMNS
    )]
    TooManyColumns(usize),
}

/// Lower-case words of a header: `Owner1 Mobile-Phone` → `owner 1 mobile phone`.
pub fn header_words(header: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut previous: Option<char> = None;
    for c in header.trim().chars() {
        let boundary = match previous {
            Some(p) => {
                (p.is_ascii_digit() != c.is_ascii_digit()) || (p.is_lowercase() && c.is_uppercase())
            }
            None => false,
        };
        if !c.is_alphanumeric() {
            if !word.is_empty() {
                words.push(std::mem::take(&mut word));
            }
            previous = None;
            continue;
        }
        if boundary && !word.is_empty() {
            words.push(std::mem::take(&mut word));
        }
        word.extend(c.to_lowercase());
        previous = Some(c);
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

/// The attribute key of a header: its words joined by `_`.
pub fn attribute_key(header: &str) -> String {
    let key = header_words(header).join("_");
    if key.is_empty() {
        "column".to_string()
    } else {
        key.chars()
            .take(crate::contact::MAX_ATTRIBUTE_KEY_CHARS)
            .collect()
    }
}

/// Words that say whose field it is or which one, without changing what it is.
const QUALIFIERS: &[&str] = &[
    "owner",
    "primary",
    "agent",
    "contact",
    "customer",
    "client",
    "lead",
    "person",
    "main",
    "property",
    "mailing",
    "mail",
    "site",
    "home",
    "personal",
    "line",
    "secondary",
    "alt",
    "alternate",
    "other",
    "co",
    "borrower",
    "buyer",
    "seller",
    "listing",
    "no",
    "num",
    "number",
    "nbr",
    "1",
    "2",
    "3",
    "4",
    "5",
    "6",
    "7",
    "8",
    "9",
    "10",
];
/// Words that turn a phone-looking header into something else (`Phone 1 Type`, `Mobile DNC`).
const PHONE_EXCLUDERS: &[&str] = &[
    "type",
    "status",
    "dnc",
    "verified",
    "ext",
    "extension",
    "carrier",
    "count",
    "flag",
    "litigator",
    "score",
    "date",
    "country",
    "code",
    "label",
    "fax",
];
/// Qualifiers that only make sense on a phone column (`Office Phone`, `Work Phone`).
const PHONE_QUALIFIERS: &[&str] = &[
    "office", "work", "business", "direct", "day", "evening", "landline", "land", "voice",
    "company", "best",
];
const PHONE_WORDS: &[&str] = &[
    "phone",
    "telephone",
    "tel",
    "phonenumber",
    "number",
    "ph",
    "teléfono",
    "telefono",
];
const MOBILE_WORDS: &[&str] = &[
    "mobile",
    "cell",
    "cellphone",
    "wireless",
    "mobilephone",
    "sms",
    "móvil",
    "movil",
    "celular",
];

fn only_qualifiers_besides(words: &[String], core: &[&str]) -> bool {
    words
        .iter()
        .all(|w| core.contains(&w.as_str()) || QUALIFIERS.contains(&w.as_str()))
}

fn has_any(words: &[String], set: &[&str]) -> bool {
    words.iter().any(|w| set.contains(&w.as_str()))
}

/// The role a header names, judged by its words alone.
pub fn role_of(header: &str) -> ColumnRole {
    let words = header_words(header);
    let words: Vec<String> = words
        .into_iter()
        // "e-mail" splits into "e" + "mail".
        .fold(Vec::new(), |mut acc, w| {
            if w == "mail" && acc.last().is_some_and(|l: &String| l == "e") {
                acc.pop();
                acc.push("email".into());
            } else {
                acc.push(w);
            }
            acc
        });
    if words.is_empty() {
        return ColumnRole::Attribute;
    }
    let phoneish = has_any(&words, MOBILE_WORDS)
        || words
            .iter()
            .any(|w| PHONE_WORDS.contains(&w.as_str()) && w != "number");
    if phoneish && !has_any(&words, PHONE_EXCLUDERS) {
        let core: Vec<&str> = PHONE_WORDS
            .iter()
            .chain(MOBILE_WORDS)
            .chain(PHONE_QUALIFIERS)
            .copied()
            .collect();
        if only_qualifiers_besides(&words, &core) {
            return ColumnRole::Phone {
                mobile: has_any(&words, MOBILE_WORDS),
            };
        }
    }
    if has_any(&words, &["email", "emailaddress"])
        && only_qualifiers_besides(&words, &["email", "emailaddress", "address"])
    {
        return ColumnRole::Email;
    }
    let name_core = ["name", "first", "last"];
    if has_any(
        &words,
        &["first", "fname", "given", "firstname", "forename"],
    ) && !has_any(&words, &["last"])
        && only_qualifiers_besides(
            &words,
            &[&name_core[..], &["fname", "given", "firstname", "forename"]].concat(),
        )
    {
        return ColumnRole::FirstName;
    }
    if has_any(&words, &["last", "lname", "surname", "family", "lastname"])
        && !has_any(&words, &["first"])
        && only_qualifiers_besides(
            &words,
            &[&name_core[..], &["lname", "surname", "family", "lastname"]].concat(),
        )
    {
        return ColumnRole::LastName;
    }
    if has_any(&words, &["name", "fullname"])
        && only_qualifiers_besides(&words, &["name", "full", "fullname", "display"])
    {
        return ColumnRole::FullName;
    }
    if has_any(&words, &["city", "town"]) && only_qualifiers_besides(&words, &["city", "town"]) {
        return ColumnRole::City;
    }
    if has_any(&words, &["state", "st", "province"])
        && only_qualifiers_besides(&words, &["state", "st", "province"])
    {
        return ColumnRole::State;
    }
    if has_any(&words, &["zip", "zipcode", "postal", "postcode", "zip5"])
        && only_qualifiers_besides(
            &words,
            &["zip", "zipcode", "postal", "postcode", "zip5", "code"],
        )
    {
        return ColumnRole::Zip;
    }
    if has_any(&words, &["address", "street", "addr", "address1"])
        && only_qualifiers_besides(&words, &["address", "street", "addr", "address1"])
    {
        return ColumnRole::Street;
    }
    ColumnRole::Attribute
}

impl ColumnMapping {
    /// The mapping of a file whose first record is `first` and whose next records are `sample`
    /// (a few rows are enough): by header when the first record is a header row, by content when
    /// it is data and the content leaves no doubt, else a clear refusal.
    pub fn detect(first: &[String], sample: &[Vec<String>]) -> Result<ColumnMapping, MappingError> {
        if first.iter().all(|c| c.trim().is_empty()) {
            return Err(MappingError::Empty);
        }
        let roles: Vec<ColumnRole> = first.iter().map(|h| role_of(h)).collect();
        let recognised = roles
            .iter()
            .filter(|r| **r != ColumnRole::Attribute)
            .count();
        let first_has_phone_value = first.iter().any(|c| looks_like_phone(c));
        if recognised > 0 && !first_has_phone_value {
            return Self::from_headers(first, &roles);
        }
        let mut rows = vec![first.to_vec()];
        rows.extend(sample.iter().cloned());
        Self::from_content(&rows)
    }

    fn from_headers(
        headers: &[String],
        roles: &[ColumnRole],
    ) -> Result<ColumnMapping, MappingError> {
        let mut taken: Vec<ColumnRole> = Vec::new();
        let mut phones = 0;
        let mut columns = Vec::with_capacity(headers.len());
        let mut keys: Vec<String> = Vec::new();
        for (header, role) in headers.iter().zip(roles) {
            let role = match role {
                ColumnRole::Phone { .. } if phones < MAX_PHONE_COLUMNS => {
                    phones += 1;
                    *role
                }
                ColumnRole::Phone { .. } | ColumnRole::Attribute => ColumnRole::Attribute,
                // The first column of a role wins; later ones (a second owner's name, the
                // mailing address beside the property address) are kept as attributes.
                other if taken.contains(other) => ColumnRole::Attribute,
                other => {
                    taken.push(*other);
                    *other
                }
            };
            let attribute = (role == ColumnRole::Attribute).then(|| {
                let base = attribute_key(header);
                let mut key = base.clone();
                let mut n = 2;
                while keys.contains(&key) {
                    key = format!("{base}_{n}");
                    n += 1;
                }
                keys.push(key.clone());
                key
            });
            columns.push(Column {
                header: header.trim().to_string(),
                role,
                attribute,
            });
        }
        if phones == 0 {
            let list = headers
                .iter()
                .map(|h| h.trim())
                .collect::<Vec<_>>()
                .join(", ");
            return Err(MappingError::NoPhoneColumn(list));
        }
        Ok(ColumnMapping {
            columns,
            has_header: true,
        })
    }

    /// A headerless file: exactly one column whose values are all phone numbers is the phone;
    /// a column of `@` values is the email; the rest are attributes `column_N`.
    fn from_content(rows: &[Vec<String>]) -> Result<ColumnMapping, MappingError> {
        let width = rows.iter().map(Vec::len).max().unwrap_or(0);
        let all = |col: usize, test: &dyn Fn(&str) -> bool| {
            let mut seen = false;
            for row in rows {
                let value = row.get(col).map(|v| v.trim()).unwrap_or("");
                if value.is_empty() {
                    continue;
                }
                if !test(value) {
                    return false;
                }
                seen = true;
            }
            seen
        };
        let phone_cols: Vec<usize> = (0..width).filter(|&c| all(c, &looks_like_phone)).collect();
        let email_cols: Vec<usize> = (0..width)
            .filter(|&c| all(c, &|v: &str| v.contains('@') && !v.contains(' ')))
            .collect();
        if phone_cols.len() != 1 {
            let why = if phone_cols.is_empty() {
                "no column holds phone numbers".to_string()
            } else {
                format!("{} columns hold phone numbers", phone_cols.len())
            };
            return Err(MappingError::NoHeader(why));
        }
        let columns = (0..width)
            .map(|c| {
                let header = format!("column {}", c + 1);
                let role = if c == phone_cols[0] {
                    ColumnRole::Phone { mobile: false }
                } else if email_cols.first() == Some(&c) {
                    ColumnRole::Email
                } else {
                    ColumnRole::Attribute
                };
                Column {
                    attribute: (role == ColumnRole::Attribute).then(|| format!("column_{}", c + 1)),
                    header,
                    role,
                }
            })
            .collect();
        Ok(ColumnMapping {
            columns,
            has_header: false,
        })
    }

    /// A one-line description for the import status: `phone ← Mobile; first name ← First`.
    pub fn describe(&self) -> String {
        self.columns
            .iter()
            .filter(|c| c.role != ColumnRole::Attribute)
            .map(|c| {
                let role = match c.role {
                    ColumnRole::FirstName => "first name",
                    ColumnRole::LastName => "last name",
                    ColumnRole::FullName => "full name",
                    ColumnRole::Phone { mobile: true } => "mobile phone",
                    ColumnRole::Phone { mobile: false } => "phone",
                    ColumnRole::Email => "email",
                    ColumnRole::Street => "street",
                    ColumnRole::City => "city",
                    ColumnRole::State => "state",
                    ColumnRole::Zip => "zip",
                    ColumnRole::Attribute => "attribute",
                };
                format!("{role} ← {}", c.header)
            })
            .collect::<Vec<_>>()
            .join("; ")
    }
}

fn looks_like_phone(value: &str) -> bool {
    let digits = value.chars().filter(char::is_ascii_digit).count();
    (10..=15).contains(&digits) && PhoneNumber::parse(value).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roles(headers: &[&str]) -> Vec<ColumnRole> {
        headers.iter().map(|h| role_of(h)).collect()
    }

    #[test]
    fn headers_split_into_words() {
        assert_eq!(
            header_words("Owner1 Mobile-Phone"),
            ["owner", "1", "mobile", "phone"]
        );
        assert_eq!(header_words("firstName"), ["first", "name"]);
        assert_eq!(header_words("  E-Mail Address "), ["e", "mail", "address"]);
        assert_eq!(attribute_key("Lot Size (sqft)"), "lot_size_sqft");
    }

    #[test]
    fn synonyms_map_whatever_the_case_spacing_or_punctuation() {
        use ColumnRole::*;
        assert_eq!(
            roles(&[
                "FIRST_NAME",
                "Last Name",
                "e-mail",
                "Phone Number",
                "Cell",
                "Full Name"
            ]),
            [
                FirstName,
                LastName,
                Email,
                Phone { mobile: false },
                Phone { mobile: true },
                FullName
            ]
        );
        assert_eq!(
            roles(&[
                "Owner 1 Mobile",
                "Phone 3",
                "Wireless",
                "Owner 1 First Name",
                "Zip Code"
            ]),
            [
                Phone { mobile: true },
                Phone { mobile: false },
                Phone { mobile: true },
                FirstName,
                Zip
            ]
        );
        assert_eq!(
            roles(&[
                "Phone 1 Type",
                "Mobile DNC",
                "Company Name",
                "Lot Size",
                "Street Address"
            ]),
            [Attribute, Attribute, Attribute, Attribute, Street]
        );
    }

    #[test]
    fn a_second_column_of_a_role_and_unknown_columns_become_attributes() {
        let headers: Vec<String> = ["Name", "Phone", "Owner 2 Name", "Notes", "Notes"]
            .map(String::from)
            .to_vec();
        let mapping = ColumnMapping::detect(&headers, &[]).unwrap();
        let keys: Vec<Option<&str>> = mapping
            .columns
            .iter()
            .map(|c| c.attribute.as_deref())
            .collect();
        assert_eq!(
            keys,
            [
                None,
                None,
                Some("owner_2_name"),
                Some("notes"),
                Some("notes_2")
            ]
        );
    }

    #[test]
    fn a_header_without_a_phone_column_is_refused_by_name() {
        let headers: Vec<String> = ["first_name", "email"].map(String::from).to_vec();
        let err = ColumnMapping::detect(&headers, &[]).unwrap_err();
        assert!(err.to_string().contains("first_name, email"), "{err}");
    }

    #[test]
    fn headerless_files_map_by_content_only_when_unambiguous() {
        let row = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let first = row(&["Ann", "(212) 555-0134", "ann@example.com"]);
        let sample = vec![row(&["Bob", "212-555-0199", ""])];
        let mapping = ColumnMapping::detect(&first, &sample).unwrap();
        assert!(!mapping.has_header);
        assert_eq!(mapping.columns[1].role, ColumnRole::Phone { mobile: false });
        assert_eq!(mapping.columns[2].role, ColumnRole::Email);
        assert_eq!(mapping.columns[0].attribute.as_deref(), Some("column_1"));

        let two_phones = row(&["2125550134", "2125550199"]);
        assert!(matches!(
            ColumnMapping::detect(&two_phones, &[]),
            Err(MappingError::NoHeader(_))
        ));
        let words = row(&["alpha", "beta"]);
        assert!(matches!(
            ColumnMapping::detect(&words, &[]),
            Err(MappingError::NoHeader(_))
        ));
    }
}
