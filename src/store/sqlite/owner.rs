//! Which issuing processes are still alive. While a process issues credentials it holds an
//! exclusive lock on a file of its own, named by a token that its pending leases record. The OS
//! releases the lock when the process dies, however it dies (kill -9 included), so a sweep can
//! tell for certain that a pending lease's issuer is gone, instead of guessing from its age.

use std::fs::{DirBuilder, File, OpenOptions, TryLockError};
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// The directory of lock files (next to the database).
#[derive(Debug, Clone)]
pub struct OwnerLocks {
    dir: PathBuf,
}

/// Held by a live issuing process; dropping it removes its lock file.
#[derive(Debug)]
pub struct OwnerGuard {
    token: String,
    path: PathBuf,
    _file: File,
}

impl OwnerGuard {
    pub fn token(&self) -> &str {
        &self.token
    }
}

impl Drop for OwnerGuard {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

impl OwnerLocks {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        OwnerLocks { dir: dir.into() }
    }

    fn path(&self, token: &str) -> PathBuf {
        self.dir.join(format!("{token}.lock"))
    }

    /// Takes a new lock. The file gets its final name only once locked, so nobody can mistake a
    /// lock being set up for a dead one.
    pub fn acquire(&self) -> io::Result<OwnerGuard> {
        if !self.dir.exists() {
            DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&self.dir)?;
        }
        let token = uuid::Uuid::new_v4().simple().to_string();
        let temp = self.dir.join(format!(".{token}.new"));
        let file = OpenOptions::new()
            .create_new(true)
            .write(true)
            .mode(0o600)
            .open(&temp)?;
        file.lock()?;
        let path = self.path(&token);
        std::fs::rename(&temp, &path)?;
        Ok(OwnerGuard {
            token,
            path,
            _file: file,
        })
    }

    /// Whether the process that took `token` is certainly gone. Any doubt (an unreadable lock
    /// directory, say) answers "not gone": the pending timeout then decides.
    pub fn is_gone(&self, token: &str) -> bool {
        let path = self.path(token);
        let file = match File::open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return true,
            Err(_) => return false,
        };
        match file.try_lock() {
            Ok(()) => {
                let _ = std::fs::remove_file(&path);
                true
            }
            Err(TryLockError::WouldBlock) | Err(TryLockError::Error(_)) => false,
        }
    }

    /// Removes the lock files of processes that are gone (one killed after its lease was
    /// activated leaves its file behind, naming no lease). Best effort.
    pub fn remove_stale(&self) {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            if let Some(token) = name.to_str().and_then(|n| n.strip_suffix(".lock")) {
                self.is_gone(token);
            }
        }
    }

    /// Takes the lock named `name` (a file in the lock directory), waiting while another
    /// process holds it; it is held until the returned file is closed.
    pub fn hold_named(&self, name: &str) -> io::Result<File> {
        if !self.dir.exists() {
            DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&self.dir)?;
        }
        let safe: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(self.dir.join(format!("{safe}.named")))?;
        file.lock()?;
        Ok(file)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_lock_is_alive_and_a_dropped_one_is_gone() {
        let dir = tempfile::tempdir().unwrap();
        let locks = OwnerLocks::new(dir.path().join("locks"));
        let guard = locks.acquire().unwrap();
        let token = guard.token().to_string();
        // Another open file description cannot take it while it is held.
        assert!(!locks.is_gone(&token));
        let other = locks.acquire().unwrap();
        drop(guard);
        locks.remove_stale();
        assert!(!locks.dir().join(format!("{token}.lock")).exists());
        assert!(locks.dir().join(format!("{}.lock", other.token())).exists());
        assert!(locks.is_gone(&token));
        assert!(locks.is_gone("never-existed"));
    }
}
