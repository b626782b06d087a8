//! The state traits of `homeostat-state` on PostgreSQL, so that several
//! homeostat replicas share one state. Table for table and rule for rule
//! the same as `homeostat-state-sql` (one open incident per group key,
//! optimistic `revision`, outbox enqueue-once, token hashes only), with the
//! same schema version numbers; the conformance suite runs on both.
//!
//! Every trait method is one statement or one transaction, run on a pool
//! of connections that live on threads of their own (see `pool`), so the
//! traits may be called from any thread. Read-modify-write methods lock the
//! row they read (`SELECT … FOR UPDATE`): unlike SQLite behind one mutex,
//! other replicas write concurrently.

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
mod pool;
mod remediation;
mod schema;
mod silences;
mod toil;
mod tokens;

#[cfg(feature = "testing")]
pub mod testing;

use std::time::Duration;

use homeostat_state::{Result, StateError};

pub use schema::SCHEMA_VERSION;

/// How the pool connects and how long it waits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgOptions {
    /// Connections (and threads) at most.
    pub pool_size: usize,
    pub connect_timeout: Duration,
    /// How long a call waits for a free connection.
    pub acquire_timeout: Duration,
    /// Set on every connection; a statement running longer is cancelled.
    pub statement_timeout: Duration,
}

impl Default for PgOptions {
    fn default() -> Self {
        PgOptions {
            pool_size: 8,
            connect_timeout: Duration::from_secs(5),
            acquire_timeout: Duration::from_secs(10),
            statement_timeout: Duration::from_secs(10),
        }
    }
}

/// Homeostat's state in one PostgreSQL database.
pub struct PgState {
    pool: pool::Pool,
    target: String,
}

impl std::fmt::Debug for PgState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgState")
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

impl PgState {
    /// Connects to `dsn` (`postgres://user:pass@host:port/db?…` or
    /// `host=… dbname=…`) and migrates the database to [`SCHEMA_VERSION`].
    /// Fails when the server cannot be reached, naming host and database
    /// but never the password, and refuses a database written by a newer
    /// homeostat.
    pub fn open(dsn: &str, options: &PgOptions) -> Result<PgState> {
        let mut config = parse_dsn(dsn)?;
        let target = describe_config(&config);
        config.connect_timeout(options.connect_timeout);
        let pool = pool::Pool::start(config, options, target.clone())?;
        let state = PgState { pool, target };
        let t = state.target.clone();
        state
            .pool
            .run("migrate postgres", move |c| schema::migrate(c, &t))?;
        Ok(state)
    }

    /// `postgres://user@host:port/db`, without the password.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// The schema version stored in the database.
    pub fn schema_version(&self) -> Result<i64> {
        self.pool.run("read schema version", schema::stored_version)
    }
}

fn parse_dsn(dsn: &str) -> Result<postgres::Config> {
    // The parser's complaints name the option, not its value.
    dsn.parse::<postgres::Config>()
        .map_err(|e| StateError::invalid("dsn", format!("not a PostgreSQL DSN: {e}")))
}

/// The DSN as it may be shown: `postgres://user@host:port/db`, with no
/// password and no other parameters. Invalid when it does not parse.
pub fn masked_dsn(dsn: &str) -> Result<String> {
    parse_dsn(dsn).map(|c| describe_config(&c))
}

fn describe_config(c: &postgres::Config) -> String {
    use postgres::config::Host;
    let ports = c.get_ports();
    let hosts: Vec<String> = c
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let host = match h {
                Host::Tcp(h) => h.clone(),
                Host::Unix(p) => p.display().to_string(),
            };
            let port = ports.get(i).or(ports.first()).copied().unwrap_or(5432);
            format!("{host}:{port}")
        })
        .collect();
    let hosts = if hosts.is_empty() {
        "localhost:5432".to_string()
    } else {
        hosts.join(",")
    };
    let user = c.get_user().map(|u| format!("{u}@")).unwrap_or_default();
    let db = c.get_dbname().or(c.get_user()).unwrap_or("postgres");
    format!("postgres://{user}{hosts}/{db}")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn masked_dsns_never_show_the_password() {
        let m = masked_dsn("postgres://hs:s3cret@db.example:6432/state?sslmode=disable").unwrap();
        assert_eq!(m, "postgres://hs@db.example:6432/state");
        let m = masked_dsn("host=/run/pg port=5433 user=hs password=s3cret dbname=st").unwrap();
        assert_eq!(m, "postgres://hs@/run/pg:5433/st");
        assert!(
            !format!("{:?}", masked_dsn("postgres://a:s3cret@h:notaport/x")).contains("s3cret")
        );
    }
}
