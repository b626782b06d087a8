//! Change correlation: which deploys may have caused an incident. The
//! candidates are deploys of the affected service and of the services it
//! declares as dependencies in the hour before detection; the closest to
//! the start of the burn ranks first, because a change that precedes the
//! burn by minutes is a better suspect than one an hour earlier.

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
    pub rank: usize,
}

/// Ranks `deploys` for an incident of `service` whose burn started at
/// `burn_started_at` and was detected at `detected_at`. Deploys started in
/// `[detected_at − 1 h, detected_at]` of the service or its
/// `dependencies` are kept; sorted by |lead| (closest first), the service's
/// own deploys before a dependency's at equal distance.
pub fn rank_suspects(
    service: &str,
    dependencies: &[String],
    burn_started_at: i64,
    detected_at: i64,
    deploys: &[Deploy],
) -> Vec<Suspect> {
    let from = detected_at - CORRELATION_WINDOW_MS;
    let mut out: Vec<Suspect> = deploys
        .iter()
        .filter(|d| d.started_at >= from && d.started_at <= detected_at)
        .filter(|d| d.service == service || dependencies.contains(&d.service))
        .map(|d| Suspect {
            deploy: d.clone(),
            lead_ms: burn_started_at - d.started_at,
            same_service: d.service == service,
            rank: 0,
        })
        .collect();
    // A deploy shortly before the burn is the prime suspect; one after the
    // burn started cannot have caused it and goes last.
    out.sort_by_key(|s| {
        (
            s.lead_ms < 0,
            s.lead_ms.unsigned_abs(),
            !s.same_service,
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
        let r = rank_suspects(
            "checkout",
            &["payments-db".into()],
            burn,
            detected,
            &deploys,
        );
        let ids: Vec<i64> = r.iter().map(|s| s.deploy.id).collect();
        assert_eq!(ids, vec![2, 3, 1, 6]);
        assert_eq!(r[0].rank, 1);
        assert_eq!(r[0].lead_ms, 3 * min);
        assert!(!r[1].same_service);
    }
}
