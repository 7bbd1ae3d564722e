//! `theater-replay diff A B`: where two chains part.

use super::{Exit, Format, Global, output};
use crate::chain::{self, ChainReader};
use crate::report;
use std::io::Write;
use std::path::PathBuf;

/// Compare two chains by hash: the first event where they part, both decoded.
///
/// Exit 0 when they are the same, 1 when not (one a prefix of the other included).
#[derive(clap::Args)]
pub struct Args {
    #[arg(value_name = "A")]
    a: PathBuf,
    #[arg(value_name = "B")]
    b: PathBuf,
    /// `json` prints one object: status, common_prefix, a, b.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

pub fn run(args: Args, _global: &Global) -> anyhow::Result<Exit> {
    let json = matches!(args.format, Format::Json);
    let result = compare(args);
    if json && let Err(e) = &result {
        super::json_error(e);
    }
    result
}

fn compare(args: Args) -> anyhow::Result<Exit> {
    let mut a = ChainReader::open_or_stdin(&args.a)?;
    let mut b = ChainReader::open_or_stdin(&args.b)?;
    let outcome = chain::diff_readers(&mut a, &mut b)?;
    let text = match args.format {
        Format::Text => report::diff::human(&args.a.display().to_string(), &args.b.display().to_string(), &outcome),
        Format::Json => format!("{}\n", report::diff::json(&outcome)),
    };
    let exit = if outcome.is_same() { Exit::Success } else { Exit::Differ };
    let mut stdout = std::io::stdout().lock();
    output::stdout_written(stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush()), exit)
}
