//! libFuzzer binary for the `inventory_yaml` target (body in `fuzz/targets.rs`).
#![no_main]
#[path = "../targets.rs"]
mod targets;
libfuzzer_sys::fuzz_target!(|d: &[u8]| targets::inventory_yaml(d));
