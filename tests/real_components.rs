//! Agents built by real toolchains (fixtures/components/README.md): `record` with the real
//! WASI host, `verify` with none, and each agent's v2 caught at the event it changes.
//!
//! The C and Rust builds are committed. The Python and JavaScript builds are large and not
//! reproducible, so `scripts/test` builds them (fixtures/components/{python,js}/build.sh)
//! into target/fixtures/ before the tests run, and their chains are recorded here from the
//! build under test.

use assert_cmd::Command;
use serde_json::Value;
use std::path::{Path, PathBuf};
use tempfile::TempDir;
use theater_replay::chain::ChainReader;
use theater_replay::payload::Payload;

const ANSWERS: &str = r#"{"demo:agent/host@0.1.0#next-token": ["7", "11", "13"]}"#;
const CALLS: [&str; 3] = [r#"run("hello")"#, r#"run("wörld ✓")"#, r#"run("")"#];

/// One agent: where its two builds are, and where its v2 must be caught.
struct Agent {
    name: &'static str,
    v1: PathBuf,
    v2: PathBuf,
    /// The divergence kind v2 causes, as `--format json` names it.
    kind: &'static str,
    /// The first recorded event v2 changes.
    changes: Changed,
    /// A function the guest stack must name at that event (empty: no stack is expected,
    /// as when an export returns a different result).
    in_stack: &'static str,
}

/// Which recorded event v2 changes first.
enum Changed {
    /// The first host call of this function.
    HostCall(&'static str),
    /// The first export result.
    Result,
}

impl Changed {
    fn index(&self, events: &[Payload]) -> usize {
        events
            .iter()
            .position(|p| match (self, p) {
                (Changed::HostCall(function), Payload::HostFunction { call, .. }) => call.function == *function,
                (Changed::Result, Payload::WasmResult { .. }) => true,
                _ => false,
            })
            .expect("the recording has the event v2 changes")
    }
}

fn committed(dir: &str, v1: &str, v2: &str) -> (PathBuf, PathBuf) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/components").join(dir);
    (dir.join(v1), dir.join(v2))
}

/// A build `scripts/test` makes; its absence fails the test with what to run.
fn built(toolchain: &str) -> (PathBuf, PathBuf) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/fixtures").join(toolchain);
    let (v1, v2) = (dir.join("agent.wasm"), dir.join("agent-v2.wasm"));
    assert!(
        v1.exists() && v2.exists(),
        "{} is not built: run fixtures/components/{toolchain}/build.sh (scripts/test does)",
        v1.display()
    );
    (v1, v2)
}

fn agent(name: &'static str) -> Agent {
    let ((v1, v2), kind, changes, in_stack) = match name {
        "c" => (committed("c", "agent.wasm", "agent-v2.wasm"), "different_arguments", Changed::HostCall("log"), "log_step"),
        "rust-unknown" => (
            committed("rust", "agent-unknown.wasm", "agent-unknown-v2.wasm"),
            "different_import",
            Changed::HostCall("get-random-u64"),
            "note_token",
        ),
        "rust-wasip2" => {
            (committed("rust", "agent-wasip2.wasm", "agent-wasip2-v2.wasm"), "different_result", Changed::Result, "")
        }
        // Python-level names live in bytecode, not in wasm's name section: the stack names
        // the export the interpreter was running.
        "python" => (built("python"), "different_arguments", Changed::HostCall("next-token"), "run"),
        // Likewise for JavaScript: the engine's frames, up to the export.
        "js" => (built("js"), "different_import", Changed::HostCall("next-token"), "run"),
        other => panic!("unknown agent {other}"),
    };
    Agent { name, v1, v2, kind, changes, in_stack }
}

struct Run {
    dir: TempDir,
}

impl Run {
    fn new() -> Run {
        Run { dir: TempDir::new().unwrap() }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn cache(&self) -> PathBuf {
        // Shared by the tests: an 18 MB component compiles once per test run, not per test.
        Path::new(env!("CARGO_TARGET_TMPDIR")).join("compile-cache")
    }

    fn cmd(&self) -> Command {
        let mut cmd = Command::cargo_bin("theater-replay").unwrap();
        cmd.current_dir(self.dir.path());
        cmd
    }

    /// Records the three calls with the real WASI host; returns the chain's path.
    fn record(&self, component: &Path, extra: &[&str]) -> PathBuf {
        let answers = self.path("answers.json");
        std::fs::write(&answers, ANSWERS).unwrap();
        let chain = self.path("chain.json");
        let mut cmd = self.cmd();
        cmd.arg("record").arg(component).arg("--answers").arg(&answers).arg("--cache-dir").arg(self.cache());
        for call in CALLS {
            cmd.args(["--invoke", call]);
        }
        cmd.args(extra).arg("-o").arg(&chain).assert().code(0);
        chain
    }

    /// `verify --format json`: exit code and stdout.
    fn verify(&self, component: &Path, chain: &Path) -> (i32, Vec<u8>) {
        let out = self
            .cmd()
            .arg("verify")
            .arg(component)
            .arg(chain)
            .args(["--format", "json", "--cache-dir"])
            .arg(self.cache())
            .output()
            .unwrap();
        (out.status.code().unwrap(), out.stdout)
    }
}

fn payloads(chain: &Path) -> Vec<Payload> {
    ChainReader::open(chain).unwrap().map(|e| Payload::decode(&e.unwrap().data).unwrap()).collect()
}

fn json(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap()
}

/// Record, verify (twice, byte-identical), then v2 against v1's chain.
fn check_agent(name: &'static str) {
    let agent = agent(name);
    let run = Run::new();
    let chain = run.record(&agent.v1, &[]);
    let events = payloads(&chain);

    // The chain holds the real WASI calls (randomness and the clock at least); the replay
    // reproduces the results built from them, so they came from the chain.
    let wasi = |function: &str| {
        events.iter().any(|p| {
            matches!(p, Payload::HostFunction { call, .. }
                if call.function == function && call.interface.as_deref().is_some_and(|i| i.starts_with("wasi:")))
        })
    };
    assert!(wasi("get-random-u64") && wasi("now"), "{}: no WASI calls recorded", agent.name);
    let results = events.iter().filter(|p| matches!(p, Payload::WasmResult { .. })).count();
    assert_eq!(results, CALLS.len(), "{}: every call returned", agent.name);

    let (code, first) = run.verify(&agent.v1, &chain);
    let report = json(&first);
    assert_eq!((code, report["status"].as_str()), (0, Some("verified")), "{}: {report}", agent.name);
    assert_eq!(report["events_verified"].as_u64(), Some(events.len() as u64), "{}", agent.name);
    let (_, second) = run.verify(&agent.v1, &chain);
    assert_eq!(first, second, "{}: two verifications of one chain differ", agent.name);

    let (code, out) = run.verify(&agent.v2, &chain);
    let report = json(&out);
    let divergence = &report["divergence"];
    assert_eq!((code, report["status"].as_str()), (1, Some("diverged")), "{}: {report}", agent.name);
    assert_eq!(divergence["kind"].as_str(), Some(agent.kind), "{}: {report}", agent.name);
    let index = agent.changes.index(&events);
    assert_eq!(divergence["index"].as_u64(), Some(index as u64), "{}: {report}", agent.name);
    if !agent.in_stack.is_empty() {
        let stack: Vec<&str> = divergence["guest_stack"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
        assert!(
            stack.iter().any(|frame| {
                let function = frame.rsplit(['!', ':']).next().unwrap_or_default();
                function == agent.in_stack
            }),
            "{}: the guest stack does not name `{}`: {stack:?}",
            agent.name,
            agent.in_stack
        );
    }
    if let Some(language) = match name {
        "python" => Some("Python"),
        "js" => Some("JavaScript"),
        _ => None,
    } {
        // An interpreter's frames: no debug build gives them the script's lines, so the
        // report must not suggest one.
        let human = run
            .cmd()
            .arg("verify")
            .arg(&agent.v2)
            .arg(&chain)
            .arg("--cache-dir")
            .arg(run.cache())
            .arg("-q")
            .output()
            .unwrap();
        let text = String::from_utf8(human.stdout).unwrap();
        assert!(!text.contains("-g"), "{}: {text}", agent.name);
        assert!(text.contains(&format!("which runs the {language} code")), "{}: {text}", agent.name);
        assert!(text.contains(&format!("look in the {language} source of the export `run`")), "{}: {text}", agent.name);
    }
}

#[test]
fn c_agent_records_verifies_and_catches_v2() {
    check_agent("c");
}

#[test]
fn rust_unknown_agent_records_verifies_and_catches_v2() {
    check_agent("rust-unknown");
}

#[test]
fn rust_wasip2_agent_records_verifies_and_catches_v2() {
    check_agent("rust-wasip2");
}

#[test]
fn python_agent_records_verifies_and_catches_v2() {
    check_agent("python");
}

#[test]
fn js_agent_records_verifies_and_catches_v2() {
    check_agent("js");
}

/// The golden chains committed beside the C and Rust builds still verify: the CI gate an
/// actor's author would set up.
#[test]
fn committed_golden_chains_verify() {
    let run = Run::new();
    let chains = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/chains");
    for (agent, chain) in [("c", "agent-c.json"), ("rust-unknown", "agent-rust-unknown.json"), ("rust-wasip2", "agent-rust-wasip2.json")]
    {
        let (code, out) = run.verify(&agent_build(agent), &chains.join(chain));
        assert_eq!(code, 0, "{chain}: {}", String::from_utf8_lossy(&out));
    }
}

fn agent_build(name: &'static str) -> PathBuf {
    agent(name).v1
}

fn host_output(events: &[Payload], function: &str) -> Value {
    events
        .iter()
        .find_map(|p| match p {
            Payload::HostFunction { call, output, .. } if call.function == function => Some(output.clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no `{function}` call recorded"))
}

/// The guest's environment is empty unless `--env` fills it (Python reads it at start-up).
#[test]
fn record_gives_the_guest_only_the_environment_asked_for() {
    let python = agent("python");
    let run = Run::new();
    let empty = host_output(&payloads(&run.record(&python.v1, &[])), "get-environment");
    assert_eq!(empty, serde_json::json!({"List": []}));

    let given = host_output(
        &payloads(&run.record(&python.v1, &["--env", "GREETING=hello there", "--env", "EMPTY="])),
        "get-environment",
    );
    assert_eq!(
        given,
        serde_json::json!({"List": [
            {"Tuple": [{"String": "GREETING"}, {"String": "hello there"}]},
            {"Tuple": [{"String": "EMPTY"}, {"String": ""}]},
        ]})
    );
}

/// No directories unless `--dir` grants one, under the name asked for (JavaScript lists its
/// preopens when it first writes to stdout).
#[test]
fn record_gives_the_guest_only_the_directories_asked_for() {
    let js = agent("js");
    let run = Run::new();
    let none = host_output(&payloads(&run.record(&js.v1, &[])), "get-directories");
    assert_eq!(none, serde_json::json!({"List": []}));

    let granted = run.path("granted");
    std::fs::create_dir(&granted).unwrap();
    let spec = format!("{}::/data", granted.display());
    let one = host_output(&payloads(&run.record(&js.v1, &["--dir", &spec])), "get-directories");
    let entries = one["List"].as_array().expect("a list");
    assert_eq!(entries.len(), 1, "{one}");
    assert_eq!(entries[0]["Tuple"][1], serde_json::json!({"String": "/data"}), "{one}");
}

/// `--no-wasi` answers WASI from the answers file like any import: the chain is then fully
/// determined by its inputs, byte for byte.
#[test]
fn record_without_wasi_answers_wasi_from_the_file() {
    let (c, _) = committed("c", "agent.wasm", "agent-v2.wasm");
    let run = Run::new();
    let answers = run.path("answers.json");
    let record = |out: &str, answers_json: &str| {
        std::fs::write(&answers, answers_json).unwrap();
        run.cmd()
            .arg("record")
            .arg(&c)
            .arg("--no-wasi")
            .arg("--answers")
            .arg(&answers)
            .args(["--invoke", r#"run("hi")"#, "-o", out])
            .output()
            .unwrap()
    };
    let missing = record("missing.json", ANSWERS);
    assert_eq!(missing.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(stderr.contains("no answers for `wasi:random/random@0.2.0#get-random-u64`"), "{stderr}");
    assert!(!run.path("missing.json").exists(), "a failed recording leaves no chain");

    let full = r#"{"demo:agent/host@0.1.0#next-token": ["7"],
                   "wasi:random/random@0.2.0#get-random-u64": ["1234"],
                   "wasi:clocks/wall-clock@0.2.0#now": ["{seconds: 1700000000, nanoseconds: 5}"]}"#;
    assert_eq!(record("a.json", full).status.code(), Some(0));
    assert_eq!(record("b.json", full).status.code(), Some(0));
    let a = std::fs::read(run.path("a.json")).unwrap();
    assert_eq!(a, std::fs::read(run.path("b.json")).unwrap());
    let events = payloads(&run.path("a.json"));
    let result = events.iter().find_map(|p| match p {
        Payload::WasmResult { result, .. } => Some(result.clone()),
        _ => None,
    });
    assert_eq!(
        result,
        Some(serde_json::json!({"String": "call 1: hi token=7 total=7 random=234 seconds=1700000000"}))
    );
}

/// Borrowed handles inside a list (`wasi:io/poll.poll`), drops of real WASI resources, and a
/// resource type two interfaces share: recorded through the real host, replayed without it.
#[test]
fn record_forwards_borrowed_lists_and_drops_to_the_real_wasi_host() {
    let poller = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/components/poller.wat");
    let run = Run::new();
    let chain = run.path("poller.json");
    run.cmd()
        .arg("record")
        .arg(&poller)
        .args(["--invoke", "wait()", "--no-cache", "-o"])
        .arg(&chain)
        .assert()
        .code(0);
    let summaries: Vec<String> = payloads(&chain).iter().skip(1).map(Payload::summary).collect();
    assert_eq!(
        summaries,
        [
            "call wait()",
            "wasi:clocks/monotonic-clock@0.2.0#subscribe-duration(0) -> own(0)",
            "wasi:clocks/monotonic-clock@0.2.0#subscribe-duration(0) -> own(1)",
            "wasi:io/poll@0.2.0#poll([borrow(0), borrow(1)]) -> [0, 1]",
            "wasi:io/poll@0.2.0#[resource-drop]pollable(own(0))",
            "wasi:io/poll@0.2.0#[resource-drop]pollable(own(1))",
            "wait returned 2",
        ]
    );
    let (code, out) = run.verify(&poller, &chain);
    assert_eq!(code, 0, "{}", String::from_utf8_lossy(&out));
}

/// What a person sees when the C agent's v2 replays the committed golden chain: pinned.
#[test]
fn c_agent_v2_human_report() {
    let run = Run::new();
    let (_, v2) = committed("c", "agent.wasm", "agent-v2.wasm");
    let chain = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/chains/agent-c.json");
    let out = run
        .cmd()
        .arg("verify")
        .arg(&v2)
        .arg(&chain)
        .arg("--cache-dir")
        .arg(run.cache())
        .arg("--quiet")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let report = String::from_utf8(out.stdout).unwrap().replace(&*chain.to_string_lossy(), "agent-c.json");
    insta::assert_snapshot!(report);
}

#[test]
fn a_debug_build_names_the_source_line_of_the_changed_call() {
    // The Rust agent built with DWARF line tables (build.sh debug) replays the golden
    // chain recorded from its plain build, and its v2's extra host call is named by line.
    let run = Run::new();
    let (v1, v2) = committed("rust", "agent-unknown-debug.wasm", "agent-unknown-v2-debug.wasm");
    let chain = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/chains/agent-rust-unknown.json");
    let (code, out) = run.verify(&v1, &chain);
    assert_eq!((code, json(&out)["status"].as_str()), (0, Some("verified")), "{}", String::from_utf8_lossy(&out));

    let (code, out) = run.verify(&v2, &chain);
    let report = json(&out);
    assert_eq!(code, 1, "{report}");
    let divergence = &report["divergence"];
    assert_eq!(divergence["source_lines"], true, "{report}");
    let stack: Vec<&str> = divergence["guest_stack"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    // src/lib.rs:40 is `host::log(&format!("token {token}"));` in `note_token`, the call v2
    // adds; its caller `run` calls it at line 57.
    assert!(stack.contains(&"rust_agent.wasm!rust_agent::note_token at /agent/src/lib.rs:40:5"), "{stack:?}");
    assert!(stack.iter().any(|f| f.contains("at /agent/src/lib.rs:57:")), "{stack:?}");
}

#[test]
fn a_build_without_debug_info_says_a_debug_build_would_show_lines() {
    let run = Run::new();
    let (_, v2) = committed("rust", "agent-unknown.wasm", "agent-unknown-v2.wasm");
    let chain = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/chains/agent-rust-unknown.json");
    let (code, out) = run.verify(&v2, &chain);
    let report = json(&out);
    assert_eq!((code, &report["divergence"]["source_lines"]), (1, &Value::Bool(false)), "{report}");
    let human =
        run.cmd().arg("verify").arg(&v2).arg(&chain).arg("--cache-dir").arg(run.cache()).arg("--quiet").output().unwrap();
    let text = String::from_utf8(human.stdout).unwrap();
    assert!(text.contains("rust_agent.wasm!rust_agent::note_token\n"), "{text}");
    let hint = "no source lines: the actor has no DWARF debug info; a debug build, or -g, would show file:line";
    assert!(text.contains(hint), "{text}");
}

#[test]
fn a_changed_result_string_is_diffed_at_the_span_that_changed() {
    // The wasip2 v2 says `sum=` where v1 says `total=`: the diff points at character 22
    // with a little context, not at two whole strings.
    let run = Run::new();
    let (_, v2) = committed("rust", "agent-wasip2.wasm", "agent-wasip2-v2.wasm");
    let chain = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/chains/agent-rust-wasip2.json");
    let (code, out) = run.verify(&v2, &chain);
    let report = json(&out);
    assert_eq!((code, report["divergence"]["kind"].as_str()), (1, Some("different_result")), "{report}");
    let diff = serde_json::json!([{
        "path": ".",
        "expected": "…\"llo token=7 total=7 random=43\"…",
        "actual": "…\"llo token=7 sum=7 random=43\"…",
        "at": 22,
    }]);
    assert_eq!(report["divergence"]["diff"], diff, "{report}");
}
