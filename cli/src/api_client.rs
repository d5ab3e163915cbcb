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

    pub async fn delete(&self, path: &str) -> anyhow::Result<Value> {
        self.call(reqwest::Method::DELETE, path, None).await
    }

    pub async fn patch(&self, path: &str, body: &Value) -> anyhow::Result<Value> {
        self.call(reqwest::Method::PATCH, path, Some(body)).await
    }

    /// A list's id from its id or its name (the newest completed list of that name).
    pub async fn list_id(&self, name_or_id: &str) -> anyhow::Result<String> {
        let wanted = name_or_id.trim();
        if wanted.starts_with("ls_") {
            return Ok(wanted.to_string());
        }
        let mut cursor: Option<String> = None;
        let mut names = Vec::new();
        loop {
            let path = match &cursor {
                Some(c) => format!("/v1/lists?limit=1000&cursor={}", encode(c)),
                None => "/v1/lists?limit=1000".to_string(),
            };
            let page = self.get(&path).await?;
            for list in page["items"].as_array().into_iter().flatten() {
                let name = list["name"].as_str().unwrap_or_default();
                if name.eq_ignore_ascii_case(wanted) {
                    return Ok(list["id"].as_str().unwrap_or_default().to_string());
                }
                names.push(name.to_string());
            }
            match page["next"].as_str() {
                Some(next) => cursor = Some(next.to_string()),
                None => break,
            }
        }
        bail!(
            "no list is named {wanted:?}; the lists are: {}",
            if names.is_empty() {
                "(none yet: import one with `trickle import`)".to_string()
            } else {
                names.join(", ")
            }
        )
    }

    /// A GET whose body is read as it arrives (an export); a refusal is the API's message.
    pub async fn open(&self, path: &str) -> anyhow::Result<reqwest::Response> {
        let response = self.send(reqwest::Method::GET, path, None).await?;
        if !response.status().is_success() {
            checked(response).await?;
            bail!("the admin API refused {path}");
        }
        Ok(response)
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<Value> {
        checked(self.send(method, path, body).await?).await
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<reqwest::Response> {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = match request.send().await {
            Ok(r) => r,
            Err(e) if e.is_connect() => bail!(
                "nothing answers at {}: start trickle with `trickle dev` (or `make dev`), or \
                 point --api / TRICKLE_API_URL at a running one",
                self.base
            ),
            Err(e) => return Err(e).context(format!("calling the admin API at {}", self.base)),
        };
        if response.status() == reqwest::StatusCode::UNAUTHORIZED {
            bail!(
                "the admin API at {} refused the token: use the one `trickle dev` printed (kept \
                 in ./.trickle/admin-token), or in AWS the <prefix>/admin-token secret; pass it \
                 with --token or TRICKLE_ADMIN_TOKEN",
                self.base
            );
        }
        Ok(response)
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

/// A query-string value.
pub fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Rows under their headers, each column as wide as its widest cell.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let line = |cells: Vec<&str>| {
        cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    let mut out = vec![line(headers.to_vec())];
    out.extend(
        rows.iter()
            .map(|r| line(r.iter().map(String::as_str).collect())),
    );
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_aligned() {
        let t = table(
            &["id", "name"],
            &[
                vec!["ls_1".into(), "Austin sellers".into()],
                vec!["ls_22222".into(), "DNC".into()],
            ],
        );
        assert_eq!(t, "id        name\nls_1      Austin sellers\nls_22222  DNC");
    }

    #[tokio::test]
    async fn connection_refused_says_to_start_trickle_dev() {
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = closed.local_addr().unwrap().port();
        drop(closed);
        let api = ApiClient::new(&ApiArgs {
            api: format!("http://127.0.0.1:{port}"),
            token: Some("t".into()),
        })
        .unwrap();
        let error = api.get("/v1/lists").await.unwrap_err().to_string();
        assert!(error.contains("trickle dev"), "{error}");
    }
}
