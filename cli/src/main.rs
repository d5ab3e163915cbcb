//! `trickle`: the local runner and, later, the operator's commands over the admin API.

mod dev;
mod openphone;
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
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    telemetry::init();
    match cli.command {
        Command::Dev(settings) => dev::run(settings).await,
    }
}
