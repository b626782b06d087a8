//! `homeostat chaos run|validate|list`: Chaos Toolkit experiments on a
//! running server. `run` posts the file, follows the run (each activity on
//! stderr as it finishes), writes the journal like `chaos run` does, and
//! exits 0 only when the run completed without deviating.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Subcommand;
use homeostat_chaos::{Format, parse_experiment};
use serde_json::Value;

use crate::incident::{Server, data, get, query_value};
use crate::table::Table;

#[derive(Subcommand)]
pub enum ChaosCommand {
    /// Run an experiment on the server and follow it; exit 0 when it
    /// completed without deviating, 1 otherwise.
    Run {
        /// The experiment (Chaos Toolkit's format, JSON or YAML).
        file: PathBuf,
        /// Where to write the journal (Chaos Toolkit's shape).
        #[arg(long, default_value = "journal.json")]
        journal_path: PathBuf,
    },
    /// Check an experiment file here, without a server (the process
    /// allow-list is the server's: `run` checks it).
    Validate {
        /// The experiment (JSON or YAML).
        file: PathBuf,
    },
    /// Experiment runs, newest first.
    List {
        /// Only runs of this service.
        #[arg(long)]
        service: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
}

fn format_of(path: &Path) -> Format {
    match path.extension().and_then(|e| e.to_str()) {
        Some("yaml" | "yml") => Format::Yaml,
        Some("json") => Format::Json,
        _ => Format::Auto,
    }
}

fn read(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

/// Runs a command; `Ok(false)` means exit 1 (the reason is printed).
pub fn run(server: &Server, command: ChaosCommand) -> anyhow::Result<bool> {
    match command {
        ChaosCommand::Validate { file } => {
            let text = read(&file)?;
            let e = parse_experiment(&text, format_of(&file))
                .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            println!(
                "{}: valid: {:?}, {} steady-state probes, {} method activities, {} rollbacks{}",
                file.display(),
                e.title,
                e.hypothesis.as_ref().map_or(0, |h| h.probes.len()),
                e.method.len(),
                e.rollbacks.len(),
                e.homeostat
                    .as_ref()
                    .and_then(|h| h.guard.as_ref())
                    .map_or(String::new(), |g| format!(", guarded by SLO {}", g.slo))
            );
            for note in &e.notes {
                println!("note: {note}");
            }
            Ok(true)
        }
        ChaosCommand::List { service, limit } => {
            let mut path = format!("/api/v1/chaos/experiments?limit={limit}");
            if let Some(s) = service {
                path.push_str(&format!("&service={}", query_value(&s)));
            }
            let runs = data(&get(server, &path)?)?;
            let mut t = Table::new(["ID", "STATUS", "DEVIATED", "SERVICE", "STARTED", "TITLE"]);
            for r in runs.as_array().into_iter().flatten() {
                let s = |k: &str| r[k].as_str().unwrap_or("-").to_string();
                t.row([
                    s("id"),
                    s("status"),
                    r["deviated"].as_bool().unwrap_or(false).to_string(),
                    s("service"),
                    s("startedAt"),
                    s("title"),
                ]);
            }
            if t.is_empty() {
                println!("no experiment runs");
            } else {
                print!("{}", t.render());
            }
            Ok(true)
        }
        ChaosCommand::Run { file, journal_path } => run_file(server, &file, &journal_path),
    }
}

fn run_file(server: &Server, file: &Path, journal_path: &Path) -> anyhow::Result<bool> {
    let text = read(file)?;
    let format = format_of(file);
    let exp =
        parse_experiment(&text, format).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    let content_type = match format {
        Format::Yaml => "application/yaml",
        Format::Json => "application/json",
        Format::Auto if text.trim_start().starts_with('{') => "application/json",
        Format::Auto => "application/yaml",
    };
    let started = post_raw(server, "/api/v1/chaos/experiments", content_type, text)?;
    let id = started["data"]["id"]
        .as_str()
        .context("the server answered without a run id")?
        .to_string();
    eprintln!("experiment {:?} started as {id}", exp.title);
    let mut shown = 0usize;
    let journal = loop {
        let run = data(&get(server, &format!("/api/v1/chaos/experiments/{id}"))?)?;
        let journal = &run["journal"];
        let lines = progress(journal);
        for line in lines.iter().skip(shown) {
            eprintln!("  {line}");
        }
        shown = lines.len();
        if run["finishedAt"].is_string() {
            break journal.clone();
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    std::fs::write(
        journal_path,
        serde_json::to_string_pretty(&journal).unwrap_or_default(),
    )
    .with_context(|| format!("writing the journal to {}", journal_path.display()))?;
    let status = journal["status"].as_str().unwrap_or("unknown");
    let deviated = journal["deviated"].as_bool().unwrap_or(false);
    let why = journal
        .pointer("/homeostat/deviation")
        .and_then(Value::as_str)
        .map_or(String::new(), |d| format!(": {d}"));
    eprintln!(
        "experiment {id} {status}{}{why}; journal written to {}",
        if deviated { ", deviated" } else { "" },
        journal_path.display()
    );
    Ok(status == "completed" && !deviated)
}

/// One line per activity run so far, in the order they ran.
fn progress(journal: &Value) -> Vec<String> {
    let line = |phase: &str, r: &Value| {
        let a = &r["activity"];
        let tol = match r["tolerance_met"].as_bool() {
            Some(true) => ", tolerance met",
            Some(false) => ", tolerance NOT met",
            None => "",
        };
        let err = r["exception"][0]
            .as_str()
            .map_or(String::new(), |e| format!(" ({e})"));
        format!(
            "[{phase}] {} {}: {}{tol}{err}",
            a["type"].as_str().unwrap_or("activity"),
            a["name"].as_str().unwrap_or("?"),
            r["status"].as_str().unwrap_or("?"),
        )
    };
    let mut out = Vec::new();
    let each = |phase: &str, list: &Value, out: &mut Vec<String>| {
        for r in list.as_array().into_iter().flatten() {
            out.push(line(phase, r));
        }
    };
    each(
        "before",
        &journal["steady_states"]["before"]["probes"],
        &mut out,
    );
    each("method", &journal["run"], &mut out);
    each(
        "after",
        &journal["steady_states"]["after"]["probes"],
        &mut out,
    );
    each("rollback", &journal["rollbacks"], &mut out);
    out
}

fn post_raw(
    server: &Server,
    path: &str,
    content_type: &str,
    body: String,
) -> anyhow::Result<Value> {
    let url = format!("{}{path}", server.url.trim_end_matches('/'));
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .context("building the http client")?;
    let resp = server
        .authorize(client.post(&url))
        .header("content-type", content_type)
        .body(body)
        .send()
        .with_context(|| format!("POST {url}: is the server running? (--url, $HOMEOSTAT_URL)"))?;
    let status = resp.status();
    let text = resp.text().context("reading the answer")?;
    if !status.is_success() {
        let message = serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|v| v["error"].as_str().map(str::to_string))
            .unwrap_or(text);
        bail!("POST {path}: {status}: {}", message.trim());
    }
    serde_json::from_str(&text).with_context(|| format!("POST {path}: not JSON"))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn progress_lists_every_phase() {
        let j = json!({
            "steady_states": {"before": {"probes": [{"activity": {"type": "probe", "name": "p"}, "status": "succeeded", "tolerance_met": true}]}, "after": null},
            "run": [{"activity": {"type": "action", "name": "a"}, "status": "failed", "exception": ["boom"]}],
            "rollbacks": [{"activity": {"type": "action", "name": "r"}, "status": "succeeded"}]
        });
        assert_eq!(
            progress(&j),
            [
                "[before] probe p: succeeded, tolerance met",
                "[method] action a: failed (boom)",
                "[rollback] action r: succeeded"
            ]
        );
    }
}
