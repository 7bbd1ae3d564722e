//! Writing chains, in serde_json's own layout so that theater (and serde_json) read them.

use super::Event;
use super::hash::{DECIMAL, write_byte_array};
use std::io::{self, Write};

/// The containers `record` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    /// A JSON array, one compact event per line: `[\n{..},\n{..}\n]\n`.
    JsonArray,
    /// One compact event per line.
    JsonLines,
}

/// Every layout the writer can produce; tests and `gen-chain` use the ones `record`
/// does not (to exercise every container the reader accepts).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// As [`OutputFormat::JsonArray`].
    CompactArray,
    /// Exactly `serde_json::to_writer_pretty`, as theater saves chain files.
    PrettyArray,
    /// As [`OutputFormat::JsonLines`].
    JsonLines,
    /// Theater's `EVENT` run log (bodies raw; event types must not contain a newline).
    EventLog,
    /// A saved state chain, `{"events":[..],"current_hash":[..]}` with one event a line.
    StateChain,
}

impl From<OutputFormat> for Layout {
    fn from(format: OutputFormat) -> Layout {
        match format {
            OutputFormat::JsonArray => Layout::CompactArray,
            OutputFormat::JsonLines => Layout::JsonLines,
        }
    }
}

/// Writes events one at a time; [`ChainWriter::finish`] closes the container.
pub struct ChainWriter<W: Write> {
    out: W,
    layout: Layout,
    events: u64,
    /// The last hash written, for a state chain's `current_hash`.
    head: Option<Vec<u8>>,
    /// One event is formatted here and written with one call.
    scratch: Vec<u8>,
}

impl<W: Write> ChainWriter<W> {
    pub fn new(out: W, format: OutputFormat) -> Self {
        Self::with_layout(out, format.into())
    }

    pub fn with_layout(out: W, layout: Layout) -> Self {
        ChainWriter { out, layout, events: 0, head: None, scratch: Vec::new() }
    }

    pub fn write(&mut self, e: &Event) -> io::Result<()> {
        let s = &mut self.scratch;
        s.clear();
        let first = self.events == 0;
        match self.layout {
            Layout::CompactArray => {
                s.extend_from_slice(if first { b"[\n" } else { b",\n" });
                write_compact(s, e)?;
            }
            Layout::JsonLines => {
                write_compact(s, e)?;
                s.push(b'\n');
            }
            Layout::StateChain => {
                s.extend_from_slice(if first { b"{\"events\":[\n" } else { b",\n" });
                write_compact(s, e)?;
            }
            Layout::PrettyArray => {
                s.extend_from_slice(if first { b"[\n" } else { b",\n" });
                write_pretty(s, e)?;
            }
            Layout::EventLog => write_event_log(s, e)?,
        }
        self.out.write_all(s)?;
        self.events += 1;
        if self.layout == Layout::StateChain {
            self.head = Some(e.hash.clone());
        }
        Ok(())
    }

    /// Closes the container, flushes, and hands back the output.
    pub fn finish(mut self) -> io::Result<W> {
        let empty = self.events == 0;
        match self.layout {
            Layout::CompactArray => self.out.write_all(if empty { b"[\n]\n" } else { b"\n]\n" })?,
            Layout::PrettyArray => self.out.write_all(if empty { b"[]" } else { b"\n]" })?,
            Layout::JsonLines | Layout::EventLog => {}
            Layout::StateChain => {
                self.out.write_all(if empty { b"{\"events\":[],\"current_hash\":" } else { b"\n],\"current_hash\":" })?;
                match &self.head {
                    Some(head) => write_byte_array(&mut self.out, head)?,
                    None => self.out.write_all(b"null")?,
                }
                self.out.write_all(b"}\n")?;
            }
        }
        self.out.flush()?;
        Ok(self.out)
    }
}

/// `{"hash":[..],"parent_hash":..,"event_type":"..","data":[..]}`: serde_json's compact form.
pub fn write_compact(out: &mut impl Write, e: &Event) -> io::Result<()> {
    out.write_all(b"{\"hash\":")?;
    write_byte_array(out, &e.hash)?;
    out.write_all(b",\"parent_hash\":")?;
    match &e.parent_hash {
        Some(p) => write_byte_array(out, p)?,
        None => out.write_all(b"null")?,
    }
    out.write_all(b",\"event_type\":")?;
    serde_json::to_writer(&mut *out, &e.event_type).map_err(io::Error::other)?;
    out.write_all(b",\"data\":")?;
    write_byte_array(out, &e.data)?;
    out.write_all(b"}")
}

/// One event as an element of a `to_writer_pretty` array (indented by two spaces).
fn write_pretty(out: &mut Vec<u8>, e: &Event) -> io::Result<()> {
    out.extend_from_slice(b"  {\n    \"hash\": ");
    pretty_bytes(out, &e.hash);
    out.extend_from_slice(b",\n    \"parent_hash\": ");
    match &e.parent_hash {
        Some(p) => pretty_bytes(out, p),
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(b",\n    \"event_type\": ");
    serde_json::to_writer(&mut *out, &e.event_type).map_err(io::Error::other)?;
    out.extend_from_slice(b",\n    \"data\": ");
    pretty_bytes(out, &e.data);
    out.extend_from_slice(b"\n  }");
    Ok(())
}

/// A byte array as serde_json pretty-prints it at depth 3: one number a line.
fn pretty_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    if bytes.is_empty() {
        out.extend_from_slice(b"[]");
        return;
    }
    out.push(b'[');
    for (i, &b) in bytes.iter().enumerate() {
        out.extend_from_slice(if i == 0 { b"\n      " } else { b",\n      " });
        out.extend_from_slice(DECIMAL[b as usize].as_bytes());
    }
    out.extend_from_slice(b"\n    ]");
}

fn write_event_log(out: &mut Vec<u8>, e: &Event) -> io::Result<()> {
    if e.event_type.contains(['\n', '\r']) {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "an EVENT log cannot hold an event type with a line break"));
    }
    let parent = match &e.parent_hash {
        Some(p) => hex::encode(p),
        None => "0".repeat(40),
    };
    write!(out, "EVENT {}\n{parent}\n{}\n{}\n\n", hex::encode(&e.hash), e.event_type, e.data.len())?;
    out.extend_from_slice(&e.data);
    // theater 0.3.8's ChainWriter: the body, then two line ends.
    out.extend_from_slice(b"\n\n");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::HashAlg;

    #[test]
    fn pretty_layout_is_serde_jsons() {
        #[derive(serde::Serialize)]
        struct E<'a> {
            hash: &'a [u8],
            parent_hash: Option<&'a [u8]>,
            event_type: &'a str,
            data: &'a [u8],
        }
        let a = Event::new_linked(HashAlg::Sha1, None, "wasm".into(), b"{\"a\":1}".to_vec());
        let b = Event::new_linked(HashAlg::Sha1, Some(&a.hash), "x/\"y\"".into(), vec![]);
        let mut w = ChainWriter::with_layout(Vec::new(), Layout::PrettyArray);
        w.write(&a).unwrap();
        w.write(&b).unwrap();
        let ours = w.finish().unwrap();
        let as_serde: Vec<E> = [&a, &b]
            .iter()
            .map(|e| E { hash: &e.hash, parent_hash: e.parent_hash.as_deref(), event_type: &e.event_type, data: &e.data })
            .collect();
        assert_eq!(String::from_utf8(ours).unwrap(), serde_json::to_string_pretty(&as_serde).unwrap());
    }
}
