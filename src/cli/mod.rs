//! The command line: one file per subcommand, each a thin layer that parses its flags,
//! calls the library and maps the typed outcome to output and an exit code.

mod accept;
mod cache;
mod check;
mod completions;
mod diff;
mod inspect;
mod man;
mod output;
mod progress;
mod record;
mod replay_flags;
mod review;
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
    /// `verify`: a chain holds no export call, so nothing was verified.
    Empty = 4,
    /// `check`: the events that could be checked are intact, but some could not be (a
    /// theater text run log without its actor's types).
    Incomplete = 5,
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
  3  a chain fails its integrity check
  4  a chain holds no export call to replay: nothing was verified (verify)")]
struct Cli {
    /// More log output on stderr: -v what the tool does (what it loaded, cache hit or miss,
    /// the chain's dialect), -vv its debug detail; wasmtime's own logs only through RUST_LOG,
    /// which overrides both.
    #[arg(short, long, action = clap::ArgAction::Count, global = true, help_heading = GLOBAL)]
    verbose: u8,
    /// No progress bar and no log output below errors.
    #[arg(short, long, global = true, help_heading = GLOBAL)]
    quiet: bool,
    /// Colour in reports: `auto` when stdout is a terminal (NO_COLOR turns it off,
    /// CLICOLOR_FORCE on), `always`, `never`.
    #[arg(long, value_enum, value_name = "WHEN", default_value_t = ColorChoice::Auto, global = true, help_heading = GLOBAL)]
    color: ColorChoice,
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
    Review(review::Args),
    Cache(cache::Args),
    Completions(completions::Args),
    Man(man::Args),
}

/// The parser's definition: every subcommand, flag and help text (for tests of the help
/// itself, and for tools that generate from it).
pub fn command() -> clap::Command {
    <Cli as clap::CommandFactory>::command()
}

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

impl ColorChoice {
    /// Whether to colour a stream that `is_terminal` or not, given the environment's
    /// NO_COLOR and CLICOLOR_FORCE. The flag wins over the environment (as no-color.org
    /// asks of command-line arguments); for `auto`, NO_COLOR (any non-empty value) wins
    /// over CLICOLOR_FORCE (any non-empty value but `0`), as cargo-nextest has it.
    pub fn resolve(self, is_terminal: bool, no_color: Option<&std::ffi::OsStr>, force: Option<&std::ffi::OsStr>) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                if no_color.is_some_and(|v| !v.is_empty()) {
                    false
                } else if force.is_some_and(|v| !v.is_empty() && v != "0") {
                    true
                } else {
                    is_terminal
                }
            }
        }
    }

    /// [`Self::resolve`] for stdout (`stdout`) or stderr, in this process's environment.
    fn for_stream(self, stdout: bool) -> bool {
        use std::io::IsTerminal;
        let terminal = if stdout { std::io::stdout().is_terminal() } else { std::io::stderr().is_terminal() };
        let (no_color, force) = (std::env::var_os("NO_COLOR"), std::env::var_os("CLICOLOR_FORCE"));
        self.resolve(terminal, no_color.as_deref(), force.as_deref())
    }
}

/// Limits on the guest, shared by `verify` and `record`.
#[derive(clap::Args)]
pub struct LimitArgs {
    /// Seconds one export call, or the actor's instantiation (its start functions), may run
    /// before it is stopped.
    #[arg(long, value_name = "SECONDS", default_value = "60", value_parser = parse_seconds)]
    timeout: std::time::Duration,
    /// MiB of linear memory the guest may hold, all its memories together.
    #[arg(long, value_name = "MIB", default_value_t = 2048)]
    max_memory: usize,
    /// Elements the guest's tables may hold, all together (each costs the host 8 bytes or so).
    #[arg(long, value_name = "N", default_value_t = crate::runtime::DEFAULT_MAX_TABLE_ELEMENTS)]
    max_table_elements: usize,
}

impl LimitArgs {
    pub fn limits(&self) -> crate::runtime::Limits {
        crate::runtime::Limits {
            timeout: self.timeout,
            max_memory_bytes: self.max_memory.saturating_mul(1 << 20),
            max_table_elements: self.max_table_elements,
        }
    }
}

/// What one event of a chain may hold, shared by the commands that read chains.
#[derive(clap::Args)]
pub struct ReadArgs {
    /// MiB one event may take in a chain's text (decompressed); a larger event is refused as
    /// it is read, with exit code 2.
    #[arg(long, value_name = "MIB", default_value_t = crate::chain::DEFAULT_MAX_EVENT_SIZE >> 20,
          value_parser = clap::value_parser!(u64).range(1..))]
    max_event_size: u64,
}

impl ReadArgs {
    pub fn options(&self) -> crate::chain::ReadOptions {
        crate::chain::ReadOptions { max_event_size: self.max_event_size.saturating_mul(1 << 20) }
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
    /// After compiling, remove the compile cache's least recently used entries until it
    /// holds at most this many MiB (`theater-replay cache` shows it).
    #[arg(long, value_name = "MIB", default_value_t = DEFAULT_CACHE_MAX_MIB, conflicts_with = "no_cache")]
    cache_max: u64,
}

/// `--cache-max`'s default: [`crate::runtime::cache::DEFAULT_MAX_BYTES`] in MiB.
const DEFAULT_CACHE_MAX_MIB: u64 = crate::runtime::cache::DEFAULT_MAX_BYTES >> 20;

impl CacheArgs {
    /// A runtime using the cache these flags ask for.
    pub fn runtime(&self) -> anyhow::Result<crate::runtime::Runtime> {
        use crate::runtime::cache::ComponentCache;
        let cache = if self.no_cache { None } else { self.cache_dir.clone().or_else(ComponentCache::default_dir) };
        let max = self.cache_max.saturating_mul(1 << 20);
        crate::runtime::Runtime::with_cache(cache.map(|dir| ComponentCache::new(dir).with_max_bytes(max)))
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
    /// How reports on stdout are coloured (`--color`, decided for stdout).
    pub style: crate::report::style::Style,
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
    init_logging(cli.verbose, cli.quiet, cli.color.for_stream(false));
    // Before anything is written: a compile cache entry is stored before any output begins.
    output::handle_signals();
    output::set_quiet(cli.quiet);
    let global = Global { quiet: cli.quiet, style: crate::report::style::Style::new(cli.color.for_stream(true)) };
    let result = match cli.command {
        Command::Check(args) => check::run(args, &global),
        Command::Inspect(args) => inspect::run(args, &global),
        Command::Diff(args) => diff::run(args, &global),
        Command::Verify(args) => verify::run(args, &global),
        Command::Record(args) => record::run(args, &global),
        Command::Pending(args) => accept::list(args, &global),
        Command::Accept(args) => accept::accept(args, &global),
        Command::Reject(args) => accept::reject(args, &global),
        Command::Review(args) => review::run(args, &global),
        Command::Cache(args) => cache::run(args, &global),
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

/// The log filter of `-v`s and `-q`: our crate's messages only (`theater_replay` targets);
/// everything else, wasmtime and cranelift included, stays at warnings unless RUST_LOG asks.
fn log_filter(verbose: u8, quiet: bool) -> &'static str {
    match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "warn,theater_replay=info",
        (false, 2) => "warn,theater_replay=debug",
        (false, _) => "warn,theater_replay=trace",
    }
}

fn init_logging(verbose: u8, quiet: bool, ansi: bool) {
    use tracing_subscriber::EnvFilter;
    let from_env = EnvFilter::try_from_default_env().ok();
    // Targets are shown when more than our own messages may appear (-vv, RUST_LOG); times
    // never: a run is short, and a line is easier to read and to compare without one.
    let targets = verbose >= 2 || from_env.is_some();
    let filter = from_env.unwrap_or_else(|| EnvFilter::new(log_filter(verbose, quiet)));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .without_time()
        .with_target(targets)
        .with_writer(|| progress::AroundBar)
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::{ColorChoice, log_filter};
    use std::ffi::OsStr;

    #[test]
    fn colour_follows_the_flag_then_no_color_then_clicolor_force_then_the_terminal() {
        let (yes, empty, zero) = (Some(OsStr::new("1")), Some(OsStr::new("")), Some(OsStr::new("0")));
        assert!(ColorChoice::Always.resolve(false, yes, None));
        assert!(!ColorChoice::Never.resolve(true, None, yes));
        assert!(ColorChoice::Auto.resolve(true, None, None));
        assert!(!ColorChoice::Auto.resolve(false, None, None));
        assert!(!ColorChoice::Auto.resolve(true, yes, None));
        assert!(ColorChoice::Auto.resolve(true, empty, None), "an empty NO_COLOR is unset");
        assert!(!ColorChoice::Auto.resolve(true, yes, yes), "NO_COLOR wins over CLICOLOR_FORCE");
        assert!(ColorChoice::Auto.resolve(false, None, yes));
        assert!(!ColorChoice::Auto.resolve(false, None, zero));
        assert!(!ColorChoice::Auto.resolve(false, None, empty));
    }

    #[test]
    fn verbosity_never_raises_other_crates() {
        assert_eq!(log_filter(0, false), "warn");
        assert_eq!(log_filter(3, true), "error");
        for v in 1..5 {
            assert!(log_filter(v, false).starts_with("warn,theater_replay="), "{v}");
        }
    }
}
