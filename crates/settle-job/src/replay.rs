//! Replay: recompute a recorded run from its manifest and the input archive, and compare every output.
//!
//! The manifest names every input a run read by role, path (as the job spec writes it) and sha256: the
//! inputs, the job's profile files, the open items of the previous run, the payout register as it stood
//! before the business date, and the job spec itself. `replay` puts the archived spec in a temporary
//! directory, runs it for the recorded business date with every read served from the archive (each
//! blob's hash checked), and compares the outputs with the manifest's: identical, drift (per file), or an
//! error naming what is missing or corrupted.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use settle_core::{Date, parse_date};

use crate::archive::{self, ArchiveError};
use crate::pipeline::{JobError, RunOptions, run_job};

/// What a replayed run reads instead of the disk.
#[derive(Debug, Clone)]
pub struct Replay {
    /// The output root whose `.archive` holds the blobs.
    pub archive_root: PathBuf,
    /// (role, path) → sha256, from the manifest's inputs.
    pub inputs: BTreeMap<(String, String), String>,
    /// The previous run the recorded run read open items from (and counted schedules since).
    pub previous_run: Option<Date>,
    /// Rates inputs that came from the job's rates store (not listed in the spec), in manifest order.
    pub store_rates: Vec<String>,
    /// The spec's inputs as the recorded run named them, per role in spec order: an input the spec
    /// names by an absolute path was recorded relative to the job file's directory, which the replay
    /// (its spec in a folder of its own) cannot compute again.
    pub listed: BTreeMap<String, Vec<String>>,
    /// The settlement ledger's key files the recorded run read (from the archive).
    pub ledger: Vec<crate::ledger::NightFile>,
    /// The recorded run's ledger window: the horizon's first day, and whether older nights existed.
    pub ledger_window: Option<(Date, bool)>,
}

impl Replay {
    /// The archived bytes of the input `role` at `path`.
    pub fn load(&self, role: &'static str, path: &str) -> Result<Vec<u8>, ArchiveError> {
        match self.inputs.get(&(role.to_string(), path.to_string())) {
            Some(sha256) => archive::load(&self.archive_root, sha256, role, path),
            None => Err(ArchiveError::Missing {
                what: role.to_string(),
                path: path.to_string(),
                sha256: "(not in the manifest)".to_string(),
            }),
        }
    }

    /// Whether the recorded run read this input at all (optional inputs such as open balances).
    pub fn has(&self, role: &str, path: &str) -> bool {
        self.inputs.contains_key(&(role.to_string(), path.to_string()))
    }
}

/// One output compared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Drift {
    /// The recomputed file differs: (recorded sha256, recomputed sha256).
    Changed { path: String, recorded: String, recomputed: String },
    /// The manifest lists it, the replay did not write it.
    Missing { path: String },
    /// The replay wrote it, the manifest does not list it.
    Extra { path: String },
    /// The file in the run directory is not what the manifest recorded (edited, replaced or removed
    /// since): `found` is its sha256, None when it is missing.
    OnDisk { path: String, recorded: String, found: Option<String> },
}

/// The outcome of a replay.
#[derive(Debug, Clone)]
pub struct ReplayReport {
    pub job: String,
    pub business_date: Date,
    /// Outputs compared (the manifest's list).
    pub outputs: usize,
    pub drift: Vec<Drift>,
    /// The settle version that wrote the run, and this one.
    pub recorded_version: String,
    pub version: &'static str,
}

fn field<'a>(manifest: &'a serde_json::Value, pointer: &str, path: &Path) -> Result<&'a str, JobError> {
    manifest.pointer(pointer).and_then(serde_json::Value::as_str).ok_or_else(|| JobError::Replay {
        message: format!("{}: `{pointer}` is missing: expected a manifest written by settle run", path.display()),
    })
}

/// Recomputes the run in `run_dir` (see the module docs). `keep`: write the recomputed run there instead
/// of a temporary directory.
/// `run_dir/manifest.json`: its path, bytes and parsed value (replay, verify and diff read it alike).
pub(crate) fn read_manifest(run_dir: &Path) -> Result<(PathBuf, Vec<u8>, serde_json::Value), JobError> {
    let path = run_dir.join("manifest.json");
    let bytes = crate::fault::read(&path).map_err(|source| JobError::InputIo {
        path: path.display().to_string(),
        role: "manifest",
        source,
    })?;
    let manifest =
        serde_json::from_slice(&bytes).map_err(|e| JobError::Replay { message: format!("{}: {e}", path.display()) })?;
    Ok((path, bytes, manifest))
}

/// A manifest's outputs: path → sha256.
pub(crate) fn recorded_outputs(manifest: &serde_json::Value) -> BTreeMap<&str, &str> {
    manifest["outputs"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter_map(|o| Some((o["path"].as_str()?, o["sha256"].as_str()?)))
        .collect()
}

/// Whether `bytes` are the output `name` as its night's manifest recorded it (`recorded_outputs`); the
/// error says how they are not. What a night reads back of an earlier night's outputs is checked so.
pub(crate) fn check_recorded(outputs: &BTreeMap<&str, &str>, name: &str, bytes: &[u8]) -> Result<(), String> {
    let found = crate::pipeline::sha256_hex(bytes);
    match outputs.get(name) {
        Some(sha256) if *sha256 == found => Ok(()),
        Some(sha256) => Err(format!(
            "changed since its night wrote it: its content hashes to {found}, its manifest recorded {sha256}"
        )),
        None => Err("its night's manifest does not list it (written by an earlier settle, or not by settle)".into()),
    }
}

pub fn replay(run_dir: &Path, keep: Option<&Path>) -> Result<ReplayReport, JobError> {
    // A replay writes only into its own folder: never into an output root (runs, a payout register, the
    // ledger's key files, the archive), where it would rewrite real runs and cut the register back.
    if let Some(keep) = keep {
        let not_empty = match fs::read_dir(keep) {
            Ok(mut entries) => entries.next().is_some(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
            Err(source) => return Err(JobError::Write { path: keep.display().to_string(), source }),
        };
        if not_empty {
            {
                return Err(JobError::Replay {
                    message: format!(
                        "--keep {}: the folder is not empty (a replay writes a whole output root there and must not touch runs, payout registers or ledgers)",
                        keep.display()
                    ),
                });
            }
        }
    }
    let run_dir = &crate::seal::run_dir_path(run_dir)?;
    let (manifest_path, _, manifest) = read_manifest(run_dir)?;
    // The manifest is checked before anything it says is used: an edited one is not replayed.
    if let Some(problem) = crate::seal::root_problem(&manifest_path, &mut manifest.clone())? {
        return Err(JobError::Replay {
            message: format!("{problem}: the manifest was changed after its run wrote it; nothing was replayed"),
        });
    }
    let job = field(&manifest, "/job/name", &manifest_path)?.to_string();
    // Only the file name of the recorded spec: the replay writes it into its own folder, never where a
    // manifest's path (absolute, or with `..`) would put it.
    let spec_file = field(&manifest, "/job/spec_file", &manifest_path)?;
    let spec_file = Path::new(spec_file)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .filter(|n| Path::new(n).components().count() == 1 && !n.starts_with('.'))
        .ok_or_else(|| JobError::Replay {
            message: format!("{}: job.spec_file {spec_file:?} has no file name", manifest_path.display()),
        })?;
    let spec_sha = field(&manifest, "/job/spec_sha256", &manifest_path)?.to_string();
    let date_text = field(&manifest, "/business_date", &manifest_path)?;
    let business_date = parse_date(date_text)
        .map_err(|e| JobError::Replay { message: format!("{}: business_date: {e}", manifest_path.display()) })?;
    // The run directory is OUT/<job>/<date>: the archive is OUT/.archive.
    let archive_root = run_dir
        .parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .ok_or_else(|| JobError::Replay { message: format!("{}: expected OUT/<job>/<date>", run_dir.display()) })?;
    let mut inputs = BTreeMap::new();
    let mut store_rates = Vec::new();
    let mut listed: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for input in manifest["inputs"].as_array().map(Vec::as_slice).unwrap_or_default() {
        let (Some(role), Some(path), Some(sha)) =
            (input["role"].as_str(), input["path"].as_str(), input["sha256"].as_str())
        else {
            return Err(JobError::Replay {
                message: format!("{}: an input without role, path or sha256", manifest_path.display()),
            });
        };
        if role == "rates" && input["from_store"].as_bool() == Some(true) {
            store_rates.push(path.to_string());
        } else if crate::spec::InputRole::parse(role).is_some() {
            listed.entry(role.to_string()).or_default().push(path.to_string());
        }
        inputs.insert((role.to_string(), path.to_string()), sha.to_string());
    }
    let previous_run = match manifest.pointer("/previous_run").and_then(serde_json::Value::as_str) {
        Some(text) => Some(
            parse_date(text)
                .map_err(|e| JobError::Replay { message: format!("{}: previous_run: {e}", manifest_path.display()) })?,
        ),
        None => None,
    };
    let ledger =
        crate::ledger::from_manifest_inputs(manifest["inputs"].as_array().map(Vec::as_slice).unwrap_or_default())
            .ok_or_else(|| JobError::Replay {
                message: format!(
                    "{}: a `ledger` input without job, business_date, records or checksums",
                    manifest_path.display()
                ),
            })?;
    let spec_bytes = archive::load(&archive_root, &spec_sha, "job spec", &spec_file)?;
    let temp = tempfile::tempdir().map_err(|source| JobError::Write { path: "temporary directory".into(), source })?;
    let out = keep.map_or_else(|| temp.path().join("out"), Path::to_path_buf);
    let spec_path = temp.path().join(&spec_file);
    fs::write(&spec_path, &spec_bytes)
        .map_err(|source| JobError::Write { path: spec_path.display().to_string(), source })?;
    let options = RunOptions {
        date: Some(business_date),
        out: Some(out),
        force: keep.is_some(),
        after_ingest: None,
        replay: Some(Replay {
            archive_root,
            inputs,
            previous_run,
            store_rates,
            listed,
            ledger,
            ledger_window: crate::ledger::window_from_manifest(&manifest),
        }),
        sign_key: None,
        partition: None,
        and_later: true,
    };
    let outcome = run_job(&spec_path, &options)?;
    let recorded = recorded_outputs(&manifest);
    let recomputed: BTreeMap<&str, &str> = outcome
        .outputs
        .iter()
        .filter(|(name, _)| name != "manifest.json")
        .map(|(n, h)| (n.as_str(), h.as_str()))
        .collect();
    let mut drift = Vec::new();
    for (path, sha) in &recorded {
        match recomputed.get(path) {
            None => drift.push(Drift::Missing { path: path.to_string() }),
            Some(found) if found != sha => drift.push(Drift::Changed {
                path: path.to_string(),
                recorded: sha.to_string(),
                recomputed: found.to_string(),
            }),
            Some(_) => {}
        }
    }
    for path in recomputed.keys().filter(|p| !recorded.contains_key(*p)) {
        drift.push(Drift::Extra { path: path.to_string() });
    }
    // The run directory itself: what is on disk must be what the manifest recorded (a replay that only
    // compared its recomputation with the manifest would call an edited run identical).
    for (path, sha) in &recorded {
        let found = match fs::read(run_dir.join(path)) {
            Ok(bytes) => Some(crate::pipeline::sha256_hex(&bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(source) => {
                return Err(JobError::InputIo {
                    path: run_dir.join(path).display().to_string(),
                    role: "output",
                    source,
                });
            }
        };
        if found.as_deref() != Some(*sha) {
            drift.push(Drift::OnDisk { path: path.to_string(), recorded: sha.to_string(), found });
        }
    }
    Ok(ReplayReport {
        job,
        business_date,
        outputs: recorded.len(),
        drift,
        recorded_version: manifest["settle_version"].as_str().unwrap_or("").to_string(),
        version: env!("CARGO_PKG_VERSION"),
    })
}
