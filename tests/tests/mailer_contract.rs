//! The `Mailer` contract, run unchanged against the outbox and SES v2 on moto.

use trickle_tests::contract::mailer as suite;
use trickle_tests::contract_cases;

macro_rules! mailer_contract {
    ($make:path) => {
        contract_cases!(
            suite,
            $make,
            [
                sending_returns_a_distinct_message_id_each_time,
                malformed_emails_are_refused_before_sending,
            ]
        );
    };
}

mod embedded {
    use super::*;
    mailer_contract!(trickle_tests::fixtures::embedded_mailer);

    #[tokio::test]
    async fn each_email_is_one_readable_eml_file_in_the_outbox() {
        let f = trickle_tests::fixtures::embedded_mailer().await;
        let mut email = suite::alert("ops@example.com");
        email.subject = "Santé: health check failed".into();
        let id = f.port.send(&email).await.unwrap();
        let dir = f.outbox.as_ref().unwrap();
        let files: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(files.len(), 1);
        let name = files[0].file_name().unwrap().to_string_lossy().to_string();
        assert!(name.ends_with(&format!("{id}.eml")), "{name}");
        let text = std::fs::read_to_string(&files[0]).unwrap();
        assert!(text.contains("To: ops@example.com\r\n"));
        assert!(text.contains("From: alerts@trickle.test\r\n"));
        assert!(
            text.contains("Subject: =?UTF-8?B?"),
            "non-ASCII subject is encoded"
        );
        assert!(text.contains("\r\n\r\nThe hourly health check failed.\r\nLast webhook"));
    }
}

mod ses_on_moto {
    use super::*;
    mailer_contract!(trickle_tests::fixtures::ses_mailer);

    #[tokio::test]
    async fn an_unverified_sender_is_rejected() {
        let f = trickle_tests::fixtures::ses_mailer().await;
        let mut email = suite::alert("ops@example.com");
        email.from = "someone@unverified.example".into();
        let err = f.port.send(&email).await.unwrap_err();
        assert!(
            matches!(err, trickle_app::ports::MailError::Rejected(_)),
            "{err:?}"
        );
    }
}
