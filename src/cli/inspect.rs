//! `theater-replay inspect CHAIN`: one line per event, streamed.

use super::{CacheArgs, Exit, Global, ReadArgs, output};
use crate::chain::ChainReader;
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
    /// The component that recorded the chain: theater's component-era host calls are then
    /// shown as values of its import types, in WAVE (JSON Lines: `wave.input`, `wave.output`).
    #[arg(long, value_name = "COMPONENT")]
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
  0  every event was printed (also when stdout closed early, as with `| head`)
  2  the chain cannot be read or is malformed (or a usage error)";

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
    let types = match &args.component {
        Some(path) => {
            let runtime = args.cache.runtime()?;
            let loaded = runtime.load(path)?;
            let component = loaded.component().ok_or_else(|| {
                anyhow::anyhow!(
                    "{}: a Pack actor: its chains' payloads are already typed (CGRF); give a component",
                    path.display()
                )
            })?;
            Some(HostTypes::of(component, &runtime.engine))
        }
        None => None,
    };
    let reader = ChainReader::open_or_stdin_with(&args.chain, args.read.options())?;
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
    // Parsing on a thread of its own, formatting here: about twice as fast on two cores.
    std::thread::scope(|scope| print_events(crate::chain::ReadAhead::start(scope, &mut reader), format, types, out))
}

fn print_events(
    mut events: crate::chain::ReadAhead,
    format: Format,
    types: Option<&HostTypes>,
    out: &mut impl Write,
) -> anyhow::Result<Exit> {
    let mut index = 0;
    while let Some(item) = events.next() {
        match item {
            Ok(event) => {
                let line = match format {
                    Format::Text => report::inspect::human_line_typed(index, &event, types),
                    Format::Json => report::inspect::json_line_typed(index, &event, types),
                };
                writeln!(out, "{line}")?;
                index += 1;
                events.give_back(event);
            }
            Err(e) => {
                // Whatever was read is shown before the error.
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
    out.flush()?;
    Ok(Exit::Success)
}
