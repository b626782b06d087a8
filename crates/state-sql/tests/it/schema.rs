//! Schema versioning: new databases get the current version, reopening
//! keeps it, and a newer one is refused by name.

use homeostat_state::StateError;
use homeostat_state_sql::{DB_FILE, SCHEMA_VERSION, SqliteState};

#[test]
fn new_database_has_the_current_version() {
    let dir = tempfile::tempdir().unwrap();
    let s = SqliteState::open(dir.path()).unwrap();
    assert_eq!(s.schema_version().unwrap(), SCHEMA_VERSION);
    drop(s);
    let s = SqliteState::open(dir.path()).unwrap();
    assert_eq!(s.schema_version().unwrap(), SCHEMA_VERSION);
    let conn = rusqlite::Connection::open(dir.path().join(DB_FILE)).unwrap();
    let rows: i64 = conn
        .query_row("SELECT count(*) FROM schema_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, SCHEMA_VERSION, "one row per applied migration");
}

#[test]
fn newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    drop(SqliteState::open(dir.path()).unwrap());
    let path = dir.path().join(DB_FILE);
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute(
        "INSERT INTO schema_version (version) VALUES (?1)",
        [SCHEMA_VERSION + 1],
    )
    .unwrap();
    drop(conn);

    let err = SqliteState::open(dir.path()).unwrap_err();
    match &err {
        StateError::SchemaTooNew {
            found, supported, ..
        } => {
            assert_eq!((*found, *supported), (SCHEMA_VERSION + 1, SCHEMA_VERSION));
        }
        other => panic!("expected SchemaTooNew, got {other:?}"),
    }
    let msg = err.to_string();
    assert!(msg.contains("state.db") && msg.contains("newer"), "{msg}");
}

#[test]
fn unreadable_path_is_a_backend_error() {
    let dir = tempfile::tempdir().unwrap();
    // A directory where the database file should be.
    std::fs::create_dir(dir.path().join(DB_FILE)).unwrap();
    let err = SqliteState::open(dir.path()).unwrap_err();
    assert!(matches!(err, StateError::Backend { .. }), "{err:?}");
    assert_eq!(err.kind(), homeostat_model::ErrorKind::Internal);
}

/// A database written by schema v1 keeps opening, migrating forward, and
/// reading back every record kind.
#[test]
fn v1_database_still_opens() {
    use homeostat_state::{
        AuditLog, EscalationStore, IncidentId, IncidentStore, NotificationLog, SilenceStore,
    };

    let dir = tempfile::tempdir().unwrap();
    let dump = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/fixtures/state-v1.sql"),
    )
    .unwrap();
    let conn = rusqlite::Connection::open(dir.path().join(DB_FILE)).unwrap();
    conn.execute_batch(&dump).unwrap();
    drop(conn);

    let s = SqliteState::open(dir.path()).unwrap();
    assert_eq!(s.schema_version().unwrap(), SCHEMA_VERSION);
    let silence = SilenceStore::get(&s, "5f0c2a5e-3b1d-4c7a-9a40-2d8f1e6b7c01").unwrap();
    assert_eq!(silence.matchers[0].value, "api");
    let nflog = s.last("pager", "g").unwrap().unwrap();
    // Stored as numbers before `Fingerprint` existed; read back unchanged.
    let firing: Vec<u64> = nflog.firing_fingerprints.iter().map(|f| f.0).collect();
    assert_eq!(firing, vec![u64::MAX, 3]);
    assert!(EscalationStore::get(&s, "INC-1").unwrap().is_some());
    let incident = IncidentStore::get(&s, IncidentId(1)).unwrap();
    assert_eq!(incident.title, "db down");
    assert_eq!(
        s.find_open_by_group_key("g").unwrap().map(|i| i.id),
        Some(IncidentId(1))
    );
    let timeline = s.timeline(IncidentId(1)).unwrap();
    assert_eq!(timeline[0].data["fingerprint"].as_u64(), Some(u64::MAX));
    let items = s.action_items(IncidentId(1)).unwrap();
    assert_eq!(
        items[0].due.map(|d| d.to_string()).as_deref(),
        Some("2026-12-24")
    );
    assert_eq!(s.list_by_object("incident/INC-1", 10).unwrap().len(), 1);
    // Tables of later versions are there, empty.
    assert!(
        homeostat_state::ToilStore::list_toil(&s, &Default::default())
            .unwrap()
            .is_empty()
    );
}

/// A database written by schema v2 (deploys and gate overrides, before
/// analysis runs were persisted) migrates to the current version, keeps its
/// deploys, rollbacks and overrides, and takes analysis runs.
#[test]
fn v2_database_migrates_and_keeps_its_deploys() {
    use homeostat_state::{AnalysisRecord, AnalysisStore, DeployStore, OverrideStore};

    let dir = tempfile::tempdir().unwrap();
    let dump = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/fixtures/state-v2.sql"),
    )
    .unwrap();
    let conn = rusqlite::Connection::open(dir.path().join(DB_FILE)).unwrap();
    conn.execute_batch(&dump).unwrap();
    drop(conn);

    let s = SqliteState::open(dir.path()).unwrap();
    assert_eq!(s.schema_version().unwrap(), SCHEMA_VERSION);
    let d = s.get_deploy(1).unwrap().unwrap();
    assert_eq!(
        (d.service.as_str(), d.version.as_str()),
        ("checkout", "1.4.2")
    );
    assert_eq!(d.labels["region"], "eu");
    let rb = d.rollback.unwrap();
    assert_eq!(rb.ok, Some(true));
    // The rollback-once guarantee holds across the migration.
    assert!(!s.claim_rollback(1, &rb).unwrap());
    assert_eq!(s.list_overrides(Some("checkout")).unwrap().len(), 1);

    assert!(s.list_analyses().unwrap().is_empty());
    let run = AnalysisRecord {
        id: "run-1".into(),
        service: Some("checkout".into()),
        deploy_id: Some(1),
        phase: "Running".into(),
        started_at: 10_000,
        finished_at: None,
        rollback_pending: false,
        run: serde_json::json!({}),
        request: serde_json::json!({}),
        last: None,
        measurements: vec![],
    };
    s.save_analysis(&run).unwrap();
    drop(s);
    let s = SqliteState::open(dir.path()).unwrap();
    assert_eq!(s.get_analysis("run-1").unwrap(), Some(run));
}
