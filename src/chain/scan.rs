//! A streaming byte scanner for the small, fixed grammar of chain files.
//!
//! Why not serde_json: its streaming deserializer visits every byte of a `Vec<u8>` through
//! the generic number path and skips whitespace one byte at a time, and pretty-printed
//! chains are ~90% whitespace and digits (a payload byte costs ~11 characters). `check`
//! must run several times faster than that on chains of hundreds of megabytes, in bounded
//! memory, so the hot path here (byte arrays) skips whitespace eight bytes at a time and
//! parses 1-3 digit numbers without a general number parser. Strings stay serde_json's
//! business: we only find where a string ends and hand the raw quoted text to serde_json.
//!
//! The input sits in one refillable buffer. Past the valid bytes there are always `PAD`
//! zero bytes: zero is neither whitespace, a digit nor punctuation, so every fast loop
//! stops at the end of the valid data without a bounds test per byte.

use super::error::ChainError;
use std::io::{self, Read};

/// Zero bytes kept after the valid data (a sentinel; see the module docs).
const PAD: usize = 16;
/// Bytes read per `read` call. Large enough that syscalls do not matter, small enough
/// that memory stays far below the 32 MB budget.
const CHUNK: usize = 256 * 1024;
/// How far ahead of the last refill a mapped file is shown to the scanner (see
/// [`Input::fill`]): an event is refused at most this far past its size limit, and the stop
/// is moved once per this many bytes, which costs nothing measurable.
const MAPPED_STEP: usize = 16 << 20;
/// The most bytes one event may take in a chain's text, unless told otherwise.
pub const DEFAULT_MAX_EVENT_SIZE: u64 = 256 << 20;

/// Where the input's bytes are: a refilled buffer, or a map of the whole file.
enum Buf {
    Owned(Vec<u8>),
    #[cfg(unix)]
    Mapped(super::mapped::Mapping),
}

impl std::ops::Deref for Buf {
    type Target = [u8];

    #[inline(always)]
    fn deref(&self) -> &[u8] {
        match self {
            Buf::Owned(v) => v,
            #[cfg(unix)]
            Buf::Mapped(m) => m.bytes(),
        }
    }
}

/// A buffered, position-tracking view of the input.
pub(crate) struct Input {
    pub name: String,
    /// Index of the event being read, for error messages.
    pub index: u64,
    src: Box<dyn Read + Send>,
    buf: Buf,
    pos: usize,
    end: usize,
    /// Absolute offset of `buf[0]`.
    base: u64,
    /// Newlines in the input before `buf[0]`.
    lines: u64,
    /// Newlines in `buf[..counted]`, counted as the reader goes for [`Input::line`] (the
    /// same count a refill makes of the bytes it lets go: one pass over the input either way).
    counted: usize,
    counted_lines: u64,
    eof: bool,
    /// The most bytes one event may take (see [`Input::begin_event`]).
    pub max_event: u64,
    /// Where the event being read starts, and the offset it may not read past (`u64::MAX`
    /// between events).
    event_start: u64,
    event_limit: u64,
    /// The vectorized pass [`Input::canonical_byte_array`] uses, if any: the process's
    /// (see [`super::minify`]), or another one for tests that compare them.
    pub simd: Option<super::minify::Kernel>,
}

impl Input {
    pub fn new(name: String, src: Box<dyn Read + Send>) -> Input {
        Input::with_buf(name, src, Buf::Owned(vec![0; CHUNK + PAD]))
    }

    fn with_buf(name: String, src: Box<dyn Read + Send>, buf: Buf) -> Input {
        Input {
            name,
            index: 0,
            src,
            buf,
            pos: 0,
            end: 0,
            base: 0,
            lines: 0,
            counted: 0,
            counted_lines: 0,
            eof: false,
            max_event: DEFAULT_MAX_EVENT_SIZE,
            event_start: 0,
            event_limit: u64::MAX,
            simd: super::minify::kernel(),
        }
    }

    /// The whole of a regular file, through a map (see [`super::mapped`]); `None` if it
    /// cannot be mapped (then it is read as a stream).
    #[cfg(unix)]
    pub fn mapped(name: String, file: &std::fs::File, len: u64) -> Option<Input> {
        let map = super::mapped::Mapping::new(file, len, PAD)?;
        let mut input = Input::with_buf(name, Box::new(io::empty()), Buf::Mapped(map));
        input.show_mapped(MAPPED_STEP);
        Some(input)
    }

    /// Shows the scanner `n` more bytes of a mapped file: up to a stop of zero bytes written
    /// over the map, as after the end of a buffer (the scanner's loops stop on them), or to
    /// the end of the file. Why: a map shows the whole file at once, so nothing would stop
    /// one huge event from being read whole; this way a mapped file is read as a stream is,
    /// in steps, and [`Input::fill`] can refuse an event that outgrows its limit.
    #[cfg(unix)]
    fn show_mapped(&mut self, n: usize) {
        let Buf::Mapped(map) = &mut self.buf else { return };
        let to = self.end.saturating_add(n);
        self.end = map.stop_at(to);
        self.eof = self.end == map.len();
    }

    /// Starts an event at the cursor: from here it may take `max_event` bytes.
    pub fn begin_event(&mut self) {
        self.event_start = self.offset();
        self.event_limit = self.event_start.saturating_add(self.max_event);
    }

    /// Ends the event begun with [`Input::begin_event`], with what reading it gave: an
    /// event that took more than its limit is refused, whatever else was found after the
    /// limit (a fault in its first `max_event` bytes is reported as it is). Every way of
    /// reading an event ends here, so they all refuse the same events with the same error.
    pub fn end_event<T>(&mut self, result: Result<T, ChainError>) -> Result<T, ChainError> {
        let over = self.offset() > self.event_limit;
        self.event_limit = u64::MAX;
        match result {
            Err(e @ ChainError::EventTooLarge { .. }) => Err(e),
            _ if over => Err(self.too_large()),
            result => result,
        }
    }

    /// The error of an event larger than `max_event`: the same wherever it is noticed.
    pub fn too_large(&self) -> ChainError {
        ChainError::EventTooLarge { path: self.name.clone(), index: self.index, offset: self.event_start, limit: self.max_event }
    }

    /// The offset an event's bytes end before, at the latest (`u64::MAX` between events).
    pub fn event_limit(&self) -> u64 {
        self.event_limit
    }

    /// Lets go of the memory of input before the current position (mapped files; a
    /// refilled buffer does so at each refill). Bytes before it may still be read.
    #[inline]
    pub fn release_behind(&mut self) {
        #[cfg(unix)]
        if let Buf::Mapped(map) = &mut self.buf {
            map.release_to(self.pos);
        }
    }

    /// Whether the input is a mapped file.
    pub fn is_mapped(&self) -> bool {
        !matches!(self.buf, Buf::Owned(_))
    }
    /// Absolute byte offset of the next byte.
    pub fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    /// The line of the current position (from 1), counting on from the last time asked.
    pub fn line(&mut self) -> u64 {
        if self.counted > self.pos {
            (self.counted, self.counted_lines) = (0, 0);
        }
        self.counted_lines += count_newlines(&self.buf[self.counted..self.pos]) as u64;
        self.counted = self.pos;
        self.lines + self.counted_lines + 1
    }

    /// A malformed-input error at the current position.
    pub fn malformed(&self, message: impl Into<String>) -> ChainError {
        self.malformed_at(self.pos, message)
    }

    /// A malformed-input error at buffer position `at`.
    fn malformed_at(&self, at: usize, message: impl Into<String>) -> ChainError {
        let at = at.min(self.end);
        // Lines are counted only when needed: those of discarded bytes at each refill, the
        // rest here. Lines only mean something in text, which every container is.
        let before = match &self.buf {
            Buf::Owned(buf) => count_newlines(&buf[..at]),
            #[cfg(unix)]
            Buf::Mapped(map) => map.count_newlines_to(at, count_newlines),
        };
        let line = self.lines + before as u64 + 1;
        ChainError::Malformed {
            path: self.name.clone(),
            index: self.index,
            offset: self.base + at as u64,
            line: Some(line),
            message: message.into(),
        }
    }

    fn io_error(&self, error: io::Error) -> ChainError {
        ChainError::Io { path: self.name.clone(), index: self.index, offset: self.offset(), error }
    }

    /// Reads more input after what is buffered. Returns false at end of input. Refuses to
    /// go on with an event that has taken more than its limit: memory for one event stays
    /// bounded, in a file, a stream or a map alike.
    fn fill(&mut self) -> Result<bool, ChainError> {
        if self.offset() > self.event_limit {
            return Err(self.too_large());
        }
        if self.eof {
            return Ok(false);
        }
        #[cfg(unix)]
        if let Buf::Mapped(map) = &mut self.buf {
            // Within a long event too, the pages read are let go (they are read again from
            // the page cache if needed), as a stream lets go of its buffer.
            map.release_to(self.pos);
            self.show_mapped(MAPPED_STEP);
            return Ok(true);
        }
        let Buf::Owned(buf) = &mut self.buf else { return Ok(false) };
        if self.pos > 0 {
            let (from, before) = if self.counted <= self.pos { (self.counted, self.counted_lines) } else { (0, 0) };
            self.lines += before + count_newlines(&buf[from..self.pos]) as u64;
            (self.counted, self.counted_lines) = (0, 0);
            self.base += self.pos as u64;
            buf.copy_within(self.pos..self.end, 0);
            self.end -= self.pos;
            self.pos = 0;
        }
        if self.end + PAD >= buf.len() {
            // Only a token longer than the buffer gets here; tokens are short, so this
            // stays rare and bounded by the size of one event.
            buf.resize(buf.len() * 2, 0);
        }
        let room = buf.len() - PAD;
        let n = loop {
            match self.src.read(&mut buf[self.end..room]) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(self.io_error(e)),
            }
        };
        if n == 0 {
            self.eof = true;
        }
        self.end += n;
        buf[self.end..self.end + PAD].fill(0);
        Ok(n > 0)
    }

    /// Makes at least `n` bytes available unless the input ends first; returns how many are.
    pub fn ensure(&mut self, n: usize) -> Result<usize, ChainError> {
        while self.end - self.pos < n && self.fill()? {}
        Ok(self.end - self.pos)
    }

    /// The buffered bytes from the current position.
    pub fn rest(&self) -> &[u8] {
        &self.buf[self.pos..self.end]
    }

    pub fn advance(&mut self, n: usize) {
        self.pos = (self.pos + n).min(self.end);
    }

    /// Skips JSON whitespace; returns the next byte (not consumed), `None` at end of input.
    pub fn skip_ws(&mut self) -> Result<Option<u8>, ChainError> {
        loop {
            let i = skip_ws_at(&self.buf, self.pos);
            if i < self.end {
                self.pos = i;
                return Ok(Some(self.buf[i]));
            }
            self.pos = self.end;
            if !self.fill()? {
                return Ok(None);
            }
        }
    }

    /// Skips whitespace and consumes `byte`, or fails naming what was expected.
    pub fn expect(&mut self, byte: u8, expected: &str) -> Result<(), ChainError> {
        match self.skip_ws()? {
            Some(b) if b == byte => {
                self.pos += 1;
                Ok(())
            }
            found => Err(self.malformed(format!("expected {expected}, found {}", describe(found)))),
        }
    }

    /// The input from absolute offset `from` to the current position, if still buffered
    /// (nothing is discarded until the next refill).
    pub fn since(&self, from: u64) -> Option<&[u8]> {
        let start = usize::try_from(from.checked_sub(self.base)?).ok()?;
        self.buf.get(start..self.pos)
    }

    /// Does the input continue with `prefix`?
    pub fn starts_with(&mut self, prefix: &[u8]) -> Result<bool, ChainError> {
        self.ensure(prefix.len())?;
        Ok(self.rest().starts_with(prefix))
    }

    /// Reads a JSON string (at its opening quote) and unescapes it with serde_json.
    pub fn string(&mut self, what: &str) -> Result<String, ChainError> {
        let mut text = String::new();
        self.string_into(what, &mut text)?;
        Ok(text)
    }

    /// As [`Input::string`], into `out` (replacing what it held): a recycled buffer saves
    /// an allocation per event.
    pub fn string_into(&mut self, what: &str, out: &mut String) -> Result<(), ChainError> {
        match self.skip_ws()? {
            Some(b'"') => {}
            found => return Err(self.malformed(format!("expected a string for {what}, found {}", describe(found)))),
        }
        let start = self.offset();
        // Fast path: no escape and no control character (serde_json would reject those
        // with its own message), the whole string buffered, valid UTF-8.
        let rest = &self.buf[self.pos + 1..self.end];
        if let Some(i) = memchr::memchr2(b'"', b'\\', rest)
            && rest[i] == b'"'
            && !rest[..i].iter().any(|&b| b < 0x20)
            && let Ok(text) = std::str::from_utf8(&rest[..i])
        {
            out.clear();
            out.push_str(text);
            self.pos += i + 2;
            return Ok(());
        }
        let raw = self.raw_string(what)?;
        if let Err(e) = std::str::from_utf8(&raw) {
            let message = format!("invalid UTF-8 in {what}");
            return Err(self.malformed_at_offset(start + e.valid_up_to() as u64, message));
        }
        *out = serde_json::from_slice::<String>(&raw).map_err(|e| {
            let at = start + (e.column().saturating_sub(1)) as u64;
            self.malformed_at_offset(at, format!("invalid {what} string: {}", serde_message(&e)))
        })?;
        Ok(())
    }

    /// Reads an object key. Keys are plain ASCII in every chain, so they are compared raw
    /// (no allocation, no unescaping per event); a key with escapes goes through serde_json.
    pub fn key(&mut self, out: &mut Vec<u8>) -> Result<(), ChainError> {
        match self.skip_ws()? {
            Some(b'"') => {}
            found => return Err(self.malformed(format!("expected a field name, found {}", describe(found)))),
        }
        out.clear();
        let rest = &self.buf[self.pos + 1..self.end];
        if let Some(i) = memchr::memchr2(b'"', b'\\', rest)
            && rest[i] == b'"'
        {
            out.extend_from_slice(&rest[..i]);
            self.pos += i + 2;
            return Ok(());
        }
        let key = self.string("field name")?;
        out.extend_from_slice(key.as_bytes());
        Ok(())
    }

    /// A malformed-input error at absolute offset `at` (at or before the current position).
    /// The line is given when the bytes before `at` are still buffered.
    pub fn malformed_at_offset(&self, at: u64, message: impl Into<String>) -> ChainError {
        match at.checked_sub(self.base) {
            Some(rel) if rel <= self.end as u64 => self.malformed_at(rel as usize, message),
            _ => ChainError::Malformed {
                path: self.name.clone(),
                index: self.index,
                offset: at,
                line: None,
                message: message.into(),
            },
        }
    }

    /// The raw text of a string, quotes included, without interpreting escapes.
    fn raw_string(&mut self, what: &str) -> Result<Vec<u8>, ChainError> {
        let mut raw = vec![b'"'];
        self.pos += 1;
        loop {
            let rest = &self.buf[self.pos..self.end];
            match memchr::memchr2(b'"', b'\\', rest) {
                Some(i) if rest[i] == b'"' => {
                    raw.extend_from_slice(&rest[..=i]);
                    self.pos += i + 1;
                    return Ok(raw);
                }
                Some(i) => {
                    // An escape: keep the backslash and the byte after it, whatever it is
                    // (serde_json validates escapes), so an escaped quote does not end us.
                    raw.extend_from_slice(&rest[..=i]);
                    self.pos += i + 1;
                    if self.ensure(1)? == 0 {
                        return Err(self.malformed(format!("unexpected end of file in {what} string")));
                    }
                    raw.push(self.buf[self.pos]);
                    self.pos += 1;
                }
                None => {
                    raw.extend_from_slice(rest);
                    self.pos = self.end;
                    if !self.fill()? {
                        return Err(self.malformed(format!("unexpected end of file in {what} string")));
                    }
                }
            }
        }
    }

    /// Reads a JSON array of numbers 0..=255 (at its `[`) into `out`. The hot path of
    /// reading a chain.
    fn byte_array(&mut self, out: &mut Vec<u8>, what: &str) -> Result<(), ChainError> {
        // The vectorized pass when it vouches for the whole array (see `minify`); anything
        // else, errors included, is the exact parser's.
        if let Some(kernel) = self.simd
            && let Some(after) = super::minify::byte_array_with(kernel, &self.buf, self.pos, self.end, out)
        {
            self.pos = after;
            return Ok(());
        }
        self.pos += 1;
        let mut state = ArrayState::First;
        loop {
            match scan_array(&self.buf, self.pos, self.end, self.eof, &mut state, out) {
                Step::Done(p) => {
                    self.pos = p;
                    return Ok(());
                }
                Step::More(p) => {
                    self.pos = p;
                    // At end of input `scan_array` is called once more with `eof` set, and
                    // then it never asks for more.
                    self.fill()?;
                }
                Step::Bad(p, problem) => {
                    self.pos = p;
                    return Err(self.array_error(problem, what));
                }
            }
        }
    }

    /// Copies the raw text of a byte array (at or after whitespace, `[` to the first `]`)
    /// into `out`, followed by `PAD` zero bytes so that [`parse_raw_byte_array`] can scan
    /// it in place. Returns where the `[` is. Byte arrays hold no strings or nested
    /// arrays, so the first `]` ends a well-formed one; anything else fails the parse later
    /// at its own offset, and on its own line.
    pub fn raw_byte_array(&mut self, out: &mut Vec<u8>, what: &str) -> Result<RawAt, ChainError> {
        match self.skip_ws()? {
            Some(b'[') => {}
            found => return Err(self.malformed(format!("expected an array of bytes for {what}, found {}", describe(found)))),
        }
        let start = self.offset();
        // Known now: the bytes before it may be gone when its error is found.
        let at = RawAt { offset: start, line: self.line() };
        loop {
            let rest = &self.buf[self.pos..self.end];
            if let Some(i) = memchr::memchr(b']', rest) {
                out.extend_from_slice(&rest[..=i]);
                self.pos += i + 1;
                out.extend_from_slice(&[0; PAD]);
                return Ok(at);
            }
            out.extend_from_slice(rest);
            self.pos = self.end;
            let more = match self.fill() {
                Ok(more) => more,
                Err(e @ ChainError::EventTooLarge { .. }) => {
                    // As the exact parser would: a fault within the event's limit first.
                    out.extend_from_slice(&[0; PAD]);
                    if let Err((at, message)) = parse_raw_byte_array(out, &mut Vec::new(), what)
                        && start + (at as u64) <= self.event_limit
                    {
                        return Err(self.malformed_at_offset(start + at as u64, message));
                    }
                    return Err(e);
                }
                Err(e) => return Err(e),
            };
            if !more {
                // A fault before the end (a bad byte, a nested value) is the one to report.
                out.extend_from_slice(&[0; PAD]);
                if let Err((fault, message)) = parse_raw_byte_array(out, &mut Vec::new(), what)
                    && start + (fault as u64) < self.offset()
                {
                    return Err(at.malformed(&self.name, self.index, out, fault, message));
                }
                return Err(self.malformed(format!("unexpected end of file in {what}")));
            }
        }
    }

    /// The canonical (compact) text of the byte array at the cursor, after whitespace,
    /// appended to `out` when the vectorized pass of [`super::minify`] vouches for it; then
    /// the array is consumed and the result is true. False, having consumed nothing but
    /// whitespace, when it does not (a fault, an array running past the buffered input, no
    /// SIMD): the exact parser must read it and report any error exactly.
    pub fn canonical_byte_array(&mut self, out: &mut Vec<u8>) -> Result<bool, ChainError> {
        let Some(kernel) = self.simd else { return Ok(false) };
        if self.skip_ws()? != Some(b'[') {
            return Ok(false);
        }
        match super::minify::canonical_array_with(kernel, &self.buf, self.pos, self.end, out) {
            Some(after) => {
                self.pos = after;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// `null` or a byte array.
    pub fn null_or_byte_array(&mut self, what: &str) -> Result<Option<Vec<u8>>, ChainError> {
        match self.skip_ws()? {
            Some(b'n') => {
                self.literal(b"null", what)?;
                Ok(None)
            }
            Some(b'[') => {
                let mut out = Vec::with_capacity(32);
                self.byte_array(&mut out, what)?;
                Ok(Some(out))
            }
            found => Err(self.malformed(format!("expected null or an array of bytes for {what}, found {}", describe(found)))),
        }
    }

    /// A byte array, skipping whitespace before it.
    pub fn byte_array_value(&mut self, out: &mut Vec<u8>, what: &str) -> Result<(), ChainError> {
        match self.skip_ws()? {
            Some(b'[') => self.byte_array(out, what),
            found => Err(self.malformed(format!("expected an array of bytes for {what}, found {}", describe(found)))),
        }
    }

    fn literal(&mut self, word: &[u8], what: &str) -> Result<(), ChainError> {
        self.ensure(word.len() + 1)?;
        let rest = self.rest();
        if rest.starts_with(word) && !rest.get(word.len()).is_some_and(|b| b.is_ascii_alphanumeric()) {
            self.pos += word.len();
            Ok(())
        } else {
            Err(self.malformed(format!("invalid literal in {what}")))
        }
    }

    fn array_error(&mut self, problem: Problem, what: &str) -> ChainError {
        if let Problem::Value = problem {
            // Off the hot path: enough of the value to say precisely what is wrong with it.
            if let Err(e) = self.ensure(64) {
                return e;
            }
        }
        self.malformed(problem_message(problem, self.rest(), what))
    }

    /// Reads one line (at most `max` bytes) without a copy: where it lies in the buffer,
    /// without its `\r\n` or `\n`, valid until the next read.
    pub fn line_span(&mut self, max: usize, what: &str) -> Result<std::ops::Range<usize>, ChainError> {
        let mut scanned = 0;
        loop {
            let rest = self.rest();
            if let Some(i) = memchr::memchr(b'\n', &rest[scanned..]) {
                let i = scanned + i;
                let end = if i > 0 && rest[i - 1] == b'\r' { i - 1 } else { i };
                let span = self.pos..self.pos + end;
                self.pos += i + 1;
                return Ok(span);
            }
            scanned = rest.len();
            if scanned > max {
                return Err(self.malformed(format!("{what} line longer than {max} bytes")));
            }
            if !self.fill()? {
                return Err(self.malformed(format!("unexpected end of file in the {what} line")));
            }
        }
    }

    /// The bytes of a span from [`Input::line_span`].
    pub fn span(&self, span: std::ops::Range<usize>) -> &[u8] {
        &self.buf[span]
    }

    /// Reads exactly `len` raw bytes into `out`; `Ok(false)` if the input ends first.
    pub fn raw_bytes(&mut self, len: u64, out: &mut Vec<u8>) -> Result<bool, ChainError> {
        let mut left = len;
        while left > 0 {
            if self.pos == self.end && !self.fill()? {
                return Ok(false);
            }
            let take = (self.end - self.pos).min(usize::try_from(left).unwrap_or(usize::MAX));
            out.extend_from_slice(&self.buf[self.pos..self.pos + take]);
            self.pos += take;
            left -= take as u64;
        }
        Ok(true)
    }

    /// The next byte without skipping anything; `None` at end of input.
    pub fn peek(&mut self) -> Result<Option<u8>, ChainError> {
        self.ensure(1)?;
        Ok(self.rest().first().copied())
    }
}

/// What [`Input::compact_event`] read besides the buffers it filled.
pub(crate) struct CompactParts {
    /// Absolute offsets of the `hash` value's `[` and of the byte after its `]`.
    pub hash_at: u64,
    pub hash_end: u64,
    pub parent: CompactParent,
    /// Whether the event after its `hash` value is exactly its canonical form.
    pub canonical: bool,
}

pub(crate) enum CompactParent {
    Null,
    /// Spelled exactly as the `last_hash_text` given: the previous event's hash.
    Last,
    /// Parsed into the buffer given.
    Parsed,
}

/// The fixed text around an event's values in a layout [`Input::compact_event`] reads:
/// compact (as `record` writes) or serde_json's pretty printing (as theater's JSON arrays
/// are saved), fields in canonical order.
#[derive(Clone, PartialEq, Eq, Debug)]
pub(crate) struct EventLayout {
    /// Up to the `hash` value's `[`.
    hash: Vec<u8>,
    /// From the `hash` value's `]` to the `parent_hash` value.
    parent: Vec<u8>,
    /// From there to the `event_type` string's first character.
    event_type: Vec<u8>,
    /// From its closing quote to the `data` value's `[`.
    data: Vec<u8>,
    /// From the `data` value's `]` to the event's `}` included.
    close: Vec<u8>,
    /// Whether the fixed text is the canonical form's (no whitespace): only then can an
    /// event in this layout be stored exactly as its canonical form.
    canonical: bool,
}

impl EventLayout {
    pub fn compact() -> EventLayout {
        EventLayout {
            hash: br#"{"hash":["#.to_vec(),
            parent: br#","parent_hash":"#.to_vec(),
            event_type: br#","event_type":""#.to_vec(),
            data: br#","data":["#.to_vec(),
            close: b"}".to_vec(),
            canonical: true,
        }
    }

    /// The text an event in this layout starts with, up to its `hash` value.
    pub fn opening(&self) -> &[u8] {
        &self.hash
    }

    /// The pretty layout of the event starting at `text[0]`, read from its first line
    /// break (`{`, a newline and the fields' indentation, then `"hash": [`), if it is one.
    pub fn pretty_at(text: &[u8]) -> Option<EventLayout> {
        let rest = text.strip_prefix(b"{\n")?;
        let spaces = rest.iter().take_while(|&&b| b == b' ').count();
        // serde_json indents the fields one step (two spaces) deeper than the `{`.
        if spaces < 2 || !rest[spaces..].starts_with(br#""hash": ["#) {
            return None;
        }
        let line = |then: &[u8]| [b"\n".as_slice(), &rest[..spaces], then].concat();
        Some(EventLayout {
            hash: [b"{".as_slice(), &line(br#""hash": ["#)].concat(),
            parent: [b",".as_slice(), &line(br#""parent_hash": "#)].concat(),
            event_type: [b",".as_slice(), &line(br#""event_type": ""#)].concat(),
            data: [b",".as_slice(), &line(br#""data": ["#)].concat(),
            close: [b"\n".as_slice(), &rest[..spaces - 2], b"}"].concat(),
            canonical: false,
        })
    }
}

impl Input {
    /// The text at the cursor, as far as it is buffered.
    pub fn buffered(&self) -> &[u8] {
        &self.buf[self.pos..self.end]
    }

    /// Reads the event at the cursor when it is laid out as `layout` says: as `record`
    /// writes events, compact and in canonical field order (`{"hash":[..],"parent_hash":..,
    /// "event_type":"..","data":[..]}`, a type without escapes), or the same pretty printed,
    /// entirely from the bytes buffered.
    ///
    /// Why: every chain `record` writes is laid out so, and the general path (keys found and
    /// compared one by one, whitespace skipped before every token, each field's position
    /// tracked for the canonical test) was half of the reading thread's time per event in a
    /// replay. Anything else (another layout, an error, an event running past the buffer)
    /// returns `None` having consumed nothing, and the general path reads the same bytes
    /// again: it alone makes errors, so their offsets and messages are unchanged.
    pub fn compact_event(
        &mut self,
        layout: &EventLayout,
        last_hash_text: &[u8],
        hash: &mut Vec<u8>,
        parent: &mut Vec<u8>,
        event_type: &mut String,
        data: &mut Vec<u8>,
    ) -> Option<CompactParts> {
        let (buf, end, eof) = (&self.buf[..], self.end, self.eof);
        let text = &buf[..end];
        let at = |i: usize, lit: &[u8]| text.get(i..).is_some_and(|rest| rest.starts_with(lit));
        let array = |i: usize, out: &mut Vec<u8>| match scan_array(buf, i, end, eof, &mut ArrayState::First, out) {
            Step::Done(j) => Some(j),
            _ => None,
        };
        let mut i = self.pos;
        if !at(i, &layout.hash) {
            return None;
        }
        let hash_at = i + layout.hash.len() - 1;
        hash.clear();
        i = match self.simd.and_then(|kernel| super::minify::byte_array_with(kernel, buf, hash_at, end, hash)) {
            Some(after) => after,
            None => array(hash_at + 1, hash)?,
        };
        let hash_end = i;
        if !at(i, &layout.parent) {
            return None;
        }
        i += layout.parent.len();
        let parent_at = i;
        let (kind, parent_canonical) = if at(i, b"null") {
            i += 4;
            (CompactParent::Null, true)
        } else if !last_hash_text.is_empty() && at(i, last_hash_text) {
            i += last_hash_text.len();
            // The canonical test needs the bytes: the caller's copy of the last hash.
            (CompactParent::Last, false)
        } else if at(i, b"[") {
            parent.clear();
            i = array(i + 1, parent)?;
            let compact = canonical_len_ok(&text[parent_at..i]);
            (CompactParent::Parsed, compact)
        } else {
            return None;
        };
        if !at(i, &layout.event_type) {
            return None;
        }
        i += layout.event_type.len();
        let rest = &text[i..];
        let close = memchr::memchr2(b'"', b'\\', rest).filter(|&k| rest[k] == b'"')?;
        if rest[..close].iter().any(|&b| b < 0x20) {
            return None;
        }
        let name = std::str::from_utf8(&rest[..close]).ok()?;
        i += close + 1;
        if !at(i, &layout.data) {
            return None;
        }
        let data_at = i + layout.data.len() - 1;
        data.clear();
        i = match self.simd.and_then(|kernel| super::minify::byte_array_with(kernel, buf, data_at, end, data)) {
            Some(after) => after,
            None => array(data_at + 1, data)?,
        };
        if !at(i, &layout.close) {
            return None;
        }
        event_type.clear();
        event_type.push_str(name);
        // The parser takes each number only as its canonical spelling, so the text is
        // canonical exactly when it is as long as the compact form: a count over the
        // payload's bytes instead of a search through its text three to four times as long.
        // A pretty layout's line breaks are never canonical, whatever its arrays (an empty
        // one is printed `[]` there too).
        let canonical = layout.canonical && (i - data_at) as u64 == compact_len(data);
        let parent_canonical = match kind {
            CompactParent::Last => canonical_len_ok(last_hash_text),
            _ => parent_canonical,
        };
        self.pos = i + layout.close.len();
        let base = self.base;
        Some(CompactParts {
            hash_at: base + hash_at as u64,
            hash_end: base + hash_end as u64,
            parent: kind,
            canonical: canonical && parent_canonical,
        })
    }
}

/// Whether the text of a byte array that parsed is its compact form: no whitespace (the
/// parser refuses every other spelling of a number).
fn canonical_len_ok(text: &[u8]) -> bool {
    // Vectorized searches: this runs on every event's parent hash.
    memchr::memchr3(b' ', b'\n', b'\r', text).is_none() && memchr::memchr(b'\t', text).is_none()
}

/// The length of `bytes` as a compact JSON array: digits, commas and brackets.
pub(crate) fn compact_len(bytes: &[u8]) -> u64 {
    // Counted in byte-wide sums of at most 255 (which the compiler vectorizes 16 bytes at a
    // time); `filter().count()` sums a usize per byte, eight times slower.
    let mut digits = bytes.len();
    for chunk in bytes.chunks(255) {
        let (mut tens, mut hundreds) = (0u8, 0u8);
        for &b in chunk {
            tens += u8::from(b >= 10);
            hundreds += u8::from(b >= 100);
        }
        digits += usize::from(tens) + usize::from(hundreds);
    }
    (digits + bytes.len().max(1) + 1) as u64
}

/// Where the `[` of a byte array captured raw is: its absolute offset and its line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RawAt {
    pub offset: u64,
    pub line: u64,
}

impl RawAt {
    /// The error [`parse_raw_byte_array`] found `fault` bytes into `text`, placed exactly
    /// where reading the array in place reports it: same offset, same line.
    pub fn malformed(self, path: &str, index: u64, text: &[u8], fault: usize, message: String) -> ChainError {
        let line = self.line + count_newlines(&text[..fault.min(text.len())]) as u64;
        ChainError::Malformed { path: path.to_owned(), index, offset: self.offset + fault as u64, line: Some(line), message }
    }
}

/// Parses the raw text [`Input::raw_byte_array`] captured (padding included) into `out`.
/// On failure: the offset of the problem within the text, and the message.
pub(crate) fn parse_raw_byte_array(raw: &[u8], out: &mut Vec<u8>, what: &str) -> Result<(), (usize, String)> {
    let end = raw.len().saturating_sub(PAD);
    if raw.len() < PAD + 2 || raw[0] != b'[' {
        return Err((0, format!("expected an array of bytes for {what}")));
    }
    let mut state = ArrayState::First;
    match scan_array(raw, 1, end, true, &mut state, out) {
        Step::Done(p) if p == end => Ok(()),
        Step::Done(p) => Err((p, format!("expected the end of {what}"))),
        Step::More(p) => Err((p, format!("unexpected end of file in {what}"))),
        Step::Bad(p, problem) => Err((p, problem_message(problem, &raw[p..end], what))),
    }
}

fn problem_message(problem: Problem, rest: &[u8], what: &str) -> String {
    match problem {
        Problem::Truncated => format!("unexpected end of file in {what}"),
        Problem::Separator => format!("expected ',' or ']' in {what}, found {}", describe(rest.first().copied())),
        Problem::Value => format!("{} in {what}", describe_bad_byte(rest)),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum ArrayState {
    /// After `[`: a value or `]`.
    First,
    /// After `,`: a value.
    Value,
    /// After a value: `,` or `]`.
    Separator,
}

enum Step {
    Done(usize),
    More(usize),
    Bad(usize, Problem),
}

enum Problem {
    Truncated,
    Separator,
    Value,
}

/// Parses as much of a byte array as `buf[i..end]` holds. Reads past `end` only into the
/// zero padding, which stops every loop.
///
/// Pretty-printed arrays put the same whitespace before every number ("\n" and six
/// spaces in theater's files), so the run seen before the previous number is tried first
/// with one 8-byte compare; anything else takes the general whitespace skip.
#[inline]
fn scan_array(buf: &[u8], mut i: usize, end: usize, eof: bool, state: &mut ArrayState, out: &mut Vec<u8>) -> Step {
    let need_more = |i: usize| if eof { Step::Bad(i, Problem::Truncated) } else { Step::More(i) };
    // The learned whitespace run: its bytes (`pattern`) under `mask`; zero length at first.
    let (mut pattern, mut mask, mut run) = (0u64, 0u64, 0usize);
    loop {
        if *state == ArrayState::Separator {
            let mut c = buf[i];
            if c == b',' {
                i += 1;
                *state = ArrayState::Value;
                continue;
            }
            if c <= b' ' {
                i = skip_ws_at(buf, i);
                c = buf[i];
            }
            if i >= end {
                return need_more(i);
            }
            match c {
                b',' => {
                    i += 1;
                    *state = ArrayState::Value;
                    continue;
                }
                b']' => return Step::Done(i + 1),
                _ => return Step::Bad(i, Problem::Separator),
            }
        }
        // Fast path, for all but the last number: the learned whitespace run, a number and
        // its comma, in a loop specialized for the run's length.
        if end - i >= 16 {
            let j = match run {
                0 => fast_by_commas::<0>(buf, i, end, pattern, mask, out),
                1 => fast_by_commas::<1>(buf, i, end, pattern, mask, out),
                2 => fast_by_commas::<2>(buf, i, end, pattern, mask, out),
                3 => fast_by_commas::<3>(buf, i, end, pattern, mask, out),
                4 => fast_by_commas::<4>(buf, i, end, pattern, mask, out),
                5 => fast_by_commas::<5>(buf, i, end, pattern, mask, out),
                6 => fast_by_commas::<6>(buf, i, end, pattern, mask, out),
                7 => fast_by_commas::<7>(buf, i, end, pattern, mask, out),
                _ => i,
            };
            if j != i {
                i = j;
                *state = ArrayState::Value;
                continue;
            }
        }
        let word = load8(buf, i);
        if word & mask == pattern && buf[i + run].wrapping_sub(b'0') < 10 {
            // Whitespace bytes never match the zero padding, so this stays below `end`.
            i += run;
        } else {
            let start = i;
            i = skip_ws_at(buf, i);
            run = i - start;
            if run < 8 {
                mask = (1u64 << (8 * run)) - 1;
                pattern = word & mask;
            } else {
                (pattern, mask, run) = (0, 0, 0);
            }
        }
        if i >= end {
            return need_more(i);
        }
        // A number and the byte after it must be in the buffer together.
        if end - i < 8 && !eof {
            return Step::More(i);
        }
        let c = buf[i];
        if c == b']' && *state == ArrayState::First {
            return Step::Done(i + 1);
        }
        // Branch-free 1-3 digit parse: byte lengths vary at random in payloads, so
        // branching on them would mispredict a third of the time.
        let d0 = c.wrapping_sub(b'0') as u32;
        let d1 = buf[i + 1].wrapping_sub(b'0') as u32;
        let d2 = buf[i + 2].wrapping_sub(b'0') as u32;
        let two = d1 < 10;
        let three = two & (d2 < 10);
        let len = 1 + usize::from(two) + usize::from(three);
        let v2 = d0 * 10 + d1;
        let value = if three { v2 * 10 + d2 } else if two { v2 } else { d0 };
        let next = buf[i + len];
        if d0 > 9 || value > 255 || (d0 == 0 && len > 1) || next.is_ascii_digit() || matches!(next, b'.' | b'e' | b'E') {
            return Step::Bad(i, Problem::Value);
        }
        out.push(value as u8);
        i += len;
        *state = ArrayState::Separator;
    }
}

/// Parses numbers laid out as `RUN` bytes of the learned whitespace, 1-3 digits and a
/// comma, for as long as the input keeps to that; returns the position after the last
/// comma parsed (`i` if none).
///
/// Walking number by number is bound by latency: each number's position depends on the
/// previous one's length. So commas are found first, 64 bytes at a time, and each number
/// is then read back from its comma: numbers no longer depend on each other and the CPU
/// works on several at once. This roughly halves the cost of a payload byte.
#[inline(always)]
fn fast_by_commas<const RUN: usize>(buf: &[u8], mut i: usize, end: usize, pattern: u64, mask: u64, out: &mut Vec<u8>) -> usize {
    // Numbers collect here and join `out` a few blocks at a time: cheaper than a capacity
    // check and length update per number, or a copy call per block.
    let mut block = [0u8; 256];
    let mut n = 0;
    while end - i >= 64 + 16 {
        if n > 192 {
            out.extend_from_slice(&block[..n]);
            n = 0;
        }
        let base = i;
        let mut commas = comma_bits(buf, base);
        if commas == 0 {
            break;
        }
        while commas != 0 {
            let comma = base + commas.trailing_zeros() as usize;
            commas &= commas - 1;
            let digits = i + RUN;
            let len = comma.wrapping_sub(digits);
            // No whitespace run to test in compact arrays (RUN 0: `mask` is 0).
            if (RUN > 0 && load8(buf, i) & mask != pattern) || len.wrapping_sub(1) > 2 {
                out.extend_from_slice(&block[..n]);
                return i;
            }
            // One bounds check for the three digits (a comma follows within the block).
            let Some(&[c0, c1, c2]) = buf.get(digits..digits + 3).and_then(|d| <&[u8; 3]>::try_from(d).ok()) else {
                out.extend_from_slice(&block[..n]);
                return i;
            };
            let d0 = c0.wrapping_sub(b'0') as u32;
            let d1 = c1.wrapping_sub(b'0') as u32;
            let d2 = c2.wrapping_sub(b'0') as u32;
            // Branch-free: number lengths vary at random, branches on them would mispredict.
            let v2 = d0.wrapping_mul(10).wrapping_add(d1);
            let v3 = v2.wrapping_mul(10).wrapping_add(d2);
            let (ge2, ge3) = (u32::from(len >= 2), u32::from(len >= 3));
            let value = d0.wrapping_add(ge2.wrapping_mul(v2.wrapping_sub(d0))).wrapping_add(ge3.wrapping_mul(v3.wrapping_sub(v2)));
            let valid = (d0 <= 9) & ((len < 2) | (d1 <= 9)) & ((len < 3) | (d2 <= 9)) & ((len == 1) | (d0 != 0)) & (value <= 255);
            if !valid {
                out.extend_from_slice(&block[..n]);
                return i;
            }
            block[n & 255] = value as u8;
            n += 1;
            i = comma + 1;
        }
    }
    out.extend_from_slice(&block[..n]);
    i
}

/// Bit k set when `buf[base + k]` is a comma, for k in 0..64.
#[inline(always)]
fn comma_bits(buf: &[u8], base: usize) -> u64 {
    let mut bits = 0u64;
    for k in 0..4 {
        bits |= comma_bits16(buf, base + 16 * k) << (16 * k);
    }
    bits
}

#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
#[inline(always)]
fn comma_bits16(buf: &[u8], at: usize) -> u64 {
    use std::arch::x86_64::{_mm_cmpeq_epi8, _mm_movemask_epi8, _mm_set_epi64x, _mm_set1_epi8};
    // Two 8-byte loads (bounds-checked; the compiler merges them) rather than a pointer
    // load, so the only unsafety is the target feature, which this cfg guarantees.
    let (lo, hi) = (load8(buf, at) as i64, load8(buf, at + 8) as i64);
    // SAFETY: SSE2 is enabled for this build (cfg above); the intrinsics take values only.
    unsafe {
        let chunk = _mm_set_epi64x(hi, lo);
        _mm_movemask_epi8(_mm_cmpeq_epi8(chunk, _mm_set1_epi8(b',' as i8))) as u16 as u64
    }
}

#[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
#[inline(always)]
fn comma_bits16(buf: &[u8], at: usize) -> u64 {
    let mut bits = 0;
    for half in 0..2 {
        // Gather the high bit of each byte into one byte (no carries: the products land on
        // distinct bits).
        let flags = eq_mask(load8(buf, at + 8 * half), b',') >> 7;
        bits |= (flags.wrapping_mul(0x0102_0408_1020_4080) >> 56) << (8 * half);
    }
    bits
}

#[inline(always)]
fn load8(buf: &[u8], i: usize) -> u64 {
    let mut word = [0u8; 8];
    word.copy_from_slice(&buf[i..i + 8]);
    u64::from_le_bytes(word)
}

/// Index of the first non-whitespace byte at or after `i`. The caller guarantees a
/// non-whitespace byte (the zero padding at the latest) and 8 readable bytes after it.
#[inline(always)]
fn skip_ws_at(buf: &[u8], mut i: usize) -> usize {
    loop {
        let stop = non_ws_mask(load8(buf, i));
        if stop != 0 {
            return i + (stop.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
}

const ONES: u64 = 0x0101_0101_0101_0101;
const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
const HIGH: u64 = 0x8080_8080_8080_8080;

/// High bit set in every byte of `word` equal to `byte` (exact, no false positives).
#[inline(always)]
fn eq_mask(word: u64, byte: u8) -> u64 {
    let x = word ^ (ONES * byte as u64);
    !(((x & LOW7) + LOW7) | x) & HIGH
}

/// High bit set in every byte that is not JSON whitespace (space, \n, \r, \t).
#[inline(always)]
fn non_ws_mask(word: u64) -> u64 {
    let ws = eq_mask(word, b' ') | eq_mask(word, b'\n') | eq_mask(word, b'\r') | eq_mask(word, b'\t');
    !ws & HIGH
}

fn count_newlines(bytes: &[u8]) -> usize {
    // Runs over every byte once (at refills). Counting into a u8 per block of 255 bytes
    // lets the compiler use 16 byte-wide compares per instruction.
    bytes
        .chunks(255)
        .map(|block| block.iter().fold(0u8, |n, &b| n + u8::from(b == b'\n')) as usize)
        .sum()
}

/// What a byte looks like in an error message.
pub(crate) fn describe(byte: Option<u8>) -> String {
    match byte {
        None => "end of file".to_owned(),
        Some(b'"') => "a string".to_owned(),
        Some(b'{') => "an object".to_owned(),
        Some(b'[') => "an array".to_owned(),
        Some(b'n') => "null".to_owned(),
        Some(b't' | b'f') => "a boolean".to_owned(),
        Some(b'-' | b'0'..=b'9') => "a number".to_owned(),
        Some(b) if b.is_ascii_graphic() => format!("'{}'", b as char),
        Some(b) => format!("byte 0x{b:02x}"),
    }
}

/// Explains why the value at the start of `rest` is not a byte.
fn describe_bad_byte(rest: &[u8]) -> String {
    let token_len = rest.iter().take_while(|b| matches!(b, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E')).count();
    if token_len == 0 {
        return format!("expected a byte (0..=255), found {}", describe(rest.first().copied()));
    }
    let token = String::from_utf8_lossy(&rest[..token_len]);
    // A 10,000-digit number is quoted by its first digits and its length.
    let shown = crate::text::clip(&token);
    if token.contains(['.', 'e', 'E']) {
        return format!("expected a byte (integer 0..=255), found {shown}");
    }
    let digits = token.strip_prefix('-').unwrap_or(&token);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || (digits.len() > 1 && digits.starts_with('0')) {
        return format!("invalid number {shown}");
    }
    format!("byte outside 0..=255: {shown}")
}

/// serde_json's message without its "at line L column C" suffix (we give our own).
fn serde_message(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.rfind(" at line ") {
        Some(i) => text[..i].to_owned(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(text: &[u8]) -> Input {
        Input::new("t".into(), Box::new(io::Cursor::new(text.to_vec())))
    }

    /// The compact length (what tells a stored array canonical) is serde_json's, for every
    /// length around the byte-wide sums' chunks of 255 and with every kind of number.
    #[test]
    fn compact_len_is_the_length_serde_json_writes() {
        for len in (0..600).chain([765, 766, 1000]) {
            for pattern in [|i: usize| (i * 37 % 256) as u8, |_| 255, |_| 9, |i: usize| if i % 2 == 0 { 100 } else { 10 }] {
                let bytes: Vec<u8> = (0..len).map(pattern).collect();
                assert_eq!(compact_len(&bytes), serde_json::to_vec(&bytes).unwrap().len() as u64, "{len}");
            }
        }
    }

    /// A reader that hands out one byte per call, to exercise every refill boundary.
    struct Trickle(Vec<u8>, usize);
    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.1 >= self.0.len() || buf.is_empty() {
                return Ok(0);
            }
            buf[0] = self.0[self.1];
            self.1 += 1;
            Ok(1)
        }
    }

    fn parse(text: &[u8]) -> Result<Vec<u8>, ChainError> {
        let mut inp = input(text);
        let mut out = Vec::new();
        inp.byte_array_value(&mut out, "data")?;
        Ok(out)
    }

    #[test]
    fn whitespace_mask_is_exact() {
        for b in 0..=255u8 {
            let word = u64::from_le_bytes([b'1', b, b'1', b, b, b'1', b'1', b]);
            let stops = non_ws_mask(word);
            let is_ws = matches!(b, b' ' | b'\n' | b'\r' | b'\t');
            assert_eq!(stops & (0x80 << 8) == 0, is_ws, "byte {b}");
        }
    }

    #[test]
    fn parses_arrays_in_every_layout() {
        assert_eq!(parse(b"[]").unwrap(), Vec::<u8>::new());
        assert_eq!(parse(b"[ \n ]").unwrap(), Vec::<u8>::new());
        assert_eq!(parse(b"[0,1,10,99,100,255]").unwrap(), vec![0, 1, 10, 99, 100, 255]);
        assert_eq!(parse(b"[\n  0 ,\r\n\t 255\n]").unwrap(), vec![0, 255]);
    }

    #[test]
    fn rejects_bad_values() {
        for (text, needle) in [
            (&b"[256]"[..], "outside 0..=255"),
            (b"[-1]", "outside 0..=255"),
            (b"[1000]", "outside 0..=255"),
            (b"[01]", "invalid number"),
            (b"[1.5]", "integer"),
            (b"[1e2]", "integer"),
            (b"[\"a\"]", "found a string"),
            (b"[1,]", "found ']'"),
            (b"[1 2]", "expected ',' or ']'"),
            (b"[1,2", "end of file"),
            (b"[", "end of file"),
            (b"[1\x01]", "expected ',' or ']'"),
        ] {
            let err = parse(text).unwrap_err().to_string();
            assert!(err.contains(needle), "{:?}: {err}", String::from_utf8_lossy(text));
        }
    }

    /// Long pretty arrays take the specialized fast path; errors deep inside them must be
    /// found exactly as at the start, in the streaming and in the deferred (raw) parse.
    #[test]
    fn errors_inside_long_pretty_arrays() {
        let good: Vec<String> = (0..200).map(|i| ((i * 37) % 256).to_string()).collect();
        for (bad, needle) in [("256", "outside"), ("01", "invalid number"), ("1.5", "integer"), ("\"x\"", "string"), ("-3", "outside")] {
            for at in [0, 1, 150, 199] {
                let mut items = good.clone();
                items[at] = bad.to_owned();
                let text = format!("[\n      {}\n    ]", items.join(",\n      "));
                let offset = text.find(&format!("      {bad}")).unwrap() + 6;
                let err = parse(text.as_bytes()).unwrap_err();
                assert!(err.to_string().contains(needle), "{bad} at {at}: {err}");
                assert_eq!(err.offset(), Some(offset as u64), "{bad} at {at}: {err}");
                let mut raw = Vec::new();
                input(text.as_bytes()).raw_byte_array(&mut raw, "data").unwrap();
                let (pos, message) = parse_raw_byte_array(&raw, &mut Vec::new(), "data").unwrap_err();
                assert_eq!(pos, offset, "raw {bad} at {at}");
                assert!(message.contains(needle), "raw {bad} at {at}: {message}");
            }
        }
        for text in ["[\n  1,\n  2,\n]", "[1,2,]", "[\n      1,\n      2\n      3\n]"] {
            assert!(parse(text.as_bytes()).is_err(), "{text}");
        }
        let expected: Vec<u8> = good.iter().map(|g| g.parse().unwrap()).collect();
        let text = format!("[\n      {}\n    ]", good.join(",\n      "));
        assert_eq!(parse(text.as_bytes()).unwrap(), expected);
        let mut raw = Vec::new();
        input(text.as_bytes()).raw_byte_array(&mut raw, "data").unwrap();
        let mut out = Vec::new();
        parse_raw_byte_array(&raw, &mut out, "data").unwrap();
        assert_eq!(out, expected);
    }

    #[test]
    fn survives_one_byte_reads() {
        let text = b"[ 1 ,\n 22,  233 , 0]";
        let mut inp = Input::new("t".into(), Box::new(Trickle(text.to_vec(), 0)));
        let mut out = Vec::new();
        inp.byte_array_value(&mut out, "data").unwrap();
        assert_eq!(out, vec![1, 22, 233, 0]);
        let mut inp = Input::new("t".into(), Box::new(Trickle(br#""a\"b\\c" x"#.to_vec(), 0)));
        inp.skip_ws().unwrap();
        assert_eq!(inp.string("event_type").unwrap(), "a\"b\\c");
    }

    #[test]
    fn strings_are_serde_json_strings() {
        let mut inp = input(br#""\u00e9\n/""#);
        assert_eq!(inp.string("event_type").unwrap(), "\u{e9}\n/");
        let mut inp = input(b"\"\xff\"");
        assert!(inp.string("event_type").unwrap_err().to_string().contains("invalid UTF-8"));
        let mut inp = input(b"\"abc");
        assert!(inp.string("event_type").unwrap_err().to_string().contains("end of file"));
    }
}
