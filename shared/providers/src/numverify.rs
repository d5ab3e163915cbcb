//! NumVerify (apilayer) behind the `PhoneValidator` port. Errors come back as HTTP 200 with
//! `success: false`, so the body decides, never the status alone.

use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;
use trickle_app::ports::{NumberCheck, PhoneValidator, ValidatorError};
use trickle_domain::PhoneNumber;

/// HTTPS by default: over plain HTTP the numbers and the key travel in clear text and anyone on
/// the path can rewrite a line type. The free plan refuses HTTPS (error 105); it needs
/// [`PLAIN_HTTP_BASE_URL`] set explicitly, and trickle warns at start when it is.
pub const DEFAULT_BASE_URL: &str = "https://apilayer.net/api";

/// The base URL the free plan needs.
pub const PLAIN_HTTP_BASE_URL: &str = "http://apilayer.net/api";

/// Whether `base_url` sends numbers in clear text over a network (a loopback simulator does not).
pub fn is_clear_text(base_url: &str) -> bool {
    let Some(rest) = base_url.trim().strip_prefix("http://") else {
        return false;
    };
    let host = rest.split(['/', ':']).next().unwrap_or("");
    !matches!(host, "127.0.0.1" | "localhost" | "[::1]" | "") && !host.starts_with("127.")
}

#[derive(Clone)]
pub struct NumVerifyClient {
    http: reqwest::Client,
    base_url: String,
    access_key: String,
}

impl NumVerifyClient {
    pub fn new(base_url: &str, access_key: &str) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .connect_timeout(Duration::from_secs(5))
            .build()
            .expect("a plain reqwest client builds");
        Self {
            http,
            base_url: base_url.trim_end_matches('/').to_string(),
            access_key: access_key.to_string(),
        }
    }
}

#[async_trait]
impl PhoneValidator for NumVerifyClient {
    async fn check(&self, phone: &PhoneNumber) -> Result<NumberCheck, ValidatorError> {
        let digits = &phone.as_str()[1..];
        let response = self
            .http
            .get(format!("{}/validate", self.base_url))
            .query(&[("access_key", self.access_key.as_str()), ("number", digits)])
            .send()
            .await
            .map_err(|e| {
                ValidatorError::Transient(without_key(&e.to_string(), &self.access_key))
            })?;
        let status = response.status();
        let body = response.text().await.map_err(|e| {
            ValidatorError::Transient(without_key(&e.to_string(), &self.access_key))
        })?;
        match serde_json::from_str::<Value>(&body) {
            Ok(json) => interpret(&json).unwrap_or_else(|| {
                Err(ValidatorError::Transient(format!(
                    "HTTP {status}: unexpected answer"
                )))
            }),
            Err(_) => Err(ValidatorError::Transient(format!(
                "HTTP {status}: the answer is not JSON"
            ))),
        }
    }
}

/// Never let the access key reach a log line (reqwest errors carry the URL).
fn without_key(text: &str, key: &str) -> String {
    if key.is_empty() {
        text.to_string()
    } else {
        text.replace(key, "***")
    }
}

/// The outcome a NumVerify body stands for; `None` when it is neither an answer nor an error.
pub fn interpret(json: &Value) -> Option<Result<NumberCheck, ValidatorError>> {
    if json.get("success") == Some(&Value::Bool(false)) || json.get("error").is_some() {
        let error = json.get("error").cloned().unwrap_or(Value::Null);
        let code = error.get("code").and_then(Value::as_i64).unwrap_or(0);
        let info = error
            .get("info")
            .or_else(|| error.get("type"))
            .and_then(Value::as_str)
            .unwrap_or("no detail")
            .to_string();
        return Some(Err(match code {
            104 => ValidatorError::QuotaReached(info),
            105 => ValidatorError::AccountRefused {
                code,
                info: format!(
                    "{info}: this NumVerify plan does not allow HTTPS. Upgrade the plan, or set \
                     TRICKLE_NUMVERIFY_BASE_URL={PLAIN_HTTP_BASE_URL} to send numbers unencrypted"
                ),
            },
            // 106 is reported as a rate limit: back off and try again.
            106 => ValidatorError::Transient(format!("rate limited: {info}")),
            code if (500..600).contains(&code) => ValidatorError::Transient(info),
            // Key, account, plan and request errors: an operator must look, numbers stay
            // unjudged.
            code => ValidatorError::AccountRefused { code, info },
        }));
    }
    let valid = json.get("valid")?.as_bool()?;
    let text = |name: &str| {
        json.get(name)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    Some(Ok(NumberCheck {
        valid,
        line_type: text("line_type"),
        carrier: text("carrier"),
        country_code: text("country_code"),
        location: text("location"),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_plain_http_over_a_network_is_clear_text() {
        assert!(DEFAULT_BASE_URL.starts_with("https://"));
        assert!(is_clear_text(PLAIN_HTTP_BASE_URL));
        assert!(is_clear_text("http://numverify.internal:8080/api"));
        assert!(!is_clear_text(DEFAULT_BASE_URL));
        assert!(!is_clear_text("http://127.0.0.1:4010/api"));
        assert!(!is_clear_text("http://localhost:4010"));
    }

    #[test]
    fn the_https_refusal_says_how_to_go_on() {
        let refused = json!({"success": false, "error": {"code": 105, "type": "https_access_restricted", "info": "Access Restricted - Your current Subscription Plan does not support HTTPS Encryption."}});
        match interpret(&refused) {
            Some(Err(ValidatorError::AccountRefused { code: 105, info })) => {
                assert!(
                    info.contains("TRICKLE_NUMVERIFY_BASE_URL=http://apilayer.net/api"),
                    "{info}"
                )
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn errors_are_read_from_the_body() {
        let quota = json!({"success": false, "error": {"code": 104, "type": "usage_limit_reached", "info": "limit"}});
        assert_eq!(
            interpret(&quota),
            Some(Err(ValidatorError::QuotaReached("limit".into())))
        );
        let key = json!({"success": false, "error": {"code": 101, "info": "bad key"}});
        assert!(matches!(
            interpret(&key),
            Some(Err(ValidatorError::AccountRefused { code: 101, .. }))
        ));
        assert!(matches!(
            interpret(&json!({"error": {"code": 106}})),
            Some(Err(ValidatorError::Transient(_)))
        ));
        assert_eq!(interpret(&json!({"hello": 1})), None);
    }

    #[test]
    fn answers_keep_line_type_and_drop_empty_strings() {
        let mobile = json!({"valid": true, "number": "14158586273", "country_code": "US",
            "location": "", "carrier": "AT&T Mobility LLC", "line_type": "mobile"});
        let check = interpret(&mobile).unwrap().unwrap();
        assert_eq!(check.line_type.as_deref(), Some("mobile"));
        assert_eq!(check.location, None);
        assert_eq!(check.rejection(), None);
        let invalid = json!({"valid": false, "number": "", "line_type": null, "carrier": ""});
        let check = interpret(&invalid).unwrap().unwrap();
        assert!(!check.valid);
        assert_eq!(
            check.rejection(),
            Some(trickle_domain::csv_import::RejectReason::Invalid)
        );
    }
}
