//! `homeostat toil log|report`: the toil ledger on a running server
//! (docs/toil.md). `log` records work done outside homeostat; `report`
//! prints the toil share per team per week against the cap and the
//! repeated actions worth automating.

use clap::Subcommand;
use serde_json::{Value, json};

use crate::incident::{self, Server};
use crate::table::Table;

#[derive(Subcommand)]
pub enum ToilCommand {
    /// Log work done outside homeostat, e.g. `--kind disk-cleanup --service db --minutes 20`.
    Log {
        /// What kind of work: lowercase letters, digits and dashes.
        #[arg(long)]
        kind: String,
        /// The service worked on; its team comes from `services[].team`.
        #[arg(long)]
        service: Option<String>,
        /// How long it took, in minutes (at most a day per entry).
        #[arg(long)]
        minutes: f64,
        /// What was done, for the report and the audit log.
        #[arg(long, default_value = "")]
        note: String,
        /// Who did the work; default: the caller (or $USER without a token).
        #[arg(long)]
        by: Option<String>,
        /// When it was done (RFC 3339 or Unix seconds); default: now.
        #[arg(long)]
        at: Option<String>,
    },
    /// Toil share per team per ISO week against the cap, and automation candidates.
    Report {
        /// How many weeks back, this one included (1 to 52).
        #[arg(long, default_value_t = 4)]
        weeks: u32,
        /// Print each candidate's draft remediation policy too.
        #[arg(long)]
        policies: bool,
    },
}

pub fn run(server: &Server, command: ToilCommand) -> anyhow::Result<()> {
    match command {
        ToilCommand::Log {
            kind,
            service,
            minutes,
            note,
            by,
            at,
        } => {
            let by = by.or_else(|| std::env::var("USER").ok());
            let body = json!({"kind": kind, "service": service, "minutes": minutes, "note": note, "by": by, "at": at});
            let v = incident::post(server, "/api/v1/toil", body)?;
            let e = &v["data"];
            println!(
                "logged {} min of {} on {} for team {} ({})",
                e["minutes"],
                s(&e["kind"]),
                s(&e["service"]),
                s(&e["team"]),
                s(&e["id"])
            );
        }
        ToilCommand::Report { weeks, policies } => {
            let v = incident::data(&incident::get(
                server,
                &format!("/api/v1/toil/report?weeks={weeks}"),
            )?)?;
            print!("{}", render_report(&v, policies));
        }
    }
    Ok(())
}

fn s(v: &Value) -> String {
    match v {
        Value::String(x) => x.clone(),
        Value::Null => "-".into(),
        other => other.to_string(),
    }
}

/// The report as text: the weekly table, then the candidates.
pub fn render_report(v: &Value, policies: bool) -> String {
    let cap = v["cap"].as_f64().unwrap_or(0.5);
    let mut t = Table::new(["TEAM", "WEEK", "TOIL H", "ON-CALL H", "SHARE", ""]);
    for w in v["weeks"].as_array().into_iter().flatten() {
        let share = w["share"].as_f64();
        t.row([
            s(&w["team"]),
            s(&w["week"]).chars().take(10).collect(),
            format!("{:.1}", w["toilHours"].as_f64().unwrap_or(0.0)),
            format!("{:.1}", w["oncallHours"].as_f64().unwrap_or(0.0)),
            share.map_or("-".into(), |x| format!("{:.0}%", x * 100.0)),
            if w["overCap"].as_bool() == Some(true) {
                format!("over the {:.0}% cap", cap * 100.0)
            } else {
                String::new()
            },
        ]);
    }
    let mut out = if t.is_empty() {
        "no toil and no on-call time in these weeks\n".to_string()
    } else {
        t.render()
    };
    let candidates = v["candidates"].as_array().cloned().unwrap_or_default();
    if candidates.is_empty() {
        out.push_str("\nno automation candidates\n");
    } else {
        out.push_str("\nautomation candidates:\n");
        for c in &candidates {
            out.push_str(&format!(
                "  {} ({:.0} min, team {})\n",
                s(&c["sentence"]),
                c["totalMinutes"].as_f64().unwrap_or(0.0),
                s(&c["team"])
            ));
            if policies {
                for line in s(&c["draftPolicy"]).lines() {
                    out.push_str(&format!("    {line}\n"));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_prints_weeks_and_candidates() {
        let v = json!({
            "cap": 0.5,
            "weeks": [
                {"team": "storage", "week": "2026-11-02T00:00:00Z", "toilHours": 20.33, "oncallHours": 40.0, "share": 0.508, "overCap": true},
                {"team": "unassigned", "week": "2026-11-02T00:00:00Z", "toilHours": 0.17, "oncallHours": 0.0, "share": null, "overCap": false},
            ],
            "candidates": [{"sentence": "silenced DiskFull on db-3 9 times in 30 days", "totalMinutes": 45.0, "team": "storage", "draftPolicy": "remediation:\n  policies: []\n"}],
        });
        let out = render_report(&v, true);
        assert!(out.contains("storage"), "{out}");
        assert!(out.contains("51%"), "{out}");
        assert!(out.contains("over the 50% cap"), "{out}");
        assert!(
            out.contains("  silenced DiskFull on db-3 9 times in 30 days (45 min, team storage)\n"),
            "{out}"
        );
        assert!(out.contains("    remediation:\n"), "{out}");
    }
}
