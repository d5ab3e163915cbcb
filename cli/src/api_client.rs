//! The admin API as the command line sees it: where it is, the token, and JSON calls whose
//! error answers become readable messages.

use anyhow::{bail, Context};
use serde_json::Value;

/// `--api` and `--token`, shared by every command that talks to the admin API.
#[derive(clap::Args, Debug, Clone)]
pub struct ApiArgs {
    /// Base URL of the admin API.
    #[arg(
        long,
        global = true,
        env = "TRICKLE_API_URL",
        default_value = "http://127.0.0.1:8080"
    )]
    pub api: String,
    /// Admin API token (defaults to the one `trickle dev` keeps in ./.trickle/admin-token).
    #[arg(
        long,
        global = true,
        env = "TRICKLE_ADMIN_TOKEN",
        hide_env_values = true
    )]
    pub token: Option<String>,
}

/// The given token, or the one `trickle dev` wrote to ./.trickle/admin-token.
pub fn resolve_token(given: Option<&str>) -> anyhow::Result<String> {
    match given.map(str::trim).filter(|t| !t.is_empty()) {
        Some(t) => Ok(t.to_string()),
        None => std::fs::read_to_string(".trickle/admin-token")
            .map(|t| t.trim().to_string())
            .context("no --token given and no ./.trickle/admin-token to read"),
    }
}

pub struct ApiClient {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl ApiClient {
    pub fn new(args: &ApiArgs) -> anyhow::Result<Self> {
        Ok(Self {
            http: reqwest::Client::new(),
            base: args.api.trim_end_matches('/').to_string(),
            token: resolve_token(args.token.as_deref())?,
        })
    }

    pub async fn get(&self, path: &str) -> anyhow::Result<Value> {
        self.call(reqwest::Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> anyhow::Result<Value> {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<Value> {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("calling the admin API at {}", self.base))?;
        checked(response).await
    }
}

/// The JSON body of a successful answer; the API's own message otherwise.
pub async fn checked(response: reqwest::Response) -> anyhow::Result<Value> {
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        let message = body["error"]["message"].as_str().unwrap_or("no detail");
        bail!("the admin API answered {status}: {message}");
    }
    Ok(body)
}
