//! `homeostat alerts lint`: every paging alert must carry a `runbook_url`
//! annotation, because the incident it opens shows that link to the person
//! woken up. Paging means: matches the config's `incidents.open_for`
//! (default `severity="page"` or `sloth_severity="page"`), with the group's
//! labels applied under the rule's.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use homeostat_rules::{GroupSpec, RuleKind};
use homeostat_server::{Config, IncidentsConfig};

/// The problems found, one line each, as printed.
pub fn lint_groups(groups: &[GroupSpec], incidents: &IncidentsConfig) -> Vec<String> {
    let mut out = Vec::new();
    for g in groups {
        for r in g.rules.iter().filter(|r| r.kind == RuleKind::Alerting) {
            let mut labels = g.labels.clone();
            labels.extend(r.labels.clone());
            let has_runbook = r
                .annotations
                .get("runbook_url")
                .is_some_and(|u| !u.trim().is_empty());
            if incidents.pages(&labels) && !has_runbook {
                out.push(format!(
                    "{}: group {:?}: alert {:?}: paging alert without a runbook_url annotation",
                    g.file, g.name, r.name
                ));
            }
        }
    }
    out
}

pub fn run(config: Option<&Path>, files: &[PathBuf]) -> anyhow::Result<ExitCode> {
    if config.is_none() && files.is_empty() {
        anyhow::bail!("name rule files to lint, or --config homeostat.yaml");
    }
    let mut groups = Vec::new();
    let mut incidents = IncidentsConfig::default();
    if let Some(path) = config {
        let cfg = Config::load(path)?;
        groups.extend(homeostat_rules::load_globs(&cfg.rule_files)?);
        if !cfg.slos.is_empty() {
            let compiled = homeostat_slo::compile(
                &cfg.slos,
                &homeostat_slo::CompileOptions {
                    windows: cfg.slo_windows.clone(),
                    ..homeostat_slo::CompileOptions::default()
                },
            );
            groups.extend(homeostat_rules::parse_rule_file(
                "<slo_files>",
                &compiled.to_yaml(),
            )?);
        }
        incidents = cfg.incidents.incidents;
    }
    for f in files {
        groups.extend(
            homeostat_rules::load_file(f).with_context(|| format!("reading {}", f.display()))?,
        );
    }
    let problems = lint_groups(&groups, &incidents);
    for p in &problems {
        println!("{p}");
    }
    Ok(if problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_paging_alerts_without_runbooks_only() {
        let text = r#"
groups:
  - name: g
    labels: {severity: page}
    rules:
      - {alert: A, expr: vector(1)}
      - {alert: B, expr: vector(1), annotations: {runbook_url: 'https://r/b'}}
      - {alert: C, expr: vector(1), labels: {severity: ticket}}
      - {record: r, expr: vector(1)}
  - name: slo
    rules:
      - {alert: D, expr: vector(1), labels: {sloth_severity: page}}
"#;
        let groups = homeostat_rules::parse_rule_file("rules.yml", text).expect("parses");
        assert_eq!(
            lint_groups(&groups, &IncidentsConfig::default()),
            [
                "rules.yml: group \"g\": alert \"A\": paging alert without a runbook_url annotation",
                "rules.yml: group \"slo\": alert \"D\": paging alert without a runbook_url annotation",
            ]
        );
    }
}
