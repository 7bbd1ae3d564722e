//! `record --format json`: what a recording wrote (`docs/schema/record.schema.json`).

use crate::record::RecordSummary;
use serde::Serialize;

#[derive(Debug, Serialize)]
struct RecordReport<'a> {
    /// Always "recorded": a recording that fails prints the error document instead.
    status: &'static str,
    /// The chain file (`-o`), or null when the chain went to stdout.
    path: Option<&'a str>,
    events: u64,
    /// Lowercase hex of the last event's hash (the chain's head), as `inspect` shows hashes.
    hash: Option<String>,
    hash_algorithm: &'static str,
    /// The `--layout` written, snake_case: json, jsonl, json_pretty, event_log, state_chain.
    layout: &'static str,
    /// "zstd" with `--compress`, else null.
    compression: Option<&'static str>,
    calls: Vec<CallReport<'a>>,
}

#[derive(Debug, Serialize)]
struct CallReport<'a> {
    /// The export call as given, in WAVE.
    call: &'a str,
    /// "returned" or "trapped".
    status: &'static str,
    /// The WAVE result when it returned, else null.
    result: Option<&'a str>,
    /// The trap's message when it trapped, else null.
    message: Option<&'a str>,
}

/// One compact JSON document (no newline).
pub fn json(summary: &RecordSummary, path: Option<&str>, layout: &'static str, compressed: bool) -> String {
    let calls = summary
        .calls
        .iter()
        .map(|c| match &c.result {
            Ok(wave) => CallReport { call: &c.call, status: "returned", result: Some(wave), message: None },
            Err(message) => CallReport { call: &c.call, status: "trapped", result: None, message: Some(message) },
        })
        .collect();
    super::document(RecordReport {
        status: "recorded",
        path,
        events: summary.events,
        hash: summary.head.as_ref().map(hex::encode),
        hash_algorithm: summary.hash_algorithm.name(),
        layout,
        compression: compressed.then_some("zstd"),
        calls,
    })
}
