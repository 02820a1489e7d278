//! One run per job at a time: an OS file lock on `OUT/<job>/.lock`, held for the whole run. Per job,
//! not only per business date: nights of a job build on each other (the open items of the night
//! before, one payout register for all dates), so two dates of one job running at once could read a
//! half-written night or lose each other's register entries. The operating system releases it when the process ends, however it ends (a killed
//! run leaves no stale lock); a second run of the same date meanwhile stops at once, naming the holder.
//! The lock file holds the holder's pid, host and start time (for people; never in outputs) and is
//! removed when the run ends, with the job directory if the run created it and left it empty.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use settle_core::Date;

use crate::pipeline::JobError;

/// A held lock; released (and its file removed) on drop.
pub struct RunLock {
    file: File,
    path: PathBuf,
    /// Directories the lock created (innermost first), removed on drop when still empty.
    created: Vec<PathBuf>,
}

impl RunLock {
    /// Takes the lock of `job_dir` for a run of `business_date`, or says who holds it.
    pub fn acquire(job_dir: &Path, business_date: Date) -> Result<RunLock, JobError> {
        let created = create_dirs(job_dir)?;
        let path = job_dir.join(".lock");
        // Bounded: a lock file removed between our open and our lock is retried a few times at most.
        for _ in 0..8 {
            let mut file = open_lock_file(&path)?;
            match file.try_lock() {
                Ok(()) => {}
                Err(fs::TryLockError::WouldBlock) => {
                    let mut holder = String::new();
                    let _ = file.read_to_string(&mut holder);
                    let holder = holder.trim();
                    return Err(JobError::Locked {
                        path: path.display().to_string(),
                        holder: if holder.is_empty() { "another process".to_string() } else { holder.to_string() },
                    });
                }
                Err(fs::TryLockError::Error(source)) => {
                    return Err(JobError::Write { path: path.display().to_string(), source });
                }
            }
            // The file we locked must still be the one at the path (a finishing run removes it).
            if !same_file(&file, &path) {
                continue;
            }
            let holder = format!(
                "business date {business_date}, pid {} on {} since {}",
                std::process::id(),
                hostname(),
                jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ")
            );
            let write_error = |path: &Path| {
                let path = path.display().to_string();
                move |source| JobError::Write { path, source }
            };
            file.set_len(0).map_err(write_error(&path))?;
            file.rewind().map_err(write_error(&path))?;
            file.write_all(holder.as_bytes()).map_err(write_error(&path))?;
            return Ok(RunLock { file, path, created });
        }
        Err(JobError::Locked {
            path: path.display().to_string(),
            holder: "runs that keep replacing the lock file".to_string(),
        })
    }
}

/// Creates `dir` and returns the directories that did not exist (innermost first), for the holder to
/// remove when it leaves them empty.
fn create_dirs(dir: &Path) -> Result<Vec<PathBuf>, JobError> {
    let mut created = Vec::new();
    let mut missing = dir.to_path_buf();
    // Bounded by the path's depth.
    while !missing.exists() {
        created.push(missing.clone());
        match missing.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => missing = parent.to_path_buf(),
            _ => break,
        }
    }
    fs::create_dir_all(dir).map_err(|source| JobError::Write { path: dir.display().to_string(), source })?;
    Ok(created)
}

fn open_lock_file(path: &Path) -> Result<File, JobError> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(|source| JobError::Write { path: path.display().to_string(), source })
}

impl RunLock {
    /// Whether a process holds the lock of `job_dir` now (a run of the job is in progress).
    pub fn is_held(job_dir: &Path) -> bool {
        let Ok(file) = File::open(job_dir.join(".lock")) else { return false };
        match file.try_lock_shared() {
            Ok(()) => {
                let _ = file.unlock();
                false
            }
            Err(fs::TryLockError::WouldBlock) => true,
            Err(fs::TryLockError::Error(_)) => false,
        }
    }
}

#[cfg(unix)]
fn same_file(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.ino() == b.ino() && a.dev() == b.dev(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_file(_file: &File, path: &Path) -> bool {
    path.exists()
}

fn hostname() -> String {
    fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| fs::read_to_string("/etc/hostname"))
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "this host".to_string())
}

impl Drop for RunLock {
    fn drop(&mut self) {
        // Remove the file while still holding the lock, so no other run locks a file about to vanish.
        let _ = fs::remove_file(&self.path);
        let _ = self.file.unlock();
        for dir in &self.created {
            // Only empty directories go (a run that failed before writing leaves nothing behind).
            let _ = fs::remove_dir(dir);
        }
    }
}

/// The output root's ledger lock (`OUT/.ledger.lock`), held by a whole run or a merge from its ledger
/// check to its commit: two jobs writing into one root at once would each check the ledger before the
/// other recorded its night, and both settle the same records. A second job waits for it (nights of
/// different jobs in one root run one after the other); the OS releases it when the holder ends, however
/// it ends. As with the job's lock, the file is removed by its holder while held, and a waiter that wakes
/// on a removed file takes the new one; directories it created are removed when left empty.
pub struct LedgerLock {
    file: File,
    path: PathBuf,
    created: Vec<PathBuf>,
}

impl LedgerLock {
    pub fn acquire(out_root: &Path) -> Result<LedgerLock, JobError> {
        let write_error = |path: &Path| {
            let path = path.display().to_string();
            move |source| JobError::Write { path, source }
        };
        let created = create_dirs(out_root)?;
        let path = out_root.join(".ledger.lock");
        let mut said = false;
        // Bounded: each round either holds the file at the path or waited for a holder that removed it.
        for _ in 0..64 {
            let file = open_lock_file(&path)?;
            match file.try_lock() {
                Ok(()) => {}
                Err(fs::TryLockError::WouldBlock) => {
                    if !said {
                        tracing::warn!(
                            phase = "ledger",
                            "waiting for another night in this output root to commit (the settlement ledger's lock, {})",
                            path.display()
                        );
                        said = true;
                    }
                    file.lock().map_err(write_error(&path))?;
                }
                Err(fs::TryLockError::Error(source)) => {
                    return Err(JobError::Write { path: path.display().to_string(), source });
                }
            }
            if same_file(&file, &path) {
                return Ok(LedgerLock { file, path, created });
            }
        }
        Err(JobError::Locked {
            path: path.display().to_string(),
            holder: "runs that keep replacing the lock file".to_string(),
        })
    }
}

impl Drop for LedgerLock {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
        let _ = self.file.unlock();
        for dir in &self.created {
            let _ = fs::remove_dir(dir);
        }
    }
}
