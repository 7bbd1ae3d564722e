//! Where two chains part: both streamed side by side, compared by hash, and both checked
//! for integrity as they stream (a chain whose event was edited with its stored hash kept
//! has the same hashes as the original: comparing stored hashes alone would call a forged
//! chain identical).

use super::ahead::ReadAhead;
use super::{Broken, ChainError, ChainReader, Event, IntegrityChecker};

/// The result of comparing two chains.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiffOutcome {
    /// Events the chains share from the start (equal hashes at equal indexes). When the
    /// chains are the same, their length.
    pub common_prefix: u64,
    /// A's event at index `common_prefix`, `None` if A ended there.
    pub a: Option<Event>,
    /// B's event at index `common_prefix`, `None` if B ended there.
    pub b: Option<Event>,
    /// The first event of A that fails the integrity check (a chain is read to its end,
    /// or to this event).
    pub broken_a: Option<Broken>,
    pub broken_b: Option<Broken>,
}

impl DiffOutcome {
    /// Same events, same length.
    pub fn is_same(&self) -> bool {
        self.a.is_none() && self.b.is_none()
    }

    /// Whether either chain fails its integrity check.
    pub fn is_broken(&self) -> bool {
        self.broken_a.is_some() || self.broken_b.is_some()
    }
}

/// One chain being read (on a thread of its own) and checked; ends at its last event or at
/// its first broken one.
struct Side {
    events: ReadAhead,
    checker: IntegrityChecker,
    broken: Option<Broken>,
    done: bool,
    container: super::Container,
}

impl Side {
    fn next(&mut self) -> Result<Option<Event>, ChainError> {
        if self.done {
            return Ok(None);
        }
        let event = match self.events.next() {
            Some(Ok(event)) => event,
            Some(Err(e)) => {
                // A state chain's head mismatch is a broken chain, not unreadable input.
                self.broken = Some(e.integrity().ok_or(e)?);
                self.done = true;
                return Ok(None);
            }
            None => {
                self.done = true;
                return Ok(None);
            }
        };
        if let Err(broken) = self.checker.push(&event) {
            self.broken = Some(broken.in_container(self.container));
            self.done = true;
            return Ok(None);
        }
        Ok(Some(event))
    }
}

/// Compares two chains event by event, holding one event of each at a time (and the two at
/// the parting point). Both are read to the end, so that integrity is checked throughout;
/// malformed input in either is an error. Each chain is parsed on a thread of its own.
pub fn diff_readers(a: &mut ChainReader, b: &mut ChainReader) -> Result<DiffOutcome, ChainError> {
    let (container_a, container_b) = (a.container(), b.container());
    std::thread::scope(|scope| {
        let side = |reader, container| Side {
            container,
            events: ReadAhead::start(scope, reader),
            checker: IntegrityChecker::new(),
            broken: None,
            done: false,
        };
        let (mut sa, mut sb) = (side(a, container_a), side(b, container_b));
        let mut common_prefix = 0;
        let mut parted: Option<(Option<Event>, Option<Event>)> = None;
        loop {
            let (ea, eb) = (sa.next()?, sb.next()?);
            if parted.is_none() {
                match (ea, eb) {
                    (Some(x), Some(y)) if x.hash == y.hash => {
                        common_prefix += 1;
                        sa.events.give_back(x);
                        sb.events.give_back(y);
                    }
                    (None, None) if sa.broken.is_none() && sb.broken.is_none() => break,
                    (x, y) => parted = Some((x, y)),
                }
            } else {
                if let Some(e) = ea {
                    sa.events.give_back(e);
                }
                if let Some(e) = eb {
                    sb.events.give_back(e);
                }
            }
            if sa.done && sb.done {
                break;
            }
        }
        let (a, b) = parted.unwrap_or((None, None));
        Ok(DiffOutcome { common_prefix, a, b, broken_a: sa.broken, broken_b: sb.broken })
    })
}
