//! The chain reader and `check` on arbitrary bytes: never a panic, never unbounded output;
//! whatever reads as a chain reads the same through `check`'s two-thread path.
#![no_main]

// The check itself lives apart, so that a plain `cargo test` replays the corpus through it.
#[path = "run/chain_reader.rs"]
mod run;

libfuzzer_sys::fuzz_target!(|data: &[u8]| run::run(data));
