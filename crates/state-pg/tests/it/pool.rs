//! The pool works from any thread, tokio worker included, and comes back
//! after its connections were killed.

use homeostat_state::{AuditEntry, AuditLog, StateError};
use homeostat_state_pg::{PgOptions, PgState, testing};
use serde_json::json;

use crate::fresh;

fn entry(n: i64) -> AuditEntry {
    AuditEntry {
        seq: 0,
        at: n,
        actor: "ana".into(),
        action: "x".into(),
        object: "o".into(),
        detail: json!(n),
    }
}

#[test]
fn calls_work_from_inside_a_tokio_runtime() {
    let Some(state) = fresh() else { return };
    let state = std::sync::Arc::new(state);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let s = state.clone();
    // Straight on a worker thread, no spawn_blocking: the sync client
    // would panic here if it ran on the caller's thread.
    let seq = rt.block_on(async move {
        tokio::spawn(async move { s.append(&entry(1)).unwrap() })
            .await
            .unwrap()
    });
    assert!(seq > 0);
    assert_eq!(state.list_recent(10).unwrap().len(), 1);
}

#[test]
fn a_killed_connection_is_replaced_on_the_next_call() {
    let Some(server) = testing::server() else {
        return;
    };
    let dsn = server.fresh_dsn();
    let options = PgOptions {
        pool_size: 1,
        ..PgOptions::default()
    };
    let state = PgState::open(&dsn, &options).unwrap();
    state.append(&entry(1)).unwrap();
    let db = dsn.rsplit("dbname=").next().unwrap().to_string();
    let mut admin = postgres::Client::connect(&server.dsn("postgres"), postgres::NoTls).unwrap();
    admin
        .execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
            &[&db],
        )
        .unwrap();
    // The call that meets the dead connection may fail, naming what it did.
    match state.append(&entry(2)) {
        Ok(_) => {}
        Err(StateError::Backend { op, .. }) => assert_eq!(op, "append audit entry"),
        Err(e) => panic!("{e}"),
    }
    state.append(&entry(3)).expect("reconnected");
    assert!(state.list_recent(10).unwrap().len() >= 2);
}

#[test]
fn an_unreachable_server_fails_naming_host_and_db_not_the_password() {
    let options = PgOptions {
        connect_timeout: std::time::Duration::from_secs(2),
        ..PgOptions::default()
    };
    let err = PgState::open("postgres://hs:hunter2@127.0.0.1:1/homeostat", &options)
        .unwrap_err()
        .to_string();
    assert!(err.contains("127.0.0.1:1/homeostat"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
}
