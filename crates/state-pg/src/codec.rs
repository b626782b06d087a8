//! Conversions between records and column values, as in `homeostat-state-sql`:
//! structured fields are JSON text, enums their stable lowercase names.

use homeostat_state::{Result, StateError};
use postgres::Row;
use postgres::error::SqlState;
use postgres::types::FromSql;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// A value in the database that this build cannot read back.
#[derive(Debug)]
pub(crate) struct Corrupt(pub String);

impl std::fmt::Display for Corrupt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Corrupt {}

/// Maps a driver error to [`StateError::Backend`] naming the operation.
/// The driver's errors name the server's complaint, never the DSN.
pub(crate) fn be(op: &'static str) -> impl Fn(postgres::Error) -> StateError {
    move |e| StateError::backend(op, e)
}

pub(crate) fn col<'a, T: FromSql<'a>>(row: &'a Row, idx: usize, table: &'static str) -> Result<T> {
    row.try_get(idx)
        .map_err(|e| StateError::backend(format!("read {table} column {idx}"), e))
}

pub(crate) fn to_json<T: Serialize>(value: &T, field: &str) -> Result<String> {
    serde_json::to_string(value)
        .map_err(|e| StateError::invalid(field, format!("cannot encode as JSON: {e}")))
}

pub(crate) fn from_json<T: DeserializeOwned>(text: &str, field: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| {
        StateError::backend(
            format!("decode {field}"),
            Corrupt(format!("stored JSON does not parse: {e}")),
        )
    })
}

/// Parses a stored enum name.
pub(crate) fn parse<T: std::str::FromStr<Err = StateError>>(text: &str, field: &str) -> Result<T> {
    text.parse().map_err(|e: StateError| {
        StateError::backend(format!("decode {field}"), Corrupt(e.to_string()))
    })
}

/// Columns are signed 64-bit; nothing we store comes near the limit.
pub(crate) fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A `LIMIT` parameter: `NULL` is no limit.
pub(crate) fn limit(n: Option<usize>) -> Option<i64> {
    n.map(|n| i64::try_from(n).unwrap_or(i64::MAX))
}

/// Whether a driver error is a UNIQUE/PRIMARY KEY violation.
pub(crate) fn is_unique_violation(e: &postgres::Error) -> bool {
    e.code() == Some(&SqlState::UNIQUE_VIOLATION)
}
