//! Secrets from SSM Parameter Store, read once at cold start.

use std::collections::HashMap;

use aws_sdk_ssm::Client;

use crate::describe;

#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    #[error("cannot read secrets under {prefix}: {reason}")]
    Unreadable { prefix: String, reason: String },
}

/// Every parameter under `prefix` (decrypted), keyed by its name after the prefix: with prefix
/// `/trickle/prod`, `/trickle/prod/admin-token` comes back as `admin-token`.
pub async fn load_secrets(
    client: &Client,
    prefix: &str,
) -> Result<HashMap<String, String>, SecretsError> {
    let prefix = prefix.trim_end_matches('/');
    let mut found = HashMap::new();
    let mut pages = client
        .get_parameters_by_path()
        .path(prefix)
        .recursive(true)
        .with_decryption(true)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| SecretsError::Unreadable {
            prefix: prefix.to_string(),
            reason: describe(&e.into_service_error()),
        })?;
        for parameter in page.parameters() {
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
