//! Cold start and memory of every function, as Lambda starts it: each release binary under the
//! harness's Runtime API (see `trickle_tests::lambda`), against moto holding the stack
//! `template.yaml` defines, with every optional feature on so each function builds all it can.
//!
//! Per function, over `--runs` cold starts (default 5): init (process start to its first
//! `invocation/next`, which includes reading its SSM secrets from moto and building the SDK
//! clients), the first invocation's latency (an HTTP API request to `/healthz` for http, an
//! empty batch for the queue functions, a scheduled event for tick and health), peak RSS
//! (VmHWM) after that invocation, and the zipped size of `make package`'s arm64 bootstrap when
//! it has been built.
//!
//! Run: `make bench-cold-start` (release build, moto started for it).

use std::time::{Duration, Instant};

use serde_json::json;
use trickle_host::lambda::secrets::{ADMIN_TOKEN, OPENPHONE_API_KEY, OPENPHONE_WEBHOOK_KEY};
use trickle_tests::lambda::{scheduled_event, Deployment, Options};

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

/// `target/lambda/<binary>/bootstrap` zipped as `make package`'s output is uploaded.
fn package_zip_kib(binary: &str) -> Option<u64> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let bootstrap = root.join("target/lambda").join(binary).join("bootstrap");
    if !bootstrap.exists() {
        return None;
    }
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import io,sys,zipfile; b=io.BytesIO(); z=zipfile.ZipFile(b,'w',zipfile.ZIP_DEFLATED); \
             z.write(sys.argv[1],'bootstrap'); z.close(); print(len(b.getvalue()))",
        ])
        .arg(&bootstrap)
        .output()
        .ok()?;
    String::from_utf8(out.stdout)
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(|b| b / 1024)
}

#[tokio::main]
async fn main() {
    let runs: usize = std::env::args()
        .skip_while(|a| a != "--runs")
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(5);
    let forward_key = trickle_domain::webhook_signature::SigningKey::from_bytes(
        b"cold-start-bench-forward-key".to_vec(),
    );
    let deployment = Deployment::start(Options {
        parameters: vec![
            ("HealthSender", "PNsimulator01".into()),
            ("HealthReceiver", "+13105550199".into()),
            ("ReconcileNumbers", "+13105550100".into()),
            (
                "ForwardUrl",
                "https://dev.trickle.test/webhooks/openphone".into(),
            ),
        ],
        environment: vec![],
        secrets: vec![("forward-key", forward_key.to_base64())],
        unrecorded: true,
    })
    .await;
    // What moto itself takes to answer one function's secrets read (the http function's three),
    // from a warm client: the part of each init that is the emulator's, not the function's.
    let ssm = aws_sdk_ssm::Client::new(&deployment.stack.config);
    let prefix = deployment.stack.template.secrets_prefix();
    let mut reads = Vec::new();
    for _ in 0..7 {
        let started = Instant::now();
        ssm.get_parameters()
            .set_names(Some(
                [ADMIN_TOKEN, OPENPHONE_API_KEY, OPENPHONE_WEBHOOK_KEY]
                    .map(|n| format!("{prefix}/{n}"))
                    .to_vec(),
            ))
            .with_decryption(true)
            .send()
            .await
            .expect("GetParameters on moto");
        reads.push(started.elapsed());
    }
    println!(
        "moto answers one GetParameters of three secrets in {:.1} ms (median of 7, warm client)",
        median(reads).as_secs_f64() * 1000.0
    );
    println!(
        "cold start, {runs} runs per function (median), {} build",
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        }
    );
    println!(
        "{:<10} {:>9} {:>14} {:>10} {:>12}",
        "function", "init ms", "first call ms", "peak MiB", "zip KiB"
    );
    for function in deployment.functions.values() {
        let mut inits = Vec::new();
        let mut firsts = Vec::new();
        let mut peak = 0u64;
        for _ in 0..runs {
            let cold = function
                .cold_start()
                .await
                .unwrap_or_else(|e| panic!("{}: {e}\n{}", function.spec.name, function.log_tail()));
            inits.push(cold.init);
            let started = Instant::now();
            if function.spec.http_api {
                let answer = deployment
                    .http
                    .get(format!("{}/healthz", deployment.gateway.url))
                    .send()
                    .await
                    .expect("healthz");
                assert!(answer.status().is_success());
            } else {
                let event = if function.spec.sqs_sources.is_empty()
                    || function.spec.logical_id == "HealthFunction"
                {
                    scheduled_event("bench")
                } else {
                    json!({ "Records": [] })
                };
                function
                    .invoke(&event)
                    .await
                    .unwrap_or_else(|e| panic!("{}: {e}", function.spec.name));
            }
            firsts.push(started.elapsed());
            peak = peak.max(function.peak_rss_kib().await.unwrap_or(0));
        }
        let short = function
            .spec
            .name
            .rsplit('-')
            .next()
            .unwrap_or_default()
            .to_string();
        println!(
            "{:<10} {:>9.1} {:>14.1} {:>10.1} {:>12}",
            short,
            median(inits).as_secs_f64() * 1000.0,
            median(firsts).as_secs_f64() * 1000.0,
            peak as f64 / 1024.0,
            package_zip_kib(&function.spec.binary)
                .map(|k| k.to_string())
                .unwrap_or_else(|| "(make package)".into()),
        );
    }
}
