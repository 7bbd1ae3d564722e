//! Where two values differ: the paths into them (`.items[3].name`, `ok.0`, `some`) with both
//! sides at each path, in value order, so a divergence report shows the difference instead
//! of two blobs to compare by eye.
//!
//! The values are component values (`Val`), which every dialect already builds to show its
//! payloads in WAVE (our typed JSON, theater's untyped JSON typed by the component, Pack's
//! CGRF): one diff for all of them; each side at a path is shown in WAVE.

use serde::Serialize;
use std::borrow::Cow;
use wasmtime::component::Val;
use wasmtime::component::wasm_wave;

/// How many differences a report keeps; the rest are counted.
pub const MAX_ENTRIES: usize = 32;
/// Strings and byte lists longer than this show the differing span, not the whole value.
const LONG: usize = 48;
/// Characters (or bytes) of unchanged context either side of a differing span.
const CONTEXT: usize = 12;
/// Longest side shown for one difference.
const MAX_SIDE_CHARS: usize = 120;

/// One place where the values differ.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DiffEntry {
    /// Where in the value: `.name` a record field, `.0` a tuple item (a call's arguments
    /// are a tuple: `.0` is the first), `[3]` a list item, `ok` / `err` / `some` / a case
    /// name the payload of that case; `.` the whole value.
    pub path: String,
    /// The recorded side at `path` in WAVE; `null` when the recorded value has nothing there
    /// (an item the replay added).
    pub expected: Option<String>,
    /// The replay's side at `path`; `null` when it has nothing there.
    pub actual: Option<String>,
    /// For a long string or byte list: the character (or item) index where the sides
    /// start to differ; both sides are then the differing span with a little context.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at: Option<usize>,
}

/// The differences between two values, at most [`MAX_ENTRIES`] of them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ValueDiff {
    /// The differences kept, in value order.
    pub entries: Vec<DiffEntry>,
    /// Differences found beyond the ones kept.
    pub omitted: usize,
}

/// What an event compares: a call's arguments or a result. Only values of the same role
/// are diffed: arguments against arguments.
#[derive(Debug, Clone, PartialEq)]
pub enum Compared {
    /// A call's arguments, in order.
    Arguments(Vec<Val>),
    /// An export's result.
    Result(Val),
}

/// The differences between the recorded and the replayed side; `None` when they have
/// different roles.
pub fn compare(expected: &Compared, actual: &Compared) -> Option<ValueDiff> {
    match (expected, actual) {
        (Compared::Arguments(e), Compared::Arguments(a)) => Some(diff(&Val::Tuple(e.clone()), &Val::Tuple(a.clone()))),
        (Compared::Result(e), Compared::Result(a)) => Some(diff(e, a)),
        _ => None,
    }
}

/// The differences between two values, in value order.
pub fn diff(expected: &Val, actual: &Val) -> ValueDiff {
    let mut walk = Walk { path: Vec::new(), out: ValueDiff::default() };
    walk.val(expected, actual);
    walk.out
}

/// One step of a path.
enum Step<'v> {
    Field(&'v str),
    Item(usize),
    Index(usize),
    Case(&'v str),
}

struct Walk<'v> {
    path: Vec<Step<'v>>,
    out: ValueDiff,
}

impl<'v> Walk<'v> {
    fn val(&mut self, e: &'v Val, a: &'v Val) {
        if same(e, a) {
            return;
        }
        match (e, a) {
            (Val::Tuple(e), Val::Tuple(a)) if e.len() == a.len() => {
                for (i, (e, a)) in e.iter().zip(a).enumerate() {
                    self.nested(Step::Item(i), e, a);
                }
            }
            (Val::List(e), Val::List(a)) | (Val::FixedLengthList(e), Val::FixedLengthList(a)) => self.list(e, a),
            (Val::Record(e), Val::Record(a)) => self.record(e, a),
            (Val::String(e), Val::String(a)) if e.chars().count() > LONG || a.chars().count() > LONG => {
                let (ec, ac): (Vec<char>, Vec<char>) = (e.chars().collect(), a.chars().collect());
                let (from, e_span, a_span) = span(&ec, &ac);
                let show = |chars: &[char], span: (usize, usize)| {
                    let excerpt = Val::String(chars[span.0..span.1].iter().collect());
                    let before = if span.0 > 0 { "…" } else { "" };
                    let after = if span.1 < chars.len() { "…" } else { "" };
                    format!("{before}{}{after}", wave(&excerpt))
                };
                self.entry(Some(show(&ec, e_span)), Some(show(&ac, a_span)), Some(from));
            }
            (Val::Option(Some(e)), Val::Option(Some(a))) => self.nested(Step::Case("some"), e, a),
            (Val::Result(Ok(Some(e))), Val::Result(Ok(Some(a)))) => self.nested(Step::Case("ok"), e, a),
            (Val::Result(Err(Some(e))), Val::Result(Err(Some(a)))) => self.nested(Step::Case("err"), e, a),
            (Val::Variant(ec, Some(e)), Val::Variant(ac, Some(a))) if ec == ac => self.nested(Step::Case(ec), e, a),
            _ => self.leaf(Some(e), Some(a)),
        }
    }

    fn nested(&mut self, step: Step<'v>, e: &'v Val, a: &'v Val) {
        self.path.push(step);
        self.val(e, a);
        self.path.pop();
    }

    /// A side that only one value has, at `step`.
    fn only(&mut self, step: Step<'v>, e: Option<&Val>, a: Option<&Val>) {
        self.path.push(step);
        self.leaf(e, a);
        self.path.pop();
    }

    fn list(&mut self, e: &'v [Val], a: &'v [Val]) {
        // A long list of bytes is a buffer: one span, like a string.
        let bytes = |items: &[Val]| -> Option<Vec<u8>> {
            items.iter().map(|v| if let Val::U8(b) = v { Some(*b) } else { None }).collect()
        };
        if let (Some(eb), Some(ab)) = (bytes(e), bytes(a))
            && (eb.len() > LONG || ab.len() > LONG)
        {
            let (from, e_span, a_span) = span(&eb, &ab);
            let show = |items: &[u8], span: (usize, usize)| {
                let mut parts: Vec<String> = items[span.0..span.1].iter().map(u8::to_string).collect();
                if span.0 > 0 {
                    parts.insert(0, "…".to_string());
                }
                if span.1 < items.len() {
                    parts.push("…".to_string());
                }
                format!("[{}]", parts.join(", "))
            };
            self.entry(Some(show(&eb, e_span)), Some(show(&ab, a_span)), Some(from));
            return;
        }
        for i in 0..e.len().max(a.len()) {
            match (e.get(i), a.get(i)) {
                (Some(e), Some(a)) => self.nested(Step::Index(i), e, a),
                (e, a) => self.only(Step::Index(i), e, a),
            }
        }
    }

    fn record(&mut self, e: &'v [(String, Val)], a: &'v [(String, Val)]) {
        for (name, ev) in e {
            match a.iter().find(|(n, _)| n == name) {
                Some((_, av)) => self.nested(Step::Field(name), ev, av),
                None => self.only(Step::Field(name), Some(ev), None),
            }
        }
        for (name, av) in a.iter().filter(|(n, _)| !e.iter().any(|(m, _)| m == n)) {
            self.only(Step::Field(name), None, Some(av));
        }
    }

    fn leaf(&mut self, e: Option<&Val>, a: Option<&Val>) {
        let side = |v: Option<&Val>| v.map(|v| clip(&wave(v)).into_owned());
        self.entry(side(e), side(a), None);
    }

    fn entry(&mut self, expected: Option<String>, actual: Option<String>, at: Option<usize>) {
        if self.out.entries.len() == MAX_ENTRIES {
            self.out.omitted += 1;
            return;
        }
        self.out.entries.push(DiffEntry { path: self.path_text(), expected, actual, at });
    }

    fn path_text(&self) -> String {
        let mut out = String::new();
        for step in &self.path {
            match step {
                Step::Field(name) => {
                    out.push('.');
                    out.push_str(name);
                }
                Step::Item(i) => out.push_str(&format!(".{i}")),
                Step::Index(i) => out.push_str(&format!("[{i}]")),
                Step::Case(case) => {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(case);
                }
            }
        }
        if out.is_empty() { ".".to_string() } else { out }
    }
}

/// Equal as shown: floats by their text, so NaN equals NaN and the diff never reports a
/// difference a person cannot see.
fn same(e: &Val, a: &Val) -> bool {
    match (e, a) {
        (Val::Float32(_) | Val::Float64(_), _) => wave(e) == wave(a),
        _ => e == a,
    }
}

/// A value in WAVE; what WAVE cannot write (a resource) in Rust's notation.
fn wave(val: &Val) -> String {
    wasm_wave::to_string(val).unwrap_or_else(|_| format!("{val:?}"))
}

/// Where two sequences start and stop differing: the index of the first difference, and
/// each side's span to show (the differing part with [`CONTEXT`] items either side).
fn span<T: PartialEq>(e: &[T], a: &[T]) -> (usize, (usize, usize), (usize, usize)) {
    let prefix = e.iter().zip(a).take_while(|(x, y)| x == y).count();
    let max_suffix = e.len().min(a.len()) - prefix;
    let suffix = e.iter().rev().zip(a.iter().rev()).take(max_suffix).take_while(|(x, y)| x == y).count();
    let start = prefix.saturating_sub(CONTEXT);
    // A long differing run is cut: the reader needs where it starts, not all of it.
    let cut = |len: usize| (start, (len - suffix + CONTEXT).min(len).min(start + 2 * CONTEXT + MAX_SIDE_CHARS / 2));
    (prefix, cut(e.len()), cut(a.len()))
}

fn clip(text: &str) -> Cow<'_, str> {
    crate::text::clip_to(text, MAX_SIDE_CHARS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(text: &str) -> Val {
        Val::String(text.to_string())
    }

    fn rec(fields: &[(&str, Val)]) -> Val {
        Val::Record(fields.iter().map(|(n, v)| (n.to_string(), v.clone())).collect())
    }

    fn entries(e: &Val, a: &Val) -> Vec<(String, Option<String>, Option<String>)> {
        diff(e, a).entries.into_iter().map(|d| (d.path, d.expected, d.actual)).collect()
    }

    fn one(path: &str, e: &str, a: &str) -> (String, Option<String>, Option<String>) {
        (path.to_string(), Some(e.to_string()), Some(a.to_string()))
    }

    #[test]
    fn equal_values_have_no_differences() {
        let v = rec(&[("a", Val::U32(1)), ("b", Val::Float64(f64::NAN))]);
        assert_eq!(diff(&v, &v.clone()), ValueDiff::default());
    }

    #[test]
    fn a_nested_field_is_named_by_its_path() {
        let items = |last: &str| {
            let names = ["a", "b", "c", last];
            rec(&[("items", Val::List(names.iter().map(|n| rec(&[("name", s(n))])).collect())), ("n", Val::U8(4))])
        };
        assert_eq!(entries(&items("d"), &items("x")), vec![one(".items[3].name", "\"d\"", "\"x\"")]);
    }

    #[test]
    fn cases_name_their_payload_and_a_changed_case_is_the_whole_value() {
        let ok = |v: Val| Val::Result(Ok(Some(Box::new(v))));
        let pair = |b: u32| Val::Tuple(vec![Val::U32(1), Val::U32(b)]);
        assert_eq!(entries(&ok(pair(2)), &ok(pair(3))), vec![one("ok.1", "2", "3")]);
        let some = |v: Val| Val::Option(Some(Box::new(v)));
        assert_eq!(
            entries(&some(rec(&[("a", Val::U8(1))])), &some(rec(&[("a", Val::U8(2))]))),
            vec![one("some.a", "1", "2")]
        );
        let err = Val::Result(Err(Some(Box::new(Val::U32(1)))));
        assert_eq!(entries(&ok(Val::U32(1)), &err), vec![one(".", "ok(1)", "err(1)")]);
        assert_eq!(entries(&some(Val::U8(1)), &Val::Option(None)), vec![one(".", "some(1)", "none")]);
        let leaf = |n: u8| rec(&[("v", Val::Variant("leaf".into(), Some(Box::new(Val::U8(n)))))]);
        assert_eq!(entries(&leaf(3), &leaf(4)), vec![one(".v.leaf", "3", "4")]);
    }

    #[test]
    fn several_differences_come_in_value_order() {
        let v =
            |n: u8, last: bool| Val::Tuple(vec![Val::U8(n), s("a"), Val::List(vec![Val::Bool(true), Val::Bool(last)])]);
        assert_eq!(entries(&v(1, false), &v(2, true)), vec![one(".0", "1", "2"), one(".2[1]", "false", "true")]);
    }

    #[test]
    fn items_only_one_side_has_are_null_on_the_other() {
        let list = |n: u8| Val::List((1..=n).map(Val::U8).collect());
        assert_eq!(entries(&list(2), &list(3)), vec![(String::from("[2]"), None, Some(String::from("3")))]);
        let e = rec(&[("a", Val::U8(1)), ("b", Val::U8(2))]);
        assert_eq!(entries(&e, &rec(&[("a", Val::U8(1))])), vec![(String::from(".b"), Some(String::from("2")), None)]);
    }

    #[test]
    fn a_long_string_shows_the_differing_span_with_context() {
        let text = |word: &str| s(&format!("{}hello {word}{}", "x".repeat(100), "y".repeat(100)));
        let d = diff(&text("world"), &text("there"));
        assert_eq!(d.entries.len(), 1);
        let entry = &d.entries[0];
        assert_eq!((entry.path.as_str(), entry.at), (".", Some(106)));
        assert_eq!(entry.expected.as_deref(), Some("…\"xxxxxxhello worldyyyyyyyyyyyy\"…"));
        assert_eq!(entry.actual.as_deref(), Some("…\"xxxxxxhello thereyyyyyyyyyyyy\"…"));
    }

    #[test]
    fn a_long_byte_list_shows_the_differing_span() {
        let bytes = |x: u8| {
            let mut b = vec![0u8; 200];
            b[150] = x;
            Val::List(b.into_iter().map(Val::U8).collect())
        };
        let d = diff(&bytes(1), &bytes(2));
        assert_eq!(d.entries.len(), 1);
        assert_eq!(d.entries[0].at, Some(150));
        let shown = d.entries[0].actual.as_deref().unwrap();
        assert!(shown.starts_with("[…, 0,") && shown.contains(", 2, ") && shown.ends_with(", …]"), "{shown}");
    }

    #[test]
    fn many_differences_are_kept_up_to_the_limit_and_counted() {
        let list = |x: u32| Val::List((0..40).map(|i| rec(&[("n", Val::U32(i * x))])).collect());
        let d = diff(&list(1), &list(2));
        // Item 0 is 0 on both sides.
        assert_eq!((d.entries.len(), d.omitted), (MAX_ENTRIES, 39 - MAX_ENTRIES));
        assert_eq!(d.entries[0].path, "[1].n");
    }

    #[test]
    fn arguments_compare_only_with_arguments() {
        let args = |b: u8| Compared::Arguments(vec![Val::Tuple(vec![]), Val::U8(b)]);
        assert_eq!(compare(&args(2), &Compared::Result(Val::U8(2))), None);
        assert_eq!(compare(&args(2), &args(3)).unwrap().entries[0].path, ".1");
        // A different number of arguments is one difference: the whole list.
        let none = Compared::Arguments(vec![]);
        assert_eq!(compare(&none, &args(3)).unwrap().entries[0].path, ".");
    }
}
