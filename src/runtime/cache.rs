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
//! magic string, the SHA-256 of the component it was compiled from, the engine key (a
//! SHA-256 of the engine's compatibility hash), then a SHA-256 over all of those and the
//! artifact that follows; the file is read once, the digest checked on those very bytes,
//! the component and engine checked to be the ones being loaded, and only then is it handed
//! to wasmtime (no window in which the file could change between check and use). A short,
//! torn, truncated or altered entry fails the check, and so does another component's entry
//! copied over this one's (its digest is intact, but it binds the other component): each is
//! logged, recompiled and overwritten. Entries are written to a temporary
//! file and renamed into place, so a reader (another shard on the same machine) sees a whole
//! old entry or a whole new one, never half of one.
//!
//! A checksum guards against corruption, not against whoever can write the directory: they
//! could plant an entry with a matching digest. So the trust boundary is the owner. The
//! directory is created 0700 and entries 0600; a directory or an entry that is not owned by
//! the user running us, or that group or others may write, is never loaded (a warning, and
//! the component is compiled; an untrusted directory is not written either). Entries are
//! opened without following a symbolic link, and replaced by rename, which replaces a link
//! rather than writing through it.
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

/// The first bytes of every entry; bump the version when the layout changes. Version 2
/// binds the component and the engine inside what the digest covers (version 1 entries
/// fail the header check and are rebuilt).
const MAGIC: &[u8; 16] = b"theater-replay\x00\x02";
const DIGEST_LEN: usize = 32;
/// After the magic: the component's SHA-256, the engine key, the digest of everything.
const HEADER_LEN: usize = MAGIC.len() + 3 * DIGEST_LEN;
/// Entries being written: `.tmp-<pid>-<nanos>-<attempt>`.
const TMP_PREFIX: &str = ".tmp-";

/// Where compiled components are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentCache {
    dir: PathBuf,
    /// The size the entries are trimmed to after each store, oldest used first.
    max_bytes: u64,
}

/// The default cap on a cache's entries, as wasmtime's own cache caps its files (512 MiB
/// there): an 18 MB Python actor compiles to about 60 MB, so this keeps a few dozen.
pub const DEFAULT_MAX_BYTES: u64 = 1 << 30;

/// What a cache directory holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Entries (compiled components), and temporary files a killed run left.
    pub entries: u64,
    /// Their total size.
    pub bytes: u64,
}

/// A file of the cache: an entry (`<hex>.cwasm`) or a left-over temporary (`.tmp-*`).
struct CacheFile {
    path: PathBuf,
    bytes: u64,
    used: std::time::SystemTime,
    entry: bool,
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
    /// The directory or the entry is not the user's own (another owner, writable by group or
    /// others, a symbolic link): not loaded, compiled anew (and replaced if the directory is
    /// trusted).
    Untrusted,
}

impl ComponentCache {
    pub fn new(dir: impl Into<PathBuf>) -> ComponentCache {
        ComponentCache { dir: dir.into(), max_bytes: DEFAULT_MAX_BYTES }
    }

    /// The same cache, trimmed to `max_bytes` after each store.
    pub fn with_max_bytes(self, max_bytes: u64) -> ComponentCache {
        ComponentCache { max_bytes, ..self }
    }

    pub fn max_bytes(&self) -> u64 {
        self.max_bytes
    }

    /// The cache's files that are ours to count and remove: regular files of this user
    /// named as entries or temporaries (nothing else in the directory is touched).
    fn files(&self) -> std::io::Result<Vec<CacheFile>> {
        use std::os::unix::fs::MetadataExt;
        // SAFETY: geteuid has no preconditions and cannot fail.
        let me = unsafe { libc::geteuid() };
        let listing = match std::fs::read_dir(&self.dir) {
            Ok(listing) => listing,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut files = Vec::new();
        for item in listing {
            let item = item?;
            let name = item.file_name();
            let name = name.to_string_lossy();
            let entry = name.ends_with(".cwasm");
            if !entry && !name.starts_with(".tmp-") {
                continue;
            }
            // symlink_metadata: a link is not followed, and not ours to count.
            let Ok(meta) = item.path().symlink_metadata() else { continue };
            if !meta.is_file() || meta.uid() != me {
                continue;
            }
            let used = meta.modified().unwrap_or(std::time::UNIX_EPOCH);
            files.push(CacheFile { path: item.path(), bytes: meta.len(), used, entry });
        }
        Ok(files)
    }

    /// How many entries the cache holds and their size.
    pub fn usage(&self) -> std::io::Result<Usage> {
        Ok(self
            .files()?
            .iter()
            .fold(Usage::default(), |u, f| Usage { entries: u.entries + 1, bytes: u.bytes + f.bytes }))
    }

    /// Removes every entry (and left-over temporary); returns what was removed.
    pub fn clean(&self) -> std::io::Result<Usage> {
        let mut removed = Usage::default();
        for file in self.files()? {
            match std::fs::remove_file(&file.path) {
                Ok(()) => removed = Usage { entries: removed.entries + 1, bytes: removed.bytes + file.bytes },
                // Another run removed it first.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        Ok(removed)
    }

    /// Removes the least recently used entries until the cache is within its cap, `keep`
    /// (the entry just stored) last of all: it is never removed. A hit marks an entry used.
    fn trim(&self, keep: &Path) -> std::io::Result<()> {
        let mut files = self.files()?;
        let mut total: u64 = files.iter().map(|f| f.bytes).sum();
        // Temporaries first (a killed run's), then entries by last use, oldest first.
        files.sort_by_key(|f| (f.entry, f.used));
        for file in files.iter().filter(|f| f.path != keep) {
            if total <= self.max_bytes {
                break;
            }
            // A temporary younger than a minute may be another run's store under way.
            let fresh = !file.entry && file.used.elapsed().is_ok_and(|age| age.as_secs() < 60);
            if fresh {
                continue;
            }
            match std::fs::remove_file(&file.path) {
                Ok(()) => {
                    tracing::debug!("compile cache: removed {} (over {} bytes)", file.path.display(), self.max_bytes)
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
            total -= file.bytes;
        }
        Ok(())
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
        let mut key = Sha256::new();
        // Domain-separate our key from any other use of the same digest.
        key.update(MAGIC);
        key.update(component_sha256.as_bytes());
        key.update(engine_key(engine));
        self.dir.join(format!("{}.cwasm", hex::encode(key.finalize())))
    }

    /// Reads `path` and returns its compiled component, from the cache when a valid entry
    /// exists, otherwise compiled and stored.
    pub fn load(&self, engine: &Engine, path: &Path) -> Result<(Loaded, CacheOutcome), LoadError> {
        let (bytes, sha256) = super::read_component(path)?;
        let (kind, _) = super::actor_kind(&bytes, path)?;
        let entry = self.entry_path(engine, &sha256);
        if let Some(why) = untrusted_dir(&self.dir) {
            tracing::warn!("compile cache: not using {}: {why}; compiling without the cache", self.dir.display());
            let actor = super::compile_bytes(engine, &bytes, path)?;
            return Ok((Loaded { actor, bytes: bytes.into(), sha256 }, CacheOutcome::Untrusted));
        }
        sweep_stale(&self.dir);
        let binding = Binding { component: hex::decode(&sha256).unwrap_or_default(), engine: engine_key(engine) };
        let found = match read_entry(&entry) {
            Ok(data) => Some(Ok(data)),
            Err(Unread::Missing) => None,
            Err(Unread::Untrusted(why)) => {
                tracing::warn!("compile cache: not loading {}: {why}; compiling it anew", entry.display());
                Some(Err(()))
            }
            Err(Unread::Io(e)) => {
                tracing::warn!("compile cache: cannot read {}: {e}; compiling", entry.display());
                None
            }
        };
        let outcome = match found {
            None => {
                tracing::debug!("compile cache: miss {}", entry.display());
                CacheOutcome::Miss
            }
            Some(Err(())) => CacheOutcome::Untrusted,
            Some(Ok(data)) => match open_entry(engine, &data, &binding, kind, path, &bytes) {
                Ok(actor) => {
                    tracing::debug!("compile cache: hit {}", entry.display());
                    touch(&entry);
                    return Ok((Loaded { actor, bytes: bytes.into(), sha256 }, CacheOutcome::Hit));
                }
                Err(why) => {
                    tracing::warn!("compile cache: ignoring {}: {why}; compiling it anew", entry.display());
                    CacheOutcome::Rebuilt
                }
            },
        };
        let actor = super::compile_bytes(engine, &bytes, path)?;
        match self.store(&entry, &binding, &actor) {
            Ok(()) => {
                tracing::debug!("compile cache: stored {}", entry.display());
                if let Err(e) = self.trim(&entry) {
                    tracing::warn!("compile cache: cannot trim {} to its cap: {e}", self.dir.display());
                }
            }
            Err(e) => tracing::warn!("compile cache: cannot write {}: {e}", entry.display()),
        }
        Ok((Loaded { actor, bytes: bytes.into(), sha256 }, outcome))
    }

    /// Writes an entry atomically: a temporary file in the same directory, renamed over the
    /// entry, so concurrent runs never see a partial file.
    fn store(&self, entry: &Path, binding: &Binding, actor: &Actor) -> anyhow::Result<()> {
        let artifact = match actor {
            Actor::Component(component) => component.serialize()?,
            Actor::Pack(pack) => pack.module.serialize()?,
        };
        // Owner-only: what is in here is run as machine code.
        std::os::unix::fs::DirBuilderExt::mode(std::fs::DirBuilder::new().recursive(true), 0o700).create(&self.dir)?;
        if let Some(why) = untrusted_dir(&self.dir) {
            anyhow::bail!("{why}");
        }
        let (tmp, mut file) = tempfile_in(&self.dir)?;
        let written = file
            .write_all(MAGIC)
            .and_then(|()| file.write_all(&binding.component))
            .and_then(|()| file.write_all(&binding.engine))
            .and_then(|()| file.write_all(&binding.digest(&artifact)))
            .and_then(|()| file.write_all(&artifact))
            .and_then(|()| file.flush());
        drop(file);
        let mut live = crate::tempfiles::lock();
        let result = written.and_then(|()| std::fs::rename(&tmp, entry));
        if result.is_err() {
            // Leave no half-written temporary behind (a full disk is the usual cause).
            let _ = std::fs::remove_file(&tmp);
        }
        live.forget(&tmp);
        Ok(result?)
    }
}

/// What an entry is for: the component's SHA-256 and the engine's key. Both are inside the
/// entry and under its digest, so an entry is only ever loaded for the very component and
/// engine it was compiled from, whatever file name it is found under.
struct Binding {
    component: Vec<u8>,
    engine: [u8; DIGEST_LEN],
}

impl Binding {
    /// The digest an entry stores: over the magic, both bindings and the artifact.
    fn digest(&self, artifact: &[u8]) -> [u8; DIGEST_LEN] {
        let mut digest = Sha256::new();
        digest.update(MAGIC);
        digest.update(&self.component);
        digest.update(self.engine);
        digest.update(artifact);
        digest.finalize().into()
    }
}

/// A SHA-256 of the engine's compatibility hash (target, compiler flags, tunables, wasm
/// features, wasmtime version).
fn engine_key(engine: &Engine) -> [u8; DIGEST_LEN] {
    let mut key = Sha256Hasher(Sha256::new());
    engine.precompile_compatibility_hash().hash(&mut key);
    key.0.finalize().into()
}

enum Unread {
    Missing,
    Untrusted(String),
    Io(std::io::Error),
}

/// Why a file's owner and mode make it unfit to hold code we run, if they do.
fn untrusted(meta: &std::fs::Metadata) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    if meta.uid() != me {
        return Some(format!("owned by uid {}, not by this user (uid {me})", meta.uid()));
    }
    if meta.mode() & 0o022 != 0 {
        return Some(format!("writable by group or others (mode {:o})", meta.mode() & 0o7777));
    }
    None
}

fn untrusted_dir(dir: &Path) -> Option<String> {
    match std::fs::metadata(dir) {
        // Not there yet: `store` creates it owner-only.
        Err(_) => None,
        Ok(meta) => untrusted(&meta),
    }
}

/// The entry's bytes, read from a file opened without following a link and checked, on
/// the open file itself, to be a regular file of ours that no one else may write.
fn read_entry(entry: &Path) -> Result<Vec<u8>, Unread> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = match std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NOFOLLOW).open(entry) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(Unread::Missing),
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => return Err(Unread::Untrusted("a symbolic link".into())),
        Err(e) => return Err(Unread::Io(e)),
    };
    let meta = file.metadata().map_err(Unread::Io)?;
    if !meta.is_file() {
        return Err(Unread::Untrusted("not a regular file".into()));
    }
    if let Some(why) = untrusted(&meta) {
        return Err(Unread::Untrusted(why));
    }
    let mut data = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.read_to_end(&mut data).map_err(Unread::Io)?;
    Ok(data)
}

/// Checks an entry's magic, digest and binding (the component and engine it was compiled
/// for must be the ones being loaded), then deserializes the artifact as the `kind` of actor
/// its source is (an artifact of the other kind is refused by wasmtime: rebuilt).
fn open_entry(engine: &Engine, data: &[u8], binding: &Binding, kind: ActorKind, path: &Path, source: &[u8]) -> Result<Actor, String> {
    if !data.starts_with(MAGIC.as_slice()) {
        return Err("not a theater-replay cache entry of this version (bad header)".to_string());
    }
    if data.len() < HEADER_LEN {
        return Err("truncated entry".to_string());
    }
    let (header, artifact) = data.split_at(HEADER_LEN);
    let (component, rest) = header[MAGIC.len()..].split_at(DIGEST_LEN);
    let (engine_key, digest) = rest.split_at(DIGEST_LEN);
    let stored = Binding { component: component.to_vec(), engine: engine_key.try_into().unwrap_or_default() };
    if stored.digest(artifact).as_slice() != digest {
        return Err("the entry does not match its SHA-256 (corrupted)".to_string());
    }
    // Intact, but perhaps another component's entry under this one's name (copied, swapped
    // or restored from elsewhere): its code would replay the wrong component.
    if stored.component != binding.component {
        return Err(format!(
            "it holds the code of another component (sha256 {}), not of this one ({})",
            short_hex(&stored.component),
            short_hex(&binding.component)
        ));
    }
    if stored.engine != binding.engine {
        return Err("it was compiled for other engine settings or another wasmtime".to_string());
    }
    // SAFETY: `artifact` is exactly the bytes this program wrote from `Component::serialize`
    // for this component under this engine (the SHA-256 over both and the artifact, stored
    // when it was written, was just checked on this in-memory copy, which nothing else can
    // change). wasmtime itself refuses artifacts built for another engine configuration or
    // version; the binding also includes both.
    let refused = |e: wasmtime::Error| format!("wasmtime refused it: {e}");
    match kind {
        ActorKind::Component => unsafe { Component::deserialize(engine, artifact) }.map(Actor::Component).map_err(refused),
        ActorKind::Pack => {
            // SAFETY: as above, for a module's artifact.
            let module = unsafe { Module::deserialize(engine, artifact) }.map_err(refused)?;
            super::pack_actor(module, source, path).map_err(|e| e.to_string())
        }
    }
}

/// Marks an entry used now (its modification time), so that trimming removes the entries
/// unused longest; best effort (a read-only cache is still a cache).
fn touch(entry: &Path) {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new().write(true).custom_flags(libc::O_NOFOLLOW).open(entry);
    if let Ok(file) = file {
        let _ = file.set_modified(std::time::SystemTime::now());
    }
}

fn short_hex(bytes: &[u8]) -> String {
    hex::encode(&bytes[..bytes.len().min(8)])
}

/// Removes the temporary files of writers that are gone: a run killed while storing an
/// entry (SIGKILL, a crash, a power cut) cannot remove its own, and nothing else would.
/// Only files named as ours whose process no longer exists; a live writer's is left alone.
fn sweep_stale(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.strip_prefix(TMP_PREFIX)).and_then(|rest| rest.split('-').next()) else {
            continue;
        };
        let Ok(pid) = pid.parse::<libc::pid_t>() else { continue };
        // SAFETY: signal 0 only asks whether the process exists; nothing is sent.
        let gone = pid > 0 && unsafe { libc::kill(pid, 0) } == -1 && std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH);
        if gone {
            match std::fs::remove_file(entry.path()) {
                Ok(()) => tracing::debug!("compile cache: removed {}, left by process {pid}, which is gone", entry.path().display()),
                Err(e) => tracing::debug!("compile cache: cannot remove {}: {e}", entry.path().display()),
            }
        }
    }
}

/// A uniquely named new file in `dir` (create_new, so two writers never share one), listed
/// in [`crate::tempfiles`] until [`ComponentCache::store`] renames or removes it.
fn tempfile_in(dir: &Path) -> std::io::Result<(PathBuf, std::fs::File)> {
    let pid = std::process::id();
    for attempt in 0u32..1000 {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
        let path = dir.join(format!("{TMP_PREFIX}{pid}-{nanos}-{attempt}"));
        let mut options = std::fs::OpenOptions::new();
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut live = crate::tempfiles::lock();
        match options.write(true).create_new(true).open(&path) {
            Ok(file) => {
                live.add(&path);
                return Ok((path, file));
            }
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

        for garbage in [&b""[..], &b"junk"[..], &MAGIC[..], &[MAGIC.as_slice(), &[0u8; 140]].concat()[..]] {
            std::fs::write(&entry, garbage).unwrap();
            assert_eq!(cache.load(&engine, &component).unwrap().1, CacheOutcome::Rebuilt);
        }
    }

    /// A store trims the cache to its cap, removing the entries unused longest; a hit marks
    /// an entry used; `clean` removes every entry and temporary, and nothing else.
    #[test]
    fn the_cache_is_trimmed_to_its_cap_least_recently_used_first() {
        let (dir, a, engine) = setup();
        let cache_dir = dir.path().join("cache");
        let components: Vec<PathBuf> = [a]
            .into_iter()
            .chain((1..3).map(|i| {
                let path = dir.path().join(format!("c{i}.wat"));
                std::fs::write(&path, format!("(component (core module (func (export \"f{i}\"))))")).unwrap();
                path
            }))
            .collect();
        let unlimited = ComponentCache::new(&cache_dir);
        let mut entries = Vec::new();
        for (age, component) in (0..).zip(&components) {
            let (loaded, _) = unlimited.load(&engine, component).unwrap();
            let entry = unlimited.entry_path(&engine, &loaded.sha256);
            // Used long ago, the first the longest.
            let when = std::time::SystemTime::now() - std::time::Duration::from_secs(3600 * (3 - age));
            std::fs::File::options().write(true).open(&entry).unwrap().set_modified(when).unwrap();
            entries.push(entry);
        }
        let one = std::fs::metadata(&entries[0]).unwrap().len();
        let usage = unlimited.usage().unwrap();
        assert_eq!(usage.entries, 3);
        // A hit on the oldest makes it the newest.
        assert_eq!(unlimited.load(&engine, &components[0]).unwrap().1, CacheOutcome::Hit);
        // Room for about two: storing a fourth removes the two unused longest (1, then 2).
        std::fs::write(dir.path().join("cache/unrelated.txt"), "not ours to remove").unwrap();
        let capped = ComponentCache::new(&cache_dir).with_max_bytes(one * 2 + one / 2);
        let fourth = dir.path().join("c4.wat");
        std::fs::write(&fourth, "(component (core module (func (export \"f4\"))))").unwrap();
        let (loaded, _) = capped.load(&engine, &fourth).unwrap();
        let kept: Vec<bool> = entries.iter().map(|e| e.exists()).collect();
        assert_eq!(kept, [true, false, false]);
        assert!(capped.entry_path(&engine, &loaded.sha256).exists(), "the entry just stored is kept");
        assert_eq!(capped.usage().unwrap().entries, 2);

        let removed = capped.clean().unwrap();
        assert_eq!(removed.entries, 2);
        assert_eq!(capped.usage().unwrap(), Usage::default());
        assert!(dir.path().join("cache/unrelated.txt").exists());
    }

    /// Another component's intact entry copied over this one's is not loaded: it would run
    /// the other component's code under this one's name.
    #[test]
    fn an_entry_copied_from_another_component_is_rebuilt() {
        let (dir, component, engine) = setup();
        let other = dir.path().join("other.wat");
        std::fs::write(&other, "(component (core module (func (export \"g\"))))").unwrap();
        let cache = ComponentCache::new(dir.path().join("cache"));
        let (mine, _) = cache.load(&engine, &component).unwrap();
        let (theirs, _) = cache.load(&engine, &other).unwrap();
        let (mine, theirs) = (cache.entry_path(&engine, &mine.sha256), cache.entry_path(&engine, &theirs.sha256));
        std::fs::copy(&theirs, &mine).unwrap();
        assert_eq!(cache.load(&engine, &component).unwrap().1, CacheOutcome::Rebuilt);
        assert_ne!(std::fs::read(&mine).unwrap(), std::fs::read(&theirs).unwrap(), "replaced by its own");
        assert_eq!(cache.load(&engine, &component).unwrap().1, CacheOutcome::Hit);
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

    /// A planted entry whose checksum matches, but which someone else could have written,
    /// is never loaded; what the cache creates is owner-only.
    #[test]
    fn entries_and_directories_not_owned_by_the_user_are_not_loaded() {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let (dir, component, engine) = setup();
        let cache = ComponentCache::new(dir.path().join("cache"));
        let (loaded, outcome) = cache.load(&engine, &component).unwrap();
        assert_eq!(outcome, CacheOutcome::Miss);
        let entry = cache.entry_path(&engine, &loaded.sha256);
        assert_eq!(std::fs::metadata(cache.dir()).unwrap().mode() & 0o777, 0o700);
        assert_eq!(std::fs::metadata(&entry).unwrap().mode() & 0o777, 0o600);
        let good = std::fs::read(&entry).unwrap();
        let set_mode = |path: &Path, mode| std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();

        // A valid entry (the very bytes we wrote) that group or others may write.
        for mode in [0o666, 0o620, 0o602] {
            set_mode(&entry, mode);
            assert_eq!(cache.load(&engine, &component).unwrap().1, CacheOutcome::Untrusted, "{mode:o}");
            // Replaced by our own, owner-only entry, which is then used.
            assert_eq!(std::fs::metadata(&entry).unwrap().mode() & 0o777, 0o600);
            assert_eq!(cache.load(&engine, &component).unwrap().1, CacheOutcome::Hit);
        }

        // A symbolic link to a valid entry elsewhere: not followed, replaced by a file.
        let elsewhere = dir.path().join("planted.cwasm");
        std::fs::write(&elsewhere, &good).unwrap();
        set_mode(&elsewhere, 0o600);
        std::fs::remove_file(&entry).unwrap();
        std::os::unix::fs::symlink(&elsewhere, &entry).unwrap();
        assert_eq!(cache.load(&engine, &component).unwrap().1, CacheOutcome::Untrusted);
        assert!(!std::fs::symlink_metadata(&entry).unwrap().file_type().is_symlink());
        assert_eq!(std::fs::read(&elsewhere).unwrap(), good, "the link's target is not written");

        // Another owner (only root can make one; tests run as root in CI).
        // SAFETY: no preconditions.
        if unsafe { libc::geteuid() } == 0 {
            let chown = |path: &Path, uid| std::os::unix::fs::chown(path, Some(uid), None).unwrap();
            chown(&entry, 4242);
            assert_eq!(cache.load(&engine, &component).unwrap().1, CacheOutcome::Untrusted);
            assert_eq!(std::fs::metadata(&entry).unwrap().uid(), 0, "replaced by our own");
            // A directory of another owner: neither read nor written.
            chown(cache.dir(), 4242);
            let before = std::fs::read(&entry).unwrap();
            assert_eq!(cache.load(&engine, &component).unwrap().1, CacheOutcome::Untrusted);
            assert_eq!(std::fs::read(&entry).unwrap(), before);
            chown(cache.dir(), 0);
        }
        // A directory others may write: not used, even with a valid entry in it.
        set_mode(cache.dir(), 0o777);
        assert_eq!(cache.load(&engine, &component).unwrap().1, CacheOutcome::Untrusted);
        set_mode(cache.dir(), 0o700);
        assert_eq!(cache.load(&engine, &component).unwrap().1, CacheOutcome::Hit);
    }

    #[test]
    fn temporary_files_of_processes_that_are_gone_are_swept_at_open() {
        let (dir, component, engine) = setup();
        let cache = ComponentCache::new(dir.path().join("cache"));
        cache.load(&engine, &component).unwrap();
        // A process that has exited: its number names no process (until it is reused).
        let gone = std::process::Command::new("true").spawn().unwrap();
        let gone_pid = gone.id();
        let mut gone = gone;
        gone.wait().unwrap();
        let stale = cache.dir().join(format!(".tmp-{gone_pid}-123-0"));
        let live = cache.dir().join(format!(".tmp-{}-123-0", std::process::id()));
        let other = cache.dir().join(".tmp-notes");
        for path in [&stale, &live, &other] {
            std::fs::write(path, "half an entry").unwrap();
        }
        assert_eq!(cache.load(&engine, &component).unwrap().1, CacheOutcome::Hit);
        assert!(!stale.exists(), "left by a process that is gone");
        assert!(live.exists() && other.exists(), "a live writer's file, and what is not named as ours, stay");
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
