//! Renderings of a [`Coverage`]: a table for people, one JSON document for scripts.

use super::style::Style;
use crate::coverage::{Coverage, Covered};
use crate::text::escape;
use std::fmt::Write;

/// The coverage for people, without colour. Ends with a newline.
pub fn human(coverage: &Coverage) -> String {
    human_styled(coverage, Style::PLAIN)
}

/// The coverage in `style`: each export and import with its recorded calls, then the ones
/// no chain calls, named. Ends with a newline.
pub fn human_styled(coverage: &Coverage, style: Style) -> String {
    let mut out = String::new();
    let chains = if coverage.chains == 1 { "chain" } else { "chains" };
    let exercised = |items: &[Covered]| items.iter().filter(|c| c.calls > 0).count();
    let _ = writeln!(
        out,
        "{} {} of {} exports and {} of {} imports called by the {} {chains} replayed (types from {})",
        style.heading("coverage:"),
        exercised(&coverage.exports),
        coverage.exports.len(),
        exercised(&coverage.imports),
        coverage.imports.len(),
        coverage.chains,
        coverage.types_from.describe()
    );
    let width = coverage.exports.iter().chain(&coverage.imports).map(|c| c.name.chars().count()).max().unwrap_or(0).max(7);
    for (title, items) in [("exports", &coverage.exports), ("imports", &coverage.imports)] {
        if items.is_empty() {
            let _ = writeln!(out, "  {title}: none");
            continue;
        }
        let _ = writeln!(out, "  {title:<w$}  {:>7}", "calls", w = width + 2);
        for c in items {
            let never = if c.calls == 0 { format!("  {}", style.bad("never called")) } else { String::new() };
            let _ = writeln!(out, "    {:<width$}  {:>7}{never}", escape(&c.name), c.calls);
        }
    }
    let never = |names: Vec<&str>, one: &str, many: &str| match names.len() {
        0 => None,
        1 => Some(format!("the {one} `{}`", escape(names[0]))),
        _ => Some(format!("the {many} {}", names.iter().map(|n| format!("`{}`", escape(n))).collect::<Vec<_>>().join(", "))),
    };
    let missing: Vec<String> = [
        never(coverage.exports_never_called().collect(), "export", "exports"),
        never(coverage.imports_never_called().collect(), "import", "imports"),
    ]
    .into_iter()
    .flatten()
    .collect();
    if missing.is_empty() {
        let _ = writeln!(out, "  every export and import is called by these chains");
    } else {
        let _ = writeln!(out, "  your golden chains never call {}", missing.join(", nor "));
    }
    out
}

/// `{"schema_version":1,"coverage":{...}}` (`docs/schema/verify.schema.json`), one line, no
/// newline: fields in a fixed order, exports and imports sorted by name.
pub fn json(coverage: &Coverage) -> String {
    #[derive(serde::Serialize)]
    struct Never<'a> {
        exports: Vec<&'a str>,
        imports: Vec<&'a str>,
    }
    #[derive(serde::Serialize)]
    struct Body<'a> {
        #[serde(flatten)]
        coverage: &'a Coverage,
        never_called: Never<'a>,
    }
    #[derive(serde::Serialize)]
    struct Line<'a> {
        coverage: Body<'a>,
    }
    let never_called =
        Never { exports: coverage.exports_never_called().collect(), imports: coverage.imports_never_called().collect() };
    super::document(Line { coverage: Body { coverage, never_called } })
}
