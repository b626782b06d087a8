//! Integration tests against a throwaway PostgreSQL (one server per test
//! binary, a database per test): the state conformance suite, the pool
//! from any thread and across broken connections, and schema versioning.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod cluster;
mod conformance;
mod pool;
mod schema;

use homeostat_state_pg::{PgOptions, PgState, testing};

/// A fresh, migrated state in a database of its own; `None` when the test
/// is skipped (PostgreSQL is not installed and this is not CI).
pub fn fresh() -> Option<PgState> {
    let server = testing::server()?;
    Some(PgState::open(&server.fresh_dsn(), &small()).expect("open"))
}

pub fn small() -> PgOptions {
    PgOptions {
        pool_size: 4,
        ..PgOptions::default()
    }
}
