//! Component values <-> typed JSON, the value encoding of our chains.
//!
//! The shapes are theater's (`{"U64":1}`, `{"Tuple":[]}`, `{"Record":[["a",..]]}`, ...),
//! extended only where theater's cannot replay exactly:
//!
//! - `{"Resource":{"owned":true,"handle":3}}`: theater records no handle, so two resources
//!   could not be told apart;
//! - `{"Float64":"NaN"}`, `"Infinity"`, `"-Infinity"`: JSON has no non-finite numbers;
//! - `{"Bytes":"<base64>"}` for `list<u8>`: theater's `{"List":[{"U8":1},..]}` costs about
//!   ten characters a byte.
//!
//! Encoding is driven by the component type, so it is canonical: one value has exactly one
//! encoding (`list<u8>` is always `Bytes`, record fields and flags in type order), and
//! re-encoding what a replay observes reproduces the recorded bytes. Decoding also accepts
//! theater's forms (`List` of `U8`).

pub mod diff;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Map, Value, json};
use wasmtime::component::{ResourceAny, ResourceType, Type, Val};

/// Why a value does not fit a type.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{message} (at {path})")]
pub struct ValueError {
    /// Where in the value: `$`, `$.0`, `$.field`, ...
    pub path: String,
    pub message: String,
}

/// How resource handles cross the encoding: the runtime knows which handle a resource
/// value stands for, and which resource a recorded handle names.
pub trait ResourceMap {
    fn handle_of(&mut self, resource: &ResourceAny, ty: &ResourceType) -> Result<u32, String>;
    fn resource_for(&mut self, handle: u32, owned: bool, ty: &ResourceType) -> Result<ResourceAny, String>;
}

/// `{"Resource":{"handle":3,"owned":true}}`. Keys are inserted in sorted order so the
/// bytes are the same whether or not serde_json preserves insertion order.
pub fn resource_json(handle: u32, owned: bool) -> Value {
    let mut fields = Map::with_capacity(2);
    fields.insert("handle".to_string(), json!(handle));
    fields.insert("owned".to_string(), json!(owned));
    tag("Resource", Value::Object(fields))
}

/// A [`ResourceMap`] for values that cannot hold resources (answers files, display).
pub struct NoResources;

impl ResourceMap for NoResources {
    fn handle_of(&mut self, _: &ResourceAny, _: &ResourceType) -> Result<u32, String> {
        Err("resources cannot appear here".into())
    }
    fn resource_for(&mut self, _: u32, _: bool, _: &ResourceType) -> Result<ResourceAny, String> {
        Err("resources cannot appear here".into())
    }
}

/// A [`ResourceMap`] over resources whose handles are already known (freshly minted ones,
/// which cannot be read back from the store without taking them from the guest).
#[derive(Default)]
pub struct KnownHandles(Vec<(ResourceAny, u32)>);

impl KnownHandles {
    pub fn insert(&mut self, resource: ResourceAny, handle: u32) {
        self.0.push((resource, handle));
    }

    pub fn get(&self, resource: &ResourceAny) -> Option<u32> {
        self.0.iter().find(|(r, _)| r == resource).map(|&(_, handle)| handle)
    }
}

impl ResourceMap for KnownHandles {
    fn handle_of(&mut self, resource: &ResourceAny, _: &ResourceType) -> Result<u32, String> {
        self.get(resource).ok_or_else(|| "a resource without a known handle".to_string())
    }
    fn resource_for(&mut self, handle: u32, _: bool, _: &ResourceType) -> Result<ResourceAny, String> {
        self.0
            .iter()
            .find(|&&(_, h)| h == handle)
            .map(|&(r, _)| r)
            .ok_or_else(|| format!("no resource has handle {handle}"))
    }
}

/// Rebuilds `val` (of type `ty`) with every resource in it replaced by `swap(resource,
/// its resource type)`; values without resources come back unchanged.
pub fn map_resources(
    val: Val,
    ty: &Type,
    swap: &mut dyn FnMut(ResourceAny, &ResourceType) -> Result<ResourceAny, String>,
) -> Result<Val, ValueError> {
    let fail = |message: String| err("$", message);
    let boxed = |val: Box<Val>, ty: &Type, swap: &mut dyn FnMut(ResourceAny, &ResourceType) -> Result<ResourceAny, String>| {
        map_resources(*val, ty, swap).map(Box::new)
    };
    Ok(match (ty, val) {
        (Type::Own(rty) | Type::Borrow(rty), Val::Resource(resource)) => Val::Resource(swap(resource, rty).map_err(fail)?),
        (Type::List(list), Val::List(items)) => {
            let item = list.ty();
            Val::List(items.into_iter().map(|v| map_resources(v, &item, swap)).collect::<Result<_, _>>()?)
        }
        (Type::Record(record), Val::Record(fields)) => Val::Record(
            fields
                .into_iter()
                .zip(record.fields())
                .map(|((name, v), field)| Ok((name, map_resources(v, &field.ty, swap)?)))
                .collect::<Result<_, ValueError>>()?,
        ),
        (Type::Tuple(tuple), Val::Tuple(items)) => Val::Tuple(
            items.into_iter().zip(tuple.types()).map(|(v, t)| map_resources(v, &t, swap)).collect::<Result<_, _>>()?,
        ),
        (Type::Variant(variant), Val::Variant(name, payload)) => {
            let case_ty = variant.cases().find(|case| case.name == name).and_then(|case| case.ty);
            let payload = match (payload, case_ty) {
                (Some(v), Some(t)) => Some(boxed(v, &t, swap)?),
                (payload, _) => payload,
            };
            Val::Variant(name, payload)
        }
        (Type::Option(option), Val::Option(Some(v))) => Val::Option(Some(boxed(v, &option.ty(), swap)?)),
        (Type::Result(result), Val::Result(outcome)) => Val::Result(match outcome {
            Ok(Some(v)) => Ok(Some(match result.ok() {
                Some(t) => boxed(v, &t, swap)?,
                None => v,
            })),
            Err(Some(v)) => Err(Some(match result.err() {
                Some(t) => boxed(v, &t, swap)?,
                None => v,
            })),
            other => other,
        }),
        (_, val) => val,
    })
}

/// The arguments of a call, or its results, as one typed value by theater's rule: none is
/// `{"Tuple":[]}`, one is that value, several are a `Tuple` of them.
pub fn encode_args(vals: &[Val], types: &[Type], resources: &mut dyn ResourceMap) -> Result<Value, ValueError> {
    if vals.len() != types.len() {
        return Err(err("$", format!("expected {} values, found {}", types.len(), vals.len())));
    }
    match vals {
        [one] => encode(one, &types[0], resources, "$"),
        _ => {
            let items = vals
                .iter()
                .zip(types)
                .enumerate()
                .map(|(i, (v, t))| encode(v, t, resources, &format!("$.{i}")))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(json!({ "Tuple": items }))
        }
    }
}

/// The inverse of [`encode_args`].
pub fn decode_args(value: &Value, types: &[Type], resources: &mut dyn ResourceMap) -> Result<Vec<Val>, ValueError> {
    match types {
        [one] => Ok(vec![decode(value, one, resources, "$")?]),
        _ => {
            let items = tagged(value, "Tuple", "$")?
                .as_array()
                .ok_or_else(|| err("$", "Tuple must hold an array"))?;
            if items.len() != types.len() {
                return Err(err("$", format!("expected {} values, found {}", types.len(), items.len())));
            }
            items
                .iter()
                .zip(types)
                .enumerate()
                .map(|(i, (v, t))| decode(v, t, resources, &format!("$.{i}")))
                .collect()
        }
    }
}

fn err(path: &str, message: impl Into<String>) -> ValueError {
    ValueError { path: path.to_string(), message: message.into() }
}

fn tag(name: &str, value: Value) -> Value {
    let mut map = Map::with_capacity(1);
    map.insert(name.to_string(), value);
    Value::Object(map)
}

/// Encodes `val` as a value of type `ty`.
pub fn encode(val: &Val, ty: &Type, resources: &mut dyn ResourceMap, path: &str) -> Result<Value, ValueError> {
    let mismatch = || err(path, format!("value {} does not fit type {}", val_kind(val), type_name(ty)));
    Ok(match (ty, val) {
        (Type::Bool, Val::Bool(b)) => tag("Bool", json!(b)),
        (Type::S8, Val::S8(n)) => tag("S8", json!(n)),
        (Type::U8, Val::U8(n)) => tag("U8", json!(n)),
        (Type::S16, Val::S16(n)) => tag("S16", json!(n)),
        (Type::U16, Val::U16(n)) => tag("U16", json!(n)),
        (Type::S32, Val::S32(n)) => tag("S32", json!(n)),
        (Type::U32, Val::U32(n)) => tag("U32", json!(n)),
        (Type::S64, Val::S64(n)) => tag("S64", json!(n)),
        (Type::U64, Val::U64(n)) => tag("U64", json!(n)),
        (Type::Float32, Val::Float32(x)) => tag("Float32", float_json(f64::from(*x), x.is_finite(), || json!(x))),
        (Type::Float64, Val::Float64(x)) => tag("Float64", float_json(*x, x.is_finite(), || json!(x))),
        (Type::Char, Val::Char(c)) => tag("Char", json!(c.to_string())),
        (Type::String, Val::String(s)) => tag("String", json!(s)),
        (Type::List(list), Val::List(items)) => {
            let elem = list.ty();
            if elem == Type::U8 {
                let bytes = items
                    .iter()
                    .map(|v| match v {
                        Val::U8(b) => Ok(*b),
                        _ => Err(mismatch()),
                    })
                    .collect::<Result<Vec<u8>, _>>()?;
                tag("Bytes", json!(BASE64.encode(bytes)))
            } else {
                let items = items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| encode(v, &elem, resources, &format!("{path}[{i}]")))
                    .collect::<Result<Vec<_>, _>>()?;
                tag("List", Value::Array(items))
            }
        }
        (Type::Record(record), Val::Record(fields)) => {
            let mut out = Vec::with_capacity(fields.len());
            let types: Vec<_> = record.fields().map(|f| (f.name.to_string(), f.ty)).collect();
            if types.len() != fields.len() {
                return Err(mismatch());
            }
            for ((name, fty), (vname, v)) in types.iter().zip(fields) {
                if name != vname {
                    return Err(err(path, format!("record field `{vname}` where `{name}` was expected")));
                }
                out.push(json!([name, encode(v, fty, resources, &format!("{path}.{name}"))?]));
            }
            tag("Record", Value::Array(out))
        }
        (Type::Tuple(tuple), Val::Tuple(items)) => {
            let types: Vec<Type> = tuple.types().collect();
            if types.len() != items.len() {
                return Err(mismatch());
            }
            let items = items
                .iter()
                .zip(&types)
                .enumerate()
                .map(|(i, (v, t))| encode(v, t, resources, &format!("{path}.{i}")))
                .collect::<Result<Vec<_>, _>>()?;
            tag("Tuple", Value::Array(items))
        }
        (Type::Variant(variant), Val::Variant(case, payload)) => {
            let case_ty = variant
                .cases()
                .find(|c| c.name == case)
                .ok_or_else(|| err(path, format!("no case `{case}` in the variant")))?
                .ty;
            let payload = encode_optional(payload.as_deref(), case_ty.as_ref(), resources, &format!("{path}.{case}"))
                .ok_or_else(mismatch)??;
            tag("Variant", json!([case, payload]))
        }
        (Type::Enum(e), Val::Enum(case)) => {
            if !e.names().any(|n| n == case) {
                return Err(err(path, format!("no case `{case}` in the enum")));
            }
            tag("Enum", json!(case))
        }
        (Type::Option(opt), Val::Option(inner)) => {
            let inner = match inner {
                None => Value::Null,
                Some(v) => encode(v, &opt.ty(), resources, &format!("{path}?"))?,
            };
            tag("Option", inner)
        }
        (Type::Result(result), Val::Result(outcome)) => {
            let (name, payload, ty) = match outcome {
                Ok(v) => ("Ok", v.as_deref(), result.ok()),
                Err(v) => ("Err", v.as_deref(), result.err()),
            };
            let payload =
                encode_optional(payload, ty.as_ref(), resources, &format!("{path}.{name}")).ok_or_else(mismatch)??;
            tag("Result", tag(name, payload))
        }
        (Type::Flags(flags), Val::Flags(set)) => {
            for name in set {
                if !flags.names().any(|n| n == name) {
                    return Err(err(path, format!("no flag `{name}` in the flags")));
                }
            }
            // Type order, whatever order the value lists them in: one value, one encoding.
            let names: Vec<&str> = flags.names().filter(|n| set.iter().any(|s| s == n)).collect();
            tag("Flags", json!(names))
        }
        (Type::Own(rty) | Type::Borrow(rty), Val::Resource(r)) => {
            let handle = resources.handle_of(r, rty).map_err(|m| err(path, m))?;
            resource_json(handle, matches!(ty, Type::Own(_)))
        }
        (Type::Map(map), Val::Map(entries)) => {
            let (kt, vt) = (map.key(), map.value());
            let entries = entries
                .iter()
                .enumerate()
                .map(|(i, (k, v))| {
                    let p = format!("{path}[{i}]");
                    Ok(json!([encode(k, &kt, resources, &p)?, encode(v, &vt, resources, &p)?]))
                })
                .collect::<Result<Vec<_>, ValueError>>()?;
            tag("Map", Value::Array(entries))
        }
        (Type::Future(_) | Type::Stream(_) | Type::ErrorContext | Type::FixedLengthList(_), _) => {
            return Err(err(path, format!("{} values are not supported", type_name(ty))));
        }
        _ => return Err(mismatch()),
    })
}

/// A case payload: `null` when the case has no type. `None` when value and type disagree
/// on whether there is a payload.
fn encode_optional(
    val: Option<&Val>,
    ty: Option<&Type>,
    resources: &mut dyn ResourceMap,
    path: &str,
) -> Option<Result<Value, ValueError>> {
    match (val, ty) {
        (None, None) => Some(Ok(Value::Null)),
        (Some(v), Some(t)) => Some(encode(v, t, resources, path)),
        _ => None,
    }
}

fn float_json(x: f64, finite: bool, finite_json: impl FnOnce() -> Value) -> Value {
    if finite {
        finite_json()
    } else if x.is_nan() {
        json!("NaN")
    } else if x > 0.0 {
        json!("Infinity")
    } else {
        json!("-Infinity")
    }
}

/// The single `{"Tag": payload}` entry of a typed value, checking the tag.
fn tagged<'v>(value: &'v Value, expected: &str, path: &str) -> Result<&'v Value, ValueError> {
    match value.as_object() {
        Some(map) if map.len() == 1 => map
            .get(expected)
            .ok_or_else(|| err(path, format!("expected a {expected} value, found {}", short(value)))),
        _ => Err(err(path, format!("expected a {expected} value, found {}", short(value)))),
    }
}

fn short(value: &Value) -> String {
    let text = value.to_string();
    if text.len() > 60 { format!("{}...", &text[..text.floor_char_boundary(60)]) } else { text }
}

/// The value of type `ty` whose typed JSON is exactly `text`, as [`encode`] writes it
/// compactly (`{"U32":10}`, `{"Bool":true}`), for booleans and integers; `None` for other
/// types and for any other text, which then takes the general path (parse, check that the
/// text is canonical, [`decode`]). Why: a replay answers most host calls with such a value,
/// and building a serde_json tree only to read one number out of it was a third of the
/// cost of an answer.
pub fn decode_canonical_scalar(text: &[u8], ty: &Type) -> Option<Val> {
    let (tag, signed) = match ty {
        Type::Bool => {
            return match text {
                br#"{"Bool":true}"# => Some(Val::Bool(true)),
                br#"{"Bool":false}"# => Some(Val::Bool(false)),
                _ => None,
            };
        }
        Type::S8 => ("S8", true),
        Type::U8 => ("U8", false),
        Type::S16 => ("S16", true),
        Type::U16 => ("U16", false),
        Type::S32 => ("S32", true),
        Type::U32 => ("U32", false),
        Type::S64 => ("S64", true),
        Type::U64 => ("U64", false),
        _ => return None,
    };
    let number = text.strip_prefix(b"{\"")?.strip_prefix(tag.as_bytes())?.strip_prefix(b"\":")?.strip_suffix(b"}")?;
    let (negative, digits) = match number.strip_prefix(b"-") {
        Some(digits) if signed => (true, digits),
        Some(_) => return None,
        None => (false, number),
    };
    // serde_json writes integers as itoa does: digits only, no leading zero, no `-0`.
    let canonical = match digits {
        [] => false,
        [b'0'] => !negative,
        [first, ..] => *first != b'0' && digits.len() <= 20 && digits.iter().all(u8::is_ascii_digit),
    };
    if !canonical {
        return None;
    }
    let magnitude: u64 = std::str::from_utf8(digits).ok()?.parse().ok()?;
    let n = if negative { -i128::from(magnitude) } else { i128::from(magnitude) };
    Some(match ty {
        Type::S8 => Val::S8(i8::try_from(n).ok()?),
        Type::U8 => Val::U8(u8::try_from(n).ok()?),
        Type::S16 => Val::S16(i16::try_from(n).ok()?),
        Type::U16 => Val::U16(u16::try_from(n).ok()?),
        Type::S32 => Val::S32(i32::try_from(n).ok()?),
        Type::U32 => Val::U32(u32::try_from(n).ok()?),
        Type::S64 => Val::S64(i64::try_from(n).ok()?),
        Type::U64 => Val::U64(u64::try_from(n).ok()?),
        _ => return None,
    })
}

/// Decodes a typed value as type `ty`.
pub fn decode(value: &Value, ty: &Type, resources: &mut dyn ResourceMap, path: &str) -> Result<Val, ValueError> {
    macro_rules! int {
        ($tag:literal, $variant:ident, $t:ty) => {{
            let v = tagged(value, $tag, path)?;
            let n = v
                .as_i64()
                .map(i128::from)
                .or_else(|| v.as_u64().map(i128::from))
                .and_then(|n| <$t>::try_from(n).ok())
                .ok_or_else(|| err(path, format!("{} is not a {}", v, $tag)))?;
            Val::$variant(n)
        }};
    }
    Ok(match ty {
        Type::Bool => Val::Bool(
            tagged(value, "Bool", path)?
                .as_bool()
                .ok_or_else(|| err(path, "Bool must be true or false"))?,
        ),
        Type::S8 => int!("S8", S8, i8),
        Type::U8 => int!("U8", U8, u8),
        Type::S16 => int!("S16", S16, i16),
        Type::U16 => int!("U16", U16, u16),
        Type::S32 => int!("S32", S32, i32),
        Type::U32 => int!("U32", U32, u32),
        Type::S64 => int!("S64", S64, i64),
        Type::U64 => int!("U64", U64, u64),
        Type::Float32 => Val::Float32(decode_float::<f32>(tagged(value, "Float32", path)?, path)?),
        Type::Float64 => Val::Float64(decode_float::<f64>(tagged(value, "Float64", path)?, path)?),
        Type::Char => {
            let s = tagged(value, "Char", path)?.as_str().unwrap_or_default();
            let mut chars = s.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) => Val::Char(c),
                _ => return Err(err(path, "Char must hold exactly one character")),
            }
        }
        Type::String => Val::String(
            tagged(value, "String", path)?
                .as_str()
                .ok_or_else(|| err(path, "String must hold a string"))?
                .to_string(),
        ),
        Type::List(list) => {
            let elem = list.ty();
            if let Some(b64) = value.get("Bytes") {
                if elem != Type::U8 {
                    return Err(err(path, "Bytes is only for list<u8>"));
                }
                let bytes = b64
                    .as_str()
                    .and_then(|s| BASE64.decode(s).ok())
                    .ok_or_else(|| err(path, "Bytes must hold base64 text"))?;
                Val::List(bytes.into_iter().map(Val::U8).collect())
            } else {
                let items = tagged(value, "List", path)?
                    .as_array()
                    .ok_or_else(|| err(path, "List must hold an array"))?;
                Val::List(
                    items
                        .iter()
                        .enumerate()
                        .map(|(i, v)| decode(v, &elem, resources, &format!("{path}[{i}]")))
                        .collect::<Result<_, _>>()?,
                )
            }
        }
        Type::Record(record) => {
            let fields = tagged(value, "Record", path)?
                .as_array()
                .ok_or_else(|| err(path, "Record must hold an array of [name, value] pairs"))?;
            let types: Vec<_> = record.fields().map(|f| (f.name.to_string(), f.ty)).collect();
            if fields.len() != types.len() {
                return Err(err(path, format!("expected {} record fields, found {}", types.len(), fields.len())));
            }
            let mut out = Vec::with_capacity(types.len());
            for ((name, fty), pair) in types.into_iter().zip(fields) {
                let (recorded_name, v) = match pair.as_array().map(Vec::as_slice) {
                    Some([Value::String(n), v]) => (n, v),
                    _ => return Err(err(path, "Record fields must be [name, value] pairs")),
                };
                if *recorded_name != name {
                    return Err(err(path, format!("record field `{recorded_name}` where `{name}` was expected")));
                }
                let v = decode(v, &fty, resources, &format!("{path}.{name}"))?;
                out.push((name, v));
            }
            Val::Record(out)
        }
        Type::Tuple(tuple) => {
            let items = tagged(value, "Tuple", path)?
                .as_array()
                .ok_or_else(|| err(path, "Tuple must hold an array"))?;
            let types: Vec<Type> = tuple.types().collect();
            if items.len() != types.len() {
                return Err(err(path, format!("expected a {}-tuple, found {} values", types.len(), items.len())));
            }
            Val::Tuple(
                items
                    .iter()
                    .zip(&types)
                    .enumerate()
                    .map(|(i, (v, t))| decode(v, t, resources, &format!("{path}.{i}")))
                    .collect::<Result<_, _>>()?,
            )
        }
        Type::Variant(variant) => {
            let (case, payload) = match tagged(value, "Variant", path)?.as_array().map(Vec::as_slice) {
                Some([Value::String(case), payload]) => (case, payload),
                _ => return Err(err(path, "Variant must hold [case, value or null]")),
            };
            let case_ty = variant
                .cases()
                .find(|c| c.name == case)
                .ok_or_else(|| err(path, format!("no case `{case}` in the variant")))?
                .ty;
            let payload = decode_optional(payload, case_ty.as_ref(), resources, &format!("{path}.{case}"))?;
            Val::Variant(case.clone(), payload)
        }
        Type::Enum(e) => {
            let case = tagged(value, "Enum", path)?
                .as_str()
                .ok_or_else(|| err(path, "Enum must hold a case name"))?;
            if !e.names().any(|n| n == case) {
                return Err(err(path, format!("no case `{case}` in the enum")));
            }
            Val::Enum(case.to_string())
        }
        Type::Option(opt) => match tagged(value, "Option", path)? {
            Value::Null => Val::Option(None),
            inner => Val::Option(Some(Box::new(decode(inner, &opt.ty(), resources, &format!("{path}?"))?))),
        },
        Type::Result(result) => {
            let outcome = tagged(value, "Result", path)?;
            if let Some(ok) = outcome.get("Ok") {
                Val::Result(Ok(decode_optional(ok, result.ok().as_ref(), resources, &format!("{path}.Ok"))?))
            } else if let Some(e) = outcome.get("Err") {
                Val::Result(Err(decode_optional(e, result.err().as_ref(), resources, &format!("{path}.Err"))?))
            } else {
                return Err(err(path, "Result must hold {\"Ok\": ..} or {\"Err\": ..}"));
            }
        }
        Type::Flags(flags) => {
            let names = tagged(value, "Flags", path)?
                .as_array()
                .ok_or_else(|| err(path, "Flags must hold an array of names"))?;
            let mut out = Vec::with_capacity(names.len());
            for name in names {
                let name = name.as_str().ok_or_else(|| err(path, "flag names must be strings"))?;
                if !flags.names().any(|n| n == name) {
                    return Err(err(path, format!("no flag `{name}` in the flags")));
                }
                out.push(name.to_string());
            }
            Val::Flags(out)
        }
        Type::Own(rty) | Type::Borrow(rty) => {
            let r = tagged(value, "Resource", path)?;
            let handle = r
                .get("handle")
                .and_then(Value::as_u64)
                .and_then(|h| u32::try_from(h).ok())
                .ok_or_else(|| {
                    err(path, "the resource has no handle (theater's chains record none, so they cannot replay resources)")
                })?;
            let owned = matches!(ty, Type::Own(_));
            Val::Resource(resources.resource_for(handle, owned, rty).map_err(|m| err(path, m))?)
        }
        Type::Map(map) => {
            let entries = tagged(value, "Map", path)?
                .as_array()
                .ok_or_else(|| err(path, "Map must hold an array of [key, value] pairs"))?;
            let (kt, vt) = (map.key(), map.value());
            let mut out = Vec::with_capacity(entries.len());
            for (i, entry) in entries.iter().enumerate() {
                let p = format!("{path}[{i}]");
                match entry.as_array().map(Vec::as_slice) {
                    Some([k, v]) => out.push((decode(k, &kt, resources, &p)?, decode(v, &vt, resources, &p)?)),
                    _ => return Err(err(&p, "Map entries must be [key, value] pairs")),
                }
            }
            Val::Map(out)
        }
        Type::Future(_) | Type::Stream(_) | Type::ErrorContext | Type::FixedLengthList(_) => {
            return Err(err(path, format!("{} values are not supported", type_name(ty))));
        }
    })
}

fn decode_optional(
    value: &Value,
    ty: Option<&Type>,
    resources: &mut dyn ResourceMap,
    path: &str,
) -> Result<Option<Box<Val>>, ValueError> {
    match (value, ty) {
        (Value::Null, None) => Ok(None),
        (v, Some(t)) => Ok(Some(Box::new(decode(v, t, resources, path)?))),
        (_, None) => Err(err(path, "this case carries no value")),
    }
}

/// Parses the number's own text at the target width: going through f64 first could round
/// an f32 twice.
fn decode_float<F: std::str::FromStr + From<f32>>(value: &Value, path: &str) -> Result<F, ValueError> {
    match value {
        Value::Number(n) => n.to_string().parse::<F>().map_err(|_| err(path, format!("{n} is not a float"))),
        Value::String(s) => match s.as_str() {
            "NaN" => Ok(F::from(f32::NAN)),
            "Infinity" => Ok(F::from(f32::INFINITY)),
            "-Infinity" => Ok(F::from(f32::NEG_INFINITY)),
            _ => Err(err(path, format!("`{s}` is not a float"))),
        },
        _ => Err(err(path, "a float must be a number, \"NaN\", \"Infinity\" or \"-Infinity\"")),
    }
}

fn val_kind(val: &Val) -> &'static str {
    match val {
        Val::Bool(_) => "bool",
        Val::S8(_) => "s8",
        Val::U8(_) => "u8",
        Val::S16(_) => "s16",
        Val::U16(_) => "u16",
        Val::S32(_) => "s32",
        Val::U32(_) => "u32",
        Val::S64(_) => "s64",
        Val::U64(_) => "u64",
        Val::Float32(_) => "f32",
        Val::Float64(_) => "f64",
        Val::Char(_) => "char",
        Val::String(_) => "string",
        Val::List(_) => "list",
        Val::Map(_) => "map",
        Val::Record(_) => "record",
        Val::Tuple(_) => "tuple",
        Val::Variant(..) => "variant",
        Val::Enum(_) => "enum",
        Val::Option(_) => "option",
        Val::Result(_) => "result",
        Val::Flags(_) => "flags",
        Val::Resource(_) => "resource",
        Val::Future(_) => "future",
        Val::Stream(_) => "stream",
        Val::ErrorContext(_) => "error-context",
        Val::FixedLengthList(_) => "fixed-length list",
    }
}

/// A short name of a type for messages.
pub fn type_name(ty: &Type) -> &'static str {
    match ty {
        Type::Bool => "bool",
        Type::S8 => "s8",
        Type::U8 => "u8",
        Type::S16 => "s16",
        Type::U16 => "u16",
        Type::S32 => "s32",
        Type::U32 => "u32",
        Type::S64 => "s64",
        Type::U64 => "u64",
        Type::Float32 => "f32",
        Type::Float64 => "f64",
        Type::Char => "char",
        Type::String => "string",
        Type::List(_) => "list",
        Type::Map(_) => "map",
        Type::Record(_) => "record",
        Type::Tuple(_) => "tuple",
        Type::Variant(_) => "variant",
        Type::Enum(_) => "enum",
        Type::Option(_) => "option",
        Type::Result(_) => "result",
        Type::Flags(_) => "flags",
        Type::Own(_) => "own",
        Type::Borrow(_) => "borrow",
        Type::Future(_) => "future",
        Type::Stream(_) => "stream",
        Type::ErrorContext => "error-context",
        Type::FixedLengthList(_) => "fixed-length list",
    }
}

/// Renders a typed value as WAVE text (the value syntax of `wasmtime run --invoke`), for
/// people: reports and `inspect`. Needs no component type: typed values say what they are.
/// Falls back to compact JSON for anything that is not a typed value.
pub fn to_wave(value: &Value) -> String {
    match untyped_val(value) {
        Some(val) => wasmtime::component::wasm_wave::to_string(&val).unwrap_or_else(|_| value.to_string()),
        None => value.to_string(),
    }
}

/// Arguments as WAVE, `(a, b)`, by the rule of [`encode_args`]; `arity` decides whether a
/// `Tuple` is one argument or the argument list.
pub fn args_to_wave(value: &Value, arity: Option<usize>) -> String {
    let as_list = match arity {
        Some(1) => false,
        Some(_) => true,
        None => value.get("Tuple").is_some(),
    };
    match value.get("Tuple").and_then(Value::as_array) {
        Some(items) if as_list => items.iter().map(to_wave).collect::<Vec<_>>().join(", "),
        _ => to_wave(value),
    }
}

/// Arguments as values, by the rule of [`args_to_wave`] without an arity: a `Tuple` is the
/// argument list, anything else the one argument.
pub fn untyped_args(value: &Value) -> Option<Vec<Val>> {
    match value.get("Tuple").and_then(Value::as_array) {
        Some(items) => items.iter().map(untyped_val).collect(),
        None => Some(vec![untyped_val(value)?]),
    }
}

/// Builds a `Val` from a self-describing typed value, for display only. Resources become
/// the WAVE-shaped `own(3)` / `borrow(3)`, which WAVE itself cannot express.
pub fn untyped_val(value: &Value) -> Option<Val> {
    let map = value.as_object()?;
    let (tag, v) = map.iter().next().filter(|_| map.len() == 1)?;
    Some(match tag.as_str() {
        "Bool" => Val::Bool(v.as_bool()?),
        "S8" | "S16" | "S32" | "S64" => Val::S64(v.as_i64()?),
        "U8" | "U16" | "U32" | "U64" => Val::U64(v.as_u64()?),
        "Float32" | "Float64" => Val::Float64(decode_float::<f64>(v, "$").ok()?),
        "Char" => Val::Char(v.as_str()?.chars().next()?),
        "String" => Val::String(v.as_str()?.to_string()),
        "Bytes" => Val::List(BASE64.decode(v.as_str()?).ok()?.into_iter().map(Val::U8).collect()),
        "List" => Val::List(v.as_array()?.iter().map(untyped_val).collect::<Option<_>>()?),
        "Tuple" => Val::Tuple(v.as_array()?.iter().map(untyped_val).collect::<Option<_>>()?),
        "Record" => Val::Record(
            v.as_array()?
                .iter()
                .map(|pair| match pair.as_array()?.as_slice() {
                    [Value::String(n), v] => Some((n.clone(), untyped_val(v)?)),
                    _ => None,
                })
                .collect::<Option<_>>()?,
        ),
        "Variant" => match v.as_array()?.as_slice() {
            [Value::String(case), Value::Null] => Val::Variant(case.clone(), None),
            [Value::String(case), p] => Val::Variant(case.clone(), Some(Box::new(untyped_val(p)?))),
            _ => return None,
        },
        "Enum" => Val::Enum(v.as_str()?.to_string()),
        "Option" => Val::Option(match v {
            Value::Null => None,
            inner => Some(Box::new(untyped_val(inner)?)),
        }),
        "Result" => {
            let payload = |p: &Value| -> Option<Option<Box<Val>>> {
                match p {
                    Value::Null => Some(None),
                    p => Some(Some(Box::new(untyped_val(p)?))),
                }
            };
            match (v.get("Ok"), v.get("Err")) {
                (Some(ok), _) => Val::Result(Ok(payload(ok)?)),
                (_, Some(e)) => Val::Result(Err(payload(e)?)),
                _ => return None,
            }
        }
        "Flags" => Val::Flags(v.as_array()?.iter().map(|n| n.as_str().map(String::from)).collect::<Option<_>>()?),
        "Resource" => {
            let kind = if v.get("owned")?.as_bool()? { "own" } else { "borrow" };
            let handle = v.get("handle").and_then(Value::as_u64).map(Val::U64);
            Val::Variant(kind.to_string(), handle.map(Box::new))
        }
        "Map" => Val::List(
            v.as_array()?
                .iter()
                .map(|pair| match pair.as_array()?.as_slice() {
                    [k, v] => Some(Val::Tuple(vec![untyped_val(k)?, untyped_val(v)?])),
                    _ => None,
                })
                .collect::<Option<_>>()?,
        ),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SCALARS: [Type; 9] =
        [Type::Bool, Type::S8, Type::U8, Type::S16, Type::U16, Type::S32, Type::U32, Type::S64, Type::U64];

    /// What the general path makes of `text` as an answer of type `ty`: parsed, proven
    /// canonical (written again identically), decoded.
    fn general(text: &[u8], ty: &Type) -> Option<Val> {
        let value: Value = serde_json::from_slice(text).ok()?;
        (value.is_object() && serde_json::to_vec(&value).ok()? == text).then_some(())?;
        decode(&value, ty, &mut NoResources, "$").ok()
    }

    #[test]
    fn scalars_read_back_as_encoded() {
        let vals = [
            Val::Bool(true),
            Val::Bool(false),
            Val::S8(i8::MIN),
            Val::S8(-1),
            Val::U8(u8::MAX),
            Val::S16(i16::MIN),
            Val::U16(0),
            Val::S32(i32::MAX),
            Val::U32(u32::MAX),
            Val::U32(10),
            Val::S64(i64::MIN),
            Val::S64(0),
            Val::U64(u64::MAX),
        ];
        for val in vals {
            let ty = SCALARS.iter().find(|ty| encode(&val, ty, &mut NoResources, "$").is_ok()).unwrap();
            let text = serde_json::to_vec(&encode(&val, ty, &mut NoResources, "$").unwrap()).unwrap();
            assert_eq!(decode_canonical_scalar(&text, ty), Some(val.clone()), "{}", String::from_utf8_lossy(&text));
        }
    }

    /// Whatever the text, the fast read gives up or agrees with the general path.
    #[test]
    fn scalars_agree_with_the_general_path() {
        let numbers = ["0", "-0", "00", "01", "1", "-1", "+1", "1.0", "1e2", " 1", "255", "256", "-128", "-129",
            "65535", "4294967295", "4294967296", "9223372036854775807", "-9223372036854775808",
            "18446744073709551615", "18446744073709551616", "184467440737095516150", ""];
        for ty in &SCALARS {
            for tag in ["U8", "S8", "U32", "S64", "U64", "Bool", "u32"] {
                for number in numbers.iter().copied().chain(["true", "false", "null"]) {
                    for text in [format!(r#"{{"{tag}":{number}}}"#), format!(r#"{{"{tag}": {number}}}"#), format!(r#"{{"{tag}":{number},"x":1}}"#)] {
                        let fast = decode_canonical_scalar(text.as_bytes(), ty);
                        if fast.is_some() {
                            assert_eq!(fast, general(text.as_bytes(), ty), "{text} as {ty:?}");
                        }
                    }
                }
            }
        }
    }

    proptest! {
        #[test]
        fn any_integer_text_agrees(n in any::<i128>(), tag in prop::sample::select(vec!["S8", "U8", "S16", "U16", "S32", "U32", "S64", "U64"]), zeros in 0usize..2) {
            let text = format!(r#"{{"{tag}":{}{n}}}"#, "0".repeat(zeros));
            for ty in &SCALARS {
                let fast = decode_canonical_scalar(text.as_bytes(), ty);
                if fast.is_some() {
                    prop_assert_eq!(fast, general(text.as_bytes(), ty));
                }
            }
        }
    }
}
