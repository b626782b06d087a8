//! The built-in Alertmanager as one handle: the [`Dispatcher`] behind a
//! lock, silences persisted through the `state` silence store, the running
//! configuration and its text, and intake counters. What the HTTP API and
//! the in-process rule engine call; the server ticks it and delivers the
//! flushes.
//!
//! Methods may touch the state store, so async callers run them on a
//! blocking thread.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use homeostat_model::{Clock, ErrorKind};
use homeostat_state::{Silence, SilenceStore, StateError};
use parking_lot::Mutex;

use crate::config::Config;
use crate::dispatch::{AlertQuery, AlertView, Dispatcher, Flush, GroupView};
use crate::matcher::Matchers;
use crate::shared::SharedIntake;
use crate::silence::{SilenceState, check_postable};
use crate::store::{AlertError, PostableAlert, validate};

/// Why an API call failed; [`ServiceError::kind`] picks the status.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("{0}")]
    Invalid(String),
    /// A stored-object limit (e.g. [`crate::silence::MAX_SILENCES`]); 422.
    #[error("{0}")]
    Limit(String),
    #[error(transparent)]
    State(#[from] StateError),
}

impl ServiceError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            ServiceError::Invalid(_) => ErrorKind::InvalidInput,
            ServiceError::Limit(_) => ErrorKind::LimitExceeded,
            ServiceError::State(e) => e.kind(),
        }
    }
}

/// Why posted alerts were not (all) taken.
#[derive(Debug, thiserror::Error)]
pub enum PostError {
    /// Some alerts were invalid; the valid ones were stored.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Refused(Vec<AlertError>),
    /// The shared intake could not be written: nothing was stored, so the
    /// sender should retry.
    #[error("the shared alert intake is unavailable: {0}")]
    Unavailable(StateError),
}

/// Alerts taken in, for `/metrics`.
#[derive(Debug, Default)]
pub struct IntakeStats {
    pub received_firing: AtomicU64,
    pub received_resolved: AtomicU64,
    pub invalid: AtomicU64,
}

/// The configuration in force.
#[derive(Debug, Clone)]
pub struct Running {
    pub config: Arc<Config>,
    /// The YAML as read, for `/api/v2/status`.
    pub original: String,
    /// For alerts posted without `endsAt`.
    pub resolve_timeout: Duration,
}

pub struct Alertmanager {
    dispatcher: Mutex<Dispatcher>,
    running: Mutex<Running>,
    silences: Arc<dyn SilenceStore>,
    clock: Arc<dyn Clock>,
    started_at: i64,
    shared: Option<SharedIntake>,
    pub stats: IntakeStats,
}

impl std::fmt::Debug for Alertmanager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Alertmanager").finish_non_exhaustive()
    }
}

impl Alertmanager {
    /// Loads the stored silences; fails only when the store does.
    pub fn new(
        running: Running,
        silences: Arc<dyn SilenceStore>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, StateError> {
        let now = clock.now_millis();
        let mut dispatcher = Dispatcher::new(running.config.clone());
        dispatcher.set_silences(silences.list()?, now);
        Ok(Self {
            dispatcher: Mutex::new(dispatcher),
            running: Mutex::new(running),
            silences,
            clock,
            started_at: now,
            shared: None,
            stats: IntakeStats::default(),
        })
    }

    /// Shares the intake with other replicas through `log`: accepted alerts
    /// are written to it, and [`Alertmanager::sync_shared`] takes in what
    /// the others wrote. `origin` is this replica's member id.
    pub fn with_shared_intake(
        mut self,
        log: Arc<dyn homeostat_state::AlertLog>,
        origin: String,
    ) -> Self {
        self.shared = Some(SharedIntake::new(log, origin));
        self
    }

    /// Takes in the alerts other replicas accepted since the last call;
    /// returns how many. A no-op without a shared intake.
    pub fn sync_shared(&self) -> Result<usize, StateError> {
        let Some(shared) = &self.shared else {
            return Ok(0);
        };
        let (alerts, skipped) = shared.read_new()?;
        self.stats.invalid.fetch_add(skipped, Ordering::Relaxed);
        let n = alerts.len();
        if n > 0 {
            let now = self.now();
            self.dispatcher.lock().ingest(alerts, now);
        }
        Ok(n)
    }

    /// Deletes shared-intake entries nobody needs: ended more than an hour
    /// ago, or superseded for ten minutes.
    pub fn gc_shared(&self) -> Result<usize, StateError> {
        let Some(shared) = &self.shared else {
            return Ok(0);
        };
        let now = self.now();
        shared.gc(now - 3_600_000, now - 600_000)
    }

    /// Rebuilds the aggregation groups from the stored alerts, as a reload
    /// does: a replica that starts leading forgets the timers of groups it
    /// never flushed and takes them up afresh; the notification log keeps
    /// what the old leader sent from being sent again.
    pub fn regroup(&self) {
        let now = self.now();
        let mut d = self.dispatcher.lock();
        let config = d.config().clone();
        d.set_config(config, now);
    }

    pub fn now(&self) -> i64 {
        self.clock.now_millis()
    }

    pub fn started_at(&self) -> i64 {
        self.started_at
    }

    pub fn running(&self) -> Running {
        self.running.lock().clone()
    }

    /// Replaces routes, receivers and inhibit rules at once.
    pub fn reload(&self, running: Running) {
        let now = self.now();
        let config = running.config.clone();
        *self.running.lock() = running;
        self.dispatcher.lock().set_config(config, now);
    }

    /// Takes posted alerts. Valid ones are stored even when others are
    /// refused, as Alertmanager does; the refused ones come back, each
    /// naming its index.
    pub fn post_alerts(&self, posted: Vec<PostableAlert>) -> Result<(), PostError> {
        let now = self.now();
        let resolve_timeout = self.running.lock().resolve_timeout;
        let mut ok = Vec::with_capacity(posted.len());
        let mut errors = Vec::new();
        for (i, p) in posted.into_iter().enumerate() {
            match validate(i, p, now, resolve_timeout) {
                Ok(a) => ok.push(a),
                Err(e) => errors.push(e),
            }
        }
        if let Some(shared) = &self.shared {
            shared.append(&ok).map_err(PostError::Unavailable)?;
        }
        let resolved = ok.iter().filter(|a| a.is_resolved(now)).count() as u64;
        self.stats
            .received_resolved
            .fetch_add(resolved, Ordering::Relaxed);
        self.stats
            .received_firing
            .fetch_add(ok.len() as u64 - resolved, Ordering::Relaxed);
        self.stats
            .invalid
            .fetch_add(errors.len() as u64, Ordering::Relaxed);
        self.dispatcher.lock().ingest(ok, now);
        if errors.is_empty() {
            Ok(())
        } else {
            Err(PostError::Refused(errors))
        }
    }

    pub fn alerts(&self, q: &AlertQuery) -> Vec<AlertView> {
        let now = self.now();
        self.dispatcher.lock().alerts(q, now)
    }

    pub fn groups(&self, q: &AlertQuery) -> Vec<GroupView> {
        let now = self.now();
        self.dispatcher.lock().groups(q, now)
    }

    /// (alerts stored, aggregation groups), for the benchmark and metrics.
    pub fn counts(&self) -> (usize, usize) {
        let d = self.dispatcher.lock();
        (d.store().len(), d.group_count())
    }

    /// Due flushes; also collects resolved alerts nobody needs any more.
    pub fn tick(&self) -> Vec<Flush> {
        let now = self.now();
        let mut d = self.dispatcher.lock();
        let out = d.tick(now);
        d.gc(now);
        out
    }

    pub fn next_deadline(&self) -> Option<i64> {
        self.dispatcher.lock().next_deadline()
    }

    pub fn receivers(&self) -> Vec<String> {
        self.running
            .lock()
            .config
            .receivers
            .iter()
            .map(|r| r.name.clone())
            .collect()
    }

    /// Silences whose equality view matches every `filter` matcher, in
    /// Alertmanager's order: active by end, pending by start, expired by
    /// end, latest first.
    pub fn silences(&self, filter: &Matchers) -> Result<Vec<Silence>, ServiceError> {
        let now = self.now();
        let mut out: Vec<Silence> = self
            .silences
            .list()?
            .into_iter()
            .filter(|s| {
                filter.iter().all(|m| {
                    s.matchers
                        .iter()
                        .find(|sm| sm.name == m.name())
                        .is_some_and(|sm| m.matches_value(&sm.value))
                })
            })
            .collect();
        let rank = |s: &Silence| match SilenceState::at(s, now) {
            SilenceState::Active => (0, s.ends_at),
            SilenceState::Pending => (1, s.starts_at),
            SilenceState::Expired => (2, -s.ends_at),
        };
        out.sort_by_key(|s| rank(s));
        Ok(out)
    }

    pub fn silence(&self, id: &str) -> Result<Silence, ServiceError> {
        Ok(self.silences.get(id)?)
    }

    /// Creates a silence, or updates the one named by `s.id`. Updating an
    /// expired silence creates a new one (it cannot come back to life);
    /// returns the id stored.
    pub fn put_silence(&self, mut s: Silence) -> Result<String, ServiceError> {
        let now = self.now();
        if !s.id.is_empty() {
            let existing = self.silences.get(&s.id)?;
            if SilenceState::at(&existing, now) == SilenceState::Expired {
                s.id.clear();
            }
        }
        check_postable(&s, now).map_err(|e| ServiceError::Invalid(e.to_string()))?;
        if s.id.is_empty() {
            let open = self
                .silences
                .list()?
                .iter()
                .filter(|x| x.ends_at > now)
                .count();
            if open >= crate::silence::MAX_SILENCES {
                return Err(ServiceError::Limit(format!(
                    "{open} silences are pending or active, the limit; expire some or widen one's matchers"
                )));
            }
        }
        s.updated_at = now;
        let stored = self.silences.upsert(&s)?;
        self.refresh_silences(now)?;
        Ok(stored.id)
    }

    pub fn expire_silence(&self, id: &str) -> Result<(), ServiceError> {
        let now = self.now();
        self.silences.expire(id, now)?;
        self.refresh_silences(now)?;
        Ok(())
    }

    fn refresh_silences(&self, now: i64) -> Result<(), ServiceError> {
        let all = self.silences.list()?;
        self.dispatcher.lock().set_silences(all, now);
        Ok(())
    }

    /// Deletes silences that ended before `ended_before`; returns how many.
    pub fn gc_silences(&self, ended_before: i64) -> Result<usize, ServiceError> {
        let n = self.silences.gc(ended_before)?;
        self.refresh_silences(self.now())?;
        Ok(n)
    }

    /// Re-reads the silences so that ones that started or ended since are
    /// applied (the dispatcher checks times itself; this also drops ended
    /// ones from memory).
    pub fn refresh(&self) -> Result<(), ServiceError> {
        self.refresh_silences(self.now())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::collections::BTreeMap;

    use homeostat_model::FakeClock;
    use homeostat_state::{MemState, SilenceMatcher};

    use super::*;

    fn am(clock: &FakeClock, state: Arc<MemState>) -> Alertmanager {
        let config =
            Config::parse("route: {receiver: a, group_wait: 1s}\nreceivers: [{name: a}]").unwrap();
        Alertmanager::new(
            Running {
                config: Arc::new(config),
                original: String::new(),
                resolve_timeout: Duration::from_secs(300),
            },
            state,
            Arc::new(clock.clone()),
        )
        .unwrap()
    }

    fn silence(id: &str, ends_at: i64) -> Silence {
        Silence {
            id: id.into(),
            matchers: vec![SilenceMatcher {
                name: "alertname".into(),
                value: "Down".into(),
                is_regex: false,
                is_equal: true,
            }],
            starts_at: 1_000,
            ends_at,
            created_by: "ana".into(),
            comment: "c".into(),
            updated_at: 0,
        }
    }

    #[test]
    fn silences_round_trip_and_survive_a_new_handle() {
        let clock = FakeClock::new(1_000);
        let state = Arc::new(MemState::default());
        let a = am(&clock, state.clone());
        a.post_alerts(vec![PostableAlert {
            labels: BTreeMap::from([("alertname".into(), "Down".into())]),
            ..Default::default()
        }])
        .unwrap();
        let id = a.put_silence(silence("", 100_000)).unwrap();
        let views = a.alerts(&AlertQuery::default());
        assert_eq!(views[0].status.silenced_by, vec![id.clone()]);
        // Update in place keeps the id.
        let mut s = a.silence(&id).unwrap();
        s.comment = "longer".into();
        s.ends_at = 200_000;
        assert_eq!(a.put_silence(s).unwrap(), id);

        let b = am(&clock, state);
        assert_eq!(b.silences(&Matchers::default()).unwrap().len(), 1);
        b.post_alerts(vec![PostableAlert {
            labels: BTreeMap::from([("alertname".into(), "Down".into())]),
            ..Default::default()
        }])
        .unwrap();
        assert_eq!(
            b.alerts(&AlertQuery::default())[0].status.silenced_by.len(),
            1
        );

        clock.set(5_000);
        b.expire_silence(&id).unwrap();
        assert!(
            b.alerts(&AlertQuery::default())[0]
                .status
                .silenced_by
                .is_empty()
        );
        assert_eq!(
            b.expire_silence(&id).unwrap_err().kind(),
            ErrorKind::Conflict
        );
        // Updating an expired silence makes a new one.
        let new_id = b.put_silence(silence(&id, 300_000)).unwrap();
        assert_ne!(new_id, id);
        let filter = Matchers::parse("alertname=~\"Do.*\"").unwrap();
        assert_eq!(b.silences(&filter).unwrap().len(), 2);
        let filter = Matchers::parse("job=\"x\"").unwrap();
        assert!(b.silences(&filter).unwrap().is_empty());
    }

    #[test]
    fn bad_input_is_named() {
        let clock = FakeClock::new(1_000);
        let a = am(&clock, Arc::new(MemState::default()));
        let errs = a
            .post_alerts(vec![
                PostableAlert {
                    labels: BTreeMap::from([("alertname".into(), "Ok".into())]),
                    ..Default::default()
                },
                PostableAlert::default(),
            ])
            .unwrap_err();
        let PostError::Refused(errs) = errs else {
            panic!("{errs}")
        };
        assert_eq!(errs[0].index, 1);
        assert_eq!(a.counts().0, 1, "the valid alert is kept");
        assert_eq!(a.stats.invalid.load(Ordering::Relaxed), 1);
        let e = a.put_silence(silence("", 500)).unwrap_err();
        assert!(e.to_string().contains("endsAt"), "{e}");
        let e = a
            .put_silence(silence("22222222-2222-4222-8222-222222222222", 50_000))
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound);
    }

    #[test]
    fn replicas_share_the_intake() {
        let clock = FakeClock::new(1_000);
        let state = Arc::new(MemState::default());
        let a = am(&clock, state.clone()).with_shared_intake(state.clone(), "a".into());
        let b = am(&clock, state.clone()).with_shared_intake(state.clone(), "b".into());
        a.post_alerts(vec![PostableAlert {
            labels: BTreeMap::from([("alertname".into(), "Down".into())]),
            ..Default::default()
        }])
        .unwrap();
        assert_eq!(a.sync_shared().unwrap(), 0, "its own entries are skipped");
        assert!(b.alerts(&AlertQuery::default()).is_empty());
        assert_eq!(b.sync_shared().unwrap(), 1);
        assert_eq!(b.sync_shared().unwrap(), 0, "read once");
        let seen = b.alerts(&AlertQuery::default());
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].alert, a.alerts(&AlertQuery::default())[0].alert);
        // b's resolution reaches a.
        b.post_alerts(vec![PostableAlert {
            labels: BTreeMap::from([("alertname".into(), "Down".into())]),
            ends_at: Some(1_000),
            ..Default::default()
        }])
        .unwrap();
        assert_eq!(a.sync_shared().unwrap(), 1);
        assert!(a.alerts(&AlertQuery::default()).is_empty(), "resolved");
    }
}
