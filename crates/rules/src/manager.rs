//! The set of loaded groups and the shared evaluation settings.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use homeostat_model::{Clock, Timestamp};
use homeostat_promql::Engine;
use homeostat_storage::{Appender, Querier};
use parking_lot::{Mutex, RwLock};

use crate::alert::Notification;
use crate::file::GroupSpec;
use crate::group::{EvalContext, Group};
use crate::snapshot::{AlertSnapshot, GroupSnapshot, RulesView};

/// Settings shared by every group (Prometheus's flags of the same names).
#[derive(Debug, Clone)]
pub struct ManagerOptions {
    /// Interval of groups that set none (`global.evaluation_interval`).
    pub default_interval: Duration,
    pub external_labels: BTreeMap<String, String>,
    /// Base of alert `generatorURL`s and `$externalURL`.
    pub external_url: String,
    /// Firing alerts are re-sent this often.
    pub resend_delay: Duration,
    /// `ALERTS_FOR_STATE` older than this is not restored.
    pub outage_tolerance: Duration,
    /// After a restart, no alert fires sooner than this.
    pub for_grace_period: Duration,
    pub restore_for_state: bool,
}

impl Default for ManagerOptions {
    fn default() -> Self {
        Self {
            default_interval: Duration::from_secs(60),
            external_labels: BTreeMap::new(),
            external_url: String::new(),
            resend_delay: Duration::from_secs(60),
            outage_tolerance: Duration::from_secs(3600),
            for_grace_period: Duration::from_secs(600),
            restore_for_state: true,
        }
    }
}

/// What a reload did to the loaded groups.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReloadSummary {
    pub unchanged: usize,
    pub changed: usize,
    pub added: usize,
    pub removed: usize,
}

/// The loaded groups, each behind its own lock so groups evaluate
/// independently; evaluation is synchronous (call it on a blocking thread).
pub struct RuleManager {
    /// Replaced wholesale at a reload; each group behind its own lock.
    groups: RwLock<Vec<Arc<Mutex<Group>>>>,
    engine: Engine,
    querier: Arc<dyn Querier>,
    appender: Arc<dyn Appender>,
    clock: Arc<dyn Clock>,
    opts: ManagerOptions,
}

impl std::fmt::Debug for RuleManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuleManager")
            .field("groups", &self.groups.read().len())
            .field("opts", &self.opts)
            .finish()
    }
}

impl RuleManager {
    pub fn new(
        specs: Vec<GroupSpec>,
        engine: Engine,
        querier: Arc<dyn Querier>,
        appender: Arc<dyn Appender>,
        clock: Arc<dyn Clock>,
        opts: ManagerOptions,
    ) -> Self {
        let groups = specs
            .into_iter()
            .map(|g| Arc::new(Mutex::new(Group::new(g, opts.default_interval))))
            .collect();
        Self {
            groups: RwLock::new(groups),
            engine,
            querier,
            appender,
            clock,
            opts,
        }
    }

    pub fn group_count(&self) -> usize {
        self.groups.read().len()
    }

    /// Replaces the loaded groups with `specs` (a config reload). A group
    /// whose file, name and rules are unchanged is kept as is; a changed
    /// group starts fresh but takes over the alert state of its rules that
    /// kept their name and labels; a removed group's series are
    /// stale-marked at `now`. Callers stop the old groups' evaluation loops
    /// before and start new ones after, since group indexes change.
    pub fn replace_groups(&self, specs: Vec<GroupSpec>, now: Timestamp) -> ReloadSummary {
        let mut old: Vec<Arc<Mutex<Group>>> = self.groups.read().clone();
        let mut summary = ReloadSummary::default();
        let mut next = Vec::with_capacity(specs.len());
        for spec in specs {
            let same_key = old.iter().position(|g| {
                let g = g.lock();
                g.file() == spec.file && g.name() == spec.name
            });
            match same_key {
                Some(pos) if *old[pos].lock().spec() == spec => {
                    next.push(old.remove(pos));
                    summary.unchanged += 1;
                }
                Some(pos) => {
                    let prev = old.remove(pos);
                    let mut g = Group::new(spec, self.opts.default_interval);
                    g.take_state_from(&mut prev.lock());
                    next.push(Arc::new(Mutex::new(g)));
                    summary.changed += 1;
                }
                None => {
                    next.push(Arc::new(Mutex::new(Group::new(
                        spec,
                        self.opts.default_interval,
                    ))));
                    summary.added += 1;
                }
            }
        }
        for gone in old {
            gone.lock().stale_all(now, self.appender.as_ref());
            summary.removed += 1;
        }
        *self.groups.write() = next;
        summary
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// When group `i` next evaluates, at or after `now`.
    pub fn next_eval_at(&self, i: usize, now: Timestamp) -> Option<Timestamp> {
        self.groups
            .read()
            .get(i)
            .map(|g| g.lock().next_eval_at(now))
    }

    /// Evaluates group `i` at `ts`; returns the alerts due for sending.
    pub fn eval_group(&self, i: usize, ts: Timestamp) -> Vec<Notification> {
        let Some(g) = self.groups.read().get(i).cloned() else {
            return Vec::new();
        };
        let ctx = EvalContext {
            engine: &self.engine,
            querier: self.querier.as_ref(),
            appender: self.appender.as_ref(),
            opts: &self.opts,
        };
        g.lock().eval(ts, &ctx)
    }

    /// Evaluates every group, in order, at `ts` (tests and one-shot runs).
    pub fn eval_all(&self, ts: Timestamp) -> Vec<Notification> {
        (0..self.group_count())
            .flat_map(|i| self.eval_group(i, ts))
            .collect()
    }
}

impl RulesView for RuleManager {
    fn groups(&self) -> Vec<GroupSnapshot> {
        self.groups
            .read()
            .iter()
            .map(|g| g.lock().snapshot())
            .collect()
    }
    fn alerts(&self) -> Vec<AlertSnapshot> {
        self.groups
            .read()
            .iter()
            .flat_map(|g| g.lock().active_alerts())
            .collect()
    }
}
