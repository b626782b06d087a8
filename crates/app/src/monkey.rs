//! The Chaos Monkey: scheduled terminations of opted-in target groups.
//!
//! Each tick asks every group's schedule (`homeostat_chaos::monkey`) what to
//! do now, given the last termination in the persisted log — so the
//! minimum interval holds across restarts — and whether the group's
//! service has an open incident or a deploy freeze. A due termination picks
//! its targets with the group's selector, runs the action for each (through
//! [`MonkeyEffects`], which the server implements with the allow-listed
//! command runner and the one outbound path), logs it and audits it.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use chrono::NaiveDate;
use homeostat_chaos::SelectorMode;
use homeostat_chaos::monkey::{MonkeySchedule, Verdict};
use homeostat_model::Clock;
use homeostat_state::{
    AuditEntry, IncidentFilter, IncidentState, NewTermination, State, StateError, Termination,
};
use parking_lot::Mutex;
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde_json::json;

use homeostat_remediation::host_of;

use crate::{GateService, Live};

/// Who the members of a target group are.
#[derive(Debug, Clone, PartialEq)]
pub enum Members {
    /// Listed in the config.
    Static(Vec<String>),
    /// The values of `label` in the answer to an instant PromQL query, e.g.
    /// `instance` of `up{job="checkout"} == 1`.
    Query { query: String, label: String },
}

/// A named set of things that may be acted on, and how many at once.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetGroup {
    pub name: String,
    /// Whose incidents and freezes stop the monkey, and whose timeline shows it.
    pub service: String,
    pub members: Members,
    pub mode: SelectorMode,
}

/// What terminating one target does.
#[derive(Debug, Clone, PartialEq)]
pub enum TerminationAction {
    /// argv, the program on the chaos process allow-list; `{{.group}}`,
    /// `{{.service}}` and `{{.target}}` are filled in each argument.
    Command(Vec<String>),
    /// A POST through the outbound path; the body template takes the same
    /// placeholders (JSON-escaped).
    Webhook { url: String, body: Option<String> },
}

/// One opted-in group with its schedule.
#[derive(Debug, Clone)]
pub struct MonkeyGroup {
    pub schedule: MonkeySchedule,
    pub group: TargetGroup,
    pub action: TerminationAction,
    /// Log and audit what would be terminated without running the action.
    pub dry_run: bool,
}

pub type EffectFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, String>> + Send + 'a>>;

/// The side effects the monkey needs from the server.
pub trait MonkeyEffects: Send + Sync {
    /// The members of a query-defined group now.
    fn members<'a>(&'a self, query: &'a str, label: &'a str) -> EffectFuture<'a, Vec<String>>;
    /// Runs the group's action on one target; `Ok` carries a short detail
    /// (exit status, HTTP status) for the log.
    fn terminate<'a>(&'a self, group: &'a MonkeyGroup, target: &'a str)
    -> EffectFuture<'a, String>;
}

/// No effects: members and terminations fail saying so. For a server
/// without opted-in groups' effects (tests, tools).
#[derive(Debug, Default)]
pub struct NoMonkeyEffects;

impl MonkeyEffects for NoMonkeyEffects {
    fn members<'a>(&'a self, _: &'a str, _: &'a str) -> EffectFuture<'a, Vec<String>> {
        Box::pin(async { Err("no query engine here".to_string()) })
    }
    fn terminate<'a>(&'a self, _: &'a MonkeyGroup, _: &'a str) -> EffectFuture<'a, String> {
        Box::pin(async { Err("terminations are not wired in here".to_string()) })
    }
}

/// What a tick did for one group.
#[derive(Debug, Clone, PartialEq)]
pub enum TickOutcome {
    Terminated(Vec<Termination>),
    Blocked {
        group: String,
        reason: String,
    },
    /// Due, but the group had no members to pick from (or the selector
    /// picked none).
    NoTargets {
        group: String,
        why: String,
    },
}

/// A group as the console shows it.
#[derive(Debug, Clone)]
pub struct GroupStatus {
    pub group: String,
    pub service: String,
    pub mode: String,
    pub dry_run: bool,
    /// The business-hours window now open or next to open.
    pub next_window: Option<(i64, i64)>,
    pub time_zone: String,
    pub mean_workdays: f64,
    pub min_workdays: u32,
    pub last: Option<Termination>,
    /// Why a due termination is held back now, if it is.
    pub blocked: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum MonkeyError {
    #[error(transparent)]
    State(#[from] StateError),
    #[error("background task failed: {0}")]
    Task(String),
}

pub struct MonkeyService {
    groups: Arc<Live<Vec<MonkeyGroup>>>,
    state: State,
    gate: Option<Arc<GateService>>,
    effects: Arc<dyn MonkeyEffects>,
    clock: Arc<dyn Clock>,
    rng: Mutex<StdRng>,
    /// The day a group's block was last logged, so a held-back termination
    /// is written down once a day rather than on every tick.
    blocked_logged: Mutex<BTreeMap<String, NaiveDate>>,
    blocked_now: Mutex<BTreeMap<String, String>>,
}

const ACTOR: &str = "homeostat (chaos monkey)";

impl MonkeyService {
    pub fn new(
        groups: Arc<Live<Vec<MonkeyGroup>>>,
        state: State,
        gate: Option<Arc<GateService>>,
        effects: Arc<dyn MonkeyEffects>,
        clock: Arc<dyn Clock>,
        seed: u64,
    ) -> Self {
        Self {
            groups,
            state,
            gate,
            effects,
            clock,
            rng: Mutex::new(StdRng::seed_from_u64(seed)),
            blocked_logged: Mutex::default(),
            blocked_now: Mutex::default(),
        }
    }

    pub fn groups(&self) -> Arc<Vec<MonkeyGroup>> {
        self.groups.get()
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(State) -> Result<T, StateError> + Send + 'static,
    ) -> Result<T, MonkeyError> {
        let state = self.state.clone();
        tokio::task::spawn_blocking(move || f(state))
            .await
            .map_err(|e| MonkeyError::Task(e.to_string()))?
            .map_err(MonkeyError::from)
    }

    /// Why terminations in `service` must wait now: an open incident or a
    /// deploy freeze.
    async fn blocker(&self, service: &str) -> Result<Option<String>, MonkeyError> {
        let svc = service.to_string();
        let open = self
            .blocking(move |s| {
                s.incidents.list(&IncidentFilter {
                    states: vec![
                        IncidentState::Triggered,
                        IncidentState::Acknowledged,
                        IncidentState::Mitigated,
                    ],
                    service: Some(svc),
                    ..Default::default()
                })
            })
            .await?;
        if let Some(i) = open.first() {
            return Ok(Some(format!(
                "incident {} ({}) is open for {service}",
                i.id, i.title
            )));
        }
        Ok(match &self.gate {
            Some(gate) => gate.freeze(service, "chaos").await,
            None => None,
        })
    }

    /// Runs the terminations due now. Call it every few seconds.
    pub async fn tick(&self) -> Vec<TickOutcome> {
        let mut out = Vec::new();
        for g in self.groups.get().iter() {
            match self.tick_group(g).await {
                Ok(Some(o)) => out.push(o),
                Ok(None) => {}
                Err(e) => {
                    tracing::error!(group = %g.group.name, error = %e, "chaos monkey: tick failed")
                }
            }
        }
        out
    }

    async fn last(&self, group: &str) -> Result<Option<Termination>, MonkeyError> {
        let name = group.to_string();
        self.blocking(move |s| s.chaos.last_termination(&name))
            .await
    }

    async fn tick_group(&self, g: &MonkeyGroup) -> Result<Option<TickOutcome>, MonkeyError> {
        let name = &g.group.name;
        let now = self.clock.now_millis();
        let last = self.last(name).await?.map(|t| t.at_ms);
        // Only ask about incidents and freezes when a termination is due.
        if let Verdict::Wait { .. } = g.schedule.decide(now, last, None) {
            self.blocked_now.lock().remove(name);
            return Ok(None);
        }
        let blocked = self.blocker(&g.group.service).await?;
        match g.schedule.decide(now, last, blocked.as_deref()) {
            Verdict::Wait { .. } => Ok(None),
            Verdict::Blocked { reason, .. } => {
                self.blocked_now.lock().insert(name.clone(), reason.clone());
                let today = g.schedule.hours().local_date(now);
                if self.blocked_logged.lock().insert(name.clone(), today) != Some(today) {
                    tracing::info!(group = %name, %reason, "chaos monkey: termination held back");
                }
                Ok(Some(TickOutcome::Blocked {
                    group: name.clone(),
                    reason,
                }))
            }
            Verdict::Terminate { .. } => {
                self.blocked_now.lock().remove(name);
                self.terminate(g, now).await.map(Some)
            }
        }
    }

    async fn terminate(&self, g: &MonkeyGroup, now: i64) -> Result<TickOutcome, MonkeyError> {
        let name = g.group.name.clone();
        let members = match &g.group.members {
            Members::Static(m) => m.clone(),
            Members::Query { query, label } => match self.effects.members(query, label).await {
                Ok(m) => m,
                Err(why) => {
                    // Logged as a skipped day: a broken query must not turn
                    // into a retry storm of terminations later the same day.
                    self.record(
                        g,
                        "-",
                        now,
                        "skipped",
                        &format!("members query failed: {why}"),
                    )
                    .await?;
                    return Ok(TickOutcome::NoTargets { group: name, why });
                }
            },
        };
        let picked: Vec<String> = {
            let mut rng = self.rng.lock();
            g.group
                .mode
                .select(&members, &mut *rng)
                .into_iter()
                .cloned()
                .collect()
        };
        if picked.is_empty() {
            let why = format!("{} of {} members picked none", g.group.mode, members.len());
            self.record(g, "-", now, "skipped", &why).await?;
            return Ok(TickOutcome::NoTargets { group: name, why });
        }
        let mut done = Vec::new();
        for target in &picked {
            let (outcome, detail) = if g.dry_run {
                ("dry-run", "action not run (dry_run)".to_string())
            } else {
                match self.effects.terminate(g, target).await {
                    Ok(d) => ("terminated", d),
                    Err(e) => ("failed", e),
                }
            };
            tracing::warn!(group = %name, %target, outcome, %detail, "chaos monkey: termination");
            done.push(self.record(g, target, now, outcome, &detail).await?);
        }
        Ok(TickOutcome::Terminated(done))
    }

    /// Writes one termination (or a skipped day) to the log and the audit
    /// trail.
    async fn record(
        &self,
        g: &MonkeyGroup,
        target: &str,
        at: i64,
        outcome: &str,
        detail: &str,
    ) -> Result<Termination, MonkeyError> {
        let action = match &g.action {
            TerminationAction::Command(argv) => {
                format!("command {}", argv.first().map_or("", String::as_str))
            }
            // The URL's path may hold a token: only the host is shown.
            TerminationAction::Webhook { url, .. } => format!("webhook {}", host_of(url)),
        };
        let t = NewTermination {
            group: g.group.name.clone(),
            service: g.group.service.clone(),
            target: target.to_string(),
            at_ms: at,
            action: action.clone(),
            outcome: format!("{outcome}: {detail}"),
        };
        self.blocking(move |s| {
            let saved = s.chaos.record_termination(&t)?;
            s.audit.append(&AuditEntry {
                seq: 0,
                at,
                actor: ACTOR.into(),
                action: "chaos.terminate".into(),
                object: format!("chaos-group/{}", t.group),
                detail: json!({"target": t.target, "service": t.service, "action": action, "outcome": t.outcome}),
            })?;
            Ok(saved)
        })
        .await
    }

    /// The termination log, newest first.
    pub async fn terminations(
        &self,
        group: Option<String>,
        since: i64,
        limit: usize,
    ) -> Result<Vec<Termination>, MonkeyError> {
        self.blocking(move |s| s.chaos.list_terminations(group.as_deref(), since, limit))
            .await
    }

    /// Every group with its next window, last termination and what holds it back.
    pub async fn status(&self) -> Result<Vec<GroupStatus>, MonkeyError> {
        let now = self.clock.now_millis();
        let mut out = Vec::new();
        for g in self.groups.get().iter() {
            let last = self.last(&g.group.name).await?;
            out.push(GroupStatus {
                group: g.group.name.clone(),
                service: g.group.service.clone(),
                mode: g.group.mode.to_string(),
                dry_run: g.dry_run,
                next_window: g.schedule.hours().current_or_next_window(now),
                time_zone: g.schedule.hours().zone().name().to_string(),
                mean_workdays: g.schedule.mean_workdays(),
                min_workdays: g.schedule.min_workdays(),
                last,
                blocked: self.blocked_now.lock().get(&g.group.name).cloned(),
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use homeostat_remediation::host_of;

    #[test]
    fn webhook_hosts_hide_paths_and_credentials() {
        assert_eq!(
            host_of("https://user:pw@hooks.example.com/T0/B1/secret?x=1"),
            "https://hooks.example.com"
        );
        assert_eq!(host_of("http://127.0.0.1:9/kill"), "http://127.0.0.1:9");
    }
}
