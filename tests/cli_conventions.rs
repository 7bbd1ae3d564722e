//! The conventions of a Rust CLI: shell completions, a man page, a version that names what
//! a chain depends on. Generated from the parser itself, so these check they stay usable.

use assert_cmd::Command;

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::cargo_bin("theater-replay").unwrap().args(args).output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
}

const SUBCOMMANDS: [&str; 12] = [
    "check",
    "inspect",
    "diff",
    "verify",
    "record",
    "pending",
    "accept",
    "reject",
    "review",
    "cache",
    "completions",
    "man",
];

#[test]
fn these_tests_know_every_subcommand() {
    // A new command is tested here (completions, man page) once it is listed above.
    let cli = theater_replay::cli::command();
    let mut parsed: Vec<&str> = cli.get_subcommands().map(|s| s.get_name()).collect();
    let mut listed = SUBCOMMANDS.to_vec();
    parsed.sort_unstable();
    listed.sort_unstable();
    assert_eq!(parsed, listed);
}

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

/// The long flags `help SUB` lists (each option line's `--name`s).
fn flags_in_help(sub: &str) -> Vec<String> {
    let (code, help, _) = run(&["help", sub]);
    assert_eq!(code, 0, "help {sub}");
    let mut flags = Vec::new();
    for line in help.lines().filter(|l| l.starts_with("  ") && l.trim_start().starts_with('-')) {
        for word in line.split([' ', ',']).filter(|w| w.starts_with("--")) {
            let name: String = word.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-').collect();
            flags.push(name);
        }
    }
    flags
}

#[test]
fn bash_completes_every_subcommands_flags() {
    let (_, script, _) = run(&["completions", "bash"]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("theater-replay.bash");
    std::fs::write(&path, script).unwrap();
    for sub in SUBCOMMANDS {
        // `theater-replay SUB --<TAB>` in a real bash, through the function the script
        // registers for the program.
        let complete = r#"source "$1"
            f=$(complete -p theater-replay | sed 's/.* -F \([^ ]*\) .*/\1/')
            COMP_WORDS=(theater-replay "$2" --)
            COMP_CWORD=2
            "$f" theater-replay -- "$2"
            printf '%s\n' "${COMPREPLY[@]}""#;
        let out =
            std::process::Command::new("bash").args(["-c", complete, "bash"]).arg(&path).arg(sub).output().unwrap();
        assert!(out.status.success(), "{sub}: {}", String::from_utf8_lossy(&out.stderr));
        let offered: Vec<String> = String::from_utf8(out.stdout).unwrap().lines().map(String::from).collect();
        let flags = flags_in_help(sub);
        assert!(flags.contains(&"--help".to_string()), "{sub}: {flags:?}");
        for flag in &flags {
            assert!(offered.contains(flag), "{sub}: {flag} is not completed; offered {offered:?}");
        }
    }
}

#[test]
fn man_has_a_page_for_every_subcommand_with_its_flags() {
    for sub in SUBCOMMANDS {
        let (code, page, stderr) = run(&["man", sub]);
        assert_eq!((code, stderr.as_str()), (0, ""), "man {sub}");
        assert!(page.contains(&format!(".TH theater-replay-{sub} 1")), "{sub}: {}", &page[..page.len().min(300)]);
        for flag in flags_in_help(sub) {
            // roff writes a dash as `\-`.
            let roff = flag.replace('-', "\\-");
            assert!(page.contains(&roff), "man {sub}: no {flag}");
        }
    }
    let (code, _, stderr) = run(&["man", "nosuch"]);
    assert_eq!(code, 2);
    assert!(stderr.starts_with("error: man: no command `nosuch`; one of: check, "), "{stderr}");

    // --dir writes the program's page and every page it cites.
    let dir = tempfile::tempdir().unwrap();
    let (code, _, stderr) = run(&["man", "--dir", dir.path().to_str().unwrap()]);
    assert_eq!((code, stderr.as_str()), (0, ""));
    let main = std::fs::read_to_string(dir.path().join("theater-replay.1")).unwrap();
    for sub in SUBCOMMANDS {
        assert!(main.contains(&format!("theater\\-replay\\-{sub}(1)")), "the program's page does not cite {sub}");
        let page = std::fs::read_to_string(dir.path().join(format!("theater-replay-{sub}.1"))).unwrap();
        assert_eq!(page, run(&["man", sub]).1, "{sub}");
    }
}

#[test]
fn cache_shows_trims_to_its_cap_and_cleans() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let cache = cache.to_str().unwrap();
    let show = || run(&["cache", "--cache-dir", cache]);
    assert_eq!(show(), (0, format!("{cache}: 0 entries, 0 B (cap 1.00 GiB)\n"), String::new()));
    let root = env!("CARGO_MANIFEST_DIR");
    let verify = |component: &str, extra: &[&str]| {
        let chain = format!("{root}/fixtures/chains/counter.json");
        let component = format!("{root}/fixtures/components/{component}");
        let mut args = vec!["verify", "-q", "--cache-dir", cache, &component, &chain];
        args.extend_from_slice(extra);
        run(&args).0
    };
    assert_eq!(verify("counter.wat", &[]), 0);
    let (_, shown, _) = show();
    assert!(shown.starts_with(&format!("{cache}: 1 entry, ")), "{shown}");
    // A cap of 0 keeps only the entry just stored.
    assert_eq!(verify("counter-v2.wat", &["--cache-max", "0"]), 1);
    let (_, shown, _) = show();
    assert!(shown.starts_with(&format!("{cache}: 1 entry, ")), "{shown}");
    let (code, cleaned, _) = run(&["cache", "clean", "--cache-dir", cache]);
    assert_eq!(code, 0);
    assert!(cleaned.starts_with(&format!("{cache}: removed 1 entry, ")), "{cleaned}");
    assert_eq!(show().1, format!("{cache}: 0 entries, 0 B (cap 1.00 GiB)\n"));
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
