//! Reviewing a pending chain (`review`, insta's `cargo insta review`): event by event, what
//! its successor adds, removes and changes, with the values decoded and the paths where a
//! changed event's values differ, as a divergence report shows them. The pending chain's
//! integrity is checked before anything of it is read: a tampered `.new` is refused, never
//! shown as if it were a recording.
//!
//! Events are matched as [`crate::pending::compare`] matches them (by type and payload, the
//! recording header's component hash left out: it names the build, so it always differs).
//! Within a run of events the minimal edit script replaces, the events of the same type at
//! the same offset are one event *changed*; the rest are added or removed.

use crate::chain::{Broken, ChainError, ChainReader, Event};
use crate::payload::Payload;
use crate::pending::{self, Pending};
use crate::values::diff::{self as values_diff, DiffEntry, MAX_ENTRIES, ValueDiff};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// How many changed, added or removed events a review lists; the rest are counted. Each is
/// held in memory with both sides, so a chain of any length reviews in bounded memory.
pub const MAX_CHANGES: usize = 100;

/// Why a pending chain cannot be reviewed. Callers branch on it: a broken `.new` is an
/// integrity failure (exit 3), an unreadable chain is bad input (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    /// The pending chain fails its integrity check: nothing of it is shown.
    #[error(
        "{}: fails its integrity check at event {} ({}): {}",
        new.display(), broken.index, broken.event_type, broken.reason
    )]
    Broken { new: PathBuf, broken: Broken },
    /// The pending chain or the chain it follows cannot be read.
    #[error(transparent)]
    Chain(#[from] ChainError),
}

/// What changed from a chain to its pending successor, event by event.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Review {
    /// Events of the old chain; `None` when there is none yet (every event is added).
    pub old_events: Option<u64>,
    pub new_events: u64,
    /// Events changed in place (same type, other payload), added, and removed: all of
    /// them, not only the ones listed.
    pub changed: u64,
    pub added: u64,
    pub removed: u64,
    /// The first [`MAX_CHANGES`], in chain order.
    pub changes: Vec<EventChange>,
    /// Changes beyond the ones listed.
    pub changes_omitted: u64,
}

/// What happened to one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    Changed,
    Added,
    Removed,
}

/// One event changed, added or removed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EventChange {
    pub change: ChangeKind,
    /// The event in the old chain; `None` for an added one.
    pub old: Option<ReviewEvent>,
    /// The event in the pending chain; `None` for a removed one.
    pub new: Option<ReviewEvent>,
    /// For a changed event: where its values differ, `expected` the old chain's side and
    /// `actual` the pending one's (a call's arguments as `.0`, `.1`, ...; a host call's
    /// answer under `output`). Empty when the values cannot be compared (another function,
    /// a trap for a result): the two events then say it all.
    pub diff: Vec<DiffEntry>,
    /// Differences beyond the ones in `diff`.
    pub diff_omitted: usize,
}

/// An event of either chain, decoded.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReviewEvent {
    /// Its index in its own chain (as `inspect` counts).
    pub index: u64,
    pub event_type: String,
    /// One line, as `inspect` shows it (values in WAVE).
    pub summary: String,
    /// The payload decoded as JSON, as `inspect --format json` shows it; absent if not JSON.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload: Option<Value>,
    /// The payload in hex, only when it is not JSON.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_hex: Option<String>,
}

impl ReviewEvent {
    fn of(index: usize, event: &Event) -> ReviewEvent {
        let payload = crate::decode::decode_payload(&event.data);
        ReviewEvent {
            index: index as u64,
            event_type: event.event_type.clone(),
            summary: crate::decode::summary(event),
            data_hex: payload.is_none().then(|| hex::encode(&event.data)),
            payload,
        }
    }
}

/// Checks the pending chain's integrity; `Some` where it breaks. Malformed input is an
/// error.
pub fn check_new(pending: &Pending) -> Result<Option<Broken>, ChainError> {
    Ok(crate::chain::check_path(&pending.new)?.broken)
}

/// Reviews `pending`: its integrity first ([`ReviewError::Broken`] before anything else is
/// read), then what changed from the chain it would replace.
pub fn review(pending: &Pending) -> Result<Review, ReviewError> {
    if let Some(broken) = check_new(pending)? {
        return Err(ReviewError::Broken { new: pending.new.clone(), broken });
    }
    let new = pending::read_keys(&pending.new)?;
    let old = if pending.chain.exists() { Some(pending::read_keys(&pending.chain)?) } else { None };
    let plan = plan(old.as_deref().unwrap_or_default(), &new);
    let count = |kind| plan.iter().filter(|p| p.kind == kind).count() as u64;
    let listed = &plan[..plan.len().min(MAX_CHANGES)];
    // Only the events listed are read again, by index: memory stays bounded.
    let old_wanted = events_at(&pending.chain, listed.iter().filter_map(|p| p.old), old.is_some())?;
    let new_wanted = events_at(&pending.new, listed.iter().filter_map(|p| p.new), true)?;
    let changes = listed
        .iter()
        .map(|p| {
            let old = p.old.and_then(|i| old_wanted.get(&i).map(|e| (i, e)));
            let new = p.new.and_then(|i| new_wanted.get(&i).map(|e| (i, e)));
            let diff = match (old, new) {
                (Some((_, o)), Some((_, n))) => event_diff(o, n),
                _ => ValueDiff::default(),
            };
            EventChange {
                change: p.kind,
                old: old.map(|(i, e)| ReviewEvent::of(i, e)),
                new: new.map(|(i, e)| ReviewEvent::of(i, e)),
                diff: diff.entries,
                diff_omitted: diff.omitted,
            }
        })
        .collect();
    Ok(Review {
        old_events: old.as_ref().map(|o| o.len() as u64),
        new_events: new.len() as u64,
        changed: count(ChangeKind::Changed),
        added: count(ChangeKind::Added),
        removed: count(ChangeKind::Removed),
        changes,
        changes_omitted: plan.len().saturating_sub(MAX_CHANGES) as u64,
    })
}

/// One change, by index into each chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Planned {
    kind: ChangeKind,
    old: Option<usize>,
    new: Option<usize>,
}

/// The changes from `old` to `new`, in chain order, from a minimal edit script (Myers, as
/// `pending` counts them).
fn plan(old: &[(pending::Key, String)], new: &[(pending::Key, String)]) -> Vec<Planned> {
    let keys = |events: &[(pending::Key, String)]| events.iter().map(|(k, _)| *k).collect::<Vec<_>>();
    let removed = |i| Planned { kind: ChangeKind::Removed, old: Some(i), new: None };
    let added = |i| Planned { kind: ChangeKind::Added, old: None, new: Some(i) };
    let mut plan = Vec::new();
    for op in similar::capture_diff_slices(similar::Algorithm::Myers, &keys(old), &keys(new)) {
        match op {
            similar::DiffOp::Equal { .. } => {}
            similar::DiffOp::Delete { old_index, old_len, .. } => {
                plan.extend((old_index..old_index + old_len).map(removed))
            }
            similar::DiffOp::Insert { new_index, new_len, .. } => {
                plan.extend((new_index..new_index + new_len).map(added))
            }
            similar::DiffOp::Replace { old_index, old_len, new_index, new_len } => {
                // Side by side: the same kind of event at the same place is that event changed.
                for k in 0..old_len.min(new_len) {
                    let (o, n) = (old_index + k, new_index + k);
                    if old[o].1 == new[n].1 {
                        plan.push(Planned { kind: ChangeKind::Changed, old: Some(o), new: Some(n) });
                    } else {
                        plan.extend([removed(o), added(n)]);
                    }
                }
                plan.extend((old_index + new_len.min(old_len)..old_index + old_len).map(removed));
                plan.extend((new_index + old_len.min(new_len)..new_index + new_len).map(added));
            }
        }
    }
    plan
}

/// The events of the chain at `path` at `indexes` (none when `exists` is false).
fn events_at(
    path: &std::path::Path,
    indexes: impl Iterator<Item = usize>,
    exists: bool,
) -> Result<BTreeMap<usize, Event>, ChainError> {
    let mut wanted: BTreeMap<usize, Option<Event>> = indexes.map(|i| (i, None)).collect();
    let Some(&last) = wanted.keys().next_back() else { return Ok(BTreeMap::new()) };
    if !exists {
        return Ok(BTreeMap::new());
    }
    for (i, event) in ChainReader::open(path)?.enumerate().take(last + 1) {
        let event = event?;
        if let Some(slot) = wanted.get_mut(&i) {
            *slot = Some(event);
        }
    }
    Ok(wanted.into_iter().filter_map(|(i, e)| Some((i, e?))).collect())
}

/// Where two events' values differ: what a divergence compares (a call's arguments, an
/// export's result), then a host call's answer, which a replay never diffs (it gives the
/// recorded one) but a successor may have another of.
pub fn event_diff(old: &Event, new: &Event) -> ValueDiff {
    let compared = |e: &Event| crate::decode::compared(&e.data);
    let mut diff = match (compared(old), compared(new)) {
        (Some(o), Some(n)) => values_diff::compare(&o, &n).unwrap_or_default(),
        _ => ValueDiff::default(),
    };
    let output = |e: &Event| match Payload::decode(&e.data) {
        Ok(Payload::HostFunction { output, .. }) => crate::values::untyped_val(&output),
        _ => None,
    };
    if let (Some(o), Some(n)) = (output(old), output(new)) {
        let answer = values_diff::diff(&o, &n);
        for mut entry in answer.entries {
            entry.path = match entry.path.as_str() {
                "." => "output".to_string(),
                p if p.starts_with(['.', '[']) => format!("output{p}"),
                p => format!("output.{p}"),
            };
            if diff.entries.len() < MAX_ENTRIES {
                diff.entries.push(entry);
            } else {
                diff.omitted += 1;
            }
        }
        diff.omitted += answer.omitted;
    }
    diff
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(types: &[(u8, &str)]) -> Vec<(pending::Key, String)> {
        types.iter().map(|(k, t)| ([*k; 32], t.to_string())).collect()
    }

    fn kinds(plan: &[Planned]) -> Vec<(ChangeKind, Option<usize>, Option<usize>)> {
        plan.iter().map(|p| (p.kind, p.old, p.new)).collect()
    }

    #[test]
    fn an_event_replaced_by_one_of_its_type_is_changed_else_removed_and_added() {
        use ChangeKind::*;
        let old = keys(&[(0, "h"), (1, "wasm"), (2, "log"), (3, "wasm")]);
        let new = keys(&[(0, "h"), (1, "wasm"), (9, "log"), (3, "wasm"), (4, "wasm")]);
        assert_eq!(kinds(&plan(&old, &new)), [(Changed, Some(2), Some(2)), (Added, None, Some(4))]);
        let new = keys(&[(0, "h"), (1, "wasm"), (9, "now"), (3, "wasm")]);
        assert_eq!(kinds(&plan(&old, &new)), [(Removed, Some(2), None), (Added, None, Some(2))]);
        // Cut short: the events it lost are removed; with no old chain, all are added.
        assert_eq!(kinds(&plan(&old, &old[..2])), [(Removed, Some(2), None), (Removed, Some(3), None)]);
        assert_eq!(plan(&[], &old).len(), 4);
        assert!(plan(&old, &old).is_empty());
    }

    #[test]
    fn a_host_call_s_answer_is_compared_under_output() {
        let host = |input: &str, output: &str| {
            let data = format!(
                r#"{{"category":"HostFunction","interface":"a:b/c","function":"f","input":{input},"output":{output}}}"#
            );
            Event::new_linked(crate::chain::HashAlg::Sha256, None, "a:b/c/f".into(), data.into_bytes())
        };
        let rec = |n: u32| format!(r#"{{"Record":[["n",{{"U32":{n}}}]]}}"#);
        let d = event_diff(
            &host(&format!(r#"{{"Tuple":[{}]}}"#, rec(1)), &rec(5)),
            &host(&format!(r#"{{"Tuple":[{}]}}"#, rec(2)), &rec(6)),
        );
        let paths: Vec<_> =
            d.entries.iter().map(|e| (e.path.as_str(), e.expected.as_deref(), e.actual.as_deref())).collect();
        assert_eq!(paths, [(".0.n", Some("1"), Some("2")), ("output.n", Some("5"), Some("6"))]);
    }
}
