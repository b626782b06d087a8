//! The embedded time-series store.

pub mod chunk;
