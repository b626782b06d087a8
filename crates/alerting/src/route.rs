//! The validated route tree and Alertmanager's routing decision: a
//! depth-first, left-to-right walk where the first matching child wins
//! unless it says `continue`, and a route none of whose children match is
//! itself the match.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use chrono::{DateTime, Utc};
use homeostat_model::Labels;

use crate::matcher::Matchers;
use crate::timeinterval::TimeInterval;

/// Which labels alerts are grouped by on a route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupBy {
    /// `group_by: ['...']`: every label of the alert.
    All,
    /// These labels, in the order configured (empty: one group per route).
    Labels(Vec<String>),
}

/// The settings a route applies, after inheritance from its parents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteOpts {
    pub receiver: String,
    pub group_by: GroupBy,
    pub group_wait: Duration,
    pub group_interval: Duration,
    pub repeat_interval: Duration,
    /// Not inherited: each route names its own.
    pub mute_time_intervals: Vec<String>,
    pub active_time_intervals: Vec<String>,
}

impl Default for RouteOpts {
    /// Alertmanager's defaults for the root route.
    fn default() -> Self {
        Self {
            receiver: String::new(),
            group_by: GroupBy::Labels(Vec::new()),
            group_wait: Duration::from_secs(30),
            group_interval: Duration::from_secs(5 * 60),
            repeat_interval: Duration::from_secs(4 * 3600),
            mute_time_intervals: Vec::new(),
            active_time_intervals: Vec::new(),
        }
    }
}

/// One node of the routing tree.
#[derive(Debug, Clone)]
pub struct Route {
    /// Alertmanager's route id: the parents' matchers joined by `/`, then
    /// this route's position among its siblings (`{}/{team="a"}/0`).
    pub id: String,
    /// Like `id` without positions; the prefix of group keys.
    pub key: String,
    /// Where the route is in the config file (`route.routes[0]`).
    pub path: String,
    /// Sorted as Alertmanager sorts them (name, value, type).
    pub matchers: Matchers,
    pub continue_matching: bool,
    pub opts: RouteOpts,
    pub routes: Vec<Route>,
}

impl Route {
    /// The routes an alert with these labels is sent to, in tree order.
    /// Empty only when this route itself does not match.
    pub fn matching(&self, labels: &Labels) -> Vec<&Route> {
        let mut out = Vec::new();
        self.collect_matches(labels, &mut out);
        out
    }

    fn collect_matches<'a>(&'a self, labels: &Labels, out: &mut Vec<&'a Route>) -> bool {
        if !self.matchers.matches(labels) {
            return false;
        }
        let before = out.len();
        for child in &self.routes {
            if child.collect_matches(labels, out) && !child.continue_matching {
                break;
            }
        }
        if out.len() == before {
            out.push(self);
        }
        true
    }

    /// Every route of the tree, parents before children.
    pub fn walk(&self) -> Vec<&Route> {
        let mut out = vec![self];
        for child in &self.routes {
            out.extend(child.walk());
        }
        out
    }

    /// The labels an alert is grouped by on this route: those of `group_by`
    /// the alert has, or all of them for `...`.
    pub fn group_labels(&self, labels: &Labels) -> Labels {
        match &self.opts.group_by {
            GroupBy::All => labels.clone(),
            GroupBy::Labels(names) => {
                let mut b = homeostat_model::LabelsBuilder::new();
                for l in labels {
                    if names.contains(&l.name) {
                        b.set(&l.name, &l.value);
                    }
                }
                // Names came from valid labels, so building cannot fail.
                b.build().unwrap_or_default()
            }
        }
    }

    /// The aggregation group an alert joins on this route:
    /// `<route key>:{name="value", ...}` over its group labels.
    pub fn group_key(&self, labels: &Labels) -> String {
        let mut out = format!("{}:{{", self.key);
        for (i, l) in self.group_labels(labels).iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            let _ = write!(out, "{}={:?}", l.name, l.value);
        }
        out.push('}');
        out
    }
}

/// Named time intervals, as declared under `time_intervals:` and
/// `mute_time_intervals:`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TimeIntervals(pub BTreeMap<String, Vec<TimeInterval>>);

impl TimeIntervals {
    /// Whether any interval of the named set contains the instant; false
    /// for a name that is not defined (validation rules that out).
    pub fn contains(&self, name: &str, at: DateTime<Utc>) -> bool {
        self.0
            .get(name)
            .is_some_and(|list| list.iter().any(|ti| ti.contains(at)))
    }

    /// Whether notifications of a route are held back at `at`: inside one
    /// of its mute intervals, or outside all of its active intervals.
    pub fn is_muted(&self, route: &Route, at: DateTime<Utc>) -> bool {
        let opts = &route.opts;
        if opts
            .mute_time_intervals
            .iter()
            .any(|n| self.contains(n, at))
        {
            return true;
        }
        !opts.active_time_intervals.is_empty()
            && !opts
                .active_time_intervals
                .iter()
                .any(|n| self.contains(n, at))
    }
}
