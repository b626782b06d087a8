//! Canary analysis runs at run time: restored from the state store at
//! start, judged when due (catching up at their scheduled times after a
//! restart), and the rollback a failed run owes, tried until settled.

use std::sync::Arc;

use homeostat_canary::{AnalysisRegistry, Phase, judge_now};
use homeostat_state::{DeployFilter, State};

use super::{Guardrails, rollback};

/// Most judgments one run takes in one tick while it catches up after a
/// restart, so a long-interrupted run does not hold the ticker.
const CATCH_UP_PER_TICK: usize = 60;

/// The server's analysis runs, read back from the state store: finished
/// ones as they were, running ones resumed (or ended with the reason when
/// they cannot continue). Never silently drops a run: what cannot be read
/// is logged and left in the store.
pub async fn restore_analysis(
    state: &State,
    now: i64,
) -> Result<AnalysisRegistry, crate::ServerError> {
    let store = state.analyses.clone();
    let (registry, report) =
        tokio::task::spawn_blocking(move || AnalysisRegistry::restore(store, now))
            .await
            .map_err(|e| crate::ServerError::Task(format!("restoring analysis runs: {e}")))??;
    for (id, owed) in &report.resumed {
        tracing::info!(run = %id, owed, "analysis run resumed after restart");
    }
    for (id, why) in &report.interrupted {
        tracing::warn!(run = %id, reason = %why, "analysis run ended: it cannot resume");
    }
    for (id, why) in &report.unreadable {
        tracing::error!(run = %id, reason = %why, "stored analysis run cannot be read; left in the state database");
    }
    if report.finished + report.resumed.len() + report.interrupted.len() > 0 {
        tracing::info!(
            finished = report.finished,
            resumed = report.resumed.len(),
            interrupted = report.interrupted.len(),
            "analysis runs restored"
        );
    }
    Ok(registry)
}

/// Reads the runs from the state database again (a replica that starts
/// leading: the old leader's runs go on here at their scheduled times).
pub(super) async fn reload(g: &Arc<Guardrails>) {
    let registry = g.analysis.clone();
    let now = g.clock.now_millis();
    match tokio::task::spawn_blocking(move || registry.reload(now)).await {
        Ok(Ok(report)) => {
            for (id, owed) in &report.resumed {
                tracing::info!(run = %id, owed, "analysis run taken over from the previous leader");
            }
        }
        Ok(Err(e)) => tracing::error!(error = %e, "reading analysis runs failed"),
        Err(e) => tracing::error!(error = %e, "analysis reload task failed"),
    }
}

/// A follower's registry follows the stored runs (nothing written).
pub(super) async fn mirror(g: &Arc<Guardrails>) {
    let registry = g.analysis.clone();
    if let Ok(Err(e)) = tokio::task::spawn_blocking(move || registry.mirror()).await {
        tracing::warn!(error = %e, "reading analysis runs failed");
    }
}

/// The leader takes up runs started through another replica.
pub(super) async fn adopt(g: &Arc<Guardrails>) {
    let registry = g.analysis.clone();
    match tokio::task::spawn_blocking(move || registry.adopt()).await {
        Ok(Ok(ids)) => {
            for id in ids {
                tracing::info!(run = %id, "analysis run started through another replica taken up");
            }
        }
        Ok(Err(e)) => tracing::warn!(error = %e, "reading analysis runs failed"),
        Err(e) => tracing::error!(error = %e, "analysis adopt task failed"),
    }
}

/// Takes every judgment due at `now`, each as of its due time. A run that
/// is owed several (it resumed after a restart) takes them in order, up to
/// [`CATCH_UP_PER_TICK`] per tick.
pub(super) async fn judge_due(g: &Arc<Guardrails>, now: i64) {
    for _ in 0..CATCH_UP_PER_TICK {
        let due = g.analysis.due(now);
        if due.is_empty() {
            return;
        }
        for (id, at, prepared) in due {
            let (engine, querier, registry) =
                (g.engine.clone(), g.querier.clone(), g.analysis.clone());
            let recorded = tokio::task::spawn_blocking(move || {
                let j = judge_now(&engine, querier.as_ref(), &prepared, at);
                tracing::info!(run = %id, verdict = ?j.verdict, score = j.score, at, "canary judgment");
                registry.record(&id, at, j)
            })
            .await;
            let recorded = match recorded {
                Ok(Some(r)) => r,
                Ok(None) => continue,
                Err(e) => {
                    tracing::error!(error = %e, "canary judgment task failed");
                    return;
                }
            };
            if let Some(e) = &recorded.persist_error {
                tracing::error!(run = %recorded.entry.run.id, error = %e, "writing the analysis run to the state database failed; retried with its next change");
            }
            let e = recorded.entry;
            if recorded.ended
                && e.run.phase == Phase::Failed
                && let Some(deploy_id) = e.target.deploy_id
            {
                let reason = format!("analysis {} failed: {}", e.run.id, e.run.message);
                let g = g.clone();
                tokio::spawn(async move { settle(&g, &e.run.id, deploy_id, reason).await });
            }
        }
    }
}

/// Rolls back a failed run's deploy and, once that is settled, clears the
/// run's pending mark so no restart tries it again.
async fn settle(g: &Arc<Guardrails>, run: &str, deploy_id: i64, reason: String) {
    if !rollback(g, deploy_id, reason).await {
        return;
    }
    let (registry, run) = (g.analysis.clone(), run.to_string());
    let res = tokio::task::spawn_blocking(move || registry.rollback_settled(&run)).await;
    if let Ok(Err(e)) | Err(e) = res
        .map_err(|e| e.to_string())
        .map(|r| r.map_err(|e| e.to_string()))
    {
        tracing::error!(deploy_id, error = %e, "marking the analysis run's rollback settled failed");
    }
}

/// The rollbacks failed runs owed when the server stopped (it stopped
/// between the verdict and the claim). `claim_rollback` still makes each
/// one at most once; a deploy that a newer deploy of its service has
/// replaced since is not rolled back any more.
pub(super) async fn resume_rollbacks(g: &Arc<Guardrails>) {
    for e in g.analysis.pending_rollbacks() {
        let Some(deploy_id) = e.target.deploy_id else {
            continue;
        };
        let state = g.state.clone();
        let superseded = tokio::task::spawn_blocking(move || {
            let d = state.deploys.get_deploy(deploy_id).ok().flatten()?;
            let newer = state
                .deploys
                .list_deploys(&DeployFilter {
                    service: Some(d.service.clone()),
                    since: Some(d.started_at),
                    ..Default::default()
                })
                .ok()?;
            Some(newer.iter().any(|n| n.id > deploy_id))
        })
        .await
        .ok()
        .flatten()
        .unwrap_or(false);
        let g = g.clone();
        if superseded {
            tracing::warn!(run = %e.run.id, deploy_id, "a failed run's rollback was pending at restart, but a newer deploy of the service replaced the deploy; not rolling back");
            let registry = g.analysis.clone();
            let id = e.run.id.clone();
            if let Ok(Err(err)) =
                tokio::task::spawn_blocking(move || registry.rollback_settled(&id)).await
            {
                tracing::error!(run = %e.run.id, error = %err, "marking the analysis run's rollback settled failed");
            }
            continue;
        }
        tracing::info!(run = %e.run.id, deploy_id, "trying the rollback a failed run owed before the restart");
        let reason = format!(
            "analysis {} failed: {} (rollback resumed after a restart)",
            e.run.id, e.run.message
        );
        tokio::spawn(async move { settle(&g, &e.run.id, deploy_id, reason).await });
    }
}
