//! `homeostat slo validate|generate`: SLO specs in, Prometheus rule files out.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use clap::{Subcommand, ValueEnum};
use serde_json::Value;

use crate::human;
use crate::incident::{data, get};
use crate::table::Table;
use homeostat_slo::{AlertWindows, CompileOptions, Mode, SloSpec, compile, load_specs_files};

#[derive(Subcommand)]
pub enum SloCommand {
    /// Check SLO spec files (Sloth prometheus/v1, OpenSLO); exits non-zero
    /// naming the file, the field and the fix on the first bad spec.
    Validate {
        /// Spec files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Error budgets of a running homeostat: SLI, budget remaining, burn rates,
    /// projected exhaustion and firing tiers (from `/api/v1/slos`).
    Status {
        /// One SLO id (`<service>-<name>`); all SLOs when left out.
        id: Option<String>,
        #[command(flatten)]
        server: crate::incident::Server,
    },
    /// Compile SLO spec files into a Prometheus rule file.
    Generate {
        /// Spec files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Write here instead of standard output.
        #[arg(long, short = 'o')]
        out: Option<PathBuf>,
        /// `sloth`: byte-for-byte Sloth's rules; `homeostat` (default): the
        /// corrected rules (event-weighted period SLI, no NaN without traffic,
        /// guarded pages; see docs/adr/0006).
        #[arg(long, value_enum, default_value_t = Compat::Homeostat)]
        compat: Compat,
        /// Alert windows file (Sloth's format) for a period; repeatable.
        #[arg(long)]
        windows: Vec<PathBuf>,
        /// Period of specs that set none, e.g. 30d or 28d.
        #[arg(long, default_value = "30d")]
        default_period: String,
        /// Label added to every rule, `name=value`; repeatable.
        #[arg(long = "extra-label")]
        extra_labels: Vec<String>,
        /// Leave the alerting rules out (recording rules only).
        #[arg(long)]
        disable_alerts: bool,
        /// Leave the recording rules out (alerting rules only).
        #[arg(long)]
        disable_recordings: bool,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Compat {
    Homeostat,
    Sloth,
}

/// All files at once, so OpenSLO documents may refer to each other across files.
fn load_all(files: &[PathBuf]) -> anyhow::Result<Vec<SloSpec>> {
    Ok(load_specs_files(files)?)
}

fn pct(v: &Value) -> String {
    v.as_f64()
        .map_or("n/a".into(), |v| format!("{:.2}%", v * 100.0))
}

/// The budget left as a person reads it: a percentage while some is left,
/// `exhausted` (with how far over) once it is spent, never `-1220%`.
fn remaining(budget: &Value) -> String {
    match budget["remaining"].as_f64() {
        None => "n/a".into(),
        Some(r) if r > 0.0 && budget["exhausted"] != true => format!("{:.2}%", r * 100.0),
        Some(r) => {
            // The server's overspend factor when it gives one.
            let spent = budget["overspend"].as_f64().unwrap_or(1.0 - r);
            if spent > 1.005 {
                format!("exhausted ({spent:.1}x spent)")
            } else {
                "exhausted".into()
            }
        }
    }
}

/// When the budget runs out at the 1h burn rate: only while some is left
/// and the rate burns faster than the budget refills (1x); an exhausted
/// budget says since when, from the same projection.
fn runs_out(s: &Value, burn_1h: Option<f64>, now: DateTime<Utc>) -> String {
    let Some(at) = human::parse(&s["budget"]["exhaustedAt"]) else {
        return "-".into();
    };
    let left = s["budget"]["remaining"].as_f64().unwrap_or(0.0);
    if left <= 0.0 {
        return if at <= now {
            format!("exhausted {}", human::relative(at, now))
        } else {
            "exhausted".into()
        };
    }
    match burn_1h {
        Some(b) if b > 1.0 && at > now => format!("runs out {}", human::relative(at, now)),
        _ => "-".into(),
    }
}

fn status(server: &crate::incident::Server, id: Option<&str>) -> anyhow::Result<()> {
    let path = match id {
        Some(id) => format!("/api/v1/slos/{}", crate::incident::query_value(id)),
        None => "/api/v1/slos".to_string(),
    };
    let slos = match data(&get(server, &path)?)? {
        Value::Array(a) => a,
        one => vec![one],
    };
    let now = Utc::now();
    let mut t = Table::new([
        "SLO",
        "OBJECTIVE",
        "SLI",
        "BUDGET LEFT",
        "BURN 1H",
        "PROJECTION",
        "FIRING",
        "DATA",
    ]);
    for s in &slos {
        let burn_1h = s["burnRates"]
            .as_array()
            .and_then(|w| w.iter().find(|w| w["window"] == "1h"))
            .and_then(|w| w["burnRate"].as_f64());
        let firing: Vec<&str> = s["firing"]
            .as_array()
            .map(|f| f.iter().filter_map(|v| v.as_str()).collect())
            .unwrap_or_default();
        t.row([
            s["id"].as_str().unwrap_or("?").to_string(),
            pct(&s["objective"]),
            pct(&s["sli"]),
            remaining(&s["budget"]),
            burn_1h.map_or("n/a".into(), |b| format!("{b:.2}x")),
            runs_out(s, burn_1h, now),
            if firing.is_empty() {
                "-".into()
            } else {
                firing.join(",")
            },
            // How much history the budget rests on (less than its period
            // on a young installation).
            s["budget"]["basedOnSeconds"]
                .as_i64()
                .map_or("-".into(), human::span),
        ]);
    }
    t.print();
    if t.is_empty() {
        println!("(no SLOs loaded: add slo_files to the config and reload)");
    }
    Ok(())
}

pub fn run(cmd: SloCommand) -> anyhow::Result<()> {
    match cmd {
        SloCommand::Status { id, server } => status(&server, id.as_deref()),
        SloCommand::Validate { files } => {
            let specs = load_all(&files)?;
            println!("{} SLOs in {} files are valid", specs.len(), files.len());
            Ok(())
        }
        SloCommand::Generate {
            files,
            out,
            compat,
            windows,
            default_period,
            extra_labels,
            disable_alerts,
            disable_recordings,
        } => {
            let specs = load_all(&files)?;
            let mut opts = CompileOptions {
                mode: match compat {
                    Compat::Homeostat => Mode::Homeostat,
                    Compat::Sloth => Mode::Sloth,
                },
                default_period: homeostat_model::parse_duration(&default_period)
                    .with_context(|| format!("--default-period {default_period:?}"))?,
                disable_alerts,
                disable_recordings,
                ..CompileOptions::default()
            };
            for w in &windows {
                let text = std::fs::read_to_string(w)
                    .with_context(|| format!("cannot read windows file {}", w.display()))?;
                opts.windows
                    .push(AlertWindows::from_yaml(&text, &w.display().to_string())?);
            }
            let mut labels = BTreeMap::new();
            for l in &extra_labels {
                let Some((k, v)) = l.split_once('=') else {
                    bail!("--extra-label {l:?}: expected name=value");
                };
                if !homeostat_model::is_valid_label_name(k) {
                    bail!("--extra-label {l:?}: {k:?} is not a valid label name");
                }
                labels.insert(k.to_string(), v.to_string());
            }
            opts.extra_labels = labels;
            let yaml = compile(&specs, &opts).to_yaml();
            match out {
                Some(path) => std::fs::write(&path, yaml)
                    .with_context(|| format!("cannot write {}", path.display()))?,
                None => print!("{yaml}"),
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default()
    }

    #[test]
    fn an_overspent_budget_says_exhausted_and_by_how_much() {
        assert_eq!(remaining(&json!({"remaining": 0.4231})), "42.31%");
        assert_eq!(remaining(&json!({"remaining": 0.0})), "exhausted");
        assert_eq!(
            remaining(&json!({"remaining": -1.4})),
            "exhausted (2.4x spent)"
        );
        assert_eq!(remaining(&json!({"remaining": null})), "n/a");
    }

    #[test]
    fn projections_are_relative_and_only_when_burning_faster_than_1x() {
        let now = at("2026-12-07T12:00:00Z");
        let in_20 = at("2026-12-07T12:20:00Z").timestamp() as f64;
        let ago_3h = at("2026-12-07T09:00:00Z").timestamp() as f64;
        let slo = |left: f64, at: f64| json!({"budget": {"remaining": left, "exhaustedAt": at}});
        assert_eq!(
            runs_out(&slo(0.2, in_20), Some(5.0), now),
            "runs out in 20 min"
        );
        assert_eq!(runs_out(&slo(0.2, in_20), Some(0.5), now), "-");
        assert_eq!(
            runs_out(&slo(-0.5, ago_3h), Some(5.0), now),
            "exhausted 3 h ago"
        );
        assert_eq!(runs_out(&json!({"budget": {}}), Some(5.0), now), "-");
    }
}
