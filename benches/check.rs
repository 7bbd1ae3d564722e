//! `cargo bench --bench check`: `check` against the straightforward method on a large
//! pretty-printed chain, and the peak memory of the real binary checking it.
//!
//! Generates (with `gen-chain`) a 100,000-event pretty-printed SHA-1 chain of about 500 MB
//! in a temporary directory, then measures in the same run:
//!   (a) `chain::check_path`, the library call behind `theater-replay check`;
//!   (b) the straightforward method: read the whole file, deserialize every event with
//!       serde_json, re-serialize each with an empty hash, digest, compare;
//! and prints both times, their ratio, and the peak RSS of `theater-replay check FILE`.
//! Targets: (a) at least 5x faster than (b); peak RSS under 32 MB.
//!
//! BENCH_EVENTS and BENCH_DATA_BYTES override the chain's shape (for a quick run). Run
//! without `--bench` (as `cargo test --all-targets` does) it checks 2,000 events only.

use serde::{Deserialize, Serialize};
use sha1::{Digest, Sha1};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};
use theater_replay::chain;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --all-targets` runs this too, unoptimized,
    // and gets a small smoke run instead of half a gigabyte.
    let full = std::env::args().any(|a| a == "--bench");
    let events = env_or("BENCH_EVENTS", if full { 100_000 } else { 2_000 });
    // ~420 payload bytes an event makes ~5 KB of pretty-printed JSON: 500 MB for 100,000.
    let data_bytes = env_or("BENCH_DATA_BYTES", 420);
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("chain.json");

    let t = Instant::now();
    let status = Command::new(env!("CARGO_BIN_EXE_gen-chain"))
        .args(["--events", &events.to_string(), "--data-bytes", &data_bytes.to_string()])
        .args(["--container", "pretty", "--hash", "sha1", "-o"])
        .arg(&path)
        .status()
        .expect("run gen-chain");
    assert!(status.success(), "gen-chain failed");
    let size = std::fs::metadata(&path).expect("chain written").len();
    println!(
        "chain: {events} events, {data_bytes} payload bytes each, pretty JSON, {:.0} MB (generated in {:.1} s)",
        size as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );

    // Memory first: a child forked while this process is large would report our pages as
    // its own peak (Linux counts the pre-exec image in ru_maxrss).
    match peak_rss_of_check(&path) {
        Some(kib) => println!("peak RSS of `theater-replay check`: {:.1} MB  (target: under 32 MB)", kib as f64 / 1024.0),
        None => println!("peak RSS: not measured on this platform"),
    }

    // Both methods read the file from the page cache: it was just written, and each runs
    // more than once; the best of the runs is reported.
    let ours = best_of(3, || {
        let outcome = chain::check_path(&path).expect("readable");
        assert!(outcome.is_intact() && outcome.events == events, "{outcome:?}");
    });
    println!("check (library):        {:>7.3} s  ({:.0} MB/s)", secs(ours), size as f64 / 1e6 / secs(ours));
    let naive = best_of(2, || assert_eq!(naive_check(&path), events));
    println!("straightforward method: {:>7.3} s  ({:.0} MB/s)", secs(naive), size as f64 / 1e6 / secs(naive));
    let ratio = secs(naive) / secs(ours);
    println!("speed-up:               {ratio:>7.1}x  (target: at least 5x)");
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

fn best_of(runs: usize, mut f: impl FnMut()) -> Duration {
    (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .min()
        .unwrap_or_default()
}

#[derive(Deserialize)]
struct NaiveEvent {
    hash: Vec<u8>,
    parent_hash: Option<Vec<u8>>,
    event_type: String,
    data: Vec<u8>,
}

#[derive(Serialize)]
struct Emptied<'a> {
    hash: [u8; 0],
    parent_hash: &'a Option<Vec<u8>>,
    event_type: &'a str,
    data: &'a [u8],
}

/// The straightforward method; returns the number of intact events.
fn naive_check(path: &Path) -> u64 {
    let text = std::fs::read(path).expect("read");
    let events: Vec<NaiveEvent> = serde_json::from_slice(&text).expect("parse");
    let mut previous: Option<&[u8]> = None;
    for e in &events {
        assert_eq!(e.parent_hash.as_deref(), previous, "parent link");
        let canonical = serde_json::to_vec(&Emptied {
            hash: [],
            parent_hash: &e.parent_hash,
            event_type: &e.event_type,
            data: &e.data,
        })
        .expect("serialize");
        assert_eq!(Sha1::digest(&canonical).as_slice(), e.hash.as_slice(), "content hash");
        previous = Some(&e.hash);
    }
    events.len() as u64
}

/// Runs the real binary and returns its peak resident set size in KiB.
#[cfg(target_os = "linux")]
fn peak_rss_of_check(path: &Path) -> Option<i64> {
    let child = Command::new(env!("CARGO_BIN_EXE_theater-replay"))
        .arg("check")
        .arg(path)
        .stdout(std::process::Stdio::null())
        .spawn()
        .ok()?;
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: a zeroed rusage is a valid value; wait4 only writes into the two out-pointers,
    // which point at live locals. We reap the child ourselves (std's Child is not waited
    // on afterwards) so that we get this child's own rusage, not a maximum over children.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    if reaped != pid || !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
        eprintln!("theater-replay check did not succeed (status {status})");
        return None;
    }
    Some(usage.ru_maxrss)
}

#[cfg(not(target_os = "linux"))]
fn peak_rss_of_check(_path: &Path) -> Option<i64> {
    None
}
