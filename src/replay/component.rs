//! The replay driver for components: the import interceptor answers every call from the
//! recording, the export driver calls every recorded export with its recorded arguments.

use super::{DivergenceKind, EventView, Recorded, Stop, Tracker, VerifyOptions, VerifyReport};
use crate::payload::{FORMAT_NAME, FORMAT_VERSION, HostCall, Payload};
use crate::runtime::imports::{ImportCatalog, ImportHandler, ImportedResource, IncomingCall, StoreResources, link_all};
use crate::runtime::{self, EpochTicker, Runtime, exports};
use crate::values::{self, decode_args, encode_args};
use serde_json::{Value, json};
use wasmtime::component::{Component, Linker, ResourceAny, Type, Val};
use wasmtime::{AsContextMut, Engine, Store, StoreContextMut, StoreLimits};

/// The store's data during a replay.
struct ReplayHost {
    tracker: Tracker,
    catalog: ImportCatalog,
    guest_resources: Vec<ResourceAny>,
    limits: StoreLimits,
    /// Reused by [`Payload::recorded_host_output`] on every host call.
    scratch: Vec<u8>,
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
    /// output. `None` when it is not that simple; the full path then decides.
    fn recorded_answer(&mut self, recorded: &Recorded, call: &HostCall, input: &Value) -> Option<Value> {
        let event = &recorded.event;
        if event.parent_hash != self.tracker.head || !call.is_event_type(&event.event_type) {
            return None;
        }
        Payload::recorded_host_output(&event.data, call, input, &mut self.scratch)
    }

    fn matched(&mut self, recorded: Recorded) {
        self.tracker.matched(recorded);
    }

    fn view_actual(&self, actual: &Payload) -> EventView {
        let data = actual.encode();
        let payload = serde_json::from_slice(&data).unwrap_or(Value::Null);
        self.tracker.view(actual.event_type(), &data, actual.summary(), payload)
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

    fn on_call(mut store: StoreContextMut<'_, Self>, incoming: IncomingCall<'_>, results: &mut [Val]) -> wasmtime::Result<()> {
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
        if let Some(output) = store.data_mut().recorded_answer(&recorded, call, &input) {
            return answer(store, recorded, &output, result_types, results);
        }
        let payload = match decode_payload(&recorded) {
            Ok(p) => p,
            Err(stop) => return halt(store, stop),
        };
        let Payload::HostFunction { call: recorded_call, input: recorded_input, output } = &payload else {
            let actual = Payload::HostFunction { call: call.clone(), input, output: json!(null) };
            let stack = runtime::guest_stack(&store);
            let stop = store.data().divergence(DivergenceKind::ExtraHostCall, Some(&recorded), Some(&actual), None, stack);
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
    tracker: Tracker,
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
    let host = ReplayHost {
        tracker,
        catalog,
        guest_resources: Vec::new(),
        limits: runtime::store_limits(&options.limits),
        scratch: Vec::new(),
    };
    let mut store = Store::new(engine, host);
    store.limiter(|host| &mut host.limits);
    let deadline = EpochTicker::ticks(options.limits.timeout);

    let outcome = drive(&mut store, engine, component, &linker, deadline, options, &mut report);
    store.data().tracker.report(report, outcome.err())
}

/// Takes the reason a guest was stopped, or makes one from a wasmtime error.
fn stop_from(store: &mut Store<ReplayHost>, err: wasmtime::Error, context: &str) -> Stop {
    store.data_mut().tracker.stop.take().unwrap_or_else(|| Stop::Error(format!("{context}: {}", runtime::one_line(&err.into()))))
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
        Err(e) => return Err(stop_from(store, e, "cannot instantiate the component")),
    };

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
            let detail = format!("the component exports: {}", exports::names(component, engine).join(", "));
            return Err(store.data().divergence(DivergenceKind::MissingExport, Some(&recorded), None, Some(detail), vec![]));
        };
        let (param_types, result_types) = exports::signature(&func, &*store);
        let args = match decode_args(params, &param_types, &mut StoreResources { store: &mut store.as_context_mut() }) {
            Ok(args) => args,
            Err(e) => {
                let detail = Some(format!("the recorded arguments do not fit the export's parameters: {e}"));
                return Err(store.data().divergence(DivergenceKind::SignatureMismatch, Some(&recorded), None, detail, vec![]));
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
        store.data_mut().matched(recorded);

        let mut results = vec![Val::Bool(false); result_types.len()];
        store.set_epoch_deadline(deadline);
        let outcome = func.call(&mut *store, &args, &mut results);
        if let Some(stop) = store.data_mut().tracker.stop.take() {
            return Err(stop);
        }
        let actual = match outcome {
            Ok(()) => {
                let result = encode_args(&results, &result_types, &mut StoreResources { store: &mut store.as_context_mut() })
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
