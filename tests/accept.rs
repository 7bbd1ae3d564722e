//! Golden chains that follow intended changes: `verify --accept` writes a diverged chain's
//! successor as `<chain>.new` (recorded on the new build, imports answered from the old
//! chain first), `pending` lists them, `accept` puts them in place, `reject` deletes them.
//! On the fixtures: the WAT counter (edited into its v2 as tests/verify.rs does), and the C
//! and Rust agents with their committed v2 builds.

use assert_cmd::Command;
use serde_json::Value;
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};
use tempfile::TempDir;
use theater_replay::chain::ChainReader;
use theater_replay::payload::Payload;

const COUNTER: &str = include_str!("../fixtures/components/counter.wat");
const COUNTER_ANSWERS: &str = include_str!("../fixtures/components/counter.answers.json");
const COUNTER_CALLS: &[&str] = &["add(1)", "add(2)", "demo:agent/api#greet(\"theater\")", "demo:agent/api#total()"];
/// v2 logs "adde" where v1 logged "added": different arguments at the first `log`.
const COUNTER_LOG: &str = "(call $log (i32.const 16) (i32.const 5))";
const COUNTER_V2_LOG: &str = "(call $log (i32.const 16) (i32.const 4))";

const AGENT_ANSWERS: &str = r#"{"demo:agent/host@0.1.0#next-token": ["7", "11", "13"]}"#;
const AGENT_CALLS: [&str; 3] = [r#"run("hello")"#, r#"run("wörld ✓")"#, r#"run("")"#];

struct Run {
    dir: TempDir,
}

struct Output {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn new() -> Run {
        Run { dir: TempDir::new().unwrap() }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `theater-replay ARGS` in the run's directory, never seeing a CI of the machine the
    /// tests run on (that would turn every `--accept` into a refusal).
    fn run(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut cmd = Command::cargo_bin("theater-replay").unwrap();
        cmd.current_dir(self.dir.path()).env_remove("CI").args(args);
        if args.first().is_some_and(|a| *a == "verify" || *a == "record") {
            let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("compile-cache");
            cmd.arg("--cache-dir").arg(cache);
        }
        for (name, value) in env {
            cmd.env(name, value);
        }
        let out = cmd.output().unwrap();
        Output {
            code: out.status.code().unwrap(),
            stdout: String::from_utf8(out.stdout).unwrap(),
            stderr: String::from_utf8(out.stderr).unwrap(),
        }
    }

    fn ok(&self, args: &[&str]) -> Output {
        let out = self.run(args, &[]);
        assert_eq!(out.code, 0, "{args:?}: {}{}", out.stdout, out.stderr);
        out
    }

    /// Records `calls` on `component` into `chain` (in the run's directory).
    fn record(&self, component: &Path, answers: &str, calls: &[&str], chain: &str, extra: &[&str]) -> PathBuf {
        let answers_path = self.path("answers.json");
        std::fs::write(&answers_path, answers).unwrap();
        let mut args = vec!["record", component.to_str().unwrap(), "--answers", answers_path.to_str().unwrap()];
        for call in calls {
            args.extend(["--invoke", call]);
        }
        args.extend(extra);
        args.extend(["-o", chain]);
        self.ok(&args);
        self.path(chain)
    }

    /// `verify COMPONENT CHAIN... ARGS --format json`.
    fn verify(&self, component: &Path, chains: &[&Path], args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut all = vec!["verify", component.to_str().unwrap()];
        all.extend(chains.iter().map(|c| c.to_str().unwrap()));
        all.extend(args);
        all.extend(["--format", "json"]);
        self.run(&all, env)
    }

    fn counter(&self) -> (PathBuf, PathBuf) {
        let v1 = self.path("counter.wat");
        std::fs::write(&v1, COUNTER).unwrap();
        let v2 = self.path("counter-v2.wat");
        assert_eq!(COUNTER.matches(COUNTER_LOG).count(), 1);
        std::fs::write(&v2, COUNTER.replacen(COUNTER_LOG, COUNTER_V2_LOG, 1)).unwrap();
        (v1, v2)
    }
}

fn fixture(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(path)
}

fn new_of(chain: &Path) -> PathBuf {
    PathBuf::from(format!("{}.new", chain.display()))
}

fn payloads(chain: &Path) -> Vec<Payload> {
    ChainReader::open(chain).unwrap().map(|e| Payload::decode(&e.unwrap().data).unwrap()).collect()
}

/// The outputs of every host call but the log, in order: what the old chain answered.
fn answers(chain: &Path) -> Vec<(String, Value)> {
    payloads(chain)
        .into_iter()
        .filter_map(|p| match p {
            Payload::HostFunction { call, output, .. } if !call.function.contains("log") => Some((call.key(), output)),
            _ => None,
        })
        .collect()
}

fn json_lines(text: &str) -> Vec<Value> {
    text.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// The whole cycle on the counter: --accept leaves the old chain byte for byte, writes a
/// successor that verifies against v2 with the old chain's answers (no answers file given),
/// pending says what changed, accept puts it in place.
#[test]
fn counter_accept_cycle() {
    let run = Run::new();
    let (v1, v2) = run.counter();
    let chain = run.record(&v1, COUNTER_ANSWERS, COUNTER_CALLS, "counter.json", &[]);
    let golden = std::fs::read(&chain).unwrap();

    let out = run.verify(&v2, &[&chain], &["--accept"], &[]);
    assert_eq!(out.code, 1, "the verification's exit code: {}{}", out.stdout, out.stderr);
    assert_eq!(json_lines(&out.stdout)[0]["status"], "diverged");
    assert!(out.stderr.contains("wrote ") && out.stderr.contains("counter.json.new"), "{}", out.stderr);
    assert_eq!(std::fs::read(&chain).unwrap(), golden, "the old chain is untouched until accept");
    let new = new_of(&chain);

    // The successor verifies against the new build and fails against the old one.
    let out = run.verify(&v2, &[&new], &[], &[]);
    assert_eq!((out.code, json_lines(&out.stdout)[0]["status"].as_str()), (0, Some("verified")), "{}", out.stdout);
    assert_eq!(run.verify(&v1, &[&new], &[], &[]).code, 1);
    // Every import was answered as the old chain answered it.
    assert_eq!(answers(&new), answers(&chain));
    let logs: Vec<String> = payloads(&new)
        .into_iter()
        .filter_map(|p| match p {
            Payload::HostFunction { call, input, .. } if call.function == "log" => Some(input.to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(logs, [r#"{"String":"adde"}"#, r#"{"String":"adde"}"#]);

    // pending: the two logs changed, at event 3 (0 header, 1 add(1), 2 next-token, 3 log).
    let out = run.ok(&["pending", "--format", "json"]);
    let listed = json_lines(&out.stdout);
    assert_eq!(listed.len(), 1, "{}", out.stdout);
    assert!(out.stdout.starts_with(r#"{"schema_version":1,"chain":"counter.json","pending":"counter.json.new","status":"pending","old_events":"#), "{}", out.stdout);
    let events = payloads(&chain).len() as u64;
    assert_eq!(listed[0]["chain"], "counter.json");
    assert_eq!(listed[0]["pending"], "counter.json.new");
    assert_eq!(listed[0]["first_difference"], 3);
    assert_eq!(listed[0]["event_type"], "demo:agent/host/log");
    assert_eq!((listed[0]["added"].as_u64(), listed[0]["removed"].as_u64()), (Some(2), Some(2)));
    assert_eq!((listed[0]["old_events"].as_u64(), listed[0]["new_events"].as_u64()), (Some(events), Some(events)));
    let out = run.ok(&["pending", "counter.json"]);
    assert_eq!(
        out.stdout,
        format!(
            "counter.json: first difference at event 3 (demo:agent/host/log), +2 -2 events ({events} -> {events})\n"
        )
    );
    assert_eq!(std::fs::read(&chain).unwrap(), golden, "pending changes nothing");

    // accept: the successor replaces the chain, byte for byte, and is no longer pending.
    let successor = std::fs::read(&new).unwrap();
    let out = run.ok(&["accept"]);
    assert_eq!(out.stdout, "accepted counter.json\n");
    assert_eq!(std::fs::read(&chain).unwrap(), successor);
    assert!(!new.exists());
    assert_eq!(run.verify(&v2, &[&chain], &[], &[]).code, 0);
    let out = run.ok(&["pending"]);
    assert_eq!((out.stdout.as_str(), out.stderr.as_str()), ("", "no pending chains\n"));
}

#[test]
fn reject_deletes_the_successor_and_keeps_the_chain() {
    let run = Run::new();
    let (v1, v2) = run.counter();
    let chain = run.record(&v1, COUNTER_ANSWERS, COUNTER_CALLS, "counter.json", &[]);
    let golden = std::fs::read(&chain).unwrap();
    assert_eq!(run.verify(&v2, &[&chain], &["--accept"], &[]).code, 1);
    assert!(new_of(&chain).exists());
    // Named by its `.new` file this time.
    let out = run.ok(&["reject", "counter.json.new", "--format", "json"]);
    assert_eq!(
        json_lines(&out.stdout),
        [serde_json::json!({"schema_version": 1, "chain": "counter.json", "status": "rejected"})]
    );
    assert!(!new_of(&chain).exists());
    assert_eq!(std::fs::read(&chain).unwrap(), golden);
    // A chain with nothing pending, named: an error; a directory with none: nothing to do.
    let out = run.run(&["accept", "counter.json"], &[]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert_eq!(out.stderr, "error: counter.json: no pending chain (counter.json.new does not exist)\n");
    let out = run.ok(&["reject", "."]);
    assert_eq!(out.stdout, "");
}

/// On CI (`CI` set, as every CI service sets it) plain `--accept` writes nothing: exit 2,
/// one line, before anything runs. `--accept=always` writes there too.
#[test]
fn ci_refuses_accept_unless_always() {
    let run = Run::new();
    let (v1, v2) = run.counter();
    let chain = run.record(&v1, COUNTER_ANSWERS, COUNTER_CALLS, "counter.json", &[]);
    for ci in ["true", "1", "yes"] {
        let out = run.verify(&v2, &[&chain], &["--accept"], &[("CI", ci)]);
        assert_eq!(out.code, 2, "CI={ci}: {}", out.stderr);
        assert_eq!(
            out.stderr,
            format!("error: --accept writes no chains on CI (CI={ci}); use --accept=always to write them anyway\n")
        );
        assert!(!new_of(&chain).exists());
    }
    // `CI=false` and an empty CI are not CI.
    for not_ci in ["false", "0", ""] {
        assert_eq!(run.verify(&v2, &[&chain], &["--accept=auto"], &[("CI", not_ci)]).code, 1);
        assert!(new_of(&chain).exists(), "CI={not_ci:?}");
        std::fs::remove_file(new_of(&chain)).unwrap();
    }
    let out = run.verify(&v2, &[&chain], &["--accept=always"], &[("CI", "true")]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(run.verify(&v2, &[&new_of(&chain)], &[], &[]).code, 0);
    // A chain that verifies gets no successor.
    std::fs::remove_file(new_of(&chain)).unwrap();
    assert_eq!(run.verify(&v1, &[&chain], &["--accept"], &[]).code, 0);
    assert!(!new_of(&chain).exists());
    // `--accept` takes its value only with `=`: a chain after it stays a chain.
    assert_eq!(run.run(&["verify", "--accept", v2.to_str().unwrap(), chain.to_str().unwrap()], &[]).code, 1);
    assert!(new_of(&chain).exists());
    let out = run.run(&["verify", v2.to_str().unwrap(), chain.to_str().unwrap(), "--accept=sometimes"], &[]);
    assert_eq!(out.code, 2);
    assert_eq!(run.run(&["verify", v2.to_str().unwrap(), chain.to_str().unwrap(), "--answers", "a.json"], &[]).code, 2);
}

/// v2 reads the clock in `add` where v1 asked for a token: the old chain answers the first
/// clock read (its recorded one, from `greet`), and the second has no answer anywhere: that
/// chain stops, with no `.new` file; `--answers` then supplies what is missing.
#[test]
fn a_call_nothing_answers_stops_that_chain() {
    let run = Run::new();
    let (v1, _) = run.counter();
    let chain = run.record(&v1, COUNTER_ANSWERS, COUNTER_CALLS, "counter.json", &[]);
    let golden = std::fs::read(&chain).unwrap();
    let v2 = run.path("clock.wat");
    std::fs::write(&v2, COUNTER.replacen("(call $next_token)))", "(i32.wrap_i64 (call $now))))", 1)).unwrap();

    let out = run.verify(&v2, &[&chain], &["--accept"], &[]);
    assert_eq!(out.code, 1, "the verification's exit code: {}", out.stderr);
    let errors: Vec<&str> = out.stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "{}", out.stderr);
    assert!(
        errors[0].starts_with(&format!("error: {}: --accept: cannot record a new chain: while calling `add`: the old chain recorded 1 call(s) of `now` and this is call 2, and it is not WASI: `now` returns a value and no --answers file was given", chain.display())),
        "{}",
        errors[0]
    );
    assert!(!new_of(&chain).exists());
    assert_eq!(std::fs::read_dir(run.dir.path()).unwrap().count(), 5, "no temporary file left");
    assert_eq!(std::fs::read(&chain).unwrap(), golden);

    let answers = run.path("more.json");
    std::fs::write(&answers, r#"{"now": ["42", "43"]}"#).unwrap();
    let out = run.verify(&v2, &[&chain], &["--accept", "--answers", answers.to_str().unwrap()], &[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let new = new_of(&chain);
    assert_eq!(run.verify(&v2, &[&new], &[], &[]).code, 0);
    let nows: Vec<Value> = answers_of(&new, "now");
    // The old chain's one clock reading first, then the answers file's.
    let old_now = answers_of(&chain, "now");
    assert_eq!(nows, [old_now[0].clone(), serde_json::json!({"U64": 42}), serde_json::json!({"U64": 43})]);
}

fn answers_of(chain: &Path, key: &str) -> Vec<Value> {
    answers(chain).into_iter().filter(|(k, _)| k == key).map(|(_, v)| v).collect()
}

/// `--chains DIR --accept`: only the diverged chains get successors; a later run over the
/// directory warns about them.
#[test]
fn chains_dir_accept_and_the_pending_warning() {
    let run = Run::new();
    let (v1, v2) = run.counter();
    std::fs::create_dir_all(run.path("golden/sub")).unwrap();
    let diverges = run.record(&v1, COUNTER_ANSWERS, COUNTER_CALLS, "golden/sub/counter.json", &[]);
    // Only `total()`: v2's change is in `add`, so this one verifies.
    let verifies =
        run.record(&v1, COUNTER_ANSWERS, &["demo:agent/api#total()"], "golden/total.jsonl", &["--format", "jsonl"]);
    let dir = run.path("golden");
    let dir = dir.to_str().unwrap();

    let out = run.run(&["verify", v2.to_str().unwrap(), "--chains", dir, "--accept", "-j", "2"], &[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(!out.stderr.contains("warning"), "nothing was pending before: {}", out.stderr);
    assert!(new_of(&diverges).exists());
    assert!(!new_of(&verifies).exists());

    let out = run.run(&["verify", v2.to_str().unwrap(), "--chains", dir], &[]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains(&format!(
            "warning: 1 pending chain(s) under {dir} (.new files): `theater-replay review {dir}` shows each, to accept or reject it"
        )),
        "{}",
        out.stderr
    );
    // The `.new` file is not taken for a chain of its own.
    assert!(out.stdout.contains("2 chains"), "{}", out.stdout);
    // -q: no log output below errors, this warning included.
    let quiet = run.run(&["verify", "-q", v2.to_str().unwrap(), "--chains", dir], &[]);
    assert_eq!((quiet.code, quiet.stderr.as_str()), (1, ""));

    let out = run.ok(&["accept", dir]);
    assert_eq!(out.stdout, format!("accepted {}\n", diverges.display()));
    let out = run.run(&["verify", v2.to_str().unwrap(), "--chains", dir], &[]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(!out.stderr.contains("warning"), "{}", out.stderr);
}

/// A real agent: record with real WASI, `--accept` on its v2, and the successor verifies
/// against v2 with the old chain's WASI answers (randomness, clock) kept.
fn check_agent(v1: &str, v2: &str) -> (Run, PathBuf) {
    let run = Run::new();
    let chain = run.record(&fixture(v1), AGENT_ANSWERS, &AGENT_CALLS, "agent.json", &[]);
    let golden = std::fs::read(&chain).unwrap();
    let out = run.verify(&fixture(v2), &[&chain], &["--accept"], &[]);
    assert_eq!(out.code, 1, "{v2}: {}", out.stderr);
    assert_eq!(std::fs::read(&chain).unwrap(), golden, "{v2}: the old chain is untouched");
    let new = new_of(&chain);
    let out = run.verify(&fixture(v2), &[&new], &[], &[]);
    assert_eq!(out.code, 0, "{v2}: the successor verifies against v2: {}", out.stdout);
    let wasi = |chain: &Path| {
        answers(chain)
            .into_iter()
            .filter(|(k, _)| k.starts_with("wasi:random") || k.starts_with("wasi:clocks"))
            .collect::<Vec<_>>()
    };
    assert!(!wasi(&chain).is_empty());
    assert_eq!(wasi(&new), wasi(&chain), "{v2}: WASI answered from the old chain");
    (run, chain)
}

fn pending_json(run: &Run) -> Value {
    let out = run.ok(&["pending", "--format", "json"]);
    let mut lines = json_lines(&out.stdout);
    assert_eq!(lines.len(), 1, "{}", out.stdout);
    lines.remove(0)
}

#[test]
fn c_agent_v2_is_accepted() {
    let (run, chain) = check_agent("components/c/agent.wasm", "components/c/agent-v2.wasm");
    // v2 changes the text of every log: three events changed, none added.
    let change = pending_json(&run);
    assert_eq!((change["added"].as_u64(), change["removed"].as_u64()), (Some(3), Some(3)), "{change}");
    assert_eq!(change["event_type"], "demo:agent/host@0.1.0/log");
    run.ok(&["accept", chain.to_str().unwrap()]);
    assert_eq!(run.verify(&fixture("components/c/agent-v2.wasm"), &[&chain], &[], &[]).code, 0);
}

#[test]
fn rust_agents_v2_are_accepted() {
    // wasm32-unknown-unknown: one more log per call, nothing else changed.
    let (run, _) = check_agent("components/rust/agent-unknown.wasm", "components/rust/agent-unknown-v2.wasm");
    let change = pending_json(&run);
    assert_eq!((change["added"].as_u64(), change["removed"].as_u64()), (Some(3), Some(0)), "{change}");
    assert_eq!(change["event_type"], "demo:agent/host@0.1.0/log");
    // wasm32-wasip2, which writes to stdout through WASI streams: only the results differ.
    let (run, _) = check_agent("components/rust/agent-wasip2.wasm", "components/rust/agent-wasip2-v2.wasm");
    let change = pending_json(&run);
    assert_eq!((change["added"].as_u64(), change["removed"].as_u64()), (Some(3), Some(3)), "{change}");
    assert_eq!(change["event_type"], "wasm");
}

/// A compressed golden chain gets a compressed successor, in its container.
#[test]
fn the_successor_is_stored_as_the_chain_is() {
    let run = Run::new();
    let (v1, v2) = run.counter();
    let chain = run.record(&v1, COUNTER_ANSWERS, COUNTER_CALLS, "counter.jsonl", &["--format", "jsonl", "--compress"]);
    assert_eq!(run.verify(&v2, &[&chain], &["--accept"], &[]).code, 1);
    let new = std::fs::read(new_of(&chain)).unwrap();
    assert_eq!(&new[..4], &[0x28, 0xb5, 0x2f, 0xfd], "zstd");
    let reader = ChainReader::open(&new_of(&chain)).unwrap();
    assert_eq!(reader.container(), theater_replay::chain::Container::JsonLines);
}

/// theater 0.3.8's Pack chains are not re-recorded: said on stderr, no `.new` file, and the
/// exit code is still the verification's.
#[test]
fn pack_chains_are_not_re_recorded() {
    let run = Run::new();
    let chain = run.path("state-actor.chain");
    std::fs::copy(fixture("theater-0.3.8/chains/state-actor.chain"), &chain).unwrap();
    let out = run.verify(&fixture("pack/state-actor-v2.wasm"), &[&chain], &["--accept"], &[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("a theater-0.3.8-pack chain: only chains theater-replay records (dialect theater-replay-v1) can be re-recorded"),
        "{}",
        out.stderr
    );
    assert!(!new_of(&chain).exists());
}

/// `accept` never loses a pending chain to a place that keeps nothing: a chain that is a
/// link to /dev/null (or a FIFO) is refused, and a `.new` that is a FIFO or a directory is
/// named for what it is (it exists), never read, never removed. Exit 2, one line each.
#[test]
fn accept_refuses_what_is_not_a_regular_file_and_keeps_the_pending_chain() {
    let run = Run::new();
    let golden = std::fs::read(fixture("chains/counter.json")).unwrap();
    std::os::unix::fs::symlink("/dev/null", run.path("void.json")).unwrap();
    std::fs::write(run.path("void.json.new"), &golden).unwrap();
    for name in ["fifo.json", "dir.json"] {
        std::fs::write(run.path(name), &golden).unwrap();
    }
    let fifo = std::ffi::CString::new(run.path("fifo.json.new").to_str().unwrap()).unwrap();
    // SAFETY: a NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
    std::fs::create_dir(run.path("dir.json.new")).unwrap();
    let cases: &[(&[&str], &str)] = &[
        (&["accept", "void.json"], "void.json: is a character device, not a regular file"),
        (&["accept", "void.json.new"], "void.json: is a character device, not a regular file"),
        (&["accept", "fifo.json"], "fifo.json.new: is a FIFO, not a pending chain"),
        (&["accept", "fifo.json.new"], "fifo.json.new: is a FIFO, not a pending chain"),
        (&["pending", "fifo.json"], "fifo.json.new: is a FIFO, not a pending chain"),
        (&["reject", "fifo.json"], "fifo.json.new: is a FIFO, not a pending chain"),
        (&["accept", "dir.json"], "dir.json.new: is a directory, not a pending chain"),
        (&["accept", "dir.json.new"], "dir.json.new: is a directory, not a pending chain"),
        (&["reject", "dir.json.new"], "dir.json.new: is a directory, not a pending chain"),
    ];
    for (args, message) in cases {
        let out = run.run(args, &[]);
        assert_eq!(out.code, 2, "{args:?}: {}{}", out.stdout, out.stderr);
        assert_eq!(out.stderr.lines().count(), 1, "{args:?}: {}", out.stderr);
        assert!(out.stderr.starts_with(&format!("error: {message}")), "{args:?}: {}", out.stderr);
        assert!(!out.stdout.contains("accepted") && !out.stderr.contains("does not exist"), "{args:?}: {}{}", out.stdout, out.stderr);
        assert_eq!(std::fs::read(run.path("void.json.new")).unwrap(), golden, "the pending chain is kept");
        assert_eq!(std::fs::read_link(run.path("void.json")).unwrap(), Path::new("/dev/null"));
        assert!(std::fs::symlink_metadata(run.path("fifo.json.new")).unwrap().file_type().is_fifo());
        assert!(run.path("dir.json.new").is_dir());
    }
    // As a line of its own under --format json.
    let out = run.run(&["accept", "void.json", "--format", "json"], &[]);
    assert_eq!(out.code, 2);
    let line = &json_lines(&out.stdout)[0];
    assert_eq!(line["status"], "error");
    assert!(line["message"].as_str().unwrap().contains("not accepted, void.json.new stays pending"), "{line}");
}

/// A pending chain that fails its integrity check is refused and kept, with exit 3 as
/// `pending` and `review` give it; the other pending chains named are still accepted.
#[test]
fn accept_refuses_a_tampered_pending_chain_with_exit_3() {
    let run = Run::new();
    let golden = std::fs::read(fixture("chains/counter.json")).unwrap();
    let tampered = std::fs::read(fixture("chains/counter-tampered.json")).unwrap();
    std::fs::write(run.path("golden.json"), &golden).unwrap();
    std::fs::write(run.path("golden.json.new"), &tampered).unwrap();
    std::fs::write(run.path("other.json"), &tampered).unwrap();
    std::fs::write(run.path("other.json.new"), &golden).unwrap();

    let out = run.run(&["accept", "golden.json"], &[]);
    assert_eq!(out.code, 3, "{}{}", out.stdout, out.stderr);
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert!(out.stderr.starts_with("error: golden.json.new: event "), "{}", out.stderr);
    assert!(out.stderr.contains("fails its integrity check") && out.stderr.contains("not accepted"), "{}", out.stderr);
    assert_eq!(out.stdout, "");
    assert_eq!(std::fs::read(run.path("golden.json")).unwrap(), golden, "the chain is kept");
    assert_eq!(std::fs::read(run.path("golden.json.new")).unwrap(), tampered, "the pending chain is kept");

    // Both at once, as JSON: the intact one is accepted, the broken one is a line of its own.
    let out = run.run(&["accept", "--format", "json"], &[]);
    assert_eq!(out.code, 3, "{}{}", out.stdout, out.stderr);
    let lines = json_lines(&out.stdout);
    assert_eq!(lines.len(), 2, "{}", out.stdout);
    assert_eq!((lines[0]["chain"].as_str(), lines[0]["status"].as_str()), (Some("golden.json"), Some("error")));
    assert!(lines[0]["message"].as_str().unwrap().contains("fails its integrity check"), "{}", lines[0]);
    assert_eq!((lines[1]["chain"].as_str(), lines[1]["status"].as_str()), (Some("other.json"), Some("accepted")));
    assert_eq!(std::fs::read(run.path("other.json")).unwrap(), golden);
    assert!(!run.path("other.json.new").exists());
    assert!(run.path("golden.json.new").exists());
}
