//! Flags of `verify` that say how a chain is read and what the recording left out: its
//! dialect, and a Pack actor's state before its first call.

use crate::dialect::Dialect;
use crate::dialect::release::Release;
use crate::replay::{InitialState, VerifyOptions};
use std::path::{Path, PathBuf};

#[derive(clap::Args, Debug, Clone)]
pub struct ReplayFlags {
    /// The chain's payload dialect, when it should not be detected from its first event:
    /// theater-replay-v1 (ours), theater-0.3.8-pack (theater 0.3.8-0.3.10's CGRF),
    /// theater-pack-values (theater 0.3.11-0.3.29's CGRF), or theater-component-json
    /// (theater's component-era chains).
    #[arg(long, value_name = "DIALECT", value_parser = parse_dialect)]
    dialect: Option<Dialect>,
    /// The theater release that recorded a Pack chain (e.g. `0.3.24`), where its events
    /// cannot tell: without it the replay follows the newest release the events fit, and
    /// the report says which releases those are.
    #[arg(long, value_name = "VERSION", value_parser = parse_release)]
    theater: Option<&'static Release>,
    /// A host function of your own handler that theater 0.3.29 serves synchronously
    /// (`interface.function`, e.g. `my:app/host.lookup`); theater's own handlers are known.
    /// Repeatable. Without it, such a function is answered as theater's async ones are.
    #[arg(long = "sync-import", value_name = "INTERFACE.FUNCTION")]
    sync_imports: Vec<String>,
    /// Go on past a divergence: every recorded export call is replayed from the state the
    /// recording gives it (theater's Pack chains, whose state the runtime passes in), and
    /// the report lists every call that diverged and a table per export. A component holds
    /// its own state, so its chain stops at the first divergence as without the flag.
    #[arg(long)]
    keep_going: bool,
    /// A Pack actor's state before the first recorded call, in WAVE syntax, typed by the
    /// actor's own metadata (e.g. `none`, `{count: 0}`); theater does not record it and
    /// passes `()` (0.3.8) or `none` (0.3.9 on) unless told otherwise.
    #[arg(long, value_name = "VALUE", conflicts_with = "manifest")]
    initial_state: Option<String>,
    /// Take the initial state from a theater manifest (TOML): its `initial_state` string,
    /// as theater passes it; the release's default when it has none.
    #[arg(long, value_name = "FILE")]
    manifest: Option<PathBuf>,
}

fn parse_dialect(s: &str) -> Result<Dialect, String> {
    s.parse()
}

/// A `--theater` version: the row of the release table that holds it.
pub fn parse_release(s: &str) -> Result<&'static Release, String> {
    Release::find(s)
}

impl ReplayFlags {
    /// Fills the replay settings these flags give.
    pub fn apply(&self, options: &mut VerifyOptions) -> anyhow::Result<()> {
        options.dialect = self.dialect;
        options.theater = self.theater;
        options.sync_imports = self.sync_imports.clone();
        options.keep_going = self.keep_going;
        options.initial_state = match (&self.initial_state, &self.manifest) {
            (Some(text), _) => Some(InitialState::Wave(text.clone())),
            (None, Some(manifest)) => manifest_state(manifest)?,
            (None, None) => None,
        };
        Ok(())
    }
}

/// What theater starts an actor with, given its manifest (read as theater 0.3.29 reads
/// it: see [`crate::manifest`]): `initial_state` as a string value, or (`None`) the
/// release's default.
pub(super) fn manifest_state(path: &Path) -> anyhow::Result<Option<InitialState>> {
    let manifest = crate::manifest::Manifest::read(path)?;
    tracing::info!(
        "{}: manifest of {} {} (package {}; handlers: {})",
        path.display(),
        manifest.name,
        manifest.version,
        manifest.package,
        if manifest.handlers.is_empty() { "none".to_owned() } else { manifest.handlers.join(", ") }
    );
    Ok(manifest.initial_state())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manifest_gives_its_initial_state_as_a_string() {
        let dir = tempfile::tempdir().unwrap();
        let with = dir.path().join("with.toml");
        let head = "name = \"a\"\nversion = \"0.1.0\"\npackage = \"a.wasm\"\n";
        std::fs::write(&with, format!("{head}initial_state = '{{\"n\":1}}'\n")).unwrap();
        assert_eq!(
            manifest_state(&with).unwrap(),
            Some(InitialState::Value(packr_abi::Value::String("{\"n\":1}".into())))
        );
        let without = dir.path().join("without.toml");
        std::fs::write(&without, head).unwrap();
        assert_eq!(manifest_state(&without).unwrap(), None);
        let bad = dir.path().join("bad.toml");
        std::fs::write(&bad, "initial_state = 3\n").unwrap();
        let err = manifest_state(&bad).unwrap_err().to_string();
        assert!(err.contains("not a theater manifest") && !err.contains('\n'), "{err}");
        assert!(manifest_state(&dir.path().join("missing.toml")).is_err());
    }
}
