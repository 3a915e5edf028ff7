//! The server's `SECRET_KEY` (it signs access tokens and keys the HMAC of account codes).
//! There is no built-in key: without `SECRET_KEY`, a server outside production generates a
//! random key on first start and keeps it in a file readable by its owner only, reused on the
//! next start; in production a missing or short key refuses to start.

use std::{
    io::{ErrorKind, Write as _},
    path::{Path, PathBuf},
};

use crate::config::{ConfigError, Environment};

/// The shortest key accepted in production (and from a key file).
pub const MIN_LEN: usize = 32;

/// Where the key came from, for the start-up log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// `SECRET_KEY`.
    Environment,
    /// A key file; `created` on this start.
    File { path: PathBuf, created: bool },
}

/// The key file used without `SECRET_KEY_FILE`: beside the SQLite database file
/// (`kobiri.db` → `kobiri.db.secret`), or `kobiri.secret` in the working directory for
/// PostgreSQL and in-memory SQLite.
pub fn default_path(database_url: &str) -> PathBuf {
    if let Some(rest) = database_url.strip_prefix("sqlite:") {
        let rest = rest.strip_prefix("//").unwrap_or(rest);
        let file = rest.split('?').next().unwrap_or_default();
        if !file.is_empty() && !file.starts_with(":memory:") {
            let mut path = PathBuf::from(file).into_os_string();
            path.push(".secret");
            return path.into();
        }
    }
    PathBuf::from("kobiri.secret")
}

/// `SECRET_KEY` when set; otherwise the key file (`SECRET_KEY_FILE`, or [`default_path`]),
/// created with a fresh random key if it does not exist, except in production, where the file
/// must already exist.
pub fn resolve(
    secret_key: Option<&str>,
    key_file: Option<&str>,
    environment: Environment,
    database_url: &str,
) -> Result<(String, KeySource), ConfigError> {
    if let Some(key) = secret_key {
        if environment.is_production() && key.len() < MIN_LEN {
            return Err(ConfigError::WeakSecretInProduction);
        }
        return Ok((key.to_owned(), KeySource::Environment));
    }
    // Production uses no implicit key: `SECRET_KEY`, or a key file it is told about.
    if environment.is_production() && key_file.is_none() {
        return Err(ConfigError::WeakSecretInProduction);
    }
    let path = key_file.map_or_else(|| default_path(database_url), PathBuf::from);
    match read(&path)? {
        Some(key) => Ok((
            key,
            KeySource::File {
                path,
                created: false,
            },
        )),
        None if environment.is_production() => Err(key_file_error(&path, "not found")),
        None => {
            let key = create(&path)?;
            Ok((
                key,
                KeySource::File {
                    path,
                    created: true,
                },
            ))
        }
    }
}

fn key_file_error(path: &Path, reason: impl std::fmt::Display) -> ConfigError {
    ConfigError::KeyFile {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}

/// Reads a key file (`None` if there is none): at least [`MIN_LEN`] characters, and (on Unix)
/// readable by its owner only.
fn read(path: &Path) -> Result<Option<String>, ConfigError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(key_file_error(path, e)),
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(path)
            .map_err(|e| key_file_error(path, e))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            return Err(key_file_error(
                path,
                format!("mode {:o} lets others read it; chmod 600 it", mode & 0o777),
            ));
        }
    }
    let key = text.trim();
    if key.len() < MIN_LEN {
        return Err(key_file_error(
            path,
            format!("shorter than {MIN_LEN} characters"),
        ));
    }
    Ok(Some(key.to_owned()))
}

/// Writes a fresh random key (32 bytes, base64url) with mode 0600. Two processes starting at
/// once agree on one key: each writes its own temporary file and links it into place, which
/// fails for the second, which then reads the first one's key.
fn create(path: &Path) -> Result<String, ConfigError> {
    let key = crate::auth::tokens::random_token();
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| key_file_error(path, e))?;
    }
    let mut tmp = path.as_os_str().to_owned();
    // Unique per attempt: threads of one process may race too.
    tmp.push(format!(".{}.tmp", uuid::Uuid::new_v4().simple()));
    let tmp = PathBuf::from(tmp);
    let written = write_private(&tmp, &key).and_then(|()| std::fs::hard_link(&tmp, path));
    let _ = std::fs::remove_file(&tmp);
    match written {
        Ok(()) => Ok(key),
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {
            read(path)?.ok_or_else(|| key_file_error(path, "removed while starting"))
        }
        Err(e) => Err(key_file_error(path, e)),
    }
}

fn write_private(path: &Path, key: &str) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(key.as_bytes())?;
    file.write_all(b"\n")?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_file_sits_beside_the_sqlite_file() {
        assert_eq!(
            default_path("sqlite://kobiri.db"),
            PathBuf::from("kobiri.db.secret")
        );
        assert_eq!(
            default_path("sqlite:///var/lib/kobiri/k.db?mode=rwc"),
            PathBuf::from("/var/lib/kobiri/k.db.secret")
        );
        assert_eq!(
            default_path("sqlite::memory:"),
            PathBuf::from("kobiri.secret")
        );
        assert_eq!(
            default_path("postgres://u@h/db"),
            PathBuf::from("kobiri.secret")
        );
    }

    #[test]
    fn a_generated_key_is_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("k.db").display());
        let (key, source) = resolve(None, None, Environment::Development, &url).unwrap();
        let path = dir.path().join("k.db.secret");
        assert_eq!(
            source,
            KeySource::File {
                path: path.clone(),
                created: true
            }
        );
        assert!(key.len() >= MIN_LEN);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let (again, source) = resolve(None, None, Environment::Development, &url).unwrap();
        assert_eq!(again, key);
        assert_eq!(
            source,
            KeySource::File {
                path,
                created: false
            }
        );
        // Only the key file remains beside the database.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn production_never_generates_and_refuses_short_keys() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("k.db").display());
        let prod = Environment::Production;
        assert!(matches!(
            resolve(None, None, prod, &url),
            Err(ConfigError::WeakSecretInProduction)
        ));
        assert!(!dir.path().join("k.db.secret").exists());
        assert!(matches!(
            resolve(Some("short"), None, prod, &url),
            Err(ConfigError::WeakSecretInProduction)
        ));
        let long = "a-real-secret-of-more-than-thirty-two-chars";
        assert_eq!(resolve(Some(long), None, prod, &url).unwrap().0, long);
        // A key file made beforehand (a mounted secret) is read.
        let file = dir.path().join("mounted");
        write_private(&file, long).unwrap();
        let file = file.to_str().unwrap();
        assert_eq!(resolve(None, Some(file), prod, &url).unwrap().0, long);
    }

    #[cfg(unix)]
    #[test]
    fn a_key_file_others_can_read_is_refused() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("key");
        std::fs::write(&file, "a-real-secret-of-more-than-thirty-two-chars").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = resolve(
            None,
            file.to_str(),
            Environment::Development,
            "sqlite://x.db",
        )
        .unwrap_err();
        assert!(err.to_string().contains("chmod 600"), "{err}");
    }
}
