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
    clap_complete::generate(args.shell, &mut super::Cli::command(), BIN, &mut script);
    if args.shell == clap_complete::Shell::Bash {
        script = bash_states_fixed(&script);
    }
    output::write_stdout(&script, Exit::Success)
}

const BIN: &str = "theater-replay";

/// clap_complete's bash script (4.6.12 and before: clap-rs/clap#6421) spells the state of a
/// subcommand two ways when the program's name has a dash: the loop that reads the words
/// sets `theater__replay__subcmd__verify`, the case that completes its flags waits for
/// `theater__subcmd__replay__subcmd__verify`, so no subcommand's flags ever complete. The
/// case labels are respelled as the loop spells them.
fn bash_states_fixed(script: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(script);
    let escaped = BIN.replace('-', "__");
    let misspelled = BIN.replace('-', "__subcmd__");
    text.replace(&format!("{misspelled}__subcmd__"), &format!("{escaped}__subcmd__")).into_bytes()
}
