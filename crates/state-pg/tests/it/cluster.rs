//! What only real concurrency shows: a reader following the shared alert
//! log while replicas append never skips an entry (sequence numbers become
//! visible in order), and a fenced write racing a lease takeover either
//! lands before it or is refused.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use homeostat_model::Fingerprint;
use homeostat_state::{
    AlertLog, ClusterStore, LEADER_LEASE, LoggedAlert, NflogEntry, NotificationLog, StateError,
};

use crate::fresh;

fn alert(origin: &str, n: u64) -> LoggedAlert {
    LoggedAlert {
        fingerprint: Fingerprint(n),
        labels: BTreeMap::from([("alertname".to_string(), format!("A{n}"))]),
        annotations: BTreeMap::new(),
        starts_at: 1_000,
        ends_at: 9_000,
        generator_url: String::new(),
        pending_since: None,
        timeout: false,
        updated_at: 1_000,
        origin: origin.to_string(),
    }
}

#[test]
fn a_follower_of_the_alert_log_never_skips_an_entry() {
    let Some(state) = fresh() else { return };
    let state = Arc::new(state);
    let done = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..4u64)
        .map(|w| {
            let s = state.clone();
            std::thread::spawn(move || {
                for n in 0..50 {
                    s.append_alerts(&[alert(&format!("w{w}"), w * 1_000 + n)])
                        .unwrap();
                }
            })
        })
        .collect();
    let reader = {
        let (s, done) = (state.clone(), done.clone());
        std::thread::spawn(move || {
            let mut cursor = 0;
            let mut seen = Vec::new();
            loop {
                let finished = done.load(Ordering::SeqCst);
                for (seq, a) in s.alerts_after(cursor, 1_000).unwrap() {
                    cursor = seq;
                    seen.push(a.fingerprint);
                }
                if finished {
                    return seen;
                }
            }
        })
    };
    for w in writers {
        w.join().unwrap();
    }
    done.store(true, Ordering::SeqCst);
    let mut seen = reader.join().unwrap();
    assert_eq!(seen.len(), 200, "the follower saw every append once");
    seen.sort_unstable();
    seen.dedup();
    assert_eq!(seen.len(), 200);
}

#[test]
fn a_fenced_write_racing_a_takeover_lands_before_it_or_is_refused() {
    let Some(state) = fresh() else { return };
    let state = Arc::new(state);
    let old = state.acquire_lease(LEADER_LEASE, "a", 0, 100).unwrap();
    let fence = old.fence();
    let writer = {
        let s = state.clone();
        std::thread::spawn(move || {
            let mut landed = 0;
            for n in 0..200 {
                let e = NflogEntry {
                    receiver: "pager".into(),
                    group_key: format!("g{n}"),
                    firing_fingerprints: vec![],
                    resolved_fingerprints: vec![],
                    sent_at: n,
                    expires_at: 1_000_000,
                };
                match s.record(&e, Some(&fence)) {
                    Ok(()) => landed += 1,
                    Err(StateError::Fenced { .. }) => {}
                    Err(e) => panic!("{e}"),
                }
            }
            landed
        })
    };
    // The lease expired at 100: b takes it while a keeps writing.
    let new = state.acquire_lease(LEADER_LEASE, "b", 200, 10_000).unwrap();
    assert_eq!((new.holder.as_str(), new.token), ("b", 2));
    let landed = writer.join().unwrap();
    // Everything a wrote landed before the takeover: after it, with the
    // new token stored, no write of a's may land.
    let after = NflogEntry {
        receiver: "pager".into(),
        group_key: "late".into(),
        firing_fingerprints: vec![],
        resolved_fingerprints: vec![],
        sent_at: 0,
        expires_at: 1,
    };
    assert!(matches!(
        state.record(&after, Some(&old.fence())),
        Err(StateError::Fenced { .. })
    ));
    assert!(landed <= 200);
}
