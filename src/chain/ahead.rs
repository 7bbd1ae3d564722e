//! Reading a chain on a thread of its own, ahead of whoever consumes its events.
//!
//! Why: `inspect` and `diff` read chains on one thread, parsing and then formatting or
//! comparing, so they ran at half the speed of `check` (which already splits its work in
//! two). Here the parsing runs on a scoped thread and events come over in batches through a
//! bounded channel (memory stays flat, order is kept, nothing is skipped). Consumed events
//! go back to the reading thread, whose reader reuses their buffers: nothing is freed on a
//! thread other than the one that allocated it (see `ChainReader::recycle`).

use super::{ChainError, ChainReader, Event};
use std::sync::mpsc::{Receiver, Sender, SyncSender, channel, sync_channel};

/// Events a batch holds at most.
const BATCH: usize = 256;
/// Batches the reading thread may be ahead by.
const AHEAD: usize = 4;

type Batch = Vec<Result<Event, ChainError>>;

/// The events of a chain read on another thread, in order; an error ends them.
pub(crate) struct ReadAhead {
    batches: Receiver<Batch>,
    current: std::vec::IntoIter<Result<Event, ChainError>>,
    returned: Vec<Event>,
    back: Sender<Vec<Event>>,
}

impl ReadAhead {
    /// Starts reading `reader` on a thread of `scope`; the thread ends at the chain's end,
    /// at its first error, or when this is dropped.
    pub fn start<'scope>(scope: &'scope std::thread::Scope<'scope, '_>, reader: &'scope mut ChainReader) -> ReadAhead {
        let (tx, batches) = sync_channel::<Batch>(AHEAD);
        let (back, given_back) = channel::<Vec<Event>>();
        scope.spawn(move || read(reader, &tx, &given_back));
        ReadAhead { batches, current: Vec::new().into_iter(), returned: Vec::with_capacity(BATCH), back }
    }

    /// Hands an event back for its buffers to be reused by the reader.
    pub fn give_back(&mut self, event: Event) {
        self.returned.push(event);
        if self.returned.len() == BATCH {
            // The reading thread may have ended; the events are then freed here.
            let _ = self.back.send(std::mem::replace(&mut self.returned, Vec::with_capacity(BATCH)));
        }
    }
}

impl Iterator for ReadAhead {
    type Item = Result<Event, ChainError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(item) = self.current.next() {
                return Some(item);
            }
            self.current = self.batches.recv().ok()?.into_iter();
        }
    }
}

fn read(reader: &mut ChainReader, tx: &SyncSender<Batch>, given_back: &Receiver<Vec<Event>>) {
    loop {
        while let Ok(done) = given_back.try_recv() {
            for event in done {
                reader.recycle_event(event);
            }
        }
        let mut batch = Vec::with_capacity(BATCH);
        let mut ended = false;
        while batch.len() < BATCH {
            match reader.next() {
                None => {
                    ended = true;
                    break;
                }
                Some(item) => {
                    ended = item.is_err();
                    batch.push(item);
                    if ended {
                        break;
                    }
                }
            }
        }
        if (!batch.is_empty() && tx.send(batch).is_err()) || ended {
            return;
        }
    }
}
