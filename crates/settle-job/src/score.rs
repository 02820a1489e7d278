//! `settle score RUN_DIR TRUTH`: how well a run placed the records a generated day's `truth.csv`
//! describes — precision and recall of matches per stage, and the confusion of outcomes (matched or a
//! reason code) record by record.
//!
//! A run's match is correct when its two records are the ones truth expects to meet: both have the
//! same non-empty `expected_with` label, both are `matched` in truth, and no other record carries that
//! label. A truth file without `expected_with` (written before the column existed) is scored record by
//! record only: a match then counts as correct when both its records are expected `matched`.

use std::collections::{BTreeMap, HashMap};
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
    pub expected: String,
    pub placed: String,
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
    /// Share of truth's records placed as expected, in basis points, rounded down.
    pub fn records_agreeing_bp(&self) -> u64 {
        ratio_bp(self.records_agreeing, self.records_truth)
    }

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
    let mut tally = Tally::new(with_at.is_some());
    table.rows(|r| {
        let field = |i: usize| r.get(i).unwrap_or("");
        tally.truth(
            field(columns[0]),
            field(columns[1]),
            field(columns[2]),
            field(columns[3]),
            with_at.map_or("", field),
        );
    })?;

    // Placements from both tables; each match's records are checked as it is read.
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
            let stage = r.get(stage_at).unwrap_or("");
            let outcome = reason_at.map_or("matched", |i| r.get(i).unwrap_or(""));
            let mut records: Vec<(&str, &str)> = Vec::with_capacity(2);
            for (kind_at, id_at) in sides {
                let kind = r.get(kind_at).unwrap_or("");
                if !kind.is_empty() {
                    let id = r.get(id_at).unwrap_or("");
                    tally.placed(stage, kind, id, outcome);
                    records.push((kind, id));
                }
            }
            if reason_at.is_none() {
                tally.run_match(stage, &records);
            }
        })?;
    }
    Ok(tally.finish())
}

/// Outcomes of one record key (interned): almost always one.
#[derive(Debug, Default, Clone)]
enum Outcomes {
    #[default]
    None,
    One(u16),
    Many(Vec<u16>),
}

impl Outcomes {
    fn push(&mut self, outcome: u16) {
        *self = match std::mem::take(self) {
            Outcomes::None => Outcomes::One(outcome),
            Outcomes::One(first) => Outcomes::Many(vec![first, outcome]),
            Outcomes::Many(mut all) => {
                all.push(outcome);
                Outcomes::Many(all)
            }
        };
    }

    fn as_slice(&self) -> &[u16] {
        match self {
            Outcomes::None => &[],
            Outcomes::One(o) => std::slice::from_ref(o),
            Outcomes::Many(all) => all,
        }
    }
}

/// What one record key gathered: truth's expected outcomes, the run's placements (both in file order)
/// and the group truth expects it matched in (`NO_GROUP`: none, or not expected matched).
#[derive(Debug, Default)]
struct Record {
    expected: Outcomes,
    placed: Outcomes,
    group: u32,
    matched_in_truth: bool,
}

const NO_GROUP: u32 = u32::MAX;

/// The score, built row by row: record ids kept once as text, stages, kinds and outcomes interned, so
/// a 10^7-order day's 20 million truth rows fit in a few GB. Map iteration order never reaches the
/// result (counts are sums; each key's outcomes are paired in file order).
struct Tally {
    pairs_checked: bool,
    names: Vec<String>,
    name_index: HashMap<String, u16>,
    /// `stage \x1f kind \x1f id` → what it gathered.
    records: HashMap<Box<str>, Record>,
    /// (stage, expected_with label) → group id; group sizes by id.
    groups: HashMap<(u16, Box<str>), u32>,
    group_stage: Vec<u16>,
    group_size: Vec<u32>,
    stages: BTreeMap<String, StageScore>,
}

fn record_key(stage: &str, kind: &str, id: &str) -> String {
    let mut key = String::with_capacity(stage.len() + kind.len() + id.len() + 2);
    key.push_str(stage);
    key.push('\x1f');
    key.push_str(kind);
    key.push('\x1f');
    key.push_str(id);
    key
}

impl Tally {
    fn new(pairs_checked: bool) -> Tally {
        Tally {
            pairs_checked,
            names: Vec::new(),
            name_index: HashMap::new(),
            records: HashMap::new(),
            groups: HashMap::new(),
            group_stage: Vec::new(),
            group_size: Vec::new(),
            stages: BTreeMap::new(),
        }
    }

    fn intern(&mut self, name: &str) -> u16 {
        if let Some(&i) = self.name_index.get(name) {
            return i;
        }
        // Stage, kind and outcome names are a few dozen; a hostile file with more is cut off here.
        let i = u16::try_from(self.names.len()).unwrap_or(u16::MAX);
        if i < u16::MAX {
            self.names.push(name.to_string());
            self.name_index.insert(name.to_string(), i);
        }
        i
    }

    fn stage(&mut self, stage: &str) -> &mut StageScore {
        self.stages
            .entry(stage.to_string())
            .or_insert_with(|| StageScore { stage: stage.to_string(), ..StageScore::default() })
    }

    fn record(&mut self, stage: &str, kind: &str, id: &str) -> &mut Record {
        self.records
            .entry(record_key(stage, kind, id).into_boxed_str())
            .or_insert_with(|| Record { group: NO_GROUP, ..Record::default() })
    }

    fn truth(&mut self, stage: &str, kind: &str, id: &str, expected: &str, with: &str) {
        self.stage(stage);
        let outcome = self.intern(expected);
        let matched = expected == "matched";
        let group = if matched && self.pairs_checked && !with.is_empty() {
            let stage_index = self.intern(stage);
            let next = u32::try_from(self.group_size.len()).unwrap_or(NO_GROUP);
            let group = *self.groups.entry((stage_index, with.into())).or_insert(next);
            if group == next {
                self.group_stage.push(stage_index);
                self.group_size.push(0);
            }
            self.group_size[group as usize] += 1;
            group
        } else {
            NO_GROUP
        };
        let record = self.record(stage, kind, id);
        record.expected.push(outcome);
        if matched {
            record.matched_in_truth = true;
            record.group = group;
        }
    }

    fn placed(&mut self, stage: &str, kind: &str, id: &str, outcome: &str) {
        let outcome = self.intern(outcome);
        self.record(stage, kind, id).placed.push(outcome);
    }

    /// A match of the run, given after every truth row: correct when its records are truth's pair.
    fn run_match(&mut self, stage: &str, records: &[(&str, &str)]) {
        let found: Vec<Option<(bool, u32)>> = records
            .iter()
            .map(|(kind, id)| {
                self.records.get(record_key(stage, kind, id).as_str()).map(|r| (r.matched_in_truth, r.group))
            })
            .collect();
        let correct = match found.as_slice() {
            [Some((true, a)), Some((true, b))] if self.pairs_checked => {
                *a != NO_GROUP && a == b && self.group_size[*a as usize] == 2
            }
            [Some((true, _)), Some((true, _))] => true,
            _ => false,
        };
        let score = self.stage(stage);
        score.matches_run += 1;
        score.matches_correct += u64::from(correct);
    }

    fn finish(mut self) -> Score {
        if self.pairs_checked {
            // Every group has at least the truth row that made it.
            for stage_index in &self.group_stage {
                let stage = &self.names[*stage_index as usize];
                self.stages.get_mut(stage.as_str()).expect("stage of a truth row").matches_truth += 1;
            }
        } else {
            // Records only: as many expected matches as a stage's matched records make pairs.
            let mut matched_records: BTreeMap<&str, u64> = BTreeMap::new();
            for (key, record) in &self.records {
                if record.matched_in_truth {
                    let matched = self.name_index["matched"];
                    let n = record.expected.as_slice().iter().filter(|o| **o == matched).count() as u64;
                    *matched_records.entry(key.split('\x1f').next().unwrap_or("")).or_default() += n;
                }
            }
            for (stage, records) in matched_records {
                self.stages.get_mut(stage).expect("stage of a truth row").matches_truth = records / 2;
            }
        }

        // Outcomes record by record, equal ones paired first, the rest in file order.
        let none = u16::MAX;
        let mut confusion: BTreeMap<(String, u16, u16), u64> = BTreeMap::new();
        let (mut records_truth, mut records_agreeing) = (0u64, 0u64);
        for (key, record) in &self.records {
            let stage = key.split('\x1f').next().unwrap_or("");
            let want = record.expected.as_slice();
            let mut got = record.placed.as_slice().to_vec();
            records_truth += want.len() as u64;
            let mut unmatched_want = Vec::new();
            for &outcome in want {
                if let Some(at) = got.iter().position(|g| *g == outcome) {
                    got.remove(at);
                    records_agreeing += 1;
                    *confusion.entry((stage.to_string(), outcome, outcome)).or_default() += 1;
                } else {
                    unmatched_want.push(outcome);
                }
            }
            for i in 0..unmatched_want.len().max(got.len()) {
                let w = unmatched_want.get(i).copied().unwrap_or(none);
                let g = got.get(i).copied().unwrap_or(none);
                *confusion.entry((stage.to_string(), w, g)).or_default() += 1;
            }
        }
        let name = |i: u16| if i == none { "-".to_string() } else { self.names[i as usize].clone() };
        let mut cells: Vec<Confusion> = confusion
            .into_iter()
            .map(|((stage, expected, placed), records)| Confusion {
                stage,
                expected: name(expected),
                placed: name(placed),
                records,
            })
            .collect();
        cells.sort_by(|a, b| (&a.stage, &a.expected, &a.placed).cmp(&(&b.stage, &b.expected, &b.placed)));
        Score {
            stages: self.stages.into_values().collect(),
            records_truth,
            records_agreeing,
            confusion: cells,
            pairs_checked: self.pairs_checked,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The outcome a record was given (or should have been): `matched` or a reason code.
    type Outcome = String;
    /// (stage, record kind, record id).
    type RecordKey = (String, String, String);

    struct TruthRow {
        key: RecordKey,
        expected: Outcome,
        with: String,
    }

    /// The tally of rows already read (for the unit tests).
    fn tally(
        truth_rows: Vec<TruthRow>,
        placed: Vec<(RecordKey, Outcome)>,
        run_matches: Vec<(String, Vec<RecordKey>)>,
        pairs_checked: bool,
    ) -> Score {
        let mut tally = Tally::new(pairs_checked);
        for row in &truth_rows {
            tally.truth(&row.key.0, &row.key.1, &row.key.2, &row.expected, &row.with);
        }
        for (key, outcome) in &placed {
            tally.placed(&key.0, &key.1, &key.2, outcome);
        }
        for (stage, records) in &run_matches {
            let records: Vec<(&str, &str)> = records.iter().map(|k| (k.1.as_str(), k.2.as_str())).collect();
            tally.run_match(stage, &records);
        }
        tally.finish()
    }

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

    /// Every record of `day()` placed as truth expects.
    fn placed_as_truth() -> Vec<(RecordKey, Outcome)> {
        day().into_iter().map(|t| (t.key, t.expected)).collect()
    }

    fn placed(rows: &[(&str, &str, &str, &str)]) -> Vec<(RecordKey, Outcome)> {
        rows.iter().map(|(s, k, i, o)| (key(s, k, i), o.to_string())).collect()
    }

    #[test]
    fn a_run_as_truth_says_is_perfect() {
        let placed = placed_as_truth();
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
        let placed = placed_as_truth();
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
