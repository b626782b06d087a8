//! The suite `MemState` and `SqliteState` pass, on PostgreSQL.

use std::sync::Arc;

use homeostat_state::conformance;

use crate::fresh;

#[test]
fn pg_state_conforms() {
    if fresh().is_none() {
        return;
    }
    conformance::run_all(|| Arc::new(fresh().expect("server")));
}

#[test]
fn pg_state_imports_and_exports_a_whole_state() {
    let Some(state) = fresh() else { return };
    conformance::dump_round_trip(&state);
}
