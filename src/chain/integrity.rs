//! Integrity checking: every stored hash recomputed, every parent link followed, one event
//! at a time and in order, keeping only the previous event's hash.

use super::{Event, HashAlg};
use std::fmt;

/// Checks a chain fed to it event by event.
/// Cloning one gives a checker that continues from the same point (to try alternatives).
#[derive(Debug, Default, Clone)]
pub struct IntegrityChecker {
    alg: Option<HashAlg>,
    events: u64,
    /// The previous event's hash (at most 32 bytes, kept inline).
    previous: Option<([u8; 32], usize)>,
}

/// The first event that fails the check, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broken {
    /// Index of the event (from 0).
    pub index: u64,
    /// The event's `event_type`, as stored.
    pub event_type: String,
    /// Why the event breaks the chain.
    pub reason: BrokenReason,
    /// What the chain stores: the event's `hash` for a content mismatch, length problems
    /// and unsupported lengths; its `parent_hash` for link problems (empty when missing);
    /// `current_hash` for a head mismatch.
    pub stored: Vec<u8>,
    /// What it should be: the recomputed hash, the previous event's hash, or the last
    /// event's hash. `None` where nothing can be computed.
    pub computed: Option<Vec<u8>>,
    /// The line of the file the event starts at, where the container's events have fixed
    /// lines (theater's run logs: see [`super::Container::event_line`]).
    pub line: Option<u64>,
}

/// Why an event breaks its chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BrokenReason {
    /// The stored hash is not the digest of the event's canonical form.
    ContentHashMismatch,
    /// `parent_hash` is not the previous event's hash.
    WrongParentLink,
    /// The first event has a `parent_hash`.
    ParentOnFirstEvent,
    /// An event after the first has no `parent_hash`.
    MissingParent,
    /// A hash that is neither SHA-1 (20 bytes) nor SHA-256 (32 bytes) long.
    UnsupportedHashLength(usize),
    /// A hash whose length differs from the chain's first hash.
    MixedHashLengths,
    /// A saved state chain's `current_hash` is not its last event's hash.
    HeadMismatch,
}

impl BrokenReason {
    /// A stable snake_case name for machine-readable output.
    pub fn code(self) -> &'static str {
        match self {
            BrokenReason::ContentHashMismatch => "content_hash_mismatch",
            BrokenReason::WrongParentLink => "wrong_parent_link",
            BrokenReason::ParentOnFirstEvent => "parent_on_first_event",
            BrokenReason::MissingParent => "missing_parent",
            BrokenReason::UnsupportedHashLength(_) => "unsupported_hash_length",
            BrokenReason::MixedHashLengths => "mixed_hash_lengths",
            BrokenReason::HeadMismatch => "head_mismatch",
        }
    }
}

impl fmt::Display for BrokenReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BrokenReason::ContentHashMismatch => f.write_str("content hash mismatch"),
            BrokenReason::WrongParentLink => f.write_str("wrong parent link"),
            BrokenReason::ParentOnFirstEvent => f.write_str("parent hash on the first event"),
            BrokenReason::MissingParent => f.write_str("missing parent hash"),
            BrokenReason::UnsupportedHashLength(n) => write!(f, "unsupported hash length ({n} bytes)"),
            BrokenReason::MixedHashLengths => f.write_str("hash length differs from the chain's first hash"),
            BrokenReason::HeadMismatch => f.write_str("current_hash is not the last event's hash"),
        }
    }
}

impl fmt::Display for Broken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "event {} ({}, line {line}): {}", self.index, self.event_type, self.reason)?,
            None => write!(f, "event {} ({}): {}", self.index, self.event_type, self.reason)?,
        }
        // A hash of unsupported length may be any length: shown clipped (JSON has it whole).
        let stored = match (self.stored.len(), self.reason) {
            (0, BrokenReason::MissingParent) => "null".to_owned(),
            // Stored, but empty: `"parent_hash": []` is not a missing parent.
            (0, _) => "[] (an empty array)".to_owned(),
            (n, _) if n > 64 => format!("{}… ({n} bytes)", hex::encode(&self.stored[..20])),
            _ => hex::encode(&self.stored),
        };
        match &self.computed {
            Some(computed) => write!(f, ": stored {stored}, expected {}", hex::encode(computed)),
            None => write!(f, ": stored {stored}"),
        }
    }
}

impl std::error::Error for Broken {}

impl Broken {
    /// The same break, with the line its event starts at in a `container` file, where the
    /// container's events have fixed lines (see [`super::Container::event_line`]).
    pub fn in_container(mut self, container: super::Container) -> Broken {
        self.line = container.event_line(self.index);
        self
    }
}

impl IntegrityChecker {
    /// A checker before the first event.
    pub fn new() -> Self {
        Self::default()
    }

    /// Checks the next event. After an `Err` the checker has not advanced; pushing more
    /// events then checks them against the last intact one.
    pub fn push(&mut self, event: &Event) -> Result<(), Broken> {
        self.push_with_tail(event, None)
    }

    /// As [`Self::push`], hashing `tail` (the event's stored bytes after `"hash":[..]`,
    /// when [`super::ChainReader::canonical_tail`] vouches that they are canonical)
    /// instead of writing the canonical form again.
    pub(crate) fn push_with_tail(&mut self, event: &Event, tail: Option<&[u8]>) -> Result<(), Broken> {
        self.push_hashed(event, |alg| match tail {
            Some(tail) => super::hash::canonical_hash_of_tail(alg, tail),
            None => super::canonical_hash(alg, event.parent_hash.as_deref(), &event.event_type, &event.data),
        })
    }

    /// As [`Self::push`], for an event whose payload is given as its canonical text
    /// (`event.data` is not read): see [`super::ChainReader`]'s canonical payloads.
    pub(crate) fn push_with_data_text(&mut self, event: &Event, data_text: &[u8]) -> Result<(), Broken> {
        self.push_hashed(event, |alg| {
            super::hash::canonical_hash_of_data_text(alg, event.parent_hash.as_deref(), &event.event_type, data_text)
        })
    }

    fn push_hashed(&mut self, event: &Event, hash: impl FnOnce(HashAlg) -> super::Hash) -> Result<(), Broken> {
        let index = self.events;
        let broken = |reason, stored: &[u8], computed: Option<&[u8]>| Broken {
            index,
            event_type: event.event_type.clone(),
            reason,
            stored: stored.to_vec(),
            computed: computed.map(<[u8]>::to_vec),
            line: None,
        };
        let Some(alg) = HashAlg::from_len(event.hash.len()) else {
            return Err(broken(BrokenReason::UnsupportedHashLength(event.hash.len()), &event.hash, None));
        };
        if self.alg.is_some_and(|first| first != alg) {
            return Err(broken(BrokenReason::MixedHashLengths, &event.hash, None));
        }
        match (&self.previous, event.parent_hash.as_deref()) {
            (None, None) => {}
            (None, Some(parent)) => return Err(broken(BrokenReason::ParentOnFirstEvent, parent, None)),
            (Some((prev, len)), None) => return Err(broken(BrokenReason::MissingParent, &[], Some(&prev[..*len]))),
            (Some((prev, len)), Some(parent)) => {
                if parent != &prev[..*len] {
                    return Err(broken(BrokenReason::WrongParentLink, parent, Some(&prev[..*len])));
                }
            }
        }
        let computed = hash(alg);
        if computed != *event.hash.as_slice() {
            return Err(broken(BrokenReason::ContentHashMismatch, &event.hash, Some(computed.as_bytes())));
        }
        let mut prev = [0u8; 32];
        prev[..event.hash.len()].copy_from_slice(&event.hash);
        self.previous = Some((prev, event.hash.len()));
        self.alg = Some(alg);
        self.events += 1;
        Ok(())
    }

    /// As [`Self::push`] for an event whose content cannot be hashed as it was (a text run
    /// log's lossy event): its hash length and parent link are checked, its hash is taken
    /// as stored, so the events after it are still checked.
    pub(crate) fn push_unhashed(&mut self, event: &Event) -> Result<(), Broken> {
        self.push_hashed(event, |_| super::Hash::from_slice(&event.hash))
    }

    /// The chain's algorithm, known once an event was accepted.
    pub fn alg(&self) -> Option<HashAlg> {
        self.alg
    }

    /// Events accepted so far.
    pub fn events(&self) -> u64 {
        self.events
    }

    /// The last accepted event's hash.
    pub fn head(&self) -> Option<&[u8]> {
        self.previous.as_ref().map(|(h, len)| &h[..*len])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(alg: HashAlg, n: usize) -> Vec<Event> {
        let mut out: Vec<Event> = Vec::new();
        for i in 0..n {
            let parent = out.last().map(|e| e.hash.clone());
            out.push(Event::new_linked(alg, parent.as_deref(), format!("t{i}"), vec![i as u8; i]));
        }
        out
    }

    fn first_broken(events: &[Event]) -> Option<Broken> {
        let mut c = IntegrityChecker::new();
        events.iter().find_map(|e| c.push(e).err())
    }

    #[test]
    fn intact_chains_pass() {
        for alg in [HashAlg::Sha1, HashAlg::Sha256] {
            let events = chain(alg, 5);
            let mut c = IntegrityChecker::new();
            for e in &events {
                c.push(e).unwrap();
            }
            assert_eq!((c.alg(), c.events()), (Some(alg), 5));
        }
    }

    #[test]
    fn each_reason() {
        let base = chain(HashAlg::Sha1, 4);
        let mut e = base.clone();
        e[2].data.push(1);
        assert_eq!(first_broken(&e).map(|b| (b.index, b.reason)), Some((2, BrokenReason::ContentHashMismatch)));
        let mut e = base.clone();
        e[2].parent_hash = Some(vec![0; 20]);
        assert_eq!(first_broken(&e).map(|b| (b.index, b.reason)), Some((2, BrokenReason::WrongParentLink)));
        let mut e = base.clone();
        e[2].parent_hash = None;
        assert_eq!(first_broken(&e).map(|b| (b.index, b.reason)), Some((2, BrokenReason::MissingParent)));
        let mut e = base.clone();
        e[0].parent_hash = Some(vec![0; 20]);
        assert_eq!(first_broken(&e).map(|b| (b.index, b.reason)), Some((0, BrokenReason::ParentOnFirstEvent)));
        let mut e = base.clone();
        e[1].hash = vec![0; 21];
        assert_eq!(first_broken(&e).map(|b| b.reason), Some(BrokenReason::UnsupportedHashLength(21)));
        let mut e = base.clone();
        let relinked = Event::new_linked(HashAlg::Sha256, Some(&e[2].hash), "x".into(), vec![]);
        e[3] = relinked;
        assert_eq!(first_broken(&e).map(|b| (b.index, b.reason)), Some((3, BrokenReason::MixedHashLengths)));
    }

    #[test]
    fn an_empty_parent_hash_is_said_to_be_stored_empty_not_missing() {
        let base = chain(HashAlg::Sha1, 3);
        let mut e = base.clone();
        e[2].parent_hash = Some(vec![]);
        let text = first_broken(&e).unwrap().to_string();
        assert!(text.contains("wrong parent link: stored [] (an empty array), expected "), "{text}");
        let mut e = base.clone();
        e[0].parent_hash = Some(vec![]);
        let text = first_broken(&e).unwrap().to_string();
        assert!(text.ends_with("parent hash on the first event: stored [] (an empty array)"), "{text}");
        let mut e = base;
        e[2].parent_hash = None;
        let text = first_broken(&e).unwrap().to_string();
        assert!(text.contains("missing parent hash: stored null, expected "), "{text}");
    }
}
