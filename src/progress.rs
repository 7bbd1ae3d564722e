//! How far a long operation has got, for a caller to show: the library only counts, and
//! whoever shows progress (the CLI's bar, an embedder's log line) reads the counts from any
//! thread, as often as it likes.
//!
//! Counting is a relaxed atomic add or store where the work is already done (a chain's
//! reader counts bytes per read of its source, 256 KiB at a time, and events as it parses
//! them), never a callback: a replay runs at up to a million events a second, and a
//! callback per event would be a measurable share of that.
//!
//! ```
//! use std::sync::Arc;
//! use theater_replay::chain::{ChainReader, check_reader};
//! use theater_replay::progress::Progress;
//!
//! let text = r#"[{"hash":[1],"parent_hash":null,"event_type":"a","data":[]}]"#;
//! let reader = ChainReader::from_reader("chain.json", Box::new(std::io::Cursor::new(text))).unwrap();
//! let progress = Arc::new(Progress::new());
//! progress.watch(&reader);
//! let _ = check_reader(reader);
//! let now = progress.snapshot();
//! assert_eq!((now.events, now.bytes), (1, text.len() as u64));
//! ```

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

/// What a chain's reader has read so far: shared by the reader (which writes it, from
/// whatever thread reads) and the [`Progress`] watching it.
#[derive(Debug, Default)]
pub(crate) struct ReadCounts {
    /// Bytes taken from the source: of the file as it is stored, so compressed bytes for
    /// a compressed chain (which is what its size on disk, and so a bar's total, counts).
    pub bytes: AtomicU64,
    /// Events parsed.
    pub events: AtomicU64,
}

/// Counters of one operation (a replay, a check, a diff of two chains, a recording).
///
/// Share it as an `Arc`: the operation advances it, the caller reads [`Progress::snapshot`].
#[derive(Debug, Default)]
pub struct Progress {
    /// The readers watched; their counts are summed (a diff reads two chains).
    readers: Mutex<Vec<Arc<ReadCounts>>>,
    written: AtomicU64,
    calls: AtomicU64,
    chains: AtomicU64,
}

/// The counts at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// Events read from the chains watched, plus events written by a recording.
    pub events: u64,
    /// Bytes read of the chains watched, as stored (compressed, for a compressed chain).
    pub bytes: u64,
    /// Export calls finished by a recording.
    pub calls: u64,
    /// Chains finished by a many-chain run.
    pub chains: u64,
}

impl Progress {
    /// Counters at zero, watching no reader yet.
    pub fn new() -> Progress {
        Progress::default()
    }

    /// Counts what `reader` reads from now on (and what it has read already: the first
    /// bytes, read to tell its container).
    pub fn watch(&self, reader: &crate::chain::ChainReader) {
        self.readers.lock().unwrap_or_else(PoisonError::into_inner).push(reader.counts());
    }

    /// The counts now (each counter read on its own, so they may be a moment apart).
    pub fn snapshot(&self) -> Snapshot {
        let (mut events, mut bytes) = (0, 0);
        for counts in self.readers.lock().unwrap_or_else(PoisonError::into_inner).iter() {
            events += counts.events.load(Ordering::Relaxed);
            bytes += counts.bytes.load(Ordering::Relaxed);
        }
        Snapshot {
            events: events + self.written.load(Ordering::Relaxed),
            bytes,
            calls: self.calls.load(Ordering::Relaxed),
            chains: self.chains.load(Ordering::Relaxed),
        }
    }

    pub(crate) fn event_written(&self) {
        self.written.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn call_done(&self) {
        self.calls.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn chain_done(&self) {
        self.chains.fetch_add(1, Ordering::Relaxed);
    }
}

/// A source whose bytes are counted as they are read.
pub(crate) struct Counted<R> {
    pub inner: R,
    pub counts: Arc<ReadCounts>,
}

impl<R: std::io::Read> std::io::Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.counts.bytes.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}
