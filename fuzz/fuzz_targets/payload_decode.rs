//! Payload decoding on arbitrary bytes: our format ([`Payload::decode`]), theater's JSON
//! payloads ([`theater_json::parse`]), theater 0.3.8's CGRF payloads ([`PackPayload::decode`]),
//! the display decoders (`inspect`, `diff`), dialect detection, and the typed values inside
//! decoded against the zoo component's types. Never a panic; every error one short line (summaries are escaped where shown);
//! what decodes re-encodes to something that decodes the same; the replay's fast paths
//! agree with the full decode.
#![no_main]

#[path = "common/mod.rs"]
mod common;
// The check itself lives apart, so that a plain `cargo test` replays the corpus through it.
#[path = "run/payload_decode.rs"]
mod run;

libfuzzer_sys::fuzz_target!(|data: &[u8]| run::run(data));
