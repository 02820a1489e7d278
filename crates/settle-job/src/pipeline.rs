//! The pipeline: ingest → convert → reconcile → payouts → reports → run directory.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde_json::json;
use settle_core::{BankEntry, Beneficiary, Calendar, ChannelTransaction, Date, Order, Rate};
use settle_fx::{ConversionPolicy, FxError, RateTable, RecordedConversion};
use settle_payout::{PayoutError, PayoutPolicy, compute_payouts};
use settle_recon::{Earlier, Inputs, Prior};

use crate::carry;
use settle_report::{SummaryInput, build_summary, render_json};
use settle_tabular::RecordKind;
use settle_tabular::TabularError;
use sha2::{Digest, Sha256};

use crate::bankfiles::TextEncoding;
use crate::spec::{CalendarName, InputRole, JobSpec, SpecError};
use crate::write::{remove_stale_temps, write_atomic};

/// How `settle run` was called.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Overrides the spec's business date.
    pub date: Option<Date>,
    /// Overrides the spec's output directory (relative to the current directory).
    pub out: Option<PathBuf>,
    /// Recompute a business date that already has a run directory.
    pub force: bool,
    /// Called once the inputs are parsed and the file bytes dropped, and again once the lists of several
    /// files are joined: the binary hands back the freed memory to the OS there (see src/alloc.rs),
    /// before the join's and the engine's allocations.
    pub after_ingest: Option<fn()>,
    /// Recompute a recorded run from the input archive instead of the files on disk (`settle replay`).
    pub replay: Option<crate::replay::Replay>,
    /// Sign the manifest with this ed25519 key (`manifest.json.sig`).
    pub sign_key: Option<PathBuf>,
    /// Settle one shard of the night into its partition directory (`settle run --partition I/N`); the
    /// run directory is made by `crate::merge::merge_job` from all N.
    pub partition: Option<crate::partition::Partition>,
    /// Run this night although the job has later nights (`settle run --and-later`, which recomputes them
    /// after it, in order).
    pub and_later: bool,
}

/// What a completed run did.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    pub run_dir: PathBuf,
    pub business_date: Date,
    /// True when nothing is open, in exception or rejected (exit code 0).
    pub all_settled: bool,
    /// A run directory was already there and has been recomputed (`--force`).
    pub replaced: bool,
    /// A run directory without a manifest (an interrupted run) was there and has been completed.
    pub completed_interrupted: bool,
    /// (file name, sha256) of every output, manifest last.
    pub outputs: Vec<(String, String)>,
    /// The summary, for the CLI's short report.
    pub summary: serde_json::Value,
    /// Checks of input files that failed (channel reports: gross − fee = net, batch sums, duplicate ids)
    /// and their warnings (unknown type codes), each naming the file and line.
    pub input_notes: Vec<String>,
    /// Texts the payout files' character set changed (`file: XML path: "from" written as "to"`): logged,
    /// not a break.
    pub payout_notes: Vec<String>,
    /// (file, already emitted by an earlier run of this date) of every payout file, by name.
    pub payout_files: Vec<(String, bool)>,
}

/// Why a run stopped. Every variant names the file (and line or key) it is about.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("payout file: {message}")]
    PaymentFile { message: String },
    #[error("payout register {path}: {message}")]
    Register { path: String, message: String },
    #[error("cannot list the run directories in {path}: {source}")]
    RunDirectories { path: String, source: std::io::Error },
    #[error("payout register {path} is not what the night of {night} left: {message}")]
    RegisterBehind { path: String, night: Date, message: String },
    #[error("cannot read job spec {path}: {source}")]
    SpecIo { path: String, source: std::io::Error },
    #[error("{0}")]
    Spec(#[from] SpecError),
    #[error("no business date: {path} has no `job.business_date` and no --date was given")]
    NoDate { path: String },
    #[error("cannot read input {path} (inputs.{role}): {source}")]
    InputIo { path: String, role: &'static str, source: std::io::Error },
    #[error("input {path} (inputs.{role}) is {kind}: expected a regular file")]
    InputNotAFile { path: String, role: &'static str, kind: &'static str },
    #[error("input {path} (inputs.{role}) is {bytes} bytes, more than inputs.max_file_bytes ({max_bytes})")]
    InputTooLarge { path: String, role: &'static str, bytes: u64, max_bytes: u64 },
    #[error("{0}")]
    Input(#[from] TabularError),
    #[error("{0}")]
    Bank(#[from] crate::bankfiles::BankFileError),
    #[error("{0}")]
    Profiled(#[from] crate::profiles::ProfiledError),
    #[error("rates: {0}")]
    Fx(#[from] FxError),
    #[error("{0}")]
    RateFile(#[from] crate::rates::RateFileError),
    #[error("fx.store: {message}")]
    RatesStore { message: String },
    #[error("{0}")]
    Payout(#[from] PayoutError),
    #[error("reconciliation: {0}")]
    Recon(#[from] settle_recon::ReconError),
    #[error("{0}")]
    Report(#[from] settle_report::ReportError),
    #[error("business date {date}: {source}")]
    Calendar { date: Date, source: settle_core::calendar::CalendarError },
    #[error("a run for {date} already exists in {dir}, read from other inputs ({changed} changed since)")]
    AlreadyRun { dir: String, date: Date, changed: String },
    /// Not a failure: the night is complete and its inputs are unchanged; nothing was written.
    #[error("the night of {date} is already complete in {dir}, from these same inputs: nothing to do")]
    AlreadyComplete { dir: String, date: Date, exit_code: u8 },
    #[error("the job has nights after {date} ({later}): they were built on the nights before them")]
    LaterNights { date: Date, later: String },
    #[error("the job's night of {date} is incomplete ({dir} has no manifest.json): it may have written payout files")]
    IncompleteEarlier { date: Date, dir: String },
    #[error("cannot write {path}: {source}")]
    Write { path: String, source: std::io::Error },
    #[error("open items of the run of {date} ({path}): {message}")]
    OpenItems { date: Date, path: String, message: String },
    #[error("{message} (inputs.{role})")]
    Other { role: &'static str, message: String },
    #[error("{0}")]
    Archive(#[from] crate::archive::ArchiveError),
    #[error("replay: {message}")]
    Replay { message: String },
    #[error("key {path}: {message}")]
    Key { path: String, message: String },
    #[error("another run of this job is in progress: {holder}")]
    Locked { path: String, holder: String },
    #[error("partitioned run: {message}")]
    Partition { message: String, hint: Option<String> },
    /// An invariant settle checks before it commits a night does not hold: a bug, never the input's
    /// fault; nothing of the night was written.
    #[error("invariant broken (a bug in settle; nothing of the night was written): {message}")]
    Invariant { message: String },
    #[error("{message}")]
    Audit { message: String },
    #[error("{0}")]
    Ledger(#[from] crate::ledger::LedgerError),
    /// The commit stopped after the payout register was written: some of the night's payout files may be
    /// under their final names, but the night is incomplete and they are not announced.
    #[error(
        "{source}; the night is incomplete: its payout files may be under their final names ({files}) but are not announced: upload none of them until a rerun completes the night and lists them as new"
    )]
    PayoutFilesUnannounced { source: Box<JobError>, files: String },
}

impl JobError {
    /// A `hint:` line for the CLI, where there is something to do.
    pub fn hint(&self) -> Option<String> {
        match self {
            JobError::AlreadyRun { .. } => Some(
                "pass --force to recompute it from tonight's inputs (payout files already emitted are rebuilt byte for byte or the run stops)"
                    .into(),
            ),
            JobError::LaterNights { .. } => Some(
                "pass --and-later to recompute the later nights after this one, in order (payouts already emitted are never emitted again); or run the latest night instead"
                    .into(),
            ),
            JobError::IncompleteEarlier { date, .. } => Some(format!(
                "complete the night of {date} first: run its command again (without --force)"
            )),
            JobError::NoDate { .. } => Some("pass --date YYYY-MM-DD, or set business_date under [job]".into()),
            JobError::InputNotAFile { .. } => {
                Some("copy the file the channel or bank delivered to a regular file and name that in the job spec".into())
            }
            JobError::InputTooLarge { .. } => {
                Some("if the file is real, raise inputs.max_file_bytes in the job spec (or split the night into partitions)".into())
            }
            JobError::Input(_) => {
                Some("the canonical CSV layouts are described column by column in docs/formats.md".into())
            }
            JobError::Fx(FxError::Implausible(_)) => Some(
                "correct the rate in its file; if the move is real (a devaluation), raise fx.max_rate_change_percent in the job spec for this night"
                    .into(),
            ),
            JobError::Fx(FxError::NoRate { .. }) => {
                Some("add the rate to an inputs.rates file, or raise fx.max_rate_age_days in the job spec".into())
            }
            JobError::Locked { path, .. } => Some(format!(
                "wait for it to end and run again; the lock ({path}) is released when that process ends, even if it is killed"
            )),
            JobError::Partition { hint, .. } => hint.clone(),
            JobError::Ledger(e) => e.hint(),
            JobError::PayoutFilesUnannounced { source, .. } => source.hint(),
            JobError::RegisterBehind { path, .. } => Some(format!(
                "never run a night against it: `settle register rebuild {}` makes the register again from the run directories (each night's registered_payouts.csv and returned_payouts.csv, checked against its manifest)",
                Path::new(path).parent().map(|p| p.display().to_string()).unwrap_or_default()
            )),
            JobError::Write { source, .. }
            | JobError::Archive(
                crate::archive::ArchiveError::Io { source, .. } | crate::archive::ArchiveError::Read { source, .. },
            ) => Some(if is_disk_error(source) {
                "the night is incomplete (its run directory has no manifest.json); fix the disk (space, permissions) and run the same command again: it completes the night with the same bytes and never emits a payout twice"
                    .into()
            } else {
                "the night is incomplete (its run directory has no manifest.json); correct the path (--out or output.dir must be a directory, or a place one can be made) and run the same command again: it completes the night with the same bytes and never emits a payout twice"
                    .into()
            }),
            JobError::Archive(crate::archive::ArchiveError::NotAFile { .. }) => Some(
                "an archive blob must be a regular file: remove the link (the next run archives the input again), or restore the blob from a backup"
                    .into(),
            ),
            JobError::OpenItems { date, .. } => Some(format!(
                "restore the run directory of {date} from a backup (`settle verify` on it lists what changed), or recompute it with `settle run --force --and-later --date {date}`"
            )),
            _ => None,
        }
    }
}

/// Whether an I/O error is the disk's (full, quota, read-only, permissions, a device error) rather than
/// a path that cannot be one (a file where a directory must be, a dangling link, a name too long).
fn is_disk_error(error: &std::io::Error) -> bool {
    use std::io::ErrorKind;
    matches!(
        error.kind(),
        ErrorKind::StorageFull
            | ErrorKind::QuotaExceeded
            | ErrorKind::ReadOnlyFilesystem
            | ErrorKind::PermissionDenied
            | ErrorKind::WriteZero
            | ErrorKind::UnexpectedEof
    ) || matches!(error.raw_os_error(), Some(5 /* EIO */ | 28 /* ENOSPC */))
}

pub(crate) enum Parsed {
    Orders(Vec<Order>),
    Channel(Vec<ChannelTransaction>),
    Bank(Vec<BankEntry>, Vec<settle_core::statement::CheckRecord>),
    Rates(Vec<Rate>),
    Beneficiaries(Vec<Beneficiary>),
    PaymentStatus(Vec<settle_iso20022::PaymentStatus>),
    PaidAccounts(Vec<settle_payout::files::PaidAccount>),
}

pub(crate) struct InputFile {
    pub(crate) role: InputRole,
    /// As written in the spec: this is what provenance and the manifest record.
    pub(crate) spec_path: String,
    /// Where it was read from (the job file's directory joined with the spec's path).
    pub(crate) disk: PathBuf,
    pub(crate) bytes: u64,
    pub(crate) sha256: String,
    pub(crate) parsed: Parsed,
    /// The profile a channel report or bank CSV was read with.
    pub(crate) profile: Option<String>,
    /// A profile file of the job's it was read with: (path as in the spec, sha256).
    pub(crate) profile_file: Option<(String, String)>,
    /// The file's checks that failed and its warnings, each naming the file and line.
    pub(crate) notes: Vec<String>,
    /// A channel report read for a partition (`keep`): the rows it did not keep, in brief, and each kept
    /// row's ordinal among the file's rows.
    pub(crate) shard: Option<(Vec<settle_recon::ForeignRow>, Vec<u32>)>,
}

/// Removes `.` and `dir/..` pairs lexically (for the paths settle prints; symlinks are not resolved).
pub(crate) fn normalize(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir if matches!(out.components().next_back(), Some(Component::Normal(_))) => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    if out.as_os_str().is_empty() { PathBuf::from(".") } else { out }
}

/// The beneficiaries as read, checked across all their files: one id defined twice (in one file or two)
/// is an error naming both lines (which IBAN would be paid?); a text a payout file cannot carry is a
/// note naming the line, and that beneficiary's payouts are held (`held_invalid_beneficiary`).
pub(crate) fn check_beneficiaries(
    spec: &JobSpec,
    beneficiaries: &[Beneficiary],
    notes: &mut Vec<String>,
) -> Result<(), JobError> {
    let mut first: BTreeMap<&str, &settle_core::Provenance> = BTreeMap::new();
    for b in beneficiaries {
        if let Some(earlier) = first.insert(b.beneficiary_id.as_str(), &b.provenance) {
            return Err(JobError::Other {
                role: "beneficiaries",
                message: format!(
                    "{}: beneficiary {} is defined again (first at {earlier}): expected one row per beneficiary across the beneficiaries files",
                    b.provenance,
                    settle_core::text::brief(&b.beneficiary_id, 40)
                ),
            });
        }
    }
    let charset = spec.payouts.bank.profile().expect("validated by JobSpec::parse").charset;
    for b in beneficiaries {
        let cross_border = !settle_payout::files::is_sepa(b.payout_currency, &b.iban);
        if let Some(problem) = settle_payout::files::beneficiary_problem(b, charset, cross_border) {
            notes.push(format!(
                "{}: beneficiary {}: {problem}: its payouts are held (held_invalid_beneficiary) until the file is corrected",
                b.provenance, b.beneficiary_id
            ));
        }
    }
    Ok(())
}

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    crate::archive::hex(&Sha256::digest(bytes))
}

/// The bytes of an input: from disk, or when replaying, from the archive by the hash the recorded run
/// read (`key` is the path as the manifest records it).
fn fetch(
    replay: Option<&crate::replay::Replay>,
    role: &'static str,
    key: &str,
    disk: &Path,
    max_bytes: u64,
) -> Result<Vec<u8>, JobError> {
    match replay {
        Some(replay) => Ok(replay.load(role, key)?),
        None => {
            check_input_file(disk, role, max_bytes)?;
            crate::fault::read(disk).map_err(|source| JobError::InputIo {
                path: disk.display().to_string(),
                role,
                source,
            })
        }
    }
}

/// An input must be a regular file (a symbolic link to one is followed) no larger than `max_bytes`:
/// /dev/zero would be read until memory is gone, a FIFO would block the night forever.
pub(crate) fn check_input_file(disk: &Path, role: &'static str, max_bytes: u64) -> Result<(), JobError> {
    let path = disk.display().to_string();
    let metadata = std::fs::metadata(disk).map_err(|source| JobError::InputIo { path: path.clone(), role, source })?;
    if !metadata.is_file() {
        let kind = if metadata.is_dir() { "a directory" } else { "not a regular file (a FIFO, socket or device)" };
        return Err(JobError::InputNotAFile { path, role, kind });
    }
    if metadata.len() > max_bytes {
        return Err(JobError::InputTooLarge { path, role, bytes: metadata.len(), max_bytes });
    }
    Ok(())
}

/// The name an input is recorded under (provenance, the manifest, the archive's index): the path as the
/// spec writes it, relative to the job file's directory; an absolute path is made relative to that
/// directory, so the host's directories never reach the outputs. A replay takes the name the recorded run
/// gave (`recorded`): its spec sits in a folder of its own.
pub(crate) fn recorded_name(base: &Path, path: &Path, recorded: Option<&str>) -> String {
    if let (true, Some(name)) = (path.is_absolute(), recorded) {
        return name.to_string();
    }
    let relative = match path.is_absolute() {
        false => path.to_path_buf(),
        true => {
            let base = fs::canonicalize(base).unwrap_or_else(|_| std::path::absolute(base).unwrap_or_default());
            let (base, path) = (normalize(&base), normalize(path));
            let common = base.components().zip(path.components()).take_while(|(a, b)| a == b).count();
            let mut out = PathBuf::new();
            for _ in base.components().skip(common) {
                out.push("..");
            }
            for part in path.components().skip(common) {
                out.push(part.as_os_str());
            }
            out
        }
    };
    relative.to_string_lossy().replace('\\', "/")
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn read_input(
    base: &Path,
    role: InputRole,
    path: &Path,
    name: String,
    profile: Option<&str>,
    encoding: Option<TextEncoding>,
    replay: Option<&crate::replay::Replay>,
    keep: Option<settle_tabular::Keep<'_>>,
    max_bytes: u64,
) -> Result<InputFile, JobError> {
    let spec_path = name;
    let bytes = fetch(replay, role.as_str(), &spec_path, &base.join(path), max_bytes)?;
    let name = spec_path.as_str();
    let parquet = settle_tabular::is_parquet(&bytes);
    let mut notes = Vec::new();
    // Invisible and control characters make an id that looks like another (a byte order mark before
    // `O261031-00000101`) or a name that reads otherwise on screen: removed from text rows, each named.
    let text_rows = !parquet
        && !matches!(role, InputRole::Rates | InputRole::PaymentStatus)
        && !bytes.iter().find(|b| !b.is_ascii_whitespace()).is_some_and(|&b| b == b'<' || b == b'{');
    // The file as it is on disk: what the manifest and the archive record.
    let (sha256, length) = (sha256_hex(&bytes), bytes.len() as u64);
    let bytes = match text_rows.then(|| settle_core::text::strip_hidden(&bytes)).flatten() {
        Some((clean, stripped)) => {
            const NAMED: usize = 20;
            for s in stripped.iter().take(NAMED) {
                notes.push(format!(
                    "{name}:{}: removed U+{:04X} (an invisible or control character) from the row: its ids and texts are read without it",
                    s.line,
                    u32::from(s.character)
                ));
            }
            if stripped.len() > NAMED {
                notes.push(format!("{name}: {} more such characters removed", stripped.len() - NAMED));
            }
            clean
        }
        None => bytes,
    };
    let mut used_profile = None;
    let mut profile_file = None;
    let mut shard = None;
    let mut profiled = |expected: RecordKind| -> Result<settle_tabular::ProfiledRead, JobError> {
        let chosen = match profile {
            // A profile file of the job's is an input too: hashed, archived, replayed.
            Some(p) if p.ends_with(".toml") => {
                let disk = base.join(p);
                let text = fetch(replay, "profile", p, &disk, max_bytes)?;
                profile_file = Some((p.to_string(), sha256_hex(&text)));
                let text = String::from_utf8_lossy(&text);
                Some(
                    settle_tabular::Profile::from_toml(&disk.display().to_string(), &text)
                        .map_err(crate::profiles::ProfiledError::from)?,
                )
            }
            Some(p) => crate::profiles::resolve(base, name, p)?,
            None => None,
        };
        let read = crate::profiles::read(name, &bytes, chosen.as_ref(), expected, keep)?;
        notes.extend(read.problems.iter().map(|p| format!("{name}:{}: {}: {}", p.line, p.check, p.message)));
        notes.extend(read.warnings.iter().cloned());
        used_profile = Some(read.profile.clone());
        Ok(read)
    };
    let parsed = match role {
        // Parquet always goes through a profile (`auto`: the one its column names fit).
        InputRole::Orders if profile.is_some() || parquet => Parsed::Orders(profiled(RecordKind::Orders)?.orders),
        InputRole::Orders => Parsed::Orders(settle_tabular::read_orders(name, &bytes)?),
        InputRole::ChannelTransactions => {
            let read = profiled(RecordKind::ChannelTransactions)?;
            if keep.is_some() {
                shard = Some((read.foreign_rows, read.kept_ordinals));
            }
            Parsed::Channel(read.channel_transactions)
        }
        InputRole::BankEntries if profile.is_some() => {
            Parsed::Bank(profiled(RecordKind::BankEntries)?.bank_entries, Vec::new())
        }
        InputRole::BankEntries => {
            let (rows, statements) = crate::bankfiles::read_bank_statements(name, &bytes, encoding)?;
            Parsed::Bank(rows, statements)
        }
        InputRole::Rates => Parsed::Rates(crate::rates::read_rate_file(name, &bytes)?.0),
        InputRole::Beneficiaries if profile.is_some() || parquet => {
            Parsed::Beneficiaries(profiled(RecordKind::Beneficiaries)?.beneficiaries)
        }
        InputRole::Beneficiaries => Parsed::Beneficiaries(settle_tabular::read_beneficiaries(name, &bytes)?),
        InputRole::PaymentStatus => Parsed::PaymentStatus(
            settle_iso20022::read_pain002(name, &bytes[..], settle_iso20022::Limits::default())
                .map_err(|e| JobError::Other { role: role.as_str(), message: e.to_string() })?,
        ),
        InputRole::PaidAccounts => Parsed::PaidAccounts(
            crate::register::read_paid_accounts(name, &bytes)
                .map_err(|message| JobError::Other { role: role.as_str(), message })?,
        ),
    };
    Ok(InputFile {
        role,
        sha256,
        bytes: length,
        spec_path,
        disk: base.join(path),
        parsed,
        profile: used_profile,
        profile_file,
        notes,
        shard,
    })
}

/// `id` as a file name: itself when it is letters, digits, `-`, `_` and `.` (not leading), else `id-` and
/// 16 hex digits of its sha256, so two ids never share a file.
fn file_safe(id: &str) -> String {
    let plain = !id.is_empty()
        && !id.starts_with('.')
        && id.len() <= 100
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if plain { id.to_string() } else { format!("id-{}", &sha256_hex(id.as_bytes())[..16]) }
}

/// The records of several files as one list, in file order. One file's list is taken as it is; several
/// are moved into a list of the exact size, each freed once moved (ten million channel rows are 4 GB:
/// growing a list by doubling would copy them again and leave the old blocks to the allocator).
pub fn concat<T>(mut lists: Vec<Vec<T>>) -> Vec<T> {
    if lists.len() == 1 {
        return lists.pop().expect("one list");
    }
    let mut all = Vec::with_capacity(lists.iter().map(Vec::len).sum());
    for list in lists {
        all.extend(list);
    }
    all
}

/// Runs a job for one business date. See the crate docs for the order of work.
/// The open items a run left, read back, and the files' bytes.
struct CarriedIn {
    carry: carry::Carry,
    balances: Vec<settle_payout::CarriedBalance>,
    files: Vec<(&'static str, Vec<u8>)>,
}

fn read_open_items(date: Date, dir: &Path, replay: Option<&crate::replay::Replay>) -> Result<CarriedIn, JobError> {
    let error = |name: &str, message: String| JobError::OpenItems { date, path: format!("{date}/{name}"), message };
    let read = |name: &str| -> Result<Vec<u8>, JobError> {
        match replay {
            Some(replay) => Ok(replay.load("open_items", &format!("{date}/{name}"))?),
            None => crate::fault::read(dir.join(name)).map_err(|e| error(name, e.to_string())),
        }
    };
    // What the previous night's manifest recorded of each file: a carried file is verified, never
    // trusted (an edited open_balances.csv would otherwise pay or lose money silently).
    let manifest = match replay {
        Some(_) => None,
        None => Some(crate::replay::read_manifest(dir)?.2),
    };
    let recorded = manifest.as_ref().map(crate::replay::recorded_outputs);
    let verified = |name: &str, bytes: Vec<u8>| -> Result<Vec<u8>, JobError> {
        match &recorded {
            Some(outputs) => {
                crate::replay::check_recorded(outputs, name, &bytes).map(|()| bytes).map_err(|m| error(name, m))
            }
            None => Ok(bytes),
        }
    };
    // The index was checked when the recorded run read it; a replay reads what it read.
    if replay.is_none() {
        let index = verified(carry::INDEX, read(carry::INDEX)?)?;
        let index: serde_json::Value =
            serde_json::from_slice(&index).map_err(|e| error(carry::INDEX, e.to_string()))?;
        if index["format"] != carry::FORMAT || index["version"] != carry::VERSION {
            return Err(error(
                carry::INDEX,
                format!(
                    "format {} version {}: expected {} version {}",
                    index["format"],
                    index["version"],
                    carry::FORMAT,
                    carry::VERSION
                ),
            ));
        }
    }
    let mut files = Vec::new();
    for name in carry::FILES {
        files.push((name, verified(name, read(name)?)?));
    }
    // Records name their source as `<date>/<file>:<line>`, relative to the job's run directories.
    let source = |name: &str| format!("{date}/{name}");
    let own = settle_tabular::Origin::Own;
    let orders = settle_tabular::read_orders_from(&source(carry::FILES[0]), &files[0].1, own)?;
    let channel = settle_tabular::read_channel_transactions_from(&source(carry::FILES[1]), &files[1].1, own)?;
    let bank = settle_tabular::read_bank_entries_from(&source(carry::FILES[2]), &files[2].1, own)?;
    let decided = carry::read_earlier(&source(carry::FILES[3]), &files[3].1).map_err(|m| error(carry::FILES[3], m))?;
    let payouts = carry::read_payouts(&source(carry::FILES[4]), &files[4].1).map_err(|m| error(carry::FILES[4], m))?;
    let mut earlier = Vec::with_capacity(channel.len());
    let mut earlier_orders = Vec::with_capacity(channel.len());
    for tx in &channel {
        let (stage_a, order, stage_b) = decided
            .get(&(tx.channel.to_string(), tx.transaction_id.to_string()))
            .cloned()
            .unwrap_or((None, None, false));
        earlier.push(Earlier { stage_a: stage_a.map(|place| (place, None)), stage_b_matched: stage_b });
        earlier_orders.push(order);
    }
    let balances_bytes = match replay {
        Some(replay) if !replay.has("open_items", &format!("{date}/{}", carry::BALANCES)) => None,
        Some(_) => Some(read(carry::BALANCES)?),
        None => match crate::fault::read(dir.join(carry::BALANCES)) {
            Ok(bytes) => Some(verified(carry::BALANCES, bytes)?),
            Err(e)
                if e.kind() == std::io::ErrorKind::NotFound
                    && recorded.as_ref().is_some_and(|r| r.contains_key(carry::BALANCES)) =>
            {
                return Err(error(carry::BALANCES, "missing: its night's manifest lists it".into()));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(error(carry::BALANCES, e.to_string())),
        },
    };
    let balances = match balances_bytes {
        Some(bytes) => {
            let balances = carry::read_balances(&bytes).map_err(|m| error(carry::BALANCES, m))?;
            files.push((carry::BALANCES, bytes));
            balances
        }
        None => Vec::new(),
    };
    Ok(CarriedIn {
        carry: carry::Carry { orders, channel, bank, earlier, earlier_orders, payouts, written_off: Vec::new() },
        balances,
        files,
    })
}

/// channels.csv's rows: per channel, rows and how many matched in stages A and B; per channel and
/// settlement currency, rows and fees.
pub(crate) fn channel_progress(
    channel: &[ChannelTransaction],
    recon: &settle_recon::ReconResult,
) -> (Vec<settle_report::html::ChannelProgress>, Vec<settle_report::html::ChannelFees>) {
    let mut progress: BTreeMap<&str, settle_report::html::ChannelProgress> = BTreeMap::new();
    let mut fees: BTreeMap<(&str, settle_core::Currency), (u64, settle_core::Decimal)> = BTreeMap::new();
    for (tx, outcome) in channel.iter().zip(&recon.channel) {
        let p = progress.entry(tx.channel.as_str()).or_insert_with(|| settle_report::html::ChannelProgress {
            channel: tx.channel.to_string(),
            rows: 0,
            matched_a: 0,
            matched_b: 0,
        });
        p.rows += 1;
        p.matched_a += u64::from(outcome.stage_a == settle_recon::Place::Matched);
        p.matched_b += u64::from(outcome.stage_b == settle_recon::Place::Matched);
        let f = fees.entry((tx.channel.as_str(), tx.settlement_currency)).or_default();
        f.0 += 1;
        f.1 += tx.fee;
    }
    let progress: Vec<_> = progress.into_values().collect();
    let fees: Vec<_> = fees
        .into_iter()
        .map(|((channel, currency), (rows, fees))| settle_report::html::ChannelFees {
            channel: channel.to_string(),
            currency,
            rows,
            fees,
        })
        .collect();
    (progress, fees)
}

/// The pain.001 files of the payable `payouts` (one per debtor account; the others' status says why no
/// file may carry them), checked against `register` (`settle_payout::files::payment_files`); none when
/// the job names no debtor.
pub(crate) fn payout_files(
    spec: &JobSpec,
    payouts: &mut [settle_payout::Payout],
    business_date: Date,
    register: &settle_payout::files::Register,
    paid_accounts: &[settle_payout::files::PaidAccount],
) -> Result<settle_payout::files::PaymentRun, JobError> {
    let Some(debtor) = &spec.payouts.debtor else {
        return Ok(settle_payout::files::PaymentRun { files: Vec::new(), new_entries: Vec::new() });
    };
    settle_payout::files::payment_files(
        payouts,
        &debtor.debtor().expect("validated by JobSpec::parse"),
        &spec.payouts.bank.profile().expect("validated by JobSpec::parse"),
        &spec.job.name,
        business_date,
        register,
        &spec.payouts.approve_bank_details,
        paid_accounts,
        &spec.payouts.transfer_codes().expect("validated by JobSpec::parse"),
    )
    .map_err(|e| JobError::PaymentFile { message: e.to_string() })
}

/// Stages output `name` of the run directory; an error names its final path.
pub(crate) fn put(staging: &mut crate::write::Staging, name: &str, bytes: &[u8]) -> Result<(), JobError> {
    staging
        .put(name, bytes)
        .map_err(|source| JobError::Write { path: staging.root().join(name).display().to_string(), source })
}

/// `tables/<table>.parquet`: a table's Parquet copy.
pub(crate) fn parquet_name(csv_name: &str) -> String {
    format!("tables/{}.parquet", csv_name.trim_end_matches(".csv"))
}

/// Stages a table as CSV and as Parquet (for BI tools and `settle history`), from the same bytes.
pub(crate) fn put_table(staging: &mut crate::write::Staging, name: &'static str, bytes: &[u8]) -> Result<(), JobError> {
    put(staging, name, bytes)?;
    put(staging, &parquet_name(name), &settle_report::tables::csv_to_parquet(name, bytes)?)
}

type ParquetThread = std::thread::JoinHandle<Result<Vec<u8>, settle_report::ReportError>>;

/// matches.csv's Parquet copy, read back from its staged temp file `temp` on a thread of its own (its
/// first reading is sequential) while the other outputs render.
pub(crate) fn matches_parquet(temp: PathBuf, started: std::time::Instant) -> ParquetThread {
    std::thread::spawn(move || -> Result<Vec<u8>, settle_report::ReportError> {
        let mut parquet = Vec::new();
        settle_report::tables::csv_to_parquet_streamed("matches.csv", || fs::File::open(&temp), &mut parquet)?;
        tracing::debug!(phase = "render", elapsed_ms = started.elapsed().as_millis() as u64, "matches.parquet made");
        Ok(parquet)
    })
}

/// Waits for `matches_parquet` and stages what it made.
pub(crate) fn put_matches_parquet(staging: &mut crate::write::Staging, thread: ParquetThread) -> Result<(), JobError> {
    let parquet = thread.join().map_err(|_| {
        JobError::Report(settle_report::ReportError::Table {
            table: "matches.csv",
            message: "its Parquet conversion stopped".into(),
        })
    })??;
    put(staging, &parquet_name("matches.csv"), &parquet)
}

/// The texts the payout files' character set changed (`file: XML path: "from" written as "to"`).
pub(crate) fn payout_notes(files: &[settle_payout::files::PaymentFile]) -> Vec<String> {
    files
        .iter()
        .flat_map(|file| {
            file.written.transliterated.iter().map(|t| {
                format!(
                    "{}: {}: {:?} written as {:?} (characters the payout file may not hold)",
                    file.name, t.path, t.from, t.to
                )
            })
        })
        .collect()
}

/// What the treasury report and the tallies and channels tables are made from.
pub(crate) struct Report<'a> {
    pub spec: &'a JobSpec,
    pub business_date: Date,
    pub summary: &'a serde_json::Value,
    pub statements: &'a [settle_core::statement::CheckRecord],
    pub channels: &'a [settle_report::html::ChannelProgress],
    pub fees: &'a [settle_report::html::ChannelFees],
    pub exceptions_csv: &'a [u8],
    pub fx_cost_csv: &'a [u8],
    pub payouts_csv: &'a [u8],
    pub inputs: &'a [serde_json::Value],
    pub tallies: &'a settle_recon::Tallies,
}

/// Stages report.html (from the tables just rendered, so both say the same), tallies.csv and
/// channels.csv.
pub(crate) fn put_report(staging: &mut crate::write::Staging, r: &Report<'_>) -> Result<(), JobError> {
    let report = settle_report::html::report_html(&settle_report::html::ReportInput {
        job: &r.spec.job.name,
        business_date: r.business_date,
        version: env!("CARGO_PKG_VERSION"),
        summary: r.summary,
        statements: r.statements,
        channels: r.channels,
        fees: r.fees,
        exceptions_csv: r.exceptions_csv,
        fx_cost_csv: r.fx_cost_csv,
        payouts_csv: r.payouts_csv,
        inputs: r.inputs,
    })?;
    put(staging, "report.html", &report)?;
    put_table(staging, "tallies.csv", &settle_report::tallies_csv(r.tallies)?)?;
    put_table(staging, "channels.csv", &settle_report::channels_csv(r.channels, r.fees)?)
}

/// What the statements of account are made from.
pub(crate) struct Statements<'a> {
    pub orders: &'a [Order],
    pub channel: &'a [ChannelTransaction],
    pub recon: &'a settle_recon::ReconResult,
    pub release: settle_payout::Release,
    pub fee_plans: &'a [settle_payout::FeePlan],
    pub payouts: &'a [settle_payout::Payout],
}

/// Stages every payout's statement of account (`payouts/statements/<beneficiary>.csv`).
pub(crate) fn stage_statements(
    staging: &mut crate::write::Staging,
    s: &Statements<'_>,
    rounding: settle_core::RoundingMode,
    run_dir: &Path,
) -> Result<(), JobError> {
    let statement_rows = settle_payout::statement_rows(s.orders, s.channel, s.recon, s.release);
    let order_of = |i: usize| s.recon.channel[i].order.map(|o| o as usize);
    staging.put_many(
        "payouts/statements",
        s.payouts.len(),
        |i| -> Result<(String, Vec<u8>), JobError> {
            let payout = &s.payouts[i];
            let rows = statement_rows.get(&payout.beneficiary_id).map_or(&[][..], Vec::as_slice);
            let plan = payout
                .beneficiary
                .as_ref()
                .and_then(|b| b.fee_plan.as_deref())
                .and_then(|id| s.fee_plans.iter().find(|p| p.id == id));
            let bytes = settle_report::statement_csv(payout, s.orders, s.channel, rows, &order_of, plan, rounding)?;
            Ok((statement_name(&payout.beneficiary_id), bytes))
        },
        |name, source| JobError::Write { path: run_dir.join(name).display().to_string(), source },
    )
}

/// A beneficiary's statement of account in the run directory.
pub(crate) fn statement_name(beneficiary_id: &str) -> String {
    format!("payouts/statements/{}.csv", file_safe(beneficiary_id))
}

/// What the commit of a night (a run, or a merge of partitions) needs besides its staged outputs.
pub(crate) struct Night<'a> {
    pub spec: &'a JobSpec,
    pub job_path: &'a Path,
    pub spec_bytes: &'a [u8],
    pub business_date: Date,
    pub previous_run: Option<Date>,
    pub manifest_inputs: Vec<serde_json::Value>,
    pub out_root: &'a Path,
    pub job_dir: &'a Path,
    pub run_dir: &'a Path,
    /// Payouts in tonight's payout files.
    pub payout_files: usize,
    pub register: &'a mut settle_payout::files::Register,
    pub register_path: &'a Path,
    pub new_entries: &'a [settle_payout::files::RegisterEntry],
    pub register_changed: bool,
    /// Store the inputs in the archive (not on a replay).
    pub archive: bool,
    pub archived: &'a [(PathBuf, String)],
    pub archived_bytes: &'a [(String, Vec<u8>)],
    pub sign_key: Option<&'a crate::seal::SigningKey>,
    pub started: std::time::Instant,
    /// The manifest's `ledger`: what the night's key file holds (`crate::ledger::write`).
    pub ledger: serde_json::Value,
    /// The manifest's `ledger_window` (`crate::ledger::Checked::window`).
    pub ledger_window: serde_json::Value,
}

/// Commits a night's staged outputs: retires the manifest of a night being recomputed, stores the inputs
/// (and the night's ledger key file) in the archive, writes the payout register (write-ahead), every
/// output under its final name, the manifest last (and its signature). (file, sha256) of every file
/// written, manifest last.
pub(crate) fn commit_night(
    night: Night<'_>,
    mut staging: crate::write::Staging,
) -> Result<Vec<(String, String)>, JobError> {
    let Night {
        spec,
        job_path,
        spec_bytes,
        business_date,
        previous_run,
        manifest_inputs,
        out_root,
        job_dir,
        run_dir,
        payout_files,
        register,
        register_path,
        new_entries,
        register_changed,
        archive,
        archived,
        archived_bytes,
        sign_key,
        started,
        ledger,
        ledger_window,
    } = night;
    let write_error = |path: &Path| {
        let path = path.display().to_string();
        move |source| JobError::Write { path, source }
    };
    let json_error = |table| move |source| settle_report::ReportError::Json { table, source };
    let csv_error = |table| move |source| settle_report::ReportError::Csv { table, source };
    // The manifest lists the outputs in a fixed order: the tables, the Parquet copies, the payout files,
    // then the statements of account.
    const ORDER: [&str; 27] = [
        "summary.json",
        "matches.csv",
        "exceptions.csv",
        "payouts.csv",
        "conversions.csv",
        "fx_cost.csv",
        "open_orders.csv",
        "open_channel_transactions.csv",
        "open_bank_entries.csv",
        "open_earlier.csv",
        "open_payouts.csv",
        "written_off.csv",
        carry::BALANCES,
        "returned_payouts.csv",
        carry::INDEX,
        crate::ledger::FILE,
        crate::register::SLICE,
        "report.html",
        "tallies.csv",
        "channels.csv",
        "tables/matches.parquet",
        "tables/exceptions.parquet",
        "tables/payouts.parquet",
        "tables/conversions.parquet",
        "tables/fx_cost.parquet",
        "tables/tallies.parquet",
        "tables/channels.parquet",
    ];
    // The register as it will stand: tonight's new entries after the earlier ones.
    if !new_entries.is_empty() {
        register.entries.extend(new_entries.iter().cloned());
    }
    // Never the same payout twice: checked here, before anything is written, on every run.
    let mut seen = std::collections::HashSet::with_capacity(register.entries.len());
    for entry in &register.entries {
        if !seen.insert((&entry.payout_id, 0u8)) || !seen.insert((&entry.end_to_end_id, 1u8)) {
            return Err(JobError::Invariant {
                message: format!(
                    "payout {} (EndToEndId {}) would be in the payout register twice",
                    entry.payout_id, entry.end_to_end_id
                ),
            });
        }
    }
    drop(seen);
    // Tonight's own entries: the next nights check the register against them, and `settle register
    // rebuild` makes the register again from them.
    let slice = crate::register::slice(register, business_date).map_err(csv_error(crate::register::SLICE))?;
    staging.put(crate::register::SLICE, &slice).map_err(write_error(&run_dir.join(crate::register::SLICE)))?;
    staging.sort_by_key(|name| match ORDER.iter().position(|n| *n == name) {
        Some(i) => (0, i),
        None if name.starts_with("payouts/statements/") => (2, 0),
        None => (1, 0),
    });
    // An output missing from ORDER would land among the payout files unnoticed.
    for file in staging.files() {
        assert!(
            ORDER.contains(&file.name.as_str()) || file.name.starts_with("payouts/"),
            "output {} has no place in the manifest's order",
            file.name
        );
    }
    let manifest_outputs: Vec<_> =
        staging.files().iter().map(|f| json!({"path": f.name, "bytes": f.bytes, "sha256": f.sha256})).collect();
    let job_file_name = job_path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
    let mut manifest = json!({
        "settle_version": env!("CARGO_PKG_VERSION"),
        "settle_commit": option_env!("SETTLE_BUILD_COMMIT").unwrap_or("unknown"),
        "job": {"name": spec.job.name, "spec_file": job_file_name, "spec_sha256": sha256_hex(spec_bytes)},
        "business_date": business_date.to_string(),
        "previous_run": previous_run.map(|date| date.to_string()),
        "inputs": manifest_inputs,
        "outputs": manifest_outputs,
        "payout_register": {
            "path": format!("../{}", crate::register::FILE),
            // Tonight's files' payouts, all in the register (the same on a rerun that adds none).
            "payouts": payout_files,
        },
        "archive": format!("../../{}/sha256", crate::archive::DIR),
        "ledger": ledger,
        "ledger_window": ledger_window,
    });
    // One hash over everything above (its canonical JSON: sorted keys), so the manifest is proved whole
    // by one value; `settle verify` checks it, and a signature signs the manifest's bytes.
    let root = sha256_hex(&render_json(&manifest).map_err(json_error("manifest.json"))?);
    manifest["root_sha256"] = json!(root);
    let manifest_bytes = render_json(&manifest).map_err(json_error("manifest.json"))?;

    tracing::debug!(
        phase = "write",
        files = staging.files().len(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "writing the run directory"
    );
    // The job's lock is held: a temp file here is a crashed run's.
    remove_stale_temps(job_dir).map_err(write_error(job_dir))?;
    // A forced rerun retires the night's manifest (and its signature) before anything of the new run
    // reaches a final name: killed from here on, the night is incomplete, and a plain rerun completes it
    // with the new bytes instead of leaving the old manifest beside a mix of old and new outputs.
    // It is kept as `manifest.retired.json`: the night was complete once, its payout files announced.
    let retire = |from: &str, to: Option<&str>| -> Result<(), JobError> {
        let path = run_dir.join(from);
        let done = match to {
            Some(to) => fs::rename(&path, run_dir.join(to)),
            None => fs::remove_file(&path),
        };
        match done {
            Ok(()) => crate::write::sync_dir(run_dir).map_err(write_error(run_dir)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(JobError::Write { path: path.display().to_string(), source: e }),
        }
    };
    retire("manifest.json", Some(crate::nights::RETIRED))?;
    retire(crate::seal::SIGNATURE, None)?;
    tracing::debug!(
        phase = "archive",
        inputs = archived.len() + archived_bytes.len(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "archiving the inputs"
    );
    // The inputs into the archive (OUT/.archive), so the run can be replayed after they are gone; first,
    // so that a failure here (a full or read-only archive) stops the night before any payout file or
    // register entry exists. The night's own ledger key file goes there too: later nights that read it
    // are replayed from it. A replay archives nothing.
    if archive {
        for (path, sha256) in archived {
            crate::archive::store_file(out_root, path, sha256)?;
        }
        for (path, bytes) in archived_bytes {
            crate::archive::store_bytes(out_root, bytes, &sha256_hex(bytes), Path::new(path))?;
        }
        if let Some(keys) = staging.files().iter().find(|f| f.name == crate::ledger::FILE) {
            crate::archive::store_file(out_root, keys.temp_path(), &keys.sha256)?;
        }
    }
    // The payout register next, before the payout files it lists (a write-ahead record): at any point a
    // run may stop, no payout file exists that the register does not hold, and the rerun that completes
    // the run finds its payouts there and rebuilds the same files instead of emitting new ones.
    if !new_entries.is_empty() || register_changed {
        let bytes = crate::register::write(register).map_err(csv_error(crate::register::FILE))?;
        write_atomic(job_dir, crate::register::FILE, &bytes).map_err(write_error(register_path))?;
    }
    // Every staged output under its final name, in order. From here until the manifest, payout files may
    // reach their final names in a night that is not complete: an error says so.
    let staged_payout_files: Vec<String> =
        staging.files().iter().filter(|f| f.name.ends_with(".xml")).map(|f| f.name.clone()).collect();
    let unannounced = |error: JobError| {
        if staged_payout_files.is_empty() {
            error
        } else {
            JobError::PayoutFilesUnannounced { source: Box::new(error), files: staged_payout_files.join(", ") }
        }
    };
    let mut written = staging.commit().map_err(write_error(run_dir)).map_err(unannounced)?;
    write_atomic(run_dir, "manifest.json", &manifest_bytes)
        .map_err(write_error(&run_dir.join("manifest.json")))
        .map_err(unannounced)?;
    written.push(("manifest.json".to_string(), sha256_hex(&manifest_bytes)));
    match fs::remove_file(run_dir.join(crate::nights::RETIRED)) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(JobError::Write {
                path: run_dir.join(crate::nights::RETIRED).display().to_string(),
                source: e,
            });
        }
        _ => {}
    }
    if let Some(key) = sign_key {
        let signature = key.sign(&manifest_bytes);
        write_atomic(run_dir, crate::seal::SIGNATURE, signature.as_bytes())
            .map_err(write_error(&run_dir.join(crate::seal::SIGNATURE)))?;
        written.push((crate::seal::SIGNATURE.to_string(), sha256_hex(signature.as_bytes())));
    }
    Ok(written)
}

/// summary.json's `conversion_residuals`: per purpose and target currency, how many conversions and
/// Σ (unrounded − rounded), so the sum of rounded amounts can be reconciled with the rounded sum.
pub(crate) fn residuals_json<'a>(
    conversions: impl Iterator<Item = (&'a str, &'a str, settle_core::Decimal)>,
) -> serde_json::Value {
    let mut residuals: BTreeMap<(&str, &str), (u64, settle_core::Decimal)> = BTreeMap::new();
    for (purpose, currency, residual) in conversions {
        let e = residuals.entry((purpose, currency)).or_default();
        e.0 += 1;
        e.1 += residual;
    }
    let mut residual_json = serde_json::Map::new();
    for ((purpose, currency), (count, sum)) in &residuals {
        let by_currency =
            residual_json.entry(purpose.to_string()).or_insert_with(|| json!({})).as_object_mut().expect("object");
        by_currency
            .insert(currency.to_string(), json!({"conversions": count, "residual": sum.normalize().to_string()}));
    }
    serde_json::Value::Object(residual_json)
}

pub fn run_job(job_path: &Path, options: &RunOptions) -> Result<RunOutcome, JobError> {
    let job_display = job_path.display().to_string();
    let spec_bytes =
        crate::fault::read(job_path).map_err(|source| JobError::SpecIo { path: job_display.clone(), source })?;
    let spec_text = String::from_utf8_lossy(&spec_bytes);
    let spec = JobSpec::parse(&job_display, &spec_text)?;
    let business_date =
        options.date.or(spec.job.business_date).ok_or(JobError::NoDate { path: job_display.clone() })?;
    let base = job_path.parent().map(Path::to_path_buf).unwrap_or_default();
    let out_root = match &options.out {
        Some(out) => out.clone(),
        None => base.join(&spec.output.dir),
    };
    // A bad signing key stops the run before anything is written.
    let sign_key = options.sign_key.as_deref().map(crate::seal::SigningKey::read).transpose()?;
    let partition = options.partition;
    if let Some(part) = partition {
        if !spec.recon.stage_a.is_empty() {
            return Err(JobError::Partition {
                message: format!(
                    "{job_display} has [[recon.stage_a]] rules: their keys may match a row to another partition's order"
                ),
                hint: Some("run the night whole (without --partition)".into()),
            });
        }
        if options.replay.is_some() {
            return Err(JobError::Partition {
                message: format!("partition {}: a replay recomputes a whole run", part.dir_name()),
                hint: None,
            });
        }
    }
    let job_dir = normalize(&out_root.join(&spec.job.name));
    let run_dir = match partition {
        None => normalize(&out_root.join(&spec.job.name).join(business_date.to_string())),
        Some(part) => crate::partition::date_dir(&job_dir, business_date).join(part.dir_name()),
    };
    // One run of a job at a time (two schedulers, a retry racing a slow run, a backfill beside tonight's);
    // partitions run side by side, each holding its own directory's lock.
    let _lock = crate::lock::RunLock::acquire(if partition.is_some() { &run_dir } else { &job_dir }, business_date)?;
    if options.replay.is_none() {
        crate::nights::check_order(&job_dir, business_date, options.and_later)?;
    }
    // A whole run holds the output root's ledger lock from its ledger check to its commit (partitions
    // read the ledger and the merge checks it is unchanged, under the lock, before it commits).
    let _ledger_lock = match (&options.replay, partition) {
        (None, None) => Some(crate::lock::LedgerLock::acquire(&out_root)?),
        _ => None,
    };
    let state = crate::nights::begin(&run_dir, business_date, options.force, &spec, &spec_bytes, &base)?;
    if partition.is_some() {
        // A partition is recomputed whenever it runs (its directory is settle's own); until its
        // partial.json is written again, the merge does not take it.
        match fs::remove_file(run_dir.join(crate::partition::PARTIAL)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(JobError::Write { path: run_dir.display().to_string(), source: e });
            }
            _ => {}
        }
    }

    // The rates store's latest snapshot, as one more rates input after the spec's.
    let mut inputs: Vec<(InputRole, PathBuf, Option<&str>)> =
        spec.inputs().into_iter().map(|(role, path, profile)| (role, path.to_path_buf(), profile)).collect();
    let replay = options.replay.as_ref();
    let mut store_snapshot: Option<String> = None;
    if let Some(replay) = replay {
        // The snapshot the recorded run took from the store, whatever the store holds now.
        for path in &replay.store_rates {
            inputs.push((InputRole::Rates, PathBuf::from(path), None));
            store_snapshot = Some(path.clone());
        }
    } else if let Some(store) = &spec.fx.store {
        let snapshots = settle_fx::fetch::snapshots(&base.join(store), "ecb")
            .map_err(|e| JobError::RatesStore { message: e.to_string() })?;
        let latest = snapshots.last().ok_or_else(|| JobError::RatesStore {
            message: format!(
                "{} has no ECB snapshot (settle rates fetch --store {} downloads one)",
                store.display(),
                store.display()
            ),
        })?;
        let path = store.join("ecb").join(&latest.file);
        store_snapshot = Some(path.to_string_lossy().replace('\\', "/"));
        inputs.push((InputRole::Rates, path, None));
    }
    // Open items the job's latest earlier run left: inputs before tonight's, with what they settled.
    let previous_run: Option<(Date, PathBuf)> = match replay {
        Some(replay) => replay.previous_run.map(|date| (date, PathBuf::new())),
        None => carry::previous_run(&job_dir, business_date),
    };
    let carried_in = match &previous_run {
        Some((date, dir)) if spec.recon.carry_open_items => Some((*date, read_open_items(*date, dir, replay)?)),
        _ => None,
    };

    // The name each input is recorded under (`recorded_name`).
    let mut nth: BTreeMap<InputRole, usize> = BTreeMap::new();
    let mut names: BTreeMap<(InputRole, PathBuf), String> = BTreeMap::new();
    for (role, path, _) in &inputs {
        let k = nth.entry(*role).or_default();
        let recorded = replay.and_then(|r| r.listed.get(role.as_str())?.get(*k)).map(String::as_str);
        *k += 1;
        names.insert((*role, path.clone()), recorded_name(&base, path, recorded));
    }
    if let Some(snapshot) = &mut store_snapshot {
        *snapshot = recorded_name(&base, Path::new(snapshot.as_str()), None);
    }

    // Ingest: files in parallel, results kept in spec order. A partition reads the channel reports (the
    // largest files) after the others, one at a time (each in chunks on every thread), keeps of each only
    // its shard's rows in full (the others' in brief), and drops the orders of other shards before. (A
    // whole run reading them in turn too peaked 0.4 GB lower at 10^7 orders but read 25 % slower.)
    let started = std::time::Instant::now();
    tracing::debug!(phase = "ingest", files = inputs.len(), "reading the inputs");
    let deferred = |role: InputRole| partition.is_some() && role == InputRole::ChannelTransactions;
    let mut slots: Vec<Option<InputFile>> = inputs
        .par_iter()
        .map(|(role, path, profile)| {
            if deferred(*role) {
                return Ok(None);
            }
            let name = names[&(*role, path.clone())].clone();
            read_input(
                &base,
                *role,
                path,
                name,
                *profile,
                spec.mt940_encoding(),
                replay,
                None,
                spec.inputs.max_file_bytes(),
            )
            .map(Some)
        })
        .collect::<Result<_, _>>()?;
    // Tonight's channel rows a partition does not own, and each kept row's index among tonight's rows.
    let mut foreign: Vec<settle_recon::ForeignRow> = Vec::new();
    let mut tonight_pos: Vec<u32> = Vec::new();
    let mut channel_rows_read = 0u32;
    // Tonight's orders a partition keeps: each one's index among tonight's orders, and how many it dropped.
    let (mut tonight_order_pos, mut orders_dropped): (Vec<u32>, u64) = (Vec::new(), 0);
    let mut sharder: Option<crate::partition::Sharder> = None;
    if let Some(part) = partition {
        let carried_orders = carried_in.as_ref().map_or(&[][..], |(_, c)| c.carry.orders.as_slice());
        let tonight_orders = slots.iter().flatten().flat_map(|f| match &f.parsed {
            Parsed::Orders(v) => v.as_slice(),
            _ => &[],
        });
        let shards =
            crate::partition::Sharder::new(carried_orders.iter().chain(tonight_orders), carried_orders.len(), part);
        // Tonight's orders of other shards are dropped before the channel reports are read.
        let mut index = 0u32;
        for file in slots.iter_mut().flatten() {
            if let Parsed::Orders(orders) = &mut file.parsed {
                let all = std::mem::take(orders);
                for order in all {
                    if shards.owns_order(&order) {
                        tonight_order_pos.push(index);
                        orders.push(order);
                    } else {
                        orders_dropped += 1;
                    }
                    index += 1;
                }
            }
        }
        sharder = Some(shards);
    }
    if let Some(after_ingest) = options.after_ingest {
        after_ingest();
    }
    let mut read: Vec<(usize, InputFile)> = Vec::new();
    for (k, (role, path, profile)) in inputs.iter().enumerate() {
        if !deferred(*role) {
            continue;
        }
        let shards = sharder.as_ref().expect("only a partition defers the channel reports");
        let keep = |tx: &ChannelTransaction| shards.owns_row(tx);
        let mut file = read_input(
            &base,
            *role,
            path,
            names[&(*role, path.clone())].clone(),
            *profile,
            spec.mt940_encoding(),
            replay,
            Some(&keep),
            spec.inputs.max_file_bytes(),
        )?;
        if let Some((briefs, ordinals)) = file.shard.take() {
            let file_rows = u32::try_from(ordinals.len() + briefs.len()).expect("at most u32::MAX rows");
            tonight_pos.extend(ordinals.iter().map(|&o| channel_rows_read + o));
            channel_rows_read += file_rows;
            foreign.extend(briefs);
        }
        read.push((k, file));
        if let Some(after_ingest) = options.after_ingest {
            after_ingest();
        }
    }
    for (k, file) in read {
        slots[k] = Some(file);
    }
    let files: Vec<InputFile> = slots.into_iter().map(|f| f.expect("every input is read")).collect();
    let (mut orders_read, mut channel_read, mut bank_read, mut rates, mut beneficiaries) =
        (vec![], vec![], vec![], vec![], vec![]);
    let (mut statuses, mut paid_accounts, mut statements) = (vec![], vec![], vec![]);
    let mut input_rows: BTreeMap<&'static str, u64> = BTreeMap::new();
    for file in &files {
        let rows = match &file.parsed {
            Parsed::Orders(v) => v.len(),
            Parsed::Channel(v) => v.len(),
            Parsed::Bank(v, _) => v.len(),
            Parsed::Rates(v) => v.len(),
            Parsed::Beneficiaries(v) => v.len(),
            Parsed::PaymentStatus(v) => v.len(),
            Parsed::PaidAccounts(v) => v.len(),
        };
        *input_rows.entry(file.role.as_str()).or_default() += rows as u64;
    }
    // What a partition's inputs held, not only what it kept of them.
    if !foreign.is_empty() {
        *input_rows.entry(InputRole::ChannelTransactions.as_str()).or_default() += foreign.len() as u64;
    }
    if orders_dropped > 0 {
        *input_rows.entry(InputRole::Orders.as_str()).or_default() += orders_dropped;
    }
    let mut manifest_inputs = Vec::with_capacity(files.len());
    let mut input_notes = Vec::new();
    // What the run read from disk, for the archive: (path on disk, sha256).
    let mut archived: Vec<(PathBuf, String)> = Vec::with_capacity(files.len() + 1);
    archived.push((job_path.to_path_buf(), sha256_hex(&spec_bytes)));
    let mut profile_files: BTreeMap<String, String> = BTreeMap::new();
    for file in files {
        let mut entry = json!({
            "role": file.role.as_str(),
            "path": file.spec_path,
            "bytes": file.bytes,
            "sha256": file.sha256,
        });
        if let Some(profile) = &file.profile {
            entry["profile"] = json!(profile);
        }
        if store_snapshot.as_deref() == Some(file.spec_path.as_str()) {
            entry["from_store"] = json!(true);
        }
        if let Some((path, sha256)) = &file.profile_file {
            profile_files.insert(path.clone(), sha256.clone());
        }
        archived.push((file.disk.clone(), file.sha256.clone()));
        manifest_inputs.push(entry);
        input_notes.extend(file.notes);
        match file.parsed {
            Parsed::Orders(v) => orders_read.push(v),
            Parsed::Channel(v) => channel_read.push(v),
            Parsed::Bank(v, s) => {
                bank_read.push(v);
                statements.extend(s);
            }
            Parsed::Rates(v) => rates.extend(v),
            Parsed::Beneficiaries(v) => beneficiaries.extend(v),
            Parsed::PaymentStatus(v) => statuses.extend(v),
            Parsed::PaidAccounts(v) => paid_accounts.extend(v),
        }
    }

    check_beneficiaries(&spec, &beneficiaries, &mut input_notes)?;

    // The file bytes and the parsers' chunk lists are freed by now: handed back to the OS before the
    // lists of several files are joined (which needs room for the joined list), and again after.
    if let Some(after_ingest) = options.after_ingest {
        after_ingest();
    }
    let (mut orders, mut channel, mut bank) = (concat(orders_read), concat(channel_read), concat(bank_read));
    tracing::debug!(
        phase = "ingest",
        orders = orders.len(),
        channel_transactions = channel.len(),
        bank_entries = bank.len(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "inputs read"
    );
    if let Some(after_ingest) = options.after_ingest {
        after_ingest();
    }

    let mut prior = Prior::default();
    let mut balances_in: Vec<settle_payout::CarriedBalance> = Vec::new();
    // Inputs read whole that the archive keeps from memory: (manifest path, bytes).
    let mut archived_bytes: Vec<(String, Vec<u8>)> = Vec::new();
    if let Some((date, carried)) = carried_in {
        for (name, bytes) in carried.files.iter() {
            manifest_inputs.push(json!({
                "role": "open_items",
                "path": format!("{date}/{name}"),
                "bytes": bytes.len(),
                "sha256": sha256_hex(bytes),
            }));
        }
        let c = &carried.carry;
        *input_rows.entry("open_items").or_default() += (c.orders.len() + c.channel.len() + c.bank.len()) as u64;
        balances_in = carried.balances;
        archived_bytes.extend(carried.files.into_iter().map(|(name, bytes)| (format!("{date}/{name}"), bytes)));
        prior = carry::prepend(carried.carry, &mut orders, &mut channel, &mut bank)
            .map_err(|message| JobError::OpenItems { date, path: format!("{date}/open_earlier.csv"), message })?;
    }
    for (path, sha256) in &profile_files {
        manifest_inputs.push(json!({"role": "profile", "path": path, "sha256": sha256}));
        archived.push((base.join(path), sha256.clone()));
    }

    // The register of every payout the job emitted: nothing in it goes into a new file. The bank's
    // status reports return the payouts it rejected to their beneficiaries' balances (once), and those
    // no longer await their bank debit.
    let register_path = job_dir.join(crate::register::FILE);
    let register_key = format!("../{}", crate::register::FILE);
    let register_bytes = match replay {
        Some(replay) if replay.has("payout_register", &register_key) => {
            Some(replay.load("payout_register", &register_key)?)
        }
        Some(_) => None,
        None => match crate::fault::read(&register_path) {
            Ok(bytes) => Some(bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(source) => {
                return Err(JobError::InputIo {
                    path: register_path.display().to_string(),
                    role: "payout register",
                    source,
                });
            }
        },
    };
    let mut register = match &register_bytes {
        Some(bytes) => crate::register::read(bytes)
            .map_err(|message| JobError::Register { path: register_path.display().to_string(), message })?,
        None => settle_payout::files::Register::default(),
    };
    // What the register said before this business date (its entries of earlier dates, returns of this
    // date or later not yet made): the same for a first run and its reruns, so it is what the manifest
    // records and the archive keeps for a replay.
    let before = crate::register::before(&register, business_date);
    if !before.entries.is_empty() {
        let bytes = crate::register::write(&before)
            .map_err(|source| settle_report::ReportError::Csv { table: crate::register::FILE, source })?;
        manifest_inputs.push(json!({
            "role": "payout_register",
            "path": register_key,
            "entries": before.entries.len(),
            "sha256": sha256_hex(&bytes),
        }));
        archived_bytes.push((register_key.clone(), bytes));
    }
    if replay.is_none() {
        let from = crate::ledger::horizon_start(business_date, spec.output.ledger_horizon_days);
        crate::register::verify(&job_dir, &register, from)?;
    }
    let register_read_sha256 = register_bytes.as_deref().map(sha256_hex);
    drop(register_bytes);
    // Payouts the bank statements already debited (watched for a return): a status report rejecting one
    // of them contradicts the bank's own booking and is for a person, not a return.
    let debited: BTreeMap<String, Date> =
        prior.payouts.iter().filter_map(|p| Some((p.end_to_end_id.clone(), p.debited_on?))).collect();
    let rejected_ids = settle_payout::returns::rejected_payout_ids(&register, &statuses, &debited);
    prior.payouts.retain(|p| !rejected_ids.contains(&p.payout_id));

    // Convert, reconcile, pay.
    let rate_table = RateTable::new(rates)?;
    rate_table.check_plausible(spec.fx.max_rate_change().expect("validated by JobSpec::parse"))?;
    let calendar = match spec.job.calendar {
        CalendarName::Target2 => Calendar::target2(),
        CalendarName::Weekends => Calendar::weekends_only(),
    };
    let offset = i32::try_from(spec.payouts.execution_offset_business_days).unwrap_or(i32::MAX);
    let execution_date = calendar
        .add_business_days(business_date, offset)
        .map_err(|source| JobError::Calendar { date: business_date, source })?;
    let rate_date = match spec.payouts.rate_date {
        crate::spec::PayoutRateDate::BusinessDate => business_date,
        crate::spec::PayoutRateDate::BusinessDayBeforeExecution => calendar
            .add_business_days(execution_date, -1)
            .map_err(|source| JobError::Calendar { date: execution_date, source })?,
    };
    tracing::debug!(
        phase = "reconcile",
        elapsed_ms = started.elapsed().as_millis() as u64,
        "matching stages A, B and C"
    );
    // A partition keeps its shard's records in full and the other partitions' channel rows in brief, and
    // where each kept record stands in the whole night's lists (the merge puts them back in that order).
    let (mut order_pos, mut channel_pos): (Vec<u32>, Vec<u32>) = (Vec::new(), Vec::new());
    if let Some(part) = partition {
        // Tonight's records are the shard's already (cut as they were read); the carried ones are cut here.
        let shards = sharder.take().expect("made while the inputs were read");
        let pos = |i: usize| u32::try_from(i).expect("the engine takes at most u32::MAX records");
        let mut local_order = vec![u32::MAX; orders.len()];
        let (mut kept, mut carried_kept) = (Vec::new(), 0usize);
        let carried = prior.orders;
        for (i, order) in std::mem::take(&mut orders).into_iter().enumerate() {
            if shards.owns_order(&order) {
                local_order[i] = pos(kept.len());
                order_pos.push(if i < carried { pos(i) } else { pos(carried) + tonight_order_pos[i - carried] });
                carried_kept += usize::from(i < prior.orders);
                kept.push(order);
            }
        }
        (orders, prior.orders) = (kept, carried_kept);
        let earlier = std::mem::take(&mut prior.earlier);
        let (mut kept, mut kept_earlier, mut carried_kept) = (Vec::new(), Vec::new(), 0usize);
        for (i, tx) in std::mem::take(&mut channel).into_iter().enumerate() {
            let mut e = earlier.get(i).copied().unwrap_or_default();
            if !shards.owns_row(&tx) {
                foreign.push(settle_recon::ForeignRow::of(&tx, i < prior.channel, e.stage_b_matched));
                continue;
            }
            if let Some((place, Some(o))) = e.stage_a {
                let local = local_order[o as usize];
                if local == u32::MAX {
                    return Err(JobError::Partition {
                        message: format!(
                            "carried row {}:{} is linked to an order of another partition",
                            tx.channel, tx.transaction_id
                        ),
                        hint: Some("run the night whole (without --partition)".into()),
                    });
                }
                e.stage_a = Some((place, Some(local)));
            }
            kept_earlier.push(e);
            // Tonight's rows are the shard's already (cut as read): their place among all of tonight's.
            let carried = prior.channel;
            channel_pos.push(if i < carried { pos(i) } else { pos(carried) + tonight_pos[i - carried] });
            carried_kept += usize::from(i < prior.channel);
            kept.push(tx);
        }
        if !earlier.is_empty() {
            prior.earlier = kept_earlier;
        }
        (channel, prior.channel) = (kept, carried_kept);
        beneficiaries.retain(|b| crate::partition::shard_of(&b.beneficiary_id, part.count) == part.index);
        tracing::debug!(
            phase = "reconcile",
            partition = part.dir_name(),
            orders = orders.len(),
            channel_transactions = channel.len(),
            foreign_rows = foreign.len(),
            "the partition's shard"
        );
    }
    // The settlement ledger: tonight's own records against every completed night in the window, before
    // anything is matched.
    let night = crate::ledger::Night {
        out_root: &out_root,
        job: &spec.job.name,
        business_date,
        horizon_days: spec.output.ledger_horizon_days,
        replay,
    };
    let checked = crate::ledger::check_night(&night, &orders, &channel, &foreign, &bank, &prior, started)?;
    prior.known = checked.known;
    let hashes = checked.hashes;
    manifest_inputs.extend(checked.inputs);
    let ledger_window = checked.window;
    let recon = settle_recon::reconcile_shard(&orders, &channel, &foreign, &bank, &prior, &spec.recon, &calendar)?;
    drop(foreign);
    tracing::debug!(
        phase = "reconcile",
        matches = recon.matches.len(),
        exceptions = recon.exceptions.len(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "reconciled"
    );
    let recon_inputs = Inputs { orders: &orders, channel: &channel, bank: &bank, payouts: &prior.payouts };
    let mut open = carry::carry(
        &orders,
        &channel,
        &bank,
        &recon,
        &prior.payouts,
        business_date,
        &calendar,
        spec.recon.write_off_after_business_days,
    );
    // What tonight admitted, for the settlement ledger (a partition records its shard, and partition 0
    // the bank entries every partition sees).
    let ledger_written = crate::ledger::write(
        crate::ledger::night_entries(
            &orders,
            &channel,
            &bank,
            &recon,
            &open,
            partition.is_none_or(|p| p.writes_shared()),
            &hashes,
        ),
        spec.output.ledger_horizon_days,
    );
    drop(hashes);
    if partition.is_some_and(|p| !p.writes_shared()) {
        // What every partition decides alike, partition 0 writes.
        open.bank.clear();
        open.bank_index.clear();
        open.payouts.clear();
        open.written_off.retain(|row| matches!(row[0].as_str(), "order" | "channel_transaction"));
    }
    let conversion = ConversionPolicy { max_rate_age_days: spec.fx.max_rate_age_days, rounding: spec.job.rounding };
    // Payouts that did not reach their beneficiaries: rejected by a status report, or debited and
    // brought back by the bank (stage C). Their money is the beneficiaries' again, once.
    let bank_returns: Vec<settle_payout::returns::BankReturn> = recon
        .payout_returns
        .iter()
        .zip(&prior.payouts)
        .filter_map(|(entry, payout)| {
            let entry = &bank[(*entry)? as usize];
            let reason = entry.details.iter().find_map(|d| d.return_reason.as_deref().map(str::to_string));
            Some(settle_payout::returns::BankReturn {
                end_to_end_id: payout.end_to_end_id.clone(),
                reason: reason.unwrap_or_else(|| "bank return".to_string()),
                source: format!("{}:{}", entry.account_id, entry.entry_id),
            })
        })
        .collect();
    let returns =
        settle_payout::returns::apply_returns(&mut register, &statuses, &bank_returns, &debited, business_date);
    input_notes.extend(returns.notes.iter().cloned());
    balances_in.extend(returns.balances.iter().cloned());
    if let Some(part) = partition {
        balances_in.retain(|b| crate::partition::shard_of(&b.beneficiary_id, part.count) == part.index);
    }
    let fee_plans = spec.payouts.fee_plans().expect("validated by JobSpec::parse");
    let release = match spec.payouts.release {
        crate::spec::ReleaseSpec::BankCredit => settle_payout::Release::BankCredit,
        crate::spec::ReleaseSpec::ChannelMatch => settle_payout::Release::ChannelMatch,
    };
    let previous_business_date = previous_run.as_ref().map(|(date, _)| *date);
    tracing::debug!(phase = "pay", elapsed_ms = started.elapsed().as_millis() as u64, "payouts");
    let settle_payout::Payouts { mut payouts, reserves } = compute_payouts(
        &beneficiaries,
        &orders,
        &channel,
        &recon,
        &rate_table,
        PayoutPolicy {
            job_name: &spec.job.name,
            business_date,
            execution_date,
            rate_date,
            conversion,
            release,
            fee_plans: &fee_plans,
            calendar: &calendar,
            previous_business_date,
        },
        &balances_in,
    )?;
    // Payout files: the payable payouts a file can carry (the others are held, their status says why).
    tracing::debug!(phase = "pay", elapsed_ms = started.elapsed().as_millis() as u64, "payout files");
    let payment_run = match &spec.payouts.debtor {
        // A partition's payouts get their statuses; the merge writes the files.
        Some(debtor) if partition.is_some() => {
            let debtor = debtor.debtor().expect("validated by JobSpec::parse");
            let charset = spec.payouts.bank.profile().expect("validated by JobSpec::parse").charset;
            settle_payout::files::hold_statuses(
                &mut payouts,
                charset,
                &debtor,
                business_date,
                &register,
                &spec.payouts.approve_bank_details,
                &paid_accounts,
            );
            settle_payout::files::PaymentRun { files: Vec::new(), new_entries: Vec::new() }
        }
        _ => payout_files(&spec, &mut payouts, business_date, &register, &paid_accounts)?,
    };
    let payment_files = &payment_run.files;
    let payout_notes = payout_notes(payment_files);

    // Tonight's payable payouts await their bank debit from the next night on (stage C).
    for payout in payouts.iter().filter(|p| p.status == settle_payout::PayoutStatus::Payable) {
        open.payouts.push(settle_recon::AwaitedPayout {
            payout_id: payout.payout_id.clone(),
            end_to_end_id: payout.end_to_end_id.clone(),
            beneficiary_id: payout.beneficiary_id.clone(),
            amount: payout.amount,
            execution_date: payout.execution_date,
            source: format!("{business_date}/payouts.csv"),
            debited_on: None,
        });
    }
    let mut conversions: Vec<RecordedConversion> = Vec::new();
    for payout in &payouts {
        for component in &payout.components {
            if let Some(c) = &component.conversion {
                conversions.push(RecordedConversion {
                    purpose: "payout",
                    reference: payout.payout_id.clone(),
                    conversion: *c,
                });
            }
        }
    }
    // FX cost of the channels' own conversions against the reference rates; a transaction without a
    // reference rate is a note (the run ends with exit 1), never a guess.
    let fx_policy =
        settle_fx::ConversionPolicy { max_rate_age_days: spec.fx.max_rate_age_days, rounding: spec.job.rounding };
    tracing::debug!(
        phase = "pay",
        elapsed_ms = started.elapsed().as_millis() as u64,
        "FX cost of the channels' conversions"
    );
    let (fx_costs, fx_gaps) = settle_fx::cost::fx_costs(&channel, &rate_table, fx_policy);
    let shared_notes = input_notes.len();
    input_notes.extend(fx_gaps.iter().map(|g| format!("fx cost of {} {}: {}", g.channel, g.transaction_id, g.reason)));

    if let Some(part) = partition {
        let night = crate::merge::PartitionNight {
            part,
            ledger: &ledger_written.bytes,
            ledger_window: &ledger_window,
            spec: &spec,
            spec_bytes: &spec_bytes,
            business_date,
            run_dir: &run_dir,
            started,
            input_rows: &input_rows,
            manifest_inputs: &manifest_inputs,
            previous_run: previous_run.as_ref().map(|(date, _)| *date),
            archived_bytes: &archived_bytes,
            notes: (&input_notes[..shared_notes], &input_notes[shared_notes..]),
            orders: &orders,
            channel: &channel,
            order_pos: &order_pos,
            channel_pos: &channel_pos,
            recon: &recon,
            recon_inputs,
            rates: &rate_table,
            conversion,
            open: &open,
            payouts: &payouts,
            reserves: &reserves,
            conversions: &conversions,
            fx_costs: fx_costs.clone(),
            register: &register,
            register_read_sha256,
            returns: &returns,
            fee_plans: &fee_plans,
            release,
            calendar: &calendar,
        };
        return crate::merge::write_partition(&night);
    }

    tracing::debug!(phase = "pay", elapsed_ms = started.elapsed().as_millis() as u64, "summary");
    let mut summary = build_summary(&SummaryInput {
        job_name: &spec.job.name,
        business_date,
        reporting_currency: spec.job.reporting_currency,
        rounding: spec.job.rounding,
        max_rate_age_days: spec.fx.max_rate_age_days,
        input_rows: &input_rows,
        tallies: &recon.tallies,
        counts: &settle_report::Counts::of(&recon.matches, &recon.exceptions, &payouts),
        rates: &rate_table,
    })?;
    conversions.extend(summary.conversions.iter().cloned());
    if let Some(object) = summary.json.as_object_mut() {
        let residuals = residuals_json(
            conversions.iter().map(|c| (c.purpose, c.conversion.to.currency().code(), c.conversion.residual)),
        );
        object.insert("conversion_residuals".into(), residuals);
    }

    tracing::debug!(
        phase = "render",
        payouts = payouts.len(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "rendering the outputs"
    );
    // Each output goes into its temp file in the run directory as it is rendered (the memory holds one
    // at a time); nothing appears under a final name before the commit below.
    let write_error = |path: &Path| {
        let path = path.display().to_string();
        move |source| JobError::Write { path, source }
    };
    let json_error = |table| move |source| settle_report::ReportError::Json { table, source };
    let csv_error = |table| move |source| settle_report::ReportError::Csv { table, source };
    let mut staging = crate::write::Staging::begin(&run_dir).map_err(write_error(&run_dir))?;
    let staged_error = |name: &str| write_error(&run_dir.join(name));
    put(&mut staging, "summary.json", &render_json(&summary.json).map_err(json_error("summary.json"))?)?;
    // The largest table, streamed into its temp file; its Parquet copy is read back from there on a
    // thread of its own (its first reading is sequential) while the other outputs render.
    let matches_parquet = {
        let mut writer = staging.writer("matches.csv").map_err(staged_error("matches.csv"))?;
        settle_report::matches_csv_to(&recon, &recon_inputs, &rate_table, conversion, false, &mut writer)?;
        let temp = staging.finish(writer).map_err(staged_error("matches.csv"))?.temp_path().to_path_buf();
        matches_parquet(temp, started)
    };
    // Tables the treasury report shows too: kept until it is rendered.
    let exceptions_csv = settle_report::exceptions_csv(&recon.exceptions, business_date, &calendar)?;
    let payouts_csv = settle_report::payouts_csv(&payouts)?;
    let fx_cost_csv = settle_report::fx_cost_csv(&fx_costs)?;
    put_table(&mut staging, "exceptions.csv", &exceptions_csv)?;
    put_table(&mut staging, "payouts.csv", &payouts_csv)?;
    put_table(&mut staging, "conversions.csv", &settle_report::conversions_csv(&conversions)?)?;
    put_table(&mut staging, "fx_cost.csv", &fx_cost_csv)?;
    // The open items the next night reads, one table at a time.
    put(
        &mut staging,
        "open_orders.csv",
        &settle_tabular::write_orders(open.orders.iter().copied()).map_err(csv_error("open_orders.csv"))?,
    )?;
    put(
        &mut staging,
        "open_channel_transactions.csv",
        &settle_tabular::write_channel_transactions(open.channel.iter().copied())
            .map_err(csv_error("open_channel_transactions.csv"))?,
    )?;
    put(
        &mut staging,
        "open_bank_entries.csv",
        &settle_tabular::write_bank_entries(open.bank.iter().copied()).map_err(csv_error("open_bank_entries.csv"))?,
    )?;
    put(&mut staging, "open_earlier.csv", &carry::earlier_csv(&open).map_err(csv_error("open_earlier.csv"))?)?;
    put(&mut staging, "open_payouts.csv", &carry::payouts_csv(&open.payouts).map_err(csv_error("open_payouts.csv"))?)?;
    put(&mut staging, "written_off.csv", &carry::written_off_csv(&open).map_err(csv_error("written_off.csv"))?)?;
    put(&mut staging, carry::BALANCES, &carry::balances_csv(&payouts, &reserves).map_err(csv_error(carry::BALANCES))?)?;
    put(
        &mut staging,
        "returned_payouts.csv",
        &crate::register::returned_csv(&register, &returns.rejections).map_err(csv_error("returned_payouts.csv"))?,
    )?;
    put(
        &mut staging,
        carry::INDEX,
        &render_json(&carry::index_json(
            business_date,
            [open.orders.len(), open.channel.len(), open.bank.len(), open.payouts.len(), open.written_off.len()],
        ))
        .map_err(json_error(carry::INDEX))?,
    )?;
    put(&mut staging, crate::ledger::FILE, &ledger_written.bytes)?;
    let ledger_json = ledger_written.json;
    tracing::debug!(phase = "render", elapsed_ms = started.elapsed().as_millis() as u64, "treasury report");
    // The treasury report, from the tables just rendered (so both say the same).
    settle_core::statement::cross_check(&mut statements);
    let (progress, fees) = channel_progress(&channel, &recon);
    put_report(
        &mut staging,
        &Report {
            spec: &spec,
            business_date,
            summary: &summary.json,
            statements: &statements,
            channels: &progress,
            fees: &fees,
            exceptions_csv: &exceptions_csv,
            fx_cost_csv: &fx_cost_csv,
            payouts_csv: &payouts_csv,
            inputs: &manifest_inputs,
            tallies: &recon.tallies,
        },
    )?;
    drop((exceptions_csv, payouts_csv, fx_cost_csv));
    for file in payment_files {
        put(&mut staging, &file.name, file.written.xml.as_bytes())?;
    }
    tracing::debug!(phase = "render", elapsed_ms = started.elapsed().as_millis() as u64, "statements of account");
    // Statements of account: every payout's lines, one file per beneficiary.
    stage_statements(
        &mut staging,
        &Statements {
            orders: &orders,
            channel: &channel,
            recon: &recon,
            release,
            fee_plans: &fee_plans,
            payouts: &payouts,
        },
        spec.job.rounding,
        &run_dir,
    )?;
    tracing::debug!(phase = "render", elapsed_ms = started.elapsed().as_millis() as u64, "statements of account made");
    put_matches_parquet(&mut staging, matches_parquet)?;
    let written = commit_night(
        Night {
            spec: &spec,
            job_path,
            spec_bytes: &spec_bytes,
            business_date,
            previous_run: previous_run.as_ref().map(|(date, _)| *date),
            manifest_inputs,
            out_root: &out_root,
            job_dir: &job_dir,
            run_dir: &run_dir,
            payout_files: payment_files.iter().map(|f| f.payout_ids.len()).sum::<usize>(),
            register: &mut register,
            register_path: &register_path,
            new_entries: &payment_run.new_entries,
            register_changed: returns.changed,
            archive: replay.is_none(),
            archived: &archived,
            archived_bytes: &archived_bytes,
            sign_key: sign_key.as_ref(),
            started,
            ledger: ledger_json,
            ledger_window,
        },
        staging,
    )?;
    Ok(RunOutcome {
        run_dir,
        business_date,
        all_settled: summary.all_settled && input_notes.is_empty(),
        replaced: state.replaced,
        completed_interrupted: state.completed_interrupted,
        outputs: written,
        summary: summary.json,
        input_notes,
        payout_notes,
        // A file only an interrupted first run had written was never announced: it is new tonight.
        payout_files: payment_files.iter().map(|f| (f.name.clone(), state.announced(f.already_emitted))).collect(),
    })
}

#[cfg(test)]
mod file_name_tests {
    use super::file_safe;

    #[test]
    fn beneficiary_ids_become_safe_distinct_file_names() {
        assert_eq!(file_safe("B00001"), "B00001");
        assert_eq!(file_safe("seller.42_x-1"), "seller.42_x-1");
        for id in ["../etc/passwd", ".hidden", "a/b", "a b", "", "Ärger"] {
            let name = file_safe(id);
            assert!(name.starts_with("id-") && name.len() == 19, "{id:?} → {name}");
        }
        assert_ne!(file_safe("a/b"), file_safe("a b"));
    }
}
