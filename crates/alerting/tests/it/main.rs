//! Integration tests of homeostat-alerting: whole config files in, routing
//! and inhibition decisions out.

mod config;
mod routing;
mod secrets;
