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

/// The job's run directories (`YYYY-MM-DD` under `job_dir`) by date.
pub fn nights(job_dir: &Path) -> Vec<NightDir> {
    let Ok(entries) = std::fs::read_dir(job_dir) else { return Vec::new() };
    let mut nights: Vec<NightDir> = entries
        .flatten()
        .filter(|e| e.path().is_dir())
        .filter_map(|e| {
            let date = settle_core::parse_date(&e.file_name().to_string_lossy()).ok()?;
            let dir = e.path();
            Some(NightDir { date, complete: dir.join("manifest.json").is_file(), dir })
        })
        .collect();
    nights.sort_by_key(|n| n.date);
    nights
}

/// The job's nights after `date` (complete or not): a night run now would change what they built on.
pub fn later(job_dir: &Path, date: Date) -> Vec<NightDir> {
    nights(job_dir).into_iter().filter(|n| n.date > date).collect()
}

/// The job's incomplete nights before `date`: a crash left them, maybe with payout files; tonight would
/// read open items around them.
pub fn incomplete_before(job_dir: &Path, date: Date) -> Vec<NightDir> {
    nights(job_dir).into_iter().filter(|n| n.date < date && !n.complete).collect()
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
        let key = path.to_string_lossy().replace('\\', "/");
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
    if let Some(first) = incomplete_before(job_dir, date).into_iter().next() {
        return Err(crate::JobError::IncompleteEarlier { date: first.date, dir: first.dir.display().to_string() });
    }
    let later = later(job_dir, date);
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
