//! The WASI forwarder: a component synthesized for one recorded component, through which
//! `record` reaches the real WASI host (wasmtime-wasi) while seeing every call as component
//! values.
//!
//! Why a second component instead of delegating through wasmtime's `bindgen!` host traits:
//! the traits are typed per interface and per WASI version, so a recorder built on them
//! would need hand-written conversion code for each of the ~150 functions of WASI 0.2 and
//! would miss any interface or version it was not written for. The forwarder is derived
//! from the recorded component's own imports, so whatever WASI interfaces and versions the
//! component imports (the Python agent's 25, the C agent's 2), every call is forwarded as
//! component values by one generic path: the interceptor calls the forwarder's export, the
//! forwarder's core glue calls the matching import, and wasmtime-wasi answers it.
//!
//! The forwarder's world imports exactly the component's WASI interfaces and exports one
//! root function `f<N>` per imported WASI function, with the same parameter and result
//! types (methods take their `self` as the first parameter). Its core module only moves
//! flat values across: the export's parameters go to the import unchanged, and a result
//! returned through memory is written by the import into space the export returns, and the
//! borrowed handles the export was lent are released before it returns. A bump allocator
//! serves both directions and is reset after each call (post-return).

use std::collections::{BTreeMap, HashMap};
use wasm_encoder::{
    CodeSection, ConstExpr, ExportKind, ExportSection, Function, FunctionSection, GlobalSection, GlobalType,
    ImportSection, Instruction, MemArg, MemorySection, MemoryType, Module, TypeSection, ValType,
};
use wit_parser::abi::{AbiVariant, FlatTypes, WasmSignature, WasmType};
use wit_parser::{
    FunctionKind, Handle, LiftLowerAbi, ManglingAndAbi, Resolve, ResourceIntrinsic, Result_, SizeAlign, Tuple, Type,
    TypeDef, TypeDefKind, TypeId, TypeOwner, WasmExport, WasmExportKind, WasmImport, World, WorldId, WorldItem,
    WorldKey,
};

/// Whether wasmtime-wasi (or wasmtime-wasi-http) serves an imported interface. Only the
/// WASI 0.2 proposals it implements: any other interface, `wasi:keyvalue` or the
/// component's own, is answered from the answers file.
pub fn served_by_wasmtime_wasi(interface: &str) -> bool {
    const PACKAGES: [&str; 7] =
        ["wasi:io/", "wasi:clocks/", "wasi:random/", "wasi:cli/", "wasi:filesystem/", "wasi:sockets/", "wasi:http/"];
    PACKAGES.iter().any(|package| interface.starts_with(package))
}

/// A synthesized forwarder component.
pub struct Forwarder {
    /// The component's binary.
    pub bytes: Vec<u8>,
    /// Export name for each forwarded import, by (interface as imported, function).
    pub exports: BTreeMap<(String, String), String>,
}

/// First free byte of the forwarder's memory; 0 stays unused so no result lives at null.
const HEAP_BASE: i32 = 8;
/// Core names as wit-component reads them: `(module "wasi:io/streams@0.2.0" "[method]...")`.
const MANGLING: ManglingAndAbi = ManglingAndAbi::Legacy(LiftLowerAbi::Sync);

/// Builds the forwarder for `component` (binary or text format), or `None` if it imports
/// no WASI interface.
pub fn synthesize(component: &[u8]) -> anyhow::Result<Option<Forwarder>> {
    let binary = wat::parse_bytes(component).map_err(|e| anyhow::anyhow!("cannot read the component: {e}"))?;
    let decoded = wit_component::decode(&binary)
        .map_err(|e| anyhow::anyhow!("cannot read the component's WIT to forward its WASI imports: {e:#}"))?;
    let wit_component::DecodedWasm::Component(mut resolve, world_id) = decoded else {
        anyhow::bail!("the file is a WIT package, not a component");
    };

    let imported = &resolve.worlds[world_id];
    let wasi: Vec<(WorldKey, WorldItem)> = imported
        .imports
        .iter()
        .filter(|(key, item)| {
            matches!(item, WorldItem::Interface { .. }) && served_by_wasmtime_wasi(&resolve.name_world_key(key))
        })
        .map(|(key, item)| (key.clone(), item.clone()))
        .collect();
    if wasi.is_empty() {
        return Ok(None);
    }

    let package = resolve.worlds[world_id].package;
    let world = resolve.worlds.alloc(World {
        name: "theater-replay-wasi-forwarder".to_string(),
        imports: wasi.iter().cloned().collect(),
        exports: Default::default(),
        package,
        docs: Default::default(),
        stability: Default::default(),
        includes: Vec::new(),
        span: Default::default(),
    });

    // One export per imported function, same types, in the component's import order.
    let mut localizer = Localizer { world, aliases: HashMap::new() };
    let mut forwarded = Vec::new();
    for (key, item) in &wasi {
        let WorldItem::Interface { id, .. } = item else { continue };
        let funcs: Vec<wit_parser::Function> = resolve.interfaces[*id].functions.values().cloned().collect();
        for func in funcs {
            let mut export = func.clone();
            export.name = format!("f{}", forwarded.len());
            export.kind = FunctionKind::Freestanding;
            export.docs = Default::default();
            for param in &mut export.params {
                param.ty = localizer.ty(&mut resolve, param.ty)?;
            }
            if let Some(result) = &mut export.result {
                *result = localizer.ty(&mut resolve, *result)?;
            }
            forwarded.push((key.clone(), func, export));
        }
    }
    let world_def = &mut resolve.worlds[world];
    world_def.exports = forwarded
        .iter()
        .map(|(_, _, export)| (WorldKey::Name(export.name.clone()), WorldItem::Function(export.clone())))
        .collect();

    let mut core = glue(&resolve, &forwarded)?;
    wit_component::embed_component_metadata(&mut core, &resolve, world, wit_component::StringEncoding::UTF8)?;
    let bytes = wit_component::ComponentEncoder::default()
        .module(&core)?
        .validate(true)
        .encode()
        .map_err(|e| anyhow::anyhow!("cannot build the WASI forwarder: {e:#}"))?;

    let exports = forwarded
        .into_iter()
        .map(|(key, func, export)| ((resolve.name_world_key(&key), func.name), export.name))
        .collect();
    Ok(Some(Forwarder { bytes, exports }))
}

/// Rewrites the types of a world's own functions so that they name interface types only
/// through world-level aliases (what `use iface.{t}` in a world makes): wit-component
/// requires that of a world's functions.
struct Localizer {
    world: WorldId,
    /// Interface type -> its alias in the world; anonymous type -> its rewritten copy.
    aliases: HashMap<TypeId, TypeId>,
}

impl Localizer {
    fn ty(&mut self, resolve: &mut Resolve, ty: Type) -> anyhow::Result<Type> {
        let Type::Id(id) = ty else { return Ok(ty) };
        if let Some(&done) = self.aliases.get(&id) {
            return Ok(Type::Id(done));
        }
        let def = resolve.types[id].clone();
        let local = match def.owner {
            TypeOwner::Interface(_) => {
                let alias = resolve.types.alloc(TypeDef {
                    name: Some(format!("t{}", self.aliases.len())),
                    kind: TypeDefKind::Type(Type::Id(id)),
                    owner: TypeOwner::World(self.world),
                    docs: Default::default(),
                    stability: Default::default(),
                    span: Default::default(),
                    external_id: None,
                });
                let name = resolve.types[alias].name.clone().unwrap_or_default();
                resolve.worlds[self.world].imports.insert(WorldKey::Name(name), WorldItem::Type { id: alias, span: Default::default() });
                alias
            }
            TypeOwner::World(_) => return Ok(ty),
            TypeOwner::None => {
                let kind = match def.kind {
                    TypeDefKind::List(t) => TypeDefKind::List(self.ty(resolve, t)?),
                    TypeDefKind::Option(t) => TypeDefKind::Option(self.ty(resolve, t)?),
                    TypeDefKind::FixedLengthList(t, n) => TypeDefKind::FixedLengthList(self.ty(resolve, t)?, n),
                    TypeDefKind::Map(k, v) => TypeDefKind::Map(self.ty(resolve, k)?, self.ty(resolve, v)?),
                    TypeDefKind::Type(t) => TypeDefKind::Type(self.ty(resolve, t)?),
                    TypeDefKind::Result(r) => TypeDefKind::Result(Result_ {
                        ok: r.ok.map(|t| self.ty(resolve, t)).transpose()?,
                        err: r.err.map(|t| self.ty(resolve, t)).transpose()?,
                    }),
                    TypeDefKind::Tuple(t) => TypeDefKind::Tuple(Tuple {
                        types: t.types.into_iter().map(|t| self.ty(resolve, t)).collect::<anyhow::Result<_>>()?,
                    }),
                    TypeDefKind::Handle(Handle::Own(r)) => TypeDefKind::Handle(Handle::Own(self.resource(resolve, r)?)),
                    TypeDefKind::Handle(Handle::Borrow(r)) => {
                        TypeDefKind::Handle(Handle::Borrow(self.resource(resolve, r)?))
                    }
                    other => anyhow::bail!("cannot forward a WASI function using a {} type", other.as_str()),
                };
                resolve.types.alloc(TypeDef { kind, ..def })
            }
        };
        self.aliases.insert(id, local);
        Ok(Type::Id(local))
    }

    fn resource(&mut self, resolve: &mut Resolve, id: TypeId) -> anyhow::Result<TypeId> {
        match self.ty(resolve, Type::Id(id))? {
            Type::Id(local) => Ok(local),
            _ => anyhow::bail!("a handle to a non-resource type"),
        }
    }
}

/// A borrowed handle the export receives and must release before it returns (the
/// canonical ABI traps on borrows a callee still holds): flat parameter `param`, or every
/// element of the list in flat parameters `param`, `param + 1`.
struct Release {
    param: u32,
    in_list: bool,
    /// The `[resource-drop]` import for its resource type.
    drop: u32,
}

/// The core module: memory, a bump `cabi_realloc`, and for each forwarded function an
/// export that calls its import, with a post-return that frees everything.
fn glue(resolve: &Resolve, forwarded: &[(WorldKey, wit_parser::Function, wit_parser::Function)]) -> anyhow::Result<Vec<u8>> {
    let mut sizes = SizeAlign::default();
    sizes.fill(resolve);

    let mut types = TypeSection::new();
    let mut imports = ImportSection::new();
    let mut functions = FunctionSection::new();
    let mut exports = ExportSection::new();
    let mut code = CodeSection::new();
    let mut type_count = 0u32;
    let mut add_type = |types: &mut TypeSection, params: Vec<ValType>, results: Vec<ValType>| {
        types.ty().function(params, results);
        type_count += 1;
        type_count - 1
    };

    // Imports come first in the function index space: the forwarded functions, then the
    // resource drops the borrows need.
    let mut import_sigs = Vec::new();
    for (key, func, _) in forwarded {
        let sig = resolve.wasm_signature(AbiVariant::GuestImport, func);
        let ty = add_type(&mut types, val_types(&sig.params), val_types(&sig.results));
        let (module, name) = resolve.wasm_import_name(MANGLING, WasmImport::Func { interface: Some(key), func });
        imports.import(&module, &name, wasm_encoder::EntityType::Function(ty));
        import_sigs.push(sig);
    }
    let mut drops: Vec<TypeId> = Vec::new();
    let mut releases = Vec::new();
    for (_, func, _) in forwarded {
        let mut flat = 0;
        let mut list = Vec::new();
        for param in &func.params {
            let borrowed = match param.ty {
                Type::Id(id) => match &resolve.types[id].kind {
                    TypeDefKind::Handle(Handle::Borrow(r)) => Some((*r, false)),
                    TypeDefKind::List(Type::Id(item)) => match resolve.types[*item].kind {
                        TypeDefKind::Handle(Handle::Borrow(r)) => Some((r, true)),
                        _ => None,
                    },
                    _ => None,
                },
                _ => None,
            };
            if let Some((resource, in_list)) = borrowed {
                let resource = resource_def(resolve, resource);
                let index = drops.iter().position(|&d| d == resource).unwrap_or_else(|| {
                    drops.push(resource);
                    drops.len() - 1
                });
                list.push(Release { param: flat, in_list, drop: (forwarded.len() + index) as u32 });
            }
            flat += flat_len(resolve, &param.ty);
        }
        let sig = resolve.wasm_signature(AbiVariant::GuestExport, func);
        if sig.indirect_params && !list.is_empty() {
            anyhow::bail!("cannot forward `{}`: borrowed handles among parameters passed in memory", func.name);
        }
        if contains_borrow(resolve, func) && list.is_empty() {
            anyhow::bail!("cannot forward `{}`: a borrowed handle nested in a parameter", func.name);
        }
        releases.push(list);
    }
    let drop_ty = add_type(&mut types, vec![ValType::I32], Vec::new());
    for &resource in &drops {
        let TypeOwner::Interface(owner) = resolve.types[resource].owner else {
            anyhow::bail!("a borrowed resource outside any interface");
        };
        let key = WorldKey::Interface(owner);
        let (module, name) = resolve.wasm_import_name(
            MANGLING,
            WasmImport::ResourceIntrinsic { interface: Some(&key), resource, intrinsic: ResourceIntrinsic::ImportedDrop },
        );
        imports.import(&module, &name, wasm_encoder::EntityType::Function(drop_ty));
    }
    let imported = (forwarded.len() + drops.len()) as u32;

    let realloc = imported;
    let realloc_ty = add_type(&mut types, vec![ValType::I32; 4], vec![ValType::I32]);
    functions.function(realloc_ty);
    exports.export("cabi_realloc", ExportKind::Func, realloc);
    code.function(&realloc_body());

    for (index, (((_, func, export), import_sig), releases)) in
        forwarded.iter().zip(&import_sigs).zip(&releases).enumerate()
    {
        let export_sig = resolve.wasm_signature(AbiVariant::GuestExport, export);
        let call_index = imported + 1 + 2 * index as u32;
        let ty = add_type(&mut types, val_types(&export_sig.params), val_types(&export_sig.results));
        functions.function(ty);
        exports.export(
            &resolve.wasm_export_name(MANGLING, WasmExport::Func { interface: None, func: export, kind: WasmExportKind::Normal }),
            ExportKind::Func,
            call_index,
        );
        code.function(&forward_body(index as u32, import_sig, &export_sig, func, releases, &sizes, realloc));

        let post_ty = add_type(&mut types, val_types(&export_sig.results), Vec::new());
        functions.function(post_ty);
        exports.export(
            &resolve.wasm_export_name(
                MANGLING,
                WasmExport::Func { interface: None, func: export, kind: WasmExportKind::PostReturn },
            ),
            ExportKind::Func,
            call_index + 1,
        );
        let mut reset = Function::new([]);
        reset.instruction(&Instruction::I32Const(HEAP_BASE));
        reset.instruction(&Instruction::GlobalSet(0));
        reset.instruction(&Instruction::End);
        code.function(&reset);
    }

    let mut memories = MemorySection::new();
    memories.memory(MemoryType { minimum: 1, maximum: None, memory64: false, shared: false, page_size_log2: None });
    exports.export("memory", ExportKind::Memory, 0);
    let mut globals = GlobalSection::new();
    globals.global(GlobalType { val_type: ValType::I32, mutable: true, shared: false }, &ConstExpr::i32_const(HEAP_BASE));

    let mut module = Module::new();
    module
        .section(&types)
        .section(&imports)
        .section(&functions)
        .section(&memories)
        .section(&globals)
        .section(&exports)
        .section(&code);
    Ok(module.finish())
}

/// The resource definition behind `id` (through `use` aliases).
fn resource_def(resolve: &Resolve, mut id: TypeId) -> TypeId {
    while let TypeDefKind::Type(Type::Id(next)) = resolve.types[id].kind {
        id = next;
    }
    id
}

/// How many flat core values a parameter of type `ty` takes.
fn flat_len(resolve: &Resolve, ty: &Type) -> u32 {
    let mut storage = [WasmType::I32; 17];
    let mut flat = FlatTypes::new(&mut storage);
    resolve.push_flat(ty, &mut flat);
    flat.to_vec().len() as u32
}

/// Whether any parameter of `func` holds a borrowed handle anywhere inside it.
fn contains_borrow(resolve: &Resolve, func: &wit_parser::Function) -> bool {
    fn walk(resolve: &Resolve, ty: &Type, depth: u32) -> bool {
        let Type::Id(id) = ty else { return false };
        if depth > 64 {
            return false;
        }
        let inner = |t: &Type| walk(resolve, t, depth + 1);
        match &resolve.types[*id].kind {
            TypeDefKind::Handle(Handle::Borrow(_)) => true,
            TypeDefKind::Type(t) | TypeDefKind::List(t) | TypeDefKind::Option(t) | TypeDefKind::FixedLengthList(t, _) => {
                inner(t)
            }
            TypeDefKind::Map(k, v) => inner(k) || inner(v),
            TypeDefKind::Record(r) => r.fields.iter().any(|f| inner(&f.ty)),
            TypeDefKind::Tuple(t) => t.types.iter().any(inner),
            TypeDefKind::Variant(v) => v.cases.iter().filter_map(|c| c.ty.as_ref()).any(inner),
            TypeDefKind::Result(r) => r.ok.iter().chain(&r.err).any(inner),
            _ => false,
        }
    }
    func.params.iter().any(|p| walk(resolve, &p.ty, 0))
}

/// `f<N>(params) -> results`: pass the flat parameters through to import `N`; when the
/// import returns through memory, give it fresh space and return that space's address,
/// which is exactly how the export must return the same (single) result. Borrowed handles
/// are released after the call.
fn forward_body(
    import: u32,
    import_sig: &WasmSignature,
    export_sig: &WasmSignature,
    func: &wit_parser::Function,
    releases: &[Release],
    sizes: &SizeAlign,
    realloc: u32,
) -> Function {
    use Instruction as I;
    let params = export_sig.params.len() as u32;
    // Locals after the parameters: the result area, a loop counter, the flat result.
    let (area, counter, result) = (params, params + 1, params + 2);
    let mut locals = vec![(2, ValType::I32)];
    // A result returned in registers (not through memory) waits in a local while borrows go.
    let flat_result = if import_sig.retptr { Vec::new() } else { val_types(&import_sig.results) };
    locals.extend(flat_result.iter().map(|&ty| (1, ty)));
    let mut body = Function::new(locals);
    for param in 0..params {
        body.instruction(&I::LocalGet(param));
    }
    // The import's signature returns through memory exactly when the function has a
    // result too large for one flat value.
    let memory_result = func.result.as_ref().filter(|_| import_sig.retptr);
    if let Some(ty) = memory_result {
        body.instruction(&I::I32Const(0));
        body.instruction(&I::I32Const(0));
        body.instruction(&I::I32Const(sizes.align(ty).align_wasm32() as i32));
        body.instruction(&I::I32Const(sizes.size(ty).size_wasm32() as i32));
        body.instruction(&I::Call(realloc));
        body.instruction(&I::LocalTee(area));
    }
    body.instruction(&I::Call(import));
    if !flat_result.is_empty() {
        body.instruction(&I::LocalSet(result));
    }
    for release in releases {
        if release.in_list {
            // for (counter = 0; counter < len; counter++) drop(load(ptr + 4 * counter))
            let (ptr, len) = (release.param, release.param + 1);
            body.instruction(&I::I32Const(0));
            body.instruction(&I::LocalSet(counter));
            body.instruction(&I::Block(wasm_encoder::BlockType::Empty));
            body.instruction(&I::Loop(wasm_encoder::BlockType::Empty));
            body.instruction(&I::LocalGet(counter));
            body.instruction(&I::LocalGet(len));
            body.instruction(&I::I32GeU);
            body.instruction(&I::BrIf(1));
            body.instruction(&I::LocalGet(ptr));
            body.instruction(&I::LocalGet(counter));
            body.instruction(&I::I32Const(2));
            body.instruction(&I::I32Shl);
            body.instruction(&I::I32Add);
            body.instruction(&I::I32Load(MemArg { offset: 0, align: 2, memory_index: 0 }));
            body.instruction(&I::Call(release.drop));
            body.instruction(&I::LocalGet(counter));
            body.instruction(&I::I32Const(1));
            body.instruction(&I::I32Add);
            body.instruction(&I::LocalSet(counter));
            body.instruction(&I::Br(0));
            body.instruction(&I::End);
            body.instruction(&I::End);
        } else {
            body.instruction(&I::LocalGet(release.param));
            body.instruction(&I::Call(release.drop));
        }
    }
    if memory_result.is_some() {
        body.instruction(&I::LocalGet(area));
    } else if !flat_result.is_empty() {
        body.instruction(&I::LocalGet(result));
    }
    body.instruction(&I::End);
    body
}

/// `cabi_realloc(old, old_size, align, new_size)`: bump allocation, growing memory as
/// needed; a guest can never see this memory, so nothing is ever freed but by the reset.
fn realloc_body() -> Function {
    use Instruction as I;
    let (old, old_size, align, new_size, ptr, end) = (0, 1, 2, 3, 4, 5);
    let mut f = Function::new([(2, ValType::I32)]);
    let page_bytes = |f: &mut Function| {
        f.instruction(&I::MemorySize(0));
        f.instruction(&I::I32Const(16));
        f.instruction(&I::I32Shl);
    };
    // ptr = (bump + align - 1) & -align; end = ptr + new_size, trapping on overflow.
    f.instruction(&I::GlobalGet(0));
    f.instruction(&I::LocalGet(align));
    f.instruction(&I::I32Add);
    f.instruction(&I::I32Const(1));
    f.instruction(&I::I32Sub);
    f.instruction(&I::I32Const(0));
    f.instruction(&I::LocalGet(align));
    f.instruction(&I::I32Sub);
    f.instruction(&I::I32And);
    f.instruction(&I::LocalTee(ptr));
    f.instruction(&I::LocalGet(new_size));
    f.instruction(&I::I32Add);
    f.instruction(&I::LocalTee(end));
    f.instruction(&I::LocalGet(ptr));
    f.instruction(&I::I32LtU);
    f.instruction(&I::If(wasm_encoder::BlockType::Empty));
    f.instruction(&I::Unreachable);
    f.instruction(&I::End);
    // Grow by whole pages when `end` is past the memory.
    f.instruction(&I::LocalGet(end));
    page_bytes(&mut f);
    f.instruction(&I::I32GtU);
    f.instruction(&I::If(wasm_encoder::BlockType::Empty));
    f.instruction(&I::LocalGet(end));
    page_bytes(&mut f);
    f.instruction(&I::I32Sub);
    f.instruction(&I::I32Const(0xffff));
    f.instruction(&I::I32Add);
    f.instruction(&I::I32Const(16));
    f.instruction(&I::I32ShrU);
    f.instruction(&I::MemoryGrow(0));
    f.instruction(&I::I32Const(-1));
    f.instruction(&I::I32Eq);
    f.instruction(&I::If(wasm_encoder::BlockType::Empty));
    f.instruction(&I::Unreachable);
    f.instruction(&I::End);
    f.instruction(&I::End);
    f.instruction(&I::LocalGet(end));
    f.instruction(&I::GlobalSet(0));
    // A reallocation keeps the old contents (up to the smaller size).
    f.instruction(&I::LocalGet(old_size));
    f.instruction(&I::If(wasm_encoder::BlockType::Empty));
    f.instruction(&I::LocalGet(ptr));
    f.instruction(&I::LocalGet(old));
    f.instruction(&I::LocalGet(old_size));
    f.instruction(&I::LocalGet(new_size));
    f.instruction(&I::LocalGet(old_size));
    f.instruction(&I::LocalGet(new_size));
    f.instruction(&I::I32LtU);
    f.instruction(&I::Select);
    f.instruction(&I::MemoryCopy { src_mem: 0, dst_mem: 0 });
    f.instruction(&I::End);
    f.instruction(&I::LocalGet(ptr));
    f.instruction(&I::End);
    f
}

fn val_types(types: &[WasmType]) -> Vec<ValType> {
    types
        .iter()
        .map(|ty| match ty {
            WasmType::I32 | WasmType::Pointer | WasmType::Length => ValType::I32,
            WasmType::I64 | WasmType::PointerOrI64 => ValType::I64,
            WasmType::F32 => ValType::F32,
            WasmType::F64 => ValType::F64,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/components").join(name)).unwrap()
    }

    #[test]
    fn only_the_interfaces_wasmtime_wasi_implements_are_forwarded() {
        assert!(served_by_wasmtime_wasi("wasi:io/streams@0.2.9"));
        assert!(served_by_wasmtime_wasi("wasi:http/types@0.2.10"));
        assert!(!served_by_wasmtime_wasi("wasi:keyvalue/store@0.2.0-draft"));
        assert!(!served_by_wasmtime_wasi("demo:agent/host@0.1.0"));
        assert!(!served_by_wasmtime_wasi("wasi:iox/streams"));
    }

    #[test]
    fn a_forwarder_exports_one_function_per_imported_wasi_function() {
        let forwarder = synthesize(&fixture("poller.wat")).unwrap().expect("poller imports WASI");
        let forwarded: Vec<(&str, &str)> =
            forwarder.exports.keys().map(|(interface, function)| (interface.as_str(), function.as_str())).collect();
        assert_eq!(
            forwarded,
            [("wasi:clocks/monotonic-clock@0.2.0", "subscribe-duration"), ("wasi:io/poll@0.2.0", "poll")]
        );
        wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all())
            .validate_all(&forwarder.bytes)
            .expect("a valid component");
    }

    #[test]
    fn components_without_wasi_need_no_forwarder() {
        assert!(synthesize(&fixture("counter.wat")).unwrap().is_none());
    }
}
