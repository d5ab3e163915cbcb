//! What a refusal costs: a flood of signatures or a stale timestamp is refused before any MAC.

use super::tests::*;
use super::*;

#[test]
fn a_header_of_many_entries_is_refused_before_any_mac() {
    let good = format!("hmac;1;{TS_MS};{LEGACY_SIG}");
    let bad = format!("hmac;1;{TS_MS};{OTHER_SIG}", OTHER_SIG = PREVIOUS_SIG);
    let now = at_ms(TS_MS);
    let keys = [key(KEY)];
    let header = |n_bad: usize| {
        let mut entries = vec![bad.clone(); n_bad];
        entries.push(good.clone());
        entries.join(",")
    };
    // Eight entries (the good one last) still verify: rotation sends at most two.
    let eight = header(7);
    assert!(verify(&legacy(&eight), BODY.as_bytes(), &keys, now, DEFAULT_WINDOW).is_ok());
    for n_bad in [8, 999] {
        let many = header(n_bad);
        assert_eq!(
            verify(&legacy(&many), BODY.as_bytes(), &keys, now, DEFAULT_WINDOW),
            Err(SignatureError::Malformed("more than 8 signatures")),
            "{} entries",
            n_bad + 1
        );
    }
    let ts = STANDARD_TS.to_string();
    let many_v1 = vec![format!("v1,{STANDARD_SIG}"); 9].join(" ");
    assert_eq!(
        verify(
            &standard("msg_2Lk9", &ts, &many_v1),
            BODY.as_bytes(),
            &keys,
            Utc.timestamp_opt(STANDARD_TS, 0).unwrap(),
            DEFAULT_WINDOW
        ),
        Err(SignatureError::Malformed("more than 8 signatures"))
    );
}

#[test]
fn the_timestamp_is_checked_before_the_signature() {
    let keys = [key(KEY)];
    // A stale timestamp is refused as stale whatever the signature says: no MAC was needed.
    let forged = format!("hmac;1;{};{PREVIOUS_SIG}", TS_MS - 3_600_000);
    assert_eq!(
        verify(
            &legacy(&forged),
            BODY.as_bytes(),
            &keys,
            at_ms(TS_MS),
            DEFAULT_WINDOW
        ),
        Err(SignatureError::Stale)
    );
    let old_ts = (STANDARD_TS - 3600).to_string();
    let sig = format!("v1,{PREVIOUS_SIG}");
    assert_eq!(
        verify(
            &standard("msg_2Lk9", &old_ts, &sig),
            BODY.as_bytes(),
            &keys,
            Utc.timestamp_opt(STANDARD_TS, 0).unwrap(),
            DEFAULT_WINDOW
        ),
        Err(SignatureError::Stale)
    );
    // A good but stale entry does not rescue a fresh forged one, nor the reverse.
    let mixed = format!(
        "hmac;1;{};{LEGACY_SIG},hmac;1;{TS_MS};{PREVIOUS_SIG}",
        TS_MS - 3_600_000
    );
    assert_eq!(
        verify(
            &legacy(&mixed),
            BODY.as_bytes(),
            &keys,
            at_ms(TS_MS),
            DEFAULT_WINDOW
        ),
        Err(SignatureError::Mismatch)
    );
}
