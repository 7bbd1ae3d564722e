//! `verify --coverage`: which of an actor's exports and imports the recorded calls of a
//! corpus of chains exercise. The actor's side comes from its types (a component's WIT
//! through wasmtime's component type API; a Pack actor's `__pack_types` metadata, or its
//! module's exports and imports when it has none); the chains' side is counted as the
//! replay reads each event ([`CallCounter`]), so a corpus is read once, not twice.

use crate::chain::Event;
use crate::dialect::{Dialect, pack::PackPayload, theater_json};
use crate::payload::{HostCall, Payload};
use crate::runtime::pack::{self, AnswerAt, PackActor, PackHost};
use crate::runtime::{Actor, EpochTicker, Limits, Loaded, Runtime};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use wasmtime::component::Component;
use wasmtime::{Caller, Engine, Linker, Store};

/// The recorded calls of one chain or of many: export calls by the export's name, host
/// calls by their event type (`interface/function`), as the chain names them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordedCalls {
    /// Export name (as [`crate::runtime::exports::find`] or theater's Pack chains spell it)
    /// to the number of recorded calls of it.
    pub exports: BTreeMap<String, u64>,
    /// A host call's event type to the number of recorded calls of it.
    pub host_calls: BTreeMap<String, u64>,
}

impl RecordedCalls {
    /// Adds another chain's counts to these.
    pub fn add(&mut self, other: &RecordedCalls) {
        for (name, n) in &other.exports {
            *self.exports.entry(name.clone()).or_default() += n;
        }
        for (name, n) in &other.host_calls {
            *self.host_calls.entry(name.clone()).or_default() += n;
        }
    }
}

/// Counts a chain's recorded calls as its events are read. Host calls are told by their
/// event type alone (a map lookup); only `wasm` events are decoded, in the chain's dialect,
/// to find the export a call names.
#[derive(Debug, Default)]
pub struct CallCounter {
    /// The chain's dialect; detected from the first event when not given.
    dialect: Option<Dialect>,
    detected: bool,
    exports: HashMap<String, u64>,
    host_calls: HashMap<String, u64>,
}

/// The event type of export calls and results in every dialect.
const WASM: &str = "wasm";

impl CallCounter {
    /// A counter for a chain in `dialect` (`None`: detected from its first event).
    pub fn new(dialect: Option<Dialect>) -> CallCounter {
        CallCounter { dialect, detected: dialect.is_some(), ..CallCounter::default() }
    }

    /// Counts `event`, read in chain order.
    pub fn see(&mut self, event: &Event) {
        if !self.detected {
            self.dialect = Dialect::detect(event);
            self.detected = true;
        }
        if event.event_type != WASM {
            // Runtime events and resource drops are counted too; only names the actor
            // declares are ever looked up.
            match self.host_calls.get_mut(event.event_type.as_str()) {
                Some(n) => *n += 1,
                None => {
                    self.host_calls.insert(event.event_type.clone(), 1);
                }
            }
            return;
        }
        if let Some(export) = self.dialect.and_then(|d| export_called(d, &event.data)) {
            *self.exports.entry(export).or_default() += 1;
        }
    }

    /// What was counted.
    pub fn finish(self) -> RecordedCalls {
        RecordedCalls { exports: self.exports.into_iter().collect(), host_calls: self.host_calls.into_iter().collect() }
    }
}

/// The export a `wasm` event calls, named as the actor's types name it; `None` for a
/// result, an error, the runtime's own `shutdown`, or a payload that does not decode.
fn export_called(dialect: Dialect, data: &[u8]) -> Option<String> {
    match dialect {
        Dialect::TheaterReplay => match Payload::decode(data).ok()? {
            Payload::WasmCall { function, .. } => Some(function),
            _ => None,
        },
        Dialect::TheaterComponentJson | Dialect::TheaterComponentTyped => match theater_json::parse(data)? {
            theater_json::Event::WasmCall { function, .. } if function != theater_json::SHUTDOWN => {
                Some(theater_json::export_name(&function))
            }
            _ => None,
        },
        d => match PackPayload::decode_as(data, Some(d.pack_form()?)).ok()? {
            PackPayload::WasmCall { function, .. } => Some(function),
            _ => None,
        },
    }
}

/// Where an actor's list of exports and imports was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TypesFrom {
    /// A component's own types (its WIT, through wasmtime's component type API).
    Wit,
    /// A Pack actor's `__pack_types` metadata (and the module's imports, which theater links).
    PackTypes,
    /// A Pack actor without usable metadata: its module's exports and imports.
    PackModule,
}

impl TypesFrom {
    /// For people: "its WIT".
    pub fn describe(self) -> &'static str {
        match self {
            TypesFrom::Wit => "the component's WIT",
            TypesFrom::PackTypes => "the actor's __pack_types",
            TypesFrom::PackModule => "the module's exports and imports (no __pack_types)",
        }
    }
}

/// One export or import the actor declares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declared {
    /// As the reports show it: `demo:agent/api#greet`, `theater:simple/state-actor.add`,
    /// `demo:agent/host#log`, `theater:simple/runtime/log`.
    pub name: String,
    /// What a chain's counts are keyed by: the export's name, an import's event type.
    key: String,
}

/// An actor's exports and imports, sorted by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Surface {
    pub types_from: TypesFrom,
    pub exports: Vec<Declared>,
    pub imports: Vec<Declared>,
}

/// The exports and imports of `loaded`, from its types.
pub fn surface(runtime: &Runtime, loaded: &Loaded) -> Surface {
    match &loaded.actor {
        Actor::Component(component) => component_surface(component, &runtime.engine),
        Actor::Pack(actor) => pack_surface(actor, &runtime.engine),
    }
}

fn sorted(mut items: Vec<Declared>) -> Vec<Declared> {
    items.sort_by(|a, b| a.name.cmp(&b.name));
    items.dedup();
    items
}

fn component_surface(component: &Component, engine: &Engine) -> Surface {
    let exports = crate::runtime::exports::names(component, engine)
        .into_iter()
        .map(|name| Declared { key: name.clone(), name })
        .collect();
    let imports = crate::runtime::imports::import_signatures(component, engine)
        .into_keys()
        .map(|(interface, function)| {
            let call = HostCall { interface, function };
            Declared { name: call.key(), key: call.event_type() }
        })
        .collect();
    Surface { types_from: TypesFrom::Wit, exports: sorted(exports), imports: sorted(imports) }
}

fn pack_surface(actor: &PackActor, engine: &Engine) -> Surface {
    let module_import = |interface: &str, function: &str| {
        let event_type = format!("{interface}/{function}");
        Declared { name: event_type.clone(), key: event_type }
    };
    let mut imports: Vec<Declared> = actor.imports.iter().map(|i| module_import(&i.interface, &i.function)).collect();
    let metadata = pack_metadata(actor, engine).filter(|m| !m.exports.is_empty());
    let (types_from, exports) = match &metadata {
        Some(metadata) => {
            // Imports the metadata declares but the module does not import cannot be
            // called; listed all the same, as the actor's own description of itself.
            imports.extend(metadata.imports.iter().map(|f| module_import(&f.interface, &f.name)));
            (TypesFrom::PackTypes, metadata.exports.iter().map(|f| f.full_name()).collect::<Vec<_>>())
        }
        None => (TypesFrom::PackModule, actor.export_names()),
    };
    let exports = exports.into_iter().map(|name| Declared { key: name.clone(), name }).collect();
    Surface { types_from, exports: sorted(exports), imports: sorted(imports) }
}

/// A host that answers nothing: reading `__pack_types` makes no host call.
struct TypesOnly {
    limits: crate::runtime::GuestLimiter,
}

impl PackHost for TypesOnly {
    fn on_import(_: &mut Caller<'_, Self>, _: usize, _: Vec<u8>) -> wasmtime::Result<Vec<u8>> {
        Err(wasmtime::Error::msg("a host call while the actor's types were read"))
    }

    fn on_foreign_import(_: &mut Caller<'_, Self>, _: usize) -> wasmtime::Error {
        wasmtime::Error::msg("a host call while the actor's types were read")
    }
}

/// The actor's `__pack_types` metadata, read from an instance of its own; `None` when it has
/// none or it cannot be read (the module's own lists are then used, and said to be).
fn pack_metadata(actor: &PackActor, engine: &Engine) -> Option<crate::runtime::pack::types::Metadata> {
    let limits = Limits::default();
    let mut linker = Linker::new(engine);
    let release = &crate::dialect::release::RELEASES[0];
    pack::link(&mut linker, actor, engine, &AnswerAt::for_imports(actor, release, &[])).ok()?;
    let mut store = Store::new(engine, TypesOnly { limits: crate::runtime::store_limits(&limits) });
    store.limiter(|host| &mut host.limits);
    store.set_epoch_deadline(EpochTicker::ticks(limits.timeout));
    let instance = linker.instantiate(&mut store, &actor.module).ok()?;
    store.set_epoch_deadline(EpochTicker::ticks(limits.timeout));
    match pack::read_metadata(&mut store, &instance) {
        Ok(metadata) => metadata,
        Err(e) => {
            tracing::warn!("--coverage: cannot read the actor's __pack_types ({e}); listing the module's exports");
            None
        }
    }
}

/// How often the recorded calls of a corpus exercised one export or import.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Covered {
    pub name: String,
    pub calls: u64,
}

/// What the chains of a run exercised of the actor: every export and import it declares,
/// sorted by name, with its recorded calls across the chains.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Coverage {
    /// Chains whose calls were counted (every chain replayed; not those `--fail-fast` left).
    pub chains: usize,
    /// Where the actor's exports and imports were read from.
    pub types_from: TypesFrom,
    pub exports: Vec<Covered>,
    pub imports: Vec<Covered>,
}

impl Coverage {
    /// The coverage of `surface` by the calls counted in `chains` chains.
    pub fn of(surface: &Surface, chains: usize, calls: &RecordedCalls) -> Coverage {
        let covered = |items: &[Declared], counts: &BTreeMap<String, u64>| {
            items
                .iter()
                .map(|d| Covered { name: d.name.clone(), calls: counts.get(&d.key).copied().unwrap_or(0) })
                .collect()
        };
        Coverage {
            chains,
            types_from: surface.types_from,
            exports: covered(&surface.exports, &calls.exports),
            imports: covered(&surface.imports, &calls.host_calls),
        }
    }

    /// The exports no recorded call exercised, in name order.
    pub fn exports_never_called(&self) -> impl Iterator<Item = &str> {
        self.exports.iter().filter(|c| c.calls == 0).map(|c| c.name.as_str())
    }

    /// The imports no recorded call exercised, in name order.
    pub fn imports_never_called(&self) -> impl Iterator<Item = &str> {
        self.imports.iter().filter(|c| c.calls == 0).map(|c| c.name.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_of_many_chains_add_up_and_unknown_names_are_not_listed() {
        let surface = Surface {
            types_from: TypesFrom::Wit,
            exports: vec![Declared { name: "add".into(), key: "add".into() }, Declared { name: "reset".into(), key: "reset".into() }],
            imports: vec![Declared { name: "demo:agent/host#log".into(), key: "demo:agent/host/log".into() }],
        };
        let one = RecordedCalls {
            exports: [("add".to_string(), 2)].into(),
            host_calls: [("demo:agent/host/log".to_string(), 2), ("shutdown".to_string(), 1)].into(),
        };
        let mut all = RecordedCalls::default();
        all.add(&one);
        all.add(&one);
        let coverage = Coverage::of(&surface, 2, &all);
        assert_eq!(coverage.exports, vec![Covered { name: "add".into(), calls: 4 }, Covered { name: "reset".into(), calls: 0 }]);
        assert_eq!(coverage.imports, vec![Covered { name: "demo:agent/host#log".into(), calls: 4 }]);
        assert_eq!(coverage.exports_never_called().collect::<Vec<_>>(), ["reset"]);
        assert_eq!(coverage.imports_never_called().count(), 0);
    }
}
