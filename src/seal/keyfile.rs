//! The key file that wraps a database's data key: 32 random bytes, created 0600 on first use.
//! As ssh does for a private key, a key file that others can read is refused.

use std::fs::{DirBuilder, OpenOptions};
use std::io::{ErrorKind, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::SecretKey;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyFileError {
    #[error("seal key file {path} does not exist")]
    Missing { path: PathBuf },
    #[error("seal key file {path} can be read by others (mode {mode:03o})")]
    TooOpen { path: PathBuf, mode: u32 },
    #[error("seal key file {path} is not a key awscreds made ({len} bytes, not 32)")]
    NotAKey { path: PathBuf, len: usize },
    #[error("seal key file {path} does not unseal this database")]
    WrongKey { path: PathBuf },
    #[error("seal key file {path}: {reason}")]
    Io { path: PathBuf, reason: String },
}

fn io(path: &Path, e: std::io::Error) -> KeyFileError {
    KeyFileError::Io {
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}

/// Reads the key at `path`, refusing a file that group or others can read.
pub fn read(path: &Path) -> Result<SecretKey, KeyFileError> {
    let mut file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == ErrorKind::NotFound => {
            return Err(KeyFileError::Missing {
                path: path.to_path_buf(),
            });
        }
        Err(e) => return Err(io(path, e)),
    };
    let mode = file
        .metadata()
        .map_err(|e| io(path, e))?
        .permissions()
        .mode()
        & 0o777;
    if mode & 0o077 != 0 {
        return Err(KeyFileError::TooOpen {
            path: path.to_path_buf(),
            mode,
        });
    }
    let mut bytes = zeroize::Zeroizing::new(Vec::new());
    file.read_to_end(&mut bytes).map_err(|e| io(path, e))?;
    SecretKey::from_bytes(&bytes).ok_or(KeyFileError::NotAKey {
        path: path.to_path_buf(),
        len: bytes.len(),
    })
}

/// Makes a new key file at `path` (its directory 0700 if it has to be made); refuses to
/// overwrite one that exists.
pub fn create(path: &Path) -> Result<SecretKey, KeyFileError> {
    if let Some(dir) = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty() && !d.exists())
    {
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| io(path, e))?;
    }
    let key = SecretKey::generate().map_err(|e| KeyFileError::Io {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    let mut file = match OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(file) => file,
        // Another process made it first: that one is the key.
        Err(e) if e.kind() == ErrorKind::AlreadyExists => return read(path),
        Err(e) => return Err(io(path, e)),
    };
    file.write_all(key.as_bytes()).map_err(|e| io(path, e))?;
    file.sync_all().map_err(|e| io(path, e))?;
    Ok(key)
}

/// The key at `path`, made first if there is none.
pub fn read_or_create(path: &Path) -> Result<SecretKey, KeyFileError> {
    match read(path) {
        Err(KeyFileError::Missing { .. }) => create(path),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_file_is_private_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/db.key");
        let made = read_or_create(&path).unwrap();
        assert_eq!(read(&path).unwrap(), made);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(create(&path).unwrap(), made, "never overwritten");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(
            read(&path),
            Err(KeyFileError::TooOpen { mode: 0o644, .. })
        ));
        std::fs::write(dir.path().join("short"), b"abc").unwrap();
        std::fs::set_permissions(
            dir.path().join("short"),
            std::fs::Permissions::from_mode(0o600),
        )
        .unwrap();
        assert!(matches!(
            read(&dir.path().join("short")),
            Err(KeyFileError::NotAKey { len: 3, .. })
        ));
    }
}
