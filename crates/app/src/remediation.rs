//! Remediation: policies that act on firing alerts and verify the fix.
//!
//! [`RemediationService::on_alerts`] starts a run for every firing alert
//! that matches a policy (`homeostat_remediation`), if the guardrails admit
//! it; [`RemediationService::tick`] moves the runs on (verification
//! windows, approval timeouts); [`RemediationService::approve`] and
//! [`RemediationService::reject`] answer approval requests. The engine
//! decides; this service performs its effects through
//! [`RemediationEffects`] (the server's one delivery path, the allow-listed
//! command runner, the traffic proxy, the pager), stores each run as it
//! moves, and writes every step to the incident timeline and the audit log
//! as `homeostat (policy NAME)`.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

use homeostat_incident::{ExternalKind, IncidentService};
use homeostat_model::{Clock, ErrorKind, Labels};
use homeostat_remediation::{
    Answer, Effect, Observation, PastRun, Policy, Remediation, RenderedAction, Run, RunState,
    Share, StartInput, Step, advance, principal, start,
};
use homeostat_state::{
    AuditEntry, IncidentId, RemediationFilter, RemediationRun, State, StateError,
};
use parking_lot::Mutex;
use serde_json::json;

use crate::{EffectFuture, GateService, Live};

/// An approval request, paged like any page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalRequest {
    pub run: String,
    pub policy: String,
    pub action: String,
    pub target: String,
    pub incident: Option<IncidentId>,
    /// When the request lapses and the action is skipped.
    pub until_ms: i64,
}

/// The side effects remediation needs from the server.
pub trait RemediationEffects: Send + Sync {
    /// Runs one rendered action; `Ok` carries a short detail (HTTP status,
    /// exit status) for the timeline.
    fn act<'a>(
        &'a self,
        policy: &'a Policy,
        action: &'a RenderedAction,
    ) -> EffectFuture<'a, String>;
    /// Whether the trigger still fails: the alert still firing, the burn
    /// rate still above the tier.
    fn still_failing<'a>(&'a self, policy: &'a Policy, run: &'a Run) -> EffectFuture<'a, bool>;
    /// How many targets the service has, for the blast radius; `None`
    /// when unknown (then the firing targets are all that is known).
    fn known_targets<'a>(
        &'a self,
        policy: &'a Policy,
        service: &'a str,
    ) -> EffectFuture<'a, Option<usize>>;
    /// Pages the on-call person: the policy's actions ran out.
    fn page_oncall<'a>(
        &'a self,
        incident: Option<IncidentId>,
        service: &'a str,
        summary: &'a str,
    ) -> EffectFuture<'a, ()>;
    /// Pages an approval request.
    fn request_approval<'a>(&'a self, req: &'a ApprovalRequest) -> EffectFuture<'a, ()>;
}

#[derive(Debug, thiserror::Error)]
pub enum RemediationError {
    #[error(transparent)]
    State(#[from] StateError),
    #[error("remediation run {0} not found")]
    NotFound(String),
    #[error("remediation run {id} is {state}, not waiting for approval")]
    NotPending { id: String, state: String },
    #[error("policy {0} is no longer configured")]
    NoPolicy(String),
    #[error("stored remediation run {id} does not decode: {why}")]
    Corrupt { id: String, why: String },
    #[error("background task failed: {0}")]
    Task(String),
}

impl RemediationError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            RemediationError::NotFound(_) => ErrorKind::NotFound,
            RemediationError::NotPending { .. } => ErrorKind::Conflict,
            _ => ErrorKind::Internal,
        }
    }
}

pub struct RemediationService {
    config: Arc<Live<Remediation>>,
    state: State,
    incidents: IncidentService,
    gate: Option<Arc<GateService>>,
    effects: Arc<dyn RemediationEffects>,
    clock: Arc<dyn Clock>,
    /// One transition at a time, so that an action is never run twice by
    /// a tick and an approval racing each other.
    serial: tokio::sync::Mutex<()>,
    answers: Mutex<BTreeMap<String, Answer>>,
}

impl RemediationService {
    pub fn new(
        config: Arc<Live<Remediation>>,
        state: State,
        gate: Option<Arc<GateService>>,
        effects: Arc<dyn RemediationEffects>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            config,
            incidents: IncidentService::new(state.incidents.clone()),
            state,
            gate,
            effects,
            clock,
            serial: tokio::sync::Mutex::new(()),
            answers: Mutex::default(),
        }
    }

    pub fn policies(&self) -> Arc<Remediation> {
        self.config.get()
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(State) -> Result<T, StateError> + Send + 'static,
    ) -> Result<T, RemediationError> {
        let state = self.state.clone();
        tokio::task::spawn_blocking(move || f(state))
            .await
            .map_err(|e| RemediationError::Task(e.to_string()))?
            .map_err(RemediationError::from)
    }

    async fn frozen(&self, service: &str) -> Option<String> {
        match &self.gate {
            Some(gate) => gate.freeze(service, "remediation").await,
            None => None,
        }
    }

    /// Starts a run for each firing alert (its labels) that matches a
    /// policy, on `incident`'s timeline. An alert whose target already has
    /// a run going, or was already denied for this incident, starts
    /// nothing. Returns the runs started (denied ones included).
    pub async fn on_alerts(
        &self,
        alerts: &[Labels],
        incident: Option<IncidentId>,
    ) -> Result<Vec<RemediationRun>, RemediationError> {
        let _serial = self.serial.lock().await;
        let config = self.config.get();
        let mut started = Vec::new();
        for policy in &config.policies {
            let targets: BTreeMap<_, _> = alerts
                .iter()
                .filter_map(|l| policy.target_of(l).map(|t| (t, l)))
                .collect();
            for (target, labels) in &targets {
                let now = self.clock.now_millis();
                let history = self.history(&policy.name, &target.key).await?;
                if skip(&history, incident) {
                    continue;
                }
                let past: Vec<PastRun> = history.iter().filter_map(stored_past).collect();
                let firing = targets
                    .keys()
                    .filter(|t| t.service == target.service)
                    .count();
                let share = self.share(policy, &target.service, firing).await?;
                let inc = incident.map(|i| i.to_string()).unwrap_or_default();
                let (run, fx) = start(
                    policy,
                    StartInput {
                        target,
                        vars: policy.vars(labels, &target.key, &inc),
                        incident: incident.map(|i| i.to_string()),
                        now,
                        dry_run: config.dry_run,
                        history: &past,
                        share,
                        frozen: self.frozen(&target.service).await,
                    },
                );
                let id = uuid::Uuid::new_v4().to_string();
                let stored = to_stored(&id, incident, &run)?;
                let insert = stored.clone();
                self.blocking(move |s| s.remediation.insert_remediation(&insert))
                    .await?;
                started.push(self.perform(policy, stored, run, fx).await?);
            }
        }
        Ok(started)
    }

    /// Earlier runs of a policy on a target, newest first.
    async fn history(
        &self,
        policy: &str,
        target: &str,
    ) -> Result<Vec<RemediationRun>, RemediationError> {
        let f = RemediationFilter {
            policy: Some(policy.to_string()),
            target: Some(target.to_string()),
            limit: 1_000,
            ..RemediationFilter::default()
        };
        self.blocking(move |s| s.remediation.list_remediations(&f))
            .await
    }

    /// The service's targets under action by this policy, and how many it has.
    async fn share(
        &self,
        policy: &Policy,
        service: &str,
        firing: usize,
    ) -> Result<Share, RemediationError> {
        let active = self
            .blocking(|s| s.remediation.active_remediations())
            .await?;
        let acting: BTreeSet<&str> = active
            .iter()
            .filter(|r| r.policy == policy.name && r.service == service)
            .map(|r| r.target.as_str())
            .collect();
        let known = match self.effects.known_targets(policy, service).await {
            Ok(Some(n)) => n,
            Ok(None) => 0,
            Err(e) => {
                tracing::warn!(policy = %policy.name, %service, error = %e, "remediation: known targets unavailable");
                0
            }
        };
        Ok(Share {
            acting: acting.len(),
            known: known.max(firing + acting.len()),
        })
    }

    /// Moves every run on: verification windows that ended, approvals
    /// answered or lapsed. Call it every few seconds.
    pub async fn tick(&self) -> Result<Vec<RemediationRun>, RemediationError> {
        let _serial = self.serial.lock().await;
        let active = self
            .blocking(|s| s.remediation.active_remediations())
            .await?;
        let mut out = Vec::new();
        for stored in active {
            match self.step(stored).await {
                Ok(Some(r)) => out.push(r),
                Ok(None) => {}
                Err(e) => tracing::error!(error = %e, "remediation: tick failed"),
            }
        }
        Ok(out)
    }

    /// One transition of one stored run, when something is due.
    async fn step(
        &self,
        stored: RemediationRun,
    ) -> Result<Option<RemediationRun>, RemediationError> {
        let config = self.config.get();
        let policy = config
            .policy(&stored.policy)
            .ok_or_else(|| RemediationError::NoPolicy(stored.policy.clone()))?;
        let run: Run = decode(&stored)?;
        let now = self.clock.now_millis();
        let mut obs = Observation::default();
        match run.state {
            // Only a restart mid-action leaves a stored run acting.
            RunState::Acting { .. } => {
                obs.acted = Some(Err("interrupted: homeostat restarted mid-action".into()));
            }
            RunState::Verifying { until_ms, .. } if now >= until_ms => {
                obs.failing = Some(match self.effects.still_failing(policy, &run).await {
                    Ok(f) => f,
                    Err(e) => {
                        // Unknown counts as failing: a broken query must not
                        // report a fix that may not have happened.
                        tracing::warn!(policy = %policy.name, error = %e, "remediation: re-evaluation failed");
                        true
                    }
                });
            }
            RunState::PendingApproval { until_ms, .. } => {
                obs.answer = self.answers.lock().remove(&stored.id);
                if obs.answer.is_none() && now < until_ms {
                    return Ok(None);
                }
            }
            _ => return Ok(None),
        }
        obs.frozen = self.frozen(&run.service).await;
        let (next, fx) = advance(&run, policy, now, &obs);
        if next == run {
            return Ok(None);
        }
        self.perform(policy, stored, next, fx).await.map(Some)
    }

    /// Approves the action a run waits on, and runs it now.
    pub async fn approve(&self, id: &str, by: &str) -> Result<RemediationRun, RemediationError> {
        self.answer(id, Answer::Approved { by: by.to_string() })
            .await
    }

    /// Rejects the action a run waits on; the run goes on with the next.
    pub async fn reject(&self, id: &str, by: &str) -> Result<RemediationRun, RemediationError> {
        self.answer(id, Answer::Rejected { by: by.to_string() })
            .await
    }

    async fn answer(&self, id: &str, answer: Answer) -> Result<RemediationRun, RemediationError> {
        let _serial = self.serial.lock().await;
        let stored = self.get(id).await?;
        if !matches!(decode(&stored)?.state, RunState::PendingApproval { .. }) {
            return Err(RemediationError::NotPending {
                id: id.to_string(),
                state: stored.state,
            });
        }
        self.answers.lock().insert(id.to_string(), answer);
        let updated = self.step(stored.clone()).await?;
        Ok(updated.unwrap_or(stored))
    }

    /// Whether a run on `incident` is still going on: while it is, the
    /// incident's page waits (the run pages the person if it gives up).
    pub async fn in_progress(&self, incident: IncidentId) -> Result<bool, RemediationError> {
        let active = self
            .blocking(|s| s.remediation.active_remediations())
            .await?;
        Ok(active.iter().any(|r| r.incident == Some(incident.0)))
    }

    pub async fn get(&self, id: &str) -> Result<RemediationRun, RemediationError> {
        let key = id.to_string();
        self.blocking(move |s| s.remediation.get_remediation(&key))
            .await?
            .ok_or_else(|| RemediationError::NotFound(id.to_string()))
    }

    pub async fn runs(
        &self,
        filter: RemediationFilter,
    ) -> Result<Vec<RemediationRun>, RemediationError> {
        self.blocking(move |s| s.remediation.list_remediations(&filter))
            .await
    }

    /// Performs a transition's effects (an action's result feeds the next
    /// transition at once) and stores the run as it ends up.
    async fn perform(
        &self,
        policy: &Policy,
        stored: RemediationRun,
        mut run: Run,
        fx: Vec<Effect>,
    ) -> Result<RemediationRun, RemediationError> {
        let id = stored.id.clone();
        let incident = stored.incident.map(IncidentId);
        let who = principal(&policy.name);
        let mut queue: VecDeque<Effect> = fx.into();
        while let Some(effect) = queue.pop_front() {
            let now = self.clock.now_millis();
            match effect {
                Effect::Record(step) => self.record(&id, &who, incident, &step).await?,
                Effect::Act { action, .. } => {
                    let result = self.effects.act(policy, &action).await;
                    let detail = match &result {
                        Ok(d) => format!("{}: {d}", action.summary()),
                        Err(e) => format!("{} failed: {e}", action.summary()),
                    };
                    let obs = Observation {
                        acted: Some(result.map(|_| detail.clone()).map_err(|_| detail)),
                        frozen: self.frozen(&run.service).await,
                        ..Observation::default()
                    };
                    let (next, more) = advance(&run, policy, now, &obs);
                    run = next;
                    queue.extend(more);
                }
                Effect::RequestApproval {
                    action, until_ms, ..
                } => {
                    let req = ApprovalRequest {
                        run: id.clone(),
                        policy: policy.name.clone(),
                        action,
                        target: run.target.clone(),
                        incident,
                        until_ms,
                    };
                    if let Err(e) = self.effects.request_approval(&req).await {
                        tracing::error!(run = %id, error = %e, "remediation: approval request not paged");
                    }
                }
                Effect::Mitigate { note } => self.mitigate(incident, &who, &note, now).await,
                Effect::PageOncall { summary } => {
                    if let Err(e) = self
                        .effects
                        .page_oncall(incident, &run.service, &summary)
                        .await
                    {
                        tracing::error!(run = %id, error = %e, "remediation: on-call page failed");
                    }
                }
            }
        }
        let updated = to_stored(&id, incident, &run)?;
        let write = updated.clone();
        self.blocking(move |s| s.remediation.update_remediation(&write))
            .await?;
        Ok(updated)
    }

    /// One step on the incident timeline and in the audit log.
    async fn record(
        &self,
        id: &str,
        who: &str,
        incident: Option<IncidentId>,
        step: &Step,
    ) -> Result<(), RemediationError> {
        let summary = match step.action.as_str() {
            "" => format!("{who}: {}", step.detail),
            action => format!("{who}: {action}: {}", step.detail),
        };
        let data = json!({
            "run": id,
            "principal": who,
            "action": step.action,
            "outcome": step.outcome,
            "detail": step.detail,
        });
        let (who, object, at) = (who.to_string(), format!("remediation-run/{id}"), step.at_ms);
        let outcome = serde_json::to_value(step.outcome)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        let incidents = self.incidents.clone();
        self.blocking(move |s| {
            if let Some(i) = incident
                && let Err(e) = incidents.record_external(
                    i,
                    ExternalKind::Remediation,
                    &summary,
                    data.clone(),
                    at,
                )
            {
                tracing::warn!(incident = %i, error = %e, "remediation: timeline write failed");
            }
            s.audit
                .append(&AuditEntry {
                    seq: 0,
                    at,
                    actor: who,
                    action: format!("remediation.{outcome}"),
                    object,
                    detail: data,
                })
                .map(|_| ())
        })
        .await
    }

    /// Marks the incident mitigated as auto-remediated; it resolves when
    /// the alert clears, as usual.
    async fn mitigate(&self, incident: Option<IncidentId>, who: &str, note: &str, now: i64) {
        let Some(i) = incident else { return };
        let incidents = self.incidents.clone();
        let (who, note) = (who.to_string(), note.to_string());
        let done = self
            .blocking(move |_| {
                if let Err(e) = incidents.post_update(i, &note, &who, now) {
                    tracing::warn!(incident = %i, error = %e, "remediation: update not posted");
                }
                // An incident already mitigated or resolved stays as it is.
                if let Err(e) = incidents.mitigate(i, &who, now) {
                    tracing::info!(incident = %i, error = %e, "remediation: incident not mitigated");
                }
                Ok(())
            })
            .await;
        if let Err(e) = done {
            tracing::error!(incident = %i, error = %e, "remediation: mitigation failed");
        }
    }
}

/// Whether an alert should start nothing: a run on the target is going on,
/// or the last one was denied for the same incident (so a denial is
/// written once, not at every evaluation while the alert fires).
fn skip(history: &[RemediationRun], incident: Option<IncidentId>) -> bool {
    history.iter().any(|r| r.ended_at.is_none())
        || history
            .first()
            .is_some_and(|r| r.state == "denied" && r.incident == incident.map(|i| i.0))
}

fn stored_past(r: &RemediationRun) -> Option<PastRun> {
    (r.state != "denied").then_some(PastRun {
        started_ms: r.started_at,
        ended_ms: r.ended_at,
    })
}

fn decode(stored: &RemediationRun) -> Result<Run, RemediationError> {
    serde_json::from_value(stored.run.clone()).map_err(|e| RemediationError::Corrupt {
        id: stored.id.clone(),
        why: e.to_string(),
    })
}

fn to_stored(
    id: &str,
    incident: Option<IncidentId>,
    run: &Run,
) -> Result<RemediationRun, RemediationError> {
    Ok(RemediationRun {
        id: id.to_string(),
        policy: run.policy.clone(),
        target: run.target.clone(),
        service: run.service.clone(),
        incident: incident.map(|i| i.0),
        state: run.state.name().to_string(),
        started_at: run.started_ms,
        ended_at: run.ended_ms,
        run: serde_json::to_value(run).map_err(|e| RemediationError::Corrupt {
            id: id.to_string(),
            why: e.to_string(),
        })?,
    })
}
