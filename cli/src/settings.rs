//! The settings of `trickle dev`, read once: the runner's own flags (each also from its
//! environment variable) over the settings tree every host shares
//! ([`trickle_host::Settings`], read from the environment). This file and that module are the
//! only places the environment is read.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use chrono::{DateTime, Utc};

/// Settings of `trickle dev`: each flag can also come from its environment variable.
#[derive(clap::Args, Debug, Clone)]
pub struct DevSettings {
    /// Address the HTTP router listens on (port 0 picks a free port).
    #[arg(long, env = "TRICKLE_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Where the embedded store, blobs and outbox live.
    #[arg(long, env = "TRICKLE_DATA_DIR", default_value = "./.trickle")]
    pub data_dir: PathBuf,
    /// Admin API token; when unset one is generated, kept in the data dir and printed.
    #[arg(long, env = "TRICKLE_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
    /// Start the clock at this instant (RFC 3339); it then runs forward in real time.
    #[arg(long, env = "TRICKLE_CLOCK_START", value_parser = parse_instant)]
    pub clock_start: Option<DateTime<Utc>>,
    /// Base URL printed in pre-signed upload URLs (defaults to the listen address).
    #[arg(long, env = "TRICKLE_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// NumVerify access key (or TRICKLE_NUMVERIFY_KEY); without one, numbers are validated by
    /// the built-in simulator (sandbox mode).
    #[arg(long)]
    pub numverify_key: Option<String>,
    /// NumVerify base URL (or TRICKLE_NUMVERIFY_BASE_URL; https by default, the free plan needs
    /// http://apilayer.net/api).
    #[arg(long)]
    pub numverify_base_url: Option<String>,
    /// OpenPhone API key (or TRICKLE_OPENPHONE_API_KEY); when unset, `trickle dev` runs an
    /// OpenPhone simulator (sandbox mode).
    #[arg(long)]
    pub openphone_api_key: Option<String>,
    /// OpenPhone API base URL (or TRICKLE_OPENPHONE_BASE_URL).
    #[arg(long)]
    pub openphone_base_url: Option<String>,
    /// The webhook signing secret (base64, as OpenPhone shows it; or
    /// TRICKLE_OPENPHONE_WEBHOOK_KEY).
    #[arg(long)]
    pub openphone_webhook_key: Option<String>,
    /// Named in opt-out confirmations and help replies (or TRICKLE_BUSINESS_NAME).
    #[arg(long)]
    pub business_name: Option<String>,
    /// Requests per second the sandbox simulator allows per key (0: unlimited).
    #[arg(long, env = "TRICKLE_SIMULATOR_RATE_LIMIT", default_value_t = 10)]
    pub simulator_rate_limit: u32,
}

impl DevSettings {
    /// The shared settings tree from the environment, with this runner's flags on top.
    pub fn tree(&self) -> anyhow::Result<trickle_host::Settings> {
        use trickle_host::Secret;
        let mut tree = trickle_host::Settings::from_env()?;
        if let Some(key) = nonblank(&self.numverify_key) {
            tree.numverify.key = Some(Secret::new(key));
        }
        if let Some(url) = nonblank(&self.numverify_base_url) {
            tree.numverify.base_url = url;
        }
        if let Some(key) = nonblank(&self.openphone_api_key) {
            tree.openphone.api_key = Some(Secret::new(key));
        }
        if let Some(url) = nonblank(&self.openphone_base_url) {
            tree.openphone.base_url = url;
        }
        if let Some(key) = nonblank(&self.openphone_webhook_key) {
            if tree.openphone.webhook_keys.is_empty() {
                tree.openphone.webhook_keys.push(Secret::new(key));
            } else {
                tree.openphone.webhook_keys[0] = Secret::new(key);
            }
        }
        if let Some(name) = nonblank(&self.business_name) {
            tree.business_name = name;
        }
        Ok(tree)
    }
}

fn nonblank(value: &Option<String>) -> Option<String> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
}

/// How log lines are written: readable by default, JSON lines when `TRICKLE_LOG_FORMAT=json`.
pub fn json_logs() -> bool {
    std::env::var("TRICKLE_LOG_FORMAT").as_deref() == Ok("json")
}

fn parse_instant(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("{text:?} is not an RFC 3339 instant: {e}"))
}

/// The configured token, or the one kept in the data dir, or a new one saved there. The flag says
/// whether the token was generated now (only then is it printed).
pub fn admin_token(configured: Option<&str>, data_dir: &Path) -> anyhow::Result<(String, bool)> {
    if let Some(token) = configured.filter(|t| !t.trim().is_empty()) {
        return Ok((token.trim().to_string(), false));
    }
    let path = data_dir.join("admin-token");
    if let Ok(saved) = std::fs::read_to_string(&path) {
        if !saved.trim().is_empty() {
            return Ok((saved.trim().to_string(), false));
        }
        // An empty file (a crash mid-write): replaced by a new token.
        std::fs::remove_file(&path).with_context(|| format!("replacing {}", path.display()))?;
    }
    let token = format!(
        "trk_{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    trickle_embedded::private_files::write_new(&path, token.as_bytes())
        .with_context(|| format!("saving {}", path.display()))?;
    Ok((token, true))
}

#[cfg(test)]
mod tests {
    use super::admin_token;

    #[test]
    fn the_token_is_printed_once_and_kept_private() {
        let dir = tempfile::tempdir().unwrap();
        let (token, generated) = admin_token(None, dir.path()).unwrap();
        assert!(generated);
        assert!(trickle_domain::token_strength::is_strong(&token), "{token}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("admin-token"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let (again, generated) = admin_token(None, dir.path()).unwrap();
        assert_eq!(again, token);
        assert!(!generated, "a kept token is not printed on every start");
        let (given, generated) = admin_token(Some(" mine "), dir.path()).unwrap();
        assert_eq!((given.as_str(), generated), ("mine", false));
    }
}
