//! The replay driver for Pack actors (theater 0.3.8 to 0.3.29): each import answered from
//! the recording over packr's ABI, each recorded export call driven with theater's calling
//! convention, each event theater would have written rebuilt and compared byte for byte.
//! theater's calling convention is [`crate::runtime::pack::theater`]; a failed call keeps
//! the state. What differs between releases (payload form, error texts, the default
//! state, where answers go) comes from [`crate::dialect::release`]: the chain's releases
//! narrow as its events tell more. The state before the first call is not in the chain:
//! [`VerifyOptions::initial_state`], or the release's default.

use super::{DivergenceKind, EventView, InitialState, Recorded, Stop, Tracker, VerifyOptions, VerifyReport};
use crate::dialect::pack::{self as payload, Carried, PackPayload, PayloadForm, WASM_EVENT_TYPE, decode_value, encode_value};
use crate::dialect::release::Releases;
use crate::runtime::pack::theater::{self, Failure};
use crate::runtime::pack::types::Metadata;
use crate::runtime::pack::{self, AnswerAt, PackActor, PackHost, PackImport};
use crate::runtime::{self, EpochTicker, Runtime, TrapInfo};
use packr_abi::Value;
use std::sync::Arc;
use wasmtime::{Caller, Linker, Store};

/// A recorded host call, checked on the reading thread: where its names lie in the
/// event's bytes, the bytes a guest sends for the recorded input, and the answer's bytes.
/// Only for events whose bytes are exactly theater's encoding of what they hold, so that a
/// guest sending exactly `input` makes the replay's event equal to the recorded one, byte
/// for byte, without a decode on either thread.
pub(super) struct Prepared(payload::HostCallBytes);

/// Reads a recorded Pack host call ahead of its replay; `None` for anything else (which
/// then takes packr-abi's full path). `spare` holds the buffers of spent ones, reused; a
/// buffer an event does not take goes back to it.
pub(super) fn prepare(event: &crate::chain::Event, spare: &mut runtime::pack::SpareBuffers) -> Option<Prepared> {
    match payload::host_call_bytes(&event.data, spare.take()) {
        Ok(call) => Some(Prepared(call)),
        Err(unused) => {
            spare.keep(unused);
            None
        }
    }
}

impl Prepared {
    /// Its buffer, for [`prepare`] to reuse.
    pub(super) fn into_buffer(self) -> Vec<u8> {
        self.0.io
    }
}

/// The store's data during a Pack replay.
struct PackReplayHost {
    tracker: Tracker,
    /// How the chain's payloads hold params and results.
    form: PayloadForm,
    /// The releases the chain may come from, narrowed as the replay goes.
    releases: Releases,
    imports: Arc<[PackImport]>,
    /// Each import's event type, made once rather than on every call.
    event_types: Vec<String>,
    limits: runtime::GuestLimiter,
    /// The export being called, for `--keep-going`'s tally.
    call: Option<String>,
    /// Buffers of the guest's arguments, of answers and of host calls prepared on this
    /// thread (see [`prepare`]), reused from call to call.
    spare_buffers: runtime::pack::SpareBuffers,
    /// The current instance's exports, set once it is instantiated (each store has its own).
    instance_exports: Option<runtime::pack::InstanceExports>,
}

impl PackReplayHost {
    fn view(&self, actual: &PackPayload) -> EventView {
        let event_type = match actual {
            PackPayload::HostFunction { interface, function, .. } => format!("{interface}/{function}"),
            _ => WASM_EVENT_TYPE.to_string(),
        };
        self.tracker.view(event_type, &actual.encode(), actual.summary(), actual.to_json(), actual.compared())
    }

    fn divergence(
        &self,
        kind: DivergenceKind,
        recorded: Option<&Recorded>,
        actual: Option<&PackPayload>,
        detail: Option<String>,
        stack: Vec<String>,
    ) -> Stop {
        self.tracker.divergence(kind, recorded, actual.map(|a| self.view(a)), detail, stack)
    }
}

impl PackReplayHost {
    /// A divergence at a host call: what the guest passed, with the recorded answer when
    /// the recording has this call (the answer is the recording's; the guest's side is
    /// what differs).
    fn host_divergence(
        &self,
        kind: DivergenceKind,
        recorded: Option<&Recorded>,
        import: usize,
        input: &[u8],
        detail: Option<String>,
        caller: &Caller<'_, Self>,
    ) -> Stop {
        let PackImport { interface, function, .. } = &self.imports[import];
        let output = match recorded.map(|r| PackPayload::decode_as(&r.event.data, Some(self.form))) {
            Some(Ok(PackPayload::HostFunction { interface: ri, function: rf, output, .. }))
                if ri == *interface && rf == *function =>
            {
                output
            }
            _ => Value::Tuple(vec![]),
        };
        let input = payload::decode_value_in(self.form, input)
            .unwrap_or_else(|_| Value::String(format!("<{} bytes of invalid CGRF>", input.len())));
        let actual = PackPayload::HostFunction { interface: interface.clone(), function: function.clone(), input, output };
        self.divergence(kind, recorded, Some(&actual), detail, runtime::guest_stack(caller))
    }
}

fn decode(recorded: &Recorded, form: PayloadForm) -> Result<PackPayload, Stop> {
    PackPayload::decode_as(&recorded.event.data, Some(form)).map_err(|e| {
        Stop::Error(format!(
            "event {} ({}): not a theater {} payload (params and results as {}): {e}",
            recorded.index,
            recorded.event.event_type,
            form.releases(),
            form.words()
        ))
    })
}

/// Stops the guest: the reason is kept in the store, the error only unwinds the guest.
fn halt(caller: &mut Caller<'_, PackReplayHost>, stop: Stop) -> wasmtime::Error {
    caller.data_mut().tracker.stop = Some(stop);
    wasmtime::Error::msg("replay stopped")
}

impl PackHost for PackReplayHost {
    fn on_import(caller: &mut Caller<'_, Self>, import: usize, input: Vec<u8>) -> wasmtime::Result<Vec<u8>> {
        let mut recorded = match caller.data_mut().tracker.recording.next() {
            Ok(recorded) => recorded,
            Err(stop) => return Err(halt(caller, stop)),
        };
        // Prepared here when the reading thread left it (it does when it is the busier of
        // the two, see `Recording::start`); its buffer stays on this thread.
        let mut prepared_here = false;
        if let Some(recorded) = &mut recorded
            && recorded.prepared.is_none()
        {
            recorded.prepared = prepare(&recorded.event, &mut caller.data_mut().spare_buffers);
            prepared_here = recorded.prepared.is_some();
        }
        let host = caller.data();
        let PackImport { interface, function, .. } = &host.imports[import];
        let Some(recorded) = recorded else {
            let stop = host.host_divergence(DivergenceKind::ExtraHostCall, None, import, &input, None, caller);
            return Err(halt(caller, stop));
        };
        // The hot path: the recorded call was read and found canonical on the reading
        // thread. A guest that encodes its argument as packr does sends exactly the
        // recorded input's bytes; any other bytes take the full path (which compares Values).
        if let Some(Prepared(call)) = &recorded.prepared
            && recorded.event.parent_hash == host.tracker.head
            && recorded.event.event_type == host.event_types[import]
            && recorded.event.data[call.interface.clone()] == *interface.as_bytes()
            && recorded.event.data[call.function.clone()] == *function.as_bytes()
            && input == call.input()
        {
            // A copy made here is freed here (the recording's buffers go back to the
            // reading thread, see `Recording::returned`).
            let mut answer = caller.data_mut().spare_buffers.take();
            answer.extend_from_slice(call.output());
            let mut recorded = recorded;
            let host = caller.data_mut();
            host.spare_buffers.keep(input);
            if prepared_here && let Some(prepared) = recorded.prepared.take() {
                host.spare_buffers.keep(prepared.into_buffer());
            }
            host.tracker.matched(recorded);
            return Ok(answer);
        }
        let payload = match decode(&recorded, host.form) {
            Ok(p) => p,
            Err(stop) => return Err(halt(caller, stop)),
        };
        let (kind, detail) = match payload {
            PackPayload::HostFunction { interface: ri, function: rf, input: recorded_input, output }
                if ri == *interface && rf == *function =>
            {
                match payload::decode_value_in(host.form, &input) {
                    Err(e) => (DivergenceKind::DifferentArguments, Some(format!("the guest's argument is not CGRF: {e}"))),
                    Ok(guest_input) => {
                        // The hot path: the event the guest's call makes, with the recorded
                        // answer, encoded once and compared with the recorded bytes.
                        let answer = encode_value(&output);
                        let recorded_input = encode_value(&recorded_input);
                        let replayed = payload::host_function_value(interface, function, guest_input, output);
                        if host.tracker.reproduces(&recorded, &host.event_types[import], &encode_value(&replayed)) {
                            caller.data_mut().tracker.matched(recorded);
                            return Ok(answer);
                        }
                        let same_input = payload::decode_value_in(host.form, &input).is_ok_and(|v| encode_value(&v) == recorded_input);
                        let kind = if same_input { DivergenceKind::NoncanonicalRecording } else { DivergenceKind::DifferentArguments };
                        (kind, None)
                    }
                }
            }
            PackPayload::HostFunction { .. } => (DivergenceKind::DifferentImport, None),
            _ => (DivergenceKind::ExtraHostCall, None),
        };
        let stop = host.host_divergence(kind, Some(&recorded), import, &input, detail, caller);
        Err(halt(caller, stop))
    }

    fn spare_buffer(&mut self) -> Vec<u8> {
        self.spare_buffers.take()
    }

    fn recycle_buffer(&mut self, buffer: Vec<u8>) {
        self.spare_buffers.keep(buffer);
    }

    fn instance_exports(&self) -> Option<runtime::pack::InstanceExports> {
        self.instance_exports
    }

    fn on_foreign_import(caller: &mut Caller<'_, Self>, import: usize) -> wasmtime::Error {
        let PackImport { interface, function, .. } = &caller.data().imports[import];
        let message = format!(
            "the guest called import {interface}::{function}, whose signature is not the Pack ABI's (in_ptr, in_len, out_ptr_ptr, out_len_ptr: i32) -> i32; theater cannot have recorded it"
        );
        halt(caller, Stop::Error(message))
    }

    fn stopped(caller: &Caller<'_, Self>) -> bool {
        caller.data().tracker.stop.is_some()
    }
}

/// Replays the chain in `tracker` against a Pack actor; `form` is the chain's payload form,
/// `container` what it was read from (theater's own persistence formats tell the release).
pub(super) fn verify(
    runtime: &Runtime,
    actor: &PackActor,
    mut tracker: Tracker,
    form: PayloadForm,
    container: crate::chain::Container,
    options: &VerifyOptions,
    report: VerifyReport,
) -> VerifyReport {
    let releases = match options.theater {
        Some(release) if release.payloads != form => {
            let stop = Stop::Error(format!(
                "--theater {}: that release writes params and results as {}, but this chain holds {}: give the release that recorded it",
                release.versions(),
                release.payloads.words(),
                form.words()
            ));
            return tracker.report(report, Some(stop));
        }
        Some(release) => Releases::given(release),
        None => {
            let mut releases = Releases::with_form(form);
            releases.narrow_to_container(container);
            releases
        }
    };
    let engine = &runtime.engine;
    let mut linker = Linker::new(engine);
    let answers = AnswerAt::for_imports(actor, releases.assumed(), &options.sync_imports);
    if let Err(e) = pack::link(&mut linker, actor, engine, &answers) {
        return tracker.report(report, Some(Stop::Error(runtime::one_line(&e))));
    }
    if options.keep_going {
        tracker.keep_going = Some(Default::default());
    }
    let mut host = PackReplayHost {
        tracker,
        form,
        releases,
        imports: actor.imports.clone(),
        event_types: actor.imports.iter().map(PackImport::event_type).collect(),
        limits: runtime::store_limits(&options.limits),
        call: None,
        spare_buffers: Default::default(),
        instance_exports: None,
    };
    // The state the next recorded call starts from: theater passes it in, so with the
    // recorded state any call can be replayed on its own (`--keep-going`).
    let mut state: Option<Value> = None;
    let outcome = loop {
        // A fresh store and instance each time round: a guest stopped inside a call is in
        // no state to go on, and one store per instance keeps memory flat (and the limits
        // are the new instance's alone).
        host.limits = runtime::store_limits(&options.limits);
        let mut store = Store::new(engine, host);
        store.limiter(|host| &mut host.limits);
        let outcome = drive(&mut store, actor, &linker, options, &mut state);
        host = store.into_data();
        match outcome {
            Err(Stop::Diverged(divergence)) if host.tracker.keep_going.is_some() => {
                let export = host.call.take();
                // Every later call's instance would be stopped alike (a start function
                // running to the deadline each time): listed once, and the replay ends.
                let again = divergence.at_instantiation();
                if let Some(found) = host.tracker.keep_going.as_mut() {
                    found.diverged(export.as_deref(), *divergence);
                }
                if again {
                    break Ok(());
                }
                match skip_to_next_call(&mut host, &mut state) {
                    Ok(true) => continue,
                    Ok(false) => break Ok(()),
                    Err(stop) => break Err(stop),
                }
            }
            outcome => break outcome,
        }
    };
    let report = VerifyReport { theater: Some(super::TheaterReleases::of(&host.releases)), ..report };
    host.tracker.report(report, outcome.err())
}

/// After a divergence under `--keep-going`: the rest of the diverged call is read (its
/// events checked, not replayed) up to the next recorded export call or runtime event,
/// taking the state the recording gives the next call. `false` when the chain ends.
fn skip_to_next_call(host: &mut PackReplayHost, state: &mut Option<Value>) -> Result<bool, Stop> {
    loop {
        let Some(recorded) = host.tracker.recording.next()? else {
            host.tracker.head = host.tracker.recording.integrity.head().map(<[u8]>::to_vec);
            return Ok(false);
        };
        match PackPayload::decode_as(&recorded.event.data, Some(host.form)) {
            Ok(PackPayload::WasmResult { state: recorded_state, .. }) => *state = Some(recorded_state),
            // A failed call keeps the state it started with, which `state` still holds.
            Ok(PackPayload::HostFunction { .. } | PackPayload::WasmError { .. }) => {}
            _ => {
                // The next call, or the runtime's own event: the replay goes on from here,
                // linked to what the recording has before it (its integrity was checked).
                host.tracker.head = recorded.event.parent_hash.clone();
                host.tracker.recording.push_back(recorded);
                return Ok(true);
            }
        }
        host.tracker.recording.give_back(recorded);
    }
}

fn drive(
    store: &mut Store<PackReplayHost>,
    actor: &PackActor,
    linker: &Linker<PackReplayHost>,
    options: &VerifyOptions,
    state: &mut Option<Value>,
) -> Result<(), Stop> {
    let deadline = EpochTicker::ticks(options.limits.timeout);
    store.set_epoch_deadline(deadline);
    // The last store's exports belong to it alone (host calls of a start function look
    // them up).
    store.data_mut().instance_exports = None;
    let instance = linker
        .instantiate(&mut *store, &actor.module)
        .map_err(|e| store.data_mut().tracker.instantiation_failed("Pack actor", e, &options.limits))?;
    store.data_mut().instance_exports = Some(runtime::pack::InstanceExports::of(&mut *store, &instance));
    store.set_epoch_deadline(deadline);
    let metadata = pack::read_metadata(&mut *store, &instance)
        .map_err(|e| Stop::Error(format!("cannot read the actor's type metadata (__pack_types): {e}")))?
        // theater checks types only when the metadata lists exports.
        .filter(|m| !m.exports.is_empty());

    let form = store.data().form;
    while let Some(recorded) = store.data_mut().tracker.recording.next()? {
        let payload = decode(&recorded, form)?;
        let is_call = recorded.event.event_type == WASM_EVENT_TYPE;
        let (function, params) = match payload {
            PackPayload::WasmCall { function, params } if is_call => (function, params),
            PackPayload::HostFunction { .. } => {
                // Recorded host calls the replay did not make (after an export returned).
                let d = store.data().divergence(DivergenceKind::MissingHostCalls, Some(&recorded), None, None, vec![]);
                return Err(d);
            }
            PackPayload::WasmResult { .. } | PackPayload::WasmError { .. } if is_call => {
                return Err(Stop::Error(format!(
                    "event {}: a {} outside any export call: not a replayable recording",
                    recorded.index,
                    payload.summary()
                )));
            }
            // The runtime's own events (`shutdown`, `theater-runtime/...`, creation errors):
            // theater wrote them, not the guest; the replay writes the same one.
            other => {
                let event_type = recorded.event.event_type.clone();
                runtime_event(store, recorded, &event_type, &other)?;
                continue;
            }
        };
        let params_value = match &params {
            Carried::Cgrf(bytes) => decode_value(bytes).map_err(|e| {
                Stop::Error(format!("event {}: the recorded params of {function} are not CGRF: {e}", recorded.index))
            })?,
            Carried::Value(value) => value.clone(),
        };
        let call = PackPayload::WasmCall { function: function.clone(), params };
        if !store.data().tracker.reproduces(&recorded, WASM_EVENT_TYPE, &call.encode()) {
            return Err(store.data().divergence(DivergenceKind::NoncanonicalRecording, Some(&recorded), Some(&call), None, vec![]));
        }
        store.data_mut().tracker.matched_call(recorded);
        if store.data().tracker.keep_going.is_some() {
            store.data_mut().call = Some(function.clone());
        }

        let current = match state.take() {
            Some(state) => state,
            None => {
                // Who started the actor says which releases can have: their init params differ.
                if function == crate::dialect::release::INIT {
                    store.data_mut().releases.narrow(|r| r.init_params.matches(&params_value));
                }
                let default = store.data().releases.assumed().default_state.value();
                initial_state(options.initial_state.as_ref(), default, metadata.as_ref(), &function)?
            }
        };
        let current = state.insert(current);
        store.set_epoch_deadline(deadline);
        let outcome = theater::call(store, actor, &instance, metadata.as_ref(), &function, current, params_value, &options.limits);
        if let Some(stop) = store.data_mut().tracker.stop.take() {
            return Err(stop);
        }
        let next = store.data_mut().tracker.recording.next()?;
        let next_payload = next.as_ref().map(|r| decode(r, form)).transpose()?;
        let actual = match &outcome {
            Ok((new_state, bytes)) => {
                PackPayload::WasmResult { function: function.clone(), state: new_state.clone(), result: carried_result(form, bytes) }
            }
            Err(failure) => {
                if let Some(PackPayload::WasmError { message, .. }) = &next_payload {
                    // The recorded text says which releases can have written it.
                    store.data_mut().releases.narrow(|r| failure.error.message(&function, r) == *message);
                }
                let message = failure.error.message(&function, store.data().releases.assumed());
                PackPayload::WasmError { function: function.clone(), message }
            }
        };
        let next = match next {
            Some(r) if store.data().tracker.reproduces(&r, WASM_EVENT_TYPE, &actual.encode()) => {
                if let Ok((new_state, _)) = outcome {
                    *current = new_state;
                }
                let host = store.data_mut();
                host.tracker.matched(r);
                if let (Some(found), Some(call)) = (host.tracker.keep_going.as_mut(), host.call.take()) {
                    found.matched(&call);
                }
                continue;
            }
            other => other,
        };
        let (kind, detail, stack) = match (&outcome, &next_payload) {
            (Err(Failure { trap: Some(TrapInfo { limit: Some(limit), stack, .. }), .. }), recorded) => {
                // theater's own deadline (from 0.3.29: 60 ticks of a second for init, 300 for
                // other calls) ends a runaway call with a trap too; where it stopped depends
                // on timing, so such a call can be told apart but never reproduced.
                let deadline = match recorded {
                    Some(PackPayload::WasmError { message, .. }) if message.contains(WASM_BACKTRACE) => format!(
                        "{limit}; the recording ends this call with a trap as well: if theater stopped it at its epoch deadline (60 s for init, 300 s for other calls in theater 0.3.29), the guest ran away under theater too, and the point where it stopped cannot be replayed"
                    ),
                    _ => limit.clone(),
                };
                (DivergenceKind::LimitExceeded, Some(deadline), stack.clone())
            }
            (Err(f), _) if f.missing => (DivergenceKind::MissingExport, f.detail.clone(), vec![]),
            (_, None) => (DivergenceKind::BeyondRecording, None, vec![]),
            (_, Some(PackPayload::HostFunction { .. })) => (DivergenceKind::MissingHostCalls, failure_detail(&outcome), failure_stack(&outcome)),
            (Ok(_), Some(PackPayload::WasmError { .. })) => (DivergenceKind::MissingTrap, None, vec![]),
            (Ok(_), Some(_)) => (DivergenceKind::DifferentResult, None, vec![]),
            (Err(_), Some(PackPayload::WasmError { .. })) => (DivergenceKind::DifferentTrap, failure_detail(&outcome), failure_stack(&outcome)),
            (Err(_), Some(_)) => (DivergenceKind::UnexpectedTrap, failure_detail(&outcome), failure_stack(&outcome)),
        };
        // The call after this one starts from the state the recording gives it
        // (`--keep-going`); a recorded failure kept the state the call started with.
        if let Some(PackPayload::WasmResult { state: recorded, .. }) = next_payload {
            *current = recorded;
        }
        let detail = match kind {
            DivergenceKind::LimitExceeded | DivergenceKind::UnexpectedTrap | DivergenceKind::DifferentTrap => {
                with_host_abi_hint(detail, store.data())
            }
            _ => detail,
        };
        return Err(store.data().divergence(kind, next.as_ref(), Some(&actual), detail, stack));
    }
    Ok(())
}

/// When the replay gave async answers in the guest's memory (theater 0.3.29's way) without
/// being told the release, and the call then failed: an actor built with packr-guest before
/// 0.8 takes status 1 for a failure (and panics, which spins), so the chain may be an older
/// release's that the events could not tell apart. Says which flag settles it.
fn with_host_abi_hint(detail: Option<String>, host: &PackReplayHost) -> Option<String> {
    let assumed = host.releases.assumed();
    let guessed = !host.releases.given && host.releases.ambiguous();
    if !guessed || assumed.host_abi != crate::dialect::release::HostAbi::GuestAllocated {
        return detail;
    }
    let rows = host.releases.rows();
    let Some(older) = rows.iter().rev().find(|r| r.host_abi != assumed.host_abi) else { return detail };
    let version = crate::dialect::release::version_text;
    let hint = format!(
        "the replay answered async host calls as theater {} does (in the guest's memory, status 1), which an actor built with packr-guest before 0.8 takes for a failure: if theater {}-{} recorded this chain, give --theater with its release (e.g. --theater {})",
        assumed.versions(),
        version(rows[0].first),
        version(older.last),
        version(older.last)
    );
    Some(match detail {
        Some(detail) => format!("{detail}; {hint}"),
        None => hint,
    })
}

/// How theater's wasmtime begins a trap's text when it has a backtrace.
const WASM_BACKTRACE: &str = "error while executing at wasm backtrace:";

/// An export's result as the chain holds it: the CGRF bytes `theater::call` gave, or (from
/// theater 0.3.11) their Value, `tuple()` for none, as theater decodes them.
fn carried_result(form: PayloadForm, bytes: &[u8]) -> Carried {
    match form {
        PayloadForm::NestedCgrf => Carried::Cgrf(bytes.to_vec()),
        PayloadForm::Values => {
            let value = if bytes.is_empty() { None } else { payload::decode_value_in(form, bytes).ok() };
            Carried::Value(value.unwrap_or(Value::Tuple(vec![])))
        }
    }
}

/// The state of the first call: the release's default (theater does not record it), or
/// what the user gave.
fn initial_state(given: Option<&InitialState>, default: Value, metadata: Option<&Metadata>, function: &str) -> Result<Value, Stop> {
    match given {
        None => Ok(default),
        Some(InitialState::Value(value)) => Ok(value.clone()),
        Some(InitialState::Wave(text)) => {
            let sig = metadata.and_then(|m| m.export(function)).ok_or_else(|| {
                Stop::Error(format!("--initial-state: the actor's metadata does not describe {function}, so the state's type is unknown"))
            })?;
            let (_, ty) = sig.params.first().ok_or_else(|| {
                Stop::Error(format!("--initial-state: {function} takes no state parameter"))
            })?;
            crate::dialect::pack_wave::parse(text, ty, &sig.type_defs).map_err(|e| Stop::Error(format!("--initial-state: {e}")))
        }
    }
}

fn failure_detail(outcome: &Result<(Value, Vec<u8>), Failure>) -> Option<String> {
    outcome.as_ref().err().and_then(|f| f.detail.clone())
}

fn failure_stack(outcome: &Result<(Value, Vec<u8>), Failure>) -> Vec<String> {
    outcome.as_ref().err().and_then(|f| f.trap.as_ref()).map(|t| t.stack.clone()).unwrap_or_default()
}

/// An event the runtime wrote on its own (not the guest): matched when it is exactly what
/// theater writes for it.
fn runtime_event(store: &mut Store<PackReplayHost>, recorded: Recorded, event_type: &str, payload: &PackPayload) -> Result<(), Stop> {
    if store.data().tracker.reproduces(&recorded, event_type, &payload.encode()) {
        store.data_mut().tracker.matched(recorded);
        return Ok(());
    }
    Err(store.data().divergence(DivergenceKind::NoncanonicalRecording, Some(&recorded), Some(payload), None, vec![]))
}
