//! theater's event store, as `StateChain::save_chain` leaves it when an actor stops:
//! `$THEATER_HOME/events/<hex>`, one compact event per file named by its hash (shared by
//! every actor), and `$THEATER_HOME/chains/<actor-id>`, the chain's head (`current_hash`
//! as JSON: a byte array, or `null`).
//!
//! The files have no order of their own: the chain is the head's event, its parent, and so
//! on back to the first event. So the store is read in two passes: the parent links are
//! followed from the head (each file read once, only its `parent_hash` taken), then the
//! events are streamed in chain order as the saved state chain they stand for,
//! `{"events":[...],"current_hash":...}`, through the ordinary reader. Everything the
//! reader checks holds for the store too: stored hashes, parent links, and the head being
//! the last event's hash. Memory is the list of hashes, not the events.

use super::ChainError;
use std::collections::{HashSet, VecDeque};
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// A chain in an event store: its head file and the events in chain order.
pub struct StoredChain {
    events: Vec<PathBuf>,
    current_hash: Vec<u8>,
}

/// Where `path` names a chain in an event store: the head file itself
/// (`$THEATER_HOME/chains/<actor-id>`, beside an `events` directory), or the store's
/// directory when it holds one chain. `None` when `path` is something else.
pub fn locate(path: &Path) -> Result<Option<PathBuf>, ChainError> {
    let shown = || path.display().to_string();
    if path.is_dir() {
        let (chains, events) = (path.join("chains"), path.join("events"));
        if !(chains.is_dir() && events.is_dir()) {
            return Ok(None);
        }
        let mut heads: Vec<PathBuf> = std::fs::read_dir(&chains)
            .map_err(|error| io_error(&chains, error))?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|p| p.is_file())
            .collect();
        heads.sort();
        return match heads.len() {
            1 => Ok(heads.pop()),
            0 => Err(malformed(&shown(), "an event store with no chain in its chains/ directory")),
            n => Err(malformed(
                &shown(),
                &format!("an event store with {n} chains: name one, e.g. {}", heads[0].display()),
            )),
        };
    }
    let in_store = path.parent().is_some_and(|chains| {
        chains.file_name().is_some_and(|name| name == "chains")
            && chains.parent().is_some_and(|home| home.join("events").is_dir())
    });
    // Only a head looks like one: a chain file that happens to sit in a `chains` directory
    // beside an `events` one is read as what it is.
    Ok((in_store && is_head(path)).then(|| path.to_path_buf()))
}

/// Whether `dir` is an event store: it has a `chains` and an `events` directory.
pub fn is_store(dir: &Path) -> bool {
    dir.join("chains").is_dir() && dir.join("events").is_dir()
}

/// Whether the file `path` is the head of a chain in an event store (what [`locate`] takes
/// for one).
pub fn is_store_head(path: &Path) -> bool {
    !path.is_dir() && matches!(locate(path), Ok(Some(_)))
}

/// Whether the file holds a chain's head: a JSON byte array (a hash) or `null`, small.
fn is_head(path: &Path) -> bool {
    let small = std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.len() <= MAX_HEAD_BYTES);
    small && std::fs::read(path).is_ok_and(|text| serde_json::from_slice::<Option<Vec<u8>>>(&text).is_ok())
}

/// A head is a hash of at most 32 bytes as JSON numbers: a few hundred bytes at most.
const MAX_HEAD_BYTES: u64 = 4096;

impl StoredChain {
    /// Follows the parent links from the head in `head` back to the first event.
    /// An event's file longer than `max_event` is refused unread (it would be read whole
    /// to find its parent).
    pub fn walk(head: &Path, max_event: u64) -> Result<StoredChain, ChainError> {
        let name = head.display().to_string();
        let current_hash = read_regular(head, MAX_HEAD_BYTES, |_| "too long for a chain head".to_string())?;
        let start: Option<Vec<u8>> = serde_json::from_slice(&current_hash).map_err(|e| {
            malformed(&name, &format!("not an event store's chain head (a JSON byte array or null): {e}"))
        })?;
        let events_dir = head.parent().and_then(Path::parent).map(|home| home.join("events")).unwrap_or_default();
        let mut events = Vec::new();
        let mut seen = HashSet::new();
        let mut next = start;
        while let Some(hash) = next {
            let hex = hex::encode(&hash);
            if !seen.insert(hash) {
                return Err(malformed(&name, &format!("the parent links loop back to event {hex}")));
            }
            let file = events_dir.join(&hex);
            let text = read_regular(&file, max_event, |max| {
                format!("larger than {}, the most one event may take (--max-event-size raises it)", super::error::Size(max))
            })
            .map_err(|error| match error {
                ChainError::Io { error, .. } if error.kind() == io::ErrorKind::NotFound => malformed(
                    &name,
                    &format!(
                        "event {hex}, {} links back from the head, is not in {}",
                        events.len(),
                        events_dir.display()
                    ),
                ),
                other => other,
            })?;
            next = parent_of(&text).map_err(|e| malformed(&file.display().to_string(), &e))?;
            events.push(file);
        }
        events.reverse();
        Ok(StoredChain { events, current_hash })
    }

    /// The chain as the saved state chain it stands for, read file by file.
    pub fn stream(self) -> StoreStream {
        let mut parts = VecDeque::new();
        parts.push_back(Part::Text(b"{\"events\":[\n".to_vec()));
        for (i, file) in self.events.into_iter().enumerate() {
            if i > 0 {
                parts.push_back(Part::Text(b",\n".to_vec()));
            }
            parts.push_back(Part::File(file));
        }
        let mut tail = b"\n],\"current_hash\":".to_vec();
        tail.extend_from_slice(self.current_hash.trim_ascii());
        tail.extend_from_slice(b"}\n");
        parts.push_back(Part::Text(tail));
        StoreStream { parts, current: None }
    }
}

/// A regular file's bytes, refused when it is something else (a FIFO would never end) or
/// longer than `max` (then `too_long` of it says why that is too long).
fn read_regular(path: &Path, max: u64, too_long: fn(u64) -> String) -> Result<Vec<u8>, ChainError> {
    let meta = std::fs::metadata(path).map_err(|error| io_error(path, error))?;
    let shown = path.display().to_string();
    if !meta.is_file() {
        return Err(malformed(&shown, "not a regular file"));
    }
    if meta.len() > max {
        return Err(malformed(&shown, &format!("{} bytes: {}", meta.len(), too_long(max))));
    }
    std::fs::read(path).map_err(|error| io_error(path, error))
}

/// The `parent_hash` of one stored event, read without keeping the rest.
fn parent_of(text: &[u8]) -> Result<Option<Vec<u8>>, String> {
    #[derive(serde::Deserialize)]
    struct Links {
        parent_hash: Option<Vec<u8>>,
    }
    serde_json::from_slice::<Links>(text).map(|links| links.parent_hash).map_err(|e| format!("not a chain event: {e}"))
}

enum Part {
    Text(Vec<u8>),
    File(PathBuf),
}

/// The events' files and the JSON between them, one after another, opening each file only
/// when the reader gets to it.
pub struct StoreStream {
    parts: VecDeque<Part>,
    current: Option<Box<dyn Read + Send>>,
}

impl Read for StoreStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if let Some(current) = &mut self.current {
                let n = current.read(buf)?;
                if n > 0 || buf.is_empty() {
                    return Ok(n);
                }
                self.current = None;
            }
            self.current = match self.parts.pop_front() {
                None => return Ok(0),
                Some(Part::Text(text)) => Some(Box::new(io::Cursor::new(text))),
                Some(Part::File(path)) => {
                    let file =
                        File::open(&path).map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
                    Some(Box::new(file))
                }
            };
        }
    }
}

fn malformed(path: &str, message: &str) -> ChainError {
    ChainError::BadStore { path: path.to_owned(), message: message.to_owned() }
}

fn io_error(path: &Path, error: io::Error) -> ChainError {
    ChainError::Io { path: path.display().to_string(), index: 0, offset: 0, error }
}
