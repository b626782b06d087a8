//! `homeostat alerts route-test`: which receivers an alert with the given
//! labels goes to under an Alertmanager config file, printed exactly as
//! `amtool config routes test` prints it. `homeostat alerts lint`: paging
//! rules without a runbook (see `lint.rs`).

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Subcommand;
use homeostat_alerting::{Config, MatchType, Matcher, Route};
use homeostat_model::{Label, Labels};

#[derive(Subcommand)]
pub enum AlertsCommand {
    /// Print the receivers an alert with these labels is routed to,
    /// comma-separated in tree order (as `amtool config routes test`).
    RouteTest {
        /// Alertmanager config file (`--config.file` is amtool's spelling
        /// and works too).
        #[arg(long = "config", visible_alias = "config.file", value_name = "FILE")]
        config_file: PathBuf,
        /// Also print the matching part of the routing tree.
        #[arg(long)]
        tree: bool,
        /// Expected receivers, comma-separated; exit 1 when they differ.
        #[arg(long = "verify.receivers", value_name = "RECEIVERS")]
        verify_receivers: Option<String>,
        /// Alert labels, `name=value` (the value may be double-quoted).
        labels: Vec<String>,
    },
    /// Flag paging alerting rules (those that open incidents) without a
    /// `runbook_url` annotation; exit 1 when there is one.
    Lint {
        /// A homeostat config: lint its rule_files and compiled slo_files,
        /// with its `incidents.open_for` deciding what pages.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Prometheus rule files.
        files: Vec<PathBuf>,
    },
}

pub fn run(command: AlertsCommand) -> anyhow::Result<std::process::ExitCode> {
    match command {
        AlertsCommand::Lint { config, files } => crate::lint::run(config.as_deref(), &files),
        AlertsCommand::RouteTest {
            config_file,
            tree,
            verify_receivers,
            labels,
        } => {
            let config = Config::load(&config_file)?;
            let labels = parse_labels(&labels)?;
            if tree {
                println!("Matching routes:");
                let mut out = String::from(".\n");
                matching_tree(&config.route, &labels, "", true, &mut out);
                println!("{out}\n");
            }
            let receivers = config.receivers_for(&labels).join(",");
            println!("{receivers}");
            if let Some(want) = verify_receivers.filter(|w| !w.is_empty())
                && want != receivers
            {
                println!("WARNING: Expected receivers did not match resolved receivers.");
                return Ok(std::process::ExitCode::FAILURE);
            }
            Ok(std::process::ExitCode::SUCCESS)
        }
    }
}

/// Later labels replace earlier ones of the same name, as in amtool; an
/// empty value is the same as leaving the label out.
fn parse_labels(args: &[String]) -> anyhow::Result<Labels> {
    let mut pairs: Vec<Label> = Vec::new();
    for arg in args {
        let m = Matcher::parse(arg).context("failed to parse labels")?;
        if m.op() != MatchType::Equal {
            bail!(
                "failed to parse labels: labels must be specified as key=value pairs, not {arg:?}"
            );
        }
        pairs.retain(|l| l.name != m.name());
        pairs.push(Label::new(m.name(), m.value()));
    }
    Labels::new(pairs).context("failed to parse labels")
}

/// The matching branches in amtool's tree layout: each route as its
/// matchers (`default-route` without any), the routes an alert ends at
/// with their receiver.
fn matching_tree(route: &Route, labels: &Labels, prefix: &str, last: bool, out: &mut String) {
    let children: Vec<&Route> = {
        let mut v = Vec::new();
        for child in &route.routes {
            if child.matchers.matches(labels) {
                v.push(child);
                if !child.continue_matching {
                    break;
                }
            }
        }
        v
    };
    let mut slug = if route.matchers.is_empty() {
        "default-route".to_string()
    } else {
        route.matchers.to_string()
    };
    if children.is_empty() {
        slug.push_str("  receiver: ");
        slug.push_str(&route.opts.receiver);
    }
    out.push_str(prefix);
    out.push_str(if last { "└── " } else { "├── " });
    out.push_str(&slug);
    out.push('\n');
    // treeprint (amtool's tree printer) pads the bar with two no-break spaces.
    let child_prefix = format!("{prefix}{}", if last { "    " } else { "│\u{a0}\u{a0} " });
    for (i, child) in children.iter().enumerate() {
        matching_tree(child, labels, &child_prefix, i + 1 == children.len(), out);
    }
}
