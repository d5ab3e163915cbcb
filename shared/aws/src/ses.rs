//! The `Mailer` port over SES v2.

use async_trait::async_trait;
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};
use aws_sdk_sesv2::Client;
use trickle_app::ports::{Email, MailError, Mailer};

use crate::describe;

#[derive(Clone)]
pub struct SesMailer {
    client: Client,
}

impl SesMailer {
    pub fn new(client: Client) -> Self {
        Self { client }
    }
}

fn utf8(text: &str) -> Result<Content, MailError> {
    Content::builder()
        .data(text)
        .charset("UTF-8")
        .build()
        .map_err(|e| MailError::Invalid(describe(&e)))
}

#[async_trait]
impl Mailer for SesMailer {
    async fn send(&self, email: &Email) -> Result<String, MailError> {
        email.check()?;
        let message = Message::builder()
            .subject(utf8(&email.subject)?)
            .body(Body::builder().text(utf8(&email.text)?).build())
            .build();
        let out = self
            .client
            .send_email()
            .from_email_address(&email.from)
            .destination(
                Destination::builder()
                    .set_to_addresses(Some(email.to.clone()))
                    .build(),
            )
            .content(EmailContent::builder().simple(message).build())
            .send()
            .await
            .map_err(|e| {
                let service = e.into_service_error();
                if service.is_message_rejected()
                    || service.is_mail_from_domain_not_verified_exception()
                    || service.is_account_suspended_exception()
                    || service.is_sending_paused_exception()
                    || service.is_bad_request_exception()
                {
                    MailError::Rejected(describe(&service))
                } else {
                    MailError::Unavailable(describe(&service))
                }
            })?;
        Ok(out.message_id.unwrap_or_default())
    }
}
