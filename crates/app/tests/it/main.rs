//! The application services over in-memory state with a fake clock.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod chaos;
mod cluster;
mod gate;
mod monkey;
mod remediation;
mod signals;
mod slo;
mod tokens;
