//! `theater-replay completions SHELL`: a shell completion script on stdout.

use super::{Exit, Global, output};
use clap::CommandFactory;

/// Print a completion script for SHELL, e.g. `theater-replay completions bash >
/// ~/.local/share/bash-completion/completions/theater-replay`.
#[derive(clap::Args)]
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
