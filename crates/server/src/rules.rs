//! The rule engine's runtime: loading `rule_files` and `slo_files`, and one
//! task per group evaluating it on its interval with the shared clock.

use std::sync::Arc;
use std::time::Duration;

use homeostat_app::Leadership;
use homeostat_rules::{GroupSpec, ReloadSummary, RuleManager};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::ServerError;
use crate::notifier::Notifier;

/// Rule files, then the compiled SLOs (default mode, loaded and validated
/// with the config), as groups. A bad file fails startup with its name and
/// the field.
pub fn load_groups(
    rule_files: &[String],
    slos: &[homeostat_slo::SloSpec],
    slo_windows: &[homeostat_slo::AlertWindows],
    services: &[homeostat_slo::ServiceSignals],
) -> Result<Vec<GroupSpec>, ServerError> {
    let mut groups = homeostat_rules::load_globs(rule_files)?;
    if !services.is_empty() {
        // The golden signals go through the same parser as any rule file.
        let file = homeostat_slo::RuleFile {
            mode: homeostat_slo::Mode::Homeostat,
            version: env!("CARGO_PKG_VERSION").to_string(),
            documents: vec![services.iter().map(|s| s.rules()).collect()],
        };
        groups.extend(homeostat_rules::parse_rule_file(
            "<services>",
            &file.to_yaml(),
        )?);
    }
    if !slos.is_empty() {
        let opts = homeostat_slo::CompileOptions {
            windows: slo_windows.to_vec(),
            ..homeostat_slo::CompileOptions::default()
        };
        let compiled = homeostat_slo::compile(slos, &opts);
        groups.extend(homeostat_rules::parse_rule_file(
            "<slo_files>",
            &compiled.to_yaml(),
        )?);
    }
    Ok(groups)
}

/// The evaluation loops of the loaded groups, one task per group. A reload
/// stops them all, swaps the groups, and starts loops for the new list,
/// because group indexes change.
pub struct RuleTasks {
    manager: Arc<RuleManager>,
    notifier: Arc<Notifier>,
    /// Only the leader evaluates (and so writes recordings and sends alerts).
    leadership: Leadership,
    stop: watch::Sender<bool>,
    handles: Vec<JoinHandle<()>>,
}

impl RuleTasks {
    pub fn start(
        manager: Arc<RuleManager>,
        notifier: Arc<Notifier>,
        leadership: Leadership,
    ) -> Self {
        let (stop, _) = watch::channel(false);
        let mut t = Self {
            manager,
            notifier,
            leadership,
            stop,
            handles: Vec::new(),
        };
        t.spawn();
        t
    }

    fn spawn(&mut self) {
        let (stop, rx) = watch::channel(false);
        self.stop = stop;
        self.handles = (0..self.manager.group_count())
            .map(|i| {
                tokio::spawn(group_loop(
                    self.manager.clone(),
                    i,
                    self.notifier.clone(),
                    self.leadership.clone(),
                    rx.clone(),
                ))
            })
            .collect();
        if !self.handles.is_empty() {
            tracing::info!(groups = self.handles.len(), "rule evaluation running");
        }
    }

    /// Stops every loop and waits for evaluations in flight to finish.
    pub async fn stop(&mut self) {
        let _ = self.stop.send(true);
        for h in self.handles.drain(..) {
            let _ = h.await;
        }
    }

    /// Replaces the groups (already validated) and restarts evaluation.
    pub async fn replace(&mut self, specs: Vec<GroupSpec>) -> ReloadSummary {
        self.stop().await;
        let now = self.manager.clock().now_millis();
        let m = self.manager.clone();
        let summary = tokio::task::spawn_blocking(move || m.replace_groups(specs, now))
            .await
            .unwrap_or_else(|e| {
                tracing::error!(error = %e, "replacing rule groups failed");
                ReloadSummary::default()
            });
        self.spawn();
        summary
    }
}

/// Evaluates group `i` at each of its aligned timestamps until `stop`
/// changes; evaluation runs on a blocking thread, alerts go to the notifier.
/// A follower skips its turns: the leader's evaluation is the one whose
/// recordings and alerts count.
pub async fn group_loop(
    manager: Arc<RuleManager>,
    i: usize,
    notifier: Arc<Notifier>,
    leadership: Leadership,
    mut stop: watch::Receiver<bool>,
) {
    let mut last: Option<i64> = None;
    loop {
        let now = manager.clock().now_millis();
        let from = last.map_or(now, |l| now.max(l + 1));
        let Some(next) = manager.next_eval_at(i, from) else {
            return;
        };
        let wait = Duration::from_millis((next - now).max(0) as u64);
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.changed() => return,
        }
        if !leadership.is_leader() {
            last = Some(next);
            continue;
        }
        let m = manager.clone();
        match tokio::task::spawn_blocking(move || m.eval_group(i, next)).await {
            Ok(alerts) => notifier.enqueue(alerts),
            Err(e) => tracing::error!(error = %e, "rule evaluation task failed"),
        }
        last = Some(next);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads_rule_files_and_compiled_slos() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let rules = dir.path().join("a.yml");
        std::fs::write(
            &rules,
            "groups:\n- name: a\n  rules:\n  - record: x:sum\n    expr: sum(x)\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let slo =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/slo/checkout.yaml");
        let slos = homeostat_slo::load_specs_file(&slo).unwrap_or_else(|e| panic!("{e}"));
        let groups = load_groups(
            &[format!("{}/*.yml", dir.path().display())],
            &slos,
            &[],
            &[],
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(groups[0].name, "a");
        assert!(groups.len() > 2);
        assert!(groups.iter().any(|g| g.file == "<slo_files>"));

        std::fs::write(
            &rules,
            "groups:\n- name: a\n  rules:\n  - record: x\n    expr: sum(\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let e = load_groups(&[rules.display().to_string()], &[], &[], &[])
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            e.contains("a.yml: group \"a\": rule 1 (record \"x\"): field `expr`"),
            "{e}"
        );
    }

    #[test]
    fn slo_windows_files_set_the_alert_windows_of_their_period() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let slo =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/slo/checkout.yaml");
        let write = |name: &str, text: &str| {
            std::fs::write(dir.path().join(name), text).unwrap_or_else(|e| panic!("{e}"))
        };
        write(
            "slo.yaml",
            &std::fs::read_to_string(slo).unwrap_or_else(|e| panic!("{e}")),
        );
        write(
            "windows.yaml",
            "apiVersion: sloth.slok.dev/v1\nkind: AlertWindows\nspec:\n  sloPeriod: 30d\n  page:\n    quick: {errorBudgetPercent: 0.4, shortWindow: 1m, longWindow: 12m}\n    slow: {errorBudgetPercent: 5, shortWindow: 30m, longWindow: 6h}\n  ticket:\n    quick: {errorBudgetPercent: 10, shortWindow: 2h, longWindow: 1d}\n    slow: {errorBudgetPercent: 10, shortWindow: 6h, longWindow: 3d}\n",
        );
        let cfg_path = dir.path().join("homeostat.yaml");
        std::fs::write(
            &cfg_path,
            "slo_files: [slo.yaml]\nslo_windows: [windows.yaml]\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let cfg = crate::Config::load(&cfg_path).unwrap_or_else(|e| panic!("{e}"));
        let groups =
            load_groups(&[], &cfg.slos, &cfg.slo_windows, &[]).unwrap_or_else(|e| panic!("{e}"));
        let page = groups
            .iter()
            .flat_map(|g| &g.rules)
            .find(|r| r.labels.get("sloth_severity").map(String::as_str) == Some("page"))
            .unwrap_or_else(|| panic!("no page alert"));
        assert!(page.expr.contains("ratio_rate12m"), "{}", page.expr);
        assert!(page.expr.contains("ratio_rate1m{"), "{}", page.expr);

        write(
            "windows.yaml",
            "apiVersion: sloth.slok.dev/v1\nkind: Nope\n",
        );
        let e = crate::Config::load(&cfg_path)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            e.contains("slo_windows[0]") && e.contains("windows.yaml"),
            "{e}"
        );
    }
}
