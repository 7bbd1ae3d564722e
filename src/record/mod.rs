//! Recording: run export calls on one instance and write every event crossing the component
//! boundary as a chain in our format. The same interceptor as the replay; WASI imports are
//! served by the real WASI host ([`runtime::wasi`]), every other import by an [`Answers`]
//! source. Pack actors (theater 0.3.8) are recorded by [`pack`], as theater writes them.

pub mod pack;
pub mod rerecord;

use crate::chain::{ChainWriter, Event, HashAlg, OutputFormat};
use crate::payload::{FORMAT_NAME, FORMAT_VERSION, HostCall, Payload};
use crate::runtime::imports::{ImportCatalog, ImportHandler, ImportedResource, IncomingCall, StoreResources, link_all};
use crate::runtime::forwarder;
use crate::runtime::wasi::{self, Forwarding, Sandbox, WasiHost, WasiState};
use crate::runtime::{self, EpochTicker, Limits, Loaded, Runtime, exports};
use crate::values::{self, encode_args};
use serde_json::json;
use std::collections::{BTreeMap, VecDeque};
use std::io::Write;
use wasmtime::component::wasm_wave::untyped::UntypedFuncCall;
use wasmtime::component::{Linker, ResourceAny, ResourceDynamic, Type, Val};
use wasmtime::{AsContextMut, Store, StoreContextMut};

/// Results for imports, by `interface#function` (or `function` at the root): WAVE texts of
/// the results of successive calls.
#[derive(Debug, Default, Clone)]
pub struct Answers {
    sources: BTreeMap<String, AnswerSource>,
    used: BTreeMap<String, usize>,
    /// Whether they came from a file (`--answers`): the message for a missing one differs.
    from_file: bool,
}

/// Where one import's answers come from.
#[derive(Debug, Clone)]
enum AnswerSource {
    /// `["1", "2"]`: one per call, in order, then none.
    List(VecDeque<String>),
    /// `{"always": "7"}`: the same for every call.
    Always(String),
    /// `{"cycle": ["3", "10"]}`: in order, then again from the first.
    Cycle(Vec<String>),
}

impl Answers {
    /// Reads `{"iface#func": ["100", "23"], "f": {"always": "7"}, "g": {"cycle": ["1", "2"]}}`:
    /// a long recording needs no answer per call.
    pub fn from_json(text: &str) -> Result<Answers, String> {
        const SHAPE: &str = r#"a list of WAVE strings, {"always": "..."} or {"cycle": ["...", ...]}"#;
        let map: BTreeMap<String, serde_json::Value> =
            serde_json::from_str(text).map_err(|e| format!("expected a JSON object of answers ({SHAPE}): {e}"))?;
        let strings = |key: &str, value: serde_json::Value| -> Result<Vec<String>, String> {
            serde_json::from_value(value).map_err(|_| format!("`{}`: expected {SHAPE}", crate::text::clip(key)))
        };
        let mut sources = BTreeMap::new();
        for (key, value) in map {
            let source = match value {
                serde_json::Value::Object(mut spec) if spec.len() == 1 => match (spec.remove("always"), spec.remove("cycle")) {
                    (Some(serde_json::Value::String(answer)), _) => AnswerSource::Always(answer),
                    (_, Some(list)) => match strings(&key, list)? {
                        list if list.is_empty() => {
                            return Err(format!("`{}`: a cycle needs at least one answer", crate::text::clip(&key)));
                        }
                        list => AnswerSource::Cycle(list),
                    },
                    _ => return Err(format!("`{}`: expected {SHAPE}", crate::text::clip(&key))),
                },
                list => AnswerSource::List(strings(&key, list)?.into()),
            };
            sources.insert(key, source);
        }
        Ok(Answers { sources, used: BTreeMap::new(), from_file: true })
    }

    /// The next answer for the import `key`; an error once a list is used up.
    pub fn next(&mut self, key: &str) -> Result<String, String> {
        let used = self.used.entry(key.to_string()).or_default();
        *used += 1;
        let answer = match self.sources.get_mut(key) {
            Some(AnswerSource::List(queue)) => queue.pop_front(),
            Some(AnswerSource::Always(answer)) => Some(answer.clone()),
            Some(AnswerSource::Cycle(list)) => Some(list[(*used - 1) % list.len()].clone()),
            None => None,
        };
        match answer {
            Some(answer) => Ok(answer),
            None if !self.from_file => Err(format!(
                "`{key}` returns a value and no --answers file was given: write one such as {{\"{key}\": [\"...\"]}} (WAVE results, one per call) and pass --answers FILE"
            )),
            None if *used == 1 => Err(format!("the answers file has no answers for `{key}`")),
            None => Err(format!(
                "the answers file has only {} answer(s) for `{key}`; call {} needs another (or give {{\"always\": ...}} or {{\"cycle\": [...]}})",
                *used - 1,
                *used
            )),
        }
    }
}

#[cfg(test)]
mod answers_tests {
    use super::Answers;

    #[test]
    fn lists_run_out_always_repeats_and_cycle_starts_over() {
        let mut answers =
            Answers::from_json(r#"{"l": ["1", "2"], "a": {"always": "7"}, "c": {"cycle": ["3", "10", "17"]}}"#).unwrap();
        let take = |answers: &mut Answers, key: &str, n: usize| (0..n).map(|_| answers.next(key).unwrap()).collect::<Vec<_>>();
        assert_eq!(take(&mut answers, "l", 2), ["1", "2"]);
        assert!(answers.next("l").unwrap_err().contains("only 2 answer(s) for `l`; call 3 needs another"));
        assert_eq!(take(&mut answers, "a", 3), ["7", "7", "7"]);
        assert_eq!(take(&mut answers, "c", 7), ["3", "10", "17", "3", "10", "17", "3"]);
    }

    #[test]
    fn a_malformed_answer_names_its_function_and_the_shapes_allowed() {
        for (text, says) in [
            (r#"{"f": [1, 2]}"#, "`f`: expected a list of WAVE strings"),
            (r#"{"f": {"cycle": []}}"#, "`f`: a cycle needs at least one answer"),
            (r#"{"f": {"always": 7}}"#, "`f`: expected"),
            (r#"{"f": {"sometimes": "7"}}"#, "`f`: expected"),
            (r#"{"f": {"always": "7", "cycle": ["1"]}}"#, "`f`: expected"),
            (r#"["f"]"#, "expected a JSON object of answers"),
        ] {
            let error = Answers::from_json(text).unwrap_err();
            assert!(error.contains(says), "{text}: {error}");
        }
    }
}

/// What to record.
pub struct RecordOptions {
    /// Export calls in WAVE, `run("hello")` or `iface#func(1, 2)`, run in order.
    pub invocations: Vec<String>,
    /// Results for the imports that are not WASI (or all, without `wasi`).
    pub answers: Answers,
    /// Serve WASI imports with wasmtime-wasi in this sandbox; `None` answers them from
    /// `answers` like any other import.
    pub wasi: Option<Sandbox>,
    /// The chain's container.
    pub format: OutputFormat,
    /// Time and memory one call may take.
    pub limits: Limits,
    /// Counts events written and calls done as the recording goes (see [`crate::progress`]).
    pub progress: Option<std::sync::Arc<crate::progress::Progress>>,
}

impl RecordOptions {
    /// These export calls, answered from `answers` (empty: set it for an actor that makes
    /// host calls), without WASI, as a JSON array, with the default limits.
    pub fn new<S: Into<String>>(invocations: impl IntoIterator<Item = S>) -> RecordOptions {
        RecordOptions {
            invocations: invocations.into_iter().map(Into::into).collect(),
            answers: Answers::default(),
            wasi: None,
            format: OutputFormat::JsonArray,
            limits: Limits::default(),
            progress: None,
        }
    }
}

/// A finished recording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordSummary {
    /// Events written.
    pub events: u64,
    /// The WAVE results of the export calls, in order (`trap: ...` for traps), for people.
    pub results: Vec<String>,
    /// The same calls, typed, for the JSON report.
    pub calls: Vec<CallOutcome>,
    /// The hash of the last event written (the chain's head).
    pub head: Option<Vec<u8>>,
    /// The algorithm of the chain's hashes.
    pub hash_algorithm: HashAlg,
}

/// One export call of a recording and what it did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallOutcome {
    /// The call as given (`--invoke`), in WAVE.
    pub call: String,
    /// The WAVE result; `Err` with the message when the call trapped (a Pack actor: failed,
    /// as theater records a `wasm-error`).
    pub result: Result<String, String>,
}

/// The store's data while recording.
struct RecordHost {
    writer: ChainWriter<Box<dyn Write + Send>>,
    head: Option<Vec<u8>>,
    events: u64,
    answers: Answers,
    catalog: ImportCatalog,
    guest_resources: Vec<ResourceAny>,
    limits: runtime::GuestLimiter,
    wasi: WasiState,
    forwarding: Option<Forwarding>,
    next_handle: u32,
    /// Why recording must stop (kept here: the error that unwinds the guest says less).
    failure: Option<String>,
    progress: Option<std::sync::Arc<crate::progress::Progress>>,
    /// A recording being re-recorded (`verify --accept`): its answers come first.
    old: Option<rerecord::OldAnswers>,
}

impl RecordHost {
    fn write(&mut self, payload: &Payload) -> Result<(), String> {
        let event = Event::new_linked(HashAlg::Sha256, self.head.as_deref(), payload.event_type(), payload.encode());
        self.writer.write(&event).map_err(|e| format!("cannot write the chain: {e}"))?;
        self.head = Some(event.hash);
        self.events += 1;
        if let Some(progress) = &self.progress {
            progress.event_written();
        }
        Ok(())
    }
}

fn fail(mut store: StoreContextMut<'_, RecordHost>, message: String) -> wasmtime::Result<()> {
    store.data_mut().failure = Some(message.clone());
    Err(wasmtime::Error::msg(message))
}

impl ImportHandler for RecordHost {
    fn abort(store: StoreContextMut<'_, Self>, message: String) -> wasmtime::Result<()> {
        fail(store, message)
    }

    fn on_call(mut store: StoreContextMut<'_, Self>, call: IncomingCall<'_>, results: &mut [Val]) -> wasmtime::Result<()> {
        let forwarded = store.data().forwarding.as_ref().and_then(|f| f.func(call.call));
        let from_old = store.data_mut().old.as_mut().and_then(|old| old.next(call.call));
        let output = match (from_old, forwarded) {
            (Some(recorded), _) => rerecord::answer(&mut store, call.call, &recorded, call.result_types, results),
            (None, Some(func)) => wasi::forward(&mut store, func, &call, results),
            (None, None) => answer(&mut store, call.call, call.result_types)
                .map(|(answer, output)| {
                    results.clone_from_slice(&answer);
                    output
                })
                .map_err(|message| match &store.data().old {
                    Some(old) => old.explain(call.call, &message),
                    None => message,
                }),
        };
        let output = match output {
            Ok(output) => output,
            Err(message) => return fail(store, message),
        };
        let payload = Payload::HostFunction { call: call.call.clone(), input: call.input, output };
        match store.data_mut().write(&payload) {
            Ok(()) => Ok(()),
            Err(message) => fail(store, message),
        }
    }

    fn on_drop(mut store: StoreContextMut<'_, Self>, resource: &ImportedResource, rep: u32) -> wasmtime::Result<()> {
        if let Err(e) = wasi::drop_resource(&mut store, rep) {
            return fail(store, format!("dropping {}: {}", resource.drop_call().key(), runtime::one_line(&e)));
        }
        let payload = Payload::HostFunction {
            call: resource.drop_call(),
            input: values::resource_json(rep, true),
            output: json!({"Tuple": []}),
        };
        match store.data_mut().write(&payload) {
            Ok(()) => Ok(()),
            Err(message) => fail(store, message),
        }
    }

    fn catalog(&self) -> &ImportCatalog {
        &self.catalog
    }

    fn guest_resources(&mut self) -> &mut Vec<ResourceAny> {
        &mut self.guest_resources
    }
}

impl WasiHost for RecordHost {
    fn forwarding(&mut self) -> Option<&mut Forwarding> {
        self.forwarding.as_mut()
    }

    fn mint_handle(&mut self) -> u32 {
        self.next_handle += 1;
        self.next_handle - 1
    }
}

impl wasmtime_wasi::WasiView for RecordHost {
    fn ctx(&mut self) -> wasmtime_wasi::WasiCtxView<'_> {
        wasmtime_wasi::WasiView::ctx(&mut self.wasi)
    }
}

impl wasmtime_wasi_http::WasiHttpView for RecordHost {
    fn http(&mut self) -> wasmtime_wasi_http::WasiHttpCtxView<'_> {
        wasmtime_wasi_http::WasiHttpView::http(&mut self.wasi)
    }
}

/// The answer to one import call, as values and as its typed encoding: nothing for
/// functions without results, a fresh handle for functions returning an imported resource,
/// else the next answer from the file.
fn answer(
    store: &mut StoreContextMut<'_, RecordHost>,
    call: &HostCall,
    result_types: &[Type],
) -> Result<(Vec<Val>, serde_json::Value), String> {
    let encode_failed = |e: values::ValueError| format!("cannot encode the answer for {}: {e}", call.key());
    match result_types {
        [] => Ok((Vec::new(), encode_args(&[], &[], &mut values::NoResources).map_err(encode_failed)?)),
        [Type::Own(rty)] if store.data().catalog.resource_number(rty).is_some() => {
            let n = store.data().catalog.resource_number(rty).unwrap_or_default();
            let handle = store.data_mut().mint_handle();
            let resource = ResourceDynamic::new_own(handle, n)
                .try_into_resource_any(store.as_context_mut())
                .map_err(|e| format!("cannot make a resource for {}: {e}", call.key()))?;
            // Encoded from the handle: reading it back from the `ResourceAny` would take
            // the resource out of the host's table before the guest gets it.
            Ok((vec![Val::Resource(resource)], values::resource_json(handle, true)))
        }
        [ty] => {
            let key = call.key();
            let text = store.data_mut().answers.next(&key)?;
            let val = wasmtime::component::wasm_wave::from_str::<Val>(ty, &text)
                .map_err(|e| {
                    format!("answer `{}` for `{key}` is not a valid {}: {e}", crate::text::clip(&text), values::type_name(ty))
                })?;
            let output = encode_args(std::slice::from_ref(&val), result_types, &mut values::NoResources)
                .map_err(encode_failed)?;
            Ok((vec![val], output))
        }
        _ => Err(format!("{} has several results, which the component model does not allow", call.key())),
    }
}

/// Splits `iface#func(args)` into the export name and a WAVE call wasm-wave can parse.
/// Public for the fuzz targets (`fuzz/`), which feed it arbitrary `--invoke` text.
pub fn parse_invocation(text: &str) -> Result<(String, UntypedFuncCall<'static>), String> {
    // The call is echoed clipped: a 100 KB argument must not come back whole.
    let shown = crate::text::clip(text);
    let open = text.find('(').ok_or_else(|| format!("`{shown}`: expected a call like `run(\"hello\")`"))?;
    let name = text[..open].trim().to_string();
    if name.is_empty() {
        return Err(format!("`{shown}`: the call names no function"));
    }
    // WAVE names are plain labels; ours may carry an interface, so parse the arguments under
    // a placeholder name.
    let call = UntypedFuncCall::parse(&format!("f{}", &text[open..]))
        .map_err(|e| format!("`{shown}`: {e}"))?
        .into_owned();
    Ok((name, call))
}

/// One export call to record.
enum Call {
    /// `--invoke` text: the export's name and its WAVE arguments.
    Wave(String, UntypedFuncCall<'static>),
    /// A call read back from a chain: the export's name and its arguments' encoding.
    Recorded(String, serde_json::Value),
}

/// Records the calls in `options` on a fresh instance of `loaded`, writing the chain to `out`.
pub fn record(
    runtime: &Runtime,
    loaded: &Loaded,
    out: Box<dyn Write + Send>,
    options: RecordOptions,
) -> anyhow::Result<RecordSummary> {
    let calls = options
        .invocations
        .iter()
        .map(|text| parse_invocation(text).map(|(name, call)| Call::Wave(name, call)))
        .collect::<Result<Vec<_>, _>>()
        .map_err(anyhow::Error::msg)?;
    record_calls(runtime, loaded, out, calls, options, None)
}

/// [`record`] of `calls` (`options.invocations` is not read), with the answers of `old`
/// consulted before any other.
fn record_calls(
    runtime: &Runtime,
    loaded: &Loaded,
    out: Box<dyn Write + Send>,
    calls: Vec<Call>,
    options: RecordOptions,
    old: Option<rerecord::OldAnswers>,
) -> anyhow::Result<RecordSummary> {
    let engine = &runtime.engine;
    let component = loaded.component().ok_or_else(|| anyhow::anyhow!("not a component: Pack actors are recorded by record::pack"))?;
    let catalog = ImportCatalog::of(component, engine)?;
    let mut linker = Linker::new(engine);
    link_all(&mut linker, &catalog)?;
    let host = RecordHost {
        writer: ChainWriter::new(out, options.format),
        head: None,
        events: 0,
        answers: options.answers,
        catalog,
        guest_resources: Vec::new(),
        limits: runtime::store_limits(&options.limits),
        wasi: WasiState::new(options.wasi.as_ref().unwrap_or(&Sandbox::default()))?,
        forwarding: None,
        next_handle: 0,
        failure: None,
        progress: options.progress.clone(),
        old,
    };
    let mut store = Store::new(engine, host);
    store.limiter(|host| &mut host.limits);
    let deadline = EpochTicker::ticks(options.limits.timeout);

    let header = Payload::Recording {
        format: FORMAT_NAME.to_string(),
        version: FORMAT_VERSION,
        component_sha256: loaded.sha256.clone(),
    };
    store.data_mut().write(&header).map_err(anyhow::Error::msg)?;
    store.set_epoch_deadline(deadline);
    // Only a component importing what wasmtime-wasi serves needs its WIT decoded.
    let imports_wasi = store.data().catalog.functions.keys().flatten().any(|i| forwarder::served_by_wasmtime_wasi(i));
    if options.wasi.is_some() && imports_wasi {
        store.data_mut().forwarding = wasi::instantiate(engine, &loaded.bytes, &mut store.as_context_mut())?;
    }
    let instance = linker.instantiate(&mut store, component).map_err(|e| {
        let why = store.data_mut().failure.take().unwrap_or_else(|| runtime::describe_instantiation_error(e, &options.limits));
        anyhow::anyhow!("cannot instantiate the component: {why}")
    })?;

    let (mut results, mut outcomes) = (Vec::new(), Vec::new());
    for call in calls {
        let name = match &call {
            Call::Wave(name, _) | Call::Recorded(name, _) => name.clone(),
        };
        let func = exports::find(&mut store, &instance, &name).ok_or_else(|| {
            anyhow::anyhow!(
                "the component has no export `{name}`; it exports: {}",
                exports::names(component, engine).join(", ")
            )
        })?;
        let (param_types, result_types) = exports::signature(&func, &store);
        let args: Vec<Val> = match &call {
            Call::Wave(_, call) => call
                .to_wasm_params::<Val>(param_types.iter())
                .map_err(|e| anyhow::anyhow!("arguments of `{name}`: {e}"))?,
            Call::Recorded(_, params) => {
                values::decode_args(params, &param_types, &mut StoreResources { store: &mut store.as_context_mut() })
                    .map_err(|e| anyhow::anyhow!("the recorded arguments of `{name}` do not fit its parameters: {e}"))?
            }
        };
        let params = encode_args(&args, &param_types, &mut StoreResources { store: &mut store.as_context_mut() })?;
        // The call as WAVE, the same whether it came from `--invoke` or from a chain.
        let text = format!("{name}({})", values::args_to_wave(&params, Some(param_types.len())));
        store.data_mut().write(&Payload::WasmCall { function: name.clone(), params }).map_err(anyhow::Error::msg)?;
        let mut out = vec![Val::Bool(false); result_types.len()];
        store.set_epoch_deadline(deadline);
        let outcome = func.call(&mut store, &args, &mut out);
        if let Some(failure) = store.data_mut().failure.take() {
            anyhow::bail!("while calling `{name}`: {failure}");
        }
        let payload = match outcome {
            Ok(()) => {
                let result = encode_args(&out, &result_types, &mut StoreResources { store: &mut store.as_context_mut() })?;
                let wave = values::args_to_wave(&result, Some(result_types.len()));
                outcomes.push(CallOutcome { call: text, result: Ok(wave.clone()) });
                results.push(wave);
                Payload::WasmResult { function: name.clone(), result }
            }
            Err(e) => {
                let trap = runtime::describe_trap(&e, &options.limits);
                if let Some(limit) = trap.limit {
                    anyhow::bail!("while calling `{name}`: {limit}");
                }
                results.push(format!("trap: {}", trap.message));
                outcomes.push(CallOutcome { call: text, result: Err(trap.message.clone()) });
                Payload::WasmError { function: name.clone(), message: trap.message }
            }
        };
        store.data_mut().write(&payload).map_err(anyhow::Error::msg)?;
        if let Some(progress) = &options.progress {
            progress.call_done();
        }
    }
    let events = store.data().events;
    let RecordHost { writer, head, .. } = store.into_data();
    writer.finish()?.flush()?;
    Ok(RecordSummary { events, results, calls: outcomes, head, hash_algorithm: HashAlg::Sha256 })
}
