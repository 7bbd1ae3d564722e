//! `verify` with many chains: order, summary, exit code, JSON lines, JUnit, fail-fast,
//! sharding and the on-disk compile cache. Every command runs with its caches in a tempdir.

use assert_cmd::Command;
use std::path::{Path, PathBuf};

const COUNTER: &str = "fixtures/components/counter.wat";
const ANSWERS: &str = "fixtures/components/counter.answers.json";

/// A tempdir holding a verified, a diverging, a broken and an unreadable chain, and the
/// modified component that makes the good chain diverge.
struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Fixture {
        let fixture = Fixture { dir: tempfile::tempdir().unwrap() };
        let modified = fixture.path("modified.wat");
        let wat = std::fs::read_to_string(COUNTER).unwrap();
        let changed = wat.replace("(i32.const 16) (i32.const 5)", "(i32.const 16) (i32.const 4)");
        assert_ne!(wat, changed, "the fixture changed: update this test's edit");
        std::fs::write(&modified, changed).unwrap();

        fixture.record(Path::new(COUNTER), "good.json");
        // Recorded from the modified component: against the original the log argument differs.
        fixture.record(&modified, "diverged.json");
        let mut chain: serde_json::Value =
            serde_json::from_slice(&std::fs::read(fixture.path("good.json")).unwrap()).unwrap();
        let byte = &mut chain[1]["data"][5];
        *byte = serde_json::json!(byte.as_u64().unwrap() ^ 1);
        std::fs::write(fixture.path("broken.json"), serde_json::to_vec(&chain).unwrap()).unwrap();
        std::fs::write(fixture.path("error.json"), "this is not JSON\n").unwrap();
        fixture
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn record(&self, component: &Path, out: &str) {
        bin()
            .args(["record", component.to_str().unwrap(), "--answers", ANSWERS])
            .args(["--invoke", "add(1)", "--invoke", "add(2)", "-o"])
            .arg(self.path(out))
            .assert()
            .success();
    }

    /// A copy of a chain under another name.
    fn copy(&self, from: &str, to: &str) -> PathBuf {
        let to = self.path(to);
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::copy(self.path(from), &to).unwrap();
        to
    }

    /// `verify` with the cache in this tempdir.
    fn verify(&self) -> Command {
        let mut cmd = bin();
        cmd.env("XDG_CACHE_HOME", self.path("xdg")).arg("verify").arg(COUNTER);
        cmd
    }
}

fn bin() -> Command {
    let mut cmd = Command::cargo_bin("theater-replay").unwrap();
    cmd.env_remove("RUST_LOG");
    cmd
}

fn stdout_of(cmd: &mut Command) -> (String, Option<i32>) {
    let out = cmd.output().unwrap();
    (String::from_utf8(out.stdout).unwrap(), out.status.code())
}

/// The chain each verdict line names, in output order (first line of each report).
fn verdict_order(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .filter(|l| !l.starts_with(' ') && !l.starts_with("summary:"))
        .map(|l| {
            let rest = l.split_once(": ").unwrap().1;
            let end = [rest.find(": "), rest.find(" fails its integrity")].into_iter().flatten().min().unwrap();
            rest[..end].to_string()
        })
        .collect()
}

#[test]
fn verdicts_in_input_order_then_summary_and_the_most_severe_exit() {
    let f = Fixture::new();
    let [good, diverged, broken, error] = ["good.json", "diverged.json", "broken.json", "error.json"].map(|n| f.path(n));
    let names = |paths: &[&PathBuf]| paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>();

    // Input order, not sorted order, and not finishing order (-j 2).
    let order = [&error, &good, &broken, &diverged];
    let (out, code) = stdout_of(f.verify().args(order).args(["-j", "2"]));
    assert_eq!(verdict_order(&out), names(&order));
    assert!(out.contains(&format!("verified: {}", good.display())));
    assert!(out.contains(&format!("DIVERGED: {}", diverged.display())));
    assert!(out.contains(&format!("BROKEN: {}", broken.display())));
    assert!(out.contains(&format!("error: {}", error.display())));
    assert!(out.ends_with("summary: 4 chains: 1 verified, 1 diverged, 1 broken, 1 error\n"), "{out}");
    // Broken (3) > error (2) > diverged (1) > verified (0).
    assert_eq!(code, Some(3));
    assert_eq!(stdout_of(f.verify().args([&good, &error, &diverged])).1, Some(2));
    assert_eq!(stdout_of(f.verify().args([&diverged, &good])).1, Some(1));
    let (out, code) = stdout_of(f.verify().args([&good, &good]));
    assert_eq!(code, Some(0));
    assert!(out.ends_with("summary: 2 chains: 2 verified, 0 diverged, 0 broken, 0 error\n"));
}

#[test]
fn one_chain_prints_its_report_alone_as_before() {
    let f = Fixture::new();
    let (out, code) = stdout_of(f.verify().arg(f.path("good.json")));
    assert_eq!(code, Some(0));
    assert_eq!(out.lines().count(), 2, "the report alone (the verdict and the head), no summary: {out}");
    assert!(out.starts_with(&format!("verified: {}: all ", f.path("good.json").display())), "{out}");
    assert!(out.lines().next().unwrap().ends_with(" events replayed and matched"), "{out}");
    assert!(out.lines().nth(1).unwrap().starts_with("  head: "), "{out}");

    let (out, code) = stdout_of(f.verify().arg(f.path("diverged.json")).args(["--format", "json"]));
    assert_eq!(code, Some(1));
    assert_eq!(out.lines().count(), 1, "one object, no summary: {out}");
    let object: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(object["status"], "diverged");
    // Every chain's document names its chain, one given alone too (one shape for scripts).
    assert_eq!(object["path"], f.path("diverged.json").display().to_string());
}

#[test]
fn chains_dir_takes_chain_files_recursively_sorted_by_path() {
    let f = Fixture::new();
    let dir = f.path("golden");
    // Created out of order; a README, a hidden file and a non-chain extension are skipped
    // (and counted in the summary).
    for (from, to) in [("good.json", "golden/b.json"), ("good.json", "golden/a/z.jsonl"), ("good.json", "golden/c.json")] {
        f.copy(from, to);
    }
    f.copy("error.json", "golden/.hidden.json");
    std::fs::write(dir.join("README.md"), "not a chain").unwrap();
    std::fs::write(dir.join("notes.txt"), "not a chain").unwrap();
    let (out, code) = stdout_of(f.verify().arg("--chains").arg(&dir).args(["-j", "2"]));
    assert_eq!(code, Some(0), "{out}");
    let expected: Vec<String> = ["a/z.jsonl", "b.json", "c.json"].iter().map(|n| dir.join(n).display().to_string()).collect();
    assert_eq!(verdict_order(&out), expected);

    // Positional chains first, then the directory's.
    let (out, _) = stdout_of(f.verify().arg(f.path("diverged.json")).arg("--chains").arg(&dir));
    assert_eq!(verdict_order(&out)[0], f.path("diverged.json").display().to_string());
    assert!(
        out.ends_with("summary: 4 chains: 3 verified, 1 diverged, 0 broken, 0 error, 3 files skipped (not chains, named above)\n"),
        "{out}"
    );

    // A directory without chains is almost surely a mistake: exit 2, not "0 chains, fine".
    let empty = f.path("empty");
    std::fs::create_dir(&empty).unwrap();
    f.verify().arg("--chains").arg(&empty).assert().code(2);
    f.verify().arg("--chains").arg(f.path("missing")).assert().code(2);
}

#[test]
fn json_lines_with_path_then_summary_byte_identical_across_runs_and_jobs() {
    let f = Fixture::new();
    let chains = ["good.json", "diverged.json", "broken.json", "error.json", "good.json"].map(|n| f.path(n));
    let run = |jobs: &str| {
        let out = f.verify().args(&chains).args(["--format", "json", "-j", jobs]).output().unwrap();
        assert_eq!(out.status.code(), Some(3));
        out.stdout
    };
    let first = run("1");
    assert_eq!(first, run("2"));
    assert_eq!(first, run("4"));
    let text = String::from_utf8(first).unwrap();
    let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), chains.len() + 1);
    for (line, path) in lines.iter().zip(&chains) {
        assert_eq!(line["path"], path.display().to_string());
    }
    let statuses: Vec<&str> = lines[..5].iter().map(|l| l["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["verified", "diverged", "broken", "error", "verified"]);
    assert_eq!(
        text.lines().last().unwrap(),
        r#"{"schema_version":1,"summary":{"chains":5,"verified":2,"diverged":1,"broken":1,"error":1,"empty":0,"not_run":0,"skipped":0}}"#
    );
}

#[test]
fn fail_fast_starts_no_chain_after_a_failure() {
    let f = Fixture::new();
    let mut chains = vec![f.path("good.json"), f.path("diverged.json")];
    chains.extend((0..6).map(|i| f.copy("good.json", &format!("more/{i}.json"))));
    let (out, code) = stdout_of(f.verify().args(&chains).args(["--fail-fast", "-j", "1"]));
    assert_eq!(code, Some(1));
    assert_eq!(verdict_order(&out).len(), 2, "{out}");
    assert!(out.ends_with("summary: 8 chains: 1 verified, 1 diverged, 0 broken, 0 error, 6 not run (--fail-fast)\n"));

    // With two workers the one running beside the failure may finish, but no chain is
    // started after it: what finished is a prefix of the input, reported in input order.
    let (out, code) = stdout_of(f.verify().args(&chains).args(["--fail-fast", "-j", "2", "--format", "json"]));
    assert_eq!(code, Some(1));
    let lines: Vec<serde_json::Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let summary = &lines.last().unwrap()["summary"];
    let finished = lines.len() - 1;
    // At least the failure and the chain before it; how many more the other worker got
    // through before the failure is a matter of timing.
    assert!(finished >= 2, "{out}");
    assert_eq!(summary["not_run"].as_u64().unwrap() as usize, chains.len() - finished);
    for (line, path) in lines[..finished].iter().zip(&chains) {
        assert_eq!(line["path"], path.display().to_string());
    }

    // Without it every chain runs.
    let (out, _) = stdout_of(f.verify().args(&chains).args(["-j", "2"]));
    assert_eq!(verdict_order(&out).len(), 8);
}

#[test]
fn junit_has_one_case_per_chain_with_the_report_as_failure() {
    let f = Fixture::new();
    let junit = f.path("report.xml");
    let chains = ["good.json", "diverged.json", "broken.json", "error.json"].map(|n| f.path(n));
    f.verify().args(&chains).arg("--junit").arg(&junit).assert().code(3);
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert_eq!(xml.matches("<testcase ").count(), 4, "{xml}");
    assert!(xml.contains(r#"tests="4" skipped="0" failures="2" errors="1""#), "{xml}");
    for chain in &chains {
        assert!(xml.contains(&format!(r#"<testcase name="{}""#, chain.display())));
    }
    // The divergence report: headline as the message, the whole report as the text.
    let diverged = format!(r#"<failure message="DIVERGED: {}: event "#, chains[1].display());
    assert!(xml.contains(&diverged) && xml.contains(r#"type="diverged">DIVERGED: "#), "{xml}");
    assert!(xml.contains("the guest called the recorded import with different arguments"));
    assert!(xml.contains("guest stack (innermost first):"));
    assert!(xml.contains(&format!(r#"<failure message="BROKEN: {} "#, chains[2].display())));
    assert!(xml.contains(r#"type="broken">"#));
    assert!(xml.contains(&format!(r#"<error message="error: {}: "#, chains[3].display())));
    // The head of each chain read to its end, to pin with `verify --head`.
    assert_eq!(xml.matches(r#"<property name="head" value=""#).count(), 2, "verified and diverged: {xml}");

    // Not-run chains are skipped cases.
    let ff = f.path("ff.xml");
    f.verify().args([&chains[1], &chains[0]]).args(["--fail-fast", "-j", "1", "--junit"]).arg(&ff).assert().code(1);
    let xml = std::fs::read_to_string(&ff).unwrap();
    assert!(xml.contains(r#"skipped="1""#) && xml.contains("<skipped"), "{xml}");

    // One chain: the usual single report on stdout, and the JUnit file too.
    let one = f.path("one.xml");
    f.verify().arg(&chains[0]).arg("--junit").arg(&one).assert().success();
    assert_eq!(std::fs::read_to_string(&one).unwrap().matches("<testcase ").count(), 1);
}

#[test]
fn shards_split_the_sorted_chains_without_overlap() {
    let f = Fixture::new();
    let dir = f.path("golden");
    for i in 0..7 {
        f.copy("good.json", &format!("golden/{i}.json"));
    }
    let mut seen = Vec::new();
    for k in 1..=3 {
        let (out, code) = stdout_of(f.verify().arg("--chains").arg(&dir).args(["--shard", &format!("{k}/3")]));
        assert_eq!(code, Some(0), "{out}");
        let part = verdict_order(&out);
        // Round robin over the sorted paths: shard k takes ranks k-1, k-1+3, ...
        let expected: Vec<String> =
            (k - 1..7).step_by(3).map(|i| dir.join(format!("{i}.json")).display().to_string()).collect();
        assert_eq!(part, expected);
        seen.extend(part);
    }
    seen.sort();
    assert_eq!(seen.len(), 7);
    seen.dedup();
    assert_eq!(seen.len(), 7);

    // More jobs than chains: an empty shard succeeds with a summary of 0 chains.
    let few = f.copy("good.json", "few/only.json");
    let (out, code) = stdout_of(f.verify().arg(&few).args(["--shard", "2/2"]));
    assert_eq!((out.as_str(), code), ("summary: 0 chains: 0 verified, 0 diverged, 0 broken, 0 error\n", Some(0)));

    for bad in ["0/3", "4/3", "1/0", "x/3", "1-3", "1/3/4", ""] {
        f.verify().arg("--chains").arg(&dir).args(["--shard", bad]).assert().code(2);
    }
}

#[test]
fn corrupted_cache_entries_are_rebuilt_never_trusted() {
    let f = Fixture::new();
    let cache = f.path("cache");
    let good = f.path("good.json");
    let run = || f.verify().arg(&good).arg(f.path("good.json")).arg("--cache-dir").arg(&cache).assert().success();
    run();
    let entries: Vec<PathBuf> = std::fs::read_dir(&cache).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(entries.len(), 1, "{entries:?}");
    let entry = &entries[0];
    let original = std::fs::read(entry).unwrap();
    run(); // a hit leaves the entry as it is
    assert_eq!(std::fs::read(entry).unwrap(), original);

    // A flipped byte in the machine code, a truncated file, garbage: each is detected,
    // the run still verifies, and the entry is written anew.
    let mut flipped = original.clone();
    let middle = flipped.len() / 2;
    flipped[middle] ^= 0x40;
    for corrupted in [flipped, original[..original.len() / 3].to_vec(), b"garbage".to_vec(), Vec::new()] {
        std::fs::write(entry, &corrupted).unwrap();
        run();
        let rebuilt = std::fs::read(entry).unwrap();
        assert_ne!(rebuilt, corrupted);
        assert_eq!(rebuilt.len(), original.len());
    }

    // --no-cache neither reads nor writes it; --cache-dir goes where it is told.
    let unused = f.path("unused-xdg");
    bin().env("XDG_CACHE_HOME", &unused).args(["verify", COUNTER]).arg(&good).arg("--no-cache").assert().success();
    assert!(!unused.exists());
    bin().env("XDG_CACHE_HOME", &unused).args(["verify", COUNTER]).arg(&good).assert().success();
    assert_eq!(std::fs::read_dir(unused.join("theater-replay")).unwrap().count(), 1);
    f.verify().arg(&good).args(["--no-cache", "--cache-dir"]).arg(&cache).assert().code(2);
}

/// An entry is bound to the component it was compiled from: another component's entry
/// copied over this one's (its own digest intact) is refused and rebuilt, never run as
/// this component's code.
#[test]
fn another_components_cache_entry_is_not_run_as_this_one() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let (v1, v2, chain) =
        ("fixtures/components/counter.wat", "fixtures/components/counter-v2.wat", "fixtures/chains/counter.json");
    let verify = |component: &str| {
        let out = bin().args(["verify", component, chain, "--cache-dir"]).arg(&cache).output().unwrap();
        (out.status.code(), String::from_utf8(out.stderr).unwrap())
    };
    let entries = || -> Vec<PathBuf> { std::fs::read_dir(&cache).unwrap().map(|e| e.unwrap().path()).collect() };
    assert_eq!(verify(v1).0, Some(0));
    let [v1_entry] = entries().try_into().unwrap();
    assert_eq!(verify(v2).0, Some(1), "v2 logs \"adde\"");
    let v2_entry = entries().into_iter().find(|e| *e != v1_entry).unwrap();
    std::fs::copy(&v1_entry, &v2_entry).unwrap();
    let (code, stderr) = verify(v2);
    assert_eq!(code, Some(1), "v1's code replayed as v2's: {stderr}");
    assert!(stderr.contains("another component"), "{stderr}");
    assert_ne!(std::fs::read(&v2_entry).unwrap(), std::fs::read(&v1_entry).unwrap(), "rebuilt");
    assert_eq!(verify(v2), (Some(1), String::new()), "then a hit, quietly");
}

/// `--chains DIR` takes every container the tool reads, compressed ones and theater's
/// event stores included, and names each file it passes over.
#[test]
fn chains_dir_takes_every_container_and_names_what_it_skips() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let golden = dir.path().join("golden");
    let pack = Path::new("fixtures/theater-0.3.8/chains");
    std::fs::create_dir_all(golden.join("sub")).unwrap();
    std::fs::copy(pack.join("state-actor.chain"), golden.join("a.chain")).unwrap();
    let json = std::fs::read(pack.join("state-actor.json")).unwrap();
    std::fs::write(golden.join("sub/d.json.zst"), zstd::encode_all(&json[..], 3).unwrap()).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&std::fs::read(pack.join("state-actor.state.json")).unwrap()).unwrap();
    std::fs::write(golden.join("sub/e.state.json.gz"), gz.finish().unwrap()).unwrap();
    // theater's event store: its head is the chain, its events are not chains of their own.
    for part in ["chains", "events"] {
        let to = golden.join("home").join(part);
        std::fs::create_dir_all(&to).unwrap();
        for entry in std::fs::read_dir(pack.join("state-actor.store").join(part)).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
    std::fs::write(golden.join("README.md"), "the golden chains\n").unwrap();
    std::fs::write(golden.join(".hidden.json"), "[]").unwrap();
    std::fs::copy(pack.join("state-actor.json"), golden.join("sub/f.json.new")).unwrap();

    let run = |format: &str| {
        let out = bin()
            .args(["verify", "--no-cache", "-j", "1", "--format", format, "fixtures/pack/state-actor.wasm", "--chains"])
            .arg(&golden)
            .output()
            .unwrap();
        (out.status.code(), String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
    };
    let (code, out, err) = run("text");
    assert_eq!(code, Some(0), "{out}{err}");
    let chains = ["a.chain", "home/chains/state-actor", "sub/d.json.zst", "sub/e.state.json.gz"];
    let expected: Vec<String> = chains.iter().map(|c| golden.join(c).display().to_string()).collect();
    assert_eq!(verdict_order(&out), expected, "{out}");
    assert!(out.ends_with("summary: 4 chains: 4 verified, 0 diverged, 0 broken, 0 error, 3 files skipped (not chains, named above)\n"), "{out}");
    for skipped in [".hidden.json", "README.md", "sub/f.json.new"] {
        let line = format!("warning: skipped {}: ", golden.join(skipped).display());
        assert!(err.lines().any(|l| l.starts_with(&line)), "{skipped}: {err}");
    }
    let (code, out, _) = run("json");
    assert_eq!(code, Some(0));
    let summary: serde_json::Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    assert_eq!(
        summary["summary"],
        serde_json::json!({"chains": 4, "verified": 4, "diverged": 0, "broken": 0, "error": 0, "empty": 0, "not_run": 0, "skipped": 3})
    );
}

#[test]
fn usage_errors_exit_2() {
    let f = Fixture::new();
    let good = f.path("good.json");
    f.verify().assert().code(2); // no chain at all
    f.verify().arg(&good).arg("-").assert().code(2); // stdin only as the one chain
    f.verify().arg(&good).args(["-j", "0"]).assert().code(2);
    bin().args(["verify", "no-such-component.wat"]).arg(&good).arg(&good).arg("--no-cache").assert().code(2);
    // No progress bar and nothing else on stderr when it is not a terminal.
    let out = f.verify().arg(&good).arg(&good).output().unwrap();
    assert!(out.stderr.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));
}
