//! Typed ids, so a contact id cannot be passed where a campaign id is expected.
//!
//! Our own ids are a type prefix and a UUID v7 in lowercase hex (`ct_0193b2…`, 35 characters).
//! UUID v7 starts with a millisecond timestamp, so ids sort by creation time, which keeps
//! table keys and listings in creation order. The prefix makes a stray id in a log or a URL
//! recognisable at a glance. Parsing is strict (lowercase only) so that string equality is
//! id equality.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

const HEX_LEN: usize = 32;
const EVENT_ID_MAX_CHARS: usize = 200;
/// Inputs quoted in errors are cut, as they may come from anywhere.
const QUOTED_MAX_CHARS: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("{kind} is empty")]
    Empty { kind: &'static str },
    #[error("{kind} {input:?} must start with {prefix:?}")]
    WrongPrefix {
        kind: &'static str,
        prefix: &'static str,
        input: String,
    },
    #[error("{kind} {input:?} must be {prefix:?} followed by 32 lowercase hex digits")]
    Malformed {
        kind: &'static str,
        prefix: &'static str,
        input: String,
    },
    #[error("{kind} is {chars} characters long, at most {max} allowed")]
    TooLong {
        kind: &'static str,
        chars: usize,
        max: usize,
    },
}

fn quoted(input: &str) -> String {
    input.chars().take(QUOTED_MAX_CHARS).collect()
}

fn parse_prefixed(input: &str, prefix: &'static str, kind: &'static str) -> Result<(), IdError> {
    if input.is_empty() {
        return Err(IdError::Empty { kind });
    }
    let Some(hex) = input.strip_prefix(prefix) else {
        return Err(IdError::WrongPrefix {
            kind,
            prefix,
            input: quoted(input),
        });
    };
    let well_formed =
        hex.len() == HEX_LEN && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    if !well_formed {
        return Err(IdError::Malformed {
            kind,
            prefix,
            input: quoted(input),
        });
    }
    Ok(())
}

macro_rules! prefixed_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub const PREFIX: &'static str = $prefix;

            /// A fresh id; later calls sort after earlier ones.
            pub fn new() -> Self {
                Self::from_uuid(Uuid::now_v7())
            }

            /// Wraps an existing UUID, e.g. one derived deterministically in a test.
            pub fn from_uuid(uuid: Uuid) -> Self {
                Self(format!("{}{}", $prefix, uuid.simple()))
            }

            pub fn parse(input: &str) -> Result<Self, IdError> {
                parse_prefixed(input, $prefix, stringify!($name))?;
                Ok(Self(input.to_owned()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn uuid(&self) -> Uuid {
                Uuid::try_parse(&self.0[$prefix.len()..])
                    .expect("the hex part was validated when the id was built")
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl FromStr for $name {
            type Err = IdError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = IdError;

            fn try_from(value: String) -> Result<Self, Self::Error> {
                parse_prefixed(&value, $prefix, stringify!($name))?;
                Ok(Self(value))
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> Self {
                id.0
            }
        }
    };
}

prefixed_id!(
    /// A contact (one phone number, one person), `ct_…`.
    ContactId,
    "ct_"
);
prefixed_id!(
    /// A list of contacts, `ls_…`.
    ListId,
    "ls_"
);
prefixed_id!(
    /// A campaign, `cp_…`.
    CampaignId,
    "cp_"
);
prefixed_id!(
    /// A contact import (one uploaded file), `im_…`.
    ImportId,
    "im_"
);
prefixed_id!(
    /// A saved message template of the library, `tp_…`.
    TemplateId,
    "tp_"
);

/// An event id chosen by the provider (e.g. an OpenPhone webhook id); used to drop duplicate
/// deliveries, so it is kept exactly as received.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EventId(String);

impl EventId {
    pub const MAX_CHARS: usize = EVENT_ID_MAX_CHARS;

    pub fn parse(input: &str) -> Result<Self, IdError> {
        Self::try_from(input.to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for EventId {
    type Err = IdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl AsRef<str> for EventId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for EventId {
    type Error = IdError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        const KIND: &str = "EventId";
        if value.is_empty() {
            return Err(IdError::Empty { kind: KIND });
        }
        let chars = value.chars().count();
        if chars > EVENT_ID_MAX_CHARS {
            return Err(IdError::TooLong {
                kind: KIND,
                chars,
                max: EVENT_ID_MAX_CHARS,
            });
        }
        Ok(Self(value))
    }
}

impl From<EventId> for String {
    fn from(id: EventId) -> Self {
        id.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "0193b2c4d5e67f00a1b2c3d4e5f60718";

    #[test]
    fn new_ids_carry_their_prefix_and_a_v7_uuid() {
        let ids = [
            (ContactId::new().to_string(), "ct_"),
            (ListId::new().to_string(), "ls_"),
            (CampaignId::new().to_string(), "cp_"),
            (ImportId::new().to_string(), "im_"),
        ];
        for (id, prefix) in ids {
            assert!(id.starts_with(prefix), "{id}");
            assert_eq!(id.len(), prefix.len() + HEX_LEN, "{id}");
        }
        assert_eq!(ContactId::new().uuid().get_version_num(), 7);
        assert_eq!(ContactId::PREFIX, "ct_");
    }

    #[test]
    fn new_ids_are_unique_and_sort_by_creation() {
        let ids: Vec<ContactId> = (0..500).map(|_| ContactId::new()).collect();
        for pair in ids.windows(2) {
            assert!(pair[0] < pair[1], "{} !< {}", pair[0], pair[1]);
        }
    }

    #[test]
    fn parse_accepts_only_the_canonical_form() {
        let valid = format!("ct_{HEX}");
        let cases: [(String, Result<(), &str>); 10] = [
            (valid.clone(), Ok(())),
            (String::new(), Err("empty")),
            (format!("ls_{HEX}"), Err("prefix")),
            (HEX.to_owned(), Err("prefix")),
            (format!("CT_{HEX}"), Err("prefix")),
            (format!("ct_{}", HEX.to_uppercase()), Err("malformed")),
            (format!("ct_{}", &HEX[1..]), Err("malformed")),
            (format!("ct_{HEX}0"), Err("malformed")),
            (format!("ct_{}g", &HEX[1..]), Err("malformed")),
            (
                "ct_0193b2c4-d5e6-7f00-a1b2-c3d4e5f60718".to_owned(),
                Err("malformed"),
            ),
        ];
        for (input, expected) in cases {
            let got = ContactId::parse(&input).map(|id| assert_eq!(id.as_str(), input));
            let got = got.map_err(|e| match e {
                IdError::Empty { .. } => "empty",
                IdError::WrongPrefix { .. } => "prefix",
                IdError::Malformed { .. } => "malformed",
                IdError::TooLong { .. } => "too long",
            });
            assert_eq!(got, expected, "input {input:?}");
        }
    }

    #[test]
    fn errors_name_the_id_type() {
        let err = CampaignId::parse(&format!("ct_{HEX}")).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("CampaignId \"ct_{HEX}\" must start with \"cp_\"")
        );
        let long = "x".repeat(1000);
        match ListId::parse(&long).unwrap_err() {
            IdError::WrongPrefix { input, .. } => assert_eq!(input.len(), QUOTED_MAX_CHARS),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn round_trips_through_string_uuid_and_serde() {
        let id = ImportId::new();
        assert_eq!(ImportId::parse(id.as_str()), Ok(id.clone()));
        assert_eq!(id.as_str().parse::<ImportId>(), Ok(id.clone()));
        assert_eq!(ImportId::from_uuid(id.uuid()), id);
        assert_eq!(String::from(id.clone()), id.to_string());

        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, format!("\"{id}\""));
        assert_eq!(serde_json::from_str::<ImportId>(&json).unwrap(), id);
        assert!(serde_json::from_str::<ListId>(&json).is_err());

        let uuid = Uuid::try_parse(HEX).unwrap();
        assert_eq!(ListId::from_uuid(uuid).as_str(), format!("ls_{HEX}"));
    }

    #[test]
    fn event_ids_accept_any_provider_string_up_to_the_limit() {
        let cases = [
            ("AC123abc", Ok(())),
            ("evt_01J9-xyz:42", Ok(())),
            ("é", Ok(())),
            ("", Err(IdError::Empty { kind: "EventId" })),
        ];
        for (input, expected) in cases {
            let got = EventId::parse(input).map(|id| assert_eq!(id.as_str(), input));
            assert_eq!(got, expected, "input {input:?}");
        }
        let at_limit = "é".repeat(EventId::MAX_CHARS);
        assert_eq!(EventId::parse(&at_limit).unwrap().as_str(), at_limit);
        assert_eq!(
            EventId::parse(&"a".repeat(201)),
            Err(IdError::TooLong {
                kind: "EventId",
                chars: 201,
                max: 200
            })
        );
        let json = serde_json::to_string(&EventId::parse("AC1").unwrap()).unwrap();
        assert_eq!(json, "\"AC1\"");
        assert!(serde_json::from_str::<EventId>("\"\"").is_err());
    }
}
