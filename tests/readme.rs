//! The README's examples run as shown: every ```console block (commands after `$ `, the
//! output they print, `? N` for their exit code) is run by trycmd and its output compared,
//! so the README cannot drift from what the tool does.

use std::path::Path;

#[test]
fn readme_console_examples_print_what_the_readme_shows() {
    // The examples run from the repository's root, where some of them write files
    // (`record -o counter.json`): run them in a scratch directory that looks like the root
    // instead, so the checkout is never written to.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let scratch = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(root.join("fixtures"), scratch.path().join("fixtures")).unwrap();
    std::fs::copy(root.join("README.md"), scratch.path().join("README.md")).unwrap();
    std::env::set_current_dir(scratch.path()).unwrap();
    trycmd::TestCases::new()
        .register_bin("theater-replay", std::path::PathBuf::from(env!("CARGO_BIN_EXE_theater-replay")))
        .env("NO_COLOR", "1")
        // The compile cache in the scratch directory: a warning about the machine's own
        // cache (not writable, not trusted) would be part of the output compared.
        .env("XDG_CACHE_HOME", scratch.path().join("cache").display().to_string())
        .case("README.md")
        .run();
}

/// The one example trycmd cannot run (it pipes into `jq`): the same selection, in Rust.
#[test]
fn readme_jq_example_selects_what_the_readme_shows() {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    assert!(
        readme.contains("| jq -c 'select(.payload.function == \"get-random-bytes\") | .payload.input'\n10\n32\n100\n")
    );
    let out = assert_cmd::Command::cargo_bin("theater-replay")
        .unwrap()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["inspect", "--format", "json", "fixtures/theater-chains/random-wasi-random-test.json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let inputs: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap())
        .filter(|doc| doc["payload"]["function"] == "get-random-bytes")
        .map(|doc| doc["payload"]["input"].to_string())
        .collect();
    assert_eq!(inputs, ["10", "32", "100"]);
}

/// The forms of `inspect`'s lines the README names are the ones it prints (it once named
/// theater's `result F -> R` for every chain, where `record`'s chains print `F returned R`).
#[test]
fn readme_names_the_forms_inspect_prints_for_recorded_chains() {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let section = readme.split("### `inspect CHAIN`").nth(1).unwrap().split("\n### ").next().unwrap();
    let out = assert_cmd::Command::cargo_bin("theater-replay")
        .unwrap()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["inspect", "fixtures/chains/counter.json"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    for (form, printed) in [("`call F(args)`", "call add(1)"), ("`F returned R`", "add returned 101")] {
        assert!(text.contains(printed), "{text}");
        let before = section.split("theater's Pack chains").next().unwrap();
        assert!(before.contains(form), "the README's inspect section does not name {form} for record's chains");
    }
}
