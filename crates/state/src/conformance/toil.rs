//! Toil entries: record once per id, list by time range, team and service,
//! oldest first, every field kept.

use crate::{StateError, ToilEntry, ToilFilter, ToilSource, ToilStore};

pub(crate) fn toil_entry(
    id: &str,
    team: Option<&str>,
    service: Option<&str>,
    at_ms: i64,
) -> ToilEntry {
    ToilEntry {
        id: id.into(),
        at_ms,
        actor: "ana@example.com".into(),
        service: service.map(str::to_string),
        team: team.map(str::to_string),
        kind: "disk-cleanup".into(),
        subject: "db-3: /var full".into(),
        minutes: 12.5,
        source: ToilSource::Manual,
        detail: "rotated logs | by hand".into(),
    }
}

pub fn toil(s: &dyn ToilStore) {
    let a = toil_entry("t-1", Some("storage"), Some("db"), 2_000);
    s.record_toil(&a).expect("record");
    assert!(matches!(
        s.record_toil(&a),
        Err(StateError::Conflict { .. })
    ));
    assert!(matches!(
        s.record_toil(&ToilEntry {
            minutes: 0.0,
            ..toil_entry("t-bad", None, None, 1)
        }),
        Err(StateError::Invalid { .. })
    ));
    let b = ToilEntry {
        source: ToilSource::Derived,
        detail: String::new(),
        ..toil_entry("t-2", Some("web"), Some("checkout"), 1_000)
    };
    let c = toil_entry("t-0", None, None, 2_000);
    s.record_toil(&b).expect("record");
    s.record_toil(&c).expect("record");
    let ids = |f: ToilFilter| -> Vec<String> {
        s.list_toil(&f)
            .expect("list")
            .into_iter()
            .map(|e| e.id)
            .collect()
    };

    let all = s.list_toil(&ToilFilter::default()).expect("list");
    assert_eq!(
        all,
        vec![b.clone(), c.clone(), a.clone()],
        "oldest first, then by id; every field kept"
    );
    assert_eq!(
        ids(ToilFilter {
            since: 2_000,
            ..Default::default()
        }),
        ["t-0", "t-1"]
    );
    assert_eq!(
        ids(ToilFilter {
            until: Some(2_000),
            ..Default::default()
        }),
        ["t-2"]
    );
    assert_eq!(
        ids(ToilFilter {
            team: Some("storage".into()),
            ..Default::default()
        }),
        ["t-1"]
    );
    assert_eq!(
        ids(ToilFilter {
            service: Some("checkout".into()),
            ..Default::default()
        }),
        ["t-2"]
    );
    assert!(
        ids(ToilFilter {
            team: Some("web".into()),
            service: Some("db".into()),
            ..Default::default()
        })
        .is_empty()
    );
}
