//! What the tests of the real `trickle` binary share: a `trickle dev` process on a free loopback
//! port with isolated settings, calls to its admin API, its outbox, and the CLI run as a user runs
//! it.
// Each test file uses its own part of this module.
#![allow(dead_code)]

use std::future::Future;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::Value;

pub struct DevRunner {
    pub child: Child,
    pub url: String,
    pub token: String,
    /// The sandbox OpenPhone simulator's base URL (`None` when a real key was configured).
    pub simulator: Option<String>,
    pub data_dir: PathBuf,
    http: reqwest::Client,
    /// Drains the runner's stdout for its whole life: a closed pipe would fail its next line.
    _lines: mpsc::Receiver<String>,
}

impl Drop for DevRunner {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl DevRunner {
    /// Starts `trickle dev` with its data in `data_dir`: none of this process's `TRICKLE_*`
    /// variables reach it, only `env` over the runner's defaults.
    pub fn start(data_dir: &Path, env: &[(&str, &str)]) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_trickle"));
        command.arg("dev");
        for (name, _) in std::env::vars().filter(|(n, _)| n.starts_with("TRICKLE_")) {
            command.env_remove(name);
        }
        command
            .env("TRICKLE_LISTEN", "127.0.0.1:0")
            .env("TRICKLE_DATA_DIR", data_dir)
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut child = command.spawn().expect("start trickle dev");
        let stdout = child.stdout.take().unwrap();
        let (lines, received) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = lines.send(line);
            }
        });
        let (mut url, mut simulator) = (None, None);
        // The OpenPhone line is the last one every start prints.
        loop {
            let line = match received.recv_timeout(Duration::from_secs(60)) {
                Ok(line) => line,
                Err(_) => {
                    let _ = child.kill();
                    panic!("trickle dev did not print its start-up lines");
                }
            };
            if let Some(rest) = line.strip_prefix("trickle dev listening on ") {
                url = Some(rest.trim().to_string());
            }
            if let Some((_, rest)) = line.split_once("an OpenPhone simulator runs at ") {
                simulator = rest.split_whitespace().next().map(str::to_string);
                break;
            }
            if line.starts_with("OpenPhone: ") {
                break;
            }
        }
        let token = env
            .iter()
            .find(|(name, _)| *name == "TRICKLE_ADMIN_TOKEN")
            .map(|(_, token)| token.to_string())
            .unwrap_or_else(|| {
                std::fs::read_to_string(data_dir.join("admin-token"))
                    .expect("the generated admin token is kept in the data dir")
                    .trim()
                    .to_string()
            });
        Self {
            child,
            url: url.expect("trickle dev printed its address"),
            token,
            simulator,
            data_dir: data_dir.to_path_buf(),
            http: reqwest::Client::new(),
            _lines: received,
        }
    }

    /// One admin API call with the runner's token: the status and the JSON body (`Null` when
    /// the body is empty or not JSON).
    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.url))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("admin API reachable");
        let status = response.status().as_u16();
        let bytes = response.bytes().await.unwrap_or_default();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    pub async fn get(&self, path: &str) -> Value {
        let (status, body) = self.call(Method::GET, path, None).await;
        assert_eq!(status, 200, "GET {path}: {body}");
        body
    }

    /// A `GET` of a non-JSON resource (a CSV): its text, which must be a 200.
    pub async fn http_text(&self, path: &str) -> String {
        let response = self
            .http
            .get(format!("{}{path}", self.url))
            .bearer_auth(&self.token)
            .send()
            .await
            .expect("admin API reachable");
        assert_eq!(response.status(), 200, "GET {path}");
        response.text().await.unwrap()
    }

    /// A `GET` of the sandbox simulator (its REST API or a control route).
    pub async fn simulator_get(&self, path: &str) -> Value {
        let simulator = self.simulator.as_deref().expect("sandbox mode");
        self.http
            .get(format!("{simulator}{path}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// One of the sandbox simulator's control routes (`/_sim/<path>`).
    pub async fn simulator_control(&self, path: &str, body: Value) {
        let simulator = self.simulator.as_deref().expect("sandbox mode");
        let response = self
            .http
            .post(format!("{simulator}/_sim/{path}"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
    }

    /// The emails in the outbox, oldest first.
    pub fn outbox(&self) -> Vec<String> {
        trickle_embedded::OutboxMailer::sent(&self.data_dir).expect("outbox readable")
    }
}

/// Polls `probe` until it answers `Ok`, failing after `timeout` with the last `Err` it gave.
pub async fn wait_for<T, F, Fut>(what: &str, timeout: Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        match probe().await {
            Ok(found) => return found,
            Err(last) if Instant::now() > deadline => panic!("{what}: still {last}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

/// Runs the CLI in `dir` against `url` as a user would (no token given: it reads
/// `./.trickle/admin-token`).
pub fn trickle(dir: &Path, url: &str, args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_trickle"));
    for (name, _) in std::env::vars().filter(|(n, _)| n.starts_with("TRICKLE_")) {
        command.env_remove(name);
    }
    command
        .args(args)
        .args(["--api", url])
        .current_dir(dir)
        .output()
        .expect("run trickle")
}

/// Like [`trickle`], requiring success; answers stdout.
pub fn trickle_ok(dir: &Path, url: &str, args: &[&str]) -> String {
    let out = trickle(dir, url, args);
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "trickle {args:?} failed: {}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}
