//! The command line: one file per subcommand, each a thin layer that parses its flags,
//! calls the library and maps the typed outcome to output and an exit code.

mod accept;
mod check;
mod completions;
mod diff;
mod inspect;
mod man;
mod output;
mod record;
mod replay_flags;
mod verify;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Exit codes, the same for every command. Scripts rely on these: never renumber them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Success: the chain is intact, the chains are the same, the replay verified.
    Success = 0,
    /// The chains differ (`diff`), or the replay diverged from the recording (`verify`).
    Differ = 1,
    /// Usage error, or input that cannot be read or is malformed.
    BadInput = 2,
    /// A chain fails its integrity check (a stored hash or parent link is wrong).
    Integrity = 3,
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> ExitCode {
        ExitCode::from(exit as u8)
    }
}

/// `--version`: the tool, the chain format it writes and the wasmtime it runs guests with
/// (a test checks both against the code and Cargo.lock).
const LONG_VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    "\nchain format: theater-replay version 1 (reads theater's component-era and 0.3.8 Pack chains)",
    "\nwasmtime: 48.0.8"
);

/// The help heading of the flags every command takes, apart from its own.
const GLOBAL: &str = "Global options";

#[derive(Parser)]
#[command(name = "theater-replay", version, long_version = LONG_VERSION, about, long_about = None)]
#[command(after_help = "\
Examples:
  theater-replay record actor.wasm --invoke 'run(\"hello\")' -o golden.json
  theater-replay verify actor.wasm golden.json
  theater-replay help verify

Exit codes (the same for every command):
  0  success: intact, the same, verified
  1  the chains differ, or a replay diverged
  2  a usage error, or input that cannot be read or is malformed
  3  a chain fails its integrity check")]
struct Cli {
    /// More log output on stderr (-v info, -vv debug); RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true, help_heading = GLOBAL)]
    verbose: u8,
    /// No progress bar and no log output below errors.
    #[arg(short, long, global = true, help_heading = GLOBAL)]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    Check(check::Args),
    Inspect(inspect::Args),
    Diff(diff::Args),
    Verify(verify::Args),
    Record(record::Args),
    Pending(accept::ListArgs),
    Accept(accept::AcceptArgs),
    Reject(accept::RejectArgs),
    Completions(completions::Args),
    Man(man::Args),
}

/// The parser's definition: every subcommand, flag and help text (for tests of the help
/// itself, and for tools that generate from it).
pub fn command() -> clap::Command {
    <Cli as clap::CommandFactory>::command()
}

/// Limits on the guest, shared by `verify` and `record`.
#[derive(clap::Args)]
pub struct LimitArgs {
    /// Seconds one export call may run before it is stopped.
    #[arg(long, value_name = "SECONDS", default_value = "60", value_parser = parse_seconds)]
    timeout: std::time::Duration,
    /// MiB of linear memory the component may hold.
    #[arg(long, value_name = "MIB", default_value_t = 2048)]
    max_memory: usize,
}

impl LimitArgs {
    pub fn limits(&self) -> crate::runtime::Limits {
        crate::runtime::Limits {
            timeout: self.timeout,
            max_memory_bytes: self.max_memory.saturating_mul(1 << 20),
        }
    }
}

/// The compile cache, shared by `verify` and `record`.
#[derive(clap::Args)]
pub struct CacheArgs {
    /// Compile the component without the on-disk compile cache.
    #[arg(long)]
    no_cache: bool,
    /// Where compiled components are cached [default: $XDG_CACHE_HOME/theater-replay or
    /// ~/.cache/theater-replay].
    #[arg(long, value_name = "DIR", conflicts_with = "no_cache")]
    cache_dir: Option<std::path::PathBuf>,
}

impl CacheArgs {
    /// A runtime using the cache these flags ask for.
    pub fn runtime(&self) -> anyhow::Result<crate::runtime::Runtime> {
        use crate::runtime::cache::ComponentCache;
        let cache = if self.no_cache { None } else { self.cache_dir.clone().or_else(ComponentCache::default_dir) };
        crate::runtime::Runtime::with_cache(cache.map(ComponentCache::new))
    }
}

/// Output of the commands that report one result or one line per chain.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// For people.
    Text,
    /// For scripts: one JSON document per line, with its `schema_version`
    /// (`docs/schema/`); `jsonl` is the same.
    #[value(alias = "jsonl")]
    Json,
}

/// A positive, finite number of seconds (fractions allowed).
fn parse_seconds(text: &str) -> Result<std::time::Duration, String> {
    let seconds: f64 = text.parse().map_err(|_| format!("`{text}` is not a number of seconds"))?;
    if seconds.is_nan() || seconds <= 0.0 {
        return Err(format!("`{text}`: the timeout must be more than 0 seconds"));
    }
    std::time::Duration::try_from_secs_f64(seconds).map_err(|_| format!("`{text}`: too long a timeout"))
}

/// Settings every command shares.
pub struct Global {
    pub quiet: bool,
}

pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) if err.use_stderr() => {
            // A usage error is one line like every other error (clap's own rendering adds
            // a usage block and tips over several lines), and what it quotes is clipped.
            let line = format!("{}; see --help", crate::text::clip_to(&usage_error_line(&err), 200));
            output::stderr_line(&line);
            if asks_for_json(std::env::args_os().skip(1)) {
                json_error_text(line.strip_prefix("error: ").unwrap_or(&line));
            }
            return Exit::BadInput.into();
        }
        Err(help_or_version) => {
            // Help and version go to stdout, with success.
            let _ = help_or_version.print();
            return Exit::Success.into();
        }
    };
    init_logging(cli.verbose, cli.quiet);
    let global = Global { quiet: cli.quiet };
    let result = match cli.command {
        Command::Check(args) => check::run(args, &global),
        Command::Inspect(args) => inspect::run(args, &global),
        Command::Diff(args) => diff::run(args, &global),
        Command::Verify(args) => verify::run(args, &global),
        Command::Record(args) => record::run(args, &global),
        Command::Pending(args) => accept::list(args, &global),
        Command::Accept(args) => accept::accept(args, &global),
        Command::Reject(args) => accept::reject(args, &global),
        Command::Completions(args) => completions::run(args, &global),
        Command::Man(args) => man::run(args, &global),
    };
    match result {
        Ok(exit) => exit.into(),
        // Every error of a run, write errors included (a full disk, a refused destination:
        // see `output`), is one line and exit 2; a closed stdout is not an error at all.
        Err(err) => {
            output::stderr_line(&format!("error: {}", one_line(&err)));
            Exit::BadInput.into()
        }
    }
}

/// Whether a command line that failed to parse asked for JSON (`--format json`, or
/// `jsonl`): its usage error is then a JSON document on stdout too. Not for `record`
/// without `-o`, whose stdout is the chain.
fn asks_for_json(args: impl Iterator<Item = std::ffi::OsString>) -> bool {
    let args: Vec<String> = args.map(|a| a.to_string_lossy().into_owned()).collect();
    let json = args.iter().zip(args.iter().skip(1).map(Some).chain([None])).any(|(a, next)| {
        let value = match a.strip_prefix("--format") {
            Some("") => next.map(String::as_str),
            Some(rest) => rest.strip_prefix('='),
            None => None,
        };
        matches!(value, Some("json" | "jsonl"))
    });
    let record = args.iter().find(|a| !a.starts_with('-')).is_some_and(|a| a == "record");
    let to_file = args.iter().any(|a| a == "-o" || a.starts_with("--output") || (a.starts_with("-o") && a.len() > 2));
    json && (!record || to_file)
}

/// The first paragraph of clap's message on one line: `error: ...` and, for missing
/// arguments, the arguments it lists.
fn usage_error_line(err: &clap::Error) -> String {
    let text = err.render().to_string();
    let words: Vec<&str> = text.lines().take_while(|l| !l.trim().is_empty()).map(str::trim).collect();
    let line = words.join(" ");
    if line.starts_with("error:") { line } else { format!("error: {line}") }
}

/// Where errors go, the same for every command: one line `error: ...` on stderr, always.
/// In `--format json`, stdout also holds a JSON document whatever happened: a command that
/// fails before it has a report to print prints this one, so that a script reading stdout
/// never finds it empty.
pub fn json_error(err: &anyhow::Error) {
    json_error_text(&one_line(err));
}

/// [`json_error`] of a message.
fn json_error_text(message: &str) {
    use std::io::Write;
    let doc = crate::report::error_json(message);
    let mut stdout = std::io::stdout().lock();
    // Nothing more can be done if stdout fails too: the stderr line still says why.
    let _ = writeln!(stdout, "{doc}").and_then(|()| stdout.flush());
}

/// An error and its causes on one line, so scripts can grep it.
/// A cause whose text the message already holds (a `thiserror` message that quotes its
/// source, as most do) is not repeated: `X: No such file (os error 2)` once, not twice.
fn one_line(err: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in err.chain().map(ToString::to_string) {
        if line.contains(&cause) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&cause);
    }
    line
}

/// Colour only for a person at a terminal: a log file or a CI log gets plain text, and
/// `NO_COLOR` (https://no-color.org: any non-empty value) turns it off everywhere.
fn colour() -> bool {
    use std::io::IsTerminal;
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    !no_color && std::io::stderr().is_terminal()
}

fn init_logging(verbose: u8, quiet: bool) {
    use tracing_subscriber::EnvFilter;
    let default = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, _) => "debug",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_ansi(colour()).with_writer(std::io::stderr).try_init();
}
