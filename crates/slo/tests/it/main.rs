//! Integration tests: Sloth's golden cases, homeostat-mode golden files and
//! spec validation errors.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod formats;
mod golden;
mod service_label;
mod sloth;
mod validate;
