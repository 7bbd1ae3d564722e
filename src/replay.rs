//! The verification loop: drive every recorded export call on one instance, answer every
//! import from the recording, re-encode and re-hash each event the replay produces and
//! compare it with the recorded one on the spot. Stops at the first divergence.
//!
//! The chain is read as a stream inside the store: an import call pulls exactly the next
//! recorded event, whose integrity was checked on the way, and either answers or stops.
//! No scanning ahead for a matching call, no skipping; memory does not depend on the
//! chain's length.

use crate::chain::{Broken, ChainError, ChainReader, Event, HashAlg, IntegrityChecker, canonical_hash};
use crate::payload::{FORMAT_NAME, FORMAT_VERSION, HostCall, Payload};
use crate::runtime::imports::{ImportCatalog, ImportHandler, ImportedResource, IncomingCall, StoreResources, link_all};
use crate::runtime::{self, EpochTicker, Limits, Loaded, Runtime, exports};
use crate::values::{self, decode_args, encode_args};
use indicatif::ProgressBar;
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::ops::Range;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use wasmtime::component::{Linker, ResourceAny, Type, Val};
use wasmtime::{AsContextMut, Engine, Store, StoreContextMut, StoreLimits};

/// How many matched events a divergence report shows before the divergence.
const RECENT: usize = 3;

/// The verdict on one chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Every event replayed and matched.
    Verified,
    /// The component did something other than the recording says.
    Diverged,
    /// The chain fails its own integrity check.
    Broken,
    /// The chain or component could not be read, or is not replayable.
    Error,
}

/// Every way a replay can part from its recording.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DivergenceKind {
    /// The guest called another import than the recording's next host call.
    DifferentImport,
    /// The guest called the recorded import with other arguments.
    DifferentArguments,
    /// The export returned (or instantiation ended) while recorded host calls remain.
    MissingHostCalls,
    /// The guest made a host call the recording does not have.
    ExtraHostCall,
    /// The export returned another value.
    DifferentResult,
    /// The export trapped where the recording returned.
    UnexpectedTrap,
    /// The export returned where the recording trapped.
    MissingTrap,
    /// The export trapped with another message.
    DifferentTrap,
    /// A recorded export is not in the component.
    MissingExport,
    /// Recorded values do not fit the component's types (export or import signature changed).
    SignatureMismatch,
    /// A limit (timeout, memory) ended the call.
    LimitExceeded,
    /// The replay produced an event after the recording's last one.
    BeyondRecording,
    /// The recorded event decodes, but our canonical encoder writes it differently: the chain
    /// was not written by theater-replay (or was edited while keeping its hashes intact).
    NoncanonicalRecording,
}

impl DivergenceKind {
    /// One sentence for people.
    pub fn describe(self) -> &'static str {
        match self {
            DivergenceKind::DifferentImport => "the guest called a different import than the recording",
            DivergenceKind::DifferentArguments => "the guest called the recorded import with different arguments",
            DivergenceKind::MissingHostCalls => "the call returned while recorded host calls remain",
            DivergenceKind::ExtraHostCall => "the guest made a host call the recording does not have",
            DivergenceKind::DifferentResult => "the export returned a different result",
            DivergenceKind::UnexpectedTrap => "the export trapped where the recording returned",
            DivergenceKind::MissingTrap => "the export returned where the recording trapped",
            DivergenceKind::DifferentTrap => "the export trapped with a different message",
            DivergenceKind::MissingExport => "the component does not export the recorded function",
            DivergenceKind::SignatureMismatch => "the recorded values do not fit the component's types",
            DivergenceKind::LimitExceeded => "a resource limit ended the call",
            DivergenceKind::BeyondRecording => "the replay went on after the recording's last event",
            DivergenceKind::NoncanonicalRecording => {
                "the recorded event does not re-encode to the same bytes (not written by theater-replay?)"
            }
        }
    }

    /// What a person can do about it.
    pub fn advice(self) -> &'static str {
        match self {
            DivergenceKind::MissingExport | DivergenceKind::SignatureMismatch => {
                "the component's interface changed since the recording: record a new golden chain, or restore the old interface"
            }
            DivergenceKind::LimitExceeded => {
                "raise --timeout / --max-memory if the work is legitimate, otherwise look for a loop or leak at the guest stack shown"
            }
            DivergenceKind::NoncanonicalRecording => {
                "re-record the chain with `theater-replay record`; only chains in our canonical format can be replayed"
            }
            _ => {
                "the component's behaviour changed: if intended, record a new golden chain; if not, start at the guest stack shown"
            }
        }
    }
}

/// One event as a report shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EventView {
    pub event_type: String,
    /// Lowercase hex.
    pub hash: String,
    /// One line, component values in WAVE.
    pub summary: String,
    /// The payload decoded as JSON (null when it is not JSON).
    pub payload: Value,
}

/// A recorded event the replay reproduced, for the context of a report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MatchedEvent {
    pub index: u64,
    pub event_type: String,
    pub summary: String,
}

/// The first point where the replay parted from the recording.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Divergence {
    /// Index of the recorded event (as `inspect` counts), or the index the replay's event
    /// would have had when the recording ended.
    pub index: u64,
    pub kind: DivergenceKind,
    pub event_type: String,
    /// The recorded event; `None` when the recording had ended.
    pub expected: Option<EventView>,
    /// What the replay produced; `None` when it produced no event (a missing export).
    pub actual: Option<EventView>,
    /// Extra words on this divergence (limits, available exports, decoding errors).
    pub detail: Option<String>,
    /// The guest's stack at the divergence, innermost first.
    pub guest_stack: Vec<String>,
    /// The last events that did match, oldest first.
    pub last_matched: Vec<MatchedEvent>,
}

/// Where a chain fails its integrity check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BrokenAt {
    pub index: u64,
    pub event_type: String,
    pub reason: String,
}

/// Everything `verify` found out about one chain.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VerifyReport {
    pub status: Status,
    /// Events checked against the recording, from the start.
    pub events_verified: u64,
    pub hash: Option<&'static str>,
    /// SHA-256 of the component replayed.
    pub component_sha256: Option<String>,
    /// SHA-256 of the component the chain was recorded from, when the chain says.
    pub recorded_component_sha256: Option<String>,
    pub divergence: Option<Divergence>,
    pub broken: Option<BrokenAt>,
    pub error: Option<String>,
}

/// Settings of a replay.
#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    pub limits: Limits,
    /// Ticked once per verified event; drawn by its owner.
    pub progress: Option<ProgressBar>,
}

/// Why the replay stopped before the end.
enum Stop {
    Diverged(Box<Divergence>),
    Broken(BrokenAt),
    Error(String),
}

/// A recorded event with its position.
struct Recorded {
    index: u64,
    event: Event,
}

/// Events per hand-over from the reading thread: enough to make the channel's cost per
/// event negligible, small enough that memory stays flat.
const BATCH: usize = 256;
/// Payload and canonical text bytes after which a batch is handed over early, so that
/// memory stays flat with large events too.
const BATCH_BYTES: usize = 1 << 20;
/// Batches the reading thread may be ahead by; it blocks when they are all full.
const BATCHES_AHEAD: usize = 4;

/// The recording, read one event at a time with its integrity checked on the way.
///
/// Parsing (the larger half of a replayed event's cost) runs on a second thread, in order,
/// through a small bounded channel: the reader blocks when it is ahead, never skips, and
/// every event still reaches the replay in sequence, one at a time. The integrity check
/// runs here, on the replay's side, as each event is taken, which balances the two
/// threads; the reader sends along each event's stored canonical text when it has one
/// (see `ChainReader::canonical_tail`), so hashing needs neither the reader's buffer nor
/// writing the canonical form again. The matching itself stays strictly next-event on
/// the store's thread.
struct Recording {
    batches: Receiver<Batch>,
    current: std::vec::IntoIter<Item>,
    /// The current batch's canonical texts.
    tails: Vec<u8>,
    /// Spent text buffers go back to the reader for reuse (no allocation per batch).
    spent: SyncSender<Vec<u8>>,
    integrity: IntegrityChecker,
    pushed_back: Option<Recorded>,
    /// Index of the next event to come.
    next_index: u64,
    alg: Option<HashAlg>,
}

/// Events in order, each with the range of its canonical text in `tails` if it has one;
/// a read error ends a batch and the stream.
struct Batch {
    items: Vec<Item>,
    tails: Vec<u8>,
}

type Item = Result<(Recorded, Option<Range<usize>>), Stop>;

impl Recording {
    fn start(mut reader: ChainReader) -> Recording {
        let (sender, batches) = sync_channel(BATCHES_AHEAD);
        let (spent, recycled) = sync_channel::<Vec<u8>>(BATCHES_AHEAD + 2);
        std::thread::spawn(move || {
            let mut ended = false;
            while !ended {
                let mut items = Vec::with_capacity(BATCH);
                let mut tails = recycled.try_recv().unwrap_or_default();
                tails.clear();
                let mut bytes = 0;
                while items.len() < BATCH && bytes < BATCH_BYTES {
                    let index = reader.index();
                    let item = match reader.next() {
                        None => {
                            ended = true;
                            break;
                        }
                        Some(Err(e)) => Err(chain_stop(&e)),
                        Some(Ok(event)) => {
                            let tail = reader.canonical_tail().map(|tail| {
                                tails.extend_from_slice(tail);
                                tails.len() - tail.len()..tails.len()
                            });
                            bytes += event.data.len() + tail.as_ref().map_or(0, |range| range.len());
                            Ok((Recorded { index, event }, tail))
                        }
                    };
                    ended = item.is_err();
                    items.push(item);
                    if ended {
                        break;
                    }
                }
                // The replay stopped early and dropped the receiver: nothing more to read.
                if sender.send(Batch { items, tails }).is_err() {
                    return;
                }
            }
        });
        Recording {
            batches,
            current: Vec::new().into_iter(),
            tails: Vec::new(),
            spent,
            integrity: IntegrityChecker::new(),
            pushed_back: None,
            next_index: 0,
            alg: None,
        }
    }

    /// The next recorded event, integrity-checked; `Err` for a broken or unreadable one.
    fn next(&mut self) -> Result<Option<Recorded>, Stop> {
        if let Some(back) = self.pushed_back.take() {
            return Ok(Some(back));
        }
        loop {
            if let Some(item) = self.current.next() {
                let (recorded, tail) = item?;
                let tail = tail.map(|range| &self.tails[range]);
                if let Err(broken) = self.integrity.push_with_tail(&recorded.event, tail) {
                    return Err(Stop::Broken(broken.into()));
                }
                self.next_index = recorded.index + 1;
                self.alg = self.alg.or(HashAlg::from_len(recorded.event.hash.len()));
                return Ok(Some(recorded));
            }
            match self.batches.recv() {
                Ok(batch) => {
                    self.current = batch.items.into_iter();
                    // If the reader has enough spare buffers already, this one is dropped.
                    let _ = self.spent.try_send(std::mem::replace(&mut self.tails, batch.tails));
                }
                // The reading thread is done and everything it sent was taken.
                Err(_) => return Ok(None),
            }
        }
    }

    fn push_back(&mut self, recorded: Recorded) {
        self.pushed_back = Some(recorded);
    }

    /// The index the next event would have.
    fn next_index(&self) -> u64 {
        self.pushed_back.as_ref().map_or(self.next_index, |r| r.index)
    }
}

fn chain_stop(e: &ChainError) -> Stop {
    match e.integrity() {
        Some(broken) => Stop::Broken(broken.into()),
        None => Stop::Error(e.to_string()),
    }
}

impl From<Broken> for BrokenAt {
    fn from(b: Broken) -> BrokenAt {
        BrokenAt { index: b.index, event_type: b.event_type, reason: b.reason.to_string() }
    }
}

/// The store's data during a replay.
struct ReplayHost {
    recording: Recording,
    catalog: ImportCatalog,
    guest_resources: Vec<ResourceAny>,
    limits: StoreLimits,
    verified: u64,
    /// Hash of the last matched event: the parent of the next one.
    head: Option<Vec<u8>>,
    /// The last matched events, formatted only if a report needs them.
    recent: VecDeque<Recorded>,
    stop: Option<Stop>,
    progress: Option<ProgressBar>,
    /// Reused by [`Payload::recorded_host_output`] on every host call.
    scratch: Vec<u8>,
}

impl ReplayHost {
    fn alg(&self) -> HashAlg {
        self.recording.alg.unwrap_or(HashAlg::Sha256)
    }

    /// Re-encodes the replay's event and compares it with the recorded one.
    ///
    /// The replay's hash is the digest of (head, event type, bytes). The head is the
    /// recorded parent (everything before matched), and the integrity check has just
    /// computed the digest of the recorded (parent, type, bytes) and found it equal to the
    /// stored hash. So when type and bytes are equal, the replay's hash *is* that digest:
    /// computing it again proves nothing and doubled the cost of a replayed event. When
    /// they differ, the hashes differ too, and [`Self::view_actual`] hashes for the report.
    fn reproduces(&self, recorded: &Recorded, actual: &Payload) -> bool {
        recorded.event.parent_hash == self.head
            && actual.has_event_type(&recorded.event.event_type)
            && actual.encode() == recorded.event.data
    }

    /// The recorded answer when `recorded` is exactly the event the guest's call makes
    /// (same parent, type and bytes): the hot path of a replay, which decodes only the
    /// output. `None` when it is not that simple; the full path then decides.
    fn recorded_answer(&mut self, recorded: &Recorded, call: &HostCall, input: &Value) -> Option<Value> {
        let event = &recorded.event;
        if event.parent_hash != self.head || !call.is_event_type(&event.event_type) {
            return None;
        }
        Payload::recorded_host_output(&event.data, call, input, &mut self.scratch)
    }

    fn matched(&mut self, recorded: Recorded) {
        self.verified += 1;
        // Reuses the previous head's allocation.
        match &mut self.head {
            Some(head) => head.clone_from(&recorded.event.hash),
            None => self.head = Some(recorded.event.hash.clone()),
        }
        if self.recent.len() == RECENT {
            self.recent.pop_front();
        }
        self.recent.push_back(recorded);
        if let Some(progress) = &self.progress {
            progress.inc(1);
        }
    }

    fn view_actual(&self, actual: &Payload) -> EventView {
        let data = actual.encode();
        let event_type = actual.event_type();
        EventView {
            hash: canonical_hash(self.alg(), self.head.as_deref(), &event_type, &data).to_hex(),
            event_type,
            summary: actual.summary(),
            payload: serde_json::from_slice(&data).unwrap_or(Value::Null),
        }
    }

    fn divergence(
        &self,
        kind: DivergenceKind,
        recorded: Option<&Recorded>,
        actual: Option<&Payload>,
        detail: Option<String>,
        guest_stack: Vec<String>,
    ) -> Stop {
        let expected = recorded.map(|r| view_recorded(&r.event));
        let actual = actual.map(|a| self.view_actual(a));
        Stop::Diverged(Box::new(Divergence {
            index: recorded.map_or(self.recording.next_index(), |r| r.index),
            kind,
            event_type: expected.as_ref().or(actual.as_ref()).map(|v| v.event_type.clone()).unwrap_or_default(),
            expected,
            actual,
            detail,
            guest_stack,
            last_matched: self
                .recent
                .iter()
                .map(|r| MatchedEvent {
                    index: r.index,
                    event_type: r.event.event_type.clone(),
                    summary: crate::decode::summary(&r.event),
                })
                .collect(),
        }))
    }
}

/// How a recorded event looks in a report, whatever its format.
pub fn view_recorded(event: &Event) -> EventView {
    EventView {
        event_type: event.event_type.clone(),
        hash: hex::encode(&event.hash),
        summary: crate::decode::summary(event),
        payload: crate::decode::decode_payload(&event.data).unwrap_or(Value::Null),
    }
}

fn decode_payload(recorded: &Recorded) -> Result<Payload, Stop> {
    Payload::decode(&recorded.event.data)
        .map_err(|e| Stop::Error(format!("event {} ({}): {e}", recorded.index, recorded.event.event_type)))
}

/// Stops the guest: the reason is kept in the store, the error only unwinds the guest.
fn halt(mut store: StoreContextMut<'_, ReplayHost>, stop: Stop) -> wasmtime::Result<()> {
    store.data_mut().stop = Some(stop);
    Err(wasmtime::Error::msg("replay stopped"))
}

impl ImportHandler for ReplayHost {
    fn abort(store: StoreContextMut<'_, Self>, message: String) -> wasmtime::Result<()> {
        halt(store, Stop::Error(message))
    }

    fn on_call(mut store: StoreContextMut<'_, Self>, incoming: IncomingCall<'_>, results: &mut [Val]) -> wasmtime::Result<()> {
        let IncomingCall { call, input, result_types, .. } = incoming;
        let recorded = match store.data_mut().recording.next() {
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
        let recorded = match store.data_mut().recording.next() {
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

/// Replays `chain` against a loaded component and returns the verdict.
pub fn verify(runtime: &Runtime, loaded: &Loaded, chain: ChainReader, options: &VerifyOptions) -> VerifyReport {
    let engine = &runtime.engine;
    let mut report = VerifyReport {
        status: Status::Verified,
        events_verified: 0,
        hash: None,
        component_sha256: Some(loaded.sha256.clone()),
        recorded_component_sha256: None,
        divergence: None,
        broken: None,
        error: None,
    };
    let catalog = match ImportCatalog::of(&loaded.component, engine) {
        Ok(catalog) => catalog,
        Err(e) => return report.with_stop(Stop::Error(runtime::one_line(&e)), 0, None),
    };
    let mut linker = Linker::new(engine);
    if let Err(e) = link_all(&mut linker, &catalog) {
        return report.with_stop(Stop::Error(runtime::one_line(&e)), 0, None);
    }
    let host = ReplayHost {
        recording: Recording::start(chain),
        catalog,
        guest_resources: Vec::new(),
        limits: runtime::store_limits(&options.limits),
        verified: 0,
        head: None,
        recent: VecDeque::new(),
        stop: None,
        progress: options.progress.clone(),
        scratch: Vec::new(),
    };
    let mut store = Store::new(engine, host);
    store.limiter(|host| &mut host.limits);
    let deadline = EpochTicker::ticks(options.limits.timeout);

    let outcome = drive(&mut store, engine, loaded, &linker, deadline, options, &mut report);
    let host = store.data();
    let alg = host.recording.alg;
    report.with_stop_opt(outcome.err(), host.verified, alg)
}

impl VerifyReport {
    fn with_stop(mut self, stop: Stop, verified: u64, alg: Option<HashAlg>) -> VerifyReport {
        self.events_verified = verified;
        self.hash = alg.map(HashAlg::name);
        match stop {
            Stop::Diverged(d) => {
                self.status = Status::Diverged;
                self.divergence = Some(*d);
            }
            Stop::Broken(b) => {
                self.status = Status::Broken;
                self.broken = Some(b);
            }
            Stop::Error(e) => {
                self.status = Status::Error;
                self.error = Some(e);
            }
        }
        self
    }

    fn with_stop_opt(mut self, stop: Option<Stop>, verified: u64, alg: Option<HashAlg>) -> VerifyReport {
        match stop {
            Some(stop) => self.with_stop(stop, verified, alg),
            None => {
                self.events_verified = verified;
                self.hash = alg.map(HashAlg::name);
                self
            }
        }
    }
}

/// Takes the reason a guest was stopped, or makes one from a wasmtime error.
fn stop_from(store: &mut Store<ReplayHost>, err: wasmtime::Error, context: &str) -> Stop {
    store.data_mut().stop.take().unwrap_or_else(|| Stop::Error(format!("{context}: {}", runtime::one_line(&err.into()))))
}

fn drive(
    store: &mut Store<ReplayHost>,
    engine: &Engine,
    loaded: &Loaded,
    linker: &Linker<ReplayHost>,
    deadline: u64,
    options: &VerifyOptions,
    report: &mut VerifyReport,
) -> Result<(), Stop> {
    // The first event may say which format and component the chain was recorded with.
    if let Some(first) = store.data_mut().recording.next()? {
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
            _ => store.data_mut().recording.push_back(first),
        }
    }

    store.set_epoch_deadline(deadline);
    let instance = match linker.instantiate(&mut *store, &loaded.component) {
        Ok(instance) => instance,
        Err(e) => return Err(stop_from(store, e, "cannot instantiate the component")),
    };

    while let Some(recorded) = store.data_mut().recording.next()? {
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
            let detail = format!("the component exports: {}", exports::names(&loaded.component, engine).join(", "));
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
        if let Some(stop) = store.data_mut().stop.take() {
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
        let next = store.data_mut().recording.next()?;
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
