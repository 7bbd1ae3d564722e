//! Pending chains: the `<chain>.new` files `verify --accept` writes beside golden chains
//! that diverged (insta's model: the old chain stays as it is until a person accepts the new
//! one). Which files are pending ([`find`]), and what changed between a chain and its
//! successor ([`compare`]).

use crate::batch;
use crate::chain::{ChainError, ChainReader, Event};
use crate::payload::{Payload, RECORDING_EVENT_TYPE};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// The extension of a pending chain, after the chain's own name: `counter.json.new`.
pub const EXTENSION: &str = "new";

/// Where the successor of `chain` is written.
pub fn pending_path(chain: &Path) -> PathBuf {
    let mut name = chain.as_os_str().to_owned();
    name.push(".");
    name.push(EXTENSION);
    PathBuf::from(name)
}

/// A chain and its pending successor.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Pending {
    /// The golden chain (which may not exist yet).
    pub chain: PathBuf,
    /// Its successor, `<chain>.new`.
    pub new: PathBuf,
}

/// Why the pending chains cannot be listed.
#[derive(Debug, thiserror::Error)]
pub enum FindError {
    #[error(transparent)]
    List(#[from] batch::ListError),
    #[error("{0}: no pending chain ({0}.new does not exist)")]
    NotPending(String),
    #[error("{0}: no such file or directory")]
    Missing(String),
    /// A `.new` that exists but is no file (a FIFO, a directory): not "missing", and never
    /// read (a FIFO would block) nor removed.
    #[error("{path}: is {kind}, not a pending chain (a pending chain is a regular file); left as it is")]
    NotAFile { path: String, kind: &'static str },
}

/// What a file that is not a regular file is, in a message.
pub fn file_kind(meta: &std::fs::Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_file() {
        "a regular file"
    } else {
        "not a regular file"
    }
}

/// The `.new` at `new` if it exists: `Ok(true)` for a regular file (links followed),
/// [`FindError::NotAFile`] for anything else.
fn pending_file(new: &Path) -> Result<bool, FindError> {
    match std::fs::metadata(new) {
        Ok(meta) if meta.is_file() => Ok(true),
        Ok(meta) => Err(FindError::NotAFile { path: new.display().to_string(), kind: file_kind(&meta) }),
        Err(_) => Ok(false),
    }
}

/// Whether `path` is a pending chain: `<name>.<chain extension>.new`.
pub(crate) fn is_pending(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == EXTENSION)
        && path.file_stem().is_some_and(|stem| batch::has_chain_extension(Path::new(stem)))
}

/// The pending chains `paths` name, sorted by path, each once: a directory gives every
/// pending chain under it (recursively, as `verify --chains` finds chains); a file gives
/// itself when it is a `.new` file, else its `.new` successor, which must exist.
pub fn find(paths: &[PathBuf]) -> Result<Vec<Pending>, FindError> {
    let mut found = Vec::new();
    for path in paths {
        // A pending chain named as such that is no file is refused, not searched or skipped.
        if is_pending(path) && pending_file(path)? {
            found.push(of_new(path.clone()));
        } else if path.is_dir() {
            for new in batch::files_in_dir(path, is_pending)? {
                found.push(of_new(new));
            }
        } else if path.extension().is_some_and(|e| e == EXTENSION) && path.is_file() {
            found.push(of_new(path.clone()));
        } else {
            let new = pending_path(path);
            if pending_file(&new)? {
                found.push(Pending { chain: path.clone(), new });
            } else if path.exists() {
                return Err(FindError::NotPending(path.display().to_string()));
            } else {
                return Err(FindError::Missing(path.display().to_string()));
            }
        }
    }
    found.sort();
    found.dedup();
    Ok(found)
}

fn of_new(new: PathBuf) -> Pending {
    Pending { chain: new.with_extension(""), new }
}

/// What changed from a chain to its successor. Events are compared by content (type and
/// payload): hashes link each event to all before it, so after one change every hash
/// differs. The recording header's component hash is left out: it always changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// Events of the old chain; `None` when there is none yet.
    pub old_events: Option<u64>,
    pub new_events: u64,
    /// The first index where the two chains' events differ; `None` when they do not.
    pub first_difference: Option<u64>,
    /// The event type at that index, in the new chain (else the old one).
    pub event_type: Option<String>,
    /// Events in the new chain and not the old one, and the other way round, by a minimal
    /// edit script (Myers).
    pub added: u64,
    pub removed: u64,
}

/// Compares a pending chain with the chain it would replace.
pub fn compare(pending: &Pending) -> Result<Change, ChainError> {
    let new = read_keys(&pending.new)?;
    let old = if pending.chain.exists() { Some(read_keys(&pending.chain)?) } else { None };
    let Some(old) = old else {
        let n = new.len() as u64;
        return Ok(Change {
            old_events: None,
            new_events: n,
            first_difference: None,
            event_type: None,
            added: n,
            removed: 0,
        });
    };
    let first = old.iter().zip(&new).position(|(a, b)| a.0 != b.0).or_else(|| {
        // One is a prefix of the other: they differ where the shorter ends.
        (old.len() != new.len()).then_some(old.len().min(new.len()))
    });
    let event_type = first.and_then(|i| new.get(i).or_else(|| old.get(i))).map(|(_, t)| t.clone());
    let keys = |events: &[(Key, String)]| events.iter().map(|(k, _)| *k).collect::<Vec<_>>();
    let (mut added, mut removed) = (0, 0);
    for op in similar::capture_diff_slices(similar::Algorithm::Myers, &keys(&old), &keys(&new)) {
        match op {
            similar::DiffOp::Equal { .. } => {}
            similar::DiffOp::Delete { old_len, .. } => removed += old_len as u64,
            similar::DiffOp::Insert { new_len, .. } => added += new_len as u64,
            similar::DiffOp::Replace { old_len, new_len, .. } => {
                removed += old_len as u64;
                added += new_len as u64;
            }
        }
    }
    Ok(Change {
        old_events: Some(old.len() as u64),
        new_events: new.len() as u64,
        first_difference: first.map(|i| i as u64),
        event_type,
        added,
        removed,
    })
}

/// An event's content, by digest (chains can be long; only equality matters).
pub(crate) type Key = [u8; 32];

/// Each event of the chain at `path`: its content's [`Key`] and its type.
pub(crate) fn read_keys(path: &Path) -> Result<Vec<(Key, String)>, ChainError> {
    ChainReader::open(path)?.map(|event| event.map(|e| (key(&e), e.event_type))).collect()
}

fn key(event: &Event) -> Key {
    let mut hasher = Sha256::new();
    hasher.update(event.event_type.as_bytes());
    hasher.update([0]);
    match Payload::decode(&event.data) {
        // The header says which build recorded the chain: not a change of behaviour.
        Ok(Payload::Recording { format, version, .. }) if event.event_type == RECORDING_EVENT_TYPE => {
            hasher.update(format!("{format}/{version}").as_bytes());
        }
        _ => hasher.update(&event.data),
    }
    hasher.finalize().into()
}

/// One line for people: what changed.
pub fn summary(change: &Change) -> String {
    let Some(old_events) = change.old_events else {
        return format!("new chain of {} events (nothing to replace)", change.new_events);
    };
    let counts = format!("+{} -{} events ({old_events} -> {})", change.added, change.removed, change.new_events);
    match (change.first_difference, &change.event_type) {
        (Some(i), Some(t)) => format!("first difference at event {i} ({}), {counts}", crate::text::clip(t)),
        (Some(i), None) => format!("first difference at event {i}, {counts}"),
        (None, _) => format!("same events, recorded by another build ({old_events} events)"),
    }
}
