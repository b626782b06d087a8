//! Integration tests: golden payloads, HTTP and SMTP delivery against local
//! servers, retries, and the resolved-notification rule.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod fixtures;
mod golden;
mod http;
mod resolved;
mod smtp;
mod spec;
