#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = homeostat_wire::exposition::parse(data, None);
    let _ = homeostat_wire::exposition::parse(
        data,
        Some("application/openmetrics-text; version=1.0.0"),
    );
});
