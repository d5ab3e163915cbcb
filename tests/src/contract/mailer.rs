use trickle_app::ports::{Email, MailError, Mailer};

use crate::fixtures::{Fixture, SES_DOMAIN};

type F = Fixture<dyn Mailer>;

pub fn alert(to: &str) -> Email {
    Email {
        from: format!("alerts@{SES_DOMAIN}"),
        to: vec![to.to_string()],
        subject: "trickle: health check failed".into(),
        text: "The hourly health check failed.\nLast webhook: 2026-01-01 09:00 UTC.\n".into(),
    }
}

pub async fn sending_returns_a_distinct_message_id_each_time(f: &F) {
    let m = &f.port;
    let first = m.send(&alert("ops@example.com")).await.unwrap();
    let second = m.send(&alert("ops@example.com")).await.unwrap();
    assert!(!first.is_empty());
    assert_ne!(first, second);
}

pub async fn malformed_emails_are_refused_before_sending(f: &F) {
    let m = &f.port;
    let mut no_recipient = alert("ops@example.com");
    no_recipient.to.clear();
    assert!(matches!(
        m.send(&no_recipient).await,
        Err(MailError::Invalid(_))
    ));
    assert!(matches!(
        m.send(&alert("not an address")).await,
        Err(MailError::Invalid(_))
    ));
    let mut injected = alert("ops@example.com");
    injected.subject = "hi\r\nBcc: victim@example.com".into();
    assert!(matches!(
        m.send(&injected).await,
        Err(MailError::Invalid(_))
    ));
}
