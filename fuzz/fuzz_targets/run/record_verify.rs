//! The execution path on generated actors. wasm-smith writes a core module with random code
//! in every body and memories and tables of any size, which becomes either a Pack actor
//! (the exports theater calls and host imports over the Pack ABI, with a `__pack_types`
//! describing them added) or a component (the module wrapped with canonical lifts and
//! lowers of `u32` functions). The actor is recorded, then the recording verified against
//! the same actor. What was recorded must verify, with every event and the head; a
//! recording stopped by a limit must be stopped by the same limit when its events so far
//! are verified; no panic, every error one line, and nothing runs past its limits (small
//! ones: 16 MiB of memory, 100 ms a call).

use super::common::one_line;
use arbitrary::Unstructured;
use packr_abi::{Value, ValueType};
use std::convert::Infallible;
use std::io::Write;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};
use theater_replay::chain::{ChainReader, ChainWriter, Event, HashAlg, Layout};
use theater_replay::dialect::pack::{Carried, PackPayload, WASM_EVENT_TYPE, encode_value};
use theater_replay::payload::{FORMAT_NAME, FORMAT_VERSION, Payload};
use theater_replay::record::pack::{self as pack_record, PackRecordOptions};
use theater_replay::record::{self as component_record, Answers, RecordOptions, RecordSummary};
use theater_replay::replay::{self, DivergenceKind, Status, VerifyOptions, VerifyReport};
use theater_replay::runtime::{self, Actor, Limits, Loaded, Runtime};
use theater_replay::{OutputFormat, values};
use wasm_encoder::reencode::{Error, Reencode, utils};
use wasm_encoder::{
    CodeSection, ComponentBuilder, ComponentExportKind, ComponentTypeRef, ExportKind, ExportSection, Function,
    FunctionSection, Instruction, MemArg, ModuleArg, PrimitiveValType, TypeSection, ValType,
};
use wasmtime::component::{Type, Val};

/// One engine for the whole run: a `Verifier` starts its own engine and epoch ticker, and
/// stopping a ticker waits for its next tick (10 ms), which would be most of each input's time.
static RUNTIME: LazyLock<Runtime> = LazyLock::new(|| Runtime::new().expect("engine"));

const LIMITS: Limits = Limits {
    timeout: Duration::from_millis(100),
    max_memory_bytes: 16 << 20,
    max_table_elements: 10_000,
};

/// The export the recording calls, and theater's host imports the guest may call.
const EXPORT: &str = "fuzz:actor/api.run";
const IMPORTS: &str = r#"(module
  (import "fuzz:host/io" "get" (func (param i32 i32 i32 i32) (result i32)))
  (import "fuzz:host/io" "log" (func (param i32 i32 i32 i32) (result i32)))
  (import "theater:simple/runtime" "shutdown" (func (param i32 i32 i32 i32) (result i32))))"#;
const ANSWERS: &str = r#"{"fuzz:host/io#get": {"cycle": ["\"hi\"", "\"\""]}}"#;

/// Where `__pack_types` writes the metadata: past packr's result slots and host buffer.
const METADATA_AT: i32 = 0x6000;

/// packr's type descriptors (see `runtime::pack::types`): `tag` picks the type.
fn ty(tag: usize) -> Value {
    Value::Variant { type_name: "type-desc".into(), case_name: String::new(), tag, payload: vec![] }
}

fn rec(fields: Vec<(&str, Value)>) -> Value {
    Value::Record { type_name: String::new(), fields: fields.into_iter().map(|(n, v)| (n.into(), v)).collect() }
}

fn list(items: Vec<Value>) -> Value {
    Value::List { elem_type: ValueType::Record(String::new()), items }
}

fn func(interface: &str, name: &str, params: Vec<(&str, Value)>, results: Vec<Value>) -> Value {
    let params = params.into_iter().map(|(n, t)| rec(vec![("name", Value::String(n.into())), ("type", t)])).collect();
    rec(vec![
        ("interface", Value::String(interface.into())),
        ("name", Value::String(name.into())),
        ("params", list(params)),
        ("results", list(results)),
    ])
}

/// The CGRF bytes `__pack_types` returns: `run(state: value, n: u32)`; `get` answers a
/// string, `log` and `shutdown` nothing.
static METADATA: LazyLock<Vec<u8>> = LazyLock::new(|| {
    let (value, string, u32_) = (ty(20), ty(12), ty(3));
    let imports = vec![
        func("fuzz:host/io", "get", vec![("x", value.clone())], vec![string]),
        func("fuzz:host/io", "log", vec![("x", value.clone())], vec![]),
        func("theater:simple/runtime", "shutdown", vec![("x", value.clone())], vec![]),
    ];
    let exports = vec![func("fuzz:actor/api", "run", vec![("state", value), ("n", u32_)], vec![])];
    encode_value(&rec(vec![("imports", list(imports)), ("exports", list(exports))]))
});

/// Appends `__pack_types` to a module: a function that stores the metadata's bytes at
/// [`METADATA_AT`] and its address and length in the slots it is given. Appended last in
/// each index space, so nothing the module refers to moves.
struct AddPackTypes {
    type_index: u32,
    func_index: u32,
    /// The exported `memory`, which the host reads (wasm-smith may add others before it).
    memory_index: u32,
}

impl AddPackTypes {
    fn body(&self) -> Function {
        let mut f = Function::new([]);
        let store = |align, offset| MemArg { offset, align, memory_index: self.memory_index };
        for (i, chunk) in METADATA.chunks(8).enumerate() {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            f.instruction(&Instruction::I32Const(METADATA_AT));
            f.instruction(&Instruction::I64Const(i64::from_le_bytes(word)));
            f.instruction(&Instruction::I64Store(store(0, 8 * i as u64)));
        }
        for (param, value) in [(0, METADATA_AT), (1, METADATA.len() as i32)] {
            f.instruction(&Instruction::LocalGet(param));
            f.instruction(&Instruction::I32Const(value));
            f.instruction(&Instruction::I32Store(store(0, 0)));
        }
        f.instruction(&Instruction::I32Const(0));
        f.instruction(&Instruction::End);
        f
    }
}

impl Reencode for AddPackTypes {
    type Error = Infallible;

    fn parse_type_section(&mut self, types: &mut TypeSection, section: wasmparser::TypeSectionReader<'_>) -> Result<(), Error> {
        utils::parse_type_section(self, types, section)?;
        types.ty().function([ValType::I32, ValType::I32], [ValType::I32]);
        Ok(())
    }

    fn parse_function_section(
        &mut self,
        functions: &mut FunctionSection,
        section: wasmparser::FunctionSectionReader<'_>,
    ) -> Result<(), Error> {
        utils::parse_function_section(self, functions, section)?;
        functions.function(self.type_index);
        Ok(())
    }

    fn parse_export_section(&mut self, exports: &mut ExportSection, section: wasmparser::ExportSectionReader<'_>) -> Result<(), Error> {
        utils::parse_export_section(self, exports, section)?;
        exports.export("__pack_types", ExportKind::Func, self.func_index);
        Ok(())
    }

    fn parse_code_section(&mut self, code: &mut CodeSection, section: wasmparser::CodeSectionReader<'_>) -> Result<(), Error> {
        utils::parse_code_section(self, code, section)?;
        code.function(&self.body());
        Ok(())
    }
}

/// The module with `__pack_types` added; `None` when it lacks a section to add it to.
fn with_pack_types(wasm: &[u8]) -> Option<Vec<u8>> {
    let (mut types, mut imports, mut funcs, mut sections, mut memory_index) = (0, 0, 0, 0, None);
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        match payload.ok()? {
            wasmparser::Payload::TypeSection(r) => {
                sections += 1;
                for group in r {
                    types += group.ok()?.types().len() as u32;
                }
            }
            wasmparser::Payload::ImportSection(r) => imports += r.into_imports().count() as u32,
            wasmparser::Payload::FunctionSection(r) => {
                sections += 1;
                funcs += r.count();
            }
            wasmparser::Payload::ExportSection(r) => {
                sections += 1;
                for export in r {
                    let export = export.ok()?;
                    if export.name == "memory" && export.kind == wasmparser::ExternalKind::Memory {
                        memory_index = Some(export.index);
                    }
                }
            }
            wasmparser::Payload::CodeSectionStart { .. } => sections += 1,
            _ => {}
        }
    }
    // The exports asked of wasm-smith give it all four sections.
    if sections != 4 {
        return None;
    }
    let mut add = AddPackTypes { type_index: types, func_index: imports + funcs, memory_index: memory_index? };
    let mut module = wasm_encoder::Module::new();
    add.parse_core_module(&mut module, wasmparser::Parser::new(0), wasm).ok()?;
    Some(module.finish())
}

/// The component's core module: it may import `host` `get` and `log` and exports `run`, all
/// on `u32`s, which the component lowers and lifts without a memory.
const COMPONENT_IMPORTS: &str = r#"(module
  (import "host" "get" (func (param i32) (result i32)))
  (import "host" "log" (func (param i32))))"#;
const COMPONENT_ANSWERS: &str = r#"{"get": {"cycle": ["7", "0", "4294967295"]}}"#;

/// An actor from the fuzzer's bytes, a Pack actor or a component, with the calls to
/// record; `None` when the bytes run out first.
fn generate(data: &[u8]) -> Option<(Vec<u8>, Vec<String>)> {
    let mut u = Unstructured::new(data);
    let component = u.ratio(1, 2).ok()?;
    // Mostly small memories; now and then one past the limit from the start.
    let pages: u32 = if u.ratio(1, 8).ok()? { u.int_in_range(1..=400).ok()? } else { u.int_in_range(1..=4).ok()? };
    // The exports wasm-smith must give the module, by name and type (it writes the bodies).
    let (imports, exports, export) = if component {
        let exports = format!(
            r#"(module
              (memory (export "memory") {pages})
              (func (export "run") (param i32) (result i32) unreachable))"#
        );
        (COMPONENT_IMPORTS, exports, "run")
    } else {
        let exports = format!(
            r#"(module
              (memory (export "memory") {pages})
              (func (export "__pack_alloc") (param i32) (result i32) unreachable)
              (func (export "__pack_free") (param i32 i32) unreachable)
              (func (export "{EXPORT}") (param i32 i32 i32 i32) (result i32) unreachable))"#
        );
        (IMPORTS, exports, EXPORT)
    };
    let config = wasm_smith::Config {
        available_imports: Some(wat::parse_str(imports).ok()?),
        exports: Some(wat::parse_str(&exports).ok()?),
        // What the tool's engine runs (no threads, no GC, no exceptions).
        threads_enabled: false,
        shared_everything_threads_enabled: false,
        gc_enabled: false,
        exceptions_enabled: false,
        memory64_enabled: false,
        custom_page_sizes_enabled: false,
        wide_arithmetic_enabled: false,
        tail_call_enabled: false,
        // The tool's wasmtime is built without its GC, so no externref: wasm-smith's
        // reference types would make most modules unloadable. Tables still count against
        // --max-table-elements when the module creates them.
        reference_types_enabled: false,
        max_memories: 2,
        max_tables: 2,
        max_memory32_bytes: 24 << 20,
        max_table_elements: 20_000,
        max_funcs: 20,
        max_instructions: 300,
        ..Default::default()
    };
    let mut module = wasm_smith::Module::new(config, &mut u).ok()?;
    // Loops and calls end on fuel, the same way each run; now and then a guest is left to
    // run forever, for the epoch deadline to end.
    if !u.ratio(1, 16).ok()? {
        let fuel = u.int_in_range(100..=20_000).ok()?;
        module.ensure_termination(fuel).ok()?;
    }
    let calls = (0..u.int_in_range(1..=3).ok()?).map(|n| format!("{export}({n})")).collect();
    let module = module.to_bytes();
    let actor = if component { component_of(&module)? } else { with_pack_types(&module)? };
    Some((actor, calls))
}

/// A component around a generated core module: `get` and `log` imported and lowered into
/// the module's `host` imports, its `run` lifted and exported.
fn component_of(module: &[u8]) -> Option<Vec<u8>> {
    // The host functions the module imports (it may import none, or one twice).
    let mut wanted: Vec<&str> = Vec::new();
    for payload in wasmparser::Parser::new(0).parse_all(module) {
        if let wasmparser::Payload::ImportSection(reader) = payload.ok()? {
            for import in reader.into_imports() {
                let import = import.ok()?;
                if !wanted.contains(&import.name) {
                    wanted.push(import.name);
                }
            }
        }
    }
    let mut b = ComponentBuilder::default();
    let (get_type, mut f) = b.type_function(None);
    f.params([("x", PrimitiveValType::U32)]).result(Some(PrimitiveValType::U32.into()));
    let (log_type, mut f) = b.type_function(None);
    f.params([("x", PrimitiveValType::U32)]).result(None);
    let (run_type, mut f) = b.type_function(None);
    f.params([("n", PrimitiveValType::U32)]).result(Some(PrimitiveValType::U32.into()));
    let get = b.import("get", ComponentTypeRef::Func(get_type));
    let log = b.import("log", ComponentTypeRef::Func(log_type));
    let lowered = [("get", b.lower_func(None, get, [])), ("log", b.lower_func(None, log, []))];
    let host_exports: Vec<_> =
        lowered.iter().filter(|(name, _)| wanted.contains(name)).map(|&(name, func)| (name, ExportKind::Func, func)).collect();
    let host = b.core_instantiate_exports(None, host_exports);
    let module_index = b.core_module_raw(None, module);
    let args: Vec<(&str, ModuleArg)> = if wanted.is_empty() { Vec::new() } else { vec![("host", ModuleArg::Instance(host))] };
    let instance = b.core_instantiate(None, module_index, args);
    let run_core = b.core_alias_export(None, instance, "run", ExportKind::Func);
    let run = b.lift_func(None, run_core, run_type, []);
    b.export("run", ComponentExportKind::Func, run, None);
    Some(b.finish())
}

/// A chain of one export call, as record writes it: what verify is given for an actor that
/// record could not even instantiate.
fn one_call(loaded: &Loaded) -> Vec<u8> {
    let mut writer = ChainWriter::with_layout(Vec::new(), Layout::JsonLines);
    match loaded.actor {
        Actor::Pack(_) => {
            let call = PackPayload::WasmCall {
                function: EXPORT.into(),
                params: Carried::Cgrf(encode_value(&Value::Tuple(vec![Value::Tuple(vec![]), Value::U32(0)]))),
            };
            let event = Event::new_linked(HashAlg::Sha1, None, WASM_EVENT_TYPE.into(), call.encode());
            writer.write(&event).expect("written");
        }
        Actor::Component(_) => {
            let header = Payload::Recording {
                format: FORMAT_NAME.into(),
                version: FORMAT_VERSION,
                component_sha256: loaded.sha256.clone(),
            };
            let params = values::encode_args(&[Val::U32(0)], &[Type::U32], &mut values::NoResources).expect("encoded");
            let call = Payload::WasmCall { function: "run".into(), params };
            let mut head = None;
            for payload in [header, call] {
                let event = Event::new_linked(HashAlg::Sha256, head.as_deref(), payload.event_type(), payload.encode());
                writer.write(&event).expect("written");
                head = Some(event.hash);
            }
        }
    }
    writer.finish().expect("written")
}

/// A chain being written, readable while and after it is.
#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn verify(loaded: &Loaded, chain: Vec<u8>, options: &VerifyOptions) -> VerifyReport {
    let opened = ChainReader::from_reader("recorded.jsonl", Box::new(std::io::Cursor::new(chain)));
    let started = Instant::now();
    let report = replay::verify_opened(&RUNTIME, loaded, opened, options);
    within_limits(started, "verify");
    if let Some(e) = &report.error {
        one_line(e, 2000);
    }
    report
}

/// Every call (and instantiation, and reading the metadata) has its deadline: far more
/// than a few of them is a guest the deadline did not stop.
fn within_limits(started: Instant, what: &str) {
    let elapsed = started.elapsed();
    assert!(elapsed < LIMITS.timeout * 10 + Duration::from_secs(5), "{what} ran for {elapsed:?}");
}

/// The limit a message names, by its flag (or wasmtime's fixed limits).
fn limit_named(message: &str) -> Option<&'static str> {
    ["--max-memory", "--max-table-elements", "--timeout", "no flag raises"].into_iter().find(|flag| message.contains(flag))
}

/// The target's check of one input: run by the fuzzer and by `tests/fuzz_corpora.rs`.
pub fn run(data: &[u8]) {
    let Some((wasm, calls)) = generate(data) else { return };
    let loaded = match runtime::load_bytes(&RUNTIME.engine, "smith.wasm", &wasm) {
        Ok(loaded) => loaded,
        Err(e) => return one_line(&e.to_string(), 2000),
    };
    let out = Shared::default();
    let started = Instant::now();
    let (recorded, actor_kind) = match &loaded.actor {
        Actor::Pack(actor) => {
            let options = PackRecordOptions {
                invocations: calls,
                answers: Answers::from_json(ANSWERS).expect("answers"),
                initial_state: None,
                theater: None,
                sync_imports: Vec::new(),
                layout: Layout::JsonLines,
                limits: LIMITS,
                progress: None,
            };
            (pack_record::record(&RUNTIME, actor, Box::new(out.clone()), options), "Pack actor")
        }
        Actor::Component(_) => {
            let options = RecordOptions {
                invocations: calls,
                answers: Answers::from_json(COMPONENT_ANSWERS).expect("answers"),
                wasi: None,
                format: OutputFormat::JsonLines,
                limits: LIMITS,
                progress: None,
            };
            (component_record::record(&RUNTIME, &loaded, Box::new(out.clone()), options), "component")
        }
    };
    within_limits(started, "record");
    let chain = std::mem::take(&mut *out.0.lock().unwrap());
    let options = VerifyOptions { limits: LIMITS, ..VerifyOptions::default() };
    match recorded {
        Ok(summary) => verifies(&loaded, &chain, &summary, &options),
        Err(e) => {
            let message = runtime::one_line(&e);
            one_line(&message, 2000);
            // A limit reached while instantiating: verify reaches it too, before any call,
            // in the same words.
            let at_instantiation = message
                .strip_prefix(&format!("cannot instantiate the {actor_kind}: "))
                .filter(|limit| limit_named(limit).is_some());
            if let Some(limit) = at_instantiation {
                let report = verify(&loaded, one_call(&loaded), &options);
                let d = report.divergence.as_ref().unwrap_or_else(|| panic!("record: {message}; verify: {report:?}"));
                assert!(d.at_instantiation(), "record: {message}; verify: {report:?}");
                assert_eq!(d.detail.as_deref(), Some(format!("while instantiating the {actor_kind}: {limit}").as_str()), "{report:?}");
            }
            // What was written before the limit stopped the guest, whole events only.
            let end = chain.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
            let report = verify(&loaded, chain[..end].to_vec(), &options);
            if let Some(flag) = limit_named(&message)
                && at_instantiation.is_none()
                && end > 0
            {
                let d = report.divergence.as_ref().unwrap_or_else(|| panic!("record stopped at a limit ({message}), verify did not: {report:?}"));
                assert_eq!(d.kind, DivergenceKind::LimitExceeded, "record: {message}; verify: {report:?}");
                assert!(d.detail.as_deref().is_some_and(|d| d.contains(flag)), "record: {message}; verify: {report:?}");
            }
        }
    }
}

/// A whole recording verifies, every event and the head, with and without `--keep-going`.
fn verifies(loaded: &Loaded, chain: &[u8], summary: &RecordSummary, options: &VerifyOptions) {
    let options = VerifyOptions { expected_head: summary.head.clone(), ..options.clone() };
    for keep_going in [false, true] {
        let report = verify(loaded, chain.to_vec(), &VerifyOptions { keep_going, ..options.clone() });
        let divergence = report.divergence.as_ref();
        // Only time is not the same from run to run: a call that took nearly its deadline
        // when recorded may pass it when replayed.
        if divergence.is_some_and(|d| d.kind == DivergenceKind::LimitExceeded && d.detail.as_deref().is_some_and(|d| d.contains("--timeout"))) {
            continue;
        }
        assert_eq!(report.status, Status::Verified, "a recording does not verify: {report:?}");
        assert_eq!(report.events_verified, summary.events, "{report:?}");
        let head = summary.head.as_ref().map(|h| h.iter().map(|b| format!("{b:02x}")).collect::<String>());
        assert_eq!(report.head, head, "{report:?}");
    }
}
