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
    /// NumVerify access key; without one, numbers are validated by the built-in simulator
    /// (sandbox mode).
    #[arg(long, env = "TRICKLE_NUMVERIFY_KEY", hide_env_values = true)]
    pub numverify_key: Option<String>,
    /// NumVerify base URL (the free plan needs plain HTTP).
    #[arg(long, env = "TRICKLE_NUMVERIFY_BASE_URL")]
    pub numverify_base_url: Option<String>,
    #[command(flatten)]
    pub openphone: crate::openphone::OpenPhoneArgs,
}

fn parse_instant(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("{text:?} is not an RFC 3339 instant: {e}"))
}

/// The configured token, or the one kept in the data dir, or a new one saved there.
pub fn admin_token(configured: Option<&str>, data_dir: &Path) -> anyhow::Result<(String, bool)> {
    if let Some(token) = configured.filter(|t| !t.trim().is_empty()) {
        return Ok((token.trim().to_string(), false));
    }
    let path = data_dir.join("admin-token");
    if let Ok(saved) = std::fs::read_to_string(&path) {
        if !saved.trim().is_empty() {
            return Ok((saved.trim().to_string(), true));
        }
    }
    let token = format!(
        "trk_{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    write_private(&path, &token).with_context(|| format!("saving {}", path.display()))?;
    Ok((token, true))
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    std::fs::write(path, text)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(())
}
