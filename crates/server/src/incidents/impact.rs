//! Postmortem impact from the metrics store: which SLOs the incident
//! touched and how much of each one's error budget it burnt.

use std::sync::Arc;
use std::time::Duration;

use homeostat_http::Live;
use homeostat_incident::{Impact, IncidentService, SloImpact};
use homeostat_promql::Engine;
use homeostat_slo::{SloSpec, error_ratio_query};
use homeostat_state::{EventKind, Incident};
use homeostat_storage::Querier;

/// SLOs without a period of their own use 30 days, like the compiler.
const DEFAULT_PERIOD: Duration = Duration::from_secs(30 * 86_400);

/// Where impact numbers come from.
pub struct ImpactSource {
    pub engine: Engine,
    pub querier: Arc<dyn Querier>,
    pub slos: Arc<Live<Vec<SloSpec>>>,
    /// Deploys of the incident's service and of its declared dependencies
    /// in the hour before it and during it are its contributing changes.
    pub deploys: Arc<dyn homeostat_state::DeployStore>,
    /// `services[].depends_on`, swapped at a reload.
    pub dependencies: Arc<Live<homeostat_incident::DependencyGraph>>,
}

impl ImpactSource {
    /// The SLOs affected, each with the error budget consumed during
    /// [detected (or opened), resolved (or now)]: the error ratio over that
    /// window times its length, over the period's budget. An SLO is
    /// affected when its service is the incident's, or when one of the
    /// incident's alerts carries its `sloth_id`/`slo` label. Contributing
    /// changes: the deploys of the service and of its declared dependencies
    /// (transitively, each marked with the path) from an hour before the
    /// start to the end.
    pub fn impact(&self, i: &Incident, service: &IncidentService, now: i64) -> Impact {
        let start = i.detected_at.unwrap_or(i.created_at).min(i.created_at);
        let end = i.resolved_at.unwrap_or(now).max(start + 1000);
        let window = Duration::from_millis((end - start) as u64);
        let alert_slos = alert_slo_ids(i, service);
        let specs = self.slos.get();
        let mut slos = Vec::new();
        for spec in specs.iter() {
            let by_service = i.service.as_deref() == Some(spec.service.as_str())
                || i.labels.get("service") == Some(&spec.service);
            if !by_service && !alert_slos.contains(&spec.id) {
                continue;
            }
            let ratio = self
                .scalar(&error_ratio_query(spec, window), end)
                .unwrap_or(0.0);
            let objective = spec.objective / 100.0;
            let period = spec.period.unwrap_or(DEFAULT_PERIOD);
            let budget = (1.0 - objective) * period.as_secs_f64();
            let spent = ratio * window.as_secs_f64();
            slos.push(SloImpact {
                id: spec.id.clone(),
                objective,
                budget_consumed_ratio: if budget > 0.0 { spent / budget } else { 0.0 },
                error_minutes: spent / 60.0,
            });
        }
        let deploys = match i
            .service
            .as_deref()
            .or(i.labels.get("service").map(String::as_str))
        {
            None => Vec::new(),
            Some(svc) => {
                let mut paths =
                    homeostat_incident::dependency_paths(svc, &[], &self.dependencies.get());
                paths.insert(svc.to_string(), Vec::new());
                let mut out: Vec<homeostat_incident::DeployInfo> = paths
                    .into_iter()
                    .flat_map(|(dep, via)| {
                        self.deploys
                            .list_deploys(&homeostat_state::DeployFilter {
                                service: Some(dep),
                                since: Some(start - homeostat_incident::CORRELATION_WINDOW_MS),
                                until: Some(end),
                                limit: 50,
                            })
                            .unwrap_or_default()
                            .into_iter()
                            .map(move |d| homeostat_incident::DeployInfo {
                                service: d.service,
                                version: d.version,
                                at: d.started_at,
                                author: d.author.unwrap_or_default(),
                                via: via.clone(),
                            })
                    })
                    .collect();
                out.sort_by(|a, b| (a.at, &a.service).cmp(&(b.at, &b.service)));
                out
            }
        };
        Impact { slos, deploys }
    }

    fn scalar(&self, expr: &str, t: i64) -> Option<f64> {
        self.engine.instant_scalar(self.querier.as_ref(), expr, t)
    }
}

/// SLO ids named by the incident's alerts (`sloth_id`, or `slo`).
fn alert_slo_ids(i: &Incident, service: &IncidentService) -> Vec<String> {
    let mut ids: Vec<String> = ["sloth_id", "slo"]
        .iter()
        .filter_map(|k| i.labels.get(*k).cloned())
        .collect();
    for e in service.timeline(i.id).unwrap_or_default() {
        if e.kind != EventKind::AlertFiring {
            continue;
        }
        for k in ["sloth_id", "slo"] {
            if let Some(v) = e.data["labels"][k].as_str()
                && !ids.iter().any(|x| x == v)
            {
                ids.push(v.to_string());
            }
        }
    }
    ids
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::sync::Arc;

    use homeostat_model::{Labels, Sample, TimeSeries};
    use homeostat_state::{MemState, Severity};
    use homeostat_storage::{Appender, MemStorage};

    use super::*;

    const T: i64 = 1_800_000_000_000;

    #[test]
    fn budget_burnt_during_the_incident_window() {
        // 1000 requests a minute for two hours, 1% failing throughout.
        let store = Arc::new(MemStorage::new());
        let (mut ok, mut bad) = (Vec::new(), Vec::new());
        for m in 0..=120 {
            let t = T - (120 - m) * 60_000;
            ok.push(Sample::new(t, 990.0 * m as f64));
            bad.push(Sample::new(t, 10.0 * m as f64));
        }
        let series = |code: &str, samples| TimeSeries {
            labels: Labels::from_pairs(&[
                ("__name__", "http_requests_total"),
                ("job", "checkout"),
                ("code", code),
            ]),
            samples,
        };
        store
            .append(&[series("200", ok), series("500", bad)])
            .unwrap();
        let text = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/slo/checkout.yaml"),
        )
        .unwrap();
        let specs = homeostat_slo::load_specs(&text, "checkout.yaml").unwrap();
        let deploys = Arc::new(MemState::default());
        use homeostat_state::DeployStore;
        for (svc, v, at) in [
            ("checkout", "0.9", T - 3 * 3_600_000),
            ("checkout", "1.0", T - 40 * 60_000),
            ("payments-db", "16.4", T - 35 * 60_000),
            ("search", "7", T - 35 * 60_000),
        ] {
            deploys
                .record_deploy(&homeostat_state::Deploy {
                    id: 0,
                    service: svc.into(),
                    version: v.into(),
                    commit: None,
                    author: Some("bo".into()),
                    environment: "production".into(),
                    change_type: None,
                    started_at: at,
                    finished_at: None,
                    outcome: homeostat_state::DeployOutcome::Succeeded,
                    labels: Default::default(),
                    rollback: None,
                    rolls_back: None,
                })
                .unwrap();
        }
        let src = ImpactSource {
            engine: Engine::new(Default::default()),
            querier: store,
            slos: Arc::new(Live::new(specs)),
            deploys,
            dependencies: Arc::new(Live::new(
                [
                    ("checkout".to_string(), vec!["payments".to_string()]),
                    ("payments".to_string(), vec!["payments-db".to_string()]),
                ]
                .into_iter()
                .collect(),
            )),
        };
        let service = IncidentService::new(Arc::new(MemState::default()));
        let i = service
            .declare(
                "checkout errors",
                Severity::Sev2,
                Some("checkout"),
                "ana",
                T - 30 * 60_000,
            )
            .unwrap();
        let i = service.resolve(i.id, "ana", T).unwrap();
        let impact = src.impact(&i, &service, T);
        assert_eq!(impact.slos.len(), 1);
        // The deploy 10 minutes before the incident contributes, and the
        // one of a dependency two hops away, marked; the one 3h earlier and
        // the unrelated service's do not.
        let versions: Vec<&str> = impact.deploys.iter().map(|d| d.version.as_str()).collect();
        assert_eq!(versions, ["1.0", "16.4"]);
        assert_eq!(
            impact.deploys[1].via,
            ["checkout", "payments", "payments-db"]
        );
        assert!(impact.deploys[0].via.is_empty());
        let s = &impact.slos[0];
        assert_eq!(s.id, "checkout-availability");
        // 1% of 30 minutes = 0.3 error-minutes of a 43.2-minute budget.
        assert!((s.error_minutes - 0.3).abs() < 0.03, "{s:?}");
        assert!(
            (s.budget_consumed_ratio - 0.3 / 43.2).abs() < 0.001,
            "{s:?}"
        );
        // Another service's incident touches no SLO.
        let other = service
            .declare("search slow", Severity::Sev3, Some("search"), "ana", T)
            .unwrap();
        assert!(src.impact(&other, &service, T).slos.is_empty());
    }
}
