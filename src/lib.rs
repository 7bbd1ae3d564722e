//! theater-replay: prove a WebAssembly component still does exactly what a recorded event
//! chain says it did.
//!
//! Data flows one way through the stages: [`chain`] (containers, canonical encoding,
//! hashing) -> [`values`] (component values <-> typed JSON) -> [`runtime`] (engine, import
//! interceptor, export driver) -> [`replay`] (the verification loop) -> [`report`]
//! (renderings of typed outcomes) -> [`cli`].

pub mod batch;
pub mod chain;
pub mod cli;
pub mod decode;
pub mod dialect;
pub mod payload;
pub mod pending;
pub mod progress;
pub mod record;
pub mod replay;
pub mod report;
pub mod runtime;
pub mod text;
pub mod values;
