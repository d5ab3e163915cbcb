//! Alert recipients: `TRICKLE_ALERT_EMAIL` is a comma-separated list, parsed here once so that
//! every alert (import paused, A2P refusal, health check, reconciliation) mails each address.
//!
//! Before this type, two recipients reached some alerts as one address `"a@x, b@y"`, which SES
//! refuses: those alerts were silently dropped.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecipientsError {
    #[error(
        "{0:?} is not an email address: write each recipient as name@example.com, separated by commas"
    )]
    NotAnAddress(String),
}

/// The addresses alerts go to, in the order given, without blanks or repeats.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AlertRecipients(Vec<String>);

impl AlertRecipients {
    /// Splits on commas (and semicolons, which mail clients also use), trims each part, drops
    /// empty parts and repeats, and refuses anything that is not shaped like `local@domain`.
    pub fn parse(list: &str) -> Result<Self, RecipientsError> {
        let mut addresses: Vec<String> = Vec::new();
        for part in list.split([',', ';']) {
            let address = part.trim();
            if address.is_empty() {
                continue;
            }
            if !looks_like_address(address) {
                return Err(RecipientsError::NotAnAddress(address.to_string()));
            }
            if !addresses.iter().any(|a| a.eq_ignore_ascii_case(address)) {
                addresses.push(address.to_string());
            }
        }
        Ok(Self(addresses))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn as_slice(&self) -> &[String] {
        &self.0
    }

    pub fn to_vec(&self) -> Vec<String> {
        self.0.clone()
    }
}

impl fmt::Display for AlertRecipients {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join(", "))
    }
}

fn looks_like_address(address: &str) -> bool {
    let Some((local, domain)) = address.rsplit_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.is_empty()
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !address
            .chars()
            .any(|c| c.is_whitespace() || c == '<' || c == '>')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_recipients_are_two_addresses() {
        let list = AlertRecipients::parse("ops@example.com, owner@example.com").unwrap();
        assert_eq!(list.as_slice(), ["ops@example.com", "owner@example.com"]);
    }

    #[test]
    fn blanks_semicolons_and_repeats_are_folded() {
        let list = AlertRecipients::parse(" a@x.com ;; b@y.com,,A@X.com , ").unwrap();
        assert_eq!(list.as_slice(), ["a@x.com", "b@y.com"]);
        assert!(AlertRecipients::parse("  ").unwrap().is_empty());
    }

    #[test]
    fn a_malformed_recipient_is_named() {
        let error = AlertRecipients::parse("ops@example.com, owner example.com").unwrap_err();
        assert_eq!(
            error,
            RecipientsError::NotAnAddress("owner example.com".into())
        );
        assert!(error.to_string().contains("separated by commas"));
        assert!(AlertRecipients::parse("ops@").is_err());
    }
}
