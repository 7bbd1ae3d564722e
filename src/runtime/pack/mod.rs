//! Pack actors: the core modules theater runs, speaking packr's ABI (0.5 for theater 0.3.8,
//! 0.11 for 0.3.29).
//!
//! Every import and export of a Pack actor is `(in_ptr, in_len, out_ptr_ptr, out_len_ptr:
//! i32) -> i32` over CGRF bytes in the guest's `memory`. This module knows that ABI exactly
//! as packr's host implements it (addresses, call order, frees), so a guest sees the same
//! memory and the same calls under replay as it saw under theater. Where the host puts an
//! import's answer is the release's ([`AnswerAt`]); what the answers are is the
//! [`PackHost`]'s business: the recording's (replay) or an answer source's (record).

pub mod theater;
pub mod types;

use std::sync::Arc;
use wasmtime::{AsContextMut, Caller, Engine, Extern, ExternType, FuncType, Instance, Linker, Module, Store, Val, ValType};

/// Where the guest finds an export's output pointer and length (packr's fixed slots).
pub const RESULT_PTR_OFFSET: u32 = 16 * 1024;
pub const RESULT_LEN_OFFSET: u32 = 16 * 1024 + 4;
/// Where packr's host writes every import's answer (no guest allocation, no size check).
pub const HOST_OUTPUT_OFFSET: u32 = 16 * 1024 + 8;
/// Where an export's input goes when the guest cannot allocate it.
pub const INPUT_FALLBACK_OFFSET: u32 = 0;
/// packr 0.8 and later refuse a synchronous answer larger than this (the fixed buffer's
/// room); packr 0.5 to 0.7 wrote any size there.
pub const HOST_OUTPUT_CAPACITY: usize = 32 * 1024;

/// Where the host puts one import's answer and what status it gives the guest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnswerAt {
    /// packr 0.5 to 0.7, every import: at [`HOST_OUTPUT_OFFSET`], any size, status 0.
    Fixed,
    /// packr 0.8 and later, a synchronous host function: at [`HOST_OUTPUT_OFFSET`], at most
    /// [`HOST_OUTPUT_CAPACITY`] bytes, status 0.
    FixedBounded,
    /// packr 0.8 and later, an asynchronous host function: in a buffer from the guest's
    /// `__pack_alloc`, status 1 (the guest owns it and frees it).
    GuestAllocated,
}

impl AnswerAt {
    /// For each import of `actor`, where `release`'s host answers it.
    pub fn for_imports(actor: &PackActor, release: &crate::dialect::release::Release, sync_imports: &[String]) -> Arc<[AnswerAt]> {
        use crate::dialect::release::HostAbi;
        actor
            .imports
            .iter()
            .map(|i| match release.host_abi {
                HostAbi::FixedAddress => AnswerAt::Fixed,
                HostAbi::GuestAllocated if release.answers_in_guest_memory(&i.interface, &i.function, sync_imports) => {
                    AnswerAt::GuestAllocated
                }
                HostAbi::GuestAllocated => AnswerAt::FixedBounded,
            })
            .collect()
    }
}

/// Exports without which a core module is not a Pack actor.
const REQUIRED_EXPORTS: [&str; 3] = ["memory", "__pack_alloc", "__pack_free"];

/// One import of the actor, `module` = interface, `field` = function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackImport {
    pub interface: String,
    pub function: String,
    /// The Pack ABI's signature; any other is defined too, but ends the guest when called.
    pub abi: bool,
}

impl PackImport {
    /// `interface/function`, theater's event type for calls of this import.
    pub fn event_type(&self) -> String {
        format!("{}/{}", self.interface, self.function)
    }
}

/// A compiled Pack actor and what it imports.
pub struct PackActor {
    pub module: Module,
    pub imports: Arc<[PackImport]>,
    /// The module carries DWARF (`.debug_info`): theater's wasmtime then adds a note to
    /// trap texts (see [`theater::theater_trap_text`]).
    pub debug_info: bool,
}

fn is_abi(ty: &FuncType) -> bool {
    ty.params().len() == 4 && ty.params().all(|p| matches!(p, ValType::I32)) && matches!(ty.results().collect::<Vec<_>>()[..], [ValType::I32])
}

impl PackActor {
    /// Checks that `module` is a Pack actor. The error says what is missing, for a message
    /// that names the file.
    pub fn new(module: Module, binary: &[u8]) -> Result<PackActor, String> {
        let exports: Vec<_> = module.exports().map(|e| e.name().to_string()).collect();
        let missing: Vec<_> = REQUIRED_EXPORTS.iter().filter(|name| !exports.iter().any(|e| e == *name)).collect();
        if !missing.is_empty() {
            let missing = missing.iter().map(|m| format!("`{m}`")).collect::<Vec<_>>().join(", ");
            return Err(format!(
                "it is a core module but not a Pack actor: it does not export {missing} (theater 0.3.8 runs core modules built with packr-guest; anything else must be a component)"
            ));
        }
        let mut imports = Vec::new();
        for import in module.imports() {
            match import.ty() {
                ExternType::Func(ty) => imports.push(PackImport {
                    interface: import.module().to_string(),
                    function: import.name().to_string(),
                    abi: is_abi(&ty),
                }),
                other => {
                    let kind = match other {
                        ExternType::Memory(_) => "a memory",
                        ExternType::Table(_) => "a table",
                        ExternType::Global(_) => "a global",
                        _ => "something other than a function",
                    };
                    return Err(format!(
                        "it imports {kind} ({}::{}); a Pack actor imports only functions",
                        import.module(),
                        import.name()
                    ));
                }
            }
        }
        let debug_info = wasmparser::Parser::new(0).parse_all(binary).any(|payload| {
            matches!(payload, Ok(wasmparser::Payload::CustomSection(section)) if section.name() == ".debug_info")
        });
        Ok(PackActor { module, imports: imports.into(), debug_info })
    }

    /// Every export the runtime can call (the ABI's signature, not packr's own helpers),
    /// sorted: for messages that say what there is.
    pub fn export_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .module
            .exports()
            .filter(|e| matches!(e.ty(), ExternType::Func(ty) if is_abi(&ty)))
            .map(|e| e.name().to_string())
            .filter(|n| !n.starts_with("__pack_"))
            .collect();
        names.sort();
        names
    }
}

/// The store data of a Pack actor's instance: it answers the guest's imports.
pub trait PackHost: Sized + Send + 'static {
    /// The guest called `import` (an index into [`PackActor::imports`]) with these CGRF
    /// bytes. Returns the CGRF bytes of the answer, or an error that ends the guest (after
    /// the host has noted why).
    fn on_import(caller: &mut Caller<'_, Self>, import: usize, input: Vec<u8>) -> wasmtime::Result<Vec<u8>>;

    /// The guest called an import whose signature is not the Pack ABI.
    fn on_foreign_import(caller: &mut Caller<'_, Self>, import: usize) -> wasmtime::Error;

    /// Whether the host has stopped the guest (a divergence found inside a call the host
    /// made into the guest, such as a host call from `__pack_alloc`): the error then
    /// unwinds the guest instead of becoming a status.
    fn stopped(_caller: &Caller<'_, Self>) -> bool {
        false
    }

    /// An empty buffer for a host call's input or answer. A host that keeps the ones
    /// given back (see [`PackHost::recycle_buffer`]) saves a chain of host calls two
    /// allocations and frees each.
    fn spare_buffer(&mut self) -> Vec<u8> {
        Vec::new()
    }

    /// Takes back a buffer a host call is done with: the answer, once it is in the guest.
    fn recycle_buffer(&mut self, _buffer: Vec<u8>) {}

    /// The running instance's exports a host call uses, if the host keeps them (see
    /// [`InstanceExports`]); `None`: looked up at each call.
    fn instance_exports(&self) -> Option<InstanceExports> {
        None
    }
}

/// An instance's memory and `__pack_alloc`, looked up once after it is instantiated:
/// looking them up at each host call (the export's function reference, the module that
/// holds it) was a twentieth of the replay thread's time on a chain of host calls. Valid
/// only with the store of the instance they were taken from.
#[derive(Clone, Copy)]
pub struct InstanceExports {
    memory: Option<wasmtime::Memory>,
    alloc: Option<wasmtime::Func>,
}

impl InstanceExports {
    /// `instance`'s exports, in `store`.
    pub fn of(mut store: impl AsContextMut, instance: &Instance) -> InstanceExports {
        InstanceExports { memory: instance.get_memory(&mut store, "memory"), alloc: instance.get_func(&mut store, "__pack_alloc") }
    }
}

/// Buffers kept for reuse (see [`PackHost::spare_buffer`]): at most a given number, none
/// larger than a large answer, so that memory stays flat.
pub struct SpareBuffers {
    kept: Vec<Vec<u8>>,
    most: usize,
}

impl Default for SpareBuffers {
    /// A few: enough for a host call's argument, answer and prepared event.
    fn default() -> SpareBuffers {
        SpareBuffers::keeping(4)
    }
}

impl SpareBuffers {
    const LARGEST: usize = 1 << 20;

    /// A pool that keeps at most `most` buffers.
    pub fn keeping(most: usize) -> SpareBuffers {
        SpareBuffers { kept: Vec::new(), most }
    }

    /// A kept buffer, emptied, or a new one.
    pub fn take(&mut self) -> Vec<u8> {
        self.kept.pop().unwrap_or_default()
    }

    /// Keeps `buffer` for [`SpareBuffers::take`] unless enough are kept or it is large.
    pub fn keep(&mut self, mut buffer: Vec<u8>) {
        if self.kept.len() < self.most && buffer.capacity() <= Self::LARGEST {
            buffer.clear();
            self.kept.push(buffer);
        }
    }
}

/// Where the guest's exports a host call uses are, found once per module: looking them up
/// by name at every host call (a hash of the name, a map lookup) was a tenth of the replay
/// thread's time on a chain of host calls.
#[derive(Clone, Copy)]
struct GuestExports {
    memory: Option<wasmtime::ModuleExport>,
    alloc: Option<wasmtime::ModuleExport>,
    /// Whether `__pack_alloc` is `(i32) -> i32`, checked once here: checking it at each
    /// call (`Func::typed`, which loads and releases the type from the engine's registry)
    /// was a tenth of the replay thread's time on a chain of theater 0.3.29 host calls.
    alloc_typed: bool,
}

/// What a call of `__pack_alloc` found.
enum GuestAlloc {
    /// The guest exports no allocator.
    Missing,
    /// It exports one, not of packr's type: a failed call for the guest, as packr's
    /// typed lookup makes it.
    Mistyped,
    /// The address it returned, or the error that ended it.
    Called(wasmtime::Result<i32>),
}

impl GuestExports {
    fn of(module: &Module) -> GuestExports {
        let alloc_typed = module.get_export("__pack_alloc").and_then(|ty| ty.func().cloned()).is_some_and(|ty| {
            ty.params().len() == 1
                && ty.results().len() == 1
                && ty.params().all(|t| matches!(t, ValType::I32))
                && ty.results().all(|t| matches!(t, ValType::I32))
        });
        GuestExports { memory: module.get_export_index("memory"), alloc: module.get_export_index("__pack_alloc"), alloc_typed }
    }

    fn memory<H: PackHost>(&self, caller: &mut Caller<'_, H>) -> Option<wasmtime::Memory> {
        if let Some(kept) = caller.data().instance_exports() {
            return kept.memory;
        }
        caller.get_module_export(self.memory.as_ref()?).and_then(Extern::into_memory)
    }

    /// Calls the guest's `__pack_alloc(len)`.
    fn alloc<H: PackHost>(&self, caller: &mut Caller<'_, H>, len: i32) -> GuestAlloc {
        let func = match caller.data().instance_exports() {
            Some(kept) => kept.alloc,
            None => self.alloc.as_ref().and_then(|at| caller.get_module_export(at)).and_then(Extern::into_func),
        };
        let Some(func) = func else {
            return GuestAlloc::Missing;
        };
        if !self.alloc_typed {
            return GuestAlloc::Mistyped;
        }
        let mut slots = [wasmtime::ValRaw::i32(len)];
        // SAFETY: the export's type was checked to be `(i32) -> i32` when the module was
        // linked (`of`), so one i32 slot holds its parameter and then its result.
        let called = unsafe { func.call_unchecked(&mut *caller, &mut slots) };
        GuestAlloc::Called(called.map(|()| slots[0].get_i32()))
    }
}

/// Defines every import of `actor` in `linker`, each routed to `H`, each answered where
/// `answers` says (one entry per import; see [`AnswerAt::for_imports`]).
pub fn link<H: PackHost>(linker: &mut Linker<H>, actor: &PackActor, engine: &Engine, answers: &[AnswerAt]) -> anyhow::Result<()> {
    let exports = GuestExports::of(&actor.module);
    for (index, import) in actor.imports.iter().enumerate() {
        if import.abi {
            let at = answers.get(index).copied().unwrap_or(AnswerAt::Fixed);
            linker.func_wrap(
                &import.interface,
                &import.function,
                move |mut caller: Caller<'_, H>, in_ptr: i32, in_len: i32, out_ptr_ptr: i32, out_len_ptr: i32| {
                    serve_import(&mut caller, &exports, index, at, [in_ptr, in_len, out_ptr_ptr, out_len_ptr])
                },
            )?;
        } else {
            let ty = actor
                .module
                .imports()
                .nth(index)
                .and_then(|i| i.ty().func().cloned())
                .unwrap_or_else(|| FuncType::new(engine, [], []));
            linker.func_new(&import.interface, &import.function, ty, move |mut caller, _params: &[Val], _results| {
                Err(H::on_foreign_import(&mut caller, index))
            })?;
        }
    }
    Ok(())
}

/// packr's host side of one import call: read the input, ask the host, write the answer
/// where `at` says, then its address and length into the guest's slots. A fault in the
/// guest's pointers gives the guest -1, as packr does (the guest then panics).
fn serve_import<H: PackHost>(
    caller: &mut Caller<'_, H>,
    exports: &GuestExports,
    import: usize,
    at: AnswerAt,
    [in_ptr, in_len, out_ptr_ptr, out_len_ptr]: [i32; 4],
) -> wasmtime::Result<i32> {
    let Some(memory) = exports.memory(caller) else { return Ok(-1) };
    // Bounds first: a guest's length is not allocated before it is known to be in memory.
    let Some(range) = span(in_ptr as u32 as usize, in_len as u32 as usize).filter(|r| r.end <= memory.data_size(&*caller)) else {
        return Ok(-1);
    };
    let mut input = caller.data_mut().spare_buffer();
    input.extend_from_slice(&memory.data(&*caller)[range]);
    let output = H::on_import(caller, import, input)?;
    let (data_ptr, status) = match at {
        AnswerAt::Fixed => (HOST_OUTPUT_OFFSET as i32, 0),
        AnswerAt::FixedBounded if output.len() > HOST_OUTPUT_CAPACITY => return Ok(-1),
        AnswerAt::FixedBounded => (HOST_OUTPUT_OFFSET as i32, 0),
        // packr 0.11's `write_host_output_async`: the guest's allocator when it has one
        // (any pointer it returns is used as is), else the fixed buffer; a trapping
        // allocator is a failed call for the guest (-1), not a trap of the host call.
        AnswerAt::GuestAllocated => match exports.alloc(caller, output.len() as i32) {
            GuestAlloc::Called(Ok(ptr)) => (ptr, 1),
            GuestAlloc::Called(Err(e)) if H::stopped(caller) => return Err(e),
            GuestAlloc::Called(Err(_)) | GuestAlloc::Mistyped => return Ok(-1),
            GuestAlloc::Missing if output.len() > HOST_OUTPUT_CAPACITY => return Ok(-1),
            GuestAlloc::Missing => (HOST_OUTPUT_OFFSET as i32, 0),
        },
    };
    // In order, each only if the one before fit, as three `Memory::write`s; one borrow of
    // the memory for all three.
    let guest = memory.data_mut(&mut *caller);
    let mut put = |at: i32, bytes: &[u8]| {
        span(at as u32 as usize, bytes.len()).and_then(|range| guest.get_mut(range)).map(|to| to.copy_from_slice(bytes)).is_some()
    };
    let written = put(data_ptr, &output)
        && put(out_ptr_ptr, &data_ptr.to_le_bytes())
        && put(out_len_ptr, &(output.len() as i32).to_le_bytes());
    caller.data_mut().recycle_buffer(output);
    Ok(if written { status } else { -1 })
}

/// How an export call failed. theater 0.3.8 records all of these alike, as "Failed to
/// call function 'F'"; the kinds are for our reports.
#[derive(Debug)]
pub enum CallError {
    /// No export of that name with the ABI's signature.
    NotFound,
    /// The guest trapped (or a limit of ours, or the host, stopped it).
    Trap(wasmtime::Error),
    /// The export returned a non-zero status with this (lossy UTF-8) error text.
    Guest(String),
    /// The guest's output could not be read or decoded.
    Output(String),
}

impl CallError {
    /// theater 0.3.8's message for a failed call.
    pub fn theater_message(function: &str) -> String {
        format!("Failed to call function '{function}'")
    }
}

fn read_slots<H>(store: &mut Store<H>, memory: &wasmtime::Memory) -> Option<(usize, usize)> {
    let mut slots = [0u8; 8];
    memory.read(&mut *store, RESULT_PTR_OFFSET as usize, &mut slots).ok()?;
    let ptr = i32::from_le_bytes([slots[0], slots[1], slots[2], slots[3]]) as usize;
    let len = i32::from_le_bytes([slots[4], slots[5], slots[6], slots[7]]) as usize;
    Some((ptr, len))
}

/// `len` bytes at `ptr`, or `None` when they are not all inside the memory.
fn read_bytes(store: impl wasmtime::AsContext, memory: &wasmtime::Memory, ptr: usize, len: usize) -> Option<Vec<u8>> {
    memory.data(&store).get(span(ptr, len)?).map(<[u8]>::to_vec)
}

/// The guest memory range of `len` bytes at `ptr`; `None` when it would wrap around.
fn span(ptr: usize, len: usize) -> Option<std::ops::Range<usize>> {
    Some(ptr..ptr.checked_add(len)?)
}

fn pack_free<H>(store: &mut Store<H>, instance: &Instance, ptr: usize, len: usize) -> Result<(), wasmtime::Error> {
    match instance.get_typed_func::<(i32, i32), ()>(&mut *store, "__pack_free") {
        Ok(free) => free.call(&mut *store, (ptr as i32, len as i32)),
        Err(_) => Ok(()),
    }
}

/// Calls export `name` with CGRF `input` as packr 0.5's `call_with_value` does: the input
/// in a buffer from `__pack_alloc` (else at offset 0), `name(ptr, len, 16384, 16388)`, the
/// input freed, then the output (or error text) read from the slots, decoded and freed.
pub fn call_export<H>(
    store: &mut Store<H>,
    instance: &Instance,
    name: &str,
    input: &[u8],
) -> Result<packr_abi::Value, CallError> {
    let memory = instance.get_memory(&mut *store, "memory").ok_or(CallError::NotFound)?;
    let alloc = instance.get_typed_func::<i32, i32>(&mut *store, "__pack_alloc").ok();
    // packr treats a trapping or failing allocator like a missing one.
    let dynamic = alloc.and_then(|alloc| alloc.call(&mut *store, input.len() as i32).ok()).filter(|&ptr| ptr != 0);
    let in_ptr = dynamic.map_or(INPUT_FALLBACK_OFFSET as usize, |ptr| ptr as u32 as usize);
    memory
        .write(&mut *store, in_ptr, input)
        .map_err(|_| CallError::Output("the input does not fit the guest's memory".into()))?;
    let func = instance.get_typed_func::<(i32, i32, i32, i32), i32>(&mut *store, name).map_err(|_| CallError::NotFound)?;
    let status = func
        .call(&mut *store, (in_ptr as i32, input.len() as i32, RESULT_PTR_OFFSET as i32, RESULT_LEN_OFFSET as i32))
        .map_err(CallError::Trap)?;
    if dynamic.is_some() {
        // packr ignores a failing free of the input.
        let _ = pack_free(store, instance, in_ptr, input.len());
    }
    let (ptr, len) = read_slots(store, &memory).ok_or_else(|| CallError::Output("cannot read the result slots".into()))?;
    let bytes = read_bytes(&*store, &memory, ptr, len);
    let Some(bytes) = bytes else {
        return Err(if status != 0 {
            CallError::Guest("(the error text is outside the guest's memory)".into())
        } else {
            CallError::Output(format!("the output ({len} bytes at {ptr}) is outside the guest's memory"))
        });
    };
    if status != 0 {
        let _ = pack_free(store, instance, ptr, len);
        return Err(CallError::Guest(String::from_utf8_lossy(&bytes).into_owned()));
    }
    // packr frees the output only once it decoded.
    let value = crate::dialect::pack::decode_value(&bytes).map_err(|e| CallError::Output(e.to_string()))?;
    let _ = pack_free(store, instance, ptr, len);
    Ok(value)
}

/// The actor's type metadata, read from an instance of its own whose imports all trap
/// (`__pack_types` calls none), within `limits`: for what needs the types before a
/// replay runs (reading a theater text run log, which lost the actor's variant tags).
pub fn metadata_of(engine: &Engine, actor: &PackActor, limits: &super::Limits) -> Result<Option<types::Metadata>, String> {
    let mut linker: Linker<super::limits::GuestLimiter> = Linker::new(engine);
    linker.define_unknown_imports_as_traps(&actor.module).map_err(|e| e.to_string())?;
    let mut store = Store::new(engine, super::store_limits(limits));
    store.limiter(|limiter| limiter);
    store.set_epoch_deadline(super::EpochTicker::ticks(limits.timeout));
    let instance = linker
        .instantiate(&mut store, &actor.module)
        .map_err(|e| format!("cannot instantiate the Pack actor: {}", super::describe_instantiation_error(e, limits)))?;
    read_metadata(&mut store, &instance)
}

/// The actor's type metadata from `__pack_types`; `Ok(None)` when it has none.
pub fn read_metadata<H>(store: &mut Store<H>, instance: &Instance) -> Result<Option<types::Metadata>, String> {
    let Ok(types_fn) = instance.get_typed_func::<(i32, i32), i32>(&mut *store, "__pack_types") else { return Ok(None) };
    let status = types_fn
        .call(&mut *store, (RESULT_PTR_OFFSET as i32, RESULT_LEN_OFFSET as i32))
        .map_err(|e| format!("__pack_types trapped: {}", super::one_line(&e.into())))?;
    if status != 0 {
        return Err("__pack_types returned a non-zero status".into());
    }
    let memory = instance.get_memory(store.as_context_mut(), "memory").ok_or("no memory export")?;
    let (ptr, len) = read_slots(store, &memory).ok_or("cannot read the result slots")?;
    let bytes = read_bytes(&*store, &memory, ptr, len).ok_or("the metadata is outside the guest's memory")?;
    let value = crate::dialect::pack::decode_value(&bytes).map_err(|e| format!("the metadata is not CGRF: {e}"))?;
    types::Metadata::from_value(value).map(Some).map_err(|e| format!("the metadata does not decode: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Answers every import with the same bytes.
    struct Answer(Vec<u8>);

    impl PackHost for Answer {
        fn on_import(caller: &mut Caller<'_, Self>, _import: usize, _input: Vec<u8>) -> wasmtime::Result<Vec<u8>> {
            Ok(caller.data().0.clone())
        }
        fn on_foreign_import(_caller: &mut Caller<'_, Self>, _import: usize) -> wasmtime::Error {
            wasmtime::Error::msg("foreign")
        }
    }

    /// An actor whose `go` export calls its one import and returns the status, leaving the
    /// answer's address and length at 100 and 104; `alloc` is its `__pack_alloc`.
    fn status_and_slots(alloc: &str) -> (i32, i32, i32, Vec<u8>) {
        let wat = format!(
            r#"(module
              (import "host" "ask" (func $ask (param i32 i32 i32 i32) (result i32)))
              (memory (export "memory") 1)
              {alloc}
              (func (export "__pack_free") (param i32 i32))
              (func (export "go") (result i32) (call $ask (i32.const 0) (i32.const 0) (i32.const 100) (i32.const 104))))"#
        );
        let engine = Engine::default();
        let module = Module::new(&engine, &wat).unwrap();
        let actor = PackActor::new(module, wat.as_bytes()).unwrap();
        let mut linker = Linker::new(&engine);
        link(&mut linker, &actor, &engine, &[AnswerAt::GuestAllocated]).unwrap();
        let mut store = Store::new(&engine, Answer(b"answer".to_vec()));
        let instance = linker.instantiate(&mut store, &actor.module).unwrap();
        let status = instance.get_typed_func::<(), i32>(&mut store, "go").unwrap().call(&mut store, ()).unwrap();
        let memory = instance.get_memory(&mut store, "memory").unwrap();
        let mut slots = [0u8; 8];
        memory.read(&store, 100, &mut slots).unwrap();
        let ptr = i32::from_le_bytes(slots[..4].try_into().unwrap());
        let len = i32::from_le_bytes(slots[4..].try_into().unwrap());
        let at = (ptr.max(0) as usize).min(65536 - 6);
        (status, ptr, len, memory.data(&store)[at..at + 6].to_vec())
    }

    /// packr 0.11's asynchronous answer: written where the guest's allocator says, status 1;
    /// an allocator that is not `(i32) -> i32` is never called, and the call fails (-1), as
    /// packr's typed lookup of it fails; so does a trapping one.
    #[test]
    fn async_answers_go_through_the_guests_allocator_only_when_it_has_packrs_type() {
        let (status, ptr, len, answer) = status_and_slots(r#"(func (export "__pack_alloc") (param i32) (result i32) (i32.const 4096))"#);
        assert_eq!((status, ptr, len, answer), (1, 4096, 6, b"answer".to_vec()));
        let (status, ptr, ..) = status_and_slots(r#"(func (export "__pack_alloc") (param i64) (result i32) (i32.const 4096))"#);
        assert_eq!((status, ptr), (-1, 0));
        let (status, ..) = status_and_slots(r#"(func (export "__pack_alloc") (param i32) (result i32) unreachable)"#);
        assert_eq!(status, -1, "a trapping allocator is a failed call for the guest");
    }
}
