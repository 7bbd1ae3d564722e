//! Many chains against one component in one run, the way CI gates a release on "this build
//! replays every golden chain we keep": the component is compiled once, chains are replayed
//! in parallel (each in its own store, by [`replay::verify`]), and verdicts come back in input
//! order whatever order they finish in.
//!
//! Also here: which files of a directory are chains ([`chains_in_dir`]), the deterministic
//! split of a chain set across CI jobs ([`Shard`]), the counts of a run ([`Summary`]) and the
//! order of severity that gives a run its one exit code ([`severity`]).

use crate::chain::ChainReader;
use crate::replay::{self, Status, VerifyOptions, VerifyReport};
use crate::runtime::{Loaded, Runtime};
use serde::Serialize;
use std::collections::BTreeMap;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Mutex;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// File name extensions taken as chains when a directory is given (`--chains DIR`).
pub const CHAIN_EXTENSIONS: &[&str] = &["json", "jsonl", "ndjson", "chain"];

/// Extensions a compressed chain may have after its chain extension (`run.json.zst`): the
/// compression itself is told by the file's first bytes, as every command reads it.
pub const COMPRESSED_EXTENSIONS: &[&str] = &["zst", "zstd", "gz"];

/// How severe a verdict is, for the one exit code of a run: broken (3) > error (2) >
/// empty (4) > diverged (1) > verified (0). A chain that fails its own integrity check is
/// worst: the evidence itself is untrustworthy. An error (unreadable input) is next, then a
/// chain with no export call: in both, nothing was proved either way. A divergence is a
/// real, well-evidenced behaviour change.
pub fn severity(status: Status) -> u8 {
    match status {
        Status::Verified => 0,
        Status::Diverged => 1,
        Status::Empty => 2,
        Status::Error => 3,
        Status::Broken => 4,
    }
}

/// `K/N`: the K-th (1-based) of N disjoint parts of a chain set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// 1-based, at most `count`.
    pub index: usize,
    pub count: usize,
}

/// Why a `--shard` value is not `K/N` with 1 <= K <= N.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{text}`: {why} (expected K/N with 1 <= K <= N, e.g. 2/4)")]
pub struct ShardError {
    text: String,
    why: &'static str,
}

impl FromStr for Shard {
    type Err = ShardError;

    fn from_str(text: &str) -> Result<Shard, ShardError> {
        let err = |why| ShardError { text: text.to_string(), why };
        let (k, n) = text.split_once('/').ok_or_else(|| err("no `/`"))?;
        // `usize::from_str` takes a leading `+`; a shard spec has plain digits only.
        let number = |s: &str| {
            if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
                return Err(err("K and N must be whole numbers"));
            }
            s.parse::<usize>().map_err(|_| err("number too large"))
        };
        let (index, count) = (number(k)?, number(n)?);
        if count == 0 {
            return Err(err("N must be at least 1"));
        }
        if index == 0 || index > count {
            return Err(err("K must be between 1 and N"));
        }
        Ok(Shard { index, count })
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl Shard {
    /// The chains of this shard, in their input order. Membership depends only on a chain's
    /// rank among all the chains' paths sorted (round robin by rank), so every job of a
    /// matrix computes the same partition without talking to the others, the parts are
    /// disjoint and together cover the set, and their sizes differ by at most one.
    pub fn select(&self, chains: Vec<PathBuf>) -> Vec<PathBuf> {
        let mut order: Vec<usize> = (0..chains.len()).collect();
        // Stable: duplicates given twice keep their relative order.
        order.sort_by(|&a, &b| chains[a].cmp(&chains[b]));
        let mut keep = vec![false; chains.len()];
        for (rank, &i) in order.iter().enumerate() {
            keep[i] = rank % self.count == self.index - 1;
        }
        chains.into_iter().zip(keep).filter_map(|(path, keep)| keep.then_some(path)).collect()
    }
}

/// Why a chain directory could not be listed.
#[derive(Debug, thiserror::Error)]
#[error("{path}: cannot list chains: {source}")]
pub struct ListError {
    pub path: String,
    pub source: std::io::Error,
}

/// What `--chains DIR` found under DIR: the chains, and every other entry it passed over.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Listing {
    /// Sorted by path.
    pub chains: Vec<PathBuf>,
    /// Sorted by path: files that are not chains, hidden files and directories (not walked
    /// into). Each is named on stderr, so nothing under DIR goes unverified unsaid.
    pub skipped: Vec<Skipped>,
}

/// An entry of a chain directory that is not replayed, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub path: PathBuf,
    pub why: &'static str,
}

/// Every chain under `dir`, recursively, sorted by path: the files named as chains
/// ([`has_chain_extension`]: `.json`, `.jsonl`, `.ndjson`, `.chain`, each also compressed,
/// `.json.zst`), and the chains of theater's event stores (the head files in the
/// `chains/` directory of a directory that also has `events/`; the events themselves are
/// the store's, neither chains nor skipped). Anything else is [`Skipped`]: hidden entries
/// (a hidden directory as one entry), pending `.new` chains, other files.
pub fn chains_in_dir(dir: &Path) -> Result<Listing, ListError> {
    let mut listing = Listing::default();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        let error = |source| ListError { path: current.display().to_string(), source };
        let store = crate::chain::is_event_store(&current);
        for entry in std::fs::read_dir(&current).map_err(error)? {
            let entry = entry.map_err(error)?;
            let path = entry.path();
            // Follows symlinks: a directory of golden chains may well link to shared ones.
            let meta = std::fs::metadata(&path).map_err(error)?;
            let skip = |why| Skipped { path: path.clone(), why };
            if entry.file_name().to_string_lossy().starts_with('.') {
                let why = if meta.is_dir() { "a hidden directory (not searched)" } else { "a hidden file" };
                listing.skipped.push(skip(why));
            } else if meta.is_dir() {
                // A store's events are read through its heads.
                if !(store && entry.file_name() == "events") {
                    pending.push(path);
                }
            } else if !meta.is_file() {
                listing.skipped.push(skip("not a regular file"));
            } else if has_chain_extension(&path) {
                listing.chains.push(path);
            } else if crate::pending::is_pending(&path) {
                listing.skipped.push(skip("a pending chain (.new): see `theater-replay pending`"));
            } else if crate::chain::is_store_head(&path) {
                listing.chains.push(path);
            } else {
                listing.skipped.push(skip("not named as a chain (.json, .jsonl, .ndjson or .chain, or one of them .zst or .gz)"));
            }
        }
    }
    listing.chains.sort();
    listing.skipped.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(listing)
}

/// Every file under `dir` that `keep` takes, by the rules of [`chains_in_dir`].
pub fn files_in_dir(dir: &Path, keep: impl Fn(&Path) -> bool) -> Result<Vec<PathBuf>, ListError> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        let error = |source| ListError { path: current.display().to_string(), source };
        for entry in std::fs::read_dir(&current).map_err(error)? {
            let entry = entry.map_err(error)?;
            if entry.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            let path = entry.path();
            // Follows symlinks: a directory of golden chains may well link to shared ones.
            let meta = std::fs::metadata(&path).map_err(error)?;
            if meta.is_dir() {
                pending.push(path);
            } else if meta.is_file() && keep(&path) {
                found.push(path);
            }
        }
    }
    found.sort();
    Ok(found)
}

/// Whether `path` is named as a chain: `.json`, `.jsonl`, `.ndjson` or `.chain`, optionally
/// followed by a compression's extension (`.json.zst`, `.chain.gz`).
pub fn has_chain_extension(path: &Path) -> bool {
    let is = |path: &Path, list: &[&str]| {
        path.extension().and_then(|e| e.to_str()).is_some_and(|e| list.iter().any(|c| e.eq_ignore_ascii_case(c)))
    };
    is(path, CHAIN_EXTENSIONS) || (is(path, COMPRESSED_EXTENSIONS) && is(&path.with_extension(""), CHAIN_EXTENSIONS))
}

/// Settings of a many-chain run.
#[derive(Debug, Clone)]
pub struct BatchOptions {
    /// How each chain is replayed (its `progress` is not used: chains run side by side).
    pub verify: VerifyOptions,
    /// Chains replayed at the same time.
    pub jobs: NonZeroUsize,
    /// Start no chain after the first one that does not verify.
    pub fail_fast: bool,
    /// Its `chains` advance by one per finished chain, in finishing order.
    pub progress: Option<std::sync::Arc<crate::progress::Progress>>,
}

/// The verdict on one chain of a run.
#[derive(Debug, Clone)]
pub struct ChainVerdict {
    pub path: PathBuf,
    pub report: VerifyReport,
    /// Wall-clock time of this chain's replay (opening the file included).
    pub elapsed: Duration,
}

/// One chain of a run: replayed, or not started because `--fail-fast` stopped the run.
#[derive(Debug, Clone)]
pub enum ChainResult {
    /// Boxed: a report is large, and a run may hold many not-run entries.
    Finished(Box<ChainVerdict>),
    NotRun(PathBuf),
}

impl ChainResult {
    pub fn path(&self) -> &Path {
        match self {
            ChainResult::Finished(v) => &v.path,
            ChainResult::NotRun(path) => path,
        }
    }
}

/// Everything a many-chain run found out, one result per chain in input order.
#[derive(Debug, Clone)]
pub struct BatchReport {
    pub results: Vec<ChainResult>,
    pub elapsed: Duration,
}

/// The counts of a run. Serialized with fields in this order (scripts may diff it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub chains: usize,
    pub verified: usize,
    pub diverged: usize,
    pub broken: usize,
    pub error: usize,
    /// Chains with no export call in them ([`Status::Empty`]).
    pub empty: usize,
    /// Not started because `--fail-fast` stopped the run.
    pub not_run: usize,
    /// Files under `--chains DIR` that are not chains (see [`Listing::skipped`]); set by
    /// the caller that listed the directory.
    pub skipped: usize,
}

impl BatchReport {
    pub fn summary(&self) -> Summary {
        let mut s = Summary { chains: self.results.len(), ..Summary::default() };
        for result in &self.results {
            match result {
                ChainResult::NotRun(_) => s.not_run += 1,
                ChainResult::Finished(v) => match v.report.status {
                    Status::Verified => s.verified += 1,
                    Status::Diverged => s.diverged += 1,
                    Status::Broken => s.broken += 1,
                    Status::Error => s.error += 1,
                    Status::Empty => s.empty += 1,
                },
            }
        }
        s
    }

    /// The most severe verdict by [`severity`]; `None` when no chain was replayed.
    pub fn worst(&self) -> Option<Status> {
        self.results
            .iter()
            .filter_map(|r| match r {
                ChainResult::Finished(v) => Some(v.report.status),
                ChainResult::NotRun(_) => None,
            })
            .max_by_key(|&s| severity(s))
    }
}

/// Who may start the next chain. One lock for both fields, so that once a failure has
/// stopped the run no chain is started after it, and the started chains are always a prefix
/// of the input (the verdicts can then be written in input order without waiting on gaps).
struct Claims {
    next: usize,
    stopped: bool,
}

/// Replays every chain in `chains` against `loaded` on up to `options.jobs` threads.
///
/// `on_verdict` is called on the calling thread for each finished chain, in input order, as
/// soon as every chain before it has finished: a caller can stream results while the run goes
/// on. The returned report has one result per chain, in input order.
pub fn verify_many(
    runtime: &Runtime,
    loaded: &Loaded,
    chains: &[PathBuf],
    options: &BatchOptions,
    mut on_verdict: impl FnMut(&ChainVerdict),
) -> BatchReport {
    let start = Instant::now();
    let jobs = options.jobs.get().min(chains.len()).max(1);
    let claims = Mutex::new(Claims { next: 0, stopped: false });
    let (tx, rx) = mpsc::channel::<(usize, ChainVerdict)>();
    let mut finished: Vec<Option<ChainVerdict>> = vec![None; chains.len()];

    std::thread::scope(|scope| {
        for _ in 0..jobs {
            let tx = tx.clone();
            let claims = &claims;
            scope.spawn(move || {
                while let Some(i) = claim(claims, chains.len()) {
                    let verdict = verify_one(runtime, loaded, &chains[i], &options.verify);
                    if options.fail_fast && verdict.report.status != Status::Verified {
                        lock(claims).stopped = true;
                    }
                    if let Some(progress) = &options.progress {
                        progress.chain_done();
                    }
                    // The receiver lives until every sender is gone; a send cannot fail.
                    let _ = tx.send((i, verdict));
                }
            });
        }
        // Only the workers' senders remain: the loop below ends when the last worker does.
        drop(tx);
        let mut next_out = 0;
        let mut waiting = BTreeMap::new();
        for (i, verdict) in rx {
            waiting.insert(i, verdict);
            while let Some(verdict) = waiting.remove(&next_out) {
                on_verdict(&verdict);
                finished[next_out] = Some(verdict);
                next_out += 1;
            }
        }
        // Started chains are a prefix, so nothing should be left; should that ever change,
        // still hand everything out in input order rather than drop it.
        for (i, verdict) in waiting {
            on_verdict(&verdict);
            finished[i] = Some(verdict);
        }
    });

    let results = chains
        .iter()
        .zip(finished)
        .map(|(path, verdict)| match verdict {
            Some(verdict) => ChainResult::Finished(Box::new(verdict)),
            None => ChainResult::NotRun(path.clone()),
        })
        .collect();
    BatchReport { results, elapsed: start.elapsed() }
}

/// The index of the next chain to start, or `None` when all `total` are taken or the run
/// stopped.
fn claim(claims: &Mutex<Claims>, total: usize) -> Option<usize> {
    let mut claims = lock(claims);
    if claims.stopped || claims.next >= total {
        return None;
    }
    let i = claims.next;
    claims.next += 1;
    Some(i)
}

/// The claims stay consistent even if a worker panicked holding the lock (both fields are
/// written in single steps), so a poisoned lock is simply taken over.
fn lock(claims: &Mutex<Claims>) -> std::sync::MutexGuard<'_, Claims> {
    claims.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Replays one chain. Every failure becomes that chain's verdict, never the run's: a chain
/// that cannot be opened is an error, and a panic while replaying it (a bug of ours, which
/// the default hook still prints) is an error for that chain rather than the end of the run.
pub fn verify_one(runtime: &Runtime, loaded: &Loaded, path: &Path, options: &VerifyOptions) -> ChainVerdict {
    let start = Instant::now();
    let options = VerifyOptions { progress: None, ..options.clone() };
    let opened = ChainReader::open_or_stdin_with(path, options.read);
    let report = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        replay::verify_opened(runtime, loaded, opened, &options)
    }))
    .unwrap_or_else(|panic| {
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_string());
        VerifyReport::before_replay(loaded, Status::Error, None, Some(format!("internal error while replaying: {what}")))
    });
    ChainVerdict { path: path.to_path_buf(), report, elapsed: start.elapsed() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_specs() {
        assert_eq!("1/1".parse(), Ok(Shard { index: 1, count: 1 }));
        assert_eq!("3/4".parse(), Ok(Shard { index: 3, count: 4 }));
        for bad in ["", "1", "0/2", "3/2", "1/0", "a/2", "1/b", "-1/2", "+1/2", "1/2/3", " 1/2", "1 /2", "99999999999999999999/1"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn shards_partition_by_sorted_path_whatever_the_input_order() {
        let paths: Vec<PathBuf> = ["e", "a", "d", "b", "c", "g", "f"].iter().map(PathBuf::from).collect();
        let mut reversed = paths.clone();
        reversed.reverse();
        let mut all = Vec::new();
        for k in 1..=3 {
            let shard = Shard { index: k, count: 3 };
            let part = shard.select(paths.clone());
            // Same members whatever order the chains were given in, kept in input order.
            let mut a = part.clone();
            let mut b = shard.select(reversed.clone());
            a.sort();
            b.sort();
            assert_eq!(a, b);
            assert!(part.len() == 2 || part.len() == 3);
            all.extend(part);
        }
        all.sort();
        let mut sorted = paths.clone();
        sorted.sort();
        assert_eq!(all, sorted);
        assert_eq!(Shard { index: 1, count: 3 }.select(paths), ["a", "d", "g"].map(PathBuf::from));
    }

    #[test]
    fn severity_order() {
        let order = [Status::Verified, Status::Diverged, Status::Empty, Status::Error, Status::Broken];
        assert!(order.windows(2).all(|w| severity(w[0]) < severity(w[1])));
    }
}
