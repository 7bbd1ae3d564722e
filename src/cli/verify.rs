//! `theater-replay verify COMPONENT CHAIN...`: replay chains against the component.
//!
//! One chain given as an argument (no `--chains`, no `--shard`) prints exactly the report of
//! that chain, as it always has. Anything else is a many-chain run ([`crate::batch`]): one
//! verdict per chain in input order, then a summary line.

use super::accept::{AcceptFlags, Acceptor};
use super::output::{self, Destination, Inputs, Outputs};
use super::progress::{Bar, Kind};
use super::replay_flags::ReplayFlags;
use super::{CacheArgs, Exit, Format, Global, LimitArgs, ReadArgs};
use crate::batch::{self, BatchOptions, BatchReport, ChainResult, ChainVerdict, Shard};
use crate::coverage::{self, Coverage, RecordedCalls};
use crate::chain::ChainReader;
use crate::progress::Progress;
use crate::replay::{self, Status, VerifyOptions};
use crate::report;
use crate::runtime::Runtime;
use std::io::Write;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Replay chains against a component: every import answered from the recording, every
/// recorded export call driven, each event re-encoded, re-hashed and compared.
#[derive(clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct Args {
    /// The component (.wasm, or component text format).
    #[arg(value_name = "COMPONENT")]
    component: PathBuf,
    /// Recorded chains (`-` for stdin, only as the one chain of a run).
    #[arg(value_name = "CHAIN", required_unless_present = "chains_dir")]
    chain: Vec<PathBuf>,
    /// Also every chain under DIR, recursively, sorted by path: .json, .jsonl, .ndjson and
    /// .chain files, compressed too (.json.zst, .chain.gz), and the chains of theater event
    /// stores; every other file is named on stderr as skipped.
    #[arg(long = "chains", value_name = "DIR")]
    chains_dir: Option<PathBuf>,
    /// The head the chain must end at (the last event's hash, in hex, as the verdict shows
    /// it): a chain that replays but ends elsewhere, cut short or extended, is broken
    /// (exit 3). One chain only.
    #[arg(long, value_name = "HASH", value_parser = parse_head)]
    head: Option<Head>,
    /// `json` prints one JSON document per chain per line, then a summary document (one
    /// chain given as an argument: just its document), each with its `schema_version`.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Chains replayed at the same time [default: the machine's cores].
    #[arg(short = 'j', long, value_name = "N", value_parser = parse_jobs)]
    jobs: Option<NonZeroUsize>,
    /// Start no more chains after the first one that does not verify.
    #[arg(long)]
    fail_fast: bool,
    /// Also write a JUnit XML report to FILE: one test case per chain.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Verify only the K-th of N parts of the chains (by sorted path), e.g. `--shard 2/4`.
    #[arg(long, value_name = "K/N")]
    shard: Option<Shard>,
    /// Also list the actor's exports and imports (from its WIT, or a Pack actor's
    /// __pack_types) with how many recorded calls of the chains exercised each, naming
    /// those none calls; after the reports (`--format json`: a last `coverage` document).
    #[arg(long)]
    coverage: bool,
    /// Also append a short Markdown report of the run to FILE (created if missing): verdict
    /// counts, each diverging call with its first difference, the coverage table with
    /// --coverage. For `$GITHUB_STEP_SUMMARY`, which steps append to.
    #[arg(long, value_name = "FILE")]
    summary: Option<PathBuf>,
    #[command(flatten)]
    cache: CacheArgs,
    #[command(flatten)]
    limits: LimitArgs,
    #[command(flatten)]
    read: ReadArgs,
    #[command(flatten)]
    replay: ReplayFlags,
    #[command(flatten)]
    accept: AcceptFlags,
}

impl Args {
    /// How each chain is replayed.
    fn verify_options(&self, progress: Option<Arc<Progress>>) -> anyhow::Result<VerifyOptions> {
        let mut options = VerifyOptions {
            limits: self.limits.limits(),
            read: self.read.options(),
            progress,
            expected_head: self.head.as_ref().map(|h| h.0.clone()),
            coverage: self.coverage,
            ..VerifyOptions::default()
        };
        self.replay.apply(&mut options)?;
        Ok(options)
    }
}

pub fn run(args: Args, global: &Global) -> anyhow::Result<Exit> {
    let result = run_all(&args, global);
    if matches!(args.format, Format::Json) && let Err(e) = &result {
        super::json_error(e);
    }
    result
}

const AFTER_HELP: &str = "\
Examples:
  theater-replay verify actor.wasm golden/run.json
  theater-replay verify actor.wasm golden/run.json --head 717b7b02f183bcc95534f16ee7a4c2fd35dfdd99eba48b0af09aa2fe02d717d0
  theater-replay verify actor.wasm --chains golden/ -j 2 --junit verify.xml
  theater-replay verify actor.wasm --chains golden/ --keep-going --coverage --summary \"$GITHUB_STEP_SUMMARY\"
  theater-replay verify --format json actor.wasm run.json | jq .divergence.diff
  theater-replay verify --accept actor.wasm golden/run.json || theater-replay review golden/

Exit codes:
  0  every chain verified
  1  a replay diverged from its recording
  2  input cannot be read or is malformed, or a usage error
  3  a chain fails its integrity check, or does not end at --head
  4  a chain holds no export call to replay: nothing was verified
  With several chains, the most severe: 3 > 2 > 4 > 1 > 0.";

/// Errors of a chain are on stderr too (see [`super::json_error`] for the rule): its
/// report on stdout is a result, the stderr line is what a person or a CI log sees.
fn chain_error_line(report: &replay::VerifyReport, path: &str) {
    if report.status == Status::Error {
        let message = report.error.as_deref().unwrap_or("unknown error");
        let message = message.strip_prefix(&format!("{path}: ")).unwrap_or(message);
        output::stderr_line(&format!("error: {path}: {message}"));
    }
}

fn run_all(args: &Args, global: &Global) -> anyhow::Result<Exit> {
    // Refused before anything runs; the writers check again, with every chain of the run.
    for report in [&args.junit, &args.summary].into_iter().flatten() {
        Destination::plan(report, &junit_inputs(&args.component, &args.chain))?;
    }
    // Refused (on CI, or for an unreadable answers file) before anything runs.
    let acceptor = args.accept.acceptor()?;
    let runtime = args.cache.runtime()?;
    if let [chain] = args.chain.as_slice()
        && args.chains_dir.is_none()
        && args.shard.is_none()
    {
        return run_one(args, chain, &runtime, global, acceptor.as_ref());
    }
    if args.head.is_some() {
        // One head cannot pin several chains; silently checking only some would be worse.
        anyhow::bail!("--head pins the head of one chain: give exactly one chain, without --chains or --shard");
    }
    run_many(args, &runtime, global, acceptor.as_ref())
}

/// Loads the actor to verify. When it is no actor but a chain, and the chain argument is a
/// WebAssembly file, the two were given the wrong way round: say so.
fn load_component(
    runtime: &Runtime,
    component: &Path,
    chain: Option<&Path>,
    global: &Global,
) -> anyhow::Result<crate::runtime::Loaded> {
    let spinner = Bar::compiling(global, component);
    let loaded = runtime.load(component);
    if let Some(spinner) = spinner {
        spinner.finish();
    }
    match loaded {
        Ok(loaded) => Ok(loaded),
        Err(e @ crate::runtime::LoadError::NotAComponent { .. }) => {
            let looks_like_chain = ChainReader::open(component).is_ok_and(|mut r| r.next().is_some_and(|e| e.is_ok()));
            let chain_is_wasm = chain.is_some_and(|c| runtime.load(c).is_ok());
            if looks_like_chain && chain_is_wasm {
                anyhow::bail!(
                    "{} is a chain and {} a component: the component comes first (theater-replay verify COMPONENT CHAIN)",
                    component.display(),
                    chain.expect("checked").display()
                );
            }
            Err(e.into())
        }
        Err(e) => Err(e.into()),
    }
}

/// One chain: its report alone, exactly as before many-chain runs existed.
fn run_one(
    args: &Args,
    path: &Path,
    runtime: &Runtime,
    global: &Global,
    acceptor: Option<&Acceptor>,
) -> anyhow::Result<Exit> {
    refuse_colliding_outputs(args, std::slice::from_ref(&path.to_path_buf()), acceptor)?;
    let loaded = load_component(runtime, &args.component, Some(path), global)?;
    let progress = Arc::new(Progress::new());
    let options = args.verify_options(Some(progress.clone()))?;
    let chain = ChainReader::open_or_stdin_with(path, options.read)?;
    let bar = Bar::start(global, progress, Kind::Read { total: super::progress::file_size(path) });
    let started = std::time::Instant::now();
    let outcome = replay::verify(runtime, &loaded, chain, &options);
    let elapsed = started.elapsed();
    if let Some(bar) = bar {
        bar.finish();
    }
    let name = path.display().to_string();
    tracing::info!(
        "{name}: {} after {} events in {} ms",
        format!("{:?}", outcome.status).to_lowercase(),
        outcome.events_verified,
        elapsed.as_millis()
    );
    chain_error_line(&outcome, &name);
    // An error is on stderr already: on a terminal that shows both, once is enough.
    let shown = outcome.status == Status::Error && args.format == Format::Text && output::one_terminal();
    let mut text = match args.format {
        _ if shown => String::new(),
        Format::Text => report::verify::human_styled(&outcome, &name, global.style),
        Format::Json => format!("{}\n", report::verify::json(&outcome, &name)),
    };
    let verdict = ChainVerdict { path: path.to_path_buf(), report: outcome, elapsed };
    let batch = BatchReport { results: vec![ChainResult::Finished(Box::new(verdict))], elapsed };
    let coverage = args.coverage.then(|| coverage_of(runtime, &loaded, &batch));
    if let Some(coverage) = &coverage {
        text.push_str(&coverage_text(coverage, args.format, global));
    }
    let ChainResult::Finished(verdict) = &batch.results[0] else { unreachable!("one finished chain") };
    let outcome = &verdict.report;
    let mut stdout = std::io::stdout().lock();
    let printed = output::stdout_written(
        stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush()),
        exit_for(outcome.status),
    );
    drop(stdout);
    if let Some(acceptor) = acceptor
        && outcome.status == Status::Diverged
    {
        acceptor.write_pending(runtime, &loaded, &args.component, path, &options.limits);
    }
    if args.junit.is_none() && args.summary.is_none() {
        return printed;
    }
    // The report files are written whatever became of stdout.
    let exit = printed.as_ref().map_or(Exit::BadInput, |exit| *exit);
    let exit = write_reports(args, &batch, batch.summary(), coverage.as_ref(), exit);
    printed.map(|_| exit)
}

/// The coverage of the chains of a run: every chain replayed counts (one that broke or
/// could not be read, as far as it was read).
fn coverage_of(runtime: &Runtime, loaded: &crate::runtime::Loaded, batch: &BatchReport) -> Coverage {
    let surface = coverage::surface(runtime, loaded);
    let mut calls = RecordedCalls::default();
    let mut chains = 0;
    for result in &batch.results {
        if let ChainResult::Finished(verdict) = result {
            chains += 1;
            if let Some(counted) = &verdict.report.recorded_calls {
                calls.add(counted);
            }
        }
    }
    Coverage::of(&surface, chains, &calls)
}

fn coverage_text(coverage: &Coverage, format: Format, global: &Global) -> String {
    match format {
        Format::Text => report::coverage::human_styled(coverage, global.style),
        Format::Json => format!("{}\n", report::coverage::json(coverage)),
    }
}

/// Writes the JUnit report and the Markdown summary the run was asked for; failing to is an
/// error of the run (exit 2 unless worse happened).
fn write_reports(args: &Args, batch: &BatchReport, summary: batch::Summary, coverage: Option<&Coverage>, exit: Exit) -> Exit {
    let exit = match &args.junit {
        Some(junit) => write_junit(junit, &args.component, batch, exit),
        None => exit,
    };
    match &args.summary {
        Some(path) => write_summary(path, &args.component, batch, &summary, coverage, exit),
        None => exit,
    }
}

/// Appends the Markdown summary to its file (see [`output::append_file`]).
fn write_summary(
    path: &Path,
    component: &Path,
    batch: &BatchReport,
    summary: &batch::Summary,
    coverage: Option<&Coverage>,
    exit: Exit,
) -> Exit {
    let chains: Vec<PathBuf> = batch.results.iter().map(|r| r.path().to_path_buf()).collect();
    let markdown = report::summary::markdown(&component.display().to_string(), batch, summary, coverage);
    let written = output::append_file(path, &junit_inputs(component, &chains), |mut out| {
        out.write_all(markdown.as_bytes())?;
        Ok(out.flush()?)
    });
    match written {
        Ok(()) => exit,
        Err(e) => {
            output::stderr_line(&format!("error: cannot write the summary: {}", super::one_line(&e)));
            most_severe(exit, Exit::BadInput)
        }
    }
}

fn run_many(args: &Args, runtime: &Runtime, global: &Global, acceptor: Option<&Acceptor>) -> anyhow::Result<Exit> {
    let mut chains = args.chain.clone();
    let mut skipped = 0;
    if let Some(dir) = &args.chains_dir {
        super::accept::warn_pending(dir);
        let found = batch::chains_in_dir(dir)?;
        // Every file passed over is said: a chain saved under a name we do not take would
        // otherwise never be verified, and no one would know.
        for skip in &found.skipped {
            output::warning(&format!("skipped {}: {}", skip.path.display(), skip.why));
        }
        skipped = found.skipped.len();
        if found.chains.is_empty() {
            // Almost surely a wrong path in a CI script; "0 chains, all fine" would hide it.
            anyhow::bail!(
                "{}: no chains in it (looked for .{} files, compressed too, and event stores; {skipped} other entries skipped)",
                dir.display(),
                batch::CHAIN_EXTENSIONS.join(", .")
            );
        }
        chains.extend(found.chains);
    }
    if chains.len() > 1 && chains.iter().any(|c| c.as_os_str() == "-") {
        anyhow::bail!("`-` (stdin) can only be the one chain of a run");
    }
    if let Some(shard) = args.shard {
        // A shard may be empty (more CI jobs than chains): that is success, not an error.
        chains = shard.select(chains);
    }
    refuse_colliding_outputs(args, &chains, acceptor)?;
    let loaded = load_component(runtime, &args.component, chains.first().map(PathBuf::as_path), global)?;

    let progress = Arc::new(Progress::new());
    let bar = Bar::start(global, progress.clone(), Kind::Chains { total: chains.len() as u64 });
    let jobs = args.jobs.unwrap_or_else(|| std::thread::available_parallelism().unwrap_or(NonZeroUsize::MIN));
    tracing::info!("verifying {} chains, {jobs} at a time", chains.len());
    let options =
        BatchOptions { verify: args.verify_options(None)?, jobs, fail_fast: args.fail_fast, progress: Some(progress) };
    let mut stdout = std::io::stdout().lock();
    // A failed write (closed pipe) must not stop the replays mid-run: keep the first error
    // and report it at the end.
    let mut write_error: Option<std::io::Error> = None;
    let batch = batch::verify_many(runtime, &loaded, &chains, &options, |verdict| {
        let name = verdict.path.display().to_string();
        tracing::info!(
            "{name}: {} after {} events in {} ms",
            format!("{:?}", verdict.report.status).to_lowercase(),
            verdict.report.events_verified,
            verdict.elapsed.as_millis()
        );
        // On stderr even when stdout is gone.
        chain_error_line(&verdict.report, &name);
        if write_error.is_some() {
            return;
        }
        let text = match args.format {
            Format::Text => report::verify::human_styled(&verdict.report, &name, global.style),
            Format::Json => format!("{}\n", report::verify::json(&verdict.report, &name)),
        };
        // Drawn around the bar so lines and bar do not garble each other on a terminal.
        let mut write = || stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush());
        let result = match &bar {
            Some(bar) => bar.suspend(write),
            None => write(),
        };
        write_error = result.err();
    });
    if let Some(bar) = bar {
        bar.finish();
    }
    if let Some(acceptor) = acceptor {
        // One at a time, after the run: recording is rare, and its lines stay in chain order.
        for result in &batch.results {
            if let ChainResult::Finished(verdict) = result
                && verdict.report.status == Status::Diverged
            {
                acceptor.write_pending(runtime, &loaded, &args.component, &verdict.path, &options.verify.limits);
            }
        }
    }
    let summary = batch::Summary { skipped, ..batch.summary() };
    let mut last = match args.format {
        Format::Text => report::verify::summary_human_styled(&summary, global.style),
        Format::Json => format!("{}\n", report::verify::summary_json(&summary)),
    };
    let coverage = args.coverage.then(|| coverage_of(runtime, &loaded, &batch));
    if let Some(coverage) = &coverage {
        last.push_str(&coverage_text(coverage, args.format, global));
    }
    if write_error.is_none() {
        write_error = stdout.write_all(last.as_bytes()).and_then(|()| stdout.flush()).err();
    }
    let exit = batch.worst().map_or(Exit::Success, exit_for);
    let exit = write_reports(args, &batch, summary, coverage.as_ref(), exit);
    match write_error {
        Some(e) => output::stdout_written(Err(e), exit),
        None => Ok(exit),
    }
}

/// Refuses, before any chain is replayed, outputs that would destroy what the run reads or
/// writes: a JUnit report that is one of the chains (found under `--chains` too), and the
/// JUnit report and the `.new` chains `--accept` may write being one file (each would
/// overwrite the other after it was reported as written), or a `.new` that is a chain.
fn refuse_colliding_outputs(args: &Args, chains: &[PathBuf], acceptor: Option<&Acceptor>) -> anyhow::Result<()> {
    let mut outputs = Outputs::default();
    if let Some(acceptor) = acceptor {
        acceptor.refuse_collisions(&args.component, chains, &mut outputs)?;
    }
    // Last, so that a collision names the path given to --junit or --summary.
    if let Some(junit) = &args.junit {
        Destination::plan(junit, &junit_inputs(&args.component, chains))?;
        outputs.claim(junit, "the JUnit report")?;
    }
    if let Some(summary) = &args.summary {
        Destination::plan(summary, &junit_inputs(&args.component, chains))?;
        outputs.claim(summary, "the Markdown summary")?;
    }
    Ok(())
}

/// Writes the JUnit file; failing to is an error of the run (exit 2 unless worse happened).
fn write_junit(path: &Path, component: &Path, batch: &BatchReport, exit: Exit) -> Exit {
    let chains: Vec<PathBuf> = batch.results.iter().map(|r| r.path().to_path_buf()).collect();
    let written = report::junit::render(&component.display().to_string(), batch)
        .map_err(anyhow::Error::from)
        .and_then(|xml| {
            output::write_file(path, &junit_inputs(component, &chains), |mut out| {
                out.write_all(xml.as_bytes())?;
                Ok(out.flush()?)
            })
        });
    match written {
        Ok(()) => exit,
        Err(e) => {
            output::stderr_line(&format!("error: cannot write the JUnit report: {}", super::one_line(&e)));
            most_severe(exit, Exit::BadInput)
        }
    }
}

/// What the JUnit file must not be written over.
fn junit_inputs(component: &Path, chains: &[PathBuf]) -> Inputs {
    let mut inputs = Inputs::default();
    inputs.add(component, "the component");
    for chain in chains {
        inputs.add(chain, "a chain");
    }
    inputs
}

/// The exit code of a verdict.
pub fn exit_for(status: Status) -> Exit {
    match status {
        Status::Verified => Exit::Success,
        Status::Diverged => Exit::Differ,
        Status::Error => Exit::BadInput,
        Status::Broken => Exit::Integrity,
        Status::Empty => Exit::Empty,
    }
}

/// The more severe of two exit codes, by the order of [`batch::severity`] (3 > 2 > 4 > 1 > 0).
pub(super) fn most_severe(a: Exit, b: Exit) -> Exit {
    let rank = |e: Exit| match e {
        Exit::Success => batch::severity(Status::Verified),
        Exit::Differ => batch::severity(Status::Diverged),
        Exit::BadInput => batch::severity(Status::Error),
        Exit::Integrity => batch::severity(Status::Broken),
        // Not a verify outcome (`check`'s); ranked with what nothing was verified of.
        Exit::Empty | Exit::Incomplete => batch::severity(Status::Empty),
    };
    if rank(b) > rank(a) { b } else { a }
}

/// A hash given with `--head` (a type of its own: clap would take a `Vec<u8>` for many
/// values).
#[derive(Debug, Clone)]
struct Head(Vec<u8>);

/// A head as `--head` takes it: the hex of a SHA-1 or SHA-256 hash, either case.
fn parse_head(text: &str) -> Result<Head, String> {
    let bytes = hex::decode(text.trim()).map_err(|e| format!("`{}` is not a hash in hex: {e}", crate::text::clip(text)))?;
    if !matches!(bytes.len(), 20 | 32) {
        return Err(format!("`{}`: a head is 40 (SHA-1) or 64 (SHA-256) hex digits", crate::text::clip(text)));
    }
    Ok(Head(bytes))
}

/// At least one chain at a time.
fn parse_jobs(text: &str) -> Result<NonZeroUsize, String> {
    let n: usize = text.parse().map_err(|_| format!("`{}` is not a number of chains", crate::text::clip(text)))?;
    NonZeroUsize::new(n).ok_or_else(|| "0: --jobs is how many chains are verified at once, at least 1".to_string())
}
