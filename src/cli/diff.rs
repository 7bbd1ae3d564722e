//! `theater-replay diff A B`: where two chains part.

use super::progress::{Bar, Kind};
use super::{Exit, Format, Global, ReadArgs, output};
use crate::chain::{self, ChainReader};
use crate::progress::Progress;
use crate::report;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

/// Compare two chains by hash: the first event where they part, both decoded. Both chains
/// are checked for integrity as they are read.
#[derive(clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct Args {
    /// The first chain, the one taken as the reference, e.g. the golden chain (`-` for stdin).
    #[arg(value_name = "A")]
    a: PathBuf,
    /// The second chain, compared with A, e.g. one recorded from a new build (`-` for stdin,
    /// if A is not).
    #[arg(value_name = "B")]
    b: PathBuf,
    /// Print nothing; the exit code alone says same (0), different (1) or broken (3), as
    /// `cmp -s` does. Errors are still one line on stderr.
    #[arg(short, long)]
    quiet: bool,
    /// `json` prints one object: status, common_prefix, a, b.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    #[command(flatten)]
    read: ReadArgs,
}

const AFTER_HELP: &str = "\
Examples:
  theater-replay diff golden/run.json new/run.json
  theater-replay diff -q golden/run.json new/run.json || echo 'the chains differ'
  theater-replay diff --format json a.json b.json | jq .common_prefix

Exit codes:
  0  the chains are the same
  1  they differ (one a prefix of the other included)
  2  a chain cannot be read or is malformed (or a usage error)
  3  a chain fails its integrity check (it says which and where)";

pub fn run(args: Args, global: &Global) -> anyhow::Result<Exit> {
    let json = matches!(args.format, Format::Json);
    let result = compare(args, global);
    if json && let Err(e) = &result {
        super::json_error(e);
    }
    result
}

fn compare(args: Args, global: &Global) -> anyhow::Result<Exit> {
    let mut a = ChainReader::open_or_stdin_with(&args.a, args.read.options())?;
    let mut b = ChainReader::open_or_stdin_with(&args.b, args.read.options())?;
    let progress = Arc::new(Progress::new());
    progress.watch(&a);
    progress.watch(&b);
    // Both chains are read to the end: the bar's total is both sizes.
    let total = super::progress::file_size(&args.a).zip(super::progress::file_size(&args.b)).map(|(a, b)| a + b);
    let bar = Bar::start(global, progress, Kind::Read { total });
    let outcome = chain::diff_readers(&mut a, &mut b);
    drop(bar);
    let outcome = outcome?;
    let text = match args.format {
        _ if args.quiet => String::new(),
        Format::Text => report::diff::human_styled(
            &args.a.display().to_string(),
            &args.b.display().to_string(),
            &outcome,
            global.style,
        ),
        Format::Json => format!("{}\n", report::diff::json(&outcome)),
    };
    let exit = if outcome.is_broken() {
        Exit::Integrity
    } else if outcome.is_same() {
        Exit::Success
    } else {
        Exit::Differ
    };
    let mut stdout = std::io::stdout().lock();
    output::stdout_written(stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush()), exit)
}
