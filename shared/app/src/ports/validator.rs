//! The phone-validation port (NumVerify over HTTP; its simulator in `trickle dev` and tests).

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use trickle_domain::csv_import::RejectReason;
use trickle_domain::PhoneNumber;

/// What the validation service says about one number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NumberCheck {
    pub valid: bool,
    /// `mobile`, `landline`, `toll_free`, … as the service spells it; absent when invalid.
    #[serde(default)]
    pub line_type: Option<String>,
    #[serde(default)]
    pub carrier: Option<String>,
    #[serde(default)]
    pub country_code: Option<String>,
    #[serde(default)]
    pub location: Option<String>,
}

impl NumberCheck {
    /// `None` when the number may enter a list (valid and mobile), else why not. Unknown line
    /// types count as "not mobile".
    pub fn rejection(&self) -> Option<RejectReason> {
        if !self.valid {
            return Some(RejectReason::Invalid);
        }
        match self.line_type.as_deref() {
            Some("mobile") => None,
            Some("landline") => Some(RejectReason::Landline),
            Some("toll_free") => Some(RejectReason::TollFree),
            _ => Some(RejectReason::NotMobile),
        }
    }
}

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum ValidatorError {
    /// The monthly quota is used up (NumVerify 104): pause and alert; never mark numbers.
    #[error("validation quota reached: {0}")]
    QuotaReached(String),
    /// The account cannot be used as configured (101 bad key, 102 inactive, 105 plan…): pause
    /// and alert.
    #[error("validation account refused (code {code}): {info}")]
    AccountRefused { code: i64, info: String },
    /// Worth retrying after a backoff (5xx, timeouts, rate limits).
    #[error("validation service unavailable: {0}")]
    Transient(String),
}

impl ValidatorError {
    /// True when the import must pause for an operator instead of retrying.
    pub fn pauses(&self) -> bool {
        !matches!(self, ValidatorError::Transient(_))
    }
}

#[async_trait]
pub trait PhoneValidator: Send + Sync {
    async fn check(&self, phone: &PhoneNumber) -> Result<NumberCheck, ValidatorError>;
}

/// The validator of a host with no validation service configured: every lookup is refused, so
/// imports pause with a clear reason instead of skipping validation.
pub struct NotConfigured;

#[async_trait]
impl PhoneValidator for NotConfigured {
    async fn check(&self, _phone: &PhoneNumber) -> Result<NumberCheck, ValidatorError> {
        Err(ValidatorError::AccountRefused {
            code: 0,
            info: "no NumVerify access key is configured".into(),
        })
    }
}
