//! WAVE text to a packr Value of a declared Pack type (`--initial-state`): the text is
//! parsed by wasm-wave against the type the actor's own metadata declares, then given the
//! names and element types CGRF carries (record and variant type names, list element types).

use crate::runtime::pack::types::{Type, TypeDef};
use packr_abi::{Value, ValueType};
use std::borrow::Cow;
use wasmtime::component::wasm_wave::untyped::UntypedFuncCall;
use wasmtime::component::wasm_wave::value::{Type as WaveType, Value as WaveValue};
use wasmtime::component::wasm_wave::wasm::WasmValue;

/// How deep named types may nest in a state type (they can refer to themselves).
const MAX_DEPTH: usize = 32;

/// Parses `text` as a value of `ty`, resolving names in `defs`.
pub fn parse(text: &str, ty: &Type, defs: &[TypeDef]) -> Result<Value, String> {
    if is_unit(ty) {
        return match text.trim() {
            "()" => Ok(Value::Tuple(vec![])),
            _ => Err("the state type is unit: the only value is `()`".to_string()),
        };
    }
    let wave_type = wave_type(ty, defs, 0)?;
    let value: WaveValue = wasmtime::component::wasm_wave::from_str(&wave_type, text).map_err(|e| format!("`{}` is not a {}: {e}", crate::text::clip(text), describe(ty)))?;
    from_wave(&value, ty, defs, 0)
}

/// The arguments of a WAVE call, typed by the declared parameter types.
pub fn parse_args(call: &UntypedFuncCall<'_>, types: &[Type], defs: &[TypeDef]) -> Result<Vec<Value>, String> {
    if types.iter().any(is_unit) {
        return Err("a parameter of type unit cannot be given as text".to_string());
    }
    let wave_types = types.iter().map(|t| wave_type(t, defs, 0)).collect::<Result<Vec<_>, _>>()?;
    let values: Vec<WaveValue> = call.to_wasm_params(wave_types.iter()).map_err(|e| e.to_string())?;
    values.iter().zip(types).map(|(v, t)| from_wave(v, t, defs, 0)).collect()
}

fn is_unit(ty: &Type) -> bool {
    matches!(ty, Type::Unit) || matches!(ty, Type::Tuple(items) if items.is_empty())
}

fn describe(ty: &Type) -> String {
    match ty {
        Type::Named(name) => format!("`{name}`"),
        other => format!("`{other:?}`").to_lowercase(),
    }
}

fn def<'a>(name: &str, defs: &'a [TypeDef]) -> Result<&'a TypeDef, String> {
    defs.iter()
        .find(|d| matches!(d, TypeDef::Record { name: n, .. } | TypeDef::Variant { name: n, .. } if n == name))
        .ok_or_else(|| format!("the type `{name}` is not defined in the actor's metadata"))
}

fn wave_type(ty: &Type, defs: &[TypeDef], depth: usize) -> Result<WaveType, String> {
    if depth > MAX_DEPTH {
        return Err("the state type nests too deeply to be given as text".to_string());
    }
    let inner = |t: &Type| wave_type(t, defs, depth + 1);
    let optional = |t: &Type| if is_unit(t) { Ok(None) } else { inner(t).map(Some) };
    Ok(match ty {
        Type::Bool => WaveType::BOOL,
        Type::U8 => WaveType::U8,
        Type::U16 => WaveType::U16,
        Type::U32 => WaveType::U32,
        Type::U64 => WaveType::U64,
        Type::S8 => WaveType::S8,
        Type::S16 => WaveType::S16,
        Type::S32 => WaveType::S32,
        Type::S64 => WaveType::S64,
        Type::F32 => WaveType::F32,
        Type::F64 => WaveType::F64,
        Type::Char => WaveType::CHAR,
        Type::String => WaveType::STRING,
        Type::List(t) => WaveType::list(inner(t)?),
        Type::Option(t) => WaveType::option(inner(t)?),
        Type::Result { ok, err } => WaveType::result(optional(ok)?, optional(err)?),
        Type::Tuple(items) => {
            WaveType::tuple(items.iter().map(inner).collect::<Result<Vec<_>, _>>()?).ok_or("an empty tuple inside a state")?
        }
        Type::Unit => return Err("`()` cannot be nested inside a state given as text".to_string()),
        Type::Value => return Err("the type is `value` (any value): it has no text form".to_string()),
        Type::Named(name) => match def(name, defs)? {
            TypeDef::Record { fields, .. } => WaveType::record(
                fields.iter().map(|(n, t)| Ok((n.as_str(), inner(t)?))).collect::<Result<Vec<_>, String>>()?,
            )
            .ok_or("a record without fields")?,
            TypeDef::Variant { cases, .. } => WaveType::variant(
                cases.iter().map(|(n, t)| Ok((n.as_str(), optional(t)?))).collect::<Result<Vec<_>, String>>()?,
            )
            .ok_or("a variant without cases")?,
        },
    })
}

/// The element or inner type CGRF writes for a declared type.
fn value_type(ty: &Type, defs: &[TypeDef], depth: usize) -> ValueType {
    let inner = |t: &Type| Box::new(value_type(t, defs, depth + 1));
    if depth > MAX_DEPTH {
        return ValueType::Bool;
    }
    match ty {
        Type::Bool => ValueType::Bool,
        Type::U8 => ValueType::U8,
        Type::U16 => ValueType::U16,
        Type::U32 => ValueType::U32,
        Type::U64 => ValueType::U64,
        Type::S8 => ValueType::S8,
        Type::S16 => ValueType::S16,
        Type::S32 => ValueType::S32,
        Type::S64 => ValueType::S64,
        Type::F32 => ValueType::F32,
        Type::F64 => ValueType::F64,
        Type::Char => ValueType::Char,
        Type::String => ValueType::String,
        Type::List(t) => ValueType::List(inner(t)),
        Type::Option(t) => ValueType::Option(inner(t)),
        Type::Result { ok, err } => ValueType::Result { ok: inner(ok), err: inner(err) },
        Type::Tuple(items) => ValueType::Tuple(items.iter().map(|t| value_type(t, defs, depth + 1)).collect()),
        Type::Unit => ValueType::Tuple(vec![]),
        // packr's own placeholder for a type it does not know.
        Type::Value => ValueType::Bool,
        Type::Named(name) => match def(name, defs) {
            Ok(TypeDef::Variant { .. }) => ValueType::Variant(name.clone()),
            _ => ValueType::Record(name.clone()),
        },
    }
}

fn from_wave(value: &WaveValue, ty: &Type, defs: &[TypeDef], depth: usize) -> Result<Value, String> {
    let inner = |v: &WaveValue, t: &Type| from_wave(v, t, defs, depth + 1);
    let payload = |v: Option<Cow<'_, WaveValue>>, t: &Type| -> Result<Value, String> {
        match v {
            Some(v) => inner(&v, t),
            None => Ok(Value::Tuple(vec![])),
        }
    };
    Ok(match ty {
        Type::Bool => Value::Bool(value.unwrap_bool()),
        Type::U8 => Value::U8(value.unwrap_u8()),
        Type::U16 => Value::U16(value.unwrap_u16()),
        Type::U32 => Value::U32(value.unwrap_u32()),
        Type::U64 => Value::U64(value.unwrap_u64()),
        Type::S8 => Value::S8(value.unwrap_s8()),
        Type::S16 => Value::S16(value.unwrap_s16()),
        Type::S32 => Value::S32(value.unwrap_s32()),
        Type::S64 => Value::S64(value.unwrap_s64()),
        Type::F32 => Value::F32(value.unwrap_f32()),
        Type::F64 => Value::F64(value.unwrap_f64()),
        Type::Char => Value::Char(value.unwrap_char()),
        Type::String => Value::String(value.unwrap_string().into_owned()),
        Type::List(t) => Value::List {
            elem_type: value_type(t, defs, depth + 1),
            items: value.unwrap_list().map(|v| inner(&v, t)).collect::<Result<_, _>>()?,
        },
        Type::Option(t) => Value::Option {
            inner_type: value_type(t, defs, depth + 1),
            value: value.unwrap_option().map(|v| inner(&v, t).map(Box::new)).transpose()?,
        },
        Type::Result { ok, err } => Value::Result {
            ok_type: value_type(ok, defs, depth + 1),
            err_type: value_type(err, defs, depth + 1),
            value: match value.unwrap_result() {
                Ok(v) => Ok(Box::new(payload(v, ok)?)),
                Err(v) => Err(Box::new(payload(v, err)?)),
            },
        },
        Type::Tuple(items) => {
            Value::Tuple(value.unwrap_tuple().zip(items).map(|(v, t)| inner(&v, t)).collect::<Result<_, _>>()?)
        }
        Type::Unit | Type::Value => return Err("no text form".to_string()),
        Type::Named(name) => match def(name, defs)? {
            TypeDef::Record { fields, .. } => Value::Record {
                type_name: name.clone(),
                fields: value
                    .unwrap_record()
                    .zip(fields)
                    .map(|((n, v), (_, t))| Ok((n.into_owned(), inner(&v, t)?)))
                    .collect::<Result<_, String>>()?,
            },
            TypeDef::Variant { cases, .. } => {
                let (case, v) = value.unwrap_variant();
                let tag = cases.iter().position(|(n, _)| *n == case).ok_or("unknown case")?;
                let case_type = &cases[tag].1;
                let payload = match v {
                    Some(v) => vec![inner(&v, case_type)?],
                    None => vec![],
                };
                Value::Variant { type_name: name.clone(), case_name: case.into_owned(), tag, payload }
            }
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_parse_with_their_cgrf_names() {
        let defs = vec![TypeDef::Record { name: "actor-state".into(), fields: vec![("count".into(), Type::S32)] }];
        assert_eq!(
            parse("{count: 5}", &Type::Named("actor-state".into()), &defs).unwrap(),
            Value::Record { type_name: "actor-state".into(), fields: vec![("count".into(), Value::S32(5))] }
        );
        let bytes = Type::Option(Box::new(Type::List(Box::new(Type::U8))));
        assert_eq!(parse("none", &bytes, &[]).unwrap(), Value::Option { inner_type: ValueType::List(Box::new(ValueType::U8)), value: None });
        assert_eq!(
            parse("some([1, 2])", &bytes, &[]).unwrap(),
            Value::Option {
                inner_type: ValueType::List(Box::new(ValueType::U8)),
                value: Some(Box::new(Value::List { elem_type: ValueType::U8, items: vec![Value::U8(1), Value::U8(2)] })),
            }
        );
        assert_eq!(parse("()", &Type::Unit, &[]).unwrap(), Value::Tuple(vec![]));
        assert!(parse("1", &Type::Unit, &[]).is_err());
        assert!(parse("{count: x}", &Type::Named("actor-state".into()), &defs).is_err());
        assert!(parse("1", &Type::Named("nope".into()), &defs).unwrap_err().contains("not defined"));
        assert!(parse("1", &Type::Value, &[]).is_err());
    }
}
