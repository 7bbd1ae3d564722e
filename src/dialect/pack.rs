//! theater's Pack payloads: every event's `data` is one packr Value in CGRF v2 (the binary
//! graph encoding of `packr-abi`; 0.5 to 0.11 encode alike).
//!
//! The root is the variant `chain-event-payload` (`host-function` / `wasm` /
//! `replay-summary`); a `wasm` payload is the variant `wasm-event-data` with a record per
//! case. An export call's params and result are nested CGRF bytes up to theater 0.3.10 and
//! the Values themselves from 0.3.11 ([`Carried`], [`PayloadForm`]).
//! [`PackPayload::to_value`] builds exactly the Value theater builds, so encoding it gives
//! the bytes theater wrote: the replay compares those bytes, never a decoded approximation.

pub use super::release::PayloadForm;
use crate::values::diff::Compared;
use packr_abi::{Value, ValueType};
use serde_json::json;
use wasmtime::component::Val;

/// Magic bytes every CGRF buffer starts with.
pub const CGRF_MAGIC: &[u8; 4] = b"CGRF";
/// An answer given as CGRF bytes in hex (`record --answers`): any Value exactly, including
/// one whose declared type is packr's untyped `value`.
pub const CGRF_ANSWER_PREFIX: &str = "cgrf:";
/// `event_type` of export calls, results and errors (and of nothing else).
pub const WASM_EVENT_TYPE: &str = "wasm";

/// An export call's params or result as a payload holds it.
#[derive(Debug, Clone, PartialEq)]
pub enum Carried {
    /// CGRF bytes in a `list<u8>` (theater 0.3.8 to 0.3.10); a result's are empty when the
    /// export returned no tuple, the closing `shutdown`'s params are empty.
    Cgrf(Vec<u8>),
    /// The Value itself (theater 0.3.11 on); `tuple()` for no result.
    Value(Value),
}

impl Carried {
    /// An export's params or result in `form`, from its Value (`None`: the export returned
    /// no tuple, or the runtime's own `shutdown` call).
    pub fn new(form: PayloadForm, value: Option<Value>) -> Carried {
        match (form, value) {
            (PayloadForm::NestedCgrf, Some(v)) => Carried::Cgrf(encode_value(&v)),
            (PayloadForm::NestedCgrf, None) => Carried::Cgrf(Vec::new()),
            (PayloadForm::Values, v) => Carried::Value(v.unwrap_or(Value::Tuple(vec![]))),
        }
    }

    /// The value held; `Ok(None)` for empty bytes (nothing).
    pub fn value(&self) -> Result<Option<Value>, PackPayloadError> {
        match self {
            Carried::Cgrf(bytes) if bytes.is_empty() => Ok(None),
            Carried::Cgrf(bytes) => decode_value(bytes).map(Some),
            Carried::Value(v) => Ok(Some(v.clone())),
        }
    }

    fn text(&self) -> String {
        match self {
            Carried::Cgrf(bytes) => cgrf_text(bytes),
            Carried::Value(v) => to_text(v),
        }
    }

    fn args_text(&self) -> String {
        match self {
            Carried::Cgrf(bytes) => cgrf_args_text(bytes),
            Carried::Value(Value::Tuple(items)) => items.iter().map(to_text).collect::<Vec<_>>().join(", "),
            Carried::Value(v) => to_text(v),
        }
    }

    fn is_nothing(&self) -> bool {
        matches!(self, Carried::Cgrf(bytes) if bytes.is_empty())
    }
}

/// One decoded theater Pack payload.
#[derive(Debug, Clone, PartialEq)]
pub enum PackPayload {
    /// The actor called an import and the host answered `output`.
    HostFunction { interface: String, function: String, input: Value, output: Value },
    /// The runtime called an export with `params` (a tuple of the parameters after the
    /// state). Also the runtime's own `shutdown` event.
    WasmCall { function: String, params: Carried },
    /// The export returned `ok(tuple(state, result...))`: the new state, and the result.
    WasmResult { function: String, state: Value, result: Carried },
    /// The call failed: a trap, an error the export returned, or theater's validation.
    WasmError { function: String, message: String },
    /// The actor could not be created.
    CreationError { error: String },
    /// Defined by theater 0.3.8 but never written by it; kept whole.
    ReplaySummary(Value),
}

/// Why bytes are not a theater Pack payload.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PackPayloadError {
    #[error("not CGRF: {0}")]
    NotCgrf(String),
    #[error("a CGRF value, but not a theater chain-event-payload: {0}")]
    Shape(String),
}

fn bytes_value(bytes: &[u8]) -> Value {
    // theater's `IntoValue for Vec<u8>`: a list typed u8 (packr-abi writes it as an array).
    Value::List { elem_type: ValueType::U8, items: bytes.iter().copied().map(Value::U8).collect() }
}

fn record(name: &str, fields: Vec<(&str, Value)>) -> Value {
    Value::Record {
        type_name: name.to_string(),
        fields: fields.into_iter().map(|(n, v)| (n.to_string(), v)).collect(),
    }
}

fn variant(type_name: &str, case: &str, tag: usize, payload: Value) -> Value {
    Value::Variant { type_name: type_name.to_string(), case_name: case.to_string(), tag, payload: vec![payload] }
}

/// The Value of a host call's event, from its parts (the replay's hot path builds it
/// without a [`PackPayload`]).
pub fn host_function_value(interface: &str, function: &str, input: Value, output: Value) -> Value {
    variant(
        "chain-event-payload",
        "host-function",
        0,
        record(
            "host-function-call",
            vec![
                ("interface", Value::String(interface.to_string())),
                ("function", Value::String(function.to_string())),
                ("input", input),
                ("output", output),
            ],
        ),
    )
}

/// A recorded host call, read without decoding it (see [`super::cgrf_check`]).
pub struct HostCallBytes {
    /// Where the payload's interface and function names lie in the event's `data`.
    pub interface: std::ops::Range<usize>,
    pub function: std::ops::Range<usize>,
    /// The CGRF of the recorded input on its own (what a guest passing that Value sends),
    /// then the CGRF of the recorded output on its own (the answer packr's host writes):
    /// one buffer, split at `input_len`.
    pub io: Vec<u8>,
    pub input_len: usize,
}

impl HostCallBytes {
    pub fn input(&self) -> &[u8] {
        &self.io[..self.input_len]
    }
    pub fn output(&self) -> &[u8] {
        &self.io[self.input_len..]
    }
}

/// `data` as a host call's event when it is exactly theater's encoding of one (canonical
/// CGRF of [`host_function_value`]); for anything else, which then needs packr-abi, `Err`
/// with `io` given back. `io` is a buffer to reuse for [`HostCallBytes::io`] (a spent
/// one's: an allocation and two reallocations an event were a twentieth of the reading
/// thread's time).
pub fn host_call_bytes(data: &[u8], mut io: Vec<u8>) -> Result<HostCallBytes, Vec<u8>> {
    thread_local! {
        static SCRATCH: std::cell::RefCell<super::cgrf_check::Scratch> = Default::default();
    }
    SCRATCH.with_borrow_mut(|scratch| {
        let found = (|| {
            let tree = super::cgrf_check::scan(data, scratch)?;
            let root = tree.node(tree.root())?;
            if !root.is_variant("chain-event-payload", "host-function", 0) {
                return None;
            }
            let call = tree.node(root.child(0)?)?;
            if !call.is_record("host-function-call", &["interface", "function", "input", "output"]) {
                return None;
            }
            let interface = tree.node(call.child(0)?)?.string_range()?;
            let function = tree.node(call.child(1)?)?.string_range()?;
            io.clear();
            tree.subtree_bytes_into(call.child(2)?, &mut io)?;
            let input_len = io.len();
            tree.subtree_bytes_into(call.child(3)?, &mut io)?;
            Some((interface, function, input_len))
        })();
        match found {
            Some((interface, function, input_len)) => Ok(HostCallBytes { interface, function, io, input_len }),
            None => Err(io),
        }
    })
}

impl PackPayload {
    /// The Value theater builds for this payload (`ChainEventPayload::into_value`).
    pub fn to_value(&self) -> Value {
        let wasm = |case: &str, tag: usize, fields: Vec<(&str, Value)>| {
            let data = variant("wasm-event-data", case, tag, record(case, fields));
            variant("chain-event-payload", "wasm", 1, data)
        };
        match self {
            PackPayload::HostFunction { interface, function, input, output } => {
                host_function_value(interface, function, input.clone(), output.clone())
            }
            PackPayload::WasmCall { function, params } => {
                let params = match params {
                    Carried::Cgrf(bytes) => bytes_value(bytes),
                    Carried::Value(v) => v.clone(),
                };
                wasm("wasm-call", 0, vec![("function-name", Value::String(function.clone())), ("params", params)])
            }
            PackPayload::WasmResult { function, state, result } => {
                let result = match result {
                    Carried::Cgrf(bytes) => ("bytes", bytes_value(bytes)),
                    Carried::Value(v) => ("response", v.clone()),
                };
                wasm(
                    "wasm-result",
                    1,
                    vec![("function-name", Value::String(function.clone())), ("state", state.clone()), result],
                )
            }
            PackPayload::WasmError { function, message } => wasm(
                "wasm-error",
                2,
                vec![("function-name", Value::String(function.clone())), ("message", Value::String(message.clone()))],
            ),
            PackPayload::CreationError { error } => wasm(
                "wasm-component-creation-error",
                3,
                vec![("error", Value::String(error.clone()))],
            ),
            PackPayload::ReplaySummary(summary) => variant("chain-event-payload", "replay-summary", 2, summary.clone()),
        }
    }

    /// The bytes theater stores for this payload.
    pub fn encode(&self) -> Vec<u8> {
        encode_value(&self.to_value())
    }

    /// Reads a payload back, in whichever form it is (a `wasm-call`'s params are taken for
    /// nested CGRF when they are a `list<u8>`). Lenient about names where theater's own
    /// reader is (it goes by case and field names); the replay compares re-encoded bytes,
    /// so leniency here never lets a difference through.
    pub fn decode(data: &[u8]) -> Result<PackPayload, PackPayloadError> {
        Self::decode_as(data, None)
    }

    /// Reads a payload of a known form (`None`: either).
    pub fn decode_as(data: &[u8], form: Option<PayloadForm>) -> Result<PackPayload, PackPayloadError> {
        let value = match form {
            Some(form) => decode_value_in(form, data)?,
            None => decode_value(data)?,
        };
        let shape = |what: &str| PackPayloadError::Shape(what.to_string());
        let Value::Variant { case_name, payload, .. } = value else {
            return Err(shape("the root is not a variant"));
        };
        let [inner] = <[Value; 1]>::try_from(payload).map_err(|_| shape("the root variant has no single payload"))?;
        match case_name.as_str() {
            "host-function" => {
                let mut fields = Fields::of(inner, "host-function-call")?;
                Ok(PackPayload::HostFunction {
                    interface: fields.string("interface")?,
                    function: fields.string("function")?,
                    input: fields.take("input")?,
                    output: fields.take("output")?,
                })
            }
            "wasm" => {
                let Value::Variant { case_name, payload, .. } = inner else {
                    return Err(shape("a wasm payload that is not a wasm-event-data variant"));
                };
                let [body] =
                    <[Value; 1]>::try_from(payload).map_err(|_| shape("a wasm-event-data case without its record"))?;
                let mut fields = Fields::of(body, &case_name)?;
                match case_name.as_str() {
                    "wasm-call" => {
                        let function = fields.string("function-name")?;
                        let params = fields.take("params")?;
                        let params = match form {
                            Some(PayloadForm::Values) => Carried::Value(params),
                            Some(PayloadForm::NestedCgrf) => Carried::Cgrf(as_bytes(params, "params")?),
                            None => match as_bytes(params.clone(), "params") {
                                Ok(bytes) => Carried::Cgrf(bytes),
                                Err(_) => Carried::Value(params),
                            },
                        };
                        Ok(PackPayload::WasmCall { function, params })
                    }
                    "wasm-result" => {
                        let function = fields.string("function-name")?;
                        let state = fields.take("state")?;
                        let result = match (form, fields.take("bytes"), fields.take("response")) {
                            (Some(PayloadForm::Values) | None, Err(_), Ok(response)) => Carried::Value(response),
                            (Some(PayloadForm::NestedCgrf) | None, Ok(bytes), Err(_)) => Carried::Cgrf(as_bytes(bytes, "bytes")?),
                            (Some(PayloadForm::Values), ..) => return Err(shape("a wasm-result without its field \"response\"")),
                            _ => return Err(shape("a wasm-result without its field \"bytes\"")),
                        };
                        Ok(PackPayload::WasmResult { function, state, result })
                    }
                    "wasm-error" => Ok(PackPayload::WasmError {
                        function: fields.string("function-name")?,
                        message: fields.string("message")?,
                    }),
                    "wasm-component-creation-error" => Ok(PackPayload::CreationError { error: fields.string("error")? }),
                    other => Err(PackPayloadError::Shape(format!("unknown wasm-event-data case {other:?}"))),
                }
            }
            "replay-summary" => Ok(PackPayload::ReplaySummary(inner)),
            other => Err(PackPayloadError::Shape(format!("unknown chain-event-payload case {other:?}"))),
        }
    }

    /// What a divergence diffs of this event: a host call's input (one value, a tuple of
    /// the arguments when there are several), an export call's params, an export's result.
    pub fn compared(&self) -> Option<Compared> {
        match self {
            PackPayload::HostFunction { input, .. } => Some(Compared::Arguments(arguments(input))),
            PackPayload::WasmCall { params, .. } => Some(Compared::Arguments(arguments(&params.value().ok()??))),
            PackPayload::WasmResult { result, .. } => Some(Compared::Result(to_val(&result.value().ok()??))),
            _ => None,
        }
    }

    /// One line for people: `interface/function(input) -> output`, `call F(params)`,
    /// `F returned R (state S)`, `F failed: message`.
    pub fn summary(&self) -> String {
        match self {
            PackPayload::HostFunction { interface, function, input, output } => {
                format!("{interface}/{function}({}) -> {}", to_text(input), to_text(output))
            }
            PackPayload::WasmCall { function, params } => format!("call {function}({})", params.args_text()),
            PackPayload::WasmResult { function, state, result } => {
                let result = if result.is_nothing() { "nothing".to_string() } else { result.text() };
                format!("{function} returned {result} (state {})", to_text(state))
            }
            PackPayload::WasmError { function, message } => format!("{function} failed: {message:?}"),
            PackPayload::CreationError { error } => format!("actor creation failed: {error:?}"),
            PackPayload::ReplaySummary(summary) => format!("replay summary {}", to_text(summary)),
        }
    }

    /// The payload as JSON for reports and `inspect`: values as text (see [`to_text`]),
    /// keys in a fixed order.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            PackPayload::HostFunction { interface, function, input, output } => json!({
                "category": "host-function", "interface": interface, "function": function,
                "input": to_text(input), "output": to_text(output),
                // Exact, typed, and usable as a `record --answers` entry (`cgrf:<hex>`),
                // which WAVE text is not for a result declared `value`.
                "output_cgrf": format!("{CGRF_ANSWER_PREFIX}{}", hex::encode(encode_value(output))),
            }),
            PackPayload::WasmCall { function, params } => json!({
                "category": "wasm-call", "function": function, "params": params.text(),
            }),
            PackPayload::WasmResult { function, state, result } => json!({
                "category": "wasm-result", "function": function, "state": to_text(state),
                "result": if result.is_nothing() { serde_json::Value::Null } else { result.text().into() },
            }),
            PackPayload::WasmError { function, message } => json!({
                "category": "wasm-error", "function": function, "message": message,
            }),
            PackPayload::CreationError { error } => json!({"category": "creation-error", "error": error}),
            PackPayload::ReplaySummary(summary) => json!({"category": "replay-summary", "summary": to_text(summary)}),
        }
    }
}

/// The fields of a record, taken out by name.
struct Fields(Vec<(String, Value)>);

impl Fields {
    fn of(value: Value, what: &str) -> Result<Fields, PackPayloadError> {
        match value {
            Value::Record { fields, .. } => Ok(Fields(fields)),
            _ => Err(PackPayloadError::Shape(format!("{what} is not a record"))),
        }
    }

    fn take(&mut self, name: &str) -> Result<Value, PackPayloadError> {
        let at = self
            .0
            .iter()
            .position(|(n, _)| n == name)
            .ok_or_else(|| PackPayloadError::Shape(format!("no field {name:?}")))?;
        Ok(self.0.swap_remove(at).1)
    }

    fn string(&mut self, name: &str) -> Result<String, PackPayloadError> {
        match self.take(name)? {
            Value::String(s) => Ok(s),
            _ => Err(PackPayloadError::Shape(format!("field {name:?} is not a string"))),
        }
    }

}

/// A `list<u8>` field's bytes.
fn as_bytes(value: Value, name: &str) -> Result<Vec<u8>, PackPayloadError> {
    let not_bytes = || PackPayloadError::Shape(format!("field {name:?} is not a list of u8"));
    match value {
        Value::List { items, .. } => items
            .into_iter()
            .map(|v| match v {
                Value::U8(b) => Ok(b),
                _ => Err(not_bytes()),
            })
            .collect(),
        _ => Err(not_bytes()),
    }
}

/// Decodes one CGRF value with packr-abi's own decoder and its default limits.
pub fn decode_value(bytes: &[u8]) -> Result<Value, PackPayloadError> {
    preflight(bytes)?;
    packr_abi::decode(bytes).map_err(|e| PackPayloadError::NotCgrf(abi_error_text(&e)))
}

/// What every packr-abi version is given only after: the magic, and a shape it decodes
/// without aborting or overflowing its stack (some hostile shapes do both).
pub(super) fn preflight(bytes: &[u8]) -> Result<(), PackPayloadError> {
    if !bytes.starts_with(CGRF_MAGIC) {
        return Err(PackPayloadError::NotCgrf("it does not start with \"CGRF\"".to_string()));
    }
    super::cgrf_check::preflight(bytes).map_err(PackPayloadError::NotCgrf)
}

/// Decodes one CGRF value with the codec of the releases that write `form`: packr-abi 0.5
/// for nested CGRF, 0.11 (larger limits) for Value payloads.
pub fn decode_value_in(form: PayloadForm, bytes: &[u8]) -> Result<Value, PackPayloadError> {
    match form {
        PayloadForm::NestedCgrf => decode_value(bytes),
        PayloadForm::Values => super::packr011::decode(bytes),
    }
}

/// Encodes one value with packr-abi. Its only failure is a list typed as a primitive with
/// items of another type, which a value decoded from CGRF or built by us cannot be; such a
/// value encodes as nothing, which then matches no recorded bytes.
pub fn encode_value(value: &Value) -> Vec<u8> {
    packr_abi::encode(value).unwrap_or_default()
}

/// packr-abi's error as one line.
pub fn abi_error_text(e: &packr_abi::AbiError) -> String {
    match e {
        packr_abi::AbiError::TypeMismatch { expected, got } => format!("type mismatch: expected {expected}, got {got}"),
        packr_abi::AbiError::InvalidEncoding(why) => why.clone(),
        packr_abi::AbiError::BufferTooSmall { need, have } => format!("truncated: needs {need} bytes, has {have}"),
        packr_abi::AbiError::InvalidTag(tag) => format!("invalid node kind {tag:#04x}"),
    }
}

/// CGRF bytes as text, or a note on why they do not decode.
pub fn cgrf_text(bytes: &[u8]) -> String {
    match decode_value(bytes) {
        Ok(value) => to_text(&value),
        Err(e) => format!("<{} bytes, {e}>", bytes.len()),
    }
}

/// CGRF call parameters as an argument list: a tuple's items, or the one value.
pub fn cgrf_args_text(bytes: &[u8]) -> String {
    match decode_value(bytes) {
        Ok(Value::Tuple(items)) => items.iter().map(to_text).collect::<Vec<_>>().join(", "),
        Ok(value) => to_text(&value),
        Err(_) if bytes.is_empty() => String::new(),
        Err(e) => format!("<{} bytes, {e}>", bytes.len()),
    }
}

/// A packr Value as WAVE text (wasm-wave's syntax and escaping, as for components):
/// records show their field names, variants their case names. CGRF carries no complete
/// types (an empty list's element type is a placeholder), so the value goes through an
/// untyped component `Val`; a variant with several payload values shows them as a tuple,
/// and flags, whose names CGRF does not carry, as their bit numbers.
pub fn to_text(value: &Value) -> String {
    let val = to_val(value);
    wasmtime::component::wasm_wave::to_string(&val).unwrap_or_else(|_| format!("{value}"))
}

/// A tuple's items as an argument list, or the one value.
fn arguments(value: &Value) -> Vec<Val> {
    match value {
        Value::Tuple(items) => items.iter().map(to_val).collect(),
        value => vec![to_val(value)],
    }
}

pub fn to_val(value: &Value) -> Val {
    match value {
        Value::Bool(v) => Val::Bool(*v),
        Value::U8(v) => Val::U8(*v),
        Value::U16(v) => Val::U16(*v),
        Value::U32(v) => Val::U32(*v),
        Value::U64(v) => Val::U64(*v),
        Value::S8(v) => Val::S8(*v),
        Value::S16(v) => Val::S16(*v),
        Value::S32(v) => Val::S32(*v),
        Value::S64(v) => Val::S64(*v),
        Value::F32(v) => Val::Float32(*v),
        Value::F64(v) => Val::Float64(*v),
        Value::Char(v) => Val::Char(*v),
        Value::String(v) => Val::String(v.clone()),
        Value::List { items, .. } => Val::List(items.iter().map(to_val).collect()),
        Value::Option { value, .. } => Val::Option(value.as_ref().map(|v| Box::new(to_val(v)))),
        Value::Result { value, .. } => Val::Result(match value {
            Ok(v) => Ok(Some(Box::new(to_val(v)))),
            Err(v) => Err(Some(Box::new(to_val(v)))),
        }),
        Value::Record { fields, .. } => Val::Record(fields.iter().map(|(n, v)| (n.clone(), to_val(v))).collect()),
        Value::Variant { case_name, payload, .. } => {
            let payload = match payload.as_slice() {
                [] => None,
                [one] => Some(Box::new(to_val(one))),
                many => Some(Box::new(Val::Tuple(many.iter().map(to_val).collect()))),
            };
            Val::Variant(case_name.clone(), payload)
        }
        Value::Tuple(items) => Val::Tuple(items.iter().map(to_val).collect()),
        Value::Flags(bits) => Val::Flags((0..64).filter(|b| bits & (1 << b) != 0).map(|b| format!("bit{b}")).collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(payload: PackPayload) {
        let bytes = payload.encode();
        assert!(bytes.starts_with(CGRF_MAGIC));
        assert_eq!(PackPayload::decode(&bytes).unwrap(), payload);
    }

    #[test]
    fn every_payload_kind_roundtrips() {
        roundtrip(PackPayload::HostFunction {
            interface: "theater:simple/runtime".into(),
            function: "log".into(),
            input: Value::String("hi".into()),
            output: Value::Tuple(vec![]),
        });
        roundtrip(PackPayload::WasmCall { function: "f".into(), params: Carried::Cgrf(encode_value(&Value::Tuple(vec![]))) });
        roundtrip(PackPayload::WasmCall { function: "shutdown".into(), params: Carried::Cgrf(vec![]) });
        roundtrip(PackPayload::WasmCall { function: "shutdown".into(), params: Carried::Value(Value::Tuple(vec![])) });
        let state = Value::Record { type_name: "s".into(), fields: vec![("count".into(), Value::S32(1))] };
        roundtrip(PackPayload::WasmResult { function: "f".into(), state: state.clone(), result: Carried::Cgrf(encode_value(&Value::S32(1))) });
        roundtrip(PackPayload::WasmResult { function: "f".into(), state, result: Carried::Value(Value::S32(1)) });
        roundtrip(PackPayload::WasmError { function: "f".into(), message: "boom".into() });
        roundtrip(PackPayload::CreationError { error: "x".into() });
    }

    #[test]
    fn both_forms_summarize_alike() {
        let args = Value::Tuple(vec![Value::S32(5)]);
        for form in [PayloadForm::NestedCgrf, PayloadForm::Values] {
            let call = PackPayload::WasmCall { function: "f".into(), params: Carried::new(form, Some(args.clone())) };
            assert_eq!(PackPayload::decode(&call.encode()).unwrap().summary(), "call f(5)");
            let shutdown = PackPayload::WasmCall { function: "shutdown".into(), params: Carried::new(form, None) };
            assert_eq!(PackPayload::decode(&shutdown.encode()).unwrap().summary(), "call shutdown()");
            let result = PackPayload::WasmResult { function: "f".into(), state: Value::S32(1), result: Carried::new(form, Some(Value::U8(2))) };
            assert_eq!(PackPayload::decode_as(&result.encode(), Some(form)).unwrap().summary(), "f returned 2 (state 1)");
        }
    }

    #[test]
    fn values_render_as_wave() {
        let state = Value::Record { type_name: "actor-state".into(), fields: vec![("count".into(), Value::S32(2))] };
        assert_eq!(to_text(&state), "{count: 2}");
        let some = Value::Option { inner_type: ValueType::String, value: Some(Box::new(Value::String("a\"b".into()))) };
        assert_eq!(to_text(&some), "some(\"a\\\"b\")");
        assert_eq!(to_text(&Value::Tuple(vec![])), "()");
        let v = Value::Variant { type_name: "t".into(), case_name: "pair".into(), tag: 0, payload: vec![Value::U8(1), Value::F64(f64::NAN)] };
        assert_eq!(to_text(&v), "pair((1, nan))");
        assert_eq!(cgrf_args_text(&encode_value(&Value::Tuple(vec![Value::S32(1), Value::Bool(true)]))), "1, true");
    }

    #[test]
    fn bad_bytes_are_errors_not_panics() {
        assert!(matches!(PackPayload::decode(b"{\"a\":1}"), Err(PackPayloadError::NotCgrf(_))));
        assert!(matches!(PackPayload::decode(b"CGRF\x02\x00"), Err(PackPayloadError::NotCgrf(_))));
        let not_payload = encode_value(&Value::S32(3));
        assert!(matches!(PackPayload::decode(&not_payload), Err(PackPayloadError::Shape(_))));
        let full = PackPayload::WasmError { function: "f".into(), message: "m".into() }.encode();
        for cut in 0..full.len() {
            let _ = PackPayload::decode(&full[..cut]);
        }
    }
}
