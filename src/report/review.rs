//! Renderings of a [`Review`] of a pending chain (`review`), and of a pending chain refused
//! for its integrity (`review` and `pending`): text for a person deciding whether to accept
//! it, one JSON document a chain for scripts (`docs/schema/review.schema.json`).

use super::diff::{BrokenRecord, broken_record};
use super::style::Style;
use super::verify::{Sides, differs_at};
use crate::chain::Broken;
use crate::review::{ChangeKind, EventChange, Review, ReviewEvent};
use crate::text::escape;
use serde::Serialize;
use std::fmt::Write;

/// The review of the pending chain `pending` of `chain`, several lines ending in a newline:
/// a line of counts, then each change listed with its events (`-` the chain's, `+` the
/// pending one's) and where a changed event's values differ.
pub fn human(chain: &str, pending: &str, review: &Review, style: Style) -> String {
    let (chain, pending) = (escape(chain), escape(pending));
    let mut out = String::new();
    let what = match review.old_events {
        None => format!("a new chain of {} events (nothing to replace)", review.new_events),
        Some(old) if review.changes.is_empty() => {
            format!("the same events, recorded by another build ({old} events; the recording header is not compared)")
        }
        Some(old) => format!(
            "{} changed, {} added, {} removed ({old} -> {} events; the recording header is not compared)",
            events(review.changed),
            review.added,
            review.removed,
            review.new_events
        ),
    };
    let _ = writeln!(out, "{}: {what}", style.heading(&chain));
    let _ = writeln!(out, "  pending: {pending}");
    for change in &review.changes {
        change_lines(&mut out, change, style);
    }
    if review.changes_omitted > 0 {
        let _ = writeln!(
            out,
            "  ... and {} more changes, not listed (the counts above include them)",
            review.changes_omitted
        );
    }
    out
}

fn events(n: u64) -> String {
    if n == 1 { "1 event".to_string() } else { format!("{n} events") }
}

fn change_lines(out: &mut String, change: &EventChange, style: Style) {
    let at = |e: &ReviewEvent| format!("event {} ({})", e.index, e.event_type);
    let heading = match (change.change, &change.old, &change.new) {
        (ChangeKind::Changed, Some(o), Some(n)) if o.index == n.index => format!("changed  {}", at(n)),
        (ChangeKind::Changed, Some(o), Some(n)) => {
            format!("changed  event {} -> {} ({})", o.index, n.index, n.event_type)
        }
        (ChangeKind::Removed, Some(o), _) => format!("removed  {}", at(o)),
        (ChangeKind::Added, _, Some(n)) => format!("added    {}", at(n)),
        // Every change has the sides its kind names (`review` builds them so).
        _ => return,
    };
    let _ = writeln!(out, "  {}", escape(&heading));
    if let Some(o) = &change.old {
        let _ = writeln!(out, "    {}", style.removed(&format!("- {}", escape(&o.summary))));
    }
    if let Some(n) = &change.new {
        let _ = writeln!(out, "    {}", style.added(&format!("+ {}", escape(&n.summary))));
    }
    let sides = Sides { first: ("old", Style::removed), second: ("new", Style::added) };
    differs_at(out, "    ", &change.diff, change.diff_omitted, sides, style);
}

/// The line for a pending chain refused for its integrity: nothing of it is shown, and it
/// cannot be accepted.
pub fn human_broken(chain: &str, pending: &str, broken: &Broken, style: Style) -> String {
    // Escaped piece by piece: the colour's own codes must stay codes.
    format!(
        "{}: {} {} fails its integrity check at event {} ({}): {}; not shown, and `accept` refuses it: reject it, or write it again with `verify --accept`\n",
        escape(chain),
        style.broken("BROKEN:"),
        escape(pending),
        broken.index,
        escape(&broken.event_type),
        broken.reason
    )
}

/// A reviewed chain's JSON document.
#[derive(Serialize)]
struct Reviewed<'a> {
    chain: &'a str,
    pending: &'a str,
    status: &'static str,
    #[serde(flatten)]
    review: &'a Review,
}

/// One compact JSON document (no newline): status `pending`, with the review.
pub fn json(chain: &str, pending: &str, review: &Review) -> String {
    super::document(Reviewed { chain, pending, status: "pending", review })
}

/// A pending chain refused for its integrity, as `review` and `pending` print it.
#[derive(Serialize)]
pub struct BrokenLine<'a> {
    chain: &'a str,
    pending: &'a str,
    status: &'static str,
    broken: BrokenRecord,
    message: String,
}

/// One compact JSON document (no newline): status `broken`, where and why, and the message.
pub fn json_broken(chain: &str, pending: &str, broken: &Broken) -> String {
    let message = format!(
        "{pending}: fails its integrity check at event {} ({}): {}",
        broken.index, broken.event_type, broken.reason
    );
    super::document(BrokenLine { chain, pending, status: "broken", broken: broken_record(broken), message })
}

/// A pending chain that cannot be reviewed: it or its chain cannot be read.
#[derive(Serialize)]
struct ErrorLine<'a> {
    chain: &'a str,
    pending: &'a str,
    status: &'static str,
    message: &'a str,
}

/// One compact JSON document (no newline): status `error` and the message.
pub fn json_error(chain: &str, pending: &str, message: &str) -> String {
    super::document(ErrorLine { chain, pending, status: "error", message })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::values::diff::DiffEntry;

    fn event(index: u64, summary: &str) -> ReviewEvent {
        ReviewEvent { index, event_type: "wasm".into(), summary: summary.into(), payload: None, data_hex: None }
    }

    #[test]
    fn a_changed_event_shows_both_sides_and_its_paths_added_and_removed_one_side() {
        let diff =
            vec![DiffEntry { path: ".0.n".into(), expected: Some("1".into()), actual: Some("2".into()), at: None }];
        let review = Review {
            old_events: Some(5),
            new_events: 5,
            changed: 1,
            added: 1,
            removed: 1,
            changes: vec![
                EventChange {
                    change: ChangeKind::Changed,
                    old: Some(event(1, "call f({n: 1})")),
                    new: Some(event(1, "call f({n: 2})")),
                    diff,
                    diff_omitted: 0,
                },
                EventChange {
                    change: ChangeKind::Removed,
                    old: Some(event(3, "g returned 1")),
                    new: None,
                    diff: vec![],
                    diff_omitted: 0,
                },
                EventChange {
                    change: ChangeKind::Added,
                    old: None,
                    new: Some(event(4, "g returned 2")),
                    diff: vec![],
                    diff_omitted: 0,
                },
            ],
            changes_omitted: 0,
        };
        let text = human("a.json", "a.json.new", &review, Style::PLAIN);
        assert_eq!(
            text,
            "a.json: 1 event changed, 1 added, 1 removed (5 -> 5 events; the recording header is not compared)\n  \
             pending: a.json.new\n  \
             changed  event 1 (wasm)\n    - call f({n: 1})\n    + call f({n: 2})\n    differs at:\n      .0.n: old 1, new 2\n  \
             removed  event 3 (wasm)\n    - g returned 1\n  \
             added    event 4 (wasm)\n    + g returned 2\n"
        );
        // Colour adds codes and nothing else.
        let painted = human("a.json", "a.json.new", &review, Style::COLOR);
        assert!(painted.contains("\x1b[31m- call f({n: 1})\x1b[0m"), "{painted:?}");
    }
}
