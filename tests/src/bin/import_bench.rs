//! A CSV import end to end, as `trickle dev` runs it: the upload through the router, the
//! `uploads` and `validate` consumers, the NumVerify simulator with no rate limit, until the
//! list is complete. On the embedded store, or on DynamoDB (moto) with `--store dynamodb`.
//!
//! ```sh
//! cargo run --release -p trickle-tests --bin import_bench -- [--rows 100000] [--workers 2]
//!     [--store embedded|dynamodb] [--file path.csv]
//! ```
//! Without `--file` it writes a contacts CSV of `--rows` distinct numbers in six spellings
//! (names, email, address), a tenth of them landlines. Prints the time to parse, the time to
//! a completed list, rows per second and the list's counts.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::sync::watch;
use trickle_app::audience::AudienceSettings;
use trickle_http::HttpSettings;
use trickle_providers::numverify::NumVerifyClient;
use trickle_sandbox::numverify::{NumVerifySettings, NumVerifySimulator};

const TOKEN: &str = "import-bench-token";

struct Args {
    rows: usize,
    workers: usize,
    dynamodb: bool,
    file: Option<String>,
}

fn args() -> Args {
    let mut a = Args {
        rows: 100_000,
        workers: 2,
        dynamodb: false,
        file: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--rows" => a.rows = value.parse().expect("--rows N"),
            "--workers" => a.workers = value.parse().expect("--workers N"),
            "--store" => a.dynamodb = value == "dynamodb",
            "--file" => a.file = Some(value),
            other => panic!("unknown flag {other}"),
        }
    }
    a
}

/// `rows` distinct New York numbers (up to 772,000), spelled six ways; the last digit decides the simulator's
/// answer (0–4 mobile, 5 landline), so nine in ten rows become members.
fn csv(rows: usize) -> Vec<u8> {
    let mut out = String::with_capacity(rows * 90);
    out.push_str("First Name,Last Name,Phone,Email,Address\n");
    // Exchanges 220–999 without the N11 service codes, which no real number uses.
    let exchanges: Vec<usize> = (220..1000).filter(|e| e % 100 != 11).collect();
    for n in 0..rows {
        let last = if n % 10 == 9 { 5 } else { n % 5 };
        let exchange = exchanges[n / 1000 % exchanges.len()];
        let subscriber = n % 1000 * 10 + last;
        let phone = match n % 6 {
            0 => format!("(212) {exchange:03}-{subscriber:04}"),
            1 => format!("212-{exchange:03}-{subscriber:04}"),
            2 => format!("+1 212 {exchange:03} {subscriber:04}"),
            3 => format!("212{exchange:03}{subscriber:04}"),
            4 => format!("1-212-{exchange:03}-{subscriber:04}"),
            _ => format!("212.{exchange:03}.{subscriber:04}"),
        };
        out.push_str(&format!(
            "Name{n},Family{},\"{phone}\",person{n}@example.com,\"{} Main St, Springfield\"\n",
            n % 997,
            n % 9_000 + 1
        ));
    }
    out.into_bytes()
}

#[tokio::main]
async fn main() {
    let args = args();
    // Handler failures (retried) show on stderr.
    tracing_subscriber::fmt()
        .with_env_filter("warn")
        .with_writer(std::io::stderr)
        .init();
    let body = match &args.file {
        Some(path) => std::fs::read(path).expect("reading --file"),
        None => csv(args.rows),
    };
    let rows = body
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        .saturating_sub(1);

    let dir = tempfile::tempdir().unwrap();
    let sim = NumVerifySimulator::start(NumVerifySettings {
        access_key: Some("nv-key".into()),
        quota: None,
        latency: Duration::ZERO,
    })
    .await
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let mut services = trickle_tests::fixtures::embedded_services_with(
        dir.path(),
        &url,
        Arc::new(NumVerifyClient::new(&sim.base_url, "nv-key")),
    );
    // Kept alive for the run: the fixture owns the moto table.
    let _table = if args.dynamodb {
        let table = trickle_tests::fixtures::dynamo_table().await;
        services.table = table.port.clone();
        Some(table)
    } else {
        None
    };
    let settings = AudienceSettings {
        validations_per_second: 1_000_000.0,
        ..AudienceSettings::default()
    };
    let (_stop, stopped) = watch::channel(false);
    trickle_tests::import_consumers::spawn(&services, settings, args.workers, stopped);
    let router = trickle_http::router(
        services.clone(),
        HttpSettings {
            admin_token: TOKEN.into(),
            health: None,
            reconcile: None,
            sandbox: None,
            budget: None,
        },
    );
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });

    let http = reqwest::Client::new();
    let call = |method: reqwest::Method, path: String, body: Option<Value>| {
        let mut r = http
            .request(method, format!("{url}{path}"))
            .bearer_auth(TOKEN);
        if let Some(b) = body {
            r = r.json(&b);
        }
        async move { r.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let started = Instant::now();
    let created = call(
        reqwest::Method::POST,
        "/v1/imports".into(),
        Some(json!({"list_name": "bench", "kind": "contacts"})),
    )
    .await;
    let mut put = http.put(created["upload_url"].as_str().unwrap());
    for (name, value) in created["headers"].as_object().unwrap() {
        put = put.header(name, value.as_str().unwrap());
    }
    let uploaded = put.body(body).send().await.unwrap();
    assert!(
        uploaded.status().is_success(),
        "upload: {}",
        uploaded.status()
    );
    let upload_time = started.elapsed();
    let id = created["id"].as_str().unwrap().to_string();

    let (mut parsed_at, mut validated_at) = (None, None);
    let last = loop {
        let now = call(reqwest::Method::GET, format!("/v1/imports/{id}"), None).await;
        let progress = &now["progress"];
        if parsed_at.is_none() && progress["parsed"] == true {
            parsed_at = Some(started.elapsed());
        }
        if validated_at.is_none()
            && progress["parsed"] == true
            && progress["numbers_validated"] == progress["numbers_to_validate"]
        {
            validated_at = Some(started.elapsed());
        }
        match now["status"].as_str() {
            Some("completed") => break now,
            Some("failed" | "cancelled" | "paused") => panic!("the import stopped: {now}"),
            _ => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    };
    let total = started.elapsed();
    let store = if args.dynamodb {
        "DynamoDB (moto)"
    } else {
        "embedded"
    };
    println!(
        "import_bench: {rows} rows, {} workers per queue, {store} store",
        args.workers
    );
    println!("  upload        {:>8.2} s", upload_time.as_secs_f64());
    if let Some(p) = parsed_at {
        println!("  parsed        {:>8.2} s", p.as_secs_f64());
    }
    if let Some(v) = validated_at {
        println!("  validated     {:>8.2} s", v.as_secs_f64());
    }
    println!(
        "  completed     {:>8.2} s  = {:.0} rows/s",
        total.as_secs_f64(),
        rows as f64 / total.as_secs_f64()
    );
    println!("  summary       {}", last["summary"]);
}
