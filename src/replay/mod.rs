//! The verification loop: drive every recorded export call on one instance, answer every
//! import from the recording, re-encode and re-hash each event the replay produces and
//! compare it with the recorded one on the spot. Stops at the first divergence.
//!
//! The chain is read as a stream inside the store: an import call pulls exactly the next
//! recorded event, whose integrity was checked on the way, and either answers or stops.
//! No scanning ahead for a matching call, no skipping; memory does not depend on the
//! chain's length.

mod component;
mod pack;

use crate::chain::{Broken, ChainError, ChainReader, Container, Event, HashAlg, IntegrityChecker, canonical_hash};
use crate::dialect::Dialect;
use crate::runtime::{Actor, Limits, Loaded, Runtime};
use crate::values::diff::{self, Compared, DiffEntry, ValueDiff};
use serde::Serialize;
use serde_json::Value;
use std::collections::VecDeque;
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

/// How many matched events a divergence report shows before the divergence.
const RECENT: usize = 3;

/// How the detail of a `limit_exceeded` divergence begins when the limit ended the actor's
/// instantiation, not a call.
const INSTANTIATING: &str = "while instantiating";

impl Divergence {
    /// Whether a limit ended the actor's instantiation (so no call could be replayed).
    pub fn at_instantiation(&self) -> bool {
        self.kind == DivergenceKind::LimitExceeded
            && self.actual.is_none()
            && self.detail.as_deref().is_some_and(|d| d.starts_with(INSTANTIATING))
    }
}

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
    /// The chain holds no export call (no events, or only the runtime's own): nothing was
    /// replayed, so nothing was verified. Not success: a gate on it would check nothing.
    Empty,
}

/// Every way a replay can part from its recording.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
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
    /// A limit (timeout, memory, tables) ended the call, or the actor's instantiation.
    LimitExceeded,
    /// The replay produced an event after the recording's last one.
    BeyondRecording,
    /// The recorded event decodes, but our canonical encoder writes it differently: the chain
    /// was not written by theater-replay (or was edited while keeping its hashes intact).
    NoncanonicalRecording,
    /// The host state the guest's calls lead to is not the recording's: a recorded new
    /// resource number is not where theater's resource table would have put it, because
    /// the guest made or dropped a resource in a way theater did not record.
    DifferentHostState,
}

impl DivergenceKind {
    /// The kind as JSON names it (`different_result`).
    pub fn code(self) -> &'static str {
        match self {
            DivergenceKind::DifferentImport => "different_import",
            DivergenceKind::DifferentArguments => "different_arguments",
            DivergenceKind::MissingHostCalls => "missing_host_calls",
            DivergenceKind::ExtraHostCall => "extra_host_call",
            DivergenceKind::DifferentResult => "different_result",
            DivergenceKind::UnexpectedTrap => "unexpected_trap",
            DivergenceKind::MissingTrap => "missing_trap",
            DivergenceKind::DifferentTrap => "different_trap",
            DivergenceKind::MissingExport => "missing_export",
            DivergenceKind::SignatureMismatch => "signature_mismatch",
            DivergenceKind::LimitExceeded => "limit_exceeded",
            DivergenceKind::BeyondRecording => "beyond_recording",
            DivergenceKind::NoncanonicalRecording => "noncanonical_recording",
            DivergenceKind::DifferentHostState => "different_host_state",
        }
    }

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
            DivergenceKind::LimitExceeded => "a resource limit ended the call (or the actor's instantiation)",
            DivergenceKind::BeyondRecording => "the replay went on after the recording's last event",
            DivergenceKind::NoncanonicalRecording => {
                "the recorded event does not re-encode to the same bytes (not written by theater-replay?)"
            }
            DivergenceKind::DifferentHostState => {
                "the guest's unrecorded calls left the host in another state than the recording shows"
            }
        }
    }
}

/// One event as a report shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EventView {
    /// The event's `event_type`.
    pub event_type: String,
    /// Lowercase hex.
    pub hash: String,
    /// One line, component values in WAVE.
    pub summary: String,
    /// The payload decoded as JSON (null when it is not JSON).
    pub payload: Value,
    /// What a divergence diffs of this event; the JSON report carries the diff instead.
    #[serde(skip)]
    pub compared: Option<Compared>,
}

/// A recorded event the replay reproduced, for the context of a report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MatchedEvent {
    /// Its index in the chain.
    pub index: u64,
    /// Its `event_type`.
    pub event_type: String,
    /// One line, component values in WAVE.
    pub summary: String,
}

/// The first point where the replay parted from the recording.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Divergence {
    /// Index of the recorded event (as `inspect` counts), or the index the replay's event
    /// would have had when the recording ended.
    pub index: u64,
    /// How the replay parted from the recording.
    pub kind: DivergenceKind,
    /// The recorded event's type (the replay's, when the recording had ended).
    pub event_type: String,
    /// The recorded event; `None` when the recording had ended.
    pub expected: Option<EventView>,
    /// What the replay produced; `None` when it produced no event (a missing export).
    pub actual: Option<EventView>,
    /// Where the expected and the actual value differ (a call's arguments, an export's
    /// result), in value order; empty when there are no two values of one kind to compare.
    pub diff: Vec<DiffEntry>,
    /// Differences beyond the ones in `diff`.
    pub diff_omitted: usize,
    /// Extra words on this divergence (limits, available exports, decoding errors).
    pub detail: Option<String>,
    /// The guest's stack at the divergence, innermost first.
    pub guest_stack: Vec<String>,
    /// Whether the actor carries DWARF line tables, so that `guest_stack` frames name
    /// `file:line`; false also when there is no guest stack.
    pub source_lines: bool,
    /// The last events that did match, oldest first.
    pub last_matched: Vec<MatchedEvent>,
    /// The line of the chain's file the recorded event starts at, where the container's
    /// events have fixed lines (theater's run logs).
    pub line: Option<u64>,
}

/// Where a chain fails its integrity check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BrokenAt {
    /// The first event that breaks the chain.
    pub index: u64,
    /// Its `event_type`, as stored.
    pub event_type: String,
    /// A snake_case code, as `check` and `diff` name it: `content_hash_mismatch`, ...
    pub reason: &'static str,
    /// The reason in words (what `reason` held before it became a code).
    pub message: String,
    /// The line of the chain's file the event starts at (theater's run logs).
    pub line: Option<u64>,
}

/// Everything `verify` found out about one chain.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VerifyReport {
    /// The verdict.
    pub status: Status,
    /// Events checked against the recording, from the start.
    pub events_verified: u64,
    /// The chain's head, the last event's hash in hex, when the chain was read to its end
    /// with its integrity intact (verified, empty, diverged); `None` for a broken or
    /// unreadable chain, or one with no events. What `--head` pins.
    pub head: Option<String>,
    /// The chain's hash algorithm, `"sha1"` or `"sha256"` (null before the first event).
    pub hash: Option<&'static str>,
    /// Who wrote the chain, by its payloads (see [`Dialect`]); null when unknown.
    pub dialect: Option<Dialect>,
    /// For theater's Pack chains: the releases whose conventions the chain's events fit,
    /// and the one the replay followed where they could not tell.
    pub theater: Option<TheaterReleases>,
    /// SHA-256 of the component replayed.
    pub component_sha256: Option<String>,
    /// SHA-256 of the component the chain was recorded from, when the chain says.
    pub recorded_component_sha256: Option<String>,
    /// Where the replay parted from the recording, when it [diverged](Status::Diverged).
    pub divergence: Option<Divergence>,
    /// With `--keep-going`: every export call that diverged, in chain order, the first
    /// [`DIVERGENCES_LISTED`] of them (the first is `divergence`); empty otherwise.
    pub divergences: Vec<Divergence>,
    /// Diverging calls beyond those listed.
    pub divergences_omitted: u64,
    /// With `--keep-going`: per export, the calls replayed and how they went, by name.
    pub exports: Vec<ExportTally>,
    /// With `--keep-going` on a chain that diverged: why the replay could not go on past a
    /// divergence (it then stopped there, and the calls after it were not checked); `None`
    /// when it went on to the chain's end, or without the flag.
    pub keep_going_stopped: Option<KeepGoingStop>,
    /// With `--coverage`: the chain's recorded calls, counted as its events were read (the
    /// run's coverage adds them up; no per-chain JSON field).
    #[serde(skip)]
    pub recorded_calls: Option<crate::coverage::RecordedCalls>,
    /// Where the chain fails its integrity check, when it is [broken](Status::Broken).
    pub broken: Option<BrokenAt>,
    /// Why the chain was not replayed, for [`Status::Error`]: one line.
    pub error: Option<String>,
}

/// Which theater releases a Pack chain can have come from, as far as its events tell
/// (see `crate::dialect::release`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TheaterReleases {
    /// Every release whose conventions the chain's events fit: `0.3.17-0.3.29`.
    pub releases: String,
    /// The release whose conventions the replay followed where the events could not tell
    /// (the newest of them, or the one given with `--theater`).
    pub replayed_as: String,
    /// Whether `--theater` gave it.
    pub given: bool,
    /// Whether the releases fitting differ in something no event shows (the default
    /// initial state, where host answers go): `--theater VERSION` settles it.
    pub ambiguous: bool,
}

impl TheaterReleases {
    pub(crate) fn of(releases: &crate::dialect::release::Releases) -> TheaterReleases {
        TheaterReleases {
            releases: releases.versions(),
            replayed_as: releases.assumed().versions(),
            given: releases.given,
            ambiguous: releases.ambiguous(),
        }
    }
}

/// How many diverging calls a `--keep-going` report lists in full; the rest are counted.
pub const DIVERGENCES_LISTED: usize = 20;

/// One export's recorded calls under `--keep-going`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExportTally {
    /// The export's name as the chain records it.
    pub export: String,
    /// Recorded calls of it that the replay made.
    pub calls: u64,
    /// Calls whose every event matched.
    pub matched: u64,
    /// Calls that diverged.
    pub diverged: u64,
    /// How they diverged: a count per kind.
    pub kinds: std::collections::BTreeMap<DivergenceKind, u64>,
}

/// Why `--keep-going` could not go on past a divergence. Said in the report, not guessed
/// around: the calls after it would start from a state no recording vouches for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KeepGoingStop {
    /// theater-replay's own component recordings: the component keeps its state inside its
    /// instance, which no event records, so no later call can start from a known state.
    StateInInstance,
    /// theater's component-era wasi:http chains: the call that diverged made or dropped
    /// resources of theater's host, whose unrecorded resource table the calls after it
    /// depend on (their resource numbers).
    HostResourceTable,
}

impl KeepGoingStop {
    /// The reason as JSON names it (`state_in_instance`).
    pub fn code(self) -> &'static str {
        match self {
            KeepGoingStop::StateInInstance => "state_in_instance",
            KeepGoingStop::HostResourceTable => "host_resource_table",
        }
    }

    /// One sentence for people: why the calls after the divergence were not checked.
    pub fn describe(self) -> &'static str {
        match self {
            KeepGoingStop::StateInInstance => {
                "the replay cannot go on past its first divergence: this component keeps its state inside its instance, which the chain does not record, so no later call could start from a state the recording vouches for; the calls after it were not checked"
            }
            KeepGoingStop::HostResourceTable => {
                "the replay cannot go on past this divergence: the diverging call used theater's wasi:http host, whose resource table (not recorded) the calls after it depend on; the calls after it were not checked"
            }
        }
    }
}

/// What `--keep-going` gathers while the replay goes on past divergences.
#[derive(Default)]
struct KeepGoing {
    divergences: Vec<Divergence>,
    omitted: u64,
    exports: std::collections::BTreeMap<String, ExportTally>,
}

impl KeepGoing {
    fn tally(&mut self, export: &str) -> &mut ExportTally {
        self.exports.entry(export.to_string()).or_insert_with(|| ExportTally {
            export: export.to_string(),
            calls: 0,
            matched: 0,
            diverged: 0,
            kinds: Default::default(),
        })
    }

    fn matched(&mut self, export: &str) {
        let t = self.tally(export);
        t.calls += 1;
        t.matched += 1;
    }

    /// A call of `export` (none: outside any call) diverged. Only the first divergence
    /// keeps its guest stack and context: the list stays small however many there are.
    fn diverged(&mut self, export: Option<&str>, mut divergence: Divergence) {
        if let Some(export) = export {
            let t = self.tally(export);
            t.calls += 1;
            t.diverged += 1;
            *t.kinds.entry(divergence.kind).or_default() += 1;
        }
        if self.divergences.len() < DIVERGENCES_LISTED {
            if !self.divergences.is_empty() {
                divergence.guest_stack.clear();
                divergence.last_matched.clear();
            }
            self.divergences.push(divergence);
        } else {
            self.omitted += 1;
        }
    }
}

/// Settings of a replay.
#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    /// Time and memory one export call may take.
    pub limits: Limits,
    /// Counts the chain's bytes and events as they are read (see [`crate::progress`]).
    pub progress: Option<Arc<crate::progress::Progress>>,
    /// The chain's dialect, when not detected from its first event.
    pub dialect: Option<Dialect>,
    /// How the chain is read (the most one event may take), when the replay opens it.
    pub read: crate::chain::ReadOptions,
    /// The state a Pack actor's first export call gets (theater does not record it);
    /// `None` is the release's default (`()` for 0.3.8, `none` from 0.3.9).
    pub initial_state: Option<InitialState>,
    /// The theater release that recorded a Pack chain, when its events cannot tell
    /// (`--theater`); `None`: detected, the newest fitting release where they cannot.
    pub theater: Option<&'static crate::dialect::release::Release>,
    /// Host functions (`interface.function`) of the user's own handlers that theater 0.3.29
    /// serves synchronously (`--sync-import`); theater's own are in the release table.
    pub sync_imports: Vec<String>,
    /// The head the chain must end at (`--head`): a chain that replays but ends elsewhere
    /// (cut short, extended, another chain) is [broken](Status::Broken), `head_mismatch`.
    pub expected_head: Option<Vec<u8>>,
    /// Go on past a divergence at the next recorded export call, from its recorded state,
    /// where the chain's dialect passes the state in (theater's Pack chains and its
    /// component-era chains); every diverging call is reported. Elsewhere the report says
    /// why it could not ([`VerifyReport::keep_going_stopped`]).
    pub keep_going: bool,
    /// Count the chain's recorded calls as they are read ([`VerifyReport::recorded_calls`],
    /// for `--coverage`).
    pub coverage: bool,
}

/// The state before a Pack actor's first recorded call.
#[derive(Debug, Clone, PartialEq)]
pub enum InitialState {
    /// WAVE text, typed by the first called export's state parameter in the actor's own
    /// metadata (`--initial-state`).
    Wave(String),
    /// A value as is (a theater manifest's `initial_state` string is `Value::String`).
    Value(packr_abi::Value),
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
    /// A Pack host call read and found canonical on the reading thread (see [`pack::prepare`]).
    prepared: Option<pack::Prepared>,
}

impl Recorded {
    /// Asks for the event's buffers to be brought into this core's cache: the reading
    /// thread wrote them on another core, and the integrity check's first reads of them
    /// (comparing the parent hash, then writing the canonical form) waited for each.
    #[inline]
    fn prefetch(&self) {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
            let event = &self.event;
            let parent = event.parent_hash.as_deref().unwrap_or_default();
            let lines = event.data.chunks(64).take(4).chain([&event.hash[..], parent, event.event_type.as_bytes()]);
            for bytes in lines {
                // SAFETY: a hint with an address inside a live buffer (SSE, which every
                // x86-64 CPU has); it never faults and changes nothing the program sees.
                unsafe { _mm_prefetch::<_MM_HINT_T0>(bytes.as_ptr().cast()) };
            }
        }
    }
}

/// Events per hand-over from the reading thread: enough to make the channel's cost per
/// event negligible, small enough that memory stays flat.
const BATCH: usize = 256;
/// Payload and canonical text bytes after which a batch is handed over early, so that
/// memory stays flat with large events too.
const BATCH_BYTES: usize = 1 << 20;
/// Batches the reading thread may be ahead by; it blocks when they are all full.
const BATCHES_AHEAD: usize = 4;

/// Which thread prepares Pack host calls (see `pack::prepare`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum PrepareOn {
    /// The less busy one, as the replay goes.
    LessBusy,
    Reader,
    Replay,
}

impl PrepareOn {
    /// The process's choice, made once: the less busy thread, unless
    /// `THEATER_REPLAY_PREPARE=reader` or `=replay` says (for the tests that show both ways
    /// give the same reports: which one is taken otherwise depends on timing).
    fn chosen() -> PrepareOn {
        static CHOSEN: std::sync::OnceLock<PrepareOn> = std::sync::OnceLock::new();
        *CHOSEN.get_or_init(|| match std::env::var("THEATER_REPLAY_PREPARE").as_deref() {
            Ok("reader") => PrepareOn::Reader,
            Ok("replay") => PrepareOn::Replay,
            _ => PrepareOn::LessBusy,
        })
    }
}

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
    /// Matched events go back to the reading thread, which allocated them, to be freed
    /// there: glibc's malloc is at its slowest when one thread frees what another
    /// allocates (each free takes the other arena's lock, and the reader never finds a
    /// freed chunk of its own), which was a quarter of the reading thread's time.
    returned: Vec<Recorded>,
    give_back: SyncSender<Vec<Recorded>>,
    /// Batches sent and not yet taken: how far the reading thread is ahead.
    queued: Arc<AtomicUsize>,
    integrity: IntegrityChecker,
    pushed_back: Option<Recorded>,
    /// Index of the next event to come.
    next_index: u64,
    alg: Option<HashAlg>,
    /// Every event was taken and the reader reached the chain's end without an error.
    ended: bool,
    /// What the chain was read from (which says the line each event starts at).
    container: Container,
    /// `--coverage`: counts each event once, as it is first taken.
    counter: Option<crate::coverage::CallCounter>,
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
        let container = reader.container();
        let (sender, batches) = sync_channel(BATCHES_AHEAD);
        let (spent, recycled) = sync_channel::<Vec<u8>>(BATCHES_AHEAD + 2);
        let (give_back, given_back) = sync_channel::<Vec<Recorded>>(BATCHES_AHEAD + 2);
        let queued = Arc::new(AtomicUsize::new(0));
        let sent = queued.clone();
        std::thread::spawn(move || {
            let mut ended = false;
            // The buffers of spent prepared host calls (see `pack::prepare`).
            let mut spare_prepared = crate::runtime::pack::SpareBuffers::keeping(2 * BATCH);
            while !ended {
                // Reused here, where they were allocated (see `Recording::returned`).
                while let Ok(done) = given_back.try_recv() {
                    for recorded in done {
                        reader.recycle_event(recorded.event);
                        if let Some(prepared) = recorded.prepared {
                            spare_prepared.keep(prepared.into_buffer());
                        }
                    }
                }
                let mut items = Vec::with_capacity(BATCH);
                let mut tails = recycled.try_recv().unwrap_or_default();
                tails.clear();
                let mut bytes = 0;
                // Pack host calls are prepared (checked and sliced, see `pack::prepare`)
                // by whichever thread is less busy: here while the replay is behind (the
                // batches wait for it), else on the replay's thread. Which one is busier
                // depends on the chain's layout and the CPU (a pretty array is three times
                // the text of a compact one to read for the same events).
                let prepare_here = match PrepareOn::chosen() {
                    PrepareOn::LessBusy => sent.load(Ordering::Relaxed) >= BATCHES_AHEAD / 2,
                    PrepareOn::Reader => true,
                    PrepareOn::Replay => false,
                };
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
                            let prepared = if prepare_here { pack::prepare(&event, &mut spare_prepared) } else { None };
                            Ok((Recorded { index, event, prepared }, tail))
                        }
                    };
                    ended = item.is_err();
                    items.push(item);
                    if ended {
                        break;
                    }
                }
                sent.fetch_add(1, Ordering::Relaxed);
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
            returned: Vec::with_capacity(BATCH),
            give_back,
            queued,
            integrity: IntegrityChecker::new(),
            pushed_back: None,
            next_index: 0,
            alg: None,
            ended: false,
            container,
            counter: None,
        }
    }

    /// The next recorded event, integrity-checked; `Err` for a broken or unreadable one.
    fn next(&mut self) -> Result<Option<Recorded>, Stop> {
        if let Some(back) = self.pushed_back.take() {
            return Ok(Some(back));
        }
        loop {
            if let Some(item) = self.current.next() {
                if let Some(Ok((following, _))) = self.current.as_slice().first() {
                    following.prefetch();
                }
                let (recorded, tail) = item?;
                let tail = tail.map(|range| &self.tails[range]);
                if let Err(broken) = self.integrity.push_with_tail(&recorded.event, tail) {
                    return Err(Stop::Broken(broken.in_container(self.container).into()));
                }
                self.next_index = recorded.index + 1;
                self.alg = self.alg.or(HashAlg::from_len(recorded.event.hash.len()));
                if let Some(counter) = &mut self.counter {
                    counter.see(&recorded.event);
                }
                return Ok(Some(recorded));
            }
            match self.batches.recv() {
                Ok(batch) => {
                    self.queued.fetch_sub(1, Ordering::Relaxed);
                    self.current = batch.items.into_iter();
                    // If the reader has enough spare buffers already, this one is dropped.
                    let _ = self.spent.try_send(std::mem::replace(&mut self.tails, batch.tails));
                }
                // The reading thread is done and everything it sent was taken.
                Err(_) => {
                    self.ended = true;
                    return Ok(None);
                }
            }
        }
    }

    /// Hands a matched event back to be freed on the reading thread; if that thread has
    /// ended or is behind, it is freed here.
    fn give_back(&mut self, recorded: Recorded) {
        self.returned.push(recorded);
        if self.returned.len() == BATCH {
            let spent = std::mem::replace(&mut self.returned, Vec::with_capacity(BATCH));
            let _ = self.give_back.try_send(spent);
        }
    }

    fn push_back(&mut self, recorded: Recorded) {
        self.pushed_back = Some(recorded);
    }

    /// The index the next event would have.
    fn next_index(&self) -> u64 {
        self.pushed_back.as_ref().map_or(self.next_index, |r| r.index)
    }

    /// Reads what is left of the chain, integrity-checked, and returns its head in hex:
    /// `None` when the rest is broken or unreadable (no head to vouch for) or the chain has
    /// no events. After a replay that read everything this costs nothing.
    fn finish(&mut self) -> Option<String> {
        while !self.ended {
            match self.next() {
                Ok(Some(recorded)) => self.give_back(recorded),
                Ok(None) => {}
                Err(_) => return None,
            }
        }
        self.integrity.head().map(hex::encode)
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
        BrokenAt { index: b.index, event_type: b.event_type, reason: b.reason.code(), message: b.reason.to_string(), line: b.line }
    }
}

/// What every replay keeps while it walks the recording, whatever the actor kind: the
/// stream of recorded events, how far it matched, and why it stopped.
struct Tracker {
    recording: Recording,
    verified: u64,
    /// Export calls replayed: a chain without any proves nothing ([`Status::Empty`]).
    calls: u64,
    /// `--head`: where the chain must end.
    expected_head: Option<Vec<u8>>,
    /// Hash of the last matched event: the parent of the next one.
    head: Option<Vec<u8>>,
    /// The last matched events, formatted only if a report needs them.
    recent: VecDeque<Recorded>,
    /// Why the guest was stopped from inside a host call.
    stop: Option<Stop>,
    /// `--keep-going`'s findings, when the driver goes on past divergences.
    keep_going: Option<KeepGoing>,
    /// A dialect's view of events with the actor's types (theater's untyped values in
    /// WAVE); `None` from it, or no hook, is the plain [`crate::decode`] view.
    typed: Option<Box<dyn TypedView>>,
}

/// Events seen with the actor's types, for dialects whose payloads do not carry them.
trait TypedView: Send {
    /// The event's one-line summary.
    fn summary(&self, event: &Event) -> Option<String>;
    /// The value a divergence diffs of an event with these `data`.
    fn compared(&self, data: &[u8]) -> Option<Compared>;
}

impl TypedView for crate::dialect::theater_types::HostTypes {
    fn summary(&self, event: &Event) -> Option<String> {
        self.summary(event)
    }
    fn compared(&self, data: &[u8]) -> Option<Compared> {
        self.compared(data)
    }
}

impl Tracker {
    fn new(recording: Recording, expected_head: Option<Vec<u8>>) -> Tracker {
        Tracker {
            recording,
            verified: 0,
            calls: 0,
            expected_head,
            head: None,
            recent: VecDeque::new(),
            stop: None,
            keep_going: None,
            typed: None,
        }
    }

    /// An event's one-line summary for a report.
    fn summary(&self, event: &Event) -> String {
        self.typed.as_ref().and_then(|t| t.summary(event)).unwrap_or_else(|| crate::decode::summary(event))
    }

    /// What a divergence diffs of an event with these `data`.
    fn compared(&self, data: &[u8]) -> Option<Compared> {
        self.typed.as_ref().and_then(|t| t.compared(data)).or_else(|| crate::decode::compared(data))
    }

    fn alg(&self) -> HashAlg {
        self.recording.alg.unwrap_or(HashAlg::Sha256)
    }

    /// Whether the replay's event (type and payload bytes) is the recorded one.
    ///
    /// The replay's hash is the digest of (head, event type, bytes). The head is the
    /// recorded parent (everything before matched), and the integrity check has just
    /// computed the digest of the recorded (parent, type, bytes) and found it equal to the
    /// stored hash. So when type and bytes are equal, the replay's hash *is* that digest:
    /// computing it again proves nothing and doubled the cost of a replayed event. When
    /// they differ, the hashes differ too, and [`Self::view`] hashes for the report.
    fn reproduces(&self, recorded: &Recorded, event_type: &str, data: &[u8]) -> bool {
        recorded.event.parent_hash == self.head && recorded.event.event_type == event_type && recorded.event.data == data
    }

    fn matched(&mut self, recorded: Recorded) {
        self.verified += 1;
        // Reuses the previous head's allocation.
        match &mut self.head {
            Some(head) => head.clone_from(&recorded.event.hash),
            None => self.head = Some(recorded.event.hash.clone()),
        }
        if self.recent.len() == RECENT
            && let Some(oldest) = self.recent.pop_front()
        {
            self.recording.give_back(oldest);
        }
        self.recent.push_back(recorded);
    }

    /// [`Self::matched`], for the event of an export call the replay just made.
    fn matched_call(&mut self, recorded: Recorded) {
        self.calls += 1;
        self.matched(recorded);
    }

    /// Why instantiating the actor (`what`: "component", "Pack actor") failed, as a stop:
    /// the guest's own reason if a host call stopped it; a limit of ours is the divergence
    /// `limit_exceeded` at the first recorded event the replay did not reach, as for a
    /// call; anything else, an error.
    fn instantiation_failed(&mut self, what: &str, err: wasmtime::Error, limits: &Limits) -> Stop {
        if let Some(stop) = self.stop.take() {
            return stop;
        }
        let Some(limit) = crate::runtime::instantiation_limit(&err, limits) else {
            return Stop::Error(format!("cannot instantiate the {what}: {}", crate::runtime::describe_instantiation_error(err, limits)));
        };
        let stack = crate::runtime::describe_trap(&err, limits).stack;
        let next = match self.recording.next() {
            Ok(next) => next,
            Err(stop) => return stop,
        };
        let detail = format!("{INSTANTIATING} the {what}: {limit}");
        self.divergence(DivergenceKind::LimitExceeded, next.as_ref(), None, Some(detail), stack)
    }

    /// The replay's event as a report shows it, hashed on the current head.
    fn view(&self, event_type: String, data: &[u8], summary: String, payload: Value, compared: Option<Compared>) -> EventView {
        EventView {
            hash: canonical_hash(self.alg(), self.head.as_deref(), &event_type, data).to_hex(),
            event_type,
            summary,
            payload,
            compared,
        }
    }

    fn divergence(
        &self,
        kind: DivergenceKind,
        recorded: Option<&Recorded>,
        actual: Option<EventView>,
        detail: Option<String>,
        guest_stack: Vec<String>,
    ) -> Stop {
        let expected = recorded.map(|r| EventView {
            summary: self.summary(&r.event),
            compared: self.compared(&r.event.data),
            ..view_recorded(&r.event)
        });
        let diff = match (expected.as_ref().and_then(|e| e.compared.as_ref()), actual.as_ref().and_then(|a| a.compared.as_ref())) {
            (Some(e), Some(a)) => diff::compare(e, a).unwrap_or_default(),
            _ => ValueDiff::default(),
        };
        let index = recorded.map_or(self.recording.next_index(), |r| r.index);
        Stop::Diverged(Box::new(Divergence {
            diff: diff.entries,
            diff_omitted: diff.omitted,
            index,
            line: recorded.and_then(|_| self.recording.container.event_line(index)),
            kind,
            event_type: expected.as_ref().or(actual.as_ref()).map(|v| v.event_type.clone()).unwrap_or_default(),
            expected,
            actual,
            detail,
            guest_stack,
            source_lines: false,
            last_matched: self
                .recent
                .iter()
                .map(|r| MatchedEvent {
                    index: r.index,
                    event_type: r.event.event_type.clone(),
                    summary: self.summary(&r.event),
                })
                .collect(),
        }))
    }

    /// The verdict: `stop` if the replay stopped early, else verified, or empty when no
    /// export call was replayed. A chain read to its end has its head checked against
    /// `--head`.
    fn report(&mut self, mut report: VerifyReport, stop: Option<Stop>) -> VerifyReport {
        // Under --keep-going the replay went on past its divergences: the first is the
        // verdict's (unless something worse ended the replay), all are listed.
        let stop = match self.keep_going.take() {
            Some(found) => {
                report.exports = found.exports.into_values().collect();
                report.divergences_omitted = found.omitted;
                let first = found.divergences.first().cloned();
                report.divergences = found.divergences;
                match (stop, first) {
                    (None, Some(first)) => Some(Stop::Diverged(Box::new(first))),
                    (stop, _) => stop,
                }
            }
            None => stop,
        };
        // A divergence stops the replay, not the reading: the rest of the chain is read
        // (and checked) so that the verdict still names the chain's head.
        let head = match &stop {
            None | Some(Stop::Diverged(_)) => self.recording.finish(),
            Some(_) => None,
        };
        report.recorded_calls = self.recording.counter.take().map(crate::coverage::CallCounter::finish);
        let stop = match stop {
            None => self.head_mismatch(head.as_deref()).map(Stop::Broken),
            stop => stop,
        };
        let (verified, alg) = (self.verified, self.recording.alg);
        report.head = if matches!(stop, Some(Stop::Broken(_))) { None } else { head };
        match stop {
            Some(stop) => report.with_stop(stop, verified, alg),
            None => {
                report.events_verified = verified;
                report.hash = alg.map(HashAlg::name);
                if self.calls == 0 {
                    report.status = Status::Empty;
                }
                report
            }
        }
    }

    /// Where a chain that replayed to its end does not end at the head `--head` gave.
    fn head_mismatch(&self, head: Option<&str>) -> Option<BrokenAt> {
        let expected = hex::encode(self.expected_head.as_ref()?);
        if head == Some(expected.as_str()) {
            return None;
        }
        let short = |h: &str| h.get(..16).unwrap_or(h).to_owned();
        // Every event was matched, so the last one is the last of `recent`.
        let last = self.recent.back();
        let message = match head {
            Some(head) => format!(
                "the chain ends at head {}, not at the head given with --head ({}): events were cut off, added or replaced",
                short(head),
                short(&expected)
            ),
            None => format!("the chain has no events, not the head given with --head ({})", short(&expected)),
        };
        Some(BrokenAt {
            index: last.map_or(0, |r| r.index),
            event_type: last.map(|r| r.event.event_type.clone()).unwrap_or_default(),
            reason: crate::chain::BrokenReason::HeadMismatch.code(),
            message,
            line: None,
        })
    }
}

/// How a recorded event looks in a report, whatever its format.
pub fn view_recorded(event: &Event) -> EventView {
    EventView {
        event_type: event.event_type.clone(),
        hash: hex::encode(&event.hash),
        summary: crate::decode::summary(event),
        payload: crate::decode::decode_payload(&event.data).unwrap_or(Value::Null),
        compared: crate::decode::compared(&event.data),
    }
}

/// Replays `chain` against a loaded actor and returns the verdict. The chain's dialect
/// (detected from its first event unless `options.dialect` says) and the actor's kind pick
/// the driver; both drivers share the recording, the matching and the report.
pub fn verify(runtime: &Runtime, loaded: &Loaded, mut chain: ChainReader, options: &VerifyOptions) -> VerifyReport {
    let report = VerifyReport::before_replay(loaded, Status::Verified, None, None);
    if let Some(progress) = &options.progress {
        progress.watch(&chain);
    }
    let name = chain.name().to_owned();
    let container = chain.container();
    tracing::debug!(
        "{name}: {} container{}",
        chain.container(),
        chain.compression().map_or(String::new(), |c| format!(", {} compressed", c.name()))
    );
    if container == Container::TheaterTextLog
        && let Actor::Pack(actor) = &loaded.actor
    {
        // The text lost the tags of the actor's own variants: its types give them back.
        match crate::runtime::pack::metadata_of(&runtime.engine, actor, &options.limits) {
            Ok(Some(metadata)) => chain.set_actor_variants(Arc::new(metadata.variants())),
            Ok(None) => tracing::warn!("{name}: the actor has no __pack_types: its own variants in the run log cannot be restored"),
            Err(e) => tracing::warn!("{name}: cannot read the actor's __pack_types ({e}): its own variants in the run log cannot be restored"),
        }
    }
    let mut tracker = Tracker::new(Recording::start(chain), options.expected_head.clone());
    if options.coverage {
        tracker.recording.counter = Some(crate::coverage::CallCounter::new(options.dialect));
    }
    let first = match tracker.recording.next() {
        Ok(Some(first)) => first,
        Ok(None) => return tracker.report(report, None),
        Err(stop) => return tracker.report(report, Some(stop)),
    };
    let dialect = options.dialect.or_else(|| Dialect::detect_with(&first.event, options.theater.map(|r| r.payloads)));
    match (options.dialect, dialect) {
        (Some(d), _) => tracing::info!("{name}: dialect {d} (as given)"),
        (None, Some(d)) => tracing::info!("{name}: dialect {d} (detected from event 0)"),
        (None, None) => tracing::info!("{name}: no dialect detected from event 0"),
    }
    tracker.recording.push_back(first);
    let report = VerifyReport { dialect, ..report };
    let mut report = match (&loaded.actor, dialect) {
        (Actor::Component(component), Some(Dialect::TheaterReplay)) => {
            let mut report = component::verify(runtime, component, tracker, options, report);
            if options.keep_going && report.status == Status::Diverged {
                // Said in the report itself: a reader of the JSON must not take one
                // divergence for "every other call verified".
                report.keep_going_stopped = Some(KeepGoingStop::StateInInstance);
            }
            report
        }
        (Actor::Component(component), Some(Dialect::TheaterComponentJson | Dialect::TheaterComponentTyped)) => {
            component::verify(runtime, component, tracker, options, report)
        }
        (Actor::Pack(actor), Some(d)) if let Some(form) = d.pack_form() => {
            pack::verify(runtime, actor, tracker, form, container, options, report)
        }
        (actor, dialect) => {
            let message = unreplayable(actor, dialect);
            tracker.report(report, Some(Stop::Error(message)))
        }
    };
    if let Some(d) = report.divergence.as_mut().filter(|d| !d.guest_stack.is_empty()) {
        // Looked for only now: a verified chain never pays for the scan.
        d.source_lines = crate::runtime::has_line_tables(&loaded.bytes);
    }
    report
}

/// Replays a chain as [`ChainReader::open`] (or `from_reader`) returned it: a chain that
/// could not be opened is that chain's verdict too (an error, or broken when the integrity
/// of its first event fails), never a panic or an `Err` the caller must map.
pub fn verify_opened(
    runtime: &Runtime,
    loaded: &Loaded,
    opened: Result<ChainReader, ChainError>,
    options: &VerifyOptions,
) -> VerifyReport {
    match opened {
        Ok(chain) => verify(runtime, loaded, chain, options),
        Err(e) => {
            let (status, broken, error) = match e.integrity() {
                Some(b) => (Status::Broken, Some(BrokenAt::from(b)), None),
                None => (Status::Error, None, Some(e.to_string())),
            };
            VerifyReport::before_replay(loaded, status, broken, error)
        }
    }
}

impl VerifyReport {
    /// The report as `theater-replay verify` prints it for people, without colour: the
    /// verdict, and for a divergence expected and actual, where they differ, the guest
    /// stack and what to do. `chain` names the chain in it (as given: a path, a name).
    /// Ends with a newline.
    ///
    /// ```
    /// let v2 = theater_replay::Verifier::load("fixtures/components/counter-v2.wat")?;
    /// let text = v2.verify_path("fixtures/chains/counter.json").human("counter.json");
    /// assert!(text.starts_with("DIVERGED: counter.json: event 3 (demo:agent/host/log): "));
    /// assert!(text.contains("\n  what to do: "));
    /// # Ok::<(), theater_replay::LoadError>(())
    /// ```
    pub fn human(&self, chain: &str) -> String {
        crate::report::verify::human(self, chain)
    }

    /// The report as `verify --format json` prints it: one line (no newline), the fields
    /// in a fixed order (`docs/schema/verify.schema.json`), byte-identical for identical
    /// inputs. `chain` is its `path`.
    ///
    /// ```
    /// let verifier = theater_replay::Verifier::load("fixtures/components/counter.wat")?;
    /// let json = verifier.verify_path("fixtures/chains/counter.json").json("counter.json");
    /// assert!(json.starts_with(r#"{"schema_version":1,"path":"counter.json","status":"verified","#));
    /// # Ok::<(), theater_replay::LoadError>(())
    /// ```
    pub fn json(&self, chain: &str) -> String {
        crate::report::verify::json(self, chain)
    }

    /// A report on `loaded` before any event was replayed: where a replay starts, and the
    /// whole report on a chain that could not be replayed at all.
    pub(crate) fn before_replay(loaded: &Loaded, status: Status, broken: Option<BrokenAt>, error: Option<String>) -> VerifyReport {
        VerifyReport {
            dialect: None,
            theater: None,
            status,
            events_verified: 0,
            head: None,
            hash: None,
            component_sha256: Some(loaded.sha256.clone()),
            recorded_component_sha256: None,
            divergence: None,
            divergences: Vec::new(),
            divergences_omitted: 0,
            exports: Vec::new(),
            keep_going_stopped: None,
            recorded_calls: None,
            broken,
            error,
        }
    }
}

/// Why this actor cannot replay a chain of this dialect, and what would.
fn unreplayable(actor: &Actor, dialect: Option<Dialect>) -> String {
    match (actor, dialect) {
        (_, None) => "event 0: the payload is in no dialect this build reads (theater-replay's typed JSON, theater's Pack CGRF (0.3.8 to 0.3.29), theater's component-era JSON)".to_string(),
        (Actor::Pack(_), Some(Dialect::TheaterComponentJson | Dialect::TheaterComponentTyped)) => "the chain was written by theater's component-era runtime (JSON payloads), but the actor given is a Pack core module: give the component that recorded it".to_string(),
        (Actor::Component(_), Some(Dialect::Pack038 | Dialect::PackValues)) => "the chain was written by theater 0.3.8 or later for a Pack actor (CGRF payloads), but the actor given is a component: give the Pack module (.wasm core module) that recorded it".to_string(),
        (Actor::Pack(_), Some(Dialect::TheaterReplay)) => "the chain holds component payloads (theater-replay's format), but the actor given is a Pack core module: give the component that recorded it".to_string(),
        (_, Some(d)) => format!("chains in dialect {d} cannot be replayed against this actor"),
    }
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
}
