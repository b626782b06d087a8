//! Integration tests: the state conformance suite against both backends,
//! durability across reopen, and schema versioning.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod atomic;
mod conformance;
mod reopen;
mod schema;
