//! `record` then `verify`: exact replays verify, and every kind of divergence is reported
//! with the right kind at the right event index. Components are the WAT fixtures, changed
//! by one textual edit where a test needs another behaviour.

use assert_cmd::Command;
use std::path::{Path, PathBuf};
use tempfile::TempDir;
use theater_replay::chain::{ChainReader, ChainWriter, Event, HashAlg, OutputFormat};
use theater_replay::record::{Answers, RecordOptions, record};
use theater_replay::replay::{DivergenceKind, Status, VerifyOptions, VerifyReport, verify};
use theater_replay::runtime::{Limits, Runtime};

const COUNTER: &str = include_str!("../fixtures/components/counter.wat");
const COUNTER_ANSWERS: &str = include_str!("../fixtures/components/counter.answers.json");
const ZOO: &str = include_str!("../fixtures/components/zoo.wat");
const ZOO_ANSWERS: &str = include_str!("../fixtures/components/zoo.answers.json");

/// The calls the counter tests record: events 0 header, 1 call add(1), 2 next-token,
/// 3 log("added"), 4 result, 5 call add(2), ...
const COUNTER_CALLS: &[&str] = &["add(1)", "add(2)", "demo:agent/api#greet(\"theater\")", "demo:agent/api#total()"];

struct Fixture {
    dir: TempDir,
    runtime: Runtime,
}

impl Fixture {
    fn new() -> Fixture {
        Fixture { dir: tempfile::tempdir().unwrap(), runtime: Runtime::new().unwrap() }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes a component's text under `name`.
    fn component(&self, name: &str, wat: &str) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, wat).unwrap();
        path
    }

    fn record(&self, component: &Path, answers: &str, calls: &[&str], chain: &str) -> PathBuf {
        let loaded = self.runtime.load(component).unwrap();
        let path = self.path(chain);
        let out = Box::new(std::fs::File::create(&path).unwrap());
        let options = RecordOptions {
            invocations: calls.iter().map(|c| c.to_string()).collect(),
            answers: Answers::from_json(answers).unwrap(),
            wasi: None,
            format: OutputFormat::JsonArray,
            limits: Limits::default(),
            progress: None,
        };
        record(&self.runtime, &loaded, out, options).unwrap();
        path
    }

    fn verify_with(&self, component: &Path, chain: &Path, limits: Limits) -> VerifyReport {
        let loaded = self.runtime.load(component).unwrap();
        let reader = ChainReader::open(chain).unwrap();
        verify(&self.runtime, &loaded, reader, &VerifyOptions { limits, ..VerifyOptions::default() })
    }

    fn verify(&self, component: &Path, chain: &Path) -> VerifyReport {
        self.verify_with(component, chain, Limits::default())
    }

    /// The counter's golden chain, recorded from the unchanged component.
    fn counter_chain(&self) -> PathBuf {
        let component = self.component("counter.wat", COUNTER);
        self.record(&component, COUNTER_ANSWERS, COUNTER_CALLS, "counter.json")
    }
}

/// The fixture with `from` replaced by `to`; `from` must occur exactly once.
fn edit(wat: &str, from: &str, to: &str) -> String {
    assert_eq!(wat.matches(from).count(), 1, "`{from}` must occur once in the fixture");
    wat.replacen(from, to, 1)
}

const ADD_LOGS: &str = "(call $log (i32.const 16) (i32.const 5))";
const ADD_RETURNS: &str = "(call $log (i32.const 16) (i32.const 5))\n      (global.get $total))";

fn events(chain: &Path) -> Vec<Event> {
    ChainReader::open(chain).unwrap().map(Result::unwrap).collect()
}

/// Rewrites a chain with `change` applied to its events, re-hashing and re-linking every
/// event so that only the content differs: an edited but intact chain.
fn rewrite(chain: &Path, out: &Path, change: impl FnOnce(&mut Vec<Event>)) {
    let mut evs = events(chain);
    change(&mut evs);
    let mut writer = ChainWriter::new(std::fs::File::create(out).unwrap(), OutputFormat::JsonArray);
    let mut parent: Option<Vec<u8>> = None;
    for e in evs {
        let linked = Event::new_linked(HashAlg::Sha256, parent.as_deref(), e.event_type, e.data);
        parent = Some(linked.hash.clone());
        writer.write(&linked).unwrap();
    }
    writer.finish().unwrap();
}

fn divergence(report: &VerifyReport) -> (DivergenceKind, u64) {
    assert_eq!(report.status, Status::Diverged, "{report:#?}");
    let d = report.divergence.as_ref().unwrap();
    (d.kind, d.index)
}

#[test]
fn an_unchanged_component_verifies_its_recording() {
    let f = Fixture::new();
    let chain = f.counter_chain();
    let report = f.verify(&f.path("counter.wat"), &chain);
    assert_eq!(report.status, Status::Verified, "{report:#?}");
    assert_eq!(report.events_verified, events(&chain).len() as u64);
    assert_eq!(report.hash, Some("sha256"));
    assert_eq!(report.recorded_component_sha256, report.component_sha256);
}

#[test]
fn every_value_type_and_resources_replay_exactly() {
    let f = Fixture::new();
    let zoo = f.component("zoo.wat", ZOO);
    let calls = [
        "prims(true, -128, 255, -32768, 65535, -2147483648, 4294967295, -9223372036854775808, 18446744073709551615, nan, -inf, '☃')",
        "floats(inf, -0.0)",
        "floats(1.5, nan)",
        "text(\"a\\u{0}b\")",
        "bytes([])",
        "nums([1, 2])",
        "point-of({x: 1, y: 2, label: \"q\"})",
        "pair((1, \"one\"))",
        "shape-of(circle(nan))",
        "shape-of(square(3))",
        "shape-of(%none)",
        "color-of(red)",
        "maybe(none)",
        "maybe(some(\"x\"))",
        "outcome(ok(5))",
        "outcome(err(\"e\"))",
        "perms-of({write})",
        "counters(10)",
    ];
    let chain = f.record(&zoo, ZOO_ANSWERS, &calls, "zoo.json");
    let report = f.verify(&zoo, &chain);
    assert_eq!(report.status, Status::Verified, "{report:#?}");
    assert_eq!(report.events_verified, events(&chain).len() as u64);

    // The resource calls carry handles, so replay can tell the two counters apart.
    let text: Vec<String> = events(&chain).iter().map(|e| String::from_utf8(e.data.clone()).unwrap()).collect();
    assert!(text.iter().any(|t| t.contains(r#""[static]counter.merge","input":{"Tuple":[{"Resource":{"handle":0,"owned":true}},{"Resource":{"handle":1,"owned":false}}]}"#)));
    assert!(text.iter().any(|t| t.contains(r#""[resource-drop]counter","input":{"Resource":{"handle":2,"owned":true}}"#)));
    assert!(text.iter().any(|t| t.contains(r#"{"Float32":"NaN"},{"Float64":"-Infinity"}"#)));
    assert!(text.iter().any(|t| t.contains(r#"{"Bytes":"AAF/gP8="}"#)));

    // A different resource handle passed back is a divergence, not a pass.
    let edited = f.path("zoo-edited.json");
    rewrite(&chain, &edited, |evs| {
        let e = evs.iter_mut().find(|e| e.event_type.ends_with("[method]counter.bump")).unwrap();
        e.data = String::from_utf8(e.data.clone()).unwrap().replacen("\"handle\":0", "\"handle\":1", 1).into_bytes();
    });
    let (kind, _) = divergence(&f.verify(&zoo, &edited));
    assert_eq!(kind, DivergenceKind::DifferentArguments);

    // So is dropping another resource than the recording says.
    let edited = f.path("zoo-drop-edited.json");
    let mut drop_index = 0;
    rewrite(&chain, &edited, |evs| {
        drop_index = evs.iter().position(|e| e.event_type.ends_with("[resource-drop]counter")).unwrap();
        let e = &mut evs[drop_index];
        e.data = String::from_utf8(e.data.clone()).unwrap().replacen("\"handle\":1", "\"handle\":0", 1).into_bytes();
    });
    assert_eq!(divergence(&f.verify(&zoo, &edited)), (DivergenceKind::DifferentArguments, drop_index as u64));
}

#[test]
fn calling_another_import_is_reported_at_the_recorded_call() {
    let f = Fixture::new();
    let chain = f.counter_chain();
    let v2 = f.component("v2.wat", &edit(COUNTER, "(call $next_token)))", "(i32.wrap_i64 (call $now))))"));
    let report = f.verify(&v2, &chain);
    assert_eq!(divergence(&report), (DivergenceKind::DifferentImport, 2));
    let d = report.divergence.unwrap();
    assert_eq!(d.event_type, "demo:agent/host/next-token");
    assert!(d.actual.unwrap().summary.starts_with("now("), "the actual call is shown decoded");
    assert!(d.guest_stack.iter().any(|f| f.contains("add")), "stack names the guest function: {:?}", d.guest_stack);
}

#[test]
fn other_arguments_to_the_same_import_are_reported() {
    let f = Fixture::new();
    let chain = f.counter_chain();
    let v2 = f.component("v2.wat", &edit(COUNTER, ADD_LOGS, "(call $log (i32.const 16) (i32.const 4))"));
    let report = f.verify(&v2, &chain);
    assert_eq!(divergence(&report), (DivergenceKind::DifferentArguments, 3));
    let d = report.divergence.unwrap();
    assert_eq!(d.expected.unwrap().summary, r#"demo:agent/host#log("added")"#);
    assert_eq!(d.actual.unwrap().summary, r#"demo:agent/host#log("adde")"#);
    assert_eq!(d.last_matched.iter().map(|m| m.index).collect::<Vec<_>>(), vec![0, 1, 2]);
}

#[test]
fn an_edited_chain_with_other_arguments_is_a_divergence_not_a_pass() {
    let f = Fixture::new();
    let chain = f.counter_chain();
    let edited = f.path("edited.json");
    rewrite(&chain, &edited, |evs| {
        evs[3].data = String::from_utf8(evs[3].data.clone()).unwrap().replace("added", "addex").into_bytes();
    });
    assert_eq!(divergence(&f.verify(&f.path("counter.wat"), &edited)), (DivergenceKind::DifferentArguments, 3));
}

#[test]
fn returning_while_recorded_host_calls_remain_is_reported() {
    let f = Fixture::new();
    let chain = f.counter_chain();
    let v2 = f.component("v2.wat", &edit(COUNTER, ADD_LOGS, ""));
    assert_eq!(divergence(&f.verify(&v2, &chain)), (DivergenceKind::MissingHostCalls, 3));
}

#[test]
fn an_extra_host_call_is_reported() {
    let f = Fixture::new();
    let chain = f.counter_chain();
    let v2 = f.component("v2.wat", &edit(COUNTER, ADD_LOGS, &format!("{ADD_LOGS} {ADD_LOGS}")));
    assert_eq!(divergence(&f.verify(&v2, &chain)), (DivergenceKind::ExtraHostCall, 4));
}

#[test]
fn a_host_call_after_the_recording_ends_is_reported() {
    let f = Fixture::new();
    let chain = f.counter_chain();
    // Cut after the first export call: the guest's next-token call has no recorded answer.
    let cut = f.path("cut.json");
    rewrite(&chain, &cut, |evs| evs.truncate(2));
    let report = f.verify(&f.path("counter.wat"), &cut);
    assert_eq!(divergence(&report), (DivergenceKind::ExtraHostCall, 2));
    assert!(report.divergence.unwrap().expected.is_none(), "nothing was recorded there");
}

#[test]
fn a_different_result_is_reported() {
    let f = Fixture::new();
    let chain = f.counter_chain();
    let v2 = f.component(
        "v2.wat",
        &edit(COUNTER, ADD_RETURNS, &format!("{ADD_LOGS}\n      (i32.add (global.get $total) (i32.const 1)))")),
    );
    let report = f.verify(&v2, &chain);
    assert_eq!(divergence(&report), (DivergenceKind::DifferentResult, 4));
    let d = report.divergence.unwrap();
    assert_eq!(d.expected.unwrap().summary, "add returned 101");
    assert_eq!(d.actual.unwrap().summary, "add returned 102");
}

#[test]
fn a_trap_where_none_was_recorded_and_the_reverse_are_reported() {
    let f = Fixture::new();
    let chain = f.counter_chain();
    let trapping = f.component("trap.wat", &edit(COUNTER, ADD_RETURNS, &format!("{ADD_LOGS}\n      (unreachable))")));
    let report = f.verify(&trapping, &chain);
    assert_eq!(divergence(&report), (DivergenceKind::UnexpectedTrap, 4));
    let d = report.divergence.unwrap();
    assert!(d.actual.unwrap().summary.contains("unreachable"));
    assert!(d.guest_stack.iter().any(|f| f.contains("add")), "{:?}", d.guest_stack);

    // Recorded from the trapping build, replayed on the fixed one.
    let trap_chain = f.record(&trapping, COUNTER_ANSWERS, &["add(1)"], "trap.json");
    assert_eq!(divergence(&f.verify(&f.path("counter.wat"), &trap_chain)), (DivergenceKind::MissingTrap, 4));
    // And the trapping build replays its own recording, trap included.
    assert_eq!(f.verify(&trapping, &trap_chain).status, Status::Verified);

    let other_trap = f.component(
        "trap2.wat",
        &edit(COUNTER, ADD_RETURNS, &format!("{ADD_LOGS}\n      (i32.div_u (i32.const 1) (i32.const 0)))")),
    );
    assert_eq!(divergence(&f.verify(&other_trap, &trap_chain)), (DivergenceKind::DifferentTrap, 4));
}

#[test]
fn a_missing_export_or_changed_signature_is_reported() {
    let f = Fixture::new();
    let chain = f.counter_chain();
    let renamed = f.component("renamed.wat", &edit(COUNTER, r#"(func (export "add")"#, r#"(func (export "plus")"#));
    let report = f.verify(&renamed, &chain);
    assert_eq!(divergence(&report), (DivergenceKind::MissingExport, 1));
    assert!(report.divergence.unwrap().detail.unwrap().contains("plus"), "lists what the component exports");

    let retyped = f.component("retyped.wat", &edit(COUNTER, r#"(param "n" u32)"#, r#"(param "n" s32)"#));
    assert_eq!(divergence(&f.verify(&retyped, &chain)), (DivergenceKind::SignatureMismatch, 1));
}

#[test]
fn a_runaway_guest_ends_with_the_limits_message() {
    let f = Fixture::new();
    let chain = f.counter_chain();
    let looping = f.component("loop.wat", &edit(COUNTER, ADD_RETURNS, "(loop $spin (br $spin)) (unreachable))"));
    let limits = Limits { timeout: std::time::Duration::from_millis(300), ..Limits::default() };
    let report = f.verify_with(&looping, &chain, limits);
    // Stopped before the recorded log call (event 3), which it never makes.
    assert_eq!(divergence(&report), (DivergenceKind::LimitExceeded, 3));
    assert!(report.divergence.unwrap().detail.unwrap().contains("--timeout"));

    let growing = f.component(
        "grow.wat",
        &edit(COUNTER, ADD_RETURNS, "(loop $grow (br_if $grow (i32.ne (memory.grow (i32.const 16)) (i32.const -1)))) (unreachable))"),
    );
    let limits = Limits { max_memory_bytes: 8 << 20, ..Limits::default() };
    let report = f.verify_with(&growing, &chain, limits);
    assert_eq!(divergence(&report), (DivergenceKind::LimitExceeded, 3));
    assert!(report.divergence.unwrap().detail.unwrap().contains("--max-memory"));
}

#[test]
fn a_tampered_chain_is_an_integrity_failure_not_a_divergence() {
    let f = Fixture::new();
    let chain = f.counter_chain();
    let text = std::fs::read_to_string(&chain).unwrap();
    // Flip one payload byte of event 3 without re-hashing.
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let line = &mut lines[4];
    let at = line.find("\"data\":[").unwrap() + 8;
    line.replace_range(at..at + 3, "124");
    let tampered = f.path("tampered.json");
    std::fs::write(&tampered, lines.join("\n")).unwrap();
    let report = f.verify(&f.path("counter.wat"), &tampered);
    assert_eq!(report.status, Status::Broken, "{report:#?}");
    assert_eq!(report.broken.unwrap().index, 3);
}

fn cli() -> Command {
    Command::cargo_bin("theater-replay").unwrap()
}

#[test]
fn exit_codes_follow_the_contract() {
    let f = Fixture::new();
    let chain = f.counter_chain();
    let good = f.path("counter.wat");
    cli().arg("verify").arg(&good).arg(&chain).assert().code(0);

    let v2 = f.component("v2.wat", &edit(COUNTER, ADD_LOGS, ""));
    cli().arg("verify").arg(&v2).arg(&chain).assert().code(1);

    let not_a_component = f.component("core.wat", "(module)");
    let out = cli().arg("verify").arg(&not_a_component).arg(&chain).assert().code(2).get_output().stderr.clone();
    assert!(String::from_utf8(out).unwrap().contains("not a WebAssembly component"));

    let not_a_chain = f.component("chain.txt", "hello");
    cli().arg("verify").arg(&good).arg(&not_a_chain).assert().code(2);

    // theater's own chains store untyped JSON bytes: readable, not replayable.
    let theater = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/theater-chains/runtime-runtime-test.json");
    let out = cli().arg("verify").arg(&good).arg(&theater).assert().code(2).get_output().stdout.clone();
    assert!(String::from_utf8(out).unwrap().contains("untyped JSON bytes"));

    let tampered = f.path("tampered.json");
    std::fs::write(&tampered, std::fs::read_to_string(&chain).unwrap().replacen("[123,", "[124,", 1)).unwrap();
    cli().arg("verify").arg(&good).arg(&tampered).assert().code(3);
}

#[test]
fn a_timeout_that_is_not_a_positive_number_is_a_usage_error() {
    let f = Fixture::new();
    let chain = f.counter_chain();
    for bad in ["0", "nan", "inf", "1e30", "soon"] {
        let out = cli().args(["verify", "--timeout", bad]).arg(f.path("counter.wat")).arg(&chain).assert().code(2);
        assert!(String::from_utf8_lossy(&out.get_output().stderr).contains("--timeout"), "{bad}");
    }
    cli().args(["verify", "--no-cache", "--timeout", "0.5"]).arg(f.path("counter.wat")).arg(&chain).assert().code(0);
}

#[test]
fn json_reports_are_byte_identical_for_identical_inputs() {
    let f = Fixture::new();
    let chain = f.counter_chain();
    let v2 = f.component("v2.wat", &edit(COUNTER, ADD_LOGS, "(call $log (i32.const 16) (i32.const 4))"));
    let run = || cli().args(["verify", "--format", "json"]).arg(&v2).arg(&chain).assert().code(1).get_output().stdout.clone();
    let first = run();
    assert_eq!(first, run());
    let report: serde_json::Value = serde_json::from_slice(&first).unwrap();
    assert_eq!(report["status"], "diverged");
    assert_eq!(report["events_verified"], 3);
    let d = &report["divergence"];
    assert_eq!(d["index"], 3);
    assert_eq!(d["kind"], "different_arguments");
    assert_eq!(d["event_type"], "demo:agent/host/log");
    assert_eq!(d["expected"]["payload"]["input"], serde_json::json!({"String": "added"}));
    assert_eq!(d["actual"]["payload"]["input"], serde_json::json!({"String": "adde"}));
    // Where they differ: the first (only) argument.
    assert_eq!(d["diff"], serde_json::json!([{"path": ".0", "expected": "\"added\"", "actual": "\"adde\""}]));
    assert_eq!(d["diff_omitted"], 0);
    // WAT has no DWARF: frames have names but no lines.
    assert_eq!(d["source_lines"], false);
    assert!(d["guest_stack"].as_array().unwrap().iter().any(|f| f.as_str().unwrap().contains("add")));
}

#[test]
fn the_human_report_says_what_happened_and_what_to_do() {
    let f = Fixture::new();
    let chain = f.counter_chain();
    let v2 = f.component("v2.wat", &edit(COUNTER, ADD_LOGS, "(call $log (i32.const 16) (i32.const 4))"));
    let report = f.verify(&v2, &chain);
    insta::assert_snapshot!(theater_replay::report::verify::human(&report, "counter.json"));
}

#[test]
fn record_writes_nothing_when_it_fails() {
    let f = Fixture::new();
    let component = f.component("counter.wat", COUNTER);
    let answers = f.component("answers.json", r#"{"demo:agent/host#next-token": ["1"]}"#);
    let out = f.path("out.json");
    let stderr = cli()
        .arg("record")
        .arg(&component)
        .args(["--invoke", "add(1)", "--invoke", "add(2)", "--answers"])
        .arg(&answers)
        .arg("-o")
        .arg(&out)
        .assert()
        .code(2)
        .get_output()
        .stderr
        .clone();
    assert!(String::from_utf8(stderr).unwrap().contains("only 1 answer(s) for `demo:agent/host#next-token`"));
    assert!(!out.exists());
    assert_eq!(std::fs::read_dir(f.dir.path()).unwrap().count(), 2, "no partial file is left behind");
}

#[test]
fn record_writes_json_lines_that_verify() {
    let f = Fixture::new();
    let component = f.component("counter.wat", COUNTER);
    let answers = f.component("answers.json", COUNTER_ANSWERS);
    let out = f.path("out.jsonl");
    cli()
        .arg("record")
        .arg(&component)
        .args(["--invoke", "add(5)", "--format", "jsonl", "--answers"])
        .arg(&answers)
        .arg("-o")
        .arg(&out)
        .assert()
        .code(0)
        .stderr(predicates::str::contains("105"));
    let text = std::fs::read_to_string(&out).unwrap();
    assert_eq!(text.lines().count(), 5, "header, call, two host calls, result");
    cli().arg("verify").arg(&component).arg(&out).assert().code(0);
}

/// A text file that is not a component: the parser's multi-line diagnostic becomes one line
/// with its location.
#[test]
fn text_that_is_not_a_component_is_a_one_line_error() {
    let f = Fixture::new();
    let junk = f.component("junk.wat", "hello");
    let out = cli().arg("record").arg(&junk).args(["--invoke", "run()"]).assert().code(2).get_output().stderr.clone();
    let stderr = String::from_utf8(out).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("not a WebAssembly component") && stderr.contains("(at 1:1)"), "{stderr}");
}

/// A limit reached while the component is instantiated (a start function that loops, a
/// memory or a table declared too large) is reported as one reached in a call: `verify`
/// gives the divergence `limit_exceeded` at the first call, naming the limit and its flag
/// (not wasmtime's bare `wasm trap: interrupt`), exit 1; `record` one `error:` line naming
/// them, exit 2, and no chain.
#[test]
fn a_limit_reached_while_the_component_is_instantiated_is_limit_exceeded() {
    let f = Fixture::new();
    let chain = f.counter_chain();
    let answers = f.component("answers.json", COUNTER_ANSWERS);
    let memory = r#"(memory (export "memory") 1)"#;
    let cases: [(&str, &str, &[&str], &str); 3] = [
        (
            "spin.wat",
            r#"(memory (export "memory") 1) (func $spin (loop $l (br $l))) (start $spin)"#,
            &["--timeout", "0.3"],
            "its start function was stopped: it ran longer than the 0.3s timeout (--timeout)",
        ),
        ("memory.wat", r#"(memory (export "memory") 300)"#, &["--max-memory", "16"], "beyond the 16 MiB limit (--max-memory)"),
        (
            "table.wat",
            r#"(memory (export "memory") 1) (table 2000 funcref)"#,
            &["--max-table-elements", "1000"],
            "beyond the limit of 1000 (--max-table-elements)",
        ),
    ];
    for (name, fields, flags, says) in cases {
        let component = f.component(name, &edit(COUNTER, memory, fields));
        let (code, report) = verify_json(&component, &chain, flags);
        assert_eq!((code, report["status"].as_str()), (1, Some("diverged")), "{name}: {report}");
        let d = &report["divergence"];
        // Event 0 is the recording's header; event 1 the first call, which never ran.
        assert_eq!((d["kind"].as_str(), d["index"].as_u64()), (Some("limit_exceeded"), Some(1)), "{name}: {report}");
        let detail = d["detail"].as_str().unwrap();
        assert!(detail.starts_with("while instantiating the component: ") && detail.contains(says), "{detail}");
        assert!(!detail.contains("wasm trap: interrupt"), "{detail}");
        let human = cli().args(["verify", "--no-cache"]).args(flags).arg(&component).arg(&chain).assert().code(1);
        let human = String::from_utf8_lossy(&human.get_output().stdout).into_owned();
        assert!(human.contains(says) && !human.contains("in the export called last"), "{human}");

        let out = f.path("out.json");
        let record = cli()
            .args(["record", "--no-cache", "--invoke", "add(1)", "--answers"])
            .arg(&answers)
            .args(flags)
            .arg(&component)
            .arg("-o")
            .arg(&out)
            .assert()
            .code(2);
        let stderr = String::from_utf8_lossy(&record.get_output().stderr);
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.contains("cannot instantiate the component: ") && stderr.contains(says), "{stderr}");
        assert!(!out.exists());
    }
}

#[test]
fn an_answers_file_can_repeat_or_cycle_for_a_long_recording() {
    // 3,000 tick calls from a four-line answers file: cycle through 3, 10, 17.
    let dir = tempfile::tempdir().unwrap();
    let answers = dir.path().join("answers.json");
    std::fs::write(&answers, r#"{"demo:bench/host#tick": {"cycle": ["3", "10", "17"]}}"#).unwrap();
    let chatty = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/components/chatty.wat");
    let chain = dir.path().join("chatty.json");
    let record = |answers: &std::path::Path, chain: &std::path::Path| {
        let out = cli()
            .args(["record", "--no-cache", "--invoke", "run(3000)", "--answers"])
            .arg(answers)
            .arg(&chatty)
            .arg("-o")
            .arg(chain)
            .output()
            .unwrap();
        // The results of the calls are on stderr (stdout may carry the chain).
        (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let (code, out) = record(&answers, &chain);
    assert_eq!(code, Some(0), "{out}");
    // The sum of the cycled answers: 1,000 rounds of 3 + 10 + 17.
    assert!(out.contains("30000"), "{out}");
    let events: Vec<_> = theater_replay::chain::ChainReader::open(&chain).unwrap().map(Result::unwrap).collect();
    assert_eq!(events.iter().filter(|e| e.event_type == "demo:bench/host/tick").count(), 3000);
    cli().args(["verify", "--no-cache"]).arg(&chatty).arg(&chain).assert().code(0);

    // `always`: one answer for every call.
    std::fs::write(&answers, r#"{"demo:bench/host#tick": {"always": "2"}}"#).unwrap();
    let (code, out) = record(&answers, &chain);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("6000"), "{out}");
}

/// A chain with no export call in it is not evidence: `[]`, or only our recording header,
/// is its own verdict (`EMPTY`, exit 4), never "verified".
#[test]
fn a_chain_without_an_export_call_is_empty_not_verified() {
    let f = Fixture::new();
    let chain = f.counter_chain();
    let counter = f.path("counter.wat");
    let nothing = f.path("nothing.json");
    std::fs::write(&nothing, "[]").unwrap();
    let header_only = f.path("header-only.json");
    rewrite(&chain, &header_only, |events| events.truncate(1));
    for empty in [&nothing, &header_only] {
        let report = f.verify(&counter, empty);
        assert_eq!(report.status, Status::Empty, "{report:#?}");
        let out = cli().args(["verify", "--no-cache"]).arg(&counter).arg(empty).assert().code(4).get_output().stdout.clone();
        let out = String::from_utf8(out).unwrap();
        assert!(out.starts_with("EMPTY: "), "{out}");
        assert!(out.contains("nothing was verified") && out.contains("what to do:"), "{out}");
        let json = cli().args(["verify", "--no-cache", "--format", "json"]).arg(&counter).arg(empty).assert().code(4);
        let doc: serde_json::Value = serde_json::from_slice(&json.get_output().stdout).unwrap();
        assert_eq!(doc["status"], "empty");
    }
    // With a chain that verifies, the empty one decides the run's exit code.
    let out = cli().args(["verify", "--no-cache"]).arg(&counter).arg(&chain).arg(&nothing).assert().code(4);
    let out = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(out.ends_with("summary: 2 chains: 1 verified, 0 diverged, 0 broken, 0 error, 1 empty\n"), "{out}");
}

/// Every verdict names the chain's head, and `--head` pins it: a golden chain cut at an
/// event boundary verifies its prefix, but not against the head of the whole chain.
#[test]
fn the_head_is_shown_and_a_chain_cut_short_fails_against_head() {
    let f = Fixture::new();
    let chain = f.counter_chain();
    let counter = f.path("counter.wat");
    let all = events(&chain);
    let head = hex(&all.last().unwrap().hash);
    let report = f.verify(&counter, &chain);
    assert_eq!(report.head.as_deref(), Some(head.as_str()));
    let verify = |chain: &Path, more: &[&str]| {
        let out = cli().args(["verify", "--no-cache"]).args(more).arg(&counter).arg(chain).output().unwrap();
        (out.status.code(), String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
    };
    let (code, out, _) = verify(&chain, &[]);
    assert_eq!(code, Some(0));
    assert!(out.ends_with(&format!("\n  head: {head}\n")), "{out}");
    let (_, json, _) = verify(&chain, &["--format", "json"]);
    assert_eq!(serde_json::from_str::<serde_json::Value>(&json).unwrap()["head"], head.as_str());
    // A diverged chain names its head too: the rest of it is read after the divergence.
    let v2 = f.component("v2.wat", &edit(COUNTER, ADD_LOGS, "(call $log (i32.const 16) (i32.const 4))"));
    assert_eq!(f.verify(&v2, &chain).head.as_deref(), Some(head.as_str()));

    // The first five events, an intact prefix (the header and the first call, whole).
    let cut = f.path("cut.json");
    rewrite(&chain, &cut, |events| events.truncate(5));
    assert_eq!(events(&cut), all[..5]);
    assert_eq!(verify(&cut, &[]).0, Some(0), "a prefix replays: only a pinned head tells");
    let (code, out, _) = verify(&cut, &["--head", &head]);
    assert_eq!(code, Some(3), "{out}");
    assert!(out.starts_with(&format!("BROKEN: {} fails its integrity check at event 4 (wasm): the chain ends at head ", cut.display())), "{out}");
    let (_, json, _) = verify(&cut, &["--head", &head, "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!((doc["status"].as_str(), doc["broken"]["reason"].as_str()), (Some("broken"), Some("head_mismatch")));
    assert_eq!(verify(&chain, &["--head", &head.to_uppercase()]).0, Some(0));
    assert_eq!(verify(&cut, &["--head", &hex(&all[4].hash)]).0, Some(0));

    // A saved state chain names its own head: cut short under it, it is broken.
    let state = f.path("cut.state.json");
    let kept: Vec<serde_json::Value> = serde_json::from_str(&std::fs::read_to_string(&cut).unwrap()).unwrap();
    let head_bytes: Vec<u8> = all.last().unwrap().hash.clone();
    std::fs::write(&state, serde_json::json!({"events": kept, "current_hash": head_bytes}).to_string()).unwrap();
    let (code, out, _) = verify(&state, &[]);
    assert_eq!(code, Some(3), "{out}");

    // One head pins one chain: refused with several.
    let flag = std::ffi::OsStr::new("--chains");
    for many in [vec![chain.as_os_str(), cut.as_os_str()], vec![flag, f.dir.path().as_os_str()]] {
        let out = cli().args(["verify", "--no-cache", "--head", &head]).arg(&counter).args(&many).output().unwrap();
        assert_eq!(out.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&out.stderr).contains("--head pins the head of one chain"), "{out:?}");
    }
    for bad in ["xyz", "abcd", &head[..63]] {
        assert_eq!(verify(&chain, &["--head", bad]).0, Some(2), "{bad}");
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `verify --format json` of `component` against `chain` with `flags`: the exit code and
/// the report.
fn verify_json(component: &Path, chain: &Path, flags: &[&str]) -> (i32, serde_json::Value) {
    let out = cli().args(["verify", "--no-cache", "--format", "json"]).args(flags).arg(component).arg(chain).output().unwrap();
    let report = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code().unwrap(), report)
}

/// The counter with `add` doing `body` before it traps, instead of its host calls:
/// whatever `body` does, the recording's log call (event 3) is never made.
fn counter_doing(f: &Fixture, name: &str, module_fields: &str, body: &str) -> PathBuf {
    let wat = edit(COUNTER, ADD_RETURNS, &format!("{body} (unreachable))"));
    let wat = edit(&wat, "(global $total (mut i32) (i32.const 0))", &format!("(global $total (mut i32) (i32.const 0)) {module_fields}"));
    f.component(name, &wat)
}

/// Asserts a `limit_exceeded` divergence at event 3 whose detail names `flag`.
fn assert_limit(code: i32, report: &serde_json::Value, flag: &str) {
    assert_eq!(code, 1, "{report}");
    let d = &report["divergence"];
    assert_eq!((d["kind"].as_str(), d["index"].as_u64()), (Some("limit_exceeded"), Some(3)), "{report}");
    assert!(d["detail"].as_str().unwrap().contains(flag), "{report}");
}

/// Tables are limited as memory is: a guest growing a table is stopped at the limit, with
/// the limit and its flag named, before the host allocates the elements (2^24 elements are
/// 128 MiB of host memory; without a limit, 2^28 took 2.1 GB).
#[test]
fn a_guest_growing_its_tables_is_stopped_at_the_limit() {
    let f = Fixture::new();
    let chain = f.counter_chain();
    let grow = |n: u32| format!("(drop (table.grow $t (ref.null func) (i32.const {n})))");
    let small = counter_doing(&f, "table.wat", "(table $t 0 funcref)", &grow(2000));
    let (code, report) = verify_json(&small, &chain, &["--max-table-elements", "1000"]);
    assert_limit(code, &report, "--max-table-elements");
    assert!(report["divergence"]["detail"].as_str().unwrap().contains("2000 elements in all, beyond the limit of 1000"), "{report}");
    // Within the limit, the grow succeeds and the guest traps as written.
    let (code, report) = verify_json(&small, &chain, &["--max-table-elements", "2000"]);
    assert_eq!((code, report["divergence"]["kind"].as_str()), (1, Some("unexpected_trap")), "{report}");
    // The default limit holds too; tables of several instances are counted together.
    let large = counter_doing(&f, "large.wat", "(table $t 0 funcref)", &grow(1 << 24));
    let (code, report) = verify_json(&large, &chain, &[]);
    assert_limit(code, &report, "--max-table-elements");
    let two = counter_doing(&f, "two.wat", "(table $t 600 funcref) (table $u 0 funcref)", "(drop (table.grow $u (ref.null func) (i32.const 600)))");
    let (code, report) = verify_json(&two, &chain, &["--max-table-elements", "1000"]);
    assert_limit(code, &report, "--max-table-elements");
}

/// `--max-memory` is the total of the guest's linear memories, not a limit on each: two
/// memories of 6 MiB do not pass `--max-memory 8`.
#[test]
fn max_memory_is_the_total_of_all_memories() {
    let f = Fixture::new();
    let chain = f.counter_chain();
    let body = "(drop (memory.grow $extra (i32.const 96))) (drop (memory.grow 0 (i32.const 96)))";
    let two = counter_doing(&f, "two.wat", "(memory $extra 1)", body);
    let (code, report) = verify_json(&two, &chain, &["--max-memory", "8"]);
    assert_limit(code, &report, "--max-memory");
    assert!(report["divergence"]["detail"].as_str().unwrap().contains("13 MiB in all, beyond the 8 MiB limit"), "{report}");
    let (code, report) = verify_json(&two, &chain, &["--max-memory", "13"]);
    assert_eq!((code, report["divergence"]["kind"].as_str()), (1, Some("unexpected_trap")), "{report}");
}

/// wasmtime bounds what a guest hands the host in one call (128 MiB of "hostcall fuel"):
/// that is a limit too, not a change of behaviour.
#[test]
fn too_much_data_for_one_host_call_is_a_limit() {
    let f = Fixture::new();
    let chain = f.counter_chain();
    // A 129 MiB string for `log`, in memory grown to hold it (its pages are never touched).
    let wat = edit(COUNTER, ADD_LOGS, "(drop (memory.grow (i32.const 2100))) (call $log (i32.const 16) (i32.const 0x8100000))");
    let big = f.component("big.wat", &wat);
    let (code, report) = verify_json(&big, &chain, &[]);
    assert_limit(code, &report, "hostcall limit");
    let detail = report["divergence"]["detail"].as_str().unwrap();
    assert!(detail.contains("128 MiB") && detail.contains("no flag raises"), "{detail}");
    let human = cli().args(["verify", "--no-cache"]).arg(&big).arg(&chain).assert().code(1).get_output().stdout.clone();
    let human = String::from_utf8(human).unwrap();
    assert!(!human.contains("behaviour changed"), "a limit is not a change of behaviour: {human}");
}

/// `record` stops at the same limits, naming them, and writes no chain.
#[test]
fn record_stops_at_the_table_limit() {
    let f = Fixture::new();
    let component = counter_doing(&f, "table.wat", "(table $t 0 funcref)", "(drop (table.grow $t (ref.null func) (i32.const 2000)))");
    let answers = f.component("answers.json", COUNTER_ANSWERS);
    let out = f.path("out.json");
    let record = cli()
        .args(["record", "--no-cache", "--max-table-elements", "1000", "--invoke", "add(1)", "--answers"])
        .arg(&answers)
        .arg(&component)
        .arg("-o")
        .arg(&out)
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&record.get_output().stderr);
    assert!(stderr.contains("--max-table-elements") && stderr.lines().count() == 1, "{stderr}");
    assert!(!out.exists());
}

/// Instances, tables and memories are counted over the store: a component that creates
/// more memories than it may (here 101 instances of a module with one) is stopped when it
/// is instantiated, `limit_exceeded` with the limits named.
#[test]
fn a_component_creating_too_many_memories_is_refused() {
    let f = Fixture::new();
    let chain = f.counter_chain();
    let first = "(core instance $memory (instantiate $Memory))";
    let many = f.component("many.wat", &edit(COUNTER, first, &format!("{first}{}", " (core instance (instantiate $Memory))".repeat(100))));
    let (code, report) = verify_json(&many, &chain, &[]);
    assert_eq!((code, report["divergence"]["kind"].as_str()), (1, Some("limit_exceeded")), "{report}");
    let detail = report["divergence"]["detail"].as_str().unwrap();
    assert!(detail.contains("memory count too high at 101") && detail.contains("100 memories"), "{detail}");
}
