//! Remediation in the running server: the effects of a policy's actions
//! (webhooks on the one outbound path, allow-listed commands, traffic
//! changes through the audited desk), the re-evaluation of its trigger
//! against the rule engine's alerts, pages through the incident hub, and
//! the leader's ticker that advances runs.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use homeostat_app::{
    ApprovalRequest, EffectFuture, Leadership, RemediationEffects, RemediationService,
};
use homeostat_model::{Label, Labels};
use homeostat_notify::{Outbound, OutboundKind};
use homeostat_remediation::{Policy, RenderedAction, Run, principal};
use homeostat_rules::{AlertState, RulesView};
use homeostat_state::IncidentId;
use homeostat_traffic::{TrafficDesk, Weights};
use tokio::sync::watch;

use crate::chaos_monkey::{delivery_result, run_argv};
use crate::incidents::IncidentHub;

const ACTION_TIMEOUT: Duration = Duration::from_secs(30);
/// How often runs are advanced; a verification window ends within this.
const TICK: Duration = Duration::from_secs(5);

pub fn labels_of(m: &BTreeMap<String, String>) -> Option<Labels> {
    Labels::new(m.iter().map(|(k, v)| Label::new(k, v)).collect()).ok()
}

pub struct ServerRemediation {
    pub outbound: Outbound,
    pub traffic: TrafficDesk,
    pub rules: Arc<dyn RulesView>,
    pub hub: Arc<IncidentHub>,
}

impl RemediationEffects for ServerRemediation {
    fn act<'a>(
        &'a self,
        policy: &'a Policy,
        action: &'a RenderedAction,
    ) -> EffectFuture<'a, String> {
        Box::pin(async move {
            let actor = principal(&policy.name);
            match action {
                RenderedAction::Webhook { url, body } => {
                    let body = body.clone().unwrap_or_else(|| "{}".into());
                    let out = self
                        .outbound
                        .post_json(
                            OutboundKind::Remediation,
                            url,
                            body.into_bytes(),
                            ACTION_TIMEOUT,
                        )
                        .await;
                    delivery_result(out)
                }
                RenderedAction::Command { argv } => run_argv(argv, ACTION_TIMEOUT).await,
                RenderedAction::TrafficZones { route, zones } => {
                    let update = Weights {
                        zones: zones.clone(),
                        endpoints: BTreeMap::new(),
                    };
                    let (_, after) = self
                        .traffic
                        .set_weights(route, &update, &actor)
                        .await
                        .map_err(|e| e.to_string())?;
                    Ok(format!("route {route} zone weights now {:?}", after.zones))
                }
                RenderedAction::TrafficDrain { route, endpoint } => {
                    let update = Weights {
                        zones: BTreeMap::new(),
                        endpoints: BTreeMap::from([(endpoint.clone(), 0)]),
                    };
                    self.traffic
                        .set_weights(route, &update, &actor)
                        .await
                        .map_err(|e| e.to_string())?;
                    Ok(format!("route {route}: endpoint {endpoint} drained"))
                }
            }
        })
    }

    /// Still failing while an alert of the trigger on the run's target is
    /// firing in the rule engine (an SLO trigger is its burn alert).
    fn still_failing<'a>(&'a self, policy: &'a Policy, run: &'a Run) -> EffectFuture<'a, bool> {
        Box::pin(async move {
            Ok(self.rules.alerts().iter().any(|a| {
                a.state == AlertState::Firing
                    && labels_of(&a.labels)
                        .and_then(|l| policy.target_of(&l))
                        .is_some_and(|t| t.key == run.target)
            }))
        })
    }

    fn known_targets<'a>(
        &'a self,
        _policy: &'a Policy,
        _service: &'a str,
    ) -> EffectFuture<'a, Option<usize>> {
        Box::pin(async { Ok(None) })
    }

    fn page_oncall<'a>(
        &'a self,
        incident: Option<IncidentId>,
        service: &'a str,
        summary: &'a str,
    ) -> EffectFuture<'a, ()> {
        Box::pin(async move {
            match incident {
                // The service put the summary on the timeline already.
                Some(id) => self.hub.page_now(id, None),
                None => {
                    tracing::warn!(
                        service,
                        summary,
                        "remediation exhausted without an incident to page for"
                    );
                    Ok(())
                }
            }
        })
    }

    fn request_approval<'a>(&'a self, req: &'a ApprovalRequest) -> EffectFuture<'a, ()> {
        Box::pin(async move {
            let text = format!(
                "approval needed: policy {} wants to run {} on {} (POST /api/v1/remediation/runs/{}/approve or /reject)",
                req.policy, req.action, req.target, req.run
            );
            match req.incident {
                Some(id) => self.hub.page_now(id, Some(&text)),
                None => {
                    tracing::warn!(run = %req.run, "an approval request without an incident is not paged");
                    Ok(())
                }
            }
        })
    }
}

/// Advances runs every few seconds until `stop`; only the replica that may
/// act does.
pub async fn run(
    svc: Arc<RemediationService>,
    hub: Arc<IncidentHub>,
    leadership: Leadership,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        if leadership.acting().is_some() {
            match svc.tick().await {
                Ok(runs) => {
                    // Recovered means the trigger's alert no longer fires:
                    // when it cleared before the verification ended, its
                    // resolution came while the incident was still
                    // triggered, so the incident resolves here.
                    for r in runs.iter().filter(|r| r.state == "recovered") {
                        if let Some(id) = r.incident {
                            hub.resolve_auto_remediated(IncidentId(id));
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "advancing remediation runs failed"),
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(TICK) => {}
            _ = stop.changed() => return,
        }
    }
}
