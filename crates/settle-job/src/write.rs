//! Atomic output writes: a temp file in the same directory, fsync, rename, then fsync the directory.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Prefix of settle's temp files; stale ones (from a crashed run) are removed before a run writes.
pub const TEMP_PREFIX: &str = ".settle-";

/// Writes `bytes` to `dir/name` so that `name` holds either its old content or all of the new bytes.
pub fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    write_file_renamed(dir, name, bytes)?;
    sync_dir(dir)
}

/// Temp file in `dir`, written, fsynced, renamed to `name` (the directory is not synced).
fn write_file_renamed(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    let mut temp = temp_in(dir, name)?;
    crate::fault::write_file(temp.as_file_mut(), bytes)?;
    crate::fault::sync(temp.as_file())?;
    temp.persist(dir.join(name)).map_err(|e| e.error)?;
    Ok(())
}

/// A run's outputs on their way into the run directory: each is written, as soon as it is rendered, to
/// a temp file beside its final name (`.settle-<name>.<random>.tmp`), and its bytes are dropped;
/// `commit` renames them all into place, in order, and makes the renames durable. Until then no output is
/// visible under its final name; a run that fails drops the staging area and its temp files with it (a
/// run that crashes leaves them for the next run's `remove_stale_temps`). A run's memory then holds one
/// output at a time, not all of them (5.3 GB of outputs on a 10^7-order day).
pub struct Staging {
    root: PathBuf,
    /// Directories (relative, "" for the root) created or cleaned of stale temp files.
    dirs: Vec<String>,
    files: Vec<StagedFile>,
    /// The root did not exist before: a failed run removes what it made.
    created_root: bool,
}

/// One staged output.
pub struct StagedFile {
    /// Its path relative to the run directory (`payouts/statements/B00001.csv`).
    pub name: String,
    pub bytes: u64,
    pub sha256: String,
    temp: tempfile::TempPath,
}

impl StagedFile {
    /// Where its bytes are until the commit (to read them back: the Parquet copy of a large table).
    pub fn temp_path(&self) -> &Path {
        &self.temp
    }
}

/// A staged output being written piece by piece (`Staging::writer`): hashed on the way.
pub struct StagedWriter {
    name: String,
    file: std::io::BufWriter<crate::fault::Faulty<tempfile::NamedTempFile>>,
    hasher: sha2::Sha256,
    bytes: u64,
}

impl Write for StagedWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        use sha2::Digest;
        let n = self.file.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

impl Staging {
    /// A staging area for the run directory `root` (created when missing; its stale temp files removed).
    pub fn begin(root: &Path) -> std::io::Result<Staging> {
        let created_root = !root.exists();
        fs::create_dir_all(root)?;
        if created_root && let Some(parent) = root.parent() {
            sync_dir(parent)?;
        }
        remove_stale_temps(root)?;
        Ok(Staging { root: root.to_path_buf(), dirs: vec![String::new()], files: Vec::new(), created_root })
    }

    /// The run directory it stages for.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The subdirectory `sub` of the run directory ("" for itself), made and cleaned of stale temp
    /// files the first time it is asked for.
    fn dir(&mut self, sub: &str) -> std::io::Result<PathBuf> {
        let dir = self.root.join(sub);
        if !self.dirs.iter().any(|d| d == sub) {
            if !dir.exists() {
                fs::create_dir_all(&dir)?;
                sync_dir(dir.parent().unwrap_or(&self.root))?;
            }
            remove_stale_temps(&dir)?;
            self.dirs.push(sub.to_string());
        }
        Ok(dir)
    }

    /// Stages `name` (relative to the run directory) with `bytes`.
    pub fn put(&mut self, name: &str, bytes: &[u8]) -> std::io::Result<()> {
        let dir = self.dir(split_name(name).0)?;
        let staged = stage_file(&dir, name, bytes)?;
        self.files.push(staged);
        Ok(())
    }

    /// A writer staging `name` piece by piece; `finish` it into this staging area.
    pub fn writer(&mut self, name: &str) -> std::io::Result<StagedWriter> {
        let (sub, leaf) = split_name(name);
        let dir = self.dir(sub)?;
        let temp = temp_in(&dir, leaf)?;
        Ok(StagedWriter {
            name: name.to_string(),
            file: std::io::BufWriter::with_capacity(1 << 20, crate::fault::writer(temp)),
            hasher: <sha2::Sha256 as sha2::Digest>::new(),
            bytes: 0,
        })
    }

    /// Stages what `writer` wrote; returns its entry.
    pub fn finish(&mut self, writer: StagedWriter) -> std::io::Result<&StagedFile> {
        use sha2::Digest;
        let StagedWriter { name, file, hasher, bytes } = writer;
        let mut temp = file.into_inner().map_err(|e| e.into_error())?;
        temp.done()?;
        let temp = temp.into_inner();
        self.files.push(StagedFile {
            name,
            bytes,
            sha256: crate::archive::hex(&hasher.finalize()),
            temp: temp.into_temp_path(),
        });
        Ok(self.files.last().expect("just pushed"))
    }

    /// Stages `count` files of one subdirectory, rendered by `render(i)` → (name, bytes), on a few
    /// threads (`on_workers`). Staged in index order whatever the threads.
    pub fn put_many<E: Send>(
        &mut self,
        subdir: &str,
        count: usize,
        render: impl Fn(usize) -> Result<(String, Vec<u8>), E> + Sync,
        io_error: impl Fn(&str, std::io::Error) -> E + Sync,
    ) -> Result<(), E> {
        let dir = self.dir(subdir).map_err(|e| io_error(subdir, e))?;
        let done: std::sync::Mutex<Vec<(usize, StagedFile)>> = std::sync::Mutex::new(Vec::with_capacity(count));
        on_workers(count, |i| {
            let (name, bytes) = render(i)?;
            let staged = stage_file(&dir, &name, &bytes).map_err(|e| io_error(&name, e))?;
            done.lock().expect("not poisoned").push((i, staged));
            Ok(())
        })?;
        let mut done = done.into_inner().expect("not poisoned");
        assert_eq!(done.len(), count, "every file staged once");
        done.sort_unstable_by_key(|(i, _)| *i);
        self.files.extend(done.into_iter().map(|(_, staged)| staged));
        Ok(())
    }

    /// The staged outputs, in staging order.
    pub fn files(&self) -> &[StagedFile] {
        &self.files
    }

    /// Puts the staged files in the order `rank` gives (stable: equal ranks keep their staging order).
    pub fn sort_by_key<K: Ord>(&mut self, rank: impl Fn(&str) -> K) {
        self.files.sort_by_key(|f| rank(&f.name));
    }

    /// Makes every staged file durable (fsync, on a few threads: by now the kernel has written most of
    /// their pages back), renames each to its final name, in
    /// order, then makes the renames durable (each directory fsynced once). Returns (name, sha256) of
    /// each, in order.
    pub fn commit(mut self) -> std::io::Result<Vec<(String, String)>> {
        let files = &self.files;
        on_workers(files.len(), |i| fs::File::open(&files[i].temp).and_then(|f| crate::fault::sync(&f)))?;
        let mut out = Vec::with_capacity(self.files.len());
        for staged in std::mem::take(&mut self.files) {
            let path = self.root.join(&staged.name);
            staged.temp.persist(&path).map_err(|e| e.error)?;
            out.push((staged.name, staged.sha256));
        }
        for sub in &self.dirs {
            sync_dir(&self.root.join(sub))?;
        }
        self.created_root = false;
        Ok(out)
    }
}

impl Drop for Staging {
    /// A run that did not commit: its temp files go with their `TempPath`s; a run directory it created
    /// goes too when nothing else is in it.
    fn drop(&mut self) {
        self.files.clear();
        if self.created_root {
            let mut subs: Vec<&String> = self.dirs.iter().filter(|d| !d.is_empty()).collect();
            subs.sort_by_key(|d| std::cmp::Reverse(d.len()));
            for sub in subs {
                let _ = fs::remove_dir(self.root.join(sub));
            }
            let _ = fs::remove_dir(&self.root);
        }
    }
}

/// (subdirectory, leaf) of an output's name relative to the run directory ("" for the run directory).
fn split_name(name: &str) -> (&str, &str) {
    name.rsplit_once('/').unwrap_or(("", name))
}

/// Runs `job(0)` … `job(count - 1)` on a few threads, each taking the next index, and returns the first
/// error (the others stop taking indices then). Staging is I/O bound (creating files, fsync wait on
/// the disk, not the CPU): 5 000 statements of account took 10.5 s on one thread, 5.5 s with 8 (32
/// were no faster: the disk serializes the flushes).
fn on_workers<E: Send>(count: usize, job: impl Fn(usize) -> Result<(), E> + Sync) -> Result<(), E> {
    const WORKERS: usize = 8;
    let next = std::sync::atomic::AtomicUsize::new(0);
    let first_error: std::sync::Mutex<Option<E>> = std::sync::Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..WORKERS.min(count) {
            scope.spawn(|| {
                // Bounded by `count`: every turn takes the next index or stops.
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if i >= count || first_error.lock().expect("not poisoned").is_some() {
                        break;
                    }
                    if let Err(e) = job(i) {
                        first_error.lock().expect("not poisoned").get_or_insert(e);
                        break;
                    }
                }
            });
        }
    });
    match first_error.into_inner().expect("not poisoned") {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// A temp file in `dir` for the output `leaf`.
fn temp_in(dir: &Path, leaf: &str) -> std::io::Result<tempfile::NamedTempFile> {
    let temp = tempfile::Builder::new().prefix(&format!("{TEMP_PREFIX}{leaf}.")).suffix(".tmp").tempfile_in(dir)?;
    // tempfile creates 0600; outputs are ordinary files (0644 before the umask of the directory's owner).
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        temp.as_file().set_permissions(fs::Permissions::from_mode(0o644))?;
    }
    Ok(temp)
}

/// `bytes` into a temp file in `dir` (made durable at the commit), staged as `name`.
fn stage_file(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<StagedFile> {
    use sha2::Digest;
    let mut temp = temp_in(dir, split_name(name).1)?;
    crate::fault::write_file(temp.as_file_mut(), bytes)?;
    Ok(StagedFile {
        name: name.to_string(),
        bytes: bytes.len() as u64,
        sha256: crate::archive::hex(&sha2::Sha256::digest(bytes)),
        temp: temp.into_temp_path(),
    })
}

/// Makes a rename or a created entry in `dir` durable.
pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        crate::fault::sync(&fs::File::open(dir)?)?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Whether a file name is one of settle's temp files (`.settle-<name>.<random>.tmp`).
pub(crate) fn is_temp_name(name: &str) -> bool {
    name.starts_with(TEMP_PREFIX) && name.ends_with(".tmp")
}

/// Removes temp files a crashed run left in `dir`.
pub fn remove_stale_temps(dir: &Path) -> std::io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if is_temp_name(&name) {
            fs::remove_file(entry.path())?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_content_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        write_atomic(dir.path(), "a.csv", b"one\n").unwrap();
        write_atomic(dir.path(), "a.csv", b"two\n").unwrap();
        assert_eq!(fs::read(dir.path().join("a.csv")).unwrap(), b"two\n");
        fs::write(dir.path().join(".settle-a.csv.x1.tmp"), b"half").unwrap();
        remove_stale_temps(dir.path()).unwrap();
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, vec![std::ffi::OsString::from("a.csv")]);
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> =
            fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().to_string()).collect();
        names.sort();
        names
    }

    #[test]
    fn staged_outputs_appear_only_at_the_commit_in_their_order() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("job/2026-10-31");
        let mut staging = Staging::begin(&root).unwrap();
        staging.put("b.csv", b"bee\n").unwrap();
        let mut writer = staging.writer("a.csv").unwrap();
        writer.write_all(b"a").unwrap();
        writer.write_all(b"y\n").unwrap();
        let staged = staging.finish(writer).unwrap();
        assert_eq!(fs::read(staged.temp_path()).unwrap(), b"ay\n");
        staging
            .put_many(
                "s",
                20,
                |i| Ok::<_, std::io::Error>((format!("s/{i:02}.csv"), vec![b'0' + (i % 10) as u8])),
                |_, e| e,
            )
            .unwrap();
        // Nothing under a final name yet: only temp files.
        assert!(names(&root).iter().all(|n| n.starts_with(TEMP_PREFIX) || n == "s"), "{:?}", names(&root));
        assert_eq!(names(&root.join("s")).len(), 20);
        assert!(names(&root.join("s")).iter().all(|n| n.starts_with(TEMP_PREFIX)));
        staging.sort_by_key(|name| (name.starts_with("s/"), name.to_string()));
        let order: Vec<&str> = staging.files().iter().map(|f| f.name.as_str()).collect();
        assert_eq!(&order[..3], ["a.csv", "b.csv", "s/00.csv"]);
        let a_sha = staging.files()[0].sha256.clone();
        let written = staging.commit().unwrap();
        assert_eq!(written.len(), 22);
        assert_eq!(written[0], ("a.csv".to_string(), a_sha));
        assert_eq!(written[0].1, crate::pipeline::sha256_hex(b"ay\n"));
        assert_eq!(names(&root), ["a.csv", "b.csv", "s"]);
        assert_eq!(fs::read(root.join("s/13.csv")).unwrap(), b"3");
        assert_eq!(names(&root.join("s")).len(), 20);
    }

    #[test]
    fn a_staging_area_dropped_before_its_commit_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("job/2026-10-31");
        {
            let mut staging = Staging::begin(&root).unwrap();
            staging.put("a.csv", b"x").unwrap();
            staging.put("tables/a.parquet", b"y").unwrap();
            let failed = staging.put_many(
                "s",
                5,
                |i| if i == 3 { Err("render failed".to_string()) } else { Ok((format!("s/{i}.csv"), vec![])) },
                |_, e| e.to_string(),
            );
            assert_eq!(failed.unwrap_err(), "render failed");
        }
        assert!(!root.exists(), "a run directory the failed run made is removed");
        // An existing run directory keeps what it had, and loses the temp files.
        fs::create_dir_all(&root).unwrap();
        fs::write(root.join("old.csv"), b"old").unwrap();
        {
            let mut staging = Staging::begin(&root).unwrap();
            staging.put("old.csv", b"new").unwrap();
        }
        assert_eq!(names(&root), ["old.csv"]);
        assert_eq!(fs::read(root.join("old.csv")).unwrap(), b"old");
    }
}
