//! theater 0.3.8's calling convention for Pack actors (`PackInstance::call_function_with_value`
//! and `decode_function_result`), shared by the replay and by `record`.
//!
//! The input of an export is `tuple(state, params...)` (a tuple of params is spliced in);
//! before the call the state is checked against the export's first parameter type, after
//! it the output against its result type; the output `ok(tuple(S, R...))` gives the new
//! state S and the CGRF of R; any failure becomes a `wasm-error` with theater's message.

use super::types::{self, Metadata};
use super::{CallError, PackActor, call_export};
use crate::dialect::pack::{abi_error_text, encode_value};
use crate::runtime::{self, Limits, TrapInfo};
use packr_abi::Value;
use wasmtime::{Instance, Store};

/// Why an export call failed, as theater records it and as our report explains it.
pub struct Failure {
    /// theater 0.3.8's `wasm-error` message.
    pub message: String,
    /// What really happened, for the report (theater's message hides it).
    pub detail: Option<String>,
    pub trap: Option<TrapInfo>,
    /// The export does not exist.
    pub missing: bool,
}

impl Failure {
    fn theater(message: String) -> Failure {
        Failure { message, detail: None, trap: None, missing: false }
    }
}

/// One export call as theater 0.3.8's `call_function_with_value` makes it: the state check,
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
        Some(m) => Some(m.export(function).ok_or_else(|| {
            Failure::theater(format!("Function '{function}' not found in cached type metadata"))
        })?),
        None => None,
    };
    if let Some(sig) = sig
        && let Some((_, state_type)) = sig.params.first()
    {
        types::check(state, state_type, &sig.type_defs)
            .map_err(|e| Failure::theater(format!("State type mismatch for '{function}': {e}")))?;
    }
    let input = match params {
        Value::Tuple(items) => Value::Tuple(std::iter::once(state.clone()).chain(items).collect()),
        other => Value::Tuple(vec![state.clone(), other]),
    };
    let failed = |detail: Option<String>, trap: Option<TrapInfo>, missing: bool| Failure {
        message: CallError::theater_message(function),
        detail,
        trap,
        missing,
    };
    let output = call_export(store, instance, function, &encode_value(&input)).map_err(|e| match e {
        CallError::NotFound => {
            let exported = actor.export_names();
            failed(Some(format!("the actor exports: {}", exported.join(", "))), None, true)
        }
        CallError::Trap(e) => {
            let trap = runtime::describe_trap(&e, limits);
            failed(Some(format!("trap: {}", trap.message)), Some(trap), false)
        }
        CallError::Guest(text) => failed(Some(format!("the export returned an error status: {text}")), None, false),
        CallError::Output(why) => failed(Some(format!("its output cannot be read: {why}")), None, false),
    })?;
    if let Some(sig) = sig
        && let Some(result_type) = sig.results.first()
    {
        types::check(&output, result_type, &sig.type_defs)
            .map_err(|e| Failure::theater(format!("Return type violation from '{function}': {e}")))?;
    }
    split_output(output).map_err(Failure::theater)
}

/// theater 0.3.8's reading of an export's output (`decode_function_result`): `ok` of a
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
