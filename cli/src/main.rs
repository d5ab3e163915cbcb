//! `trickle`: the local runner, and the operator's commands over the admin API.

mod api_client;
mod browse;
mod campaign;
mod dev;
mod export;
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
    /// The lists (or one list's members, by name or id).
    Lists(browse::ListsArgs),
    /// Find contacts.
    Contacts(browse::ContactsArgs),
    /// Contacts a campaign skipped for a person to look at; `--release` or `--dismiss` an entry.
    Review(browse::ReviewArgs),
    /// Numbers that opted out, most recent first.
    OptOuts(browse::PageArgs),
    /// Export sends, members, the review list or the opt-out audit as CSV.
    Export(export::ExportArgs),
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    telemetry::init();
    // A person's mistake gets its message, never a backtrace.
    match run(cli.command).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Dev(settings) => dev::run(settings).await,
        Command::Import(args) => import::run(args).await,
        Command::Campaign(args) => campaign::run(args).await,
        Command::Lists(args) => browse::lists(args).await,
        Command::Contacts(args) => browse::contacts(args).await,
        Command::Review(args) => browse::review(args).await,
        Command::OptOuts(args) => browse::opt_outs(args).await,
        Command::Export(args) => export::run(args).await,
    }
}
