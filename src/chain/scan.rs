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

/// A buffered, position-tracking view of the input.
pub(crate) struct Input {
    pub name: String,
    /// Index of the event being read, for error messages.
    pub index: u64,
    src: Box<dyn Read + Send>,
    buf: Vec<u8>,
    pos: usize,
    end: usize,
    /// Absolute offset of `buf[0]`.
    base: u64,
    /// Newlines in the input before `buf[0]`.
    lines: u64,
    eof: bool,
}

impl Input {
    pub fn new(name: String, src: Box<dyn Read + Send>) -> Input {
        Input { name, index: 0, src, buf: vec![0; CHUNK + PAD], pos: 0, end: 0, base: 0, lines: 0, eof: false }
    }

    /// Absolute byte offset of the next byte.
    pub fn offset(&self) -> u64 {
        self.base + self.pos as u64
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
        let line = self.lines + count_newlines(&self.buf[..at]) as u64 + 1;
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

    /// Reads more input after what is buffered. Returns false at end of input.
    fn fill(&mut self) -> Result<bool, ChainError> {
        if self.eof {
            return Ok(false);
        }
        if self.pos > 0 {
            self.lines += count_newlines(&self.buf[..self.pos]) as u64;
            self.base += self.pos as u64;
            self.buf.copy_within(self.pos..self.end, 0);
            self.end -= self.pos;
            self.pos = 0;
        }
        if self.end + PAD >= self.buf.len() {
            // Only a token longer than the buffer gets here; tokens are short, so this
            // stays rare and bounded by the size of one event.
            self.buf.resize(self.buf.len() * 2, 0);
        }
        let room = self.buf.len() - PAD;
        let n = loop {
            match self.src.read(&mut self.buf[self.end..room]) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(self.io_error(e)),
            }
        };
        if n == 0 {
            self.eof = true;
        }
        self.end += n;
        self.buf[self.end..self.end + PAD].fill(0);
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

    /// Does the input continue with `prefix`?
    pub fn starts_with(&mut self, prefix: &[u8]) -> Result<bool, ChainError> {
        self.ensure(prefix.len())?;
        Ok(self.rest().starts_with(prefix))
    }

    /// Reads a JSON string (at its opening quote) and unescapes it with serde_json.
    pub fn string(&mut self, what: &str) -> Result<String, ChainError> {
        match self.skip_ws()? {
            Some(b'"') => {}
            found => return Err(self.malformed(format!("expected a string for {what}, found {}", describe(found)))),
        }
        let start = self.offset();
        let raw = self.raw_string(what)?;
        if let Err(e) = std::str::from_utf8(&raw) {
            let message = format!("invalid UTF-8 in {what}");
            return Err(self.malformed_at_offset(start + e.valid_up_to() as u64, message));
        }
        serde_json::from_slice::<String>(&raw).map_err(|e| {
            let at = start + (e.column().saturating_sub(1)) as u64;
            self.malformed_at_offset(at, format!("invalid {what} string: {}", serde_message(&e)))
        })
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
        match problem {
            Problem::Truncated => self.malformed(format!("unexpected end of file in {what}")),
            Problem::Separator => {
                let found = self.rest().first().copied();
                self.malformed(format!("expected ',' or ']' in {what}, found {}", describe(found)))
            }
            Problem::Value => {
                // Off the hot path: say precisely what is wrong with the value.
                let message = match self.ensure(64) {
                    Ok(_) => describe_bad_byte(self.rest()),
                    Err(e) => return e,
                };
                self.malformed(format!("{message} in {what}"))
            }
        }
    }

    /// Reads one line (without its `\n`, and without a trailing `\r`) for the EVENT log.
    pub fn line(&mut self, max: usize, what: &str) -> Result<Vec<u8>, ChainError> {
        let mut scanned = 0;
        loop {
            let rest = self.rest();
            if let Some(i) = memchr::memchr(b'\n', &rest[scanned..]) {
                let i = scanned + i;
                let mut line = rest[..i].to_vec();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                self.pos += i + 1;
                return Ok(line);
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
#[inline]
fn scan_array(buf: &[u8], mut i: usize, end: usize, eof: bool, state: &mut ArrayState, out: &mut Vec<u8>) -> Step {
    let need_more = |i: usize| if eof { Step::Bad(i, Problem::Truncated) } else { Step::More(i) };
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
        i = skip_ws_at(buf, i);
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
        let d0 = c.wrapping_sub(b'0') as u32;
        let d1 = buf[i + 1].wrapping_sub(b'0') as u32;
        let (value, len) = if d1 > 9 {
            (d0, 1)
        } else {
            let d2 = buf[i + 2].wrapping_sub(b'0') as u32;
            if d2 > 9 { (d0 * 10 + d1, 2) } else { (d0 * 100 + d1 * 10 + d2, 3) }
        };
        let next = buf[i + len];
        if d0 > 9 || value > 255 || (d0 == 0 && len > 1) || next.is_ascii_digit() || matches!(next, b'.' | b'e' | b'E') {
            return Step::Bad(i, Problem::Value);
        }
        out.push(value as u8);
        i += len;
        *state = ArrayState::Separator;
    }
}

/// Index of the first non-whitespace byte at or after `i`. The caller guarantees a
/// non-whitespace byte (the zero padding at the latest) and 8 readable bytes after it.
#[inline(always)]
fn skip_ws_at(buf: &[u8], mut i: usize) -> usize {
    loop {
        let mut word = [0u8; 8];
        word.copy_from_slice(&buf[i..i + 8]);
        let stop = non_ws_mask(u64::from_le_bytes(word));
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
    // Simple enough for the compiler to vectorize; runs once per byte per refill.
    bytes.iter().filter(|&&b| b == b'\n').count()
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
    if token.contains(['.', 'e', 'E']) {
        return format!("expected a byte (integer 0..=255), found {token}");
    }
    let digits = token.strip_prefix('-').unwrap_or(&token);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || (digits.len() > 1 && digits.starts_with('0')) {
        return format!("invalid number {token}");
    }
    format!("byte outside 0..=255: {token}")
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
