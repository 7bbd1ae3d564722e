//! `check` as a library call: read a chain and verify its integrity, on two cores.
//!
//! An event's hash depends only on its own bytes, so a scanner thread parses events and
//! hands them in batches over a bounded channel to the calling thread, which recomputes
//! hashes and follows links. Where the CPU allows, payloads are handed over as their
//! canonical text, validated and compacted by [`super::minify`], and the hashing thread
//! only digests them. Elsewhere parsing payloads costs more than hashing them, so the
//! scanner leaves every other payload as raw text (finding its end with a vectorized
//! search) and the hashing thread parses those: the two threads then do about equal work. The channel
//! bounds memory: at most `QUEUE` batches of at most `BATCH_BYTES` payload bytes (or one
//! event, if larger) are in flight.

use super::reader::{PayloadAs, Pending, PendingData};
use super::{Broken, ChainError, ChainReader, Compression, Container, Event, HashAlg, IntegrityChecker};
use std::path::Path;
use std::sync::mpsc;

const QUEUE: usize = 4;
const BATCH_BYTES: usize = 256 * 1024;
const BATCH_EVENTS: usize = 256;

/// The verdict on one readable chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckOutcome {
    /// How the chain's events are laid out in the file.
    pub container: Container,
    /// How the file was compressed, if it was.
    pub compression: Option<Compression>,
    /// Events read: all of them when intact, up to and including the broken one otherwise.
    pub events: u64,
    /// The chain's hash algorithm (`None` for an empty chain).
    pub alg: Option<HashAlg>,
    /// The first broken event, if any.
    pub broken: Option<Broken>,
    /// Events whose hash could not be recomputed (their links were followed).
    pub unchecked: Unchecked,
}

impl CheckOutcome {
    /// Whether every event's hash and link held (of those that could be checked).
    pub fn is_intact(&self) -> bool {
        self.broken.is_none()
    }

    /// Whether every event's hash was recomputed.
    pub fn is_complete(&self) -> bool {
        self.unchecked.total == 0
    }
}

/// The events of a chain whose content could not be hashed as it was: a theater text run
/// log read without the actor whose variants it lost the tags of (see
/// [`super::textlog`]). The first [`Unchecked::LISTED`] are listed, the rest counted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Unchecked {
    pub listed: Vec<UncheckedEvent>,
    pub total: u64,
}

/// One event [`Unchecked`] lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UncheckedEvent {
    pub index: u64,
    pub event_type: String,
    /// The line of the file the event starts at.
    pub line: Option<u64>,
    pub why: String,
}

impl Unchecked {
    pub const LISTED: usize = 20;

    fn push(&mut self, event: UncheckedEvent) {
        if self.listed.len() < Self::LISTED {
            self.listed.push(event);
        }
        self.total += 1;
    }
}

/// Checks the chain in a file.
pub fn check_path(path: &Path) -> Result<CheckOutcome, ChainError> {
    check_reader(ChainReader::open(path)?)
}

/// Checks a chain from an open reader. `Err` means unreadable or malformed input; an
/// integrity failure (including a state chain's head mismatch) is an `Ok` with `broken`.
pub fn check_reader(reader: ChainReader) -> Result<CheckOutcome, ChainError> {
    let payloads = if reader.simd().is_some() { Payloads::Canonical } else { Payloads::Alternating { raw_first: false } };
    check_reader_with(reader, payloads)
}

/// How the scanner hands payloads over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Payloads {
    /// As canonical text where the reader's vectorized pass vouches for them.
    Canonical,
    /// Every other one raw, for the hashing thread to parse (`raw_first`: from the first).
    Alternating { raw_first: bool },
}

/// As [`check_reader`], handing payloads over as `payloads` says.
fn check_reader_with(reader: ChainReader, payloads: Payloads) -> Result<CheckOutcome, ChainError> {
    let (container, compression) = (reader.container(), reader.compression());
    let (tx, rx) = mpsc::sync_channel::<Result<Vec<Pending>, ChainError>>(QUEUE);
    // Checked batches go back to the scanner, which reuses their buffers: nothing is
    // allocated on one thread and freed on the other (see `ChainReader::recycle`).
    let (back_tx, back_rx) = mpsc::channel::<Vec<Pending>>();
    let path = reader.name().to_owned();
    std::thread::scope(|scope| {
        scope.spawn(move || produce(reader, payloads, &tx, &back_rx));
        let mut checker = IntegrityChecker::new();
        let mut unchecked = Unchecked::default();
        // One event's worth of buffers, reused: each pending event's fields are swapped in,
        // checked, and swapped back out to be returned.
        let mut event = Event { hash: Vec::new(), parent_hash: None, event_type: String::new(), data: Vec::new() };
        for batch in rx.iter() {
            match batch {
                Ok(mut events) => {
                    for pending in &mut events {
                        std::mem::swap(&mut event.hash, &mut pending.hash);
                        std::mem::swap(&mut event.parent_hash, &mut pending.parent_hash);
                        std::mem::swap(&mut event.event_type, &mut pending.event_type);
                        let mut data_text = None;
                        let mut lossy = None;
                        let parsed = match &mut pending.data {
                            PendingData::Lossy { why, .. } => {
                                lossy = Some(why.clone());
                                Ok(())
                            }
                            PendingData::Bytes(data) => {
                                std::mem::swap(&mut event.data, data);
                                Ok(())
                            }
                            PendingData::Canonical(text) => {
                                data_text = Some(&text[..]);
                                Ok(())
                            }
                            PendingData::Raw(text, at) => {
                                event.data.clear();
                                super::scan::parse_raw_byte_array(text, &mut event.data, "data")
                                    .map_err(|(fault, message)| at.malformed(&path, pending.index, text, fault, message))
                            }
                        };
                        parsed?;
                        let verdict = match (&lossy, data_text) {
                            (Some(_), _) => checker.push_unhashed(&event),
                            (None, Some(text)) => checker.push_with_data_text(&event, text),
                            (None, None) => checker.push(&event),
                        };
                        if let (Some(why), Ok(())) = (lossy, &verdict) {
                            let index = checker.events() - 1;
                            let event_type = event.event_type.clone();
                            unchecked.push(UncheckedEvent { index, event_type, line: container.event_line(index), why });
                        }
                        if let Err(broken) = verdict {
                            let broken = broken.in_container(container);
                            let alg = checker.alg().or(HashAlg::from_len(event.hash.len()));
                            // Dropping the receiver (on return) stops the scanner thread.
                            let events = checker.events() + 1;
                            return Ok(CheckOutcome { container, compression, events, alg, broken: Some(broken), unchecked });
                        }
                        std::mem::swap(&mut event.hash, &mut pending.hash);
                        std::mem::swap(&mut event.parent_hash, &mut pending.parent_hash);
                        std::mem::swap(&mut event.event_type, &mut pending.event_type);
                        if let PendingData::Bytes(data) = &mut pending.data {
                            std::mem::swap(&mut event.data, data);
                        }
                    }
                    // The scanner may be gone (it stops at the end); then these are freed here.
                    let _ = back_tx.send(events);
                }
                Err(e) => match e.integrity() {
                    Some(broken) => {
                        let (events, alg) = (checker.events(), checker.alg());
                        return Ok(CheckOutcome { container, compression, events, alg, broken: Some(broken), unchecked });
                    }
                    None => return Err(e),
                },
            }
        }
        Ok(CheckOutcome { container, compression, events: checker.events(), alg: checker.alg(), broken: None, unchecked })
    })
}

/// The scanner thread: parse and send batches until the end, an error, or the receiver
/// hanging up.
fn produce(
    mut reader: ChainReader,
    payloads: Payloads,
    tx: &mpsc::SyncSender<Result<Vec<Pending>, ChainError>>,
    back: &mpsc::Receiver<Vec<Pending>>,
) {
    let mut spare_batches: Vec<Vec<Pending>> = Vec::new();
    let take_back = |reader: &mut ChainReader, spare_batches: &mut Vec<Vec<Pending>>| {
        while let Ok(mut done) = back.try_recv() {
            for event in done.drain(..) {
                reader.recycle(event);
            }
            spare_batches.push(done);
        }
    };
    let mut batch = Vec::with_capacity(BATCH_EVENTS);
    let mut bytes = 0;
    // Payloads as canonical text where the vectorized pass is available (nothing is left
    // to parse, and the hashing thread's digest takes about as long as the scan);
    // otherwise every other payload raw, for the hashing thread to parse.
    let mut raw = matches!(payloads, Payloads::Alternating { raw_first: true });
    loop {
        let payload = match (payloads, raw) {
            (Payloads::Canonical, _) => PayloadAs::Canonical,
            (_, false) => PayloadAs::Bytes,
            (_, true) => PayloadAs::Raw,
        };
        raw = !raw;
        let Some(item) = reader.next_pending(payload) else { break };
        match item {
            Ok(event) => {
                bytes += match &event.data {
                    PendingData::Bytes(data) | PendingData::Canonical(data) => data.len(),
                    PendingData::Raw(text, _) => text.len(),
                    PendingData::Lossy { data, .. } => data.len(),
                };
                batch.push(event);
                if bytes >= BATCH_BYTES || batch.len() >= BATCH_EVENTS {
                    bytes = 0;
                    take_back(&mut reader, &mut spare_batches);
                    let next = spare_batches.pop().unwrap_or_else(|| Vec::with_capacity(BATCH_EVENTS));
                    let full = std::mem::replace(&mut batch, next);
                    if tx.send(Ok(full)).is_err() {
                        return;
                    }
                }
            }
            Err(e) => {
                // Events before the error are checked first: a broken event earlier in the
                // chain is the more useful report.
                if !batch.is_empty() && tx.send(Ok(std::mem::take(&mut batch))).is_err() {
                    return;
                }
                let _ = tx.send(Err(e));
                return;
            }
        }
    }
    if !batch.is_empty() {
        let _ = tx.send(Ok(batch));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::{ChainWriter, Layout};

    type Verdict = Result<(u64, Option<(u64, super::super::BrokenReason)>), String>;

    fn verdict(result: Result<CheckOutcome, ChainError>) -> Verdict {
        result
            .map(|o| (o.events, o.broken.map(|b| (b.index, b.reason))))
            .map_err(|e| format!("{e:?}"))
    }

    /// The reference: events read one by one and pushed to a checker on this thread.
    fn one_by_one(reader: ChainReader) -> Result<CheckOutcome, ChainError> {
        let (container, compression) = (reader.container(), reader.compression());
        let mut checker = IntegrityChecker::new();
        for event in reader {
            let event = match event {
                Ok(event) => event,
                Err(e) => match e.integrity() {
                    Some(broken) => {
                        return Ok(CheckOutcome { container, compression, events: checker.events(), alg: checker.alg(), broken: Some(broken), unchecked: Unchecked::default() });
                    }
                    None => return Err(e),
                },
            };
            if let Err(broken) = checker.push(&event) {
                let alg = checker.alg().or(HashAlg::from_len(event.hash.len()));
                return Ok(CheckOutcome { container, compression, events: checker.events() + 1, alg, broken: Some(broken), unchecked: Unchecked::default() });
            }
        }
        Ok(CheckOutcome { container, compression, events: checker.events(), alg: checker.alg(), broken: None, unchecked: Unchecked::default() })
    }

    fn open(text: &[u8], file: Option<&Path>) -> Result<ChainReader, ChainError> {
        match file {
            Some(path) => {
                std::fs::write(path, text).unwrap();
                ChainReader::open(path)
            }
            None => ChainReader::from_reader("t", Box::new(std::io::Cursor::new(text.to_vec()))),
        }
    }

    fn agree(text: &[u8], what: &str, file: Option<&Path>) {
        let reference = verdict(open(text, file).and_then(one_by_one));
        let canonical = verdict(open(text, file).and_then(|r| check_reader_with(r, Payloads::Canonical)));
        assert_eq!(canonical, reference, "{what}");
    }

    /// With payloads handed over as canonical text, `check` gives exactly the verdict, the
    /// error and its place that reading event by event gives, on every one-byte edit of
    /// pretty and compact chains (streamed, and mapped for a sample).
    #[test]
    fn canonical_payloads_agree_with_reading_event_by_event() {
        let payloads: Vec<Vec<u8>> = vec![(0..=255).collect(), vec![], vec![0, 100, 9, 10, 255], (0..40u32).map(|b| (b * 7) as u8).collect()];
        let mut events: Vec<Event> = Vec::new();
        for data in payloads {
            let parent = events.last().map(|e| e.hash.clone());
            events.push(Event::new_linked(HashAlg::Sha1, parent.as_deref(), "x/y".into(), data));
        }
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("chain.json");
        // (A compact array's events are laid out as JSON Lines' are: one of the two is enough.)
        for layout in [Layout::PrettyArray, Layout::JsonLines] {
            let mut writer = ChainWriter::with_layout(Vec::new(), layout);
            for event in &events {
                writer.write(event).unwrap();
            }
            let text = writer.finish().unwrap();
            agree(&text, &format!("{layout:?}"), Some(&file));
            // Every other byte of the compact layout, every 7th of the pretty one: numbers
            // vary in length, so a stride still lands on every place within an element.
            let step = if layout == Layout::PrettyArray { 7 } else { 2 };
            for at in (0..text.len()).filter(|at| at % step == 0) {
                for byte in [b' ', b'\n', b'0', b'2', b'5', b'6', b'9', b',', b']', b'['] {
                    let mut edited = text.clone();
                    edited[at] = byte;
                    agree(&edited, &format!("{layout:?}: {byte} at {at}"), (at % 97 == 0).then_some(&*file));
                }
                let mut shorter = text.clone();
                shorter.remove(at);
                agree(&shorter, &format!("{layout:?}: without {at}"), None);
            }
        }
    }

    /// Every path `check` takes on this machine: each vectorized kernel it can run, and none
    /// (every other payload raw, from the first event or from the second), beside reading
    /// event by event.
    fn every_path(text: &[u8], file: Option<&Path>) -> Vec<(String, Verdict)> {
        let mut kernels: Vec<_> = ["avx2", ""].iter().filter_map(|wanted| super::super::minify::detect(wanted)).collect();
        kernels.dedup();
        let open_with = |simd| {
            open(text, file).map(|mut reader| {
                reader.set_simd(simd);
                reader
            })
        };
        let mut paths = vec![("event by event".to_owned(), verdict(open_with(None).and_then(one_by_one)))];
        for kernel in kernels {
            paths.push((format!("{kernel:?}"), verdict(open_with(Some(kernel)).and_then(|r| check_reader_with(r, Payloads::Canonical)))));
        }
        for raw_first in [false, true] {
            let payloads = Payloads::Alternating { raw_first };
            paths.push((format!("{payloads:?}"), verdict(open_with(None).and_then(|r| check_reader_with(r, payloads)))));
        }
        paths
    }

    /// Same input, same verdict: the error (message, offset and line) of every one-byte edit
    /// of a small chain is the same whatever the CPU, with `THEATER_REPLAY_SIMD=off`, and
    /// reading event by event.
    fn same_error_on_every_path(layout: Layout) {
        let mut events: Vec<Event> = Vec::new();
        for data in [vec![0, 100, 9, 255], vec![]] {
            let parent = events.last().map(|e| e.hash.clone());
            events.push(Event::new_linked(HashAlg::Sha1, parent.as_deref(), "x/y".into(), data));
        }
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("chain.json");
        let mut writer = ChainWriter::with_layout(Vec::new(), layout);
        for event in &events {
            writer.write(event).unwrap();
        }
        let text = writer.finish().unwrap();
        let mut edits = vec![(text.clone(), "as written".to_owned())];
        for at in 0..text.len() {
            // Inside a run of indentation every space is like the one before it.
            if at > 0 && text[at - 1..(at + 2).min(text.len())] == *b"   " {
                continue;
            }
            for byte in [b' ', b'\n', b'0', b'2', b'9', b',', b']', b'[', b'"', b'x'] {
                if text[at] != byte {
                    let mut edited = text.clone();
                    edited[at] = byte;
                    edits.push((edited, format!("{:?} at {at}", byte as char)));
                }
            }
            let mut shorter = text.clone();
            shorter.remove(at);
            edits.push((shorter, format!("without {at}")));
        }
        let mut failures = Vec::new();
        for (n, (edited, what)) in edits.iter().enumerate() {
            // Streamed, and a sample mapped from a file.
            let paths = every_path(edited, (n % 41 == 0).then_some(&*file));
            for (path, result) in &paths[1..] {
                if *result != paths[0].1 {
                    failures.push(format!("{what}: {path}: {result:?}\n  event by event: {:?}", paths[0].1));
                }
            }
        }
        let examples = failures.iter().take(5).cloned().collect::<Vec<_>>().join("\n");
        assert!(failures.is_empty(), "{layout:?}: {} of {} edits read differently:\n{examples}", failures.len(), edits.len());
    }

    #[test]
    fn every_kernel_and_none_give_the_same_error_for_every_edit_of_a_pretty_chain() {
        same_error_on_every_path(Layout::PrettyArray);
    }

    #[test]
    fn every_kernel_and_none_give_the_same_error_for_every_edit_of_json_lines() {
        same_error_on_every_path(Layout::JsonLines);
    }
}
