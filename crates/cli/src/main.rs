//! The `homeostat` binary: parses the command line, sets up logging and hands
//! off to the server crate.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use homeostat_server::Config;

mod alerts;
mod chaos;
#[cfg(test)]
mod cli_reference;
mod demo;
mod human;
mod incident;
mod lint;
mod logging;
mod oncall;
mod release;
mod remediation;
mod remote_read;
mod slo;
mod state;
mod table;
mod toil;
mod token;
mod traffic;

use logging::LogFormat;

// Ingestion allocates and frees millions of small label strings and sample
// vectors per second; glibc's allocator spent ~30% of CPU in bookkeeping
// under the ingest benchmark.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    /// Run the server: ingestion, storage and the HTTP API on one listener.
    Serve {
        /// Config file (YAML). Without it homeostat runs its embedded default
        /// and scrapes its own /metrics.
        #[arg(long, env = "HOMEOSTAT_CONFIG")]
        config: Option<PathBuf>,
        /// Data directory for the WAL and blocks (overrides the config file).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Listen address (overrides the config file). Default 127.0.0.1:9797.
        #[arg(long)]
        listen: Option<SocketAddr>,
        /// Prometheus's web configuration file (exporter-toolkit format):
        /// TLS and client certificates, basic-auth users, response headers.
        /// Re-read on SIGHUP and `POST /-/reload`.
        #[arg(long = "web.config.file", env = "HOMEOSTAT_WEB_CONFIG_FILE")]
        web_config_file: Option<PathBuf>,
        /// Log format on stderr: text (coloured only on a terminal) or json
        /// (one object per line, for log shippers).
        #[arg(long, value_enum, default_value_t = LogFormat::Text, env = "HOMEOSTAT_LOG_FORMAT")]
        log_format: LogFormat,
    },
    /// Read series from a remote Prometheus-compatible server exactly as the
    /// `query_backend: {kind: remote}` querier does, and print them as JSON.
    /// For checking a backend's settings and for interop tests.
    RemoteRead {
        /// Remote-read endpoint, e.g. http://prom:9090/api/v1/read
        #[arg(long)]
        read_url: String,
        /// HTTP API base; derived from --read-url when it ends in /api/v1/read.
        #[arg(long)]
        api_url: Option<String>,
        /// Label matcher, repeatable: name="v", name!="v", name=~"re", name!~"re".
        #[arg(long = "match", short = 'm', required = true)]
        matchers: Vec<String>,
        /// Start, ms since the epoch.
        #[arg(long, default_value_t = 0)]
        start: i64,
        /// End, ms since the epoch (default: now).
        #[arg(long)]
        end: Option<i64>,
        /// Fail when the answer holds more samples than this (the querier's limit).
        #[arg(long)]
        max_samples: Option<usize>,
        /// Extra header, repeatable: "Name: value".
        #[arg(long, short = 'H')]
        header: Vec<String>,
        /// select (samples), series, labels, or values:<label name>.
        #[arg(long, default_value = "select")]
        what: String,
    },
    /// Every HTTP route and the access it needs, one `METHOD PATH ACCESS`
    /// line each, from the route table the server is built from (for
    /// interop tests and the security docs).
    #[command(hide = true)]
    Routes,
    /// SLO specs: validate them, or compile them into Prometheus rules.
    Slo {
        #[command(subcommand)]
        command: slo::SloCommand,
    },
    /// On-call schedules: who is on call, and the final schedule over a range.
    Oncall {
        #[command(subcommand)]
        command: oncall::OncallCommand,
    },
    /// Alertmanager-compatible routing: test which receivers an alert goes to.
    Alerts {
        #[command(subcommand)]
        command: alerts::AlertsCommand,
    },
    /// Incidents on a running server: list, show, declare, ack, resolve, postmortem.
    Incident {
        #[command(flatten)]
        server: incident::Server,
        #[command(subcommand)]
        command: incident::IncidentCommand,
    },
    /// API tokens: create (printed once), list, revoke; on a running server
    /// (admin scope), or offline with --data-dir for the first admin token.
    Token {
        #[command(flatten)]
        place: token::Where,
        #[command(subcommand)]
        command: token::TokenCommand,
    },
    /// Remediation runs on a running server: list them, approve or reject
    /// an action that waits for approval.
    Remediation {
        #[command(flatten)]
        server: incident::Server,
        #[command(subcommand)]
        command: remediation::RemediationCommand,
    },
    /// The toil ledger on a running server: log work done outside
    /// homeostat, print the weekly toil share per team and automation candidates.
    Toil {
        #[command(flatten)]
        server: incident::Server,
        #[command(subcommand)]
        command: toil::ToilCommand,
    },
    /// The state store (silences, incidents, notification log, audit…):
    /// copy it between SQLite and PostgreSQL.
    State {
        #[command(subcommand)]
        command: state::StateCommand,
    },
    /// Deploy events on a running server: record one, list them.
    Deploy {
        #[command(flatten)]
        server: incident::Server,
        #[command(subcommand)]
        command: release::DeployCommand,
    },
    /// The error-budget gate: may a change ship now? (exit 0 allow, 1 deny)
    Gate {
        #[command(flatten)]
        server: incident::Server,
        #[command(subcommand)]
        command: release::GateCommand,
    },
    /// The HTTP traffic proxy on a running server: status, weight shifts
    /// between zones and endpoints, HTTP faults.
    Traffic {
        #[command(flatten)]
        server: incident::Server,
        #[command(subcommand)]
        command: traffic::TrafficCommand,
    },
    /// Chaos Toolkit experiments on a running server: run one and follow it
    /// (exit 0 when it completed without deviating), validate a file, list runs.
    Chaos {
        #[command(flatten)]
        server: incident::Server,
        #[command(subcommand)]
        command: chaos::ChaosCommand,
    },
    /// Canary analysis on a running server: one judgment now.
    Canary {
        #[command(flatten)]
        server: incident::Server,
        #[command(subcommand)]
        command: release::CanaryCommand,
    },
    /// The closed-loop demo: a server with a simulated fleet, SLOs, on-call
    /// and a scripted bad deploy that it detects, pages, escalates and rolls
    /// back by itself; progress on the terminal, everything in the console.
    Demo {
        /// Listen address of the demo's server.
        #[arg(long, default_value = "127.0.0.1:9797")]
        listen: SocketAddr,
        /// Where the demo's config files and data go (default: a fresh
        /// directory under the system's temp dir, printed at start).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Exit after the scenario: 0 when it completed, 1 when a stage did
        /// not happen within its deadline.
        #[arg(long)]
        exit_when_done: bool,
        /// Listen address of the demo's rollback receiver (the webhook the
        /// server calls to roll checkout back). Default: a free port on
        /// 127.0.0.1, printed at start.
        #[arg(long, default_value = "127.0.0.1:0")]
        rollback_listen: SocketAddr,
        /// Log format on stderr: text (coloured only on a terminal) or json
        /// (one object per line, for log shippers).
        #[arg(long, value_enum, default_value_t = LogFormat::Text, env = "HOMEOSTAT_LOG_FORMAT")]
        log_format: LogFormat,
    },
    /// Print the version.
    Version,
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    // Commands that decide their own exit code (like amtool's checks).
    let cli = match cli.command {
        Command::Alerts { command } => {
            return alerts::run(command).unwrap_or_else(|e| {
                eprintln!("error: {e:#}");
                std::process::ExitCode::FAILURE
            });
        }
        command => Cli { command },
    };
    // One line per cause, no backtrace: these are messages for operators.
    match run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Version => {
            println!("homeostat {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
        Command::Demo {
            listen,
            data_dir,
            exit_when_done,
            rollback_listen,
            log_format,
        } => {
            logging::init(log_format, "warn");
            let code = demo::run(demo::Args {
                listen,
                data_dir,
                exit_when_done,
                rollback_listen,
            })?;
            if code != std::process::ExitCode::SUCCESS {
                std::process::exit(1);
            }
            Ok(())
        }
        Command::Routes => {
            for r in homeostat_server::access_rules() {
                let access = match r.access {
                    homeostat_server::Access::Page => "page".to_string(),
                    a => a.to_string(),
                };
                println!("{} {} {}", r.method, r.path, access);
            }
            Ok(())
        }
        Command::Slo { command } => slo::run(command),
        Command::Oncall { command } => oncall::run(command),
        Command::Incident { server, command } => incident::run(&server, command),
        Command::Token { place, command } => token::run(&place, command),
        Command::Toil { server, command } => toil::run(&server, command),
        Command::Remediation { server, command } => remediation::run(&server, command),
        Command::State { command } => state::run(command),
        Command::Deploy { server, command } => release::deploy(&server, command),
        Command::Traffic { server, command } => traffic::run(&server, command),
        Command::Canary { server, command } => {
            let code = release::canary(&server, command)?;
            if code != 0 {
                std::process::exit(code);
            }
            Ok(())
        }
        Command::Chaos { server, command } => {
            if !chaos::run(&server, command)? {
                // What happened is printed; the exit code says it did not pass.
                std::process::exit(1);
            }
            Ok(())
        }
        Command::Gate { server, command } => {
            if !release::gate(&server, command)? {
                // Denied: the reason is printed; the exit code is the answer.
                std::process::exit(1);
            }
            Ok(())
        }
        Command::Alerts { command } => alerts::run(command).map(|_| ()),
        Command::RemoteRead {
            read_url,
            api_url,
            matchers,
            start,
            end,
            max_samples,
            header,
            what,
        } => remote_read::run(remote_read::Args {
            read_url,
            api_url,
            matchers,
            start,
            end,
            max_samples,
            header,
            what,
        }),
        Command::Serve {
            config,
            data_dir,
            listen,
            web_config_file,
            log_format,
        } => {
            logging::init(log_format, "info");
            let mut cfg = match &config {
                Some(path) => Config::load(path)?,
                None => Config::default_config(),
            };
            if let Some(d) = data_dir {
                cfg.data_dir = d;
            }
            if let Some(l) = listen {
                cfg.listen = l;
            }
            cfg.web_config_file = web_config_file;
            eprintln!(
                "homeostat {} serving on {}  (data in {})",
                env!("CARGO_PKG_VERSION"),
                cfg.listen,
                cfg.data_dir.display()
            );
            let rt = tokio::runtime::Runtime::new().context("starting the async runtime")?;
            rt.block_on(homeostat_server::run(cfg, shutdown_signal()))?;
            Ok(())
        }
    }
}
