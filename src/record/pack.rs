//! Recording a Pack actor as a theater release records it (0.3.8 unless told otherwise):
//! the same events (CGRF payloads in the release's form, SHA-1 hashes, the runtime's
//! closing `shutdown` event) for the same calls and answers, so that a chain recorded here
//! replays under theater too, and one recorded by theater is reproduced here byte for byte.
//!
//! Export arguments and import answers are WAVE, typed by the actor's own metadata
//! (`__pack_types`); an import whose result is unit is answered `()` without asking.

use super::{Answers, CallOutcome, RecordSummary, parse_invocation};
use crate::chain::{ChainWriter, Event, HashAlg, Layout};
use crate::dialect::pack::{CGRF_ANSWER_PREFIX, Carried, PackPayload, WASM_EVENT_TYPE, decode_value, decode_value_in, encode_value, to_text};
use crate::dialect::pack_wave;
// theater-cli 0.3.8 calls init with one parameter more than actors declare: the init bytes.
use crate::dialect::release::{INIT, RELEASES, Release};
use crate::replay::InitialState;
use crate::runtime::pack::theater;
use crate::runtime::pack::types::{Metadata, Type, TypeDef};
use crate::runtime::pack::{self, AnswerAt, PackActor, PackHost, PackImport, read_metadata};
use crate::dialect::release::PayloadForm;
use crate::runtime::{self, EpochTicker, Limits, Runtime};
use packr_abi::Value;
use std::io::Write;
use std::sync::Arc;
use wasmtime::{Caller, Linker, Store};

/// The host function through which an actor stops itself.
const SELF_SHUTDOWN: (&str, &str) = ("theater:simple/runtime", "shutdown");
/// theater's event type of the runtime's last event, and the export name it carries.
pub const SHUTDOWN: &str = "shutdown";

/// What to record.
pub struct PackRecordOptions {
    /// Export calls in WAVE: `theater:simple/state-actor.add(5)`; the state is not given.
    pub invocations: Vec<String>,
    pub answers: Answers,
    /// The state before the first call; `None` is the release's default.
    pub initial_state: Option<InitialState>,
    /// The theater release whose chain to write; `None` is 0.3.8.
    pub theater: Option<&'static Release>,
    /// Host functions of the user's own handlers answered synchronously under 0.3.29.
    pub sync_imports: Vec<String>,
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
    /// The actor asked the runtime to stop it (`theater:simple/runtime.shutdown`).
    shutdown_requested: bool,
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
        if (import.interface.as_str(), import.function.as_str()) == SELF_SHUTDOWN {
            host.shutdown_requested = true;
        }
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
    let release = options.theater.unwrap_or(&RELEASES[0]);
    let engine = &runtime.engine;
    let mut linker = Linker::new(engine);
    pack::link(&mut linker, actor, engine, &AnswerAt::for_imports(actor, release, &options.sync_imports))?;
    let host = RecordHost {
        writer: ChainWriter::with_layout(out, options.layout),
        head: None,
        events: 0,
        answers: options.answers,
        imports: actor.imports.clone(),
        metadata: Metadata::default(),
        limits: runtime::store_limits(&options.limits),
        failure: None,
        shutdown_requested: false,
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
    let mut invocations = options.invocations.clone();
    // From 0.3.17 the runtime starts the actor with init itself, before any call of ours.
    let starts_with_init = invocations.first().is_some_and(|text| parse_invocation(text).is_ok_and(|(name, _)| name == INIT));
    if release.spawn_calls_init && !starts_with_init && metadata.export(INIT).is_some() {
        invocations.insert(0, format!("{INIT}()"));
    }
    let calls = invocations
        .iter()
        .map(|text| invocation(text, &metadata))
        .collect::<Result<Vec<_>, _>>()
        .map_err(anyhow::Error::msg)?;
    let checked = Some(&metadata).filter(|m| !m.exports.is_empty()).cloned();
    store.data_mut().metadata = metadata;

    let mut state = match options.initial_state {
        None => release.default_state.value(),
        Some(InitialState::Value(value)) => value,
        Some(InitialState::Wave(text)) => {
            let first = calls.first().map(|(name, _)| name.as_str()).unwrap_or(INIT);
            let sig = store.data().metadata.export(first).ok_or_else(|| anyhow::anyhow!("--initial-state: no export {first}"))?;
            let (_, ty) = sig.params.first().ok_or_else(|| anyhow::anyhow!("--initial-state: {first} takes no state"))?;
            pack_wave::parse(&text, ty, &sig.type_defs).map_err(|e| anyhow::anyhow!("--initial-state: {e}"))?
        }
    };
    let (mut results, mut outcomes) = (Vec::new(), Vec::new());
    let mut calls = invocations.iter().zip(calls);
    for (text, (name, args)) in calls.by_ref() {
        let call = PackPayload::WasmCall { function: name.clone(), params: Carried::new(release.payloads, Some(Value::Tuple(args.clone()))) };
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
                let result = if bytes.is_empty() { None } else { decode_value_in(release.payloads, &bytes).ok() };
                let payload = PackPayload::WasmResult {
                    function: name.clone(),
                    state: new_state.clone(),
                    result: match release.payloads {
                        PayloadForm::NestedCgrf => Carried::Cgrf(bytes),
                        PayloadForm::Values => Carried::new(PayloadForm::Values, result),
                    },
                };
                state = new_state;
                payload
            }
            Err(failure) => {
                if let Some(limit) = failure.trap.as_ref().and_then(|t| t.limit.clone()) {
                    anyhow::bail!("while calling `{name}`: {limit}");
                }
                let message = failure.error.message(&name, release);
                results.push(format!("error: {message}"));
                outcomes.push(CallOutcome { call: text.clone(), result: Err(message.clone()) });
                PackPayload::WasmError { function: name.clone(), message }
            }
        };
        let failed = matches!(payload, PackPayload::WasmError { .. });
        store.data_mut().write(WASM_EVENT_TYPE, &payload).map_err(anyhow::Error::msg)?;
        if let Some(progress) = &options.progress {
            progress.call_done();
        }
        // The runtime stops an actor that asked to be stopped once the call returns, and
        // one whose call failed (from 0.3.9); either way no call of ours comes after.
        if store.data().shutdown_requested || (failed && release.failure_stops_actor) {
            break;
        }
    }
    let skipped: Vec<&String> = calls.map(|(text, _)| text).collect();
    if !skipped.is_empty() {
        // As theater does: the actor is stopped, so its chain ends here.
        let why = if store.data().shutdown_requested { "that asked to be stopped" } else { "whose call failed" };
        tracing::warn!(
            "theater {} stops an actor {why}: {} later call{} not made ({})",
            release.versions(),
            skipped.len(),
            if skipped.len() == 1 { " was" } else { "s were" },
            crate::text::clip_to(&skipped.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", "), 200)
        );
    }
    // theater's runtime closes the chain of every actor it stops with this event; an actor
    // that stopped itself has none.
    if !store.data().shutdown_requested {
        let shutdown = PackPayload::WasmCall { function: SHUTDOWN.to_string(), params: Carried::new(release.payloads, None) };
        store.data_mut().write(SHUTDOWN, &shutdown).map_err(anyhow::Error::msg)?;
    }
    tracing::debug!(state = %to_text(&state), "final state");
    let events = store.data().events;
    let RecordHost { writer, head, .. } = store.into_data();
    writer.finish()?.flush()?;
    Ok(RecordSummary { events, results, calls: outcomes, head, hash_algorithm: HashAlg::Sha1 })
}
