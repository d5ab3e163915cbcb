//! `trickle export`: a campaign's sends (with their outcome and replies), a list's members, the
//! review list or the opt-out audit as CSV, streamed from the admin API into a file or stdout.

use std::path::PathBuf;

use std::io::Write;

use anyhow::Context;

use crate::api_client::{encode, ApiArgs, ApiClient};

#[derive(clap::Args, Debug)]
pub struct ExportArgs {
    #[command(flatten)]
    pub api: ApiArgs,
    #[command(subcommand)]
    pub what: What,
    /// Write to this file instead of stdout.
    #[arg(long, short, global = true)]
    pub output: Option<PathBuf>,
}

#[derive(clap::Subcommand, Debug)]
pub enum What {
    /// A campaign's sends, each with its state, its first reply and any opt-out after it.
    Sends { campaign: String },
    /// A list's members (by name or id) with their names, emails and attributes.
    Members { list: String },
    /// The review list.
    Review,
    /// The opt-out audit, one row per change.
    OptOuts,
}

pub async fn run(args: ExportArgs) -> anyhow::Result<()> {
    let client = ApiClient::new(&args.api)?;
    let path = match &args.what {
        What::Sends { campaign } => format!("/v1/campaigns/{}/sends.csv", encode(campaign)),
        What::Members { list } => {
            format!(
                "/v1/lists/{}/members.csv",
                encode(&client.list_id(list).await?)
            )
        }
        What::Review => "/v1/review.csv".to_string(),
        What::OptOuts => "/v1/opt-outs.csv".to_string(),
    };
    let mut response = client.open(&path).await?;
    // A command-line tool writing one chunk at a time: plain blocking writes are fine.
    let mut out: Box<dyn Write> = match &args.output {
        Some(file) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(file).with_context(|| format!("creating {}", file.display()))?,
        )),
        None => Box::new(std::io::stdout().lock()),
    };
    let mut lines: u64 = 0;
    while let Some(chunk) = response.chunk().await.context("reading the export")? {
        lines += chunk.iter().filter(|b| **b == b'\n').count() as u64;
        out.write_all(&chunk)?;
    }
    out.flush()?;
    if let Some(file) = &args.output {
        eprintln!(
            "wrote {} rows to {}",
            lines.saturating_sub(1),
            file.display()
        );
    }
    Ok(())
}
