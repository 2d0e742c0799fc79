//! cargo-fuzz target `x_mcp_header`: see `mcp_tower_guard_fuzz::x_mcp_header` (fuzz/src/lib.rs) for the oracle.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    mcp_tower_guard_fuzz::x_mcp_header(data);
});
