//! Secrets from SSM Parameter Store, read once at cold start.

use std::collections::HashMap;

use aws_sdk_ssm::Client;

use crate::describe;

#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    #[error("cannot read secrets under {prefix}: {reason}")]
    Unreadable { prefix: String, reason: String },
}

/// The named parameters under `prefix` (decrypted), keyed by their name after the prefix: with
/// prefix `/trickle/prod`, `admin-token` is read from `/trickle/prod/admin-token`. A function's
/// role may read only its own secrets, so it asks for them by name (never by path); a name that
/// is not stored is left out (optional secrets such as `forward-key`).
pub async fn load_secrets(
    client: &Client,
    prefix: &str,
    names: &[&str],
) -> Result<HashMap<String, String>, SecretsError> {
    let prefix = prefix.trim_end_matches('/');
    let mut found = HashMap::new();
    // GetParameters takes at most 10 names.
    for group in names.chunks(10) {
        let out = client
            .get_parameters()
            .set_names(Some(
                group
                    .iter()
                    .map(|name| format!("{prefix}/{name}"))
                    .collect(),
            ))
            .with_decryption(true)
            .send()
            .await
            .map_err(|e| SecretsError::Unreadable {
                prefix: prefix.to_string(),
                reason: describe(&e.into_service_error()),
            })?;
        for parameter in out.parameters() {
            if let (Some(name), Some(value)) = (parameter.name(), parameter.value()) {
                let short = name
                    .strip_prefix(prefix)
                    .unwrap_or(name)
                    .trim_start_matches('/');
                found.insert(short.to_string(), value.to_string());
            }
        }
    }
    Ok(found)
}
