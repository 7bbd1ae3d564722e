//! Reading chains from every container theater writes, auto-detected, one event at a time.

use super::error::ChainError;
pub use super::scan::DEFAULT_MAX_EVENT_SIZE;
use super::scan::{CompactParent, EventLayout, Input, RawAt, compact_len, describe};
use super::{Compression, Event};
use crate::progress::{Counted, ReadCounts};
use std::fmt;
use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

/// The ways a chain is stored. Detected from the first bytes of the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Container {
    /// `[event, ...]`, pretty-printed (as theater saves files) or compact.
    JsonArray,
    /// A saved state chain: `{"events": [...], "current_hash": [...]}`.
    StateChain,
    /// Theater's `EVENT` run log: text headers and raw bodies.
    EventLog,
    /// One event object per line.
    JsonLines,
    /// theater's event store (`save_chain`): a file per event and a head file (see
    /// [`super::store`]).
    EventStore,
    /// theater 0.3.9 and 0.3.10's run log: JSON Lines with each payload as its decoded
    /// packr Value (see [`super::runlog`]).
    TheaterRunLog,
    /// theater 0.3.11 to 0.3.18's run log: `---`, `hash:`, `parent:` and the payload as a
    /// packr Value literal, per event (see [`super::textlog`]).
    TheaterTextLog,
}

impl Container {
    /// The name the human reports give it (`json-array`, `event-log`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Container::JsonArray => "json-array",
            Container::StateChain => "state-chain",
            Container::EventLog => "event-log",
            Container::JsonLines => "json-lines",
            Container::EventStore => "event-store",
            Container::TheaterRunLog => "theater-run-log",
            Container::TheaterTextLog => "theater-text-log",
        }
    }

    /// The line of the file an event starts at, for the containers whose every event takes
    /// a fixed number of lines (theater's run logs), where a line is what a person opens
    /// the file at.
    pub fn event_line(self, index: u64) -> Option<u64> {
        match self {
            Container::TheaterRunLog => Some(index + 1),
            Container::TheaterTextLog => Some(index * super::textlog::LINES_PER_EVENT + 1),
            _ => None,
        }
    }
}

impl fmt::Display for Container {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How a chain is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadOptions {
    /// The most bytes one event may take in the chain's text (decompressed), from its first
    /// byte to its last: a larger event is refused as it is read
    /// ([`ChainError::EventTooLarge`]), so that one event cannot take the memory of the
    /// machine. Default: [`DEFAULT_MAX_EVENT_SIZE`], 256 MiB.
    pub max_event_size: u64,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions { max_event_size: DEFAULT_MAX_EVENT_SIZE }
    }
}

/// An event whose payload may still be raw text: `check` has the hashing thread parse
/// some payloads, to share the scanning work between two cores.
pub(crate) struct Pending {
    pub hash: Vec<u8>,
    pub parent_hash: Option<Vec<u8>>,
    pub event_type: String,
    pub data: PendingData,
    /// The event's index, for errors found when the payload is parsed.
    pub index: u64,
}

pub(crate) enum PendingData {
    Bytes(Vec<u8>),
    /// The text of a JSON byte array and zero padding ([`Input::raw_byte_array`]), and
    /// where its `[` is.
    Raw(Vec<u8>, RawAt),
    /// The payload's canonical text (`[1,2,3]`), vouched for by [`Input::canonical_byte_array`]:
    /// what its hash is computed from, with nothing to parse.
    Canonical(Vec<u8>),
    /// Bytes that may not be what was hashed: an event of theater's text run log holding a
    /// variant whose tag the text lost and nothing restored (see [`super::textlog`]).
    Lossy { data: Vec<u8>, why: String, offset: u64, line: u64 },
}

/// How a JSON event's payload is handed over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PayloadAs {
    /// Parsed into bytes.
    Bytes,
    /// As raw text, for another thread to parse (`check` shares the parsing that way where
    /// [`PayloadAs::Canonical`] is not available).
    Raw,
    /// As its canonical text where the vectorized pass vouches for it, else as bytes.
    Canonical,
}

impl Pending {
    /// The event, parsing a raw payload now. `path` names the file in errors.
    pub fn into_event(self, path: &str) -> Result<Event, ChainError> {
        let data = match self.data {
            PendingData::Bytes(data) => data,
            PendingData::Raw(text, at) => {
                let mut data = Vec::with_capacity(text.len() / 3);
                super::scan::parse_raw_byte_array(&text, &mut data, "data")
                    .map_err(|(fault, message)| at.malformed(path, self.index, &text, fault, message))?;
                data
            }
            // Vouched for as valid, so this cannot fail; a default keeps it from panicking.
            PendingData::Canonical(text) => serde_json::from_slice(&text).unwrap_or_default(),
            PendingData::Lossy { why, offset, line, .. } => {
                return Err(ChainError::Malformed {
                    path: path.to_owned(),
                    index: self.index,
                    offset,
                    line: Some(line),
                    message: format!("cannot be read as theater hashed it: {why}"),
                });
            }
        };
        Ok(Event { hash: self.hash, parent_hash: self.parent_hash, event_type: self.event_type, data })
    }
}

/// Where the reader is in its container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Before the `[` of the top-level array.
    ArrayOpen,
    /// After `[`: an event or `]`. `nested` when inside a state chain's `events`.
    ArrayFirst { nested: bool },
    /// After an event: `,` or `]`.
    ArrayNext { nested: bool },
    /// Before the `{` of a state chain.
    ObjectOpen,
    /// In a state chain object, before a key (`first`) or before `,`/`}`.
    ObjectKey { first: bool },
    /// Between JSON Lines objects.
    Lines,
    /// Right after a JSON Lines object: only blanks before the end of its line.
    LineEnd,
    /// Between EVENT records.
    Log,
    /// Between the events of theater's text run log.
    TextLog,
    /// After the container: only whitespace may follow.
    Trailer,
    /// Finished, or failed (errors are not repeated).
    Done,
}

/// A streaming chain reader: an iterator of events that holds one event at a time.
pub struct ChainReader {
    input: Input,
    container: Container,
    /// How the file was compressed, if it was (see [`super::compress`]).
    compression: Option<Compression>,
    state: State,
    index: u64,
    /// State chains only: `current_hash` once read, and whether `events` was seen.
    head: Option<Option<Vec<u8>>>,
    saw_events: bool,
    /// State chains only: the last event's hash and type, to check the head against.
    last: Option<(Vec<u8>, String)>,
    /// The previous payload's length: most chains' payloads are alike, so this saves
    /// growing each new payload buffer from empty.
    data_hint: usize,
    /// The same for deferred payload text.
    raw_hint: usize,
    /// Scratch for object keys.
    key: Vec<u8>,
    /// The text and bytes of the last event's `hash` (array, or hex in an EVENT log): the
    /// next `parent_hash` is usually the same text, which then needs no parsing (equal
    /// text, equal bytes).
    last_hash_text: Vec<u8>,
    last_hash: Vec<u8>,
    /// The current event's `hash` text, becoming `last_hash_text` once the event is read.
    hash_text: Vec<u8>,
    /// Where the last event's canonical tail starts, when it has one (see
    /// [`ChainReader::canonical_tail`]).
    tail_from: Option<u64>,
    /// Bytes and events read, for a [`crate::progress::Progress`] watching this reader.
    counts: Arc<ReadCounts>,
    /// Read from theater's event store, as the state chain it stands for: `container`
    /// says how it is parsed, [`ChainReader::container`] what it is.
    event_store: bool,
    /// Read from theater 0.3.9's run log (see [`super::runlog`]).
    run_log: bool,
    /// The actor's variant types, which restore the tags a text run log lost.
    actor_variants: Option<Arc<super::textlog::ActorVariants>>,
    /// Buffers of events handed back by [`ChainReader::recycle`].
    spare: Spare,
    /// Whether [`Input::compact_event`] is tried (off only in tests, to compare with the
    /// general path).
    fast_path: bool,
    /// The layout it tries: compact until an event is seen pretty printed.
    layout: EventLayout,
}

/// Buffers of consumed events, reused for new ones. When another thread consumes events
/// (`check`), giving their buffers back to be reused here means no allocation is freed
/// on a thread other than its own: with glibc's malloc that cross-thread freeing cost
/// `check` a quarter of its time in arena locks.
#[derive(Default)]
struct Spare {
    /// Hashes and parent hashes.
    small: Vec<Vec<u8>>,
    /// Payloads and deferred payload text.
    large: Vec<Vec<u8>>,
    strings: Vec<String>,
}

/// Buffers kept per kind at most: a few batches' worth.
const SPARE_MAX: usize = 2048;
/// Larger buffers (of a rare huge event) are freed rather than kept.
const SPARE_MAX_BYTES: usize = 1 << 20;

impl Spare {
    fn small(&mut self) -> Vec<u8> {
        let mut v = self.small.pop().unwrap_or_else(|| Vec::with_capacity(32));
        v.clear();
        v
    }

    fn large(&mut self, hint: usize) -> Vec<u8> {
        match self.large.pop() {
            Some(mut v) => {
                v.clear();
                v.reserve(hint);
                v
            }
            None => Vec::with_capacity(hint),
        }
    }

    fn keep(pool: &mut Vec<Vec<u8>>, v: Vec<u8>) {
        if pool.len() < SPARE_MAX && v.capacity() > 0 && v.capacity() <= SPARE_MAX_BYTES {
            pool.push(v);
        }
    }
}

/// Room past a payload's expected length: the vectorized pass stores whole blocks (up to
/// 72 bytes past the last byte it keeps), and a buffer short of that would be reallocated
/// and copied for every event.
const SINK_SLACK: usize = 80;

/// Longest EVENT header line we accept for hashes (a 32-byte hash is 64 hex digits).
const MAX_HEX_LINE: usize = 1024;
/// Longest event_type line in an EVENT log.
const MAX_TYPE_LINE: usize = 1 << 20;

/// The first `n` bytes of `r` (fewer at its end), and `r` as it was, those bytes included.
fn peek(mut r: Box<dyn Read + Send>, n: usize) -> std::io::Result<(Vec<u8>, Box<dyn Read + Send>)> {
    let mut head = Vec::with_capacity(n);
    (&mut r).take(n as u64).read_to_end(&mut head)?;
    Ok((head.clone(), Box::new(std::io::Cursor::new(head).chain(r))))
}

impl ChainReader {
    /// Opens a chain file and detects its container; also a chain in theater's event
    /// store, named by its head file or by the store's directory (see [`super::store`]).
    pub fn open(path: &Path) -> Result<ChainReader, ChainError> {
        ChainReader::open_with(path, ReadOptions::default())
    }

    /// [`ChainReader::open`], with `options`.
    pub fn open_with(path: &Path, options: ReadOptions) -> Result<ChainReader, ChainError> {
        let name = path.display().to_string();
        if let Some(head) = super::store::locate(path)? {
            let stored = super::store::StoredChain::walk(&head, options.max_event_size)?;
            let mut reader = ChainReader::from_reader_with(&name, Box::new(stored.stream()), options)?;
            reader.event_store = true;
            return Ok(reader);
        }
        let file = File::open(path).map_err(|error| ChainError::Io { path: name.clone(), index: 0, offset: 0, error })?;
        // Regular files are mapped (see `super::mapped`); compressed ones, and anything the
        // system will not map, are streamed.
        #[cfg(unix)]
        if let Ok(meta) = file.metadata()
            && meta.is_file()
            && let Some(input) = Input::mapped(name.clone(), &file, meta.len())
            && super::compress::plain(input.rest())
            && !input.rest().starts_with(super::runlog::SIGNATURE)
        {
            return ChainReader::from_input(input, None, Arc::new(ReadCounts::default()), options);
        }
        ChainReader::from_reader_with(&name, Box::new(file), options)
    }

    /// Opens a chain file, or standard input for `-`.
    pub fn open_or_stdin(path: &Path) -> Result<ChainReader, ChainError> {
        ChainReader::open_or_stdin_with(path, ReadOptions::default())
    }

    /// [`ChainReader::open_or_stdin`], with `options`.
    pub fn open_or_stdin_with(path: &Path, options: ReadOptions) -> Result<ChainReader, ChainError> {
        if path.as_os_str() == "-" {
            ChainReader::from_reader_with("<stdin>", Box::new(std::io::stdin()), options)
        } else {
            ChainReader::open_with(path, options)
        }
    }

    /// Reads a chain from any byte stream; `name` is used in error messages.
    pub fn from_reader(name: &str, r: Box<dyn Read + Send>) -> Result<ChainReader, ChainError> {
        ChainReader::from_reader_with(name, r, ReadOptions::default())
    }

    /// [`ChainReader::from_reader`], with `options`.
    pub fn from_reader_with(name: &str, r: Box<dyn Read + Send>, options: ReadOptions) -> Result<ChainReader, ChainError> {
        // Counted beneath the decoder: a bar's total is the file's size on disk.
        let counts = Arc::new(ReadCounts::default());
        let r = Box::new(Counted { inner: r, counts: counts.clone() });
        let (r, compression) = super::compress::decompressed(r).map_err(|error| ChainError::Io {
            path: name.to_owned(),
            index: 0,
            offset: 0,
            error,
        })?;
        // theater 0.3.9's run log is read as the JSON Lines events it stands for.
        let (head, r) = peek(r, super::runlog::SIGNATURE.len()).map_err(|error| ChainError::Io {
            path: name.to_owned(),
            index: 0,
            offset: 0,
            error,
        })?;
        let run_log = head.starts_with(super::runlog::SIGNATURE);
        let r: Box<dyn Read + Send> = if run_log {
            let max_event = usize::try_from(options.max_event_size).unwrap_or(usize::MAX);
            Box::new(super::runlog::RunLogLines::new(std::io::BufReader::new(r), max_event))
        } else {
            r
        };
        let mut reader = ChainReader::from_input(Input::new(name.to_owned(), r), compression, counts, options)?;
        reader.run_log = run_log;
        Ok(reader)
    }

    fn from_input(
        mut input: Input,
        compression: Option<Compression>,
        counts: Arc<ReadCounts>,
        options: ReadOptions,
    ) -> Result<ChainReader, ChainError> {
        input.max_event = options.max_event_size;
        // A UTF-8 byte order mark is harmless; some editors add one.
        if input.starts_with(b"\xEF\xBB\xBF")? {
            input.advance(3);
        }
        let (container, state) = match input.skip_ws()? {
            None => return Err(input.malformed("empty file: no chain in it")),
            Some(b'[') => (Container::JsonArray, State::ArrayOpen),
            Some(b'{') => {
                if first_key_is_state_chain(&mut input)? {
                    (Container::StateChain, State::ObjectOpen)
                } else {
                    (Container::JsonLines, State::Lines)
                }
            }
            Some(b'E') if input.starts_with(b"EVENT ")? => (Container::EventLog, State::Log),
            Some(b'-') if input.starts_with(super::textlog::SIGNATURE)? => (Container::TheaterTextLog, State::TextLog),
            Some(b) => {
                let found = describe(Some(b));
                return Err(input.malformed(format!(
                    "not a chain: expected a JSON array, a JSON object, an EVENT log or a `---` run log, found {found}"
                )));
            }
        };
        Ok(ChainReader {
            input,
            container,
            compression,
            state,
            index: 0,
            head: None,
            saw_events: false,
            last: None,
            data_hint: 0,
            raw_hint: 0,
            key: Vec::new(),
            last_hash_text: Vec::new(),
            last_hash: Vec::new(),
            hash_text: Vec::new(),
            tail_from: None,
            counts,
            event_store: false,
            run_log: false,
            actor_variants: None,
            spare: Spare::default(),
            fast_path: true,
            layout: EventLayout::compact(),
        })
    }

    /// The container detected from the first bytes.
    pub fn container(&self) -> Container {
        match (self.event_store, self.run_log) {
            (true, _) => Container::EventStore,
            (_, true) => Container::TheaterRunLog,
            _ => self.container,
        }
    }

    /// Gives the reader the actor's variant types: a text run log's events that hold the
    /// actor's own variants are then read as theater hashed them, not refused as lossy.
    pub fn set_actor_variants(&mut self, variants: Arc<super::textlog::ActorVariants>) {
        self.actor_variants = Some(variants);
    }

    /// How the file was compressed (read through the decoder), if it was.
    pub fn compression(&self) -> Option<Compression> {
        self.compression
    }

    /// The index the next event will have (= events read so far).
    pub fn index(&self) -> u64 {
        self.index
    }

    /// The vectorized pass this reader validates payloads with, if any.
    pub(crate) fn simd(&self) -> Option<super::minify::Kernel> {
        self.input.simd
    }

    /// Another vectorized pass (or none), for tests that hold every pass to the same result.
    #[cfg(test)]
    pub(crate) fn set_simd(&mut self, simd: Option<super::minify::Kernel>) {
        self.input.simd = simd;
    }

    /// The name given for the input (the path for files).
    pub fn name(&self) -> &str {
        &self.input.name
    }

    /// Bytes consumed so far, of the decompressed text.
    pub fn offset(&self) -> u64 {
        self.input.offset()
    }

    pub(crate) fn counts(&self) -> Arc<ReadCounts> {
        self.counts.clone()
    }

    /// Advances the state machine until it has an event, the end, or an error.
    fn step(&mut self, payload: PayloadAs) -> Result<Option<Pending>, ChainError> {
        self.input.index = self.index;
        loop {
            match self.state {
                State::ArrayOpen => {
                    self.input.expect(b'[', "'['")?;
                    self.state = State::ArrayFirst { nested: false };
                }
                State::ArrayFirst { nested } => match self.input.skip_ws()? {
                    Some(b']') => {
                        self.input.advance(1);
                        self.state = self.after_array(nested);
                    }
                    Some(b'{') => {
                        self.state = State::ArrayNext { nested };
                        return self.json_event(payload).map(Some);
                    }
                    found => return Err(self.expected("an event object or ']'", found)),
                },
                State::ArrayNext { nested } => match self.input.skip_ws()? {
                    Some(b']') => {
                        self.input.advance(1);
                        self.state = self.after_array(nested);
                    }
                    Some(b',') => {
                        self.input.advance(1);
                        match self.input.skip_ws()? {
                            Some(b'{') => return self.json_event(payload).map(Some),
                            found => return Err(self.expected("an event object", found)),
                        }
                    }
                    found => return Err(self.expected("',' or ']' after an event", found)),
                },
                State::ObjectOpen => {
                    self.input.expect(b'{', "'{'")?;
                    self.state = State::ObjectKey { first: true };
                }
                State::ObjectKey { first } => {
                    if !first {
                        match self.input.skip_ws()? {
                            Some(b',') => self.input.advance(1),
                            Some(b'}') => {
                                self.input.advance(1);
                                return self.finish_state_chain().map(|()| None);
                            }
                            found => return Err(self.expected("',' or '}' in the state chain", found)),
                        }
                    }
                    self.state_key()?;
                }
                State::Lines => match self.input.skip_ws()? {
                    None => {
                        self.state = State::Done;
                        return Ok(None);
                    }
                    Some(b'{') => {
                        self.state = State::LineEnd;
                        let start = self.input.offset();
                        let event = self.json_event(payload)?;
                        // One event per line, exactly: an object that spans lines is not
                        // JSON Lines (checked where the event is still buffered: all but
                        // events longer than the read buffer).
                        if let Some(text) = self.input.since(start)
                            && let Some(at) = memchr::memchr(b'\n', text)
                        {
                            // A payload read in place would have failed first, where it is bad.
                            if let PendingData::Raw(raw, raw_at) = &event.data
                                && let Err((fault, message)) = super::scan::parse_raw_byte_array(raw, &mut Vec::new(), "data")
                            {
                                return Err(raw_at.malformed(&self.input.name, self.input.index, raw, fault, message));
                            }
                            return Err(self.input.malformed_at_offset(
                                start + at as u64,
                                "a newline inside an event (JSON Lines hold one event per line)",
                            ));
                        }
                        return Ok(Some(event));
                    }
                    found => return Err(self.expected("an event object on a new line", found)),
                },
                State::LineEnd => {
                    // After an event: blanks, then the end of its line.
                    loop {
                        match self.input.peek()? {
                            Some(b' ' | b'\t' | b'\r') => self.input.advance(1),
                            Some(b'\n') => {
                                self.input.advance(1);
                                self.state = State::Lines;
                                break;
                            }
                            None => {
                                self.state = State::Done;
                                return Ok(None);
                            }
                            found => {
                                return Err(self.expected("a newline after the event (JSON Lines hold one event per line)", found));
                            }
                        }
                    }
                }
                State::Log => match self.input.skip_ws()? {
                    None => {
                        self.state = State::Done;
                        return Ok(None);
                    }
                    Some(_) => return self.log_event().map(Some),
                },
                // No blank lines are skipped: theater writes none, and every event's
                // line is then known from its index (`Container::event_line`).
                State::TextLog => match self.input.peek()? {
                    None => {
                        self.state = State::Done;
                        return Ok(None);
                    }
                    Some(_) => return self.text_log_event().map(Some),
                },
                State::Trailer => {
                    return match self.input.skip_ws()? {
                        None => {
                            self.state = State::Done;
                            Ok(None)
                        }
                        found => Err(self.expected("nothing after the chain", found)),
                    };
                }
                State::Done => return Ok(None),
            }
        }
    }

    fn after_array(&self, nested: bool) -> State {
        if nested { State::ObjectKey { first: false } } else { State::Trailer }
    }

    fn expected(&self, what: &str, found: Option<u8>) -> ChainError {
        self.input.malformed(format!("expected {what}, found {}", describe(found)))
    }

    /// Reads one key of a state chain object and what follows it (all of `current_hash`,
    /// or just the `[` of `events`, whose elements are then streamed).
    fn state_key(&mut self) -> Result<(), ChainError> {
        let key = match self.input.skip_ws()? {
            Some(b'"') => self.input.string("key")?,
            found => return Err(self.expected("a key of the state chain", found)),
        };
        self.input.expect(b':', "':'")?;
        match key.as_str() {
            "events" if !self.saw_events => {
                self.saw_events = true;
                self.input.expect(b'[', "'[' for events")?;
                self.state = State::ArrayFirst { nested: true };
            }
            "current_hash" if self.head.is_none() => {
                let head = self.input.null_or_byte_array("current_hash")?;
                self.head = Some(head);
                self.state = State::ObjectKey { first: false };
            }
            "events" | "current_hash" => return Err(self.input.malformed(format!("duplicate field `{key}`"))),
            other => {
                let other = crate::text::clip(other);
                return Err(self.input.malformed(format!(
                    "unknown field `{other}` in the state chain, expected `events` or `current_hash`"
                )));
            }
        }
        Ok(())
    }

    /// After the state chain's `}`: fields complete, nothing after it, head matches.
    fn finish_state_chain(&mut self) -> Result<(), ChainError> {
        if !self.saw_events {
            return Err(self.input.malformed("missing field `events` in the state chain"));
        }
        let Some(head) = self.head.take() else {
            return Err(self.input.malformed("missing field `current_hash` in the state chain"));
        };
        self.state = State::Trailer;
        if let Some(b) = self.input.skip_ws()? {
            return Err(self.expected("nothing after the chain", Some(b)));
        }
        self.state = State::Done;
        let last = self.last.take();
        if head.as_deref() != last.as_ref().map(|(h, _)| h.as_slice()) {
            let (last_hash, event_type) = match last {
                Some((h, t)) => (Some(h), t),
                None => (None, String::new()),
            };
            return Err(ChainError::HeadMismatch {
                path: self.input.name.clone(),
                index: self.index.saturating_sub(1),
                event_type,
                stored: head,
                last: last_hash,
            });
        }
        Ok(())
    }

    /// One event object in JSON (at its `{`), fields in any order.
    fn json_event(&mut self, payload: PayloadAs) -> Result<Pending, ChainError> {
        self.input.begin_event();
        if payload == PayloadAs::Bytes && self.fast_path && let Some(event) = self.compact_event() {
            return self.input.end_event(Ok(event));
        }
        let limit = self.input.event_limit();
        let mut data = None;
        let result = self.json_event_fields(payload, &mut data);
        // A deferred payload's fault is found here, or on another thread, not as it is read:
        // even an event too large is judged by the first fault within its limit, as the
        // exact parser judges it.
        let result = self.input.end_event(result);
        match (result, data) {
            // A deferred payload is captured up to its first `]`, unparsed: a nested value
            // (`[1,[2],3]`) ends the capture early and the error surfaces after it, where the
            // rest no longer parses. The fault is in the payload, so that is what is reported.
            (Err(e), Some(PendingData::Raw(text, at))) => {
                let before = match &e {
                    ChainError::EventTooLarge { .. } => limit.saturating_add(1),
                    other => other.offset().unwrap_or(0),
                };
                let mut scratch = Vec::new();
                match super::scan::parse_raw_byte_array(&text, &mut scratch, "data") {
                    Err((fault, message)) if at.offset + (fault as u64) < before => {
                        Err(at.malformed(&self.input.name, self.input.index, &text, fault, message))
                    }
                    _ => Err(e),
                }
            }
            (result, _) => result,
        }
    }

    /// The event at the cursor if [`Input::compact_event`] can read it (the way `record`
    /// writes events); `None`, having consumed nothing, for the general path to read.
    fn compact_event(&mut self) -> Option<Pending> {
        // A stream's buffer is not topped up for it: refills stay where the general path
        // makes them (which decides what an error can say about its line), and the few
        // events that run past the buffer's end take the general path.
        let mut hash = self.spare.small();
        let mut parent = self.spare.small();
        let mut event_type = self.spare.strings.pop().unwrap_or_default();
        let mut data = self.spare.large(self.data_hint + SINK_SLACK);
        let mut parts = self.input.compact_event(&self.layout, &self.last_hash_text, &mut hash, &mut parent, &mut event_type, &mut data);
        // Another layout: pretty printed, with the indentation this event has (theater's
        // JSON arrays, saved pretty, are read so from their first event on). Looked for
        // only when the event does not even open as the layout tried says.
        if parts.is_none()
            && !self.input.buffered().starts_with(self.layout.opening())
            && let Some(pretty) = EventLayout::pretty_at(self.input.buffered())
            && pretty != self.layout
        {
            self.layout = pretty;
            parts = self.input.compact_event(&self.layout, &self.last_hash_text, &mut hash, &mut parent, &mut event_type, &mut data);
        }
        let Some(parts) = parts else {
            Spare::keep(&mut self.spare.small, hash);
            Spare::keep(&mut self.spare.small, parent);
            self.spare.strings.push(event_type);
            Spare::keep(&mut self.spare.large, data);
            return None;
        };
        let parent_hash = match parts.parent {
            CompactParent::Null => {
                Spare::keep(&mut self.spare.small, parent);
                None
            }
            CompactParent::Last => {
                parent.clear();
                parent.extend_from_slice(&self.last_hash);
                Some(parent)
            }
            CompactParent::Parsed => Some(parent),
        };
        self.data_hint = data.len().min(64 * 1024);
        self.hash_text.clear();
        if let Some(text) = self.input.since(parts.hash_at) {
            let len = (parts.hash_end - parts.hash_at) as usize;
            self.hash_text.extend_from_slice(&text[..len]);
        }
        self.tail_from = parts.canonical.then_some(parts.hash_end);
        std::mem::swap(&mut self.last_hash_text, &mut self.hash_text);
        self.last_hash.clone_from(&hash);
        Some(self.yielded(Pending { hash, parent_hash, event_type, data: PendingData::Bytes(data), index: 0 }))
    }

    fn json_event_fields(&mut self, payload: PayloadAs, data: &mut Option<PendingData>) -> Result<Pending, ChainError> {
        let input = &mut self.input;
        // Whether the event is laid out exactly as its canonical form after `"hash":[..]`
        // (see `canonical_tail`): fields in canonical order, each key where the previous
        // value ends plus a comma, each value right after its colon.
        let mut canonical = payload != PayloadAs::Raw;
        let mut order = 0;
        let mut expect_at = input.offset() + 1;
        let mut hash_end = 0;
        input.advance(1);
        let mut hash: Option<(Vec<u8>, u64)> = None;
        let mut parent: Option<(Option<Vec<u8>>, u64)> = None;
        let mut event_type: Option<String> = None;
        let mut first = true;
        loop {
            match input.skip_ws()? {
                Some(b'}') if first => {
                    input.advance(1);
                    break;
                }
                Some(b'"') if first => {}
                found if first => return Err(input.malformed(format!("expected a field name, found {}", describe(found)))),
                _ => {}
            }
            if !first {
                match input.skip_ws()? {
                    Some(b',') => input.advance(1),
                    Some(b'}') => {
                        input.advance(1);
                        break;
                    }
                    found => return Err(input.malformed(format!("expected ',' or '}}' in the event, found {}", describe(found)))),
                }
                match input.skip_ws()? {
                    Some(b'"') => {}
                    found => return Err(input.malformed(format!("expected a field name, found {}", describe(found)))),
                }
            }
            first = false;
            let key_at = input.offset();
            input.key(&mut self.key)?;
            input.expect(b':', "':'")?;
            let key = self.key.as_slice();
            let duplicate = match key {
                b"hash" => hash.is_some(),
                b"parent_hash" => parent.is_some(),
                b"event_type" => event_type.is_some(),
                b"data" => data.is_some(),
                _ => false,
            };
            if duplicate {
                let key = crate::text::clip_bytes(key);
                return Err(input.malformed_at_offset(key_at, format!("duplicate field `{key}`")));
            }
            let field = CANONICAL_ORDER.iter().position(|k| k.as_bytes() == key);
            canonical &= field == Some(order) && key_at == expect_at;
            order += 1;
            let key_len = key.len() as u64;
            if field.is_some() {
                input.skip_ws()?;
            }
            let value_at = input.offset();
            canonical &= value_at == key_at + key_len + 3;
            match key {
                b"hash" => {
                    let mut h = self.spare.small();
                    input.byte_array_value(&mut h, "hash")?;
                    self.hash_text.clear();
                    if let Some(text) = input.since(value_at) {
                        self.hash_text.extend_from_slice(text);
                    }
                    hash = Some((h, value_at));
                    hash_end = input.offset();
                }
                b"parent_hash" => {
                    let known = &self.last_hash_text;
                    let value = if !known.is_empty() && input.starts_with(known)? {
                        // The previous hash's text again: its bytes, without parsing.
                        input.advance(known.len());
                        let mut p = self.spare.small();
                        p.extend_from_slice(&self.last_hash);
                        Some(p)
                    } else {
                        input.null_or_byte_array("parent_hash")?
                    };
                    if let Some(p) = &value {
                        canonical = canonical && input.offset() - value_at == compact_len(p);
                    }
                    parent = Some((value, value_at));
                }
                b"event_type" => match input.skip_ws()? {
                    Some(b'"') => {
                        let mut text = self.spare.strings.pop().unwrap_or_default();
                        input.string_into("event_type", &mut text)?;
                        // Shorter than its raw text plus quotes only if escaped.
                        canonical &= input.offset() - value_at == text.len() as u64 + 2;
                        event_type = Some(text);
                    }
                    found => return Err(input.malformed(format!("expected a string for event_type, found {}", describe(found)))),
                },
                b"data" if payload == PayloadAs::Raw => {
                    let mut text = self.spare.large(self.raw_hint);
                    let at = input.raw_byte_array(&mut text, "data")?;
                    self.raw_hint = text.len().min(256 * 1024);
                    *data = Some(PendingData::Raw(text, at));
                }
                b"data" => {
                    let mut d = self.spare.large(self.data_hint + SINK_SLACK);
                    let value = if payload == PayloadAs::Canonical && input.canonical_byte_array(&mut d)? {
                        canonical = canonical && input.offset() - value_at == d.len() as u64;
                        PendingData::Canonical(d)
                    } else {
                        input.byte_array_value(&mut d, "data")?;
                        // Short-circuit: counting the digits of a payload is not free.
                        canonical = canonical && input.offset() - value_at == compact_len(&d);
                        PendingData::Bytes(d)
                    };
                    if let PendingData::Bytes(d) | PendingData::Canonical(d) = &value {
                        self.data_hint = d.len().min(64 * 1024);
                    }
                    *data = Some(value);
                }
                other => {
                    let other = crate::text::clip_bytes(other);
                    return Err(input.malformed_at_offset(
                        key_at,
                        format!("unknown field `{other}`, expected `hash`, `parent_hash`, `event_type` or `data`"),
                    ));
                }
            }
            expect_at = input.offset() + 1;
        }
        // The closing brace right after the last value.
        canonical &= order == CANONICAL_ORDER.len() && input.offset() == expect_at;
        let missing = |field: &str| input.malformed(format!("missing field `{field}` in the event"));
        // A hash of unsupported length is read as it is: the integrity check reports it as a
        // broken chain at this event (`unsupported_hash_length`), not as unreadable input.
        let (hash, _) = hash.ok_or_else(|| missing("hash"))?;
        let (parent_hash, _) = parent.ok_or_else(|| missing("parent_hash"))?;
        let event_type = event_type.ok_or_else(|| missing("event_type"))?;
        let data = data.take().ok_or_else(|| missing("data"))?;
        self.tail_from = canonical.then_some(hash_end);
        std::mem::swap(&mut self.last_hash_text, &mut self.hash_text);
        self.last_hash.clone_from(&hash);
        Ok(self.yielded(Pending { hash, parent_hash, event_type, data, index: 0 }))
    }

    /// One EVENT record of a run log.
    fn log_event(&mut self) -> Result<Pending, ChainError> {
        self.input.begin_event();
        let result = self.log_event_fields();
        self.input.end_event(result)
    }

    fn log_event_fields(&mut self) -> Result<Pending, ChainError> {
        let input = &mut self.input;
        let header_at = input.offset();
        // Header lines are read in place (no copy each): each is used before the next read.
        let header = input.line_span(MAX_HEX_LINE, "EVENT header")?;
        let Some(hash_hex) = input.span(header).strip_prefix(b"EVENT ") else {
            return Err(input.malformed_at_offset(header_at, "expected a line 'EVENT <hash>'"));
        };
        // Lengths are the integrity check's to judge, as in the JSON containers.
        let hash = hex_field(input, hash_hex, "hash", header_at + 6)?;
        self.hash_text.clear();
        self.hash_text.extend_from_slice(hash_hex);
        let parent_at = input.offset();
        let parent_line = input.line_span(MAX_HEX_LINE, "parent hash")?;
        let parent_hex = input.span(parent_line);
        let parent_hash = if !parent_hex.is_empty() && parent_hex.iter().all(|&b| b == b'0') {
            None
        } else if !self.last_hash_text.is_empty() && *parent_hex == self.last_hash_text[..] {
            // The previous hash's text again: its bytes, without decoding.
            Some(self.last_hash.clone())
        } else {
            Some(hex_field(input, parent_hex, "parent_hash", parent_at)?)
        };
        let type_at = input.offset();
        let type_line = input.line_span(MAX_TYPE_LINE, "event_type")?;
        let event_type = match std::str::from_utf8(input.span(type_line)) {
            Ok(text) => text.to_owned(),
            Err(e) => return Err(input.malformed_at_offset(type_at + e.valid_up_to() as u64, "invalid UTF-8 in event_type")),
        };
        let len_at = input.offset();
        let len_line = input.line_span(MAX_HEX_LINE, "data length")?;
        let len_text = input.span(len_line);
        let len = (!len_text.is_empty() && len_text.iter().all(u8::is_ascii_digit))
            .then(|| std::str::from_utf8(len_text).ok()?.parse::<u64>().ok())
            .flatten()
            .ok_or_else(|| input.malformed_at_offset(len_at, "expected the data length in bytes (a decimal number)"))?;
        let blank_at = input.offset();
        if !input.line_span(MAX_HEX_LINE, "blank")?.is_empty() {
            return Err(input.malformed_at_offset(blank_at, "expected an empty line before the event body"));
        }
        let body_at = input.offset();
        // Never trust the stated length for an allocation: grow as bytes arrive.
        let mut data = Vec::with_capacity(usize::try_from(len.min(1 << 20)).unwrap_or(0));
        if !input.raw_bytes(len, &mut data)? {
            return Err(input.malformed(format!(
                "unexpected end of file: event body is {} bytes, shorter than its stated length {len} (body starts at byte {body_at})",
                data.len()
            )));
        }
        match input.peek()? {
            None => {}
            Some(b'\n') => input.advance(1),
            Some(b'\r') if input.starts_with(b"\r\n")? => input.advance(2),
            Some(_) => {
                return Err(input.malformed(format!(
                    "event body does not end after its stated length of {len} bytes (expected a newline)"
                )));
            }
        }
        std::mem::swap(&mut self.last_hash_text, &mut self.hash_text);
        self.last_hash.clone_from(&hash);
        Ok(self.yielded(Pending { hash, parent_hash, event_type, data: PendingData::Bytes(data), index: 0 }))
    }

    fn text_log_event(&mut self) -> Result<Pending, ChainError> {
        self.input.begin_event();
        let result = self.text_log_event_fields();
        self.input.end_event(result)
    }

    fn text_log_event_fields(&mut self) -> Result<Pending, ChainError> {
        // Every event takes four lines, none blank (else the error below): its first line is
        // known from its index.
        let line = self.container.event_line(self.index).unwrap_or_default();
        let input = &mut self.input;
        let event_at = input.offset();
        let separator = input.line_span(MAX_HEX_LINE, "`---`")?;
        if input.span(separator) != b"---" {
            return Err(input.malformed_at_offset(event_at, "expected a line '---' (where an event of theater's run log starts)"));
        }
        let hash_at = input.offset();
        let hash_line = input.line_span(MAX_HEX_LINE, "hash")?;
        let Some(hash_hex) = input.span(hash_line).strip_prefix(b"hash: ") else {
            return Err(input.malformed_at_offset(hash_at, "expected a line 'hash: <hex>'"));
        };
        // theater writes lowercase hex: another spelling of the same hash is an edit.
        if let Some(upper) = hash_hex.iter().position(u8::is_ascii_uppercase) {
            return Err(input.malformed_at_offset(hash_at + 6 + upper as u64, "an uppercase hex digit (theater writes lowercase)"));
        }
        let hash = hex_field(input, hash_hex, "hash", hash_at + 6)?;
        self.hash_text.clear();
        self.hash_text.extend_from_slice(hash_hex);
        let parent_at = input.offset();
        let parent_line = input.line_span(MAX_HEX_LINE, "parent")?;
        if let Some(upper) = input.span(parent_line.clone()).iter().position(u8::is_ascii_uppercase) {
            return Err(input.malformed_at_offset(parent_at + upper as u64, "an uppercase letter in the parent line (theater writes `root` or lowercase hex)"));
        }
        let parent_hash = match input.span(parent_line).strip_prefix(b"parent: ") {
            Some(b"root") => None,
            Some(hex) if !self.last_hash_text.is_empty() && *hex == self.last_hash_text[..] => Some(self.last_hash.clone()),
            Some(hex) => Some(hex_field(input, hex, "parent", parent_at + 8)?),
            None => return Err(input.malformed_at_offset(parent_at, "expected a line 'parent: <hex>' or 'parent: root'")),
        };
        let payload_at = input.offset();
        let max = usize::try_from(input.max_event).unwrap_or(usize::MAX);
        let payload_line = input.line_span(max, "payload")?;
        let text = match std::str::from_utf8(input.span(payload_line.clone())) {
            Ok(text) => text,
            Err(e) => return Err(input.malformed_at_offset(payload_at + e.valid_up_to() as u64, "invalid UTF-8 in the payload")),
        };
        let stored = super::textlog::Stored { hash: &hash, parent: parent_hash.as_deref() };
        let read = super::textlog::payload(text, self.actor_variants.as_deref(), stored)
            .map_err(|why| input.malformed_at_offset(payload_at, format!("the payload: {why}")))?;
        std::mem::swap(&mut self.last_hash_text, &mut self.hash_text);
        self.last_hash.clone_from(&hash);
        let data = match read.lossy {
            None => PendingData::Bytes(read.data),
            Some(why) => PendingData::Lossy { data: read.data, why, offset: payload_at, line: line + 3 },
        };
        Ok(self.yielded(Pending { hash, parent_hash, event_type: read.event_type, data, index: 0 }))
    }

    fn yielded(&mut self, mut event: Pending) -> Pending {
        event.index = self.index;
        if self.container == Container::StateChain {
            self.last = Some((event.hash.clone(), event.event_type.clone()));
        }
        self.index += 1;
        // A plain store: the one counter a watching progress bar reads of events.
        self.counts.events.store(self.index, std::sync::atomic::Ordering::Relaxed);
        event
    }
}

impl Iterator for ChainReader {
    type Item = Result<Event, ChainError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_pending(PayloadAs::Bytes).map(|item| item.and_then(|p| p.into_event(&self.input.name)))
    }
}

impl ChainReader {
    /// Takes back the buffers of an event this reader yielded, for the events still to be
    /// read (see [`Spare`]).
    pub(crate) fn recycle_event(&mut self, event: Event) {
        let Event { hash, parent_hash, event_type, data } = event;
        self.recycle(Pending { hash, parent_hash, event_type, data: PendingData::Bytes(data), index: 0 });
    }

    /// Takes back the buffers of a consumed event, for the events still to be read.
    pub(crate) fn recycle(&mut self, event: Pending) {
        let spare = &mut self.spare;
        Spare::keep(&mut spare.small, event.hash);
        if let Some(parent) = event.parent_hash {
            Spare::keep(&mut spare.small, parent);
        }
        if spare.strings.len() < SPARE_MAX && event.event_type.capacity() <= SPARE_MAX_BYTES {
            spare.strings.push(event.event_type);
        }
        match event.data {
            PendingData::Bytes(v) | PendingData::Raw(v, _) | PendingData::Canonical(v) | PendingData::Lossy { data: v, .. } => {
                Spare::keep(&mut spare.large, v)
            }
        }
    }

    /// The next event, with its payload as `payload` asks (JSON containers; other
    /// containers always give bytes).
    pub(crate) fn next_pending(&mut self, payload: PayloadAs) -> Option<Result<Pending, ChainError>> {
        self.tail_from = None;
        self.input.release_behind();
        let step = self.step(payload);
        if self.input.is_mapped() {
            // No reads to count bytes in: what was parsed is what was read.
            self.counts.bytes.store(self.input.offset(), std::sync::atomic::Ordering::Relaxed);
        }
        match step {
            Ok(Some(event)) => Some(Ok(event)),
            Ok(None) => None,
            Err(e) => {
                // One error ends the iteration: what follows a malformed spot is not trusted.
                self.state = State::Done;
                Some(Err(e))
            }
        }
    }
}

impl ChainReader {
    /// The event just read as stored, from the end of its `hash` value to its closing
    /// brace, when those bytes are exactly its canonical form after `{"hash":[]` (see
    /// [`super::write_canonical`]): every compact chain theater-replay records. The
    /// integrity check then hashes the stored bytes instead of writing them again.
    ///
    /// Canonical means: fields in the canonical order, no whitespace, byte arrays
    /// without whitespace (the parser already refuses any other spelling of a number,
    /// so an array is canonical exactly when it is as long as its compact form), and an
    /// event type without escapes (any escape makes the text longer than the string).
    pub(crate) fn canonical_tail(&self) -> Option<&[u8]> {
        self.tail_from.and_then(|from| self.input.since(from))
    }
}

/// The fields of the canonical form, in its order.
const CANONICAL_ORDER: [&str; 4] = ["hash", "parent_hash", "event_type", "data"];


impl std::iter::FusedIterator for ChainReader {}

/// Peeks at the first key of the object at the cursor: `events` or `current_hash` mean a
/// state chain, anything else a JSON Lines event.
fn first_key_is_state_chain(input: &mut Input) -> Result<bool, ChainError> {
    input.ensure(4096)?;
    let rest = input.rest();
    let after_brace = rest.get(1..).unwrap_or_default();
    let start = after_brace.iter().position(|b| !matches!(b, b' ' | b'\n' | b'\r' | b'\t'));
    let Some(key) = start.and_then(|s| after_brace[s..].strip_prefix(b"\"")) else {
        return Ok(false);
    };
    Ok(key.starts_with(b"events\"") || key.starts_with(b"current_hash\""))
}

fn hex_field(input: &Input, text: &[u8], what: &str, offset: u64) -> Result<Vec<u8>, ChainError> {
    // Into a buffer of the right size: hex::decode's collect costs more than the rest of
    // an EVENT-log header (same errors: an odd length is reported before any digit).
    let mut bytes = vec![0; text.len() / 2];
    hex::decode_to_slice(text, &mut bytes)
        .map(|()| bytes)
        .map_err(|e| input.malformed_at_offset(offset, format!("invalid hex in {what}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::{ChainWriter, HashAlg, IntegrityChecker, Layout, write_canonical};
    use proptest::prelude::*;

    fn chain(event_types: &[&str], payloads: &[Vec<u8>]) -> Vec<Event> {
        let mut events: Vec<Event> = Vec::new();
        for (i, data) in payloads.iter().enumerate() {
            let parent = events.last().map(|e| e.hash.clone());
            let event_type = event_types[i % event_types.len()].to_owned();
            events.push(Event::new_linked(HashAlg::Sha256, parent.as_deref(), event_type, data.clone()));
        }
        events
    }

    fn write(events: &[Event], layout: Layout) -> Vec<u8> {
        let mut writer = ChainWriter::with_layout(Vec::new(), layout);
        for event in events {
            writer.write(event).unwrap();
        }
        writer.finish().unwrap()
    }

    /// Reads `text` checking integrity both ways (hashing the canonical tail when there is
    /// one, and writing the canonical form), asserting the tail is the canonical form.
    /// Returns the first problem's index (an error or a broken event) and how many events
    /// had a tail.
    fn read_both_ways(text: &[u8]) -> (Option<(u64, bool)>, usize) {
        let Ok(mut reader) = ChainReader::from_reader("t", Box::new(std::io::Cursor::new(text.to_vec()))) else {
            return (Some((0, false)), 0);
        };
        let (mut with_tail, mut plain) = (IntegrityChecker::new(), IntegrityChecker::new());
        let mut tails = 0;
        while let Some(item) = reader.next() {
            // A failed read does not count an event.
            let Ok(event) = item else { return (Some((reader.index(), false)), tails) };
            let index = reader.index() - 1;
            let tail = reader.canonical_tail();
            if let Some(tail) = tail {
                let mut canonical = Vec::new();
                write_canonical(&mut canonical, event.parent_hash.as_deref(), &event.event_type, &event.data).unwrap();
                assert_eq!([br#"{"hash":[]"#, tail].concat(), canonical, "event {index}");
                tails += 1;
            }
            let verdict = with_tail.push_with_tail(&event, tail).map_err(|b| (b.index, b.reason));
            assert_eq!(verdict, plain.push(&event).map_err(|b| (b.index, b.reason)), "event {index}");
            if verdict.is_err() {
                return (Some((index, true)), tails);
            }
        }
        (None, tails)
    }

    #[test]
    fn compact_events_have_canonical_tails_and_others_do_not() {
        let payloads: Vec<Vec<u8>> = (0..6).map(|i| (0..i * 37).map(|b: u32| (b * 7 + i) as u8).collect()).collect();
        let events = chain(&["wasm", "a:b/c@1.0/f", "quote\" back\\ tab\t"], &payloads);
        // Escaped event types take the general path (the third of these events).
        for layout in [Layout::JsonLines, Layout::CompactArray, Layout::StateChain] {
            assert_eq!(read_both_ways(&write(&events, layout)), (None, 4), "{layout:?}");
        }
        for layout in [Layout::PrettyArray, Layout::EventLog] {
            assert_eq!(read_both_ways(&write(&events, layout)), (None, 0), "{layout:?}");
        }
        // Non-canonical spellings of the same event: equal verdicts, no tail.
        let text = String::from_utf8(write(&events[..1], Layout::JsonLines)).unwrap();
        for edited in [
            text.replacen(r#","data":["#, r#", "data":["#, 1),
            text.replacen(r#""data":["#, r#""data": ["#, 1),
            text.replacen(r#""wasm""#, r#""w\u0061sm""#, 1),
            text.replacen(r#""wasm""#, r#""wa\/sm""#, 1),
            text.replacen(r#""parent_hash":null,"event_type":"wasm""#, r#""event_type":"wasm","parent_hash":null"#, 1),
            text.replacen("}\n", " }\n", 1),
        ] {
            assert_eq!(read_both_ways(edited.as_bytes()).1, 0, "{edited}");
        }
    }

    /// A pretty printed event is never stored as its canonical form, even where its arrays
    /// are (an empty payload is `[]` either way). Read from a file, where the fast path
    /// takes the first event, a chain opening with one was reported broken by `verify`.
    #[test]
    fn a_pretty_event_with_an_empty_payload_has_no_canonical_tail() {
        let events = chain(&["x"], &[vec![], vec![1, 2]]);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("chain.json");
        std::fs::write(&path, write(&events, Layout::PrettyArray)).unwrap();
        let mut reader = ChainReader::open(&path).unwrap();
        let mut checker = IntegrityChecker::new();
        while let Some(event) = reader.next() {
            let event = event.unwrap();
            assert_eq!(reader.canonical_tail(), None, "event {}", checker.events());
            checker.push_with_tail(&event, reader.canonical_tail()).unwrap();
        }
        assert_eq!(checker.events(), 2);
        assert_ne!(reader.layout, EventLayout::compact(), "read by the fast path");
    }

    /// Every byte of a compact chain replaced by characters that keep it JSON-like: the
    /// tail, when there is one, is always the canonical form, and the verdict always
    /// that of writing the canonical form.
    #[test]
    fn every_edit_of_a_compact_chain_gets_the_same_verdict() {
        let payloads: Vec<Vec<u8>> = vec![vec![1, 22, 255], vec![], vec![0, 100, 9, 10]];
        let events = chain(&["x/y", "wasm"], &payloads);
        let text = write(&events, Layout::JsonLines);
        for at in 0..text.len() {
            for byte in [b' ', b'0', b'1', b'9', b',', b']', b'"', b'\\', b'a'] {
                let mut edited = text.clone();
                edited[at] = byte;
                read_both_ways(&edited);
            }
            let mut deleted = text.clone();
            deleted.remove(at);
            read_both_ways(&deleted);
        }
    }

    type Outcome = Vec<Result<(Event, Option<Vec<u8>>), (u64, Option<u64>, String)>>;

    /// What a reader makes of `text` (events with their canonical tails, or the error), with
    /// or without the compact fast path, from a stream or (given a scratch file) mapped.
    fn outcome(text: &[u8], fast_path: bool, file: Option<&std::path::Path>) -> Outcome {
        let opened = match file {
            Some(path) => {
                std::fs::write(path, text).unwrap();
                ChainReader::open(path)
            }
            None => ChainReader::from_reader("t", Box::new(std::io::Cursor::new(text.to_vec()))),
        };
        let mut reader = match opened {
            Ok(reader) => reader,
            Err(e) => return vec![Err((e.index(), e.offset(), e.to_string()))],
        };
        reader.fast_path = fast_path;
        let mut out = Vec::new();
        while let Some(item) = reader.next() {
            let tail = reader.canonical_tail().map(<[u8]>::to_vec);
            out.push(item.map(|e| (e, tail)).map_err(|e| (e.index(), e.offset(), e.to_string())));
        }
        out
    }

    /// The same events, tails and errors with and without the fast path.
    fn agree(text: &[u8], what: &str, file: Option<&std::path::Path>) {
        assert_eq!(outcome(text, true, None), outcome(text, false, None), "{what}");
        if let Some(file) = file {
            assert_eq!(outcome(text, true, Some(file)), outcome(text, false, Some(file)), "{what}, mapped");
        }
    }

    /// The fast path (`Input::compact_event`) reads exactly what the general path reads,
    /// and leaves every error to it: every byte of a chain edited, in both containers
    /// `record` writes and pretty printed, as theater's JSON arrays are saved.
    #[test]
    fn the_compact_fast_path_agrees_with_the_general_path() {
        let payloads: Vec<Vec<u8>> = vec![vec![1, 22, 255], vec![], (0..90u32).map(|b| (b * 3) as u8).collect(), vec![0, 100, 9, 10]];
        let events = chain(&["x/y", "wasm", "a\"b"], &payloads);
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("chain.json");
        for layout in [Layout::JsonLines, Layout::CompactArray, Layout::PrettyArray] {
            let text = write(&events, layout);
            agree(&text, &format!("{layout:?}"), Some(&file));
            for at in 0..text.len() {
                for byte in [b' ', b'0', b'9', b',', b']', b'}', b'"', b'\\', b'\n', b'n'] {
                    let mut edited = text.clone();
                    edited[at] = byte;
                    // Mapped for a sample of the edits: a file each is slow.
                    agree(&edited, &format!("{layout:?}: {byte} at {at}"), (at % 7 == 0).then_some(&*file));
                }
            }
        }
    }

    /// A pretty printed chain is read by the fast path from its first event on, with the
    /// indentation it has (theater's JSON arrays are saved so: three times the text of a
    /// compact one, and the general path's cost per field).
    #[test]
    fn pretty_events_take_the_fast_path() {
        let events = chain(&["x/y", "wasm"], &[vec![1, 22, 255], vec![], vec![7; 40]]);
        let text = write(&events, Layout::PrettyArray);
        let mut reader = ChainReader::from_reader("t", Box::new(std::io::Cursor::new(text.clone()))).unwrap();
        let read: Vec<Event> = reader.by_ref().map(Result::unwrap).collect();
        assert_eq!(read, events);
        let first = text.iter().position(|&b| b == b'{').unwrap();
        assert_eq!(reader.layout, EventLayout::pretty_at(&text[first..]).unwrap());
        assert_ne!(reader.layout, EventLayout::compact());
    }

    proptest! {
        #[test]
        fn tails_are_canonical_whatever_the_events(
            event_type in "[a-z:/@.\\\\\"\n\u{1}é]{0,12}",
            payloads in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..200), 1..5),
            space_at in any::<prop::sample::Index>(),
        ) {
            let events = chain(&[&event_type], &payloads);
            let text = write(&events, Layout::JsonLines);
            let escaped = event_type.contains(['"', '\\', '\n', '\u{1}']);
            prop_assert_eq!(read_both_ways(&text), (None, if escaped { 0 } else { events.len() }));
            // One space anywhere: the same verdict either way, one tail fewer at most.
            let at = space_at.index(text.len());
            let mut spaced = text.clone();
            spaced.insert(at, b' ');
            let (problem, tails) = read_both_ways(&spaced);
            prop_assert!(problem.is_some() || escaped || tails + 1 >= events.len());
        }
    }
}
