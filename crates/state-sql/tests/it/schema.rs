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
