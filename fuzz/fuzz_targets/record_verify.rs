//! Generated Pack actors (wasm-smith) recorded, then verified against the same module: what
//! was recorded verifies, limits stop both sides alike. See `run/record_verify.rs`.
#![no_main]

#[path = "common/mod.rs"]
mod common;
// The check itself lives apart, so that a plain `cargo test` replays the corpus through it.
#[path = "run/record_verify.rs"]
mod run;

libfuzzer_sys::fuzz_target!(|data: &[u8]| run::run(data));
