//! The schema: same version numbers as SQLite, newer databases refused,
//! two processes opening one new database at once migrate it once.

use homeostat_state::StateError;
use homeostat_state_pg::{PgState, SCHEMA_VERSION, testing};

use crate::small;

#[test]
fn the_schema_version_matches_sqlite() {
    assert_eq!(SCHEMA_VERSION, homeostat_state_sql::SCHEMA_VERSION);
}

#[test]
fn concurrent_opens_migrate_once_and_reopen_is_a_no_op() {
    let Some(server) = testing::server() else {
        return;
    };
    let dsn = server.fresh_dsn();
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let dsn = dsn.clone();
            std::thread::spawn(move || PgState::open(&dsn, &small()).map(|s| s.schema_version()))
        })
        .collect();
    for t in threads {
        assert_eq!(t.join().unwrap().unwrap().unwrap(), SCHEMA_VERSION);
    }
    let mut c = postgres::Client::connect(&dsn, postgres::NoTls).unwrap();
    let rows: i64 = c
        .query_one("SELECT count(*) FROM schema_version", &[])
        .unwrap()
        .get(0);
    assert_eq!(rows, SCHEMA_VERSION);
}

#[test]
fn a_database_from_a_newer_homeostat_is_refused() {
    let Some(server) = testing::server() else {
        return;
    };
    let dsn = server.fresh_dsn();
    drop(PgState::open(&dsn, &small()).unwrap());
    let mut c = postgres::Client::connect(&dsn, postgres::NoTls).unwrap();
    c.execute(
        "INSERT INTO schema_version (version) VALUES ($1)",
        &[&(SCHEMA_VERSION + 1)],
    )
    .unwrap();
    match PgState::open(&dsn, &small()) {
        Err(StateError::SchemaTooNew {
            found, supported, ..
        }) => {
            assert_eq!((found, supported), (SCHEMA_VERSION + 1, SCHEMA_VERSION));
        }
        other => panic!("{other:?}"),
    }
}
