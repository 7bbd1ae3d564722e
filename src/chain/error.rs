//! The one error type of chain reading. Every variant names the file and the event index,
//! and malformed input also the byte offset (and line for text), so a one-line message
//! is enough to find the problem.

use super::integrity::{Broken, BrokenReason};
use std::fmt;
use std::io;

/// Why a chain could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    /// The file could not be opened or read.
    #[error("{path}: cannot read (event {index}, byte {offset}): {error}")]
    Io {
        /// The chain's name, as given.
        path: String,
        /// Events read before the failure.
        index: u64,
        /// Bytes read before the failure (of the decompressed text).
        offset: u64,
        /// What the system said.
        error: io::Error,
    },

    /// The bytes are not a chain in any container we know.
    #[error("{path}: event {index}, {}: {message}", Location { offset: *offset, line: *line })]
    Malformed {
        /// The chain's name, as given.
        path: String,
        /// The event the fault is in (events are counted from 0).
        index: u64,
        /// The fault's byte offset (in the decompressed text).
        offset: u64,
        /// The fault's line, from 1, where the container has lines worth naming.
        line: Option<u64>,
        /// What is wrong there.
        message: String,
    },

    /// A saved state chain whose `current_hash` is not its last event's hash. The file is
    /// well formed, so this is an integrity failure, not a parse error: see
    /// [`ChainError::integrity`].
    #[error(
        "{path}: current_hash {} does not match the hash of the last event {index} ({})",
        hex_or_null(stored.as_deref()), hex_or_null(last.as_deref())
    )]
    HeadMismatch {
        /// The chain's name, as given.
        path: String,
        /// Index of the last event (0 when the chain has none).
        index: u64,
        /// The last event's type ("" when the chain has none).
        event_type: String,
        /// The stored `current_hash` (`None` for `null`).
        stored: Option<Vec<u8>>,
        /// The last event's hash (`None` when the chain has no events).
        last: Option<Vec<u8>>,
    },

    /// An event longer than the most one event may take (`--max-event-size`): refused as
    /// it is read, before it is held in memory, wherever it is (see
    /// [`super::ReadOptions::max_event_size`]).
    #[error(
        "{path}: event {index}, byte {offset}: the event is larger than {}, the most one event may take (--max-event-size raises it)",
        Size(*limit)
    )]
    EventTooLarge {
        /// The chain's name, as given.
        path: String,
        /// The event's index.
        index: u64,
        /// Where the event starts (in the decompressed text).
        offset: u64,
        /// The limit, in bytes.
        limit: u64,
    },

    /// theater's event store does not hold a whole chain: an event's file is missing or is
    /// no event, the parent links loop, or the head is not a hash.
    #[error("{path}: {message}")]
    BadStore {
        /// The store's file at fault (the head, or an event's file).
        path: String,
        /// What is wrong.
        message: String,
    },
}

impl ChainError {
    /// The integrity failure this error stands for, if it is one (a head mismatch) rather
    /// than unreadable input.
    pub fn integrity(&self) -> Option<Broken> {
        match self {
            ChainError::HeadMismatch { index, event_type, stored, last, .. } => Some(Broken {
                index: *index,
                event_type: event_type.clone(),
                reason: BrokenReason::HeadMismatch,
                stored: stored.clone().unwrap_or_default(),
                computed: last.clone(),
                line: None,
            }),
            _ => None,
        }
    }

    /// The file the error is about.
    pub fn path(&self) -> &str {
        match self {
            ChainError::Io { path, .. }
            | ChainError::Malformed { path, .. }
            | ChainError::EventTooLarge { path, .. }
            | ChainError::HeadMismatch { path, .. }
            | ChainError::BadStore { path, .. } => path,
        }
    }

    /// Index of the event being read when the error occurred.
    pub fn index(&self) -> u64 {
        match self {
            ChainError::Io { index, .. }
            | ChainError::Malformed { index, .. }
            | ChainError::EventTooLarge { index, .. }
            | ChainError::HeadMismatch { index, .. } => *index,
            ChainError::BadStore { .. } => 0,
        }
    }

    /// Byte offset of the problem, where there is one.
    pub fn offset(&self) -> Option<u64> {
        match self {
            ChainError::Io { offset, .. } | ChainError::Malformed { offset, .. } | ChainError::EventTooLarge { offset, .. } => {
                Some(*offset)
            }
            ChainError::HeadMismatch { .. } | ChainError::BadStore { .. } => None,
        }
    }

    /// The line of a malformed spot, where the container has lines worth naming.
    pub fn line(&self) -> Option<u64> {
        match self {
            ChainError::Malformed { line, .. } => *line,
            _ => None,
        }
    }
}

struct Location {
    offset: u64,
    line: Option<u64>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "byte {}", self.offset)?;
        if let Some(line) = self.line {
            write!(f, " (line {line})")?;
        }
        Ok(())
    }
}

/// A size in bytes as a person reads it: MiB when it is a whole number of them (as the
/// flag takes it), else bytes.
pub(crate) struct Size(pub u64);

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            n if n >= 1 << 20 && n % (1 << 20) == 0 => write!(f, "{} MiB", n >> 20),
            n => write!(f, "{n} bytes"),
        }
    }
}

fn hex_or_null(bytes: Option<&[u8]>) -> String {
    bytes.map_or_else(|| "null".to_owned(), hex::encode)
}
