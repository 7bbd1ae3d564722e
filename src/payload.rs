//! Event payloads of the recordings theater-replay writes and replays (docs/chain-format.md).
//!
//! Theater's categories (`Wasm` with `WasmCall` / `WasmResult` / `WasmError`, and
//! `HostFunction`) carrying typed values (see [`crate::values`]). The encoding is
//! canonical: fixed key order, compact JSON, so the replay can re-encode what it observes
//! and compare bytes (and hashes) with the recording.

use crate::values::diff::Compared;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `event_type` of the first event of every recording: says which format follows.
pub const RECORDING_EVENT_TYPE: &str = "theater-replay/recording";
/// The name of our payload format, in the recording event.
pub const FORMAT_NAME: &str = "theater-replay";
/// The version of our payload format this build writes and reads. A change to any encoding
/// that alters bytes of an existing recording bumps it.
pub const FORMAT_VERSION: u64 = 1;
/// `event_type` of export calls and their outcomes, as in theater.
pub const WASM_EVENT_TYPE: &str = "wasm";

/// A decoded payload.
#[derive(Debug, Clone, PartialEq)]
pub enum Payload {
    /// The first event: which format and version the chain uses, and which component
    /// (by SHA-256 of its bytes) it was recorded from.
    Recording { format: String, version: u64, component_sha256: String },
    /// The runtime called an export.
    WasmCall { function: String, params: Value },
    /// The export returned.
    WasmResult { function: String, result: Value },
    /// The export trapped.
    WasmError { function: String, message: String },
    /// The guest called an import and got `output`.
    HostFunction { call: HostCall, input: Value, output: Value },
}

/// Which import: `interface` is `None` for an import at the component's root.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HostCall {
    pub interface: Option<String>,
    pub function: String,
}

impl HostCall {
    /// Whether events of this call are stored under `event_type` (no allocation: on the
    /// replay's hot path).
    pub fn is_event_type(&self, event_type: &str) -> bool {
        match &self.interface {
            Some(iface) => event_type
                .strip_prefix(iface.as_str())
                .and_then(|rest| rest.strip_prefix('/'))
                .is_some_and(|function| function == self.function),
            None => event_type == self.function,
        }
    }

    /// `"<interface>/<function>"`, or the function alone at the root: theater's rule.
    pub fn event_type(&self) -> String {
        match &self.interface {
            Some(iface) => format!("{iface}/{}", self.function),
            None => self.function.clone(),
        }
    }

    /// `"<interface>#<function>"` or the function alone: the name used in answers files
    /// and export names.
    pub fn key(&self) -> String {
        match &self.interface {
            Some(iface) => format!("{iface}#{}", self.function),
            None => self.function.clone(),
        }
    }
}

/// Why a payload cannot be read as our format.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PayloadError {
    #[error("the payload is not JSON")]
    NotJson,
    #[error("the payload is not a theater-replay payload: {0}")]
    Shape(String),
    #[error(
        "the payload stores its values as untyped JSON bytes (theater's older format), which cannot be replayed"
    )]
    Untyped,
}

/// Every field any payload may have; [`Payload::decode`] checks which belong together.
#[derive(Deserialize)]
struct RawPayload {
    category: Option<String>,
    format: Option<String>,
    version: Option<u64>,
    component_sha256: Option<String>,
    interface: Option<Value>,
    function: Option<String>,
    input: Option<Value>,
    output: Option<Value>,
    #[serde(rename = "WasmCall")]
    wasm_call: Option<RawWasm>,
    #[serde(rename = "WasmResult")]
    wasm_result: Option<RawWasm>,
    #[serde(rename = "WasmError")]
    wasm_error: Option<RawWasm>,
}

#[derive(Deserialize)]
struct RawWasm {
    function_name: Option<String>,
    params: Option<Value>,
    result: Option<Value>,
    message: Option<String>,
}

#[derive(Serialize)]
struct WasmEnvelope<'a, T: Serialize> {
    category: &'static str,
    #[serde(flatten)]
    body: WasmBody<'a, T>,
}

// The variant names are theater's JSON keys.
#[allow(clippy::enum_variant_names)]
#[derive(Serialize)]
enum WasmBody<'a, T: Serialize> {
    WasmCall { function_name: &'a str, params: &'a T },
    WasmResult { function_name: &'a str, result: &'a T },
    WasmError { function_name: &'a str, message: &'a str },
}

#[derive(Serialize)]
struct HostEnvelope<'a> {
    category: &'static str,
    interface: Option<&'a str>,
    function: &'a str,
    input: &'a Value,
    output: &'a Value,
}

#[derive(Serialize)]
struct RecordingEnvelope<'a> {
    category: &'static str,
    format: &'a str,
    version: u64,
    component_sha256: &'a str,
}

impl Payload {
    /// The `event_type` this payload is stored under.
    pub fn event_type(&self) -> String {
        match self {
            Payload::Recording { .. } => RECORDING_EVENT_TYPE.to_string(),
            Payload::WasmCall { .. } | Payload::WasmResult { .. } | Payload::WasmError { .. } => {
                WASM_EVENT_TYPE.to_string()
            }
            Payload::HostFunction { call, .. } => call.event_type(),
        }
    }

    /// Whether this payload is stored under `event_type` (no allocation: on the replay's
    /// hot path).
    pub fn has_event_type(&self, event_type: &str) -> bool {
        match self {
            Payload::Recording { .. } => event_type == RECORDING_EVENT_TYPE,
            Payload::WasmCall { .. } | Payload::WasmResult { .. } | Payload::WasmError { .. } => {
                event_type == WASM_EVENT_TYPE
            }
            Payload::HostFunction { call, .. } => call.is_event_type(event_type),
        }
    }

    /// The canonical bytes of this payload.
    pub fn encode(&self) -> Vec<u8> {
        let wasm = |body: WasmBody<'_, Value>| serde_json::to_vec(&WasmEnvelope { category: "Wasm", body });
        let encoded = match self {
            Payload::Recording { format, version, component_sha256 } => serde_json::to_vec(&RecordingEnvelope {
                category: "Recording",
                format,
                version: *version,
                component_sha256,
            }),
            Payload::WasmCall { function, params } => wasm(WasmBody::WasmCall { function_name: function, params }),
            Payload::WasmResult { function, result } => {
                wasm(WasmBody::WasmResult { function_name: function, result })
            }
            Payload::WasmError { function, message } => {
                wasm(WasmBody::WasmError { function_name: function, message })
            }
            Payload::HostFunction { call, input, output } => serde_json::to_vec(&HostEnvelope {
                category: "HostFunction",
                interface: call.interface.as_deref(),
                function: &call.function,
                input,
                output,
            }),
        };
        // Serializing JSON values and strings into memory cannot fail.
        encoded.unwrap_or_default()
    }

    /// The recorded answer of a host call, read from the recorded payload `data` when
    /// `data` is exactly the canonical encoding of `call` with `input` and some typed
    /// output, i.e. `HostFunction { call, input, output }.encode() == data`.
    ///
    /// The replay's hot path: the same verdict as decoding the whole payload, comparing
    /// the call and re-encoding it with the guest's input, at about half the cost (only
    /// the output is parsed and re-encoded). `None` means "not that simple": the caller
    /// takes the full path, which also says how the event differs. `scratch` is reused
    /// between calls.
    pub fn recorded_host_output(data: &[u8], call: &HostCall, input: &Value, scratch: &mut Vec<u8>) -> Option<Value> {
        let output_text = Payload::recorded_host_output_text(data, call, input, scratch)?;
        Payload::canonical_output(output_text, scratch)
    }

    /// The typed value whose canonical text `output_text` is; `None` when it is not
    /// canonical (the full path then decides).
    pub fn canonical_output(output_text: &[u8], scratch: &mut Vec<u8>) -> Option<Value> {
        let output: Value = serde_json::from_slice(output_text).ok()?;
        if !output.is_object() {
            return None;
        }
        scratch.clear();
        serde_json::to_writer(&mut *scratch, &output).ok()?;
        (scratch.as_slice() == output_text).then_some(output)
    }

    /// The text of the recorded output when `data` is the host call `call` with `input`
    /// and an output: everything [`Payload::recorded_host_output`] checks but the output
    /// itself (whose text the caller must still prove canonical).
    pub fn recorded_host_output_text<'d>(data: &'d [u8], call: &HostCall, input: &Value, scratch: &mut Vec<u8>) -> Option<&'d [u8]> {
        // A payload with an untyped input does not decode; leave that report to decode.
        if !input.is_object() {
            return None;
        }
        scratch.clear();
        let envelope = HostEnvelope {
            category: "HostFunction",
            interface: call.interface.as_deref(),
            function: &call.function,
            input,
            output: &Value::Null,
        };
        serde_json::to_writer(&mut *scratch, &envelope).ok()?;
        // Everything before the output's value: the encoding ends with `null}`.
        let prefix = &scratch[..scratch.len() - b"null}".len()];
        data.strip_prefix(prefix)?.strip_suffix(b"}")
    }

    /// Reads a payload of our format. Theater's untyped byte-array values are recognised
    /// and refused with [`PayloadError::Untyped`].
    pub fn decode(data: &[u8]) -> Result<Payload, PayloadError> {
        // Straight into a struct: no JSON tree for the envelope, no copies of the values.
        let raw: RawPayload = serde_json::from_slice(data).map_err(|e| match e.classify() {
            serde_json::error::Category::Data => PayloadError::Shape(e.to_string()),
            _ => PayloadError::NotJson,
        })?;
        let shape = |m: &str| PayloadError::Shape(m.to_string());
        let required = |v: Option<String>, key: &str| {
            v.ok_or_else(|| PayloadError::Shape(format!("missing string field `{key}`")))
        };
        let typed = |v: Option<Value>, key: &str| match v {
            Some(v @ Value::Object(_)) => Ok(v),
            Some(Value::Array(_)) => Err(PayloadError::Untyped),
            _ => Err(PayloadError::Shape(format!("missing typed value `{key}`"))),
        };
        match raw.category.as_deref() {
            Some("Recording") => Ok(Payload::Recording {
                format: required(raw.format, "format")?,
                version: raw.version.ok_or_else(|| shape("missing `version`"))?,
                component_sha256: required(raw.component_sha256, "component_sha256")?,
            }),
            Some("HostFunction") => {
                let interface = match raw.interface {
                    Some(Value::Null) | None => None,
                    Some(Value::String(s)) => Some(s),
                    Some(_) => return Err(shape("`interface` must be a string or null")),
                };
                Ok(Payload::HostFunction {
                    call: HostCall { interface, function: required(raw.function, "function")? },
                    input: typed(raw.input, "input")?,
                    output: typed(raw.output, "output")?,
                })
            }
            Some("Wasm") => {
                if let Some(call) = raw.wasm_call {
                    Ok(Payload::WasmCall {
                        function: required(call.function_name, "function_name")?,
                        params: typed(call.params, "params")?,
                    })
                } else if let Some(result) = raw.wasm_result {
                    Ok(Payload::WasmResult {
                        function: required(result.function_name, "function_name")?,
                        result: typed(result.result, "result")?,
                    })
                } else if let Some(error) = raw.wasm_error {
                    Ok(Payload::WasmError {
                        function: required(error.function_name, "function_name")?,
                        message: required(error.message, "message")?,
                    })
                } else {
                    Err(shape("a Wasm payload needs WasmCall, WasmResult or WasmError"))
                }
            }
            Some(other) => Err(PayloadError::Shape(format!("unknown category `{other}`"))),
            None => Err(shape("missing `category`")),
        }
    }

    /// One line for people: `run("hi")`, `run -> "ok"`, `wasi:random/random#get-random-u64() -> 7`.
    /// What a divergence diffs of this event: a call's arguments, or an export's result.
    pub fn compared(&self) -> Option<Compared> {
        use crate::values::{untyped_args, untyped_val};
        match self {
            Payload::WasmCall { params, .. } => untyped_args(params).map(Compared::Arguments),
            Payload::WasmResult { result, .. } => untyped_val(result).map(Compared::Result),
            Payload::HostFunction { input, .. } => untyped_args(input).map(Compared::Arguments),
            Payload::Recording { .. } | Payload::WasmError { .. } => None,
        }
    }

    pub fn summary(&self) -> String {
        use crate::values::args_to_wave;
        match self {
            Payload::Recording { format, version, component_sha256 } => {
                let short = component_sha256.get(..12).unwrap_or(component_sha256);
                format!("recording: {format} v{version}, component sha256 {short}")
            }
            Payload::WasmCall { function, params } => format!("call {function}({})", args_to_wave(params, None)),
            // A function has at most one result: a Tuple here is that one value.
            Payload::WasmResult { function, result } => format!("{function} returned {}", args_to_wave(result, Some(1))),
            Payload::WasmError { function, message } => format!("{function} trapped: {message}"),
            Payload::HostFunction { call, input, output } => {
                let called = format!("{}({})", call.key(), args_to_wave(input, None));
                // No arrow for functions without results, nor for calls not yet answered.
                match output {
                    Value::Null => called,
                    Value::Object(o) if o.get("Tuple").and_then(Value::as_array).is_some_and(Vec::is_empty) => called,
                    _ => format!("{called} -> {}", args_to_wave(output, Some(1))),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn host_call_bytes_keep_theaters_key_order() {
        let p = Payload::HostFunction {
            call: HostCall { interface: Some("demo:agent/host".into()), function: "log".into() },
            input: json!({"String": "hi"}),
            output: json!({"Tuple": []}),
        };
        assert_eq!(
            String::from_utf8(p.encode()).unwrap(),
            r#"{"category":"HostFunction","interface":"demo:agent/host","function":"log","input":{"String":"hi"},"output":{"Tuple":[]}}"#
        );
        assert_eq!(Payload::decode(&p.encode()).unwrap(), p);
    }

    #[test]
    fn wasm_payloads_round_trip_in_theaters_shape() {
        let call = Payload::WasmCall { function: "run".into(), params: json!({"String": "x"}) };
        assert_eq!(
            String::from_utf8(call.encode()).unwrap(),
            r#"{"category":"Wasm","WasmCall":{"function_name":"run","params":{"String":"x"}}}"#
        );
        for p in [
            call,
            Payload::WasmResult { function: "a#b".into(), result: json!({"U32": 1}) },
            Payload::WasmError { function: "a#b".into(), message: "unreachable".into() },
            Payload::Recording { format: FORMAT_NAME.into(), version: 1, component_sha256: "ab".into() },
        ] {
            assert_eq!(Payload::decode(&p.encode()).unwrap(), p);
        }
    }

    #[test]
    fn event_types_are_recognised_without_building_them() {
        let host = |interface: Option<&str>, function: &str| Payload::HostFunction {
            call: HostCall { interface: interface.map(String::from), function: function.into() },
            input: json!({"Tuple": []}),
            output: json!({"Tuple": []}),
        };
        for p in [host(Some("wasi:io/poll@0.2.3"), "[method]pollable.ready"), host(None, "now")] {
            assert!(p.has_event_type(&p.event_type()));
        }
        assert!(!host(Some("a:b/c"), "f").has_event_type("a:b/c/g"));
        assert!(!host(Some("a:b/c"), "f").has_event_type("a:b/cf"));
        assert!(!host(None, "now").has_event_type("x/now"));
        let call = Payload::WasmCall { function: "run".into(), params: json!({"Tuple": []}) };
        assert!(call.has_event_type("wasm") && !call.has_event_type("run"));
    }

    #[test]
    fn host_output_is_read_only_from_the_exact_encoding() {
        let call = HostCall { interface: Some("demo:bench/host".into()), function: "tick".into() };
        let input = json!({"Tuple": [{"U32": 7}]});
        let output = json!({"Tuple": [{"U32": 52}]});
        let data = Payload::HostFunction { call: call.clone(), input: input.clone(), output: output.clone() }.encode();
        let mut scratch = Vec::new();
        assert_eq!(Payload::recorded_host_output(&data, &call, &input, &mut scratch), Some(output));
        let root = HostCall { interface: None, function: "tick".into() };
        let other = HostCall { interface: Some("demo:bench/host".into()), function: "tock".into() };
        assert_eq!(Payload::recorded_host_output(&data, &root, &input, &mut scratch), None);
        assert_eq!(Payload::recorded_host_output(&data, &other, &input, &mut scratch), None);
        assert_eq!(Payload::recorded_host_output(&data, &call, &json!({"Tuple": [{"U32": 8}]}), &mut scratch), None);
        // Anything but the canonical bytes goes to the full path: whitespace, key order,
        // an untyped output, trailing bytes, a truncated payload.
        let text = String::from_utf8(data.clone()).unwrap();
        for edited in [
            text.replace(r#""output":{"#, r#""output": {"#),
            text.replace(r#"{"U32":52}"#, r#"{ "U32":52}"#),
            text.replace(r#""output":{"Tuple":[{"U32":52}]}"#, r#""output":[53,50]"#),
            text.replace(r#"{"Tuple":[{"U32":52}]}"#, r#"{"Tuple":[{"U32":52}],"A":1}"#),
            format!("{text} "),
            format!("{text}}}"),
            text[..text.len() - 1].to_owned(),
            text.replace("52", "052"),
        ] {
            let found = Payload::recorded_host_output(edited.as_bytes(), &call, &input, &mut scratch);
            let canonical = Payload::decode(edited.as_bytes()).is_ok_and(|p| p.encode() == edited.as_bytes());
            assert_eq!(found.is_some(), canonical, "{edited}");
        }
    }

    #[test]
    fn theaters_untyped_payloads_are_refused_by_name() {
        let data = br#"{"category":"HostFunction","interface":"i","function":"f","input":[48],"output":[110,117,108,108]}"#;
        assert_eq!(Payload::decode(data), Err(PayloadError::Untyped));
    }

    #[test]
    fn theaters_typed_payloads_are_read() {
        let data = br#"{"category":"HostFunction","interface":"wasi:clocks/monotonic-clock@0.2.3","function":"now","input":{"Tuple":[]},"output":{"U64":1768453174502229000}}"#;
        match Payload::decode(data).unwrap() {
            Payload::HostFunction { call, output, .. } => {
                assert_eq!(call.event_type(), "wasi:clocks/monotonic-clock@0.2.3/now");
                assert_eq!(output, json!({"U64": 1768453174502229000u64}));
            }
            other => panic!("decoded as {other:?}"),
        }
    }
}
