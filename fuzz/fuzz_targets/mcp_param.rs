//! cargo-fuzz target `mcp_param`: see `mcp_tower_guard_fuzz::mcp_param` (fuzz/src/lib.rs) for the oracle.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    mcp_tower_guard_fuzz::mcp_param(data);
});
