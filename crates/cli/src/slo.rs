//! `homeostat slo validate|generate`: SLO specs in, Prometheus rule files out.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Subcommand, ValueEnum};
use homeostat_slo::{AlertWindows, CompileOptions, Mode, SloSpec, compile, load_specs_file};

#[derive(Subcommand)]
pub enum SloCommand {
    /// Check SLO spec files (Sloth prometheus/v1, OpenSLO); exits non-zero
    /// naming the file, the field and the fix on the first bad spec.
    Validate {
        /// Spec files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
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

fn load_all(files: &[PathBuf]) -> anyhow::Result<Vec<SloSpec>> {
    let mut specs = Vec::new();
    for f in files {
        specs.extend(load_specs_file(f)?);
    }
    Ok(specs)
}

pub fn run(cmd: SloCommand) -> anyhow::Result<()> {
    match cmd {
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
