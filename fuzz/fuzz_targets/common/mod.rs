//! Shared by the fuzz targets: real component types (the `zoo` fixture, which has every
//! component value type) and Pack metadata covering every declared Pack type.
#![allow(dead_code)]

use std::sync::LazyLock;
use theater_replay::runtime::pack::types::{FunctionSig, Metadata, Type as PackType, TypeDef};
use wasmtime::component::types::ComponentItem;
use wasmtime::component::{Component, Type};
use wasmtime::Engine;

/// One function of the zoo component: its name as `--invoke` / the answers file spell it.
pub struct Func {
    pub name: String,
    pub params: Vec<Type>,
    pub results: Vec<Type>,
}

pub struct Zoo {
    pub engine: Engine,
    pub component: Component,
    pub exports: Vec<Func>,
    /// Imports by answers-file key, `iface#func` (or `func` at the root).
    pub imports: Vec<Func>,
}

fn funcs(engine: &Engine, items: Vec<(String, ComponentItem)>) -> Vec<Func> {
    let mut out = Vec::new();
    for (name, item) in items {
        match item {
            ComponentItem::ComponentFunc(f) => out.push(Func {
                name,
                params: f.params().map(|(_, t)| t).collect(),
                results: f.results().collect(),
            }),
            ComponentItem::ComponentInstance(instance) => {
                for (func, item) in instance.exports(engine) {
                    if let ComponentItem::ComponentFunc(f) = item.ty {
                        out.push(Func {
                            name: format!("{name}#{func}"),
                            params: f.params().map(|(_, t)| t).collect(),
                            results: f.results().collect(),
                        });
                    }
                }
            }
            _ => {}
        }
    }
    out
}

pub static ZOO: LazyLock<Zoo> = LazyLock::new(|| {
    let engine = theater_replay::runtime::new_engine().expect("engine");
    let component = Component::new(&engine, include_str!("../../../fixtures/components/zoo.wat")).expect("zoo compiles");
    let ty = component.component_type();
    let exports = funcs(&engine, ty.exports(&engine).map(|(n, e)| (n.to_string(), e.ty)).collect());
    let imports = funcs(&engine, ty.imports(&engine).map(|(n, e)| (n.to_string(), e.ty)).collect());
    assert!(exports.len() > 10 && imports.len() > 10, "the zoo's functions");
    Zoo { engine, component, exports, imports }
});

fn named(name: &str) -> PackType {
    PackType::Named(name.to_string())
}

fn boxed(t: PackType) -> Box<PackType> {
    Box::new(t)
}

/// Every declared Pack type, with named records and variants (one of them recursive).
pub fn pack_type_defs() -> Vec<TypeDef> {
    vec![
        TypeDef::Record {
            name: "actor-state".into(),
            fields: vec![("count".into(), PackType::S32), ("items".into(), PackType::List(boxed(PackType::String)))],
        },
        TypeDef::Record {
            name: "point".into(),
            fields: vec![("x".into(), PackType::F64), ("y".into(), PackType::F32), ("label".into(), PackType::Char)],
        },
        TypeDef::Variant {
            name: "shape".into(),
            cases: vec![
                ("circle".into(), named("point")),
                ("square".into(), PackType::U16),
                ("nothing".into(), PackType::Unit),
                ("several".into(), PackType::Tuple(vec![PackType::S8, PackType::U64])),
            ],
        },
        TypeDef::Variant {
            name: "tree".into(),
            cases: vec![
                ("leaf".into(), PackType::U8),
                ("node".into(), PackType::Tuple(vec![named("tree"), named("tree")])),
            ],
        },
    ]
}

/// The types an answer or an argument may be given for.
pub fn pack_types() -> Vec<PackType> {
    use PackType::*;
    vec![
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
        List(boxed(U8)),
        List(boxed(named("point"))),
        Option(boxed(List(boxed(U8)))),
        Result { ok: boxed(U32), err: boxed(String) },
        Result { ok: boxed(Unit), err: boxed(Unit) },
        Tuple(vec![]),
        Tuple(vec![Bool, named("shape"), Option(boxed(S64))]),
        named("actor-state"),
        named("point"),
        named("shape"),
        named("tree"),
        named("undefined"),
        Value,
    ]
}

/// A Pack actor's metadata with one import and one export per type in [`pack_types`]
/// (the export's first parameter is the state, as in theater).
pub static PACK: LazyLock<Metadata> = LazyLock::new(|| {
    let defs = pack_type_defs();
    let types = pack_types();
    let sig = |interface: &str, name: String, params: Vec<(std::string::String, PackType)>, results: Vec<PackType>| FunctionSig {
        interface: interface.to_string(),
        name,
        params,
        results,
        type_defs: defs.clone(),
    };
    let imports = types.iter().enumerate().map(|(i, t)| sig("fuzz:host/io", format!("f{i}"), vec![], vec![t.clone()])).collect();
    let mut exports: Vec<FunctionSig> = types
        .iter()
        .enumerate()
        .map(|(i, t)| {
            sig("fuzz:actor/api", format!("f{i}"), vec![("state".into(), named("actor-state")), ("a".into(), t.clone())], vec![])
        })
        .collect();
    exports.push(sig(
        "fuzz:actor/api",
        "two".into(),
        vec![("state".into(), PackType::Value), ("a".into(), PackType::String), ("b".into(), named("shape"))],
        vec![],
    ));
    exports.push(sig("theater:simple/actor", "init".into(), vec![("state".into(), PackType::Value)], vec![]));
    Metadata { imports, exports }
});

/// An error shown to a person is one line, with no control characters, of bounded length.
pub fn one_line(message: &str, limit: usize) {
    assert!(!message.chars().any(char::is_control), "control characters in an error: {message:?}");
    assert!(message.chars().count() <= limit, "an error of {} chars: {message:.300}", message.chars().count());
}
