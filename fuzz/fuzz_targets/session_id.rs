//! cargo-fuzz target `session_id`: see `mcp_tower_guard_fuzz::session_id` (fuzz/src/lib.rs) for the oracle.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    mcp_tower_guard_fuzz::session_id(data);
});
