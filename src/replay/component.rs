//! The replay driver for components: the import interceptor answers every call from the
//! recording, the export driver calls every recorded export with its recorded arguments.

use super::{DivergenceKind, EventView, KeepGoingStop, Recorded, Stop, Tracker, VerifyOptions, VerifyReport};
use crate::chain::Event as ChainEvent;
use crate::dialect::Dialect;
use crate::dialect::theater_http::{self, HttpHost, Plan};
use crate::dialect::theater_json::{self, Style};
use crate::dialect::theater_types::HostTypes;
use crate::payload::{FORMAT_NAME, FORMAT_VERSION, HostCall, Payload};
use crate::runtime::imports::{ImportCatalog, ImportHandler, ImportedResource, IncomingCall, StoreResources, link_all};
use crate::runtime::{self, EpochTicker, Runtime, exports};
use crate::values::{self, decode_args, encode_args};
use serde_json::{Value, json};
use wasmtime::component::{Component, Instance, Linker, ResourceAny, ResourceType, Type, Val};
use wasmtime::{AsContextMut, Engine, Store, StoreContextMut};

/// The store's data during a replay.
struct ReplayHost {
    tracker: Tracker,
    catalog: ImportCatalog,
    guest_resources: Vec<ResourceAny>,
    limits: runtime::GuestLimiter,
    /// Reused by [`Payload::recorded_host_output`] on every host call.
    scratch: Vec<u8>,
    /// Set when the chain is theater's own (component era): its payloads are read and
    /// written by [`theater_json`] instead of [`Payload`].
    theater: Option<TheaterMode>,
    /// The export being called, for `--keep-going`'s tally.
    call: Option<String>,
}

/// What a replay of a theater chain keeps besides the tracker.
struct TheaterMode {
    /// The value style given with `--dialect`; otherwise each host event's own shape says.
    forced: Option<Style>,
    /// The style of the first recorded host value: which dialect the report names.
    seen: Option<Style>,
    /// The actor's state: `None` before the first call, then the last result's.
    state: Option<Vec<u8>>,
    /// theater's wasi:http host: its resource table, fields, responses.
    http: HttpHost,
    /// Whether the current call used that host: a divergence in such a call leaves its
    /// resource table unknown, so `--keep-going` cannot go on past it.
    http_used: bool,
}

/// A host call's answer taken from its recorded text (see [`ReplayHost::recorded_answer`]).
enum RecordedAnswer {
    /// One boolean or integer, decoded already.
    Scalar(Val),
    /// The recorded output, to decode with the call's result types.
    Output(Value),
}

impl ReplayHost {
    /// Re-encodes the replay's event and compares it with the recorded one (see
    /// [`Tracker::reproduces`]).
    fn reproduces(&self, recorded: &Recorded, actual: &Payload) -> bool {
        recorded.event.parent_hash == self.tracker.head
            && actual.has_event_type(&recorded.event.event_type)
            && actual.encode() == recorded.event.data
    }

    /// The recorded answer when `recorded` is exactly the event the guest's call makes
    /// (same parent, type and bytes): the hot path of a replay, which decodes only the
    /// output, and for one boolean or integer result reads it straight from its text (see
    /// [`values::decode_canonical_scalar`]). The event is compared once either way. `None`
    /// when it is not that simple; the full path then decides.
    fn recorded_answer(
        &mut self,
        recorded: &Recorded,
        call: &HostCall,
        input: &Value,
        result_types: &[Type],
    ) -> Option<RecordedAnswer> {
        let event = &recorded.event;
        if event.parent_hash != self.tracker.head || !call.is_event_type(&event.event_type) {
            return None;
        }
        let text = Payload::recorded_host_output_text(&event.data, call, input, &mut self.scratch)?;
        if let [ty] = result_types
            && let Some(val) = values::decode_canonical_scalar(text, ty)
        {
            return Some(RecordedAnswer::Scalar(val));
        }
        Payload::canonical_output(text, &mut self.scratch).map(RecordedAnswer::Output)
    }

    fn matched(&mut self, recorded: Recorded) {
        self.tracker.matched(recorded);
    }

    fn matched_call(&mut self, recorded: Recorded) {
        self.tracker.matched_call(recorded);
    }

    fn view_actual(&self, actual: &Payload) -> EventView {
        let data = actual.encode();
        let payload = serde_json::from_slice(&data).unwrap_or(Value::Null);
        // From the payload itself: a call not yet answered does not decode from its bytes.
        self.tracker.view(actual.event_type(), &data, actual.summary(), payload, actual.compared())
    }

    fn divergence(
        &self,
        kind: DivergenceKind,
        recorded: Option<&Recorded>,
        actual: Option<&Payload>,
        detail: Option<String>,
        guest_stack: Vec<String>,
    ) -> Stop {
        self.tracker.divergence(kind, recorded, actual.map(|a| self.view_actual(a)), detail, guest_stack)
    }
}

fn decode_payload(recorded: &Recorded) -> Result<Payload, Stop> {
    Payload::decode(&recorded.event.data)
        .map_err(|e| Stop::Error(format!("event {} ({}): {e}", recorded.index, recorded.event.event_type)))
}

/// Stops the guest: the reason is kept in the store, the error only unwinds the guest.
fn halt(mut store: StoreContextMut<'_, ReplayHost>, stop: Stop) -> wasmtime::Result<()> {
    store.data_mut().tracker.stop = Some(stop);
    Err(wasmtime::Error::msg("replay stopped"))
}

impl ImportHandler for ReplayHost {
    fn abort(store: StoreContextMut<'_, Self>, message: String) -> wasmtime::Result<()> {
        halt(store, Stop::Error(message))
    }

    fn on_call(
        mut store: StoreContextMut<'_, Self>,
        incoming: IncomingCall<'_>,
        results: &mut [Val],
    ) -> wasmtime::Result<()> {
        if store.data().theater.is_some() {
            return theater_call(store, incoming, results);
        }
        let IncomingCall { call, input, result_types, .. } = incoming;
        let recorded = match store.data_mut().tracker.recording.next() {
            Ok(recorded) => recorded,
            Err(stop) => return halt(store, stop),
        };
        let Some(recorded) = recorded else {
            let actual = Payload::HostFunction { call: call.clone(), input, output: json!(null) };
            let stack = runtime::guest_stack(&store);
            let stop = store.data().divergence(DivergenceKind::ExtraHostCall, None, Some(&actual), None, stack);
            return halt(store, stop);
        };
        match store.data_mut().recorded_answer(&recorded, call, &input, result_types) {
            Some(RecordedAnswer::Scalar(val)) if results.len() == 1 => {
                results[0] = val;
                store.data_mut().matched(recorded);
                return Ok(());
            }
            Some(RecordedAnswer::Output(output)) => return answer(store, recorded, &output, result_types, results),
            _ => {}
        }
        let payload = match decode_payload(&recorded) {
            Ok(p) => p,
            Err(stop) => return halt(store, stop),
        };
        let Payload::HostFunction { call: recorded_call, input: recorded_input, output } = &payload else {
            let actual = Payload::HostFunction { call: call.clone(), input, output: json!(null) };
            let stack = runtime::guest_stack(&store);
            let stop =
                store.data().divergence(DivergenceKind::ExtraHostCall, Some(&recorded), Some(&actual), None, stack);
            return halt(store, stop);
        };
        let actual = Payload::HostFunction { call: call.clone(), input, output: output.clone() };
        if recorded_call != call || !store.data().reproduces(&recorded, &actual) {
            let kind = if recorded_call != call {
                DivergenceKind::DifferentImport
            } else if *recorded_input != actual_input(&actual) {
                DivergenceKind::DifferentArguments
            } else {
                DivergenceKind::NoncanonicalRecording
            };
            // The answer is the recording's; what differs is the guest's side.
            let shown = Payload::HostFunction { call: call.clone(), input: actual_input(&actual), output: json!(null) };
            let stack = runtime::guest_stack(&store);
            let stop = store.data().divergence(kind, Some(&recorded), Some(&shown), None, stack);
            return halt(store, stop);
        }
        answer(store, recorded, output, result_types, results)
    }

    fn on_drop(mut store: StoreContextMut<'_, Self>, resource: &ImportedResource, rep: u32) -> wasmtime::Result<()> {
        if store.data().theater.is_some() {
            return theater_drop(store, resource, rep);
        }
        let call = resource.drop_call();
        let input = values::resource_json(rep, true);
        let recorded = match store.data_mut().tracker.recording.next() {
            Ok(recorded) => recorded,
            Err(stop) => return halt(store, stop),
        };
        let recorded_drop = match recorded.as_ref().map(decode_payload).transpose() {
            Ok(payload) => payload,
            Err(stop) => return halt(store, stop),
        };
        let kind = match &recorded_drop {
            Some(Payload::HostFunction { call: recorded_call, .. }) if *recorded_call != call => {
                Some(DivergenceKind::DifferentImport)
            }
            Some(Payload::HostFunction { input: recorded_input, .. }) if *recorded_input != input => {
                Some(DivergenceKind::DifferentArguments)
            }
            Some(Payload::HostFunction { .. }) => None,
            None | Some(_) => Some(DivergenceKind::ExtraHostCall),
        };
        let actual = Payload::HostFunction { call, input, output: json!({"Tuple": []}) };
        let kind = match (kind, &recorded) {
            (None, Some(r)) if !store.data().reproduces(r, &actual) => Some(DivergenceKind::NoncanonicalRecording),
            (kind, _) => kind,
        };
        match (kind, recorded) {
            (None, Some(recorded)) => {
                store.data_mut().matched(recorded);
                Ok(())
            }
            (kind, recorded) => {
                let stack = runtime::guest_stack(&store);
                let kind = kind.unwrap_or(DivergenceKind::ExtraHostCall);
                let stop = store.data().divergence(kind, recorded.as_ref(), Some(&actual), None, stack);
                halt(store, stop)
            }
        }
    }

    fn catalog(&self) -> &ImportCatalog {
        &self.catalog
    }

    fn guest_resources(&mut self) -> &mut Vec<ResourceAny> {
        &mut self.guest_resources
    }
}

/// Answers a matched host call with the recorded `output`.
fn answer(
    mut store: StoreContextMut<'_, ReplayHost>,
    recorded: Recorded,
    output: &Value,
    result_types: &[Type],
    results: &mut [Val],
) -> wasmtime::Result<()> {
    match decode_args(output, result_types, &mut StoreResources { store: &mut store }) {
        Ok(answer) if answer.len() == results.len() => results.clone_from_slice(&answer),
        Ok(_) | Err(_) => {
            let detail = decode_args(output, result_types, &mut values::NoResources)
                .err()
                .map(|e| format!("the recorded answer does not fit the import's result type: {e}"));
            let stack = runtime::guest_stack(&store);
            let stop = store.data().divergence(DivergenceKind::SignatureMismatch, Some(&recorded), None, detail, stack);
            return halt(store, stop);
        }
    }
    store.data_mut().matched(recorded);
    Ok(())
}

fn actual_input(payload: &Payload) -> Value {
    match payload {
        Payload::HostFunction { input, .. } => input.clone(),
        _ => Value::Null,
    }
}

/// Replays the chain in `tracker` against a component.
pub(super) fn verify(
    runtime: &Runtime,
    component: &Component,
    mut tracker: Tracker,
    options: &VerifyOptions,
    mut report: VerifyReport,
) -> VerifyReport {
    let engine = &runtime.engine;
    let catalog = match ImportCatalog::of(component, engine) {
        Ok(catalog) => catalog,
        Err(e) => return tracker.report(report, Some(Stop::Error(runtime::one_line(&e)))),
    };
    let mut linker = Linker::new(engine);
    if let Err(e) = link_all(&mut linker, &catalog) {
        return tracker.report(report, Some(Stop::Error(runtime::one_line(&e))));
    }
    let theater = match report.dialect {
        Some(Dialect::TheaterComponentJson | Dialect::TheaterComponentTyped) => Some(TheaterMode {
            forced: match options.dialect {
                Some(Dialect::TheaterComponentJson) => Some(Style::Untyped),
                Some(Dialect::TheaterComponentTyped) => Some(Style::Typed),
                _ => None,
            },
            seen: None,
            state: None,
            http: HttpHost::new(),
            http_used: false,
        }),
        _ => None,
    };
    if theater.is_some() {
        // Divergences show theater's untyped host values as values of the component's types.
        tracker.typed = Some(Box::new(HostTypes::of(component, engine)));
    }
    // theater passes its actors their state in each call and records the state each call
    // returns, so past a divergence the next call can start from the recorded state.
    let keep_going = options.keep_going && theater.is_some();
    if keep_going {
        tracker.keep_going = Some(Default::default());
    }
    let mut host = ReplayHost {
        tracker,
        catalog,
        guest_resources: Vec::new(),
        limits: runtime::store_limits(&options.limits),
        scratch: Vec::new(),
        theater,
        call: None,
    };
    let deadline = EpochTicker::ticks(options.limits.timeout);
    let outcome = loop {
        // A fresh store and instance after a divergence: a guest stopped inside a call is in
        // no state to go on (and the limits are the new instance's alone).
        host.limits = runtime::store_limits(&options.limits);
        host.guest_resources.clear();
        let mut store = Store::new(engine, host);
        store.limiter(|host| &mut host.limits);
        let outcome = drive(&mut store, engine, component, &linker, deadline, options, &mut report);
        host = store.into_data();
        match outcome {
            Err(Stop::Diverged(divergence)) if keep_going => {
                let export = host.call.take();
                let http_used = host.theater.as_ref().is_some_and(|m| m.http_used);
                if let Some(found) = host.tracker.keep_going.as_mut() {
                    found.diverged(export.as_deref(), *divergence);
                }
                match skip_to_next_call(&mut host) {
                    Ok(true) if http_used => {
                        // Calls follow, but theater's resource table after this one is not
                        // known: say so rather than guess their resource numbers.
                        report.keep_going_stopped = Some(KeepGoingStop::HostResourceTable);
                        break Ok(());
                    }
                    Ok(true) => continue,
                    Ok(false) => break Ok(()),
                    Err(stop) => break Err(stop),
                }
            }
            outcome => break outcome,
        }
    };
    if let Some(mode) = &host.theater {
        let style = mode.forced.or(mode.seen);
        if let Some(style) = style {
            report.dialect = Some(match style {
                Style::Untyped => Dialect::TheaterComponentJson,
                Style::Typed => Dialect::TheaterComponentTyped,
            });
        }
    }
    host.tracker.report(report, outcome.err())
}

/// After a divergence under `--keep-going`: the rest of the diverged call is read (its
/// events checked, not replayed) up to the next recorded export call, taking the state the
/// recording gives it. `false` when the chain ends.
fn skip_to_next_call(host: &mut ReplayHost) -> Result<bool, Stop> {
    loop {
        let Some(recorded) = host.tracker.recording.next()? else {
            host.tracker.head = host.tracker.recording.integrity.head().map(<[u8]>::to_vec);
            return Ok(false);
        };
        match theater_json::parse(&recorded.event.data) {
            Some(theater_json::Event::WasmResult { state, .. }) => {
                if let Some(mode) = host.theater.as_mut() {
                    mode.state = state;
                }
            }
            // A failed call keeps the state it started with.
            Some(theater_json::Event::HostFunction { .. } | theater_json::Event::WasmError { .. }) => {}
            _ => {
                // The next call (or the runtime's shutdown): the replay goes on from here,
                // linked to what the recording has before it (its integrity was checked).
                host.tracker.head = recorded.event.parent_hash.clone();
                host.tracker.recording.push_back(recorded);
                if let Some(mode) = host.theater.as_mut() {
                    mode.http_used = false;
                }
                return Ok(true);
            }
        }
        host.tracker.recording.give_back(recorded);
    }
}

fn drive(
    store: &mut Store<ReplayHost>,
    engine: &Engine,
    component: &Component,
    linker: &Linker<ReplayHost>,
    deadline: u64,
    options: &VerifyOptions,
    report: &mut VerifyReport,
) -> Result<(), Stop> {
    // The first event may say which format and component the chain was recorded with.
    if let Some(first) = store.data_mut().tracker.recording.next()? {
        match Payload::decode(&first.event.data) {
            Ok(Payload::Recording { format, version, component_sha256 }) => {
                if format != FORMAT_NAME || version > FORMAT_VERSION {
                    return Err(Stop::Error(format!(
                        "event 0: the chain is in format {format} version {version}; this build reads {FORMAT_NAME} up to version {FORMAT_VERSION}"
                    )));
                }
                report.recorded_component_sha256 = Some(component_sha256);
                store.data_mut().matched(first);
            }
            _ => store.data_mut().tracker.recording.push_back(first),
        }
    }

    store.set_epoch_deadline(deadline);
    let instance = match linker.instantiate(&mut *store, component) {
        Ok(instance) => instance,
        Err(e) => return Err(store.data_mut().tracker.instantiation_failed("component", e, &options.limits)),
    };
    if store.data().theater.is_some() {
        return drive_theater(store, engine, component, &instance, deadline, options);
    }

    while let Some(recorded) = store.data_mut().tracker.recording.next()? {
        let payload = decode_payload(&recorded)?;
        let Payload::WasmCall { function, params } = &payload else {
            // Recorded host calls the replay did not make (after the last return, or while
            // instantiating).
            let kind = match payload {
                Payload::HostFunction { .. } => DivergenceKind::MissingHostCalls,
                _ => {
                    return Err(Stop::Error(format!(
                        "event {}: a {} outside any export call: not a replayable recording",
                        recorded.index,
                        payload.summary()
                    )));
                }
            };
            return Err(store.data().divergence(kind, Some(&recorded), None, None, Vec::new()));
        };
        let Some(func) = exports::find(&mut *store, &instance, function) else {
            return Err(missing_export(store, &recorded, component, engine));
        };
        let (param_types, result_types) = exports::signature(&func, &*store);
        let args = match decode_args(params, &param_types, &mut StoreResources { store: &mut store.as_context_mut() }) {
            Ok(args) => args,
            Err(e) => {
                let detail = Some(format!("the recorded arguments do not fit the export's parameters: {e}"));
                return Err(store.data().divergence(
                    DivergenceKind::SignatureMismatch,
                    Some(&recorded),
                    None,
                    detail,
                    vec![],
                ));
            }
        };
        // The call event the replay makes, re-encoded from the values it passes.
        let reencoded = encode_args(&args, &param_types, &mut StoreResources { store: &mut store.as_context_mut() })
            .map_err(|e| Stop::Error(format!("cannot encode the arguments of {function}: {e}")))?;
        let call_event = Payload::WasmCall { function: function.clone(), params: reencoded };
        if !store.data().reproduces(&recorded, &call_event) {
            return Err(store.data().divergence(
                DivergenceKind::NoncanonicalRecording,
                Some(&recorded),
                Some(&call_event),
                None,
                vec![],
            ));
        }
        store.data_mut().matched_call(recorded);

        let mut results = vec![Val::Bool(false); result_types.len()];
        store.set_epoch_deadline(deadline);
        let outcome = func.call(&mut *store, &args, &mut results);
        if let Some(stop) = store.data_mut().tracker.stop.take() {
            return Err(stop);
        }
        let actual = match outcome {
            Ok(()) => {
                let result =
                    encode_args(&results, &result_types, &mut StoreResources { store: &mut store.as_context_mut() })
                        .map_err(|e| Stop::Error(format!("cannot encode the result of {function}: {e}")))?;
                Ok(Payload::WasmResult { function: function.clone(), result })
            }
            Err(e) => Err(runtime::describe_trap(&e, &options.limits)),
        };
        let next = store.data_mut().tracker.recording.next()?;
        let next_payload = match &next {
            Some(r) => Some(decode_payload(r)?),
            None => None,
        };
        match actual {
            Ok(returned) => {
                let kind = match &next_payload {
                    None => Some(DivergenceKind::BeyondRecording),
                    Some(Payload::HostFunction { .. }) => Some(DivergenceKind::MissingHostCalls),
                    Some(Payload::WasmError { .. }) => Some(DivergenceKind::MissingTrap),
                    Some(expected @ Payload::WasmResult { .. }) => match next.as_ref() {
                        Some(r) if store.data().reproduces(r, &returned) => None,
                        _ => Some(if *expected == returned {
                            DivergenceKind::NoncanonicalRecording
                        } else {
                            DivergenceKind::DifferentResult
                        }),
                    },
                    Some(_) => Some(DivergenceKind::DifferentResult),
                };
                match (kind, next) {
                    (None, Some(r)) => store.data_mut().matched(r),
                    (kind, next) => {
                        let kind = kind.unwrap_or(DivergenceKind::BeyondRecording);
                        return Err(store.data().divergence(kind, next.as_ref(), Some(&returned), None, vec![]));
                    }
                }
            }
            Err(trap) => {
                let trapped = Payload::WasmError { function: function.clone(), message: trap.message.clone() };
                let kind = match (&trap.limit, &next_payload) {
                    (Some(_), _) => Some(DivergenceKind::LimitExceeded),
                    (None, Some(Payload::WasmError { .. })) => match next.as_ref() {
                        Some(r) if store.data().reproduces(r, &trapped) => None,
                        _ => Some(DivergenceKind::DifferentTrap),
                    },
                    (None, _) => Some(DivergenceKind::UnexpectedTrap),
                };
                match (kind, next) {
                    (None, Some(r)) => store.data_mut().matched(r),
                    (kind, next) => {
                        let kind = kind.unwrap_or(DivergenceKind::UnexpectedTrap);
                        let detail = trap.limit.clone().or_else(|| Some(format!("trap: {}", trap.message)));
                        return Err(store.data().divergence(kind, next.as_ref(), Some(&trapped), detail, trap.stack));
                    }
                }
            }
        }
    }
    Ok(())
}

// theater's component-era chains: the same recording, tracker and matching, with events
// read and written by `theater_json` and theater's calling convention for its actors.

/// An event the replay writes as theater did, not from the guest's values (a call event,
/// the runtime's `shutdown`): the recorded one must be exactly it, else the chain was not
/// written as theater writes.
/// The recorded export is not in the component: the divergence names the ones it has.
fn missing_export(store: &Store<ReplayHost>, recorded: &Recorded, component: &Component, engine: &Engine) -> Stop {
    let detail = format!("the component exports: {}", exports::names(component, engine).join(", "));
    store.data().divergence(DivergenceKind::MissingExport, Some(recorded), None, Some(detail), vec![])
}

fn reproduced(tracker: &Tracker, recorded: &Recorded, event_type: &str, data: &[u8]) -> Result<(), Stop> {
    if tracker.reproduces(recorded, event_type, data) {
        return Ok(());
    }
    let actual = theater_view(tracker, event_type, data);
    Err(tracker.divergence(DivergenceKind::NoncanonicalRecording, Some(recorded), Some(actual), None, vec![]))
}

/// The replay's own event as a report shows it.
fn theater_view(tracker: &Tracker, event_type: &str, data: &[u8]) -> EventView {
    let event = ChainEvent::new_linked(tracker.alg(), tracker.head.as_deref(), event_type.to_string(), data.to_vec());
    let payload = crate::decode::decode_payload(data).unwrap_or(Value::Null);
    tracker.view(event_type.to_string(), data, tracker.summary(&event), payload, tracker.compared(data))
}

/// Handles of the host resources among an import call's arguments, as the interceptor read
/// them (theater's inputs name a resource by its rep).
struct ArgHandles<'a, 'b>(&'a IncomingCall<'b>);

impl values::ResourceMap for ArgHandles<'_, '_> {
    fn handle_of(&mut self, resource: &ResourceAny, _: &ResourceType) -> Result<u32, String> {
        self.0.handle_of(resource).ok_or_else(|| "a guest resource in an import's arguments".to_string())
    }
    fn resource_for(&mut self, _: u32, _: bool, _: &ResourceType) -> Result<ResourceAny, String> {
        Err("resources cannot appear here".into())
    }
}

/// A guest's import call against a theater chain: its real arguments, encoded in the
/// recorded event's style, must be the recorded input; the answer is the recorded output.
/// theater's wasi:http host ([`theater_http`]) decides which of its calls were recorded,
/// under which name and input, and answers the others itself.
fn theater_call(
    mut store: StoreContextMut<'_, ReplayHost>,
    incoming: IncomingCall<'_>,
    results: &mut [Val],
) -> wasmtime::Result<()> {
    let call = incoming.call;
    let mut http: Option<(HostCall, Value, Vec<Value>)> = None;
    if theater_http::serves(call.interface.as_deref()) {
        if let Some(mode) = store.data_mut().theater.as_mut() {
            mode.http_used = true;
        }
        let mut handles = ArgHandles(&incoming);
        let args = incoming
            .params
            .iter()
            .zip(incoming.param_types)
            .enumerate()
            .map(|(i, (v, t))| theater_json::to_untyped(v, t, &mut handles, &format!("$.{i}")))
            .collect::<Result<Vec<_>, _>>();
        let args = match args {
            Ok(args) => args,
            Err(e) => {
                return halt(store, Stop::Error(format!("cannot encode the arguments of {}: {e}", call.key())));
            }
        };
        let debug: Vec<Option<String>> = incoming.params.iter().map(outcome_error_debug).collect();
        let mode = store.data_mut().theater.as_mut().expect("theater mode");
        match mode.http.plan(&call.function, &args, &debug) {
            Plan::Unrecorded(answer) => {
                return theater_answer(store, &answer, incoming.result_types, results, None);
            }
            Plan::Unsupported(why) => {
                return halt(store, Stop::Error(format!("{}: {why}", call.key())));
            }
            Plan::Recorded { function, input } => {
                let recorded_as = HostCall { interface: call.interface.clone(), function };
                http = Some((recorded_as, theater_json::text_bytes(&input), args));
            }
        }
    }
    let event_call = http.as_ref().map_or(call, |(c, _, _)| c);
    let encode = |style| match &http {
        Some((_, input, _)) => Ok(input.clone()),
        None => theater_json::encode_input(style, incoming.params, incoming.param_types, &mut ArgHandles(&incoming))
            .map_err(|e| Stop::Error(format!("cannot encode the arguments of {}: {e}", call.key()))),
    };
    let (recorded, style, output) = match expect_host_event(&mut store, event_call, encode) {
        Ok(matched) => matched,
        Err(stop) => return halt(store, stop),
    };
    match http {
        Some((_, _, args)) => {
            let output = theater_json::json_bytes(&output).and_then(|b| serde_json::from_slice::<Value>(&b).ok());
            let Some(output) = output else {
                let detail = Some("the recorded output is not JSON text".to_string());
                let stack = runtime::guest_stack(&store);
                let stop =
                    store.data().divergence(DivergenceKind::SignatureMismatch, Some(&recorded), None, detail, stack);
                return halt(store, stop);
            };
            let mode = store.data_mut().theater.as_mut().expect("theater mode");
            match mode.http.answer(&call.function, &args, &output) {
                Ok(answer) => theater_answer(store, &answer, incoming.result_types, results, Some(recorded)),
                Err(why) => {
                    let stack = runtime::guest_stack(&store);
                    let stop = store.data().divergence(
                        DivergenceKind::DifferentHostState,
                        Some(&recorded),
                        None,
                        Some(why),
                        stack,
                    );
                    halt(store, stop)
                }
            }
        }
        None => {
            match theater_json::decode_output(
                style,
                call,
                &output,
                incoming.result_types,
                &mut StoreResources { store: &mut store },
            ) {
                Ok(answer) if answer.len() == results.len() => results.clone_from_slice(&answer),
                Ok(_) | Err(_) => {
                    let detail = theater_json::decode_output(
                        style,
                        call,
                        &output,
                        incoming.result_types,
                        &mut values::NoResources,
                    )
                    .err()
                    .map(|e| format!("the recorded answer does not fit the import's result type: {e}"));
                    let stack = runtime::guest_stack(&store);
                    let stop = store.data().divergence(
                        DivergenceKind::SignatureMismatch,
                        Some(&recorded),
                        None,
                        detail,
                        stack,
                    );
                    return halt(store, stop);
                }
            }
            store.data_mut().matched(recorded);
            Ok(())
        }
    }
}

/// The guest dropped a host resource. theater's wasi:http host records some drops (and
/// frees the slot of every one); its other handlers recorded none (the pollable destructor
/// only logs).
fn theater_drop(
    mut store: StoreContextMut<'_, ReplayHost>,
    resource: &ImportedResource,
    rep: u32,
) -> wasmtime::Result<()> {
    if !theater_http::serves(resource.interface.as_deref()) {
        return Ok(());
    }
    let mode = store.data_mut().theater.as_mut().expect("theater mode");
    mode.http_used = true;
    if !mode.http.dropped(&resource.name, rep) {
        return Ok(());
    }
    let call = resource.drop_call();
    let input = theater_json::text_bytes(&json!(rep));
    match expect_host_event(&mut store, &call, |_| Ok(input)) {
        Ok((recorded, _, _)) => {
            store.data_mut().matched(recorded);
            Ok(())
        }
        Err(stop) => halt(store, stop),
    }
}

/// The `Debug` text theater recorded for an `Err(error-code)` argument, if `val` is one.
fn outcome_error_debug(val: &Val) -> Option<String> {
    match val {
        Val::Result(Err(Some(code))) => theater_http::error_code_debug(code),
        _ => None,
    }
}

/// The next recorded event must be the host call `call` with the input `encode` makes of
/// the guest's arguments in the recorded event's style. Returns the matched event, that
/// style and the recorded output.
fn expect_host_event(
    store: &mut StoreContextMut<'_, ReplayHost>,
    call: &HostCall,
    encode: impl FnOnce(Style) -> Result<Value, Stop>,
) -> Result<(Recorded, Style, Value), Stop> {
    let recorded = store.data_mut().tracker.recording.next()?;
    let parsed = recorded.as_ref().and_then(|r| theater_json::parse(&r.event.data));
    let (recorded_call, recorded_input, output) = match &parsed {
        Some(theater_json::Event::HostFunction { call, input, output }) => (Some(call), Some(input), Some(output)),
        _ => (None, None, None),
    };
    let mode = store.data().theater.as_ref().expect("theater mode");
    let style = mode.forced.or_else(|| recorded_input.and_then(Style::of)).or(mode.seen).unwrap_or(Style::Untyped);
    if let Some(mode) = store.data_mut().theater.as_mut() {
        mode.seen.get_or_insert(style);
    }
    let input = encode(style)?;
    let placeholder = match style {
        Style::Untyped => theater_json::text_bytes(&Value::Null),
        Style::Typed => json!({"Tuple": []}),
    };
    // The answer shown is the recording's only when the guest called the recorded import.
    let shown_output = output.filter(|_| recorded_call == Some(call)).unwrap_or(&placeholder);
    let data = theater_json::host_event(call, &input, shown_output);
    let event_type = call.event_type();
    let kind = match (recorded.as_ref(), recorded_call, recorded_input) {
        (None, _, _) | (Some(_), None, _) => Some(DivergenceKind::ExtraHostCall),
        (Some(_), Some(rc), _) if rc != call => Some(DivergenceKind::DifferentImport),
        (Some(_), Some(_), Some(ri)) if *ri != input => Some(DivergenceKind::DifferentArguments),
        (Some(r), _, _) if !store.data().tracker.reproduces(r, &event_type, &data) => {
            Some(DivergenceKind::NoncanonicalRecording)
        }
        _ => None,
    };
    if let Some(kind) = kind {
        let stack = runtime::guest_stack(&*store);
        let tracker = &store.data().tracker;
        let actual = theater_view(tracker, &event_type, &data);
        return Err(tracker.divergence(kind, recorded.as_ref(), Some(actual), None, stack));
    }
    let output = output.expect("matched").clone();
    Ok((recorded.expect("matched"), style, output))
}

/// Answers the guest with `answer`, theater's untyped JSON of the import's result (none,
/// or one value); `recorded` is the matched event, if the call was recorded.
fn theater_answer(
    mut store: StoreContextMut<'_, ReplayHost>,
    answer: &Value,
    result_types: &[Type],
    results: &mut [Val],
    recorded: Option<Recorded>,
) -> wasmtime::Result<()> {
    let decoded = match result_types {
        [] => Ok(vec![]),
        [ty] => theater_json::from_untyped(answer, ty, &mut StoreResources { store: &mut store }, "$").map(|v| vec![v]),
        _ => Err(values::ValueError { path: "$".into(), message: "theater's http host returns one value".into() }),
    };
    match decoded {
        Ok(vals) if vals.len() == results.len() => results.clone_from_slice(&vals),
        Ok(_) | Err(_) => {
            let detail = decoded.err().map(|e| format!("theater's answer does not fit the import's result type: {e}"));
            let stack = runtime::guest_stack(&store);
            let stop =
                store.data().divergence(DivergenceKind::SignatureMismatch, recorded.as_ref(), None, detail, stack);
            return halt(store, stop);
        }
    }
    if let Some(recorded) = recorded {
        store.data_mut().matched(recorded);
    }
    Ok(())
}

/// Whether `ty` is `option<list<u8>>`, theater's actor state.
fn is_state(ty: &Type) -> bool {
    matches!(ty, Type::Option(o) if matches!(o.ty(), Type::List(l) if l.ty() == Type::U8))
}

/// The state and result JSON of a theater actor export's return value
/// (`result<tuple<option<list<u8>>, R?>, string>`): `Ok((S, R))` or `Err(message)`.
/// `Ok((S, R as JSON-text bytes))` or `Err(the guest's message)`.
type TheaterReturn = Result<(Option<Vec<u8>>, Value), String>;

fn theater_returned(val: &Val, ty: &Type) -> Result<TheaterReturn, String> {
    let not = || format!("the export does not return theater's result<tuple<option<list<u8>>, ..>, string>: {val:?}");
    let (Val::Result(outcome), Type::Result(result_ty)) = (val, ty) else {
        return Err(not());
    };
    match outcome {
        Err(Some(e)) => match &**e {
            Val::String(e) => Ok(Err(e.clone())),
            _ => Err(not()),
        },
        Err(None) => Ok(Err(String::new())),
        Ok(Some(tuple)) => {
            let (Val::Tuple(items), Some(Type::Tuple(tuple_ty))) = (&**tuple, result_ty.ok()) else {
                return Err(not());
            };
            let types: Vec<Type> = tuple_ty.types().collect();
            let state = match items.first() {
                Some(Val::Option(None)) => None,
                Some(Val::Option(Some(list))) => match &**list {
                    Val::List(bytes) => Some(
                        bytes
                            .iter()
                            .map(|b| if let Val::U8(b) = b { Ok(*b) } else { Err(not()) })
                            .collect::<Result<_, _>>()?,
                    ),
                    _ => return Err(not()),
                },
                _ => return Err(not()),
            };
            let result = match (items.get(1), types.get(1)) {
                (Some(v), Some(t)) => {
                    theater_json::to_untyped(v, t, &mut values::NoResources, "$").map_err(|e| e.to_string())?
                }
                _ => Value::Null,
            };
            Ok(Ok((state, theater_json::text_bytes(&result))))
        }
        Ok(None) => Err(not()),
    }
}

/// Drives every recorded export call of a theater chain by theater's calling convention:
/// `f(state, params..)` with the state `None` at first and then the last result's, params
/// from the recorded JSON text; the runtime's own `shutdown` event passed over as the
/// runtime's.
fn drive_theater(
    store: &mut Store<ReplayHost>,
    engine: &Engine,
    component: &Component,
    instance: &Instance,
    deadline: u64,
    options: &VerifyOptions,
) -> Result<(), Stop> {
    let not_theater =
        |r: &Recorded| Stop::Error(format!("event {} ({}): not a theater payload", r.index, r.event.event_type));
    // Not a theater actor at all: the wrong input, as a Pack module for a component chain is.
    let names = exports::names(component, engine);
    if !names.iter().any(|name| name.starts_with("theater:simple/actor")) {
        return Err(Stop::Error(format!(
            "event 0: the chain is theater's component-era format (host values as untyped JSON bytes or typed values), \
             but the component exports no theater:simple/actor interface (it exports: {}): give the actor that recorded it",
            names.join(", ")
        )));
    }
    while let Some(recorded) = store.data_mut().tracker.recording.next()? {
        let event = theater_json::parse(&recorded.event.data).ok_or_else(|| not_theater(&recorded))?;
        let (function, params) = match event {
            theater_json::Event::WasmCall { function, params } => (function, params),
            theater_json::Event::HostFunction { .. } => {
                return Err(store.data().divergence(
                    DivergenceKind::MissingHostCalls,
                    Some(&recorded),
                    None,
                    None,
                    vec![],
                ));
            }
            _ => {
                return Err(Stop::Error(format!(
                    "event {}: a {} outside any export call: not a replayable recording",
                    recorded.index,
                    crate::decode::summary(&recorded.event)
                )));
            }
        };
        if function == theater_json::SHUTDOWN && recorded.event.event_type == theater_json::SHUTDOWN {
            reproduced(&store.data().tracker, &recorded, theater_json::SHUTDOWN, &theater_json::shutdown_event())?;
            store.data_mut().matched(recorded);
            continue;
        }
        if store.data().tracker.keep_going.is_some() {
            store.data_mut().call = Some(function.clone());
        }
        if let Some(mode) = store.data_mut().theater.as_mut() {
            mode.http_used = false;
        }
        let Some(func) = exports::find(&mut *store, instance, &theater_json::export_name(&function)) else {
            return Err(missing_export(store, &recorded, component, engine));
        };
        if function == theater_http::HANDLE {
            drive_http_handle(store, recorded, &params, &func, deadline, options)?;
            call_matched(store.data_mut());
            continue;
        }
        let (param_types, result_types) = exports::signature(&func, &*store);
        let mismatch = |store: &Store<ReplayHost>, detail: String| {
            store.data().divergence(DivergenceKind::SignatureMismatch, Some(&recorded), None, Some(detail), vec![])
        };
        if param_types.first().is_none_or(|t| !is_state(t)) || result_types.len() != 1 {
            return Err(mismatch(
                store,
                format!(
                    "{function} does not take theater's actor state (option<list<u8>>) first and return one result"
                ),
            ));
        }
        // The recorded params: JSON text of the Rust tuple of the arguments after the state.
        let rest = &param_types[1..];
        let recorded_params = theater_json::json_bytes(&params)
            .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
            .ok_or_else(|| {
                Stop::Error(format!("event {}: the params of {function} are not JSON text", recorded.index))
            })?;
        let mut args = vec![Val::Option(
            store
                .data()
                .theater
                .as_ref()
                .and_then(|m| m.state.as_ref())
                .map(|s| Box::new(Val::List(s.iter().map(|&b| Val::U8(b)).collect()))),
        )];
        let decoded: Result<Vec<Val>, String> = match (rest.len(), &recorded_params) {
            (0, Value::Null) => Ok(vec![]),
            (n, Value::Array(items)) if n > 0 && items.len() == n => items
                .iter()
                .zip(rest)
                .map(|(v, t)| {
                    theater_json::from_untyped(v, t, &mut StoreResources { store: &mut store.as_context_mut() }, "$")
                        .map_err(|e| e.to_string())
                })
                .collect(),
            _ => Err(format!("{recorded_params} does not fit {} parameters after the state", rest.len())),
        };
        let decoded = decoded
            .map_err(|e| mismatch(store, format!("the recorded params do not fit the export's parameters: {e}")))?;
        // The call event the replay makes, re-encoded from the values it passes.
        let reencoded =
            theater_json::untyped_args(&decoded, rest, &mut StoreResources { store: &mut store.as_context_mut() })
                .map_err(|e| Stop::Error(format!("cannot encode the arguments of {function}: {e}")))?;
        let reencoded = if decoded.len() == 1 { Value::Array(vec![reencoded]) } else { reencoded };
        let call_data = theater_json::wasm_call_event(&function, &theater_json::text_bytes(&reencoded));
        reproduced(&store.data().tracker, &recorded, "wasm", &call_data)?;
        store.data_mut().matched_call(recorded);
        args.extend(decoded);

        let mut results = vec![Val::Bool(false); result_types.len()];
        store.set_epoch_deadline(deadline);
        let outcome = func.call(&mut *store, &args, &mut results);
        if let Some(stop) = store.data_mut().tracker.stop.take() {
            return Err(stop);
        }
        // What the replay writes: a WasmResult, or a WasmError for an Err or a trap.
        let (returned, new_state, trap) = match outcome {
            Ok(()) => match theater_returned(&results[0], &result_types[0]).map_err(Stop::Error)? {
                Ok((state, result)) => {
                    (theater_json::wasm_result_event(&function, state.as_deref(), &result), Some(state), None)
                }
                Err(message) => {
                    let message = if function == theater_json::INIT {
                        format!("Failed to call state-only function: {message}")
                    } else {
                        message
                    };
                    (theater_json::wasm_error_event(&function, &message), None, None)
                }
            },
            Err(e) => {
                let trap = runtime::describe_trap(&e, &options.limits);
                (theater_json::wasm_error_event(&function, &trap.message), None, Some(trap))
            }
        };
        let is_error = new_state.is_none();
        expect_outcome(store, &returned, trap, is_error)?;
        if let (Some(state), Some(mode)) = (new_state, store.data_mut().theater.as_mut()) {
            mode.state = state;
        }
        call_matched(store.data_mut());
    }
    Ok(())
}

/// `--keep-going`'s tally: the call under way matched to its end.
fn call_matched(host: &mut ReplayHost) {
    if let (Some(found), Some(call)) = (host.tracker.keep_going.as_mut(), host.call.take()) {
        found.matched(&call);
    }
}

/// The next recorded event must be the replay's `returned` event (a WasmResult, or the
/// WasmError of `trap` or of an `Err` when `is_error`); otherwise the divergence.
fn expect_outcome(
    store: &mut Store<ReplayHost>,
    returned: &[u8],
    trap: Option<runtime::TrapInfo>,
    is_error: bool,
) -> Result<(), Stop> {
    let next = store.data_mut().tracker.recording.next()?;
    let next_event = next.as_ref().and_then(|r| theater_json::parse(&r.event.data));
    let same = next.as_ref().is_some_and(|r| store.data().tracker.reproduces(r, "wasm", returned));
    let kind = match (&trap, &next_event) {
        (Some(t), _) if t.limit.is_some() => Some(DivergenceKind::LimitExceeded),
        _ if same => None,
        (_, None) if next.is_none() => Some(DivergenceKind::BeyondRecording),
        (_, Some(theater_json::Event::HostFunction { .. })) => Some(DivergenceKind::MissingHostCalls),
        (Some(_), Some(theater_json::Event::WasmError { .. })) => Some(DivergenceKind::DifferentTrap),
        (Some(_), _) => Some(DivergenceKind::UnexpectedTrap),
        (None, Some(theater_json::Event::WasmError { .. })) if !is_error => Some(DivergenceKind::MissingTrap),
        (None, _) => Some(DivergenceKind::DifferentResult),
    };
    match (kind, next) {
        (None, Some(r)) => {
            store.data_mut().matched(r);
            Ok(())
        }
        (kind, next) => {
            let kind = kind.unwrap_or(DivergenceKind::BeyondRecording);
            let tracker = &store.data().tracker;
            let actual = theater_view(tracker, "wasm", returned);
            let (detail, stack) = match trap {
                Some(t) => (t.limit.clone().or_else(|| Some(format!("trap: {}", t.message))), t.stack),
                None => (None, vec![]),
            };
            let stop = tracker.divergence(kind, next.as_ref(), Some(actual), detail, stack);
            // `--keep-going`: the next call starts from the state the recording gives it (a
            // recorded error kept the state the call started with); a recorded next call
            // is left to be replayed.
            match (next_event, next) {
                (Some(theater_json::Event::WasmResult { state, .. }), Some(next)) => {
                    if let Some(mode) = store.data_mut().theater.as_mut() {
                        mode.state = state;
                    }
                    store.data_mut().tracker.recording.give_back(next);
                }
                (Some(theater_json::Event::WasmCall { .. }), Some(next)) => {
                    store.data_mut().tracker.recording.push_back(next);
                }
                _ => {}
            }
            Err(stop)
        }
    }
}

/// One `wasi:http/incoming-handler.handle` call as theater's server made it: the request
/// described by the recorded params, pushed with the outparam into the resource table,
/// and the response the guest set rebuilt into the WasmResult.
fn drive_http_handle(
    store: &mut Store<ReplayHost>,
    recorded: Recorded,
    params: &Value,
    func: &wasmtime::component::Func,
    deadline: u64,
    options: &VerifyOptions,
) -> Result<(), Stop> {
    let function = theater_http::HANDLE;
    let (param_types, result_types) = exports::signature(func, &*store);
    let (Some(Type::Own(request_ty)), Some(Type::Own(outparam_ty)), 2, 0) =
        (param_types.first(), param_types.get(1), param_types.len(), result_types.len())
    else {
        let detail =
            format!("{function} does not take (own<incoming-request>, own<response-outparam>) and return nothing");
        return Err(store.data().divergence(
            DivergenceKind::SignatureMismatch,
            Some(&recorded),
            None,
            Some(detail),
            vec![],
        ));
    };
    let bytes = theater_json::json_bytes(params)
        .ok_or_else(|| Stop::Error(format!("event {}: the params of {function} are not bytes", recorded.index)))?;
    let mode = store.data_mut().theater.as_mut().expect("theater mode");
    mode.http_used = true;
    let (request, outparam, written) =
        mode.http.begin(&bytes).map_err(|e| Stop::Error(format!("event {}: {function}: {e}", recorded.index)))?;
    let call_data = theater_json::wasm_call_event(function, &theater_json::bytes_json(&written));
    reproduced(&store.data().tracker, &recorded, "wasm", &call_data)?;
    let mut resources = StoreResources { store: &mut store.as_context_mut() };
    let args = [
        Val::Resource(
            values::ResourceMap::resource_for(&mut resources, request, true, request_ty).map_err(Stop::Error)?,
        ),
        Val::Resource(
            values::ResourceMap::resource_for(&mut resources, outparam, true, outparam_ty).map_err(Stop::Error)?,
        ),
    ];
    store.data_mut().matched_call(recorded);

    store.set_epoch_deadline(deadline);
    let outcome = func.call(&mut *store, &args, &mut []);
    if let Some(stop) = store.data_mut().tracker.stop.take() {
        return Err(stop);
    }
    if let Err(e) = outcome {
        // theater recorded nothing for a failed call: whatever the recording has next differs.
        let trap = runtime::describe_trap(&e, &options.limits);
        return expect_outcome(store, &theater_json::wasm_error_event(function, &trap.message), Some(trap), true);
    }
    let mode = store.data_mut().theater.as_mut().expect("theater mode");
    match mode.http.end() {
        Some((state, result)) => {
            let returned = theater_json::wasm_result_event(function, Some(&state), &theater_json::bytes_json(&result));
            expect_outcome(store, &returned, None, false)
        }
        // No response set: theater's server gave up and recorded no result.
        None => match store.data_mut().tracker.recording.next()? {
            Some(next)
                if matches!(theater_json::parse(&next.event.data), Some(theater_json::Event::WasmResult { .. })) =>
            {
                let detail = Some(
                    "the guest set no response (response-outparam.set was not called), so theater recorded no result"
                        .into(),
                );
                Err(store.data().divergence(DivergenceKind::DifferentResult, Some(&next), None, detail, vec![]))
            }
            Some(next) => {
                store.data_mut().tracker.recording.push_back(next);
                Ok(())
            }
            None => Ok(()),
        },
    }
}
