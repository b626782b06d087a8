#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = homeostat_wire::remote_write::decode(data, 1 << 20);
    // Also exercise the protobuf path directly, past the snappy framing.
    let _ = homeostat_wire::remote_write::decode(
        &homeostat_wire::remote_write::compress(data),
        1 << 20,
    );
});
