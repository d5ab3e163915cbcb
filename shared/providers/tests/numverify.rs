//! The NumVerify client over real HTTP against the simulator.

use trickle_app::ports::{PhoneValidator, ValidatorError};
use trickle_domain::csv_import::RejectReason;
use trickle_domain::PhoneNumber;
use trickle_providers::numverify::NumVerifyClient;
use trickle_sandbox::numverify::{NumVerifySettings, NumVerifySimulator};

fn phone(s: &str) -> PhoneNumber {
    PhoneNumber::parse(s).unwrap()
}

#[tokio::test]
async fn answers_map_to_line_types_and_reasons() {
    let sim = NumVerifySimulator::start(NumVerifySettings {
        access_key: Some("k".into()),
        ..Default::default()
    })
    .await
    .unwrap();
    let client = NumVerifyClient::new(&sim.base_url, "k");
    let cases = [
        ("+12125550134", None),
        ("+12125550135", Some(RejectReason::Landline)),
        ("+12125550137", Some(RejectReason::TollFree)),
        ("+12125550138", Some(RejectReason::Invalid)),
        ("+12125550139", Some(RejectReason::NotMobile)),
    ];
    for (number, expected) in cases {
        let check = client.check(&phone(number)).await.unwrap();
        assert_eq!(check.rejection(), expected, "{number}");
    }
    assert_eq!(sim.lookups(), 5);
    assert_eq!(sim.lookups_of("+12125550134"), 1);
}

#[tokio::test]
async fn quota_bad_key_and_outages_are_told_apart() {
    let sim = NumVerifySimulator::start(NumVerifySettings {
        access_key: Some("k".into()),
        quota: Some(1),
        ..Default::default()
    })
    .await
    .unwrap();
    let bad = NumVerifyClient::new(&sim.base_url, "wrong");
    let err = bad.check(&phone("+12125550134")).await.unwrap_err();
    assert!(
        matches!(err, ValidatorError::AccountRefused { code: 101, .. }),
        "{err}"
    );
    assert!(err.pauses());

    let client = NumVerifyClient::new(&sim.base_url, "k");
    client.check(&phone("+12125550134")).await.unwrap();
    let err = client.check(&phone("+12125550131")).await.unwrap_err();
    assert!(matches!(err, ValidatorError::QuotaReached(_)), "{err}");
    assert!(err.pauses());

    sim.set_quota(None);
    sim.fail_next(1);
    let err = client.check(&phone("+12125550131")).await.unwrap_err();
    assert!(matches!(err, ValidatorError::Transient(_)), "{err}");
    assert!(!err.pauses());
    assert!(client.check(&phone("+12125550131")).await.is_ok());
}
