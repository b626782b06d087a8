//! One remediation run: the act-then-verify loop as a pure state machine.
//!
//! [`start`] admits a run (or records why not) and enters its first action;
//! [`advance`] takes the time and what the app observed since (an action's
//! result, the trigger's re-evaluation, an approval, a freeze) and returns
//! the new run with the effects to perform. A run ends recovered (the
//! incident is mitigated as auto-remediated), exhausted (the on-call person
//! is paged once, with everything tried on the timeline), denied, or as a
//! dry run that records what it would have done without acting.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::action::RenderedAction;
use crate::guardrails::{Decision, PastRun, Share, admit_action, admit_run, human_ms};
use crate::policy::Policy;
use crate::trigger::Target;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Run {
    pub policy: String,
    /// The target key (`service=checkout,instance=a`).
    pub target: String,
    pub service: String,
    pub incident: Option<String>,
    /// Template variables: the alert's labels plus `policy`, `target`, `incident`.
    pub vars: BTreeMap<String, String>,
    pub started_ms: i64,
    pub ended_ms: Option<i64>,
    pub dry_run: bool,
    pub state: RunState,
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum RunState {
    PendingApproval {
        step: usize,
        until_ms: i64,
    },
    /// The action was handed to the app; its result is awaited.
    Acting {
        step: usize,
    },
    Verifying {
        step: usize,
        until_ms: i64,
    },
    Recovered {
        step: usize,
    },
    Exhausted,
    Denied {
        reason: String,
    },
    DryRun,
}

impl RunState {
    pub fn name(&self) -> &'static str {
        match self {
            RunState::PendingApproval { .. } => "pending-approval",
            RunState::Acting { .. } => "acting",
            RunState::Verifying { .. } => "verifying",
            RunState::Recovered { .. } => "recovered",
            RunState::Exhausted => "exhausted",
            RunState::Denied { .. } => "denied",
            RunState::DryRun => "dry-run",
        }
    }

    pub fn is_final(&self) -> bool {
        matches!(
            self,
            RunState::Recovered { .. }
                | RunState::Exhausted
                | RunState::Denied { .. }
                | RunState::DryRun
        )
    }
}

/// One line of a run's history; each is also a timeline and audit line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    pub at_ms: i64,
    /// The action's name; empty for the run as a whole.
    pub action: String,
    pub outcome: StepOutcome,
    pub detail: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepOutcome {
    Started,
    Denied,
    WouldAct,
    Skipped,
    ApprovalRequested,
    Approved,
    Rejected,
    Acted,
    Failed,
    Recovered,
    NotRecovered,
    Exhausted,
}

/// What the app must do after a transition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Run the action, then `advance` with its result in [`Observation::acted`].
    Act { step: usize, action: RenderedAction },
    /// Page the approval request like any page.
    RequestApproval {
        step: usize,
        action: String,
        until_ms: i64,
    },
    /// One line for the incident timeline and the audit log.
    Record(Step),
    /// Mark the incident mitigated: auto-remediated by this policy.
    Mitigate { note: String },
    /// Actions ran out: page the on-call person.
    PageOncall { summary: String },
}

/// A responder's answer to an approval request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    Approved { by: String },
    Rejected { by: String },
}

/// What the app saw since the last step.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Observation {
    /// The result of the last `Act`: a short detail or why it failed.
    pub acted: Option<Result<String, String>>,
    /// Whether the trigger still fails (alert firing, burn rate above the
    /// tier), asked for when a verification window has passed.
    pub failing: Option<bool>,
    /// The service's deploy freeze, with its reason.
    pub frozen: Option<String>,
    pub answer: Option<Answer>,
}

/// Everything a run starts from.
#[derive(Debug, Clone)]
pub struct StartInput<'a> {
    pub target: &'a Target,
    pub vars: BTreeMap<String, String>,
    pub incident: Option<String>,
    pub now: i64,
    /// The global `dry_run` switch.
    pub dry_run: bool,
    /// Earlier runs of this policy on this target.
    pub history: &'a [PastRun],
    pub share: Share,
    pub frozen: Option<String>,
}

/// The principal every step is recorded under.
pub fn principal(policy: &str) -> String {
    format!("homeostat (policy {policy})")
}

/// Whether `actor` is some policy's [`principal`].
pub fn is_principal(actor: &str) -> bool {
    actor
        .strip_prefix("homeostat (policy ")
        .is_some_and(|rest| rest.ends_with(')'))
}

/// Admits a run and enters its first action.
pub fn start(policy: &Policy, input: StartInput<'_>) -> (Run, Vec<Effect>) {
    let mut run = Run {
        policy: policy.name.clone(),
        target: input.target.key.clone(),
        service: input.target.service.clone(),
        incident: input.incident,
        vars: input.vars,
        started_ms: input.now,
        ended_ms: None,
        dry_run: input.dry_run || policy.dry_run,
        state: RunState::Acting { step: 0 },
        steps: Vec::new(),
    };
    let mut fx = Vec::new();
    let now = input.now;
    if let Decision::Deny { reason } =
        admit_run(&policy.guardrails, input.history, now, input.share)
    {
        run.record(&mut fx, now, "", StepOutcome::Denied, reason.clone());
        run.finish(now, RunState::Denied { reason });
        return (run, fx);
    }
    let what = if run.dry_run { "dry run" } else { "run" };
    let line = format!(
        "{what} started on {} ({})",
        run.target,
        policy.trigger.describe()
    );
    run.record(&mut fx, now, "", StepOutcome::Started, line);
    if run.dry_run {
        run.dry(policy, now, input.frozen.as_deref(), &mut fx);
    } else {
        run.enter(policy, 0, now, input.frozen.as_deref(), &mut fx);
    }
    (run, fx)
}

/// Moves a run on at `now` with what was observed.
pub fn advance(run: &Run, policy: &Policy, now: i64, obs: &Observation) -> (Run, Vec<Effect>) {
    let mut run = run.clone();
    let mut fx = Vec::new();
    let frozen = obs.frozen.as_deref();
    match run.state.clone() {
        RunState::Acting { step } => match &obs.acted {
            Some(Ok(detail)) => {
                let verify = action_verify_ms(policy, step);
                let line = format!("{detail}; verifying for {}", human_ms(verify));
                run.record(
                    &mut fx,
                    now,
                    &action_name(policy, step),
                    StepOutcome::Acted,
                    line,
                );
                run.state = RunState::Verifying {
                    step,
                    until_ms: now + verify,
                };
            }
            Some(Err(why)) => {
                let name = action_name(policy, step);
                run.record(&mut fx, now, &name, StepOutcome::Failed, why.clone());
                run.enter(policy, step + 1, now, frozen, &mut fx);
            }
            None => {}
        },
        RunState::Verifying { step, until_ms } if now >= until_ms => match obs.failing {
            Some(false) => {
                let name = action_name(policy, step);
                let line = format!("recovered after {name}");
                run.record(&mut fx, now, &name, StepOutcome::Recovered, line);
                fx.push(Effect::Mitigate {
                    note: format!("auto-remediated by {} ({name})", principal(&policy.name)),
                });
                run.finish(now, RunState::Recovered { step });
            }
            Some(true) => {
                let name = action_name(policy, step);
                let line = format!("still failing after {name}");
                run.record(&mut fx, now, &name, StepOutcome::NotRecovered, line);
                run.enter(policy, step + 1, now, frozen, &mut fx);
            }
            None => {}
        },
        RunState::PendingApproval { step, until_ms } => {
            let name = action_name(policy, step);
            match &obs.answer {
                Some(Answer::Approved { by }) => {
                    run.record(
                        &mut fx,
                        now,
                        &name,
                        StepOutcome::Approved,
                        format!("approved by {by}"),
                    );
                    run.act(policy, step, now, frozen, &mut fx);
                }
                Some(Answer::Rejected { by }) => {
                    run.record(
                        &mut fx,
                        now,
                        &name,
                        StepOutcome::Rejected,
                        format!("rejected by {by}"),
                    );
                    run.enter(policy, step + 1, now, frozen, &mut fx);
                }
                None if now >= until_ms => {
                    let line = format!(
                        "not approved within {}",
                        human_ms(policy.guardrails.approval_timeout_ms)
                    );
                    run.record(&mut fx, now, &name, StepOutcome::Skipped, line);
                    run.enter(policy, step + 1, now, frozen, &mut fx);
                }
                None => {}
            }
        }
        _ => {}
    }
    (run, fx)
}

fn action_name(policy: &Policy, step: usize) -> String {
    policy
        .actions
        .get(step)
        .map_or_else(|| format!("step {step}"), |a| a.name.clone())
}

fn action_verify_ms(policy: &Policy, step: usize) -> i64 {
    policy.actions.get(step).map_or(0, |a| a.verify_ms)
}

impl Run {
    /// This run as rate limits and cooldowns see it; denied runs never acted.
    pub fn as_past(&self) -> Option<PastRun> {
        (!matches!(self.state, RunState::Denied { .. })).then_some(PastRun {
            started_ms: self.started_ms,
            ended_ms: self.ended_ms,
        })
    }

    fn record(
        &mut self,
        fx: &mut Vec<Effect>,
        at: i64,
        action: &str,
        outcome: StepOutcome,
        detail: String,
    ) {
        let step = Step {
            at_ms: at,
            action: action.to_string(),
            outcome,
            detail,
        };
        self.steps.push(step.clone());
        fx.push(Effect::Record(step));
    }

    fn finish(&mut self, now: i64, state: RunState) {
        self.ended_ms = Some(now);
        self.state = state;
    }

    fn vars(&self) -> Vec<(&str, &str)> {
        self.vars
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }

    /// Enters action `step`, skipping those a freeze holds back; past the
    /// last one, the run is exhausted and the person is paged.
    fn enter(
        &mut self,
        policy: &Policy,
        mut step: usize,
        now: i64,
        frozen: Option<&str>,
        fx: &mut Vec<Effect>,
    ) {
        while let Some(action) = policy.actions.get(step) {
            match admit_action(action, frozen) {
                Decision::Deny { reason } => {
                    self.record(fx, now, &action.name, StepOutcome::Skipped, reason);
                    step += 1;
                }
                Decision::NeedsApproval => {
                    let until_ms = now + policy.guardrails.approval_timeout_ms;
                    let line = format!(
                        "needs approval within {}",
                        human_ms(policy.guardrails.approval_timeout_ms)
                    );
                    self.record(fx, now, &action.name, StepOutcome::ApprovalRequested, line);
                    fx.push(Effect::RequestApproval {
                        step,
                        action: action.name.clone(),
                        until_ms,
                    });
                    self.state = RunState::PendingApproval { step, until_ms };
                    return;
                }
                Decision::Allow => {
                    self.act(policy, step, now, frozen, fx);
                    return;
                }
            }
        }
        let tried: Vec<&str> = self
            .steps
            .iter()
            .filter(|s| !s.action.is_empty())
            .map(|s| s.action.as_str())
            .fold(Vec::new(), |mut v, a| {
                if v.last() != Some(&a) {
                    v.push(a);
                }
                v
            });
        let summary = format!(
            "{} could not fix {} (tried: {}); paging on-call",
            principal(&policy.name),
            self.target,
            if tried.is_empty() {
                "nothing".to_string()
            } else {
                tried.join(", ")
            }
        );
        self.record(fx, now, "", StepOutcome::Exhausted, summary.clone());
        fx.push(Effect::PageOncall { summary });
        self.finish(now, RunState::Exhausted);
    }

    /// Renders action `step` and hands it to the app; a render failure
    /// fails the step and the loop goes on.
    fn act(
        &mut self,
        policy: &Policy,
        step: usize,
        now: i64,
        frozen: Option<&str>,
        fx: &mut Vec<Effect>,
    ) {
        let Some(action) = policy.actions.get(step) else {
            return self.enter(policy, step, now, frozen, fx);
        };
        match action.render(&self.vars()) {
            Ok(rendered) => {
                self.state = RunState::Acting { step };
                fx.push(Effect::Act {
                    step,
                    action: rendered,
                });
            }
            Err(e) => {
                self.record(fx, now, &action.name, StepOutcome::Failed, e.to_string());
                self.enter(policy, step + 1, now, frozen, fx);
            }
        }
    }

    /// Records what each action would do, as the guardrails would let it.
    fn dry(&mut self, policy: &Policy, now: i64, frozen: Option<&str>, fx: &mut Vec<Effect>) {
        for action in &policy.actions {
            let line = match (admit_action(action, frozen), action.render(&self.vars())) {
                (Decision::Deny { reason }, _) => format!("would skip: {reason}"),
                (_, Err(e)) => format!("would fail: {e}"),
                (Decision::NeedsApproval, Ok(r)) => {
                    format!("would ask for approval, then run {}", r.summary())
                }
                (Decision::Allow, Ok(r)) => format!("would run {}", r.summary()),
            };
            self.record(fx, now, &action.name, StepOutcome::WouldAct, line);
        }
        self.finish(now, RunState::DryRun);
    }
}
