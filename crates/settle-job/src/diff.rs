//! `settle diff RUN_A RUN_B`: what changed between two run directories — inputs and outputs by hash
//! (from the manifests), matches gained or lost, exceptions opened or closed, payouts changed.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

use crate::pipeline::JobError;

/// What differs between two runs; every list is sorted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunDiff {
    /// (role, path, what): `added`, `removed` or `changed`.
    pub inputs: Vec<(String, String, &'static str)>,
    /// (path, what).
    pub outputs: Vec<(String, &'static str)>,
    /// `stage left → right (rule)` of matches only in B / only in A.
    pub matches_gained: Vec<String>,
    pub matches_lost: Vec<String>,
    /// `stage reason left/right` of exceptions only in B (opened) / only in A (closed).
    pub exceptions_opened: Vec<String>,
    pub exceptions_closed: Vec<String>,
    /// `beneficiary: amount currency status → amount currency status`.
    pub payouts_changed: Vec<String>,
}

impl RunDiff {
    pub fn is_empty(&self) -> bool {
        self.inputs.is_empty() && self.outputs.is_empty()
    }
}

fn manifest(dir: &Path) -> Result<serde_json::Value, JobError> {
    crate::replay::read_manifest(dir).map(|(_, _, manifest)| manifest)
}

/// Rows of a CSV output by a key of some columns, the value the other columns named; an absent file
/// (an older run) is empty.
fn keyed(dir: &Path, file: &str, key: &[&str], value: &[&str]) -> Result<BTreeMap<String, String>, JobError> {
    let path = dir.join(file);
    let bytes = match fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
        Err(source) => return Err(JobError::InputIo { path: path.display().to_string(), role: "output", source }),
    };
    let error = |e: csv::Error| JobError::Replay { message: format!("{}: {e}", path.display()) };
    let mut reader = csv::Reader::from_reader(bytes.as_slice());
    let header = reader.headers().map_err(error)?.clone();
    let index =
        |names: &[&str]| -> Vec<Option<usize>> { names.iter().map(|n| header.iter().position(|h| h == *n)).collect() };
    let (key_at, value_at) = (index(key), index(value));
    let mut out = BTreeMap::new();
    for record in reader.records() {
        let record = record.map_err(error)?;
        let join = |at: &[Option<usize>], sep: &str| {
            at.iter().map(|i| i.and_then(|i| record.get(i)).unwrap_or("")).collect::<Vec<_>>().join(sep)
        };
        out.insert(join(&key_at, " "), join(&value_at, " "));
    }
    Ok(out)
}

fn hashes(
    manifest: &serde_json::Value,
    list: &str,
    key: impl Fn(&serde_json::Value) -> String,
) -> BTreeMap<String, String> {
    manifest[list]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|e| (key(e), e["sha256"].as_str().unwrap_or("").to_string()))
        .collect()
}

fn compare(a: &BTreeMap<String, String>, b: &BTreeMap<String, String>) -> Vec<(String, &'static str)> {
    let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    keys.into_iter()
        .filter_map(|k| match (a.get(k), b.get(k)) {
            (None, Some(_)) => Some((k.clone(), "added")),
            (Some(_), None) => Some((k.clone(), "removed")),
            (Some(x), Some(y)) if x != y => Some((k.clone(), "changed")),
            _ => None,
        })
        .collect()
}

/// Compares the runs in `a` and `b`.
pub fn diff(a: &Path, b: &Path) -> Result<RunDiff, JobError> {
    let (ma, mb) = (manifest(a)?, manifest(b)?);
    let input_key =
        |e: &serde_json::Value| format!("{}\t{}", e["role"].as_str().unwrap_or(""), e["path"].as_str().unwrap_or(""));
    let output_key = |e: &serde_json::Value| e["path"].as_str().unwrap_or("").to_string();
    let inputs = compare(&hashes(&ma, "inputs", input_key), &hashes(&mb, "inputs", input_key))
        .into_iter()
        .map(|(k, what)| {
            let (role, path) = k.split_once('\t').unwrap_or(("", &k));
            (role.to_string(), path.to_string(), what)
        })
        .collect();
    let outputs = compare(&hashes(&ma, "outputs", output_key), &hashes(&mb, "outputs", output_key));
    let only = |x: &BTreeMap<String, String>, y: &BTreeMap<String, String>| -> Vec<String> {
        x.iter().filter(|(k, _)| !y.contains_key(*k)).map(|(k, v)| format!("{k} ({v})")).collect()
    };
    let match_key = ["stage", "left_kind", "left_id", "right_kind", "right_id"];
    let (xa, xb) = (keyed(a, "matches.csv", &match_key, &["rule"])?, keyed(b, "matches.csv", &match_key, &["rule"])?);
    let exception_key = ["stage", "reason_code", "left_kind", "left_id", "right_kind", "right_id"];
    let (ea, eb) = (
        keyed(a, "exceptions.csv", &exception_key, &["status"])?,
        keyed(b, "exceptions.csv", &exception_key, &["status"])?,
    );
    let payout_value = ["amount", "currency", "status"];
    let (pa, pb) = (
        keyed(a, "payouts.csv", &["beneficiary_id"], &payout_value)?,
        keyed(b, "payouts.csv", &["beneficiary_id"], &payout_value)?,
    );
    let keys: BTreeSet<&String> = pa.keys().chain(pb.keys()).collect();
    let payouts_changed = keys
        .into_iter()
        .filter(|k| pa.get(*k) != pb.get(*k))
        .map(|k| {
            let side = |m: &BTreeMap<String, String>| m.get(k).cloned().unwrap_or_else(|| "none".into());
            format!("{k}: {} → {}", side(&pa), side(&pb))
        })
        .collect();
    Ok(RunDiff {
        inputs,
        outputs,
        matches_gained: only(&xb, &xa),
        matches_lost: only(&xa, &xb),
        exceptions_opened: only(&eb, &ea),
        exceptions_closed: only(&ea, &eb),
        payouts_changed,
    })
}
