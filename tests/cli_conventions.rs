//! The conventions of a Rust CLI: shell completions, a man page, a version that names what
//! a chain depends on. Generated from the parser itself, so these check they stay usable.

use assert_cmd::Command;

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::cargo_bin("theater-replay").unwrap().args(args).output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
}

const SUBCOMMANDS: [&str; 10] =
    ["check", "inspect", "diff", "verify", "record", "pending", "accept", "reject", "completions", "man"];

#[test]
fn completions_for_every_shell_name_every_subcommand() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let (code, script, stderr) = run(&["completions", shell]);
        assert_eq!((code, stderr.as_str()), (0, ""), "{shell}");
        for sub in SUBCOMMANDS {
            assert!(script.contains(sub), "{shell}: no {sub}");
        }
        assert!(script.contains("dialect"), "{shell}: verify's flags are completed too");
    }
    // The bash script is valid bash.
    let (_, script, _) = run(&["completions", "bash"]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("theater-replay.bash");
    std::fs::write(&path, script).unwrap();
    let status = std::process::Command::new("bash").arg("-n").arg(&path).status().unwrap();
    assert!(status.success());
    let (code, _, stderr) = run(&["completions", "tcsh"]);
    assert_eq!(code, 2);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[test]
fn man_page_is_roff_with_every_subcommand() {
    let (code, page, _) = run(&["man"]);
    assert_eq!(code, 0);
    assert!(page.contains(".TH theater-replay 1"), "{}", &page[..page.len().min(300)]);
    for sub in SUBCOMMANDS {
        assert!(page.contains(sub), "no {sub}");
    }
    assert!(page.contains("Exit codes"));
}

#[test]
fn version_names_the_chain_format_and_the_wasmtime_it_runs() {
    let (code, short, _) = run(&["-V"]);
    assert_eq!((code, short.trim()), (0, concat!("theater-replay ", env!("CARGO_PKG_VERSION"))));
    let (code, long, _) = run(&["--version"]);
    assert_eq!(code, 0);
    let format = format!(
        "chain format: {} version {}",
        theater_replay::payload::FORMAT_NAME,
        theater_replay::payload::FORMAT_VERSION
    );
    assert!(long.contains(&format), "{long}");
    // The wasmtime named is the one Cargo.lock builds.
    let lock = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.lock")).unwrap();
    let wasmtime = lock.split("[[package]]").find(|p| p.contains("name = \"wasmtime\"\n")).unwrap();
    let version = wasmtime.lines().find_map(|l| l.strip_prefix("version = \"")).unwrap().trim_end_matches('"');
    assert!(long.contains(&format!("wasmtime: {version}")), "{long} vs {version}");
}

/// Runs from the crate root, so fixture paths are relative.
fn run_here(args: &[&str]) -> (i32, String, String) {
    let out = Command::cargo_bin("theater-replay")
        .unwrap()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .output()
        .unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
}

#[test]
fn the_usual_mistakes_get_a_message_that_says_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.json");
    let out = out.to_str().unwrap();
    let cases: [(&[&str], &str); 5] = [
        (
            &["verify", "-j", "0", "--chains", "fixtures/chains", "fixtures/components/counter.wat"],
            "--jobs is how many chains are verified at once, at least 1",
        ),
        (
            &["verify", "fixtures/chains/counter.json", "fixtures/components/counter.wat"],
            "fixtures/chains/counter.json is a chain and fixtures/components/counter.wat a component: the component comes first",
        ),
        (&["record", "fixtures/components/counter.wat", "--invoke", "add(\"x\")", "-o", out], "`add` takes (n: u32)"),
        (
            &["record", "fixtures/components/counter.wat", "--invoke", "demo:agent/api#greet(1)", "-o", out],
            "`greet` takes (name: string)",
        ),
        (
            &["record", "fixtures/components/counter.wat", "--invoke", "add(1)", "-o", out],
            "`demo:agent/host#next-token` returns a value and no --answers file was given",
        ),
    ];
    for (args, message) in cases {
        let (code, stdout, stderr) = run_here(args);
        assert_eq!((code, stdout.as_str()), (2, ""), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    }
    assert!(!std::path::Path::new(out).exists(), "nothing recorded");
}

#[test]
fn inspect_takes_json_as_the_other_commands_do() {
    let chain = "fixtures/theater-chains/runtime-runtime-test.json";
    let (code, json, _) = run_here(&["inspect", "--format", "json", chain]);
    assert_eq!(code, 0);
    assert_eq!(json, run_here(&["inspect", "--format", "jsonl", chain]).1);
    assert_eq!(json.lines().count(), 6);
}
