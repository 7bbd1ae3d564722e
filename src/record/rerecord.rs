//! Re-recording a chain on a new build (`verify --accept`): the same export calls, with the
//! same arguments, on a fresh instance of the build under test, and every import answered
//! as the old chain answered it while its recorded calls of that function last (in the
//! order it recorded them); after that by the real WASI host for WASI imports, and by the
//! answers file for the rest. The new chain then differs from the old one only where the
//! new build behaves differently, not where the clock or the random source moved on.
//!
//! Only chains in theater-replay's own dialect (what `record` writes) are re-recorded.

use super::{Answers, Call, RecordHost, RecordOptions, RecordSummary, record_calls};
use crate::chain::{ChainError, ChainReader, Compression, Container, OutputFormat};
use crate::dialect::Dialect;
use crate::payload::{HostCall, Payload};
use crate::runtime::wasi::{Sandbox, WasiHost};
use crate::runtime::{Limits, Loaded, Runtime};
use crate::values::{self, KnownHandles, ResourceMap};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::io::Write;
use wasmtime::component::{ResourceAny, ResourceDynamic, ResourceType, Type, Val};
use wasmtime::{AsContextMut, StoreContextMut};

/// Why a chain cannot be re-recorded.
#[derive(Debug, thiserror::Error)]
pub enum RerecordError {
    #[error(transparent)]
    Chain(#[from] ChainError),
    /// The chain is not one `record` wrote.
    #[error(
        "{path}: a {dialect} chain: only chains theater-replay records (dialect theater-replay-v1) can be re-recorded; record a new one with `theater-replay record`"
    )]
    Dialect { path: String, dialect: String },
    #[error("{path}: event {index}: {message}")]
    Payload { path: String, index: u64, message: String },
}

/// A recorded chain read for re-recording: its export calls and its answers.
pub struct OldChain {
    calls: Vec<(String, Value)>,
    answers: OldAnswers,
    /// The container the old chain is stored in, so that its successor is stored alike.
    pub format: OutputFormat,
    pub compression: Option<Compression>,
}

impl OldChain {
    /// Reads the whole chain (golden chains are small; the answers must all be at hand).
    pub fn read(mut reader: ChainReader) -> Result<OldChain, RerecordError> {
        let path = reader.name().to_string();
        let mut calls = Vec::new();
        let mut answers = OldAnswers::default();
        for (index, event) in (0u64..).zip(reader.by_ref()) {
            let event = event?;
            if index == 0 {
                let dialect = Dialect::detect(&event);
                if dialect != Some(Dialect::TheaterReplay) {
                    let dialect = dialect.map_or("unknown-dialect".to_string(), |d| d.to_string());
                    return Err(RerecordError::Dialect { path, dialect });
                }
            }
            let payload = Payload::decode(&event.data).map_err(|e| RerecordError::Payload {
                path: path.clone(),
                index,
                message: e.to_string(),
            })?;
            match payload {
                Payload::WasmCall { function, params } => calls.push((function, params)),
                // Drops are the guest's doing and answer nothing.
                Payload::HostFunction { call, .. } if call.function.starts_with("[resource-drop]") => {}
                Payload::HostFunction { call, output, .. } => {
                    *answers.recorded.entry(call.clone()).or_default() += 1;
                    answers.queues.entry(call).or_default().push_back(output);
                }
                Payload::Recording { .. } | Payload::WasmResult { .. } | Payload::WasmError { .. } => {}
            }
        }
        let format = match reader.container() {
            Container::JsonLines => OutputFormat::JsonLines,
            _ => OutputFormat::JsonArray,
        };
        Ok(OldChain { calls, answers, format, compression: reader.compression() })
    }

    /// The export calls the chain recorded.
    pub fn calls(&self) -> usize {
        self.calls.len()
    }
}

/// How imports the old chain cannot answer are answered.
pub struct RerecordOptions {
    /// For imports that are not WASI, once the old chain's answers are used up.
    pub answers: Answers,
    /// Serve WASI imports the old chain has no answer left for with wasmtime-wasi in this
    /// sandbox; `None` answers them from `answers`.
    pub wasi: Option<Sandbox>,
    pub limits: Limits,
}

/// Re-records `old` on `loaded` (a component), writing the new chain to `out` in `format`.
pub fn rerecord(
    runtime: &Runtime,
    loaded: &Loaded,
    old: OldChain,
    out: Box<dyn Write + Send>,
    options: RerecordOptions,
) -> anyhow::Result<RecordSummary> {
    if loaded.component().is_none() {
        anyhow::bail!("a Pack actor's chains cannot be re-recorded; record a new one with `theater-replay record`");
    }
    let calls = old.calls.into_iter().map(|(name, params)| Call::Recorded(name, params)).collect();
    let options = RecordOptions {
        invocations: Vec::new(),
        answers: options.answers,
        wasi: options.wasi,
        format: old.format,
        limits: options.limits,
        progress: None,
    };
    record_calls(runtime, loaded, out, calls, options, Some(old.answers))
}

/// The old chain's answers, per import in recorded order.
#[derive(Debug, Default)]
pub(super) struct OldAnswers {
    queues: HashMap<HostCall, VecDeque<Value>>,
    /// Calls of each import the old chain recorded, and calls of it made so far.
    recorded: HashMap<HostCall, usize>,
    used: HashMap<HostCall, usize>,
    /// The old chain's handles of imported resources, by the handles this recording gave
    /// them: a new build may make other calls first, so the old numbers may be taken.
    handles: BTreeMap<u32, u32>,
}

impl OldAnswers {
    /// The old chain's next answer for `call`, if it has one left.
    pub(super) fn next(&mut self, call: &HostCall) -> Option<Value> {
        *self.used.entry(call.clone()).or_default() += 1;
        self.queues.get_mut(call).and_then(VecDeque::pop_front)
    }

    /// Why a call nothing answered stopped the recording: `message` is what the answers file
    /// said, prefixed with what the old chain had.
    pub(super) fn explain(&self, call: &HostCall, message: &str) -> String {
        let recorded = self.recorded.get(call).copied().unwrap_or_default();
        let used = self.used.get(call).copied().unwrap_or_default();
        let key = call.key();
        let old = match recorded {
            0 => format!("the old chain never called `{key}`"),
            n => format!("the old chain recorded {n} call(s) of `{key}` and this is call {used}"),
        };
        format!("{old}, and it is not WASI: {message}")
    }
}

/// Answers `call` with the old chain's `recorded` output: fills `results` and returns the
/// output's encoding in this recording (its resource handles renumbered).
pub(super) fn answer(
    store: &mut StoreContextMut<'_, RecordHost>,
    call: &HostCall,
    recorded: &Value,
    result_types: &[Type],
    results: &mut [Val],
) -> Result<Value, String> {
    let key = call.key();
    let mut remap = Remap { store, minted: KnownHandles::default() };
    let vals = values::decode_args(recorded, result_types, &mut remap)
        .map_err(|e| format!("the old chain's answer for `{key}` does not fit its result type in this build: {e}"))?;
    if vals.len() != results.len() {
        return Err(format!(
            "the old chain's answer for `{key}` has {} values, the import {}",
            vals.len(),
            results.len()
        ));
    }
    results.clone_from_slice(&vals);
    let mut minted = remap.minted;
    values::encode_args(results, result_types, &mut minted)
        .map_err(|e| format!("cannot encode the answer for {key}: {e}"))
}

/// Decodes an old answer's resources: imported ones get handles of this recording (an owned
/// one a fresh handle, a borrowed one the handle its owned one got); the guest's own are
/// looked up as a replay does.
struct Remap<'a, 's> {
    store: &'a mut StoreContextMut<'s, RecordHost>,
    minted: KnownHandles,
}

impl ResourceMap for Remap<'_, '_> {
    fn handle_of(&mut self, _: &ResourceAny, _: &ResourceType) -> Result<u32, String> {
        Err("an answer is decoded, not encoded".to_string())
    }

    fn resource_for(&mut self, old: u32, owned: bool, ty: &ResourceType) -> Result<ResourceAny, String> {
        let Some(n) = self.store.data().catalog.resource_number(ty) else {
            return self
                .store
                .data()
                .guest_resources
                .get(old as usize)
                .copied()
                .ok_or_else(|| format!("the old chain names guest resource {old}, which this build never handed out"));
        };
        let handle = if owned {
            let handle = self.store.data_mut().mint_handle();
            self.store.data_mut().old.as_mut().ok_or("no old chain")?.handles.insert(old, handle);
            handle
        } else {
            let known = self.store.data().old.as_ref().and_then(|o| o.handles.get(&old).copied());
            known
                .ok_or_else(|| format!("the old chain borrows resource {old}, which this recording never handed out"))?
        };
        let dynamic = if owned { ResourceDynamic::new_own(handle, n) } else { ResourceDynamic::new_borrow(handle, n) };
        let resource = dynamic
            .try_into_resource_any(self.store.as_context_mut())
            .map_err(|e| format!("cannot hand resource {handle} to the guest: {e}"))?;
        self.minted.insert(resource, handle);
        Ok(resource)
    }
}
