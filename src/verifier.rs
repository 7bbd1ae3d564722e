//! The embedding API: load an actor once, then verify chains against it, record new ones,
//! or check chains on their own. Everything the `theater-replay` binary does goes through
//! the same stages; this is the small surface meant for other programs (a runtime's own
//! replay handler, a CI harness, a test).

use crate::chain::{ChainError, ChainReader, CheckOutcome};
use crate::record::pack::PackRecordOptions;
use crate::record::{RecordOptions, RecordSummary};
use crate::replay::{VerifyOptions, VerifyReport};
use crate::runtime::{Actor, LoadError, Loaded, Runtime};
use std::io::{Read, Write};
use std::path::Path;

/// An actor compiled once, ready to replay any number of chains (one at a time or from
/// several threads: a `Verifier` is `Sync`, and each replay gets its own wasmtime store).
///
/// ```
/// use theater_replay::{Status, Verifier};
///
/// let verifier = Verifier::load("fixtures/components/counter.wat")?;
/// let report = verifier.verify_path("fixtures/chains/counter.json");
/// assert_eq!(report.status, Status::Verified);
/// assert_eq!(report.events_verified, 14);
///
/// // The next build of the same actor parts from the recording: the report says where.
/// let v2 = Verifier::load("fixtures/components/counter-v2.wat")?;
/// let report = v2.verify_path("fixtures/chains/counter.json");
/// assert_eq!(report.status, Status::Diverged);
/// let divergence = report.divergence.expect("a diverged report has a divergence");
/// println!("event {}: {}", divergence.index, divergence.kind.describe());
/// # Ok::<(), theater_replay::LoadError>(())
/// ```
pub struct Verifier {
    runtime: Runtime,
    loaded: Loaded,
    options: VerifyOptions,
}

impl Verifier {
    /// Reads and compiles an actor: a WebAssembly component (binary or text format) or a
    /// theater 0.3.8 Pack core module. Nothing is cached on disk.
    pub fn load(path: impl AsRef<Path>) -> Result<Verifier, LoadError> {
        let runtime = new_runtime()?;
        let loaded = runtime.load(path.as_ref())?;
        Ok(Verifier { runtime, loaded, options: VerifyOptions::default() })
    }

    /// Compiles an actor from its bytes (binary or text format); `name` names it in errors.
    ///
    /// ```
    /// let wat = std::fs::read("fixtures/components/counter.wat").unwrap();
    /// let verifier = theater_replay::Verifier::from_bytes("counter.wat", &wat)?;
    /// assert!(verifier.is_component());
    /// assert!(theater_replay::Verifier::from_bytes("junk", b"not wasm").is_err());
    /// # Ok::<(), theater_replay::LoadError>(())
    /// ```
    pub fn from_bytes(name: &str, bytes: &[u8]) -> Result<Verifier, LoadError> {
        let runtime = new_runtime()?;
        let loaded = crate::runtime::load_bytes(&runtime.engine, name, bytes)?;
        Ok(Verifier { runtime, loaded, options: VerifyOptions::default() })
    }

    /// Replaces the settings of every later replay (limits, a forced dialect, a Pack
    /// actor's initial state, a progress counter).
    pub fn with_options(mut self, options: VerifyOptions) -> Verifier {
        self.options = options;
        self
    }

    /// The settings replays use.
    pub fn options(&self) -> &VerifyOptions {
        &self.options
    }

    /// Whether the actor is a component (otherwise a Pack core module).
    pub fn is_component(&self) -> bool {
        matches!(self.loaded.actor, Actor::Component(_))
    }

    /// SHA-256 of the actor's bytes, lowercase hex (what reports name as `component_sha256`).
    pub fn sha256(&self) -> &str {
        &self.loaded.sha256
    }

    /// Replays the chain file at `path` (`-` is standard input). A chain that cannot be
    /// read is a report too: [`Status::Error`](crate::Status::Error) with the reason in
    /// `error`, or [`Status::Broken`](crate::Status::Broken) when its integrity fails.
    pub fn verify_path(&self, path: impl AsRef<Path>) -> VerifyReport {
        self.verify_opened(ChainReader::open_or_stdin_with(path.as_ref(), self.options.read))
    }

    /// Replays a chain from any byte stream (plain, zstd or gzip, told by content); `name`
    /// names it in messages.
    ///
    /// ```
    /// use theater_replay::{Status, Verifier};
    ///
    /// let verifier = Verifier::load("fixtures/components/counter.wat")?;
    /// let chain = std::fs::File::open("fixtures/chains/counter-tampered.json").unwrap();
    /// let report = verifier.verify_reader("counter-tampered.json", chain);
    /// assert_eq!(report.status, Status::Broken);
    /// assert_eq!(report.broken.unwrap().reason, "content_hash_mismatch");
    /// # Ok::<(), theater_replay::LoadError>(())
    /// ```
    pub fn verify_reader(&self, name: &str, chain: impl Read + Send + 'static) -> VerifyReport {
        self.verify_opened(ChainReader::from_reader_with(name, Box::new(chain), self.options.read))
    }

    fn verify_opened(&self, opened: Result<ChainReader, ChainError>) -> VerifyReport {
        crate::replay::verify_opened(&self.runtime, &self.loaded, opened, &self.options)
    }

    /// Runs `options.invocations` on a fresh instance of the actor and writes the chain of
    /// what happened to `out`: a component's chain in theater-replay's format, a Pack
    /// actor's in theater 0.3.8's (from theater's initial state `()`, in the container
    /// `options.format` names).
    ///
    /// ```
    /// use theater_replay::{RecordOptions, Status, Verifier};
    ///
    /// let verifier = Verifier::load("fixtures/components/counter.wat")?;
    /// let mut options = RecordOptions::new(["add(2)"]);
    /// options.answers = theater_replay::Answers::from_json(r#"{"demo:agent/host#next-token": ["40"]}"#).unwrap();
    /// let path = std::env::temp_dir().join(format!("facade-doc-{}.json", std::process::id()));
    /// let summary = verifier.record(std::fs::File::create(&path).unwrap(), options).unwrap();
    /// assert_eq!(summary.results, ["42"]);
    ///
    /// // What was recorded replays.
    /// assert_eq!(verifier.verify_path(&path).status, Status::Verified);
    /// # std::fs::remove_file(&path).unwrap();
    /// # Ok::<(), theater_replay::LoadError>(())
    /// ```
    ///
    /// A call that is not WAVE call syntax is refused before anything runs:
    ///
    /// ```
    /// use theater_replay::{RecordError, RecordOptions, Verifier};
    ///
    /// let verifier = Verifier::load("fixtures/components/counter.wat")?;
    /// let err = verifier.record(std::io::sink(), RecordOptions::new(["add(1"])).unwrap_err();
    /// assert!(matches!(err, RecordError::Invocation { ref call, .. } if call == "add(1"));
    /// # Ok::<(), theater_replay::LoadError>(())
    /// ```
    pub fn record(
        &self,
        out: impl Write + Send + 'static,
        options: RecordOptions,
    ) -> Result<RecordSummary, RecordError> {
        for call in &options.invocations {
            crate::record::parse_invocation(call)
                .map_err(|message| RecordError::Invocation { call: call.clone(), message })?;
        }
        // The output remembers whether it failed: the recording reports that as a message
        // among others, and only the output knows it was the output.
        let failed = std::sync::Arc::new(std::sync::Mutex::new(None));
        let out: Box<dyn Write + Send> = Box::new(Watched { out, failed: failed.clone() });
        self.record_unclassified(out, options).map_err(|err| {
            let message = crate::runtime::one_line(&err);
            match failed.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take() {
                Some(kind) => RecordError::Write(std::io::Error::new(kind, message)),
                None => RecordError::Failed(message),
            }
        })
    }

    fn record_unclassified(&self, out: Box<dyn Write + Send>, options: RecordOptions) -> anyhow::Result<RecordSummary> {
        match &self.loaded.actor {
            Actor::Component(_) => crate::record::record(&self.runtime, &self.loaded, out, options),
            Actor::Pack(actor) => {
                let options = PackRecordOptions {
                    invocations: options.invocations,
                    answers: options.answers,
                    initial_state: None,
                    theater: None,
                    sync_imports: Vec::new(),
                    layout: options.format.into(),
                    limits: options.limits,
                    progress: options.progress,
                };
                crate::record::pack::record(&self.runtime, actor, out, options)
            }
        }
    }
}

/// Why [`Verifier::record`] wrote no whole chain. A call that traps is not an error: it is
/// recorded, and [`RecordSummary`] says so.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    /// A call of [`RecordOptions::invocations`] is not WAVE call syntax (`add(1)`,
    /// `iface#f("x")`); nothing ran.
    #[error("`{call}`: {message}")]
    Invocation {
        /// The call as given.
        call: String,
        /// What is wrong with it.
        message: String,
    },
    /// Writing the chain to the output failed (the chain written so far is incomplete):
    /// the output's error kind, with the recording's message.
    #[error("{0}")]
    Write(#[source] std::io::Error),
    /// The recording could not go on: the actor does not export a called function or it
    /// does not take those arguments, an import has no answer left, instantiation failed.
    /// One line.
    #[error("{0}")]
    Failed(String),
}

/// The output of a recording, keeping the kind of the first error it returned.
struct Watched<W> {
    out: W,
    failed: std::sync::Arc<std::sync::Mutex<Option<std::io::ErrorKind>>>,
}

impl<W: Write> Watched<W> {
    fn watch<T>(&self, result: std::io::Result<T>) -> std::io::Result<T> {
        if let Err(e) = &result {
            self.failed.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get_or_insert(e.kind());
        }
        result
    }
}

impl<W: Write> Write for Watched<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let result = self.out.write(buf);
        self.watch(result)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        let result = self.out.flush();
        self.watch(result)
    }
}

/// Checks a chain file's integrity on its own: every stored hash recomputed, every parent
/// link followed, streaming.
///
/// ```
/// let outcome = theater_replay::check_path("fixtures/chains/counter-tampered.json")?;
/// assert!(!outcome.is_intact());
/// assert_eq!(outcome.broken.unwrap().index, 3);
/// # Ok::<(), theater_replay::ChainError>(())
/// ```
pub fn check_path(path: impl AsRef<Path>) -> Result<CheckOutcome, ChainError> {
    crate::chain::check_path(path.as_ref())
}

/// Checks a chain read from any byte stream; `name` names it in errors.
pub fn check_reader(name: &str, chain: impl Read + Send + 'static) -> Result<CheckOutcome, ChainError> {
    crate::chain::check_reader(ChainReader::from_reader(name, Box::new(chain))?)
}

fn new_runtime() -> Result<Runtime, LoadError> {
    Runtime::new().map_err(|e| LoadError::Engine(crate::runtime::one_line(&e)))
}

// What the docs promise: one Verifier shared by threads that each replay a chain.
const _: fn() = || {
    fn shareable<T: Send + Sync>() {}
    shareable::<Verifier>();
};

#[cfg(test)]
mod tests {
    use super::*;

    /// An output that takes nothing (a full disk, a closed pipe).
    struct Full;

    impl Write for Full {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::Error::new(std::io::ErrorKind::StorageFull, "no space left"))
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn record_errors_say_which_kind_they_are() {
        let verifier = Verifier::load("fixtures/components/counter.wat").unwrap();
        let answers = || crate::Answers::from_json(r#"{"demo:agent/host#next-token": ["40"]}"#).unwrap();
        let options =
            |calls: &[&str]| RecordOptions { answers: answers(), ..RecordOptions::new(calls.iter().copied()) };

        let err = verifier.record(Full, options(&["add(2)"])).unwrap_err();
        assert!(matches!(&err, RecordError::Write(io) if io.kind() == std::io::ErrorKind::StorageFull), "{err:?}");
        // One answer for two calls: the second has none left.
        let err = verifier.record(std::io::sink(), options(&["add(2)", "add(3)"])).unwrap_err();
        assert!(matches!(&err, RecordError::Failed(m) if m.contains("next-token")), "{err:?}");
        let err = verifier.record(std::io::sink(), options(&["nosuch()"])).unwrap_err();
        assert!(matches!(&err, RecordError::Failed(m) if m.contains("nosuch")), "{err:?}");
        let err = verifier.record(std::io::sink(), options(&["add(2"])).unwrap_err();
        assert!(matches!(&err, RecordError::Invocation { call, .. } if call == "add(2"), "{err:?}");
    }
}
