//! The proxy end to end against tiny hyper upstreams on loopback.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod breakers;
mod faults;
mod pool;
mod upstream;
