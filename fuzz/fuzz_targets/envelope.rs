//! cargo-fuzz target `envelope`: see `mcp_tower_guard_fuzz::envelope` (fuzz/src/lib.rs) for the oracle.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    mcp_tower_guard_fuzz::envelope(data);
});
