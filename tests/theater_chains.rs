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

/// (component, chain, events, dialect, v2's divergence index and kind)
const CASES: &[(&str, &str, u64, Dialect, u64, DivergenceKind)] = &[
    ("runtime-test", "runtime-runtime-test", 6, Dialect::TheaterComponentJson, 3, DivergenceKind::DifferentArguments),
    ("environment-test", "environment-environment-test", 8, Dialect::TheaterComponentJson, 6, DivergenceKind::DifferentImport),
    ("random-test", "random-wasi-random-test", 7, Dialect::TheaterComponentJson, 2, DivergenceKind::DifferentArguments),
    ("clocks-test", "timing-wasi-clocks-test", 16, Dialect::TheaterComponentTyped, 14, DivergenceKind::DifferentResult),
];

fn replay(component: &str, chain: &str, dialect: Option<Dialect>) -> VerifyReport {
    let runtime = Runtime::new().unwrap();
    let loaded = runtime.load(&root().join("fixtures/theater-components").join(format!("{component}.wat"))).unwrap();
    let reader = ChainReader::open(&root().join("fixtures/theater-chains").join(format!("{chain}.json"))).unwrap();
    verify(&runtime, &loaded, reader, &VerifyOptions { dialect, ..VerifyOptions::default() })
}

#[test]
fn theater_chains_verify_byte_for_byte() {
    for &(component, chain, events, dialect, _, _) in CASES {
        let report = replay(component, chain, None);
        assert_eq!(report.status, Status::Verified, "{chain}: {report:#?}");
        assert_eq!(report.events_verified, events, "{chain}");
        assert_eq!(report.hash, Some("sha1"), "{chain}");
        assert_eq!(report.dialect, Some(dialect), "{chain}");
    }
}

#[test]
fn theater_chains_verify_with_the_dialect_forced() {
    for &(component, chain, events, dialect, _, _) in CASES {
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
    for &(component, chain, _, dialect, index, kind) in CASES {
        let report = replay(&format!("{component}-v2"), chain, None);
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
    for &(component, chain, events, dialect, _, _) in CASES {
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

