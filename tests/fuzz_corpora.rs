//! Every fuzz corpus (`fuzz/corpus/<target>/`) replayed as regression tests: each input runs
//! through the very check its fuzz target runs (`fuzz/fuzz_targets/run/<target>.rs`, shared
//! with the libFuzzer binary), in a plain `cargo test` (no cargo-fuzz, no nightly). What the
//! fuzzer once found and kept stays covered on every run.

use std::path::Path;

#[path = "../fuzz/fuzz_targets/common/mod.rs"]
mod common;

#[path = "../fuzz/fuzz_targets/run/answers_file.rs"]
mod answers_file;
#[path = "../fuzz/fuzz_targets/run/chain_reader.rs"]
mod chain_reader;
#[path = "../fuzz/fuzz_targets/run/pack_value.rs"]
mod pack_value;
#[path = "../fuzz/fuzz_targets/run/payload_decode.rs"]
mod payload_decode;
#[path = "../fuzz/fuzz_targets/run/record_verify.rs"]
mod record_verify;
#[path = "../fuzz/fuzz_targets/run/wave_args.rs"]
mod wave_args;

/// Runs every input of `fuzz/corpus/<target>` through `run`, naming the input that fails.
fn replay(target: &str, run: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus").join(target);
    let mut files: Vec<_> =
        std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())).map(|e| e.unwrap().path()).collect();
    files.sort();
    assert!(files.len() > 100, "{}: the corpus is missing ({} files)", dir.display(), files.len());
    for file in files {
        let data = std::fs::read(&file).unwrap();
        if let Err(panic) = std::panic::catch_unwind(|| run(&data)) {
            let why = panic.downcast_ref::<String>().map(String::as_str).or(panic.downcast_ref::<&str>().copied()).unwrap_or("");
            panic!("{}: {why}", file.display());
        }
    }
}

#[test]
fn answers_file_corpus() {
    replay("answers_file", answers_file::run);
}

#[test]
fn chain_reader_corpus() {
    replay("chain_reader", chain_reader::run);
}

#[test]
fn pack_value_corpus() {
    replay("pack_value", pack_value::run);
}

#[test]
fn payload_decode_corpus() {
    replay("payload_decode", payload_decode::run);
}

#[test]
fn record_verify_corpus() {
    replay("record_verify", record_verify::run);
}

#[test]
fn wave_args_corpus() {
    replay("wave_args", wave_args::run);
}

/// Every target of `fuzz/Cargo.toml` has its corpus replayed here.
#[test]
fn every_fuzz_target_is_replayed() {
    let manifest = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/Cargo.toml")).unwrap();
    let targets: Vec<&str> =
        manifest.lines().filter_map(|l| l.strip_prefix("name = \"")?.strip_suffix('"')).filter(|n| *n != "theater-replay-fuzz").collect();
    assert_eq!(targets, ["chain_reader", "payload_decode", "wave_args", "answers_file", "pack_value", "record_verify"], "a new target needs its test here");
}
