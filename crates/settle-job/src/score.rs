//! `settle score RUN_DIR TRUTH`: how well a run placed the records a generated day's `truth.csv`
//! describes — precision and recall of matches per stage, and the confusion of outcomes (matched or a
//! reason code) record by record.
//!
//! A run's match is correct when its two records are the ones truth expects to meet: both have the
//! same non-empty `expected_with` label, both are `matched` in truth, and no other record carries that
//! label. A truth file without `expected_with` (written before the column existed) is scored record by
//! record only: a match then counts as correct when both its records are expected `matched`.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};

/// A score file or run output that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum ScoreError {
    #[error("cannot read {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("{path}: {message}")]
    Csv { path: String, message: String },
    #[error("{path}: no column `{column}` (expected the header of {what})")]
    Column { path: String, column: &'static str, what: &'static str },
}

/// The outcome a record was given (or should have been): `matched` or a reason code.
type Outcome = String;
/// (stage, record kind, record id).
type RecordKey = (String, String, String);

/// Precision and recall of one stage's matches.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct StageScore {
    pub stage: String,
    /// Matches the run made.
    pub matches_run: u64,
    /// Matches truth expects (groups of records expected to be matched together).
    pub matches_truth: u64,
    /// The run's matches that are truth's.
    pub matches_correct: u64,
}

impl StageScore {
    /// Precision in basis points (10 000 = 100 %), rounded down; 10 000 when the run made no match.
    pub fn precision_bp(&self) -> u64 {
        ratio_bp(self.matches_correct, self.matches_run)
    }

    /// Recall in basis points, rounded down; 10 000 when truth expects no match.
    pub fn recall_bp(&self) -> u64 {
        ratio_bp(self.matches_correct, self.matches_truth)
    }
}

fn ratio_bp(part: u64, whole: u64) -> u64 {
    if whole == 0 {
        return 10_000;
    }
    let bp = u128::from(part) * 10_000 / u128::from(whole);
    u64::try_from(bp).unwrap_or(u64::MAX)
}

/// `12.34` from basis points.
pub fn percent(bp: u64) -> String {
    format!("{}.{:02}", bp / 100, bp % 100)
}

/// One cell of the confusion of outcomes: records truth expected `expected` that the run placed as
/// `placed` (`-` on either side: a record absent from truth, or from the run).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Confusion {
    pub stage: String,
    pub expected: Outcome,
    pub placed: Outcome,
    pub records: u64,
}

/// The whole score; every list is sorted.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Score {
    pub stages: Vec<StageScore>,
    /// Records truth lists.
    pub records_truth: u64,
    /// Records the run placed as truth expects.
    pub records_agreeing: u64,
    /// Every (stage, expected, placed) pair with its count, agreeing ones included.
    pub confusion: Vec<Confusion>,
    /// Whether truth had `expected_with` (pairs checked) or not (records only).
    pub pairs_checked: bool,
}

impl Score {
    /// Everything as truth says: every record placed as expected, every stage's matches exact.
    pub fn is_perfect(&self) -> bool {
        self.records_agreeing == self.records_truth
            && self.confusion.iter().all(|c| c.expected == c.placed)
            && self.stages.iter().all(|s| s.matches_correct == s.matches_run && s.matches_correct == s.matches_truth)
    }
}

struct Table {
    path: PathBuf,
    reader: csv::Reader<File>,
    header: csv::StringRecord,
}

impl Table {
    fn open(path: PathBuf) -> Result<Table, ScoreError> {
        let file = File::open(&path).map_err(|source| ScoreError::Io { path: path.display().to_string(), source })?;
        let mut reader = csv::Reader::from_reader(file);
        let header = reader.headers().map_err(|e| csv_error(&path, &e))?.clone();
        Ok(Table { path, reader, header })
    }

    fn column(&self, column: &'static str, what: &'static str) -> Result<usize, ScoreError> {
        self.header.iter().position(|h| h == column).ok_or_else(|| ScoreError::Column {
            path: self.path.display().to_string(),
            column,
            what,
        })
    }

    /// Every row, with its line for errors; `each` gets the record.
    fn rows(&mut self, mut each: impl FnMut(&csv::StringRecord)) -> Result<(), ScoreError> {
        let mut record = csv::StringRecord::new();
        loop {
            match self.reader.read_record(&mut record) {
                Ok(true) => each(&record),
                Ok(false) => return Ok(()),
                Err(e) => return Err(csv_error(&self.path, &e)),
            }
        }
    }
}

fn csv_error(path: &Path, e: &csv::Error) -> ScoreError {
    let at = e.position().map(|p| format!("line {}: ", p.line())).unwrap_or_default();
    ScoreError::Csv { path: path.display().to_string(), message: format!("{at}{e}") }
}

struct TruthRow {
    key: RecordKey,
    expected: Outcome,
    with: String,
}

/// Scores the run in `run_dir` (its matches.csv and exceptions.csv) against `truth` (a truth.csv).
pub fn score(run_dir: &Path, truth: &Path) -> Result<Score, ScoreError> {
    const TRUTH: &str = "truth.csv (stage,record_kind,record_id,expected[,expected_with])";
    let mut table = Table::open(truth.to_path_buf())?;
    let columns = [
        table.column("stage", TRUTH)?,
        table.column("record_kind", TRUTH)?,
        table.column("record_id", TRUTH)?,
        table.column("expected", TRUTH)?,
    ];
    let with_at = table.header.iter().position(|h| h == "expected_with");
    let mut truth_rows: Vec<TruthRow> = Vec::new();
    table.rows(|r| {
        let field = |i: usize| r.get(i).unwrap_or("").to_string();
        truth_rows.push(TruthRow {
            key: (field(columns[0]), field(columns[1]), field(columns[2])),
            expected: field(columns[3]),
            with: with_at.map(field).unwrap_or_default(),
        });
    })?;

    // Placements: (record key, outcome) from both tables, and each match's two records.
    let mut placed: Vec<(RecordKey, Outcome)> = Vec::new();
    let mut run_matches: Vec<(String, Vec<RecordKey>)> = Vec::new();
    for (file, reason) in [("matches.csv", None), ("exceptions.csv", Some("reason_code"))] {
        const WHAT: &str = "a run's matches.csv or exceptions.csv";
        let mut table = Table::open(run_dir.join(file))?;
        let stage_at = table.column("stage", WHAT)?;
        let reason_at = reason.map(|c| table.column(c, WHAT)).transpose()?;
        let sides = [
            (table.column("left_kind", WHAT)?, table.column("left_id", WHAT)?),
            (table.column("right_kind", WHAT)?, table.column("right_id", WHAT)?),
        ];
        table.rows(|r| {
            let stage = r.get(stage_at).unwrap_or("").to_string();
            let outcome = reason_at.map_or("matched", |i| r.get(i).unwrap_or(""));
            let mut records = Vec::with_capacity(2);
            for (kind_at, id_at) in sides {
                let kind = r.get(kind_at).unwrap_or("");
                if !kind.is_empty() {
                    let key = (stage.clone(), kind.to_string(), r.get(id_at).unwrap_or("").to_string());
                    placed.push((key.clone(), outcome.to_string()));
                    records.push(key);
                }
            }
            if reason_at.is_none() {
                run_matches.push((stage, records));
            }
        })?;
    }

    Ok(tally(truth_rows, placed, run_matches, with_at.is_some()))
}

fn tally(
    truth_rows: Vec<TruthRow>,
    placed: Vec<(RecordKey, Outcome)>,
    run_matches: Vec<(String, Vec<RecordKey>)>,
    pairs_checked: bool,
) -> Score {
    // Truth's groups of records expected matched together: label → members.
    let mut group_size: BTreeMap<(String, &str), u64> = BTreeMap::new();
    let mut matched_label: BTreeMap<&RecordKey, &str> = BTreeMap::new();
    let mut stages: BTreeMap<String, StageScore> = BTreeMap::new();
    for row in &truth_rows {
        stages
            .entry(row.key.0.clone())
            .or_insert_with(|| StageScore { stage: row.key.0.clone(), ..StageScore::default() });
        if row.expected != "matched" {
            continue;
        }
        matched_label.insert(&row.key, &row.with);
        if pairs_checked {
            *group_size.entry((row.key.0.clone(), row.with.as_str())).or_default() += 1;
        }
    }
    for (stage, label) in group_size.keys() {
        if !label.is_empty() {
            stages.get_mut(stage).expect("stage of a truth row").matches_truth += 1;
        }
    }
    if !pairs_checked {
        // Records only: as many expected matches as a stage's matched records make pairs.
        let mut matched_records: BTreeMap<&str, u64> = BTreeMap::new();
        for row in truth_rows.iter().filter(|r| r.expected == "matched") {
            *matched_records.entry(row.key.0.as_str()).or_default() += 1;
        }
        for (stage, records) in matched_records {
            stages.get_mut(stage).expect("stage of a truth row").matches_truth = records / 2;
        }
    }
    for (stage, records) in &run_matches {
        let score =
            stages.entry(stage.clone()).or_insert_with(|| StageScore { stage: stage.clone(), ..StageScore::default() });
        score.matches_run += 1;
        let labels: Vec<Option<&str>> = records.iter().map(|k| matched_label.get(k).copied()).collect();
        let correct = match labels.as_slice() {
            [Some(a), Some(b)] if pairs_checked => {
                !a.is_empty() && a == b && group_size.get(&(stage.clone(), *a)) == Some(&2)
            }
            [Some(_), Some(_)] => true,
            _ => false,
        };
        if correct {
            score.matches_correct += 1;
        }
    }

    // Outcomes record by record: a record id can occur more than once (a duplicated channel row), so
    // each key's expected and placed outcomes are paired up, equal ones first, the rest in file order.
    let mut expected: BTreeMap<RecordKey, Vec<Outcome>> = BTreeMap::new();
    for row in truth_rows {
        expected.entry(row.key).or_default().push(row.expected);
    }
    let mut placements: BTreeMap<RecordKey, Vec<Outcome>> = BTreeMap::new();
    for (key, outcome) in placed {
        placements.entry(key).or_default().push(outcome);
    }
    let records_truth = expected.values().map(|v| v.len() as u64).sum();
    let mut confusion: BTreeMap<(String, Outcome, Outcome), u64> = BTreeMap::new();
    let mut records_agreeing = 0u64;
    let none = || "-".to_string();
    let mut keys: Vec<&RecordKey> = expected.keys().chain(placements.keys()).collect();
    keys.sort();
    keys.dedup();
    for key in keys {
        // In file order: a duplicated row's first occurrence is truth's first row and the run's first.
        let want = expected.get(key).cloned().unwrap_or_default();
        let mut got = placements.get(key).cloned().unwrap_or_default();
        let mut unmatched_want = Vec::new();
        for outcome in want {
            if let Some(at) = got.iter().position(|g| *g == outcome) {
                got.remove(at);
                records_agreeing += 1;
                *confusion.entry((key.0.clone(), outcome.clone(), outcome)).or_default() += 1;
            } else {
                unmatched_want.push(outcome);
            }
        }
        let pairs = unmatched_want.len().max(got.len());
        for i in 0..pairs {
            let w = unmatched_want.get(i).cloned().unwrap_or_else(none);
            let g = got.get(i).cloned().unwrap_or_else(none);
            *confusion.entry((key.0.clone(), w, g)).or_default() += 1;
        }
    }
    Score {
        stages: stages.into_values().collect(),
        records_truth,
        records_agreeing,
        confusion: confusion
            .into_iter()
            .map(|((stage, expected, placed), records)| Confusion { stage, expected, placed, records })
            .collect(),
        pairs_checked,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(stage: &str, kind: &str, id: &str) -> RecordKey {
        (stage.into(), kind.into(), id.into())
    }

    fn truth(stage: &str, kind: &str, id: &str, expected: &str, with: &str) -> TruthRow {
        TruthRow { key: key(stage, kind, id), expected: expected.into(), with: with.into() }
    }

    fn day() -> Vec<TruthRow> {
        vec![
            truth("A", "order", "O1", "matched", "O1"),
            truth("A", "channel_transaction", "c:1", "matched", "O1"),
            truth("A", "order", "O2", "matched", "O2"),
            truth("A", "channel_transaction", "c:2", "matched", "O2"),
            truth("A", "channel_transaction", "c:2", "duplicate_channel_transaction", ""),
            truth("A", "order", "O3", "no_channel_transaction", ""),
        ]
    }

    fn placed(rows: &[(&str, &str, &str, &str)]) -> Vec<(RecordKey, Outcome)> {
        rows.iter().map(|(s, k, i, o)| (key(s, k, i), o.to_string())).collect()
    }

    #[test]
    fn a_run_as_truth_says_is_perfect() {
        let placed: Vec<(RecordKey, Outcome)> = day().into_iter().map(|t| (t.key, t.expected)).collect();
        let matches = vec![
            ("A".to_string(), vec![key("A", "order", "O1"), key("A", "channel_transaction", "c:1")]),
            ("A".to_string(), vec![key("A", "order", "O2"), key("A", "channel_transaction", "c:2")]),
        ];
        let score = tally(day(), placed, matches, true);
        assert!(score.is_perfect(), "{score:?}");
        assert_eq!(score.stages[0].matches_truth, 2);
        assert_eq!((score.stages[0].precision_bp(), score.stages[0].recall_bp()), (10_000, 10_000));
    }

    #[test]
    fn crossed_pairs_are_wrong_matches_though_every_record_is_matched() {
        let placed: Vec<(RecordKey, Outcome)> = day().into_iter().map(|t| (t.key, t.expected)).collect();
        let crossed = vec![
            ("A".to_string(), vec![key("A", "order", "O1"), key("A", "channel_transaction", "c:2")]),
            ("A".to_string(), vec![key("A", "order", "O2"), key("A", "channel_transaction", "c:1")]),
        ];
        let score = tally(day(), placed.clone(), crossed.clone(), true);
        assert_eq!(score.records_agreeing, score.records_truth, "every record's outcome is right");
        assert_eq!(score.stages[0].matches_correct, 0);
        assert!(!score.is_perfect());
        // Without pairs in truth, only outcomes can be checked.
        assert!(tally(day(), placed, crossed, false).is_perfect());
    }

    #[test]
    fn missed_and_invented_outcomes_show_in_the_confusion() {
        let placed = placed(&[
            ("A", "order", "O1", "matched"),
            ("A", "channel_transaction", "c:1", "matched"),
            ("A", "order", "O2", "amount_mismatch"),
            ("A", "channel_transaction", "c:2", "amount_mismatch"),
            ("A", "order", "O3", "no_channel_transaction"),
            ("A", "order", "O9", "no_channel_transaction"),
        ]);
        let matches = vec![("A".to_string(), vec![key("A", "order", "O1"), key("A", "channel_transaction", "c:1")])];
        let score = tally(day(), placed, matches, true);
        let cells: Vec<(&str, &str, u64)> =
            score.confusion.iter().map(|c| (c.expected.as_str(), c.placed.as_str(), c.records)).collect();
        assert_eq!(
            cells,
            vec![
                ("-", "no_channel_transaction", 1),
                ("duplicate_channel_transaction", "-", 1),
                ("matched", "amount_mismatch", 2),
                ("matched", "matched", 2),
                ("no_channel_transaction", "no_channel_transaction", 1),
            ]
        );
        assert_eq!((score.records_truth, score.records_agreeing), (6, 3));
        assert_eq!((score.stages[0].precision_bp(), score.stages[0].recall_bp()), (10_000, 5_000));
        assert_eq!(percent(score.stages[0].recall_bp()), "50.00");
    }
}
