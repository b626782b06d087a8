//! The schema and its forward migrations. `MIGRATIONS[n]` takes a database
//! from version n to n + 1; released migrations are never edited, only
//! appended to.

use homeostat_state::{Result, StateError};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

const MIGRATIONS: &[&str] = &[V1, V2, V3, V4, V5, V6, V7, V8, V9];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

const V1: &str = "
CREATE TABLE silences (
    id TEXT PRIMARY KEY,
    matchers TEXT NOT NULL,
    starts_at INTEGER NOT NULL,
    ends_at INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    comment TEXT NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;
CREATE INDEX silences_ends_at ON silences (ends_at);

CREATE TABLE nflog (
    receiver TEXT NOT NULL,
    group_key TEXT NOT NULL,
    firing TEXT NOT NULL,
    resolved TEXT NOT NULL,
    sent_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (receiver, group_key)
) STRICT, WITHOUT ROWID;
CREATE INDEX nflog_expires_at ON nflog (expires_at);

CREATE TABLE incidents (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    revision INTEGER NOT NULL,
    title TEXT NOT NULL,
    severity TEXT NOT NULL,
    state TEXT NOT NULL,
    service TEXT,
    group_key TEXT,
    created_at INTEGER NOT NULL,
    acknowledged_at INTEGER,
    mitigated_at INTEGER,
    resolved_at INTEGER,
    detected_at INTEGER,
    roles TEXT NOT NULL,
    runbook_urls TEXT NOT NULL,
    labels TEXT NOT NULL
) STRICT;
CREATE INDEX incidents_state ON incidents (state, id);
CREATE INDEX incidents_service ON incidents (service, id);
CREATE INDEX incidents_group_key ON incidents (group_key, id);
-- At most one open incident per alert group, whoever writes.
CREATE UNIQUE INDEX incidents_open_group_key ON incidents (group_key)
    WHERE group_key IS NOT NULL AND state IN ('triggered', 'acknowledged', 'mitigated');

CREATE TABLE timeline (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id INTEGER NOT NULL REFERENCES incidents (id),
    at INTEGER NOT NULL,
    kind TEXT NOT NULL,
    actor TEXT,
    summary TEXT NOT NULL,
    data TEXT NOT NULL
) STRICT;
CREATE INDEX timeline_incident_at ON timeline (incident_id, at, seq);

CREATE TABLE action_items (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id INTEGER NOT NULL REFERENCES incidents (id),
    title TEXT NOT NULL,
    owner TEXT,
    due TEXT,
    state TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;
CREATE INDEX action_items_incident ON action_items (incident_id, id);

CREATE TABLE escalations (
    key TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE audit (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at INTEGER NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    object TEXT NOT NULL,
    detail TEXT NOT NULL
) STRICT;
CREATE INDEX audit_object ON audit (object, at, seq);
CREATE INDEX audit_at ON audit (at, seq);
";

/// Deploy events and gate overrides. Records are JSON documents with the
/// columns queries filter on beside them; a deploy's rollback is its own
/// column so that claiming it is one conditional UPDATE.
const V2: &str = "
CREATE TABLE deploys (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    service TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    doc TEXT NOT NULL,
    rollback TEXT
) STRICT;
CREATE INDEX deploys_service_started ON deploys (service, started_at);
CREATE INDEX deploys_started ON deploys (started_at);

CREATE TABLE gate_overrides (
    id TEXT PRIMARY KEY,
    service TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    doc TEXT NOT NULL
) STRICT;
CREATE INDEX gate_overrides_service ON gate_overrides (service, created_at);
";

/// Canary analysis runs, so a restart keeps finished verdicts and resumes
/// running runs. The run and its judge request are JSON documents; the
/// measurements are appended one row per judgment instead of rewriting a
/// growing document on every judgment.
const V3: &str = "
CREATE TABLE analysis_runs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    service TEXT,
    deploy_id INTEGER,
    phase TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    finished_at INTEGER,
    rollback_pending INTEGER NOT NULL,
    run TEXT NOT NULL,
    request TEXT NOT NULL,
    last TEXT
) STRICT;
CREATE INDEX analysis_runs_started ON analysis_runs (started_at, seq);

CREATE TABLE analysis_measurements (
    run_seq INTEGER NOT NULL REFERENCES analysis_runs (seq) ON DELETE CASCADE,
    n INTEGER NOT NULL,
    at INTEGER NOT NULL,
    verdict TEXT NOT NULL,
    score REAL NOT NULL,
    reason TEXT NOT NULL,
    PRIMARY KEY (run_seq, n)
) STRICT, WITHOUT ROWID;
";

/// The outbox of the notification log: pages to on-call people, recorded
/// before the first attempt and finished after the last, so a restart
/// resumes a pending one and never repeats a finished one.
const V4: &str = "
CREATE TABLE outbox (
    key TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    doc TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    finished_at INTEGER
) STRICT, WITHOUT ROWID;
CREATE INDEX outbox_pending ON outbox (kind, state, created_at);
CREATE INDEX outbox_expires_at ON outbox (expires_at);
";

/// API tokens (only their SHA-256 is stored) and the signed action links
/// already used, kept until they expire.
const V5: &str = "
CREATE TABLE api_tokens (
    name TEXT PRIMARY KEY,
    hash TEXT NOT NULL UNIQUE,
    scopes TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    expires_at INTEGER,
    revoked_at INTEGER
) STRICT, WITHOUT ROWID;

CREATE TABLE used_links (
    key TEXT PRIMARY KEY,
    expires_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX used_links_expires_at ON used_links (expires_at);
";

/// Replicas sharing one database: leases with fencing tokens, members, and
/// the shared alert intake (issue 15).
const V6: &str = "
CREATE TABLE leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    token INTEGER NOT NULL,
    acquired_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE members (
    id TEXT PRIMARY KEY,
    address TEXT NOT NULL,
    version TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    last_seen INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE alert_log (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    fingerprint INTEGER NOT NULL,
    labels TEXT NOT NULL,
    annotations TEXT NOT NULL,
    starts_at INTEGER NOT NULL,
    ends_at INTEGER NOT NULL,
    generator_url TEXT NOT NULL,
    pending_since INTEGER,
    timeout INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    origin TEXT NOT NULL
) STRICT;
CREATE INDEX alert_log_fingerprint ON alert_log (fingerprint, seq);
CREATE INDEX alert_log_ends_at ON alert_log (ends_at);
";

/// Chaos experiment runs (their journal is JSON, rewritten as the run
/// progresses) and the Chaos Monkey's termination log (issue 16).
const V7: &str = "
CREATE TABLE chaos_runs (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    service TEXT,
    status TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    finished_at INTEGER,
    principal TEXT NOT NULL,
    journal TEXT NOT NULL
) STRICT;
CREATE INDEX chaos_runs_started ON chaos_runs (started_at, id);
CREATE INDEX chaos_runs_status ON chaos_runs (status);

CREATE TABLE chaos_terminations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    grp TEXT NOT NULL,
    service TEXT NOT NULL,
    target TEXT NOT NULL,
    at_ms INTEGER NOT NULL,
    action TEXT NOT NULL,
    outcome TEXT NOT NULL
) STRICT;
CREATE INDEX chaos_terminations_group ON chaos_terminations (grp, at_ms, id);
CREATE INDEX chaos_terminations_at ON chaos_terminations (at_ms, id);
";

/// The toil ledger's entries logged by hand (issue 17); derived ones are
/// computed from the audit log and incidents, not stored.
const V8: &str = "
CREATE TABLE toil_entries (
    id TEXT PRIMARY KEY,
    at_ms INTEGER NOT NULL,
    actor TEXT NOT NULL,
    service TEXT,
    team TEXT,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    minutes REAL NOT NULL,
    source TEXT NOT NULL,
    detail TEXT NOT NULL
) STRICT;
CREATE INDEX toil_entries_at ON toil_entries (at_ms, id);
CREATE INDEX toil_entries_team ON toil_entries (team, at_ms);
CREATE INDEX toil_entries_service ON toil_entries (service, at_ms);
";

/// Remediation runs (issue 17), the engine's run as JSON.
const V9: &str = "
CREATE TABLE remediation_runs (
    id TEXT PRIMARY KEY,
    policy TEXT NOT NULL,
    target TEXT NOT NULL,
    service TEXT NOT NULL,
    incident INTEGER,
    state TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    ended_at INTEGER,
    run TEXT NOT NULL
) STRICT;
CREATE INDEX remediation_runs_policy_target ON remediation_runs (policy, target, started_at);
CREATE INDEX remediation_runs_started ON remediation_runs (started_at, id);
CREATE INDEX remediation_runs_active ON remediation_runs (ended_at);
";

/// The version recorded in `schema_version`, 0 for a new database.
pub(crate) fn stored_version(conn: &Connection) -> rusqlite::Result<i64> {
    let has_table: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version')",
        [],
        |r| r.get(0),
    )?;
    if !has_table {
        return Ok(0);
    }
    Ok(conn
        .query_row("SELECT max(version) FROM schema_version", [], |r| {
            r.get::<_, Option<i64>>(0)
        })
        .optional()?
        .flatten()
        .unwrap_or(0))
}

/// Brings the database to [`SCHEMA_VERSION`] in one transaction, so a crash
/// mid-migration leaves the old version intact.
pub(crate) fn migrate(conn: &mut Connection, path: &str) -> Result<()> {
    let be = |e| StateError::backend(format!("migrate {path}"), e);
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(be)?;
    let found = stored_version(&tx).map_err(be)?;
    if found > SCHEMA_VERSION {
        return Err(StateError::SchemaTooNew {
            path: path.to_string(),
            found,
            supported: SCHEMA_VERSION,
        });
    }
    if found == SCHEMA_VERSION {
        return Ok(());
    }
    tx.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_version (
             version INTEGER NOT NULL
         ) STRICT",
    )
    .map_err(be)?;
    for (from, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        tx.execute_batch(sql).map_err(be)?;
        tx.execute(
            "INSERT INTO schema_version (version) VALUES (?1)",
            [from as i64 + 1],
        )
        .map_err(be)?;
    }
    tx.commit().map_err(be)
}
