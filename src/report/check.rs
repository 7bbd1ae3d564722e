//! Rendering `check` verdicts: one line per chain, human or JSON.

use crate::chain::{ChainError, CheckOutcome, Container};
use serde::Serialize;

/// `PATH: intact, N events, sha1 (json-array)` or `PATH: broken at event ...` or
/// `PATH: error: ...`.
pub fn human(path: &str, result: &Result<CheckOutcome, ChainError>) -> String {
    human_styled(path, result, super::style::Style::PLAIN)
}

/// [`human`] with its verdict word (`intact`, `broken at`, `error`) in `style`.
pub fn human_styled(path: &str, result: &Result<CheckOutcome, ChainError>, style: super::style::Style) -> String {
    // One line for a person: nothing the chain holds may steer the terminal. Escaped in
    // parts, around the painted word (escaping works character by character, so the plain
    // line is the escape of the whole).
    let (word, rest) = verdict(path, result);
    let painted = match word {
        "intact" => style.good(word),
        "broken at" => style.broken(word),
        "incomplete" => style.broken(word),
        _ => style.bad(word),
    };
    let escape = crate::text::escape;
    format!("{}: {painted}{}", escape(path), escape(&rest))
}

/// The verdict word of a chain and what follows it on its line.
fn verdict(path: &str, result: &Result<CheckOutcome, ChainError>) -> (&'static str, String) {
    match result {
        Ok(outcome) => {
            let alg = outcome.alg.map_or("no hash".to_owned(), |a| a.to_string());
            match &outcome.broken {
                None if !outcome.is_complete() => {
                    let unchecked = &outcome.unchecked;
                    let first = &unchecked.listed[0];
                    let at = first.line.map_or(String::new(), |line| format!(", line {line}"));
                    let listed: Vec<String> = unchecked.listed.iter().map(|u| u.index.to_string()).collect();
                    let more = match unchecked.total - unchecked.listed.len() as u64 {
                        0 => String::new(),
                        n => format!(" and {n} more"),
                    };
                    let rest = format!(
                        ", {} events, {} not checked (events {}{more}), {alg} ({}): event {} ({}{at}) {}",
                        outcome.events,
                        unchecked.total,
                        listed.join(", "),
                        outcome.container,
                        first.index,
                        first.event_type,
                        first.why
                    );
                    ("incomplete", rest)
                }
                None => match outcome.compression {
                    Some(c) => {
                        ("intact", format!(", {} events, {alg} ({}, {})", outcome.events, outcome.container, c.name()))
                    }
                    None => ("intact", format!(", {} events, {alg} ({})", outcome.events, outcome.container)),
                },
                Some(broken) => ("broken at", format!(" {broken}")),
            }
        }
        Err(e) => {
            let message = e.to_string();
            // The error names the file first; don't say it twice.
            let message = message.strip_prefix(&format!("{path}: ")).unwrap_or(&message).to_owned();
            ("error", format!(": {message}"))
        }
    }
}

/// The JSON object of one chain's verdict (keys in this order; `docs/schema/check.schema.json`).
#[derive(Debug, Serialize)]
pub struct CheckRecord<'a> {
    pub path: &'a str,
    /// "intact", "broken" or "error".
    pub status: &'static str,
    /// Events read (up to and including the broken one; before the error).
    pub events: u64,
    /// "sha1", "sha256", or null when unknown (an empty or unreadable chain).
    pub hash_algorithm: Option<&'static str>,
    /// The old name of `hash_algorithm`, kept for the scripts that read it: everywhere else
    /// `hash` is a hex digest. Dropped at schema_version 2.
    pub hash: Option<&'static str>,
    pub broken_at: Option<u64>,
    /// A snake_case code: `content_hash_mismatch`, `wrong_parent_link`, ...
    pub reason: Option<&'static str>,
    pub event_type: Option<&'a str>,
    /// Hex of the stored and the expected value at the broken event.
    pub stored: Option<String>,
    pub expected: Option<String>,
    /// json_array, state_chain, event_log or json_lines (snake_case, as every JSON enum value).
    pub container: Option<&'static str>,
    /// "zstd" or "gzip" for a compressed file, else null.
    pub compression: Option<&'static str>,
    /// Human-readable explanation (broken or error), one line.
    pub message: Option<String>,
    /// Byte offset of a malformed spot.
    pub offset: Option<u64>,
    /// The line of the file the broken event (or the malformed spot) is at, where the
    /// container has lines worth naming.
    pub line: Option<u64>,
    /// Events whose hash could not be recomputed (status `incomplete`): the first 20.
    pub unchecked: Vec<UncheckedRecord<'a>>,
    /// How many events could not be checked in all.
    pub unchecked_total: u64,
}

/// One event `check` could not check.
#[derive(Debug, Serialize)]
pub struct UncheckedRecord<'a> {
    pub index: u64,
    pub event_type: &'a str,
    pub line: Option<u64>,
    pub reason: &'a str,
}

pub fn record<'a>(path: &'a str, result: &'a Result<CheckOutcome, ChainError>) -> CheckRecord<'a> {
    let mut rec = CheckRecord {
        path,
        status: "intact",
        events: 0,
        hash_algorithm: None,
        hash: None,
        broken_at: None,
        reason: None,
        event_type: None,
        stored: None,
        expected: None,
        container: None,
        compression: None,
        message: None,
        offset: None,
        line: None,
        unchecked: Vec::new(),
        unchecked_total: 0,
    };
    match result {
        Ok(outcome) => {
            rec.events = outcome.events;
            rec.hash_algorithm = outcome.alg.map(|a| a.name());
            rec.hash = rec.hash_algorithm;
            rec.container = Some(container_code(outcome.container));
            rec.compression = outcome.compression.map(|c| c.name());
            rec.unchecked_total = outcome.unchecked.total;
            rec.unchecked = outcome
                .unchecked
                .listed
                .iter()
                .map(|u| UncheckedRecord { index: u.index, event_type: &u.event_type, line: u.line, reason: &u.why })
                .collect();
            if !outcome.is_complete() {
                rec.status = "incomplete";
            }
            if let Some(broken) = &outcome.broken {
                rec.status = "broken";
                rec.broken_at = Some(broken.index);
                rec.reason = Some(broken.reason.code());
                rec.event_type = Some(&broken.event_type);
                rec.stored = Some(hex::encode(&broken.stored));
                rec.expected = broken.computed.as_ref().map(hex::encode);
                rec.message = Some(broken.to_string());
                rec.line = broken.line;
            }
        }
        Err(e) => {
            rec.status = "error";
            rec.events = e.index();
            rec.message = Some(e.to_string());
            rec.offset = e.offset();
            rec.line = e.line();
        }
    }
    rec
}

/// A container as JSON names it: snake_case, where the human line says `json-array`.
pub fn container_code(container: Container) -> &'static str {
    match container {
        Container::JsonArray => "json_array",
        Container::StateChain => "state_chain",
        Container::EventLog => "event_log",
        Container::JsonLines => "json_lines",
        Container::EventStore => "event_store",
        Container::TheaterRunLog => "theater_run_log",
        Container::TheaterTextLog => "theater_text_log",
    }
}

/// One compact JSON line.
pub fn json(path: &str, result: &Result<CheckOutcome, ChainError>) -> String {
    super::document(record(path, result))
}
