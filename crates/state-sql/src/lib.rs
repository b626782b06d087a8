//! The state traits of `homeostat-state` on SQLite: one file, `state.db`,
//! in WAL mode with a versioned schema (ADR 0008). This is the default
//! backend; only the server constructs it, engines see the traits.
//!
//! One connection behind a mutex: state writes are small and rare next to
//! metric ingestion, and a single writer is what SQLite does best. Every
//! trait method is one statement or one transaction.

mod analyses;
mod audit;
mod chaos;
mod cluster;
mod codec;
mod deploys;
mod dump;
mod escalations;
mod incidents;
mod nflog;
mod remediation;
mod schema;
mod silences;
mod toil;
mod tokens;

use std::path::{Path, PathBuf};
use std::time::Duration;

use homeostat_state::{Result, StateError};
use parking_lot::Mutex;
use rusqlite::Connection;

pub use schema::SCHEMA_VERSION;

/// The file name inside the data directory.
pub const DB_FILE: &str = "state.db";

/// Homeostat's state in one SQLite database.
pub struct SqliteState {
    conn: Mutex<Connection>,
    path: PathBuf,
}

impl std::fmt::Debug for SqliteState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteState")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl SqliteState {
    /// Opens (creating if needed) `<dir>/state.db` and migrates it to
    /// [`SCHEMA_VERSION`]. Refuses a database written by a newer homeostat.
    pub fn open(dir: &Path) -> Result<SqliteState> {
        std::fs::create_dir_all(dir).map_err(|e| {
            StateError::backend(format!("create state directory {}", dir.display()), e)
        })?;
        Self::open_file(&dir.join(DB_FILE))
    }

    /// Opens the database at exactly `path`.
    pub fn open_file(path: &Path) -> Result<SqliteState> {
        let shown = path.display().to_string();
        let mut conn =
            Connection::open(path).map_err(|e| StateError::backend(format!("open {shown}"), e))?;
        configure(&conn).map_err(|e| StateError::backend(format!("configure {shown}"), e))?;
        schema::migrate(&mut conn, &shown)?;
        Ok(SqliteState {
            conn: Mutex::new(conn),
            path: path.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The schema version stored in the database.
    pub fn schema_version(&self) -> Result<i64> {
        schema::stored_version(&self.conn.lock())
            .map_err(|e| StateError::backend("read schema version", e))
    }
}

/// Durability: WAL with `synchronous=NORMAL`. A commit is in the WAL file
/// (written, not fsynced) when it returns, so it survives a crash of the
/// process; a power loss or kernel crash may roll back the last commits
/// before the next checkpoint, but never corrupts the database. That is
/// the tsdb WAL's default trade-off too (ADR 0001): the worst outcome is a
/// repeated notification or a lost timeline line, not a broken store, and
/// we avoid an fsync on every nflog write.
fn configure(conn: &Connection) -> rusqlite::Result<()> {
    // journal_mode answers with the mode in force; a file system that cannot
    // do WAL answers "delete" and SQLite still works, just slower.
    let _mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    conn.execute_batch(
        "PRAGMA synchronous = NORMAL;
         PRAGMA foreign_keys = ON;",
    )?;
    // Someone may read the file with the sqlite3 shell while we run.
    conn.busy_timeout(Duration::from_secs(5))?;
    Ok(())
}
