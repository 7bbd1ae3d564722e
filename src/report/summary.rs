//! `verify --summary FILE`: a short Markdown report of a run for a CI job's summary
//! (`$GITHUB_STEP_SUMMARY`) or a review comment: the verdict counts, each diverging call
//! with its first difference, the chains that could not be verified, and the coverage
//! table under `--coverage`. Bounded: a run with thousands of diverging calls lists the
//! first [`CALLS_LISTED`] and counts the rest (GitHub takes at most 1 MiB per step).

use crate::batch::{BatchReport, ChainResult, Summary};
use crate::coverage::Coverage;
use crate::replay::{Divergence, Status};
use crate::text::{clip_to, escape};
use std::fmt::Write;

/// Diverging calls listed in the table; the rest are counted under it.
pub const CALLS_LISTED: usize = 30;

/// Characters of a value shown in a table cell.
const VALUE_CHARS: usize = 60;

/// The Markdown report of a run of `component`; ends with a newline (and starts with a
/// heading, so that reports appended one after another stay apart).
pub fn markdown(component: &str, batch: &BatchReport, summary: &Summary, coverage: Option<&Coverage>) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "### theater-replay verify {}\n", code(component));
    let verdict = match batch.worst() {
        None => "nothing replayed",
        Some(Status::Verified) => "verified",
        Some(Status::Diverged) => "DIVERGED",
        Some(Status::Broken) => "BROKEN",
        Some(Status::Error) => "ERROR",
        Some(Status::Empty) => "EMPTY",
    };
    let chains = if summary.chains == 1 { "chain" } else { "chains" };
    let mut counts = format!(
        "**{verdict}**: {} {chains}: {} verified, {} diverged, {} broken, {} error",
        summary.chains, summary.verified, summary.diverged, summary.broken, summary.error
    );
    for (n, what) in [(summary.empty, "empty"), (summary.not_run, "not run (--fail-fast)"), (summary.skipped, "files skipped")] {
        if n > 0 {
            let _ = write!(counts, ", {n} {what}");
        }
    }
    let _ = writeln!(out, "{counts}\n");

    diverged_calls(&mut out, batch);
    not_verified(&mut out, batch);
    if let Some(coverage) = coverage {
        coverage_tables(&mut out, coverage);
    }
    out
}

/// Every diverging call listed (the first of each chain, and under `--keep-going` the ones
/// after it), up to [`CALLS_LISTED`] in all.
fn diverged_calls(out: &mut String, batch: &BatchReport) {
    let diverged: Vec<(String, &crate::replay::VerifyReport)> = batch
        .results
        .iter()
        .filter_map(|r| match r {
            ChainResult::Finished(v) if v.report.status == Status::Diverged => Some((v.path.display().to_string(), &v.report)),
            _ => None,
        })
        .collect();
    if diverged.is_empty() {
        return;
    }
    let _ = writeln!(out, "#### Diverging calls\n");
    let _ = writeln!(out, "| chain | event | what | first difference |");
    let _ = writeln!(out, "| --- | ---: | --- | --- |");
    let (mut listed, mut unlisted) = (0usize, 0u64);
    for (path, report) in &diverged {
        // Under --keep-going `divergences` holds them all (the first is `divergence`).
        let calls: Vec<&Divergence> = match report.divergences.as_slice() {
            [] => report.divergence.iter().collect(),
            all => all.iter().collect(),
        };
        for d in &calls {
            if listed == CALLS_LISTED {
                unlisted += 1;
                continue;
            }
            listed += 1;
            let _ = writeln!(out, "| {} | {} | {} | {} |", code(path), d.index, d.kind.describe(), first_difference(d));
        }
        unlisted += report.divergences_omitted;
        if let Some(stopped) = report.keep_going_stopped {
            let _ = writeln!(out, "| {} | | --keep-going stopped here | {} |", code(path), cell(stopped.describe()));
        }
    }
    if unlisted > 0 {
        let _ = writeln!(out, "\n… and {unlisted} more diverging calls (`verify --format json` lists each chain's).");
    }
    out.push('\n');
}

/// Chains that neither verified nor diverged: what went wrong, in one line each.
fn not_verified(out: &mut String, batch: &BatchReport) {
    let rows: Vec<String> = batch
        .results
        .iter()
        .filter_map(|r| {
            let ChainResult::Finished(v) = r else { return None };
            let path = code(&v.path.display().to_string());
            let report = &v.report;
            let why = match report.status {
                Status::Broken => {
                    let b = report.broken.as_ref()?;
                    format!("fails its integrity check at event {}: {}", b.index, b.message)
                }
                Status::Error => report.error.clone().unwrap_or_default(),
                Status::Empty => "no export call in it: nothing was verified".to_string(),
                Status::Verified | Status::Diverged => return None,
            };
            let verdict = format!("{:?}", report.status).to_lowercase();
            Some(format!("| {path} | {verdict} | {} |", cell(&why)))
        })
        .collect();
    if rows.is_empty() {
        return;
    }
    let _ = writeln!(out, "#### Not verified\n");
    let _ = writeln!(out, "| chain | verdict | why |");
    let _ = writeln!(out, "| --- | --- | --- |");
    for row in rows.iter().take(CALLS_LISTED) {
        let _ = writeln!(out, "{row}");
    }
    if rows.len() > CALLS_LISTED {
        let _ = writeln!(out, "\n… and {} more chains.", rows.len() - CALLS_LISTED);
    }
    out.push('\n');
}

fn coverage_tables(out: &mut String, coverage: &Coverage) {
    let _ = writeln!(out, "#### Coverage\n");
    let chains = if coverage.chains == 1 { "chain" } else { "chains" };
    let _ = writeln!(
        out,
        "Recorded calls of the {} {chains} replayed, by {}.\n",
        coverage.chains,
        cell(coverage.types_from.describe())
    );
    for (title, items) in [("export", &coverage.exports), ("import", &coverage.imports)] {
        if items.is_empty() {
            continue;
        }
        let _ = writeln!(out, "| {title} | calls |");
        let _ = writeln!(out, "| --- | ---: |");
        for c in items.iter() {
            let calls = if c.calls == 0 { "**never called**".to_string() } else { c.calls.to_string() };
            let _ = writeln!(out, "| {} | {calls} |", code(&c.name));
        }
        out.push('\n');
    }
    let never: Vec<String> = coverage
        .exports_never_called()
        .map(|n| format!("{} (export)", code(n)))
        .chain(coverage.imports_never_called().map(|n| format!("{} (import)", code(n))))
        .collect();
    if never.is_empty() {
        let _ = writeln!(out, "Every export and import is called by these chains.");
    } else {
        let _ = writeln!(out, "Your golden chains never call {}.", never.join(", "));
    }
}

/// The first place a diverging call differs, from the chain's side and the replay's.
fn first_difference(d: &Divergence) -> String {
    let value = |v: Option<&str>| match v {
        Some(v) => code(&clip_to(v, VALUE_CHARS)),
        None => "(nothing)".to_string(),
    };
    if let Some(first) = d.diff.first() {
        return format!(
            "{}: expected {}, actual {}",
            code(&first.path),
            value(first.expected.as_deref()),
            value(first.actual.as_deref())
        );
    }
    let expected = d.expected.as_ref().map(|v| v.summary.as_str());
    let actual = d.actual.as_ref().map(|v| v.summary.as_str());
    match (expected, actual) {
        (None, None) => d.detail.as_deref().map(|t| cell(&clip_to(t, 2 * VALUE_CHARS))).unwrap_or_default(),
        (e, a) => format!("expected {}, actual {}", value(e), value(a)),
    }
}

/// `text` as a code span that shows it literally inside a table cell: control characters
/// escaped, `|` escaped for the table, and a fence longer than any run of backticks in it.
fn code(text: &str) -> String {
    let text = escape(text).replace('|', "\\|");
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    let pad = if text.starts_with('`') || text.ends_with('`') { " " } else { "" };
    format!("{fence}{pad}{text}{pad}{fence}")
}

/// Plain text in a table cell: on one line, `|` escaped, and no Markdown or HTML of its own.
fn cell(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in escape(text).chars() {
        match c {
            '|' | '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '#' | '~' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{cell, code};

    #[test]
    fn chain_text_cannot_break_out_of_its_cell() {
        assert_eq!(code("a.json"), "`a.json`");
        assert_eq!(code("a|b"), "`a\\|b`");
        assert_eq!(code("x`y"), "``x`y``");
        assert_eq!(code("`y"), "`` `y ``");
        assert_eq!(code("line\nbreak"), "`line\\nbreak`");
        assert_eq!(cell("<b>*x*</b> | y"), "\\<b\\>\\*x\\*\\</b\\> \\| y");
    }
}
