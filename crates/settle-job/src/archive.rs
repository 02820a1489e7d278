//! The input archive: every file a run read, stored by content beside the runs
//! (`OUT/.archive/sha256/<first two hex>/<sha256>`), so a run stays replayable (`settle replay`) after
//! the original files are gone or changed. A blob is written once (temp file, fsync, rename) and never
//! changed; reading it back checks its hash, so a corrupted blob is reported, never used.

use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// The archive's directory under a job's output root.
pub const DIR: &str = ".archive";

/// Why a blob could not be stored or read.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("cannot read {path} to archive it: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("{path} changed while the run read it: sha256 {found}, the run read {expected}")]
    Changed { path: String, expected: String, found: String },
    #[error("archived {what} {path} is missing (sha256 {sha256})")]
    Missing { what: String, path: String, sha256: String },
    #[error("archived {what} {path} is corrupted: its content hashes to {found}, the manifest says {expected}")]
    Corrupted { what: String, path: String, expected: String, found: String },
    /// A blob is a symbolic link (or another non-regular file): its content could change under the name
    /// the archive guarantees, so it is never read or trusted.
    #[error("{path}: an archive blob that is not a regular file (a symbolic link?): refused")]
    NotAFile { path: String },
}

/// Whether the blob at `path` exists as a regular file (`Ok(false)`: absent); a symbolic link or any
/// other kind of file is an error.
fn regular_blob(path: &Path) -> Result<bool, ArchiveError> {
    match fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_file() => Ok(true),
        Ok(_) => Err(ArchiveError::NotAFile { path: path.display().to_string() }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(source) => Err(ArchiveError::Io { path: path.display().to_string(), source }),
    }
}

/// The sha256 of the file at `path`, streamed.
fn file_sha256(path: &Path) -> Result<String, ArchiveError> {
    let mut input = fs::File::open(path).map_err(io_error(path))?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 20];
    // Bounded by the file's length: each round reads at least one byte or ends.
    loop {
        let n = input.read(&mut buffer).map_err(io_error(path))?;
        if n == 0 {
            return Ok(hex(&hasher.finalize()));
        }
        hasher.update(&buffer[..n]);
    }
}

/// Lower-case hex of a digest (settle's one spelling of a sha256).
pub(crate) fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Where the blob of `sha256` lives under `out_root`.
pub fn blob_path(out_root: &Path, sha256: &str) -> PathBuf {
    let prefix = sha256.get(..2).unwrap_or("00");
    out_root.join(DIR).join("sha256").join(prefix).join(sha256)
}

fn io_error(path: &Path) -> impl Fn(std::io::Error) -> ArchiveError + '_ {
    move |source| ArchiveError::Io { path: path.display().to_string(), source }
}

/// Writes `blob` atomically from `write` (which returns the content's sha256 as it wrote it), checking it
/// is `sha256`.
fn store_with(
    out_root: &Path,
    sha256: &str,
    what: &Path,
    write: impl FnOnce(&mut dyn Write, &Path) -> Result<String, ArchiveError>,
) -> Result<(), ArchiveError> {
    let target = blob_path(out_root, sha256);
    // A blob already there is trusted only once its content is checked: a corrupted one is repaired
    // (written again, atomically, from tonight's bytes) so no night is born unreplayable on it.
    if regular_blob(&target)? {
        if file_sha256(&target)? == sha256 {
            return Ok(());
        }
        tracing::warn!(blob = %target.display(), "an archived blob was corrupted: written again from tonight's input");
    }
    let dir = target.parent().expect("a blob has a directory");
    fs::create_dir_all(dir).map_err(io_error(dir))?;
    // Named like the run directory's temp files, so a crash's leftovers are recognisable (not removed
    // here: another job may be archiving into the same directory right now).
    let mut temp = tempfile::Builder::new()
        .prefix(crate::write::TEMP_PREFIX)
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(io_error(dir))?;
    let mut out = crate::fault::writer(temp.as_file_mut());
    let found = write(&mut out, &target)?;
    out.done().map_err(io_error(&target))?;
    if found != sha256 {
        return Err(ArchiveError::Changed { path: what.display().to_string(), expected: sha256.to_string(), found });
    }
    crate::fault::sync(temp.as_file()).map_err(io_error(&target))?;
    temp.persist(&target).map_err(|e| ArchiveError::Io { path: target.display().to_string(), source: e.error })?;
    crate::write::sync_dir(dir).map_err(io_error(dir))?;
    Ok(())
}

/// Archives the file at `source` whose content the run read as `sha256` (streamed, hashed on the way:
/// a file changed since it was read is an error, never archived under the wrong hash).
pub fn store_file(out_root: &Path, source: &Path, sha256: &str) -> Result<(), ArchiveError> {
    store_with(out_root, sha256, source, |out, blob| {
        let read_error = |e| ArchiveError::Read { path: source.display().to_string(), source: e };
        let mut input = crate::fault::open(source).map_err(read_error)?;
        let mut hasher = Sha256::new();
        let mut buffer = vec![0u8; 1 << 20];
        // Bounded by the file's length: each round reads at least one byte or ends.
        loop {
            let n = input.read(&mut buffer).map_err(read_error)?;
            if n == 0 {
                break;
            }
            hasher.update(&buffer[..n]);
            out.write_all(&buffer[..n]).map_err(io_error(blob))?;
        }
        Ok(hex(&hasher.finalize()))
    })
}

/// Archives `bytes` (an input the run derived or read whole, e.g. the carried open items).
pub fn store_bytes(out_root: &Path, bytes: &[u8], sha256: &str, what: &Path) -> Result<(), ArchiveError> {
    store_with(out_root, sha256, what, |out, blob| {
        out.write_all(bytes).map_err(io_error(blob))?;
        Ok(hex(&Sha256::digest(bytes)))
    })
}

/// Reads the blob of `sha256` back and checks its hash; `what` and `path` name it in errors (the
/// manifest's role and path).
pub fn load(out_root: &Path, sha256: &str, what: &str, path: &str) -> Result<Vec<u8>, ArchiveError> {
    let blob = blob_path(out_root, sha256);
    if !regular_blob(&blob)? {
        return Err(ArchiveError::Missing {
            what: what.to_string(),
            path: path.to_string(),
            sha256: sha256.to_string(),
        });
    }
    let bytes = match fs::read(&blob) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(ArchiveError::Missing {
                what: what.to_string(),
                path: path.to_string(),
                sha256: sha256.to_string(),
            });
        }
        Err(source) => return Err(ArchiveError::Io { path: blob.display().to_string(), source }),
    };
    let found = hex(&Sha256::digest(&bytes));
    if found != sha256 {
        return Err(ArchiveError::Corrupted {
            what: what.to_string(),
            path: path.to_string(),
            expected: sha256.to_string(),
            found,
        });
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stores_once_and_detects_change_and_corruption() {
        let out = tempfile::tempdir().unwrap();
        let source = out.path().join("in.csv");
        fs::write(&source, b"a,b\n1,2\n").unwrap();
        let sha = hex(&Sha256::digest(b"a,b\n1,2\n"));
        store_file(out.path(), &source, &sha).unwrap();
        assert_eq!(load(out.path(), &sha, "orders", "in.csv").unwrap(), b"a,b\n1,2\n");
        // Changed since it was read: refused.
        fs::write(&source, b"a,b\n1,3\n").unwrap();
        let other = hex(&Sha256::digest(b"x"));
        assert!(matches!(store_file(out.path(), &source, &other), Err(ArchiveError::Changed { .. })));
        // A corrupted blob is named, never used.
        fs::write(blob_path(out.path(), &sha), b"tampered").unwrap();
        let err = load(out.path(), &sha, "orders", "in.csv").unwrap_err().to_string();
        assert!(err.starts_with("archived orders in.csv is corrupted"), "{err}");
        let err = load(out.path(), &other, "rates", "r.csv").unwrap_err().to_string();
        assert!(err.starts_with("archived rates r.csv is missing"), "{err}");
        // Found by issue 24: storing over a corrupted blob returned early, so later nights were born
        // unreplayable. It is repaired from the night's bytes.
        fs::write(&source, b"a,b\n1,2\n").unwrap();
        store_file(out.path(), &source, &sha).unwrap();
        assert_eq!(load(out.path(), &sha, "orders", "in.csv").unwrap(), b"a,b\n1,2\n");
        // A blob replaced by a symbolic link to a mutable file is refused, on load and on store.
        let blob = blob_path(out.path(), &sha);
        fs::remove_file(&blob).unwrap();
        std::os::unix::fs::symlink(&source, &blob).unwrap();
        let err = load(out.path(), &sha, "orders", "in.csv").unwrap_err().to_string();
        assert!(err.ends_with("an archive blob that is not a regular file (a symbolic link?): refused"), "{err}");
        assert!(matches!(store_file(out.path(), &source, &sha), Err(ArchiveError::NotAFile { .. })));
    }
}
