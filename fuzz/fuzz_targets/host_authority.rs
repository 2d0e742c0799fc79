//! cargo-fuzz target `host_authority`: see `mcp_tower_guard_fuzz::host_authority` (fuzz/src/lib.rs) for the oracle.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    mcp_tower_guard_fuzz::host_authority(data);
});
