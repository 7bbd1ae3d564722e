//! Answers files (`record --answers`) on arbitrary text: the JSON object of arrays is read,
//! its queues give back exactly the file's answers in order, and every answer is parsed as
//! `record` parses it: WAVE against a component import's result type (the zoo component's
//! imports), or for a Pack actor `cgrf:<hex>` or WAVE typed by its metadata. Never a panic;
//! every error one short line; what parses encodes, and re-encodes the same; a Pack answer
//! given as WAVE passes theater's check of its declared type.
#![no_main]

#[path = "common/mod.rs"]
mod common;
// The check itself lives apart, so that a plain `cargo test` replays the corpus through it.
#[path = "run/answers_file.rs"]
mod run;

libfuzzer_sys::fuzz_target!(|data: &[u8]| run::run(data));
