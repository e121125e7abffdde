//! libFuzzer binary for the `probe_classify` target (body in `fuzz/targets.rs`).
#![no_main]
#[path = "../targets.rs"]
mod targets;
libfuzzer_sys::fuzz_target!(|d: &[u8]| targets::probe_classify(d));
