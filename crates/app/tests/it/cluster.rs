//! The election on shared in-memory state: one leader, failover after the
//! lease, a deposed leader fenced off, a partitioned leader stepping down.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use homeostat_app::{ClusterView, ElectionTiming, Elector, Role};
use homeostat_state::{
    ClusterStore, Fence, Lease, MemState, Member, NflogEntry, NotificationLog, StateError,
};

fn member(id: &str) -> Member {
    Member {
        id: id.into(),
        address: format!("http://{id}:9797"),
        version: "test".into(),
        started_at: 0,
        last_seen: 0,
    }
}

fn timing() -> ElectionTiming {
    ElectionTiming {
        lease: Duration::from_secs(10),
        retry: Duration::from_secs(1),
    }
}

#[test]
fn one_leader_then_failover_after_the_lease() {
    let state = Arc::new(MemState::default());
    let (mut a, la) = Elector::new(state.clone(), member("a"), timing());
    let (mut b, lb) = Elector::new(state.clone(), member("b"), timing());
    assert!(
        !la.is_leader() && la.acting().is_none(),
        "followers until elected"
    );
    assert_eq!(
        a.step(0),
        Duration::from_millis(2_500),
        "a leader renews 4× per lease"
    );
    assert_eq!(b.step(100), Duration::from_secs(1));
    assert!(la.is_leader());
    assert_eq!(
        lb.role(),
        Role::Follower {
            leader: Some("a".into())
        }
    );
    let fence_a = la.acting().and_then(|x| x.fence().cloned()).expect("fence");
    assert_eq!(fence_a.token, 1);

    // a renews; b keeps trying.
    a.step(2_500);
    b.step(9_000);
    assert!(!lb.is_leader());
    // a dies after its renewal at 2_500: its lease ends at 12_500.
    b.step(12_499);
    assert!(!lb.is_leader());
    b.step(12_500);
    let fence_b = lb
        .acting()
        .and_then(|x| x.fence().cloned())
        .expect("b leads");
    assert_eq!(fence_b.token, 2);

    // a comes back (a long pause): its old fence no longer writes.
    let entry = NflogEntry {
        receiver: "r".into(),
        group_key: "g".into(),
        firing_fingerprints: vec![],
        resolved_fingerprints: vec![],
        sent_at: 13_000,
        expires_at: 99_000,
    };
    assert!(matches!(
        state.record(&entry, Some(&fence_a)),
        Err(StateError::Fenced { .. })
    ));
    a.step(13_000);
    assert_eq!(
        la.role(),
        Role::Follower {
            leader: Some("b".into())
        }
    );
    state
        .record(&entry, Some(&fence_b))
        .expect("the leader writes");

    let status = ClusterView::new(
        state.clone(),
        "a".into(),
        Duration::from_secs(10),
        la.clone(),
    )
    .status(13_000)
    .expect("status");
    assert!(status.enabled);
    assert_eq!(status.lease.map(|l| l.holder), Some("b".into()));
    let leaders: Vec<_> = status
        .members
        .iter()
        .filter(|m| m.leader)
        .map(|m| m.member.id.clone())
        .collect();
    assert_eq!(leaders, vec!["b".to_string()]);
    assert!(status.members.iter().all(|m| m.alive));
}

#[test]
fn resigning_hands_over_at_once() {
    let state = Arc::new(MemState::default());
    let (mut a, la) = Elector::new(state.clone(), member("a"), timing());
    let (mut b, lb) = Elector::new(state.clone(), member("b"), timing());
    a.step(0);
    a.resign();
    assert!(!la.is_leader());
    b.step(1_000);
    assert!(lb.is_leader(), "no wait for the expiry");
}

/// A store that can be cut off, like a partition from the database.
struct Partitioned {
    inner: MemState,
    down: AtomicBool,
}

impl Partitioned {
    fn check(&self) -> Result<(), StateError> {
        if self.down.load(Ordering::Relaxed) {
            return Err(StateError::backend(
                "reach the database",
                std::io::Error::other("partitioned"),
            ));
        }
        Ok(())
    }
}

impl ClusterStore for Partitioned {
    fn heartbeat(&self, m: &Member) -> Result<(), StateError> {
        self.check()?;
        self.inner.heartbeat(m)
    }
    fn members(&self) -> Result<Vec<Member>, StateError> {
        self.check()?;
        self.inner.members()
    }
    fn forget_members(&self, before: i64) -> Result<usize, StateError> {
        self.check()?;
        self.inner.forget_members(before)
    }
    fn acquire_lease(&self, n: &str, h: &str, now: i64, ttl: i64) -> Result<Lease, StateError> {
        self.check()?;
        self.inner.acquire_lease(n, h, now, ttl)
    }
    fn lease(&self, n: &str) -> Result<Option<Lease>, StateError> {
        self.check()?;
        self.inner.lease(n)
    }
    fn release_lease(&self, f: &Fence) -> Result<(), StateError> {
        self.check()?;
        self.inner.release_lease(f)
    }
}

#[test]
fn a_partitioned_leader_stops_before_its_lease_ends() {
    let store = Arc::new(Partitioned {
        inner: MemState::default(),
        down: AtomicBool::new(false),
    });
    let (mut a, la) = Elector::new(store.clone(), member("a"), timing());
    a.step(0);
    assert!(la.is_leader());
    store.down.store(true, Ordering::Relaxed);
    // Lease ends at 10_000; margin is 2 s: acting until 8_000.
    a.step(2_500);
    a.step(5_000);
    assert!(
        !a.watchdog().check(7_999, &"hung"),
        "a hanging renewal: still in time"
    );
    assert!(la.is_leader());
    a.step(8_000);
    assert!(!la.is_leader(), "stopped 2 s before the lease ends");
    assert!(la.acting().is_none());
    // The database returns: a takes its own (still unexpired) lease back.
    store.down.store(false, Ordering::Relaxed);
    a.step(9_000);
    assert!(la.is_leader());
}
