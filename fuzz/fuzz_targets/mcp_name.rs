//! cargo-fuzz target `mcp_name`: see `mcp_tower_guard_fuzz::mcp_name` (fuzz/src/lib.rs) for the oracle.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    mcp_tower_guard_fuzz::mcp_name(data);
});
