//! A Pack actor's type metadata (what its `__pack_types` export returns) and theater 0.3.8's
//! check of a value against a declared type, with theater's exact error texts.
//!
//! Both live in the `packr` 0.5 runtime crate, not in `packr-abi`; `packr` links wasmtime 27
//! (a second, older wasmtime beside our pinned 48, several minutes of build), so they are
//! written here from the format's rules. Their texts end up in recorded `wasm-error` events
//! ("State type mismatch for 'f': expected option, got tuple<0>"), so every message and the
//! order of the checks follow packr 0.5 exactly; the tests pin them.

use packr_abi::Value;

/// A declared type, as the metadata describes it.
#[derive(Debug, Clone, PartialEq)]
pub enum Type {
    Unit,
    Bool,
    U8,
    U16,
    U32,
    U64,
    S8,
    S16,
    S32,
    S64,
    F32,
    F64,
    Char,
    String,
    List(Box<Type>),
    Option(Box<Type>),
    Result { ok: Box<Type>, err: Box<Type> },
    Tuple(Vec<Type>),
    /// A named record or variant, resolved through the definitions in scope.
    Named(String),
    /// Any value (packr's escape hatch).
    Value,
}

/// A named type's definition.
#[derive(Debug, Clone, PartialEq)]
pub enum TypeDef {
    Record { name: String, fields: Vec<(String, Type)> },
    Variant { name: String, cases: Vec<(String, Type)> },
}

impl TypeDef {
    fn name(&self) -> &str {
        match self {
            TypeDef::Record { name, .. } | TypeDef::Variant { name, .. } => name,
        }
    }
}

/// One function of the metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionSig {
    pub interface: String,
    pub name: String,
    pub params: Vec<(String, Type)>,
    pub results: Vec<Type>,
    /// The named types defined up to and including this function's signature, in the order
    /// the metadata lists them: packr resolves a function's names in exactly this set.
    pub type_defs: Vec<TypeDef>,
}

impl FunctionSig {
    /// The export's name as theater calls it: `interface.name`.
    pub fn full_name(&self) -> String {
        format!("{}.{}", self.interface, self.name)
    }
}

/// What `__pack_types` says about the actor.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Metadata {
    pub imports: Vec<FunctionSig>,
    pub exports: Vec<FunctionSig>,
}

impl Metadata {
    /// Every variant type the imports and exports define, as its name and case names in
    /// tag order: what restores the tags theater's text run log leaves out.
    pub fn variants(&self) -> crate::chain::textlog::ActorVariants {
        let defs = self.imports.iter().chain(&self.exports).flat_map(|f| &f.type_defs);
        crate::chain::textlog::ActorVariants::new(defs.filter_map(|def| match def {
            TypeDef::Variant { name, cases } => Some((name.clone(), cases.iter().map(|(case, _)| case.clone()).collect())),
            TypeDef::Record { .. } => None,
        }))
    }

    /// The export theater would call for `full_name` (`interface.function`).
    pub fn export(&self, full_name: &str) -> Option<&FunctionSig> {
        self.exports.iter().find(|f| {
            full_name.strip_prefix(f.interface.as_str()).and_then(|rest| rest.strip_prefix('.')) == Some(f.name.as_str())
        })
    }

    /// Decodes the metadata Value. Fields and shapes packr does not read are passed over as
    /// packr passes them over.
    pub fn from_value(value: Value) -> Result<Metadata, String> {
        let Value::Record { fields, .. } = value else { return Err("expected record at top level".into()) };
        let mut defs = Vec::new();
        let mut metadata = Metadata::default();
        for (name, value) in fields {
            match name.as_str() {
                "imports" => metadata.imports = functions(value, &mut defs)?,
                "exports" => metadata.exports = functions(value, &mut defs)?,
                _ => {}
            }
        }
        Ok(metadata)
    }
}

fn items(value: Value, what: &str) -> Result<Vec<Value>, String> {
    match value {
        Value::List { items, .. } => Ok(items),
        _ => Err(format!("expected list of {what}")),
    }
}

fn string(value: Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s),
        _ => None,
    }
}

fn functions(value: Value, defs: &mut Vec<TypeDef>) -> Result<Vec<FunctionSig>, String> {
    items(value, "function signatures")?.into_iter().map(|f| function(f, defs)).collect()
}

fn function(value: Value, defs: &mut Vec<TypeDef>) -> Result<FunctionSig, String> {
    let Value::Record { fields, .. } = value else { return Err("expected record for function signature".into()) };
    let mut sig = FunctionSig {
        interface: String::new(),
        name: String::new(),
        params: Vec::new(),
        results: Vec::new(),
        type_defs: Vec::new(),
    };
    for (name, value) in fields {
        match name.as_str() {
            "interface" => sig.interface = string(value).unwrap_or(sig.interface),
            "name" => sig.name = string(value).unwrap_or(sig.name),
            "params" => {
                sig.params = items(value, "parameters")?
                    .into_iter()
                    .map(|p| named_type(p, defs, "parameter"))
                    .collect::<Result<_, _>>()?
            }
            "results" => sig.results = items(value, "types")?.into_iter().map(|t| ty(t, defs)).collect::<Result<_, _>>()?,
            _ => {}
        }
    }
    sig.type_defs = defs.clone();
    Ok(sig)
}

/// A `{name, type}` record (a parameter or a record field).
fn named_type(value: Value, defs: &mut Vec<TypeDef>, what: &str) -> Result<(String, Type), String> {
    let Value::Record { fields, .. } = value else { return Err(format!("expected record for {what}")) };
    let (mut name, mut t) = (String::new(), Type::Value);
    for (field, value) in fields {
        match field.as_str() {
            "name" => name = string(value).unwrap_or(name),
            "type" => t = ty(value, defs)?,
            _ => {}
        }
    }
    Ok((name, t))
}

fn only_payload(payload: Vec<Value>, what: &str) -> Result<Value, String> {
    payload.into_iter().next().ok_or_else(|| format!("{what} missing"))
}

/// A type descriptor: a variant whose tag says which type (packr's metadata tags).
fn ty(value: Value, defs: &mut Vec<TypeDef>) -> Result<Type, String> {
    let Value::Variant { tag, payload, .. } = value else { return Err("expected variant for type".into()) };
    Ok(match tag {
        0 => Type::Bool,
        1 => Type::U8,
        2 => Type::U16,
        3 => Type::U32,
        4 => Type::U64,
        5 => Type::S8,
        6 => Type::S16,
        7 => Type::S32,
        8 => Type::S64,
        9 => Type::F32,
        10 => Type::F64,
        11 => Type::Char,
        12 => Type::String,
        // packr names flags by a reference no definition ever satisfies.
        13 => Type::Named("flags".into()),
        14 => Type::List(Box::new(ty(only_payload(payload, "list element type")?, defs)?)),
        15 => Type::Option(Box::new(ty(only_payload(payload, "option inner type")?, defs)?)),
        16 => {
            let Value::Record { fields, .. } = only_payload(payload, "result payload")? else {
                return Err("result payload not a record".into());
            };
            let (mut ok, mut err) = (Type::Unit, Type::Unit);
            for (name, value) in fields {
                match name.as_str() {
                    "ok" => ok = ty(value, defs)?,
                    "err" => err = ty(value, defs)?,
                    _ => {}
                }
            }
            Type::Result { ok: Box::new(ok), err: Box::new(err) }
        }
        17 | 18 => named_def(tag == 17, only_payload(payload, "record or variant payload")?, defs)?,
        19 => match only_payload(payload, "tuple payload")? {
            Value::List { items, .. } => Type::Tuple(items.into_iter().map(|t| ty(t, defs)).collect::<Result<_, _>>()?),
            _ => return Err("tuple payload not a list".into()),
        },
        20 => Type::Value,
        21 => Type::Unit,
        other => return Err(format!("unknown type tag: {other}")),
    })
}

/// A record (`fields`) or variant (`cases`) definition; the first definition of a name wins.
fn named_def(is_record: bool, value: Value, defs: &mut Vec<TypeDef>) -> Result<Type, String> {
    let Value::Record { fields, .. } = value else { return Err("record or variant payload not a record".into()) };
    let mut name = String::new();
    let mut members = Vec::new();
    for (field, value) in fields {
        match (field.as_str(), value) {
            ("name", value) => name = string(value).unwrap_or(name),
            ("fields", Value::List { items, .. }) if is_record => {
                for item in items {
                    if matches!(item, Value::Record { .. }) {
                        members.push(named_type(item, defs, "field")?);
                    }
                }
            }
            ("cases", Value::List { items, .. }) if !is_record => {
                for item in items {
                    let Value::Record { fields, .. } = item else { continue };
                    let (mut case, mut payload) = (String::new(), Type::Unit);
                    for (field, value) in fields {
                        match (field.as_str(), value) {
                            ("name", value) => case = string(value).unwrap_or(case),
                            ("payload", Value::Option { value: Some(inner), .. }) => payload = ty(*inner, defs)?,
                            _ => {}
                        }
                    }
                    members.push((case, payload));
                }
            }
            _ => {}
        }
    }
    if !name.is_empty() && !members.is_empty() && !defs.iter().any(|d| d.name() == name) {
        defs.push(if is_record {
            TypeDef::Record { name: name.clone(), fields: members }
        } else {
            TypeDef::Variant { name: name.clone(), cases: members }
        });
    }
    Ok(Type::Named(name))
}

/// Why a value is not of a type; `Display` is packr's text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Mismatch {
    #[error("expected {expected}, got {got}")]
    Type { expected: String, got: String },
    #[error("record '{record}' missing field '{field}'")]
    MissingField { record: String, field: String },
    #[error("record '{record}' has unexpected field '{field}'")]
    ExtraField { record: String, field: String },
    #[error("variant '{variant}' has no case '{case}'")]
    UnknownCase { variant: String, case: String },
    #[error("unresolved type reference '{0}'")]
    Unresolved(String),
    #[error("expected {expected} elements, got {got}")]
    Arity { expected: usize, got: usize },
    #[error("in {context}: {inner}")]
    Nested { context: String, inner: Box<Mismatch> },
}

fn nested(context: impl Into<String>) -> impl FnOnce(Mismatch) -> Mismatch {
    let context = context.into();
    move |inner| Mismatch::Nested { context, inner: Box::new(inner) }
}

/// How packr names a value's type in a mismatch.
pub fn value_type_name(value: &Value) -> String {
    match value {
        Value::Bool(_) => "bool".into(),
        Value::U8(_) => "u8".into(),
        Value::U16(_) => "u16".into(),
        Value::U32(_) => "u32".into(),
        Value::U64(_) => "u64".into(),
        Value::S8(_) => "s8".into(),
        Value::S16(_) => "s16".into(),
        Value::S32(_) => "s32".into(),
        Value::S64(_) => "s64".into(),
        Value::F32(_) => "f32".into(),
        Value::F64(_) => "f64".into(),
        Value::Char(_) => "char".into(),
        Value::String(_) => "string".into(),
        Value::List { .. } => "list".into(),
        Value::Option { .. } => "option".into(),
        Value::Result { .. } => "result".into(),
        Value::Record { type_name, .. } => format!("record '{type_name}'"),
        Value::Variant { type_name, case_name, .. } => format!("variant '{type_name}' (case '{case_name}')"),
        Value::Tuple(items) => format!("tuple<{}>", items.len()),
        Value::Flags(_) => "flags".into(),
    }
}

fn mismatch(expected: &str, value: &Value) -> Mismatch {
    Mismatch::Type { expected: expected.into(), got: value_type_name(value) }
}

/// Whether `value` inhabits `expected`, resolving names in `defs`, as theater 0.3.8 checks
/// states and results.
pub fn check(value: &Value, expected: &Type, defs: &[TypeDef]) -> Result<(), Mismatch> {
    let primitive = |name: &str, ok: bool| if ok { Ok(()) } else { Err(mismatch(name, value)) };
    match expected {
        Type::Value => Ok(()),
        Type::Unit => match value {
            Value::Tuple(items) if items.is_empty() => Ok(()),
            _ => Err(mismatch("unit", value)),
        },
        Type::Bool => primitive("bool", matches!(value, Value::Bool(_))),
        Type::U8 => primitive("u8", matches!(value, Value::U8(_))),
        Type::U16 => primitive("u16", matches!(value, Value::U16(_))),
        Type::U32 => primitive("u32", matches!(value, Value::U32(_))),
        Type::U64 => primitive("u64", matches!(value, Value::U64(_))),
        Type::S8 => primitive("s8", matches!(value, Value::S8(_))),
        Type::S16 => primitive("s16", matches!(value, Value::S16(_))),
        Type::S32 => primitive("s32", matches!(value, Value::S32(_))),
        Type::S64 => primitive("s64", matches!(value, Value::S64(_))),
        Type::F32 => primitive("f32", matches!(value, Value::F32(_))),
        Type::F64 => primitive("f64", matches!(value, Value::F64(_))),
        Type::Char => primitive("char", matches!(value, Value::Char(_))),
        Type::String => primitive("string", matches!(value, Value::String(_))),
        Type::List(elem) => match value {
            Value::List { items, .. } => {
                for (i, item) in items.iter().enumerate() {
                    check(item, elem, defs).map_err(nested(format!("list[{i}]")))?;
                }
                Ok(())
            }
            _ => Err(mismatch("list", value)),
        },
        Type::Option(inner) => match value {
            Value::Option { value: Some(v), .. } => check(v, inner, defs).map_err(nested("option::some")),
            Value::Option { value: None, .. } => Ok(()),
            _ => Err(mismatch("option", value)),
        },
        Type::Result { ok, err } => match value {
            Value::Result { value: Ok(v), .. } => check(v, ok, defs).map_err(nested("result::ok")),
            Value::Result { value: Err(v), .. } => check(v, err, defs).map_err(nested("result::err")),
            _ => Err(mismatch("result", value)),
        },
        Type::Tuple(types) => match value {
            Value::Tuple(items) => {
                if types.len() != items.len() {
                    return Err(Mismatch::Arity { expected: types.len(), got: items.len() });
                }
                for (i, (t, v)) in types.iter().zip(items).enumerate() {
                    check(v, t, defs).map_err(nested(format!("tuple.{i}")))?;
                }
                Ok(())
            }
            _ => Err(mismatch("tuple", value)),
        },
        Type::Named(name) => match defs.iter().find(|d| d.name() == name) {
            Some(TypeDef::Record { name, fields }) => check_record(value, name, fields, defs),
            Some(TypeDef::Variant { name, cases }) => check_variant(value, name, cases, defs),
            None => Err(Mismatch::Unresolved(name.clone())),
        },
    }
}

fn check_record(value: &Value, record: &str, expected: &[(String, Type)], defs: &[TypeDef]) -> Result<(), Mismatch> {
    let Value::Record { fields, .. } = value else {
        return Err(Mismatch::Type { expected: format!("record '{record}'"), got: value_type_name(value) });
    };
    if let Some((field, _)) = expected.iter().find(|(name, _)| !fields.iter().any(|(n, _)| n == name)) {
        return Err(Mismatch::MissingField { record: record.into(), field: field.clone() });
    }
    if let Some((field, _)) = fields.iter().find(|(name, _)| !expected.iter().any(|(n, _)| n == name)) {
        return Err(Mismatch::ExtraField { record: record.into(), field: field.clone() });
    }
    for (name, v) in fields {
        if let Some((_, t)) = expected.iter().find(|(n, _)| n == name) {
            check(v, t, defs).map_err(nested(format!("field '{name}'")))?;
        }
    }
    Ok(())
}

fn check_variant(value: &Value, variant: &str, cases: &[(String, Type)], defs: &[TypeDef]) -> Result<(), Mismatch> {
    let Value::Variant { case_name, payload, .. } = value else {
        return Err(Mismatch::Type { expected: format!("variant '{variant}'"), got: value_type_name(value) });
    };
    let Some((_, case_type)) = cases.iter().find(|(name, _)| name == case_name) else {
        return Err(Mismatch::UnknownCase { variant: variant.into(), case: case_name.clone() });
    };
    let in_case = nested(format!("case '{case_name}'"));
    match (case_type, payload.as_slice()) {
        (Type::Unit, []) => Ok(()),
        (Type::Unit, more) => Err(in_case(Mismatch::Arity { expected: 0, got: more.len() })),
        (t, [one]) => check(one, t, defs).map_err(in_case),
        (_, other) => Err(in_case(Mismatch::Arity { expected: 1, got: other.len() })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use packr_abi::ValueType;

    fn state_def() -> Vec<TypeDef> {
        vec![TypeDef::Record { name: "actor-state".into(), fields: vec![("count".into(), Type::S32)] }]
    }

    #[test]
    fn messages_are_packrs() {
        let unit = Value::Tuple(vec![]);
        let none = Value::Option { inner_type: ValueType::Bool, value: None };
        let state_type = Type::Option(Box::new(Type::List(Box::new(Type::U8))));
        assert_eq!(check(&unit, &state_type, &[]).unwrap_err().to_string(), "expected option, got tuple<0>");
        assert!(check(&none, &state_type, &[]).is_ok());
        let ok = Value::Variant { type_name: "result".into(), case_name: "ok".into(), tag: 0, payload: vec![unit.clone()] };
        let result_type = Type::Result { ok: Box::new(Type::Unit), err: Box::new(Type::String) };
        assert_eq!(check(&ok, &result_type, &[]).unwrap_err().to_string(), "expected result, got variant 'result' (case 'ok')");
        let state = Value::Record { type_name: "actor-state".into(), fields: vec![("count".into(), Value::U32(1))] };
        let named = Type::Named("actor-state".into());
        assert_eq!(check(&state, &named, &state_def()).unwrap_err().to_string(), "in field 'count': expected s32, got u32");
        assert_eq!(check(&state, &named, &[]).unwrap_err().to_string(), "unresolved type reference 'actor-state'");
        let empty = Value::Record { type_name: "actor-state".into(), fields: vec![] };
        assert_eq!(check(&empty, &named, &state_def()).unwrap_err().to_string(), "record 'actor-state' missing field 'count'");
        let tuple = Value::Tuple(vec![Value::S32(1)]);
        let pair = Type::Tuple(vec![Type::S32, Type::S32]);
        assert_eq!(check(&tuple, &pair, &[]).unwrap_err().to_string(), "expected 2 elements, got 1");
        let list = Value::List { elem_type: ValueType::S32, items: vec![Value::S32(1), Value::S64(2)] };
        assert_eq!(
            check(&list, &Type::List(Box::new(Type::S32)), &[]).unwrap_err().to_string(),
            "in list[1]: expected s32, got s64"
        );
    }

    fn tagged(tag: usize, payload: Vec<Value>) -> Value {
        Value::Variant { type_name: "type-desc".into(), case_name: String::new(), tag, payload }
    }

    fn rec(fields: Vec<(&str, Value)>) -> Value {
        Value::Record { type_name: String::new(), fields: fields.into_iter().map(|(n, v)| (n.into(), v)).collect() }
    }

    fn list(items: Vec<Value>) -> Value {
        Value::List { elem_type: ValueType::Record(String::new()), items }
    }

    #[test]
    fn metadata_decodes_with_definitions_in_scope_from_their_first_use() {
        let record_type = tagged(
            17,
            vec![rec(vec![
                ("name", Value::String("actor-state".into())),
                ("fields", list(vec![rec(vec![("name", Value::String("count".into())), ("type", tagged(7, vec![]))])])),
            ])],
        );
        let func = |name: &str, param: Value| {
            rec(vec![
                ("interface", Value::String("theater:simple/actor".into())),
                ("name", Value::String(name.into())),
                ("params", list(vec![rec(vec![("name", Value::String("state".into())), ("type", param)])])),
                ("results", list(vec![])),
            ])
        };
        let metadata = rec(vec![("imports", list(vec![])), ("exports", list(vec![func("a", tagged(21, vec![])), func("b", record_type)]))]);
        let metadata = Metadata::from_value(metadata).unwrap();
        let a = metadata.export("theater:simple/actor.a").unwrap();
        assert_eq!(a.params[0].1, Type::Unit);
        assert!(a.type_defs.is_empty());
        let b = metadata.export("theater:simple/actor.b").unwrap();
        assert_eq!(b.params[0].1, Type::Named("actor-state".into()));
        assert_eq!(b.type_defs, state_def());
        assert!(metadata.export("theater:simple/actor.c").is_none());
        assert!(metadata.export("theater:simple/actorb").is_none());
        assert!(Metadata::from_value(Value::S32(1)).is_err());
    }
}
