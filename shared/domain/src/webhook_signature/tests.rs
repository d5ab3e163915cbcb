//! Vectors computed outside this code, with these commands:
//!
//! ```sh
//! printf 'trickle-test-signing-key-0001' | base64          # → KEY below
//! BODY='{"id":"EVc67ec998b35c41d388af50799aeeba3e","object":"event","type":"message.received"}'
//! printf '%s' "1639710054089.$BODY" \
//!   | openssl dgst -sha256 -hmac 'trickle-test-signing-key-0001' -binary | base64   # → LEGACY_SIG
//! printf '%s' "msg_2Lk9.1700000000.$BODY" \
//!   | openssl dgst -sha256 -hmac 'trickle-test-signing-key-0001' -binary | base64   # → STANDARD_SIG
//! printf '%s' '1639710054089.{ "body" : "café STOP" }' \
//!   | openssl dgst -sha256 -hmac 'trickle-test-signing-key-0001' -binary | base64   # → SPACED_SIG
//! python3 -c "import hmac,hashlib,base64; k=base64.b64decode('cHJldmlvdXMta2V5LXJvdGF0ZWQ=');
//!   print(base64.b64encode(hmac.new(k, b'1639710054089.'+BODY, hashlib.sha256).digest()))"  # → PREVIOUS_SIG
//! ```

use super::*;

pub(super) const KEY: &str = "dHJpY2tsZS10ZXN0LXNpZ25pbmcta2V5LTAwMDE=";
const PREVIOUS_KEY: &str = "cHJldmlvdXMta2V5LXJvdGF0ZWQ=";
const OTHER_KEY: &str = "b3RoZXIta2V5";
pub(super) const BODY: &str =
    r#"{"id":"EVc67ec998b35c41d388af50799aeeba3e","object":"event","type":"message.received"}"#;
const SPACED_BODY: &str = r#"{ "body" : "café STOP" }"#;
pub(super) const LEGACY_SIG: &str = "XBYKHwzRwa04hmaPjxAoacK1EqeMSbKAzRWqa0Pi5Oo=";
pub(super) const STANDARD_SIG: &str = "lbLn2htRjSisjO3G5CIxDB66w/ON5HD414lFnM1UaVk=";
const SPACED_SIG: &str = "BqDB7E95M+SN3lNJQ/pMJESi8LyLhRzJMruoIBhG7Lg=";
pub(super) const PREVIOUS_SIG: &str = "t32mXWpFrExkw3pttauORwK/OTmBh43I98lBGqLF3K4=";
/// The reference sample's timestamp (`hmac;1;1639710054089;mw1K4f…=`).
pub(super) const TS_MS: i64 = 1_639_710_054_089;
pub(super) const STANDARD_TS: i64 = 1_700_000_000;

pub(super) fn key(b64: &str) -> SigningKey {
    SigningKey::from_base64(b64).unwrap()
}

pub(super) fn at_ms(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).unwrap()
}

pub(super) fn legacy(value: &str) -> SignatureHeaders<'_> {
    SignatureHeaders {
        openphone_signature: Some(value),
        ..Default::default()
    }
}

pub(super) fn standard<'a>(id: &'a str, ts: &'a str, sig: &'a str) -> SignatureHeaders<'a> {
    SignatureHeaders {
        webhook_id: Some(id),
        webhook_timestamp: Some(ts),
        webhook_signature: Some(sig),
        ..Default::default()
    }
}

#[test]
fn legacy_cases() {
    let good = format!("hmac;1;{TS_MS};{LEGACY_SIG}");
    let prev = format!("hmac;1;{TS_MS};{PREVIOUS_SIG}");
    let two_entries = format!("hmac;1;{TS_MS};{PREVIOUS_SIG},hmac;1;{TS_MS};{LEGACY_SIG}");
    let wrong_ts = format!("hmac;1;{};{LEGACY_SIG}", TS_MS + 1);
    let spaced = format!("hmac;1;{TS_MS};{SPACED_SIG}");
    let altered = BODY.replace("received", "receivee");
    let reserialised = BODY.replace(",", ", ");
    let v2 = good.replace("hmac;1;", "hmac;2;");
    let sha1 = good.replace("hmac;", "sha1;");
    let not_digits = good.replace("1639710054089", "16397100540x9");
    let negative = good.replace("1639710054089", "-1639710054089");
    let not_b64 = format!("hmac;1;{TS_MS};not*base64");
    let garbage = format!("{good},garbage");
    let now = at_ms(TS_MS);
    let five_min = 5 * 60 * 1000;
    type Expect = Result<Scheme, SignatureError>;
    let ok: Expect = Ok(Scheme::Legacy);
    /// (name, header, body, keys, now, expected)
    type Case<'a> = (
        &'a str,
        &'a str,
        &'a str,
        Vec<&'a str>,
        DateTime<Utc>,
        Expect,
    );
    let cases: Vec<Case<'_>> = vec![
        ("exact", good.as_str(), BODY, vec![KEY], now, ok.clone()),
        (
            "spaces and UTF-8 in raw bytes",
            &spaced,
            SPACED_BODY,
            vec![KEY],
            now,
            ok.clone(),
        ),
        (
            "current key second",
            &good,
            BODY,
            vec![PREVIOUS_KEY, KEY],
            now,
            ok.clone(),
        ),
        (
            "signed with the previous key",
            &prev,
            BODY,
            vec![KEY, PREVIOUS_KEY],
            now,
            ok.clone(),
        ),
        (
            "previous key no longer configured",
            &prev,
            BODY,
            vec![KEY],
            now,
            Err(SignatureError::Mismatch),
        ),
        (
            "one of two entries verifies",
            &two_entries,
            BODY,
            vec![KEY],
            now,
            ok.clone(),
        ),
        (
            "wrong key",
            &good,
            BODY,
            vec![OTHER_KEY],
            now,
            Err(SignatureError::Mismatch),
        ),
        (
            "body altered by one byte",
            &good,
            altered.as_str(),
            vec![KEY],
            now,
            Err(SignatureError::Mismatch),
        ),
        (
            "body re-serialised",
            &good,
            reserialised.as_str(),
            vec![KEY],
            now,
            Err(SignatureError::Mismatch),
        ),
        (
            "timestamp changed",
            &wrong_ts,
            BODY,
            vec![KEY],
            now,
            Err(SignatureError::Mismatch),
        ),
        (
            "edge of the window, past",
            &good,
            BODY,
            vec![KEY],
            at_ms(TS_MS + five_min),
            ok.clone(),
        ),
        (
            "edge of the window, future",
            &good,
            BODY,
            vec![KEY],
            at_ms(TS_MS - five_min),
            ok.clone(),
        ),
        (
            "one ms too old",
            &good,
            BODY,
            vec![KEY],
            at_ms(TS_MS + five_min + 1),
            Err(SignatureError::Stale),
        ),
        (
            "too far in the future",
            &good,
            BODY,
            vec![KEY],
            at_ms(TS_MS - five_min - 1),
            Err(SignatureError::Stale),
        ),
        (
            "seconds mistaken for ms is ancient",
            "hmac;1;1639710054;XBYKHwzRwa04hmaPjxAoacK1EqeMSbKAzRWqa0Pi5Oo=",
            BODY,
            vec![KEY],
            now,
            Err(SignatureError::Stale),
        ),
        (
            "reference sample shape, not our key",
            "hmac;1;1639710054089;mw1K4fvh5m9XzsGon4C5N3KvL0bkmPZSAy4B6CvP4o8=",
            BODY,
            vec![KEY],
            now,
            Err(SignatureError::Mismatch),
        ),
        (
            "empty header",
            "",
            BODY,
            vec![KEY],
            now,
            Err(SignatureError::Malformed("empty header")),
        ),
        (
            "three parts",
            "hmac;1;1639710054089",
            BODY,
            vec![KEY],
            now,
            Err(SignatureError::Malformed(
                "expected hmac;1;<timestamp>;<signature>",
            )),
        ),
        (
            "unknown version",
            v2.as_str(),
            BODY,
            vec![KEY],
            now,
            Err(SignatureError::Malformed("unknown scheme or version")),
        ),
        (
            "sha1 scheme",
            sha1.as_str(),
            BODY,
            vec![KEY],
            now,
            Err(SignatureError::Malformed("unknown scheme or version")),
        ),
        (
            "timestamp not digits",
            not_digits.as_str(),
            BODY,
            vec![KEY],
            now,
            Err(SignatureError::Malformed("timestamp")),
        ),
        (
            "negative timestamp",
            negative.as_str(),
            BODY,
            vec![KEY],
            now,
            Err(SignatureError::Malformed("timestamp")),
        ),
        (
            "signature not base64",
            not_b64.as_str(),
            BODY,
            vec![KEY],
            now,
            Err(SignatureError::Malformed("signature is not base64")),
        ),
        (
            "malformed second entry",
            garbage.as_str(),
            BODY,
            vec![KEY],
            now,
            Err(SignatureError::Malformed(
                "expected hmac;1;<timestamp>;<signature>",
            )),
        ),
        (
            "no key configured",
            &good,
            BODY,
            vec![],
            now,
            Err(SignatureError::NoKey),
        ),
    ];
    for (name, header, body, keys, now, expect) in cases {
        let keys: Vec<SigningKey> = keys.into_iter().map(key).collect();
        let got =
            verify(&legacy(header), body.as_bytes(), &keys, now, DEFAULT_WINDOW).map(|v| v.scheme);
        assert_eq!(got, expect, "{name}");
    }
}

#[test]
fn standard_webhooks_cases() {
    let ts = STANDARD_TS.to_string();
    let sig = format!("v1,{STANDARD_SIG}");
    let several = format!("v1,{PREVIOUS_SIG} v1a,ignored v1,{STANDARD_SIG}");
    let now = Utc.timestamp_opt(STANDARD_TS, 0).unwrap();
    let whsec = format!("whsec_{KEY}");
    type Expect = Result<Option<String>, SignatureError>;
    let ok: Expect = Ok(Some("msg_2Lk9".into()));
    let cases: Vec<(&str, SignatureHeaders<'_>, &str, DateTime<Utc>, Expect)> = vec![
        (
            "exact",
            standard("msg_2Lk9", &ts, &sig),
            KEY,
            now,
            ok.clone(),
        ),
        (
            "whsec_ prefixed secret",
            standard("msg_2Lk9", &ts, &sig),
            &whsec,
            now,
            ok.clone(),
        ),
        (
            "several signatures",
            standard("msg_2Lk9", &ts, &several),
            KEY,
            now,
            ok.clone(),
        ),
        (
            "other id",
            standard("msg_2Lk8", &ts, &sig),
            KEY,
            now,
            Err(SignatureError::Mismatch),
        ),
        (
            "wrong key",
            standard("msg_2Lk9", &ts, &sig),
            OTHER_KEY,
            now,
            Err(SignatureError::Mismatch),
        ),
        (
            "stale",
            standard("msg_2Lk9", &ts, &sig),
            KEY,
            now + chrono::Duration::seconds(301),
            Err(SignatureError::Stale),
        ),
        (
            "inside window",
            standard("msg_2Lk9", &ts, &sig),
            KEY,
            now + chrono::Duration::seconds(300),
            ok.clone(),
        ),
        (
            "millisecond timestamp",
            standard("msg_2Lk9", "1700000000000", &sig),
            KEY,
            now,
            Err(SignatureError::Stale),
        ),
        (
            "timestamp not digits",
            standard("msg_2Lk9", "17e8", &sig),
            KEY,
            now,
            Err(SignatureError::Malformed("webhook-timestamp")),
        ),
        (
            "no comma",
            standard("msg_2Lk9", &ts, STANDARD_SIG),
            KEY,
            now,
            Err(SignatureError::Malformed("expected v1,<signature>")),
        ),
        (
            "only other versions",
            standard("msg_2Lk9", &ts, "v2,abc"),
            KEY,
            now,
            Err(SignatureError::Malformed("no v1 signature")),
        ),
        (
            "empty id",
            standard("", &ts, &sig),
            KEY,
            now,
            Err(SignatureError::Malformed("empty webhook-id")),
        ),
        (
            "incomplete set",
            SignatureHeaders {
                webhook_id: Some("msg_2Lk9"),
                ..Default::default()
            },
            KEY,
            now,
            Err(SignatureError::Malformed(
                "webhook-id, webhook-timestamp and webhook-signature go together",
            )),
        ),
        (
            "no header at all",
            SignatureHeaders::default(),
            KEY,
            now,
            Err(SignatureError::Missing),
        ),
    ];
    for (name, headers, k, now, expect) in cases {
        let got =
            verify(&headers, BODY.as_bytes(), &[key(k)], now, DEFAULT_WINDOW).map(|v| v.webhook_id);
        assert_eq!(got, expect, "{name}");
    }
}

#[test]
fn signing_helpers_produce_the_independent_vectors() {
    let k = key(KEY);
    assert_eq!(
        sign_legacy(&k, at_ms(TS_MS), BODY.as_bytes()),
        format!("hmac;1;{TS_MS};{LEGACY_SIG}")
    );
    let (ts, sig) = sign_standard(
        &k,
        "msg_2Lk9",
        Utc.timestamp_opt(STANDARD_TS, 0).unwrap(),
        BODY.as_bytes(),
    );
    assert_eq!(
        (ts.as_str(), sig),
        ("1700000000", format!("v1,{STANDARD_SIG}"))
    );
}

#[test]
fn keys_must_be_base64_and_non_empty() {
    assert_eq!(SigningKey::from_base64(""), Err(KeyError::Empty));
    assert_eq!(SigningKey::from_base64("whsec_"), Err(KeyError::Empty));
    assert_eq!(
        SigningKey::from_base64("not base64!"),
        Err(KeyError::NotBase64)
    );
    assert_eq!(key(KEY).to_base64(), KEY);
    assert_eq!(format!("{:?}", key(KEY)), "SigningKey(…)");
}
