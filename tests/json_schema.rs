//! The JSON contract (README, "JSON output"): real outputs of every command, run through the
//! binary on fixtures, validated against the schemas in `docs/schema/`. Every document is one
//! line, starts with `"schema_version":1`, and prints the same bytes for the same inputs.

use assert_cmd::Command;
use serde_json::Value;
use std::path::{Path, PathBuf};
use theater_replay::chain::{ChainReader, ChainWriter, Event, Layout};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn schema_value(name: &str) -> Value {
    let path = root().join("docs/schema").join(format!("{name}.schema.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn validator(name: &str) -> jsonschema::Validator {
    let schema = schema_value(name);
    assert_eq!(schema["$schema"], "https://json-schema.org/draft/2020-12/schema", "{name}");
    jsonschema::draft202012::new(&schema).unwrap_or_else(|e| panic!("{name}.schema.json: {e}"))
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs the binary from the crate root, so that fixture paths are short and stable.
fn run<S: AsRef<str>>(args: &[S]) -> Run {
    let args: Vec<&str> = args.iter().map(AsRef::as_ref).collect();
    let out = Command::cargo_bin("theater-replay").unwrap().current_dir(root()).args(args).output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

/// Every line of `text` is a document that `schema` accepts, with `schema_version` first.
fn documents(schema: &str, case: &str, text: &str) -> Vec<Value> {
    let validator = validator(schema);
    assert!(!text.is_empty(), "{case}: no output");
    assert!(text.ends_with('\n'), "{case}: every document ends its line: {text:?}");
    text.lines()
        .map(|line| {
            assert!(line.starts_with("{\"schema_version\":1,"), "{case}: schema_version comes first: {line}");
            let doc: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{case}: {e}: {line}"));
            let errors: Vec<String> =
                validator.iter_errors(&doc).map(|e| format!("{} at {}", e, e.instance_path())).collect();
            assert!(errors.is_empty(), "{case}: {schema}.schema.json rejects\n{line}\n{}", errors.join("\n"));
            doc
        })
        .collect()
}

/// Runs `args` (twice: the bytes must not change), checks the exit code and validates stdout.
fn check_run<S: AsRef<str>>(schema: &str, code: i32, args: &[S]) -> Vec<Value> {
    let case = args.iter().map(AsRef::as_ref).collect::<Vec<_>>().join(" ");
    let first = run(args);
    assert_eq!(first.code, code, "{case}: stderr: {}", first.stderr);
    assert_eq!(run(args).stdout, first.stdout, "{case}: identical inputs print identical bytes");
    documents(schema, &case, &first.stdout)
}

fn events(path: &Path) -> Vec<Event> {
    ChainReader::open(path).unwrap().collect::<Result<_, _>>().unwrap()
}

fn write_chain(path: &Path, events: &[Event], layout: Layout) {
    let mut w = ChainWriter::with_layout(Vec::new(), layout);
    for e in events {
        w.write(e).unwrap();
    }
    std::fs::write(path, w.finish().unwrap()).unwrap();
}

/// Chains and components made for the cases, in a temporary directory.
struct Made {
    dir: tempfile::TempDir,
}

impl Made {
    fn new() -> Made {
        let made = Made { dir: tempfile::tempdir().unwrap() };
        let counter = events(&root().join("fixtures/chains/counter.json"));
        // Event 3's data edited, its stored hash kept.
        let mut tampered = counter.clone();
        tampered[3].data.push(b' ');
        write_chain(&made.path("tampered.json"), &tampered, Layout::CompactArray);
        write_chain(&made.path("counter.jsonl"), &counter, Layout::JsonLines);
        write_chain(&made.path("prefix.json"), &counter[..5], Layout::CompactArray);
        let text = std::fs::read_to_string(root().join("fixtures/chains/counter.json")).unwrap();
        std::fs::write(made.path("truncated.json"), &text[..text.len() / 2]).unwrap();
        // A saved state chain whose current_hash is not its last event's.
        let state = root().join("fixtures/theater-0.3.8/chains/state-actor.state.json");
        let mut state: Value = serde_json::from_slice(&std::fs::read(state).unwrap()).unwrap();
        state["current_hash"][0] = Value::from((state["current_hash"][0].as_u64().unwrap() + 1) % 256);
        std::fs::write(made.path("head-mismatch.state.json"), serde_json::to_vec(&state).unwrap()).unwrap();
        // The counter with `add` calling another import: a divergence.
        let wat = std::fs::read_to_string(root().join("fixtures/components/counter.wat")).unwrap();
        let from = "(call $next_token)))";
        assert_eq!(wat.matches(from).count(), 1);
        std::fs::write(made.path("counter-v2.wat"), wat.replacen(from, "(i32.wrap_i64 (call $now))))", 1)).unwrap();
        let chains = made.path("chains");
        std::fs::create_dir(&chains).unwrap();
        std::fs::copy(root().join("fixtures/chains/counter.json"), chains.join("a.json")).unwrap();
        std::fs::copy(made.path("tampered.json"), chains.join("b.json")).unwrap();
        std::fs::copy(made.path("truncated.json"), chains.join("c.json")).unwrap();
        std::fs::write(chains.join("notes.txt"), "not a chain\n").unwrap();
        std::fs::write(made.path("empty.json"), "[]").unwrap();
        made
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn arg(&self, name: &str) -> String {
        self.path(name).to_str().unwrap().to_string()
    }
}

/// `a` then `b`, owned.
fn cat(a: &[&str], b: &[&str]) -> Vec<String> {
    a.iter().chain(b).map(|s| s.to_string()).collect()
}

fn statuses(docs: &[Value]) -> Vec<&str> {
    docs.iter().map(|d| d["status"].as_str().unwrap_or("-")).collect()
}

const COUNTER: &str = "fixtures/chains/counter.json";
const COUNTER_WAT: &str = "fixtures/components/counter.wat";
const PACK: &str = "fixtures/theater-0.3.8/chains";

#[test]
fn check_outputs_match_the_schema() {
    let m = Made::new();
    let (tampered, truncated, head) =
        (m.arg("tampered.json"), m.arg("truncated.json"), m.arg("head-mismatch.state.json"));
    let event_log = format!("{PACK}/state-actor.chain");
    let state = format!("{PACK}/state-actor.state.json");
    let pretty = "fixtures/theater-chains/runtime-runtime-test.json";
    let jsonl = m.arg("counter.jsonl");
    let args = [
        "check",
        "--format",
        "json",
        COUNTER,
        pretty,
        &event_log,
        &state,
        &jsonl,
        &tampered,
        &truncated,
        &head,
        "/nonexistent.json",
    ];
    let docs = check_run("check", 3, &args);
    assert_eq!(
        statuses(&docs),
        ["intact", "intact", "intact", "intact", "intact", "broken", "error", "broken", "error"]
    );
    let containers: Vec<&Value> = docs.iter().take(5).map(|d| &d["container"]).collect();
    assert_eq!(containers, ["json_array", "json_array", "event_log", "state_chain", "json_lines"]);
    assert_eq!(docs[5]["reason"], "content_hash_mismatch");
    assert_eq!(docs[7]["reason"], "head_mismatch");
    for doc in &docs {
        assert_eq!(doc["hash"], doc["hash_algorithm"], "the old key says the same");
    }
    assert_eq!(docs[0]["hash_algorithm"], "sha256");
    assert_eq!(docs[2]["hash_algorithm"], "sha1");
    // Intact alone: exit 0; an unreadable one alone: exit 2, still a document per chain.
    check_run("check", 0, &["check", "--format", "json", COUNTER]);
    check_run("check", 2, &["check", "--format", "json", &truncated]);
}

#[test]
fn inspect_outputs_match_the_schema() {
    let m = Made::new();
    let jsonl = m.arg("counter.jsonl");
    let cases: Vec<Vec<String>> = vec![
        vec![COUNTER.into()],
        vec![jsonl.clone()],
        vec!["fixtures/theater-chains/http-wasi-http-test-two.json".into()],
        vec![format!("{PACK}/state-actor.chain")],
        vec![format!("{PACK}/types-actor.state.json")],
        vec![format!("{PACK}/edge-actor.json")],
        // Host calls typed by the component: `wave`.
        vec![
            "fixtures/theater-chains/http-wasi-http-test-two.json".into(),
            "--component".into(),
            "fixtures/theater-components/http-test.wat".into(),
            "--no-cache".into(),
        ],
    ];
    let mut saw_wave = false;
    for case in &cases {
        let mut args = vec!["inspect", "--format", "json"];
        args.extend(case.iter().map(String::as_str));
        let docs = check_run("inspect", 0, &args);
        assert!(docs.iter().all(|d| d.get("status").is_none()), "{args:?}: event lines only");
        assert_eq!(docs.len(), events(&root().join(&case[0])).len(), "{args:?}");
        saw_wave |= docs.iter().any(|d| d.get("wave").is_some());
    }
    assert!(saw_wave, "--component types host calls");
    // `jsonl` is the same output under its old name.
    assert_eq!(
        run(&["inspect", "--format", "jsonl", &jsonl]).stdout,
        run(&["inspect", "--format", "json", &jsonl]).stdout
    );

    // A stream that fails ends in a status line: broken (exit 3), error (exit 2). The event
    // where the chain breaks is marked, and the events after it are shown.
    let docs = check_run("inspect", 3, &["inspect", "--format", "json", &m.arg("tampered.json")]);
    assert_eq!(docs[3]["broken"]["reason"], "content_hash_mismatch");
    assert_eq!(docs.len(), events(&m.path("tampered.json")).len() + 1);
    assert_eq!(docs.last().unwrap()["status"], "broken");
    let docs = check_run("inspect", 3, &["inspect", "--format", "json", &m.arg("head-mismatch.state.json")]);
    assert_eq!(docs.last().unwrap()["status"], "broken");
    assert_eq!(docs.last().unwrap()["broken"]["reason"], "head_mismatch");
    let docs = check_run("inspect", 2, &["inspect", "--format", "json", &m.arg("truncated.json")]);
    assert!(docs.len() > 1, "the events before the error are printed");
    assert_eq!(docs.last().unwrap()["status"], "error");
    let docs = check_run("inspect", 2, &["inspect", "--format", "json", "/nonexistent.json"]);
    assert_eq!(statuses(&docs), ["error"]);
    let docs = check_run("inspect", 2, &["inspect", "--format", "json", COUNTER, "--component", "/nonexistent.wasm"]);
    assert_eq!(statuses(&docs), ["error"]);
}

#[test]
fn diff_outputs_match_the_schema() {
    let m = Made::new();
    let json = ["diff", "--format", "json"];
    let with = |a: &str, b: &str| cat(&json, &[a, b]);
    let (prefix, tampered, jsonl) = (m.arg("prefix.json"), m.arg("tampered.json"), m.arg("counter.jsonl"));
    let same = check_run("diff", 0, &with(COUNTER, &jsonl));
    assert_eq!(same[0]["status"], "same");
    let first = "fixtures/theater-chains/random-wasi-random-test.json";
    let two = "fixtures/theater-chains/runtime-runtime-test.json";
    let different = check_run("diff", 1, &with(first, two));
    assert_eq!(different[0]["status"], "different");
    assert!(different[0]["a"].is_object() && different[0]["b"].is_object());
    let ended = check_run("diff", 1, &with(COUNTER, &prefix));
    assert!(ended[0]["b"].is_null() && ended[0]["a"]["index"] == 5);
    let broken = check_run("diff", 3, &with(&tampered, COUNTER));
    assert_eq!(broken[0]["broken_a"]["reason"], "content_hash_mismatch");
    let pack =
        check_run("diff", 1, &with(&format!("{PACK}/state-actor.chain"), &format!("{PACK}/v2/state-actor-v2.chain")));
    assert_eq!(pack[0]["status"], "different");
    for missing in [with("/nonexistent.json", COUNTER), with(COUNTER, &m.arg("truncated.json"))] {
        assert_eq!(statuses(&check_run("diff", 2, &missing)), ["error"]);
    }
}

#[test]
fn verify_outputs_match_the_schema() {
    let m = Made::new();
    let json = ["verify", "--format", "json", "--no-cache"];
    let with = |more: &[&str]| cat(&json, more);
    let v2 = m.arg("counter-v2.wat");
    let docs = check_run("verify", 0, &with(&[COUNTER_WAT, COUNTER]));
    assert_eq!(docs[0]["status"], "verified");
    assert_eq!(docs[0]["path"], COUNTER, "one chain names its path too");
    assert_eq!(docs[0]["hash"], docs[0]["hash_algorithm"]);
    assert_eq!(docs[0]["head"], hex(&events(&root().join(COUNTER)).last().unwrap().hash));
    let docs = check_run("verify", 4, &with(&[COUNTER_WAT, &m.arg("empty.json")]));
    assert_eq!((&docs[0]["status"], &docs[0]["head"]), (&Value::from("empty"), &Value::Null));
    let other_head = "ab".repeat(32);
    let docs = check_run("verify", 3, &with(&[COUNTER_WAT, &m.arg("prefix.json"), "--head", &other_head]));
    assert_eq!(docs[0]["broken"]["reason"], "head_mismatch");
    let docs = check_run("verify", 1, &with(&[&v2, COUNTER]));
    assert_eq!(docs[0]["divergence"]["kind"], "different_import");
    let docs = check_run("verify", 3, &with(&[COUNTER_WAT, &m.arg("tampered.json")]));
    assert_eq!(docs[0]["broken"]["reason"], "content_hash_mismatch");
    let docs = check_run("verify", 2, &with(&[COUNTER_WAT, &m.arg("truncated.json")]));
    assert_eq!(docs[0]["status"], "error");
    assert_eq!(docs[0]["message"], docs[0]["error"]);

    // Many chains: one line each, then the summary; every line a document.
    let docs = check_run("verify", 3, &with(&["-j", "1", COUNTER_WAT, "--chains", &m.arg("chains")]));
    assert_eq!(statuses(&docs), ["verified", "broken", "error", "-"]);
    assert_eq!(docs[3]["summary"]["chains"], 3);
    assert_eq!(docs[3]["summary"]["skipped"], 1);
    let docs = check_run("verify", 1, &with(&["-j", "1", &v2, COUNTER, COUNTER]));
    assert_eq!(statuses(&docs), ["diverged", "diverged", "-"]);
    let docs = check_run("verify", 1, &with(&["-j", "1", "--fail-fast", &v2, COUNTER, COUNTER]));
    assert_eq!(docs.last().unwrap()["summary"]["not_run"], 1);

    // Pack actors and theater's component chains.
    let docs = check_run("verify", 0, &with(&["fixtures/pack/state-actor.wasm", &format!("{PACK}/state-actor.chain")]));
    assert_eq!(docs[0]["dialect"], "theater-0.3.8-pack");
    let docs =
        check_run("verify", 1, &with(&["fixtures/pack/state-actor-v2.wasm", &format!("{PACK}/state-actor.json")]));
    assert_eq!(docs[0]["status"], "diverged");
    let http = "fixtures/theater-chains/http-wasi-http-test-two.json";
    check_run("verify", 0, &with(&["fixtures/theater-components/http-test.wat", http]));
    let docs = check_run("verify", 1, &with(&["fixtures/theater-components/http-test-v2.wat", http]));
    assert_eq!(docs[0]["status"], "diverged");

    // --keep-going and --coverage: the lists, the reason a chain could not go on, and the
    // coverage document last.
    let docs = check_run(
        "verify",
        1,
        &with(&["--keep-going", "--coverage", "fixtures/pack/state-actor-v3.wasm", &format!("{PACK}/state-actor.json")]),
    );
    assert_eq!(docs[0]["divergences"].as_array().unwrap().len(), 3);
    assert_eq!(docs[1]["coverage"]["types_from"], "pack_types");
    let docs = check_run("verify", 1, &with(&["--keep-going", &v2, COUNTER]));
    assert_eq!(docs[0]["keep_going_stopped"]["reason"], "state_in_instance");
    let docs = check_run("verify", 3, &with(&["-j", "1", "--coverage", COUNTER_WAT, "--chains", &m.arg("chains")]));
    assert_eq!(statuses(&docs), ["verified", "broken", "error", "-", "-"]);
    assert_eq!(docs[4]["coverage"]["types_from"], "wit");

    // Failures before any chain: the error document.
    for args in [
        with(&["/nonexistent.wasm", COUNTER]),
        with(&[COUNTER_WAT, "/nonexistent.json"]),
        with(&[COUNTER_WAT, "--chains", &m.arg("nonexistent-dir")]),
        with(&["-j", "0", COUNTER_WAT, COUNTER]),
        with(&["--no-such-flag", COUNTER_WAT, COUNTER]),
    ] {
        assert_eq!(statuses(&check_run("verify", 2, &args)), ["error"], "{args:?}");
    }
}

#[test]
fn record_reports_match_the_schema() {
    let m = Made::new();
    let answers = "fixtures/components/counter.answers.json";
    let out = m.arg("recorded.json");
    let calls = ["--invoke", "add(1)", "--invoke", "add(2)", "--invoke", "demo:agent/api#greet(\"theater\")"];
    let record =
        |more: &[&str]| cat(&["record", COUNTER_WAT, "--answers", answers, "--no-cache", "--format", "json"], more);
    let docs = check_run("record", 0, &record(&[&calls[..], &["-o", &out]].concat()));
    let doc = &docs[0];
    assert_eq!(doc["path"], out.as_str());
    let chain = events(Path::new(&out));
    assert_eq!(doc["events"], chain.len());
    assert_eq!(doc["hash"], hex(&chain.last().unwrap().hash), "the head is the last event's hash");
    assert_eq!(doc["hash_algorithm"], "sha256");
    assert_eq!(doc["layout"], "json");
    let results: Vec<&Value> = doc["calls"].as_array().unwrap().iter().map(|c| &c["result"]).collect();
    assert_eq!(results, ["101", "126", "\"hello, theater\""]);
    assert_eq!(doc["calls"][2]["call"], "demo:agent/api#greet(\"theater\")");

    let compressed = m.arg("recorded.jsonl.zst");
    let docs =
        check_run("record", 0, &record(&["--invoke", "add(1)", "--layout", "jsonl", "--compress", "-o", &compressed]));
    assert_eq!((&docs[0]["layout"], &docs[0]["compression"]), (&Value::from("jsonl"), &Value::from("zstd")));

    // A Pack actor whose calls fail and trap: theater records them, and so does the report.
    let edge = m.arg("edge.chain");
    let edge_calls = [
        "theater:simple/actor.init(none)",
        "theater:test/edge-actor.fail(\"why not\")",
        "theater:test/edge-actor.trap()",
    ];
    let mut args =
        vec!["record", "fixtures/pack/edge-actor.wasm", "--format", "json", "--layout", "event-log", "-o", &edge];
    for call in &edge_calls {
        args.extend(["--invoke", call]);
    }
    let docs = check_run("record", 0, &args);
    assert_eq!(docs[0]["hash_algorithm"], "sha1");
    assert_eq!(docs[0]["layout"], "event_log");
    let call_statuses: Vec<&Value> = docs[0]["calls"].as_array().unwrap().iter().map(|c| &c["status"]).collect();
    assert_eq!(call_statuses, ["returned", "trapped", "trapped"]);

    // The chain on stdout: the report goes to stderr, never into the chain.
    let streamed = run(&record(&["--invoke", "add(1)"]));
    assert_eq!(streamed.code, 0, "{}", streamed.stderr);
    let report = documents("record", "record to stdout", &streamed.stderr);
    assert!(report[0]["path"].is_null());
    let streamed_chain = m.path("streamed.json");
    std::fs::write(&streamed_chain, &streamed.stdout).unwrap();
    assert_eq!(report[0]["events"], events(&streamed_chain).len());

    // A recording that fails: the error document where the report would be.
    let failed = run(&record(&["--invoke", "nope()", "-o", &m.arg("never.json")]));
    assert_eq!(failed.code, 2);
    assert_eq!(statuses(&documents("record", "record nope()", &failed.stdout)), ["error"]);
    assert!(!m.path("never.json").exists());
    let failed = run(&record(&["--invoke", "nope()"]));
    assert_eq!((failed.code, failed.stdout.as_str()), (2, ""), "stdout is the chain's: empty when there is none");
    let (docs, lines): (Vec<&str>, Vec<&str>) = failed.stderr.lines().partition(|l| l.starts_with('{'));
    assert_eq!((docs.len(), lines.len()), (1, 1), "the document and the error line: {}", failed.stderr);
    assert!(lines[0].starts_with("error: "), "{}", failed.stderr);
    documents("record", "record nope() to stdout", &format!("{}\n", docs[0]));
    let usage = run(&["record", COUNTER_WAT, "--format", "json", "-o", &m.arg("x.json")]);
    assert_eq!(usage.code, 2, "no --invoke");
    assert_eq!(statuses(&documents("record", "record without --invoke", &usage.stdout)), ["error"]);
}

/// `record --format LAYOUT`, the old spelling of `--layout`, still writes that layout (with a
/// warning); with `--layout` as well it is refused, as two answers to one question.
#[test]
fn record_still_takes_a_layout_as_format() {
    let m = Made::new();
    let answers = "fixtures/components/counter.answers.json";
    let (old, new) = (m.arg("old.jsonl"), m.arg("new.jsonl"));
    let base = ["record", COUNTER_WAT, "--answers", answers, "--no-cache", "--invoke", "add(1)"];
    let old_run = run(&[&base[..], &["--format", "jsonl", "-o", &old]].concat());
    assert_eq!(old_run.code, 0);
    assert!(
        old_run.stderr.starts_with("warning: --format jsonl is deprecated: use --layout jsonl"),
        "{}",
        old_run.stderr
    );
    assert_eq!(run(&[&base[..], &["--layout", "jsonl", "-o", &new]].concat()).code, 0);
    assert_eq!(std::fs::read(&old).unwrap(), std::fs::read(&new).unwrap());
    // The snake_case spelling the report prints is accepted back.
    assert_eq!(run(&[&base[..], &["--layout", "json_lines", "-o", &new]].concat()).code, 0);
    assert_eq!(std::fs::read(&old).unwrap(), std::fs::read(&new).unwrap());
    let both = run(&[&base[..], &["--format", "jsonl", "--layout", "json", "-o", &new]].concat());
    assert_eq!(both.code, 2);
    assert!(both.stderr.contains("give only --layout"), "{}", both.stderr);
}

/// Definitions that two schemas share are written out in each (every file stands alone for
/// the tools that read one): they must say the same.
#[test]
fn shared_definitions_are_the_same_in_every_schema() {
    let defs = |name: &str| schema_value(name)["$defs"].clone();
    let all = ["check", "inspect", "diff", "verify", "record", "pending", "accept", "review"];
    for name in all {
        assert_eq!(defs(name)["error"], defs("check")["error"], "{name}: $defs/error");
        assert_eq!(schema_value(name)["$id"], format!("urn:theater-replay:schema:{name}:1"));
    }
    assert_eq!(defs("diff")["event"], defs("inspect")["event"]);
    assert_eq!(defs("diff")["broken"], defs("inspect")["broken"]);
    assert_eq!(defs("verify")["broken"], defs("inspect")["broken"]);
    assert_eq!(defs("pending")["broken"], defs("inspect")["broken"]);
    assert_eq!(defs("review")["broken"], defs("inspect")["broken"]);
    let verify_diff = &schema_value("verify")["$defs"]["divergence"]["properties"]["diff"]["items"];
    assert_eq!(&defs("review")["diff_entry"], verify_diff);
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The schemas are strict enough to catch drift: a new key, an unknown status or kind, a
/// missing key is rejected; the divergence's value diff (`diff`, `diff_omitted`, and
/// `source_lines`) is accepted in the shape it is written.
#[test]
fn the_schemas_reject_drift() {
    let m = Made::new();
    let v2 = m.arg("counter-v2.wat");
    let diverged = run(&["verify", "--format", "json", "--no-cache", &v2, COUNTER]);
    let doc: Value = serde_json::from_str(diverged.stdout.trim()).unwrap();
    let verify = validator("verify");
    assert!(verify.is_valid(&doc));
    let changed = |edit: &dyn Fn(&mut Value)| {
        let mut d = doc.clone();
        edit(&mut d);
        d
    };
    let rejected = [
        changed(&|d| d["new_key"] = Value::from(1)),
        changed(&|d| d["status"] = Value::from("ok")),
        changed(&|d| d["divergence"]["kind"] = Value::from("different-import")),
        changed(&|d| d["divergence"]["expected"]["extra"] = Value::from(1)),
        changed(&|d| d["divergence"] = Value::Null),
        changed(&|d| d["schema_version"] = Value::from(2)),
        changed(&|d| {
            d.as_object_mut().unwrap().remove("schema_version");
        }),
        changed(&|d| d["divergence"]["diff"] = serde_json::json!([{"path": ".0", "expected": "1"}])),
    ];
    for (i, d) in rejected.iter().enumerate() {
        assert!(!verify.is_valid(d), "case {i} should be rejected: {d}");
    }
    let with_diff = changed(&|d| {
        d["divergence"]["diff"] = serde_json::json!([
            {"path": ".0", "expected": "1", "actual": "2"},
            {"path": "[3]", "expected": null, "actual": "\"x\""},
            {"path": ".", "expected": "\"abcdef\"", "actual": "\"abcxef\"", "at": 3},
        ]);
        d["divergence"]["diff_omitted"] = Value::from(0);
        d["divergence"]["source_lines"] = Value::from(false);
    });
    let errors: Vec<String> = verify.iter_errors(&with_diff).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:?}");
}

/// `pending`, `accept` and `reject` on chains `verify --accept` left pending.
#[test]
fn pending_accept_and_reject_outputs_match_the_schema() {
    let m = Made::new();
    let v2 = m.arg("counter-v2.wat");
    let golden = m.path("golden");
    std::fs::create_dir(&golden).unwrap();
    for name in ["a.json", "b.json"] {
        std::fs::copy(root().join(COUNTER), golden.join(name)).unwrap();
    }
    let dir = golden.to_str().unwrap();
    // `always`: these tests run on CI too, where plain --accept writes nothing.
    let answers = m.path("now.json");
    std::fs::write(&answers, r#"{"now": {"always": "1768453174502229000"}}"#).unwrap();
    let answers = answers.to_str().unwrap();
    let verified = run(&["verify", "--no-cache", "--accept=always", "--answers", answers, &v2, "--chains", dir]);
    assert_eq!(verified.code, 1, "{}", verified.stderr);
    let docs = check_run("pending", 0, &["pending", "--format", "json", dir]);
    assert_eq!(statuses(&docs), ["pending", "pending"]);
    assert!(docs.iter().all(|d| d["new_events"].as_u64().is_some() && d["first_difference"].is_u64()));
    // A pending chain whose chain cannot be read: its line says so.
    let (a, b) = (golden.join("a.json"), golden.join("b.json"));
    let kept = std::fs::read(&b).unwrap();
    std::fs::write(&b, "[{").unwrap();
    let listed = run(&["pending", "--format", "json", dir]);
    assert_eq!(listed.code, 2);
    assert_eq!(
        statuses(&documents("pending", "pending with an unreadable chain", &listed.stdout)),
        ["pending", "error"]
    );
    std::fs::write(&b, kept).unwrap();

    // Once each: they change what is pending.
    let accepted = run(&["accept", "--format", "json", a.to_str().unwrap()]);
    assert_eq!(accepted.code, 0, "{}", accepted.stderr);
    assert_eq!(statuses(&documents("accept", "accept", &accepted.stdout)), ["accepted"]);
    let rejected = run(&["reject", "--format", "json", dir]);
    assert_eq!(rejected.code, 0, "{}", rejected.stderr);
    assert_eq!(statuses(&documents("accept", "reject", &rejected.stdout)), ["rejected"]);
    let nothing = run(&["reject", "--format", "json", a.to_str().unwrap()]);
    assert_eq!(nothing.code, 2);
    assert_eq!(statuses(&documents("accept", "reject with nothing pending", &nothing.stdout)), ["error"]);
    let missing = run(&["pending", "--format", "json", "/nonexistent-dir"]);
    assert_eq!(missing.code, 2);
    assert_eq!(statuses(&documents("pending", "pending of a missing path", &missing.stdout)), ["error"]);
}

/// `review --format json` (and `pending`) on pending chains: one changed, added and removed,
/// one tampered, one whose chain cannot be read. Deterministic: the same bytes twice.
#[test]
fn review_outputs_match_the_schema() {
    let m = Made::new();
    let dir = m.path("golden");
    std::fs::create_dir(&dir).unwrap();
    let old = events(&root().join(COUNTER));
    // Relinked after an edit, as a re-recording would be.
    let relink = |events: &[Event]| -> Vec<Event> {
        let mut out: Vec<Event> = Vec::new();
        for e in events {
            let parent = out.last().map(|p| p.hash.clone());
            let alg = theater_replay::chain::HashAlg::from_len(e.hash.len()).unwrap();
            out.push(Event::new_linked(alg, parent.as_deref(), e.event_type.clone(), e.data.clone()));
        }
        out
    };
    let mut changed = old.clone();
    let text = String::from_utf8(changed[3].data.clone()).unwrap().replace("\"added\"", "\"adde\"");
    changed[3].data = text.into_bytes();
    changed.remove(6);
    changed.push(old[5].clone());
    for (name, new) in [("a.json", relink(&changed)), ("b.json", old.clone())] {
        std::fs::copy(root().join(COUNTER), dir.join(name)).unwrap();
        write_chain(&dir.join(format!("{name}.new")), &new, Layout::CompactArray);
    }
    // b's successor: edited after it was written.
    let mut forged = old.clone();
    forged[3].data = changed[3].data.clone();
    write_chain(&dir.join("b.json.new"), &forged, Layout::CompactArray);
    let d = dir.to_str().unwrap();
    let docs = check_run("review", 3, &["review", "--format", "json", d]);
    assert_eq!(statuses(&docs), ["pending", "broken"]);
    let kinds: Vec<&str> = docs[0]["changes"].as_array().unwrap().iter().map(|c| c["change"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["changed", "removed", "added"], "{}", docs[0]);
    assert!(docs[0]["changes"][0]["diff"].as_array().is_some_and(|d| !d.is_empty()));
    let listed = check_run("pending", 3, &["pending", "--format", "json", d]);
    assert_eq!(statuses(&listed), ["pending", "broken"]);
    // A chain that cannot be read, and no such path.
    std::fs::write(dir.join("a.json"), "[{").unwrap();
    let unreadable = run(&["review", "--format", "json", d]);
    assert_eq!(unreadable.code, 3);
    assert_eq!(statuses(&documents("review", "review with an unreadable chain", &unreadable.stdout)), ["error", "broken"]);
    let missing = run(&["review", "--format", "json", "/nonexistent-dir"]);
    assert_eq!(missing.code, 2);
    assert_eq!(statuses(&documents("review", "review of a missing path", &missing.stdout)), ["error"]);
}

/// Every divergence kind, integrity reason and dialect the code can print is in the schemas'
/// enums, and no other: the matches below stop compiling when one is added, until it is
/// listed here (and so checked against the schemas).
#[test]
fn the_schemas_enums_are_the_codes_ones() {
    use theater_replay::chain::BrokenReason::{self, *};
    use theater_replay::dialect::Dialect;
    use theater_replay::replay::DivergenceKind::{self, *};
    let kinds = [
        DifferentImport,
        DifferentArguments,
        MissingHostCalls,
        ExtraHostCall,
        DifferentResult,
        UnexpectedTrap,
        MissingTrap,
        DifferentTrap,
        MissingExport,
        SignatureMismatch,
        LimitExceeded,
        BeyondRecording,
        NoncanonicalRecording,
        DifferentHostState,
    ];
    let exhaustive = |k: DivergenceKind| match k {
        DifferentImport
        | DifferentArguments
        | MissingHostCalls
        | ExtraHostCall
        | DifferentResult
        | UnexpectedTrap
        | MissingTrap
        | DifferentTrap
        | MissingExport
        | SignatureMismatch
        | LimitExceeded
        | BeyondRecording
        | NoncanonicalRecording
        | DifferentHostState => (),
    };
    kinds.iter().copied().for_each(exhaustive);
    let reasons = [
        ContentHashMismatch,
        WrongParentLink,
        ParentOnFirstEvent,
        MissingParent,
        UnsupportedHashLength(7),
        MixedHashLengths,
        HeadMismatch,
    ];
    let exhaustive = |r: BrokenReason| match r {
        ContentHashMismatch
        | WrongParentLink
        | ParentOnFirstEvent
        | MissingParent
        | UnsupportedHashLength(_)
        | MixedHashLengths
        | HeadMismatch => (),
    };
    reasons.iter().copied().for_each(exhaustive);

    let verify = schema_value("verify");
    let names =
        |v: &Value| -> Vec<Value> { v["enum"].as_array().unwrap().iter().filter(|v| !v.is_null()).cloned().collect() };
    let kind_names: Vec<Value> = kinds.iter().map(|k| serde_json::to_value(k).unwrap()).collect();
    assert_eq!(names(&verify["$defs"]["divergence"]["properties"]["kind"]), kind_names);
    let reason_names: Vec<Value> = reasons.iter().map(|r| Value::from(r.code())).collect();
    assert_eq!(names(&verify["$defs"]["broken"]["properties"]["reason"]), reason_names);
    assert_eq!(names(&schema_value("check")["oneOf"][0]["properties"]["reason"]), reason_names);
    let dialects: Vec<Value> = Dialect::ALL.iter().map(|d| serde_json::to_value(d).unwrap()).collect();
    assert_eq!(names(&verify["oneOf"][0]["properties"]["dialect"]), dialects);
    use theater_replay::KeepGoingStop::{self, *};
    let stops = [StateInInstance, HostResourceTable];
    let exhaustive = |s: KeepGoingStop| match s {
        StateInInstance | HostResourceTable => (),
    };
    stops.iter().copied().for_each(exhaustive);
    let stop_names: Vec<Value> = stops.iter().map(|s| Value::from(s.code())).collect();
    assert_eq!(stops.map(|s| serde_json::to_value(s).unwrap()).to_vec(), stop_names);
    assert_eq!(names(&verify["oneOf"][0]["properties"]["keep_going_stopped"]["oneOf"][1]["properties"]["reason"]), stop_names);
    use theater_replay::coverage::TypesFrom::{self, *};
    let sources = [Wit, PackTypes, PackModule];
    let exhaustive = |t: TypesFrom| match t {
        Wit | PackTypes | PackModule => (),
    };
    sources.iter().copied().for_each(exhaustive);
    let source_names: Vec<Value> = sources.iter().map(|t| serde_json::to_value(t).unwrap()).collect();
    assert_eq!(names(&verify["oneOf"][2]["properties"]["coverage"]["properties"]["types_from"]), source_names);
}
