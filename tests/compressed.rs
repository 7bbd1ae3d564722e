//! Compressed chains: zstd and gzip read by content in every command, streaming, and the
//! same events, hashes and verdicts as the plain form; `record --compress` writes zstd.

use assert_cmd::Command;
use std::io::Write;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::cargo_bin("theater-replay").unwrap().current_dir(root()).args(args).output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
}

fn zstd(bytes: &[u8]) -> Vec<u8> {
    zstd::encode_all(bytes, 3).unwrap()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut g = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    g.write_all(bytes).unwrap();
    g.finish().unwrap()
}

const CHAINS: [&str; 6] = [
    "environment-environment-test",
    "http-wasi-http-test-first",
    "http-wasi-http-test-two",
    "random-wasi-random-test",
    "runtime-runtime-test",
    "timing-wasi-clocks-test",
];

#[test]
fn every_command_reads_compressed_chains_as_their_plain_form() {
    let dir = tempfile::tempdir().unwrap();
    for name in CHAINS {
        let plain_path = root().join(format!("fixtures/theater-chains/{name}.json"));
        let plain = std::fs::read(&plain_path).unwrap();
        let plain_path = plain_path.to_str().unwrap();
        // Named by what they hold elsewhere: detection is by content, never by name.
        for (how, bytes, file) in
            [("zstd", zstd(&plain), format!("{name}.json")), ("gzip", gzip(&plain), format!("{name}.zst"))]
        {
            let path = dir.path().join(how).join(&file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &bytes).unwrap();
            let path = path.to_str().unwrap();
            let (code, stdout, _) = run(&["check", "--format", "json", path]);
            assert_eq!(code, 0, "{name} {how}");
            let v: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
            assert_eq!((v["status"].as_str(), v["compression"].as_str()), (Some("intact"), Some(how)), "{name}");
            let (_, plain_check, _) = run(&["check", "--format", "json", plain_path]);
            let p: serde_json::Value = serde_json::from_str(plain_check.trim()).unwrap();
            assert_eq!(
                (&v["events"], &v["container"], &p["compression"]),
                (&p["events"], &p["container"], &serde_json::Value::Null)
            );
            assert_eq!(
                run(&["inspect", "--format", "jsonl", path]).1,
                run(&["inspect", "--format", "jsonl", plain_path]).1
            );
            assert_eq!(run(&["diff", "-q", plain_path, path]).0, 0, "{name} {how}");
            assert_eq!(std::fs::read(path).unwrap(), bytes, "never modified");
        }
    }
    // A replay of a compressed chain: the same verdict, every hash reproduced.
    let two = dir.path().join("zstd/http-wasi-http-test-two.json");
    let (code, stdout, _) =
        run(&["verify", "--format", "json", "fixtures/theater-components/http-test.wat", two.to_str().unwrap()]);
    assert_eq!(code, 0, "{stdout}");
    let v: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(v["events_verified"], 22);
    // From stdin too.
    let out = Command::cargo_bin("theater-replay")
        .unwrap()
        .args(["check", "-"])
        .write_stdin(gzip(&std::fs::read(root().join("fixtures/theater-chains/runtime-runtime-test.json")).unwrap()))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8(out.stdout).unwrap().contains("intact, 6 events, sha1 (json-array, gzip)"));
}

#[test]
fn a_corrupt_compressed_chain_is_one_line_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let plain = std::fs::read(root().join("fixtures/theater-chains/http-wasi-http-test-two.json")).unwrap();
    for (name, mut bytes) in [("z", zstd(&plain)), ("g", gzip(&plain))] {
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0x55;
        bytes.truncate(bytes.len() - 7);
        let path = dir.path().join(name);
        std::fs::write(&path, &bytes).unwrap();
        for command in ["check", "inspect"] {
            let (code, _, stderr) = run(&[command, path.to_str().unwrap()]);
            assert!(code == 2 || code == 3, "{name} {command}: {code} {stderr}");
            assert_eq!(stderr.lines().count(), 1, "{name} {command}: {stderr}");
        }
    }
}

fn record(dir: &Path, name: &str, compress: bool) -> PathBuf {
    let out = dir.join(name);
    let mut args = vec![
        "record",
        "fixtures/components/chatty.wat",
        "--no-wasi",
        "--answers",
        "fixtures/components/chatty.answers.json",
        "--invoke",
        "run(3)",
        "-o",
        out.to_str().unwrap(),
    ];
    if compress {
        args.push("--compress");
    }
    let (code, _, stderr) = run(&args);
    assert_eq!(code, 0, "{stderr}");
    out
}

#[test]
fn the_bundled_chatty_answers_serve_any_number_of_calls() {
    // The README and `help record` run chatty for 300,000 or 1,000,000 ticks with this file:
    // its answers cycle (a plain list of three ran out at the fourth tick).
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("chatty.json.zst");
    let (code, _, stderr) = run(&[
        "record",
        "fixtures/components/chatty.wat",
        "--no-wasi",
        "--answers",
        "fixtures/components/chatty.answers.json",
        "--invoke",
        "run(1000)",
        "--compress",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    // 0..1000 cycles 3, 10, 17: 334 threes, 333 tens, 333 seventeens.
    assert_eq!(stderr.trim(), (334 * 3 + 333 * 10 + 333 * 17).to_string());
}

#[test]
fn record_compress_writes_zstd_of_the_same_events() {
    let dir = tempfile::tempdir().unwrap();
    let plain = record(dir.path(), "plain.json", false);
    let packed = record(dir.path(), "packed.json.zst", true);
    let bytes = std::fs::read(&packed).unwrap();
    assert_eq!(&bytes[..4], &[0x28, 0xb5, 0x2f, 0xfd], "a zstd frame");
    assert_eq!(zstd::decode_all(&bytes[..]).unwrap(), std::fs::read(&plain).unwrap(), "the plain chain, compressed");
    let (code, stdout, _) = run(&["verify", "fixtures/components/chatty.wat", packed.to_str().unwrap()]);
    assert_eq!(code, 0, "{stdout}");
    // Pack actors and their containers too.
    let chain = dir.path().join("state.chain");
    let (code, _, stderr) = run(&[
        "record",
        "fixtures/pack/state-actor.wasm",
        "--layout",
        "event-log",
        "--compress",
        "--invoke",
        "theater:simple/actor.init(none)",
        "-o",
        chain.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    let (code, stdout, _) = run(&["check", chain.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert!(stdout.contains("(event-log, zstd)"), "{stdout}");
}
