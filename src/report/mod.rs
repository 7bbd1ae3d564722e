//! Renderings of typed outcomes: human text, JSON, JUnit. Nothing here decides a verdict.

pub mod check;
pub mod diff;
pub mod inspect;
pub mod junit;
pub mod style;
pub mod verify;
