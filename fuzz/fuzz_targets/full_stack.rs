//! cargo-fuzz target `full_stack`: see `mcp_tower_guard_fuzz::full_stack` (fuzz/src/lib.rs) for the oracle.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    mcp_tower_guard_fuzz::full_stack(data);
});
