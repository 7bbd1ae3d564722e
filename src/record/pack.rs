//! Recording a Pack actor as theater 0.3.8 records it: the same events (CGRF payloads,
//! SHA-1 hashes, the runtime's closing `shutdown` event) for the same calls and answers, so
//! that a chain recorded here replays under theater too, and one recorded by theater is
//! reproduced here byte for byte.
//!
//! Export arguments and import answers are WAVE, typed by the actor's own metadata
//! (`__pack_types`); an import whose result is unit is answered `()` without asking.

use super::{Answers, CallOutcome, RecordSummary, parse_invocation};
use crate::chain::{ChainWriter, Event, HashAlg, Layout};
use crate::dialect::pack::{CGRF_ANSWER_PREFIX, PackPayload, WASM_EVENT_TYPE, decode_value, encode_value, to_text};
use crate::dialect::pack_wave;
use crate::replay::InitialState;
use crate::runtime::pack::theater;
use crate::runtime::pack::types::{Metadata, Type, TypeDef};
use crate::runtime::pack::{self, PackActor, PackHost, PackImport, read_metadata};
use crate::runtime::{self, EpochTicker, Limits, Runtime};
use packr_abi::Value;
use std::io::Write;
use std::sync::Arc;
use wasmtime::{Caller, Linker, Store};

/// theater's event type of the runtime's last event, and the export name it carries.
pub const SHUTDOWN: &str = "shutdown";
/// theater-cli calls init with one parameter more than actors declare: the init bytes.
const INIT: &str = "theater:simple/actor.init";

/// What to record.
pub struct PackRecordOptions {
    /// Export calls in WAVE: `theater:simple/state-actor.add(5)`; the state is not given.
    pub invocations: Vec<String>,
    pub answers: Answers,
    /// The state before the first call; `None` is theater 0.3.8's `()`.
    pub initial_state: Option<InitialState>,
    /// Which of theater's containers to write.
    pub layout: Layout,
    pub limits: Limits,
    /// Counts events written and calls done as the recording goes (see [`crate::progress`]).
    pub progress: Option<std::sync::Arc<crate::progress::Progress>>,
}

struct RecordHost {
    writer: ChainWriter<Box<dyn Write + Send>>,
    head: Option<Vec<u8>>,
    events: u64,
    answers: Answers,
    imports: Arc<[PackImport]>,
    metadata: Metadata,
    limits: runtime::GuestLimiter,
    /// Why recording must stop (kept here: the error that unwinds the guest says less).
    failure: Option<String>,
    progress: Option<std::sync::Arc<crate::progress::Progress>>,
}

impl RecordHost {
    fn write(&mut self, event_type: &str, payload: &PackPayload) -> Result<(), String> {
        let event = Event::new_linked(HashAlg::Sha1, self.head.as_deref(), event_type.to_string(), payload.encode());
        self.writer.write(&event).map_err(|e| format!("cannot write the chain: {e}"))?;
        self.head = Some(event.hash);
        self.events += 1;
        if let Some(progress) = &self.progress {
            progress.event_written();
        }
        Ok(())
    }

    fn answer(&mut self, import: &PackImport) -> Result<Value, String> {
        let key = format!("{}#{}", import.interface, import.function);
        let sig = self.metadata.imports.iter().find(|f| f.interface == import.interface && f.name == import.function);
        let Some(sig) = sig else {
            return Err(format!("the actor's metadata does not describe its import `{key}`, so its answers cannot be typed"));
        };
        match sig.results.first() {
            None | Some(Type::Unit) => Ok(Value::Tuple(vec![])),
            Some(ty) => {
                let text = self.answers.next(&key)?;
                parse_answer(&key, &text, ty, &sig.type_defs)
            }
        }
    }
}

/// One answers-file entry for the import `key`, whose result type is `ty`: `cgrf:<hex>`
/// (any Value exactly), or WAVE typed by the actor's metadata. Public for the fuzz targets.
pub fn parse_answer(key: &str, text: &str, ty: &Type, defs: &[TypeDef]) -> Result<Value, String> {
    if let Some(hex_bytes) = text.strip_prefix(CGRF_ANSWER_PREFIX) {
        let bytes = hex::decode(hex_bytes.trim()).map_err(|e| format!("answer for `{key}`: `cgrf:` is followed by invalid hex: {e}"))?;
        return decode_value(&bytes).map_err(|e| format!("answer for `{key}`: {e}"));
    }
    pack_wave::parse(text, ty, defs).map_err(|e| {
        format!("answer for `{key}`: {e} (any answer can also be given exactly as `cgrf:<hex>`, the `output_cgrf` of `inspect --format jsonl`)")
    })
}

fn fail(caller: &mut Caller<'_, RecordHost>, message: String) -> wasmtime::Error {
    caller.data_mut().failure = Some(message.clone());
    wasmtime::Error::msg(message)
}

impl PackHost for RecordHost {
    fn on_import(caller: &mut Caller<'_, Self>, import: usize, input: Vec<u8>) -> wasmtime::Result<Vec<u8>> {
        let host = caller.data_mut();
        let import = host.imports[import].clone();
        let input = match decode_value(&input) {
            Ok(input) => input,
            Err(e) => return Err(fail(caller, format!("{}: the guest's argument is not CGRF: {e}", import.event_type()))),
        };
        let output = match host.answer(&import) {
            Ok(output) => output,
            Err(message) => return Err(fail(caller, message)),
        };
        let answer = encode_value(&output);
        let payload = PackPayload::HostFunction {
            interface: import.interface.clone(),
            function: import.function.clone(),
            input,
            output,
        };
        if let Err(message) = caller.data_mut().write(&import.event_type(), &payload) {
            return Err(fail(caller, message));
        }
        Ok(answer)
    }

    fn on_foreign_import(caller: &mut Caller<'_, Self>, import: usize) -> wasmtime::Error {
        let PackImport { interface, function, .. } = caller.data().imports[import].clone();
        fail(caller, format!("the guest called {interface}::{function}, whose signature is not the Pack ABI's"))
    }
}

/// The export name and arguments of one `--invoke`, typed by the metadata. Public for the
/// fuzz targets.
pub fn invocation(text: &str, metadata: &Metadata) -> Result<(String, Vec<Value>), String> {
    let (name, call) = parse_invocation(text)?;
    // Echoed clipped and escaped, as for components: the name is the user's text.
    let shown = crate::text::clip(&name);
    let sig = metadata.export(&name).ok_or_else(|| {
        let names: Vec<_> = metadata.exports.iter().map(|f| f.full_name()).collect();
        format!("the actor has no export `{shown}`; it exports: {}", crate::text::clip_to(&names.join(", "), 200))
    })?;
    let mut types: Vec<Type> = sig.params.iter().skip(1).map(|(_, t)| t.clone()).collect();
    let given = call.params_node().and_then(|n| n.as_tuple().ok()).map_or(0, |args| args.len());
    if name == INIT && types.is_empty() && given == 1 {
        types.push(Type::Option(Box::new(Type::List(Box::new(Type::U8)))));
    }
    let args = pack_wave::parse_args(&call, &types, &sig.type_defs).map_err(|e| format!("arguments of `{shown}`: {e}"))?;
    Ok((name, args))
}

/// Records `options.invocations` on a fresh instance of `actor`, writing the chain to `out`.
pub fn record(
    runtime: &Runtime,
    actor: &PackActor,
    out: Box<dyn Write + Send>,
    options: PackRecordOptions,
) -> anyhow::Result<RecordSummary> {
    let engine = &runtime.engine;
    let mut linker = Linker::new(engine);
    pack::link(&mut linker, actor, engine)?;
    let host = RecordHost {
        writer: ChainWriter::with_layout(out, options.layout),
        head: None,
        events: 0,
        answers: options.answers,
        imports: actor.imports.clone(),
        metadata: Metadata::default(),
        limits: runtime::store_limits(&options.limits),
        failure: None,
        progress: options.progress.clone(),
    };
    let mut store = Store::new(engine, host);
    store.limiter(|host| &mut host.limits);
    let deadline = EpochTicker::ticks(options.limits.timeout);
    store.set_epoch_deadline(deadline);
    let instance = linker.instantiate(&mut store, &actor.module).map_err(|e| {
        let why = store.data_mut().failure.take().unwrap_or_else(|| runtime::describe_instantiation_error(e, &options.limits));
        anyhow::anyhow!("cannot instantiate the Pack actor: {why}")
    })?;
    let metadata = read_metadata(&mut store, &instance)
        .map_err(|e| anyhow::anyhow!("cannot read the actor's type metadata (__pack_types): {e}"))?
        .ok_or_else(|| anyhow::anyhow!("the actor has no type metadata (__pack_types); theater 0.3.8 refuses such actors"))?;
    let calls = options
        .invocations
        .iter()
        .map(|text| invocation(text, &metadata))
        .collect::<Result<Vec<_>, _>>()
        .map_err(anyhow::Error::msg)?;
    let checked = Some(&metadata).filter(|m| !m.exports.is_empty()).cloned();
    store.data_mut().metadata = metadata;

    let mut state = match options.initial_state {
        None => Value::Tuple(vec![]),
        Some(InitialState::Value(value)) => value,
        Some(InitialState::Wave(text)) => {
            let first = calls.first().map(|(name, _)| name.as_str()).unwrap_or(INIT);
            let sig = store.data().metadata.export(first).ok_or_else(|| anyhow::anyhow!("--initial-state: no export {first}"))?;
            let (_, ty) = sig.params.first().ok_or_else(|| anyhow::anyhow!("--initial-state: {first} takes no state"))?;
            pack_wave::parse(&text, ty, &sig.type_defs).map_err(|e| anyhow::anyhow!("--initial-state: {e}"))?
        }
    };
    let (mut results, mut outcomes) = (Vec::new(), Vec::new());
    for (text, (name, args)) in options.invocations.iter().zip(calls) {
        let params = encode_value(&Value::Tuple(args.clone()));
        let call = PackPayload::WasmCall { function: name.clone(), params };
        store.data_mut().write(WASM_EVENT_TYPE, &call).map_err(anyhow::Error::msg)?;
        let params = Value::Tuple(args);
        store.set_epoch_deadline(deadline);
        let outcome = theater::call(&mut store, actor, &instance, checked.as_ref(), &name, &state, params, &options.limits);
        if let Some(failure) = store.data_mut().failure.take() {
            anyhow::bail!("while calling `{name}`: {failure}");
        }
        let payload = match outcome {
            Ok((new_state, bytes)) => {
                let wave = if bytes.is_empty() { "()".to_string() } else { crate::dialect::pack::cgrf_text(&bytes) };
                outcomes.push(CallOutcome { call: text.clone(), result: Ok(wave.clone()) });
                results.push(wave);
                let payload = PackPayload::WasmResult { function: name.clone(), state: new_state.clone(), bytes };
                state = new_state;
                payload
            }
            Err(failure) => {
                if let Some(limit) = failure.trap.as_ref().and_then(|t| t.limit.clone()) {
                    anyhow::bail!("while calling `{name}`: {limit}");
                }
                results.push(format!("error: {}", failure.message));
                outcomes.push(CallOutcome { call: text.clone(), result: Err(failure.message.clone()) });
                PackPayload::WasmError { function: name.clone(), message: failure.message }
            }
        };
        store.data_mut().write(WASM_EVENT_TYPE, &payload).map_err(anyhow::Error::msg)?;
        if let Some(progress) = &options.progress {
            progress.call_done();
        }
    }
    // theater's runtime closes every actor's chain with this event when it stops it.
    let shutdown = PackPayload::WasmCall { function: SHUTDOWN.to_string(), params: Vec::new() };
    store.data_mut().write(SHUTDOWN, &shutdown).map_err(anyhow::Error::msg)?;
    tracing::debug!(state = %to_text(&state), "final state");
    let events = store.data().events;
    let RecordHost { writer, head, .. } = store.into_data();
    writer.finish()?.flush()?;
    Ok(RecordSummary { events, results, calls: outcomes, head, hash_algorithm: HashAlg::Sha1 })
}
