//! `theater-replay record COMPONENT --invoke 'run("hi")' -o chain.json`.

use super::{CacheArgs, Exit, Global, LimitArgs};
use crate::chain::OutputFormat;
use crate::record::{self, Answers, RecordOptions};
use crate::runtime::wasi::Sandbox;
use anyhow::Context;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// Run export calls on one instance of a component and record every event crossing its
/// boundary as a chain that `verify` can replay.
#[derive(clap::Args)]
pub struct Args {
    /// The component (.wasm, or component text format).
    #[arg(value_name = "COMPONENT")]
    component: PathBuf,
    /// An export call in WAVE, e.g. `run("hello")` or `my:pkg/api#add(1, 2)`; repeat for
    /// more calls, which run in the order given on one instance.
    #[arg(long = "invoke", value_name = "CALL", required = true)]
    invocations: Vec<String>,
    /// Answers for imports: a JSON object mapping `interface#function` (or `function` for
    /// a root import) to the WAVE results of successive calls.
    #[arg(long, value_name = "FILE")]
    answers: Option<PathBuf>,
    /// Give the guest a host directory, read-only: `HOST` or `HOST::GUEST` (the path the guest
    /// sees; default: the host path). Repeatable. Without it the guest sees no files.
    #[arg(long = "dir", value_name = "HOST[::GUEST]")]
    dirs: Vec<String>,
    /// Like `--dir`, but the guest may also write there.
    #[arg(long = "dir-rw", value_name = "HOST[::GUEST]")]
    writable_dirs: Vec<String>,
    /// Give the guest an environment variable: `NAME=VALUE`, or `NAME` for this process's
    /// value. Repeatable. Without it the guest's environment is empty.
    #[arg(long = "env", value_name = "NAME[=VALUE]")]
    env: Vec<String>,
    /// Answer WASI imports from `--answers` too, instead of serving them with the real WASI
    /// implementation (wasmtime-wasi).
    #[arg(long, conflicts_with_all = ["dirs", "writable_dirs", "env"])]
    no_wasi: bool,
    /// Where to write the chain (default: stdout). Written in full or not at all.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// `json`: a JSON array of events (theater's container); `jsonl`: one event per line.
    #[arg(long, value_enum, default_value_t = Format::Json)]
    format: Format,
    #[command(flatten)]
    cache: CacheArgs,
    #[command(flatten)]
    limits: LimitArgs,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Format {
    Json,
    Jsonl,
}

pub fn run(args: Args, _global: &Global) -> anyhow::Result<Exit> {
    let answers = match &args.answers {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("{}: cannot read", path.display()))?;
            Answers::from_json(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?
        }
        None => Answers::default(),
    };
    let runtime = args.cache.runtime()?;
    let loaded = runtime.load(&args.component)?;
    let options = RecordOptions {
        invocations: args.invocations,
        answers,
        wasi: if args.no_wasi { None } else { Some(sandbox(&args.dirs, &args.writable_dirs, &args.env)?) },
        format: match args.format {
            Format::Json => OutputFormat::JsonArray,
            Format::Jsonl => OutputFormat::JsonLines,
        },
        limits: args.limits.limits(),
    };
    let summary = match &args.output {
        None => record::record(&runtime, &loaded, Box::new(BufWriter::new(std::io::stdout())), options)?,
        Some(path) => write_whole(path, |out| record::record(&runtime, &loaded, out, options))?,
    };
    for result in &summary.results {
        eprintln!("{result}");
    }
    tracing::info!(events = summary.events, "recorded");
    Ok(Exit::Success)
}

/// The guest's sandbox from `--dir`, `--dir-rw` and `--env`.
fn sandbox(dirs: &[String], writable_dirs: &[String], env: &[String]) -> anyhow::Result<Sandbox> {
    let grant = |spec: &String, writable: bool| {
        let (host, guest) = spec.split_once("::").unwrap_or((spec, spec));
        if host.is_empty() || guest.is_empty() {
            anyhow::bail!("--dir {spec}: expected HOST or HOST::GUEST");
        }
        Ok((PathBuf::from(host), guest.to_string(), writable))
    };
    let dirs = (dirs.iter().map(|d| grant(d, false)))
        .chain(writable_dirs.iter().map(|d| grant(d, true)))
        .collect::<anyhow::Result<_>>()?;
    let env = env
        .iter()
        .map(|spec| match spec.split_once('=') {
            Some((name, value)) => Ok((name.to_string(), value.to_string())),
            None => std::env::var(spec)
                .map(|value| (spec.clone(), value))
                .map_err(|_| anyhow::anyhow!("--env {spec}: no such variable here; give NAME=VALUE")),
        })
        .collect::<anyhow::Result<_>>()?;
    Ok(Sandbox { dirs, env })
}

/// Writes through a temporary file beside `path`, renamed into place only on success, so a
/// failed recording never leaves a partial chain behind.
fn write_whole<T>(path: &Path, write: impl FnOnce(Box<dyn Write + Send>) -> anyhow::Result<T>) -> anyhow::Result<T> {
    let partial = path.with_file_name(format!(
        ".{}.partial-{}",
        path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default(),
        std::process::id()
    ));
    let file = File::create(&partial).with_context(|| format!("{}: cannot create", partial.display()))?;
    match write(Box::new(BufWriter::new(file))) {
        Ok(value) => {
            std::fs::rename(&partial, path).with_context(|| format!("{}: cannot write", path.display()))?;
            Ok(value)
        }
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sandbox_holds_exactly_what_the_flags_grant() {
        let inherited = std::env::var("PATH").expect("PATH is set for tests");
        let strings = |items: &[&str]| items.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let granted =
            sandbox(&strings(&["/srv/a::/data", "/srv/b"]), &strings(&["/tmp/out::/out"]), &strings(&["MODE=a=b", "EMPTY=", "PATH"]))
                .unwrap();
        assert_eq!(
            granted.dirs,
            [
                (PathBuf::from("/srv/a"), "/data".to_string(), false),
                (PathBuf::from("/srv/b"), "/srv/b".to_string(), false),
                (PathBuf::from("/tmp/out"), "/out".to_string(), true),
            ]
        );
        assert_eq!(
            granted.env,
            [("MODE".to_string(), "a=b".to_string()), ("EMPTY".to_string(), String::new()), ("PATH".to_string(), inherited)]
        );
        assert!(sandbox(&strings(&["::/data"]), &[], &[]).is_err());
        assert!(sandbox(&[], &strings(&["/srv::"]), &[]).is_err());
        assert!(sandbox(&[], &[], &strings(&["THEATER_REPLAY_SURELY_UNSET_VARIABLE"])).is_err());
    }
}
