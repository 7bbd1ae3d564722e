//! `verify --summary FILE`: a short Markdown report of the run appended to FILE, as a CI
//! step appends to `$GITHUB_STEP_SUMMARY`; never written over an input or another output.

mod pack_common;

use pack_common::root;
use std::path::Path;

fn cli() -> assert_cmd::Command {
    let mut cmd = pack_common::cli("summary-cache");
    cmd.current_dir(root());
    cmd
}

const V3: &str = "fixtures/pack/state-actor-v3.wasm";
const STATE: &str = "fixtures/theater-0.3.8/chains/state-actor.json";
const TAMPERED: &str = "fixtures/chains/counter-tampered.json";

fn verify_with_summary(summary: &Path, args: &[&str]) -> i32 {
    let out = cli().arg("verify").args(args).arg("--summary").arg(summary).output().unwrap();
    out.status.code().unwrap()
}

/// The Markdown of a run with every section: the verdict counts, each diverging call of a
/// `--keep-going` chain with its first difference, a chain that could not be replayed, and
/// the coverage table.
#[test]
fn the_summary_names_every_diverging_call_and_the_coverage() {
    let dir = tempfile::tempdir().unwrap();
    let summary = dir.path().join("summary.md");
    let code = verify_with_summary(&summary, &[V3, STATE, TAMPERED, "--keep-going", "--coverage", "-j", "1"]);
    assert_eq!(code, 2, "the run's exit code, as without --summary");
    let markdown = std::fs::read_to_string(&summary).unwrap();
    insta::assert_snapshot!("summary_keep_going_coverage", markdown);

    // A chain that verifies but leaves exports uncalled: the coverage names them.
    let summary = dir.path().join("edge.md");
    let edge = ["fixtures/pack-0.11/edge-actor.wasm", "fixtures/theater-0.3.29/chains/edge-fail.json", "--coverage"];
    assert_eq!(verify_with_summary(&summary, &edge), 0);
    insta::assert_snapshot!("summary_never_called", std::fs::read_to_string(&summary).unwrap());
}

/// `$GITHUB_STEP_SUMMARY` is one file per step that the step appends to: what it holds
/// stays, and a second run adds a second report after the first.
#[test]
fn the_summary_is_appended_to_what_the_file_holds() {
    let dir = tempfile::tempdir().unwrap();
    let summary = dir.path().join("step_summary");
    std::fs::write(&summary, "## Build\n\nbuilt.\n").unwrap();
    assert_eq!(verify_with_summary(&summary, &["fixtures/pack/state-actor.wasm", STATE]), 0);
    let once = std::fs::read_to_string(&summary).unwrap();
    assert!(once.starts_with("## Build\n\nbuilt.\n### theater-replay verify `fixtures/pack/state-actor.wasm`\n"), "{once}");
    assert!(once.contains("**verified**: 1 chain: 1 verified, 0 diverged, 0 broken, 0 error\n"), "{once}");
    assert!(!once.contains("#### Diverging calls"), "nothing diverged: {once}");
    assert_eq!(verify_with_summary(&summary, &[V3, STATE]), 1);
    let twice = std::fs::read_to_string(&summary).unwrap();
    let (first, second) = twice.split_at(once.len());
    assert_eq!(first, once);
    assert!(second.starts_with("### theater-replay verify `fixtures/pack/state-actor-v3.wasm`\n"), "{second}");
    assert!(second.contains("| `fixtures/theater-0.3.8/chains/state-actor.json` | 4 | "), "{second}");
    // Created when missing.
    let fresh = dir.path().join("new.md");
    assert_eq!(verify_with_summary(&fresh, &["fixtures/pack/state-actor.wasm", STATE]), 0);
    assert!(std::fs::read_to_string(&fresh).unwrap().starts_with("### theater-replay verify"));
}

/// A summary path that is an input or another output of the run is refused before anything
/// runs: one line, exit 2, nothing written.
#[test]
fn the_summary_never_goes_over_an_input_or_another_output() {
    let dir = tempfile::tempdir().unwrap();
    let chain = dir.path().join("state-actor.json");
    std::fs::copy(root().join(STATE), &chain).unwrap();
    let before = std::fs::read(&chain).unwrap();
    let out = cli().args(["verify", V3]).arg(&chain).arg("--summary").arg(&chain).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("is a chain of this run; refusing to write over it"), "{stderr}");
    assert!(out.stdout.is_empty());
    assert_eq!(std::fs::read(&chain).unwrap(), before);

    let report = dir.path().join("report");
    let out = cli().args(["verify", V3, STATE, "--junit"]).arg(&report).arg("--summary").arg(&report).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("would be both the JUnit report and the Markdown summary"), "{stderr}");
    assert!(!report.exists());

    // A --chains directory's chains are inputs too.
    let corpus = dir.path().join("golden");
    std::fs::create_dir(&corpus).unwrap();
    std::fs::copy(root().join(STATE), corpus.join("a.json")).unwrap();
    let out = cli().args(["verify", V3, "--chains"]).arg(&corpus).arg("--summary").arg(corpus.join("a.json")).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(std::fs::read(corpus.join("a.json")).unwrap(), before);
}

/// A chain's text cannot turn into Markdown or HTML of its own in the summary.
#[test]
fn chain_paths_stay_literal_in_the_markdown() {
    let dir = tempfile::tempdir().unwrap();
    let odd = dir.path().join("a|b `<img src=x>`.json");
    std::fs::copy(root().join(STATE), &odd).unwrap();
    let summary = dir.path().join("summary.md");
    let out = cli().args(["verify", V3]).arg(&odd).arg("--summary").arg(&summary).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let markdown = std::fs::read_to_string(&summary).unwrap();
    let row = markdown.lines().find(|l| l.contains("img")).unwrap();
    assert!(row.starts_with("| ``") && row.contains("a\\|b `<img src=x>`.json``"), "{row}");
}
