//! The driver side of column values (errors, reading a column, unique
//! violations, limits); the JSON and enum codecs are `homeostat_state::stored`.

pub(crate) use homeostat_state::stored::{Corrupt, from_json, parse, to_i64, to_json};
use homeostat_state::{Result, StateError};
use postgres::Row;
use postgres::error::SqlState;
use postgres::types::FromSql;

/// Maps a driver error to [`StateError::Backend`] naming the operation.
/// The driver's errors name the server's complaint, never the DSN.
pub(crate) fn be(op: &'static str) -> impl Fn(postgres::Error) -> StateError {
    move |e| StateError::backend(op, e)
}

pub(crate) fn col<'a, T: FromSql<'a>>(row: &'a Row, idx: usize, table: &'static str) -> Result<T> {
    row.try_get(idx)
        .map_err(|e| StateError::backend(format!("read {table} column {idx}"), e))
}

/// A `LIMIT` parameter: `NULL` is no limit.
pub(crate) fn limit(n: Option<usize>) -> Option<i64> {
    n.map(|n| i64::try_from(n).unwrap_or(i64::MAX))
}

/// Whether a driver error is a UNIQUE/PRIMARY KEY violation.
pub(crate) fn is_unique_violation(e: &postgres::Error) -> bool {
    e.code() == Some(&SqlState::UNIQUE_VIOLATION)
}
