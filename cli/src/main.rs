//! `trickle`: the local runner and, later, the operator's commands over the admin API.

mod api_client;
mod campaign;
mod dev;
mod import;
mod openphone;
mod sandbox_panel;
mod settings;
mod telemetry;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "trickle",
    version,
    about = "Compliant trickle SMS campaigns through OpenPhone"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the whole system in one process on embedded defaults (no AWS account needed).
    Dev(settings::DevSettings),
    /// Import a CSV file as a list (or a do-not-contact list) through the admin API.
    Import(import::ImportArgs),
    /// Create, inspect and drive campaigns through the admin API.
    Campaign(campaign::CampaignArgs),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    telemetry::init();
    match cli.command {
        Command::Dev(settings) => dev::run(settings).await,
        Command::Import(args) => import::run(args).await,
        Command::Campaign(args) => campaign::run(args).await,
    }
}
