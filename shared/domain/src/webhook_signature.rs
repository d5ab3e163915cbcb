//! OpenPhone webhook signatures, verified over the raw request bytes.
//!
//! Two schemes (as OpenPhone documents its webhooks):
//! - legacy `openphone-signature: hmac;1;<ms timestamp>;<base64 sig>` (several entries may be
//!   comma-separated; any one verifying is enough), signed bytes `<ts>.<body>`;
//! - Standard Webhooks `webhook-id`, `webhook-timestamp` (seconds), `webhook-signature`
//!   (space-separated `v1,<base64>`), signed bytes `<id>.<ts>.<body>`.
//!
//! Both are HMAC-SHA256 with the base64-decoded secret. Several keys may be configured (current
//! and previous, for rotation). Comparisons are constant time. Pure: the caller passes "now".
//!
//! Cheap to refuse: the entry count is capped first, the timestamp is checked before any MAC,
//! and the MAC is computed once per key (not once per entry).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::{DateTime, TimeZone, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

/// At most this many signatures in one header: OpenPhone sends one (two while a key rotates);
/// more is an attempt to make the verifier burn CPU.
pub const MAX_SIGNATURES: usize = 8;

/// The default tolerance between the signed timestamp and now, both ways.
pub const DEFAULT_WINDOW: chrono::Duration = chrono::Duration::minutes(5);

/// A webhook signing key: the decoded bytes of the secret OpenPhone shows (base64, optionally
/// prefixed `whsec_`).
#[derive(Clone, PartialEq, Eq)]
pub struct SigningKey(Vec<u8>);

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(…)")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("the signing key is empty")]
    Empty,
    #[error("the signing key is not base64")]
    NotBase64,
}

impl SigningKey {
    pub fn from_base64(secret: &str) -> Result<Self, KeyError> {
        let secret = secret.trim();
        let secret = secret.strip_prefix("whsec_").unwrap_or(secret);
        if secret.is_empty() {
            return Err(KeyError::Empty);
        }
        let bytes = STANDARD.decode(secret).map_err(|_| KeyError::NotBase64)?;
        if bytes.is_empty() {
            return Err(KeyError::Empty);
        }
        Ok(Self(bytes))
    }

    pub fn from_bytes(bytes: impl Into<Vec<u8>>) -> Self {
        Self(bytes.into())
    }

    /// The secret as OpenPhone shows it (base64), e.g. to configure a simulator.
    pub fn to_base64(&self) -> String {
        STANDARD.encode(&self.0)
    }

    fn mac(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut mac = HmacSha256::new_from_slice(&self.0).expect("HMAC takes any key length");
        for part in parts {
            mac.update(part);
        }
        mac.finalize().into_bytes().into()
    }
}

/// The signature headers of one request, as received (absent ones `None`).
#[derive(Debug, Clone, Copy, Default)]
pub struct SignatureHeaders<'a> {
    pub openphone_signature: Option<&'a str>,
    pub webhook_id: Option<&'a str>,
    pub webhook_timestamp: Option<&'a str>,
    pub webhook_signature: Option<&'a str>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Legacy,
    Standard,
}

/// What a verified request proves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub scheme: Scheme,
    pub signed_at: DateTime<Utc>,
    /// `webhook-id` (Standard Webhooks only): the delivery's deduplication key.
    pub webhook_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("no signature header")]
    Missing,
    #[error("malformed signature header: {0}")]
    Malformed(&'static str),
    #[error("signature does not match")]
    Mismatch,
    #[error("signature timestamp is outside the accepted window")]
    Stale,
    #[error("no signing key is configured")]
    NoKey,
}

/// Verifies a request. The legacy header wins when both schemes are present.
pub fn verify(
    headers: &SignatureHeaders<'_>,
    body: &[u8],
    keys: &[SigningKey],
    now: DateTime<Utc>,
    window: chrono::Duration,
) -> Result<Verified, SignatureError> {
    if keys.is_empty() {
        return Err(SignatureError::NoKey);
    }
    if let Some(value) = headers.openphone_signature {
        return verify_legacy(value, body, keys, now, window);
    }
    match (
        headers.webhook_id,
        headers.webhook_timestamp,
        headers.webhook_signature,
    ) {
        (None, None, None) => Err(SignatureError::Missing),
        (Some(id), Some(ts), Some(sig)) => verify_standard(id, ts, sig, body, keys, now, window),
        _ => Err(SignatureError::Malformed(
            "webhook-id, webhook-timestamp and webhook-signature go together",
        )),
    }
}

fn verify_legacy(
    value: &str,
    body: &[u8],
    keys: &[SigningKey],
    now: DateTime<Utc>,
    window: chrono::Duration,
) -> Result<Verified, SignatureError> {
    // Parse every entry first: a malformed header is refused as such, whatever else it holds.
    // The count is capped before anything is decoded, so a header of a thousand entries costs
    // a split, not a thousand HMACs over the body.
    if value.split(',').filter(|e| !e.trim().is_empty()).count() > MAX_SIGNATURES {
        return Err(SignatureError::Malformed("more than 8 signatures"));
    }
    let mut entries = Vec::new();
    for entry in value.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let parts: Vec<&str> = entry.split(';').collect();
        let [scheme, version, ts, sig] = parts[..] else {
            return Err(SignatureError::Malformed(
                "expected hmac;1;<timestamp>;<signature>",
            ));
        };
        if scheme != "hmac" || version != "1" {
            return Err(SignatureError::Malformed("unknown scheme or version"));
        }
        let millis = parse_digits(ts).ok_or(SignatureError::Malformed("timestamp"))?;
        let signed_at = Utc
            .timestamp_millis_opt(millis)
            .single()
            .ok_or(SignatureError::Malformed("timestamp"))?;
        let signature = STANDARD
            .decode(sig)
            .map_err(|_| SignatureError::Malformed("signature is not base64"))?;
        entries.push((ts, signed_at, signature));
    }
    if entries.is_empty() {
        return Err(SignatureError::Malformed("empty header"));
    }
    // The timestamp is checked before any MAC: a stale entry costs nothing.
    entries.retain(|(_, signed_at, _)| within(*signed_at, now, window));
    if entries.is_empty() {
        return Err(SignatureError::Stale);
    }
    // One MAC per key and distinct timestamp (the signed bytes), compared with every entry of
    // that timestamp.
    let mut timestamps: Vec<&str> = entries.iter().map(|(ts, _, _)| *ts).collect();
    timestamps.sort_unstable();
    timestamps.dedup();
    for ts in timestamps {
        let macs = macs_of(keys, &[ts.as_bytes(), b".", body]);
        for (_, signed_at, signature) in entries.iter().filter(|(t, _, _)| *t == ts) {
            if matches_any(&macs, signature) {
                return Ok(Verified {
                    scheme: Scheme::Legacy,
                    signed_at: *signed_at,
                    webhook_id: None,
                });
            }
        }
    }
    Err(SignatureError::Mismatch)
}

fn verify_standard(
    id: &str,
    ts: &str,
    signatures: &str,
    body: &[u8],
    keys: &[SigningKey],
    now: DateTime<Utc>,
    window: chrono::Duration,
) -> Result<Verified, SignatureError> {
    let id = id.trim();
    if id.is_empty() {
        return Err(SignatureError::Malformed("empty webhook-id"));
    }
    let ts = ts.trim();
    let secs = parse_digits(ts).ok_or(SignatureError::Malformed("webhook-timestamp"))?;
    let signed_at = Utc
        .timestamp_opt(secs, 0)
        .single()
        .ok_or(SignatureError::Malformed("webhook-timestamp"))?;
    if !within(signed_at, now, window) {
        return Err(SignatureError::Stale);
    }
    if signatures.split(' ').filter(|e| !e.is_empty()).count() > MAX_SIGNATURES {
        return Err(SignatureError::Malformed("more than 8 signatures"));
    }
    let mut candidates = Vec::new();
    for entry in signatures.split(' ').filter(|e| !e.is_empty()) {
        let (version, sig) = entry
            .split_once(',')
            .ok_or(SignatureError::Malformed("expected v1,<signature>"))?;
        if version != "v1" {
            continue; // other versions (e.g. asymmetric v1a) are not ours to check
        }
        candidates.push(
            STANDARD
                .decode(sig)
                .map_err(|_| SignatureError::Malformed("signature is not base64"))?,
        );
    }
    if candidates.is_empty() {
        return Err(SignatureError::Malformed("no v1 signature"));
    }
    let macs = macs_of(keys, &[id.as_bytes(), b".", ts.as_bytes(), b".", body]);
    if !candidates.iter().any(|sig| matches_any(&macs, sig)) {
        return Err(SignatureError::Mismatch);
    }
    Ok(Verified {
        scheme: Scheme::Standard,
        signed_at,
        webhook_id: Some(id.to_string()),
    })
}

/// The MAC of the signed bytes under every configured key, computed once per request.
fn macs_of(keys: &[SigningKey], parts: &[&[u8]]) -> Vec<[u8; 32]> {
    keys.iter().map(|key| key.mac(parts)).collect()
}

/// Compares with every key's MAC without stopping early, so timing says nothing about which
/// key matched.
fn matches_any(macs: &[[u8; 32]], signature: &[u8]) -> bool {
    let mut matched = subtle::Choice::from(0);
    for mac in macs {
        matched |= mac.as_slice().ct_eq(signature);
    }
    matched.into()
}

fn parse_digits(text: &str) -> Option<i64> {
    if text.is_empty() || text.len() > 15 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

fn within(signed_at: DateTime<Utc>, now: DateTime<Utc>, window: chrono::Duration) -> bool {
    (now - signed_at).abs() <= window
}

/// The legacy header value for `body` signed at `at` (for simulators, the forwarder, benches).
pub fn sign_legacy(key: &SigningKey, at: DateTime<Utc>, body: &[u8]) -> String {
    let ts = at.timestamp_millis().to_string();
    let mac = key.mac(&[ts.as_bytes(), b".", body]);
    format!("hmac;1;{ts};{}", STANDARD.encode(mac))
}

/// The Standard Webhooks `(webhook-timestamp, webhook-signature)` header values.
pub fn sign_standard(
    key: &SigningKey,
    webhook_id: &str,
    at: DateTime<Utc>,
    body: &[u8],
) -> (String, String) {
    let ts = at.timestamp().to_string();
    let mac = key.mac(&[webhook_id.as_bytes(), b".", ts.as_bytes(), b".", body]);
    (ts.clone(), format!("v1,{}", STANDARD.encode(mac)))
}

#[cfg(test)]
mod refusal_cost;
#[cfg(test)]
mod tests;
