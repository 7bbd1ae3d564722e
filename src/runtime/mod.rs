//! The wasmtime side: an engine configured for deterministic execution, loading actors
//! (components, and theater 0.3.8's Pack core modules: [`pack`]), resource limits, the
//! import interceptor ([`imports`]) and the export driver ([`exports`]).

pub mod cache;
pub mod exports;
pub mod forwarder;
pub mod imports;
pub mod limits;
pub mod pack;
pub mod wasi;

use sha2::{Digest, Sha256};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use wasmtime::component::Component;
use wasmtime::{AsContext, Config, Engine, Module, Trap, WasmBacktrace};

pub use limits::{GuestLimiter, LimitHit};

/// Limits that end a runaway guest with a clear message instead of a hang.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Wall-clock time one export call (or instantiation) may take.
    pub timeout: Duration,
    /// The most linear memory the guest's memories may hold together.
    pub max_memory_bytes: usize,
    /// The most elements the guest's tables may hold together (a pointer or two of host
    /// memory each).
    pub max_table_elements: usize,
}

/// `--max-table-elements`' default: far more than compiled programs' function tables
/// hold, and 8 MiB of host memory at most.
pub const DEFAULT_MAX_TABLE_ELEMENTS: usize = 1_000_000;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            timeout: Duration::from_secs(60),
            max_memory_bytes: 2 << 30,
            max_table_elements: DEFAULT_MAX_TABLE_ELEMENTS,
        }
    }
}

/// Why a component could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read.
    #[error("{path}: cannot read: {source}")]
    Io {
        /// The actor's path, as given.
        path: String,
        /// What the system said.
        source: std::io::Error,
    },
    /// The bytes are neither a component nor a core module that wasmtime compiles and that
    /// speaks the Pack ABI.
    #[error("{path}: not a WebAssembly component or Pack actor: {message}")]
    NotAComponent {
        /// The actor's path or name, as given.
        path: String,
        /// Why, in one line.
        message: String,
    },
    /// wasmtime could not be configured on this machine.
    #[error("cannot set up the WebAssembly engine: {0}")]
    Engine(String),
}

/// What kind of actor a file holds; each kind has its own runtime and replay driver.
pub enum Actor {
    /// A WebAssembly component (theater's component-era actors, and ours).
    Component(Component),
    /// A core module speaking packr's Pack ABI (theater 0.3.8's actors).
    Pack(pack::PackActor),
}

/// A compiled actor, the bytes it was compiled from (binary or text), and their SHA-256.
pub struct Loaded {
    pub actor: Actor,
    pub bytes: Arc<[u8]>,
    pub sha256: String,
}

impl Loaded {
    /// The component, when the actor is one.
    pub fn component(&self) -> Option<&Component> {
        match &self.actor {
            Actor::Component(component) => Some(component),
            Actor::Pack(_) => None,
        }
    }

    /// `"component"` or `"pack"`, for messages and logs.
    pub fn kind(&self) -> &'static str {
        match &self.actor {
            Actor::Component(_) => "component",
            Actor::Pack(_) => "pack",
        }
    }
}

/// The engine every replay and recording of a run shares, with the one clock that gives
/// guests their deadlines (one ticker per engine: several would advance its epoch faster).
pub struct Runtime {
    pub engine: Engine,
    _ticker: EpochTicker,
    /// Compiled components on disk; `None` compiles every time.
    cache: Option<cache::ComponentCache>,
}

impl Runtime {
    pub fn new() -> anyhow::Result<Runtime> {
        Runtime::with_cache(None)
    }

    /// A runtime that keeps compiled components in `cache` (see [`cache`]).
    pub fn with_cache(cache: Option<cache::ComponentCache>) -> anyhow::Result<Runtime> {
        let engine = new_engine()?;
        let ticker = EpochTicker::start(&engine);
        Ok(Runtime { engine, _ticker: ticker, cache })
    }

    /// Reads and compiles a component for this runtime (or takes it from the cache).
    pub fn load(&self, path: &Path) -> Result<Loaded, LoadError> {
        let started = std::time::Instant::now();
        let (loaded, how) = match &self.cache {
            Some(cache) => {
                let (loaded, outcome) = cache.load(&self.engine, path)?;
                let how = match outcome {
                    cache::CacheOutcome::Hit => "compile cache hit",
                    cache::CacheOutcome::Miss => "compile cache miss, compiled",
                    cache::CacheOutcome::Rebuilt => "compile cache entry invalid, compiled anew",
                    cache::CacheOutcome::Untrusted => "compile cache not trusted, compiled",
                };
                (loaded, how)
            }
            None => (load_component(&self.engine, path)?, "compiled (no cache)"),
        };
        let kind = match loaded.actor {
            Actor::Component(_) => "component",
            Actor::Pack(_) => "Pack module",
        };
        // What -v shows first: which actor a run uses, and whether it paid for compiling it.
        tracing::info!(
            "loaded {kind} {} ({} bytes, sha256 {}): {how} in {} ms",
            path.display(),
            loaded.bytes.len(),
            loaded.sha256.get(..16).unwrap_or(&loaded.sha256),
            started.elapsed().as_millis()
        );
        Ok(loaded)
    }
}

/// An engine set up so that the same inputs give the same execution: NaNs canonicalized,
/// relaxed SIMD deterministic, no threads; epoch interruption for timeouts.
pub fn new_engine() -> anyhow::Result<Engine> {
    let mut config = Config::new();
    config
        .cranelift_nan_canonicalization(true)
        .relaxed_simd_deterministic(true)
        // No threads: the `threads` feature is not compiled in, so shared memories and
        // atomics-based concurrency cannot occur.
        // Guest stacks in reports come from wasm backtraces, which are on by default; frames
        // of an actor with DWARF name their source line. Set, not left to wasmtime's
        // WASMTIME_BACKTRACE_DETAILS, so one actor gives one report on every machine.
        .wasm_backtrace_details(wasmtime::WasmBacktraceDetails::Enable)
        .epoch_interruption(true);
    Engine::new(&config).map_err(anyhow::Error::from)
}

/// Reads and compiles an actor (a component or a Pack module).
pub fn load_component(engine: &Engine, path: &Path) -> Result<Loaded, LoadError> {
    let (bytes, sha256) = read_component(path)?;
    let actor = compile_bytes(engine, &bytes, path)?;
    Ok(Loaded { actor, bytes: bytes.into(), sha256 })
}

/// Compiles an actor from bytes in memory; `name` names it in errors.
pub fn load_bytes(engine: &Engine, name: &str, bytes: &[u8]) -> Result<Loaded, LoadError> {
    let sha256 = hex::encode(Sha256::digest(bytes));
    let actor = compile_bytes(engine, bytes, Path::new(name))?;
    Ok(Loaded { actor, bytes: bytes.into(), sha256 })
}

/// A component's bytes and their SHA-256 (lowercase hex).
fn read_component(path: &Path) -> Result<(Vec<u8>, String), LoadError> {
    let bytes = std::fs::read(path).map_err(|source| LoadError::Io { path: path.display().to_string(), source })?;
    let sha256 = hex::encode(Sha256::digest(&bytes));
    Ok((bytes, sha256))
}

/// Which kind of actor `bytes` hold, from the binary's header (the text format is parsed
/// first); also the binary itself when it had to be made from text.
fn actor_kind(bytes: &[u8], path: &Path) -> Result<(ActorKind, Option<Vec<u8>>), LoadError> {
    let shown = || path.display().to_string();
    let is_text = !wasmparser::Parser::is_component(bytes)
        && !wasmparser::Parser::is_core_wasm(bytes)
        && bytes.iter().take(256).all(|b| b.is_ascii());
    let binary = if is_text {
        let parsed = wat::parse_bytes(bytes).map_err(|e| LoadError::NotAComponent { path: shown(), message: one_line(&e.into()) })?;
        Some(parsed.into_owned())
    } else {
        None
    };
    let header = binary.as_deref().unwrap_or(bytes);
    let kind = if wasmparser::Parser::is_component(header) {
        ActorKind::Component
    } else if wasmparser::Parser::is_core_wasm(header) {
        ActorKind::Pack
    } else {
        let message = "the file does not start with the WebAssembly magic bytes".to_string();
        return Err(LoadError::NotAComponent { path: shown(), message });
    };
    Ok((kind, binary))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ActorKind {
    Component,
    Pack,
}

/// Compiles an actor from its binary or text bytes; `path` names it in errors.
fn compile_bytes(engine: &Engine, bytes: &[u8], path: &Path) -> Result<Actor, LoadError> {
    let shown = || path.display().to_string();
    let (kind, binary) = actor_kind(bytes, path)?;
    let binary = binary.as_deref().unwrap_or(bytes);
    let failed = |e: wasmtime::Error| LoadError::NotAComponent { path: shown(), message: one_line(&e.into()) };
    match kind {
        ActorKind::Component => Component::from_binary(engine, binary).map(Actor::Component).map_err(failed),
        ActorKind::Pack => pack_actor(Module::from_binary(engine, binary).map_err(failed)?, binary, path),
    }
}

fn pack_actor(module: Module, binary: &[u8], path: &Path) -> Result<Actor, LoadError> {
    pack::PackActor::new(module, binary)
        .map(Actor::Pack)
        .map_err(|message| LoadError::NotAComponent { path: path.display().to_string(), message })
}

/// The store's limiter (see [`limits`]); growth beyond a limit traps (rather than failing
/// quietly) so the guest cannot carry on down some other path.
pub fn store_limits(limits: &Limits) -> GuestLimiter {
    GuestLimiter::new(limits)
}

const TICK: Duration = Duration::from_millis(10);

/// Advances the engine's epoch every few milliseconds so guests can be given deadlines.
pub struct EpochTicker {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl EpochTicker {
    fn start(engine: &Engine) -> EpochTicker {
        let stop = Arc::new(AtomicBool::new(false));
        let engine = engine.clone();
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            // Parked rather than asleep, so that dropping the ticker wakes it at once: a
            // sleep made every run wait up to a tick (10 ms) to exit. A tick passes only
            // when TICK has (parking may end early), so deadlines are never shortened.
            let mut last = Instant::now();
            while !flag.load(Ordering::Acquire) {
                let elapsed = last.elapsed();
                if elapsed < TICK {
                    std::thread::park_timeout(TICK - elapsed);
                    continue;
                }
                engine.increment_epoch();
                last = Instant::now();
            }
        });
        EpochTicker { stop, thread: Some(thread) }
    }

    /// The deadline, in ticks, that gives a guest `timeout`.
    pub fn ticks(timeout: Duration) -> u64 {
        // Saturating, and well clear of u64::MAX: wasmtime adds the deadline to the
        // current epoch.
        u64::try_from(timeout.as_millis() / TICK.as_millis()).unwrap_or(u64::MAX / 2).clamp(1, u64::MAX / 2)
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(thread) = self.thread.take() {
            thread.thread().unpark();
            let _ = thread.join();
        }
    }
}

/// The guest's call stack right now (from inside a host call), innermost frame first,
/// with function names where the component has them.
pub fn guest_stack(store: impl AsContext) -> Vec<String> {
    render_frames(&WasmBacktrace::capture(store))
}

/// One line per frame, innermost first: `module!function`, and ` at file:line:column` when
/// the actor carries DWARF. A function inlined into a frame is a line of its own, marked.
fn render_frames(trace: &WasmBacktrace) -> Vec<String> {
    let mut lines = Vec::new();
    for frame in trace.frames() {
        let module = frame.module().name().unwrap_or("<module>");
        let function = match frame.func_name() {
            Some(name) => demangled(name),
            None => format!("<func {}>", frame.func_index()),
        };
        // DWARF lists inlined functions innermost first, the frame's own function last.
        let symbols = frame.symbols();
        for inlined in symbols.iter().take(symbols.len().saturating_sub(1)) {
            let name = inlined.name().map_or_else(|| "<inlined>".to_string(), demangled);
            lines.push(format!("{module}!{name}{} (inlined)", location(inlined)));
        }
        lines.push(format!("{module}!{function}{}", symbols.last().map(location).unwrap_or_default()));
    }
    lines
}

/// Rust's symbol names, mangled in the name section, shown as written.
fn demangled(name: &str) -> String {
    match rustc_demangle::try_demangle(name) {
        Ok(demangled) => format!("{demangled:#}"),
        Err(_) => name.to_string(),
    }
}

fn location(symbol: &wasmtime::FrameSymbol) -> String {
    match (symbol.file(), symbol.line(), symbol.column()) {
        (Some(file), Some(line), Some(column)) if column > 0 => format!(" at {file}:{line}:{column}"),
        (Some(file), Some(line), _) => format!(" at {file}:{line}"),
        (Some(file), None, _) => format!(" at {file}"),
        _ => String::new(),
    }
}

/// Whether the actor's code carries DWARF line tables (in any of a component's modules),
/// so that guest frames can name their source lines.
pub fn has_line_tables(bytes: &[u8]) -> bool {
    wasmparser::Parser::new(0).parse_all(bytes).any(|payload| {
        matches!(payload, Ok(wasmparser::Payload::CustomSection(section)) if section.name() == ".debug_line")
    })
}

/// How a failed export call failed, in terms a report can show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrapInfo {
    /// Deterministic text of the trap, as recorded in `WasmError` events.
    pub message: String,
    /// Set when a limit of ours (not the guest's own logic) ended the call.
    pub limit: Option<String>,
    pub stack: Vec<String>,
}

/// Describes the error an export call returned.
pub fn describe_trap(err: &wasmtime::Error, limits: &Limits) -> TrapInfo {
    let stack = err.downcast_ref::<WasmBacktrace>().map(render_frames).unwrap_or_default();
    let trap = err.downcast_ref::<Trap>().copied();
    let message = match trap {
        Some(trap) => trap.to_string(),
        None => err.root_cause().to_string(),
    };
    let limit = if trap == Some(Trap::Interrupt) {
        Some(format!(
            "the call ran longer than the {}s timeout (--timeout); the guest may loop forever",
            limits.timeout.as_secs_f64()
        ))
    } else if let Some(hit) = err.downcast_ref::<LimitHit>() {
        Some(hit.to_string())
    } else {
        wasmtime_limit(err)
    };
    TrapInfo { message, limit, stack }
}

/// wasmtime's own limits, which it reports as text alone (pinned wasmtime 48; the tests of
/// each catch a change of wording).
fn wasmtime_limit(err: &wasmtime::Error) -> Option<String> {
    let causes: Vec<String> = err.chain().map(ToString::to_string).collect();
    if causes.iter().any(|c| c.starts_with("too much data is being copied between the host and the guest")) {
        // Lifting what a guest hands the host (host-call arguments, export results) is
        // bounded by wasmtime's hostcall fuel: 128 MiB by default, a list item counting as
        // its size in memory. Not a flag: a larger host call could not be recorded either.
        return Some(
            "the guest handed the host more data in one call than wasmtime allows (128 MiB, or about 3.3 million \
             list items: wasmtime's hostcall limit, which no flag raises)"
                .to_string(),
        );
    }
    causes.iter().find_map(|c| c.strip_prefix("resource limit exceeded: ")).map(|what| {
        format!(
            "the guest created too many wasm objects ({what}; the limits are {} instances, {} tables and {} memories, \
             which no flag raises)",
            limits::MAX_INSTANCES,
            limits::MAX_TABLES,
            limits::MAX_MEMORIES
        )
    })
}

/// The limit of ours that ended an instantiation, in words, when one did. Instantiation
/// runs the core modules' start functions and creates their memories and tables, so our
/// limits can end it as they end an export call: the words name the limit and its flag,
/// instead of wasmtime's bare `wasm trap: interrupt`.
pub fn instantiation_limit(err: &wasmtime::Error, limits: &Limits) -> Option<String> {
    let limit = describe_trap(err, limits).limit?;
    Some(if err.downcast_ref::<Trap>() == Some(&Trap::Interrupt) {
        format!("its start function was stopped: {}", limit.replacen("the call ran", "it ran", 1))
    } else {
        // A memory or table made too large, or too many of them, before any code ran.
        limit
    })
}

/// Why instantiating an actor failed, on one line (see [`instantiation_limit`]).
pub fn describe_instantiation_error(err: wasmtime::Error, limits: &Limits) -> String {
    instantiation_limit(&err, limits).unwrap_or_else(|| one_line(&err.into()))
}

/// An error and its causes on one line. A cause spread over several lines (the text
/// format parser's, with a source snippet) keeps its first line and its location.
pub fn one_line(err: &anyhow::Error) -> String {
    err.chain().map(|cause| first_line(&cause.to_string())).collect::<Vec<_>>().join(": ")
}

fn first_line(message: &str) -> String {
    let mut lines = message.lines();
    let first = lines.next().unwrap_or_default().trim_end();
    match lines.find_map(|line| line.trim().strip_prefix("--> ")) {
        Some(at) => format!("{first} (at {})", at.trim_start_matches("<anon>:")),
        None => first.to_string(),
    }
}
