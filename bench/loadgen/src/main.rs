//! Remote-write load generator for bench/ingest.sh.
fn main() {}
