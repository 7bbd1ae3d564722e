//! Renderings of typed outcomes: human text, JSON, JUnit. Nothing here decides a verdict.
//!
//! The JSON contract (README, "JSON output"; schemas in `docs/schema/`): every JSON document
//! a command prints is one line, starts with `schema_version`, and has its fields in the
//! fixed order of the struct that renders it, so identical inputs print identical bytes.

pub mod check;
pub mod coverage;
pub mod diff;
pub mod inspect;
#[cfg(feature = "cli")]
pub mod junit;
pub mod record;
pub mod review;
pub mod style;
pub mod summary;
pub mod verify;

use serde::Serialize;

/// The version of the JSON contract, the first field of every JSON document. Raised only
/// when a field is removed or changes meaning; a new field keeps it.
pub const SCHEMA_VERSION: u32 = 1;

/// A document: `schema_version`, then the fields of `body` in their order.
#[derive(Serialize)]
struct Versioned<T> {
    schema_version: u32,
    #[serde(flatten)]
    body: T,
}

/// `body` as one compact JSON document (no newline).
pub fn document<T: Serialize>(body: T) -> String {
    serde_json::to_string(&Versioned { schema_version: SCHEMA_VERSION, body }).unwrap_or_default()
}

/// The document of a command that failed before it had a result to report.
#[derive(Serialize)]
struct ErrorDoc<'a> {
    status: &'static str,
    message: &'a str,
    /// The same text: the key this document had before `message` became the one name for
    /// an error's text in every command.
    error: &'a str,
}

/// `{"schema_version":1,"status":"error","message":...,"error":...}` (no newline).
pub fn error_json(message: &str) -> String {
    document(ErrorDoc { status: "error", message, error: message })
}
