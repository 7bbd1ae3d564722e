//! Rendering `diff` outcomes.

use super::inspect::{self, EventRecord};
use crate::chain::{Broken, DiffOutcome, Event};
use serde::Serialize;

/// Human text, several lines, ending in a newline. A broken chain is said first: what it
/// holds cannot be trusted, whatever the comparison found.
pub fn human(path_a: &str, path_b: &str, outcome: &DiffOutcome) -> String {
    human_styled(path_a, path_b, outcome, super::style::Style::PLAIN)
}

/// [`human`] with its verdict word (`same`, `different`, `broken`) in `style`.
pub fn human_styled(path_a: &str, path_b: &str, outcome: &DiffOutcome, style: super::style::Style) -> String {
    let (path_a, path_b) = (&*crate::text::escape(path_a), &*crate::text::escape(path_b));
    let mut broken = String::new();
    for (tag, path, b) in [("a", path_a, &outcome.broken_a), ("b", path_b, &outcome.broken_b)] {
        if let Some(b) = b {
            let word = style.broken("broken");
            broken += &format!("{word}: {tag} {path}: broken at {}\n", crate::text::escape(&b.to_string()));
        }
    }
    if !broken.is_empty() {
        return broken;
    }
    if outcome.is_same() {
        return format!(
            "{}: {path_a} and {path_b} have the same {} events\n",
            style.good("same"),
            outcome.common_prefix
        );
    }
    let index = outcome.common_prefix;
    let side = |tag: &str, path: &str, event: &Option<Event>| match event {
        Some(e) => format!("{tag} {path}\n  {}\n", inspect::human_line(index, e)),
        None => format!("{tag} {path}\n  (ends after {index} events)\n"),
    };
    format!(
        "{}: the chains part at event {index} ({index} events in common)\n{}{}",
        style.bad("different"),
        side("a", path_a, &outcome.a),
        side("b", path_b, &outcome.b)
    )
}

#[derive(Debug, Serialize)]
pub struct DiffRecord {
    /// "same", "different", or "broken" when either chain fails its integrity check.
    pub status: &'static str,
    pub common_prefix: u64,
    /// The events at index `common_prefix`, as `inspect --format json` prints them (without
    /// their `schema_version`: that is the document's), or
    /// null where that chain ended (both null when the chains are the same).
    pub a: Option<EventRecord>,
    pub b: Option<EventRecord>,
    /// Where each chain fails its integrity check, or null when intact (as `check` says it).
    pub broken_a: Option<BrokenRecord>,
    pub broken_b: Option<BrokenRecord>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BrokenRecord {
    pub index: u64,
    pub event_type: String,
    /// `content_hash_mismatch`, `wrong_parent_link`, ... as in `check`.
    pub reason: &'static str,
    pub message: String,
    /// The line of the file the event starts at (theater's run logs), else null.
    pub line: Option<u64>,
}

pub fn broken_record(broken: &Broken) -> BrokenRecord {
    BrokenRecord {
        index: broken.index,
        event_type: broken.event_type.clone(),
        reason: broken.reason.code(),
        message: broken.to_string(),
        line: broken.line,
    }
}

pub fn record(outcome: &DiffOutcome) -> DiffRecord {
    let index = outcome.common_prefix;
    DiffRecord {
        status: if outcome.is_broken() {
            "broken"
        } else if outcome.is_same() {
            "same"
        } else {
            "different"
        },
        common_prefix: index,
        a: outcome.a.as_ref().map(|e| inspect::record(index, e)),
        b: outcome.b.as_ref().map(|e| inspect::record(index, e)),
        broken_a: outcome.broken_a.as_ref().map(broken_record),
        broken_b: outcome.broken_b.as_ref().map(broken_record),
    }
}

/// One compact JSON line (`docs/schema/diff.schema.json`).
pub fn json(outcome: &DiffOutcome) -> String {
    super::document(record(outcome))
}
