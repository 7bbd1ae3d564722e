//! Everything the commands write: files (`record -o`, `verify --junit`), stdout and stderr.
//!
//! **Files**, one rule for all of them ([`write_file`]):
//! - a destination that is one of the run's inputs (the same file: device and inode, however
//!   it is named, symbolic and hard links included) is refused before anything runs, and so
//!   is one that is another output of the run ([`Outputs`]: `verify --accept --junit X.new`);
//! - a regular file, or a path that does not exist yet, is written to a temporary file in the
//!   same directory (a short name of our own, so that a legal name of 255 bytes still works)
//!   and renamed into place only once everything was written: the file is whole or untouched;
//! - anything else (a FIFO, a character device such as `/dev/null`, `/dev/stdout` and the
//!   other paths of already open descriptors) is opened before the run and written directly,
//!   never replaced, once the run has succeeded (held in an unnamed temporary file until
//!   then, as stdout is for `record`: [`hold_for_stdout`]);
//! - no temporary file is left behind: not on an error, not on a panic, not on SIGINT
//!   (Ctrl-C), SIGTERM, SIGHUP or SIGQUIT (removed, with a compile cache entry being
//!   written and a progress bar on the screen, then the process dies of the signal, as
//!   without a handler: a shell loop sees it and stops). SIGPIPE stays ignored (Rust's
//!   default): a closed pipe is a write error, which ends the run the ordinary way;
//! - messages name the user's path, never the temporary one.
//!
//! **Stdout** ([`stdout_written`]): a reader that goes away (`| head`) is normal use and ends
//! the command quietly with the exit code of the work done so far; any other write error is
//! an error of the run (exit 2, one line). **Stderr** ([`stderr_line`]): a failed write is
//! ignored, as there is nowhere left to report it; it never panics.

use super::Exit;
use anyhow::Context;
use std::fs::{File, Metadata, OpenOptions, Permissions};
use std::io::{self, BufWriter, Seek, Write};
use std::os::fd::AsFd;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Once, PoisonError};

/// The files a run reads, by identity, so that none of them is ever written over.
#[derive(Default)]
pub struct Inputs {
    /// Device, inode, what the file is to the run (`the component`) and the path given.
    files: Vec<(u64, u64, &'static str, PathBuf)>,
}

impl Inputs {
    /// Adds an input; `-` is standard input. Only regular files are kept: writing to a FIFO or
    /// a terminal the run also reads from destroys nothing. A path that cannot be read is left
    /// out (the run will fail on it with its own message).
    pub fn add(&mut self, path: &Path, what: &'static str) {
        let meta = if path.as_os_str() == "-" { fd_metadata(io::stdin().as_fd()) } else { std::fs::metadata(path) };
        if let Ok(meta) = meta
            && meta.is_file()
        {
            self.files.push((meta.dev(), meta.ino(), what, path.to_path_buf()));
        }
    }

    /// Refuses `dest` (the user's name for it) if `meta` is one of the inputs.
    fn refuse(&self, dest: &str, meta: &Metadata) -> anyhow::Result<()> {
        match self.files.iter().find(|(dev, ino, ..)| (*dev, *ino) == (meta.dev(), meta.ino())) {
            Some((_, _, what, path)) if dest == path.display().to_string() => {
                anyhow::bail!("{dest}: is {what} of this run; refusing to write over it")
            }
            Some((_, _, what, path)) => {
                anyhow::bail!("{dest}: is {what} of this run ({}); refusing to write over it", path.display())
            }
            None => Ok(()),
        }
    }

    /// Refuses `path` if it names one of the inputs (nothing to refuse if it does not exist).
    pub fn refuse_path(&self, path: &Path) -> anyhow::Result<()> {
        match std::fs::metadata(path) {
            Ok(meta) => self.refuse(&path.display().to_string(), &meta),
            Err(_) => Ok(()),
        }
    }

    /// Refuses a stdout that is one of the inputs (`>> answers.json`), for a command whose
    /// stdout is the file it makes.
    pub fn refuse_stdout(&self) -> anyhow::Result<()> {
        match fd_metadata(io::stdout().as_fd()) {
            Ok(meta) => self.refuse("stdout", &meta),
            Err(_) => Ok(()),
        }
    }
}

/// The files a run will write, by identity, so that no two of them are the same file: one
/// would overwrite the other after it was reported as written. Checked before anything runs.
#[derive(Default)]
pub struct Outputs {
    /// What the file will be, what it is to the run (`the JUnit report`) and the path given.
    claimed: Vec<(Identity, &'static str, PathBuf)>,
}

/// Which file a path writes: an existing file's device and inode (links included), or for
/// a file still to be created, the path it will be created at (links and `..` resolved).
#[derive(PartialEq, Eq)]
enum Identity {
    Existing(u64, u64),
    New(PathBuf),
}

impl Identity {
    /// `None` for what two outputs may share harmlessly: a character device (`/dev/null`, a
    /// terminal), and a path that cannot be resolved (writing it fails on its own).
    fn of(path: &Path) -> Option<Identity> {
        match std::fs::metadata(path) {
            Ok(meta) => Identity::of_meta(&meta),
            Err(_) => {
                let target = follow_links(path).ok()?;
                let dir = match target.parent() {
                    Some(dir) if !dir.as_os_str().is_empty() => dir,
                    _ => Path::new("."),
                };
                Some(Identity::New(std::fs::canonicalize(dir).ok()?.join(target.file_name()?)))
            }
        }
    }

    fn of_meta(meta: &Metadata) -> Option<Identity> {
        use std::os::unix::fs::FileTypeExt;
        (!meta.file_type().is_char_device()).then(|| Identity::Existing(meta.dev(), meta.ino()))
    }
}

impl Outputs {
    /// Claims `path` as `what` (`the JUnit report`); refused when another output of the run,
    /// of another kind, is the same file. The same kind twice (a chain given twice, so its
    /// `.new` too) is one output written twice, not a collision.
    pub fn claim(&mut self, path: &Path, what: &'static str) -> anyhow::Result<()> {
        match Identity::of(path) {
            Some(identity) => self.claim_identity(identity, &path.display().to_string(), what, path),
            None => Ok(()),
        }
    }

    /// Claims stdout as `what`.
    pub fn claim_stdout(&mut self, what: &'static str) -> anyhow::Result<()> {
        match fd_metadata(io::stdout().as_fd()).ok().as_ref().and_then(Identity::of_meta) {
            Some(identity) => self.claim_identity(identity, "stdout", what, Path::new("-")),
            None => Ok(()),
        }
    }

    fn claim_identity(&mut self, identity: Identity, given: &str, what: &'static str, path: &Path) -> anyhow::Result<()> {
        if let Some((_, other, other_path)) = self.claimed.iter().find(|(id, other, _)| *id == identity && *other != what) {
            let other_path = if other_path.as_os_str() == "-" { "stdout".to_owned() } else { other_path.display().to_string() };
            if other_path == given {
                anyhow::bail!("{given}: would be both {other} and {what} of this run; give each its own path");
            }
            anyhow::bail!("{given}: is {other} of this run ({other_path}), and would also be {what}; give each its own path");
        }
        self.claimed.push((identity, what, path.to_path_buf()));
        Ok(())
    }
}

fn fd_metadata(fd: std::os::fd::BorrowedFd<'_>) -> io::Result<Metadata> {
    File::from(fd.try_clone_to_owned()?).metadata()
}

/// Where a file goes, decided before the run ([`Destination::plan`]) and written after it.
pub struct Destination {
    /// The path as the user gave it: every message names it.
    given: PathBuf,
    how: How,
    /// What the file holds stays, and what is written goes after it ([`append_file`]).
    keep_existing: bool,
}

enum How {
    /// Through a temporary file beside `target` (symbolic links followed), renamed over it.
    Replace { target: PathBuf, permissions: Option<Permissions> },
    /// Opened and written as it is. `append` for the paths of open descriptors
    /// (`/dev/stdout`), so a file the shell opened with `>>` keeps what it has.
    Direct { append: bool },
}

/// Writes a whole file by the rule of this module. `write` gets the file (buffered) and must
/// flush it; its errors are returned as they are, write errors name `path`.
pub fn write_file<T>(
    path: &Path,
    inputs: &Inputs,
    write: impl FnOnce(Box<dyn Write + Send>) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    Destination::plan(path, inputs)?.write(write)
}

/// Adds to the end of a file by the rule of this module (a new file is created): a regular
/// file's present content and then what `write` writes go to a temporary file renamed over
/// it, so the file is whole, old and new, or untouched; anything else is opened for
/// appending. For `$GITHUB_STEP_SUMMARY`, which each step appends to.
pub fn append_file<T>(
    path: &Path,
    inputs: &Inputs,
    write: impl FnOnce(Box<dyn Write + Send>) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let mut destination = Destination::plan(path, inputs)?;
    destination.keep_existing = true;
    destination.write(write)
}

impl Destination {
    /// Checks `path` against the inputs and decides how it will be written.
    pub fn plan(path: &Path, inputs: &Inputs) -> anyhow::Result<Destination> {
        let given = path.display().to_string();
        if path.as_os_str().is_empty() {
            anyhow::bail!("an empty output path");
        }
        let how = match std::fs::metadata(path) {
            Ok(meta) => {
                inputs.refuse(&given, &meta)?;
                if meta.is_dir() {
                    anyhow::bail!("{given}: is a directory");
                }
                if !meta.is_file() || names_a_descriptor(path) {
                    How::Direct { append: meta.is_file() }
                } else {
                    let target = std::fs::canonicalize(path).with_context(|| format!("{given}: cannot resolve"))?;
                    How::Replace { target, permissions: Some(meta.permissions()) }
                }
            }
            // A new file, or a symbolic link to one.
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if names_a_descriptor(path) {
                    anyhow::bail!("{given}: {e}");
                }
                How::Replace { target: follow_links(path).with_context(|| format!("{given}: cannot resolve"))?, permissions: None }
            }
            Err(e) => return Err(e).with_context(|| format!("{given}: cannot write there")),
        };
        Ok(Destination { given: path.to_path_buf(), how, keep_existing: false })
    }

    /// Whether the file is replaced whole (a regular file, or a new one), rather than
    /// written through as it is (a device, a FIFO, an open descriptor's path).
    pub fn replaces(&self) -> bool {
        matches!(self.how, How::Replace { .. })
    }

    /// Writes the file; on any failure a replaced file is left as it was.
    pub fn write<T>(self, write: impl FnOnce(Box<dyn Write + Send>) -> anyhow::Result<T>) -> anyhow::Result<T> {
        let given = self.given.display().to_string();
        match self.how {
            How::Direct { append } => {
                // Opened first, so that a destination that cannot be opened fails before the
                // run; written only once the run succeeded, so a reader of a FIFO or a
                // device never gets half a file.
                let mut file = OpenOptions::new()
                    .write(true)
                    .append(append || self.keep_existing)
                    .open(&self.given)
                    .with_context(|| format!("{given}: cannot open"))?;
                let (value, held) = hold(&given, write)?;
                held.copy_to(&mut file).map_err(|e| anyhow::anyhow!("{given}: {e}"))?;
                Ok(value)
            }
            How::Replace { target, permissions } => {
                let dir = match target.parent() {
                    Some(dir) if !dir.as_os_str().is_empty() => dir,
                    _ => Path::new("."),
                };
                let (partial, file) =
                    Partial::create(dir).with_context(|| format!("{given}: cannot create a file in its directory"))?;
                if let Some(permissions) = permissions {
                    // Replacing a file keeps its mode (best effort: the data matters more).
                    let _ = file.set_permissions(permissions);
                }
                let synced = file.try_clone().with_context(|| format!("{given}: cannot write"))?;
                let (sink, dropped) = Sink::new(file, &given, None);
                let mut sink: Box<dyn Write + Send> = Box::new(sink);
                if self.keep_existing {
                    match File::open(&target) {
                        Ok(mut old) => {
                            io::copy(&mut old, &mut sink).with_context(|| format!("{given}: cannot copy what it holds"))?;
                        }
                        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                        Err(e) => return Err(e).with_context(|| format!("{given}: cannot read what it holds")),
                    }
                }
                let value = write(sink)?;
                dropped.check()?;
                synced.sync_all().map_err(|e| anyhow::anyhow!("{given}: {e}"))?;
                partial.commit(&target).with_context(|| format!("{given}: cannot write"))?;
                Ok(value)
            }
        }
    }
}

/// `/dev/stdout`, `/dev/fd/3`, `/proc/self/fd/1`...: a path of a descriptor already open,
/// whose file must not be replaced (another process, or the shell, holds it).
fn names_a_descriptor(path: &Path) -> bool {
    let mut path = path.to_path_buf();
    for _ in 0..40 {
        let text = path.to_string_lossy();
        if text.starts_with("/dev/fd/") || (text.starts_with("/proc/") && text.contains("/fd/")) {
            return true;
        }
        match std::fs::read_link(&path) {
            Ok(next) => path = path.parent().map_or(next.clone(), |dir| dir.join(&next)),
            Err(_) => return false,
        }
    }
    false
}

/// The path a new file at `path` ends up at: symbolic links followed to one that is missing.
fn follow_links(path: &Path) -> io::Result<PathBuf> {
    let mut path = path.to_path_buf();
    for _ in 0..40 {
        match std::fs::symlink_metadata(&path) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let next = std::fs::read_link(&path)?;
                path = path.parent().map_or(next.clone(), |dir| dir.join(&next));
            }
            _ => return Ok(path),
        }
    }
    Err(io::Error::other("too many levels of symbolic links"))
}

/// A buffered file whose write errors name the user's path (never a temporary one). A flush
/// that fails only when the writer is dropped is kept for [`Dropped::check`].
struct Sink {
    out: BufWriter<File>,
    name: Arc<str>,
    /// What to add to an error of a full disk (or a file size limit): for a held output, why
    /// it needs room in TMPDIR and what to do.
    when_full: Option<&'static str>,
    dropped: Arc<Mutex<Option<io::Error>>>,
}

struct Dropped {
    error: Arc<Mutex<Option<io::Error>>>,
}

/// The advice on an output held in TMPDIR that does not fit there (see [`hold`]).
const HELD_FULL: &str = "the whole output is held in TMPDIR until the run succeeds, so that a failed run writes none of it: set TMPDIR to a directory with room for it, or write to a file with -o";

impl Sink {
    fn new(file: File, name: &str, when_full: Option<&'static str>) -> (Sink, Dropped) {
        let error = Arc::new(Mutex::new(None));
        (Sink { out: BufWriter::new(file), name: name.into(), when_full, dropped: error.clone() }, Dropped { error })
    }

    fn named(&self, e: io::Error) -> io::Error {
        let full = matches!(e.kind(), io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded | io::ErrorKind::FileTooLarge);
        match self.when_full {
            Some(advice) if full => io::Error::new(e.kind(), format!("{}: {e}; {advice}", self.name)),
            _ => io::Error::new(e.kind(), format!("{}: {e}", self.name)),
        }
    }
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.out.write(buf).map_err(|e| self.named(e))
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.out.write_all(buf).map_err(|e| self.named(e))
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush().map_err(|e| self.named(e))
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        if let Err(e) = self.out.flush() {
            *lock(&self.dropped) = Some(self.named(e));
        }
    }
}

impl Dropped {
    fn check(self) -> anyhow::Result<()> {
        match lock(&self.error).take() {
            Some(e) => anyhow::bail!("{e}"),
            None => Ok(()),
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A temporary file, removed when dropped unless committed.
struct Partial {
    path: PathBuf,
}

impl Partial {
    /// A new file `.tr-<pid>-<n>.partial` in `dir`: short, whatever the final name's length.
    fn create(dir: &Path) -> io::Result<(Partial, File)> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        handle_signals();
        loop {
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            let path = dir.join(format!(".tr-{}-{n}.partial", std::process::id()));
            // Listed for the signal handler as it is created (see `crate::tempfiles`).
            let mut live = crate::tempfiles::lock();
            // Readable too: a held file is read back once the run has succeeded.
            match OpenOptions::new().read(true).write(true).create_new(true).open(&path) {
                Ok(file) => {
                    live.add(&path);
                    return Ok((Partial { path }, file));
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && n < 1000 => continue,
                Err(e) => return Err(e),
            }
        }
    }

    fn commit(self, target: &Path) -> io::Result<()> {
        let mut live = crate::tempfiles::lock();
        std::fs::rename(&self.path, target)?;
        live.forget(&self.path);
        drop(live);
        std::mem::forget(self);
        Ok(())
    }
}

impl Drop for Partial {
    fn drop(&mut self) {
        let mut live = crate::tempfiles::lock();
        let _ = std::fs::remove_file(&self.path);
        live.forget(&self.path);
    }
}

/// A progress bar, once drawn, is cleared on a signal rather than left on the screen (the
/// same handler as for temporary files: [`handle_signals`]).
pub fn clear_progress_on_signals() {
    handle_signals();
}

/// The signals that end a run and find temporary files to remove first: the ones whose
/// default action ends the process and that a person, a terminal or a service manager
/// sends. SIGPIPE is not among them: Rust ignores it, and a closed pipe is a write error.
const CLEANED_UP: [i32; 4] = [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM, signal_hook::consts::SIGHUP, signal_hook::consts::SIGQUIT];

/// Installed before the run starts (`cli::main`): on any of [`CLEANED_UP`], the temporary
/// files (outputs being written, a compile cache entry being stored) are removed, the bar
/// cleared, and the signal raised again with its default action, so the process dies of it.
/// Not `exit(128 + n)`: a shell tells a death by SIGINT from an exit code, and only the
/// first makes `for ...; do theater-replay ...; done` stop on Ctrl-C.
pub fn handle_signals() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let mut signals = match signal_hook::iterator::Signals::new(CLEANED_UP) {
            Ok(signals) => signals,
            Err(e) => return tracing::warn!("cannot catch Ctrl-C to clean up: {e}"),
        };
        let spawned = std::thread::Builder::new().name("remove-partials".into()).spawn(move || {
            if let Some(signal) = signals.forever().next() {
                // Held to the end: no temporary file is created or renamed after this.
                let mut live = crate::tempfiles::lock();
                live.remove_all();
                super::progress::clear_active();
                // The default action again, then the signal: the process dies of it.
                let _ = signal_hook::low_level::emulate_default_handler(signal);
                // Only if it could not be raised: the status a shell would show for it.
                signal_hook::low_level::exit(128 + signal);
            }
        });
        if let Err(e) = spawned {
            tracing::warn!("cannot catch Ctrl-C to clean up: {e}");
        }
    });
}

/// Output held back until the run has succeeded, so a failed run writes nothing: in an
/// unnamed temporary file (chains can be far larger than memory should hold), which the
/// system removes with the process whatever way it ends.
///
/// Why not stream to stdout, a FIFO or a device: a run that fails midway would leave a
/// truncated chain there, and a JSON Lines chain cut at an event boundary is an intact,
/// shorter chain that `check` passes and `verify` replays. Holding keeps "whole or not at
/// all" for every destination; the price is room for the chain in TMPDIR, which an error of
/// a full TMPDIR says, with what to do ([`HELD_FULL`]).
pub struct Held {
    file: File,
}

/// Runs `write` into a [`Held`] file for stdout; its errors are returned as they are.
pub fn hold_for_stdout<T>(write: impl FnOnce(Box<dyn Write + Send>) -> anyhow::Result<T>) -> anyhow::Result<(T, Held)> {
    hold("stdout", write)
}

/// Runs `write` into a [`Held`] file for `destination` (named in write errors).
fn hold<T>(destination: &str, write: impl FnOnce(Box<dyn Write + Send>) -> anyhow::Result<T>) -> anyhow::Result<(T, Held)> {
    let dir = std::env::temp_dir();
    let place = format!("{destination} (held in {} until the run ends)", dir.display());
    let (partial, file) = Partial::create(&dir).with_context(|| format!("{place}: cannot create a file there"))?;
    // Unnamed from here on: nothing to clean up.
    drop(partial);
    let held = file.try_clone().with_context(|| format!("{place}: cannot reopen"))?;
    let (sink, dropped) = Sink::new(file, &place, Some(HELD_FULL));
    let value = write(Box::new(sink))?;
    dropped.check()?;
    Ok((value, Held { file: held }))
}

impl Held {
    /// Copies the held output to stdout.
    pub fn copy_to_stdout(self) -> io::Result<()> {
        self.copy_to(&mut io::stdout().lock())
    }

    fn copy_to(mut self, out: &mut impl Write) -> io::Result<()> {
        self.file.rewind()?;
        io::copy(&mut self.file, out)?;
        out.flush()
    }
}

/// The outcome of a command whose results were written to stdout: `exit` when they were, or
/// when the reader went away (quietly: `| head` is normal use); any other write error is an
/// error of the run.
pub fn stdout_written(written: io::Result<()>, exit: Exit) -> anyhow::Result<Exit> {
    match written {
        Ok(()) => Ok(exit),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(exit),
        Err(e) => Err(anyhow::Error::new(e).context("cannot write to stdout")),
    }
}

/// Writes `bytes` to stdout and flushes, with [`stdout_written`]'s rules.
pub fn write_stdout(bytes: &[u8], exit: Exit) -> anyhow::Result<Exit> {
    use io::Write;
    let mut stdout = io::stdout().lock();
    stdout_written(stdout.write_all(bytes).and_then(|()| stdout.flush()), exit)
}

/// Characters of one error line on stderr, at most (echoes are clipped well before this:
/// the cap only bounds what no clipping foresaw).
const MAX_STDERR_LINE: usize = 1000;

/// `--quiet`: set once, before any command runs.
static QUIET: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Makes [`warning`] print nothing (`--quiet`: no log output below errors).
pub fn set_quiet(quiet: bool) {
    QUIET.store(quiet, Ordering::Relaxed);
}

/// A `warning: ...` line on stderr, unless `--quiet` was given.
pub fn warning(line: &str) {
    if !QUIET.load(Ordering::Relaxed) {
        stderr_line(&format!("warning: {line}"));
    }
}

/// Whether stdout and stderr are one terminal: a line written to both is seen twice.
pub fn one_terminal() -> bool {
    use std::io::IsTerminal;
    let (Ok(out), Ok(err)) = (fd_metadata(io::stdout().as_fd()), fd_metadata(io::stderr().as_fd())) else {
        return false;
    };
    io::stdout().is_terminal() && io::stderr().is_terminal() && (out.dev(), out.ino()) == (err.dev(), err.ino())
}

/// One line on stderr; a failed write (`2>/dev/full`) is ignored rather than a panic, as
/// `eprintln!` would.
pub fn stderr_line(line: &str) {
    // Errors quote input (paths, event types, guest messages): escaped so that the line is
    // one line and cannot steer a terminal, and bounded whatever was quoted.
    let line = crate::text::clip_to(line, MAX_STDERR_LINE);
    // Above a progress bar, not through it.
    super::progress::suspended(|| {
        let mut stderr = io::stderr().lock();
        let _ = writeln!(stderr, "{line}").and_then(|()| stderr.flush());
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_descriptor_path_is_recognised_through_links() {
        assert!(names_a_descriptor(Path::new("/dev/fd/1")));
        assert!(names_a_descriptor(Path::new("/proc/self/fd/2")));
        assert!(!names_a_descriptor(Path::new("/tmp/out.json")));
        if Path::new("/dev/stdout").exists() {
            assert!(names_a_descriptor(Path::new("/dev/stdout")));
        }
    }

    #[test]
    fn a_new_file_is_whole_and_no_partial_is_left() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.txt");
        write_file(&path, &Inputs::default(), |mut out| Ok(out.write_all(b"hello")?)).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"hello", "flushed on drop");
        let failed = write_file(&path, &Inputs::default(), |mut out| -> anyhow::Result<()> {
            out.write_all(b"half")?;
            anyhow::bail!("stopped")
        });
        assert!(failed.is_err());
        assert_eq!(std::fs::read(&path).unwrap(), b"hello", "untouched by a failed write");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn an_input_is_refused_whatever_its_name() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in.json");
        std::fs::write(&input, "x").unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&input, &link).unwrap();
        let mut inputs = Inputs::default();
        inputs.add(&input, "the answers file");
        for dest in [input.clone(), link, dir.path().join(".").join("in.json")] {
            let err = Destination::plan(&dest, &inputs).err().unwrap().to_string();
            assert!(err.starts_with(&format!("{}: is the answers file of this run", dest.display())), "{err}");
        }
        assert_eq!(std::fs::read(&input).unwrap(), b"x");
    }

    #[test]
    fn a_broken_pipe_is_the_work_done_and_other_errors_are_errors() {
        let pipe = io::Error::from(io::ErrorKind::BrokenPipe);
        assert_eq!(stdout_written(Err(pipe), Exit::Integrity).unwrap(), Exit::Integrity);
        let full = io::Error::from_raw_os_error(28);
        let err = stdout_written(Err(full), Exit::Success).unwrap_err();
        assert!(super::super::one_line(&err).starts_with("cannot write to stdout: "));
    }
}
