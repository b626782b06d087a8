//! Experiment runs (insert, update as the journal grows, list by service
//! and time, running ones) and the termination log.

use serde_json::json;

use crate::{ChaosRun, ChaosStore, NewTermination, RUN_RUNNING, StateError};

pub(crate) fn chaos_run(id: &str, service: Option<&str>, started_at: i64) -> ChaosRun {
    ChaosRun {
        id: id.into(),
        title: format!("experiment {id}"),
        service: service.map(str::to_string),
        status: RUN_RUNNING.into(),
        started_at,
        finished_at: None,
        principal: "token:ci".into(),
        journal: json!({"chaoslib-version": "1.44.0", "status": "running", "run": []}),
    }
}

pub(crate) fn termination(group: &str, target: &str, at_ms: i64) -> NewTermination {
    NewTermination {
        group: group.into(),
        service: "checkout".into(),
        target: target.into(),
        at_ms,
        action: "command:/usr/local/bin/terminate".into(),
        outcome: "ok".into(),
    }
}

pub fn chaos_runs(s: &dyn ChaosStore) {
    assert_eq!(s.get_run("exp-1").expect("get"), None);
    let mut a = chaos_run("exp-1", Some("checkout"), 1_000);
    s.insert_run(&a).expect("insert");
    assert!(matches!(s.insert_run(&a), Err(StateError::Conflict { .. })));
    assert_eq!(s.get_run("exp-1").expect("get"), Some(a.clone()));

    a.journal =
        json!({"status": "aborted", "run": [{"status": "succeeded", "output": {"x": [1, 2.5]}}]});
    a.status = "aborted".into();
    a.finished_at = Some(5_000);
    s.update_run(&a).expect("update");
    assert_eq!(s.get_run("exp-1").expect("get"), Some(a.clone()));
    assert!(matches!(
        s.update_run(&chaos_run("missing", None, 1)),
        Err(StateError::NotFound { .. })
    ));
    assert!(matches!(
        s.insert_run(&chaos_run(" ", None, 1)),
        Err(StateError::Invalid { .. })
    ));

    let b = chaos_run("exp-2", Some("search"), 2_000);
    let c = chaos_run("exp-3", None, 3_000);
    s.insert_run(&b).expect("insert");
    s.insert_run(&c).expect("insert");
    let ids = |v: Vec<ChaosRun>| v.into_iter().map(|r| r.id).collect::<Vec<_>>();
    assert_eq!(
        ids(s.list_runs(None, 0, 10).expect("list")),
        ["exp-3", "exp-2", "exp-1"]
    );
    assert_eq!(
        ids(s.list_runs(None, 0, 2).expect("list")),
        ["exp-3", "exp-2"]
    );
    assert_eq!(
        ids(s.list_runs(None, 2_000, 10).expect("list")),
        ["exp-3", "exp-2"]
    );
    assert_eq!(
        ids(s.list_runs(Some("checkout"), 0, 10).expect("list")),
        ["exp-1"]
    );
    assert_eq!(ids(s.running_runs().expect("running")), ["exp-2", "exp-3"]);
}

pub fn terminations(s: &dyn ChaosStore) {
    assert_eq!(s.last_termination("web").expect("last"), None);
    let first = s
        .record_termination(&termination("web", "i-1", 1_000))
        .expect("record");
    let second = s
        .record_termination(&termination("web", "i-2", 5_000))
        .expect("record");
    assert!(second.id > first.id);
    s.record_termination(&termination("db", "i-9", 3_000))
        .expect("record");
    assert_eq!(second.target, "i-2");
    assert_eq!(second.at_ms, 5_000);
    assert_eq!(
        s.last_termination("web").expect("last"),
        Some(second.clone())
    );
    let all = s.list_terminations(None, 0, 10).expect("list");
    assert_eq!(
        all.iter().map(|t| t.target.as_str()).collect::<Vec<_>>(),
        ["i-2", "i-9", "i-1"]
    );
    assert_eq!(
        s.list_terminations(Some("web"), 2_000, 10).expect("list"),
        vec![second]
    );
    assert_eq!(s.list_terminations(None, 0, 1).expect("list").len(), 1);
    assert!(matches!(
        s.record_termination(&termination("", "i-1", 1)),
        Err(StateError::Invalid { .. })
    ));
}
