//! Where two chains part: both streamed side by side, compared by hash.

use super::{ChainError, ChainReader, Event};

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
}

impl DiffOutcome {
    /// Same events, same length.
    pub fn is_same(&self) -> bool {
        self.a.is_none() && self.b.is_none()
    }
}

/// Compares two chains event by event. Holds one event of each at a time. Malformed
/// input is an error even after the parting point is found, up to that point only: the
/// rest of either chain is not read.
pub fn diff_readers(a: &mut ChainReader, b: &mut ChainReader) -> Result<DiffOutcome, ChainError> {
    let mut common_prefix = 0;
    loop {
        let ea = a.next().transpose().or_else(head_is_not_an_input_error)?;
        let eb = b.next().transpose().or_else(head_is_not_an_input_error)?;
        match (ea, eb) {
            (Some(x), Some(y)) if x.hash == y.hash => common_prefix += 1,
            (a, b) => return Ok(DiffOutcome { common_prefix, a, b }),
        }
    }
}

/// A state chain whose head does not match is still readable: diff compares events, and
/// integrity is `check`'s business.
fn head_is_not_an_input_error(e: ChainError) -> Result<Option<Event>, ChainError> {
    match e {
        ChainError::HeadMismatch { .. } => Ok(None),
        e => Err(e),
    }
}
