//! Bad input, data-driven: every case runs the real binary and must end with its documented
//! exit code, at most one stderr line (exactly one when the exit code is 2) that is short
//! (at most 300 characters) and free of control characters, no panic (never exit 101), no
//! hang (each run has a timeout), and every file it was given byte-identical afterwards,
//! with no file left behind.
//!
//! All inputs are copies in one temporary directory, hashed before and after each case.

use assert_cmd::Command;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

const MAX_LINE: usize = 300;

fn fixture(path: &str) -> Vec<u8> {
    std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(path)).unwrap()
}

/// Every file under `dir` and its SHA-256.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            if meta.is_dir() {
                todo.push(path);
            } else if meta.is_file() {
                files.insert(path.clone(), Sha256::digest(std::fs::read(&path).unwrap()).to_vec());
            } else {
                files.insert(path, Vec::new());
            }
        }
    }
    files
}

struct Case {
    name: String,
    args: Vec<String>,
    code: i32,
}

fn case(name: impl Into<String>, code: i32, args: &[&str]) -> Case {
    Case { name: name.into(), args: args.iter().map(|s| s.to_string()).collect(), code }
}

/// Bad chains: (file name, contents, exit of check, inspect, verify).
fn bad_chains() -> Vec<(&'static str, Vec<u8>, [i32; 3])> {
    let pretty = fixture("theater-chains/runtime-runtime-test.json");
    let text = String::from_utf8(pretty.clone()).unwrap();
    let ours = String::from_utf8(fixture("chains/counter.json")).unwrap();
    let lines: Vec<&str> = ours.lines().filter(|l| l.starts_with('{')).map(|l| l.trim_end_matches(',')).collect();
    let marker = "\"data\": [\n      ";
    let data_at = text.match_indices(marker).nth(1).map(|(i, _)| i + marker.len()).unwrap();
    let with = |at: usize, len: usize, put: &str| {
        let mut t = text.clone();
        t.replace_range(at..at + len, put);
        t.into_bytes()
    };
    let event_type_at = text.find("\"event_type\": \"").unwrap() + "\"event_type\": \"".len();
    let hash_at = text.find("\"hash\": [").unwrap() + "\"hash\": ".len();
    let hash_end = hash_at + text[hash_at..].find(']').unwrap() + 1;
    let log = fixture("theater-0.3.8/chains/state-actor.chain");
    let log_text = String::from_utf8_lossy(&log).into_owned();
    let first_len_line = log_text.lines().nth(3).unwrap().to_owned();
    let state = String::from_utf8(fixture("theater-0.3.8/chains/state-actor.state.json")).unwrap();
    vec![
        ("empty.json", vec![], [2, 2, 2]),
        ("blank.json", b"  \n\t \n".to_vec(), [2, 2, 2]),
        ("bom-only.json", b"\xEF\xBB\xBF".to_vec(), [2, 2, 2]),
        ("not-a-chain.json", b"hello world".to_vec(), [2, 2, 2]),
        ("lone-brace.json", b"{".to_vec(), [2, 2, 2]),
        ("binary.json", (0..=255u8).cycle().take(4096).map(|b| b.wrapping_mul(151)).collect(), [2, 2, 2]),
        ("invalid-utf8.json", with(event_type_at, 1, "\u{fffd}").into_iter().map(|b| if b == 0xbd { 0xff } else { b }).collect(), [2, 2, 2]),
        ("truncated.json", pretty[..pretty.len() / 2].to_vec(), [2, 2, 2]),
        ("byte-256.json", with(data_at, 3, "256"), [2, 2, 2]),
        ("ten-thousand-digits.json", with(data_at, 3, &"9".repeat(10_000)), [2, 2, 2]),
        ("nested-in-data.json", with(data_at, 0, "[1],"), [2, 2, 2]),
        ("object-in-data.json", with(data_at, 0, "{\"a\":1},"), [2, 2, 2]),
        ("deep-nesting.json", format!("[{}", "[".repeat(100_000)).into_bytes(), [2, 2, 2]),
        ("huge-unknown-field.json", with(hash_at - "\"hash\": ".len(), 0, &format!("\"{}\": 1, ", "k".repeat(100_000))), [2, 2, 2]),
        // Valid JSON, hashes wrong: a broken chain; its ANSI event type must not reach the terminal.
        ("ansi-event-type.json", with(event_type_at, 0, "\\u001b[2K\\r intact "), [3, 3, 3]),
        ("unsupported-hash-length.json", with(hash_at, hash_end - hash_at, "[1, 2, 3]"), [3, 3, 3]),
        ("two-events-one-line.jsonl", format!("{}{}\n", lines[0], lines[1]).into_bytes(), [2, 2, 2]),
        ("newline-as-space.jsonl", format!("{} {}\n", lines[0], lines[1]).into_bytes(), [2, 2, 2]),
        ("event-over-lines.jsonl", format!("{}\n{}\n", lines[0], lines[1].replacen(",\"data\"", ",\n\"data\"", 1)).into_bytes(), [2, 2, 2]),
        ("log-short-body.chain", log[..log.len() - 10].to_vec(), [2, 2, 2]),
        ("log-huge-length.chain", log_text.replacen(&format!("\n{first_len_line}\n"), "\n99999999999999\n", 1).into_bytes(), [2, 2, 2]),
        ("log-bad-hex.chain", log_text.replacen("EVENT ", "EVENT zz", 1).into_bytes(), [2, 2, 2]),
        ("state-unknown-key.json", state.replacen("\"current_hash\"", "\"head\"", 1).into_bytes(), [2, 2, 2]),
        ("state-head-mismatch.json", {
            let at = state.find("\"current_hash\"").unwrap();
            let open = at + state[at..].find('[').unwrap() + 1;
            let mut s = state.clone();
            let digit = s[open..].find(|c: char| c.is_ascii_digit()).unwrap() + open;
            let d = if &s[digit..digit + 1] == "1" { "2" } else { "1" };
            s.replace_range(digit..digit + 1, d);
            s.into_bytes()
        // A Pack actor's chain given with a component: that is an error of its own (2).
        }, [3, 3, 2]),
    ]
}

fn cases(dir: &Path) -> Vec<Case> {
    let p = |name: &str| dir.join(name).display().to_string();
    let write = |name: &str, data: &[u8]| std::fs::write(dir.join(name), data).unwrap();
    write("counter.wat", &fixture("components/counter.wat"));
    write("counter.json", &fixture("chains/counter.json"));
    write("answers.json", &fixture("components/counter.answers.json"));
    write("theater.json", &fixture("theater-chains/runtime-runtime-test.json"));
    let wasm = fixture("pack/state-actor.wasm");
    write("truncated.wasm", &wasm[..wasm.len().min(100)]);
    write("empty.wasm", b"");
    write("garbage.wasm", b"\0asm\x0d\0\x01\0garbage");
    write("bad-answers.json", b"{\"demo:agent/host#next-token\": [1, 2]}");
    let spin = String::from_utf8(fixture("components/counter.wat"))
        .unwrap()
        .replacen(r#"(memory (export "memory") 1)"#, r#"(memory (export "memory") 1) (func $spin (loop $l (br $l))) (start $spin)"#, 1);
    write("spin.wat", spin.as_bytes());
    std::fs::create_dir_all(dir.join("empty-dir")).unwrap();

    let mut cases = Vec::new();
    for (name, contents, [check, inspect, verify]) in bad_chains() {
        write(name, &contents);
        // Relative (the runs start in `dir`): messages name the file as given.
        let chain = name.to_owned();
        cases.push(case(format!("check {name}"), check, &["check", &chain]));
        cases.push(case(format!("inspect {name}"), inspect, &["inspect", &chain]));
        cases.push(case(format!("verify {name}"), verify, &["verify", "--format", "json", &p("counter.wat"), &chain]));
        // As the successor of a chain: `review` checks it as `check` does, before anything.
        write(&format!("{name}.new"), &contents);
        cases.push(case(format!("review {name}.new"), check, &["review", &chain]));
    }
    let (wat, chain, answers) = (p("counter.wat"), p("counter.json"), p("answers.json"));
    let long_arg = format!("add({})", "1".repeat(100_000));
    let long_name = format!("{}(1)", "f".repeat(100_000));
    let mut more = vec![
        // Chains that are not there or not files.
        case("check missing", 2, &["check", "/nonexistent/chain.json"]),
        case("check a directory", 2, &["check", &p("empty-dir")]),
        case("inspect missing", 2, &["inspect", "/nonexistent/chain.json"]),
        case("diff missing", 2, &["diff", "/nonexistent/a.json", &chain]),
        case("diff --format json missing", 2, &["diff", "--format", "json", &chain, "/nonexistent/b.json"]),
        case("diff a bad chain", 2, &["diff", &p("truncated.json"), &p("truncated.json")]),
        case("verify missing chain", 2, &["verify", &wat, "/nonexistent/chain.json"]),
        case("verify --format json missing chain", 2, &["verify", "--format", "json", &wat, "/nonexistent/chain.json"]),
        case("verify two chains, one bad", 2, &["verify", &wat, &chain, &p("byte-256.json")]),
        // Components.
        case("verify missing component", 2, &["verify", "/nonexistent/c.wasm", &chain]),
        case("verify empty component", 2, &["verify", &p("empty.wasm"), &chain]),
        case("verify truncated wasm", 2, &["verify", &p("truncated.wasm"), &chain]),
        case("verify garbage wasm", 2, &["verify", &p("garbage.wasm"), &chain]),
        case("verify a chain as component", 2, &["verify", &chain, &chain]),
        case("verify a directory as component", 2, &["verify", &p("empty-dir"), &chain]),
        // A limit, as in a call: the divergence `limit_exceeded`.
        case("verify a start function that loops", 1, &["verify", "--timeout", "0.3", &p("spin.wat"), &chain]),
        case("record a start function that loops", 2, &["record", "--timeout", "0.3", &p("spin.wat"), "--answers", &answers, "--invoke", "add(1)"]),
        // Flags.
        case("no subcommand", 2, &[]),
        case("unknown subcommand", 2, &["frobnicate"]),
        case("unknown flag", 2, &["check", "--frobnicate", &chain]),
        case("check --format xml", 2, &["check", "--format", "xml", &chain]),
        case("check without chains", 2, &["check"]),
        case("verify --timeout 0", 2, &["verify", "--timeout", "0", &wat, &chain]),
        case("verify --timeout -1", 2, &["verify", "--timeout", "-1", &wat, &chain]),
        case("verify --timeout abc", 2, &["verify", "--timeout", "abc", &wat, &chain]),
        case("verify --timeout nan", 2, &["verify", "--timeout", "nan", &wat, &chain]),
        case("verify --timeout inf", 2, &["verify", "--timeout", "inf", &wat, &chain]),
        case("verify --timeout 1e300", 2, &["verify", "--timeout", "1e300", &wat, &chain]),
        case("verify --max-memory abc", 2, &["verify", "--max-memory", "abc", &wat, &chain]),
        case("verify -j 0", 2, &["verify", "-j", "0", &wat, &chain]),
        case("verify --shard 0/4", 2, &["verify", "--shard", "0/4", &wat, &chain]),
        case("verify --shard 5/4", 2, &["verify", "--shard", "5/4", &wat, &chain]),
        case("verify --shard x", 2, &["verify", "--shard", "x", &wat, &chain]),
        case("verify --chains empty dir", 2, &["verify", &wat, "--chains", &p("empty-dir")]),
        case("verify --chains missing", 2, &["verify", &wat, "--chains", "/nonexistent/dir"]),
        case("verify --no-cache --cache-dir", 2, &["verify", "--no-cache", "--cache-dir", &p("empty-dir"), &wat, &chain]),
        case("verify stdin among chains", 2, &["verify", &wat, "-", &chain]),
        case("verify --dialect bogus", 2, &["verify", "--dialect", "bogus", &wat, &chain]),
        case("verify --manifest missing", 2, &["verify", "--manifest", "/nonexistent/theater.toml", &wat, &chain]),
        case("record --invoke no such export", 2, &["record", &wat, "--answers", &answers, "--invoke", "nothere()"]),
        case("record --invoke wrong type", 2, &["record", &wat, "--answers", &answers, "--invoke", "add(\"x\")"]),
        case("record --invoke unclosed", 2, &["record", &wat, "--answers", &answers, "--invoke", "add("]),
        case("record --invoke no parens", 2, &["record", &wat, "--answers", &answers, "--invoke", "add"]),
        case("record --invoke 100 KB argument", 2, &["record", &wat, "--answers", &answers, "--invoke", &long_arg]),
        case("record --invoke 100 KB name", 2, &["record", &wat, "--answers", &answers, "--invoke", &long_name]),
        case("record --invoke control characters", 2, &["record", &wat, "--answers", &answers, "--invoke", "\u{1b}[2Kadd(1)"]),
        case("record --env =x", 2, &["record", &wat, "--answers", &answers, "--env", "=x", "--invoke", "add(1)"]),
        case("record --env unset variable", 2, &["record", &wat, "--env", "THEATER_REPLAY_SURELY_UNSET", "--invoke", "add(1)"]),
        case("record --dir ::x", 2, &["record", &wat, "--dir", "::x", "--invoke", "add(1)"]),
        case("record --answers missing", 2, &["record", &wat, "--answers", "/nonexistent/a.json", "--invoke", "add(1)"]),
        case("record --answers malformed", 2, &["record", &wat, "--answers", &p("bad-answers.json"), "--invoke", "add(1)"]),
        case("record runs out of answers", 2, &["record", &wat, "--invoke", "add(1)"]),
        case("record --layout event-log for a component", 2, &["record", &wat, "--layout", "event-log", "--answers", &answers, "--invoke", "add(1)"]),
        case("record --initial-state for a component", 2, &["record", &wat, "--initial-state", "1", "--answers", &answers, "--invoke", "add(1)"]),
        // Output destinations.
        case("record -o the component", 2, &["record", &wat, "--answers", &answers, "--invoke", "add(1)", "-o", &wat]),
        case("record -o the answers file", 2, &["record", &wat, "--answers", &answers, "--invoke", "add(1)", "-o", &answers]),
        case("record -o a directory", 2, &["record", &wat, "--answers", &answers, "--invoke", "add(1)", "-o", &p("empty-dir")]),
        case("record -o in a missing directory", 2, &["record", &wat, "--answers", &answers, "--invoke", "add(1)", "-o", "/nonexistent/dir/out.json"]),
        case("record -o empty path", 2, &["record", &wat, "--answers", &answers, "--invoke", "add(1)", "-o", ""]),
        case("record -o /dev/full", 2, &["record", &wat, "--answers", &answers, "--invoke", "add(1)", "-o", "/dev/full"]),
        case("verify --junit the chain", 2, &["verify", &wat, &chain, "--junit", &chain]),
        case("verify --junit the component", 2, &["verify", &wat, &chain, "--junit", &wat]),
        case("verify --junit in a missing directory", 2, &["verify", &wat, &chain, "--junit", "/nonexistent/dir/r.xml"]),
        case("verify --junit /dev/full", 2, &["verify", &wat, &chain, "--junit", "/dev/full"]),
        case("review a missing path", 2, &["review", "/nonexistent/golden"]),
        case("review a chain with nothing pending", 2, &["review", &wat]),
        case("review --format json of nothing pending", 2, &["review", "--format", "json", &wat]),
    ];
    cases.append(&mut more);
    cases
}

#[test]
fn every_bad_input_is_one_safe_line_and_harms_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let cases = cases(dir.path());
    assert!(cases.len() >= 80, "{} cases", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let before = snapshot(dir.path());
        let out = Command::cargo_bin("theater-replay")
            .unwrap()
            .args(&case.args)
            .env("XDG_CACHE_HOME", cache.path())
            .env_remove("RUST_LOG")
            .current_dir(dir.path())
            .timeout(Duration::from_secs(20))
            .output();
        let out = match out {
            Ok(out) => out,
            Err(e) => {
                failures.push(format!("{}: did not finish: {e}", case.name));
                continue;
            }
        };
        let stderr = String::from_utf8_lossy(&out.stderr);
        let lines: Vec<&str> = stderr.lines().collect();
        let mut problems = Vec::new();
        match out.status.code() {
            Some(101) => problems.push("panicked".to_owned()),
            Some(code) if code != case.code => problems.push(format!("exit {code}, expected {}", case.code)),
            None => problems.push("killed by a signal".to_owned()),
            _ => {}
        }
        if lines.len() > 1 || (case.code == 2 && lines.len() != 1) {
            problems.push(format!("{} stderr lines", lines.len()));
        }
        for line in &lines {
            if line.chars().count() > MAX_LINE {
                problems.push(format!("a stderr line of {} characters", line.chars().count()));
            }
            if line.chars().any(char::is_control) {
                problems.push("control characters on stderr".to_owned());
            }
        }
        if String::from_utf8_lossy(&out.stdout).chars().any(|c| c.is_control() && c != '\n') {
            problems.push("control characters on stdout".to_owned());
        }
        if snapshot(dir.path()) != before {
            problems.push("the files it was given changed (or a file was left behind)".to_owned());
        }
        if !problems.is_empty() {
            let shown: String = stderr.chars().take(400).collect();
            failures.push(format!("{}: {}; stderr: {shown:?}", case.name, problems.join(", ")));
        }
    }
    assert!(failures.is_empty(), "{} of {} cases failed:\n{}", failures.len(), cases.len(), failures.join("\n"));
}
