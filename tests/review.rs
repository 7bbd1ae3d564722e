//! `review`: a pending chain's changes, event by event (header ignored, values decoded, the
//! paths where they differ), its integrity checked before anything is shown, and the answers
//! a person gives on a terminal (a real pseudo-terminal, made by util-linux `script` as in
//! tests/terminal.rs). `pending` on a tampered `.new`.
//!
//! The chains are built here with the library (our payloads, linked and hashed as `record`
//! writes them), so each test says exactly what changed; one test takes the `.new` that
//! `verify --accept` writes for the counter's v2.

use assert_cmd::Command;
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::path::Path;
use std::process::Stdio;
use theater_replay::chain::{ChainWriter, Event, HashAlg, Layout};
use theater_replay::payload::{HostCall, Payload};
use theater_replay::pending::Pending;
use theater_replay::review::{self, ChangeKind, ReviewError};

fn header(component: char) -> Payload {
    Payload::Recording {
        format: "theater-replay".into(),
        version: 1,
        component_sha256: component.to_string().repeat(64),
    }
}

fn call(function: &str, params: Value) -> Payload {
    Payload::WasmCall { function: function.into(), params }
}

fn returned(function: &str, result: Value) -> Payload {
    Payload::WasmResult { function: function.into(), result }
}

fn log(text: &str) -> Payload {
    let call = HostCall { interface: Some("demo:agent/host".into()), function: "log".into() };
    Payload::HostFunction { call, input: json!({"String": text}), output: json!({"Tuple": []}) }
}

/// `store({name: "a", items: [...]})`: a value with a path inside it.
fn store(items: &[&str]) -> Payload {
    let items: Vec<Value> = items.iter().map(|i| json!({"String": i})).collect();
    call("store", json!({"Tuple": [{"Record": [["name", {"String": "a"}], ["items", {"List": items}]]}]}))
}

/// The golden chain of these tests: a header, then `store` and `count`.
fn golden() -> Vec<Payload> {
    vec![
        header('a'),
        store(&["x", "y"]),
        log("stored"),
        returned("store", json!({"U32": 2})),
        call("count", json!({"Tuple": []})),
        returned("count", json!({"U32": 2})),
    ]
}

/// The chain of `payloads`, linked and hashed.
fn linked(payloads: &[Payload]) -> Vec<Event> {
    let mut events: Vec<Event> = Vec::new();
    for p in payloads {
        let parent = events.last().map(|e| e.hash.clone());
        events.push(Event::new_linked(HashAlg::Sha256, parent.as_deref(), p.event_type(), p.encode()));
    }
    events
}

fn write(path: &Path, events: &[Event]) {
    let mut w = ChainWriter::with_layout(Vec::new(), Layout::CompactArray);
    for e in events {
        w.write(e).unwrap();
    }
    std::fs::write(path, w.finish().unwrap()).unwrap();
}

/// `dir/name` holding `old` and `dir/name.new` holding `new`.
fn pending(dir: &Path, name: &str, old: &[Payload], new: &[Payload]) -> Pending {
    let chain = dir.join(name);
    write(&chain, &linked(old));
    let new_path = dir.join(format!("{name}.new"));
    write(&new_path, &linked(new));
    Pending { chain, new: new_path }
}

/// A successor whose event 2 was edited after it was written (its hash kept).
fn tampered(dir: &Path, name: &str) -> Pending {
    let p = pending(dir, name, &golden(), &golden());
    let mut events = linked(&golden());
    events[2].data = log("forged").encode();
    write(&p.new, &events);
    p
}

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(dir: &Path, args: &[&str]) -> Out {
    let out =
        Command::cargo_bin("theater-replay").unwrap().current_dir(dir).env_remove("CI").args(args).output().unwrap();
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

/// The second item of `store`'s list changed, the header's component too: one event changed,
/// at the path into the record, and the header not counted.
fn changed_item() -> Vec<Payload> {
    let mut new = golden();
    new[0] = header('b');
    new[1] = store(&["x", "z"]);
    new
}

#[test]
fn a_changed_call_is_shown_with_its_paths_and_the_header_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let p = pending(dir.path(), "golden.json", &golden(), &changed_item());
    // The library's typed outcome.
    let review = review::review(&p).unwrap();
    assert_eq!((review.changed, review.added, review.removed, review.changes_omitted), (1, 0, 0, 0));
    let change = &review.changes[0];
    assert_eq!(change.change, ChangeKind::Changed);
    let (old, new) = (change.old.as_ref().unwrap(), change.new.as_ref().unwrap());
    assert_eq!((old.index, new.index, new.event_type.as_str()), (1, 1, "wasm"));
    assert_eq!(new.summary, r#"call store({name: "a", items: ["x", "z"]})"#);
    assert_eq!(new.payload.as_ref().unwrap()["WasmCall"]["function_name"], "store");
    let paths: Vec<_> =
        change.diff.iter().map(|d| (d.path.as_str(), d.expected.as_deref(), d.actual.as_deref())).collect();
    assert_eq!(paths, [(".0.items[1]", Some("\"y\""), Some("\"z\""))]);

    // What a person reads.
    let out = run(dir.path(), &["review", "golden.json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    insta::assert_snapshot!("review_changed_item", out.stdout);
    assert!(!out.stdout.contains("event 0"), "{}", out.stdout);
    // Not a terminal: nothing asked, nothing changed.
    assert!(out.stderr.contains("nothing asked"), "{}", out.stderr);
    assert!(p.chain.exists() && p.new.exists());
    // Only the header differs: the same events.
    let only_header =
        pending(dir.path(), "header.json", &golden(), &[vec![header('c')], golden()[1..].to_vec()].concat());
    let out = run(dir.path(), &["review", only_header.new.to_str().unwrap()]);
    assert_eq!(out.code, 0);
    assert!(out.stdout.contains(": the same events, recorded by another build (6 events;"), "{}", out.stdout);
    assert_eq!(out.stdout.lines().count(), 2, "{}", out.stdout);
}

#[test]
fn events_added_and_removed_at_the_end() {
    let dir = tempfile::tempdir().unwrap();
    let longer =
        [golden(), vec![call("flush", json!({"Tuple": []})), returned("flush", json!({"Bool": true}))]].concat();
    let p = pending(dir.path(), "longer.json", &golden(), &longer);
    let review = review::review(&p).unwrap();
    let added: Vec<_> =
        review.changes.iter().map(|c| (c.change, c.old.is_none(), c.new.as_ref().map(|e| e.index))).collect();
    assert_eq!(added, [(ChangeKind::Added, true, Some(6)), (ChangeKind::Added, true, Some(7))]);
    let out = run(dir.path(), &["review", "longer.json"]);
    assert!(
        out.stdout.contains(
            "  added    event 6 (wasm)\n    + call flush()\n  added    event 7 (wasm)\n    + flush returned true\n"
        ),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains(": 0 events changed, 2 added, 0 removed (6 -> 8 events;"), "{}", out.stdout);

    let shorter = pending(dir.path(), "shorter.json", &golden(), &golden()[..4]);
    let review = review::review(&shorter).unwrap();
    assert_eq!((review.changed, review.added, review.removed), (0, 0, 2));
    let out = run(dir.path(), &["review", "shorter.json"]);
    assert!(
        out.stdout.contains(
            "  removed  event 4 (wasm)\n    - call count()\n  removed  event 5 (wasm)\n    - count returned 2\n"
        ),
        "{}",
        out.stdout
    );
    // No chain yet: every event is added.
    let new_only = dir.path().join("first.json.new");
    write(&new_only, &linked(&golden()));
    let out = run(dir.path(), &["review", "first.json.new"]);
    assert!(out.stdout.starts_with("first.json: a new chain of 6 events (nothing to replace)\n"), "{}", out.stdout);
}

#[test]
fn a_tampered_successor_is_refused_before_anything_is_shown() {
    let dir = tempfile::tempdir().unwrap();
    let p = tampered(dir.path(), "golden.json");
    let kept = std::fs::read(&p.new).unwrap();
    match review::review(&p) {
        Err(ReviewError::Broken { broken, .. }) => assert_eq!(broken.index, 2),
        other => panic!("not refused: {other:?}"),
    }
    let out = run(dir.path(), &["review", "golden.json"]);
    assert_eq!(out.code, 3, "{}{}", out.stdout, out.stderr);
    assert_eq!(
        out.stdout,
        "golden.json: BROKEN: golden.json.new fails its integrity check at event 2 (demo:agent/host/log): content hash \
         mismatch; not shown, and `accept` refuses it: reject it, or write it again with `verify --accept`\n"
    );
    assert!(!out.stdout.contains("forged"));
    assert_eq!(std::fs::read(&p.new).unwrap(), kept, "left as it is");
    // With others: each is reviewed, the broken one refused, the exit code says so.
    pending(dir.path(), "fine.json", &golden(), &changed_item());
    let out = run(dir.path(), &["review", "--format", "json", "."]);
    assert_eq!(out.code, 3);
    let statuses: Vec<String> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["status"].as_str().unwrap().into())
        .collect();
    assert_eq!(statuses, ["pending", "broken"]);
}

#[test]
fn pending_lists_a_tampered_successor_as_broken() {
    let dir = tempfile::tempdir().unwrap();
    tampered(dir.path(), "golden.json");
    pending(dir.path(), "fine.json", &golden(), &changed_item());
    let out = run(dir.path(), &["pending"]);
    assert_eq!(out.code, 3, "{}", out.stderr);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines[0], "fine.json: first difference at event 1 (wasm), +1 -1 events (6 -> 6)");
    assert!(
        lines[1].starts_with("golden.json: BROKEN: golden.json.new fails its integrity check at event 2"),
        "{}",
        lines[1]
    );
    let out = run(dir.path(), &["pending", "--format", "json", "golden.json"]);
    assert_eq!(out.code, 3);
    let doc: Value = serde_json::from_str(out.stdout.trim()).unwrap();
    assert_eq!(
        (doc["status"].as_str(), doc["broken"]["reason"].as_str()),
        (Some("broken"), Some("content_hash_mismatch"))
    );
    // accept refuses it, with the same exit code, and it stays pending.
    let out = run(dir.path(), &["accept", "golden.json"]);
    assert_eq!(out.code, 3);
    assert!(dir.path().join("golden.json.new").exists());
}

/// What `verify --accept` writes: the counter's v2 logs "adde"; its header names another
/// component, which the review does not show.
#[test]
fn the_successor_verify_accept_writes_is_reviewed_without_its_header() {
    let dir = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    std::fs::copy(root.join("fixtures/chains/counter.json"), dir.path().join("counter.json")).unwrap();
    let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("compile-cache");
    let v2 = root.join("fixtures/components/counter-v2.wat");
    let verify = run(
        dir.path(),
        &["verify", "--accept=always", "--cache-dir", cache.to_str().unwrap(), v2.to_str().unwrap(), "counter.json"],
    );
    assert_eq!(verify.code, 1, "{}", verify.stderr);
    let out = run(dir.path(), &["review", "--color", "never"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.starts_with("counter.json: 2 events changed, 0 added, 0 removed (14 -> 14 events;"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(
            "  changed  event 3 (demo:agent/host/log)\n    - demo:agent/host#log(\"added\")\n    + demo:agent/host#log(\"adde\")\n"
        ),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("recording:"), "{}", out.stdout);
    let doc: Value = serde_json::from_str(run(dir.path(), &["review", "--format", "json"]).stdout.trim()).unwrap();
    assert_eq!(doc["changes"][0]["diff"], json!([{"path": ".0", "expected": "\"added\"", "actual": "\"adde\""}]));
}

/// util-linux `script`, as tests/terminal.rs uses it; `None` (and a note) where it is missing.
fn on_terminal(dir: &Path, args: &str) -> Option<std::process::Child> {
    let found = std::process::Command::new("script").arg("--version").output().is_ok_and(|o| o.status.success());
    if !found {
        eprintln!("note: no util-linux `script` here; the interactive review is not tested");
        return None;
    }
    let bin = assert_cmd::cargo::cargo_bin("theater-replay");
    let command = format!("stty cols 200 rows 50; exec '{}' {args}", bin.display());
    let child = std::process::Command::new("script")
        .args(["-qefc", &command, "/dev/null"])
        .current_dir(dir)
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR_FORCE")
        .env_remove("RUST_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    Some(child)
}

/// What the terminal showed, read on a thread of its own so that a review that never asks
/// fails the test instead of hanging it.
struct Screen {
    text: String,
    chunks: std::sync::mpsc::Receiver<Vec<u8>>,
}

impl Screen {
    fn new(mut stdout: std::process::ChildStdout) -> Screen {
        let (tx, chunks) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n @ 1..) = stdout.read(&mut buf) {
                if tx.send(buf[..n].to_vec()).is_err() {
                    break;
                }
            }
        });
        Screen { text: String::new(), chunks }
    }

    /// Reads until `text` has been shown.
    fn wait_for(&mut self, text: &str) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while !self.text.contains(text) {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.chunks.recv_timeout(left) {
                Ok(chunk) => self.text.push_str(&String::from_utf8_lossy(&chunk)),
                Err(_) => panic!("`{text}` never shown; the screen: {:?}", self.text),
            }
        }
    }

    fn rest(&mut self) {
        while let Ok(chunk) = self.chunks.recv_timeout(std::time::Duration::from_secs(60)) {
            self.text.push_str(&String::from_utf8_lossy(&chunk));
        }
    }
}

#[test]
fn on_a_terminal_each_chain_is_accepted_rejected_or_skipped_as_answered() {
    let dir = tempfile::tempdir().unwrap();
    let a = pending(dir.path(), "a.json", &golden(), &changed_item());
    let b = pending(dir.path(), "b.json", &golden(), &changed_item());
    let c = pending(dir.path(), "c.json", &golden(), &changed_item());
    let (a_new, b_old) = (std::fs::read(&a.new).unwrap(), std::fs::read(&b.chain).unwrap());
    let Some(mut child) = on_terminal(dir.path(), "review --color never") else { return };
    let mut keys = child.stdin.take().unwrap();
    let mut screen = Screen::new(child.stdout.take().unwrap());
    let mut answer = |screen: &mut Screen, asked: &str, key: &[u8]| {
        screen.wait_for(asked);
        keys.write_all(key).unwrap();
        keys.flush().unwrap();
    };
    // Each chain's changes are on screen before its question; a key that is no answer is
    // ignored, and no Enter is needed.
    answer(&mut screen, "a.json (1 of 3): a accept, r reject, s skip, q skip the rest > ", b"xa");
    assert!(screen.text.contains("    + call store({name: \"a\", items: [\"x\", \"z\"]})"), "{:?}", screen.text);
    assert!(screen.text.contains("      .0.items[1]: old \"y\", new \"z\""), "{:?}", screen.text);
    answer(&mut screen, "b.json (2 of 3)", b"r");
    answer(&mut screen, "c.json (3 of 3)", b"s");
    screen.rest();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{:?}", screen.text);
    let shown = screen.text.replace('\r', "");
    // (A key pressed before the question has set the terminal to raw mode is echoed by the
    // terminal too: the lines are matched from the answer's word on.)
    for line in ["accept\naccepted a.json\n", "reject\nrejected b.json\n", "skip\nskipped c.json: still pending\n"] {
        assert!(shown.contains(line), "no {line:?} in {shown:?}");
    }
    // accept put the successor in place, reject deleted it, skip left both.
    assert_eq!(std::fs::read(&a.chain).unwrap(), a_new);
    assert!(!a.new.exists());
    assert_eq!(std::fs::read(&b.chain).unwrap(), b_old);
    assert!(!b.new.exists());
    assert!(c.chain.exists() && c.new.exists());
}

#[test]
fn on_a_terminal_a_tampered_successor_is_never_offered_and_q_skips_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let a = tampered(dir.path(), "a.json");
    let b = pending(dir.path(), "b.json", &golden(), &changed_item());
    let c = pending(dir.path(), "c.json", &golden(), &changed_item());
    let Some(mut child) = on_terminal(dir.path(), "review --color never") else { return };
    let mut keys = child.stdin.take().unwrap();
    let mut screen = Screen::new(child.stdout.take().unwrap());
    screen.wait_for("b.json (2 of 3)");
    assert!(screen.text.contains("a.json: BROKEN: a.json.new fails its integrity check"), "{:?}", screen.text);
    assert!(!screen.text.contains("a.json (1 of 3)"), "{:?}", screen.text);
    keys.write_all(b"q").unwrap();
    keys.flush().unwrap();
    screen.rest();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(3), "{:?}", screen.text);
    assert!(screen.text.contains("skipped b.json and the 1 after it: still pending"), "{:?}", screen.text);
    // Nothing after it is shown or asked.
    assert!(!screen.text.contains("c.json"), "{:?}", screen.text);
    for p in [&a, &b, &c] {
        assert!(p.chain.exists() && p.new.exists(), "{}", p.new.display());
    }
}

#[test]
fn ctrl_c_at_the_question_ends_the_run_on_a_clean_line_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let a = pending(dir.path(), "a.json", &golden(), &changed_item());
    let (old, new) = (std::fs::read(&a.chain).unwrap(), std::fs::read(&a.new).unwrap());
    let Some(mut child) = on_terminal(dir.path(), "review --color never") else { return };
    let mut keys = child.stdin.take().unwrap();
    let mut screen = Screen::new(child.stdout.take().unwrap());
    screen.wait_for("a.json (1 of 1)");
    // After the terminal is in raw mode: a key typed sooner is read all the same, but a
    // Ctrl-C typed sooner would be the terminal's own signal, not the key this tests.
    std::thread::sleep(std::time::Duration::from_millis(500));
    keys.write_all(b"\x03").unwrap();
    keys.flush().unwrap();
    screen.rest();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "{:?}", screen.text);
    assert!(screen.text.ends_with("q skip the rest > \r\n"), "{:?}", screen.text);
    assert_eq!((std::fs::read(&a.chain).unwrap(), std::fs::read(&a.new).unwrap()), (old, new));
}
