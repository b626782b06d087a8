//! `homeostat state migrate`: copies every record of every state store
//! from one backend to another (SQLite ⇄ PostgreSQL), ids and timelines
//! intact. The source may be in use: SQLite is read in one read transaction
//! (WAL lets the server keep writing), PostgreSQL in one snapshot.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Subcommand;
use homeostat_state::{Dump, StateDump};
use homeostat_state_pg::{PgOptions, PgState};
use homeostat_state_sql::SqliteState;

/// The environment variable a `postgres:` location with no DSN reads.
pub const DSN_ENV: &str = "HOMEOSTAT_STATE_DSN";

#[derive(Subcommand)]
pub enum StateCommand {
    /// Copy every record (silences, notification log, incidents with their
    /// timelines, escalations, audit, deploys, overrides, analyses, tokens,
    /// used links) from one backend to another, then check the copy.
    /// Locations: `sqlite:PATH` (a data directory or a state.db file),
    /// `postgres:DSN` or `postgres://…`, or `postgres:` alone to read the
    /// DSN from HOMEOSTAT_STATE_DSN (keeps the password off the command line).
    Migrate {
        /// Where to read: e.g. sqlite:./data
        #[arg(long, required_unless_present = "from_file")]
        from: Option<String>,
        /// A file holding the --from location (or a bare DSN).
        #[arg(long, conflicts_with = "from")]
        from_file: Option<PathBuf>,
        /// Where to write: e.g. postgres: (DSN from HOMEOSTAT_STATE_DSN)
        #[arg(long, required_unless_present = "to_file")]
        to: Option<String>,
        /// A file holding the --to location (or a bare DSN).
        #[arg(long, conflicts_with = "to")]
        to_file: Option<PathBuf>,
        /// Replace what the target already holds (refused otherwise).
        #[arg(long)]
        force: bool,
    },
}

pub fn run(command: StateCommand) -> anyhow::Result<()> {
    match command {
        StateCommand::Migrate {
            from,
            from_file,
            to,
            to_file,
            force,
        } => {
            let from = location(from, from_file.as_deref())?;
            let to = location(to, to_file.as_deref())?;
            migrate(&from, &to, force)
        }
    }
}

/// A parsed location: where the state is, and how to show it.
enum Location {
    Sqlite(PathBuf),
    Postgres(String),
}

impl Location {
    fn parse(text: &str) -> anyhow::Result<Location> {
        let text = text.trim();
        if let Some(path) = text.strip_prefix("sqlite:") {
            if path.is_empty() {
                bail!("sqlite: needs a path: sqlite:./data or sqlite:./data/state.db");
            }
            return Ok(Location::Sqlite(PathBuf::from(path)));
        }
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            return Ok(Location::Postgres(text.to_string()));
        }
        if let Some(dsn) = text.strip_prefix("postgres:") {
            if dsn.is_empty() {
                let dsn = std::env::var(DSN_ENV).with_context(|| {
                    format!("postgres: with no DSN reads {DSN_ENV}, which is not set")
                })?;
                return Ok(Location::Postgres(dsn.trim().to_string()));
            }
            return Ok(Location::Postgres(dsn.to_string()));
        }
        if text.contains("dbname=") || text.contains("host=") {
            return Ok(Location::Postgres(text.to_string()));
        }
        bail!("expected sqlite:PATH, postgres:DSN, postgres://… or postgres: (DSN from {DSN_ENV})")
    }

    /// Never the password.
    fn shown(&self) -> String {
        match self {
            Location::Sqlite(p) => format!("sqlite:{}", p.display()),
            Location::Postgres(dsn) => homeostat_state_pg::masked_dsn(dsn)
                .unwrap_or_else(|_| "postgres (unparsable DSN)".to_string()),
        }
    }

    fn open(&self, must_exist: bool) -> anyhow::Result<Box<dyn StateDump>> {
        let shown = self.shown();
        match self {
            Location::Sqlite(path) => {
                if must_exist && !path.exists() {
                    bail!("{shown}: no such file or directory");
                }
                let state = if path.is_dir() || (!must_exist && path.extension().is_none()) {
                    SqliteState::open(path)
                } else {
                    SqliteState::open_file(path)
                };
                Ok(Box::new(state.with_context(|| format!("open {shown}"))?))
            }
            Location::Postgres(dsn) => Ok(Box::new(
                PgState::open(dsn, &PgOptions::default())
                    .with_context(|| format!("open {shown}"))?,
            )),
        }
    }
}

fn location(arg: Option<String>, file: Option<&Path>) -> anyhow::Result<Location> {
    match (arg, file) {
        (Some(a), _) => Location::parse(&a),
        (None, Some(f)) => {
            let text =
                std::fs::read_to_string(f).with_context(|| format!("read {}", f.display()))?;
            Location::parse(text.trim())
        }
        (None, None) => bail!("a location is needed"),
    }
}

fn summary(d: &Dump) -> String {
    let total: usize = d.counts().iter().map(|(_, n)| n).sum();
    let parts: Vec<String> = d
        .counts()
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(s, n)| format!("{s} {n}"))
        .collect();
    format!("{total} records ({})", parts.join(", "))
}

fn migrate(from: &Location, to: &Location, force: bool) -> anyhow::Result<()> {
    let (src, dst) = (from.shown(), to.shown());
    let source = from.open(true)?;
    let dump = source.export().with_context(|| format!("read {src}"))?;
    println!("read {src}: {}", summary(&dump));
    let target = to.open(false)?;
    let before = target.export().with_context(|| format!("read {dst}"))?;
    if !before.is_empty() {
        if !force {
            bail!(
                "{dst} already holds {}; pass --force to replace it",
                summary(&before)
            );
        }
        println!("replacing what {dst} held: {}", summary(&before));
    }
    target
        .import(&dump, &mut |store, n| println!("  {store}: {n} copied"))
        .with_context(|| format!("write {dst} (nothing was changed there)"))?;
    let after = target
        .export()
        .with_context(|| format!("read back {dst}"))?;
    if after != dump {
        bail!("{dst} does not read back what was written; the copy is incomplete");
    }
    println!("wrote {dst}: {}, read back equal", summary(&after));
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn locations_parse_and_never_show_the_password() {
        assert!(
            matches!(Location::parse("sqlite:./data").unwrap(), Location::Sqlite(p) if p == Path::new("./data"))
        );
        let l = Location::parse("postgres://hs:s3cret@db:5432/st").unwrap();
        assert_eq!(l.shown(), "postgres://hs@db:5432/st");
        let l = Location::parse("postgres:host=db user=hs password=s3cret dbname=st").unwrap();
        assert_eq!(l.shown(), "postgres://hs@db:5432/st");
        assert!(Location::parse("mysql://x").is_err());
        assert!(Location::parse("sqlite:").is_err());
    }

    #[test]
    fn sqlite_to_sqlite_copies_and_refuses_a_full_target() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let source = SqliteState::open(a.path()).unwrap();
        let populated = homeostat_state::conformance::populated().export().unwrap();
        source.import(&populated, &mut |_, _| {}).unwrap();
        drop(source);
        let from = Location::Sqlite(a.path().to_path_buf());
        let to = Location::Sqlite(b.path().to_path_buf());
        migrate(&from, &to, false).unwrap();
        let copied = SqliteState::open(b.path()).unwrap().export().unwrap();
        assert_eq!(copied, populated);
        let err = migrate(&from, &to, false).unwrap_err().to_string();
        assert!(err.contains("--force"), "{err}");
        migrate(&from, &to, true).unwrap();
    }
}
