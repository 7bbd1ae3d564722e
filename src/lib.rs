//! theater-replay proves that a WebAssembly actor still does exactly what a recorded event
//! chain says it did: it answers every import from the recording, drives every recorded
//! export call, re-encodes and re-hashes each event the replay produces, and compares it
//! with the recorded one on the spot.
//!
//! This crate is the library behind the `theater-replay` command. Its API is small:
//!
//! - [`Verifier`]: an actor (component or Pack core module) compiled once, from a path or
//!   from bytes; [`Verifier::verify_path`] and [`Verifier::verify_reader`] replay a chain
//!   and return a typed [`VerifyReport`]; [`Verifier::record`] writes a new chain.
//! - [`check_path`] and [`check_reader`]: a chain's integrity on its own, as [`CheckOutcome`].
//! - [`Progress`]: counters a long run advances and any thread may read (no terminal types).
//! - Renderings of a report, as the command prints them: [`VerifyReport::human`] (the text
//!   a person reads, what to do included) and [`VerifyReport::json`] (the one-line JSON
//!   document of `verify --format json`).
//!
//! ```
//! use theater_replay::{Status, Verifier};
//!
//! let verifier = Verifier::load("fixtures/components/counter.wat")?;
//! let report = verifier.verify_path("fixtures/chains/counter.json");
//! assert_eq!(report.status, Status::Verified);
//! # Ok::<(), theater_replay::LoadError>(())
//! ```
//!
//! Inside, data flows one way through the stages: `chain` (containers, canonical encoding,
//! hashing) -> `values` and `dialect` (how a value becomes payload bytes and back) ->
//! `runtime` (engine, import interceptor, export driver) -> `replay` (the verification
//! loop) -> `report` (renderings of typed outcomes) -> `cli`. Those modules are public for
//! the crate's own tests, benchmarks and fuzz targets only: hidden from these docs and not
//! part of the stable API.
//!
//! With the default `cli` feature off, the crate builds without the command line's
//! dependencies (clap, indicatif, tracing-subscriber, quick-junit and the generators of
//! completions and man pages).

#![deny(missing_docs)]

pub mod progress;
mod verifier;

pub use chain::{Broken, BrokenReason, ChainError, CheckOutcome, Compression, Container, HashAlg, OutputFormat};
pub use dialect::Dialect;
pub use progress::Progress;
pub use record::{Answers, RecordOptions, RecordSummary};
pub use replay::{
    BrokenAt, Divergence, DivergenceKind, EventView, ExportTally, InitialState, KeepGoingStop, MatchedEvent, Status, VerifyOptions,
    VerifyReport,
};
pub use runtime::wasi::Sandbox;
pub use runtime::{Limits, LoadError};
pub use values::diff::DiffEntry;
pub use verifier::{RecordError, Verifier, check_path, check_reader};

#[doc(hidden)]
pub mod batch;
#[doc(hidden)]
pub mod chain;
#[doc(hidden)]
#[cfg(feature = "cli")]
pub mod cli;
#[doc(hidden)]
pub mod coverage;
#[doc(hidden)]
pub mod decode;
#[doc(hidden)]
pub mod dialect;
#[doc(hidden)]
pub mod manifest;
#[doc(hidden)]
pub mod payload;
#[doc(hidden)]
pub mod pending;
#[doc(hidden)]
pub mod record;
#[doc(hidden)]
pub mod replay;
#[doc(hidden)]
pub mod report;
#[doc(hidden)]
pub mod review;
#[doc(hidden)]
pub mod runtime;
#[doc(hidden)]
pub mod tempfiles;
#[doc(hidden)]
pub mod text;
#[doc(hidden)]
pub mod values;
