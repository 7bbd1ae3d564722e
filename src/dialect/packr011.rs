//! packr-abi 0.11, the codec theater 0.3.29 ships, beside the 0.5 that theater 0.3.8 ships
//! and the rest of this crate speaks.
//!
//! The two encode alike (the chain's bytes prove it: see the tests), but 0.11 decodes
//! larger values (256 MiB where 0.5 stops at 16) and writes values as text differently
//! (`1s32`, `none<bool>`, `[]<u8>`), which theater 0.3.17 and later put inside `wasm-error`
//! messages. Both `Value` types have the same shape; these functions carry one into the
//! other, case by case.

use super::pack::{PackPayloadError, abi_error_text};
use packr_abi as v05;
use packr_abi_011 as v011;

/// Decodes CGRF with packr-abi 0.11's decoder and limits, after the same preflight that
/// guards 0.5's (hostile shapes that make packr-abi recurse without end).
pub fn decode(bytes: &[u8]) -> Result<v05::Value, PackPayloadError> {
    if !bytes.starts_with(super::pack::CGRF_MAGIC) {
        return Err(PackPayloadError::NotCgrf("it does not start with \"CGRF\"".to_string()));
    }
    super::cgrf_check::preflight(bytes).map_err(PackPayloadError::NotCgrf)?;
    let value = v011::decode(bytes).map_err(|e| PackPayloadError::NotCgrf(error_text(&e)))?;
    Ok(to_v05(value))
}

/// A value as packr-abi 0.6 and later write it (`Display`), as theater 0.3.17 and later
/// quote a call's input in its error messages.
pub fn display(value: &v05::Value) -> String {
    to_v011(value.clone()).to_string()
}

fn error_text(e: &v011::AbiError) -> String {
    // The same cases as 0.5's, so the same words.
    let as_v05 = match e {
        v011::AbiError::TypeMismatch { expected, got } => {
            v05::AbiError::TypeMismatch { expected: expected.clone(), got: got.clone() }
        }
        v011::AbiError::InvalidEncoding(why) => v05::AbiError::InvalidEncoding(why.clone()),
        v011::AbiError::BufferTooSmall { need, have } => v05::AbiError::BufferTooSmall { need: *need, have: *have },
        v011::AbiError::InvalidTag(tag) => v05::AbiError::InvalidTag(*tag),
    };
    abi_error_text(&as_v05)
}

fn type_to_v05(t: v011::ValueType) -> v05::ValueType {
    use v011::ValueType as T;
    match t {
        T::Bool => v05::ValueType::Bool,
        T::U8 => v05::ValueType::U8,
        T::U16 => v05::ValueType::U16,
        T::U32 => v05::ValueType::U32,
        T::U64 => v05::ValueType::U64,
        T::S8 => v05::ValueType::S8,
        T::S16 => v05::ValueType::S16,
        T::S32 => v05::ValueType::S32,
        T::S64 => v05::ValueType::S64,
        T::F32 => v05::ValueType::F32,
        T::F64 => v05::ValueType::F64,
        T::Char => v05::ValueType::Char,
        T::String => v05::ValueType::String,
        T::List(t) => v05::ValueType::List(Box::new(type_to_v05(*t))),
        T::Option(t) => v05::ValueType::Option(Box::new(type_to_v05(*t))),
        T::Result { ok, err } => v05::ValueType::Result { ok: Box::new(type_to_v05(*ok)), err: Box::new(type_to_v05(*err)) },
        T::Record(name) => v05::ValueType::Record(name),
        T::Variant(name) => v05::ValueType::Variant(name),
        T::Tuple(items) => v05::ValueType::Tuple(items.into_iter().map(type_to_v05).collect()),
        T::Flags => v05::ValueType::Flags,
    }
}

fn type_to_v011(t: v05::ValueType) -> v011::ValueType {
    use v05::ValueType as T;
    match t {
        T::Bool => v011::ValueType::Bool,
        T::U8 => v011::ValueType::U8,
        T::U16 => v011::ValueType::U16,
        T::U32 => v011::ValueType::U32,
        T::U64 => v011::ValueType::U64,
        T::S8 => v011::ValueType::S8,
        T::S16 => v011::ValueType::S16,
        T::S32 => v011::ValueType::S32,
        T::S64 => v011::ValueType::S64,
        T::F32 => v011::ValueType::F32,
        T::F64 => v011::ValueType::F64,
        T::Char => v011::ValueType::Char,
        T::String => v011::ValueType::String,
        T::List(t) => v011::ValueType::List(Box::new(type_to_v011(*t))),
        T::Option(t) => v011::ValueType::Option(Box::new(type_to_v011(*t))),
        T::Result { ok, err } => {
            v011::ValueType::Result { ok: Box::new(type_to_v011(*ok)), err: Box::new(type_to_v011(*err)) }
        }
        T::Record(name) => v011::ValueType::Record(name),
        T::Variant(name) => v011::ValueType::Variant(name),
        T::Tuple(items) => v011::ValueType::Tuple(items.into_iter().map(type_to_v011).collect()),
        T::Flags => v011::ValueType::Flags,
    }
}

/// 0.11's value as 0.5's. Recursion is bounded: the preflight refused deeper nesting.
pub fn to_v05(value: v011::Value) -> v05::Value {
    use v011::Value as V;
    match value {
        V::Bool(v) => v05::Value::Bool(v),
        V::U8(v) => v05::Value::U8(v),
        V::U16(v) => v05::Value::U16(v),
        V::U32(v) => v05::Value::U32(v),
        V::U64(v) => v05::Value::U64(v),
        V::S8(v) => v05::Value::S8(v),
        V::S16(v) => v05::Value::S16(v),
        V::S32(v) => v05::Value::S32(v),
        V::S64(v) => v05::Value::S64(v),
        V::F32(v) => v05::Value::F32(v),
        V::F64(v) => v05::Value::F64(v),
        V::Char(v) => v05::Value::Char(v),
        V::String(v) => v05::Value::String(v),
        V::List { elem_type, items } => {
            v05::Value::List { elem_type: type_to_v05(elem_type), items: items.into_iter().map(to_v05).collect() }
        }
        V::Option { inner_type, value } => {
            v05::Value::Option { inner_type: type_to_v05(inner_type), value: value.map(|v| Box::new(to_v05(*v))) }
        }
        V::Result { ok_type, err_type, value } => v05::Value::Result {
            ok_type: type_to_v05(ok_type),
            err_type: type_to_v05(err_type),
            value: match value {
                Ok(v) => Ok(Box::new(to_v05(*v))),
                Err(v) => Err(Box::new(to_v05(*v))),
            },
        },
        V::Record { type_name, fields } => {
            v05::Value::Record { type_name, fields: fields.into_iter().map(|(n, v)| (n, to_v05(v))).collect() }
        }
        V::Variant { type_name, case_name, tag, payload } => {
            v05::Value::Variant { type_name, case_name, tag, payload: payload.into_iter().map(to_v05).collect() }
        }
        V::Tuple(items) => v05::Value::Tuple(items.into_iter().map(to_v05).collect()),
        V::Flags(bits) => v05::Value::Flags(bits),
    }
}

/// 0.5's value as 0.11's.
pub fn to_v011(value: v05::Value) -> v011::Value {
    use v05::Value as V;
    match value {
        V::Bool(v) => v011::Value::Bool(v),
        V::U8(v) => v011::Value::U8(v),
        V::U16(v) => v011::Value::U16(v),
        V::U32(v) => v011::Value::U32(v),
        V::U64(v) => v011::Value::U64(v),
        V::S8(v) => v011::Value::S8(v),
        V::S16(v) => v011::Value::S16(v),
        V::S32(v) => v011::Value::S32(v),
        V::S64(v) => v011::Value::S64(v),
        V::F32(v) => v011::Value::F32(v),
        V::F64(v) => v011::Value::F64(v),
        V::Char(v) => v011::Value::Char(v),
        V::String(v) => v011::Value::String(v),
        V::List { elem_type, items } => {
            v011::Value::List { elem_type: type_to_v011(elem_type), items: items.into_iter().map(to_v011).collect() }
        }
        V::Option { inner_type, value } => {
            v011::Value::Option { inner_type: type_to_v011(inner_type), value: value.map(|v| Box::new(to_v011(*v))) }
        }
        V::Result { ok_type, err_type, value } => v011::Value::Result {
            ok_type: type_to_v011(ok_type),
            err_type: type_to_v011(err_type),
            value: match value {
                Ok(v) => Ok(Box::new(to_v011(*v))),
                Err(v) => Err(Box::new(to_v011(*v))),
            },
        },
        V::Record { type_name, fields } => {
            v011::Value::Record { type_name, fields: fields.into_iter().map(|(n, v)| (n, to_v011(v))).collect() }
        }
        V::Variant { type_name, case_name, tag, payload } => {
            v011::Value::Variant { type_name, case_name, tag, payload: payload.into_iter().map(to_v011).collect() }
        }
        V::Tuple(items) => v011::Value::Tuple(items.into_iter().map(to_v011).collect()),
        V::Flags(bits) => v011::Value::Flags(bits),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn leaf() -> impl Strategy<Value = v05::Value> {
        prop_oneof![
            any::<bool>().prop_map(v05::Value::Bool),
            any::<u8>().prop_map(v05::Value::U8),
            any::<u64>().prop_map(v05::Value::U64),
            any::<i32>().prop_map(v05::Value::S32),
            any::<f64>().prop_map(v05::Value::F64),
            any::<char>().prop_map(v05::Value::Char),
            ".{0,8}".prop_map(v05::Value::String),
            any::<u64>().prop_map(v05::Value::Flags),
        ]
    }

    fn value() -> impl Strategy<Value = v05::Value> {
        leaf().prop_recursive(4, 32, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(v05::Value::Tuple),
                prop::collection::vec(any::<u8>(), 0..6).prop_map(|b| v05::Value::List {
                    elem_type: v05::ValueType::U8,
                    items: b.into_iter().map(v05::Value::U8).collect()
                }),
                (prop::option::of(inner.clone())).prop_map(|v| v05::Value::Option {
                    inner_type: v05::ValueType::String,
                    value: v.map(Box::new)
                }),
                (inner.clone(), any::<bool>()).prop_map(|(v, ok)| v05::Value::Result {
                    ok_type: v05::ValueType::U8,
                    err_type: v05::ValueType::String,
                    value: if ok { Ok(Box::new(v)) } else { Err(Box::new(v)) }
                }),
                prop::collection::vec(inner.clone(), 0..3).prop_map(|fields| v05::Value::Record {
                    type_name: "r".into(),
                    fields: fields.into_iter().enumerate().map(|(i, v)| (format!("f{i}"), v)).collect()
                }),
                (prop::collection::vec(inner, 0..2), 0usize..4).prop_map(|(payload, tag)| v05::Value::Variant {
                    type_name: "v".into(),
                    case_name: format!("c{tag}"),
                    tag,
                    payload
                }),
            ]
        })
    }

    proptest! {
        /// What makes one codec for hashing enough: both versions write the same bytes,
        /// and each reads the other's back to the same value.
        #[test]
        fn both_versions_encode_alike_and_decode_each_other(v in value()) {
            let old = v05::encode(&v).unwrap();
            let new = v011::encode(&to_v011(v.clone())).unwrap();
            prop_assert_eq!(&old, &new);
            let back = decode(&new).unwrap();
            prop_assert_eq!(v05::encode(&back).unwrap(), old);
        }
    }

    #[test]
    fn values_read_as_packr_06_writes_them() {
        let input = v05::Value::Tuple(vec![
            v05::Value::Option { inner_type: v05::ValueType::Bool, value: None },
            v05::Value::S32(5),
            v05::Value::String("a\"b".into()),
        ]);
        assert_eq!(display(&input), "(none<bool>, 5s32, \"a\\\"b\")");
        assert_eq!(input.to_string(), "(none, 5, \"a\"b\")", "0.5's text differs, which is why both are kept");
    }
}
