//! packr-abi 0.11, the codec theater 0.3.29 ships, beside the 0.5 that theater 0.3.8 ships
//! and the rest of this crate speaks.
//!
//! The two encode alike (the chain's bytes prove it: see the tests), but 0.11 decodes
//! larger values (256 MiB where 0.5 stops at 16) and writes values as text as packr-abi
//! 0.5.3 and later do (`1s32`, `none<bool>`, `[]<u8>`; 0.5.0 wrote `1`, `none`), which theater
//! 0.3.12 and later put inside `wasm-error` messages. Both `Value` types have the same shape; these functions carry one into the
//! other, case by case.

use super::pack::{PackPayloadError, abi_error_text};
use packr_abi as v05;
use packr_abi_011 as v011;

/// Decodes CGRF with packr-abi 0.11's decoder and limits, after the same preflight that
/// guards 0.5's (hostile shapes that make packr-abi recurse without end).
pub fn decode(bytes: &[u8]) -> Result<v05::Value, PackPayloadError> {
    super::pack::preflight(bytes)?;
    let value = v011::decode(bytes).map_err(|e| PackPayloadError::NotCgrf(error_text(&e)))?;
    Ok(to_v05(value))
}

/// A value as packr-abi 0.5.3 and later write it (`Display`, alike up to 0.11), as theater
/// 0.3.11 and later quote a call's input in its error messages.
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

/// The conversion of values (and their types) from one version's `Value` to the other's,
/// written once for both directions: the two enums have the same cases. Recursion is
/// bounded: the preflight refused deeper nesting.
macro_rules! converter {
    ($doc:literal, $value_fn:ident, $type_fn:ident, $from:ident => $to:ident) => {
        fn $type_fn(t: $from::ValueType) -> $to::ValueType {
            use $from::ValueType as T;
            match t {
                T::Bool => $to::ValueType::Bool,
                T::U8 => $to::ValueType::U8,
                T::U16 => $to::ValueType::U16,
                T::U32 => $to::ValueType::U32,
                T::U64 => $to::ValueType::U64,
                T::S8 => $to::ValueType::S8,
                T::S16 => $to::ValueType::S16,
                T::S32 => $to::ValueType::S32,
                T::S64 => $to::ValueType::S64,
                T::F32 => $to::ValueType::F32,
                T::F64 => $to::ValueType::F64,
                T::Char => $to::ValueType::Char,
                T::String => $to::ValueType::String,
                T::List(t) => $to::ValueType::List(Box::new($type_fn(*t))),
                T::Option(t) => $to::ValueType::Option(Box::new($type_fn(*t))),
                T::Result { ok, err } => {
                    $to::ValueType::Result { ok: Box::new($type_fn(*ok)), err: Box::new($type_fn(*err)) }
                }
                T::Record(name) => $to::ValueType::Record(name),
                T::Variant(name) => $to::ValueType::Variant(name),
                T::Tuple(items) => $to::ValueType::Tuple(items.into_iter().map($type_fn).collect()),
                T::Flags => $to::ValueType::Flags,
            }
        }

        #[doc = $doc]
        pub fn $value_fn(value: $from::Value) -> $to::Value {
            use $from::Value as V;
            match value {
                V::Bool(v) => $to::Value::Bool(v),
                V::U8(v) => $to::Value::U8(v),
                V::U16(v) => $to::Value::U16(v),
                V::U32(v) => $to::Value::U32(v),
                V::U64(v) => $to::Value::U64(v),
                V::S8(v) => $to::Value::S8(v),
                V::S16(v) => $to::Value::S16(v),
                V::S32(v) => $to::Value::S32(v),
                V::S64(v) => $to::Value::S64(v),
                V::F32(v) => $to::Value::F32(v),
                V::F64(v) => $to::Value::F64(v),
                V::Char(v) => $to::Value::Char(v),
                V::String(v) => $to::Value::String(v),
                V::List { elem_type, items } => {
                    $to::Value::List { elem_type: $type_fn(elem_type), items: items.into_iter().map($value_fn).collect() }
                }
                V::Option { inner_type, value } => {
                    $to::Value::Option { inner_type: $type_fn(inner_type), value: value.map(|v| Box::new($value_fn(*v))) }
                }
                V::Result { ok_type, err_type, value } => $to::Value::Result {
                    ok_type: $type_fn(ok_type),
                    err_type: $type_fn(err_type),
                    value: match value {
                        Ok(v) => Ok(Box::new($value_fn(*v))),
                        Err(v) => Err(Box::new($value_fn(*v))),
                    },
                },
                V::Record { type_name, fields } => {
                    $to::Value::Record { type_name, fields: fields.into_iter().map(|(n, v)| (n, $value_fn(v))).collect() }
                }
                V::Variant { type_name, case_name, tag, payload } => {
                    $to::Value::Variant { type_name, case_name, tag, payload: payload.into_iter().map($value_fn).collect() }
                }
                V::Tuple(items) => $to::Value::Tuple(items.into_iter().map($value_fn).collect()),
                V::Flags(bits) => $to::Value::Flags(bits),
            }
        }
    };
}

converter!("0.11's value as 0.5's.", to_v05, type_to_v05, v011 => v05);
converter!("0.5's value as 0.11's.", to_v011, type_to_v011, v05 => v011);

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
    fn values_read_as_packr_abi_0_5_3_and_later_write_them() {
        let input = v05::Value::Tuple(vec![
            v05::Value::Option { inner_type: v05::ValueType::Bool, value: None },
            v05::Value::S32(5),
            v05::Value::String("a\"b".into()),
        ]);
        assert_eq!(display(&input), "(none<bool>, 5s32, \"a\\\"b\")");
        assert_eq!(input.to_string(), "(none, 5, \"a\"b\")", "0.5's text differs, which is why both are kept");
    }
}
