//! Event chains: the envelope theater writes, its canonical encoding and hash rule, the
//! containers chains are stored in, and integrity checking.
//!
//! Everything here streams: readers yield one [`Event`] at a time and nothing keeps more
//! than the current event, so memory does not grow with the length of a chain.

mod ahead;
mod check;
mod compress;
mod diff;
mod error;
mod hash;
mod integrity;
#[cfg(unix)]
mod mapped;
mod minify;
mod reader;
mod scan;
mod store;
pub mod runlog;
pub mod textlog;
mod writer;

#[cfg(feature = "cli")]
pub(crate) use ahead::ReadAhead;
pub use check::{CheckOutcome, Unchecked, UncheckedEvent, check_path, check_reader};
pub use compress::{Compression, zstd_writer};
pub use diff::{DiffOutcome, diff_readers};
pub use error::ChainError;
pub use hash::{Hash, HashAlg, canonical_hash, write_canonical};
pub use integrity::{Broken, BrokenReason, IntegrityChecker};
pub use reader::{ChainReader, Container, DEFAULT_MAX_EVENT_SIZE, ReadOptions};
pub use store::{is_store as is_event_store, is_store_head};
pub use writer::{ChainWriter, Layout, OutputFormat, write_compact};

/// One event of a chain, exactly as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Digest of the event's canonical form (see [`canonical_hash`]).
    pub hash: Vec<u8>,
    /// The previous event's `hash`; `None` only on the first event.
    pub parent_hash: Option<Vec<u8>>,
    /// `"wasm"` for export calls and results, `"<interface>/<function>"` for host calls.
    pub event_type: String,
    /// Payload bytes; UTF-8 JSON in theater's chains and in ours.
    pub data: Vec<u8>,
}

impl Event {
    /// Builds an event on top of `parent`, hashing it with `alg`.
    pub fn new_linked(alg: HashAlg, parent: Option<&[u8]>, event_type: String, data: Vec<u8>) -> Event {
        let hash = canonical_hash(alg, parent, &event_type, &data);
        Event { hash: hash.as_bytes().to_vec(), parent_hash: parent.map(<[u8]>::to_vec), event_type, data }
    }

    /// Recomputes this event's hash from its content, with the algorithm its length implies.
    pub fn recompute_hash(&self) -> Option<Hash> {
        let alg = HashAlg::from_len(self.hash.len())?;
        Some(canonical_hash(alg, self.parent_hash.as_deref(), &self.event_type, &self.data))
    }
}
