//! `theater-replay man`: the manual page (roff) on stdout.

use super::{Exit, Global, output};
use clap::CommandFactory;

/// Print the manual page, e.g. `theater-replay man > theater-replay.1 && man ./theater-replay.1`.
#[derive(clap::Args)]
#[command(after_help = "\
Examples:
  theater-replay man > theater-replay.1 && man ./theater-replay.1

Exit codes:
  0  the page was printed
  2  a usage error")]
pub struct Args {}

pub fn run(_args: Args, _global: &Global) -> anyhow::Result<Exit> {
    let mut page = Vec::new();
    clap_mangen::Man::new(super::Cli::command()).render(&mut page)?;
    output::write_stdout(&page, Exit::Success)
}
