//! The fault proxy measured on loopback: each toxic against tiny servers,
//! and Toxiproxy's API shapes, statuses and errors.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod api;
mod harness;
mod toxics;
