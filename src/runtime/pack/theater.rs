//! theater's calling convention for Pack actors (`PackInstance::call_function_with_value`
//! and `decode_function_result`, alike from 0.3.8 to 0.3.29), shared by the replay and by
//! `record`.
//!
//! The input of an export is `tuple(state, params...)` (a tuple of params is spliced in);
//! before the call the state is checked against the export's first parameter type, after
//! it the output against its result type; the output `ok(tuple(S, R...))` gives the new
//! state S and the CGRF of R; any failure becomes a `wasm-error` with theater's message,
//! whose wording is the release's ([`TheaterError::message`]).

use super::types::{self, Metadata};
use super::{CallError, PackActor, call_export};
use crate::dialect::pack::{abi_error_text, encode_value};
use crate::dialect::release::{ErrorText, Release, ValueText};
use crate::runtime::{self, Limits, TrapInfo};
use packr_abi::Value;
use wasmtime::{Instance, Store};

/// What went wrong in theater's terms: the parts of a `wasm-error` message.
#[derive(Debug, Clone, PartialEq)]
pub enum TheaterError {
    /// The actor's metadata lists exports, but not this one.
    NotInMetadata,
    /// The state does not fit the export's first parameter type.
    StateMismatch(String),
    /// packr's call failed; `cause` is packr's error as theater's `{:#}` shows it.
    Call { input: Value, cause: String },
    /// The output does not fit the export's result type.
    ReturnViolation(String),
    /// `decode_function_result`'s own message (`Function returned error: ...`).
    Returned(String),
}

impl TheaterError {
    /// The `wasm-error` message `release` records for a failed call of `function`.
    pub fn message(&self, function: &str, release: &Release) -> String {
        match self {
            TheaterError::NotInMetadata => format!("Function '{function}' not found in cached type metadata"),
            TheaterError::StateMismatch(e) => format!("State type mismatch for '{function}': {e}"),
            TheaterError::ReturnViolation(e) => format!("Return type violation from '{function}': {e}"),
            TheaterError::Returned(message) => message.clone(),
            TheaterError::Call { input, cause } => {
                let input = || match release.value_text {
                    ValueText::Plain => input.to_string(),
                    ValueText::Suffixed => crate::dialect::packr011::display(input),
                };
                match release.error_text {
                    ErrorText::Bare => CallError::theater_message(function),
                    ErrorText::WithInput => format!("Failed to call function '{function}' with input: {}", input()),
                    ErrorText::WholeChain => format!("Failed to call function '{function}' with input: {}: {cause}", input()),
                }
            }
        }
    }
}

/// Why an export call failed, as theater records it and as our report explains it.
pub struct Failure {
    /// What theater's `wasm-error` says, in parts.
    pub error: TheaterError,
    /// What really happened, for the report (theater's message hides it).
    pub detail: Option<String>,
    pub trap: Option<TrapInfo>,
    /// The export does not exist.
    pub missing: bool,
}

impl Failure {
    fn theater(error: TheaterError) -> Failure {
        Failure { error, detail: None, trap: None, missing: false }
    }
}

/// One export call as theater's `call_function_with_value` makes it: the state check,
/// the call, the result check, then the split into state and result bytes.
#[allow(clippy::too_many_arguments)]
// A failure carries its trap and stack for the report; it is the rare path, so unboxed.
#[allow(clippy::result_large_err)]
pub fn call<H>(
    store: &mut Store<H>,
    actor: &PackActor,
    instance: &Instance,
    metadata: Option<&Metadata>,
    function: &str,
    state: &Value,
    params: Value,
    limits: &Limits,
) -> Result<(Value, Vec<u8>), Failure> {
    let sig = match metadata {
        Some(m) => Some(m.export(function).ok_or_else(|| Failure::theater(TheaterError::NotInMetadata))?),
        None => None,
    };
    if let Some(sig) = sig
        && let Some((_, state_type)) = sig.params.first()
    {
        types::check(state, state_type, &sig.type_defs)
            .map_err(|e| Failure::theater(TheaterError::StateMismatch(e.to_string())))?;
    }
    let input = match params {
        Value::Tuple(items) => Value::Tuple(std::iter::once(state.clone()).chain(items).collect()),
        other => Value::Tuple(vec![state.clone(), other]),
    };
    let encoded = encode_value(&input);
    let failed = |cause: String, detail: Option<String>, trap: Option<TrapInfo>, missing: bool| Failure {
        error: TheaterError::Call { input: input.clone(), cause },
        detail,
        trap,
        missing,
    };
    // The causes in packr's words (`RuntimeError`'s display, alike from packr 0.5 to 0.11).
    let output = call_export(store, instance, function, &encoded).map_err(|e| match e {
        CallError::NotFound => {
            let exported = actor.export_names();
            let cause = format!("Function not found: failed to find function export `{function}`");
            failed(cause, Some(format!("the actor exports: {}", exported.join(", "))), None, true)
        }
        CallError::Trap(e) => {
            // packr keeps the trap error's outermost message (`to_string`): with a wasm
            // backtrace, the backtrace itself, as theater's wasmtime writes it.
            let cause = format!("WASM execution error: {}", theater_trap_text(&e, actor.debug_info));
            let trap = runtime::describe_trap(&e, limits);
            failed(cause, Some(format!("trap: {}", trap.message)), Some(trap), false)
        }
        CallError::Guest(text) => failed(
            format!("WASM execution error: function '{function}' returned error: {text}"),
            Some(format!("the export returned an error status: {text}")),
            None,
            false,
        ),
        CallError::Output(why) => failed(format!("ABI error: {why}"), Some(format!("its output cannot be read: {why}")), None, false),
    })?;
    if let Some(sig) = sig
        && let Some(result_type) = sig.results.first()
    {
        types::check(&output, result_type, &sig.type_defs)
            .map_err(|e| Failure::theater(TheaterError::ReturnViolation(e.to_string())))?;
    }
    split_output(output).map_err(|message| Failure::theater(TheaterError::Returned(message)))
}

/// A trap's outermost message as theater's wasmtime (31, backtrace details off: theater
/// leaves them to `WASMTIME_BACKTRACE_DETAILS`, unset) writes it: its wasm backtrace, one
/// frame a line, or the trap itself when there is none. Our engine's own text differs (it
/// shows source lines, and wasmtime 48 pads offsets wider), so the frames are written here.
pub fn theater_trap_text(e: &wasmtime::Error, debug_info: bool) -> String {
    let Some(backtrace) = e.downcast_ref::<wasmtime::WasmBacktrace>().filter(|b| !b.frames().is_empty()) else {
        return e.to_string();
    };
    let mut text = String::from("error while executing at wasm backtrace:");
    for (i, frame) in backtrace.frames().iter().enumerate() {
        text.push_str(&format!("\n  {i:>3}: "));
        if let Some(offset) = frame.module_offset() {
            text.push_str(&format!("{offset:#6x} - "));
        }
        text.push_str(frame.module().name().unwrap_or("<unknown>"));
        text.push('!');
        match frame.func_name() {
            Some(name) => text.push_str(&rustc_demangle::demangle(name).to_string()),
            None => text.push_str(&format!("<wasm function {}>", frame.func_index())),
        }
    }
    if debug_info {
        text.push_str("\nnote: using the `WASMTIME_BACKTRACE_DETAILS=1` environment variable may show more debugging information");
    }
    text
}

/// theater's reading of an export's output (`decode_function_result`): `ok` of a
/// tuple is the new state and the rest, `err` a message; anything else is all state.
fn split_output(output: Value) -> Result<(Value, Vec<u8>), String> {
    let error_text = |v: Value| match v {
        Value::String(s) => s,
        // theater formats other error values with Debug; same crate, same text.
        other => format!("{other:?}"),
    };
    match output {
        Value::Result { value: Ok(inner), .. } => split_ok(*inner),
        Value::Result { value: Err(err), .. } => Err(format!("Function returned error: {}", error_text(*err))),
        Value::Variant { tag: 0, payload, .. } if !payload.is_empty() => split_ok(payload.into_iter().next().unwrap_or(Value::Tuple(vec![]))),
        Value::Variant { tag: 1, payload, .. } if !payload.is_empty() => {
            Err(format!("Function returned error: {}", error_text(payload.into_iter().next().unwrap_or(Value::Tuple(vec![])))))
        }
        Value::Variant { tag: 1, .. } => Err("Function returned error (no message)".to_string()),
        Value::Variant { tag, .. } => Err(format!("Unexpected result variant tag: {tag}")),
        other => Ok((other, Vec::new())),
    }
}

fn split_ok(value: Value) -> Result<(Value, Vec<u8>), String> {
    match value {
        Value::Tuple(mut items) if !items.is_empty() => {
            let state = items.remove(0);
            let result = match items.len() {
                0 => Value::Tuple(vec![]),
                1 => items.remove(0),
                _ => Value::Tuple(items),
            };
            let bytes = packr_abi::encode(&result).map_err(|e| abi_error_text(&e))?;
            Ok((state, bytes))
        }
        other => Ok((other, Vec::new())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialect::pack::decode_value;
    use packr_abi::ValueType;

    fn ok(v: Value) -> Value {
        Value::Result { ok_type: ValueType::Bool, err_type: ValueType::String, value: Ok(Box::new(v)) }
    }

    #[test]
    fn outputs_split_as_theater_splits_them() {
        let state = Value::S32(1);
        let (s, bytes) = split_output(ok(Value::Tuple(vec![state.clone(), Value::String("r".into())]))).unwrap();
        assert_eq!((s, decode_value(&bytes).unwrap()), (state.clone(), Value::String("r".into())));
        let (_, bytes) = split_output(ok(Value::Tuple(vec![state.clone()]))).unwrap();
        assert_eq!(decode_value(&bytes).unwrap(), Value::Tuple(vec![]));
        let (_, bytes) = split_output(ok(Value::Tuple(vec![state.clone(), Value::U8(1), Value::U8(2)]))).unwrap();
        assert_eq!(decode_value(&bytes).unwrap(), Value::Tuple(vec![Value::U8(1), Value::U8(2)]));
        assert_eq!(split_output(ok(state.clone())).unwrap(), (state.clone(), vec![]));
        assert_eq!(split_output(state.clone()).unwrap(), (state, vec![]));
        let err = Value::Result { ok_type: ValueType::Bool, err_type: ValueType::String, value: Err(Box::new(Value::String("no".into()))) };
        assert_eq!(split_output(err).unwrap_err(), "Function returned error: no");
        let err_u8 = Value::Result { ok_type: ValueType::Bool, err_type: ValueType::U8, value: Err(Box::new(Value::U8(7))) };
        assert_eq!(split_output(err_u8).unwrap_err(), "Function returned error: U8(7)");
        let variant = |tag, payload| Value::Variant { type_name: "result".into(), case_name: "x".into(), tag, payload };
        assert_eq!(split_output(variant(1, vec![])).unwrap_err(), "Function returned error (no message)");
        assert_eq!(split_output(variant(3, vec![])).unwrap_err(), "Unexpected result variant tag: 3");
        assert_eq!(split_output(variant(0, vec![Value::Tuple(vec![Value::Bool(true)])])).unwrap().0, Value::Bool(true));
    }
}
