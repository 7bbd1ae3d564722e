//! `theater-replay record COMPONENT --invoke 'run("hi")' -o chain.json`.

use super::output::{self, Destination, Inputs, Outputs};
use super::progress::{Bar, Kind};
use super::{CacheArgs, Exit, Global, LimitArgs};
use crate::chain::{Layout as ChainLayout, OutputFormat};
use crate::progress::Progress;
use crate::record::pack::PackRecordOptions;
use crate::record::{self, Answers, RecordOptions};
use crate::replay::InitialState;
use crate::report;
use crate::runtime::Actor;
use crate::runtime::exports;
use crate::runtime::wasi::Sandbox;
use anyhow::Context;
use std::path::PathBuf;
use std::sync::Arc;
use wasmtime::Engine;
use wasmtime::component::types::ComponentItem;
use wasmtime::component::{Component, Type, Val};

/// Run export calls on one instance of a component (or a theater 0.3.8 Pack actor) and
/// record every event crossing its boundary as a chain that `verify` can replay.
#[derive(clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct Args {
    /// The component (.wasm, or component text format).
    #[arg(value_name = "COMPONENT")]
    component: PathBuf,
    /// An export call in WAVE, e.g. `run("hello")` or `my:pkg/api#add(1, 2)`; repeat for
    /// more calls, which run in the order given on one instance.
    #[arg(long = "invoke", value_name = "CALL", required = true)]
    invocations: Vec<String>,
    /// Answers for imports: a JSON object mapping `interface#function` (or `function` for
    /// a root import) to the WAVE results of successive calls.
    #[arg(long, value_name = "FILE")]
    answers: Option<PathBuf>,
    /// Give the guest a host directory, read-only: `HOST` or `HOST::GUEST` (the path the guest
    /// sees; default: the host path). Repeatable. Without it the guest sees no files.
    #[arg(long = "dir", value_name = "HOST[::GUEST]")]
    dirs: Vec<String>,
    /// Like `--dir`, but the guest may also write there.
    #[arg(long = "dir-rw", value_name = "HOST[::GUEST]")]
    writable_dirs: Vec<String>,
    /// Give the guest an environment variable: `NAME=VALUE`, or `NAME` for this process's
    /// value. Repeatable. Without it the guest's environment is empty.
    #[arg(long = "env", value_name = "NAME[=VALUE]")]
    env: Vec<String>,
    /// Answer WASI imports from `--answers` too, instead of serving them with the real WASI
    /// implementation (wasmtime-wasi).
    #[arg(long, conflicts_with_all = ["dirs", "writable_dirs", "env"])]
    no_wasi: bool,
    /// Where to write the chain (default: stdout). Written in full or not at all.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// How the chain is laid out: `json`, a JSON array of events, one a line; `jsonl`, one
    /// event per line. A Pack actor can also be written in theater 0.3.8's other containers.
    #[arg(long, value_enum, value_name = "LAYOUT")]
    layout: Option<Layout>,
    /// The report of the recording: `text`, each call's result on stderr; `json`, a JSON
    /// document (path, events, head hash, calls and their results) on stdout when the chain
    /// goes to a file (-o), on stderr when the chain itself goes to stdout. `--format LAYOUT`
    /// (jsonl, json-pretty, event-log, state-chain) is the old spelling of `--layout`.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Write the chain zstd-compressed (every command reads it as it reads the plain form;
    /// hashes are of the events, not of the file).
    #[arg(long)]
    compress: bool,
    /// A Pack actor's state before the first call, in WAVE, typed by its metadata
    /// (default: the release's, `()` for 0.3.8, `none` from 0.3.9).
    #[arg(long, value_name = "VALUE", conflicts_with = "manifest")]
    initial_state: Option<String>,
    /// Take a Pack actor's initial state from a theater manifest (TOML): its
    /// `initial_state` string, as theater passes it; the release's default when it has none.
    #[arg(long, value_name = "FILE")]
    manifest: Option<PathBuf>,
    /// Write a Pack actor's chain as this theater release writes it (e.g. `0.3.29`: Value
    /// payloads, its error texts, async host answers in the guest's memory); default 0.3.8.
    #[arg(long, value_name = "VERSION", value_parser = super::replay_flags::parse_release)]
    theater: Option<&'static crate::dialect::release::Release>,
    /// A host function of your own handler that theater 0.3.29 serves synchronously
    /// (`interface.function`); repeatable (see `verify --sync-import`).
    #[arg(long = "sync-import", value_name = "INTERFACE.FUNCTION")]
    sync_imports: Vec<String>,
    #[command(flatten)]
    cache: CacheArgs,
    #[command(flatten)]
    limits: LimitArgs,
}

/// The chain's layout. The snake_case spellings, as the JSON report prints them, are
/// accepted too.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Layout {
    /// A JSON array, one event a line (the default).
    #[value(alias = "json-array", alias = "json_array")]
    Json,
    /// JSON Lines: one event per line.
    #[value(alias = "json-lines", alias = "json_lines")]
    Jsonl,
    /// theater's pretty-printed JSON array (`serde_json::to_writer_pretty`).
    #[value(alias = "json_pretty")]
    JsonPretty,
    /// theater's `EVENT` run log.
    #[value(alias = "event_log")]
    EventLog,
    /// theater's saved state chain, `{"events": [...], "current_hash": [...]}`.
    #[value(alias = "state_chain")]
    StateChain,
}

impl Layout {
    /// As `--layout` takes it.
    fn name(self) -> &'static str {
        match self {
            Layout::Json => "json",
            Layout::Jsonl => "jsonl",
            Layout::JsonPretty => "json-pretty",
            Layout::EventLog => "event-log",
            Layout::StateChain => "state-chain",
        }
    }

    /// As the JSON report prints it (snake_case, as every JSON enum value).
    fn code(self) -> &'static str {
        match self {
            Layout::Json => "json",
            Layout::Jsonl => "jsonl",
            Layout::JsonPretty => "json_pretty",
            Layout::EventLog => "event_log",
            Layout::StateChain => "state_chain",
        }
    }

    fn chain_layout(self) -> ChainLayout {
        match self {
            Layout::Json => ChainLayout::CompactArray,
            Layout::Jsonl => ChainLayout::JsonLines,
            Layout::JsonPretty => ChainLayout::PrettyArray,
            Layout::EventLog => ChainLayout::EventLog,
            Layout::StateChain => ChainLayout::StateChain,
        }
    }
}

/// `--format`: the report. Until `--layout` existed it named the chain's layout; those
/// values are still accepted, hidden, as the old spelling of `--layout` (`json` was both:
/// it now selects the JSON report, and the chain keeps its default layout, a JSON array).
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Format {
    /// Each call's result on stderr, one a line.
    Text,
    /// One JSON document (docs/schema/record.schema.json).
    Json,
    #[value(hide = true)]
    Jsonl,
    #[value(hide = true, alias = "json_pretty")]
    JsonPretty,
    #[value(hide = true, alias = "event_log")]
    EventLog,
    #[value(hide = true, alias = "state_chain")]
    StateChain,
}

impl Format {
    /// The layout an old `--format LAYOUT` names.
    fn old_layout(self) -> Option<Layout> {
        match self {
            Format::Text | Format::Json => None,
            Format::Jsonl => Some(Layout::Jsonl),
            Format::JsonPretty => Some(Layout::JsonPretty),
            Format::EventLog => Some(Layout::EventLog),
            Format::StateChain => Some(Layout::StateChain),
        }
    }
}

/// The layout to write, from `--layout` or the old `--format LAYOUT` (with a warning).
fn layout(args: &Args) -> anyhow::Result<Layout> {
    match (args.layout, args.format.old_layout()) {
        (Some(_), Some(old)) => {
            anyhow::bail!("--format {} is the old spelling of --layout {}: give only --layout", old.name(), old.name())
        }
        (Some(layout), None) => Ok(layout),
        (None, Some(old)) => {
            output::warning(&format!(
                "--format {0} is deprecated: use --layout {0} (--format now selects the report: text or json)",
                old.name()
            ));
            Ok(old)
        }
        (None, None) => Ok(Layout::Json),
    }
}

pub fn run(args: Args, global: &Global) -> anyhow::Result<Exit> {
    // The report (or the error document) goes where the chain does not.
    let json = args.format == Format::Json;
    let report_to_stdout = args.output.is_some();
    let result =
        layout(&args).and_then(|layout| record_chain(&args, layout, global).map(|(s, exit)| (s, exit, layout)));
    match &result {
        Ok((summary, exit, layout)) if json => {
            let path = args.output.as_ref().map(|p| p.display().to_string());
            let doc = report::record::json(summary, path.as_deref(), layout.code(), args.compress);
            if report_to_stdout {
                return output::write_stdout(format!("{doc}\n").as_bytes(), *exit);
            }
            output::stderr_line(&doc);
        }
        Ok((summary, ..)) => {
            for result in &summary.results {
                output::stderr_line(result);
            }
        }
        Err(e) if json => {
            if report_to_stdout {
                super::json_error(e);
            } else {
                output::stderr_line(&report::error_json(&super::one_line(e)));
            }
        }
        Err(_) => {}
    }
    result.map(|(_, exit, _)| exit)
}

fn record_chain(args: &Args, layout: Layout, global: &Global) -> anyhow::Result<(record::RecordSummary, Exit)> {
    let mut inputs = Inputs::default();
    inputs.add(&args.component, "the component");
    if let Some(answers) = &args.answers {
        inputs.add(answers, "the answers file");
    }
    // Refused before anything runs.
    if let Some(path) = &args.output
        && args.format == Format::Json
    {
        // `-o /dev/stdout --format json`: the report would land in the middle of the chain.
        let mut outputs = Outputs::default();
        outputs.claim_stdout("the JSON report")?;
        outputs.claim(path, "the chain")?;
    }
    let destination = match &args.output {
        Some(path) => Some(Destination::plan(path, &inputs)?),
        None => {
            inputs.refuse_stdout()?;
            None
        }
    };
    let answers = match &args.answers {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("{}: cannot read", path.display()))?;
            Answers::from_json(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?
        }
        None => Answers::default(),
    };
    let runtime = args.cache.runtime()?;
    let spinner = super::progress::Bar::compiling(global, &args.component);
    let loaded = runtime.load(&args.component);
    if let Some(spinner) = spinner {
        spinner.finish();
    }
    let loaded = loaded?;
    let limits = args.limits.limits();
    let progress = Arc::new(Progress::new());
    let run_record: Box<dyn FnOnce(Box<dyn std::io::Write + Send>) -> anyhow::Result<record::RecordSummary> + '_> =
        match &loaded.actor {
            Actor::Component(component) => {
                if args.initial_state.is_some() || args.manifest.is_some() {
                    anyhow::bail!("--initial-state and --manifest are for Pack actors; a component's state is its own");
                }
                if args.theater.is_some() || !args.sync_imports.is_empty() {
                    anyhow::bail!("--theater and --sync-import are for Pack actors; a component is recorded in theater-replay's format");
                }
                check_invocations(component, &runtime.engine, &args.invocations)?;
                let format = match layout {
                    Layout::Json => OutputFormat::JsonArray,
                    Layout::Jsonl => OutputFormat::JsonLines,
                    other => anyhow::bail!(
                        "--layout {}: components are recorded as json or jsonl; theater's other containers are for Pack actors",
                        other.name()
                    ),
                };
                let wasi = if args.no_wasi { None } else { Some(sandbox(&args.dirs, &args.writable_dirs, &args.env)?) };
                let options = RecordOptions {
                    invocations: args.invocations.clone(),
                    answers,
                    wasi,
                    format,
                    limits,
                    progress: Some(progress.clone()),
                };
                Box::new(|out| record::record(&runtime, &loaded, out, options))
            }
            Actor::Pack(actor) => {
                if !(args.dirs.is_empty() && args.writable_dirs.is_empty() && args.env.is_empty()) {
                    anyhow::bail!("--dir, --dir-rw and --env give a component WASI; a Pack actor has only the imports theater serves");
                }
                let options = PackRecordOptions {
                    invocations: args.invocations.clone(),
                    answers,
                    initial_state: match (&args.initial_state, &args.manifest) {
                        (Some(text), _) => Some(InitialState::Wave(text.clone())),
                        (None, Some(manifest)) => super::replay_flags::manifest_state(manifest)?,
                        (None, None) => None,
                    },
                    theater: args.theater,
                    sync_imports: args.sync_imports.clone(),
                    layout: layout.chain_layout(),
                    limits,
                    progress: Some(progress.clone()),
                };
                Box::new(|out| record::pack::record(&runtime, actor, out, options))
            }
        };
    let run_record = if args.compress { compressed(run_record) } else { run_record };
    let bar = Bar::start(global, progress, Kind::Record { calls: args.invocations.len() as u64 });
    // Cleared before the results are printed, whatever the outcome.
    let run_record: RunRecord<'_> = Box::new(move |out| {
        let summary = run_record(out);
        drop(bar);
        summary
    });
    let (summary, exit) = match destination {
        // Held until the run has succeeded: a failure mid-run leaves stdout empty, never a
        // truncated chain.
        None => {
            let (summary, held) = output::hold_for_stdout(run_record)?;
            (summary, output::stdout_written(held.copy_to_stdout(), Exit::Success)?)
        }
        Some(destination) => (destination.write(run_record)?, Exit::Success),
    };
    tracing::info!(events = summary.events, "recorded");
    Ok((summary, exit))
}

const AFTER_HELP: &str = "\
Examples:
  theater-replay record actor.wasm --invoke 'run(\"hello\")' -o golden/run.json
  theater-replay record counter.wat --invoke 'add(1)' --invoke 'add(2)' --answers answers.json -o c.json
  theater-replay record agent.wasm --invoke 'run(\"hi\")' --env HOME=/home --dir data::/data -o a.json
  theater-replay record chatty.wat --invoke 'run(1000000)' --answers chatty.answers.json --compress -o big.json.zst
  theater-replay record counter.wat --invoke 'add(1)' --answers answers.json --format json -o c.json | jq .calls
  theater-replay record state-actor.wasm --invoke 'theater:simple/actor.init(none)' --layout event-log -o s.chain

Exit codes:
  0  every call ran and the chain was written in full (a call that trapped is recorded)
  2  the component, a call or an answer is wrong, an import had no answer, or a limit
     stopped a call; no chain is left behind (or a usage error)";

/// Checks every `--invoke` against the component's exports before anything runs, so that a
/// typo in the last call fails at once rather than after the others have run. The same
/// parsing and the same messages as [`record::record`], which checks again on the instance.
fn check_invocations(component: &Component, engine: &Engine, invocations: &[String]) -> anyhow::Result<()> {
    for text in invocations {
        let (name, call) = record::parse_invocation(text).map_err(anyhow::Error::msg)?;
        let name = name.as_str();
        let shown = crate::text::clip(name);
        let exported = component.component_type();
        let export = match name.rsplit_once('#') {
            Some((iface, func)) => match exported.get_export(engine, iface).map(|e| e.ty) {
                Some(ComponentItem::ComponentInstance(instance)) => instance.get_export(engine, func).map(|e| e.ty),
                _ => None,
            },
            None => exported.get_export(engine, name).map(|e| e.ty),
        };
        let Some(ComponentItem::ComponentFunc(func)) = export else {
            // A component may export thousands of functions: the list is clipped too.
            anyhow::bail!(
                "the component has no export `{shown}`; it exports: {}",
                crate::text::clip_to(&exports::names(component, engine).join(", "), 200)
            );
        };
        let params: Vec<Type> = func.params().map(|(_, ty)| ty).collect();
        call.to_wasm_params::<Val>(params.iter()).map_err(|e| {
            // Name what the export takes: the mistake is almost always a type or a count.
            let takes: Vec<String> =
                func.params().map(|(param, ty)| format!("{param}: {}", crate::values::type_name(&ty))).collect();
            let bare = name.rsplit_once('#').map_or(name, |(_, f)| f);
            anyhow::anyhow!("arguments of `{shown}`: {e}; `{bare}` takes ({})", takes.join(", "))
        })?;
    }
    Ok(())
}

/// The guest's sandbox from `--dir`, `--dir-rw` and `--env`.
fn sandbox(dirs: &[String], writable_dirs: &[String], env: &[String]) -> anyhow::Result<Sandbox> {
    let grant = |spec: &String, writable: bool| {
        let (host, guest) = spec.split_once("::").unwrap_or((spec, spec));
        if host.is_empty() || guest.is_empty() {
            anyhow::bail!("--dir {}: expected HOST or HOST::GUEST", crate::text::clip(spec));
        }
        Ok((PathBuf::from(host), guest.to_string(), writable))
    };
    let dirs = (dirs.iter().map(|d| grant(d, false)))
        .chain(writable_dirs.iter().map(|d| grant(d, true)))
        .collect::<anyhow::Result<_>>()?;
    let env = env
        .iter()
        .map(|spec| {
            let shown = crate::text::clip(spec);
            let (name, value) = match spec.split_once('=') {
                Some((name, value)) => (name, Some(value)),
                None => (spec.as_str(), None),
            };
            // No environment can hold a variable without a name (or with a NUL in it): the
            // guest would see something no real process ever does.
            if name.is_empty() {
                anyhow::bail!("--env {shown}: the variable name is empty; give NAME=VALUE or NAME");
            }
            if spec.contains('\0') {
                anyhow::bail!("--env {shown}: a NUL byte cannot be part of an environment variable");
            }
            match value {
                Some(value) => Ok((name.to_string(), value.to_string())),
                None => std::env::var(spec)
                    .map(|value| (spec.clone(), value))
                    .map_err(|_| anyhow::anyhow!("--env {shown}: no such variable here; give NAME=VALUE")),
            }
        })
        .collect::<anyhow::Result<_>>()?;
    Ok(Sandbox { dirs, env })
}

/// A recording that writes through zstd. The encoder is shared with the recording's writer
/// and finished here once the recording is done, so that an error writing its last bytes
/// (a full disk) fails the run rather than being lost in a destructor.
pub(super) type RunRecord<'a> =
    Box<dyn FnOnce(Box<dyn std::io::Write + Send>) -> anyhow::Result<record::RecordSummary> + 'a>;

pub(super) fn compressed(run_record: RunRecord<'_>) -> RunRecord<'_> {
    use std::sync::{Arc, Mutex};
    type Encoder = zstd::stream::write::Encoder<'static, Box<dyn std::io::Write + Send>>;
    struct Shared(Arc<Mutex<Encoder>>);
    impl std::io::Write for Shared {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("not poisoned").write(buf)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            self.0.lock().expect("not poisoned").flush()
        }
    }
    Box::new(move |out| {
        let encoder = Arc::new(Mutex::new(crate::chain::zstd_writer(out)?));
        let summary = run_record(Box::new(Shared(encoder.clone())))?;
        let encoder = Arc::try_unwrap(encoder).map_err(|_| anyhow::anyhow!("the recording kept its writer"))?;
        encoder.into_inner().expect("not poisoned").finish()?.flush()?;
        Ok(summary)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sandbox_holds_exactly_what_the_flags_grant() {
        let inherited = std::env::var("PATH").expect("PATH is set for tests");
        let strings = |items: &[&str]| items.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let granted =
            sandbox(&strings(&["/srv/a::/data", "/srv/b"]), &strings(&["/tmp/out::/out"]), &strings(&["MODE=a=b", "EMPTY=", "PATH"]))
                .unwrap();
        assert_eq!(
            granted.dirs,
            [
                (PathBuf::from("/srv/a"), "/data".to_string(), false),
                (PathBuf::from("/srv/b"), "/srv/b".to_string(), false),
                (PathBuf::from("/tmp/out"), "/out".to_string(), true),
            ]
        );
        assert_eq!(
            granted.env,
            [("MODE".to_string(), "a=b".to_string()), ("EMPTY".to_string(), String::new()), ("PATH".to_string(), inherited)]
        );
        assert!(sandbox(&strings(&["::/data"]), &[], &[]).is_err());
        assert!(sandbox(&[], &strings(&["/srv::"]), &[]).is_err());
        assert!(sandbox(&[], &[], &strings(&["THEATER_REPLAY_SURELY_UNSET_VARIABLE"])).is_err());
        for empty_name in ["=x", "="] {
            let err = sandbox(&[], &[], &strings(&[empty_name])).unwrap_err().to_string();
            assert!(err.contains("the variable name is empty"), "{empty_name}: {err}");
        }
        assert!(sandbox(&[], &[], &strings(&["A=b\0c"])).is_err());
    }
}
