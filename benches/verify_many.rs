//! `verify` with many chains, end to end through the binary (what a CI job pays):
//!
//! 1. 200 chains against one component, `-j 1` versus `-j 2` (warm compile cache);
//! 2. start-up of a run with a cold compile cache versus a warm one, for the small fixture
//!    component and for a synthetic one with 3000 extra functions (where compiling dominates).
//!
//! `cargo bench --bench verify_many` (builds the release binary). Prints a table; each figure
//! is the median of a few runs. A plain program, not criterion: one sample is a whole process
//! run of up to seconds, and the point is the ratio between settings.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_theater-replay");
const COUNTER: &str = "fixtures/components/counter.wat";
/// `add` calls per chain: 4 events each, so a chain has 1 + 4 * CALLS events.
const CALLS: usize = 50;

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --all-targets` runs this program without it,
    // and then a small smoke run keeps the test suite quick while still checking it works.
    let full = std::env::args().any(|a| a == "--bench");
    let (chains_n, repeat, functions) = if full { (200, 5, 3000) } else { (4, 1, 50) };
    let dir = tempfile::tempdir().expect("a temporary directory");
    let root = dir.path();
    let answers = root.join("answers.json");
    let tokens: Vec<String> = (0..CALLS).map(|i| (i * 7 % 100).to_string()).collect();
    std::fs::write(&answers, serde_json::json!({ "demo:agent/host#next-token": tokens }).to_string())
        .expect("write answers");

    let counter = Path::new(COUNTER).to_path_buf();
    let chains = root.join("chains");
    std::fs::create_dir(&chains).expect("mkdir");
    let first = chains.join("000.json");
    record(&counter, &answers, &first);
    for i in 1..chains_n {
        std::fs::copy(&first, chains.join(format!("{i:03}.json"))).expect("copy chain");
    }
    let events = 1 + 4 * CALLS;

    let warm = root.join("warm-cache");
    let dir_arg = chains.display().to_string();
    verify(&counter, &["--chains", &dir_arg], Some(&warm)); // fills the cache
    println!("verify_many: {chains_n} chains x {events} events against {COUNTER}, median of {repeat}");
    let mut by_jobs = Vec::new();
    for jobs in ["1", "2"] {
        let t = median(repeat, || verify(&counter, &["--chains", &dir_arg, "-j", jobs], Some(&warm)));
        println!("  -j {jobs}: {:>8.1} ms  ({:.0} chains/s)", ms(t), chains_n as f64 / t.as_secs_f64());
        by_jobs.push(t);
    }
    println!("  speed-up -j 2 / -j 1: {:.2}x", by_jobs[0].as_secs_f64() / by_jobs[1].as_secs_f64());

    // Start-up: one chain, so the run is mostly loading the component.
    let big = root.join("big.wat");
    std::fs::write(&big, big_component(functions)).expect("write big component");
    let big_chain = root.join("big.json");
    record(&big, &answers, &big_chain);
    for (name, component, chain) in [("counter.wat", &counter, &first), ("synthetic component", &big, &big_chain)]
    {
        let chain = chain.display().to_string();
        let mut n = 0;
        let cold = median(repeat, || {
            n += 1;
            verify(component, &[&chain], Some(&root.join(format!("cold-{n}"))))
        });
        let cache = root.join(format!("warm-{}", component.display().to_string().len()));
        verify(component, &[&chain], Some(&cache));
        let hot = median(repeat, || verify(component, &[&chain], Some(&cache)));
        let none = median(repeat, || verify(component, &[&chain, "--no-cache"], None));
        println!(
            "  start-up, {name}: cold cache {:.1} ms, warm cache {:.1} ms ({:.1}x), --no-cache {:.1} ms",
            ms(cold),
            ms(hot),
            cold.as_secs_f64() / hot.as_secs_f64(),
            ms(none)
        );
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn median(repeat: usize, mut f: impl FnMut() -> Duration) -> Duration {
    let mut times: Vec<Duration> = (0..repeat).map(|_| f()).collect();
    times.sort();
    times[repeat / 2]
}

fn record(component: &Path, answers: &Path, out: &Path) {
    let mut cmd = Command::new(BIN);
    cmd.arg("record").arg(component).arg("--answers").arg(answers).arg("-o").arg(out);
    for i in 0..CALLS {
        cmd.arg("--invoke").arg(format!("add({i})"));
    }
    // Captured: `record` prints each call's result, which would bury the table.
    let out = cmd.output().expect("run record");
    assert!(out.status.success(), "record failed: {}", String::from_utf8_lossy(&out.stderr));
}

/// Runs `verify COMPONENT ARGS...` and returns its wall-clock time; it must verify.
fn verify(component: &Path, args: &[&str], cache: Option<&PathBuf>) -> Duration {
    let mut cmd = Command::new(BIN);
    cmd.arg("verify").arg(component).args(args).arg("--quiet");
    if let Some(cache) = cache {
        cmd.arg("--cache-dir").arg(cache);
    }
    let start = Instant::now();
    let out = cmd.output().expect("run verify");
    let took = start.elapsed();
    assert!(out.status.success(), "verify failed: {}", String::from_utf8_lossy(&out.stdout));
    took
}

/// counter.wat plus a core module of `functions` arithmetic functions that is compiled with
/// the component (but never called), to show what the cache saves on a component whose
/// compilation is not trivial.
fn big_component(functions: usize) -> String {
    let base = std::fs::read_to_string(COUNTER).expect("read counter.wat");
    let mut module = String::from("  (core module $Ballast\n");
    for i in 0..functions {
        module.push_str(&format!(
            "    (func (export \"f{i}\") (param i64 i64) (result i64)\n      \
             (i64.add (i64.mul (local.get 0) (i64.const {i})) (i64.xor (local.get 1) (i64.rotl (local.get 0) (i64.const 7)))))\n"
        ));
    }
    module.push_str("  )\n  (core module $Agent");
    base.replacen("  (core module $Agent", &module, 1)
}
