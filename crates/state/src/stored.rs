//! How records become column values in the SQL backends, whatever the
//! driver: structured fields are JSON text, enums their stable lowercase
//! names, and a value this build cannot read back is [`Corrupt`].

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{Result, StateError};

/// A value in the database that this build cannot read back.
#[derive(Debug)]
pub struct Corrupt(pub String);

impl std::fmt::Display for Corrupt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Corrupt {}

pub fn to_json<T: Serialize>(value: &T, field: &str) -> Result<String> {
    serde_json::to_string(value)
        .map_err(|e| StateError::invalid(field, format!("cannot encode as JSON: {e}")))
}

pub fn from_json<T: DeserializeOwned>(text: &str, field: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| {
        StateError::backend(
            format!("decode {field}"),
            Corrupt(format!("stored JSON does not parse: {e}")),
        )
    })
}

/// Parses a stored enum name.
pub fn parse<T: std::str::FromStr<Err = StateError>>(text: &str, field: &str) -> Result<T> {
    text.parse().map_err(|e: StateError| {
        StateError::backend(format!("decode {field}"), Corrupt(e.to_string()))
    })
}

/// Columns are signed 64-bit; nothing we store comes near the limit.
pub fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
