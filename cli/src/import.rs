//! `trickle import FILE --list NAME`: uploads a CSV through the admin API's pre-signed URL,
//! follows the import and prints its summary.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context};
use serde_json::{json, Value};

use crate::api_client::checked;
use tokio::io::AsyncReadExt;

#[derive(clap::Args, Debug, Clone)]
pub struct ImportArgs {
    /// The CSV file to import.
    pub file: PathBuf,
    /// Name of the list the import creates.
    #[arg(long = "list")]
    pub list: String,
    /// `contacts` (validated, becomes a list) or `suppression` (a do-not-contact list).
    #[arg(long, default_value = "contacts", value_parser = ["contacts", "suppression"])]
    pub kind: String,
    /// Base URL of the admin API.
    #[arg(long, env = "TRICKLE_API_URL", default_value = "http://127.0.0.1:8080")]
    pub api: String,
    /// Admin API token (defaults to the one `trickle dev` keeps in ./.trickle/admin-token).
    #[arg(long, env = "TRICKLE_ADMIN_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
}

pub async fn run(args: ImportArgs) -> anyhow::Result<()> {
    let token = crate::api_client::resolve_token(args.token.as_deref())?;
    let api = args.api.trim_end_matches('/').to_string();
    let http = reqwest::Client::new();
    let size = tokio::fs::metadata(&args.file)
        .await
        .with_context(|| format!("reading {}", args.file.display()))?
        .len();

    let created: Value = checked(
        http.post(format!("{api}/v1/imports"))
            .bearer_auth(&token)
            .json(&json!({"list_name": args.list, "kind": args.kind}))
            .send()
            .await
            .context("calling the admin API")?,
    )
    .await?;
    let id = created["id"]
        .as_str()
        .context("no import id in the answer")?
        .to_string();
    let url = created["upload_url"]
        .as_str()
        .context("no upload URL in the answer")?;

    upload(&http, url, &created["headers"], &args.file, size).await?;
    eprintln!();
    let last = follow(&http, &api, &token, &id).await?;
    eprintln!();
    println!("{}", last["summary"].as_str().unwrap_or(""));
    match last["status"].as_str() {
        Some("completed") => {
            println!(
                "list {} · rejected rows: GET {api}/v1/imports/{id}/rejects",
                last["list_id"].as_str().unwrap_or("")
            );
            Ok(())
        }
        Some("paused") => bail!(
            "import {id} is paused: {}; resume with POST {api}/v1/imports/{id}/resume",
            last["paused_reason"].as_str().unwrap_or("see its status")
        ),
        _ => bail!(
            "import {id} failed: {}",
            last["error"].as_str().unwrap_or("see its status")
        ),
    }
}

/// PUTs the file in chunks, drawing the bytes sent so far (S3 needs the length up front).
async fn upload(
    http: &reqwest::Client,
    url: &str,
    headers: &Value,
    path: &std::path::Path,
    size: u64,
) -> anyhow::Result<()> {
    let mut file = tokio::fs::File::open(path).await?;
    let stream = async_stream(move |sender| async move {
        let mut sent = 0u64;
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let n = file.read(&mut buf).await?;
            if n == 0 {
                return Ok::<(), std::io::Error>(());
            }
            sent += n as u64;
            draw("uploading", sent, size);
            if sender
                .send(Ok(bytes::Bytes::copy_from_slice(&buf[..n])))
                .await
                .is_err()
            {
                return Ok(());
            }
        }
    });
    let mut request = http
        .put(url)
        .header(reqwest::header::CONTENT_LENGTH, size)
        .body(reqwest::Body::wrap_stream(stream));
    if let Some(headers) = headers.as_object() {
        for (name, value) in headers {
            request = request.header(name.as_str(), value.as_str().unwrap_or(""));
        }
    }
    let response = request.send().await.context("uploading the file")?;
    if !response.status().is_success() {
        bail!("the upload was refused: {}", response.status());
    }
    draw("uploaded", size, size);
    Ok(())
}

type Chunk = Result<bytes::Bytes, std::io::Error>;

/// A body stream fed by a task (keeps the dependency set to tokio and futures).
fn async_stream<F, Fut>(producer: F) -> impl futures::Stream<Item = Chunk>
where
    F: FnOnce(tokio::sync::mpsc::Sender<Chunk>) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<(), std::io::Error>> + Send + 'static,
{
    let (sender, receiver) = tokio::sync::mpsc::channel::<Chunk>(4);
    let errors = sender.clone();
    tokio::spawn(async move {
        if let Err(e) = producer(sender).await {
            let _ = errors.send(Err(e)).await;
        }
    });
    futures::stream::unfold(
        receiver,
        |mut r| async move { r.recv().await.map(|c| (c, r)) },
    )
}

/// Polls the import until it stops, drawing its progress.
async fn follow(http: &reqwest::Client, api: &str, token: &str, id: &str) -> anyhow::Result<Value> {
    loop {
        let status: Value = checked(
            http.get(format!("{api}/v1/imports/{id}"))
                .bearer_auth(token)
                .send()
                .await?,
        )
        .await?;
        let p = &status["progress"];
        let n = |v: &Value| v.as_u64().unwrap_or(0);
        let state = status["status"].as_str().unwrap_or("?").to_string();
        match state.as_str() {
            "validating" => draw(
                "validating",
                n(&p["numbers_validated"]),
                n(&p["numbers_to_validate"]).max(1),
            ),
            _ => {
                eprint!(
                    "\r{state:<12} rows {} · contacts {} · duplicates {} · without phone {}      ",
                    n(&p["rows_read"]),
                    n(&p["contacts_found"]),
                    n(&p["duplicates_in_file"]),
                    n(&p["without_phone"])
                );
                let _ = std::io::stderr().flush();
            }
        }
        if matches!(state.as_str(), "completed" | "paused" | "failed") {
            return Ok(status);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

fn draw(label: &str, done: u64, total: u64) {
    const WIDTH: u64 = 30;
    let total = total.max(1);
    let filled = (done.min(total) * WIDTH / total) as usize;
    eprint!(
        "\r{label:<12} [{}{}] {:>3}% {done}/{total}      ",
        "#".repeat(filled),
        "-".repeat(WIDTH as usize - filled),
        done.min(total) * 100 / total
    );
    let _ = std::io::stderr().flush();
}
