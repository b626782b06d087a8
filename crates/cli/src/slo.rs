//! `homeostat slo validate|generate`: SLO specs in, Prometheus rule files out.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Subcommand, ValueEnum};
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
        #[arg(long, default_value = "http://127.0.0.1:9797")]
        url: String,
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
        #[arg(long)]
        disable_alerts: bool,
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

fn pct(v: &serde_json::Value) -> String {
    v.as_f64()
        .map_or("n/a".into(), |v| format!("{:.2}%", v * 100.0))
}

fn status(url: &str, id: Option<&str>) -> anyhow::Result<()> {
    let base = url.trim_end_matches('/');
    let endpoint = match id {
        Some(id) => format!("{base}/api/v1/slos/{id}"),
        None => format!("{base}/api/v1/slos"),
    };
    let resp = reqwest::blocking::get(&endpoint).with_context(|| format!("GET {endpoint}"))?;
    let code = resp.status();
    let body: serde_json::Value = resp
        .json()
        .with_context(|| format!("GET {endpoint}: not JSON"))?;
    if !code.is_success() {
        bail!(
            "GET {endpoint}: {code}: {}",
            body["error"].as_str().unwrap_or("")
        );
    }
    let slos = match &body["data"] {
        serde_json::Value::Array(a) => a.clone(),
        one => vec![one.clone()],
    };
    println!(
        "{:<40} {:>9} {:>9} {:>10} {:>11} {:>8}  firing",
        "SLO", "objective", "SLI", "remaining", "budget min", "burn 1h"
    );
    for s in &slos {
        let burn_1h = s["burnRates"]
            .as_array()
            .and_then(|w| w.iter().find(|w| w["window"] == "1h"))
            .and_then(|w| w["burnRate"].as_f64())
            .map_or("n/a".into(), |b| format!("{b:.2}x"));
        let firing: Vec<&str> = s["firing"]
            .as_array()
            .map(|f| f.iter().filter_map(|v| v.as_str()).collect())
            .unwrap_or_default();
        println!(
            "{:<40} {:>9} {:>9} {:>10} {:>11} {:>8}  {}",
            s["id"].as_str().unwrap_or("?"),
            pct(&s["objective"]),
            pct(&s["sli"]),
            if s["budget"]["exhausted"] == true {
                "exhausted".to_string()
            } else {
                pct(&s["budget"]["remaining"])
            },
            s["budget"]["remainingMinutes"]
                .as_f64()
                .map_or("n/a".into(), |m| format!("{m:.1}")),
            burn_1h,
            firing.join(",")
        );
        // What a budget rests on, and by how much a spent one was overspent,
        // as the console says it.
        let mut note = Vec::new();
        if let Some(x) = s["budget"]["overspend"].as_f64() {
            note.push(format!("spent {x:.1}x the budget"));
        }
        if let Some(secs) = s["budget"]["basedOnSeconds"].as_u64() {
            let d =
                homeostat_model::format_duration(std::time::Duration::from_secs(secs / 60 * 60));
            if s["period"].as_str() != Some(d.as_str()) {
                note.push(format!("based on {d} of data"));
            }
        }
        if !note.is_empty() {
            println!("{:<40} {}", "", note.join("; "));
        }
        if let Some(at) = s["budget"]["exhaustedAt"].as_f64() {
            println!(
                "{:<40} budget runs out at {at:.0} (unix seconds) at the 1h burn rate",
                ""
            );
        }
    }
    Ok(())
}

pub fn run(cmd: SloCommand) -> anyhow::Result<()> {
    match cmd {
        SloCommand::Status { id, url } => status(&url, id.as_deref()),
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
