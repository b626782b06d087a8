//! One experiment run, as chaoslib runs one: the steady-state hypothesis
//! before (not met: the run fails and nothing else runs), the method with
//! its pauses and background activities, the hypothesis after (not met:
//! deviated), then the rollbacks. Homeostat's SLO guard is checked every
//! `check_every` while the method runs; an abort (the guard's or a
//! person's) stops the method, skips the hypothesis after and runs the
//! rollbacks. The journal is saved after every activity.

use std::sync::Arc;
use std::time::Duration;

use homeostat_chaos::{
    Activity, ActivityRun, ActivityStatus, Experiment, Guard, GuardDecision, GuardReading,
    Hypothesis, HypothesisRun, Journal, Provider, Resolved, RunStatus, Tolerance, iso,
    tolerance_met,
};
use homeostat_model::Clock;
use homeostat_state::{ChaosRun, ChaosStore};
use parking_lot::Mutex;
use serde_json::Value;
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::providers::Providers;

/// What every run shares.
pub(crate) struct RunCtx {
    pub providers: Providers,
    pub clock: Arc<dyn Clock>,
    pub store: Arc<dyn ChaosStore>,
    pub default_check_every: Duration,
}

pub(crate) struct Runner {
    pub ctx: Arc<RunCtx>,
    pub exp: Arc<Experiment>,
    pub resolved: Resolved,
    pub journal: Mutex<Journal>,
    /// The stored record; its journal is replaced on every save.
    pub record: Mutex<ChaosRun>,
}

/// Why the method stopped early.
enum Stop {
    Guard(GuardDecision),
    Person(String),
}

impl Runner {
    fn now(&self) -> i64 {
        self.ctx.clock.now_millis()
    }

    /// Writes the journal as it stands to the store.
    pub async fn save(&self) {
        let journal = self.journal.lock().clone();
        let record = {
            let mut r = self.record.lock();
            r.status = journal.status.as_str().to_string();
            r.journal = serde_json::to_value(&journal).unwrap_or(Value::Null);
            r.clone()
        };
        let store = self.ctx.store.clone();
        let id = record.id.clone();
        let saved = tokio::task::spawn_blocking(move || store.update_run(&record)).await;
        match saved {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::warn!(run = %id, error = %e, "saving the experiment journal failed")
            }
            Err(e) => tracing::warn!(run = %id, error = %e, "saving the experiment journal failed"),
        }
    }

    /// Runs the experiment to its end; returns the finished journal.
    pub async fn run(self: Arc<Self>, mut abort: watch::Receiver<Option<String>>) -> Journal {
        let started = self.now();
        if let Some(h) = &self.exp.hypothesis {
            let before = self.hypothesis(h).await;
            let met = before.steady_state_met;
            self.journal.lock().steady_states.before = Some(before);
            if !met {
                // chaoslib: the method never runs, nor do the rollbacks.
                self.journal.lock().homeostat.deviation = Some(
                    "the steady-state hypothesis was not met before the method: nothing was run"
                        .into(),
                );
                return self.finish(started, RunStatus::Failed).await;
            }
            self.save().await;
        }

        let guard = self.exp.homeostat.as_ref().and_then(|h| h.guard.clone());
        let baseline = match &guard {
            Some(g) => {
                let b = self.read_guard(g).await;
                self.journal.lock().homeostat.guard_baseline = Some(b);
                Some(b)
            }
            None => None,
        };

        let stop = {
            let method = self.clone().method();
            let guard_loop = self.clone().guard_loop(guard.clone(), baseline);
            let person = async {
                loop {
                    if let Some(reason) = abort.borrow_and_update().clone() {
                        return reason;
                    }
                    if abort.changed().await.is_err() {
                        // The service dropped the sender: nobody can abort.
                        std::future::pending::<()>().await;
                    }
                }
            };
            tokio::select! {
                () = method => None,
                d = guard_loop => Some(Stop::Guard(d)),
                reason = person => Some(Stop::Person(reason)),
            }
        };

        let status = match stop {
            Some(stop) => {
                let reason = match &stop {
                    Stop::Guard(GuardDecision::Abort { reason, .. }) => reason.clone(),
                    Stop::Guard(GuardDecision::Continue) => "the guard stopped the run".into(),
                    Stop::Person(r) => r.clone(),
                };
                {
                    let mut j = self.journal.lock();
                    j.deviated = true;
                    j.homeostat.deviation = Some(reason);
                    if let Stop::Guard(d) = stop {
                        j.homeostat.guard_decision = Some(d);
                    }
                }
                RunStatus::Aborted
            }
            None => match &self.exp.hypothesis {
                Some(h) => {
                    let after = self.hypothesis(h).await;
                    let met = after.steady_state_met;
                    let mut j = self.journal.lock();
                    j.steady_states.after = Some(after);
                    if met {
                        RunStatus::Completed
                    } else {
                        j.deviated = true;
                        j.homeostat.deviation =
                            Some("the steady-state hypothesis was not met after the method".into());
                        RunStatus::Failed
                    }
                }
                None => RunStatus::Completed,
            },
        };
        {
            // Visible while the rollbacks run.
            self.journal.lock().status = status;
        }
        self.save().await;
        for a in &self.exp.rollbacks {
            let r = self.activity(a, false).await;
            self.journal.lock().rollbacks.push(r);
            self.save().await;
            Self::pause_after(a).await;
        }
        self.finish(started, status).await
    }

    async fn finish(&self, started: i64, status: RunStatus) -> Journal {
        let end = self.now();
        {
            let mut j = self.journal.lock();
            j.status = status;
            j.end = Some(iso(end));
            j.duration = Some((end - started).max(0) as f64 / 1000.0);
        }
        self.record.lock().finished_at = Some(end);
        self.save().await;
        self.journal.lock().clone()
    }

    /// The method's activities in order; background ones run beside the
    /// next and are waited for at the end. Dropping this future (an
    /// abort) stops them all.
    async fn method(self: Arc<Self>) {
        let mut background = JoinSet::new();
        for a in &self.exp.method {
            if a.background {
                let me = self.clone();
                let a = a.clone();
                background.spawn(async move {
                    let r = me.activity(&a, false).await;
                    me.journal.lock().run.push(r);
                    me.save().await;
                    Self::pause_after(&a).await;
                });
                continue;
            }
            let r = self.activity(a, false).await;
            self.journal.lock().run.push(r);
            self.save().await;
            Self::pause_after(a).await;
        }
        while background.join_next().await.is_some() {}
    }

    /// Resolves with the guard's abort; never without a guard.
    async fn guard_loop(
        self: Arc<Self>,
        guard: Option<Guard>,
        baseline: Option<GuardReading>,
    ) -> GuardDecision {
        let Some(guard) = guard else {
            return std::future::pending().await;
        };
        let every = guard
            .check_every
            .unwrap_or(self.ctx.default_check_every)
            .max(Duration::from_millis(100));
        let baseline = baseline.unwrap_or_default();
        loop {
            tokio::time::sleep(every).await;
            let now = self.read_guard(&guard).await;
            let decision = guard.decide(&baseline, &now);
            {
                let mut j = self.journal.lock();
                j.homeostat.guard_checks += 1;
                j.homeostat.guard_last = Some(now);
            }
            if matches!(decision, GuardDecision::Abort { .. }) {
                return decision;
            }
        }
    }

    /// A reading that failed counts as no data: the guard never aborts on
    /// its own blindness, but the journal says so.
    async fn read_guard(&self, guard: &Guard) -> GuardReading {
        match self
            .ctx
            .providers
            .signals
            .slo(&guard.slo, guard.burn_window)
            .await
        {
            Ok(r) => r,
            Err(e) => {
                let note = format!("guard reading of SLO {} failed: {e}", guard.slo);
                let mut j = self.journal.lock();
                if !j.homeostat.notes.contains(&note) {
                    j.homeostat.notes.push(note);
                }
                GuardReading::default()
            }
        }
    }

    /// Probes in order, stopping at the first out of tolerance.
    async fn hypothesis(&self, h: &Hypothesis) -> HypothesisRun {
        let mut probes = Vec::new();
        let mut met = true;
        for p in &h.probes {
            let r = self.activity(p, true).await;
            Self::pause_after(p).await;
            let ok = r.tolerance_met == Some(true);
            probes.push(r);
            if !ok {
                met = false;
                break;
            }
        }
        HypothesisRun {
            steady_state_met: met,
            probes,
        }
    }

    /// The pause after an activity, taken once its result is journaled (an
    /// abort during the pause must still find the action in the journal).
    async fn pause_after(a: &Activity) {
        if let Some(p) = a.pauses.after {
            tokio::time::sleep(p).await;
        }
    }

    /// One activity with its pause before; in a hypothesis, its tolerance
    /// too.
    async fn activity(&self, a: &Activity, in_hypothesis: bool) -> ActivityRun {
        if let Some(p) = a.pauses.before {
            tokio::time::sleep(p).await;
        }
        let start = self.now();
        let result = self.ctx.providers.call(&a.provider, &self.resolved).await;
        let end = self.now();
        let (status, output, exception) = match result {
            Ok(v) => (ActivityStatus::Succeeded, self.resolved.mask(&v), None),
            Err(e) => (
                ActivityStatus::Failed,
                Value::Null,
                Some(vec![format!(
                    "homeostat.chaos.ActivityFailed: {}",
                    self.resolved.mask_text(&e)
                )]),
            ),
        };
        let tolerance_met = match (in_hypothesis, &a.tolerance) {
            (true, Some(t)) if status == ActivityStatus::Succeeded => {
                Some(self.within(t, &output).await)
            }
            (true, _) => Some(false),
            (false, _) => None,
        };
        ActivityRun {
            activity: a.document.clone(),
            output,
            status,
            start: iso(start),
            end: iso(end),
            duration: (end - start).max(0) as f64 / 1000.0,
            exception,
            tolerance_met,
        }
    }

    async fn within(&self, t: &Tolerance, value: &Value) -> bool {
        match t {
            Tolerance::Probe(probe) => {
                let mut probe = (**probe).clone();
                // chaoslib hands the value to the tolerance probe as `value`.
                match &mut probe.provider {
                    Provider::Homeostat(h) => {
                        h.arguments.insert("value".into(), value.clone());
                    }
                    Provider::Python(p) => {
                        p.arguments.insert("value".into(), value.clone());
                    }
                    Provider::Http(h) => {
                        let mut args = match h.arguments.take() {
                            Some(Value::Object(o)) => o,
                            _ => serde_json::Map::new(),
                        };
                        args.insert("value".into(), value.clone());
                        h.arguments = Some(Value::Object(args));
                    }
                    Provider::Process(_) => {}
                }
                match self
                    .ctx
                    .providers
                    .call(&probe.provider, &self.resolved)
                    .await
                {
                    Ok(v) => truthy(&v),
                    Err(_) => false,
                }
            }
            other => tolerance_met(other, value).unwrap_or(false),
        }
    }
}

/// Whether a tolerance probe's answer says yes: an HTTP answer below 400,
/// a process that exited 0, or any other non-empty, non-false value.
fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|x| x != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => match (
            o.get("status").and_then(Value::as_i64),
            o.contains_key("stdout"),
        ) {
            (Some(code), true) => code == 0,
            (Some(code), false) => code < 400,
            _ => !o.is_empty(),
        },
    }
}
