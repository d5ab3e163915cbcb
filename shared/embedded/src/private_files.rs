//! The data dir holds personal data (`trickle.db`, uploaded lists) and secrets (the admin
//! token, the upload signing key): it is created 0700 and those files 0600 from the start, never
//! created open and tightened afterwards (a window in which another user could open them).

use std::io::Write;
use std::path::Path;

/// Creates `dir` (and missing parents) readable by its owner only. An existing directory is
/// left as it is.
pub fn create_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// Writes a new file readable by its owner only; fails if `path` exists.
pub fn write_new(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut file = open_options().create_new(true).open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// Creates an empty file readable by its owner only unless it exists (for SQLite, which
/// creates its database with the umask's permissions and its journal files like the database).
pub fn touch(path: &Path) -> std::io::Result<()> {
    match open_options().create_new(true).open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

fn open_options() -> std::fs::OpenOptions {
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn directories_and_files_are_private_from_the_start() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("a/b");
        create_dir(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&tmp.path().join("a")), 0o700);
        let file = dir.join("secret");
        write_new(&file, b"x").unwrap();
        assert_eq!(mode(&file), 0o600);
        assert!(write_new(&file, b"y").is_err(), "never overwrites");
        assert_eq!(std::fs::read(&file).unwrap(), b"x");
        let db = dir.join("db");
        touch(&db).unwrap();
        touch(&db).unwrap();
        assert_eq!(mode(&db), 0o600);
    }
}
