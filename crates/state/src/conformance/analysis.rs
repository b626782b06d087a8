//! Analysis runs: saved whole, measurements appended and never rewritten,
//! read back exactly, listed oldest first, deleted with their measurements.

use serde_json::json;

use crate::{AnalysisMeasurement, AnalysisRecord, AnalysisStore, StateError};

pub(crate) fn measurement(at: i64, verdict: &str) -> AnalysisMeasurement {
    AnalysisMeasurement {
        at,
        verdict: verdict.into(),
        score: 87.5,
        reason: format!("{verdict} at {at}"),
    }
}

pub(crate) fn run(id: &str, started_at: i64) -> AnalysisRecord {
    AnalysisRecord {
        id: id.into(),
        service: Some("checkout".into()),
        deploy_id: Some(7),
        phase: "Running".into(),
        started_at,
        finished_at: None,
        rollback_pending: false,
        run: json!({"id": id, "spec": {"interval": 1000, "count": 3}}),
        request: json!({"metrics": [{"name": "errors", "query": "x{g=\"{{.group}}\"}"}]}),
        last: None,
        measurements: vec![],
    }
}

pub fn analyses(s: &dyn AnalysisStore) {
    assert_eq!(s.get_analysis("run-1").expect("get"), None);
    let mut a = run("run-1", 2_000);
    s.save_analysis(&a).expect("save");
    assert_eq!(s.get_analysis("run-1").expect("get"), Some(a.clone()));

    // One judgment, then the run fails on the second: header replaced,
    // measurements appended in order.
    a.measurements.push(measurement(3_000, "Pass"));
    a.last = Some(json!({"verdict": "Pass", "score": 100.0, "p": null}));
    s.save_analysis(&a).expect("save");
    a.measurements.push(measurement(4_000, "Fail"));
    a.phase = "Failed".into();
    a.finished_at = Some(4_000);
    a.rollback_pending = true;
    s.save_analysis(&a).expect("save");
    s.save_analysis(&a).expect("saving the same record again");
    assert_eq!(s.get_analysis("run-1").expect("get"), Some(a.clone()));

    // Stored measurements are never rewritten by a later save.
    let mut stale = a.clone();
    stale.measurements[0].verdict = "Fail".into();
    stale.rollback_pending = false;
    s.save_analysis(&stale).expect("save");
    let got = s.get_analysis("run-1").expect("get").expect("exists");
    assert_eq!(got.measurements, a.measurements);
    assert!(!got.rollback_pending, "the header is replaced");

    let b = run("run-2", 1_000);
    s.save_analysis(&b).expect("save");
    let ids: Vec<String> = s
        .list_analyses()
        .expect("list")
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(ids, ["run-2", "run-1"], "oldest start first");

    assert!(s.delete_analysis("run-1").expect("delete"));
    assert!(!s.delete_analysis("run-1").expect("delete twice"));
    assert_eq!(s.get_analysis("run-1").expect("get"), None);
    // A new run under a deleted id starts without the old measurements.
    s.save_analysis(&run("run-1", 5_000)).expect("save");
    assert!(
        s.get_analysis("run-1")
            .expect("get")
            .expect("exists")
            .measurements
            .is_empty()
    );

    let mut bad = run(" ", 1);
    assert!(matches!(
        s.save_analysis(&bad),
        Err(StateError::Invalid { .. })
    ));
    bad.id = "run-9".into();
    bad.phase = String::new();
    assert!(matches!(
        s.save_analysis(&bad),
        Err(StateError::Invalid { .. })
    ));
}
