//! libFuzzer binary for the `hosts_access` target (body in `fuzz/targets.rs`).
#![no_main]
#[path = "../targets.rs"]
mod targets;
libfuzzer_sys::fuzz_target!(|d: &[u8]| targets::hosts_access(d));
