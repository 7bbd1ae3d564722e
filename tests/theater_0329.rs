//! theater 0.3.29's own chains: the Pack actors of fixtures/pack-0.11/ (packr-guest 0.11
//! plain builds) run by theater 0.3.29's own runtime with its real handlers
//! (fixtures/theater-0.3.29/: the capture program, its scenarios and calls.json, which says
//! which calls were made and where theater's recording of each v2 first differs).
//! Compatibility is proved on those files: every event's SHA-1 reproduced with no dialect
//! flag, the async host answers given through the guest's allocator as theater gives them,
//! v2 caught at the first event that differs, and our `record` writing theater's bytes.

mod pack_common;

use assert_cmd::Command;
use pack_common::root;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn chains_dir() -> PathBuf {
    root().join("fixtures/theater-0.3.29/chains")
}

fn actor(name: &str) -> PathBuf {
    root().join("fixtures/pack-0.11").join(format!("{name}.wasm"))
}

fn cli() -> Command {
    pack_common::cli("theater-0329-cache")
}

/// calls.json, written by the capture program's run.sh next to the chains.
fn scenarios() -> serde_json::Map<String, Value> {
    let text = std::fs::read_to_string(chains_dir().join("calls.json")).expect("fixtures/theater-0.3.29/chains/calls.json");
    let all: Value = serde_json::from_str(&text).unwrap();
    all.get("scenarios").unwrap_or(&all).as_object().unwrap().clone()
}

/// The actor a scenario ran (`edge-trap` ran the edge-actor).
fn actor_of(scenario: &Value) -> String {
    scenario["actor"].as_str().unwrap().to_string()
}

/// `--manifest` of the scenario: theater 0.3.29 starts the actor with its `initial_state`.
fn manifest_of(scenario: &Value) -> PathBuf {
    root().join("fixtures/theater-0.3.29").join(scenario["manifest"].as_str().unwrap())
}

fn verify_json(actor: &Path, chain: &Path, extra: &[&str]) -> (i32, Value) {
    pack_common::verify_json_with(cli(), actor, chain, extra)
}

fn event_count(chain: &Path) -> u64 {
    let events: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(chain).unwrap()).unwrap();
    events.len() as u64
}

#[test]
fn every_chain_theater_0329_wrote_verifies_with_no_dialect_flag() {
    let scenarios = scenarios();
    assert!(scenarios.len() >= 8, "{:?}", scenarios.keys());
    for (name, scenario) in &scenarios {
        for (chain, build) in [
            (chains_dir().join(format!("{name}.json")), actor_of(scenario)),
            (chains_dir().join("v2").join(format!("{name}-v2.json")), format!("{}-v2", actor_of(scenario))),
        ] {
            let manifest = manifest_of(scenario);
            let (code, report) = verify_json(&actor(&build), &chain, &["--manifest", manifest.to_str().unwrap()]);
            assert_eq!(code, 0, "{}: {report}", chain.display());
            assert_eq!(report["status"], "verified");
            assert_eq!(report["dialect"], "theater-pack-values", "{name}");
            assert_eq!(report["hash_algorithm"], "sha1");
            // Every event, the runtime's closing `shutdown` included, reproduced.
            assert_eq!(report["events_verified"], event_count(&chain), "{}", chain.display());
            let theater = &report["theater"];
            assert_eq!(theater["replayed_as"], "0.3.29", "{name}: {report}");
            assert!(theater["releases"].as_str().unwrap().ends_with("0.3.29"), "{name}: {report}");
        }
    }
}

/// Host calls are prepared ahead (checked and sliced out of their events) by whichever of
/// the two threads is less busy, which depends on timing: on every chain theater wrote,
/// against both builds, each thread alone gives the same report, verdicts, divergences
/// and decoded values alike.
#[test]
fn the_thread_that_prepares_host_calls_changes_no_report() {
    for (name, scenario) in &scenarios() {
        let chain = chains_dir().join(format!("{name}.json"));
        let manifest = manifest_of(scenario);
        let flags = ["--manifest", manifest.to_str().unwrap()];
        for build in [actor_of(scenario), format!("{}-v2", actor_of(scenario))] {
            let on = |thread: &str| {
                let mut cmd = cli();
                cmd.env("THEATER_REPLAY_PREPARE", thread);
                pack_common::verify_json_with(cmd, &actor(&build), &chain, &flags)
            };
            let (reader, replay) = (on("reader"), on("replay"));
            assert!(matches!(reader.0, 0 | 1), "{name} against {build}: {}", reader.1);
            assert_eq!(reader, replay, "{name} against {build}");
        }
    }
}

/// Each v2 against the v1 chain: caught at the first event whose hash theater's own v2
/// recording changed, never later, with a kind that says what changed.
#[test]
fn each_v2_diverges_at_the_first_event_that_differs() {
    let mut diverging = 0;
    for (name, scenario) in &scenarios() {
        let chain = chains_dir().join(format!("{name}.json"));
        let manifest = manifest_of(scenario);
        let flags = ["--manifest", manifest.to_str().unwrap()];
        let v2 = actor(&format!("{}-v2", actor_of(scenario)));
        let Some(first) = scenario["v2"]["first_divergent_event"].as_u64() else {
            // theater recorded the same events for both builds: so must the replay.
            let (code, report) = verify_json(&v2, &chain, &flags);
            assert_eq!(code, 0, "{name}: theater's v2 chain is the v1 chain: {report}");
            continue;
        };
        diverging += 1;
        let (code, report) = verify_json(&v2, &chain, &flags);
        assert_eq!(code, 1, "{name}: {report}");
        let d = &report["divergence"];
        assert_eq!(d["index"], first, "{name}: {report}");
        assert_eq!(report["events_verified"], first, "{name}");
        let kind = d["kind"].as_str().unwrap();
        assert!(
            ["different_arguments", "different_result", "different_trap", "different_import", "extra_host_call"].contains(&kind),
            "{name}: {kind}: {report}"
        );
        // Both sides decoded, never hex.
        let expected = d["expected"]["summary"].as_str().unwrap();
        let actual = d["actual"]["summary"].as_str().unwrap();
        assert_ne!(expected, actual);
        assert!(!expected.contains("bytes, ") && !actual.contains("bytes, "), "{expected} / {actual}");
        assert_ne!(d["expected"]["hash"], d["actual"]["hash"]);
    }
    assert!(diverging >= 5, "{diverging}");
}

/// theater 0.3.29's trap text (the whole error chain, the input in packr 0.6's syntax, the
/// wasm backtrace as theater's wasmtime writes it) is reproduced, and it tells the releases
/// apart: only 0.3.12 and later write it so.
#[test]
fn a_recorded_trap_is_reproduced_and_narrows_the_releases() {
    let scenarios = scenarios();
    let trap = &scenarios["edge-trap"];
    let (code, report) = verify_json(&actor("edge-actor"), &chains_dir().join("edge-trap.json"), &[]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["theater"]["releases"], "0.3.12-0.3.29", "{report}");
    let message = trap["calls"][2]["outcome"]["error"].as_str().unwrap();
    assert!(message.contains("with input: (edge-state{calls: 1u32}): WASM execution error: error while executing at wasm backtrace:"));
    // Given as another release, the same chain's error text is not that release's.
    let (code, report) = verify_json(&actor("edge-actor"), &chains_dir().join("edge-trap.json"), &["--theater", "0.3.11"]);
    assert_eq!(code, 1, "{report}");
    assert_eq!(report["divergence"]["kind"], "different_trap", "{report}");
    assert_eq!(report["theater"]["given"], true);
}

/// The initial state is theater's, not in the chain: the store actor was started with its
/// manifest's `initial_state`, and without the manifest its first log differs.
#[test]
fn the_manifest_gives_the_initial_state_theater_gave() {
    let chain = chains_dir().join("store-actor.json");
    let (code, report) = verify_json(&actor("store-actor"), &chain, &[]);
    assert_eq!(code, 1, "{report}");
    assert_eq!(report["divergence"]["index"], 1, "{report}");
    assert_eq!(report["divergence"]["diff"][0]["expected"], "\"store-actor: init, prefix golden\"", "{report}");
    let manifest = manifest_of(&scenarios()["store-actor"]);
    let (code, _) = verify_json(&actor("store-actor"), &chain, &["--manifest", manifest.to_str().unwrap()]);
    assert_eq!(code, 0);
}

/// The answers of a chain's host calls, as `record --answers` takes them (`cgrf:<hex>`,
/// read back with `inspect --format json`).
fn answers_of(chain: &Path) -> Value {
    let out = cli().args(["inspect", "--format", "json"]).arg(chain).output().unwrap();
    assert!(out.status.success());
    let mut answers = serde_json::Map::new();
    for line in String::from_utf8(out.stdout).unwrap().lines() {
        let event: Value = serde_json::from_str(line).unwrap();
        let payload = &event["payload"];
        if payload["category"] == "host-function" {
            let key = format!("{}#{}", payload["interface"].as_str().unwrap(), payload["function"].as_str().unwrap());
            let list = answers.entry(key).or_insert_with(|| Value::Array(vec![]));
            list.as_array_mut().unwrap().push(payload["output_cgrf"].clone());
        }
    }
    Value::Object(answers)
}

/// Our `record --theater 0.3.29` of the same calls with the same answers writes theater's
/// file byte for byte: init called first as the runtime does, nothing after a failed call
/// or a self-shutdown, theater's error texts, and the closing `shutdown` where theater
/// writes one.
#[test]
fn record_writes_what_theater_0329_wrote() {
    let dir = tempfile::tempdir().unwrap();
    for (name, scenario) in &scenarios() {
        let answers = dir.path().join(format!("{name}.answers.json"));
        std::fs::write(&answers, answers_of(&chains_dir().join(format!("{name}.json"))).to_string()).unwrap();
        let out = dir.path().join(format!("{name}.json"));
        let mut cmd = cli();
        cmd.arg("record").arg(actor(&actor_of(scenario))).args(["--theater", "0.3.29", "--layout", "json-pretty"]);
        cmd.arg("--manifest").arg(manifest_of(scenario)).arg("--answers").arg(&answers).arg("-o").arg(&out);
        let calls = scenario["calls"].as_array().unwrap();
        // The first call is the runtime's init at spawn, which record makes itself.
        assert_eq!(calls[0]["function"], "theater:simple/actor.init");
        for call in &calls[1..] {
            cmd.arg("--invoke").arg(format!("{}{}", call["function"].as_str().unwrap(), call["params_wave"].as_str().unwrap()));
        }
        let run = cmd.output().unwrap();
        assert!(run.status.success(), "{name}: {}", String::from_utf8_lossy(&run.stderr));
        let ours = std::fs::read(&out).unwrap();
        let theirs = std::fs::read(chains_dir().join(format!("{name}.json"))).unwrap();
        assert!(ours == theirs, "{name}: our recording differs from theater 0.3.29's");
    }
}

#[test]
fn inspect_shows_values_with_their_names() {
    let out = cli().arg("inspect").arg(chains_dir().join("store-actor.json")).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    // Nothing left undecoded (`<N bytes, ...>`, `N bytes, binary: ...`).
    assert!(!text.contains(" bytes, not") && !text.contains("binary:"), "{text}");
    assert!(text.contains("store-id: \"golden-store\""), "{text}");
    assert!(text.contains("call theater:test/store-actor.save(\"alpha\", \"hello, store\")"), "{text}");
    assert!(text.contains("theater:simple/store/get-by-label"), "{text}");
}

/// A Pack actor that checks, from inside, how each answer reached it: the sync host
/// function's at 16392 with status 0, the async one's in the buffer its own `__pack_alloc`
/// last gave, of the answer's exact size, with status 1. It returns the async answer as its
/// output, and traps on anything else.
const ABI_PROBE: &str = r#"(module
  (import "theater:simple/runtime" "log" (func $log (param i32 i32 i32 i32) (result i32)))
  (import "theater:simple/store" "get" (func $get (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 2)
  (global $bump (mut i32) (i32.const 65536))
  (global $last (mut i32) (i32.const 0))
  (global $last_len (mut i32) (i32.const 0))
  (func (export "__pack_alloc") (param $n i32) (result i32)
    (global.set $last (global.get $bump))
    (global.set $last_len (local.get $n))
    (global.set $bump (i32.add (global.get $bump) (local.get $n)))
    (global.get $last))
  (func (export "__pack_free") (param i32 i32))
  (func (export "test:abi/api.probe") (param $in i32) (param $len i32) (param $rp i32) (param $rl i32) (result i32)
    (if (i32.ne (call $log (local.get $in) (local.get $len) (i32.const 100) (i32.const 104)) (i32.const 0)) (then unreachable))
    (if (i32.ne (i32.load (i32.const 100)) (i32.const 16392)) (then unreachable))
    (if (i32.ne (call $get (local.get $in) (local.get $len) (i32.const 100) (i32.const 104)) (i32.const 1)) (then unreachable))
    (if (i32.ne (i32.load (i32.const 100)) (global.get $last)) (then unreachable))
    (if (i32.ne (i32.load (i32.const 104)) (global.get $last_len)) (then unreachable))
    (i32.store (local.get $rp) (i32.load (i32.const 100)))
    (i32.store (local.get $rl) (i32.load (i32.const 104)))
    (i32.const 0)))"#;

#[test]
fn async_answers_reach_the_guest_through_its_allocator_as_theater_0329_gives_them() {
    use packr_abi::{Value as V, ValueType};
    use theater_replay::chain::Layout;
    use theater_replay::dialect::pack::{Carried, PackPayload};
    let dir = tempfile::tempdir().unwrap();
    let probe = dir.path().join("probe.wat");
    std::fs::write(&probe, ABI_PROBE).unwrap();
    let none = V::Option { inner_type: ValueType::Bool, value: None };
    let input = V::Tuple(vec![none]);
    let answer = V::Result { ok_type: ValueType::String, err_type: ValueType::String, value: Ok(Box::new(V::String("stored".into()))) };
    let host = |function: &str, output: V| PackPayload::HostFunction {
        interface: if function == "log" { "theater:simple/runtime" } else { "theater:simple/store" }.into(),
        function: function.into(),
        input: input.clone(),
        output,
    };
    let function = "test:abi/api.probe".to_string();
    let events = [
        ("wasm", PackPayload::WasmCall { function: function.clone(), params: Carried::Value(V::Tuple(vec![])) }),
        ("theater:simple/runtime/log", host("log", V::Tuple(vec![]))),
        ("theater:simple/store/get", host("get", answer)),
        // theater takes an output that is `ok` of no tuple as the new state.
        ("wasm", PackPayload::WasmResult { function, state: V::String("stored".into()), result: Carried::Value(V::Tuple(vec![])) }),
        ("shutdown", PackPayload::WasmCall { function: "shutdown".into(), params: Carried::Value(V::Tuple(vec![])) }),
    ];
    let chain = dir.path().join("probe.json");
    pack_common::write_pack_chain(&chain, Layout::PrettyArray, events.map(|(t, p)| (t.to_string(), p)));
    let (code, report) = verify_json(&probe, &chain, &[]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["theater"]["replayed_as"], "0.3.29");
    // Releases before 0.3.29 answer every import at 16392: the probe traps.
    let (code, report) = verify_json(&probe, &chain, &["--theater", "0.3.28"]);
    assert_eq!((code, report["divergence"]["kind"].as_str()), (1, Some("unexpected_trap")), "{report}");
    // So does a host function named synchronous.
    let (code, report) = verify_json(&probe, &chain, &["--sync-import", "theater:simple/store.get"]);
    assert_eq!((code, report["divergence"]["kind"].as_str()), (1, Some("unexpected_trap")), "{report}");
}

/// A call theater 0.3.29 ended at its epoch deadline (a runaway guest) recorded a trap at
/// wherever it had got to: the replay stops the guest at its own `--timeout`, not after
/// theater's 300 seconds, and says what happened instead of calling it a changed behaviour.
#[test]
fn a_call_theater_stopped_at_its_deadline_is_reported_as_such_without_waiting_for_it() {
    use packr_abi::Value as V;
    use theater_replay::chain::Layout;
    use theater_replay::dialect::pack::{Carried, PackPayload};
    let dir = tempfile::tempdir().unwrap();
    let chain = dir.path().join("spin.json");
    let function = "test:spin/api.spin".to_string();
    let message = format!(
        "Failed to call function '{function}' with input: (none<bool>): WASM execution error: error while executing at wasm backtrace:\n    0:   0x6b - <unknown>!test:spin/api.spin"
    );
    let events = [
        ("wasm", PackPayload::WasmCall { function: function.clone(), params: Carried::Value(V::Tuple(vec![])) }),
        ("wasm", PackPayload::WasmError { function, message }),
    ];
    pack_common::write_pack_chain(&chain, Layout::PrettyArray, events.map(|(t, p)| (t.to_string(), p)));
    let spinner = root().join("fixtures/pack/wat/spinner.wat");
    let (code, report) = verify_json(&spinner, &chain, &["--timeout", "0.2"]);
    assert_eq!(code, 1, "{report}");
    let d = &report["divergence"];
    assert_eq!(d["kind"], "limit_exceeded", "{report}");
    let detail = d["detail"].as_str().unwrap();
    assert!(detail.contains("--timeout") && detail.contains("epoch deadline"), "{detail}");
}

/// A release given that cannot have written the chain, or is no release at all, is one
/// clear line, never a replay under the wrong conventions.
#[test]
fn a_theater_release_that_does_not_fit_is_refused_clearly() {
    let chain = chains_dir().join("state-actor.json");
    let (code, report) = verify_json(&actor("state-actor"), &chain, &["--theater", "0.3.8"]);
    assert_eq!(code, 2, "{report}");
    let message = report["message"].as_str().unwrap();
    assert!(message.contains("--theater 0.3.8") && message.contains("this chain holds Values"), "{message}");
    let out = cli().arg("verify").arg(actor("state-actor")).arg(&chain).args(["--theater", "0.3.15"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("never published") && stderr.lines().count() <= 3, "{stderr}");
}
