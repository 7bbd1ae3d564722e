//! The import interceptor: defines **every** import of a component, whatever it is called,
//! and routes each call (and each drop of an imported resource) to one handler. The
//! handler decides the answer: the recording's (replay) or an answer source's (record).
//!
//! Imported resource types are defined as dynamic host resources, one type number per
//! imported resource, so handles can be minted and recognised by number.

use crate::payload::HostCall;
use crate::values::{KnownHandles, ResourceMap, encode_args};
use std::collections::BTreeMap;
use std::sync::Arc;
use wasmtime::component::types::ComponentItem;
use wasmtime::component::{Component, Linker, ResourceAny, ResourceDynamic, ResourceType, Type, Val};
use wasmtime::{AsContextMut, Engine, StoreContextMut};

/// An imported resource type: `[resource-drop]<name>` events name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedResource {
    pub interface: Option<String>,
    pub name: String,
}

impl ImportedResource {
    /// The host call its drops are recorded as.
    pub fn drop_call(&self) -> HostCall {
        HostCall { interface: self.interface.clone(), function: format!("[resource-drop]{}", self.name) }
    }
}

/// Every import of a component, by interface.
#[derive(Debug, Default)]
pub struct ImportCatalog {
    /// Functions per interface (`None`: root); `BTreeMap` for a stable definition order.
    pub functions: BTreeMap<Option<String>, Vec<String>>,
    /// Resource types, indexed by their dynamic type number.
    pub resources: Vec<ImportedResource>,
    /// Further names of those types: an interface that `use`s another's resource (as
    /// `wasi:clocks/monotonic-clock` does `wasi:io/poll`'s `pollable`) imports the same
    /// type under its own name. `(name, type number)`.
    pub aliases: Vec<(ImportedResource, u32)>,
    /// The component's own resource types, by type number (to recognise aliases).
    types: Vec<ResourceType>,
}

impl ImportCatalog {
    /// Reads a component's imports. Fails on imports no recording can answer (core modules,
    /// components, core functions).
    pub fn of(component: &Component, engine: &Engine) -> anyhow::Result<ImportCatalog> {
        let mut catalog = ImportCatalog::default();
        let ty = component.component_type();
        for (name, import) in ty.imports(engine) {
            match import.ty {
                ComponentItem::ComponentFunc(_) => catalog.functions.entry(None).or_default().push(name.to_string()),
                ComponentItem::Resource(ty) => catalog.add_resource(None, name, ty),
                ComponentItem::ComponentInstance(instance) => {
                    let iface = Some(name.to_string());
                    for (export, item) in instance.exports(engine) {
                        match item.ty {
                            ComponentItem::ComponentFunc(_) => {
                                catalog.functions.entry(iface.clone()).or_default().push(export.to_string())
                            }
                            ComponentItem::Resource(ty) => catalog.add_resource(iface.clone(), export, ty),
                            ComponentItem::Type(_) => {}
                            other => {
                                anyhow::bail!("import `{name}` exports `{export}`, a {}: {UNSUPPORTED}", kind(&other))
                            }
                        }
                    }
                }
                ComponentItem::Type(_) => {}
                other => anyhow::bail!("the component imports `{name}`, a {}: {UNSUPPORTED}", kind(&other)),
            }
        }
        Ok(catalog)
    }

    fn add_resource(&mut self, interface: Option<String>, name: &str, ty: ResourceType) {
        let resource = ImportedResource { interface, name: name.to_string() };
        match self.types.iter().position(|known| *known == ty) {
            Some(n) => self.aliases.push((resource, n as u32)),
            None => {
                self.resources.push(resource);
                self.types.push(ty);
            }
        }
    }

    /// The dynamic type number of an imported resource type, if `ty` is one.
    pub fn resource_number(&self, ty: &ResourceType) -> Option<u32> {
        (0..self.resources.len() as u32).find(|&n| ResourceType::host_dynamic(n) == *ty)
    }
}

/// Parameter and result types of a function import.
pub type Signature = (Vec<Type>, Vec<Type>);

/// The signature of every function a component imports, by interface (`None`: root) and
/// name: how `inspect --component` types a chain's host calls.
pub fn import_signatures(component: &Component, engine: &Engine) -> BTreeMap<(Option<String>, String), Signature> {
    let mut signatures = BTreeMap::new();
    let signature = |f: &wasmtime::component::types::ComponentFunc| -> Signature {
        (f.params().map(|(_, t)| t).collect(), f.results().collect())
    };
    for (name, import) in component.component_type().imports(engine) {
        match import.ty {
            ComponentItem::ComponentFunc(f) => {
                signatures.insert((None, name.to_string()), signature(&f));
            }
            ComponentItem::ComponentInstance(instance) => {
                for (export, item) in instance.exports(engine) {
                    if let ComponentItem::ComponentFunc(f) = item.ty {
                        signatures.insert((Some(name.to_string()), export.to_string()), signature(&f));
                    }
                }
            }
            _ => {}
        }
    }
    signatures
}

const UNSUPPORTED: &str = "only functions and resources can be answered from a recording";

fn kind(item: &ComponentItem) -> &'static str {
    match item {
        ComponentItem::ComponentFunc(_) => "function",
        ComponentItem::CoreFunc(_) => "core function",
        ComponentItem::Module(_) => "core module",
        ComponentItem::Component(_) => "component",
        ComponentItem::ComponentInstance(_) => "instance",
        ComponentItem::Type(_) => "type",
        ComponentItem::Resource(_) => "resource",
    }
}

/// What the interceptor calls. Implemented by the store data of each mode.
pub trait ImportHandler: Sized + Send + 'static {
    /// The guest made `call`; fill `results` (of `call.result_types`) or return an error to
    /// stop the guest.
    fn on_call(store: StoreContextMut<'_, Self>, call: IncomingCall<'_>, results: &mut [Val]) -> wasmtime::Result<()>;

    /// Stops the guest for a reason of our own (`message` says why).
    fn abort(store: StoreContextMut<'_, Self>, message: String) -> wasmtime::Result<()>;

    /// The guest dropped its own handle `rep` of an imported resource type.
    fn on_drop(store: StoreContextMut<'_, Self>, resource: &ImportedResource, rep: u32) -> wasmtime::Result<()>;

    /// The catalog the linker was built from (to map resource types to numbers).
    fn catalog(&self) -> &ImportCatalog;

    /// Resources the guest exported, by handle, in order of first appearance.
    fn guest_resources(&mut self) -> &mut Vec<ResourceAny>;
}

/// One import call as the interceptor saw it.
pub struct IncomingCall<'a> {
    pub call: &'a HostCall,
    /// The arguments' encoding.
    pub input: serde_json::Value,
    pub params: &'a [Val],
    pub param_types: &'a [Type],
    pub result_types: &'a [Type],
    /// The handles of the imported resources among `params`, as read while encoding them
    /// (reading an owned one takes it from the store, so it is read once).
    handles: KnownHandles,
}

impl IncomingCall<'_> {
    pub fn handle_of(&self, resource: &ResourceAny) -> Option<u32> {
        self.handles.get(resource)
    }
}

/// Defines every import in `catalog` on `linker`, each routed to `T`.
pub fn link_all<T: ImportHandler>(linker: &mut Linker<T>, catalog: &ImportCatalog) -> anyhow::Result<()> {
    /// An interface's functions, and its resource types: name, type number, and the name
    /// its drops are recorded under.
    type Members = (Vec<String>, Vec<(String, u32, ImportedResource)>);
    let mut interfaces: BTreeMap<Option<String>, Members> = BTreeMap::new();
    for (iface, funcs) in &catalog.functions {
        interfaces.entry(iface.clone()).or_default().0.extend(funcs.iter().cloned());
    }
    for (n, resource) in catalog.resources.iter().enumerate() {
        let member = (resource.name.clone(), n as u32, resource.clone());
        interfaces.entry(resource.interface.clone()).or_default().1.push(member);
    }
    for (alias, n) in &catalog.aliases {
        // Drops are recorded under the type's first name, however the guest names it.
        let member = (alias.name.clone(), *n, catalog.resources[*n as usize].clone());
        interfaces.entry(alias.interface.clone()).or_default().1.push(member);
    }
    for (iface, (funcs, resources)) in interfaces {
        let mut instance = match &iface {
            Some(name) => linker.instance(name)?,
            None => linker.root(),
        };
        for (name, n, resource) in resources {
            let resource = Arc::new(resource);
            instance
                .resource(&name, ResourceType::host_dynamic(n), move |store, rep| T::on_drop(store, &resource, rep))?;
        }
        for function in funcs {
            let call = Arc::new(HostCall { interface: iface.clone(), function: function.clone() });
            instance.func_new(&function, move |mut store, ty, params, results| {
                let param_types: Vec<Type> = ty.params().map(|(_, t)| t).collect();
                let result_types: Vec<Type> = ty.results().collect();
                let mut reader =
                    HandleReader { store: StoreResources { store: &mut store }, seen: KnownHandles::default() };
                match encode_args(params, &param_types, &mut reader) {
                    Ok(input) => {
                        let handles = reader.seen;
                        let incoming = IncomingCall {
                            call: &call,
                            input,
                            params,
                            param_types: &param_types,
                            result_types: &result_types,
                            handles,
                        };
                        T::on_call(store, incoming, results)
                    }
                    Err(e) => T::abort(store, format!("cannot encode the arguments of {}: {e}", call.key())),
                }
            })?;
        }
    }
    Ok(())
}

/// Reads handles through [`StoreResources`] and remembers them.
struct HandleReader<'a, 's, T: ImportHandler> {
    store: StoreResources<'a, 's, T>,
    seen: KnownHandles,
}

impl<T: ImportHandler> ResourceMap for HandleReader<'_, '_, T> {
    fn handle_of(&mut self, resource: &ResourceAny, ty: &ResourceType) -> Result<u32, String> {
        let handle = self.store.handle_of(resource, ty)?;
        self.seen.insert(*resource, handle);
        Ok(handle)
    }

    fn resource_for(&mut self, handle: u32, owned: bool, ty: &ResourceType) -> Result<ResourceAny, String> {
        self.store.resource_for(handle, owned, ty)
    }
}

/// Resolves resource handles against a store: imported resources are dynamic host
/// resources whose handle is their `rep`; guest resources are numbered in order of first
/// appearance.
pub struct StoreResources<'a, 's, T: ImportHandler> {
    pub store: &'a mut StoreContextMut<'s, T>,
}

impl<T: ImportHandler> ResourceMap for StoreResources<'_, '_, T> {
    fn handle_of(&mut self, resource: &ResourceAny, ty: &ResourceType) -> Result<u32, String> {
        if self.store.data().catalog().resource_number(ty).is_some() {
            let dynamic = ResourceDynamic::try_from_resource_any(*resource, self.store.as_context_mut())
                .map_err(|e| format!("unreadable host resource: {e}"))?;
            return Ok(dynamic.rep());
        }
        let guest = self.store.data_mut().guest_resources();
        let handle = match guest.iter().position(|r| r == resource) {
            Some(i) => i,
            None => {
                guest.push(*resource);
                guest.len() - 1
            }
        };
        u32::try_from(handle).map_err(|_| "too many guest resources".to_string())
    }

    fn resource_for(&mut self, handle: u32, owned: bool, ty: &ResourceType) -> Result<ResourceAny, String> {
        if let Some(n) = self.store.data().catalog().resource_number(ty) {
            let dynamic =
                if owned { ResourceDynamic::new_own(handle, n) } else { ResourceDynamic::new_borrow(handle, n) };
            return dynamic
                .try_into_resource_any(self.store.as_context_mut())
                .map_err(|e| format!("cannot hand resource {handle} to the guest: {e}"));
        }
        self.store
            .data_mut()
            .guest_resources()
            .get(handle as usize)
            .copied()
            .ok_or_else(|| format!("no guest resource has handle {handle}"))
    }
}
