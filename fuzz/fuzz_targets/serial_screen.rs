//! libFuzzer binary for the `serial_screen` target (body in `fuzz/targets.rs`).
#![no_main]
#[path = "../targets.rs"]
mod targets;
libfuzzer_sys::fuzz_target!(|d: &[u8]| targets::serial_screen(d));
