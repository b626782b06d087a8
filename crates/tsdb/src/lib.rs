//! The embedded time-series store.
