//! Real WASI while recording: wasmtime-wasi (and wasmtime-wasi-http) behind the
//! [forwarder](super::forwarder), sandboxed, with every call seen as component values.
//!
//! The recorded component is linked exactly as in a replay: its WASI resources are dynamic
//! host resources whose handles we mint. The real resources (streams, pollables,
//! descriptors, ...) are held here, by handle, and swapped in and out on the way to and
//! from the forwarder, so the chain records our deterministic handle numbers and `verify`
//! can answer every WASI call with no WASI implementation at all.

use super::forwarder::{self, Forwarder};
use super::imports::{ImportHandler, IncomingCall};
use crate::payload::HostCall;
use crate::values::{self, KnownHandles};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use wasmtime::component::{Component, Func, Linker, ResourceAny, ResourceDynamic, ResourceType, Val};
use wasmtime::{AsContextMut, Engine, StoreContextMut};
use wasmtime_wasi::{FsPerms, ResourceTable, WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpView};

/// What the guest may reach. Nothing by default: no directories, no environment, no
/// network; clocks and randomness are real (and recorded).
#[derive(Debug, Clone, Default)]
pub struct Sandbox {
    /// Host directories the guest sees: `(host, guest path, writable)`.
    pub dirs: Vec<(PathBuf, String, bool)>,
    /// Environment variables the guest sees, in order.
    pub env: Vec<(String, String)>,
}

/// The WASI state a recording store carries.
pub struct WasiState {
    ctx: WasiCtx,
    table: ResourceTable,
    http: WasiHttpCtx,
    hooks: NoNetwork,
}

/// wasi:http without a network: every outgoing request is denied (the guest sees
/// `HTTP-request-denied`, and the chain records it).
struct NoNetwork;

type ResponseFuture = Box<
    dyn std::future::Future<
            Output = wasmtime_wasi_http::Result<(
                http::Response<wasmtime_wasi_http::WasiBody>,
                Box<dyn std::future::Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
            )>,
        > + Send,
>;

impl wasmtime_wasi_http::WasiHttpHooks for NoNetwork {
    fn send_request(
        &mut self,
        _request: http::Request<wasmtime_wasi_http::WasiBody>,
        _options: Option<wasmtime_wasi_http::RequestOptions>,
        _fut: Box<dyn std::future::Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
    ) -> ResponseFuture {
        Box::new(async { Err(wasmtime_wasi_http::Error::HttpRequestDenied) })
    }
}

impl WasiState {
    pub fn new(sandbox: &Sandbox) -> anyhow::Result<WasiState> {
        let mut builder = WasiCtx::builder();
        // stdout carries our results: the guest's output goes to stderr (and the chain).
        builder.stdout(std::io::stderr()).stderr(std::io::stderr());
        builder.allow_tcp(false).allow_udp(false).allow_ip_name_lookup(false);
        builder.socket_addr_check(|_, _| Box::pin(async { false }));
        for (key, value) in &sandbox.env {
            builder.env(key, value);
        }
        for (host, guest, writable) in &sandbox.dirs {
            let perms = if *writable { FsPerms::ReadWrite } else { FsPerms::ReadOnly };
            builder
                .preopened_dir(host, guest, perms)
                .map_err(|e| anyhow::anyhow!("--dir {}: {e}", host.display()))?;
        }
        Ok(WasiState { ctx: builder.build(), table: ResourceTable::new(), http: WasiHttpCtx::new(), hooks: NoNetwork })
    }
}

/// Store data that can serve WASI.
pub trait WasiHost: ImportHandler {
    fn forwarding(&mut self) -> Option<&mut Forwarding>;
    /// A fresh handle number, shared with every other resource the recording mints.
    fn mint_handle(&mut self) -> u32;
}

/// The forwarder instance, and the real WASI resources the guest holds, by handle.
pub struct Forwarding {
    funcs: HashMap<HostCall, Func>,
    handles: BTreeMap<u32, ResourceAny>,
}

impl Forwarding {
    /// The forwarder export answering `call`, if that import is WASI.
    pub fn func(&self, call: &HostCall) -> Option<Func> {
        self.funcs.get(call).copied()
    }
}

/// Builds and instantiates the forwarder for `component_bytes` in `store`, linked to the real
/// WASI host. `None` if the component imports no WASI.
pub fn instantiate<T>(
    engine: &Engine,
    component_bytes: &[u8],
    store: &mut StoreContextMut<'_, T>,
) -> anyhow::Result<Option<Forwarding>>
where
    T: WasiHost + WasiView + WasiHttpView,
{
    let Some(Forwarder { bytes, exports }) = forwarder::synthesize(component_bytes)? else {
        return Ok(None);
    };
    let component = Component::new(engine, &bytes)?;
    let mut linker = Linker::<T>::new(engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
    if exports.keys().any(|(interface, _)| interface.starts_with("wasi:http/")) {
        wasmtime_wasi_http::p2::add_only_http_to_linker_sync(&mut linker)?;
    }
    let instance = linker.instantiate(store.as_context_mut(), &component).map_err(|e| {
        anyhow::anyhow!("cannot serve the component's WASI imports with wasmtime-wasi: {}", super::one_line(&e.into()))
    })?;
    let mut funcs = HashMap::new();
    for ((interface, function), export) in exports {
        let func = instance
            .get_func(store.as_context_mut(), &export)
            .ok_or_else(|| anyhow::anyhow!("the WASI forwarder lacks its export `{export}`"))?;
        funcs.insert(HostCall { interface: Some(interface), function }, func);
    }
    Ok(Some(Forwarding { funcs, handles: BTreeMap::new() }))
}

/// Performs `call` on the real WASI host through `func`; fills `results` for the guest and
/// returns their encoding for the chain.
pub fn forward<T: WasiHost>(
    store: &mut StoreContextMut<'_, T>,
    func: Func,
    call: &IncomingCall<'_>,
    results: &mut [Val],
) -> Result<serde_json::Value, String> {
    let key = call.call.key();
    let catalog_number = |store: &StoreContextMut<'_, T>, ty: &ResourceType| store.data().catalog().resource_number(ty);

    // The guest's handles, swapped for the real resources they stand for.
    let mut args = Vec::with_capacity(call.params.len());
    for (val, ty) in call.params.iter().zip(call.param_types) {
        let arg = values::map_resources(val.clone(), ty, &mut |resource, rty| {
            if catalog_number(store, rty).is_none() {
                return Err(format!("{key} was passed a resource that is not WASI's"));
            }
            let handle = call.handle_of(&resource).ok_or_else(|| format!("{key}: a resource without a handle"))?;
            let forwarding = store.data_mut().forwarding().ok_or("no WASI forwarder")?;
            let real = if resource.owned() {
                forwarding.handles.remove(&handle)
            } else {
                forwarding.handles.get(&handle).copied()
            };
            real.ok_or_else(|| format!("{key}: the guest passed WASI resource {handle}, which it does not hold"))
        })
        .map_err(|e| e.to_string())?;
        args.push(arg);
    }

    let mut out = vec![Val::Bool(false); results.len()];
    func.call(store.as_context_mut(), &args, &mut out).map_err(|e| format!("{key}: {}", super::one_line(&e.into())))?;

    // Real resources in the results are kept here; the guest gets fresh handles for them.
    let mut minted = KnownHandles::default();
    for ((val, slot), ty) in out.into_iter().zip(results.iter_mut()).zip(call.result_types) {
        *slot = values::map_resources(val, ty, &mut |real, rty| {
            let number = catalog_number(store, rty).ok_or_else(|| format!("{key} returned a resource that is not WASI's"))?;
            let handle = store.data_mut().mint_handle();
            store.data_mut().forwarding().ok_or("no WASI forwarder")?.handles.insert(handle, real);
            let guest = ResourceDynamic::new_own(handle, number)
                .try_into_resource_any(store.as_context_mut())
                .map_err(|e| format!("{key}: cannot hand a resource to the guest: {e}"))?;
            minted.insert(guest, handle);
            Ok(guest)
        })
        .map_err(|e| e.to_string())?;
    }
    values::encode_args(results, call.result_types, &mut minted).map_err(|e| format!("cannot encode the result of {key}: {e}"))
}

/// The guest dropped its handle `handle`: drop the real resource too (wasmtime-wasi's own
/// destructor runs). `false` if the handle is not a WASI resource.
pub fn drop_resource<T: WasiHost>(store: &mut StoreContextMut<'_, T>, handle: u32) -> anyhow::Result<bool> {
    let Some(real) = store.data_mut().forwarding().and_then(|f| f.handles.remove(&handle)) else {
        return Ok(false);
    };
    real.resource_drop(store.as_context_mut())?;
    Ok(true)
}

impl WasiView for WasiState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.ctx, table: &mut self.table }
    }
}

impl WasiHttpView for WasiState {
    fn http(&mut self) -> wasmtime_wasi_http::WasiHttpCtxView<'_> {
        wasmtime_wasi_http::WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.hooks,
        }
    }
}
