//! Nothing the user gives is harmed by what the tool writes, and no output error panics
//! (issue 14, "Data loss and panics"): every file the tool writes (`record -o`,
//! `verify --junit`) refuses the run's own inputs by identity, writes devices and FIFOs in
//! place, replaces regular files whole through a short-named temporary file that never
//! outlives the run (errors, SIGINT, SIGTERM, SIGHUP, SIGQUIT); `record` to stdout writes nothing when the run
//! fails; a full disk or a closed pipe on stdout is exit 2 or a quiet end, never a panic.
//!
//! Every test works on copies of the fixtures in a temporary directory and checks that the
//! inputs are byte-identical afterwards.

use assert_cmd::prelude::*;
use sha2::{Digest, Sha256};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tempfile::TempDir;

const CALLS: [&str; 4] = ["add(1)", "add(2)", "demo:agent/api#greet(\"theater\")", "demo:agent/api#total()"];

/// A component whose one export never returns (until `--timeout`): a recording in progress.
const SPIN: &str = r#"(component
  (core module $m (func (export "spin") (loop $again (br $again))))
  (core instance $i (instantiate $m))
  (func (export "spin") (canon lift (core func $i "spin"))))"#;

struct Fixture {
    dir: TempDir,
}

impl Fixture {
    /// The counter component, its answers and its golden chain, copied.
    fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
        for (from, to) in [
            ("components/counter.wat", "counter.wat"),
            ("components/counter.answers.json", "answers.json"),
            ("chains/counter.json", "chain.json"),
        ] {
            std::fs::copy(root.join(from), dir.path().join(to)).unwrap();
        }
        Fixture { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `record` of the counter's golden calls, without `-o`.
    fn record(&self) -> Command {
        let mut cmd = bin();
        cmd.arg("record").arg(self.path("counter.wat")).arg("--answers").arg(self.path("answers.json")).arg("--no-cache");
        for call in CALLS {
            cmd.args(["--invoke", call]);
        }
        cmd
    }

    fn verify(&self) -> Command {
        let mut cmd = bin();
        cmd.arg("verify").arg("--no-cache").arg(self.path("counter.wat")).arg(self.path("chain.json"));
        cmd
    }

    /// SHA-256 of every file in the directory, by name: what must not change.
    fn hashes(&self) -> Vec<(String, String)> {
        let mut all: Vec<_> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_file())
            .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), hash(&p)))
            .collect();
        all.sort();
        all
    }

    /// Names in the directory, sorted.
    fn names(&self) -> Vec<String> {
        let mut names: Vec<_> =
            std::fs::read_dir(self.dir.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        names.sort();
        names
    }

    fn assert_no_partial(&self) {
        let names = self.names();
        assert!(!names.iter().any(|n| n.contains("partial")), "a temporary file was left behind: {names:?}");
    }
}

/// The binary, with stdout and stderr captured unless a test sets them (assert_cmd's own
/// `Command` always pipes them, which would hide a closed pipe or a full disk).
fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_theater-replay"))
}

fn hash(path: &Path) -> String {
    hex::encode(Sha256::digest(std::fs::read(path).unwrap()))
}

/// Exit code and stderr of a finished command; stderr must be exactly one line, no panic.
fn fails_with_one_line(cmd: &mut Command, code: i32) -> String {
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(code), "stderr: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line on stderr: {stderr:?}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

/// The counter's golden chain, as text (a mismatch then prints readably).
fn golden_chain() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/chains/counter.json")).unwrap()
}

fn text(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap()
}

fn assert_refused(f: &Fixture, cmd: &mut Command, dest: &Path) {
    let before = f.hashes();
    let stderr = fails_with_one_line(cmd, 2);
    assert!(stderr.contains(&format!("{}: is ", dest.display())), "names the path given: {stderr}");
    assert!(stderr.contains("refusing to write over it"), "{stderr}");
    assert_eq!(f.hashes(), before, "inputs are byte-identical afterwards");
    f.assert_no_partial();
}

#[test]
fn record_refuses_to_write_over_the_component() {
    let f = Fixture::new();
    let dest = f.path("counter.wat");
    assert_refused(&f, f.record().arg("-o").arg(&dest), &dest);
}

#[test]
fn record_refuses_to_write_over_the_answers_file() {
    let f = Fixture::new();
    let dest = f.path("answers.json");
    assert_refused(&f, f.record().arg("-o").arg(&dest), &dest);
}

#[test]
fn record_refuses_the_component_by_any_other_name() {
    let f = Fixture::new();
    let link = f.path("link.wat");
    std::os::unix::fs::symlink(f.path("counter.wat"), &link).unwrap();
    assert_refused(&f, f.record().arg("-o").arg(&link), &link);
    assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink(), "the link is still a link");

    let hard = f.path("hard.wat");
    std::fs::hard_link(f.path("counter.wat"), &hard).unwrap();
    assert_refused(&f, f.record().arg("-o").arg(&hard), &hard);

    // `./counter.wat` from the directory itself.
    let mut dotted = f.record();
    dotted.current_dir(f.dir.path()).args(["-o", "./counter.wat"]);
    assert_refused(&f, &mut dotted, Path::new("./counter.wat"));
}

#[test]
fn record_refuses_a_stdout_that_is_an_input() {
    let f = Fixture::new();
    let before = f.hashes();
    let answers = std::fs::OpenOptions::new().append(true).open(f.path("answers.json")).unwrap();
    let stderr = fails_with_one_line(f.record().stdout(answers), 2);
    assert!(stderr.contains("stdout: is the answers file of this run"), "{stderr}");
    assert_eq!(f.hashes(), before);
}

#[test]
fn verify_junit_refuses_the_chain_and_the_component() {
    let f = Fixture::new();
    for input in ["chain.json", "counter.wat"] {
        let dest = f.path(input);
        assert_refused(&f, f.verify().arg("--junit").arg(&dest), &dest);
    }
    // A run of many chains, the JUnit file naming the second one.
    std::fs::copy(f.path("chain.json"), f.path("second.json")).unwrap();
    let dest = f.path("second.json");
    assert_refused(&f, f.verify().arg(&dest).arg("--junit").arg(&dest), &dest);
    // Found under --chains only: refused when the report is written, after the verdicts.
    let chains = f.path("chains");
    std::fs::create_dir(&chains).unwrap();
    std::fs::copy(f.path("chain.json"), chains.join("found.json")).unwrap();
    let found = chains.join("found.json");
    let before = hash(&found);
    let out = bin()
        .args(["verify", "--no-cache"])
        .arg(f.path("counter.wat"))
        .arg("--chains")
        .arg(&chains)
        .arg("--junit")
        .arg(&found)
        .output()
        .unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "refused before any chain is replayed: {stderr}");
    assert!(stderr.contains(&format!("error: {}: is a chain of this run", found.display())), "{stderr}");
    assert!(out.stdout.is_empty(), "no verdicts: nothing ran");
    assert_eq!(hash(&found), before);
}

/// `verify --accept --junit X` where X is the `.new` the accept writes: the report would
/// overwrite the new chain just reported as written. Two outputs of one run are never one
/// file, however it is named: refused before anything runs, one line, exit 2.
#[test]
fn verify_accept_refuses_a_junit_report_that_is_a_pending_chain() {
    let f = Fixture::new();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/components/counter-v2.wat");
    std::fs::copy(root, f.path("v2.wat")).unwrap();
    std::os::unix::fs::symlink(f.path("chain.json.new"), f.path("link.xml")).unwrap();
    let spellings = [f.path("chain.json.new"), f.dir.path().join(".").join("chain.json.new"), f.path("link.xml")];
    let chains = f.path("golden");
    std::fs::create_dir(&chains).unwrap();
    std::fs::copy(f.path("chain.json"), chains.join("a.json")).unwrap();
    let before = f.hashes();
    for (chain, junit) in spellings.iter().map(|j| (f.path("chain.json"), j.clone())).chain([(chains.clone(), chains.join("a.json.new"))]) {
        let mut cmd = bin();
        cmd.args(["verify", "--no-cache", "--accept=always"]).arg(f.path("v2.wat"));
        if chain.is_dir() {
            cmd.arg("--chains");
        }
        cmd.arg(&chain).arg("--junit").arg(&junit);
        let out = cmd.output().unwrap();
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.starts_with(&format!("error: {}: ", junit.display())), "{stderr}");
        assert!(stderr.contains("the JUnit report") && stderr.contains("give each its own path"), "{stderr}");
        assert!(out.stdout.is_empty(), "refused before any chain ran");
        assert_eq!(f.hashes(), before);
        assert!(!f.path("chain.json.new").exists() && !chains.join("a.json.new").exists());
        f.assert_no_partial();
    }
    // Its own path: both are written.
    let out = bin()
        .args(["verify", "--no-cache", "--accept=always"])
        .arg(f.path("v2.wat"))
        .arg(f.path("chain.json"))
        .arg("--junit")
        .arg(f.path("report.xml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(std::fs::read_to_string(f.path("report.xml")).unwrap().contains("<testsuites"));
    assert!(std::fs::read_to_string(f.path("chain.json.new")).unwrap().starts_with('['));
}

/// `record -o /dev/stdout --format json`: the JSON report would go into the chain's stream.
#[test]
fn record_refuses_a_chain_and_its_json_report_both_on_stdout() {
    let f = Fixture::new();
    let out = f.record().args(["--format", "json", "-o", "/dev/stdout"]).stdout(Stdio::piped()).output().unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("/dev/stdout: is the JSON report of this run (stdout), and would also be the chain"), "{stderr}");
    // stdout carries the error document alone, no chain.
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["status"], "error");
}

#[test]
fn verify_junit_still_writes_a_new_file() {
    let f = Fixture::new();
    let before = f.hashes();
    let junit = f.path("report.xml");
    f.verify().arg("--junit").arg(&junit).assert().success();
    assert!(std::fs::read_to_string(&junit).unwrap().contains("<testsuites"));
    let mut after = f.hashes();
    after.retain(|(name, _)| name != "report.xml");
    assert_eq!(after, before);
    f.assert_no_partial();
}

#[test]
fn record_to_dev_null_writes_through_the_device() {
    let f = Fixture::new();
    let before = f.hashes();
    f.record().args(["-o", "/dev/null"]).assert().success();
    let meta = std::fs::metadata("/dev/null").unwrap();
    assert!(meta.file_type().is_char_device(), "/dev/null is still a character device");
    assert_eq!(f.hashes(), before);
    assert!(std::fs::read_dir("/dev").unwrap().all(|e| !e.unwrap().file_name().to_string_lossy().contains("partial")));
}

#[test]
fn record_to_dev_full_is_one_line_and_exit_2() {
    if !Path::new("/dev/full").exists() {
        return;
    }
    let f = Fixture::new();
    let before = f.hashes();
    let stderr = fails_with_one_line(f.record().args(["-o", "/dev/full"]), 2);
    assert!(stderr.starts_with("error: /dev/full: "), "{stderr}");
    assert!(std::fs::metadata("/dev/full").unwrap().file_type().is_char_device());
    assert_eq!(f.hashes(), before);
}

#[test]
fn record_into_a_fifo_writes_the_whole_chain_to_its_reader() {
    let f = Fixture::new();
    let fifo = f.path("chain.fifo");
    assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read(fifo).unwrap())
    };
    f.record().arg("-o").arg(&fifo).assert().success();
    assert_eq!(text(reader.join().unwrap()), golden_chain());
    assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo(), "still a FIFO");
    f.assert_no_partial();
}

#[test]
fn record_to_dev_stdout_writes_stdout() {
    let f = Fixture::new();
    let out = f.record().args(["-o", "/dev/stdout"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(text(out.stdout), golden_chain());
}

#[test]
fn record_to_a_250_byte_file_name() {
    let f = Fixture::new();
    let name = format!("{}.json", "c".repeat(245));
    assert_eq!(name.len(), 250);
    let dest = f.path(&name);
    f.record().arg("-o").arg(&dest).assert().success();
    assert_eq!(std::fs::read_to_string(&dest).unwrap(), golden_chain());
    f.assert_no_partial();
    // Replaced whole, its mode kept.
    std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(0o600)).unwrap();
    f.record().arg("-o").arg(&dest).assert().success();
    assert_eq!(std::fs::metadata(&dest).unwrap().permissions().mode() & 0o777, 0o600);
    f.assert_no_partial();
}

#[test]
fn record_through_a_symlink_replaces_its_target_and_keeps_the_link() {
    let f = Fixture::new();
    std::fs::write(f.path("old.json"), "old").unwrap();
    let link = f.path("link.json");
    std::os::unix::fs::symlink("old.json", &link).unwrap();
    f.record().arg("-o").arg(&link).assert().success();
    assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
    assert_eq!(std::fs::read_to_string(f.path("old.json")).unwrap(), golden_chain());
    f.assert_no_partial();
}

#[test]
fn a_failing_record_leaves_no_partial_and_the_old_file_untouched() {
    let f = Fixture::new();
    let dest = f.path("out.json");
    std::fs::write(&dest, "old").unwrap();
    let before = f.hashes();
    // Caught before the run: no such export, arguments of the wrong type.
    for bad in ["nosuch()", "add(\"one\")", "add(1, 2)", "demo:agent/api#nosuch()", "add"] {
        let stderr = fails_with_one_line(f.record().args(["--invoke", bad, "-o"]).arg(&dest), 2);
        assert!(!stderr.contains("partial"), "{stderr}");
        assert_eq!(f.hashes(), before, "{bad}");
        f.assert_no_partial();
    }
    // Failing mid-run: the answers run out at the second call.
    std::fs::write(f.path("few.json"), r#"{"demo:agent/host#next-token": ["1"]}"#).unwrap();
    let before = f.hashes();
    let stderr = fails_with_one_line(
        bin().arg("record").arg(f.path("counter.wat")).arg("--answers").arg(f.path("few.json")).args([
            "--no-cache",
            "--invoke",
            "add(1)",
            "--invoke",
            "add(2)",
            "-o",
        ]).arg(&dest),
        2,
    );
    assert!(stderr.contains("only 1 answer(s)"), "{stderr}");
    assert_eq!(f.hashes(), before);
    f.assert_no_partial();
}

#[test]
fn a_bad_invoke_is_caught_before_any_call_runs() {
    let f = Fixture::new();
    let stderr = fails_with_one_line(f.record().args(["--invoke", "nosuch()"]), 2);
    assert!(stderr.contains("the component has no export `nosuch`; it exports: "), "{stderr}");
    assert!(stderr.contains("add"), "{stderr}");
    let stderr = fails_with_one_line(f.record().args(["--invoke", "add(\"one\")"]), 2);
    assert!(stderr.contains("arguments of `add`"), "{stderr}");
    // The export calls' results, printed only after a run, are not there: nothing ran.
    assert!(!stderr.contains("trap"), "{stderr}");
}

#[test]
fn record_to_stdout_writes_nothing_when_a_later_invoke_fails() {
    let f = Fixture::new();
    let before = f.hashes();
    for bad in ["nosuch()", "add(\"one\")"] {
        let out = bin()
            .arg("record")
            .arg(f.path("counter.wat"))
            .arg("--answers")
            .arg(f.path("answers.json"))
            .args(["--no-cache", "--invoke", "add(1)", "--invoke", bad])
            .output()
            .unwrap();
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(out.stdout.is_empty(), "stdout is empty: {}", String::from_utf8_lossy(&out.stdout));
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
    }
    // Failing mid-run (answers run out at the second call): still nothing on stdout.
    std::fs::write(f.path("few.json"), r#"{"demo:agent/host#next-token": ["1"]}"#).unwrap();
    let out = bin()
        .arg("record")
        .arg(f.path("counter.wat"))
        .arg("--answers")
        .arg(f.path("few.json"))
        .args(["--no-cache", "--invoke", "add(1)", "--invoke", "add(2)"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let mut after = f.hashes();
    after.retain(|(name, _)| name != "few.json");
    assert_eq!(after, before);
    // And a run that succeeds writes the chain whole.
    assert_eq!(text(f.record().output().unwrap().stdout), golden_chain());
}

/// Starts `record` of the spinning component to `-o out.json`, waits until its temporary
/// file exists (the guest is running), sends `signal` and returns how the process ended.
fn interrupted_record(signal: i32) -> (Fixture, std::process::ExitStatus) {
    use std::os::unix::process::CommandExt;
    let f = Fixture::new();
    std::fs::write(f.path("spin.wat"), SPIN).unwrap();
    let before = f.hashes();
    let mut cmd = bin();
    cmd.arg("record")
        .arg(f.path("spin.wat"))
        .args(["--no-cache", "--no-wasi", "--timeout", "600", "--invoke", "spin()", "-o"])
        .arg(f.path("out.json"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    // SAFETY: setrlimit is async-signal-safe. No core file from SIGQUIT.
    unsafe {
        cmd.pre_exec(|| {
            let none = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
            libc::setrlimit(libc::RLIMIT_CORE, &none);
            Ok(())
        });
    }
    let mut child = cmd.spawn().unwrap();
    let started = Instant::now();
    while !f.names().iter().any(|n| n.ends_with(".partial")) {
        assert!(started.elapsed() < Duration::from_secs(60), "no temporary file appeared");
        assert!(child.try_wait().unwrap().is_none(), "record ended early");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(200));
    assert!(unsafe { libc::kill(child.id() as i32, signal) } == 0);
    let output = child.wait_with_output().unwrap();
    assert!(!String::from_utf8_lossy(&output.stderr).contains("panicked"));
    let mut after = f.hashes();
    after.retain(|(name, _)| !name.contains("partial"));
    assert_eq!(after, before);
    (f, output.status)
}

/// Every signal that ends a run from outside (Ctrl-C, `kill`, a closed terminal, Ctrl-\\)
/// removes the temporary file, and the process dies of that very signal, as it would with
/// no handler: a shell loop over `record` sees the signal and stops.
#[test]
fn every_ending_signal_mid_record_removes_the_temporary_file_and_kills_by_that_signal() {
    use std::os::unix::process::ExitStatusExt;
    for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT] {
        let (f, status) = interrupted_record(signal);
        assert_eq!(status.signal(), Some(signal), "died of signal {signal}, not {status:?}");
        f.assert_no_partial();
        assert!(!f.path("out.json").exists());
    }
}

/// Every command's stdout output, with an exit code for a run that writes it all.
fn stdout_commands(f: &Fixture) -> Vec<(&'static str, Command, i32)> {
    let chains = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/theater-chains");
    let mut diff = bin();
    diff.arg("diff").arg(chains.join("http-wasi-http-test-first.json")).arg(chains.join("http-wasi-http-test-two.json"));
    let mut diff_json = bin();
    diff_json
        .args(["diff", "--format", "json"])
        .arg(chains.join("http-wasi-http-test-first.json"))
        .arg(chains.join("http-wasi-http-test-two.json"));
    let mut check = bin();
    check.arg("check").arg(f.path("chain.json")).arg(chains.join("runtime-runtime-test.json"));
    let mut inspect = bin();
    inspect.arg("inspect").arg(f.path("chain.json"));
    let mut many = f.verify();
    many.arg(f.path("chain.json"));
    vec![
        ("diff", diff, 1),
        ("diff --format json", diff_json, 1),
        ("check", check, 0),
        ("inspect", inspect, 0),
        ("verify", f.verify(), 0),
        ("verify (many)", many, 0),
        ("record", f.record(), 0),
    ]
}

#[test]
fn a_full_disk_on_stdout_is_exit_2_and_one_line() {
    let f = Fixture::new();
    let before = f.hashes();
    for (name, mut cmd, _) in stdout_commands(&f) {
        let full = std::fs::OpenOptions::new().write(true).open("/dev/full").unwrap();
        let out = cmd.stdout(full).output().unwrap();
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(2), "{name}: {stderr}");
        assert!(stderr.lines().any(|l| l.starts_with("error: cannot write to stdout: ")), "{name}: {stderr}");
        assert!(!stderr.contains("panicked"), "{name}: {stderr}");
    }
    assert_eq!(f.hashes(), before);
}

#[test]
fn a_closed_pipe_on_stdout_ends_quietly_with_the_exit_code_of_the_work() {
    let f = Fixture::new();
    let before = f.hashes();
    for (name, mut cmd, code) in stdout_commands(&f) {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = cmd.stdout(writer).output().unwrap();
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(code), "{name}: {stderr}");
        assert!(!stderr.contains("panicked"), "{name}: {stderr}");
        assert!(!stderr.to_lowercase().contains("broken pipe"), "{name}: quietly: {stderr}");
    }
    assert_eq!(f.hashes(), before);
}

#[test]
fn stderr_on_a_full_disk_does_not_panic() {
    let f = Fixture::new();
    let full = std::fs::OpenOptions::new().write(true).open("/dev/full").unwrap();
    let out = bin().arg("check").arg(f.path("missing.json")).stderr(full).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// A chain for stdout (a FIFO, a device) is held whole in TMPDIR until the run succeeds;
/// when it does not fit there (here a file size limit, as a small TMPDIR gives ENOSPC), the
/// one error line says where it was held, why, and what to do. stdout stays empty.
#[test]
fn a_chain_held_for_stdout_that_does_not_fit_in_tmpdir_says_why_and_what_to_do() {
    use std::os::unix::process::CommandExt;
    let f = Fixture::new();
    let tmp = f.path("tmp");
    std::fs::create_dir(&tmp).unwrap();
    let mut cmd = f.record();
    cmd.env("TMPDIR", &tmp).stdout(Stdio::piped());
    // SAFETY: signal and setrlimit are async-signal-safe. With SIGXFSZ ignored, a write
    // past the limit fails with EFBIG instead of killing the process.
    unsafe {
        cmd.pre_exec(|| {
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            let small = libc::rlimit { rlim_cur: 512, rlim_max: 512 };
            libc::setrlimit(libc::RLIMIT_FSIZE, &small);
            Ok(())
        });
    }
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    let line = stderr.lines().find(|l| l.starts_with("error:")).unwrap_or_else(|| panic!("{stderr}"));
    assert!(line.contains(&format!("stdout (held in {} until the run ends)", tmp.display())), "{line}");
    assert!(line.contains("set TMPDIR to a directory with room for it, or write to a file with -o"), "{line}");
    assert!(out.stdout.is_empty(), "nothing of the chain on stdout");
    assert_eq!(std::fs::read_dir(&tmp).unwrap().count(), 0, "nothing left in TMPDIR");
}
