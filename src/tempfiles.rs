//! The temporary files this process has made and not yet renamed into place or removed: an
//! output's `.tr-<pid>-<n>.partial` (`cli::output`) and a compile cache entry's
//! `.tmp-<pid>-...` (`runtime::cache`). The command line's signal handler removes them
//! before the process dies of the signal. Each is created, renamed and removed under one
//! lock, so the handler never misses a file that exists.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

static LIVE: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// The list, locked: create or rename a temporary file while holding it, then
/// [`Live::add`] or [`Live::forget`] it.
pub fn lock() -> Live {
    Live(LIVE.lock().unwrap_or_else(PoisonError::into_inner))
}

/// The locked list of temporary files.
pub struct Live(MutexGuard<'static, Vec<PathBuf>>);

impl Live {
    /// Lists a file just created.
    pub fn add(&mut self, path: &Path) {
        self.0.push(path.to_path_buf());
    }

    /// Unlists a file renamed into place or removed.
    pub fn forget(&mut self, path: &Path) {
        self.0.retain(|p| p != path);
    }

    /// Removes every listed file (for a signal handler about to end the process: keep the
    /// lock, and no other temporary file is created or renamed before it ends).
    pub fn remove_all(&mut self) {
        for path in self.0.drain(..) {
            let _ = std::fs::remove_file(path);
        }
    }
}
