//! `homeostat deploy record|finish|list` and `homeostat gate check`: clients of a
//! running server's release API, made to sit in a CI/CD pipeline unchanged
//! (Jenkins, GitHub Actions, an Argo CD pre-sync hook, a shell script):
//! `gate check` exits 0 to allow and 1 to deny, with one line saying why.

use chrono::Utc;
use clap::{Subcommand, ValueEnum};
use serde_json::{Value, json};

use crate::human;
use crate::incident::{Server, data, get, patch, post};
use crate::table::Table;

/// How a deploy went, in the API's spelling.
#[derive(Clone, Copy, ValueEnum)]
#[value(rename_all = "snake_case")]
pub enum Outcome {
    /// still rolling out
    InProgress,
    Succeeded,
    Failed,
    /// replaced by a rollback
    RolledBack,
}

/// How a finished deploy ended (what `deploy finish` accepts).
#[derive(Clone, Copy, ValueEnum)]
#[value(rename_all = "snake_case")]
pub enum Ending {
    Succeeded,
    Failed,
    /// replaced by a rollback
    RolledBack,
}

impl Ending {
    fn as_str(self) -> &'static str {
        match self {
            Ending::Succeeded => "succeeded",
            Ending::Failed => "failed",
            Ending::RolledBack => "rolled_back",
        }
    }
}

#[derive(Subcommand)]
pub enum DeployCommand {
    /// Record a deploy (shown on charts, in incident timelines, and used
    /// for change correlation and automatic rollback).
    Record {
        /// The service deployed, as named in its SLO specs.
        #[arg(long)]
        service: String,
        /// The version now running, e.g. 1.4.2.
        #[arg(long)]
        version: String,
        /// The commit shipped.
        #[arg(long)]
        commit: Option<String>,
        /// Who shipped it. Default: $USER.
        #[arg(long, env = "USER")]
        author: Option<String>,
        /// The environment deployed to.
        #[arg(long, default_value = "production")]
        environment: String,
        /// Kind of change: rollback, security, p0-fix, feature, config…
        /// (free text; rollback, security and p0-fix are exempt from freezes).
        #[arg(long)]
        change_type: Option<String>,
        /// How it went so far; default in_progress.
        #[arg(long, value_enum)]
        outcome: Option<Outcome>,
        /// For a rollback: the id of the deploy it replaces (marked
        /// rolled_back). Default: the service's previous deploy in the
        /// same environment.
        #[arg(long)]
        rolls_back: Option<u64>,
    },
    /// End a recorded deploy with its outcome (now, unless --finished-at).
    /// Repeating the same outcome is not an error; a finished deploy may
    /// still be marked rolled_back.
    Finish {
        /// The deploy's id, as `deploy record` printed it.
        #[arg(long)]
        id: u64,
        /// How it ended.
        #[arg(long, value_enum)]
        outcome: Ending,
        /// When it ended: RFC 3339 or Unix seconds (default now).
        #[arg(long)]
        finished_at: Option<String>,
    },
    /// Deploys, newest first.
    List {
        /// Only deploys of this service.
        #[arg(long)]
        service: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
}

#[derive(Subcommand)]
pub enum GateCommand {
    /// May a change of this service ship now? Exit 0 allow, 1 deny.
    Check {
        /// The service about to ship.
        #[arg(long)]
        service: String,
        /// rollback, security, p0-fix… (exempt types ship during a freeze).
        #[arg(long)]
        change_type: Option<String>,
    },
}

fn query(pairs: &[(&str, Option<&str>)]) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        if let Some(v) = v {
            q.append_pair(k, v);
        }
    }
    q.finish()
}

pub fn deploy(server: &Server, cmd: DeployCommand) -> anyhow::Result<()> {
    match cmd {
        DeployCommand::Record {
            service,
            version,
            commit,
            author,
            environment,
            change_type,
            outcome,
            rolls_back,
        } => {
            let v = post(
                server,
                "/api/v1/deploys",
                json!({
                    "service": service, "version": version, "commit": commit, "author": author,
                    "environment": environment, "changeType": change_type, "rollsBack": rolls_back,
                    "outcome": outcome.and_then(|o| o.to_possible_value()).map(|p| p.get_name().to_string()),
                }),
            )?;
            let d = &v["data"];
            println!(
                "deploy {} recorded: {} {} ({})",
                d["id"],
                d["service"].as_str().unwrap_or("-"),
                d["version"].as_str().unwrap_or("-"),
                d["outcome"].as_str().unwrap_or("-")
            );
        }
        DeployCommand::Finish {
            id,
            outcome,
            finished_at,
        } => {
            let v = patch(
                server,
                &format!("/api/v1/deploys/{id}"),
                json!({"outcome": outcome.as_str(), "finishedAt": finished_at}),
            )?;
            let d = &v["data"];
            println!(
                "deploy {} of {} {}: {} at {}",
                d["id"],
                d["service"].as_str().unwrap_or("-"),
                d["version"].as_str().unwrap_or("-"),
                d["outcome"].as_str().unwrap_or("-"),
                d["finishedAt"].as_str().unwrap_or("-")
            );
        }
        DeployCommand::List { service, limit } => {
            let limit = limit.to_string();
            let path = format!(
                "/api/v1/deploys?{}",
                query(&[("service", service.as_deref()), ("limit", Some(&limit))])
            );
            let list = data(&get(server, &path)?)?;
            let now = Utc::now();
            let mut t = Table::new(["ID", "SERVICE", "VERSION", "OUTCOME", "STARTED", "AUTHOR"]);
            for d in list.as_array().into_iter().flatten() {
                let s = |k: &str| d[k].as_str().unwrap_or("-").to_string();
                t.row([
                    d["id"].to_string(),
                    s("service"),
                    s("version"),
                    s("outcome"),
                    human::cell_both(&d["startedAt"], now),
                    s("author"),
                ]);
            }
            t.print();
            if t.is_empty() {
                println!("(no deploys recorded)");
            }
        }
    }
    Ok(())
}

/// Prints the gate's answer; `Ok(false)` when the change is denied.
pub fn gate(server: &Server, cmd: GateCommand) -> anyhow::Result<bool> {
    match cmd {
        GateCommand::Check {
            service,
            change_type,
        } => {
            let path = format!(
                "/api/v1/gate?{}",
                query(&[
                    ("service", Some(&service)),
                    ("change_type", change_type.as_deref())
                ])
            );
            let d: Value = data(&get(server, &path)?)?;
            println!("{}", d["reason"].as_str().unwrap_or("no reason given"));
            Ok(d["allow"].as_bool().unwrap_or(false))
        }
    }
}

#[derive(Subcommand)]
pub enum CanaryCommand {
    /// One canary judgment now, from a request file (JSON or YAML: metrics
    /// with `{{.group}}` queries, baseline/canary group values, lookback,
    /// step, config). Exit 0 Pass, 1 Fail, 2 Marginal or NoData.
    Judge {
        /// The request file.
        #[arg(long)]
        file: std::path::PathBuf,
    },
}

/// Prints the judgment; returns the exit code.
pub fn canary(server: &Server, cmd: CanaryCommand) -> anyhow::Result<i32> {
    match cmd {
        CanaryCommand::Judge { file } => {
            use anyhow::Context;
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let body: Value = serde_norway::from_str(&text)
                .with_context(|| format!("{}: not JSON or YAML", file.display()))?;
            let v = post(server, "/api/v1/canary/judge", body)?;
            let j = &v["data"];
            println!(
                "{} (score {:.1}): {}",
                j["verdict"].as_str().unwrap_or("?"),
                j["score"].as_f64().unwrap_or(0.0),
                j["reason"].as_str().unwrap_or("")
            );
            let mut t = Table::new(["  METRIC", "RESULT", "REASON"]);
            for m in j["metrics"].as_array().into_iter().flatten() {
                t.row([
                    format!("  {}", m["name"].as_str().unwrap_or("-")),
                    m["classification"].as_str().unwrap_or("-").to_string(),
                    m["reason"].as_str().unwrap_or("").to_string(),
                ]);
            }
            t.print();
            Ok(match j["verdict"].as_str() {
                Some("Pass") => 0,
                Some("Fail") => 1,
                _ => 2,
            })
        }
    }
}
