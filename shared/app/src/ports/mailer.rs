//! The alert-mail port (SES v2 in AWS, `.eml` files in an outbox locally).

use async_trait::async_trait;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    pub from: String,
    pub to: Vec<String>,
    pub subject: String,
    /// Plain text: alerts are read on phones and in terminals alike.
    pub text: String,
}

impl Email {
    pub fn check(&self) -> Result<(), MailError> {
        if self.to.is_empty() {
            return Err(MailError::Invalid("an email needs a recipient".into()));
        }
        for address in self.to.iter().chain(std::iter::once(&self.from)) {
            if !looks_like_address(address) {
                return Err(MailError::Invalid(format!(
                    "{address:?} is not an email address"
                )));
            }
        }
        if self.subject.trim().is_empty() || self.subject.contains(['\r', '\n']) {
            return Err(MailError::Invalid(
                "the subject must be one non-empty line".into(),
            ));
        }
        Ok(())
    }
}

fn looks_like_address(address: &str) -> bool {
    let mut parts = address.split('@');
    matches!(
        (parts.next(), parts.next(), parts.next()),
        (Some(local), Some(domain), None)
            if !local.is_empty()
                && domain.contains('.')
                && !address.contains(char::is_whitespace)
                && !address.contains(['<', '>', ',', ';'])
    )
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MailError {
    #[error("invalid email: {0}")]
    Invalid(String),
    /// The mail service refused the message (unverified sender, suppressed recipient, ...).
    #[error("email rejected: {0}")]
    Rejected(String),
    #[error("mail service unavailable: {0}")]
    Unavailable(String),
}

#[async_trait]
pub trait Mailer: Send + Sync {
    /// Sends the email and returns the service's message id.
    async fn send(&self, email: &Email) -> Result<String, MailError>;
}
