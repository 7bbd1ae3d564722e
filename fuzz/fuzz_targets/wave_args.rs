//! WAVE arguments on arbitrary text: `record --invoke` for components (typed by the zoo
//! component's exports, as `record` checks them before anything runs) and for Pack actors
//! (typed by metadata with every declared Pack type), and `--initial-state`. Never a panic;
//! every error one short line; what parses encodes, and decodes and re-encodes the same;
//! a Pack value parsed for a declared type passes theater's own check of that type.
#![no_main]

#[path = "common/mod.rs"]
mod common;
// The check itself lives apart, so that a plain `cargo test` replays the corpus through it.
#[path = "run/wave_args.rs"]
mod run;

libfuzzer_sys::fuzz_target!(|data: &[u8]| run::run(data));
