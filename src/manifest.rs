//! theater's actor manifest (TOML), read as theater 0.3.29's `ManifestConfig` reads it:
//! `name`, `version` and `package` are required strings, unknown top-level keys are passed
//! over, and each `[[handler]]` names one of theater's handler types in `type`. A manifest
//! theater would refuse is refused here with the same reason (serde's, through the same
//! `toml` crate), so a replay never starts from a manifest the runtime could not have run.
//!
//! What a replay takes from it: the initial state (`initial_state`, passed to the actor as
//! a string Value from theater 0.3.17 on) and, for reports, which actor and handlers it
//! names. The handlers' own settings (a store's path, a server's port) shape what the real
//! host answered, which the chain already holds, so they are not read.

use std::path::Path;

/// The parts of a manifest a replay uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    pub name: String,
    pub version: String,
    /// The actor's package as written (a path or a URL; theater fetches it).
    pub package: String,
    pub initial_state: Option<String>,
    /// The handler types, in the order listed.
    pub handlers: Vec<&'static str>,
}

/// Why a manifest cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("{path}: cannot read the manifest: {error}")]
    Read { path: String, error: std::io::Error },
    #[error("{path}: not a theater manifest: {why}")]
    Invalid { path: String, why: String },
}

/// The handler types theater 0.3.29 knows (`HandlerConfig`'s `type` tags).
pub const HANDLER_TYPES: &[&str] = &[
    "message-server",
    "filesystem",
    "http-client",
    "http-framework",
    "runtime",
    "supervisor",
    "store",
    "timing",
    "process",
    "environment",
    "random",
    "wasi-http",
    "replay",
    "tcp",
    "rpc",
    "terminal",
    "timer",
    "loop",
    "podman",
];

#[derive(serde::Deserialize)]
struct Raw {
    name: String,
    version: String,
    package: String,
    initial_state: Option<String>,
    #[serde(default, rename = "handler")]
    handlers: Vec<RawHandler>,
}

#[derive(serde::Deserialize)]
struct RawHandler {
    #[serde(rename = "type")]
    kind: String,
}

impl Manifest {
    /// Parses a manifest's text; `path` names it in errors.
    pub fn parse(path: &str, text: &str) -> Result<Manifest, ManifestError> {
        let invalid = |why: String| ManifestError::Invalid { path: path.to_owned(), why };
        let raw: Raw = toml::from_str(text).map_err(|e| invalid(e.message().lines().next().unwrap_or_default().to_owned()))?;
        let handlers = raw
            .handlers
            .iter()
            .map(|h| {
                HANDLER_TYPES.iter().copied().find(|&t| t == h.kind).ok_or_else(|| {
                    invalid(format!(
                        "unknown handler type `{}` (theater 0.3.29 knows {})",
                        crate::text::clip_to(&h.kind, 60),
                        HANDLER_TYPES.join(", ")
                    ))
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Manifest { name: raw.name, version: raw.version, package: raw.package, initial_state: raw.initial_state, handlers })
    }

    /// Reads and parses the manifest at `path`.
    pub fn read(path: &Path) -> Result<Manifest, ManifestError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|error| ManifestError::Read { path: name.clone(), error })?;
        Manifest::parse(&name, &text)
    }

    /// The state theater-cli starts the actor with: `initial_state` as a string Value; `None`
    /// leaves it to the release's default.
    pub fn initial_state(&self) -> Option<crate::replay::InitialState> {
        self.initial_state.clone().map(|s| crate::replay::InitialState::Value(packr_abi::Value::String(s)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STORE_ACTOR: &str = r#"
name = "store-actor"
version = "0.1.0"
package = "store-actor.wasm"
initial_state = "golden"
static_package = false

[[handler]]
type = "runtime"

[[handler]]
type = "store"
base_path = "build/capture-store"
"#;

    #[test]
    fn a_manifest_theater_runs_is_read_whole() {
        let manifest = Manifest::parse("m.toml", STORE_ACTOR).unwrap();
        assert_eq!((manifest.name.as_str(), manifest.version.as_str(), manifest.package.as_str()), ("store-actor", "0.1.0", "store-actor.wasm"));
        assert_eq!(manifest.handlers, ["runtime", "store"]);
        assert_eq!(
            manifest.initial_state(),
            Some(crate::replay::InitialState::Value(packr_abi::Value::String("golden".into())))
        );
    }

    #[test]
    fn a_manifest_theater_refuses_is_refused_for_the_same_reason() {
        let without_version = STORE_ACTOR.replace("version = \"0.1.0\"\n", "");
        let err = Manifest::parse("m.toml", &without_version).unwrap_err().to_string();
        assert_eq!(err, "m.toml: not a theater manifest: missing field `version`");
        let unknown = STORE_ACTOR.replace("type = \"store\"", "type = \"sql\"");
        let err = Manifest::parse("m.toml", &unknown).unwrap_err().to_string();
        assert!(err.contains("unknown handler type `sql`") && err.contains("message-server"), "{err}");
        let bad_state = STORE_ACTOR.replace("initial_state = \"golden\"", "initial_state = 3");
        let err = Manifest::parse("m.toml", &bad_state).unwrap_err().to_string();
        assert!(err.contains("not a theater manifest") && !err.contains('\n'), "{err}");
        assert!(matches!(Manifest::read(Path::new("/nonexistent/m.toml")), Err(ManifestError::Read { .. })));
    }
}
