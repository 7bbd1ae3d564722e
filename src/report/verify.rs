//! Renderings of a [`VerifyReport`]: a report a person can act on, and one JSON object for
//! scripts (byte-identical for identical inputs: fields in a fixed order, maps sorted).

use super::style::Style;
use crate::dialect::Dialect;
use crate::replay::{Divergence, DivergenceKind, EventView, Status, TheaterReleases, VerifyReport};
use crate::text::escape;
use std::fmt::Write;

/// The human report, without colour. Ends with a newline.
pub fn human(report: &VerifyReport, chain: &str) -> String {
    human_styled(report, chain, Style::PLAIN)
}

/// The human report in `style`. Ends with a newline.
pub fn human_styled(report: &VerifyReport, chain: &str, style: Style) -> String {
    // Everything shown here but our own words comes from the chain, the component or the
    // command line: escaped, so none of it can steer a terminal.
    let chain = &*escape(chain);
    let mut out = String::new();
    let n = report.events_verified;
    match report.status {
        Status::Verified => {
            let _ = writeln!(out, "{}: {chain}: all {n} events replayed and matched", style.good("verified"));
            head(&mut out, report);
        }
        Status::Empty => {
            let what = match n {
                0 => "the chain has no events".to_string(),
                1 => "its one event is not an export call".to_string(),
                n => format!("none of its {n} events is an export call"),
            };
            let _ = writeln!(out, "{}: {chain}: {what}: nothing was replayed, so nothing was verified", style.bad("EMPTY"));
            head(&mut out, report);
            let _ = writeln!(
                out,
                "  {} a chain proves something only with export calls in it: record it again (`theater-replay record ACTOR --invoke ...`) or restore it from where it is kept; `verify --head` pins a chain so that one cut short fails",
                style.heading("what to do:")
            );
        }
        Status::Broken => {
            if let Some(b) = &report.broken {
                let _ = writeln!(
                    out,
                    "{}: {chain} fails its integrity check at event {} ({}{}): {}",
                    style.broken("BROKEN"),
                    b.index,
                    escape(&b.event_type),
                    b.line.map_or(String::new(), |line| format!(", line {line}")),
                    b.message
                );
            }
            if report.broken.as_ref().is_some_and(|b| b.reason == "head_mismatch") {
                let _ = writeln!(
                    out,
                    "  the chain does not end where it should: it was cut short, extended or replaced after its head was taken; restore it from where it is kept"
                );
            } else {
                let _ = writeln!(
                    out,
                    "  the chain was altered or damaged after it was recorded; `theater-replay check {chain}` says more"
                );
            }
        }
        Status::Error => {
            let message = escape(report.error.as_deref().unwrap_or("unknown error"));
            // Chain errors name their file first; don't say it twice.
            let message = message.strip_prefix(&format!("{chain}: ")).unwrap_or(&message);
            let _ = writeln!(out, "{}: {chain}: {message}", style.bad("error"));
        }
        Status::Diverged => {
            if let Some(d) = &report.divergence {
                divergence(&mut out, d, chain, n, report, style);
            }
            keep_going(&mut out, report, style);
        }
    }
    if let Some(t) = report.theater.as_ref().filter(|t| t.ambiguous && !t.given) {
        // What no event could tell was taken from one release: say which, and how to pick.
        let _ = writeln!(
            out,
            "  note: recorded by theater {}, as far as its events tell; replayed as {} (`--theater VERSION` if it was another)",
            t.releases, t.replayed_as
        );
    }
    if let (Some(recorded), Some(replayed)) = (&report.recorded_component_sha256, &report.component_sha256)
        && recorded != replayed
        && report.status != Status::Verified
    {
        let _ = writeln!(
            out,
            "  note: recorded with component sha256 {}, replayed with {}",
            escape(short(recorded)),
            escape(short(replayed))
        );
    }
    out
}

/// The chain's head, for a CI job to pin with `--head`.
fn head(out: &mut String, report: &VerifyReport) {
    if let Some(head) = &report.head {
        let _ = writeln!(out, "  head: {head}");
    }
}

fn short(hex: &str) -> &str {
    hex.get(..16).unwrap_or(hex)
}

/// A value shown in full only up to a screenful (a guest's 256 random bytes are not worth
/// reading); the JSON report always has all of it.
fn clip(summary: &str) -> std::borrow::Cow<'_, str> {
    const SHOWN: usize = 200;
    let Some((cut, _)) = summary.char_indices().nth(SHOWN) else { return escape(summary) };
    let rest = summary[cut..].chars().count();
    if rest <= 40 {
        return escape(summary);
    }
    format!("{} ... ({rest} more characters; --format json shows all)", escape(&summary[..cut])).into()
}

fn divergence(out: &mut String, d: &Divergence, chain: &str, verified: u64, report: &VerifyReport, style: Style) {
    let (head, dialect, theater) = (report.head.as_deref(), report.dialect, report.theater.as_ref());
    let _ = writeln!(
        out,
        "{}: {chain}: event {} ({}{}): {}",
        style.bad("DIVERGED"),
        d.index,
        escape(&d.event_type),
        d.line.map_or(String::new(), |line| format!(", line {line}")),
        d.kind.describe()
    );
    if report.exports.is_empty() {
        let _ = writeln!(out, "  verified before it: {verified} events");
    } else {
        // The replay went on past this divergence: the count is of the whole chain.
        let _ = writeln!(out, "  verified: {verified} events in the whole chain (--keep-going went on past this divergence)");
    }
    if let Some(head) = head {
        let _ = writeln!(out, "  chain head: {head}");
    }
    // The label padded before it is painted: escape codes would count in the width.
    let view =
        |label: &str, paint: fn(Style, &str) -> String, v: &Option<EventView>, missing: &str, out: &mut String| {
            let label = paint(style, &format!("{label:<9}"));
            match v {
                Some(v) => {
                    let _ = writeln!(out, "  {label} {}", paint(style, &clip(&v.summary)));
                    let _ = writeln!(out, "  {:<9} {}  {}", "", escape(&v.event_type), style.dim(&escape(&v.hash)));
                }
                None => {
                    let _ = writeln!(out, "  {label} {missing}");
                }
            }
        };
    view("expected:", Style::expected, &d.expected, "(the recording ends here)", out);
    view("actual:", Style::actual, &d.actual, "(no event)", out);
    value_diff(out, d, style);
    if let Some(detail) = &d.detail {
        let _ = writeln!(out, "  detail:   {}", escape(detail));
    }
    if !d.last_matched.is_empty() {
        let _ = writeln!(out, "  last matched:");
        for m in &d.last_matched {
            let _ = writeln!(out, "    {:>6}  {}", m.index, clip(&m.summary));
        }
    }
    if d.guest_stack.is_empty() {
        let _ = writeln!(out, "  guest stack: (not inside the guest)");
    } else {
        let _ = writeln!(out, "  guest stack (innermost first):");
        for (i, frame) in d.guest_stack.iter().enumerate() {
            let _ = writeln!(out, "    {i:>2}: {}", escape(frame));
        }
        match interpreter(&d.guest_stack) {
            // No build flag gives an interpreter's frames the script's lines.
            Some(guest) => {
                let _ = writeln!(
                    out,
                    "    (the frames are {}'s, which runs the {} code: its functions and lines are not wasm frames)",
                    guest.runtime, guest.language
                );
            }
            None if !d.source_lines => {
                let _ = writeln!(
                    out,
                    "    (no source lines: the actor has no DWARF debug info; a debug build, or -g, would show file:line)"
                );
            }
            None => {}
        }
    }
    let _ = writeln!(out, "  {} {}", style.heading("what to do:"), advice(d, dialect, theater, chain));
}

/// An actor whose own code an interpreter compiled into it runs: its guest stack is the
/// interpreter's, and no debug build of the actor names the script's lines.
struct Interpreted {
    language: &'static str,
    runtime: &'static str,
}

/// The interpreter a guest stack shows, by the modules its frames are in (componentize-py
/// and componentize-js name theirs so).
fn interpreter(stack: &[String]) -> Option<Interpreted> {
    stack.iter().find_map(|frame| {
        let module = frame.split_once('!').map_or(frame.as_str(), |(module, _)| module);
        if module.starts_with("libpython") || module.starts_with("componentize_py") {
            Some(Interpreted { language: "Python", runtime: "CPython" })
        } else if module.starts_with("starling") {
            Some(Interpreted { language: "JavaScript", runtime: "StarlingMonkey" })
        } else {
            None
        }
    })
}

/// What to do about `d`: only steps a person can take with this chain and this actor
/// (`--accept` re-records theater-replay's own chains only; a stack is there or not; an
/// interpreted guest's stack is not its source's).
fn advice(d: &Divergence, dialect: Option<Dialect>, theater: Option<&TheaterReleases>, chain: &str) -> String {
    let record_again = match dialect {
        Some(Dialect::TheaterReplay) | None => "record a new golden chain with `theater-replay record`".to_string(),
        Some(Dialect::Pack038) => {
            "record a new golden chain with theater, or with `theater-replay record ACTOR --invoke ...`".to_string()
        }
        Some(Dialect::PackValues) => format!(
            "record a new golden chain with theater, or with `theater-replay record ACTOR --theater {} --invoke ...`",
            theater.map_or("VERSION", |t| t.replayed_as.as_str())
        ),
        // theater-replay writes these in no form of theirs.
        Some(Dialect::TheaterComponentJson | Dialect::TheaterComponentTyped) => {
            "record a new golden chain by running the actor in theater".to_string()
        }
    };
    let look = match (d.guest_stack.last(), interpreter(&d.guest_stack)) {
        (None, _) => {
            "look at what the export does after the last matched event (it had returned: no guest stack)".to_string()
        }
        (Some(outermost), Some(guest)) => {
            let export = outermost.rsplit_once('!').map_or(outermost.as_str(), |(_, function)| function);
            format!(
                "look in the {} source of the export `{}` at the bottom of the stack",
                guest.language,
                escape(export)
            )
        }
        (Some(_), None) => "start at the guest stack shown".to_string(),
    };
    match d.kind {
        DivergenceKind::MissingExport | DivergenceKind::SignatureMismatch => {
            format!(
                "the component's interface changed since the recording: {record_again}, or restore the old interface"
            )
        }
        DivergenceKind::LimitExceeded => {
            let look = match (d.at_instantiation(), d.guest_stack.is_empty()) {
                (true, true) => "in the sizes the actor declares its memories and tables with, and its start function",
                (false, true) => "in the export called last",
                (_, false) => &look,
            };
            format!(
                "if the work is legitimate, raise the limit with the flag named above (wasmtime's hostcall limit and the object counts are fixed); if not, look for a loop or leak: {look}"
            )
        }
        DivergenceKind::NoncanonicalRecording => {
            "re-record the chain with `theater-replay record`; only chains in our canonical format can be replayed"
                .to_string()
        }
        _ => {
            let accept = match dialect {
                Some(Dialect::TheaterReplay) if chain != "-" => {
                    format!("`verify --accept` records its successor as {chain}.new")
                }
                Some(Dialect::TheaterReplay) => {
                    "`verify --accept` with the chain given as a file (not stdin) records its successor".to_string()
                }
                _ => record_again,
            };
            format!("the component's behaviour changed: if intended, {accept}; if not, {look}")
        }
    }
}

/// Under `--keep-going`: the other calls that diverged, one block each, then a table per
/// export of the calls replayed and how they went, and why the replay stopped if it could
/// not go on.
fn keep_going(out: &mut String, report: &VerifyReport, style: Style) {
    if let Some(stopped) = report.keep_going_stopped {
        let _ = writeln!(out, "  {} {}", style.heading("--keep-going:"), stopped.describe());
    }
    if report.divergences.len() > 1 || report.divergences_omitted > 0 {
        let more = report.divergences.len().saturating_sub(1) as u64 + report.divergences_omitted;
        let s = if more == 1 { "" } else { "s" };
        let _ = writeln!(out, "  {} {more} more call{s} diverged:", style.heading("--keep-going:"));
        for d in report.divergences.iter().skip(1) {
            let expected = d.expected.as_ref().map_or("(the recording ends here)".into(), |v| clip(&v.summary));
            let actual = d.actual.as_ref().map_or("(no event)".into(), |v| clip(&v.summary));
            let _ = writeln!(out, "    event {}: {}", d.index, d.kind.describe());
            let _ = writeln!(out, "      {} {expected}", style.expected("expected:"));
            let _ = writeln!(out, "      {}   {actual}", style.actual("actual:"));
            if let Some(first) = d.diff.first() {
                let side =
                    |v: &Option<String>| v.as_deref().map_or_else(|| "(nothing)".to_string(), |v| escape(v).into_owned());
                let _ = writeln!(
                    out,
                    "      differs at {}: expected {}, actual {}",
                    escape(&first.path),
                    side(&first.expected),
                    side(&first.actual)
                );
            }
        }
        if report.divergences_omitted > 0 {
            let _ = writeln!(
                out,
                "    ... and {} more (the table below counts them; --format json lists the first {})",
                report.divergences_omitted,
                report.divergences.len()
            );
        }
    }
    if report.exports.is_empty() {
        return;
    }
    let width = report.exports.iter().map(|t| t.export.chars().count()).max().unwrap_or(0).max(6);
    let _ = writeln!(out, "  {}", style.heading("per export:"));
    let _ = writeln!(out, "    {:<width$}  {:>7}  {:>7}  {:>8}  kinds", "export", "calls", "matched", "diverged");
    for t in &report.exports {
        let kinds: Vec<String> = t.kinds.iter().map(|(kind, n)| format!("{} {n}", kind.code())).collect();
        let _ = writeln!(
            out,
            "    {:<width$}  {:>7}  {:>7}  {:>8}  {}",
            escape(&t.export),
            t.calls,
            t.matched,
            t.diverged,
            if kinds.is_empty() { "-".to_string() } else { kinds.join(", ") }
        );
    }
}

/// Where the two values differ, when that says more than the two lines above it.
fn value_diff(out: &mut String, d: &Divergence, style: Style) {
    let sides = Sides { first: ("expected", Style::expected), second: ("actual", Style::actual) };
    differs_at(out, "  ", &d.diff, d.diff_omitted, sides, style);
}

/// The two sides of a value diff, as [`differs_at`] names and paints them.
pub(crate) struct Sides {
    pub first: (&'static str, fn(Style, &str) -> String),
    pub second: (&'static str, fn(Style, &str) -> String),
}

/// The `differs at:` block of a value diff, indented by `indent` (a divergence's, and a
/// changed event's in `review`): the first few paths with both sides, then a count.
pub(crate) fn differs_at(
    out: &mut String,
    indent: &str,
    diff: &[crate::values::diff::DiffEntry],
    omitted: usize,
    sides: Sides,
    style: Style,
) {
    /// Differences a person reads before the count of the rest.
    const SHOWN: usize = 5;
    // One whole value or argument that differs is plain from the two lines above.
    // A path is chain-controlled text (a Pack case name may be any string): never sliced.
    let top_level = |path: &str| {
        path == "." || path.strip_prefix('.').is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    };
    let plain = matches!(diff, [only] if top_level(&only.path) && only.at.is_none());
    if diff.is_empty() || plain {
        return;
    }
    let _ = writeln!(out, "{indent}differs at:");
    for entry in diff.iter().take(SHOWN) {
        let side =
            |v: &Option<String>| v.as_deref().map_or_else(|| "(nothing)".to_string(), |v| escape(v).into_owned());
        let from = match entry.at {
            Some(at) => format!(" (from index {at})"),
            None => String::new(),
        };
        let _ = writeln!(
            out,
            "{indent}  {}{from}: {}, {}",
            escape(&entry.path),
            (sides.first.1)(style, &format!("{} {}", sides.first.0, side(&entry.expected))),
            (sides.second.1)(style, &format!("{} {}", sides.second.0, side(&entry.actual)))
        );
    }
    let more = diff.len().saturating_sub(SHOWN) + omitted;
    if more > 0 {
        let s = if more == 1 { "" } else { "s" };
        let listed = if omitted > 0 { format!("the first {}", diff.len()) } else { "all".to_string() };
        let _ = writeln!(out, "{indent}  ... and {more} more difference{s} (--format json lists {listed})");
    }
}

/// A report as JSON prints it (`docs/schema/verify.schema.json`): the fields in this fixed
/// order, after `schema_version`. The nested objects are the report's own, serialized in
/// their declaration order.
#[derive(serde::Serialize)]
struct VerifyRecord<'a> {
    path: &'a str,
    status: Status,
    events_verified: u64,
    /// The last event's hash in hex (what `--head` takes), when the chain was read to its
    /// end intact.
    head: Option<&'a str>,
    hash_algorithm: Option<&'static str>,
    /// The old name of `hash_algorithm`, kept for the scripts that read it: everywhere else
    /// `hash` is a hex digest. Dropped at schema_version 2.
    hash: Option<&'static str>,
    dialect: Option<crate::dialect::Dialect>,
    theater: Option<&'a crate::replay::TheaterReleases>,
    component_sha256: Option<&'a str>,
    recorded_component_sha256: Option<&'a str>,
    divergence: Option<&'a Divergence>,
    /// `--keep-going`: every diverging call listed (the first is `divergence`), how many
    /// more there were, and each export's tally; empty without the flag.
    divergences: &'a [Divergence],
    divergences_omitted: u64,
    exports: &'a [crate::replay::ExportTally],
    /// `--keep-going` on a diverged chain that could not go on past a divergence: why.
    keep_going_stopped: Option<KeepGoingStopped>,
    broken: Option<&'a crate::replay::BrokenAt>,
    /// The one-line error of status `error`, under the name every command gives it.
    message: Option<&'a str>,
    /// The same, under the name it had first.
    error: Option<&'a str>,
}

/// `{"reason": "state_in_instance", "message": "..."}`: the code for scripts, the words for people.
#[derive(serde::Serialize)]
struct KeepGoingStopped {
    reason: crate::replay::KeepGoingStop,
    message: &'static str,
}

/// One JSON document on one line, for the chain at `path` (as given on the command line).
pub fn json(report: &VerifyReport, path: &str) -> String {
    super::document(VerifyRecord {
        path,
        status: report.status,
        events_verified: report.events_verified,
        head: report.head.as_deref(),
        hash_algorithm: report.hash,
        hash: report.hash,
        dialect: report.dialect,
        theater: report.theater.as_ref(),
        component_sha256: report.component_sha256.as_deref(),
        recorded_component_sha256: report.recorded_component_sha256.as_deref(),
        divergence: report.divergence.as_ref(),
        divergences: &report.divergences,
        divergences_omitted: report.divergences_omitted,
        exports: &report.exports,
        keep_going_stopped: report
            .keep_going_stopped
            .map(|stop| KeepGoingStopped { reason: stop, message: stop.describe() }),
        broken: report.broken.as_ref(),
        message: report.error.as_deref(),
        error: report.error.as_deref(),
    })
}

/// The last line of a many-chain run, for people, without colour. Ends with a newline.
pub fn summary_human(s: &crate::batch::Summary) -> String {
    summary_human_styled(s, Style::PLAIN)
}

/// The last line of a many-chain run in `style`: counts that are not zero in their verdict's
/// colour. Ends with a newline.
pub fn summary_human_styled(s: &crate::batch::Summary, style: Style) -> String {
    let chains = if s.chains == 1 { "chain" } else { "chains" };
    let count = |n: usize, word: &str, paint: fn(Style, &str) -> String| {
        let text = format!("{n} {word}");
        if n == 0 { text } else { paint(style, &text) }
    };
    let mut out = format!(
        "summary: {} {chains}: {}, {}, {}, {}",
        s.chains,
        count(s.verified, "verified", Style::good),
        count(s.diverged, "diverged", Style::bad),
        count(s.broken, "broken", Style::broken),
        count(s.error, "error", Style::bad)
    );
    if s.empty > 0 {
        let _ = write!(out, ", {}", count(s.empty, "empty", Style::bad));
    }
    if s.not_run > 0 {
        let _ = write!(out, ", {} not run (--fail-fast)", s.not_run);
    }
    if s.skipped > 0 {
        let files = if s.skipped == 1 { "file" } else { "files" };
        let _ = write!(out, ", {} {files} skipped (not chains, named above)", s.skipped);
    }
    out.push('\n');
    out
}

/// The last line of a many-chain run for scripts:
/// `{"schema_version":1,"summary":{"chains":N,...}}`, fields in a fixed order, no newline.
pub fn summary_json(s: &crate::batch::Summary) -> String {
    // A struct, not `json!`: serde_json's maps sort their keys, and `chains` should lead.
    #[derive(serde::Serialize)]
    struct Line<'a> {
        summary: &'a crate::batch::Summary,
    }
    super::document(Line { summary: s })
}

#[cfg(test)]
mod tests {
    use super::{clip, value_diff};
    use crate::dialect::Dialect;
    use crate::replay::{Divergence, DivergenceKind, Status, VerifyReport};
    use crate::values::diff::DiffEntry;

    fn divergence(diff: Vec<DiffEntry>, diff_omitted: usize) -> Divergence {
        Divergence {
            index: 3,
            kind: DivergenceKind::DifferentResult,
            event_type: "wasm".into(),
            expected: None,
            actual: None,
            diff,
            diff_omitted,
            detail: None,
            guest_stack: vec![],
            source_lines: false,
            last_matched: vec![],
            line: None,
        }
    }

    fn entry(path: &str, expected: Option<&str>, actual: Option<&str>, at: Option<usize>) -> DiffEntry {
        DiffEntry { path: path.into(), expected: expected.map(Into::into), actual: actual.map(Into::into), at }
    }

    #[test]
    fn the_value_diff_lists_paths_then_counts_the_rest() {
        let mut diff: Vec<_> = (0..7).map(|i| entry(&format!(".items[{i}].n"), Some("1"), Some("2"), None)).collect();
        diff.insert(0, entry(".body", Some("…\"ab\"…"), Some("…\"ac\"…"), Some(40)));
        diff.push(entry(".extra", None, Some("true"), None));
        let mut out = String::new();
        value_diff(&mut out, &divergence(diff, 4), super::Style::PLAIN);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0], "  differs at:");
        assert_eq!(lines[1], "    .body (from index 40): expected …\"ab\"…, actual …\"ac\"…");
        assert_eq!(lines[2], "    .items[0].n: expected 1, actual 2");
        assert_eq!(lines.len(), 7, "{out}");
        // 9 listed, 5 shown, 4 more not even listed.
        assert_eq!(lines[6], "    ... and 8 more differences (--format json lists the first 9)");
    }

    #[test]
    fn one_whole_value_or_argument_is_not_repeated_but_a_nested_one_is() {
        let mut out = String::new();
        value_diff(
            &mut out,
            &divergence(vec![entry(".0", Some("\"a\""), Some("\"b\""), None)], 0),
            super::Style::PLAIN,
        );
        value_diff(&mut out, &divergence(vec![entry(".", Some("1"), Some("2"), None)], 0), super::Style::PLAIN);
        assert_eq!(out, "");
        // A case at the root is nested, whatever its name (Pack's may be any text).
        for case in ["é", "x1"] {
            let mut shown = String::new();
            value_diff(&mut shown, &divergence(vec![entry(case, Some("1"), Some("2"), None)], 0), super::Style::PLAIN);
            assert!(shown.contains(&format!("    {case}: expected 1, actual 2")), "{shown}");
        }
        value_diff(&mut out, &divergence(vec![entry("ok.name", Some("\"a\""), None, None)], 0), super::Style::PLAIN);
        assert_eq!(out, "  differs at:\n    ok.name: expected \"a\", actual (nothing)\n");
    }

    /// The report of a divergence of `kind` in a chain of `dialect`, at `stack`.
    fn diverged(kind: DivergenceKind, dialect: Dialect, stack: &[&str], source_lines: bool) -> VerifyReport {
        let mut d = divergence(vec![], 0);
        d.kind = kind;
        d.guest_stack = stack.iter().map(|f| f.to_string()).collect();
        d.source_lines = source_lines;
        VerifyReport {
            status: Status::Diverged,
            events_verified: 3,
            head: None,
            hash: Some("sha256"),
            dialect: Some(dialect),
            theater: None,
            component_sha256: None,
            recorded_component_sha256: None,
            divergence: Some(d),
            divergences: vec![],
            divergences_omitted: 0,
            exports: vec![],
            keep_going_stopped: None,
            recorded_calls: None,
            broken: None,
            error: None,
        }
    }

    /// The line under the stack, if any, and the advice.
    fn hint_and_advice(report: &VerifyReport, chain: &str) -> (Option<String>, String) {
        let text = super::human(report, chain);
        let hint = text.lines().find(|l| l.starts_with("    (")).map(|l| l.trim().to_string());
        let advice = text.lines().find_map(|l| l.strip_prefix("  what to do: ")).unwrap().to_string();
        (hint, advice)
    }

    #[test]
    fn advice_offers_accept_only_for_chains_it_can_rerecord() {
        let native = ["agent.wasm!log_step", "agent.wasm!run"];
        let (_, ours) = hint_and_advice(
            &diverged(DivergenceKind::DifferentArguments, Dialect::TheaterReplay, &native, false),
            "g/run.json",
        );
        assert_eq!(
            ours,
            "the component's behaviour changed: if intended, `verify --accept` records its successor as g/run.json.new; if not, start at the guest stack shown"
        );
        let (_, stdin) =
            hint_and_advice(&diverged(DivergenceKind::DifferentArguments, Dialect::TheaterReplay, &native, false), "-");
        assert!(stdin.contains("with the chain given as a file"), "{stdin}");
        for (dialect, says) in [
            (Dialect::TheaterComponentJson, "by running the actor in theater"),
            (Dialect::TheaterComponentTyped, "by running the actor in theater"),
            (Dialect::Pack038, "`theater-replay record ACTOR --invoke ...`"),
            (Dialect::PackValues, "`theater-replay record ACTOR --theater VERSION --invoke ...`"),
        ] {
            let (_, advice) =
                hint_and_advice(&diverged(DivergenceKind::DifferentResult, dialect, &native, false), "t.json");
            assert!(!advice.contains("--accept"), "{dialect}: {advice}");
            assert!(advice.contains(says), "{dialect}: {advice}");
        }
    }

    #[test]
    fn advice_points_at_a_stack_only_when_there_is_one_and_it_is_the_guests_code() {
        let (hint, advice) =
            hint_and_advice(&diverged(DivergenceKind::DifferentResult, Dialect::TheaterReplay, &[], false), "c.json");
        assert_eq!(hint, None);
        assert!(!advice.contains("guest stack shown"), "{advice}");
        assert!(
            advice.ends_with(
                "look at what the export does after the last matched event (it had returned: no guest stack)"
            ),
            "{advice}"
        );
        let (_, limit) =
            hint_and_advice(&diverged(DivergenceKind::LimitExceeded, Dialect::TheaterReplay, &[], false), "c.json");
        assert!(!limit.contains("guest stack shown"), "{limit}");

        // A native build: -g does help.
        let native = ["agent.wasm!log_step", "agent.wasm!run"];
        let (hint, advice) = hint_and_advice(
            &diverged(DivergenceKind::DifferentArguments, Dialect::TheaterReplay, &native, false),
            "c.json",
        );
        assert!(hint.unwrap().contains("a debug build, or -g, would show file:line"));
        assert!(advice.ends_with("start at the guest stack shown"), "{advice}");
        let (hint, _) = hint_and_advice(
            &diverged(DivergenceKind::DifferentArguments, Dialect::TheaterReplay, &native, true),
            "c.json",
        );
        assert_eq!(hint, None);

        // Interpreted guests (stacks as componentize-py 0.25 and componentize-js 0.23 builds show them).
        let python = [
            "<module>!adapter next-token",
            "componentize_py_runtime.wasm!componentize_py_runtime::__pyfunction_call_import",
            "libpython3.14.so!_PyEval_EvalFrameDefault",
            "componentize_py_runtime.wasm!wit_dylib_export_call",
            "<module>!run",
        ];
        let js = [
            "<module>!<func 35>",
            "starling-raw.wasm!js::Interpret(JSContext*, js::RunState&)",
            "starling-raw.wasm!run",
        ];
        for (stack, language, runtime) in
            [(&python[..], "Python", "CPython"), (&js[..], "JavaScript", "StarlingMonkey")]
        {
            let (hint, advice) = hint_and_advice(
                &diverged(DivergenceKind::DifferentImport, Dialect::TheaterReplay, stack, false),
                "c.json",
            );
            let hint = hint.unwrap();
            assert!(!hint.contains("-g"), "{hint}");
            assert!(hint.contains(&format!("the frames are {runtime}'s, which runs the {language} code")), "{hint}");
            assert!(
                advice.ends_with(&format!(
                    "look in the {language} source of the export `run` at the bottom of the stack"
                )),
                "{advice}"
            );
        }
    }

    #[test]
    fn long_values_are_clipped_on_a_char_boundary_and_short_ones_kept() {
        assert_eq!(clip("run(\"hi\")"), "run(\"hi\")");
        let exactly = "é".repeat(240);
        assert_eq!(clip(&exactly), exactly, "a little over the limit is not worth clipping");
        let long = "é".repeat(1000);
        let shown = clip(&long);
        assert!(shown.starts_with(&"é".repeat(200)));
        assert!(shown.ends_with("... (800 more characters; --format json shows all)"), "{shown}");
    }
}
