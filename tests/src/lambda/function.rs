//! One function of the stack as Lambda runs it: the binary `make package` builds (here for this
//! machine), started with the environment `template.yaml` gives it plus what the Lambda service
//! sets, polling its own [`RuntimeApi`]. An invocation that outlives the function's `Timeout`
//! ends the sandbox, as in Lambda, and the next one starts cold.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::process::{Child, Command};
use tokio::sync::Mutex;

use super::runtime_api::{Outcome, RuntimeApi};
use super::template::{FunctionSpec, ACCOUNT, REGION};

pub struct Function {
    pub spec: FunctionSpec,
    environment: BTreeMap<String, String>,
    log: PathBuf,
    sandbox: Mutex<Option<Sandbox>>,
}

pub struct Sandbox {
    pub runtime: RuntimeApi,
    pub child: Child,
    pub started: Instant,
}

#[derive(Debug, thiserror::Error)]
pub enum InvokeError {
    #[error("the function timed out after {0:?}")]
    TimedOut(Duration),
    #[error("the function answered with an error: {0}")]
    Function(Value),
    #[error("the function's init failed: {0}")]
    Init(String),
}

/// Where cargo put this workspace's binaries: beside the running binary (a bench), or next to
/// the test binary's `deps/` folder (a test).
pub fn binary_path(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("own binary path");
    let mut dir = exe.parent().expect("target/<profile>");
    if dir.ends_with("deps") {
        dir = dir.parent().expect("target/<profile>");
    }
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is not built: run `cargo build --workspace --bins` first (scripts/test does)",
        path.display()
    );
    path
}

impl Function {
    /// `spec`'s binary with its template environment, pointed at moto, and `overrides` on top
    /// (what differs from AWS: the provider simulators' URLs, shorter timings).
    pub fn new(spec: FunctionSpec, overrides: &[(&str, String)]) -> Self {
        let mut environment = spec.environment.clone();
        let endpoint = crate::moto::endpoint();
        for (name, value) in [
            ("AWS_ENDPOINT_URL", endpoint.as_str()),
            ("AWS_REGION", REGION),
            ("AWS_DEFAULT_REGION", REGION),
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("AWS_SESSION_TOKEN", "testing"),
            ("AWS_LAMBDA_FUNCTION_NAME", spec.name.as_str()),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
            ("AWS_LAMBDA_LOG_STREAM_NAME", "2026/12/06/[$LATEST]harness"),
            ("LAMBDA_TASK_ROOT", "/var/task"),
            ("AWS_EXECUTION_ENV", "AWS_Lambda_provided.al2023"),
        ] {
            environment.insert(name.into(), value.into());
        }
        environment.insert(
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE".into(),
            spec.memory_mb.to_string(),
        );
        environment.insert(
            "AWS_LAMBDA_LOG_GROUP_NAME".into(),
            format!("/aws/lambda/{}", spec.name),
        );
        for (name, value) in overrides {
            environment.insert(name.to_string(), value.clone());
        }
        let logs = binary_path(&spec.binary)
            .parent()
            .unwrap()
            .join("lambda-logs");
        std::fs::create_dir_all(&logs).unwrap();
        let log = logs.join(format!("{}.log", spec.name));
        Self {
            spec,
            environment,
            log,
            sandbox: Mutex::new(None),
        }
    }

    pub fn arn(&self) -> String {
        format!(
            "arn:aws:lambda:{REGION}:{ACCOUNT}:function:{}",
            self.spec.name
        )
    }

    /// Starts a sandbox (a cold start) and waits until the process polls for its first event.
    pub async fn cold_start(&self) -> Result<ColdStart, InvokeError> {
        let mut sandbox = self.sandbox.lock().await;
        if let Some(mut old) = sandbox.take() {
            let _ = old.child.kill().await;
        }
        let started = Instant::now();
        let runtime = RuntimeApi::start(self.arn()).await;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let child = Command::new(binary_path(&self.spec.binary))
            .env_clear()
            .envs(&self.environment)
            .env("AWS_LAMBDA_RUNTIME_API", runtime.address.to_string())
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .expect("start the function binary");
        let mut fresh = Sandbox {
            runtime,
            child,
            started,
        };
        // Init must finish within the function's timeout too (Lambda allows 10 s; be generous).
        let limit = Duration::from_secs(30);
        loop {
            if let Some(at) = fresh.runtime.first_poll() {
                let pid = fresh.child.id();
                *sandbox = Some(fresh);
                return Ok(ColdStart {
                    init: at - started,
                    pid,
                });
            }
            if let Some(error) = fresh.runtime.init_error() {
                return Err(InvokeError::Init(error.to_string()));
            }
            if let Ok(Some(status)) = fresh.child.try_wait() {
                return Err(InvokeError::Init(format!(
                    "the process exited with {status} before its first poll; its log: {}",
                    self.log_tail()
                )));
            }
            if started.elapsed() > limit {
                return Err(InvokeError::Init("no poll within 30 s".into()));
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    /// One invocation with the function's own time limit.
    pub async fn invoke(&self, event: &Value) -> Result<Value, InvokeError> {
        self.invoke_within(event, Duration::from_secs(self.spec.timeout_secs))
            .await
    }

    /// One invocation with a deadline of `budget` (Lambda's `Timeout`, or shorter in a test).
    pub async fn invoke_within(
        &self,
        event: &Value,
        budget: Duration,
    ) -> Result<Value, InvokeError> {
        if self.sandbox.lock().await.is_none() {
            self.cold_start().await?;
        }
        let mut guard = self.sandbox.lock().await;
        let sandbox = guard.as_mut().expect("a sandbox");
        match sandbox.runtime.invoke(event, budget).await {
            Some(Outcome::Response(body)) => {
                Ok(serde_json::from_slice(&body).unwrap_or(Value::Null))
            }
            Some(Outcome::Error(document)) => Err(InvokeError::Function(document)),
            None => {
                // Lambda freezes and discards a sandbox whose invocation timed out.
                let _ = sandbox.child.kill().await;
                *guard = None;
                Err(InvokeError::TimedOut(budget))
            }
        }
    }

    /// Peak resident memory of the running sandbox (VmHWM), in KiB.
    pub async fn peak_rss_kib(&self) -> Option<u64> {
        let pid = self.sandbox.lock().await.as_ref()?.child.id()?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    }

    /// The last lines the function logged, for a failing test's message.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }
}

#[derive(Debug, Clone, Copy)]
pub struct ColdStart {
    /// Process start to its first `invocation/next`.
    pub init: Duration,
    pub pid: Option<u32>,
}
