//! `theater-replay man [COMMAND]`: the manual pages (roff), one for the program and one per
//! subcommand, as `theater-replay(1)` cites them (`theater-replay-verify(1)`, ...).

use super::{Exit, Global, output};
use anyhow::Context;
use clap::CommandFactory;
use std::io::Write;
use std::path::PathBuf;

/// Print a manual page: the program's, or with COMMAND that command's with all its flags,
/// e.g. `theater-replay man verify > theater-replay-verify.1 && man ./theater-replay-verify.1`.
#[derive(clap::Args)]
#[command(after_help = "\
Examples:
  theater-replay man > theater-replay.1 && man ./theater-replay.1
  theater-replay man verify | man -l -
  theater-replay man --dir ~/.local/share/man/man1

Exit codes:
  0  the page was printed (or the pages written)
  2  a usage error (an unknown command), or a page that cannot be written")]
pub struct Args {
    /// The command whose page to print (verify, record, ...); without it, the program's.
    #[arg(value_name = "COMMAND", conflicts_with = "dir")]
    command: Option<String>,
    /// Write every page into DIR instead (theater-replay.1, theater-replay-verify.1, ...),
    /// each written whole or not at all.
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
}

pub fn run(args: Args, _global: &Global) -> anyhow::Result<Exit> {
    let mut program = super::Cli::command().disable_help_subcommand(true);
    // Gives each subcommand its display name, `theater-replay-verify`: its page's title
    // and file name, and the name the program's page cites.
    program.build();
    let pages = std::iter::once(program.clone()).chain(program.get_subcommands().cloned()).collect::<Vec<_>>();
    if let Some(dir) = &args.dir {
        for page in pages {
            let man = man(page);
            let path = dir.join(man.get_filename());
            output::write_file(&path, &output::Inputs::default(), |mut out| {
                man.render(&mut out)?;
                Ok(out.flush()?)
            })
            .with_context(|| format!("{}: cannot write the manual page", path.display()))?;
        }
        return Ok(Exit::Success);
    }
    let page = match &args.command {
        None => program,
        Some(name) => pages.into_iter().skip(1).find(|c| c.get_name() == name).ok_or_else(|| {
            let names: Vec<_> = program.get_subcommands().map(|c| c.get_name()).collect();
            anyhow::anyhow!("man: no command `{}`; one of: {}", crate::text::clip(name), names.join(", "))
        })?,
    };
    let mut text = Vec::new();
    man(page).render(&mut text)?;
    output::write_stdout(&text, Exit::Success)
}

/// A page of `command`, whose source line names the program and its version (a subcommand
/// has no version of its own).
fn man(command: clap::Command) -> clap_mangen::Man {
    clap_mangen::Man::new(command).source(format!("theater-replay {}", env!("CARGO_PKG_VERSION")))
}
