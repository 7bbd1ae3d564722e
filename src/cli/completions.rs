//! `theater-replay completions SHELL`: a shell completion script on stdout.

use super::{Exit, Global, output};
use clap::CommandFactory;

/// Print a completion script for SHELL, e.g. `theater-replay completions bash >
/// ~/.local/share/bash-completion/completions/theater-replay`.
#[derive(clap::Args)]
#[command(after_help = "\
Examples:
  theater-replay completions bash > ~/.local/share/bash-completion/completions/theater-replay
  theater-replay completions zsh > ~/.zfunc/_theater-replay

Exit codes:
  0  the script was printed
  2  a usage error (an unknown shell)")]
pub struct Args {
    /// bash, zsh, fish, elvish or powershell.
    #[arg(value_name = "SHELL")]
    shell: clap_complete::Shell,
}

pub fn run(args: Args, _global: &Global) -> anyhow::Result<Exit> {
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut super::Cli::command(), "theater-replay", &mut script);
    output::write_stdout(&script, Exit::Success)
}
