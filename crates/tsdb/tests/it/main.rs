//! Integration tests of the embedded store through its public API.

mod append;
mod crash;
mod model;
mod support;
