//! cargo-fuzz target `accept`: see `mcp_tower_guard_fuzz::accept` (fuzz/src/lib.rs) for the oracle.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    mcp_tower_guard_fuzz::accept(data);
});
