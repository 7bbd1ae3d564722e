//! theater's own component-era chains (`fixtures/theater-chains/`) replayed against our
//! components that do what theater's test actors did (`fixtures/theater-components/`):
//! every event re-encoded byte for byte (same SHA-1s), the dialect detected and reported,
//! and a one-edit variant of each component diverging at the right event with the right
//! kind. The chains are read, never written.

use assert_cmd::Command;
use std::path::PathBuf;
use theater_replay::chain::ChainReader;
use theater_replay::dialect::Dialect;
use theater_replay::replay::{DivergenceKind, Status, VerifyOptions, VerifyReport, verify};
use theater_replay::runtime::Runtime;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// (component, chain, events, dialect, its one-edit variant, the variant's divergence index and kind)
const CASES: &[(&str, &str, u64, Dialect, &str, u64, DivergenceKind)] = &[
    (
        "runtime-test",
        "runtime-runtime-test",
        6,
        Dialect::TheaterComponentJson,
        "runtime-test-v2",
        3,
        DivergenceKind::DifferentArguments,
    ),
    (
        "environment-test",
        "environment-environment-test",
        8,
        Dialect::TheaterComponentJson,
        "environment-test-v2",
        6,
        DivergenceKind::DifferentImport,
    ),
    (
        "random-test",
        "random-wasi-random-test",
        7,
        Dialect::TheaterComponentJson,
        "random-test-v2",
        2,
        DivergenceKind::DifferentArguments,
    ),
    (
        "clocks-test",
        "timing-wasi-clocks-test",
        16,
        Dialect::TheaterComponentTyped,
        "clocks-test-v2",
        14,
        DivergenceKind::DifferentResult,
    ),
    (
        "http-test",
        "http-wasi-http-test-first",
        2,
        Dialect::TheaterComponentJson,
        "http-test-v2-init",
        1,
        DivergenceKind::DifferentResult,
    ),
    (
        "http-test",
        "http-wasi-http-test-two",
        22,
        Dialect::TheaterComponentJson,
        "http-test-v2",
        13,
        DivergenceKind::DifferentArguments,
    ),
];

fn replay(component: &str, chain: &str, dialect: Option<Dialect>) -> VerifyReport {
    let runtime = Runtime::new().unwrap();
    let loaded = runtime.load(&root().join("fixtures/theater-components").join(format!("{component}.wat"))).unwrap();
    let reader = ChainReader::open(&root().join("fixtures/theater-chains").join(format!("{chain}.json"))).unwrap();
    verify(&runtime, &loaded, reader, &VerifyOptions { dialect, ..VerifyOptions::default() })
}

#[test]
fn theater_chains_verify_byte_for_byte() {
    for &(component, chain, events, dialect, _, _, _) in CASES {
        let report = replay(component, chain, None);
        assert_eq!(report.status, Status::Verified, "{chain}: {report:#?}");
        assert_eq!(report.events_verified, events, "{chain}");
        assert_eq!(report.hash, Some("sha1"), "{chain}");
        assert_eq!(report.dialect, Some(dialect), "{chain}");
    }
}

#[test]
fn theater_chains_verify_with_the_dialect_forced() {
    for &(component, chain, events, dialect, _, _, _) in CASES {
        let report = replay(component, chain, Some(dialect));
        assert_eq!((report.status, report.events_verified), (Status::Verified, events), "{chain}: {report:#?}");
        assert_eq!(report.dialect, Some(dialect));
    }
    // The wrong style forced: the guest's real arguments no longer encode to the recorded input.
    let report = replay("runtime-test", "runtime-runtime-test", Some(Dialect::TheaterComponentTyped));
    let divergence = report.divergence.expect("diverges");
    assert_eq!((divergence.index, divergence.kind), (1, DivergenceKind::DifferentArguments));
}

#[test]
fn theater_one_edit_variants_diverge_at_the_right_event() {
    for &(_, chain, _, dialect, variant, index, kind) in CASES {
        let report = replay(variant, chain, None);
        assert_eq!(report.status, Status::Diverged, "{chain}: {report:#?}");
        let divergence = report.divergence.as_ref().unwrap();
        assert_eq!((divergence.index, divergence.kind), (index, kind), "{chain}: {divergence:#?}");
        assert_eq!(report.events_verified, index, "{chain}");
        assert_eq!(report.dialect, Some(dialect));
        let expected = divergence.expected.as_ref().unwrap();
        let actual = divergence.actual.as_ref().unwrap();
        assert_ne!(expected.hash, actual.hash);
        if kind != DivergenceKind::DifferentImport {
            assert_eq!(expected.event_type, actual.event_type);
        }
    }
}

#[test]
fn theater_divergence_shows_the_guests_real_arguments() {
    let report = replay("runtime-test-v2", "runtime-runtime-test", None);
    let divergence = report.divergence.unwrap();
    assert!(divergence.actual.unwrap().summary.contains("\"Test message X\""));
    assert!(divergence.expected.unwrap().summary.contains("\"Test message 2\""));
    assert!(!divergence.guest_stack.is_empty());
    let report = replay("environment-test-v2", "environment-environment-test", None);
    let actual = report.divergence.unwrap().actual.unwrap();
    assert!(actual.summary.starts_with("theater:simple/environment/exists(\"HOME\")"), "{}", actual.summary);
    assert!(!actual.summary.contains("colinrozzi"), "a different import is not shown with the recorded answer");
}

#[test]
fn theater_verify_cli_reports_the_dialect() {
    let dir = root();
    for &(component, chain, events, dialect, _, _, _) in CASES {
        let out = Command::cargo_bin("theater-replay")
            .unwrap()
            .current_dir(&dir)
            .args(["verify", "--format", "json"])
            .arg(format!("fixtures/theater-components/{component}.wat"))
            .arg(format!("fixtures/theater-chains/{chain}.json"))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(report["status"], "verified");
        assert_eq!(report["events_verified"], events);
        assert_eq!(report["dialect"], dialect.name());
    }
}

#[test]
fn theater_chain_against_a_component_that_is_no_theater_actor_is_an_error() {
    let runtime = Runtime::new().unwrap();
    let loaded = runtime.load(&root().join("fixtures/components/counter.wat")).unwrap();
    let reader = ChainReader::open(&root().join("fixtures/theater-chains/runtime-runtime-test.json")).unwrap();
    let report = verify(&runtime, &loaded, reader, &VerifyOptions::default());
    assert_eq!(report.status, Status::Error);
    assert!(report.error.unwrap().contains("theater:simple/actor"));
}

#[test]
fn theater_http_request_is_replayed_as_theaters_server_made_it() {
    // Every event of the wasi:http chain reproduced: the request the guest reads was built
    // from the `handle` params, its resources numbered by theater's table (0 request,
    // 1 outparam, 2.. the guest's), and the response rebuilt into the final result.
    let report = replay("http-test", "http-wasi-http-test-two", None);
    assert_eq!((report.status, report.events_verified), (Status::Verified, 22), "{report:#?}");
    // The status changed: the recorded set-status-code call shows the guest's 201.
    let report = replay("http-test-v2", "http-wasi-http-test-two", None);
    // Both sides decoded with the component's types, in WAVE.
    let divergence = report.divergence.unwrap();
    let (expected, actual) = (divergence.expected.unwrap(), divergence.actual.unwrap());
    assert!(
        expected.summary.ends_with("[method]outgoing-response.set-status-code(4, 200) -> true"),
        "{}",
        expected.summary
    );
    assert!(
        actual.summary.ends_with("[method]outgoing-response.set-status-code(4, 201) -> true"),
        "{}",
        actual.summary
    );
    assert!(divergence.last_matched.last().unwrap().summary.ends_with("[constructor]outgoing-response(3) -> 4"));
    // The diff names the one argument that changed.
    let diff: Vec<_> =
        divergence.diff.iter().map(|d| (d.path.as_str(), d.expected.as_deref(), d.actual.as_deref())).collect();
    assert_eq!(diff, [(".1", Some("200"), Some("201"))]);
}

#[test]
fn theater_http_unrecorded_resource_change_diverges_where_the_table_differs() {
    // Dropping the request's headers early is not recorded by theater, but it frees slot 2,
    // so the next fields would be 2 where the recording has 3: the divergence is there, at
    // event 9, not at some later event.
    let report = replay("http-test-early-drop", "http-wasi-http-test-two", None);
    assert_eq!(report.status, Status::Diverged, "{report:#?}");
    let divergence = report.divergence.unwrap();
    assert_eq!((divergence.index, divergence.kind), (9, DivergenceKind::DifferentHostState));
    assert_eq!(report.events_verified, 9);
    let detail = divergence.detail.unwrap();
    assert!(detail.contains("at 2, the recording has 3"), "{detail}");
    assert!(!divergence.guest_stack.is_empty());
}

#[test]
fn theater_state_is_decoded_and_diffed_like_every_other_value() {
    // clocks-test-v2 only ends init with another state: the report must say where the two
    // states differ, not show two identical summaries.
    let report = replay("clocks-test-v2", "timing-wasi-clocks-test", None);
    let divergence = report.divergence.unwrap();
    assert_eq!((divergence.index, divergence.kind), (14, DivergenceKind::DifferentResult));
    let (expected, actual) = (divergence.expected.unwrap(), divergence.actual.unwrap());
    assert_eq!(
        expected.summary,
        r#"result theater:simple/actor.init -> null (state: "WASI clocks + poll tests passed!")"#
    );
    assert_eq!(
        actual.summary,
        r#"result theater:simple/actor.init -> null (state: "WASI clocks + poll tests failed!")"#
    );
    let diff: Vec<_> =
        divergence.diff.iter().map(|d| (d.path.as_str(), d.expected.as_deref(), d.actual.as_deref())).collect();
    assert_eq!(
        diff,
        [(".state", Some(r#""WASI clocks + poll tests passed!""#), Some(r#""WASI clocks + poll tests failed!""#))]
    );

    let out = Command::cargo_bin("theater-replay")
        .unwrap()
        .current_dir(root())
        .args(["verify", "-q", "fixtures/theater-components/clocks-test-v2.wat"])
        .arg("fixtures/theater-chains/timing-wasi-clocks-test.json")
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("  differs at:\n    .state: expected \"WASI clocks + poll tests passed!\", actual \"WASI clocks + poll tests failed!\"\n"),
        "{text}"
    );
}

#[test]
fn theater_divergence_advice_is_one_theater_chains_can_follow() {
    // `verify --accept` re-records theater-replay's own chains only: for theater's, the
    // report must not offer it.
    let out = Command::cargo_bin("theater-replay")
        .unwrap()
        .current_dir(root())
        .args(["verify", "-q", "fixtures/theater-components/runtime-test-v2.wat"])
        .arg("fixtures/theater-chains/runtime-runtime-test.json")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    let advice = text.lines().find_map(|l| l.strip_prefix("  what to do: ")).unwrap();
    assert!(!advice.contains("--accept"), "{text}");
    assert!(advice.contains("record a new golden chain by running the actor in theater"), "{text}");
}

#[test]
fn theater_chains_are_never_modified_by_a_replay() {
    let dir = root().join("fixtures/theater-chains");
    let before: Vec<Vec<u8>> =
        CASES.iter().map(|c| std::fs::read(dir.join(format!("{}.json", c.1))).unwrap()).collect();
    for &(component, chain, _, _, variant, _, _) in CASES {
        replay(component, chain, None);
        replay(variant, chain, None);
    }
    let after: Vec<Vec<u8>> = CASES.iter().map(|c| std::fs::read(dir.join(format!("{}.json", c.1))).unwrap()).collect();
    assert!(before == after);
}

fn inspect(args: &[&str]) -> (Option<i32>, String, String) {
    let out =
        Command::cargo_bin("theater-replay").unwrap().current_dir(root()).arg("inspect").args(args).output().unwrap();
    (out.status.code(), String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
}

#[test]
fn inspect_with_the_component_shows_theaters_untyped_payloads_as_typed_values() {
    let chain = "fixtures/theater-chains/http-wasi-http-test-two.json";
    let (code, typed, _) = inspect(&["--component", "fixtures/theater-components/http-test.wat", chain]);
    assert_eq!(code, Some(0));
    let lines: Vec<&str> = typed.lines().collect();
    assert_eq!(lines.len(), 22);
    // Arguments by the import's parameters, resources as theater's reps, options and results in WAVE.
    assert!(
        lines[7]
            .ends_with("[method]fields.get(2, \"host\") -> [[49, 50, 55, 46, 48, 46, 48, 46, 49, 58, 56, 48, 56, 48]]"),
        "{}",
        lines[7]
    );
    assert!(lines[4].ends_with("[method]incoming-request.path-with-query(0) -> some(\"/\")"), "{}", lines[4]);
    assert!(lines[19].ends_with("[static]response-outparam.set(1, ok(4)) -> ()"), "{}", lines[19]);
    // A value theater wrote in its own way (Debug text for a variant) shows as its JSON.
    assert!(lines[3].ends_with("[method]incoming-request.method(0) -> \"Method::Get\""), "{}", lines[3]);
    // Without the component: the JSON as before; the same events either way.
    let (_, plain, _) = inspect(&[chain]);
    assert!(
        plain
            .lines()
            .nth(7)
            .unwrap()
            .ends_with("[method]fields.get([2,\"host\"]) -> [[49,50,55,46,48,46,48,46,49,58,56,48,56,48]]")
    );
    assert_eq!(plain.lines().count(), 22);

    let (code, jsonl, _) = inspect(&[
        "--format",
        "jsonl",
        "--component",
        "fixtures/theater-components/random-test.wat",
        "fixtures/theater-chains/random-wasi-random-test.json",
    ]);
    assert_eq!(code, Some(0));
    let event: serde_json::Value = serde_json::from_str(jsonl.lines().nth(1).unwrap()).unwrap();
    assert_eq!(event["wave"]["input"], "10");
    assert_eq!(event["wave"]["output"], "[180, 65, 247, 84, 238, 210, 252, 243, 95, 44]");
    let (_, plain, _) = inspect(&["--format", "jsonl", "fixtures/theater-chains/random-wasi-random-test.json"]);
    assert!(!plain.contains("\"wave\""));
}

#[test]
fn inspect_with_a_pack_actor_or_a_missing_component_is_one_clear_error() {
    let chain = "fixtures/theater-chains/random-wasi-random-test.json";
    let (code, out, err) = inspect(&["--component", "fixtures/pack/state-actor.wasm", chain]);
    assert_eq!((code, out.as_str()), (Some(2), ""));
    assert!(err.contains("a Pack actor") && err.lines().count() == 1, "{err}");
    let (code, _, err) = inspect(&["--component", "fixtures/no-such.wat", chain]);
    assert_eq!(code, Some(2));
    assert!(err.contains("no-such.wat"), "{err}");
}
