//! `check`, `inspect` and `diff` through the real binary: output contract and exit codes.

use assert_cmd::Command;
use std::path::{Path, PathBuf};
use theater_replay::chain::{ChainReader, ChainWriter, Event, Layout};

const NAMES: [&str; 6] = [
    "environment-environment-test.json",
    "http-wasi-http-test-first.json",
    "http-wasi-http-test-two.json",
    "random-wasi-random-test.json",
    "runtime-runtime-test.json",
    "timing-wasi-clocks-test.json",
];

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/theater-chains").join(name)
}

/// Runs the binary from the crate root (so paths in output are stable and relative).
fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::cargo_bin("theater-replay")
        .unwrap()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .output()
        .unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
}

fn rel(name: &str) -> String {
    format!("fixtures/theater-chains/{name}")
}

fn events(name: &str) -> Vec<Event> {
    ChainReader::open(&fixture(name)).unwrap().collect::<Result<_, _>>().unwrap()
}

fn write_pretty(path: &Path, events: &[Event]) {
    let mut w = ChainWriter::with_layout(Vec::new(), Layout::PrettyArray);
    for e in events {
        w.write(e).unwrap();
    }
    std::fs::write(path, w.finish().unwrap()).unwrap();
}

#[test]
fn check_all_six_intact() {
    let paths: Vec<String> = NAMES.iter().map(|n| rel(n)).collect();
    let mut args = vec!["check"];
    args.extend(paths.iter().map(String::as_str));
    let (code, stdout, _) = run(&args);
    assert_eq!(code, 0);
    insta::assert_snapshot!("check_six", stdout);

    args.insert(1, "--format");
    args.insert(2, "json");
    let (code, stdout, _) = run(&args);
    assert_eq!(code, 0);
    let lines: Vec<serde_json::Value> = stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 6);
    for (v, path) in lines.iter().zip(&paths) {
        assert_eq!(v["path"], path.as_str());
        assert_eq!(v["status"], "intact");
        assert_eq!(v["hash_algorithm"], "sha1");
        assert_eq!(v["hash"], "sha1", "the old name of hash_algorithm, kept");
        assert_eq!(v["broken_at"], serde_json::Value::Null);
        assert_eq!(v["reason"], serde_json::Value::Null);
        assert!(v["events"].as_u64().unwrap() >= 2);
    }
}

#[test]
fn check_names_the_first_broken_event() {
    let dir = tempfile::tempdir().unwrap();
    // A sample of single-byte changes, each caught at its event.
    for (name, index, field) in [
        ("http-wasi-http-test-two.json", 0, "data"),
        ("http-wasi-http-test-two.json", 16, "data"),
        ("timing-wasi-clocks-test.json", 15, "hash"),
        ("random-wasi-random-test.json", 3, "parent"),
        ("environment-environment-test.json", 7, "data"),
    ] {
        let mut events = events(name);
        let e = &mut events[index];
        let reason = match field {
            "data" => {
                let k = e.data.len() / 2;
                e.data[k] ^= 0x20;
                "content_hash_mismatch"
            }
            "hash" => {
                e.hash[19] ^= 0x01;
                "content_hash_mismatch"
            }
            _ => {
                if let Some(p) = e.parent_hash.as_mut() {
                    p[0] ^= 0x01;
                }
                "wrong_parent_link"
            }
        };
        let event_type = e.event_type.clone();
        let path = dir.path().join(name);
        write_pretty(&path, &events);
        let p = path.to_str().unwrap();
        let (code, stdout, _) = run(&["check", p]);
        assert_eq!(code, 3, "{name} {index} {field}");
        assert!(stdout.contains(&format!("broken at event {index} ({event_type})")), "{stdout}");
        let (code, stdout, _) = run(&["check", "--format", "json", p, &rel(NAMES[0])]);
        assert_eq!(code, 3);
        let v: serde_json::Value = serde_json::from_str(stdout.lines().next().unwrap()).unwrap();
        assert_eq!(v["status"], "broken");
        assert_eq!(v["broken_at"], index);
        assert_eq!(v["reason"], reason);
        assert_eq!(v["event_type"], event_type.as_str());
        assert_eq!(v["hash"], "sha1");
        let second: serde_json::Value = serde_json::from_str(stdout.lines().nth(1).unwrap()).unwrap();
        assert_eq!(second["status"], "intact");
    }
}

#[test]
fn check_exit_codes_combine() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.json");
    std::fs::write(&empty, b"").unwrap();
    let empty = empty.to_str().unwrap();
    let (code, stdout, stderr) = run(&["check", &rel(NAMES[0]), empty]);
    assert_eq!(code, 2);
    assert!(stdout.contains("empty.json: error: event 0, byte 0"), "{stdout}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    // Broken beats unreadable.
    let mut events = events(NAMES[0]);
    events[1].data[0] ^= 1;
    let broken = dir.path().join("broken.json");
    write_pretty(&broken, &events);
    let (code, _, _) = run(&["check", empty, broken.to_str().unwrap()]);
    assert_eq!(code, 3);
    // No chain given: usage error.
    assert_eq!(run(&["check"]).0, 2);
}

#[test]
fn inspect_human_output() {
    let (code, stdout, _) = run(&["inspect", &rel("http-wasi-http-test-two.json")]);
    assert_eq!(code, 0);
    insta::assert_snapshot!("inspect_http_two", stdout);
    let (code, stdout, _) = run(&["inspect", &rel("timing-wasi-clocks-test.json")]);
    assert_eq!(code, 0);
    insta::assert_snapshot!("inspect_timing", stdout);
}

#[test]
fn inspect_jsonl_is_decoded_and_stable() {
    for name in NAMES {
        let (code, stdout, _) = run(&["inspect", "--format", "jsonl", &rel(name)]);
        assert_eq!(code, 0);
        let events = events(name);
        assert_eq!(stdout.lines().count(), events.len());
        for (i, (line, e)) in stdout.lines().zip(&events).enumerate() {
            // Key order is part of the contract.
            assert!(
                line.starts_with(&format!(
                    "{{\"schema_version\":1,\"index\":{i},\"hash\":\"{}\",\"parent_hash\":",
                    hex::encode(&e.hash)
                )),
                "{line}"
            );
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            assert_eq!(
                v["parent_hash"],
                e.parent_hash.as_ref().map_or(serde_json::Value::Null, |p| hex::encode(p).into())
            );
            assert_eq!(v["event_type"], e.event_type.as_str());
            assert!(v.get("data_hex").is_none(), "{name} {i}");
            assert!(v["payload"].is_object(), "{name} {i}");
        }
        // Deterministic.
        assert_eq!(run(&["inspect", "--format", "jsonl", &rel(name)]).1, stdout);
    }
    let (_, stdout, _) = run(&["inspect", "--format", "jsonl", &rel("random-wasi-random-test.json")]);
    let second: serde_json::Value = serde_json::from_str(stdout.lines().nth(1).unwrap()).unwrap();
    assert_eq!(second["payload"]["input"], 10);
    assert_eq!(second["payload"]["output"], serde_json::json!([180, 65, 247, 84, 238, 210, 252, 243, 95, 44]));
}

#[test]
fn inspect_shows_data_hex_for_non_json() {
    let dir = tempfile::tempdir().unwrap();
    let e = Event::new_linked(theater_replay::chain::HashAlg::Sha256, None, "raw".into(), vec![0xff, 0x00]);
    let path = dir.path().join("raw.json");
    write_pretty(&path, &[e]);
    let (code, stdout, _) = run(&["inspect", "--format", "jsonl", path.to_str().unwrap()]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(v["data_hex"], "ff00");
    assert!(v.get("payload").is_none());
    let (_, stdout, _) = run(&["inspect", path.to_str().unwrap()]);
    assert!(stdout.contains("2 bytes, binary: ff00"), "{stdout}");
}

#[test]
fn diff_same_prefix_and_different() {
    let (code, stdout, _) = run(&["diff", &rel(NAMES[2]), &rel(NAMES[2])]);
    assert_eq!(code, 0);
    assert!(stdout.starts_with("same: "), "{stdout}");
    let (code, stdout, _) = run(&["diff", "--format", "json", &rel(NAMES[2]), &rel(NAMES[2])]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(
        v,
        serde_json::json!({"schema_version": 1, "status": "same", "common_prefix": 22, "a": null, "b": null, "broken_a": null, "broken_b": null})
    );

    // One chain a prefix of the other: different, and the shorter side is null.
    let (code, stdout, _) = run(&["diff", &rel(NAMES[1]), &rel(NAMES[2])]);
    assert_eq!(code, 1);
    insta::assert_snapshot!("diff_prefix", stdout);
    let (code, stdout, _) = run(&["diff", "--format", "json", &rel(NAMES[1]), &rel(NAMES[2])]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!((v["status"].as_str(), v["common_prefix"].as_u64()), (Some("different"), Some(2)));
    assert!(v["a"].is_null());
    assert_eq!(v["b"]["index"], 2);
    assert_eq!(v["b"]["payload"]["WasmCall"]["function_name"], "wasi:http/incoming-handler@0.2.0/handle");

    // Two different chains that share their first event.
    let (code, stdout, _) = run(&["diff", "--format", "json", &rel(NAMES[3]), &rel(NAMES[4])]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(v["common_prefix"], 1);
    assert_eq!(v["a"]["event_type"], "wasi:random/random@0.2.3/get-random-bytes");
    assert_eq!(v["b"]["event_type"], "theater:simple/runtime/log");
    assert_eq!(v["b"]["payload"]["input"], "Runtime test actor initialized");

    // A changed event in the middle.
    let dir = tempfile::tempdir().unwrap();
    let mut events = events(NAMES[2]);
    events.truncate(10);
    let e = &mut events[9];
    *e = Event::new_linked(
        theater_replay::chain::HashAlg::Sha1,
        e.parent_hash.as_deref(),
        e.event_type.clone(),
        b"{}".to_vec(),
    );
    let path = dir.path().join("changed.json");
    write_pretty(&path, &events);
    let (code, stdout, _) = run(&["diff", "--format", "json", &rel(NAMES[2]), path.to_str().unwrap()]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(v["common_prefix"], 9);
    assert_eq!(v["b"]["payload"], serde_json::json!({}));
}

#[test]
fn other_containers_through_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let events = events(NAMES[5]);
    for (layout, file) in [
        (Layout::EventLog, "chain.log"),
        (Layout::JsonLines, "chain.jsonl"),
        (Layout::StateChain, "state.json"),
        (Layout::CompactArray, "compact.json"),
    ] {
        let mut w = ChainWriter::with_layout(Vec::new(), layout);
        for e in &events {
            w.write(e).unwrap();
        }
        let path = dir.path().join(file);
        std::fs::write(&path, w.finish().unwrap()).unwrap();
        let p = path.to_str().unwrap();
        let (code, stdout, _) = run(&["check", p]);
        assert_eq!(code, 0, "{file}: {stdout}");
        assert!(stdout.contains("intact, 16 events, sha1"), "{stdout}");
        let (code, _, _) = run(&["diff", p, &rel(NAMES[5])]);
        assert_eq!(code, 0, "{file}");
        assert_eq!(run(&["inspect", p]).1, run(&["inspect", &rel(NAMES[5])]).1);
    }
}

/// A chain's strings reach a terminal escaped: an event type holding an ANSI sequence and a
/// carriage return cannot erase the `broken` line and print a forged `intact` one. JSON keeps
/// the string exactly (serde_json escapes it).
#[test]
fn text_output_escapes_control_characters_from_the_chain() {
    let dir = tempfile::tempdir().unwrap();
    let forged = "\u{1b}[2K\rfixtures/x.json: intact, 6 events";
    let mut evil = events("runtime-runtime-test.json");
    evil[1].event_type = forged.to_owned();
    // Re-linked and re-hashed so that the chain is intact; a tampered copy is broken at 1.
    let mut linked: Vec<Event> = Vec::new();
    for e in &evil {
        let parent = linked.last().map(|p| p.hash.clone());
        linked.push(Event::new_linked(
            theater_replay::chain::HashAlg::Sha1,
            parent.as_deref(),
            e.event_type.clone(),
            e.data.clone(),
        ));
    }
    let intact = dir.path().join("intact.json");
    write_pretty(&intact, &linked);
    let mut tampered = linked.clone();
    tampered[1].data.push(b' ');
    let broken = dir.path().join("broken.json");
    write_pretty(&broken, &tampered);
    let (b, i) = (broken.to_str().unwrap(), intact.to_str().unwrap());
    let original = rel("runtime-runtime-test.json");
    let no_controls = |s: &str| s.chars().all(|c| c == '\n' || !c.is_control());
    for args in [vec!["check", b], vec!["inspect", i], vec!["inspect", b], vec!["diff", &original, i]] {
        let (_, stdout, stderr) = run(&args);
        assert!(no_controls(&stdout) && no_controls(&stderr), "{args:?}: {stdout:?} {stderr:?}");
        assert!(stdout.contains("\\x1b[2K\\rfixtures/x.json: intact"), "{args:?}: {stdout}");
    }
    let (code, stdout, _) = run(&["check", b]);
    assert_eq!(code, 3);
    assert!(stdout.starts_with(&format!("{b}: broken at event 1 (\\x1b[2K\\r")), "{stdout}");
    let (_, stdout, _) = run(&["inspect", "--format", "jsonl", i]);
    let line: serde_json::Value = serde_json::from_str(stdout.lines().nth(1).unwrap()).unwrap();
    assert_eq!(line["event_type"], forged, "JSON keeps the string as it is");
}

/// The error rule (README, "Errors"): one `error: ...` line on stderr, always; with
/// `--format json`, stdout holds a JSON document too, even when the command fails before it
/// has read anything. The OS error is said once, the path once.
#[test]
fn errors_go_to_stderr_and_json_mode_still_prints_json() {
    let chain = "fixtures/chains/counter.json";
    let wat = "fixtures/components/counter.wat";
    let cases: &[&[&str]] = &[
        &["diff", "--format", "json", "/nonexistent/a.json", chain],
        &["verify", "--format", "json", wat, "/nonexistent/a.json"],
        &["verify", "--format", "json", "/nonexistent/a.wat", chain],
        &["check", "--format", "json", "/nonexistent/a.json"],
    ];
    for args in cases {
        let (code, stdout, stderr) = run(args);
        assert_eq!(code, 2, "{args:?}");
        let doc: serde_json::Value =
            serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{args:?}: {e}: {stdout:?}"));
        assert_eq!(doc["status"], "error", "{args:?}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.starts_with("error: /nonexistent/a."), "{args:?}: {stderr}");
        assert_eq!(stderr.matches("os error 2").count(), 1, "{args:?}: {stderr}");
        assert_eq!(stderr.matches("/nonexistent/").count(), 1, "{args:?}: {stderr}");
    }
    // A chain that cannot be read under verify: its report on stdout, the error on stderr.
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "[{\"hash\":[1").unwrap();
    let bad = bad.to_str().unwrap();
    for format in ["text", "json"] {
        let (code, stdout, stderr) = run(&["verify", "--no-cache", "--format", format, wat, bad]);
        assert_eq!(code, 2, "{format}");
        assert_eq!(stderr.lines().count(), 1, "{format}: {stderr}");
        assert!(stderr.starts_with(&format!("error: {bad}: event 0, byte ")), "{format}: {stderr}");
        assert_eq!(stderr.matches(bad).count(), 1, "the path once: {stderr}");
        assert!(stdout.contains("unexpected end of file"), "{format}: {stdout}");
    }
}

#[test]
fn diff_checks_integrity_and_never_calls_a_forged_chain_the_same() {
    // Event 3's data edited, every stored hash kept: the same hashes as the original, so a
    // comparison of stored hashes alone says "same". diff recomputes them as it reads.
    let dir = tempfile::tempdir().unwrap();
    let mut forged = events(NAMES[4]);
    forged[3].data.push(b' ');
    let path = dir.path().join("forged.json");
    write_pretty(&path, &forged);
    let (forged, original) = (path.to_str().unwrap(), rel(NAMES[4]));
    let (code, stdout, _) = run(&["diff", &original, forged]);
    assert_eq!(code, 3, "{stdout}");
    assert!(
        stdout.starts_with(&format!(
            "broken: b {forged}: broken at event 3 (theater:simple/runtime/log): content hash mismatch"
        )),
        "{stdout}"
    );
    let (code, stdout, _) = run(&["diff", "--format", "json", forged, &original]);
    assert_eq!(code, 3);
    let v: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(v["status"], "broken");
    assert_eq!(
        (v["broken_a"]["index"].as_u64(), v["broken_a"]["reason"].as_str()),
        (Some(3), Some("content_hash_mismatch"))
    );
    assert!(v["broken_b"].is_null());
    // Broken after the parting point still counts: both chains are read to their end.
    let mut late = events(NAMES[3]);
    let last = late.len() - 1;
    late[last].data.push(b' ');
    let late_path = dir.path().join("late.json");
    write_pretty(&late_path, &late);
    let (code, stdout, _) = run(&["diff", "--format", "json", &rel(NAMES[2]), late_path.to_str().unwrap()]);
    assert_eq!(code, 3, "{stdout}");
    let v: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(v["broken_b"]["index"].as_u64(), Some(last as u64));
}

#[test]
fn diff_quiet_prints_nothing_and_answers_with_the_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let mut forged = events(NAMES[4]);
    forged[1].data.push(b' ');
    let path = dir.path().join("forged.json");
    write_pretty(&path, &forged);
    for (args, expected) in [
        (vec!["diff", "-q", &rel(NAMES[2]), &rel(NAMES[2])], 0),
        (vec!["diff", "--quiet", &rel(NAMES[1]), &rel(NAMES[2])], 1),
        (vec!["diff", "-q", &rel(NAMES[4]), path.to_str().unwrap()], 3),
    ] {
        let (code, stdout, stderr) = run(&args);
        assert_eq!((code, stdout.as_str(), stderr.as_str()), (expected, "", ""), "{args:?}");
    }
    let (code, stdout, stderr) = run(&["diff", "-q", "/nonexistent/a.json", &rel(NAMES[2])]);
    assert_eq!((code, stdout.as_str()), (2, ""));
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

/// `inspect` checks integrity as it reads, as every command does: an edited event or a
/// deleted one is marked where the chain breaks (exit 3, as `check`), and every event that
/// could be read is still shown.
#[test]
fn inspect_marks_where_the_chain_breaks_and_exits_3() {
    let tampered = "fixtures/chains/counter-tampered.json";
    let (code, stdout, stderr) = run(&["inspect", tampered]);
    assert_eq!(code, 3, "{stdout}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines[3].starts_with("   3  76eda257  demo:agent/host/log  "), "{stdout}");
    assert!(lines[4].starts_with("      ^ BROKEN here: event 3 (demo:agent/host/log): content hash mismatch: stored 76eda257"), "{stdout}");
    let count = ChainReader::open(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(tampered)).unwrap().count();
    assert_eq!(lines.len(), count + 1, "every event shown, and the mark: {stdout}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with(&format!("error: {tampered}: broken at event 3 (demo:agent/host/log): content hash mismatch")), "{stderr}");
    let (code, stdout, _) = run(&["inspect", "--format", "json", tampered]);
    assert_eq!(code, 3);
    let docs: Vec<serde_json::Value> = stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(docs.len(), count + 1);
    assert_eq!(docs[3]["broken"]["reason"], "content_hash_mismatch");
    assert!(docs.iter().enumerate().all(|(i, d)| (i == 3) == d.get("broken").is_some_and(|b| b.is_object() && d.get("index").is_some())));
    assert_eq!(docs.last().unwrap()["status"], "broken");
    assert_eq!(docs.last().unwrap()["broken"]["index"], 3);

    // An event deleted: the next one's parent link is wrong.
    let dir = tempfile::tempdir().unwrap();
    let mut counter: Vec<Event> =
        ChainReader::open(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/chains/counter.json"))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
    counter.remove(5);
    let deleted = dir.path().join("deleted.json");
    write_pretty(&deleted, &counter);
    let (code, stdout, _) = run(&["inspect", deleted.to_str().unwrap()]);
    assert_eq!(code, 3, "{stdout}");
    assert!(stdout.lines().nth(6).unwrap().starts_with("      ^ BROKEN here: event 5 (demo:agent/host/next-token): wrong parent link"), "{stdout}");
    assert_eq!(stdout.lines().count(), counter.len() + 1);
    // An intact chain: exit 0, no mark.
    let (code, stdout, _) = run(&["inspect", "fixtures/chains/counter.json"]);
    assert_eq!(code, 0);
    assert!(!stdout.contains("BROKEN"));
}
