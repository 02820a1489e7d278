//! `settle check-archive OUT`: the invariants every completed run must hold, checked over every run of
//! every job under OUT from the files alone (no settle state, no recomputation):
//!
//! - **integrity**: each run directory against its manifest (`seal::verify`: the root hash, every
//!   output's bytes, every archived input);
//! - **conservation**: per stage, record kind and currency, input = matched + open + exception +
//!   rejected, in count and in amount (tallies.csv), and summary.json's `stages` say the same;
//! - **places**: every record the tallies count is placed by exactly one row of matches.csv or
//!   exceptions.csv (their record counts per stage, kind and status are the tallies');
//! - **rows**: a night that carried nothing in put every row it read into its stages (orders into stage
//!   A, channel rows and bank entries into stage B); a night that carried open items in read exactly
//!   the files its previous night left (same sha256), so nothing is lost between nights;
//! - **payouts**: in each job's payout register every payout id and EndToEndId appears once, each payout
//!   is in the pain.001 file the register names (with the recorded sha256) and every pain.001 file's
//!   transfers are in the register; across the whole archive no EndToEndId or MsgId is in two files and
//!   no payout id in two nights' payouts.csv, and a night's payable payouts are in its payout files.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

use settle_core::Decimal;

use crate::pipeline::JobError;

/// One run's checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunCheck {
    pub job: String,
    pub date: String,
    /// How many checks were made.
    pub checks: usize,
    pub problems: Vec<String>,
}

/// The whole archive's checks.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ArchiveCheck {
    pub runs: Vec<RunCheck>,
    /// Problems across runs (payout register, ids across files), as `job: what`.
    pub problems: Vec<String>,
    /// Not invariants broken, but worth knowing: incomplete runs, a crash's temp files.
    pub notes: Vec<String>,
    pub jobs: usize,
    /// Payouts in the registers, and pain.001 files, over the archive.
    pub payouts: usize,
    pub payout_files: usize,
}

impl ArchiveCheck {
    pub fn holds(&self) -> bool {
        self.problems.is_empty() && self.runs.iter().all(|r| r.problems.is_empty())
    }
}

fn archive_error(message: String) -> JobError {
    JobError::Audit { message }
}

/// A CSV file of a run as (header, rows); a missing file is an error naming it.
fn read_table(path: &Path) -> Result<(Vec<String>, Vec<Vec<String>>), String> {
    let bytes = fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(&bytes[..]);
    let header: Vec<String> =
        reader.headers().map_err(|e| format!("{}: {e}", path.display()))?.iter().map(str::to_string).collect();
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| format!("{}: {e}", path.display()))?;
        rows.push(record.iter().map(str::to_string).collect());
    }
    Ok((header, rows))
}

/// The column `name` of a table, or an error naming it.
fn column(header: &[String], name: &str, path: &Path) -> Result<usize, String> {
    header.iter().position(|h| h == name).ok_or_else(|| format!("{}: no column `{name}`", path.display()))
}

/// A cell written for spreadsheets (`'-12.50`) back to its value.
fn cell(text: &str) -> &str {
    text.strip_prefix('\'').unwrap_or(text)
}

type Tally = BTreeMap<(String, String, String), BTreeMap<String, (u64, Decimal)>>;

/// tallies.csv: (stage, kind, currency) → status → (count, amount).
fn read_tallies(run_dir: &Path) -> Result<Tally, String> {
    let path = run_dir.join("tallies.csv");
    let (header, rows) = read_table(&path)?;
    let at = |name| column(&header, name, &path);
    let (stage, kind, currency, status, count, amount) =
        (at("stage")?, at("record_kind")?, at("currency")?, at("status")?, at("count")?, at("amount")?);
    let mut tally = Tally::new();
    for (line, row) in rows.iter().enumerate() {
        let bad = |what: &str| format!("{}:{}: {what}", path.display(), line + 2);
        let n: u64 = row[count].parse().map_err(|_| bad("count is not a whole number"))?;
        let a: Decimal = cell(&row[amount]).parse().map_err(|_| bad("amount is not a decimal"))?;
        let key = (row[stage].clone(), row[kind].clone(), row[currency].clone());
        if tally.entry(key).or_default().insert(row[status].clone(), (n, a)).is_some() {
            return Err(bad("a status twice for its stage, kind and currency"));
        }
    }
    Ok(tally)
}

const STATUSES: [&str; 4] = ["matched", "open", "exception", "rejected"];

/// Conservation, and summary.json's stages against tallies.csv.
fn conservation(tally: &Tally, summary: &serde_json::Value, problems: &mut Vec<String>) {
    for ((stage, kind, currency), statuses) in tally {
        let Some(&(input_count, input_amount)) = statuses.get("input") else {
            problems.push(format!("conservation: stage {stage} {kind} {currency} has no input row"));
            continue;
        };
        let (mut count, mut amount) = (0u64, Decimal::ZERO);
        for status in STATUSES {
            let (n, a) = statuses.get(status).copied().unwrap_or((0, Decimal::ZERO));
            count += n;
            amount += a;
        }
        if (count, amount) != (input_count, input_amount) {
            problems.push(format!(
                "conservation: stage {stage} {kind} {currency}: input {input_count} records, {input_amount}; placed {count}, {amount}"
            ));
        }
        for (status, &(n, a)) in statuses {
            let recorded = &summary["stages"][stage][kind][currency][status];
            let same = recorded["count"].as_u64() == Some(n)
                && recorded["amount"].as_str().and_then(|s| s.parse::<Decimal>().ok()) == Some(a);
            if !same {
                problems.push(format!(
                    "conservation: summary.json stages.{stage}.{kind}.{currency}.{status} is {recorded}, tallies.csv says {n} records, {a}"
                ));
            }
        }
    }
}

/// Records placed by matches.csv and exceptions.csv per (stage, kind, status): a payout batch stands
/// for its channel transactions.
fn placed(run_dir: &Path) -> Result<BTreeMap<(String, String, String), u64>, String> {
    let mut counts: BTreeMap<(String, String, String), u64> = BTreeMap::new();
    for (file, fixed_status) in [("matches.csv", Some("matched")), ("exceptions.csv", None)] {
        // Streamed record by record: matches.csv of a 10^7-order night is gigabytes.
        let path = run_dir.join(file);
        let input = fs::File::open(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(std::io::BufReader::new(input));
        let header: Vec<String> =
            reader.headers().map_err(|e| format!("{}: {e}", path.display()))?.iter().map(str::to_string).collect();
        let stage = column(&header, "stage", &path)?;
        let status = match fixed_status {
            Some(_) => None,
            None => Some(column(&header, "status", &path)?),
        };
        let sides = [
            (column(&header, "left_kind", &path)?, column(&header, "left_records", &path)?),
            (column(&header, "right_kind", &path)?, column(&header, "right_records", &path)?),
        ];
        let mut row = csv::StringRecord::new();
        let mut line = 1u64;
        // Bounded by the file: each round reads one record or ends.
        while reader.read_record(&mut row).map_err(|e| format!("{}: {e}", path.display()))? {
            line += 1;
            let status = match status {
                Some(at) => &row[at],
                None => fixed_status.expect("matches have a fixed status"),
            };
            for (kind, records) in sides {
                if row[kind].is_empty() {
                    continue;
                }
                let n: u64 = row[records]
                    .parse()
                    .map_err(|_| format!("{}:{line}: records is not a whole number", path.display()))?;
                let kind = if &row[kind] == "payout_batch" { "channel_transaction" } else { &row[kind] };
                let key = (row[stage].to_string(), kind.to_string(), status.to_string());
                *counts.entry(key).or_default() += n;
            }
        }
    }
    Ok(counts)
}

/// The places tallies.csv counts against those matches.csv and exceptions.csv give.
fn places(tally: &Tally, run_dir: &Path, problems: &mut Vec<String>) -> Result<(), String> {
    let mut tallied: BTreeMap<(String, String, String), u64> = BTreeMap::new();
    for ((stage, kind, _), statuses) in tally {
        for status in STATUSES {
            let n = statuses.get(status).map_or(0, |s| s.0);
            *tallied.entry((stage.clone(), kind.clone(), status.to_string())).or_default() += n;
        }
    }
    let mut found = placed(run_dir)?;
    // A channel row rejected (a duplicate) in stage A is rejected in stage B too, where every channel row
    // takes part, and exceptions.csv lists it once, under stage A.
    let key = |stage: &str| (stage.to_string(), "channel_transaction".to_string(), "rejected".to_string());
    if let Some(&n) = found.get(&key("A")) {
        *found.entry(key("B")).or_default() += n;
    }
    // The engine tallies every bank entry in stage B, the debits that stage C matches to our payouts (or
    // finds returned) included: matches.csv and exceptions.csv name those under stage C.
    let stage_c: Vec<_> = found.keys().filter(|k| k.0 == "C" && k.1 == "bank_entry").cloned().collect();
    for key in stage_c {
        let n = found.remove(&key).unwrap_or(0);
        *found.entry(("B".to_string(), key.1, key.2)).or_default() += n;
    }
    let keys: BTreeSet<&(String, String, String)> = tallied.keys().chain(found.keys()).collect();
    for key in keys {
        let (t, f) = (tallied.get(key).copied().unwrap_or(0), found.get(key).copied().unwrap_or(0));
        if t != f {
            problems.push(format!(
                "places: stage {} {} {}: tallies.csv counts {t} records, matches.csv and exceptions.csv place {f}",
                key.0, key.1, key.2
            ));
        }
    }
    Ok(())
}

/// Rows read into the stages (a night without carried items), or the carried files against the
/// previous night's.
fn rows(
    tally: &Tally,
    summary: &serde_json::Value,
    manifest: &serde_json::Value,
    job_dir: &Path,
    problems: &mut Vec<String>,
) {
    match manifest["previous_run"].as_str() {
        None => {
            for (stage, kind, read) in [
                ("A", "order", "orders"),
                ("B", "channel_transaction", "channel_transactions"),
                ("B", "bank_entry", "bank_entries"),
            ] {
                let input: u64 = tally
                    .iter()
                    .filter(|((s, k, _), _)| s == stage && k == kind)
                    .map(|(_, statuses)| statuses.get("input").map_or(0, |s| s.0))
                    .sum();
                let read_rows = summary["input_rows"][read].as_u64().unwrap_or(0);
                if input != read_rows {
                    problems.push(format!(
                        "rows: {read_rows} {read} rows were read but stage {stage} took {input} {kind} records"
                    ));
                }
            }
        }
        Some(previous) => {
            let carried = manifest["inputs"].as_array().map(Vec::as_slice).unwrap_or_default();
            let carried: Vec<&serde_json::Value> = carried.iter().filter(|i| i["role"] == "open_items").collect();
            if carried.is_empty() {
                problems.push(format!("rows: the night carried from {previous} but lists no open items read"));
            }
            for input in carried {
                let path = input["path"].as_str().unwrap_or_default();
                let expected = input["sha256"].as_str().unwrap_or_default();
                match fs::read(job_dir.join(path)) {
                    Ok(bytes) if crate::pipeline::sha256_hex(&bytes) == expected => {}
                    Ok(_) => {
                        problems.push(format!("rows: {path} is not the file this night carried in (sha256 {expected})"))
                    }
                    Err(e) => problems.push(format!("rows: {path}, carried in by this night: {e}")),
                }
            }
        }
    }
}

/// One pain.001 file's message id and EndToEndIds (the writer's own layout: one element per line
/// or inline; read by tag, not by position).
fn payout_file_ids(bytes: &[u8]) -> (Option<String>, Vec<String>) {
    let text = String::from_utf8_lossy(bytes);
    let values = |tag: &str| -> Vec<String> {
        let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
        let mut out = Vec::new();
        let mut rest = text.as_ref();
        // Bounded by the text: each round moves past one element or ends.
        while let Some(start) = rest.find(&open) {
            let after = &rest[start + open.len()..];
            let Some(end) = after.find(&close) else { break };
            out.push(after[..end].to_string());
            rest = &after[end + close.len()..];
        }
        out
    };
    (values("MsgId").into_iter().next(), values("EndToEndId"))
}

/// Checks one completed run directory (its job directory holds the previous nights).
fn check_run(job: &str, date: &str, job_dir: &Path) -> RunCheck {
    let run_dir = job_dir.join(date);
    let mut problems = Vec::new();
    let mut checks = 0;
    match crate::seal::verify(&run_dir, None) {
        Ok(found) => problems.extend(found.into_iter().map(|p| format!("integrity: {}", p.what))),
        Err(e) => problems.push(format!("integrity: {e}")),
    }
    checks += 1;
    let json = |name: &str| -> Result<serde_json::Value, String> {
        let path = run_dir.join(name);
        let bytes = fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        serde_json::from_slice(&bytes).map_err(|e| format!("{}: {e}", path.display()))
    };
    let read = (|| -> Result<(Tally, serde_json::Value, serde_json::Value), String> {
        Ok((read_tallies(&run_dir)?, json("summary.json")?, json("manifest.json")?))
    })();
    match read {
        Err(e) => problems.push(e),
        Ok((tally, summary, manifest)) => {
            conservation(&tally, &summary, &mut problems);
            if let Err(e) = places(&tally, &run_dir, &mut problems) {
                problems.push(format!("places: {e}"));
            }
            rows(&tally, &summary, &manifest, job_dir, &mut problems);
            checks += 3;
        }
    }
    RunCheck { job: job.to_string(), date: date.to_string(), checks, problems }
}

/// A payout file of the archive: where it is and what it holds.
struct PayoutFile {
    place: String,
    message_id: Option<String>,
    end_to_end_ids: Vec<String>,
    sha256: String,
}

/// The pain.001 files of a run directory (`payouts/*.xml`), in name order.
fn payout_files(job: &str, date: &str, run_dir: &Path) -> Result<Vec<(String, PayoutFile)>, String> {
    let dir = run_dir.join("payouts");
    let Ok(entries) = fs::read_dir(&dir) else { return Ok(Vec::new()) };
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".xml") && !crate::write::is_temp_name(n))
        .collect();
    names.sort();
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        let bytes = fs::read(dir.join(&name)).map_err(|e| format!("cannot read {}: {e}", dir.join(&name).display()))?;
        let (message_id, end_to_end_ids) = payout_file_ids(&bytes);
        let file = format!("payouts/{name}");
        out.push((
            file.clone(),
            PayoutFile {
                place: format!("{job}/{date}/{file}"),
                message_id,
                end_to_end_ids,
                sha256: crate::pipeline::sha256_hex(&bytes),
            },
        ));
    }
    Ok(out)
}

/// A job's payout register against the payout files of its runs.
fn check_register(
    job: &str,
    job_dir: &Path,
    files: &BTreeMap<(String, String), PayoutFile>,
    problems: &mut Vec<String>,
) -> Result<usize, String> {
    let path = job_dir.join(crate::register::FILE);
    if !path.exists() {
        for (date, file) in files.keys() {
            problems.push(format!("{job}: {date}/{file} exists but the job has no payout register"));
        }
        return Ok(0);
    }
    let (header, rows) = read_table(&path)?;
    let at = |name| column(&header, name, &path);
    let (id, e2e, file, sha, date) =
        (at("payout_id")?, at("end_to_end_id")?, at("file")?, at("file_sha256")?, at("business_date")?);
    let (mut ids, mut e2es) = (BTreeSet::new(), BTreeSet::new());
    for (line, row) in rows.iter().enumerate() {
        let place = format!("{}:{}", path.display(), line + 2);
        if !ids.insert(row[id].as_str()) {
            problems.push(format!("{job}: {place}: payout id {} is in the register twice", row[id]));
        }
        if !e2es.insert(row[e2e].as_str()) {
            problems.push(format!("{job}: {place}: EndToEndId {} is in the register twice", row[e2e]));
        }
        match files.get(&(row[date].clone(), row[file].clone())) {
            None => problems.push(format!(
                "{job}: {place}: payout {} names {}/{}, which is not in the archive",
                row[id], row[date], row[file]
            )),
            Some(f) => {
                if f.sha256 != row[sha] {
                    problems.push(format!(
                        "{job}: {place}: {} has sha256 {}, the register recorded {}",
                        f.place, f.sha256, row[sha]
                    ));
                }
                if !f.end_to_end_ids.contains(&row[e2e]) {
                    problems.push(format!("{job}: {place}: EndToEndId {} is not in {}", row[e2e], f.place));
                }
            }
        }
    }
    for f in files.values() {
        for e in &f.end_to_end_ids {
            if !e2es.contains(e.as_str()) {
                problems.push(format!("{job}: {}: EndToEndId {e} is not in the payout register", f.place));
            }
        }
    }
    Ok(rows.len())
}

/// Directory names under `dir`, sorted (`filter` keeps some).
fn sorted_dirs(dir: &Path, filter: impl Fn(&str) -> bool) -> Result<Vec<String>, JobError> {
    let entries = fs::read_dir(dir).map_err(|e| archive_error(format!("cannot read {}: {e}", dir.display())))?;
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| filter(n))
        .collect();
    names.sort();
    Ok(names)
}

/// Temp files a crash left under `dir` (settle's `.settle-*.tmp`), as paths relative to `root`.
fn stale_temps(root: &Path, dir: &Path, found: &mut Vec<String>, depth: usize) {
    // Bounded: a run directory is at most a few levels deep.
    if depth > 6 {
        return;
    }
    let Ok(entries) = fs::read_dir(dir) else { return };
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            stale_temps(root, &path, found, depth + 1);
        } else if crate::write::is_temp_name(&name) {
            found.push(path.strip_prefix(root).unwrap_or(&path).display().to_string());
        }
    }
}

/// The money-level invariant across the output root, from every completed run's settlement-ledger key
/// file: no record (order, channel transaction, bank entry) settled on two nights or by two jobs, and
/// none held by two jobs. The files are merged in key order a record at a time (bounded memory).
fn ledger_once(out_root: &Path, runs: &[(String, String)], problems: &mut Vec<String>) -> Result<(), String> {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;
    let mut cursors = Vec::with_capacity(runs.len());
    for (job, date) in runs {
        let path = out_root.join(job).join(date).join(crate::ledger::FILE);
        if !path.exists() {
            problems.push(format!("{job}/{date}: no {} (written by an earlier settle)", crate::ledger::FILE));
            cursors.push(None);
            continue;
        }
        cursors.push(Some(crate::ledger::Cursor::open(&path)?));
    }
    let mut heap = BinaryHeap::new();
    for (i, cursor) in cursors.iter_mut().enumerate() {
        if let Some(c) = cursor
            && let Some((key, check, settled)) = c.next_entry()?
        {
            heap.push(Reverse((key, check, i, settled)));
        }
    }
    let mut reported = 0usize;
    // Bounded by the entries of all files: each round takes one off the heap.
    while let Some(Reverse((key, check, first, settled))) = heap.pop() {
        let mut group = vec![(first, settled)];
        while let Some(Reverse((k, c, _, _))) = heap.peek()
            && (*k, *c) == (key, check)
        {
            let Some(Reverse((_, _, i, s))) = heap.pop() else { break };
            group.push((i, s));
        }
        for &(i, _) in &group {
            if let Some(c) = cursors[i].as_mut()
                && let Some((k, c2, s)) = c.next_entry()?
            {
                heap.push(Reverse((k, c2, i, s)));
            }
        }
        if group.len() < 2 {
            continue;
        }
        let name = |i: usize| format!("{}/{}", runs[i].0, runs[i].1);
        let settled: Vec<usize> = group.iter().filter(|(_, s)| *s).map(|(i, _)| *i).collect();
        let jobs: BTreeSet<&str> = group.iter().map(|(i, _)| runs[*i].0.as_str()).collect();
        let problem = if settled.len() > 1 {
            Some(format!(
                "ledger: a record (key {key:016x}) is settled by {} and again by {}",
                name(settled[0]),
                name(settled[1])
            ))
        } else if jobs.len() > 1 {
            Some(format!(
                "ledger: a record (key {key:016x}) is held by two jobs: {} and {}",
                name(group[0].0),
                name(group.iter().find(|(i, _)| runs[*i].0 != runs[group[0].0].0).map_or(0, |(i, _)| *i))
            ))
        } else {
            None
        };
        if let Some(problem) = problem {
            reported += 1;
            if reported <= 100 {
                problems.push(problem);
            }
        }
    }
    if reported > 100 {
        problems.push(format!("ledger: {} more records settled twice or held twice", reported - 100));
    }
    Ok(())
}

/// Checks every run of every job under `out_root` (see the module docs).
pub fn check_archive(out_root: &Path) -> Result<ArchiveCheck, JobError> {
    let mut check = ArchiveCheck::default();
    let is_date = |n: &str| settle_core::parse_date(n).is_ok();
    let jobs = sorted_dirs(out_root, |n| !n.starts_with('.'))?;
    // Across the archive: EndToEndId and MsgId → the file that holds it.
    let mut e2e_places: BTreeMap<String, String> = BTreeMap::new();
    let mut message_places: BTreeMap<String, String> = BTreeMap::new();
    let mut payout_places: BTreeMap<String, String> = BTreeMap::new();
    // Completed runs, (job, date), for the settlement ledger's check across them.
    let mut complete: Vec<(String, String)> = Vec::new();
    for job in &jobs {
        let job_dir = out_root.join(job);
        let dates = sorted_dirs(&job_dir, is_date)?;
        if dates.is_empty() {
            continue;
        }
        check.jobs += 1;
        let mut files: BTreeMap<(String, String), PayoutFile> = BTreeMap::new();
        for date in &dates {
            let run_dir = job_dir.join(date);
            if !run_dir.join("manifest.json").exists() {
                check.notes.push(format!(
                    "{job}/{date}: incomplete run (no manifest.json); not checked: a rerun of the night completes it"
                ));
                continue;
            }
            check.runs.push(check_run(job, date, &job_dir));
            complete.push((job.clone(), date.clone()));
            // A run whose files cannot be read is reported broken, and the others are still checked.
            let mut one_run = || -> Result<(), String> {
                let found = payout_files(job, date, &run_dir)?;
                // payouts.csv: each payout id in one night only; a payable payout of a night that wrote
                // payout files is in one of them.
                let night_e2e: BTreeSet<&str> =
                    found.iter().flat_map(|(_, f)| f.end_to_end_ids.iter().map(String::as_str)).collect();
                let path = run_dir.join("payouts.csv");
                let (header, rows) = read_table(&path)?;
                let at = |name| column(&header, name, &path);
                let (id, e2e, status) = (at("payout_id")?, at("end_to_end_id")?, at("status")?);
                for (line, row) in rows.iter().enumerate() {
                    let place = format!("{job}/{date}/payouts.csv:{}", line + 2);
                    if let Some(first) = payout_places.insert(row[id].clone(), place.clone()) {
                        check.problems.push(format!("payout id {} is in {first} and in {place}", row[id]));
                    }
                    if row[status] == "payable" && !found.is_empty() && !night_e2e.contains(row[e2e].as_str()) {
                        check.problems.push(format!(
                            "{place}: payable payout {} is in none of the night's payout files",
                            row[id]
                        ));
                    }
                }
                for (file, f) in found {
                    for e in &f.end_to_end_ids {
                        if let Some(first) = e2e_places.insert(e.clone(), f.place.clone()) {
                            check.problems.push(format!("EndToEndId {e} is in {first} and in {}", f.place));
                        }
                    }
                    if let Some(m) = &f.message_id
                        && let Some(first) = message_places.insert(m.clone(), f.place.clone())
                    {
                        check.problems.push(format!("MsgId {m} is in {first} and in {}", f.place));
                    }
                    files.insert((date.clone(), file), f);
                }
                Ok(())
            };
            if let Err(e) = one_run() {
                check.problems.push(format!("{job}/{date}: {e}"));
            }
        }
        check.payout_files += files.len();
        match check_register(job, &job_dir, &files, &mut check.problems) {
            Ok(payouts) => check.payouts += payouts,
            Err(e) => check.problems.push(format!("{job}: {e}")),
        }
        // The register is what the nights' manifests recorded (each night's registered_payouts.csv).
        let register = match fs::read(job_dir.join(crate::register::FILE)) {
            Ok(bytes) => crate::register::read(&bytes).unwrap_or_default(),
            Err(_) => settle_payout::files::Register::default(),
        };
        if let Err(e) = crate::register::verify(&job_dir, &register, settle_core::Date::MIN) {
            check.problems.push(format!("{job}: {e}"));
        }
    }
    if let Err(e) = ledger_once(out_root, &complete, &mut check.problems) {
        check.problems.push(format!("ledger: {e}"));
    }
    if check.runs.is_empty() {
        return Err(archive_error(format!(
            "no completed runs under {} (expected OUT/<job>/<business date>/manifest.json)",
            out_root.display()
        )));
    }
    let mut temps = Vec::new();
    stale_temps(out_root, out_root, &mut temps, 0);
    check.notes.extend(temps.into_iter().map(|t| format!("{t}: a temp file a crashed run left (safe to delete)")));
    Ok(check)
}

/// `settle check-archive`'s lines: one per run (`ok` or each of its problems), then the problems
/// across runs.
pub fn render(check: &ArchiveCheck) -> String {
    let mut out = String::new();
    for run in &check.runs {
        if run.problems.is_empty() {
            out.push_str(&format!("ok       {}/{}  {} checks\n", run.job, run.date, run.checks));
        }
        for p in &run.problems {
            out.push_str(&format!("problem  {}/{}  {p}\n", run.job, run.date));
        }
    }
    for p in &check.problems {
        out.push_str(&format!("problem  {p}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payout_file_ids_are_read_by_tag() {
        let xml = b"<GrpHdr><MsgId>S1-20261031-EUR-1</MsgId></GrpHdr><PmtInf><PmtInfId>P</PmtInfId>\
            <CdtTrfTxInf><PmtId><EndToEndId>PO1</EndToEndId></PmtId></CdtTrfTxInf>\
            <CdtTrfTxInf><PmtId><EndToEndId>PO2</EndToEndId></PmtId></CdtTrfTxInf></PmtInf>";
        let (message, ids) = payout_file_ids(xml);
        assert_eq!(message.as_deref(), Some("S1-20261031-EUR-1"));
        assert_eq!(ids, ["PO1", "PO2"]);
        assert_eq!(payout_file_ids(b"<MsgId>cut"), (None, vec![]));
    }
}
