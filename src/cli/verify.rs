//! `theater-replay verify COMPONENT CHAIN`: replay the chain against the component.

use super::{Exit, Global, LimitArgs};
use crate::chain::ChainReader;
use crate::replay::{self, Status, VerifyOptions};
use crate::{report, runtime};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;

/// Replay a chain against a component: every import answered from the recording, every
/// recorded export call driven, each event re-encoded, re-hashed and compared.
///
/// Exit 0 verified, 1 diverged, 2 unreadable or malformed input, 3 chain integrity failure.
#[derive(clap::Args)]
pub struct Args {
    /// The component (.wasm, or component text format).
    #[arg(value_name = "COMPONENT")]
    component: PathBuf,
    /// The recorded chain (`-` for stdin).
    #[arg(value_name = "CHAIN")]
    chain: PathBuf,
    /// `json` prints one object for scripts.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    #[command(flatten)]
    limits: LimitArgs,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Format {
    Text,
    Json,
}

pub fn run(args: Args, global: &Global) -> anyhow::Result<Exit> {
    let engine = runtime::new_engine()?;
    let loaded = runtime::load_component(&engine, &args.component)?;
    let chain = ChainReader::open_or_stdin(&args.chain)?;
    let progress = progress_bar(global);
    let options = VerifyOptions { limits: args.limits.limits(), progress: progress.clone() };
    let outcome = replay::verify(&engine, &loaded, chain, &options);
    if let Some(progress) = progress {
        progress.finish_and_clear();
    }
    let name = args.chain.display().to_string();
    let mut stdout = std::io::stdout().lock();
    match args.format {
        Format::Text => write!(stdout, "{}", report::verify::human(&outcome, &name))?,
        Format::Json => writeln!(stdout, "{}", report::verify::json(&outcome, None))?,
    }
    stdout.flush()?;
    Ok(exit_for(outcome.status))
}

/// The exit code of a verdict.
pub fn exit_for(status: Status) -> Exit {
    match status {
        Status::Verified => Exit::Success,
        Status::Diverged => Exit::Differ,
        Status::Error => Exit::BadInput,
        Status::Broken => Exit::Integrity,
    }
}

/// A bar on stderr, only for a person watching a terminal.
fn progress_bar(global: &Global) -> Option<indicatif::ProgressBar> {
    if global.quiet || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new_spinner();
    if let Ok(style) = indicatif::ProgressStyle::with_template("{spinner} replaying: event {pos} ({per_sec}) {elapsed}") {
        bar.set_style(style);
    }
    bar.enable_steady_tick(std::time::Duration::from_millis(100));
    Some(bar)
}
