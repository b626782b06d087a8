//! `homeostat incident list|show|declare|ack|mitigate|resolve|postmortem`
//! and `homeostat oncall now`: clients of a running server's JSON API
//! (`--url`, default `$HOMEOSTAT_URL` or http://127.0.0.1:9797).

use std::time::Duration;

use anyhow::{Context, bail};
use chrono::Utc;
use clap::{Args, Subcommand, ValueEnum};
use serde_json::{Value, json};

use crate::human;
use crate::table::Table;

pub const DEFAULT_URL: &str = "http://127.0.0.1:9797";

#[derive(Args, Clone)]
pub struct Server {
    /// Base URL of the homeostat server.
    #[arg(long, env = "HOMEOSTAT_URL", default_value = DEFAULT_URL, global = true)]
    pub url: String,
    /// API token sent as `Authorization: Bearer` (`homeostat token create`).
    /// Prefer the environment variable: arguments show in `ps`.
    #[arg(long, env = "HOMEOSTAT_TOKEN", global = true, hide_env_values = true)]
    pub token: Option<String>,
    /// Basic-auth user (a `basic_auth_users` entry of the web config file);
    /// the password comes from $HOMEOSTAT_PASSWORD.
    #[arg(long, env = "HOMEOSTAT_USER", global = true, conflicts_with = "token")]
    pub user: Option<String>,
}

impl Server {
    /// Adds the configured credentials to a request.
    pub(crate) fn authorize(
        &self,
        req: reqwest::blocking::RequestBuilder,
    ) -> reqwest::blocking::RequestBuilder {
        match (&self.token, &self.user) {
            (Some(t), _) => req.bearer_auth(t.trim()),
            (None, Some(u)) => req.basic_auth(u, std::env::var("HOMEOSTAT_PASSWORD").ok()),
            (None, None) => req,
        }
    }
}

#[derive(Args)]
pub struct Actor {
    /// Who acts (recorded on the timeline). Default: $USER.
    #[arg(long, env = "USER", default_value = "cli")]
    by: String,
}

/// An incident's lifecycle state, as a filter; `open` is the first three.
#[derive(Clone, Copy, ValueEnum)]
pub enum StateFilter {
    Triggered,
    Acknowledged,
    Mitigated,
    Resolved,
    Postmortem,
    /// triggered, acknowledged or mitigated
    Open,
}

/// How bad an incident is. Only homeostat's own scale: Prometheus-style
/// words (`critical`, `warning`) are refused rather than guessed, because
/// a declared incident's severity is a human decision (alerts' `severity`
/// labels are mapped by the documented table in docs/incidents.md).
#[derive(Clone, Copy, ValueEnum)]
pub enum Severity {
    /// the worst: a company-wide emergency
    Sev1,
    /// a major service degraded or down
    Sev2,
    /// a minor or partial degradation
    Sev3,
    /// low impact, no urgency
    Sev4,
}

fn value_name<T: ValueEnum>(v: T) -> String {
    v.to_possible_value()
        .map_or_else(String::new, |p| p.get_name().to_string())
}

/// An incident id as printed by `incident list`.
const ID_HELP: &str = "Incident id, e.g. INC-1 (as `incident list` prints it)";

#[derive(Subcommand)]
pub enum IncidentCommand {
    /// Incidents, newest first.
    List {
        /// Only incidents in these states; comma-separated or repeated.
        #[arg(long, value_enum, value_delimiter = ',')]
        state: Vec<StateFilter>,
        /// Only incidents of this service.
        #[arg(long)]
        service: Option<String>,
    },
    /// One incident with its roles, runbooks and timeline.
    Show {
        #[arg(help = ID_HELP)]
        id: String,
    },
    /// Declare an incident.
    Declare {
        /// What is wrong, in a line (shown in lists and pages).
        #[arg(long)]
        title: String,
        /// How bad it is: sev1 (worst) to sev4.
        #[arg(long, value_enum, default_value_t = Severity::Sev2)]
        severity: Severity,
        /// The affected service (links the incident to its deploys and SLOs).
        #[arg(long)]
        service: Option<String>,
        /// Incident commander (a user id); default: whoever declares.
        #[arg(long)]
        commander: Option<String>,
        /// Page through this escalation policy.
        #[arg(long)]
        escalation_policy: Option<String>,
        #[command(flatten)]
        actor: Actor,
    },
    /// Acknowledge: you are on it; escalation stops.
    Ack {
        #[arg(help = ID_HELP)]
        id: String,
        #[command(flatten)]
        actor: Actor,
    },
    /// Mark the impact mitigated.
    Mitigate {
        #[arg(help = ID_HELP)]
        id: String,
        #[command(flatten)]
        actor: Actor,
    },
    /// Mark the incident resolved (the postmortem can follow).
    Resolve {
        #[arg(help = ID_HELP)]
        id: String,
        #[command(flatten)]
        actor: Actor,
    },
    /// Print the postmortem document (Markdown).
    Postmortem {
        #[arg(help = ID_HELP)]
        id: String,
    },
}

fn client() -> anyhow::Result<reqwest::blocking::Client> {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .context("building the http client")
}

/// The body on success; the server's error message otherwise.
fn answer(resp: reqwest::blocking::Response, what: &str) -> anyhow::Result<String> {
    let status = resp.status();
    let text = resp
        .text()
        .with_context(|| format!("{what}: reading the answer"))?;
    if status.is_success() {
        return Ok(text);
    }
    let message = serde_json::from_str::<Value>(&text)
        .ok()
        .and_then(|v| v["error"].as_str().map(str::to_string))
        .unwrap_or(text);
    bail!("{what}: {status}: {}", message.trim())
}

/// Says where the client looked and how to point it elsewhere: the usual
/// cause is a server on another address.
fn unreachable(server: &Server, method: &str, url: &str) -> String {
    format!(
        "{method} {url}: no answer from homeostat at {} (set --url or HOMEOSTAT_URL)",
        server.url
    )
}

pub(crate) fn get(server: &Server, path: &str) -> anyhow::Result<String> {
    let url = format!("{}{path}", server.url.trim_end_matches('/'));
    let resp = server
        .authorize(client()?.get(&url))
        .send()
        .with_context(|| unreachable(server, "GET", &url))?;
    answer(resp, &format!("GET {path}"))
}

pub(crate) fn post(server: &Server, path: &str, body: Value) -> anyhow::Result<Value> {
    let url = format!("{}{path}", server.url.trim_end_matches('/'));
    let resp = server
        .authorize(client()?.post(&url))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .with_context(|| unreachable(server, "POST", &url))?;
    let text = answer(resp, &format!("POST {path}"))?;
    serde_json::from_str(&text).with_context(|| format!("POST {path}: not JSON"))
}

pub(crate) fn patch(server: &Server, path: &str, body: Value) -> anyhow::Result<Value> {
    let url = format!("{}{path}", server.url.trim_end_matches('/'));
    let resp = server
        .authorize(client()?.patch(&url))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .with_context(|| format!("PATCH {url}"))?;
    let text = answer(resp, &format!("PATCH {path}"))?;
    serde_json::from_str(&text).with_context(|| format!("PATCH {path}: not JSON"))
}

pub(crate) fn delete(server: &Server, path: &str) -> anyhow::Result<Value> {
    let url = format!("{}{path}", server.url.trim_end_matches('/'));
    let resp = server
        .authorize(client()?.delete(&url))
        .send()
        .with_context(|| unreachable(server, "DELETE", &url))?;
    let text = answer(resp, &format!("DELETE {path}"))?;
    serde_json::from_str(&text).with_context(|| format!("DELETE {path}: not JSON"))
}

pub(crate) fn data(text: &str) -> anyhow::Result<Value> {
    let v: Value = serde_json::from_str(text).context("the server's answer is not JSON")?;
    Ok(v["data"].clone())
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or("-")
}

pub(crate) fn query_value(v: &str) -> String {
    v.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b',') {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

pub fn run(server: &Server, command: IncidentCommand) -> anyhow::Result<()> {
    match command {
        IncidentCommand::List { state, service } => {
            let mut q = Vec::new();
            if !state.is_empty() {
                let names: Vec<String> = state.into_iter().map(value_name).collect();
                q.push(format!("state={}", names.join(",")));
            }
            if let Some(sv) = service {
                q.push(format!("service={}", query_value(&sv)));
            }
            let path = match q.is_empty() {
                true => "/api/v1/incidents".to_string(),
                false => format!("/api/v1/incidents?{}", q.join("&")),
            };
            let list = data(&get(server, &path)?)?;
            let now = Utc::now();
            let mut t = Table::new(["ID", "STATE", "SEV", "SERVICE", "OPENED", "TITLE"]);
            for i in list.as_array().into_iter().flatten() {
                t.row([
                    s(&i["id"]).to_string(),
                    s(&i["state"]).to_string(),
                    s(&i["severity"]).to_string(),
                    s(&i["service"]).to_string(),
                    human::cell_relative(&i["createdAt"], now),
                    s(&i["title"]).to_string(),
                ]);
            }
            t.print();
            if t.is_empty() {
                println!("(no incidents)");
            }
            Ok(())
        }
        IncidentCommand::Show { id } => {
            let i = data(&get(
                server,
                &format!("/api/v1/incidents/{}", query_value(&id)),
            )?)?;
            println!("{} {} — {}", s(&i["id"]), s(&i["severity"]), s(&i["title"]));
            println!("state:    {}", s(&i["state"]));
            println!("service:  {}", s(&i["service"]));
            for (role, who) in i["roles"].as_object().into_iter().flatten() {
                println!("{:<9} {}", format!("{role}:"), s(who));
            }
            for url in i["runbookUrls"].as_array().into_iter().flatten() {
                println!("runbook:  {}", s(url));
            }
            let now = Utc::now();
            println!("opened:   {}", human::cell_both(&i["createdAt"], now));
            if !i["escalation"].is_null() {
                println!(
                    "paging:   policy {}, next step {}",
                    s(&i["escalation"]["policy"]),
                    human::cell_both(&i["escalation"]["nextDeadline"], now)
                );
            }
            println!("\ntimeline:");
            let mut t = Table::new(["  AT", "EVENT", "SUMMARY"]);
            for e in i["timeline"].as_array().into_iter().flatten() {
                t.row([
                    format!(
                        "  {}",
                        human::parse(&e["at"]).map_or("-".into(), human::absolute)
                    ),
                    s(&e["kind"]).to_string(),
                    s(&e["summary"]).to_string(),
                ]);
            }
            t.print();
            Ok(())
        }
        IncidentCommand::Declare {
            title,
            severity,
            service,
            commander,
            escalation_policy,
            actor,
        } => {
            let v = post(
                server,
                "/api/v1/incidents",
                json!({"title": title, "severity": value_name(severity), "service": service,
                       "commander": commander, "escalation_policy": escalation_policy, "by": actor.by}),
            )?;
            println!("{}", s(&v["data"]["id"]));
            Ok(())
        }
        IncidentCommand::Ack { id, actor } => step(server, &id, "ack", &actor),
        IncidentCommand::Mitigate { id, actor } => step(server, &id, "mitigate", &actor),
        IncidentCommand::Resolve { id, actor } => step(server, &id, "resolve", &actor),
        IncidentCommand::Postmortem { id } => {
            print!(
                "{}",
                get(
                    server,
                    &format!("/api/v1/incidents/{}/postmortem", query_value(&id))
                )?
            );
            Ok(())
        }
    }
}

fn step(server: &Server, id: &str, action: &str, actor: &Actor) -> anyhow::Result<()> {
    let v = post(
        server,
        &format!("/api/v1/incidents/{}/{action}", query_value(id)),
        json!({"by": actor.by}),
    )?;
    println!("{} {}", s(&v["data"]["id"]), s(&v["data"]["state"]));
    Ok(())
}

/// `homeostat oncall now --url`: who is on call on every schedule (or one).
pub fn oncall_now(server: &Server, schedule: Option<&str>) -> anyhow::Result<()> {
    let list = match schedule {
        Some(id) => Value::Array(vec![data(&get(
            server,
            &format!("/api/v1/oncall/{}", query_value(id)),
        )?)?]),
        None => data(&get(server, "/api/v1/oncall")?)?,
    };
    let now = Utc::now();
    let mut t = Table::new(["SCHEDULE", "ON CALL", "NEXT HANDOFF"]);
    for e in list.as_array().into_iter().flatten() {
        t.row([
            s(&e["schedule"]).to_string(),
            e["onCall"]["user"].as_str().unwrap_or("nobody").to_string(),
            human::cell_both(&e["nextHandoff"], now),
        ]);
    }
    t.print();
    if t.is_empty() {
        println!("(no schedules: add them under oncall: in the config)");
    }
    Ok(())
}
