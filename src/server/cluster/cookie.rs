//! The cluster cookie: the shared secret nodes prove they know when they connect.
//!
//! ractor_cluster's cookie handshake (SHA-256 challenge/response) authenticates peers but does not
//! encrypt the traffic: keep the node-to-node port on a trusted network. A cookie file must be
//! readable by its owner only. The default file, `~/.chatd.cookie`, is created with a random
//! cookie on first use, as Erlang does with `~/.erlang.cookie`, so nodes of one user on one host
//! share it without configuration.

use std::io::{Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Where the cluster cookie comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CookieSource {
    /// Given in the configuration.
    Inline(String),
    /// Read from a file (created with a random cookie if it is the default file and missing).
    File {
        /// The file.
        path: PathBuf,
        /// Create it when missing (only for the default `~/.chatd.cookie`).
        create: bool,
    },
}

/// A cookie that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum CookieError {
    /// The file is readable or writable by group or others.
    #[error("{path} is accessible by group or others (mode {mode:o}); run: chmod 600 {path}")]
    Exposed {
        /// The file.
        path: String,
        /// Its permission bits.
        mode: u32,
    },
    /// The file or cookie is empty.
    #[error("{0} holds no cookie")]
    Empty(String),
    /// The file cannot be read or created.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
}

fn io_error(path: &Path) -> impl Fn(std::io::Error) -> CookieError + '_ {
    move |source| CookieError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Checks a cookie file's permissions; a missing file is fine only if it will be created.
pub fn check(path: &Path, create: bool) -> Result<(), CookieError> {
    match std::fs::metadata(path) {
        Ok(meta) => {
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(CookieError::Exposed {
                    path: path.display().to_string(),
                    mode,
                });
            }
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && create => Ok(()),
        Err(e) => Err(io_error(path)(e)),
    }
}

/// The cookie from its source, creating the default file if needed.
pub fn load(source: &CookieSource) -> Result<String, CookieError> {
    let (path, create) = match source {
        CookieSource::Inline(cookie) if cookie.trim().is_empty() => {
            return Err(CookieError::Empty("cluster.cookie".into()));
        }
        CookieSource::Inline(cookie) => return Ok(cookie.trim().to_string()),
        CookieSource::File { path, create } => (path, *create),
    };
    check(path, create)?;
    if create && !path.exists() {
        let mut random = [0u8; 24];
        std::fs::File::open("/dev/urandom")
            .and_then(|mut f| f.read_exact(&mut random))
            .map_err(io_error(Path::new("/dev/urandom")))?;
        let cookie: String = random.iter().map(|b| format!("{b:02x}")).collect();
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .map_err(io_error(path))?;
        writeln!(file, "{cookie}").map_err(io_error(path))?;
        tracing::info!(path = %path.display(), "created a cluster cookie");
        return Ok(cookie);
    }
    let cookie = std::fs::read_to_string(path).map_err(io_error(path))?;
    let cookie = cookie.trim();
    if cookie.is_empty() {
        return Err(CookieError::Empty(path.display().to_string()));
    }
    Ok(cookie.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn files_must_be_private_and_the_default_is_created() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cookie");
        std::fs::write(&path, "secret\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let source = CookieSource::File {
            path: path.clone(),
            create: false,
        };
        assert!(matches!(load(&source), Err(CookieError::Exposed { .. })));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(load(&source).unwrap(), "secret");

        let fresh: PathBuf = dir.path().join("fresh");
        let source = CookieSource::File {
            path: fresh.clone(),
            create: true,
        };
        let first = load(&source).unwrap();
        assert_eq!(first.len(), 48);
        assert_eq!(load(&source).unwrap(), first);
        let mode = std::fs::metadata(&fresh).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);

        let missing = CookieSource::File {
            path: dir.path().join("none"),
            create: false,
        };
        assert!(matches!(load(&missing), Err(CookieError::Io { .. })));
        assert!(matches!(
            load(&CookieSource::Inline(" ".into())),
            Err(CookieError::Empty(_))
        ));
    }
}
