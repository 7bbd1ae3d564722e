//! `theater-replay inspect CHAIN`: one line per event, streamed.

use super::{CacheArgs, Exit, Global, ReadArgs, output};
use crate::chain::{Broken, ChainReader, Container, IntegrityChecker};
use crate::runtime::Actor;
use crate::report;
use crate::report::inspect::HostTypes;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;

/// Print every event of a chain: index, short hash, type and decoded payload.
#[derive(clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct Args {
    /// The chain file (`-` for stdin).
    #[arg(value_name = "CHAIN")]
    chain: PathBuf,
    /// `json` (or `jsonl`, its old name) prints one JSON object per event (JSON Lines), for
    /// jq, grep and diff; a stream that fails ends in a `status` line (broken or error).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// The actor that recorded the chain. A component: theater's component-era host calls
    /// are then shown as values of its import types, in WAVE (JSON Lines: `wave.input`,
    /// `wave.output`). A Pack actor: its `__pack_types` restores the variants a theater
    /// 0.3.11-0.3.18 `---` run log lost the case numbers of.
    #[arg(long, value_name = "ACTOR")]
    component: Option<PathBuf>,
    #[command(flatten)]
    cache: CacheArgs,
    #[command(flatten)]
    read: ReadArgs,
}

const AFTER_HELP: &str = "\
Examples:
  theater-replay inspect chain.json | less
  theater-replay inspect --format json chain.json | jq -c 'select(.event_type != \"wasm\")'
  theater-replay inspect theater-chain.json --component actor.wasm

Exit codes:
  0  every event was printed and the chain is intact (also when stdout closed early, as
     with `| head`)
  2  the chain cannot be read or is malformed (or a usage error)
  3  the chain fails its integrity check: the event where it breaks is marked";

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Format {
    Text,
    /// One JSON object per event (JSON Lines), each with its `schema_version`; `jsonl` is
    /// the old name, still accepted.
    #[value(alias = "jsonl")]
    Json,
}

pub fn run(args: Args, global: &Global) -> anyhow::Result<Exit> {
    let json = args.format == Format::Json;
    let result = run_inner(args, global);
    if json && let Err(e) = &result {
        // Not when stdout is what failed: there is nowhere to print it.
        if !e.is::<io::Error>() {
            super::json_error(e);
        }
    }
    result
}

fn run_inner(args: Args, _global: &Global) -> anyhow::Result<Exit> {
    let actor = match &args.component {
        Some(path) => {
            let runtime = args.cache.runtime()?;
            let loaded = runtime.load(path)?;
            Some((path, runtime, loaded))
        }
        None => None,
    };
    let mut reader = ChainReader::open_or_stdin_with(&args.chain, args.read.options())?;
    let types = match &actor {
        Some((_, runtime, loaded)) if let Actor::Component(component) = &loaded.actor => Some(HostTypes::of(component, &runtime.engine)),
        Some((path, runtime, loaded)) if let Actor::Pack(actor) = &loaded.actor => {
            if reader.container() != Container::TheaterTextLog {
                anyhow::bail!(
                    "{}: a Pack actor: its chains' payloads are already typed (CGRF); --component serves a component's chains, or a theater `---` run log",
                    path.display()
                );
            }
            let metadata = crate::runtime::pack::metadata_of(&runtime.engine, actor, &crate::runtime::Limits::default())
                .map_err(|e| anyhow::anyhow!("{}: cannot read the actor's __pack_types: {e}", path.display()))?
                .ok_or_else(|| anyhow::anyhow!("{}: the actor has no __pack_types to restore variants from", path.display()))?;
            reader.set_actor_variants(std::sync::Arc::new(metadata.variants()));
            None
        }
        _ => None,
    };
    let mut out = BufWriter::new(io::stdout().lock());
    match print(reader, args.format, types.as_ref(), &mut out) {
        // Only writes fail with an `io::Error` (the reader's errors are `ChainError`s): a
        // closed pipe (`inspect ... | head`) ends the output quietly.
        Err(e) => match e.downcast::<io::Error>() {
            Ok(e) => output::stdout_written(Err(e), Exit::Success),
            Err(e) => Err(e),
        },
        ok => ok,
    }
}

fn print(
    mut reader: ChainReader,
    format: Format,
    types: Option<&HostTypes>,
    out: &mut impl Write,
) -> anyhow::Result<Exit> {
    let name = reader.name().to_owned();
    // Parsing on a thread of its own, formatting here: about twice as fast on two cores.
    std::thread::scope(|scope| {
        let container = reader.container();
        print_events(crate::chain::ReadAhead::start(scope, &mut reader), &name, container, format, types, out)
    })
}

fn print_events(
    mut events: crate::chain::ReadAhead,
    name: &str,
    container: Container,
    format: Format,
    types: Option<&HostTypes>,
    out: &mut impl Write,
) -> anyhow::Result<Exit> {
    // Integrity is checked as the events are shown, as every command does: an edited or
    // deleted event is marked where the chain breaks, and the exit code says so.
    let mut checker = IntegrityChecker::new();
    let mut broken: Option<Broken> = None;
    let mut index = 0;
    while let Some(item) = events.next() {
        match item {
            Ok(event) => {
                // Only the first break: after it every link would be judged against an
                // event that is not the one before it.
                let here = if broken.is_none() { checker.push(&event).err().map(|b| b.in_container(container)) } else { None };
                let line = match format {
                    Format::Text => report::inspect::human_line_typed(index, &event, types),
                    Format::Json => report::inspect::json_line_checked(index, &event, types, here.as_ref()),
                };
                writeln!(out, "{line}")?;
                if let Some(here) = here {
                    if format == Format::Text {
                        writeln!(out, "{}", report::inspect::human_broken_marker(&here))?;
                    }
                    broken = Some(here);
                }
                index += 1;
                events.give_back(event);
            }
            Err(e) => {
                // Whatever was read is shown before the error.
                if let Some(broken) = broken {
                    return end_broken(&broken, Some(&e), name, format, out);
                }
                if let Some(broken) = e.integrity() {
                    if format == Format::Json {
                        writeln!(out, "{}", report::inspect::broken_line(&broken))?;
                    }
                    out.flush()?;
                    output::stderr_line(&format!("error: {e}"));
                    return Ok(Exit::Integrity);
                }
                out.flush()?;
                return Err(e.into());
            }
        }
    }
    if let Some(broken) = broken {
        return end_broken(&broken, None, name, format, out);
    }
    out.flush()?;
    Ok(Exit::Success)
}

/// Ends a stream in which the chain broke: the `broken` status line (JSON), one error line
/// on stderr (a read error after the break is said on it too), exit 3.
fn end_broken(
    broken: &Broken,
    read_error: Option<&crate::chain::ChainError>,
    name: &str,
    format: Format,
    out: &mut impl Write,
) -> anyhow::Result<Exit> {
    if format == Format::Json {
        writeln!(out, "{}", report::inspect::broken_line(broken))?;
    }
    out.flush()?;
    let after = read_error.map_or(String::new(), |e| format!("; after it: {e}"));
    output::stderr_line(&format!("error: {name}: broken at {broken}{after}"));
    Ok(Exit::Integrity)
}
