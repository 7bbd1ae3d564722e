//! On-disk cache of compiled components, so that a CI job replaying hundreds of golden chains
//! does not pay for Cranelift on every run.
//!
//! An entry is wasmtime's precompiled artifact for one component under one engine
//! configuration. Its file name is a SHA-256 over the component's bytes and everything that
//! makes an artifact usable by an engine (`Engine::precompile_compatibility_hash`: target,
//! compiler flags, tunables, wasm features, wasmtime version), so a changed component, flag or
//! upgrade simply misses.
//!
//! Deserializing an artifact is `unsafe` in wasmtime: it is machine code that is mapped and
//! run as is. An entry is therefore never trusted on its name alone. Each file starts with a
//! magic string and the SHA-256 of the artifact that follows; the file is read once, the
//! digest checked on those very bytes, and only then handed to wasmtime (no window in which
//! the file could change between check and use). A short, torn, truncated or altered entry
//! fails the check, is logged, recompiled and overwritten. Entries are written to a temporary
//! file and renamed into place, so a reader (another shard on the same machine) sees a whole
//! old entry or a whole new one, never half of one.
//!
//! The cache is an optimisation only: when its directory cannot be created or written, the
//! component is compiled as if there were no cache, with a warning.

use super::{Actor, ActorKind, LoadError, Loaded};
use sha2::{Digest, Sha256};
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};
use wasmtime::component::Component;
use wasmtime::{Engine, Module};

/// The first bytes of every entry; bump the version when the layout changes.
const MAGIC: &[u8; 16] = b"theater-replay\x00\x01";
const DIGEST_LEN: usize = 32;

/// Where compiled components are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentCache {
    dir: PathBuf,
}

/// How a component was obtained, for logs and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheOutcome {
    /// A valid entry was found and deserialized.
    Hit,
    /// No entry: compiled, and stored when the cache is writable.
    Miss,
    /// An entry was found but failed its check (or wasmtime refused it): compiled anew and
    /// the entry replaced.
    Rebuilt,
}

impl ComponentCache {
    pub fn new(dir: impl Into<PathBuf>) -> ComponentCache {
        ComponentCache { dir: dir.into() }
    }

    /// `$XDG_CACHE_HOME/theater-replay`, else `~/.cache/theater-replay`; `None` when neither
    /// variable is set (no cache rather than a surprising directory).
    pub fn default_dir() -> Option<PathBuf> {
        let nonempty = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
        nonempty("XDG_CACHE_HOME")
            .or_else(|| nonempty("HOME").map(|home| home.join(".cache")))
            .map(|base| base.join("theater-replay"))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file an entry for `component_sha256` under `engine` lives in.
    pub fn entry_path(&self, engine: &Engine, component_sha256: &str) -> PathBuf {
        let mut key = Sha256Hasher(Sha256::new());
        // Domain-separate our key from any other use of the same digest.
        key.write(MAGIC);
        key.write(component_sha256.as_bytes());
        engine.precompile_compatibility_hash().hash(&mut key);
        self.dir.join(format!("{}.cwasm", hex::encode(key.0.finalize())))
    }

    /// Reads `path` and returns its compiled component, from the cache when a valid entry
    /// exists, otherwise compiled and stored.
    pub fn load(&self, engine: &Engine, path: &Path) -> Result<(Loaded, CacheOutcome), LoadError> {
        let (bytes, sha256) = super::read_component(path)?;
        let (kind, _) = super::actor_kind(&bytes, path)?;
        let entry = self.entry_path(engine, &sha256);
        let found = match std::fs::read(&entry) {
            Ok(data) => Some(data),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => {
                tracing::warn!("compile cache: cannot read {}: {e}; compiling", entry.display());
                None
            }
        };
        let outcome = match found {
            None => CacheOutcome::Miss,
            Some(data) => match open_entry(engine, &data, kind, path) {
                Ok(actor) => {
                    tracing::debug!("compile cache: hit {}", entry.display());
                    return Ok((Loaded { actor, bytes: bytes.into(), sha256 }, CacheOutcome::Hit));
                }
                Err(why) => {
                    tracing::warn!("compile cache: ignoring {}: {why}; compiling it anew", entry.display());
                    CacheOutcome::Rebuilt
                }
            },
        };
        let actor = super::compile_bytes(engine, &bytes, path)?;
        if let Err(e) = self.store(&entry, &actor) {
            tracing::warn!("compile cache: cannot write {}: {e}", entry.display());
        }
        Ok((Loaded { actor, bytes: bytes.into(), sha256 }, outcome))
    }

    /// Writes an entry atomically: a temporary file in the same directory, renamed over the
    /// entry, so concurrent runs never see a partial file.
    fn store(&self, entry: &Path, actor: &Actor) -> anyhow::Result<()> {
        let artifact = match actor {
            Actor::Component(component) => component.serialize()?,
            Actor::Pack(pack) => pack.module.serialize()?,
        };
        std::fs::create_dir_all(&self.dir)?;
        let (tmp, mut file) = tempfile_in(&self.dir)?;
        let written = file
            .write_all(MAGIC)
            .and_then(|()| file.write_all(&Sha256::digest(&artifact)))
            .and_then(|()| file.write_all(&artifact))
            .and_then(|()| file.flush());
        drop(file);
        let result = written.and_then(|()| std::fs::rename(&tmp, entry));
        if result.is_err() {
            // Leave no half-written temporary behind (a full disk is the usual cause).
            let _ = std::fs::remove_file(&tmp);
        }
        Ok(result?)
    }
}

/// Checks an entry's magic and digest, then deserializes the artifact as the `kind` of actor
/// its source is (an artifact of the other kind is refused by wasmtime: rebuilt).
fn open_entry(engine: &Engine, data: &[u8], kind: ActorKind, path: &Path) -> Result<Actor, String> {
    let rest = data.strip_prefix(MAGIC.as_slice()).ok_or("not a theater-replay cache entry (bad header)")?;
    if rest.len() < DIGEST_LEN {
        return Err("truncated entry".to_string());
    }
    let (digest, artifact) = rest.split_at(DIGEST_LEN);
    if Sha256::digest(artifact).as_slice() != digest {
        return Err("the artifact does not match its SHA-256 (corrupted)".to_string());
    }
    // SAFETY: `artifact` is exactly the bytes this program wrote from `Component::serialize`
    // (its SHA-256, stored when it was written, was just checked on this in-memory copy, which
    // nothing else can change). wasmtime itself refuses artifacts built for another engine
    // configuration or version; the key also includes both.
    let refused = |e: wasmtime::Error| format!("wasmtime refused it: {e}");
    match kind {
        ActorKind::Component => unsafe { Component::deserialize(engine, artifact) }.map(Actor::Component).map_err(refused),
        ActorKind::Pack => {
            // SAFETY: as above, for a module's artifact.
            let module = unsafe { Module::deserialize(engine, artifact) }.map_err(refused)?;
            super::pack_actor(module, path).map_err(|e| e.to_string())
        }
    }
}

/// A uniquely named new file in `dir` (create_new, so two writers never share one).
fn tempfile_in(dir: &Path) -> std::io::Result<(PathBuf, std::fs::File)> {
    let pid = std::process::id();
    for attempt in 0u32..1000 {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
        let path = dir.join(format!(".tmp-{pid}-{nanos}-{attempt}"));
        match std::fs::OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(file) => return Ok((path, file)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::other("cannot create a temporary file"))
}

/// Feeds `Hash` impls into SHA-256, so the key is the same in every process (std's
/// `DefaultHasher` is not guaranteed stable across Rust releases or seeded runs).
struct Sha256Hasher(Sha256);

impl Hasher for Sha256Hasher {
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    fn finish(&self) -> u64 {
        // Only `write` is used: the key is the full digest, taken with `finalize`.
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WAT: &str = "(component (core module (func (export \"f\"))))";

    fn setup() -> (tempfile::TempDir, PathBuf, Engine) {
        let dir = tempfile::tempdir().unwrap();
        let component = dir.path().join("c.wat");
        std::fs::write(&component, WAT).unwrap();
        (dir, component, super::super::new_engine().unwrap())
    }

    #[test]
    fn miss_then_hit_then_rebuild_after_corruption() {
        let (dir, component, engine) = setup();
        let cache = ComponentCache::new(dir.path().join("cache"));
        let (first, outcome) = cache.load(&engine, &component).unwrap();
        assert_eq!(outcome, CacheOutcome::Miss);
        let (second, outcome) = cache.load(&engine, &component).unwrap();
        assert_eq!(outcome, CacheOutcome::Hit);
        assert_eq!(first.sha256, second.sha256);

        let entry = cache.entry_path(&engine, &first.sha256);
        let mut data = std::fs::read(&entry).unwrap();
        let last = data.len() - 1;
        data[last] ^= 0xff;
        std::fs::write(&entry, &data).unwrap();
        assert_eq!(cache.load(&engine, &component).unwrap().1, CacheOutcome::Rebuilt);
        assert_eq!(cache.load(&engine, &component).unwrap().1, CacheOutcome::Hit);

        for garbage in [&b""[..], &b"junk"[..], &MAGIC[..], &[MAGIC.as_slice(), &[0u8; 40]].concat()[..]] {
            std::fs::write(&entry, garbage).unwrap();
            assert_eq!(cache.load(&engine, &component).unwrap().1, CacheOutcome::Rebuilt);
        }
    }

    #[test]
    fn key_depends_on_component_and_engine() {
        let (_dir, _component, engine) = setup();
        let cache = ComponentCache::new("/nowhere");
        assert_ne!(cache.entry_path(&engine, "aa"), cache.entry_path(&engine, "bb"));
        assert_eq!(cache.entry_path(&engine, "aa"), cache.entry_path(&super::super::new_engine().unwrap(), "aa"));
        let mut config = wasmtime::Config::new();
        config.cranelift_nan_canonicalization(false);
        let other = Engine::new(&config).unwrap();
        assert_ne!(cache.entry_path(&engine, "aa"), cache.entry_path(&other, "aa"));
    }

    #[test]
    fn unwritable_cache_still_loads() {
        let (dir, component, engine) = setup();
        // A file where the directory should be: create_dir_all fails.
        let blocker = dir.path().join("blocker");
        std::fs::write(&blocker, "").unwrap();
        let cache = ComponentCache::new(blocker.join("cache"));
        assert_eq!(cache.load(&engine, &component).unwrap().1, CacheOutcome::Miss);
    }
}
