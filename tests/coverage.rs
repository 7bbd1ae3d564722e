//! `verify --coverage`: the actor's exports and imports, from its types, with the recorded
//! calls of the chains that exercised each, naming those no chain calls; one chain or a
//! `--chains` corpus, human and JSON, in a stable order.

mod pack_common;

use pack_common::root;
use serde_json::Value;

fn cli() -> assert_cmd::Command {
    let mut cmd = pack_common::cli("coverage-cache");
    cmd.current_dir(root());
    cmd
}

/// `verify --coverage --format json ARGS`: the exit code and the coverage document (the last).
fn coverage_json(args: &[&str]) -> (i32, Value) {
    let out = cli().args(["verify", "--coverage", "--format", "json"]).args(args).output().unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let last = stdout.lines().last().unwrap_or_else(|| panic!("no output: {}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code().unwrap(), serde_json::from_str(last).unwrap())
}

fn calls(coverage: &Value, side: &str) -> Vec<(String, u64)> {
    coverage["coverage"][side]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["name"].as_str().unwrap().to_string(), c["calls"].as_u64().unwrap()))
        .collect()
}

fn names(value: &Value) -> Vec<&str> {
    value.as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect()
}

/// theater 0.3.29's chains of the edge actor: each exercises part of what its
/// `__pack_types` declares, and the coverage says which exports each leaves uncalled; the
/// four together call every one.
#[test]
fn a_pack_actors_exports_never_called_are_named_from_its_pack_types() {
    let actor = "fixtures/pack-0.11/edge-actor.wasm";
    let chains = "fixtures/theater-0.3.29/chains";
    let (code, coverage) = coverage_json(&[actor, &format!("{chains}/edge-fail.json")]);
    assert_eq!(code, 0, "{coverage}");
    assert_eq!(coverage["coverage"]["types_from"], "pack_types");
    assert_eq!(coverage["coverage"]["chains"], 1);
    assert_eq!(
        calls(&coverage, "exports"),
        [
            ("theater:simple/actor.init", 1),
            ("theater:test/edge-actor.bad-return", 0),
            ("theater:test/edge-actor.fail", 1),
            ("theater:test/edge-actor.ping", 1),
            ("theater:test/edge-actor.trap", 0),
            ("theater:test/edge-actor.wrong-state", 0),
        ]
        .map(|(n, c)| (n.to_string(), c))
    );
    assert_eq!(
        names(&coverage["coverage"]["never_called"]["exports"]),
        ["theater:test/edge-actor.bad-return", "theater:test/edge-actor.trap", "theater:test/edge-actor.wrong-state"]
    );
    assert_eq!(calls(&coverage, "imports"), [("theater:simple/runtime/log".to_string(), 3)]);

    // The four chains together: every export called, the counts added up.
    let all: Vec<String> =
        ["edge-bad-return", "edge-fail", "edge-trap", "edge-wrong-state"].iter().map(|c| format!("{chains}/{c}.json")).collect();
    let mut args = vec![actor];
    args.extend(all.iter().map(String::as_str));
    let (code, coverage) = coverage_json(&args);
    assert_eq!(code, 0, "{coverage}");
    assert_eq!(coverage["coverage"]["chains"], 4);
    assert_eq!(coverage["coverage"]["never_called"], serde_json::json!({"exports": [], "imports": []}));
    let init = &calls(&coverage, "exports")[0];
    assert_eq!(init, &("theater:simple/actor.init".to_string(), 4));

    // For people: the table, and the ones never called named.
    let out = cli().args(["verify", "--coverage", actor, &format!("{chains}/edge-fail.json")]).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("coverage: 3 of 6 exports and 1 of 1 imports called by the 1 chain replayed (types from the actor's __pack_types)"),
        "{text}"
    );
    assert!(text.contains("    theater:test/edge-actor.trap               0  never called\n"), "{text}");
    assert!(
        text.contains("your golden chains never call the exports `theater:test/edge-actor.bad-return`, `theater:test/edge-actor.trap`, `theater:test/edge-actor.wrong-state`\n"),
        "{text}"
    );
}

/// The Rust agent's golden chain (fixtures/chains) never makes ten of the WASI calls its WIT
/// imports: the coverage names them, from the component's types.
#[test]
fn a_components_imports_never_called_are_named_from_its_wit() {
    let (code, coverage) =
        coverage_json(&["fixtures/components/rust/agent-wasip2.wasm", "fixtures/chains/agent-rust-wasip2.json"]);
    assert_eq!(code, 0, "{coverage}");
    assert_eq!(coverage["coverage"]["types_from"], "wit");
    assert_eq!(calls(&coverage, "exports"), [("run".to_string(), 3)]);
    let never = names(&coverage["coverage"]["never_called"]["imports"]);
    assert_eq!(never.len(), 10, "{never:?}");
    assert!(never.contains(&"wasi:cli/exit@0.2.12#exit"), "{never:?}");
    assert!(never.contains(&"wasi:filesystem/types@0.2.12#[method]descriptor.stat"), "{never:?}");
    let imports = calls(&coverage, "imports");
    assert!(imports.contains(&("demo:agent/host@0.1.0#next-token".to_string(), 3)), "{imports:?}");
    assert!(imports.windows(2).all(|w| w[0].0 < w[1].0), "sorted by name: {imports:?}");
}

/// theater's component-era chains under `--chains`: the coverage document comes after the
/// summary, counts every chain of the corpus, and is the same bytes whatever `-j`.
#[test]
fn a_corpus_is_counted_once_in_a_stable_order() {
    let args = ["fixtures/theater-components/clocks-test.wat", "--chains", "fixtures/theater-chains"];
    let run = |jobs: &str| {
        let out =
            cli().args(["verify", "--coverage", "--format", "json", "-j", jobs]).args(args).output().unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    let one = run("1");
    assert_eq!(run("2"), one, "byte-identical whatever the jobs");
    let lines: Vec<Value> = one.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let (summary, coverage) = (&lines[lines.len() - 2], &lines[lines.len() - 1]);
    assert_eq!(summary["summary"]["chains"], 6);
    assert_eq!(coverage["coverage"]["chains"], 6);
    // Each of the six chains starts with init; clocks-test's imports are called by its chain only.
    assert_eq!(calls(coverage, "exports"), [("theater:simple/actor#init".to_string(), 6)]);
    let imports = calls(coverage, "imports");
    assert!(imports.contains(&("wasi:io/poll@0.2.3#poll".to_string(), 2)), "{imports:?}");
    assert!(imports.contains(&("wasi:clocks/monotonic-clock@0.2.3#subscribe-duration".to_string(), 3)), "{imports:?}");
}
