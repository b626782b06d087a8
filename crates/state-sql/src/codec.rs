//! The driver side of column values (errors, reading a column, unique
//! violations); the JSON and enum codecs are `homeostat_state::stored`.

pub(crate) use homeostat_state::stored::{Corrupt, from_json, parse, to_i64, to_json};
use homeostat_state::{Result, StateError};
use rusqlite::types::FromSql;
use rusqlite::{Connection, Row};

/// Maps a driver error to [`StateError::Backend`] naming the operation.
pub(crate) fn be(op: &'static str) -> impl Fn(rusqlite::Error) -> StateError {
    move |e| StateError::backend(op, e)
}

pub(crate) fn col<T: FromSql>(row: &Row<'_>, idx: usize, table: &'static str) -> Result<T> {
    row.get(idx)
        .map_err(|e| StateError::backend(format!("read {table} column {idx}"), e))
}

/// Whether a driver error is a UNIQUE/PRIMARY KEY violation.
pub(crate) fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(
        e,
        rusqlite::Error::SqliteFailure(f, _)
            if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
    )
}

/// Runs a query and decodes every row.
pub(crate) fn query<T>(
    c: &Connection,
    sql: &str,
    args: &[&dyn rusqlite::ToSql],
    op: &'static str,
    decode: impl Fn(&Row<'_>) -> Result<T>,
) -> Result<Vec<T>> {
    let mut stmt = c.prepare_cached(sql).map_err(be(op))?;
    let mut rows = stmt.query(args).map_err(be(op))?;
    let mut out = Vec::new();
    while let Some(r) = rows.next().map_err(be(op))? {
        out.push(decode(r)?);
    }
    Ok(out)
}
