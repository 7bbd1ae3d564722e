//! `cargo bench --bench check`: `check` against the straightforward method on a large
//! pretty-printed chain, and the peak memory of the real binary checking it.
//!
//! Generates (with `gen-chain`) a 100,000-event pretty-printed SHA-1 chain of about 500 MB
//! in a temporary directory, then measures in the same run:
//!   (a) `theater-replay check FILE`, the release binary, as a whole process;
//!   (b) the straightforward method (theater's): read the whole file, deserialize every
//!       event with serde_json, re-serialize each with an empty hash, digest, compare; as a
//!       whole process too (this bench binary run again as a child);
//! both with the two cores free and then with one core kept busy by a spinning process,
//! and prints the times, their ratios, and the peak RSS of `theater-replay check FILE`.
//! Targets: (a) at least 5x faster than (b), either way; peak RSS under 32 MB.
//!
//! BENCH_EVENTS and BENCH_DATA_BYTES override the chain's shape (for a quick run). Run
//! without `--bench` (as `cargo test --all-targets` does) it checks 2,000 events only.

use serde::{Deserialize, Serialize};
use sha1::{Digest, Sha1};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn main() {
    child_role();
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

    // Both are timed as whole processes (start-up, reading, exit), each the best of its
    // runs, from the page cache (the file was just written): first with both cores free,
    // then with one core kept busy by a spinning process.
    for busy in [false, true] {
        let spinner = busy.then(|| {
            Spinner(Command::new(std::env::current_exe().expect("own path")).env(CHILD, "spin").spawn().expect("spawn spinner"))
        });
        let label = if busy { "one core busy" } else { "cores free" };
        let ours = best_of(5, || {
            let status = Command::new(env!("CARGO_BIN_EXE_theater-replay"))
                .arg("check")
                .arg(&path)
                .stdout(std::process::Stdio::null())
                .status()
                .expect("run check");
            assert!(status.success(), "check failed");
        });
        let naive = best_of(3, || {
            let status = Command::new(std::env::current_exe().expect("own path"))
                .env(CHILD, "naive")
                .env(NAIVE_PATH, &path)
                .env(NAIVE_EVENTS, events.to_string())
                .status()
                .expect("run the straightforward method");
            assert!(status.success(), "straightforward method failed");
        });
        drop(spinner);
        println!("[{label}]");
        println!("  theater-replay check:   {:>7.3} s  ({:.0} MB/s)", secs(ours), size as f64 / 1e6 / secs(ours));
        println!("  straightforward method: {:>7.3} s  ({:.0} MB/s)", secs(naive), size as f64 / 1e6 / secs(naive));
        let ratio = secs(naive) / secs(ours);
        println!("  speed-up:               {ratio:>7.1}x  (target: at least 5x)");
    }
}

/// The spinning child, stopped when dropped (also when a measurement panics).
struct Spinner(std::process::Child);

impl Drop for Spinner {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Set in the environment of this bench's own child processes: `naive` runs the
/// straightforward method as a process of its own, `spin` keeps one core busy.
const CHILD: &str = "THEATER_REPLAY_BENCH_CHILD";
const NAIVE_PATH: &str = "THEATER_REPLAY_BENCH_NAIVE_PATH";
const NAIVE_EVENTS: &str = "THEATER_REPLAY_BENCH_NAIVE_EVENTS";

fn child_role() {
    match std::env::var(CHILD).as_deref() {
        Ok("naive") => {
            let path = std::env::var_os(NAIVE_PATH).expect("path");
            let events: u64 = std::env::var(NAIVE_EVENTS).expect("events").parse().expect("a number");
            assert_eq!(naive_check(Path::new(&path)), events);
            std::process::exit(0);
        }
        Ok("spin") => {
            // Busy until killed; black_box keeps the loop from being optimized away.
            let mut n = 0u64;
            loop {
                n = std::hint::black_box(n.wrapping_add(1));
            }
        }
        _ => {}
    }
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
