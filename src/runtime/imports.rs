//! The import interceptor: defines **every** import of a component, whatever it is called,
//! and routes each call (and each drop of an imported resource) to one handler. The
//! handler decides the answer: the recording's (replay) or an answer source's (record).
//!
//! Imported resource types are defined as dynamic host resources, one type number per
//! imported resource, so handles can be minted and recognised by number.

use crate::payload::HostCall;
use crate::values::{ResourceMap, encode_args};
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
                ComponentItem::Resource(_) => {
                    catalog.resources.push(ImportedResource { interface: None, name: name.to_string() })
                }
                ComponentItem::ComponentInstance(instance) => {
                    let iface = Some(name.to_string());
                    for (export, item) in instance.exports(engine) {
                        match item.ty {
                            ComponentItem::ComponentFunc(_) => {
                                catalog.functions.entry(iface.clone()).or_default().push(export.to_string())
                            }
                            ComponentItem::Resource(_) => catalog
                                .resources
                                .push(ImportedResource { interface: iface.clone(), name: export.to_string() }),
                            ComponentItem::Type(_) => {}
                            other => anyhow::bail!("import `{name}` exports `{export}`, a {}: {UNSUPPORTED}", kind(&other)),
                        }
                    }
                }
                ComponentItem::Type(_) => {}
                other => anyhow::bail!("the component imports `{name}`, a {}: {UNSUPPORTED}", kind(&other)),
            }
        }
        Ok(catalog)
    }

    /// The dynamic type number of an imported resource type, if `ty` is one.
    pub fn resource_number(&self, ty: &ResourceType) -> Option<u32> {
        (0..self.resources.len() as u32).find(|&n| ResourceType::host_dynamic(n) == *ty)
    }
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
    /// The guest called `call` with arguments encoded as `input`; fill `results` (of
    /// `result_types`) or return an error to stop the guest.
    fn on_call(
        store: StoreContextMut<'_, Self>,
        call: &HostCall,
        input: serde_json::Value,
        result_types: &[Type],
        results: &mut [Val],
    ) -> wasmtime::Result<()>;

    /// Stops the guest for a reason of our own (`message` says why).
    fn abort(store: StoreContextMut<'_, Self>, message: String) -> wasmtime::Result<()>;

    /// The guest dropped its own handle `rep` of an imported resource type.
    fn on_drop(store: StoreContextMut<'_, Self>, resource: &ImportedResource, rep: u32) -> wasmtime::Result<()>;

    /// The catalog the linker was built from (to map resource types to numbers).
    fn catalog(&self) -> &ImportCatalog;

    /// Resources the guest exported, by handle, in order of first appearance.
    fn guest_resources(&mut self) -> &mut Vec<ResourceAny>;
}

/// Defines every import in `catalog` on `linker`, each routed to `T`.
pub fn link_all<T: ImportHandler>(linker: &mut Linker<T>, catalog: &ImportCatalog) -> anyhow::Result<()> {
    /// An interface's functions, and its resource types with their type numbers.
    type Members = (Vec<String>, Vec<(u32, ImportedResource)>);
    let mut interfaces: BTreeMap<Option<String>, Members> = BTreeMap::new();
    for (iface, funcs) in &catalog.functions {
        interfaces.entry(iface.clone()).or_default().0.extend(funcs.iter().cloned());
    }
    for (n, resource) in catalog.resources.iter().enumerate() {
        interfaces.entry(resource.interface.clone()).or_default().1.push((n as u32, resource.clone()));
    }
    for (iface, (funcs, resources)) in interfaces {
        let mut instance = match &iface {
            Some(name) => linker.instance(name)?,
            None => linker.root(),
        };
        for (n, resource) in resources {
            let resource = Arc::new(resource);
            instance.resource(&resource.name.clone(), ResourceType::host_dynamic(n), move |store, rep| {
                T::on_drop(store, &resource, rep)
            })?;
        }
        for function in funcs {
            let call = Arc::new(HostCall { interface: iface.clone(), function: function.clone() });
            instance.func_new(&function, move |mut store, ty, params, results| {
                let param_types: Vec<Type> = ty.params().map(|(_, t)| t).collect();
                let result_types: Vec<Type> = ty.results().collect();
                match encode_args(params, &param_types, &mut StoreResources { store: &mut store }) {
                    Ok(input) => T::on_call(store, &call, input, &result_types, results),
                    Err(e) => T::abort(store, format!("cannot encode the arguments of {}: {e}", call.key())),
                }
            })?;
        }
    }
    Ok(())
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
