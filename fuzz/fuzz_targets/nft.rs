//! libFuzzer binary for the `nft` target (body in `fuzz/targets.rs`).
#![no_main]
#[path = "../targets.rs"]
mod targets;
libfuzzer_sys::fuzz_target!(|d: &[u8]| targets::nft(d));
