//! Chaos as a suspect: an incident that opens while an experiment runs on
//! its service (or a dependency), or shortly after one ended or a Chaos
//! Monkey termination, names it — "chaos experiment latency-checkout
//! started 3 min before". Injected failure is the first thing to rule out.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::CORRELATION_WINDOW_MS;

/// What kind of chaos.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChaosKind {
    Experiment,
    Termination,
}

/// A chaos experiment run or a termination, as correlation sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChaosChange {
    pub kind: ChaosKind,
    /// The experiment run's id, or the termination's.
    pub id: String,
    /// The experiment's title, or `group/target` of a termination.
    pub title: String,
    pub service: String,
    pub started_at: i64,
    /// `None` while an experiment still runs; a termination is instant.
    pub finished_at: Option<i64>,
    /// The run's status or the termination's outcome.
    pub status: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChaosSuspect {
    pub change: ChaosChange,
    /// ms from the change's start to the burn's start.
    pub lead_ms: i64,
    /// Whether it was still running when the burn started.
    pub running_at_burn: bool,
    pub same_service: bool,
    pub via: Vec<String>,
    /// "chaos experiment latency-checkout started 3 min before the burn".
    pub summary: String,
}

fn ago(ms: i64) -> String {
    let s = ms.unsigned_abs() / 1000;
    if s == 0 {
        return "as the burn began".to_string();
    }
    let text = if s < 90 {
        format!("{s} s")
    } else if s < 5400 {
        format!("{} min", (s + 30) / 60)
    } else {
        format!("{} h", (s + 1800) / 3600)
    };
    if ms >= 0 {
        format!("{text} before the burn")
    } else {
        format!("{text} after the burn began")
    }
}

/// The chaos that may explain an incident of `service`: changes on it or
/// on its dependencies that were running when the burn began, or started
/// or ended in the hour before detection. Running ones first, then the
/// closest to the burn.
pub fn rank_chaos_suspects(
    service: &str,
    dependencies: &BTreeMap<String, Vec<String>>,
    burn_started_at: i64,
    detected_at: i64,
    changes: &[ChaosChange],
) -> Vec<ChaosSuspect> {
    let from = detected_at - CORRELATION_WINDOW_MS;
    let mut out: Vec<ChaosSuspect> = changes
        .iter()
        .filter(|c| c.service == service || dependencies.contains_key(&c.service))
        .filter(|c| {
            c.started_at <= detected_at
                && c.finished_at.unwrap_or(detected_at).max(c.started_at) >= from
        })
        .map(|c| {
            let lead_ms = burn_started_at - c.started_at;
            let running = c.started_at <= burn_started_at
                && c.finished_at.is_none_or(|f| f >= burn_started_at);
            let what = match c.kind {
                ChaosKind::Experiment => "chaos experiment",
                ChaosKind::Termination => "chaos monkey terminated",
            };
            let mut summary = format!("{what} {} started {}", c.title, ago(lead_ms));
            if c.kind == ChaosKind::Termination {
                summary = format!("{what} {} {}", c.title, ago(lead_ms));
            } else if running {
                summary.push_str(" and was still running");
            }
            ChaosSuspect {
                change: c.clone(),
                lead_ms,
                running_at_burn: running,
                same_service: c.service == service,
                via: if c.service == service {
                    Vec::new()
                } else {
                    dependencies.get(&c.service).cloned().unwrap_or_default()
                },
                summary,
            }
        })
        .collect();
    out.sort_by_key(|s| {
        (
            !s.running_at_burn,
            s.lead_ms < 0,
            s.lead_ms.unsigned_abs(),
            s.via.len(),
            s.change.id.clone(),
        )
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;

    fn exp(id: i64, service: &str, start: i64, end: Option<i64>) -> ChaosChange {
        ChaosChange {
            kind: ChaosKind::Experiment,
            id: id.to_string(),
            title: format!("latency-{service}"),
            service: service.into(),
            started_at: start,
            finished_at: end,
            status: "running".into(),
        }
    }

    #[test]
    fn an_experiment_running_at_the_burn_is_the_first_suspect() {
        let burn = 100 * MIN;
        let deps = BTreeMap::from([(
            "payments".to_string(),
            vec!["checkout".to_string(), "payments".to_string()],
        )]);
        let changes = [
            exp(1, "checkout", burn - 50 * MIN, Some(burn - 40 * MIN)),
            exp(2, "checkout", burn - 3 * MIN, None),
            exp(3, "search", burn - 2 * MIN, None),
            exp(4, "payments", burn - MIN, Some(burn + MIN)),
            exp(5, "checkout", burn - 200 * MIN, Some(burn - 190 * MIN)),
        ];
        let s = rank_chaos_suspects("checkout", &deps, burn, burn + 2 * MIN, &changes);
        let ids: Vec<&str> = s.iter().map(|x| x.change.id.as_str()).collect();
        // Unrelated services and changes long over are left out.
        assert_eq!(ids, vec!["4", "2", "1"]);
        assert_eq!(
            s[1].summary,
            "chaos experiment latency-checkout started 3 min before the burn and was still running"
        );
        assert_eq!(s[0].via, vec!["checkout", "payments"]);
        assert!(!s[2].running_at_burn);
    }

    #[test]
    fn a_termination_shortly_before_is_a_suspect() {
        let t = ChaosChange {
            kind: ChaosKind::Termination,
            id: "9".into(),
            title: "pods/pod-3".into(),
            service: "checkout".into(),
            started_at: 10 * MIN,
            finished_at: Some(10 * MIN),
            status: "terminated".into(),
        };
        let s = rank_chaos_suspects("checkout", &BTreeMap::new(), 15 * MIN, 16 * MIN, &[t]);
        assert_eq!(s.len(), 1);
        assert_eq!(
            s[0].summary,
            "chaos monkey terminated pods/pod-3 5 min before the burn"
        );
    }
}
