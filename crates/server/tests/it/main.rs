//! The server crate's integration tests.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod config_reference;
mod example_config;
