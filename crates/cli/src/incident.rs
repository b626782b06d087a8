//! `homeostat incident list|show|declare|ack|mitigate|resolve|postmortem`
//! and `homeostat oncall now`: clients of a running server's JSON API
//! (`--url`, default `$HOMEOSTAT_URL` or http://127.0.0.1:9797).

use std::time::Duration;

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};
use serde_json::{Value, json};

pub const DEFAULT_URL: &str = "http://127.0.0.1:9797";

#[derive(Args, Clone)]
pub struct Server {
    /// Base URL of the homeostat server.
    #[arg(long, env = "HOMEOSTAT_URL", default_value = DEFAULT_URL, global = true)]
    pub url: String,
}

#[derive(Args)]
pub struct Actor {
    /// Who acts (recorded on the timeline). Default: $USER.
    #[arg(long, env = "USER", default_value = "cli")]
    by: String,
}

#[derive(Subcommand)]
pub enum IncidentCommand {
    /// Incidents, newest first.
    List {
        /// triggered, acknowledged, mitigated, resolved, postmortem or open;
        /// comma-separated.
        #[arg(long)]
        state: Option<String>,
        #[arg(long)]
        service: Option<String>,
    },
    /// One incident with its roles, runbooks and timeline.
    Show { id: String },
    /// Declare an incident.
    Declare {
        #[arg(long)]
        title: String,
        /// sev1 (worst) … sev4.
        #[arg(long, default_value = "sev2")]
        severity: String,
        #[arg(long)]
        service: Option<String>,
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
        id: String,
        #[command(flatten)]
        actor: Actor,
    },
    /// Mark the impact mitigated.
    Mitigate {
        id: String,
        #[command(flatten)]
        actor: Actor,
    },
    Resolve {
        id: String,
        #[command(flatten)]
        actor: Actor,
    },
    /// Print the postmortem document (Markdown).
    Postmortem { id: String },
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

pub(crate) fn get(server: &Server, path: &str) -> anyhow::Result<String> {
    let url = format!("{}{path}", server.url.trim_end_matches('/'));
    let resp = client()?
        .get(&url)
        .send()
        .with_context(|| format!("GET {url}"))?;
    answer(resp, &format!("GET {path}"))
}

pub(crate) fn post(server: &Server, path: &str, body: Value) -> anyhow::Result<Value> {
    let url = format!("{}{path}", server.url.trim_end_matches('/'));
    let resp = client()?
        .post(&url)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .with_context(|| format!("POST {url}"))?;
    let text = answer(resp, &format!("POST {path}"))?;
    serde_json::from_str(&text).with_context(|| format!("POST {path}: not JSON"))
}

pub(crate) fn patch(server: &Server, path: &str, body: Value) -> anyhow::Result<Value> {
    let url = format!("{}{path}", server.url.trim_end_matches('/'));
    let resp = client()?
        .patch(&url)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .with_context(|| format!("PATCH {url}"))?;
    let text = answer(resp, &format!("PATCH {path}"))?;
    serde_json::from_str(&text).with_context(|| format!("PATCH {path}: not JSON"))
}

pub(crate) fn data(text: &str) -> anyhow::Result<Value> {
    let v: Value = serde_json::from_str(text).context("the server's answer is not JSON")?;
    Ok(v["data"].clone())
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or("-")
}

fn age(created: &Value, now: DateTime<Utc>) -> String {
    let Some(t) = created
        .as_str()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
    else {
        return "-".into();
    };
    let secs = (now - t.with_timezone(&Utc)).num_seconds().max(0);
    match secs {
        0..60 => format!("{secs}s"),
        60..3600 => format!("{}m", secs / 60),
        3600..86400 => format!("{}h", secs / 3600),
        _ => format!("{}d", secs / 86400),
    }
}

fn query_value(v: &str) -> String {
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
            if let Some(st) = state {
                q.push(format!("state={}", query_value(&st)));
            }
            if let Some(sv) = service {
                q.push(format!("service={}", query_value(&sv)));
            }
            let list = data(&get(server, &format!("/api/v1/incidents?{}", q.join("&")))?)?;
            let now = Utc::now();
            println!(
                "{:<8} {:<13} {:<5} {:>5}  TITLE",
                "ID", "STATE", "SEV", "AGE"
            );
            for i in list.as_array().into_iter().flatten() {
                println!(
                    "{:<8} {:<13} {:<5} {:>5}  {}",
                    s(&i["id"]),
                    s(&i["state"]),
                    s(&i["severity"]),
                    age(&i["createdAt"], now),
                    s(&i["title"])
                );
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
            if !i["escalation"].is_null() {
                println!(
                    "paging:   policy {}, next step {}",
                    s(&i["escalation"]["policy"]),
                    s(&i["escalation"]["nextDeadline"])
                );
            }
            println!("\ntimeline:");
            for e in i["timeline"].as_array().into_iter().flatten() {
                println!(
                    "  {}  {:<19} {}",
                    s(&e["at"]),
                    s(&e["kind"]),
                    s(&e["summary"])
                );
            }
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
                json!({"title": title, "severity": severity, "service": service,
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
    println!("{:<24} {:<16} NEXT HANDOFF", "SCHEDULE", "ON CALL");
    for e in list.as_array().into_iter().flatten() {
        let who = e["onCall"]["user"].as_str().unwrap_or("nobody");
        println!(
            "{:<24} {:<16} {}",
            s(&e["schedule"]),
            who,
            s(&e["nextHandoff"])
        );
    }
    Ok(())
}
