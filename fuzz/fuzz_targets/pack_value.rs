//! The Pack value decoder on arbitrary bytes: [`preflight`] (may packr-abi decode these at
//! all?), [`scan`] (are they exactly packr-abi's encoding?), [`decode_value`], the host-call
//! fast path, text renderings, and a Pack actor's metadata (`__pack_types`) with theater's
//! type check. Never a panic, abort or unbounded allocation; `scan` accepts exactly the
//! bytes packr-abi's decode then encode gives back; each accepted subtree is canonical
//! alone; what decodes re-encodes to bytes that decode and encode to themselves.
#![no_main]

#[path = "common/mod.rs"]
mod common;
// The check itself lives apart, so that a plain `cargo test` replays the corpus through it.
#[path = "run/pack_value.rs"]
mod run;

libfuzzer_sys::fuzz_target!(|data: &[u8]| run::run(data));
