//! `verify --keep-going`: past a divergence, every recorded export call of a theater Pack
//! or component-era chain is replayed from the state the recording gives it, so every call that changed is
//! reported, each at its own event, with a table per export; memory and output stay
//! bounded however many calls diverge.

mod pack_common;

use assert_cmd::Command;
use pack_common::root;
use serde_json::Value;
use std::path::{Path, PathBuf};
use theater_replay::chain::{ChainReader, ChainWriter, Event, HashAlg, Layout};
use theater_replay::dialect::pack::{Carried, PackPayload, encode_value};

fn cli() -> Command {
    pack_common::cli("keep-going-cache")
}

fn verify_json(actor: &Path, chain: &Path, extra: &[&str]) -> (i32, Value) {
    pack_common::verify_json_with(cli(), actor, chain, extra)
}

/// (export, calls, matched, diverged) per export, as the report lists them.
fn tallies(report: &Value) -> Vec<(String, u64, u64, u64)> {
    report["exports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            let n = |k: &str| t[k].as_u64().unwrap();
            (t["export"].as_str().unwrap().to_string(), n("calls"), n("matched"), n("diverged"))
        })
        .collect()
}

/// The state actor's v3 changes two exports independently (increment's log, add's result):
/// on theater 0.3.8's chain and on theater 0.3.29's, both changes are reported, each at its
/// own event, and init's call still verifies.
#[test]
fn two_independent_changes_are_both_reported_on_theaters_chains() {
    let cases = [
        ("fixtures/pack/state-actor-v3.wasm", "fixtures/theater-0.3.8/chains/state-actor.json", vec![]),
        (
            "fixtures/pack-0.11/state-actor-v3.wasm",
            "fixtures/theater-0.3.29/chains/state-actor.json",
            vec!["--manifest", "fixtures/theater-0.3.29/scenarios/state-actor/manifest.toml"],
        ),
    ];
    for (actor, chain, extra) in cases {
        let (actor, chain) = (root().join(actor), root().join(chain));
        // Without the flag: the first divergence only, as always.
        let (code, report) = verify_json(&actor, &chain, &extra);
        assert_eq!(code, 1);
        assert_eq!(report["divergences"], serde_json::json!([]), "{report}");
        let first = report["divergence"]["index"].as_u64().unwrap();

        let mut flags = extra.clone();
        flags.push("--keep-going");
        let (code, report) = verify_json(&actor, &chain, &flags);
        assert_eq!(code, 1, "{report}");
        assert_eq!(report["status"], "diverged");
        let listed: Vec<(u64, &str)> = report["divergences"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| (d["index"].as_u64().unwrap(), d["kind"].as_str().unwrap()))
            .collect();
        // increment (its log), add (its result), increment again: each call on its own.
        assert_eq!(listed.len(), 3, "{report}");
        assert_eq!(listed[0], (first, "different_arguments"));
        assert_eq!(listed[1].1, "different_result");
        assert_eq!(listed[2].1, "different_arguments");
        assert!(listed.windows(2).all(|w| w[0].0 < w[1].0), "{listed:?}");
        assert_eq!(report["divergence"], report["divergences"][0], "the first stays `divergence`");
        // Each later call started from the recorded state: add sees count 1 + 5 = 6.
        let add = &report["divergences"][1];
        assert_eq!(add["diff"][0]["expected"], "6", "{add}");
        assert_eq!(add["diff"][0]["actual"], "5", "{add}");
        let third = &report["divergences"][2]["expected"]["summary"];
        assert!(third.as_str().unwrap().contains("count incremented to 7"), "{third}");
        assert_eq!(
            tallies(&report),
            vec![
                ("theater:simple/actor.init".to_string(), 1, 1, 0),
                ("theater:simple/state-actor.add".to_string(), 1, 0, 1),
                ("theater:simple/state-actor.increment".to_string(), 2, 0, 2),
            ]
        );
        assert_eq!(report["exports"][1]["kinds"], serde_json::json!({"different_result": 1}));

        // The human report lists them all and the table.
        let out = cli().arg("verify").arg(&actor).arg(&chain).args(&flags).output().unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.contains("--keep-going: 2 more calls diverged:"), "{text}");
        assert!(text.contains("theater:simple/state-actor.increment        2        0         2  different_arguments 2"), "{text}");
    }
}

#[test]
fn a_chain_that_verifies_verifies_with_keep_going_too() {
    let actor = root().join("fixtures/pack/state-actor.wasm");
    let chain = root().join("fixtures/theater-0.3.8/chains/state-actor.chain");
    let (code, report) = verify_json(&actor, &chain, &["--keep-going"]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["divergences"], serde_json::json!([]));
    assert!(tallies(&report).iter().all(|(_, calls, matched, diverged)| calls == matched && *diverged == 0));
}

/// theater-replay's own component recordings keep the state in the instance, which no
/// event records: the report itself (human and JSON) says that the replay cannot go on,
/// and the verdict is the first divergence's, as without the flag.
#[test]
fn our_component_recordings_say_in_the_report_that_they_cannot_go_on() {
    let dir = tempfile::tempdir().unwrap();
    let chain = dir.path().join("counter.json");
    let components = root().join("fixtures/components");
    cli()
        .arg("record")
        .arg(components.join("counter.wat"))
        .arg("--answers")
        .arg(components.join("counter.answers.json"))
        .args(["--invoke", "add(1)", "--invoke", "add(2)", "-o"])
        .arg(&chain)
        .assert()
        .success();
    let v2 = components.join("counter-v2.wat");
    let (code, report) = verify_json(&v2, &chain, &["--keep-going"]);
    assert_eq!(code, 1, "{report}");
    assert_eq!(report["keep_going_stopped"]["reason"], "state_in_instance", "{report}");
    assert!(report["keep_going_stopped"]["message"].as_str().unwrap().contains("cannot go on past its first divergence"));
    // One divergence, the first, whatever the chain holds after it; nothing tallied.
    assert_eq!(report["divergence"]["index"], 3);
    assert_eq!(report["divergences"], serde_json::json!([]));
    let (_, plain) = verify_json(&v2, &chain, &[]);
    assert_eq!(plain["keep_going_stopped"], Value::Null, "only said when --keep-going was asked for");
    let out = cli().arg("verify").arg(&v2).arg(&chain).arg("--keep-going").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("\n  --keep-going: the replay cannot go on past its first divergence: this component keeps its state inside its instance"), "{text}");
}

/// A chain of the events of `source` in `parts` (ranges of its events, one after the other,
/// relinked into one chain), written as `name` under `dir`.
fn theater_chain_repeated(dir: &Path, source: &str, name: &str, parts: &[std::ops::Range<usize>]) -> PathBuf {
    let events: Vec<Event> =
        ChainReader::open(&root().join(source)).unwrap().collect::<Result<_, _>>().unwrap();
    let path = dir.join(name);
    let file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    let mut writer = ChainWriter::with_layout(file, Layout::CompactArray);
    let mut head: Option<Vec<u8>> = None;
    for range in parts {
        for e in &events[range.clone()] {
            let event = Event::new_linked(HashAlg::Sha1, head.as_deref(), e.event_type.clone(), e.data.clone());
            writer.write(&event).unwrap();
            head = Some(event.hash);
        }
    }
    writer.finish().unwrap();
    path
}

/// theater's component-era actors get their state passed in (`[S, R]`): past a divergence
/// the next recorded call starts on a fresh instance from the recorded state. http-test's
/// init changed its state; its `handle` call after it still verifies.
#[test]
fn theaters_component_chains_go_on_from_the_recorded_state() {
    let actor = root().join("fixtures/theater-components/http-test-v2-init.wat");
    let chain = root().join("fixtures/theater-chains/http-wasi-http-test-two.json");
    let (code, report) = verify_json(&actor, &chain, &["--keep-going"]);
    assert_eq!(code, 1, "{report}");
    let listed: Vec<(u64, &str)> = report["divergences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["index"].as_u64().unwrap(), d["kind"].as_str().unwrap()))
        .collect();
    assert_eq!(listed, vec![(1, "different_result")], "{report}");
    assert_eq!(
        tallies(&report),
        vec![
            ("theater:simple/actor.init".to_string(), 1, 0, 1),
            ("wasi:http/incoming-handler@0.2.0/handle".to_string(), 1, 1, 0),
        ]
    );
    assert_eq!(report["keep_going_stopped"], Value::Null);
    // Every event of the call that matched was checked: 20 of handle's, and init's call.
    assert_eq!(report["events_verified"], 21);

    // clocks-test-v2 ends init with another state; the runtime's shutdown after it matches.
    let actor = root().join("fixtures/theater-components/clocks-test-v2.wat");
    let chain = root().join("fixtures/theater-chains/timing-wasi-clocks-test.json");
    let (code, report) = verify_json(&actor, &chain, &["--keep-going"]);
    assert_eq!(code, 1, "{report}");
    assert_eq!(report["divergences"].as_array().unwrap().len(), 1);
    assert_eq!(report["divergence"]["index"], 14);
    assert_eq!(tallies(&report), vec![("theater:simple/actor.init".to_string(), 1, 0, 1)]);
    assert_eq!(report["events_verified"], 15, "init's call and host calls, and the shutdown");
}

/// Each call of a component-era chain is its own check: runtime-test-v2 changes one log
/// line, and a chain of three init calls reports it three times, each at its own event.
#[test]
fn every_diverging_call_of_a_component_era_chain_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let source = "fixtures/theater-chains/runtime-runtime-test.json";
    let chain = theater_chain_repeated(dir.path(), source, "three.json", &[0..6, 0..6, 0..6]);
    let components = root().join("fixtures/theater-components");
    let (code, report) = verify_json(&components.join("runtime-test.wat"), &chain, &["--keep-going"]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(tallies(&report), vec![("theater:simple/actor.init".to_string(), 3, 3, 0)]);

    let (code, report) = verify_json(&components.join("runtime-test-v2.wat"), &chain, &["--keep-going"]);
    assert_eq!(code, 1, "{report}");
    let listed: Vec<(u64, &str)> = report["divergences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["index"].as_u64().unwrap(), d["kind"].as_str().unwrap()))
        .collect();
    assert_eq!(listed, vec![(3, "different_arguments"), (9, "different_arguments"), (15, "different_arguments")]);
    assert_eq!(report["divergences"][1]["diff"][0]["actual"], "\"Test message X\"", "{report}");
    assert_eq!(tallies(&report), vec![("theater:simple/actor.init".to_string(), 3, 0, 3)]);
}

/// A call that used theater's wasi:http host diverged and calls follow: the resource table
/// they depend on is not recorded, so the report says the replay stopped there.
#[test]
fn a_diverging_http_call_stops_the_replay_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let source = "fixtures/theater-chains/http-wasi-http-test-two.json";
    let chain = theater_chain_repeated(dir.path(), source, "two-handles.json", &[0..22, 2..22]);
    let actor = root().join("fixtures/theater-components/http-test-v2.wat");
    let (code, report) = verify_json(&actor, &chain, &["--keep-going"]);
    assert_eq!(code, 1, "{report}");
    assert_eq!(report["divergence"]["index"], 13);
    assert_eq!(report["keep_going_stopped"]["reason"], "host_resource_table", "{report}");
    assert_eq!(report["divergences"].as_array().unwrap().len(), 1);
    // The same change with no call after it: nothing went unchecked, nothing to say.
    let (_, alone) = verify_json(&actor, &root().join(source), &["--keep-going"]);
    assert_eq!(alone["divergence"]["index"], 13);
    assert_eq!(alone["keep_going_stopped"], Value::Null, "{alone}");
}

/// An actor whose one export answers the constant 7 (its whole output, so theater takes it
/// as the new state), whatever state it is given.
fn constant_actor(dir: &Path) -> PathBuf {
    let seven = encode_value(&packr_abi::Value::S32(7));
    let bytes: String = seven.iter().map(|b| format!("\\{b:02x}")).collect();
    let wat = format!(
        r#"(module
  (memory (export "memory") 2)
  (global $bump (mut i32) (i32.const 4096))
  (data (i32.const 1024) "{bytes}")
  (func (export "__pack_alloc") (param $n i32) (result i32)
    (global.get $bump)
    (global.set $bump (i32.add (global.get $bump) (local.get $n))))
  (func (export "__pack_free") (param i32 i32))
  (func (export "test:kg/api.tick") (param i32 i32) (param $rp i32) (param $rl i32) (result i32)
    ;; memory grows only by what the inputs take: the bump pointer starts over each call
    (global.set $bump (i32.const 4096))
    (i32.store (local.get $rp) (i32.const 1024))
    (i32.store (local.get $rl) (i32.const {len}))
    (i32.const 0)))"#,
        len = seven.len()
    );
    let path = dir.join("constant.wat");
    std::fs::write(&path, wat).unwrap();
    path
}

/// 200,000 recorded calls, every tenth of which recorded state 8 where the actor answers 7:
/// 20,000 divergences, each on a fresh instance, reported in bounded output (the first 20
/// in full, the rest counted) and in bounded memory.
#[test]
fn many_diverging_calls_stay_in_bounded_memory_and_output() {
    let dir = tempfile::tempdir().unwrap();
    let actor = constant_actor(dir.path());
    let chain = dir.path().join("ticks.json");
    let calls = 200_000u64;
    let function = "test:kg/api.tick".to_string();
    let unit = || Carried::Value(packr_abi::Value::Tuple(vec![]));
    let events = (0..calls).flat_map(|i| {
        let state = packr_abi::Value::S32(if i % 10 == 9 { 8 } else { 7 });
        [
            ("wasm".to_string(), PackPayload::WasmCall { function: function.clone(), params: unit() }),
            ("wasm".to_string(), PackPayload::WasmResult { function: function.clone(), state, result: unit() }),
        ]
    });
    pack_common::write_pack_chain(&chain, Layout::CompactArray, events);

    let before = peak_rss_of_children_kib();
    let out = cli().arg("verify").arg(&actor).arg(&chain).args(["--keep-going", "--format", "json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["divergences"].as_array().unwrap().len(), 20);
    assert_eq!(report["divergences_omitted"], calls / 10 - 20);
    assert_eq!(report["divergences"][0]["index"], 19, "the tenth call's result is event 19");
    assert_eq!(tallies(&report), vec![(function.clone(), calls, calls - calls / 10, calls / 10)]);
    assert!(out.stdout.len() < 64 * 1024, "{} bytes of JSON", out.stdout.len());
    // The human report too: the first twenty, then a count; and the Markdown summary, the
    // first thirty calls of the run, then a count.
    let summary = dir.path().join("summary.md");
    let human =
        cli().arg("verify").arg(&actor).arg(&chain).arg("--keep-going").arg("--summary").arg(&summary).output().unwrap();
    assert_eq!(human.status.code(), Some(1), "{}", String::from_utf8_lossy(&human.stderr));
    let text = String::from_utf8(human.stdout).unwrap();
    assert!(text.contains("... and 19980 more"), "{text}");
    assert!(text.lines().count() < 200, "{} lines", text.lines().count());
    let markdown = std::fs::read_to_string(&summary).unwrap();
    // The twenty listed in full are the report's; the rest of the 20,000 are counted.
    assert!(markdown.contains("\n… and 19980 more diverging calls"), "{markdown}");
    assert!(markdown.len() < 16 * 1024, "{} bytes of Markdown", markdown.len());
    // A 20 MB chain and 20,000 fresh instances: memory does not grow with either. (The
    // peak covers this test's child processes; each replay reads the chain streaming.)
    let peak = peak_rss_of_children_kib();
    eprintln!("peak RSS of the replays of {calls} calls: {peak} KiB");
    if peak > before {
        assert!(peak < 256 * 1024, "peak RSS {peak} KiB");
    }
}

fn peak_rss_of_children_kib() -> i64 {
    // SAFETY: getrusage writes the struct it is given and nothing else.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) };
    usage.ru_maxrss
}

/// An actor whose start function calls the host: every instance `--keep-going` makes calls
/// the host while it is being instantiated, before any export. The first instance's call
/// is the recording's first event; the second one's comes where the recording has the
/// second tick, and is reported as an extra host call, not a crash of the host (which would
/// use the first instance's memory for it if the replay kept that across instances).
#[test]
fn a_start_function_host_call_in_a_later_instance_is_a_divergence_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let ping = encode_value(&packr_abi::Value::Tuple(vec![]));
    let ping_bytes: String = ping.iter().map(|b| format!("\\{b:02x}")).collect();
    let seven = encode_value(&packr_abi::Value::S32(7));
    let seven_bytes: String = seven.iter().map(|b| format!("\\{b:02x}")).collect();
    let wat = format!(
        r#"(module
  (import "test:kg/host" "ping" (func $ping (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 2)
  (global $bump (mut i32) (i32.const 4096))
  (data (i32.const 1024) "{seven_bytes}")
  (data (i32.const 2048) "{ping_bytes}")
  (func $start
    (drop (call $ping (i32.const 2048) (i32.const {ping_len}) (i32.const 3000) (i32.const 3004))))
  (start $start)
  (func (export "__pack_alloc") (param $n i32) (result i32)
    (global.get $bump)
    (global.set $bump (i32.add (global.get $bump) (local.get $n))))
  (func (export "__pack_free") (param i32 i32))
  (func (export "test:kg/api.tick") (param i32 i32) (param $rp i32) (param $rl i32) (result i32)
    (i32.store (local.get $rp) (i32.const 1024))
    (i32.store (local.get $rl) (i32.const {seven_len}))
    (i32.const 0)))"#,
        ping_len = ping.len(),
        seven_len = seven.len()
    );
    let actor = dir.path().join("start-ping.wat");
    std::fs::write(&actor, wat).unwrap();
    let chain = dir.path().join("ticks.json");
    let function = "test:kg/api.tick".to_string();
    let unit = || Carried::Value(packr_abi::Value::Tuple(vec![]));
    let tick = |state: i32| {
        [
            ("wasm".to_string(), PackPayload::WasmCall { function: function.clone(), params: unit() }),
            (
                "wasm".to_string(),
                PackPayload::WasmResult { function: function.clone(), state: packr_abi::Value::S32(state), result: unit() },
            ),
        ]
    };
    let host_call = PackPayload::HostFunction {
        interface: "test:kg/host".into(),
        function: "ping".into(),
        input: packr_abi::Value::Tuple(vec![]),
        output: packr_abi::Value::Tuple(vec![]),
    };
    // The first tick recorded state 8 where the actor answers 7: a divergence, and the
    // next call gets an instance of its own.
    let events = std::iter::once(("test:kg/host/ping".to_string(), host_call)).chain(tick(8)).chain(tick(7));
    pack_common::write_pack_chain(&chain, Layout::CompactArray, events);

    // A host call first tells no release apart: the Value payloads after it are 0.3.29's.
    let (code, report) = verify_json(&actor, &chain, &["--keep-going", "--theater", "0.3.29"]);
    assert_eq!(code, 1, "{report}");
    let divergences = report["divergences"].as_array().unwrap();
    assert_eq!(divergences.len(), 2, "{report}");
    assert_eq!(divergences[0]["index"], 2, "the first tick's result: {report}");
    assert_eq!(divergences[1]["index"], 3, "the second instance's start, at the second tick: {report}");
    assert_eq!(divergences[1]["kind"], "extra_host_call", "{report}");
    assert_eq!(divergences[1]["actual"]["summary"], "test:kg/host/ping(()) -> ()", "{report}");
}
