//! theater 0.3.9 and 0.3.10's run log (`/tmp/theater/chains/<actor-id>.jsonl`): one event a
//! line, compact, keys sorted, `hash` and `parent_hash` in hex, and `data` not as the CGRF
//! bytes that were hashed but as their decoded packr Value in serde's externally tagged
//! JSON (`{"Variant":{"case_name":...}}`).
//!
//! The form is lossless: the Value, encoded again with packr-abi (0.5, theater 0.3.9's),
//! gives the bytes theater hashed. So the log is read as a stream of the JSON Lines events
//! it stands for, line for line (an error names the log's own line), and everything after
//! that (the integrity check, the replay) is the same as for any chain. A line whose Value
//! does not encode to what was hashed is then a content hash mismatch at its event.

use std::io::{self, BufRead, Read};

/// How the first line of such a log begins (keys sorted: `data` comes first, an object).
pub const SIGNATURE: &[u8] = b"{\"data\":{";

/// One line of the log, as theater 0.3.9 writes it (`serde_json` of its `ChainEvent` with
/// the Value in place of the bytes).
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    data: packr_abi::Value,
    event_type: String,
    hash: String,
    parent_hash: Option<String>,
}

/// The log as JSON Lines events of our own kind (`data`, `hash` and `parent_hash` as byte
/// arrays), converted one line at a time.
pub struct RunLogLines<R> {
    lines: R,
    line: u64,
    /// Longest line read (a line holds one event): [`super::ReadOptions::max_event_size`]
    /// with room for the Value's JSON, which is some times longer than its CGRF.
    max_line: usize,
    text: Vec<u8>,
    out: Vec<u8>,
    at: usize,
    /// The first blank line seen: allowed at the end only (theater writes none), so that
    /// event `i` is line `i + 1` (`Container::event_line`).
    blank: Option<u64>,
}

impl<R: BufRead> RunLogLines<R> {
    pub fn new(lines: R, max_event_size: usize) -> RunLogLines<R> {
        RunLogLines { lines, line: 0, max_line: max_event_size.saturating_mul(16), text: Vec::new(), out: Vec::new(), at: 0, blank: None }
    }

    /// Converts the next line into `out`; `false` at the end of the log.
    fn next_line(&mut self) -> io::Result<bool> {
        self.text.clear();
        let limit = self.max_line as u64 + 1;
        let n = (&mut self.lines).take(limit).read_until(b'\n', &mut self.text)?;
        if n == 0 {
            return Ok(false);
        }
        self.line += 1;
        let invalid = |why: String| io::Error::new(io::ErrorKind::InvalidData, why);
        if self.text.len() > self.max_line {
            return Err(invalid(format!("line {}: longer than the most one event may take (--max-event-size raises it)", self.line)));
        }
        let text = self.text.strip_suffix(b"\n").unwrap_or(&self.text);
        let text = text.strip_suffix(b"\r").unwrap_or(text);
        if text.iter().all(u8::is_ascii_whitespace) {
            self.blank.get_or_insert(self.line);
            self.out.clear();
            self.out.extend_from_slice(b"\n");
            return Ok(true);
        }
        if let Some(blank) = self.blank {
            return Err(invalid(format!("line {blank}: a blank line between events (theater's run log has none)")));
        }
        let line: Line = serde_json::from_slice(text).map_err(|e| {
            // serde's own place is within this one line: said as the log's line and column.
            let why = e.to_string();
            let why = why.rsplit_once(" at line ").map_or(why.as_str(), |(why, _)| why);
            invalid(format!("line {}, column {}: not an event of theater 0.3.9's run log: {why}", self.line, e.column()))
        })?;
        let hex_bytes = |what: &str, hex_text: &str| {
            hex::decode(hex_text).map_err(|e| invalid(format!("line {}: {what} is not hex: {e}", self.line)))
        };
        let event = super::Event {
            hash: hex_bytes("hash", &line.hash)?,
            parent_hash: line.parent_hash.as_deref().map(|p| hex_bytes("parent_hash", p)).transpose()?,
            event_type: line.event_type,
            data: packr_abi::encode(&line.data).map_err(|e| {
                invalid(format!("line {}: its Value does not encode: {}", self.line, crate::dialect::pack::abi_error_text(&e)))
            })?,
        };
        self.out.clear();
        super::write_compact(&mut self.out, &event)?;
        self.out.push(b'\n');
        Ok(true)
    }
}

impl<R: BufRead> Read for RunLogLines<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.at == self.out.len() {
            self.at = 0;
            self.out.clear();
            if !self.next_line()? {
                return Ok(0);
            }
        }
        let n = buf.len().min(self.out.len() - self.at);
        buf[..n].copy_from_slice(&self.out[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::{ChainReader, Event, HashAlg};
    use crate::dialect::pack::{Carried, PackPayload};

    /// A line as theater 0.3.9 writes it, from an event.
    fn theater_line(event: &Event) -> String {
        let value = packr_abi::decode(&event.data).unwrap();
        let mut line = serde_json::json!({
            "data": value,
            "event_type": event.event_type,
            "hash": hex::encode(&event.hash),
            "parent_hash": event.parent_hash.as_ref().map(hex::encode),
        })
        .to_string();
        line.push('\n');
        line
    }

    #[test]
    fn a_run_log_reads_as_the_events_it_stands_for() {
        let call = PackPayload::WasmCall { function: "f".into(), params: Carried::Cgrf(vec![]) };
        let first = Event::new_linked(HashAlg::Sha1, None, "wasm".into(), call.encode());
        let shutdown = PackPayload::WasmCall { function: "shutdown".into(), params: Carried::Cgrf(vec![]) };
        let second = Event::new_linked(HashAlg::Sha1, Some(&first.hash), "shutdown".into(), shutdown.encode());
        let log = format!("{}{}", theater_line(&first), theater_line(&second));
        assert!(log.as_bytes().starts_with(SIGNATURE), "{log}");
        let events: Vec<Event> = ChainReader::from_reader("log.jsonl", Box::new(std::io::Cursor::new(log.into_bytes())))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(events, vec![first, second]);
    }

    #[test]
    fn a_line_that_is_not_an_event_names_its_line() {
        let log = b"{\"data\":{\"Bool\":true},\"event_type\":\"x\",\"hash\":\"00\",\"parent_hash\":null}\n{\"data\":{\"Nope\":1}}\n".to_vec();
        // The reader may meet the bad line as it opens (its first read takes both lines).
        let err = match ChainReader::from_reader("log.jsonl", Box::new(std::io::Cursor::new(log))) {
            Ok(reader) => reader.into_iter().find_map(Result::err).unwrap(),
            Err(e) => e,
        };
        let text = err.to_string();
        assert!(text.contains("line 2, column 15: not an event of theater 0.3.9's run log: unknown variant `Nope`"), "{text}");
        assert!(!text.contains(" at line 1"), "{text}");
    }
}
