//! cargo-fuzz target `protocol_version`: see `mcp_tower_guard_fuzz::protocol_version` (fuzz/src/lib.rs) for the oracle.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    mcp_tower_guard_fuzz::protocol_version(data);
});
