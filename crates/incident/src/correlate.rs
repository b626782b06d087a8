//! Change correlation: which deploys may have caused an incident. The
//! candidates are deploys of the affected service and of the services it
//! declares as dependencies in the hour before detection; the closest to
//! the start of the burn ranks first, because a change that precedes the
//! burn by minutes is a better suspect than one an hour earlier.
//!
//! Dependencies are followed transitively: a service that `checkout`
//! depends on through `payments` is a dependency at depth 2, shown with
//! the path that reaches it.

use std::collections::{BTreeMap, VecDeque};

use serde::Serialize;

use homeostat_state::Deploy;

/// How far before detection a deploy is still a candidate.
pub const CORRELATION_WINDOW_MS: i64 = 3_600_000;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Suspect {
    pub deploy: Deploy,
    /// ms from the deploy's start to the burn's start (negative: the deploy
    /// started after the burn began, within the detection delay).
    pub lead_ms: i64,
    /// The deploy is of the affected service itself, not a dependency.
    pub same_service: bool,
    /// From the affected service to the deploy's: `[checkout, payments]`;
    /// empty for the service's own deploys.
    pub via: Vec<String>,
    pub rank: usize,
}

impl Suspect {
    /// 0 for the service itself, 1 for a direct dependency, and so on.
    pub fn depth(&self) -> usize {
        self.via.len().saturating_sub(1)
    }
}

/// Declared dependencies: each service's direct ones, by service name.
pub type DependencyGraph = BTreeMap<String, Vec<String>>;

/// Everything `service` depends on, each with the shortest path that
/// reaches it (`[service, …, dependency]`): `extra` as direct dependencies
/// beside the declared ones, then everything reachable from those in
/// `graph`. Cycles end where they close; the service is never its own
/// dependency.
pub fn dependency_paths(
    service: &str,
    extra: &[String],
    graph: &DependencyGraph,
) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut queue: VecDeque<Vec<String>> = graph
        .get(service)
        .into_iter()
        .flatten()
        .chain(extra)
        .map(|d| vec![service.to_string(), d.clone()])
        .collect();
    while let Some(path) = queue.pop_front() {
        let Some(last) = path.last().cloned() else {
            continue;
        };
        if last == service || out.contains_key(&last) {
            continue;
        }
        for next in graph.get(&last).into_iter().flatten() {
            let mut longer = path.clone();
            longer.push(next.clone());
            queue.push_back(longer);
        }
        out.insert(last, path);
    }
    out
}

/// Ranks `deploys` for an incident of `service` whose burn started at
/// `burn_started_at` and was detected at `detected_at`. Deploys started in
/// `[detected_at − 1 h, detected_at]` of the service or its `dependencies`
/// (paths from [`dependency_paths`]) are kept; sorted by |lead| (closest
/// first), and at equal distance the nearer service first (its own deploys,
/// then direct dependencies, …).
pub fn rank_suspects(
    service: &str,
    dependencies: &BTreeMap<String, Vec<String>>,
    burn_started_at: i64,
    detected_at: i64,
    deploys: &[Deploy],
) -> Vec<Suspect> {
    let from = detected_at - CORRELATION_WINDOW_MS;
    let mut out: Vec<Suspect> = deploys
        .iter()
        .filter(|d| d.started_at >= from && d.started_at <= detected_at)
        .filter(|d| d.service == service || dependencies.contains_key(&d.service))
        .map(|d| Suspect {
            deploy: d.clone(),
            lead_ms: burn_started_at - d.started_at,
            same_service: d.service == service,
            via: if d.service == service {
                Vec::new()
            } else {
                dependencies.get(&d.service).cloned().unwrap_or_default()
            },
            rank: 0,
        })
        .collect();
    // A deploy shortly before the burn is the prime suspect; one after the
    // burn started cannot have caused it and goes last.
    out.sort_by_key(|s| {
        (
            s.lead_ms < 0,
            s.lead_ms.unsigned_abs(),
            s.depth(),
            s.deploy.id,
        )
    });
    for (i, s) in out.iter_mut().enumerate() {
        s.rank = i + 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use homeostat_state::DeployOutcome;

    fn d(id: i64, service: &str, at: i64) -> Deploy {
        Deploy {
            id,
            service: service.into(),
            version: format!("v{id}"),
            commit: None,
            author: None,
            environment: "production".into(),
            change_type: None,
            started_at: at,
            finished_at: None,
            outcome: DeployOutcome::Succeeded,
            labels: Default::default(),
            rollback: None,
            rolls_back: None,
        }
    }

    #[test]
    fn closest_before_the_burn_ranks_first() {
        let min = 60_000;
        let burn = 100 * min;
        let detected = burn + 5 * min;
        let deploys = [
            d(1, "checkout", burn - 50 * min),
            d(2, "checkout", burn - 3 * min),
            d(3, "payments-db", burn - 3 * min),
            d(4, "search", burn - min),
            d(5, "checkout", detected - 2 * CORRELATION_WINDOW_MS),
            d(6, "checkout", burn + min),
        ];
        let deps = dependency_paths("checkout", &["payments-db".into()], &BTreeMap::new());
        let r = rank_suspects("checkout", &deps, burn, detected, &deploys);
        let ids: Vec<i64> = r.iter().map(|s| s.deploy.id).collect();
        assert_eq!(ids, vec![2, 3, 1, 6]);
        assert_eq!(r[0].rank, 1);
        assert_eq!(r[0].lead_ms, 3 * min);
        assert!(!r[1].same_service);
    }

    fn graph(edges: &[(&str, &[&str])]) -> DependencyGraph {
        edges
            .iter()
            .map(|(s, ds)| (s.to_string(), ds.iter().map(|d| d.to_string()).collect()))
            .collect()
    }

    #[test]
    fn dependencies_are_followed_transitively_by_the_shortest_path() {
        // checkout → payments → payments-db → checkout is a cycle;
        // payments-db is also reached through search, as far: the first
        // path declared wins.
        let g = graph(&[
            ("checkout", &["payments", "search"]),
            ("payments", &["payments-db"]),
            ("search", &["payments-db", "index"]),
            ("payments-db", &["checkout"]),
        ]);
        let p = dependency_paths("checkout", &[], &g);
        assert_eq!(
            p.keys().map(String::as_str).collect::<Vec<_>>(),
            ["index", "payments", "payments-db", "search"],
            "the service is not its own dependency, even through a cycle"
        );
        assert_eq!(p["payments-db"], ["checkout", "payments", "payments-db"]);
        assert_eq!(p["index"], ["checkout", "search", "index"]);
        // A dependency named in the request is direct; what it depends on
        // follows.
        let p = dependency_paths("payments", &["search".into()], &g);
        assert_eq!(p["search"], ["payments", "search"]);
        assert_eq!(p["index"], ["payments", "search", "index"]);
        assert_eq!(p["checkout"], ["payments", "payments-db", "checkout"]);
        // Unknown services simply have no dependencies.
        assert!(dependency_paths("nobody", &[], &g).is_empty());
    }

    #[test]
    fn transitive_suspects_rank_by_lead_then_depth() {
        let min = 60_000;
        let burn = 100 * min;
        let detected = burn + 2 * min;
        let g = graph(&[("checkout", &["payments"]), ("payments", &["payments-db"])]);
        let deploys = [
            d(1, "payments-db", burn - 4 * min),
            d(2, "payments", burn - 4 * min),
            d(3, "checkout", burn - 4 * min),
            d(4, "payments-db", burn - 2 * min),
            d(5, "ledger", burn - min),
        ];
        let deps = dependency_paths("checkout", &[], &g);
        let r = rank_suspects("checkout", &deps, burn, detected, &deploys);
        let got: Vec<(i64, usize)> = r.iter().map(|s| (s.deploy.id, s.depth())).collect();
        // The closest deploy first even two hops away; at equal distance
        // the service's own, then the direct dependency's, then deeper.
        assert_eq!(got, [(4, 2), (3, 0), (2, 1), (1, 2)]);
        assert_eq!(r[0].via, ["checkout", "payments", "payments-db"]);
        assert!(r[1].via.is_empty() && r[1].same_service);
        assert_eq!(r[2].via, ["checkout", "payments"]);
    }
}
