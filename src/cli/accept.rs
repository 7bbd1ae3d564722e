//! Golden chains that follow intended changes (insta's model): `verify --accept` writes a
//! diverged chain's successor as `<chain>.new` beside it; `pending` lists those, `accept`
//! puts them in place of the old chains, `reject` deletes them.

use super::output::{self, Inputs, Outputs};
use super::{Exit, Format, Global};
use crate::pending::{self, Pending};
use crate::record::Answers;
use crate::record::rerecord::{self, OldChain, RerecordOptions};
use crate::runtime::wasi::Sandbox;
use crate::runtime::{Limits, Loaded, Runtime};
use anyhow::Context;
use std::io::Write;
use std::path::{Path, PathBuf};

/// `verify`'s flags for writing the successors of diverged chains.
#[derive(clap::Args)]
pub struct AcceptFlags {
    /// For each chain that diverges, record a new chain from its export calls on this build
    /// and write it beside the old one as `<chain>.new`, for `accept` or `reject`. Imports
    /// are answered from the old chain first. `auto` (plain `--accept`) writes nothing when
    /// the environment variable CI is set; `always` writes there too.
    #[arg(long, value_enum, value_name = "WHEN", num_args = 0..=1, require_equals = true, default_missing_value = "auto")]
    accept: Option<When>,
    /// With --accept: answers for imports that are not WASI once the old chain's answers of
    /// them are used up (as `record --answers`).
    #[arg(long, value_name = "FILE", requires = "accept")]
    answers: Option<PathBuf>,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum When {
    /// Except on CI.
    Auto,
    /// On CI too.
    Always,
}

/// What `verify --accept` records with, read before any chain is replayed.
pub struct Acceptor {
    answers: Answers,
    answers_path: Option<PathBuf>,
}

impl AcceptFlags {
    /// `None` without `--accept`; refused on CI unless `--accept=always`, and with an
    /// unreadable answers file, before anything runs.
    pub fn acceptor(&self) -> anyhow::Result<Option<Acceptor>> {
        let Some(when) = self.accept else { return Ok(None) };
        if when == When::Auto
            && let Some(ci) = on_ci()
        {
            // As insta and vitest do: CI checks golden files, it never rewrites them.
            anyhow::bail!("--accept writes no chains on CI (CI={ci}); use --accept=always to write them anyway");
        }
        let answers = match &self.answers {
            Some(path) => {
                let text = std::fs::read_to_string(path).with_context(|| format!("{}: cannot read", path.display()))?;
                Answers::from_json(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?
            }
            None => Answers::default(),
        };
        Ok(Some(Acceptor { answers, answers_path: self.answers.clone() }))
    }
}

/// The value of `CI` when it says this is a CI run: set, and neither empty, `false` nor `0`.
fn on_ci() -> Option<String> {
    let value = std::env::var("CI").ok()?;
    let off = value.is_empty() || value == "0" || value.eq_ignore_ascii_case("false");
    (!off).then_some(value)
}

impl Acceptor {
    /// Re-records the diverged chain at `chain` on `loaded` into `<chain>.new`, and says so
    /// on stderr. A chain that cannot be re-recorded gets no `.new` file and an error line;
    /// the run's exit code stays the verification's either way.
    pub fn write_pending(&self, runtime: &Runtime, loaded: &Loaded, component: &Path, chain: &Path, limits: &Limits) {
        let new = pending::pending_path(chain);
        match self.rerecord(runtime, loaded, component, chain, &new, limits) {
            Ok(events) => {
                let new = new.display();
                output::stderr_line(&format!(
                    "accept: wrote {new} ({events} events); `theater-replay review {new}` shows what changed, to accept or reject it"
                ))
            }
            Err(e) => output::stderr_line(&format!(
                "error: {}: --accept: cannot record a new chain: {}",
                chain.display(),
                super::one_line(&e)
            )),
        }
    }

    /// Refuses, before anything runs, a run whose outputs would collide: the `.new` of any
    /// of `chains` (which of them diverge is not known yet) that is one of the run's inputs,
    /// or the same file as another output (`--junit`, claimed in `outputs` already).
    pub fn refuse_collisions(&self, component: &Path, chains: &[PathBuf], outputs: &mut Outputs) -> anyhow::Result<()> {
        let mut inputs = Inputs::default();
        inputs.add(component, "the component");
        for chain in chains {
            inputs.add(chain, "a chain");
        }
        if let Some(answers) = &self.answers_path {
            inputs.add(answers, "the answers file");
        }
        for chain in chains.iter().filter(|chain| chain.as_os_str() != "-") {
            let new = pending::pending_path(chain);
            inputs.refuse_path(&new)?;
            outputs.claim(&new, "a chain's successor (`--accept` writes <chain>.new)")?;
        }
        Ok(())
    }

    fn rerecord(
        &self,
        runtime: &Runtime,
        loaded: &Loaded,
        component: &Path,
        chain: &Path,
        new: &Path,
        limits: &Limits,
    ) -> anyhow::Result<u64> {
        if chain.as_os_str() == "-" {
            anyhow::bail!("a chain read from stdin has no place for its successor; give it as a file");
        }
        let old = OldChain::read(crate::chain::ChainReader::open(chain)?)?;
        let mut inputs = Inputs::default();
        inputs.add(component, "the component");
        inputs.add(chain, "the chain");
        if let Some(answers) = &self.answers_path {
            inputs.add(answers, "the answers file");
        }
        let options =
            RerecordOptions { answers: self.answers.clone(), wasi: Some(Sandbox::default()), limits: *limits };
        let compression = old.compression;
        let run: super::record::RunRecord<'_> = Box::new(|out| rerecord::rerecord(runtime, loaded, old, out, options));
        let run = match compression {
            Some(_) => super::record::compressed(run),
            None => run,
        };
        // Written whole or not at all: a recording that stops leaves no `.new` file.
        let summary = output::write_file(new, &inputs, run)?;
        Ok(summary.events)
    }
}

/// The pending chains `theater-replay pending|accept|reject` act on.
#[derive(clap::Args)]
pub struct PendingArgs {
    /// Chains, their `.new` files, or directories to search recursively [default: .].
    #[arg(value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// `json` prints one JSON document per chain per line (docs/schema/pending.schema.json,
    /// accept.schema.json, review.schema.json).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub(super) format: Format,
}

impl PendingArgs {
    pub(super) fn find(&self) -> anyhow::Result<Vec<Pending>> {
        if !self.paths.is_empty() {
            return Ok(pending::find(&self.paths)?);
        }
        // Named as from here, `a.json` rather than `./a.json`, when no path was given.
        let found = pending::find(&[PathBuf::from(".")])?;
        let here = |path: PathBuf| path.strip_prefix(".").map(Path::to_path_buf).unwrap_or(path);
        Ok(found.into_iter().map(|p| Pending { chain: here(p.chain), new: here(p.new) }).collect())
    }
}

/// List the chains `verify --accept` left pending (`<chain>.new`), with what changed.
#[derive(clap::Args)]
#[command(after_help = "\
Examples:
  theater-replay pending
  theater-replay pending golden/ --format json | jq -r .chain

Exit codes:
  0  listed, whether or not any are pending
  2  a pending chain or the chain it follows cannot be read (or a usage error)
  3  a pending chain fails its integrity check (listed as BROKEN; `accept` refuses it)")]
pub struct ListArgs {
    #[command(flatten)]
    pending: PendingArgs,
}

/// Put pending chains (`<chain>.new`) in place of the chains they follow.
#[derive(clap::Args)]
#[command(after_help = "\
Examples:
  theater-replay accept golden/run.json
  theater-replay accept golden/

Exit codes:
  0  every pending chain named was accepted
  2  one could not be (it is left pending: it or its chain is not a regular file, or cannot
     be read), or a usage error
  3  one fails its integrity check (it is left pending)")]
pub struct AcceptArgs {
    #[command(flatten)]
    pending: PendingArgs,
}

/// Delete pending chains (`<chain>.new`), keeping the chains they follow.
#[derive(clap::Args)]
#[command(after_help = "\
Examples:
  theater-replay reject golden/run.json.new
  theater-replay reject golden/

Exit codes:
  0  every pending chain named was deleted
  2  one could not be, or a path names a chain with nothing pending, or a .new that is not
     a regular file (or a usage error)")]
pub struct RejectArgs {
    #[command(flatten)]
    pending: PendingArgs,
}

/// A chain's line under `--format json` (`docs/schema/pending.schema.json` and
/// `accept.schema.json`): `status` is `pending`, `accepted`, `rejected` or `error`.
#[derive(serde::Serialize)]
struct Line<'a> {
    chain: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pending: Option<String>,
    status: &'a str,
    #[serde(flatten)]
    change: Option<&'a pending::Change>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<String>,
}

/// What `pending` finds of one pending chain.
enum Listed {
    Changed(pending::Change),
    /// The `.new` fails its integrity check: it is not compared (nothing in it is evidence).
    Broken(crate::chain::Broken),
}

fn list_one(p: &Pending) -> Result<Listed, crate::chain::ChainError> {
    if let Some(broken) = crate::review::check_new(p)? {
        return Ok(Listed::Broken(broken));
    }
    Ok(Listed::Changed(pending::compare(p)?))
}

/// Under `--format json`, a failure before any chain's line is the error document on stdout.
pub(super) fn json_errors(format: Format, result: anyhow::Result<Exit>) -> anyhow::Result<Exit> {
    if format == Format::Json
        && let Err(e) = &result
    {
        super::json_error(e);
    }
    result
}

pub fn list(args: ListArgs, global: &Global) -> anyhow::Result<Exit> {
    let format = args.pending.format;
    json_errors(format, list_pending(args, global))
}

fn list_pending(args: ListArgs, global: &Global) -> anyhow::Result<Exit> {
    let format = args.pending.format;
    let found = args.pending.find()?;
    let mut out = String::new();
    let mut exit = Exit::Success;
    for p in &found {
        let (chain, new) = (p.chain.display().to_string(), p.new.display().to_string());
        match list_one(p) {
            Ok(Listed::Changed(change)) => out.push_str(&match format {
                Format::Text => format!("{}: {}\n", p.chain.display(), pending::summary(&change)),
                Format::Json => {
                    let line =
                        Line { chain, pending: Some(new), status: "pending", change: Some(&change), message: None };
                    format!("{}\n", crate::report::document(line))
                }
            }),
            Ok(Listed::Broken(broken)) => {
                out.push_str(&match format {
                    Format::Text => crate::report::review::human_broken(&chain, &new, &broken, global.style),
                    Format::Json => format!("{}\n", crate::report::review::json_broken(&chain, &new, &broken)),
                });
                exit = super::verify::most_severe(exit, Exit::Integrity);
            }
            Err(e) => {
                output::stderr_line(&format!("error: {e}"));
                if format == Format::Json {
                    let line =
                        Line { chain, pending: Some(new), status: "error", change: None, message: Some(e.to_string()) };
                    out.push_str(&format!("{}\n", crate::report::document(line)));
                }
                exit = super::verify::most_severe(exit, Exit::BadInput);
            }
        }
    }
    if found.is_empty() && matches!(format, Format::Text) {
        output::stderr_line("no pending chains");
    }
    output::write_stdout(out.as_bytes(), exit)
}

pub fn accept(args: AcceptArgs, _global: &Global) -> anyhow::Result<Exit> {
    json_errors(args.pending.format, accept_pending(&args))
}

fn accept_pending(args: &AcceptArgs) -> anyhow::Result<Exit> {
    act(&args.pending, "accepted", accept_one)
}

/// Puts the pending chain `p` in place of its chain, after checking its integrity, and
/// removes it; refused (and left pending) when it or its chain is not a regular file.
pub(super) fn accept_one(p: &Pending) -> anyhow::Result<()> {
    // The chain is replaced through a temporary file renamed over it; a chain that is no
    // regular file (a link to /dev/null, a FIFO) would be written through instead, and
    // the `.new` then removed with nothing kept: refused, the `.new` left pending.
    if let Ok(meta) = std::fs::metadata(&p.chain)
        && !meta.is_file()
    {
        anyhow::bail!(
            "{}: is {}, not a regular file: nothing to put {} in place of; not accepted, {} stays pending",
            p.chain.display(),
            pending::file_kind(&meta),
            p.new.display(),
            p.new.display()
        );
    }
    if let Some(broken) = crate::review::check_new(p)? {
        return Err(BrokenPending {
            new: p.new.display().to_string(),
            index: broken.index,
            reason: broken.reason.to_string(),
        }
        .into());
    }
    let mut inputs = Inputs::default();
    inputs.add(&p.new, "the pending chain");
    // Through the safe writer, not a rename: a chain that is a symbolic link keeps being
    // one (its target is replaced), and the old chain is whole until the new one is.
    let destination = output::Destination::plan(&p.chain, &inputs)?;
    if !destination.replaces() {
        // `/dev/stdout` and the like: written through, never kept.
        anyhow::bail!(
            "{}: names an open descriptor, not a file; not accepted, {} stays pending",
            p.chain.display(),
            p.new.display()
        );
    }
    destination.write(|mut out| {
        let mut file = std::fs::File::open(&p.new).with_context(|| format!("{}: cannot read", p.new.display()))?;
        std::io::copy(&mut file, &mut out)?;
        Ok(out.flush()?)
    })?;
    std::fs::remove_file(&p.new).with_context(|| format!("{}: accepted, but cannot remove it", p.new.display()))
}

/// A pending chain that fails its integrity check: not accepted, and exit 3 as in `pending`
/// and `review` (nothing in it is evidence, which is not the same as unreadable input).
#[derive(Debug, thiserror::Error)]
#[error("{new}: event {index} fails its integrity check ({reason}); not accepted, reject it or write it again with `verify --accept`")]
struct BrokenPending {
    new: String,
    index: u64,
    reason: String,
}

/// Deletes the pending chain `p`, keeping the chain it follows.
pub(super) fn reject_one(p: &Pending) -> anyhow::Result<()> {
    std::fs::remove_file(&p.new).with_context(|| format!("{}: cannot remove", p.new.display()))
}

pub fn reject(args: RejectArgs, _global: &Global) -> anyhow::Result<Exit> {
    json_errors(args.pending.format, act(&args.pending, "rejected", reject_one))
}

/// Does `action` to every pending chain `args` names, one line each on stdout.
fn act(args: &PendingArgs, done: &str, action: impl Fn(&Pending) -> anyhow::Result<()>) -> anyhow::Result<Exit> {
    let found = args.find()?;
    let mut out = String::new();
    let mut exit = Exit::Success;
    for p in &found {
        match action(p) {
            Ok(()) => out.push_str(&match args.format {
                Format::Text => format!("{done} {}\n", p.chain.display()),
                Format::Json => {
                    let line = Line {
                        chain: p.chain.display().to_string(),
                        pending: None,
                        status: done,
                        change: None,
                        message: None,
                    };
                    format!("{}\n", crate::report::document(line))
                }
            }),
            Err(e) => {
                output::stderr_line(&format!("error: {}", super::one_line(&e)));
                if args.format == Format::Json {
                    let message = Some(super::one_line(&e));
                    let line = Line {
                        chain: p.chain.display().to_string(),
                        pending: None,
                        status: "error",
                        change: None,
                        message,
                    };
                    out.push_str(&format!("{}\n", crate::report::document(line)));
                }
                let code = if e.downcast_ref::<BrokenPending>().is_some() { Exit::Integrity } else { Exit::BadInput };
                exit = super::verify::most_severe(exit, code);
            }
        }
    }
    if found.is_empty() && matches!(args.format, Format::Text) {
        output::stderr_line("no pending chains");
    }
    output::write_stdout(out.as_bytes(), exit)
}

/// `verify --chains DIR`: a warning for the chains left pending under DIR.
pub fn warn_pending(dir: &Path) {
    let Ok(found) = pending::find(&[dir.to_path_buf()]) else { return };
    if !found.is_empty() {
        output::warning(&format!(
            "{} pending chain(s) under {} (.new files): `theater-replay review {}` shows each, to accept or reject it",
            found.len(),
            dir.display(),
            dir.display()
        ));
    }
}
