//! Webhook ingest benchmark: drives signed `message.received` webhooks at `trickle dev` (a
//! separate process) for a while and prints accepted requests/s, latency percentiles and the
//! count of events stored vs sent.
//!
//! ```sh
//! cargo build --release -p trickle -p trickle-tests --bin trickle --bin webhook_bench
//! target/release/webhook_bench [--duration 30] [--concurrency 32] [--event-type call.missed]
//!     [--url http://host:port --token <admin token> --key <webhook key, base64>]
//! ```
//! Without `--url` it starts `trickle dev` itself (the `trickle` binary next to this one, or
//! `TRICKLE_BIN`) on a fresh data dir and stops it at the end.

use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use serde_json::{json, Value};
use trickle_domain::webhook_signature::{sign_legacy, SigningKey};

struct Args {
    url: Option<String>,
    token: String,
    key: String,
    duration: Duration,
    concurrency: usize,
    /// `message.received` (processed) by default; an unknown type measures capture alone.
    event_type: String,
}

fn args() -> Args {
    let mut args = Args {
        url: None,
        token: "bench-admin-token".into(),
        key: "YmVuY2gtd2ViaG9vay1rZXktMDAx".into(),
        duration: Duration::from_secs(30),
        concurrency: 32,
        event_type: "message.received".into(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--url" => args.url = Some(value.trim_end_matches('/').to_string()),
            "--token" => args.token = value,
            "--key" => args.key = value,
            "--duration" => args.duration = Duration::from_secs(value.parse().expect("seconds")),
            "--concurrency" => args.concurrency = value.parse().expect("a number"),
            "--event-type" => args.event_type = value,
            other => panic!("unknown flag {other}"),
        }
    }
    args
}

struct Dev {
    child: Child,
    _dir: tempdir::Dir,
}

impl Drop for Dev {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

mod tempdir {
    pub struct Dir(pub std::path::PathBuf);
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

fn start_dev(args: &Args) -> (String, Dev) {
    let bin = std::env::var("TRICKLE_BIN")
        .map(Into::into)
        .unwrap_or_else(|_| {
            std::env::current_exe()
                .expect("current exe")
                .with_file_name("trickle")
        });
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let dir = std::env::temp_dir().join(format!("trickle-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let child = Command::new(&bin)
        .arg("dev")
        .env("TRICKLE_LISTEN", format!("127.0.0.1:{port}"))
        .env("TRICKLE_DATA_DIR", &dir)
        .env("TRICKLE_ADMIN_TOKEN", &args.token)
        .env("TRICKLE_OPENPHONE_WEBHOOK_KEY", &args.key)
        .env("TRICKLE_SIMULATOR_RATE_LIMIT", "0")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
    println!(
        "started {} dev on port {port} (data in {})",
        bin.display(),
        dir.display()
    );
    (
        format!("http://127.0.0.1:{port}"),
        Dev {
            child,
            _dir: tempdir::Dir(dir),
        },
    )
}

/// User + system CPU seconds of a process so far (Linux `/proc`; `None` elsewhere).
fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0) // USER_HZ is 100 on Linux
}

#[tokio::main]
async fn main() {
    let args = args();
    let (url, _dev) = match &args.url {
        Some(url) => (url.clone(), None),
        None => {
            let (url, dev) = start_dev(&args);
            (url, Some(dev))
        }
    };
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency)
        .build()
        .unwrap();
    let ready = Instant::now();
    while http.get(format!("{url}/healthz")).send().await.is_err() {
        assert!(
            ready.elapsed() < Duration::from_secs(30),
            "trickle dev did not start"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let key = SigningKey::from_base64(&args.key).expect("--key is base64");
    let stop = Arc::new(AtomicBool::new(false));
    let run = format!("{:x}", Utc::now().timestamp_millis());
    println!(
        "driving signed message.received webhooks at {url} for {:?} with {} connections",
        args.duration, args.concurrency
    );
    let dev_pid = _dev.as_ref().map(|d| d.child.id());
    let cpu_before = dev_pid.and_then(cpu_seconds);
    let started = Instant::now();
    let mut workers = Vec::new();
    for worker in 0..args.concurrency {
        let (http, key, stop, url, run) = (
            http.clone(),
            key.clone(),
            stop.clone(),
            url.clone(),
            run.clone(),
        );
        let event_type = args.event_type.clone();
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let (mut sent, mut accepted, mut other) = (0u64, 0u64, 0u64);
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let from = format!("+1212555{:04}", (worker as u64 * 7919 + n) % 10_000);
                let body = serde_json::to_vec(&json!({
                    "id": format!("EVbench{run}w{worker}n{n}"),
                    "object": "event", "apiVersion": "v3", "type": event_type,
                    "createdAt": Utc::now().to_rfc3339(),
                    "data": {"object": {
                        "id": format!("ACbench{run}w{worker}n{n}"), "object": "message",
                        "from": from, "to": "+13105550100", "direction": "incoming",
                        "body": format!("Is the house still available? ({n})"), "media": [],
                        "status": "received", "createdAt": Utc::now().to_rfc3339(),
                        "phoneNumberId": "PNsimulator01", "conversationId": "CNbench"
                    }}
                }))
                .unwrap();
                let signature = sign_legacy(&key, Utc::now(), &body);
                let t = Instant::now();
                sent += 1;
                let result = http
                    .post(format!("{url}/webhooks/openphone"))
                    .header("content-type", "application/json")
                    .header("openphone-signature", signature)
                    .body(body)
                    .send()
                    .await;
                match result {
                    Ok(r) if r.status().is_success() => {
                        accepted += 1;
                        latencies.push(t.elapsed().as_micros() as u64);
                    }
                    _ => other += 1,
                }
            }
            (latencies, sent, accepted, other)
        }));
    }
    tokio::time::sleep(args.duration).await;
    stop.store(true, Ordering::Relaxed);
    let mut latencies = Vec::new();
    let (mut sent, mut accepted, mut refused) = (0, 0, 0);
    for worker in workers {
        let (l, s, a, o) = worker.await.unwrap();
        latencies.extend(l);
        sent += s;
        accepted += a;
        refused += o;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let cpu_used = match (dev_pid.and_then(cpu_seconds), cpu_before) {
        (Some(after), Some(before)) => Some(after - before),
        _ => None,
    };
    latencies.sort_unstable();
    let pct = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
            .map(|us| *us as f64 / 1000.0)
            .unwrap_or(f64::NAN)
    };
    println!("sent:      {sent} requests in {elapsed:.1} s");
    println!(
        "accepted:  {accepted} ({:.0} requests/s), not accepted: {refused}",
        accepted as f64 / elapsed
    );
    println!(
        "latency:   p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        pct(0.50),
        pct(0.99),
        pct(1.0)
    );

    if let Some(cpu) = cpu_used {
        // Independent of what else the machine runs: what one event costs trickle dev
        // (capture and, concurrently, processing of earlier events).
        println!(
            "cpu:       trickle dev used {cpu:.1} CPU-s = {:.0} CPU-us per accepted event ({:.0}% of a core on average)",
            cpu * 1e6 / accepted.max(1) as f64,
            cpu * 100.0 / elapsed
        );
    }
    // Every accepted event must be stored (under this run's ids).
    let mut stored = 0u64;
    let mut cursor: Option<String> = None;
    loop {
        let mut request = http
            .get(format!("{url}/v1/events"))
            .bearer_auth(&args.token)
            .query(&[("type", args.event_type.as_str()), ("limit", "100")]);
        if let Some(c) = &cursor {
            request = request.query(&[("cursor", c)]);
        }
        let page: Value = request.send().await.unwrap().json().await.unwrap();
        stored += page["items"]
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .filter(|e| {
                        e["id"]
                            .as_str()
                            .is_some_and(|id| id.starts_with(&format!("EVbench{run}")))
                    })
                    .count() as u64
            })
            .unwrap_or(0);
        match page["next"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => break,
        }
    }
    println!(
        "stored:    {stored} events for {accepted} accepted ({})",
        if stored == accepted {
            "equal"
        } else {
            "MISMATCH"
        }
    );
    let processed_wait = Instant::now();
    let (_, processed): (u16, Value) = {
        let r = http
            .get(format!("{url}/v1/events"))
            .bearer_auth(&args.token)
            .query(&[("status", "received"), ("limit", "100")])
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    };
    println!(
        "backlog:   {} or more events still waiting for processing ({:?} after the run)",
        processed["items"].as_array().map(Vec::len).unwrap_or(0),
        processed_wait.duration_since(started) - args.duration
    );
    if stored != accepted {
        std::process::exit(1);
    }
}
