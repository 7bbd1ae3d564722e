//! The export driver's lookups: exports are named `<interface>#<function>`, or the function
//! alone at the component's root, in recordings and on the command line.

use wasmtime::component::types::ComponentItem;
use wasmtime::component::{Component, Func, Instance, Type};
use wasmtime::{AsContextMut, Engine};

/// Finds an exported function by its recorded name.
pub fn find(mut store: impl AsContextMut, instance: &Instance, name: &str) -> Option<Func> {
    match name.rsplit_once('#') {
        Some((iface, func)) => {
            let iface_index = instance.get_export_index(store.as_context_mut(), None, iface)?;
            let func_index = instance.get_export_index(store.as_context_mut(), Some(&iface_index), func)?;
            instance.get_func(store, func_index)
        }
        None => instance.get_func(store, name),
    }
}

/// Every exported function's name, sorted: for messages that say what there is instead.
pub fn names(component: &Component, engine: &Engine) -> Vec<String> {
    let mut names = Vec::new();
    for (name, export) in component.component_type().exports(engine) {
        match export.ty {
            ComponentItem::ComponentFunc(_) => names.push(name.to_string()),
            ComponentItem::ComponentInstance(instance) => {
                for (func, item) in instance.exports(engine) {
                    if let ComponentItem::ComponentFunc(_) = item.ty {
                        names.push(format!("{name}#{func}"));
                    }
                }
            }
            _ => {}
        }
    }
    names.sort();
    names
}

/// Parameter and result types of an export.
pub fn signature(func: &Func, store: impl wasmtime::AsContext) -> (Vec<Type>, Vec<Type>) {
    let ty = func.ty(store);
    (ty.params().map(|(_, t)| t).collect(), ty.results().collect())
}
