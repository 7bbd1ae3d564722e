//! `theater-replay check CHAIN...`: integrity of each chain, one line each.

use super::progress::{Bar, Kind};
use super::{Exit, Format, Global, ReadArgs, output};
use crate::chain::{self, ChainReader};
use crate::progress::Progress;
use crate::report;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

/// Verify chains: every stored hash recomputed, every parent link followed.
#[derive(clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct Args {
    /// Chain files (JSON array, state chain, EVENT log, JSON Lines, theater's run logs; `-`
    /// for stdin).
    #[arg(required = true, value_name = "CHAIN")]
    chains: Vec<PathBuf>,
    /// `json` prints one object per chain per line.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    #[command(flatten)]
    read: ReadArgs,
}

const AFTER_HELP: &str = "\
Examples:
  theater-replay check chain.json
  theater-replay check --format json golden/*.json | jq -r 'select(.status != \"intact\") | .path'
  zstd -dc chain.json.zst | theater-replay check -

Exit codes:
  0  every chain is intact
  2  a chain cannot be read or is malformed (or a usage error)
  3  a chain fails its integrity check (wins over 2)
  5  every event that could be checked is intact, but some could not be: a theater
     0.3.11-0.3.18 `---` run log whose actor's own variants lost their case numbers
     (verify the chain with its actor, or inspect --component ACTOR)";

pub fn run(args: Args, global: &Global) -> anyhow::Result<Exit> {
    let (mut broken, mut unreadable, mut incomplete) = (false, false, false);
    // A broken chain is the finding that matters most, whatever else could not be read;
    // events left unchecked matter least (nothing wrong was found).
    let exit = |broken, unreadable, incomplete| {
        if broken {
            Exit::Integrity
        } else if unreadable {
            Exit::BadInput
        } else if incomplete {
            Exit::Incomplete
        } else {
            Exit::Success
        }
    };
    let mut stdout = std::io::stdout().lock();
    for path in &args.chains {
        let name = path.display().to_string();
        let started = std::time::Instant::now();
        let result = ChainReader::open_or_stdin_with(path, args.read.options()).and_then(|reader| {
            let progress = Arc::new(Progress::new());
            progress.watch(&reader);
            let bar = Bar::start(global, progress, Kind::Read { total: super::progress::file_size(path) });
            let result = chain::check_reader(reader);
            drop(bar);
            result
        });
        if let Ok(outcome) = &result {
            tracing::info!("{name}: {} events checked in {} ms", outcome.events, started.elapsed().as_millis());
        }
        match &result {
            Ok(outcome) => {
                broken |= !outcome.is_intact();
                incomplete |= !outcome.is_complete();
            }
            Err(e) => {
                unreadable = true;
                output::stderr_line(&format!("error: {e}"));
            }
        }
        let line = match args.format {
            Format::Text => report::check::human_styled(&name, &result, global.style),
            Format::Json => report::check::json(&name, &result),
        };
        // One chain's error is on stderr already: on a terminal that shows both, once is enough.
        if result.is_err() && args.chains.len() == 1 && args.format == Format::Text && output::one_terminal() {
            continue;
        }
        if let Err(e) = writeln!(stdout, "{line}") {
            // The chains not checked yet are not counted.
            return output::stdout_written(Err(e), exit(broken, unreadable, incomplete));
        }
    }
    output::stdout_written(stdout.flush(), exit(broken, unreadable, incomplete))
}
