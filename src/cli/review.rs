//! `review`: insta's `cargo insta review` for pending chains. Each `<chain>.new` is checked
//! for integrity, then its changes are shown event by event; on a terminal a key says what
//! becomes of it (accept and reject are `accept`'s and `reject`'s own code). Anywhere else
//! nothing is asked and nothing changes: scripts read the listing (`--format json`) and run
//! `accept` or `reject` on the chains they choose.

use super::accept::{self, PendingArgs};
use super::output;
use super::verify::most_severe;
use super::{Exit, Format, Global};
use crate::report::review as render;
use crate::review::{self, ReviewError};

/// Review pending chains (`<chain>.new`): the events each adds, removes and changes, then
/// accept, reject or skip it.
#[derive(clap::Args)]
#[command(after_help = "\
Each pending chain's integrity is checked first: a .new that fails it is refused (BROKEN)
before anything of it is shown. Then the events it changes, adds and removes are listed,
decoded, with the paths where a changed event's values differ (the recording header, which
names the build, is not compared).

On a terminal (stdin, stdout and stderr all terminals), a key is asked for each chain:
  a  accept: put it in place of its chain (as `accept`)
  r  reject: delete it, keep the chain (as `reject`)
  s  skip: leave it pending
  q  skip it and stop: the chains after it are not shown, and stay pending
Anywhere else, and with --format json, nothing is asked and every chain stays pending: a
script reads the listing and runs `accept` or `reject` on the chains it chooses.

Examples:
  theater-replay review
  theater-replay review golden/ --format json | jq -c '{pending, changed, added, removed}'
  theater-replay review golden/b.json --color never | less

Exit codes:
  0  every pending chain was shown (and every answer carried out)
  2  a pending chain or its chain cannot be read, or an answer could not be carried out
     (it stays pending), or a usage error
  3  a pending chain fails its integrity check: refused, left as it is")]
pub struct Args {
    #[command(flatten)]
    pending: PendingArgs,
}

/// An answer for one chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    Accept,
    Reject,
    Skip,
    /// Skip this chain and the rest.
    Quit,
}

pub fn run(args: Args, global: &Global) -> anyhow::Result<Exit> {
    accept::json_errors(args.pending.format, review_pending(&args, global))
}

fn review_pending(args: &Args, global: &Global) -> anyhow::Result<Exit> {
    let format = args.pending.format;
    let found = args.pending.find()?;
    // Asked only where a person sees the changes and can answer (`review | less` is read,
    // not answered).
    let ask = format == Format::Text && on_terminal();
    let mut exit = Exit::Success;
    // Chains shown that could have been answered (not refused, not unreadable).
    let mut shown_any = false;
    for (i, p) in found.iter().enumerate() {
        let (chain, new) = (p.chain.display().to_string(), p.new.display().to_string());
        let shown = match review::review(p) {
            Ok(review) => match format {
                Format::Text => render::human(&chain, &new, &review, global.style),
                Format::Json => format!("{}\n", render::json(&chain, &new, &review)),
            },
            Err(ReviewError::Broken { broken, .. }) => {
                exit = most_severe(exit, Exit::Integrity);
                let line = match format {
                    Format::Text => render::human_broken(&chain, &new, &broken, global.style),
                    Format::Json => format!("{}\n", render::json_broken(&chain, &new, &broken)),
                };
                exit = output::write_stdout(line.as_bytes(), exit)?;
                continue;
            }
            Err(ReviewError::Chain(e)) => {
                output::stderr_line(&format!("error: {e}"));
                exit = most_severe(exit, Exit::BadInput);
                if format == Format::Json {
                    let line = format!("{}\n", render::json_error(&chain, &new, &e.to_string()));
                    exit = output::write_stdout(line.as_bytes(), exit)?;
                }
                continue;
            }
        };
        // Written chain by chain: a person reads each before answering.
        exit = output::write_stdout(shown.as_bytes(), exit)?;
        shown_any = true;
        if !ask {
            continue;
        }
        let answer = prompt(i + 1, found.len(), &chain)?;
        let quit = answer == Answer::Quit;
        let done = match answer {
            Answer::Accept => accept::accept_one(p).map(|()| format!("accepted {chain}")),
            Answer::Reject => accept::reject_one(p).map(|()| format!("rejected {chain}")),
            Answer::Skip => Ok(format!("skipped {chain}: still pending")),
            Answer::Quit => {
                let rest = found.len() - i - 1;
                Ok(match rest {
                    0 => format!("skipped {chain}: still pending"),
                    n => format!("skipped {chain} and the {n} after it: still pending"),
                })
            }
        };
        match done {
            Ok(line) => exit = output::write_stdout(format!("{}\n", crate::text::escape(&line)).as_bytes(), exit)?,
            Err(e) => {
                output::stderr_line(&format!("error: {}", super::one_line(&e)));
                exit = most_severe(exit, Exit::BadInput);
            }
        }
        if quit {
            // Nothing after it is read or shown: a person who stops has seen enough.
            break;
        }
    }
    if found.is_empty() && format == Format::Text {
        output::stderr_line("no pending chains");
    } else if format == Format::Text && !ask && shown_any && !global.quiet {
        output::stderr_line(
            "nothing asked (not a terminal): every chain stays pending; `theater-replay accept` or `reject` them",
        );
    }
    Ok(exit)
}

/// Whether a person is there to answer: stdin, stdout and stderr are terminals.
fn on_terminal() -> bool {
    use std::io::IsTerminal;
    std::io::stdin().is_terminal() && std::io::stdout().is_terminal() && std::io::stderr().is_terminal()
}

/// Asks for the answer for chain `n` of `of` on stderr, one key (no Enter), until one of
/// the answers is pressed. Ctrl-C (a key here: the terminal is in raw mode) is raised as
/// SIGINT, so the run ends as any run does on Ctrl-C, the chain left pending; the end of
/// input (Ctrl-D, the terminal gone) skips the rest.
fn prompt(n: usize, of: usize, chain: &str) -> anyhow::Result<Answer> {
    use console::Key;
    let term = console::Term::stderr();
    let question =
        format!("{} ({n} of {of}): a accept, r reject, s skip, q skip the rest > ", crate::text::escape(chain));
    term.write_str(&question)?;
    let answer = loop {
        let key = match term.read_key_raw() {
            Ok(key) => key,
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => break Answer::Quit,
            Err(e) => return Err(anyhow::Error::new(e).context("cannot read the answer from the terminal")),
        };
        match key {
            Key::Char('a' | 'A') => break Answer::Accept,
            Key::Char('r' | 'R') => break Answer::Reject,
            Key::Char('s' | 'S') => break Answer::Skip,
            Key::Char('q' | 'Q' | '\x04') | Key::Escape => break Answer::Quit,
            Key::CtrlC => {
                // Off the question's line first, then the run ends as on any Ctrl-C (the
                // signal's handler cleans up and dies of it), the chain left pending.
                term.write_line("")?;
                signal_hook::low_level::raise(signal_hook::consts::SIGINT)?;
                loop {
                    std::thread::park();
                }
            }
            _ => {}
        }
    };
    let word = match answer {
        Answer::Accept => "accept",
        Answer::Reject => "reject",
        Answer::Skip => "skip",
        Answer::Quit => "skip the rest",
    };
    term.write_line(word)?;
    Ok(answer)
}
