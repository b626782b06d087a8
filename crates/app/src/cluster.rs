//! Leadership among replicas sharing one state database.
//!
//! Every replica answers the API and takes alerts, deploys, acks and
//! silences (they go to the shared state). Exactly one, the leader, acts:
//! it evaluates rules, sends notifications and pages, escalates, judges
//! analysis runs and calls rollbacks. The [`Elector`] holds the leader
//! lease (`state::LEADER_LEASE`) in the state database; [`Leadership`] is
//! what the acting tasks ask before they act, and the [`Acting`] it hands
//! out carries the fence that their claims (`nflog`, outbox) are checked
//! against, so a leader deposed without noticing cannot claim anything.
//!
//! A leader that cannot renew stops acting `margin` before its lease ends,
//! so that by the time another replica may take the lease, the old one has
//! stopped by its own clock as well as by the fence.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use homeostat_state::{ClusterStore, Fence, LEADER_LEASE, Lease, Member, StateError};
use tokio::sync::watch;

/// What this replica is right now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    /// No cluster: the only replica always acts, unfenced.
    Single,
    Leader(Fence),
    /// Not acting; `leader` is the holder of an unexpired lease, if known.
    Follower {
        leader: Option<String>,
    },
}

impl Role {
    pub fn is_leader(&self) -> bool {
        matches!(self, Role::Single | Role::Leader(_))
    }
}

/// Permission to act now, with the fence to hand to fenced writes.
#[derive(Debug, Clone)]
pub struct Acting(Option<Fence>);

impl Acting {
    pub fn fence(&self) -> Option<&Fence> {
        self.0.as_ref()
    }
}

/// The acting tasks' view of the role; cheap to clone.
#[derive(Debug, Clone)]
pub struct Leadership {
    rx: watch::Receiver<Role>,
    /// Kept so that `changed()` on a subscription waits rather than fails
    /// when the election task is gone (or never existed).
    _tx: Arc<watch::Sender<Role>>,
}

impl Leadership {
    /// A replica alone: always acting.
    pub fn single() -> Self {
        let (tx, rx) = watch::channel(Role::Single);
        Self {
            rx,
            _tx: Arc::new(tx),
        }
    }

    pub fn role(&self) -> Role {
        self.rx.borrow().clone()
    }

    pub fn is_leader(&self) -> bool {
        self.rx.borrow().is_leader()
    }

    /// `Some` when this replica may act now.
    pub fn acting(&self) -> Option<Acting> {
        match &*self.rx.borrow() {
            Role::Single => Some(Acting(None)),
            Role::Leader(f) => Some(Acting(Some(f.clone()))),
            Role::Follower { .. } => None,
        }
    }

    /// Changes of role, for tasks that take over state when they start
    /// leading (groups, analysis runs, owed pages).
    pub fn subscribe(&self) -> watch::Receiver<Role> {
        self.rx.clone()
    }
}

/// Timing of the election.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElectionTiming {
    /// How long a lease lasts without renewal: the longest a dead leader
    /// delays failover.
    pub lease: Duration,
    /// How often a follower tries to take the lease (plus jitter).
    pub retry: Duration,
}

impl ElectionTiming {
    /// A leader renews four times per lease.
    pub fn renew(&self) -> Duration {
        (self.lease / 4).max(Duration::from_millis(100))
    }

    /// A leader stops acting this long before its lease ends when it could
    /// not renew: a fifth of the lease, at least a second (less for tests'
    /// short leases).
    pub fn margin(&self) -> Duration {
        (self.lease / 5).max(Duration::from_secs(1).min(self.lease / 2))
    }
}

/// Counters for `/metrics`.
#[derive(Debug, Default)]
pub struct ElectionStats {
    /// Terms this replica started leading.
    pub terms: AtomicU64,
    /// Renewals or attempts that failed (state database unreachable).
    pub failures: AtomicU64,
}

/// One replica's side of the election; [`Elector::step`] is called on a
/// timer by the server (pure apart from the store; time is an argument).
pub struct Elector {
    store: Arc<dyn ClusterStore>,
    member: Member,
    watchdog: Watchdog,
    pub stats: Arc<ElectionStats>,
}

/// Stops a leader from acting once its lease is about to end unrenewed,
/// also while a renewal hangs on an unreachable database (the server
/// checks it on a timer beside the step).
#[derive(Clone)]
pub struct Watchdog {
    tx: Arc<watch::Sender<Role>>,
    /// When the lease we hold was last renewed (our clock).
    renewed_at: Arc<parking_lot::Mutex<Option<i64>>>,
    timing: ElectionTiming,
}

impl Watchdog {
    /// Steps down when `now` is within `margin` of the lease's end since
    /// the last renewal; returns whether it did.
    pub fn check(&self, now: i64, why: &dyn std::fmt::Display) -> bool {
        let mut renewed_at = self.renewed_at.lock();
        let Some(at) = *renewed_at else {
            return false;
        };
        let stop_at = at + ms(self.timing.lease) - ms(self.timing.margin());
        if now < stop_at {
            return false;
        }
        tracing::error!(error = %why, "cannot renew the leader lease; stopping to act before it ends");
        *renewed_at = None;
        self.tx.send_replace(Role::Follower { leader: None });
        true
    }
}

impl std::fmt::Debug for Elector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Elector")
            .field("member", &self.member.id)
            .finish_non_exhaustive()
    }
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl Elector {
    /// Starts as a follower that knows no leader.
    pub fn new(
        store: Arc<dyn ClusterStore>,
        member: Member,
        timing: ElectionTiming,
    ) -> (Self, Leadership) {
        let (tx, rx) = watch::channel(Role::Follower { leader: None });
        let tx = Arc::new(tx);
        let e = Self {
            store,
            member,
            watchdog: Watchdog {
                tx: tx.clone(),
                renewed_at: Arc::default(),
                timing,
            },
            stats: Arc::default(),
        };
        (e, Leadership { rx, _tx: tx })
    }

    pub fn member_id(&self) -> &str {
        &self.member.id
    }

    pub fn timing(&self) -> &ElectionTiming {
        &self.watchdog.timing
    }

    pub fn watchdog(&self) -> Watchdog {
        self.watchdog.clone()
    }

    /// Heartbeat, then take or renew the lease; publishes the role. On a
    /// store error a leader keeps acting only until `margin` before its
    /// lease would end. Returns how long to wait before the next step.
    pub fn step(&mut self, now: i64) -> Duration {
        self.member.last_seen = now;
        let result = self.store.heartbeat(&self.member).and_then(|()| {
            self.store
                .acquire_lease(LEADER_LEASE, &self.member.id, now, ms(self.timing().lease))
        });
        match result {
            Ok(lease) => self.observed(lease, now),
            Err(e) => self.failed(&e, now),
        }
        if self.watchdog.tx.borrow().is_leader() {
            self.timing().renew()
        } else {
            self.timing().retry
        }
    }

    fn observed(&mut self, lease: Lease, now: i64) {
        let tx = &self.watchdog.tx;
        if lease.holder == self.member.id {
            *self.watchdog.renewed_at.lock() = Some(now);
            let fence = lease.fence();
            let new_term = !matches!(&*tx.borrow(), Role::Leader(f) if *f == fence);
            if new_term {
                self.stats.terms.fetch_add(1, Ordering::Relaxed);
                tracing::info!(member = %self.member.id, token = fence.token, "leading: this replica now evaluates rules and sends notifications");
                tx.send_replace(Role::Leader(fence));
            }
        } else {
            if tx.borrow().is_leader() {
                tracing::warn!(member = %self.member.id, leader = %lease.holder, "lost the leader lease; no longer acting");
            }
            *self.watchdog.renewed_at.lock() = None;
            let leader = (lease.expires_at > now).then_some(lease.holder);
            tx.send_if_modified(|r| {
                let next = Role::Follower { leader };
                let changed = *r != next;
                *r = next;
                changed
            });
        }
    }

    fn failed(&mut self, e: &StateError, now: i64) {
        self.stats.failures.fetch_add(1, Ordering::Relaxed);
        let leading = self.watchdog.renewed_at.lock().is_some();
        if !self.watchdog.check(now, e) {
            if leading {
                tracing::warn!(error = %e, "cannot renew the leader lease; still acting until shortly before it ends");
            } else {
                tracing::warn!(error = %e, "cannot reach the state database to join the election");
            }
        }
    }

    /// Gives the lease up at shutdown so a follower need not wait for it
    /// to expire.
    pub fn resign(&mut self) {
        *self.watchdog.renewed_at.lock() = None;
        let role = self
            .watchdog
            .tx
            .send_replace(Role::Follower { leader: None });
        if let Role::Leader(f) = role
            && let Err(e) = self.store.release_lease(&f)
        {
            tracing::warn!(error = %e, "releasing the leader lease failed; it expires by itself");
        }
    }
}

/// One member as `/api/v1/status/cluster` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberStatus {
    pub member: Member,
    /// Heard from within three lease durations.
    pub alive: bool,
    pub leader: bool,
}

/// The cluster as one replica sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterStatus {
    pub enabled: bool,
    pub self_id: String,
    pub role: Role,
    /// The stored lease, expired or not.
    pub lease: Option<Lease>,
    pub members: Vec<MemberStatus>,
}

/// Reads the members and the lease for the status API.
#[derive(Clone)]
pub struct ClusterView {
    store: Option<Arc<dyn ClusterStore>>,
    self_id: String,
    lease: Duration,
    leadership: Leadership,
}

impl std::fmt::Debug for ClusterView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterView")
            .field("self_id", &self.self_id)
            .finish_non_exhaustive()
    }
}

impl ClusterView {
    /// No cluster: one member, always leading.
    pub fn single(self_id: String) -> Self {
        Self {
            store: None,
            self_id,
            lease: Duration::ZERO,
            leadership: Leadership::single(),
        }
    }

    pub fn new(
        store: Arc<dyn ClusterStore>,
        self_id: String,
        lease: Duration,
        leadership: Leadership,
    ) -> Self {
        Self {
            store: Some(store),
            self_id,
            lease,
            leadership,
        }
    }

    pub fn leadership(&self) -> &Leadership {
        &self.leadership
    }

    pub fn self_id(&self) -> &str {
        &self.self_id
    }

    /// Blocking: reads the state database.
    pub fn status(&self, now: i64) -> Result<ClusterStatus, StateError> {
        let role = self.leadership.role();
        let Some(store) = &self.store else {
            return Ok(ClusterStatus {
                enabled: false,
                self_id: self.self_id.clone(),
                role,
                lease: None,
                members: Vec::new(),
            });
        };
        let lease = store.lease(LEADER_LEASE)?;
        let live_holder = lease
            .as_ref()
            .filter(|l| l.expires_at > now)
            .map(|l| l.holder.clone());
        let members = store
            .members()?
            .into_iter()
            .map(|m| MemberStatus {
                alive: m.last_seen >= now - 3 * ms(self.lease),
                leader: live_holder.as_deref() == Some(m.id.as_str()),
                member: m,
            })
            .collect();
        Ok(ClusterStatus {
            enabled: true,
            self_id: self.self_id.clone(),
            role,
            lease,
            members,
        })
    }
}
