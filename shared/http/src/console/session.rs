//! The console's sign-in: a signed, expiring session cookie, and the CSRF token bound to it.
//!
//! The signing key is derived from the admin token, so rotating the token signs every browser
//! out at once (the revocation the operator has). The cookie holds no secret: an expiry, a random
//! nonce and an HMAC over both. The CSRF token is a second HMAC over the nonce, so a page can
//! carry it and a forged cross-site form cannot.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

pub(crate) const COOKIE: &str = "trickle_session";
/// How long a sign-in lasts.
pub(crate) const LIFETIME_SECS: i64 = 12 * 60 * 60;

#[derive(Clone)]
pub(crate) struct SessionKeys {
    key: [u8; 32],
}

/// A verified session: its nonce binds the CSRF token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Session {
    nonce: String,
    pub expires_at: i64,
}

impl SessionKeys {
    pub fn from_admin_token(admin_token: &str) -> Self {
        Self {
            key: mac(admin_token.as_bytes(), b"trickle console session v1"),
        }
    }

    /// A new cookie value that expires `LIFETIME_SECS` after `now`.
    pub fn issue(&self, now: i64, nonce: &[u8; 16]) -> String {
        let body = format!(
            "v1.{}.{}",
            now + LIFETIME_SECS,
            URL_SAFE_NO_PAD.encode(nonce)
        );
        let signature = URL_SAFE_NO_PAD.encode(mac(&self.key, body.as_bytes()));
        format!("{body}.{signature}")
    }

    /// The session in `cookie`, when its signature is ours and it has not expired.
    pub fn verify(&self, cookie: &str, now: i64) -> Option<Session> {
        let (body, signature) = cookie.rsplit_once('.')?;
        let expected = URL_SAFE_NO_PAD.encode(mac(&self.key, body.as_bytes()));
        if !bool::from(signature.as_bytes().ct_eq(expected.as_bytes())) {
            return None;
        }
        let mut parts = body.split('.');
        let (Some("v1"), Some(expires), Some(nonce), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return None;
        };
        let expires_at: i64 = expires.parse().ok()?;
        (now < expires_at).then(|| Session {
            nonce: nonce.to_string(),
            expires_at,
        })
    }

    /// The CSRF token every state-changing form of this session carries.
    pub fn csrf_token(&self, session: &Session) -> String {
        let input = format!("csrf.{}", session.nonce);
        URL_SAFE_NO_PAD.encode(mac(&self.key, input.as_bytes()))
    }

    pub fn csrf_matches(&self, session: &Session, given: &str) -> bool {
        let expected = self.csrf_token(session);
        !given.is_empty() && bool::from(given.as_bytes().ct_eq(expected.as_bytes()))
    }
}

fn mac(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut m = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
    m.update(data);
    m.finalize().into_bytes().into()
}

/// The `Set-Cookie` value for a session (or, with `None`, the one that clears it).
pub(crate) fn set_cookie(value: Option<&str>, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    match value {
        Some(v) => format!(
            "{COOKIE}={v}; Path=/; HttpOnly; SameSite=Strict; Max-Age={LIFETIME_SECS}{secure}"
        ),
        None => format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{secure}"),
    }
}

/// The session cookie's value in a `Cookie` header.
pub(crate) fn cookie_value(header: &str) -> Option<&str> {
    header
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_780_000_000;

    #[test]
    fn a_session_verifies_until_it_expires() {
        let keys = SessionKeys::from_admin_token("token");
        let cookie = keys.issue(NOW, &[7; 16]);
        let session = keys.verify(&cookie, NOW + 10).expect("fresh session");
        assert_eq!(session.expires_at, NOW + LIFETIME_SECS);
        assert!(keys.verify(&cookie, NOW + LIFETIME_SECS).is_none());
    }

    #[test]
    fn rotating_the_admin_token_revokes_every_session() {
        let cookie = SessionKeys::from_admin_token("old").issue(NOW, &[1; 16]);
        assert!(SessionKeys::from_admin_token("new")
            .verify(&cookie, NOW)
            .is_none());
    }

    #[test]
    fn a_tampered_cookie_is_refused() {
        let keys = SessionKeys::from_admin_token("token");
        let cookie = keys.issue(NOW, &[1; 16]);
        let (body, sig) = cookie.rsplit_once('.').unwrap();
        let later = body.replace(&(NOW + LIFETIME_SECS).to_string(), "9999999999");
        for forged in [
            format!("{later}.{sig}"),
            format!("{body}.{}", &sig[1..]),
            body.to_string(),
            String::new(),
        ] {
            assert!(keys.verify(&forged, NOW).is_none(), "{forged}");
        }
    }

    #[test]
    fn the_csrf_token_is_bound_to_its_session() {
        let keys = SessionKeys::from_admin_token("token");
        let one = keys.verify(&keys.issue(NOW, &[1; 16]), NOW).unwrap();
        let two = keys.verify(&keys.issue(NOW, &[2; 16]), NOW).unwrap();
        let token = keys.csrf_token(&one);
        assert!(keys.csrf_matches(&one, &token));
        assert!(!keys.csrf_matches(&two, &token));
        assert!(!keys.csrf_matches(&one, ""));
    }

    #[test]
    fn cookies_are_http_only_strict_and_secure_over_https() {
        let c = set_cookie(Some("abc"), true);
        for part in ["HttpOnly", "SameSite=Strict", "Secure", "Path=/"] {
            assert!(c.contains(part), "{c}");
        }
        assert!(!set_cookie(Some("abc"), false).contains("Secure"));
        assert_eq!(cookie_value("a=1; trickle_session=xyz; b=2"), Some("xyz"));
    }
}
