//! Leases, fencing, members and the shared alert log.

use std::collections::BTreeMap;
use std::sync::Arc;

use homeostat_model::Fingerprint;
use serde_json::json;

use crate::{
    AlertLog, ClusterStore, LEADER_LEASE, LoggedAlert, Member, NflogEntry, OutboxEntry,
    OutboxState, StateBackend, StateError,
};

pub fn leases(s: &dyn ClusterStore) {
    assert_eq!(s.lease(LEADER_LEASE).expect("lease"), None);
    let a = s
        .acquire_lease(LEADER_LEASE, "a", 1_000, 10_000)
        .expect("acquire");
    assert_eq!(
        (a.holder.as_str(), a.token, a.acquired_at, a.expires_at),
        ("a", 1, 1_000, 11_000)
    );
    // b cannot take a lease that has not expired.
    let seen = s
        .acquire_lease(LEADER_LEASE, "b", 5_000, 10_000)
        .expect("acquire");
    assert_eq!(
        (seen.holder.as_str(), seen.token),
        ("a", 1),
        "b sees a's lease"
    );
    // a renews: same token, later expiry, same acquired_at.
    let renewed = s
        .acquire_lease(LEADER_LEASE, "a", 6_000, 10_000)
        .expect("renew");
    assert_eq!(
        (renewed.token, renewed.acquired_at, renewed.expires_at),
        (1, 1_000, 16_000)
    );
    // Expiry is exclusive: at 16_000 the lease is free.
    let b = s
        .acquire_lease(LEADER_LEASE, "b", 16_000, 10_000)
        .expect("take over");
    assert_eq!(
        (b.holder.as_str(), b.token, b.acquired_at),
        ("b", 2, 16_000)
    );
    assert_eq!(s.lease(LEADER_LEASE).expect("lease"), Some(b.clone()));
    // a, late, cannot renew.
    let late = s
        .acquire_lease(LEADER_LEASE, "a", 17_000, 10_000)
        .expect("late renew");
    assert_eq!((late.holder.as_str(), late.token), ("b", 2));
    // Releasing with a stale fence is a no-op; b's release frees it at once.
    s.release_lease(&a.fence()).expect("stale release");
    assert_eq!(
        s.lease(LEADER_LEASE).expect("lease").map(|l| l.holder),
        Some("b".into())
    );
    s.release_lease(&b.fence()).expect("release");
    let a2 = s
        .acquire_lease(LEADER_LEASE, "a", 18_000, 10_000)
        .expect("after release");
    assert_eq!(
        (a2.holder.as_str(), a2.token),
        ("a", 3),
        "tokens never repeat"
    );
    // Leases are independent by name.
    let other = s
        .acquire_lease("other", "b", 18_000, 10_000)
        .expect("other lease");
    assert_eq!(other.token, 1);
}

/// Many replicas racing for one free lease: exactly one wins per round.
pub fn lease_race<B: StateBackend + 'static>(s: Arc<B>) {
    for round in 0..5i64 {
        let now = 1_000 + round * 100_000;
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let s = s.clone();
                std::thread::spawn(move || {
                    s.acquire_lease(LEADER_LEASE, &format!("r{i}"), now, 10_000)
                        .expect("acquire")
                })
            })
            .collect();
        let leases: Vec<_> = handles
            .into_iter()
            .map(|h| h.join().expect("join"))
            .collect();
        let first = &leases[0];
        assert!(
            leases.iter().all(|l| l == first),
            "every racer sees the same winner: {leases:?}"
        );
        assert_eq!(first.token, round + 1);
    }
}

pub fn fencing<B: StateBackend + ?Sized>(s: &B) {
    let a = s
        .acquire_lease(LEADER_LEASE, "a", 1_000, 10_000)
        .expect("acquire");
    let fa = a.fence();
    let entry = NflogEntry {
        receiver: "pager".into(),
        group_key: "g".into(),
        firing_fingerprints: vec![Fingerprint(1)],
        resolved_fingerprints: vec![],
        sent_at: 1_000,
        expires_at: 100_000,
    };
    s.record(&entry, Some(&fa)).expect("leader records");
    assert_eq!(s.last("pager", "g").expect("last"), Some(entry.clone()));
    let page = OutboxEntry {
        key: "page/1".into(),
        kind: "page".into(),
        doc: json!({}),
        created_at: 1_000,
        expires_at: 100_000,
        state: OutboxState::Pending,
        attempts: 0,
        finished_at: None,
    };
    assert!(s.enqueue(&page, Some(&fa)).expect("leader enqueues"));

    // b takes over after expiry; a's fence no longer holds.
    let b = s
        .acquire_lease(LEADER_LEASE, "b", 20_000, 10_000)
        .expect("take over");
    let later = NflogEntry {
        sent_at: 20_000,
        ..entry.clone()
    };
    let err = s.record(&later, Some(&fa)).expect_err("deposed leader");
    assert!(matches!(err, StateError::Fenced { token: 1, .. }), "{err}");
    assert_eq!(
        s.last("pager", "g").expect("last"),
        Some(entry.clone()),
        "nothing written"
    );
    let page2 = OutboxEntry {
        key: "page/2".into(),
        ..page.clone()
    };
    assert!(matches!(
        s.enqueue(&page2, Some(&fa)),
        Err(StateError::Fenced { .. })
    ));
    assert_eq!(s.outbox_entry("page/2").expect("entry"), None);
    assert!(matches!(
        s.forget("pager", "g", Some(&fa)),
        Err(StateError::Fenced { .. })
    ));
    // A fence naming a lease that never existed fails too.
    let mut bogus = b.fence();
    bogus.lease = "nope".into();
    assert!(matches!(
        s.record(&later, Some(&bogus)),
        Err(StateError::Fenced { .. })
    ));

    let fb = b.fence();
    s.record(&later, Some(&fb)).expect("new leader records");
    assert!(s.enqueue(&page2, Some(&fb)).expect("new leader enqueues"));
    s.forget("pager", "g", Some(&fb)).expect("forget");
    assert_eq!(s.last("pager", "g").expect("last"), None);
    // Unfenced writes (a single replica) always go through.
    s.record(&entry, None).expect("unfenced");
}

pub fn members(s: &dyn ClusterStore) {
    assert!(s.members().expect("members").is_empty());
    let mut a = Member {
        id: "a".into(),
        address: "http://10.0.0.1:9797".into(),
        version: "0.1.0".into(),
        started_at: 1_000,
        last_seen: 1_000,
    };
    let b = Member {
        id: "b".into(),
        last_seen: 2_000,
        ..a.clone()
    };
    s.heartbeat(&a).expect("heartbeat");
    s.heartbeat(&b).expect("heartbeat");
    a.last_seen = 5_000;
    s.heartbeat(&a).expect("heartbeat again");
    let mut got = s.members().expect("members");
    got.sort_by(|x, y| x.id.cmp(&y.id));
    assert_eq!(got, vec![a.clone(), b]);
    assert_eq!(s.forget_members(3_000).expect("forget"), 1);
    assert_eq!(s.members().expect("members"), vec![a]);
}

fn logged(fp: u64, updated_at: i64, ends_at: i64, origin: &str) -> LoggedAlert {
    let mut labels = BTreeMap::new();
    labels.insert("alertname".to_string(), format!("A{fp}"));
    labels.insert(
        "instance".to_string(),
        "host:9100 \"quoted\" ünï".to_string(),
    );
    let mut annotations = BTreeMap::new();
    annotations.insert("summary".to_string(), "line\nbreak".to_string());
    LoggedAlert {
        fingerprint: Fingerprint(fp),
        labels,
        annotations,
        starts_at: 1_000,
        ends_at,
        generator_url: "http://prom/graph?g0.expr=up".into(),
        pending_since: (fp % 2 == 1).then_some(500),
        timeout: fp.is_multiple_of(2),
        updated_at,
        origin: origin.into(),
    }
}

pub fn alert_log(s: &dyn AlertLog) {
    assert_eq!(s.append_alerts(&[]).expect("empty"), 0);
    assert!(s.alerts_after(0, 10).expect("read").is_empty());
    let a1 = logged(1, 1_000, 50_000, "a");
    let a2 = logged(u64::MAX, 1_000, 50_000, "b");
    let last = s.append_alerts(&[a1.clone(), a2.clone()]).expect("append");
    let all = s.alerts_after(0, 10).expect("read");
    assert_eq!(all.len(), 2);
    assert_eq!(all[1].0, last);
    assert!(all[0].0 < all[1].0, "sequence grows");
    assert_eq!(
        (all[0].1.clone(), all[1].1.clone()),
        (a1.clone(), a2.clone())
    );
    assert_eq!(s.alerts_after(all[0].0, 10).expect("after").len(), 1);
    assert_eq!(s.alerts_after(0, 1).expect("limit").len(), 1);
    // A newer entry of fingerprint 1 supersedes the first.
    let a1b = logged(1, 5_000, 60_000, "a");
    let last2 = s.append_alerts(std::slice::from_ref(&a1b)).expect("append");
    assert!(last2 > last);
    assert_eq!(s.append_alerts(&[]).expect("highest"), last2);
    // Nothing ended before 40_000; the superseded entry goes once older than 2_000.
    assert_eq!(s.gc_alerts(40_000, 1_000).expect("gc"), 0);
    assert_eq!(s.gc_alerts(40_000, 2_000).expect("gc"), 1);
    let left: Vec<_> = s
        .alerts_after(0, 10)
        .expect("read")
        .into_iter()
        .map(|(_, a)| a)
        .collect();
    assert_eq!(left, vec![a2, a1b.clone()]);
    // Ended entries go; sequence numbers are not reused.
    assert_eq!(s.gc_alerts(55_000, 0).expect("gc"), 1);
    let after = s
        .append_alerts(&[logged(7, 9_000, 90_000, "a")])
        .expect("append");
    assert!(after > last2);
}
