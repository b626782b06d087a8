//! An override and its audit record are one transaction: when the audit
//! insert fails inside it, the override is not stored either.

use homeostat_state::conformance::{override_audit, sample_override};
use homeostat_state::{AuditLog, OverrideStore};
use homeostat_state_sql::{DB_FILE, SqliteState};

/// Makes every insert into the audit table fail, as a broken disk would.
fn close_audit(dir: &std::path::Path) {
    let conn = rusqlite::Connection::open(dir.join(DB_FILE)).expect("open");
    conn.execute_batch(
        "CREATE TRIGGER audit_closed BEFORE INSERT ON audit
         BEGIN SELECT RAISE(ABORT, 'audit log closed'); END;",
    )
    .expect("trigger");
}

#[test]
fn an_override_whose_audit_fails_is_not_stored() {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = SqliteState::open(dir.path()).expect("open");
    close_audit(dir.path());
    let o = sample_override();
    let err = state
        .create_override(&o, &override_audit("gate.override.create", &o.id, 1_000))
        .expect_err("the audit insert fails");
    assert!(err.to_string().contains("audit"), "{err}");
    assert!(state.list_overrides(None).expect("list").is_empty());
    assert!(state.list_recent(10).expect("audit").is_empty());
}

#[test]
fn a_revoke_whose_audit_fails_leaves_the_override_active() {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = SqliteState::open(dir.path()).expect("open");
    let o = sample_override();
    state
        .create_override(&o, &override_audit("gate.override.create", &o.id, 1_000))
        .expect("create");
    close_audit(dir.path());
    state
        .revoke_override(
            &o.id,
            2_000,
            &override_audit("gate.override.revoke", &o.id, 2_000),
        )
        .expect_err("the audit insert fails");
    assert_eq!(state.list_overrides(None).expect("list"), vec![o]);
}
