//! `homeostat remediation runs|approve|reject`: remediation runs on a
//! running server (docs/remediation.md). A responder answers an action
//! that waits for approval from here, as from the API.

use clap::Subcommand;
use serde_json::json;

use crate::incident::{self, Server, data, get, query_value};
use crate::table::Table;

#[derive(Subcommand)]
pub enum RemediationCommand {
    /// Remediation runs, newest first.
    Runs {
        /// Only runs of this policy.
        #[arg(long)]
        policy: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// Approve the action a run waits on; it runs now.
    Approve {
        /// The run's id (`homeostat remediation runs`).
        id: String,
    },
    /// Reject the action a run waits on; the run goes on with the next.
    Reject {
        /// The run's id.
        id: String,
    },
}

pub fn run(server: &Server, command: RemediationCommand) -> anyhow::Result<()> {
    match command {
        RemediationCommand::Runs { policy, limit } => {
            let mut path = format!("/api/v1/remediation/runs?limit={limit}");
            if let Some(p) = policy {
                path.push_str(&format!("&policy={}", query_value(&p)));
            }
            let runs = data(&get(server, &path)?)?;
            let mut t = Table::new(["ID", "POLICY", "TARGET", "STATE", "INCIDENT", "STARTED"]);
            for r in runs.as_array().into_iter().flatten() {
                let s = |k: &str| r[k].as_str().unwrap_or("-").to_string();
                t.row([
                    s("id"),
                    s("policy"),
                    s("target"),
                    s("state"),
                    s("incident"),
                    s("startedAt"),
                ]);
            }
            if t.is_empty() {
                println!("no remediation runs");
            } else {
                print!("{}", t.render());
            }
        }
        RemediationCommand::Approve { id } => answer(server, &id, "approve")?,
        RemediationCommand::Reject { id } => answer(server, &id, "reject")?,
    }
    Ok(())
}

fn answer(server: &Server, id: &str, verb: &str) -> anyhow::Result<()> {
    let v = incident::post(
        server,
        &format!("/api/v1/remediation/runs/{}/{verb}", query_value(id)),
        json!({}),
    )?;
    let r = &v["data"];
    let last = r["steps"]
        .as_array()
        .and_then(|s| s.last())
        .and_then(|s| s["detail"].as_str())
        .unwrap_or("");
    println!(
        "{verb}d run {} ({}): now {}{}",
        id,
        r["policy"].as_str().unwrap_or("?"),
        r["state"].as_str().unwrap_or("?"),
        if last.is_empty() {
            String::new()
        } else {
            format!(" — {last}")
        }
    );
    Ok(())
}
