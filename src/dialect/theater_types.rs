//! theater's component-era payloads shown with the types of the component that recorded
//! them: untyped JSON host values become WAVE (`inspect --component`, and a replay's
//! divergence reports). Display only: a value that does not decode with the types (one of
//! theater's per-function quirks, such as `Debug` text for a variant) shows as its JSON.

use crate::chain::Event;
use crate::decode;
use crate::dialect::theater_json;
use crate::payload::HostCall;
use crate::runtime::imports::{Signature, import_signatures};
use crate::values::diff::Compared;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use wasmtime::Engine;
use wasmtime::component::Component;

/// Longest rendering of one typed value in a line, as [`decode`] cuts JSON ones.
const MAX_VALUE_CHARS: usize = 120;

/// The import signatures of the component that recorded a chain: theater's component-era
/// host calls, whose payloads are untyped JSON, are shown as values of these types.
pub struct HostTypes(BTreeMap<(Option<String>, String), Signature>);

impl HostTypes {
    pub fn of(component: &Component, engine: &Engine) -> HostTypes {
        HostTypes(import_signatures(component, engine))
    }

    /// A theater host call's input and output in WAVE, if `event` is one and either side
    /// decodes with these types.
    pub fn wave(&self, event: &Event) -> Option<WaveView> {
        self.decode(event).map(|(_, view)| view)
    }

    /// The one-line summary of `event` with its host values in WAVE (`iface/f(args) ->
    /// result`); `None` when it is no host call these types decode.
    pub fn summary(&self, event: &Event) -> Option<String> {
        let ((call, input, output), wave) = self.decode(event)?;
        let side = |wave: Option<String>, raw: &Value| match wave {
            Some(text) => crate::text::clip_to(&text, MAX_VALUE_CHARS).into_owned(),
            None => decode::short(&decode::decode_nested(raw.clone(), decode::MAX_NESTING)),
        };
        let output = match side(wave.output, &output) {
            empty if empty.is_empty() => "()".to_string(),
            shown => shown,
        };
        Some(format!("{}({}) -> {output}", call.event_type(), side(wave.input, &input)))
    }

    /// A theater host call's arguments as a divergence diffs them, when they decode.
    pub fn compared(&self, data: &[u8]) -> Option<Compared> {
        let Some(theater_json::Event::HostFunction { call, input, .. }) = theater_json::parse(data) else {
            return None;
        };
        let (params, _) = self.0.get(&(call.interface, call.function))?;
        theater_json::untyped_vals(&input, params).map(Compared::Arguments)
    }

    /// The host call in `event` (parsed once) and its values in WAVE.
    fn decode(&self, event: &Event) -> Option<((HostCall, Value, Value), WaveView)> {
        let Some(theater_json::Event::HostFunction { call, input, output }) = theater_json::parse(&event.data) else {
            return None;
        };
        let (params, results) = self.0.get(&(call.interface.clone(), call.function.clone()))?;
        let view = WaveView {
            input: theater_json::untyped_wave(&input, params),
            output: theater_json::untyped_wave(&output, results),
        };
        if view.input.is_none() && view.output.is_none() {
            return None;
        }
        Some(((call, input, output), view))
    }
}

/// A host call's values in WAVE (`inspect --component`); a side is absent when it does
/// not decode with the import's types.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WaveView {
    /// The arguments, comma-separated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input: Option<String>,
    /// The result; empty when the import returns nothing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
}
