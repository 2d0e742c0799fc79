//! cargo-fuzz target `initialize_answer`: see `mcp_tower_guard_fuzz::initialize_answer` (fuzz/src/lib.rs) for the oracle.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    mcp_tower_guard_fuzz::initialize_answer(data);
});
