//! The same suite on both backends, so engine tests on `MemState` say
//! something about production on SQLite.

use std::sync::Arc;

use homeostat_state::{MemState, conformance};
use homeostat_state_sql::SqliteState;

#[test]
fn mem_state_conforms() {
    conformance::run_all(|| Arc::new(MemState::default()));
}

#[test]
fn sqlite_state_conforms() {
    // Each check gets its own database; the directories live until the end.
    let dirs = std::sync::Mutex::new(Vec::new());
    conformance::run_all(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let state = SqliteState::open(dir.path()).expect("open");
        dirs.lock().expect("lock").push(dir);
        Arc::new(state)
    });
}

#[test]
fn sqlite_state_imports_and_exports_a_whole_state() {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = SqliteState::open(dir.path()).expect("open");
    conformance::dump_round_trip(&state);
}
