//! Remediation runs: insert, update as the run moves on, list by policy,
//! target and time, the runs not yet ended.

use serde_json::json;

use crate::{RemediationFilter, RemediationRun, RemediationStore, StateError};

pub(crate) fn run(id: &str, policy: &str, target: &str, started_at: i64) -> RemediationRun {
    RemediationRun {
        id: id.into(),
        policy: policy.into(),
        target: target.into(),
        service: "checkout".into(),
        incident: Some(7),
        state: "acting".into(),
        started_at,
        ended_at: None,
        run: json!({"state": {"state": "acting", "step": 0}, "steps": [{"detail": "x | y", "n": 2.5}]}),
    }
}

pub fn remediation_runs(s: &dyn RemediationStore) {
    assert_eq!(s.get_remediation("rem-1").expect("get"), None);
    let mut a = run("rem-1", "restart", "instance=a", 1_000);
    s.insert_remediation(&a).expect("insert");
    assert!(matches!(
        s.insert_remediation(&a),
        Err(StateError::Conflict { .. })
    ));
    assert_eq!(s.get_remediation("rem-1").expect("get"), Some(a.clone()));

    let b = RemediationRun {
        incident: None,
        ..run("rem-2", "restart", "instance=b", 2_000)
    };
    let c = run("rem-3", "drain", "instance=a", 3_000);
    s.insert_remediation(&b).expect("insert");
    s.insert_remediation(&c).expect("insert");

    a.state = "recovered".into();
    a.ended_at = Some(5_000);
    a.run = json!({"state": {"state": "recovered", "step": 0}});
    s.update_remediation(&a).expect("update");
    assert_eq!(s.get_remediation("rem-1").expect("get"), Some(a.clone()));
    assert!(matches!(
        s.update_remediation(&run("nope", "p", "t", 1)),
        Err(StateError::NotFound { .. })
    ));
    assert!(matches!(
        s.insert_remediation(&run("rem-4", " ", "t", 1)),
        Err(StateError::Invalid { .. })
    ));

    let ids = |f: &RemediationFilter| -> Vec<String> {
        s.list_remediations(f)
            .expect("list")
            .into_iter()
            .map(|r| r.id)
            .collect()
    };
    assert_eq!(
        ids(&RemediationFilter::default()),
        ["rem-3", "rem-2", "rem-1"]
    );
    let by_policy = RemediationFilter {
        policy: Some("restart".into()),
        ..RemediationFilter::default()
    };
    assert_eq!(ids(&by_policy), ["rem-2", "rem-1"]);
    let by_target = RemediationFilter {
        policy: Some("restart".into()),
        target: Some("instance=a".into()),
        ..RemediationFilter::default()
    };
    assert_eq!(ids(&by_target), ["rem-1"]);
    let since = RemediationFilter {
        since: 2_000,
        limit: 1,
        ..RemediationFilter::default()
    };
    assert_eq!(ids(&since), ["rem-3"]);

    let active: Vec<String> = s
        .active_remediations()
        .expect("active")
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(active, ["rem-2", "rem-3"]);
}
