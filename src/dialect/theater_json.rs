//! theater's component-era payloads (`fixtures/theater-chains/`), read and written the way
//! theater wrote them, so that a replay re-encodes every event byte for byte.
//!
//! Two value styles, told apart by shape (nothing in a chain names its style):
//!
//! - [`Style::Untyped`]: a host value is `serde_json::to_vec` of the Rust value theater held,
//!   stored as an array of byte numbers (`"PATH"` is `[34,80,65,84,72,34]`). Which Rust value
//!   is decided here by the component's WIT type: options are `null` or the value, results
//!   `{"Ok":v}`/`{"Err":e}`, records objects, tuples and lists arrays, `list<u8>` arrays of
//!   numbers, resources the host's rep.
//! - [`Style::Typed`]: theater's `SerializableVal`, `{"U64":1}`, `{"Tuple":[]}`, ... with
//!   resources as `{"U32":rep}` (how its handlers built pollables).
//!
//! Arguments by theater's rule: none is `null` (`{"Tuple":[]}` typed), one is itself,
//! several an array (`Tuple`). The replay encodes only the guest's real arguments; outputs
//! are the recording's, decoded to component values and written back unchanged.
//!
//! This module knows bytes and values only; `replay::component` drives the guest.

use crate::payload::HostCall;
use crate::values::diff::Compared;
use crate::values::{ResourceMap, ValueError};
use serde_json::{Map, Value, json};
use wasmtime::component::{ResourceType, Type, Val};

/// How host values are written in a chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// JSON text of a Rust value, as a byte array (theater up to 69b16ec5).
    Untyped,
    /// theater's `SerializableVal` objects (b183789a on; the timing chain).
    Typed,
}

impl Style {
    /// The style of a recorded host value, by its shape.
    pub fn of(value: &Value) -> Option<Style> {
        match value {
            Value::Array(_) => Some(Style::Untyped),
            Value::Object(_) => Some(Style::Typed),
            _ => None,
        }
    }
}

/// theater's name of the runtime's own stop event (`event_type` and `function_name`).
pub const SHUTDOWN: &str = "shutdown";
/// The export whose calling convention passes the state alone.
pub const INIT: &str = "theater:simple/actor.init";

/// A theater event, decoded as far as the replay needs.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    WasmCall { function: String, params: Value },
    WasmResult { function: String, state: Option<Vec<u8>>, result: Value },
    WasmError { function: String, message: String },
    HostFunction { call: HostCall, input: Value, output: Value },
}

/// Reads a theater payload; `None` when it is not one.
pub fn parse(data: &[u8]) -> Option<Event> {
    let value: Value = serde_json::from_slice(data).ok()?;
    match value.get("category")?.as_str()? {
        "Wasm" => {
            if let Some(call) = value.get("WasmCall") {
                let function = call.get("function_name")?.as_str()?.to_string();
                return Some(Event::WasmCall { function, params: call.get("params")?.clone() });
            }
            if let Some(result) = value.get("WasmResult") {
                let function = result.get("function_name")?.as_str()?.to_string();
                let pair = result.get("result")?.as_array()?;
                let [state, result] = pair.as_slice() else {
                    return None;
                };
                let state = match state {
                    Value::Null => None,
                    bytes => Some(json_bytes(bytes)?),
                };
                return Some(Event::WasmResult { function, state, result: result.clone() });
            }
            let error = value.get("WasmError")?;
            Some(Event::WasmError {
                function: error.get("function_name")?.as_str()?.to_string(),
                message: error.get("message")?.as_str()?.to_string(),
            })
        }
        "HostFunction" => {
            let interface = value.get("interface")?.as_str()?;
            let call = HostCall {
                interface: (!interface.is_empty()).then(|| interface.to_string()),
                function: value.get("function")?.as_str()?.to_string(),
            };
            Some(Event::HostFunction { call, input: value.get("input")?.clone(), output: value.get("output")?.clone() })
        }
        _ => None,
    }
}

/// What a divergence diffs of an export's result event: theater's `[state, result]` as a
/// record `{state, result}`, the state decoded ([`state_val`]), the result's JSON as values.
/// `None` for other events.
pub fn result_compared(data: &[u8]) -> Option<Compared> {
    let Some(Event::WasmResult { state, result, .. }) = parse(data) else { return None };
    let state = match state {
        Some(bytes) => state_val(&bytes),
        None => Val::Option(None),
    };
    Some(Compared::Result(Val::Record(vec![("state".into(), state), ("result".into(), json_val(&result))])))
}

/// An actor's state as a report shows it: its text when it is text (theater's actors keep
/// JSON or text there), else its bytes.
pub fn state_val(bytes: &[u8]) -> Val {
    match state_text(bytes) {
        Some(text) => Val::String(text.to_string()),
        None => Val::List(bytes.iter().map(|&b| Val::U8(b)).collect()),
    }
}

/// `bytes` as text: UTF-8 without control characters but line breaks and tabs (binary
/// state that happens to be valid UTF-8 reads better as bytes).
pub fn state_text(bytes: &[u8]) -> Option<&str> {
    let text = std::str::from_utf8(bytes).ok()?;
    let binary = text.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'));
    (!binary).then_some(text)
}

/// Untyped JSON as values, for diffing only (no types to decode it with).
fn json_val(value: &Value) -> Val {
    match value {
        Value::Null => Val::Option(None),
        Value::Bool(b) => Val::Bool(*b),
        Value::Number(n) => match (n.as_u64(), n.as_i64()) {
            (Some(u), _) => Val::U64(u),
            (_, Some(i)) => Val::S64(i),
            _ => Val::Float64(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => Val::String(s.clone()),
        Value::Array(items) => Val::List(items.iter().map(json_val).collect()),
        Value::Object(fields) => Val::Record(fields.iter().map(|(k, v)| (k.clone(), json_val(v))).collect()),
    }
}

/// The bytes of an array of numbers 0..=255.
pub fn json_bytes(value: &Value) -> Option<Vec<u8>> {
    value.as_array()?.iter().map(|b| b.as_u64().and_then(|b| u8::try_from(b).ok())).collect()
}

/// Bytes as theater's serde wrote a `Vec<u8>`: an array of numbers.
pub fn bytes_json(bytes: &[u8]) -> Value {
    Value::Array(bytes.iter().map(|&b| json!(b)).collect())
}

fn string(s: &str) -> String {
    serde_json::to_string(s).expect("a string serializes")
}

/// `{"category":"HostFunction","interface":I,"function":F,"input":X,"output":Y}`, fields in
/// theater's declaration order.
pub fn host_event(call: &HostCall, input: &Value, output: &Value) -> Vec<u8> {
    format!(
        r#"{{"category":"HostFunction","interface":{},"function":{},"input":{},"output":{}}}"#,
        string(call.interface.as_deref().unwrap_or("")),
        string(&call.function),
        input,
        output
    )
    .into_bytes()
}

/// `{"category":"Wasm","WasmCall":{"function_name":F,"params":P}}`.
pub fn wasm_call_event(function: &str, params: &Value) -> Vec<u8> {
    format!(r#"{{"category":"Wasm","WasmCall":{{"function_name":{},"params":{params}}}}}"#, string(function))
        .into_bytes()
}

/// `{"category":"Wasm","WasmResult":{"function_name":F,"result":[S,R]}}`.
pub fn wasm_result_event(function: &str, state: Option<&[u8]>, result: &Value) -> Vec<u8> {
    let state = state.map_or(Value::Null, bytes_json);
    format!(
        r#"{{"category":"Wasm","WasmResult":{{"function_name":{},"result":[{state},{result}]}}}}"#,
        string(function)
    )
    .into_bytes()
}

/// `{"category":"Wasm","WasmError":{"function_name":F,"message":M}}`.
pub fn wasm_error_event(function: &str, message: &str) -> Vec<u8> {
    format!(
        r#"{{"category":"Wasm","WasmError":{{"function_name":{},"message":{}}}}}"#,
        string(function),
        string(message)
    )
    .into_bytes()
}

/// The runtime's stop event, which no guest call makes.
pub fn shutdown_event() -> Vec<u8> {
    wasm_call_event(SHUTDOWN, &json!([]))
}

/// The export a recorded `function_name` names, as `runtime::exports::find` spells it:
/// `theater:simple/actor.init` is `theater:simple/actor#init`.
/// `wasi:http/incoming-handler@0.2.0/handle` (an interface path, then the function) is
/// `wasi:http/incoming-handler@0.2.0#handle`.
pub fn export_name(function: &str) -> String {
    match function.rsplit_once('/') {
        Some((interface, func)) if interface.contains('/') => format!("{interface}#{func}"),
        Some((package, rest)) => match rest.split_once('.') {
            Some((iface, func)) => format!("{package}/{iface}#{func}"),
            None => function.to_string(),
        },
        None => function.to_string(),
    }
}

/// A host call's arguments, in `style`, as the event stores them.
pub fn encode_input(
    style: Style,
    vals: &[Val],
    types: &[Type],
    resources: &mut dyn ResourceMap,
) -> Result<Value, ValueError> {
    match style {
        Style::Untyped => Ok(text_bytes(&untyped_args(vals, types, resources)?)),
        Style::Typed => {
            let mut items = vals
                .iter()
                .zip(types)
                .enumerate()
                .map(|(i, (v, t))| to_typed(v, t, resources, &format!("$.{i}")))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(if items.len() == 1 { items.remove(0) } else { json!({"Tuple": items}) })
        }
    }
}

/// The untyped JSON of several values by the arguments rule.
pub fn untyped_args(vals: &[Val], types: &[Type], resources: &mut dyn ResourceMap) -> Result<Value, ValueError> {
    let mut items = vals
        .iter()
        .zip(types)
        .enumerate()
        .map(|(i, (v, t))| to_untyped(v, t, resources, &format!("$.{i}")))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(match items.len() {
        0 => Value::Null,
        1 => items.remove(0),
        _ => Value::Array(items),
    })
}

/// JSON text as the byte array theater stored.
pub fn text_bytes(value: &Value) -> Value {
    bytes_json(&serde_json::to_vec(value).expect("a value serializes"))
}

/// A recorded host output as the import's results. Per-function quirks of theater's
/// handlers are applied here: `subscribe-duration` records `(pollable, deadline)`.
pub fn decode_output(
    style: Style,
    call: &HostCall,
    output: &Value,
    types: &[Type],
    resources: &mut dyn ResourceMap,
) -> Result<Vec<Val>, ValueError> {
    match style {
        Style::Untyped => {
            let bytes = json_bytes(output).ok_or_else(|| err("$", "not an array of bytes".into()))?;
            let value: Value = serde_json::from_slice(&bytes).map_err(|e| err("$", format!("not JSON text: {e}")))?;
            match types {
                [] => Ok(vec![]),
                [ty] => Ok(vec![from_untyped(&value, ty, resources, "$")?]),
                _ => {
                    let items = value.as_array().ok_or_else(|| err("$", "expected an array of results".into()))?;
                    if items.len() != types.len() {
                        return Err(err("$", format!("{} results, expected {}", items.len(), types.len())));
                    }
                    items.iter().zip(types).map(|(v, t)| from_untyped(v, t, resources, "$")).collect()
                }
            }
        }
        Style::Typed => {
            let mut output = output;
            if call.interface.as_deref().is_some_and(|i| i.starts_with("wasi:clocks/monotonic-clock"))
                && call.function == "subscribe-duration"
            {
                output = output.get("Tuple").and_then(|t| t.get(0)).unwrap_or(output);
            }
            match types {
                [] => Ok(vec![]),
                [ty] => Ok(vec![from_typed(output, ty, resources, "$")?]),
                _ => {
                    let items = output
                        .get("Tuple")
                        .and_then(Value::as_array)
                        .ok_or_else(|| err("$", "expected a Tuple of results".into()))?;
                    if items.len() != types.len() {
                        return Err(err("$", format!("{} results, expected {}", items.len(), types.len())));
                    }
                    items.iter().zip(types).map(|(v, t)| from_typed(v, t, resources, "$")).collect()
                }
            }
        }
    }
}

fn err(path: &str, message: String) -> ValueError {
    ValueError { path: path.to_string(), message }
}

/// `kebab-case` as Rust's `UpperCamelCase` (variant and enum cases).
fn camel(name: &str) -> String {
    name.split('-')
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map_or(String::new(), |c| c.to_ascii_uppercase().to_string() + chars.as_str())
        })
        .collect()
}

/// `kebab-case` as Rust's `snake_case` (record fields).
fn snake(name: &str) -> String {
    name.replace('-', "_")
}

fn uncamel<'a>(names: impl Iterator<Item = &'a str>, case: &str) -> Option<&'a str> {
    names.into_iter().find(|n| camel(n) == case)
}

/// The JSON serde writes for the Rust value theater's bindings hold for `val`.
pub fn to_untyped(val: &Val, ty: &Type, resources: &mut dyn ResourceMap, path: &str) -> Result<Value, ValueError> {
    Ok(match (val, ty) {
        (Val::Bool(b), _) => json!(b),
        (Val::S8(n), _) => json!(n),
        (Val::S16(n), _) => json!(n),
        (Val::S32(n), _) => json!(n),
        (Val::S64(n), _) => json!(n),
        (Val::U8(n), _) => json!(n),
        (Val::U16(n), _) => json!(n),
        (Val::U32(n), _) => json!(n),
        (Val::U64(n), _) => json!(n),
        (Val::Float32(f), _) => json!(f),
        (Val::Float64(f), _) => json!(f),
        (Val::Char(c), _) => json!(c.to_string()),
        (Val::String(s), _) => json!(s),
        (Val::List(items), Type::List(list)) => {
            let item = list.ty();
            Value::Array(items.iter().map(|v| to_untyped(v, &item, resources, path)).collect::<Result<_, _>>()?)
        }
        (Val::Record(fields), Type::Record(record)) => {
            let mut map = Map::new();
            for ((name, v), field) in fields.iter().zip(record.fields()) {
                map.insert(snake(name), to_untyped(v, &field.ty, resources, &format!("{path}.{name}"))?);
            }
            Value::Object(map)
        }
        (Val::Tuple(items), Type::Tuple(tuple)) => Value::Array(
            items
                .iter()
                .zip(tuple.types())
                .map(|(v, t)| to_untyped(v, &t, resources, path))
                .collect::<Result<_, _>>()?,
        ),
        (Val::Variant(case, payload), Type::Variant(variant)) => {
            let case_ty = variant.cases().find(|c| c.name == case.as_str()).and_then(|c| c.ty);
            match (payload, case_ty) {
                (Some(v), Some(t)) => json!({ camel(case): to_untyped(v, &t, resources, path)? }),
                _ => json!(camel(case)),
            }
        }
        (Val::Enum(case), _) => json!(camel(case)),
        (Val::Option(None), _) => Value::Null,
        (Val::Option(Some(v)), Type::Option(option)) => to_untyped(v, &option.ty(), resources, path)?,
        (Val::Result(outcome), Type::Result(result)) => {
            let (tag, v, t) = match outcome {
                Ok(v) => ("Ok", v, result.ok()),
                Err(v) => ("Err", v, result.err()),
            };
            let inner = match (v, t) {
                (Some(v), Some(t)) => to_untyped(v, &t, resources, path)?,
                _ => Value::Null,
            };
            json!({ tag: inner })
        }
        (Val::Resource(resource), Type::Own(rty) | Type::Borrow(rty)) => {
            json!(resources.handle_of(resource, rty).map_err(|m| err(path, m))?)
        }
        (val, ty) => {
            return Err(err(path, format!("no untyped encoding for {val:?} as {ty:?}")));
        }
    })
}

/// The component value of type `ty` that theater's JSON `value` stands for.
pub fn from_untyped(value: &Value, ty: &Type, resources: &mut dyn ResourceMap, path: &str) -> Result<Val, ValueError> {
    decode_untyped(value, ty, &mut |rep, owned, rty| resources.resource_for(rep, owned, rty).map(Val::Resource), path)
}

/// How a decoding turns a recorded rep into a value: a live resource in a replay, the
/// number itself for display.
type ResourceDecoder<'a> = dyn FnMut(u32, bool, &ResourceType) -> Result<Val, String> + 'a;

fn decode_untyped(value: &Value, ty: &Type, resource: &mut ResourceDecoder<'_>, path: &str) -> Result<Val, ValueError> {
    let fail = || err(path, format!("{value} is not a {}", crate::values::type_name(ty)));
    let int = || value.as_i64().ok_or_else(fail);
    let uint = || value.as_u64().ok_or_else(fail);
    Ok(match ty {
        Type::Bool => Val::Bool(value.as_bool().ok_or_else(fail)?),
        Type::S8 => Val::S8(int()?.try_into().map_err(|_| fail())?),
        Type::S16 => Val::S16(int()?.try_into().map_err(|_| fail())?),
        Type::S32 => Val::S32(int()?.try_into().map_err(|_| fail())?),
        Type::S64 => Val::S64(int()?),
        Type::U8 => Val::U8(uint()?.try_into().map_err(|_| fail())?),
        Type::U16 => Val::U16(uint()?.try_into().map_err(|_| fail())?),
        Type::U32 => Val::U32(uint()?.try_into().map_err(|_| fail())?),
        Type::U64 => Val::U64(uint()?),
        Type::Float32 => Val::Float32(value.as_f64().ok_or_else(fail)? as f32),
        Type::Float64 => Val::Float64(value.as_f64().ok_or_else(fail)?),
        Type::Char => {
            let s = value.as_str().ok_or_else(fail)?;
            let mut chars = s.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) => Val::Char(c),
                _ => return Err(fail()),
            }
        }
        Type::String => Val::String(value.as_str().ok_or_else(fail)?.to_string()),
        Type::List(list) => {
            let item = list.ty();
            let items = value.as_array().ok_or_else(fail)?;
            Val::List(items.iter().map(|v| decode_untyped(v, &item, resource, path)).collect::<Result<_, _>>()?)
        }
        Type::Record(record) => {
            let map = value.as_object().ok_or_else(fail)?;
            let mut fields = Vec::new();
            for field in record.fields() {
                let v = map.get(&snake(field.name)).ok_or_else(fail)?;
                fields.push((field.name.to_string(), decode_untyped(v, &field.ty, resource, path)?));
            }
            Val::Record(fields)
        }
        Type::Tuple(tuple) => {
            let items = value.as_array().ok_or_else(fail)?;
            let types: Vec<Type> = tuple.types().collect();
            if items.len() != types.len() {
                return Err(fail());
            }
            Val::Tuple(
                items
                    .iter()
                    .zip(&types)
                    .map(|(v, t)| decode_untyped(v, t, resource, path))
                    .collect::<Result<_, _>>()?,
            )
        }
        Type::Variant(variant) => {
            let (case, payload) = match value {
                Value::String(case) => (case.as_str(), None),
                Value::Object(map) if map.len() == 1 => {
                    let (case, v) = map.iter().next().expect("one entry");
                    (case.as_str(), Some(v))
                }
                _ => return Err(fail()),
            };
            let found = variant.cases().find(|c| camel(c.name) == case).ok_or_else(fail)?;
            let payload = match (payload, found.ty) {
                (Some(v), Some(t)) => Some(Box::new(decode_untyped(v, &t, resource, path)?)),
                (None, None) => None,
                _ => return Err(fail()),
            };
            Val::Variant(found.name.to_string(), payload)
        }
        Type::Enum(en) => {
            let case = value.as_str().ok_or_else(fail)?;
            Val::Enum(uncamel(en.names(), case).ok_or_else(fail)?.to_string())
        }
        Type::Option(option) => match value {
            Value::Null => Val::Option(None),
            v => Val::Option(Some(Box::new(decode_untyped(v, &option.ty(), resource, path)?))),
        },
        Type::Result(result) => {
            let map = value.as_object().filter(|m| m.len() == 1).ok_or_else(fail)?;
            let (tag, v) = map.iter().next().expect("one entry");
            let t = match tag.as_str() {
                "Ok" => result.ok(),
                "Err" => result.err(),
                _ => return Err(fail()),
            };
            let inner = match t {
                Some(t) => Some(Box::new(decode_untyped(v, &t, resource, path)?)),
                None => None,
            };
            Val::Result(if tag == "Ok" { Ok(inner) } else { Err(inner) })
        }
        Type::Own(rty) | Type::Borrow(rty) => {
            let rep = uint()?.try_into().map_err(|_| fail())?;
            resource(rep, matches!(ty, Type::Own(_)), rty).map_err(|m| err(path, m))?
        }
        _ => {
            return Err(err(path, format!("no untyped decoding for a {}", crate::values::type_name(ty))));
        }
    })
}

/// A recorded host value (untyped style: the JSON text of the arguments by theater's rule,
/// or of the result) in WAVE, typed by the import's parameter or result types; a resource
/// shows as its rep. `None` when it does not decode with those types (theater's
/// per-function quirks, such as `Debug` text for a variant, then show as plain JSON).
pub fn untyped_wave(recorded: &Value, types: &[Type]) -> Option<String> {
    let shown = untyped_vals(recorded, types)?
        .iter()
        .map(|val| wasmtime::component::wasm_wave::to_string(val).ok())
        .collect::<Option<Vec<_>>>()?;
    Some(shown.join(", "))
}

/// The values of [`untyped_wave`], one per type.
pub fn untyped_vals(recorded: &Value, types: &[Type]) -> Option<Vec<Val>> {
    let value = json_bytes(recorded).and_then(|b| serde_json::from_slice::<Value>(&b).ok())?;
    let items: Vec<&Value> = match (types.len(), &value) {
        (0, Value::Null) => vec![],
        (1, v) => vec![v],
        (n, Value::Array(items)) if items.len() == n => items.iter().collect(),
        _ => return None,
    };
    items.iter().zip(types).map(|(v, t)| decode_untyped(v, t, &mut |rep, _, _| Ok(Val::U32(rep)), "$").ok()).collect()
}

fn float(f: f64) -> Value {
    if f.is_finite() { json!(f) } else { Value::Null }
}

/// theater's `SerializableVal` of `val`; a resource is its rep as `{"U32":rep}`.
pub fn to_typed(val: &Val, ty: &Type, resources: &mut dyn ResourceMap, path: &str) -> Result<Value, ValueError> {
    Ok(match (val, ty) {
        (Val::Bool(b), _) => json!({"Bool": b}),
        (Val::S8(n), _) => json!({"S8": n}),
        (Val::S16(n), _) => json!({"S16": n}),
        (Val::S32(n), _) => json!({"S32": n}),
        (Val::S64(n), _) => json!({"S64": n}),
        (Val::U8(n), _) => json!({"U8": n}),
        (Val::U16(n), _) => json!({"U16": n}),
        (Val::U32(n), _) => json!({"U32": n}),
        (Val::U64(n), _) => json!({"U64": n}),
        (Val::Float32(f), _) => json!({"Float32": float(f64::from(*f))}),
        (Val::Float64(f), _) => json!({"Float64": float(*f)}),
        (Val::Char(c), _) => json!({"Char": c.to_string()}),
        (Val::String(s), _) => json!({"String": s}),
        (Val::List(items), Type::List(list)) => {
            let item = list.ty();
            json!({"List": items.iter().map(|v| to_typed(v, &item, resources, path)).collect::<Result<Vec<_>, _>>()?})
        }
        (Val::Record(fields), Type::Record(record)) => {
            let mut pairs = Vec::new();
            for ((name, v), field) in fields.iter().zip(record.fields()) {
                pairs.push(json!([name, to_typed(v, &field.ty, resources, path)?]));
            }
            json!({ "Record": pairs })
        }
        (Val::Tuple(items), Type::Tuple(tuple)) => json!({"Tuple": items
            .iter()
            .zip(tuple.types())
            .map(|(v, t)| to_typed(v, &t, resources, path))
            .collect::<Result<Vec<_>, _>>()?}),
        (Val::Variant(case, payload), Type::Variant(variant)) => {
            let case_ty = variant.cases().find(|c| c.name == case.as_str()).and_then(|c| c.ty);
            let inner = match (payload, case_ty) {
                (Some(v), Some(t)) => to_typed(v, &t, resources, path)?,
                _ => Value::Null,
            };
            json!({"Variant": [case, inner]})
        }
        (Val::Enum(case), _) => json!({"Enum": case}),
        (Val::Flags(names), _) => json!({"Flags": names}),
        (Val::Option(None), _) => json!({"Option": null}),
        (Val::Option(Some(v)), Type::Option(option)) => {
            json!({"Option": to_typed(v, &option.ty(), resources, path)?})
        }
        (Val::Result(outcome), Type::Result(result)) => {
            let (tag, v, t) = match outcome {
                Ok(v) => ("Ok", v, result.ok()),
                Err(v) => ("Err", v, result.err()),
            };
            let inner = match (v, t) {
                (Some(v), Some(t)) => to_typed(v, &t, resources, path)?,
                _ => Value::Null,
            };
            json!({"Result": { tag: inner }})
        }
        (Val::Resource(resource), Type::Own(rty) | Type::Borrow(rty)) => {
            json!({"U32": resources.handle_of(resource, rty).map_err(|m| err(path, m))?})
        }
        (val, ty) => {
            return Err(err(path, format!("no typed encoding for {val:?} as {ty:?}")));
        }
    })
}

/// The component value of type `ty` in theater's `SerializableVal` `value`.
pub fn from_typed(value: &Value, ty: &Type, resources: &mut dyn ResourceMap, path: &str) -> Result<Val, ValueError> {
    let fail = || err(path, format!("{value} is not a {}", crate::values::type_name(ty)));
    let map = value.as_object().filter(|m| m.len() == 1).ok_or_else(fail)?;
    let (tag, inner) = map.iter().next().expect("one entry");
    let want = |name: &str| if tag == name { Ok(inner) } else { Err(fail()) };
    let int = |name: &str| want(name)?.as_i64().ok_or_else(fail);
    let uint = |name: &str| want(name)?.as_u64().ok_or_else(fail);
    let flo = |name: &str| {
        let v = want(name)?;
        if v.is_null() { Ok(f64::NAN) } else { v.as_f64().ok_or_else(fail) }
    };
    Ok(match ty {
        Type::Bool => Val::Bool(want("Bool")?.as_bool().ok_or_else(fail)?),
        Type::S8 => Val::S8(int("S8")?.try_into().map_err(|_| fail())?),
        Type::S16 => Val::S16(int("S16")?.try_into().map_err(|_| fail())?),
        Type::S32 => Val::S32(int("S32")?.try_into().map_err(|_| fail())?),
        Type::S64 => Val::S64(int("S64")?),
        Type::U8 => Val::U8(uint("U8")?.try_into().map_err(|_| fail())?),
        Type::U16 => Val::U16(uint("U16")?.try_into().map_err(|_| fail())?),
        Type::U32 => Val::U32(uint("U32")?.try_into().map_err(|_| fail())?),
        Type::U64 => Val::U64(uint("U64")?),
        Type::Float32 => Val::Float32(flo("Float32")? as f32),
        Type::Float64 => Val::Float64(flo("Float64")?),
        Type::Char => {
            let s = want("Char")?.as_str().ok_or_else(fail)?;
            Val::Char(s.chars().next().ok_or_else(fail)?)
        }
        Type::String => Val::String(want("String")?.as_str().ok_or_else(fail)?.to_string()),
        Type::List(list) => {
            let item = list.ty();
            let items = want("List")?.as_array().ok_or_else(fail)?;
            Val::List(items.iter().map(|v| from_typed(v, &item, resources, path)).collect::<Result<_, _>>()?)
        }
        Type::Record(record) => {
            let pairs = want("Record")?.as_array().ok_or_else(fail)?;
            let mut fields = Vec::new();
            for field in record.fields() {
                let v = pairs
                    .iter()
                    .find(|p| p.get(0).and_then(Value::as_str) == Some(field.name))
                    .and_then(|p| p.get(1))
                    .ok_or_else(fail)?;
                fields.push((field.name.to_string(), from_typed(v, &field.ty, resources, path)?));
            }
            Val::Record(fields)
        }
        Type::Tuple(tuple) => {
            let items = want("Tuple")?.as_array().ok_or_else(fail)?;
            let types: Vec<Type> = tuple.types().collect();
            if items.len() != types.len() {
                return Err(fail());
            }
            Val::Tuple(
                items.iter().zip(&types).map(|(v, t)| from_typed(v, t, resources, path)).collect::<Result<_, _>>()?,
            )
        }
        Type::Variant(variant) => {
            let pair = want("Variant")?.as_array().ok_or_else(fail)?;
            let case = pair.first().and_then(Value::as_str).ok_or_else(fail)?;
            let found = variant.cases().find(|c| c.name == case).ok_or_else(fail)?;
            let payload = match (pair.get(1), found.ty) {
                (Some(v), Some(t)) if !v.is_null() => Some(Box::new(from_typed(v, &t, resources, path)?)),
                _ => None,
            };
            Val::Variant(found.name.to_string(), payload)
        }
        Type::Enum(_) => Val::Enum(want("Enum")?.as_str().ok_or_else(fail)?.to_string()),
        Type::Flags(_) => Val::Flags(
            want("Flags")?.as_array().ok_or_else(fail)?.iter().filter_map(|v| v.as_str().map(String::from)).collect(),
        ),
        Type::Option(option) => match want("Option")? {
            Value::Null => Val::Option(None),
            v => Val::Option(Some(Box::new(from_typed(v, &option.ty(), resources, path)?))),
        },
        Type::Result(result) => {
            let outcome = want("Result")?.as_object().filter(|m| m.len() == 1).ok_or_else(fail)?;
            let (tag, v) = outcome.iter().next().expect("one entry");
            let t = match tag.as_str() {
                "Ok" => result.ok(),
                "Err" => result.err(),
                _ => return Err(fail()),
            };
            let inner = match t {
                Some(t) if !v.is_null() => Some(Box::new(from_typed(v, &t, resources, path)?)),
                _ => None,
            };
            Val::Result(if tag == "Ok" { Ok(inner) } else { Err(inner) })
        }
        Type::Own(rty) | Type::Borrow(rty) => {
            let rep = uint("U32")?.try_into().map_err(|_| fail())?;
            Val::Resource(resources.resource_for(rep, matches!(ty, Type::Own(_)), rty).map_err(|m| err(path, m))?)
        }
        _ => {
            return Err(err(path, format!("no typed decoding for a {}", crate::values::type_name(ty))));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::values::NoResources;

    #[test]
    fn events_are_written_in_theaters_field_order() {
        let init = br#"{"category":"Wasm","WasmCall":{"function_name":"theater:simple/actor.init","params":[110,117,108,108]}}"#;
        assert_eq!(wasm_call_event(INIT, &text_bytes(&Value::Null)), init.to_vec());
        assert_eq!(
            shutdown_event(),
            br#"{"category":"Wasm","WasmCall":{"function_name":"shutdown","params":[]}}"#.to_vec()
        );
        let call = HostCall { interface: Some("theater:simple/runtime".into()), function: "log".into() };
        let input =
            encode_input(Style::Untyped, &[Val::String("hi".into())], &[Type::String], &mut NoResources).unwrap();
        assert_eq!(
            host_event(&call, &input, &text_bytes(&Value::Null)),
            br#"{"category":"HostFunction","interface":"theater:simple/runtime","function":"log","input":[34,104,105,34],"output":[110,117,108,108]}"#.to_vec()
        );
        assert_eq!(parse(init), Some(Event::WasmCall { function: INIT.into(), params: text_bytes(&Value::Null) }));
        assert_eq!(export_name(INIT), "theater:simple/actor#init");
        assert_eq!(export_name("wasi:http/incoming-handler@0.2.0/handle"), "wasi:http/incoming-handler@0.2.0#handle");
        assert_eq!(Style::of(&input), Some(Style::Untyped));
    }

    #[test]
    fn args_follow_theaters_rule() {
        let none = encode_input(Style::Typed, &[], &[], &mut NoResources).unwrap();
        assert_eq!(none, json!({"Tuple": []}));
        let one = encode_input(Style::Typed, &[Val::U64(5)], &[Type::U64], &mut NoResources).unwrap();
        assert_eq!(one, json!({"U64": 5}));
        let untyped_none = encode_input(Style::Untyped, &[], &[], &mut NoResources).unwrap();
        assert_eq!(json_bytes(&untyped_none).unwrap(), b"null");
        let two = untyped_args(&[Val::U32(1), Val::String("a".into())], &[Type::U32, Type::String], &mut NoResources);
        assert_eq!(two.unwrap(), json!([1, "a"]));
    }
}
