//! Rendering `diff` outcomes.

use super::inspect::{self, EventRecord};
use crate::chain::{DiffOutcome, Event};
use serde::Serialize;

/// Human text, several lines, ending in a newline.
pub fn human(path_a: &str, path_b: &str, outcome: &DiffOutcome) -> String {
    let (path_a, path_b) = (&*crate::text::escape(path_a), &*crate::text::escape(path_b));
    if outcome.is_same() {
        return format!("same: {path_a} and {path_b} have the same {} events\n", outcome.common_prefix);
    }
    let index = outcome.common_prefix;
    let side = |tag: &str, path: &str, event: &Option<Event>| match event {
        Some(e) => format!("{tag} {path}\n  {}\n", inspect::human_line(index, e)),
        None => format!("{tag} {path}\n  (ends after {index} events)\n"),
    };
    format!(
        "different: the chains part at event {index} ({index} events in common)\n{}{}",
        side("a", path_a, &outcome.a),
        side("b", path_b, &outcome.b)
    )
}

#[derive(Debug, Serialize)]
pub struct DiffRecord {
    /// "same" or "different".
    pub status: &'static str,
    pub common_prefix: u64,
    /// The events at index `common_prefix`, as `inspect --format jsonl` prints them, or
    /// null where that chain ended (both null when the chains are the same).
    pub a: Option<EventRecord>,
    pub b: Option<EventRecord>,
}

pub fn record(outcome: &DiffOutcome) -> DiffRecord {
    let index = outcome.common_prefix;
    DiffRecord {
        status: if outcome.is_same() { "same" } else { "different" },
        common_prefix: index,
        a: outcome.a.as_ref().map(|e| inspect::record(index, e)),
        b: outcome.b.as_ref().map(|e| inspect::record(index, e)),
    }
}

/// One compact JSON line.
pub fn json(outcome: &DiffOutcome) -> String {
    serde_json::to_string(&record(outcome)).unwrap_or_default()
}
