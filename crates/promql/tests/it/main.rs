//! Integration tests of the engine's contract (the PromQL semantics are
//! covered by the conformance runner, a separate `harness = false` binary).
#![allow(clippy::unwrap_used)]

mod deep;
mod engine;
mod no_panic;
mod parse_errors;
