//! The `homeostat` binary: parses the command line and hands off to the server.

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "homeostat",
    version,
    about = "A reliability control plane in one binary"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server.
    Serve,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve => Ok(()),
    }
}
