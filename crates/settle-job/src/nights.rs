//! A job's nights in order: what a night may be run beside the job's other nights, and what a rerun of a
//! complete night does.
//!
//! Nights build on each other (open items, balances, reserves, payouts awaiting their debit, the
//! ledger), so a night is run only after every earlier one and before every later one: a night earlier
//! than a night the job already ran is refused, unless the user asks for the later nights to be
//! recomputed after it, in order (`settle run --and-later`). A rerun of a complete night whose inputs are
//! unchanged is a success that writes nothing.

use std::path::{Path, PathBuf};

use settle_core::Date;

/// Where a forced rerun moves the night's manifest before its first output reaches a final name: the
/// night is incomplete until the new manifest is written, and this says it was complete once (its payout
/// files were announced by a completed run).
pub const RETIRED: &str = "manifest.retired.json";

/// A night of the job's directory: its date, directory, and whether it is complete (has a manifest).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NightDir {
    pub date: Date,
    pub dir: PathBuf,
    pub complete: bool,
}

/// The job's run directories (`YYYY-MM-DD` under `job_dir`) by date; none when the job has no directory.
/// A directory that cannot be listed is an error, never "no nights": every guard of the job's nights
/// (their order, the register, the ledger) reads this list.
pub fn nights(job_dir: &Path) -> std::io::Result<Vec<NightDir>> {
    let entries = match std::fs::read_dir(job_dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut nights = Vec::new();
    for entry in entries {
        let entry = entry?;
        let Ok(date) = settle_core::parse_date(&entry.file_name().to_string_lossy()) else { continue };
        let dir = entry.path();
        if dir.is_dir() {
            nights.push(NightDir { date, complete: dir.join("manifest.json").is_file(), dir });
        }
    }
    nights.sort_by_key(|n| n.date);
    Ok(nights)
}

/// `nights`, its error naming the directory.
pub fn listed(job_dir: &Path) -> Result<Vec<NightDir>, crate::JobError> {
    nights(job_dir).map_err(|source| crate::JobError::RunDirectories { path: job_dir.display().to_string(), source })
}

/// The job's nights after `date` (complete or not): a night run now would change what they built on.
pub fn later(job_dir: &Path, date: Date) -> Result<Vec<NightDir>, crate::JobError> {
    Ok(listed(job_dir)?.into_iter().filter(|n| n.date > date).collect())
}

/// Whether a complete night's recorded inputs are the ones on disk now: `None` when every input of the
/// spec (and the spec itself) hashes as the manifest recorded it, else what differs.
pub fn changed_input(
    manifest: &serde_json::Value,
    spec_sha256: &str,
    base: &Path,
    inputs: &[(crate::spec::InputRole, PathBuf)],
) -> Option<String> {
    if manifest.pointer("/job/spec_sha256").and_then(serde_json::Value::as_str) != Some(spec_sha256) {
        return Some("the job spec".into());
    }
    let recorded = manifest["inputs"].as_array().map(Vec::as_slice).unwrap_or_default();
    for (role, path) in inputs {
        let key = crate::pipeline::recorded_name(base, path, None);
        let found = recorded.iter().find(|i| i["role"] == role.as_str() && i["path"] == key.as_str());
        let Some(sha256) = found.and_then(|i| i["sha256"].as_str()) else { return Some(key) };
        match crate::fault::read(base.join(path)) {
            Ok(bytes) if crate::pipeline::sha256_hex(&bytes) == sha256 => {}
            _ => return Some(key),
        }
    }
    None
}

/// Refuses a night that later nights built on (unless `and_later`), and one after an incomplete night.
pub fn check_order(job_dir: &Path, date: Date, and_later: bool) -> Result<(), crate::JobError> {
    let nights = listed(job_dir)?;
    if let Some(first) = nights.iter().find(|n| n.date < date && !n.complete) {
        return Err(crate::JobError::IncompleteEarlier { date: first.date, dir: first.dir.display().to_string() });
    }
    let later: Vec<&NightDir> = nights.iter().filter(|n| n.date > date).collect();
    if !later.is_empty() && !and_later {
        let names: Vec<String> = later
            .iter()
            .map(|n| if n.complete { n.date.to_string() } else { format!("{} (incomplete)", n.date) })
            .collect();
        return Err(crate::JobError::LaterNights { date, later: names.join(", ") });
    }
    Ok(())
}

/// The error for a plain rerun of a complete night: `AlreadyComplete` (a success: nothing to do) when
/// its inputs are unchanged, else `AlreadyRun` naming what changed.
pub fn already_run(
    run_dir: &Path,
    date: Date,
    spec_sha256: &str,
    base: &Path,
    inputs: &[(crate::spec::InputRole, PathBuf)],
) -> crate::JobError {
    let dir = run_dir.display().to_string();
    let manifest = crate::fault::read(run_dir.join("manifest.json"))
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok());
    let changed = match &manifest {
        Some(manifest) => changed_input(manifest, spec_sha256, base, inputs),
        None => Some("manifest.json (unreadable)".into()),
    };
    match changed {
        None => {
            let exit_code = crate::fault::read(run_dir.join("summary.json"))
                .ok()
                .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
                .and_then(|s| s["exit_code"].as_u64())
                .map_or(1, |c| u8::try_from(c).unwrap_or(1));
            crate::JobError::AlreadyComplete { dir, date, exit_code }
        }
        Some(changed) => crate::JobError::AlreadyRun { dir, date, changed },
    }
}

/// What a night's run directory says before the night runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NightState {
    /// It has a manifest: the night is recomputed (`--force`).
    pub replaced: bool,
    /// It exists without a manifest: an interrupted run is completed.
    pub completed_interrupted: bool,
    /// A forced rerun retired its manifest and was interrupted: its payout files were announced by the
    /// completed run before.
    pub once_complete: bool,
}

impl NightState {
    /// Whether a payout file an earlier run of the night wrote was announced by a completed run (else the
    /// run that completes the night announces it as new).
    pub fn announced(self, already_emitted: bool) -> bool {
        already_emitted && (!self.completed_interrupted || self.once_complete)
    }
}

/// The state of `run_dir` for a run (or merge) of the night of `date`: without `force`, a complete night
/// is `already_run`'s answer.
pub fn begin(
    run_dir: &Path,
    date: Date,
    force: bool,
    spec: &crate::spec::JobSpec,
    spec_bytes: &[u8],
    base: &Path,
) -> Result<NightState, crate::JobError> {
    let replaced = run_dir.join("manifest.json").exists();
    let state = NightState {
        replaced,
        completed_interrupted: !replaced && run_dir.exists(),
        once_complete: run_dir.join(RETIRED).exists(),
    };
    if replaced && !force {
        let inputs: Vec<(crate::spec::InputRole, PathBuf)> =
            spec.inputs().into_iter().map(|(role, path, _)| (role, path.to_path_buf())).collect();
        return Err(already_run(run_dir, date, &crate::pipeline::sha256_hex(spec_bytes), base, &inputs));
    }
    Ok(state)
}
