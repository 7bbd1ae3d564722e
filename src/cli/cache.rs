//! `theater-replay cache [clean]`: what the compile cache holds, and emptying it.

use super::progress::bytes;
use super::{Exit, Global, output};
use crate::runtime::cache::ComponentCache;
use anyhow::Context;
use std::path::PathBuf;

/// Show the compile cache (where it is, its entries and their size, its cap), or empty it.
/// `verify` and `record` keep each compiled actor there, so that the next run of it loads
/// in a moment instead of compiling again; after each store the least recently used entries
/// are removed down to the cap (`--cache-max`).
#[derive(clap::Args)]
#[command(disable_help_subcommand = true)]
#[command(after_help = "\
Examples:
  theater-replay cache
  theater-replay cache clean
  theater-replay cache --cache-dir ci-cache/ clean

Exit codes:
  0  shown, or emptied
  2  the directory cannot be read or an entry removed, or a usage error")]
pub struct Args {
    #[command(subcommand)]
    action: Option<Action>,
    /// The cache directory [default: $XDG_CACHE_HOME/theater-replay or ~/.cache/theater-replay].
    #[arg(long, value_name = "DIR", global = true)]
    cache_dir: Option<PathBuf>,
    /// The cap `verify` and `record` trim the cache to, in MiB (shown here; give it to them).
    #[arg(long, value_name = "MIB", default_value_t = super::DEFAULT_CACHE_MAX_MIB, global = true)]
    cache_max: u64,
}

#[derive(clap::Subcommand)]
enum Action {
    /// Remove every compiled component (the next run of each compiles it again).
    Clean,
}

pub fn run(args: Args, _global: &Global) -> anyhow::Result<Exit> {
    let Some(dir) = args.cache_dir.clone().or_else(ComponentCache::default_dir) else {
        anyhow::bail!("no cache directory: neither XDG_CACHE_HOME nor HOME is set; give --cache-dir");
    };
    let cache = ComponentCache::new(&dir).with_max_bytes(args.cache_max.saturating_mul(1 << 20));
    let line = match args.action {
        None => {
            let usage = cache.usage().with_context(|| format!("{}: cannot read the cache", dir.display()))?;
            let entries = if usage.entries == 1 { "entry" } else { "entries" };
            format!(
                "{}: {} {entries}, {} (cap {})\n",
                crate::text::escape(&dir.display().to_string()),
                usage.entries,
                bytes(usage.bytes),
                bytes(cache.max_bytes())
            )
        }
        Some(Action::Clean) => {
            let removed = cache.clean().with_context(|| format!("{}: cannot empty the cache", dir.display()))?;
            let entries = if removed.entries == 1 { "entry" } else { "entries" };
            format!(
                "{}: removed {} {entries}, {}\n",
                crate::text::escape(&dir.display().to_string()),
                removed.entries,
                bytes(removed.bytes)
            )
        }
    };
    output::write_stdout(line.as_bytes(), Exit::Success)
}
