//! theater 0.3.8's own chains: Pack actors (fixtures/pack/) recorded by theater 0.3.8's own
//! runtime (fixtures/theater-0.3.8/, whose calls.json says which calls were made and where
//! theater's own recording of each v2 first differs). Compatibility is proved on those
//! files: every event's SHA-1 reproduced in every container theater wrote, v2 caught at
//! the first event that differs, and our `record` writing theater's bytes.

mod pack_common;

use assert_cmd::Command;
use pack_common::root;
use serde_json::Value;
use std::path::{Path, PathBuf};
use theater_replay::chain::{ChainReader, ChainWriter, Event, HashAlg, Layout};
use theater_replay::dialect::pack::{Carried, PackPayload, encode_value};

fn chains_dir() -> PathBuf {
    root().join("fixtures/theater-0.3.8/chains")
}

fn actor(name: &str) -> PathBuf {
    root().join("fixtures/pack").join(format!("{name}.wasm"))
}

fn cli() -> Command {
    pack_common::cli("pack-cache")
}

/// calls.json, written by the generator next to the chains.
fn manifest() -> serde_json::Map<String, Value> {
    let text = std::fs::read_to_string(chains_dir().join("calls.json")).expect("fixtures/theater-0.3.8/chains/calls.json");
    serde_json::from_str::<Value>(&text).unwrap().as_object().unwrap().clone()
}

const ACTORS: [&str; 3] = ["state-actor", "types-actor", "edge-actor"];

/// Every container theater 0.3.8 wrote for an actor: the EVENT run log, the JSON array of
/// its events and the saved state chain.
fn containers(name: &str) -> Vec<PathBuf> {
    ["chain", "json", "state.json"].iter().map(|ext| chains_dir().join(format!("{name}.{ext}"))).collect()
}

fn verify_json(actor: &Path, chain: &Path, extra: &[&str]) -> (i32, Value) {
    pack_common::verify_json_with(cli(), actor, chain, extra)
}

fn event_count(chain: &Path) -> u64 {
    ChainReader::open(chain).unwrap().inspect(|e| assert!(e.is_ok(), "{e:?}")).count() as u64
}

#[test]
fn every_chain_theater_wrote_verifies_in_every_container() {
    let manifest = manifest();
    for name in ACTORS {
        let expected = manifest[name]["event_count"].as_u64().unwrap();
        for chain in containers(name) {
            let (code, report) = verify_json(&actor(name), &chain, &[]);
            assert_eq!(code, 0, "{}: {report}", chain.display());
            assert_eq!(report["status"], "verified");
            assert_eq!(report["dialect"], "theater-0.3.8-pack");
            assert_eq!(report["hash_algorithm"], "sha1");
            assert_eq!(report["hash"], "sha1", "the old name of hash_algorithm, kept");
            // Every event, the runtime's closing `shutdown` included, reproduced.
            assert_eq!(report["events_verified"], expected, "{}", chain.display());
            assert_eq!(event_count(&chain), expected);
        }
    }
}

/// theater's own recordings of the v2 builds replay against them too: the replay is not
/// merely matching one set of files.
#[test]
fn theaters_v2_chains_verify_against_the_v2_builds() {
    for name in ACTORS {
        for ext in ["chain", "json"] {
            let chain = chains_dir().join("v2").join(format!("{name}-v2.{ext}"));
            let (code, report) = verify_json(&actor(&format!("{name}-v2")), &chain, &[]);
            assert_eq!(code, 0, "{}: {report}", chain.display());
        }
    }
}

/// Each v2 against the v1 chain: caught at the first event whose hash theater's own v2
/// recording changed, never later, with the kind that says what changed.
#[test]
fn each_v2_diverges_at_the_first_event_that_differs() {
    let manifest = manifest();
    let cases = [
        ("state-actor", "different_arguments", Some("increment")),
        ("types-actor", "different_arguments", Some("run")),
        ("edge-actor", "different_trap", None),
    ];
    for (name, kind, in_stack) in cases {
        let first = manifest[name]["v2"]["first_divergent_event"].as_u64().unwrap();
        for chain in containers(name) {
            let (code, report) = verify_json(&actor(&format!("{name}-v2")), &chain, &[]);
            assert_eq!(code, 1, "{}: {report}", chain.display());
            let d = &report["divergence"];
            assert_eq!(d["index"], first, "{name}: {report}");
            assert_eq!(d["kind"], kind, "{name}: {report}");
            assert_eq!(report["events_verified"], first);
            // Both sides decoded, never hex.
            let expected = d["expected"]["summary"].as_str().unwrap();
            let actual = d["actual"]["summary"].as_str().unwrap();
            assert_ne!(expected, actual);
            assert!(!expected.contains("bytes, ") && !actual.contains("bytes, "), "{expected} / {actual}");
            assert_ne!(d["expected"]["hash"], d["actual"]["hash"]);
            if let Some(function) = in_stack {
                let stack = d["guest_stack"].as_array().unwrap();
                assert!(stack.iter().any(|f| f.as_str().unwrap().contains(function)), "{name}: {stack:?}");
            }
        }
    }
}

#[test]
fn the_human_report_of_a_divergence_is_decoded() {
    let chain = chains_dir().join("state-actor.chain");
    let out = cli().arg("verify").arg(actor("state-actor-v2")).arg(&chain).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("DIVERGED"), "{text}");
    assert!(text.contains("theater:simple/runtime/log(\"state-actor: count incremented to 1\")"), "{text}");
    assert!(text.contains("theater:simple/runtime/log(\"state-actor: count is now 1\")"), "{text}");
}

#[test]
fn inspect_and_diff_show_decoded_values() {
    let chain = chains_dir().join("state-actor.chain");
    let out = cli().arg("inspect").arg(&chain).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!text.contains("not JSON") && !text.contains("binary"), "{text}");
    assert!(text.contains("call theater:simple/actor.init(none)"), "{text}");
    assert!(text.contains("theater:simple/state-actor.increment returned 1 (state {count: 1})"), "{text}");
    assert!(text.contains("call shutdown()"), "{text}");

    let jsonl = cli().arg("inspect").arg(&chain).args(["--format", "jsonl"]).output().unwrap();
    let first: Value = serde_json::from_slice(jsonl.stdout.split(|b| *b == b'\n').next().unwrap()).unwrap();
    assert_eq!(first["payload"]["category"], "wasm-call");
    assert_eq!(first["payload"]["function"], "theater:simple/actor.init");

    let v2 = chains_dir().join("v2/state-actor-v2.chain");
    let out = cli().arg("diff").arg(&chain).arg(&v2).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("count is now 1"), "{text}");
}

/// Our `record` of the same calls writes the bytes theater 0.3.8 wrote, in its run log and
/// in its JSON array.
#[test]
fn record_writes_the_chains_theater_writes() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, &[&str]); 2] = [
        (
            "state-actor",
            &[
                "theater:simple/actor.init(none)",
                "theater:simple/state-actor.increment()",
                "theater:simple/state-actor.add(5)",
                "theater:simple/state-actor.increment()",
            ],
        ),
        (
            "edge-actor",
            &[
                "theater:simple/actor.init(none)",
                "theater:test/edge-actor.ping()",
                "theater:test/edge-actor.fail(\"why not\")",
                "theater:test/edge-actor.ping()",
                "theater:test/edge-actor.bad-return()",
                "theater:test/edge-actor.wrong-state()",
                "theater:test/edge-actor.ping()",
                "theater:test/edge-actor.trap()",
                "theater:test/edge-actor.ping()",
            ],
        ),
    ];
    for (name, calls) in cases {
        for (format, ext) in [("event-log", "chain"), ("json-pretty", "json")] {
            let out = dir.path().join(format!("{name}.{ext}"));
            let mut cmd = cli();
            cmd.arg("record").arg(actor(name)).args(["--layout", format, "-o"]).arg(&out);
            for call in calls {
                cmd.args(["--invoke", call]);
            }
            cmd.assert().success();
            let ours = std::fs::read(&out).unwrap();
            let theirs = std::fs::read(chains_dir().join(format!("{name}.{ext}"))).unwrap();
            assert!(ours == theirs, "{name} ({format}): our recording differs from theater's");
        }
    }

    // The types actor's host calls answer records, variants, options, results and
    // `value`-typed results: answered exactly as `cgrf:<hex>`, the `output_cgrf` that
    // `inspect` shows for each recorded call.
    let recorded = cli().arg("inspect").arg(chains_dir().join("types-actor.chain")).args(["--format", "jsonl"]).output().unwrap();
    assert!(recorded.status.success());
    let mut answers = serde_json::Map::new();
    for line in String::from_utf8(recorded.stdout).unwrap().lines() {
        let payload = &serde_json::from_str::<Value>(line).unwrap()["payload"];
        if payload["category"] == "host-function" && payload["output"] != "()" {
            let key = format!("{}#{}", payload["interface"].as_str().unwrap(), payload["function"].as_str().unwrap());
            let list = answers.entry(key).or_insert_with(|| Value::Array(vec![]));
            list.as_array_mut().unwrap().push(payload["output_cgrf"].clone());
        }
    }
    let answers_path = dir.path().join("types-answers.json");
    std::fs::write(&answers_path, serde_json::to_vec(&answers).unwrap()).unwrap();
    let calls = ["theater:simple/actor.init(none)", "theater:test/types-actor.run(\"alpha\", 1)", "theater:test/types-actor.run(\"beta\", 2)"];
    let out = dir.path().join("types-actor.chain");
    let mut cmd = cli();
    cmd.arg("record")
        .arg(actor("types-actor"))
        .arg("--answers")
        .arg(&answers_path)
        .args(["--layout", "event-log", "-o"])
        .arg(&out);
    for call in calls {
        cmd.args(["--invoke", call]);
    }
    cmd.assert().success();
    assert!(
        std::fs::read(&out).unwrap() == std::fs::read(chains_dir().join("types-actor.chain")).unwrap(),
        "types-actor: our recording differs from theater's"
    );
}

/// A chain of the Pack dialect built event by event (for cases theater's fixtures do not
/// have), in theater's envelope and hash.
fn write_chain(path: &Path, events: &[(&str, PackPayload)]) {
    let events = events.iter().map(|(event_type, payload)| (event_type.to_string(), payload.clone()));
    pack_common::write_pack_chain(path, Layout::PrettyArray, events);
}

fn spinner() -> PathBuf {
    root().join("fixtures/pack/wat/spinner.wat")
}

#[test]
fn a_guest_that_spins_is_ended_by_the_timeout_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let chain = dir.path().join("spin.json");
    let params = encode_value(&packr_abi::Value::Tuple(vec![]));
    write_chain(&chain, &[("wasm", PackPayload::WasmCall { function: "test:spin/api.spin".into(), params: Carried::Cgrf(params) })]);
    let (code, report) = verify_json(&spinner(), &chain, &["--timeout", "0.2"]);
    assert_eq!(code, 1, "{report}");
    assert_eq!(report["divergence"]["kind"], "limit_exceeded");
    assert!(report["divergence"]["detail"].as_str().unwrap().contains("--timeout"), "{report}");
    let stack = report["divergence"]["guest_stack"].as_array().unwrap();
    assert!(stack.iter().any(|f| f.as_str().unwrap().contains("spin")), "{stack:?}");
}

#[test]
fn host_calls_answer_from_the_recording_and_a_different_argument_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    let s = |t: &str| packr_abi::Value::String(t.into());
    let call = |arg: &str| PackPayload::WasmCall {
        function: "test:spin/api.echo".into(),
        params: Carried::Cgrf(encode_value(&packr_abi::Value::Tuple(vec![s(arg)]))),
    };
    let host = |arg: &str, answer: i32| PackPayload::HostFunction {
        interface: "test:spin/host".into(),
        function: "call".into(),
        input: packr_abi::Value::Tuple(vec![packr_abi::Value::Tuple(vec![]), s(arg)]),
        output: packr_abi::Value::S32(answer),
    };
    // The spinner's echo returns the host's answer as its whole output: theater takes a
    // non-result output as the new state, with no result bytes.
    let result = |state: i32| PackPayload::WasmResult {
        function: "test:spin/api.echo".into(),
        state: packr_abi::Value::S32(state),
        result: Carried::Cgrf(vec![]),
    };
    let good = dir.path().join("good.json");
    write_chain(&good, &[("wasm", call("a")), ("test:spin/host/call", host("a", 7)), ("wasm", result(7))]);
    let (code, report) = verify_json(&spinner(), &good, &[]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["events_verified"], 3);

    // The recorded call's argument differs from what the guest passes at event 1.
    let edited = dir.path().join("edited.json");
    write_chain(&edited, &[("wasm", call("a")), ("test:spin/host/call", host("b", 7)), ("wasm", result(7))]);
    let (code, report) = verify_json(&spinner(), &edited, &[]);
    assert_eq!(code, 1, "{report}");
    assert_eq!(report["divergence"]["index"], 1);
    assert_eq!(report["divergence"]["kind"], "different_arguments");
    // The host call's input is the tuple of its arguments: the second one changed.
    let diff = serde_json::json!([{"path": ".1", "expected": "\"b\"", "actual": "\"a\""}]);
    assert_eq!(report["divergence"]["diff"], diff);

    // The recording says the host answered 8, so the guest's result must be 8.
    let answered = dir.path().join("answered.json");
    write_chain(&answered, &[("wasm", call("a")), ("test:spin/host/call", host("a", 8)), ("wasm", result(7))]);
    let (code, report) = verify_json(&spinner(), &answered, &[]);
    assert_eq!(code, 1, "{report}");
    assert_eq!(report["divergence"]["index"], 2);
    assert_eq!(report["divergence"]["kind"], "different_result");
}

#[test]
fn actors_and_chains_of_different_kinds_are_refused_with_what_to_give() {
    let pack_chain = chains_dir().join("state-actor.chain");
    let component = root().join("fixtures/components/counter.wat");
    let out = cli().arg("verify").arg(&component).arg(&pack_chain).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stdout).contains("give the Pack module"), "{}", String::from_utf8_lossy(&out.stdout));

    let our_chain = root().join("fixtures/chains/counter.json");
    let out = cli().arg("verify").arg(actor("state-actor")).arg(&our_chain).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stdout).contains("give the component"));

    let dir = tempfile::tempdir().unwrap();
    let bare = dir.path().join("bare.wat");
    std::fs::write(&bare, "(module (memory (export \"memory\") 1))").unwrap();
    let out = cli().arg("verify").arg(&bare).arg(&pack_chain).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("not a Pack actor") && stderr.contains("`__pack_alloc`, `__pack_free`"), "{stderr}");
}

#[test]
fn a_forced_dialect_is_used_and_reported() {
    let chain = chains_dir().join("state-actor.json");
    let (code, report) = verify_json(&actor("state-actor"), &chain, &["--dialect", "theater-0.3.8-pack"]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["dialect"], "theater-0.3.8-pack");
    let (code, report) = verify_json(&actor("state-actor"), &chain, &["--dialect", "theater-replay-v1"]);
    assert_eq!(code, 2, "{report}");
    let out = cli().arg("verify").arg(actor("state-actor")).arg(&chain).args(["--dialect", "nope"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn an_initial_state_that_does_not_fit_the_declared_type_is_a_clear_error() {
    let chain = chains_dir().join("state-actor.json");
    // init declares its state as `value`, which has no text form.
    let (code, report) = verify_json(&actor("state-actor"), &chain, &["--initial-state", "{count: 1}"]);
    assert_eq!(code, 2, "{report}");
    assert!(report["error"].as_str().unwrap().starts_with("--initial-state:"), "{report}");
}

/// A guest passing a length far beyond its memory gets packr's -1 (bounds are checked before
/// anything is allocated for it).
#[test]
fn an_import_argument_outside_the_guest_memory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let actor = dir.path().join("wild.wat");
    std::fs::write(
        &actor,
        r#"(module
  (import "test:wild/host" "call" (func $call (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "__pack_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "__pack_free") (param i32 i32))
  (func (export "test:wild/api.go") (param i32 i32 i32 i32) (result i32)
    (call $call (i32.const 0) (i32.const -1) (i32.const 100) (i32.const 104))))"#,
    )
    .unwrap();
    let chain = dir.path().join("wild.json");
    let params = encode_value(&packr_abi::Value::Tuple(vec![]));
    write_chain(&chain, &[("wasm", PackPayload::WasmCall { function: "test:wild/api.go".into(), params: Carried::Cgrf(params) })]);
    let (code, report) = verify_json(&actor, &chain, &[]);
    // The call fails (the host answered -1), which the recording does not say.
    assert_eq!(code, 1, "{report}");
    assert_eq!(report["divergence"]["index"], 1, "{report}");
}

/// The replay's fast path reads a recorded host call without decoding it
/// (src/dialect/cgrf_check.rs): every host call theater 0.3.8 wrote takes it, and the input
/// and answer it slices out are exactly what packr-abi encodes for the decoded payload.
#[test]
fn every_host_call_theater_wrote_is_read_without_decoding_exactly_as_packr_decodes_it() {
    use theater_replay::dialect::pack::host_call_bytes;
    let mut host_calls = 0;
    for name in ACTORS {
        for event in ChainReader::open(&chains_dir().join(format!("{name}.chain"))).unwrap() {
            let event = event.unwrap();
            match PackPayload::decode(&event.data).unwrap() {
                PackPayload::HostFunction { interface, function, input, output } => {
                    // A spent buffer, as the replay reuses them: nothing of it may remain.
                    let fast = host_call_bytes(&event.data, b"spent buffer".to_vec())
                        .unwrap_or_else(|_| panic!("{name}: host call {} not read by the fast path", event.event_type));
                    assert_eq!(&event.data[fast.interface.clone()], interface.as_bytes());
                    assert_eq!(&event.data[fast.function.clone()], function.as_bytes());
                    assert_eq!(fast.input(), encode_value(&input), "{name}: {}", event.event_type);
                    assert_eq!(fast.output(), encode_value(&output), "{name}: {}", event.event_type);
                    host_calls += 1;
                }
                _ => assert!(host_call_bytes(&event.data, Vec::new()).is_err(), "{name}: a {} read as a host call", event.event_type),
            }
        }
    }
    assert!(host_calls >= 30, "only {host_calls} host calls in theater's chains");
}

/// packr-abi's decoder sizes a vector by a count it has not checked (and recurses without
/// bound): a chain claiming a list of four billion items must be one clear error, not an
/// aborted process.
#[test]
fn a_payload_that_would_abort_packrs_decoder_is_a_clear_error() {
    let mut data = b"CGRF".to_vec();
    data.extend_from_slice(&[2, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0x07, 0, 0, 0, 5, 0, 0, 0, 0x06]);
    data.extend_from_slice(&u32::MAX.to_le_bytes());
    let dir = tempfile::tempdir().unwrap();
    let chain = dir.path().join("hostile.chain");
    let mut writer = ChainWriter::with_layout(std::fs::File::create(&chain).unwrap(), Layout::EventLog);
    writer.write(&Event::new_linked(HashAlg::Sha1, None, "wasm".into(), data)).unwrap();
    writer.finish().unwrap();

    let out = cli().arg("inspect").arg(&chain).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("claims 4294967295 items"), "{}", String::from_utf8_lossy(&out.stdout));

    let out = cli().arg("verify").arg(actor("state-actor")).arg(&chain).args(["--dialect", "theater-0.3.8-pack"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("claims 4294967295 items"), "{text}");
}

/// A Pack actor by hand whose export `test:lim/api.run` does `body` and returns an empty
/// output; `fields` are more module fields.
fn limit_actor(dir: &Path, fields: &str, body: &str) -> PathBuf {
    let wat = format!(
        r#"(module
  (memory (export "memory") 1)
  {fields}
  (func (export "__pack_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "__pack_free") (param i32 i32))
  (func (export "test:lim/api.run") (param i32 i32 i32 i32) (result i32)
    {body}
    (unreachable)))"#
    );
    let path = dir.join("actor.wat");
    std::fs::write(&path, wat).unwrap();
    path
}

/// A chain of one call to `test:lim/api.run`.
fn run_chain(dir: &Path) -> PathBuf {
    let chain = dir.join("run.json");
    let params = encode_value(&packr_abi::Value::Tuple(vec![]));
    write_chain(&chain, &[("wasm", PackPayload::WasmCall { function: "test:lim/api.run".into(), params: Carried::Cgrf(params) })]);
    chain
}

/// A Pack actor is held to the same limits as a component: table elements and the total
/// of its memories, with the limit and its flag named.
#[test]
fn a_pack_actor_is_stopped_at_the_table_and_memory_limits() {
    let dir = tempfile::tempdir().unwrap();
    let chain = run_chain(dir.path());
    let table = limit_actor(dir.path(), "(table $t 0 funcref)", "(drop (table.grow $t (ref.null func) (i32.const 2000)))");
    let (code, report) = verify_json(&table, &chain, &["--max-table-elements", "1000"]);
    assert_eq!(code, 1, "{report}");
    assert_eq!(report["divergence"]["kind"], "limit_exceeded", "{report}");
    assert!(report["divergence"]["detail"].as_str().unwrap().contains("--max-table-elements"), "{report}");

    let memories = limit_actor(
        dir.path(),
        "(memory $extra 1)",
        "(drop (memory.grow $extra (i32.const 96))) (drop (memory.grow 0 (i32.const 96)))",
    );
    let (code, report) = verify_json(&memories, &chain, &["--max-memory", "8"]);
    assert_eq!(code, 1, "{report}");
    assert_eq!(report["divergence"]["kind"], "limit_exceeded", "{report}");
    assert!(report["divergence"]["detail"].as_str().unwrap().contains("in all, beyond the 8 MiB limit (--max-memory)"), "{report}");
}

/// A limit reached while a Pack actor is instantiated (a memory or a table declared too
/// large, a start function that loops) is reported as one reached in a call: `verify` gives
/// the divergence `limit_exceeded` naming the flag, exit 1 (with `--keep-going` too, listed
/// once: every instance would be stopped alike), and `record` one `error:` line naming the
/// flag, exit 2, and no chain.
#[test]
fn a_limit_reached_while_a_pack_actor_is_instantiated_is_limit_exceeded() {
    let dir = tempfile::tempdir().unwrap();
    let chain = run_chain(dir.path());
    let cases: [(&str, &[&str], &str); 3] = [
        ("(memory $big 300)", &["--max-memory", "16"], "beyond the 16 MiB limit (--max-memory)"),
        ("(table 2000 funcref)", &["--max-table-elements", "1000"], "beyond the limit of 1000 (--max-table-elements)"),
        (
            "(func $spin (loop $l (br $l))) (start $spin)",
            &["--timeout", "0.3"],
            "its start function was stopped: it ran longer than the 0.3s timeout (--timeout)",
        ),
    ];
    for (fields, flags, says) in cases {
        let actor = limit_actor(dir.path(), fields, "");
        for keep_going in [&[][..], &["--keep-going"]] {
            let (code, report) = verify_json(&actor, &chain, &[flags, keep_going].concat());
            assert_eq!((code, report["status"].as_str()), (1, Some("diverged")), "{fields}: {report}");
            let d = &report["divergence"];
            assert_eq!((d["kind"].as_str(), d["index"].as_u64()), (Some("limit_exceeded"), Some(0)), "{fields}: {report}");
            let detail = d["detail"].as_str().unwrap();
            assert!(detail.starts_with("while instantiating the Pack actor: ") && detail.contains(says), "{detail}");
            if !keep_going.is_empty() {
                assert_eq!(report["divergences"].as_array().unwrap().len(), 1, "{report}");
            }
        }
        let out = dir.path().join("out.json");
        let record = cli()
            .args(["record", "--no-cache"])
            .args(flags)
            .arg(&actor)
            .args(["--invoke", "test:lim/api.run()", "-o"])
            .arg(&out)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&record.stderr);
        assert_eq!(record.status.code(), Some(2), "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.contains("cannot instantiate the Pack actor: ") && stderr.contains(says), "{stderr}");
        assert!(!out.exists());
    }
}
