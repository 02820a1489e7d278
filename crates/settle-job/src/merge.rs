//! Partitioned runs, the two steps: `write_partition` (the end of `settle run --partition I/N`) writes
//! one shard's part of each output into its partition directory, and `merge_job` (`settle merge`) makes
//! the run directory from the N partition directories: the same bytes as one `settle run` of the night.
//!
//! A partition writes the rows of the record tables it owns (partition 0 also the rows every partition
//! decides alike: stage B and C, bank entries, awaited payouts of earlier nights) in the run's order,
//! and `partial.json` last: what adds up (tallies, channel progress and fees, FX costs, open-item
//! counts), the inputs it read, and its notes. The merge takes the tables' rows in the order one run
//! writes them — by the engine's sort keys (matches: stage, left id, right id; exceptions: stage, reason,
//! left, right), by beneficiary (payouts, balances), or by each record's place in the night's input
//! lists (`*.pos` files: open orders and channel rows) — numbers the matches and exceptions, adds the
//! partials up, builds what is global (summary, reporting-currency totals, the treasury report, the
//! payout files per debtor account and the payout register, the Parquet copies) and commits as a run
//! does: register first, manifest last.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use settle_core::{ChannelTransaction, Currency, Date, Decimal, Money, Order};
use settle_fx::cost::FxCost;
use settle_recon::{Inputs, ReasonCode, ReconResult, RecordKind, Stage, Tallies};
use settle_report::render_json;

use crate::carry;
use crate::partition::{self, Partition};
use crate::pipeline::{
    JobError, Report, RunOutcome, matches_parquet, payout_notes, put, put_matches_parquet, put_report, put_table,
    sha256_hex,
};
use crate::spec::{InputRole, JobSpec};

/// A partition's night, as `run_job` has it when the payouts are made.
pub(crate) struct PartitionNight<'a> {
    pub part: Partition,
    /// The partition's part of the night's settlement-ledger key file (`crate::ledger::write`).
    pub ledger: &'a [u8],
    pub ledger_window: &'a Value,
    pub spec: &'a JobSpec,
    pub spec_bytes: &'a [u8],
    pub business_date: Date,
    pub run_dir: &'a Path,
    pub started: std::time::Instant,
    pub input_rows: &'a BTreeMap<&'static str, u64>,
    pub manifest_inputs: &'a [Value],
    pub previous_run: Option<Date>,
    pub archived_bytes: &'a [(String, Vec<u8>)],
    /// (notes every partition has alike: the input files' checks and the returns; its own: FX cost gaps)
    pub notes: (&'a [String], &'a [String]),
    pub orders: &'a [Order],
    pub channel: &'a [ChannelTransaction],
    /// Each owned record's index in the night's lists (the engine's file order breaks ties by it).
    pub order_pos: &'a [u32],
    pub channel_pos: &'a [u32],
    pub recon: &'a ReconResult,
    pub recon_inputs: Inputs<'a>,
    pub rates: &'a settle_fx::RateTable,
    pub conversion: settle_fx::ConversionPolicy,
    pub open: &'a carry::Open<'a>,
    pub payouts: &'a [settle_payout::Payout],
    pub reserves: &'a [settle_payout::CarriedBalance],
    /// The payouts' conversions (the summary's are the merge's).
    pub conversions: &'a [settle_fx::RecordedConversion],
    pub fx_costs: Vec<FxCost>,
    /// The payout register as the returns left it.
    pub register: &'a settle_payout::files::Register,
    /// SHA-256 of the register file as read (none when there was none).
    pub register_read_sha256: Option<String>,
    pub returns: &'a settle_payout::returns::Returns,
    pub fee_plans: &'a [settle_payout::FeePlan],
    pub release: settle_payout::Release,
    pub calendar: &'a settle_core::Calendar,
}

/// One tally of `partial.json`: (stage, record kind, currency) and per status (input, matched, open,
/// exception, rejected) its count and amount.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct TallyPart {
    stage: String,
    kind: String,
    currency: Currency,
    counts: [u64; 5],
    amounts: [String; 5],
}

/// `partial.json`: what a partition contributes besides its tables; written last (its completion mark).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Partial {
    format: String,
    version: u32,
    settle_version: String,
    partition: Partition,
    job: String,
    business_date: String,
    spec_sha256: String,
    input_rows: BTreeMap<String, u64>,
    manifest_inputs: Vec<Value>,
    /// The ledger window the partition checked against (the same in every partition).
    #[serde(default)]
    ledger_window: Value,
    previous_run: Option<String>,
    /// (path in the manifest, file in the partition directory): inputs the archive keeps from memory
    /// (open items of the previous night, the payout register as it was): partition 0's.
    archived_bytes: Vec<(String, String)>,
    register_read_sha256: Option<String>,
    register_changed: bool,
    shared_notes: Vec<String>,
    local_notes: Vec<String>,
    tallies: Vec<TallyPart>,
    /// (channel, rows, matched in A, matched in B)
    progress: Vec<(String, u64, u64, u64)>,
    /// (channel, settlement currency, rows, fees)
    fees: Vec<(String, Currency, u64, String)>,
    fx_costs: Vec<FxCost>,
    /// Open orders and channel rows this partition left.
    open_orders: u64,
    open_channel_transactions: u64,
    /// The fee components and metadata columns of its open_channel_transactions.csv (each sorted): that
    /// table's columns after the fixed ones.
    open_channel_columns: (Vec<String>, Vec<String>),
    /// The statements of account it wrote: (beneficiary id, file), one per payout, in payout order.
    statements: Vec<(String, String)>,
    /// Its payable payouts, as the payout files need them (payouts.csv masks and escapes).
    payable: Vec<PayableRef>,
}

/// A payable payout of a partition: what its payout file's transfer is made from.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct PayableRef {
    payout_id: String,
    end_to_end_id: String,
    beneficiary_id: String,
    business_date: String,
    execution_date: String,
    amount: String,
    currency: Currency,
}

const REGISTER_COPY: &str = "payout_register.csv";

/// A partition's file that cannot be read.
fn read_error(path: &Path) -> impl FnOnce(std::io::Error) -> JobError + use<> {
    let path = path.display().to_string();
    move |source| JobError::Partition {
        message: format!("cannot read {path}: {source}"),
        hint: Some("run that partition again, then merge".into()),
    }
}

fn write_error(path: &Path) -> impl FnOnce(std::io::Error) -> JobError + use<> {
    let path = path.display().to_string();
    move |source| JobError::Write { path, source }
}

fn csv_error(table: &'static str) -> impl FnOnce(csv::Error) -> JobError {
    move |source| JobError::Report(settle_report::ReportError::Csv { table, source })
}

fn positions(rows: impl Iterator<Item = u32>) -> Vec<u8> {
    let mut out = Vec::new();
    for p in rows {
        out.extend_from_slice(p.to_string().as_bytes());
        out.push(b'\n');
    }
    out
}

/// Writes a partition's part of the night (`settle run --partition I/N`).
/// A partition's part of the settlement ledger's key file: the merge joins the parts into one.
const LEDGER_PART: &str = "ledger.part";

pub(crate) fn write_partition(n: &PartitionNight<'_>) -> Result<RunOutcome, JobError> {
    let part = n.part;
    let shared = part.writes_shared();
    let run_dir = n.run_dir;
    tracing::debug!(
        phase = "render",
        partition = part.dir_name(),
        elapsed_ms = n.started.elapsed().as_millis() as u64,
        "writing the partition"
    );
    let mut staging = crate::write::Staging::begin(run_dir).map_err(write_error(run_dir))?;
    let staged = |name: &str| write_error(&run_dir.join(name));
    let mut writer = staging.writer("matches.csv").map_err(staged("matches.csv"))?;
    settle_report::matches_csv_to(n.recon, &n.recon_inputs, n.rates, n.conversion, !shared, &mut writer)?;
    staging.finish(writer).map_err(staged("matches.csv"))?;
    let exceptions: Vec<settle_recon::Exception> =
        n.recon.exceptions.iter().filter(|e| shared || e.is_shard_local()).cloned().collect();
    put(&mut staging, "exceptions.csv", &settle_report::exceptions_csv(&exceptions, n.business_date, n.calendar)?)?;
    drop(exceptions);
    put(&mut staging, "payouts.csv", &settle_report::payouts_csv(n.payouts)?)?;
    put(&mut staging, "conversions.csv", &settle_report::conversions_csv(n.conversions)?)?;
    put(&mut staging, LEDGER_PART, n.ledger)?;
    let open = n.open;
    put(
        &mut staging,
        "open_orders.csv",
        &settle_tabular::write_orders(open.orders.iter().copied()).map_err(csv_error("open_orders.csv"))?,
    )?;
    put(&mut staging, "open_orders.csv.pos", &positions(open.order_index.iter().map(|&i| n.order_pos[i as usize])))?;
    put(
        &mut staging,
        "open_channel_transactions.csv",
        &settle_tabular::write_channel_transactions(open.channel.iter().copied())
            .map_err(csv_error("open_channel_transactions.csv"))?,
    )?;
    let channel_pos = |i: &u32| n.channel_pos[*i as usize];
    put(&mut staging, "open_channel_transactions.csv.pos", &positions(open.channel_index.iter().map(channel_pos)))?;
    put(&mut staging, "open_earlier.csv", &carry::earlier_csv(open).map_err(csv_error("open_earlier.csv"))?)?;
    let earlier_rows = open.channel_index.iter().zip(&open.earlier).filter(|(_, e)| carry::earlier_written(e));
    put(&mut staging, "open_earlier.csv.pos", &positions(earlier_rows.map(|(i, _)| channel_pos(i))))?;
    put(
        &mut staging,
        "open_bank_entries.csv",
        &settle_tabular::write_bank_entries(open.bank.iter().copied()).map_err(csv_error("open_bank_entries.csv"))?,
    )?;
    put(&mut staging, "open_payouts.csv", &carry::payouts_csv(&open.payouts).map_err(csv_error("open_payouts.csv"))?)?;
    put(&mut staging, "written_off.csv", &carry::written_off_csv(open).map_err(csv_error("written_off.csv"))?)?;
    put(
        &mut staging,
        carry::BALANCES,
        &carry::balances_csv(n.payouts, n.reserves).map_err(csv_error(carry::BALANCES))?,
    )?;
    let mut archived_bytes = Vec::new();
    if shared {
        put(
            &mut staging,
            "returned_payouts.csv",
            &crate::register::returned_csv(n.register, &n.returns.rejections)
                .map_err(csv_error("returned_payouts.csv"))?,
        )?;
        let register = crate::register::write(n.register).map_err(csv_error(crate::register::FILE))?;
        put(&mut staging, REGISTER_COPY, &register)?;
        for (k, (path, bytes)) in n.archived_bytes.iter().enumerate() {
            let name = format!("archived/{k}");
            put(&mut staging, &name, bytes)?;
            archived_bytes.push((path.clone(), name));
        }
    }
    crate::pipeline::stage_statements(
        &mut staging,
        &crate::pipeline::Statements {
            orders: n.orders,
            channel: n.channel,
            recon: n.recon,
            release: n.release,
            fee_plans: n.fee_plans,
            payouts: n.payouts,
        },
        n.spec.job.rounding,
        run_dir,
    )?;
    let (progress, fees) = crate::pipeline::channel_progress(n.channel, n.recon);
    let tallies = n
        .recon
        .tallies
        .iter()
        .filter(|((_, kind, _), _)| shared || matches!(kind, RecordKind::Order | RecordKind::ChannelTransaction))
        .map(|((stage, kind, currency), t)| {
            let parts = [t.input, t.matched, t.open, t.exception, t.rejected];
            TallyPart {
                stage: stage.as_str().into(),
                kind: kind.as_str().into(),
                currency: *currency,
                counts: parts.map(|p| p.count),
                amounts: parts.map(|p| p.amount.to_string()),
            }
        })
        .collect();
    let partial = Partial {
        format: partition::FORMAT.into(),
        version: partition::VERSION,
        settle_version: env!("CARGO_PKG_VERSION").into(),
        partition: part,
        job: n.spec.job.name.clone(),
        business_date: n.business_date.to_string(),
        spec_sha256: sha256_hex(n.spec_bytes),
        input_rows: n.input_rows.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
        manifest_inputs: n.manifest_inputs.to_vec(),
        ledger_window: n.ledger_window.clone(),
        previous_run: n.previous_run.map(|d| d.to_string()),
        archived_bytes,
        register_read_sha256: n.register_read_sha256.clone(),
        register_changed: n.returns.changed,
        shared_notes: n.notes.0.to_vec(),
        local_notes: n.notes.1.to_vec(),
        tallies,
        progress: progress.iter().map(|p| (p.channel.clone(), p.rows, p.matched_a, p.matched_b)).collect(),
        fees: fees.iter().map(|f| (f.channel.clone(), f.currency, f.rows, f.fees.to_string())).collect(),
        fx_costs: n.fx_costs.clone(),
        open_orders: open.orders.len() as u64,
        open_channel_transactions: open.channel.len() as u64,
        open_channel_columns: {
            let (fees, meta) = settle_tabular::channel_columns(open.channel.iter().copied());
            let owned = |names: Vec<&str>| names.into_iter().map(String::from).collect();
            (owned(fees), owned(meta))
        },
        statements: n
            .payouts
            .iter()
            .map(|p| (p.beneficiary_id.clone(), crate::pipeline::statement_name(&p.beneficiary_id)))
            .collect(),
        payable: n
            .payouts
            .iter()
            .filter(|p| p.status == settle_payout::PayoutStatus::Payable)
            .map(|p| PayableRef {
                payout_id: p.payout_id.clone(),
                end_to_end_id: p.end_to_end_id.clone(),
                beneficiary_id: p.beneficiary_id.clone(),
                business_date: p.business_date.to_string(),
                execution_date: p.execution_date.to_string(),
                amount: p.amount.amount().to_string(),
                currency: p.amount.currency(),
            })
            .collect(),
    };
    let mut written = staging.commit().map_err(write_error(run_dir))?;
    // partial.json last: a partition without it is not complete, and the merge does not take it.
    let bytes = serde_json::to_vec_pretty(&partial)
        .map_err(|source| settle_report::ReportError::Json { table: partition::PARTIAL, source })?;
    crate::write::write_atomic(run_dir, partition::PARTIAL, &bytes).map_err(staged(partition::PARTIAL))?;
    written.push((partition::PARTIAL.to_string(), sha256_hex(&bytes)));
    let summary = json!({
        "partition": part.dir_name(),
        "orders": n.orders.len(),
        "channel_transactions": n.channel.len(),
        "payouts": n.payouts.len(),
    });
    Ok(RunOutcome {
        run_dir: run_dir.to_path_buf(),
        business_date: n.business_date,
        all_settled: true,
        replaced: false,
        completed_interrupted: false,
        outputs: written,
        summary,
        input_notes: Vec::new(),
        payout_notes: Vec::new(),
        payout_files: Vec::new(),
    })
}

/// What `settle merge` is given.
#[derive(Debug, Clone, Default)]
pub struct MergeOptions {
    pub date: Option<Date>,
    pub out: Option<PathBuf>,
    pub force: bool,
    /// How many partitions the night was run in (else the one count the partition directories show).
    pub partitions: Option<u32>,
    pub sign_key: Option<PathBuf>,
    /// Merge this night although the job has later nights (`settle run --and-later` recomputes them).
    pub and_later: bool,
}

fn merge_error(message: String, hint: Option<&str>) -> JobError {
    JobError::Partition { message, hint: hint.map(str::to_string) }
}

/// The complete partitions of `date_dir` (those with a `partial.json`), checked to be all of one count.
fn find_partitions(date_dir: &Path, count: Option<u32>) -> Result<Vec<(PathBuf, Partial)>, JobError> {
    let rerun = "run every partition (settle run JOB --partition I/N for I in 0..N), then merge";
    let entries = fs::read_dir(date_dir)
        .map_err(|e| merge_error(format!("no partitions in {}: {e}", date_dir.display()), Some(rerun)))?;
    let mut found: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        let Some((index, of)) = name.split_once("-of-") else { continue };
        let (Ok(index), Ok(of)) = (index.parse::<u32>(), of.parse::<u32>()) else { continue };
        if entry.path().join(partition::PARTIAL).is_file() {
            found.entry(of).or_default().push(index);
        }
    }
    let count = match count {
        Some(count) => count,
        None if found.len() == 1 => *found.keys().next().expect("one"),
        None if found.is_empty() => {
            return Err(merge_error(format!("no complete partition in {}", date_dir.display()), Some(rerun)));
        }
        None => {
            let counts: Vec<String> = found.keys().map(u32::to_string).collect();
            return Err(merge_error(
                format!("{} holds partitions of several counts ({})", date_dir.display(), counts.join(", ")),
                Some("pass --partitions N"),
            ));
        }
    };
    let mut parts = Vec::new();
    for index in 0..count {
        let part = Partition { index, count };
        let dir = date_dir.join(part.dir_name());
        let path = dir.join(partition::PARTIAL);
        let bytes = crate::fault::read(&path).map_err(|e| {
            merge_error(format!("partition {} is not complete ({}: {e})", part.dir_name(), path.display()), Some(rerun))
        })?;
        let partial: Partial =
            serde_json::from_slice(&bytes).map_err(|e| merge_error(format!("{}: {e}", path.display()), Some(rerun)))?;
        if partial.format != partition::FORMAT || partial.version != partition::VERSION || partial.partition != part {
            return Err(merge_error(
                format!("{}: not partition {} of this version's format", path.display(), part.dir_name()),
                Some(rerun),
            ));
        }
        parts.push((dir, partial));
    }
    Ok(parts)
}

/// What writes a merged row.
type Emit<'e> = dyn FnMut(&csv::ByteRecord, &mut csv::Writer<&mut dyn Write>) -> Result<(), JobError> + 'e;

/// Where each row of a table stands in the order one run writes it, when its cells do not say.
#[derive(Clone, Copy)]
enum Places<'p> {
    /// The order is in the cells.
    Cells,
    /// `<table>.pos` beside each part: a row's place in the night's input lists.
    Files,
    /// Given per part, a place per row.
    Given(&'p [Vec<u64>]),
}

/// One partition's table being merged: its reader, its rows' places (when the table has them), and
/// the row it is at.
struct Source<'p> {
    reader: csv::Reader<std::io::BufReader<fs::File>>,
    positions: Option<std::io::Lines<std::io::BufReader<fs::File>>>,
    given: Option<std::slice::Iter<'p, u64>>,
    record: csv::ByteRecord,
    position: u64,
}

impl<'p> Source<'p> {
    fn open(path: &Path, places: Places<'p>, part: usize) -> Result<(Source<'p>, csv::ByteRecord), JobError> {
        let file = crate::fault::open(path).map_err(read_error(path))?;
        let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(std::io::BufReader::new(file));
        let header = reader.byte_headers().map_err(|e| read_failed(path, e))?.clone();
        let positions = if let Places::Files = places {
            let pos_path = PathBuf::from(format!("{}.pos", path.display()));
            let file = crate::fault::open(&pos_path).map_err(read_error(&pos_path))?;
            Some(std::io::BufReader::new(file).lines())
        } else {
            None
        };
        let given = match places {
            Places::Given(all) => Some(all.get(part).map_or([].iter(), |p| p.iter())),
            _ => None,
        };
        Ok((Source { reader, positions, given, record: csv::ByteRecord::new(), position: 0 }, header))
    }

    /// Moves to the next row; false at the end.
    fn advance(&mut self, path: &Path) -> Result<bool, JobError> {
        if !self.reader.read_byte_record(&mut self.record).map_err(|e| read_failed(path, e))? {
            return Ok(false);
        }
        let fewer = || merge_error(format!("{}: fewer places than rows", path.display()), None);
        if let Some(lines) = &mut self.positions {
            let line = lines.next().transpose().map_err(read_error(path))?;
            self.position = line.and_then(|l| l.parse().ok()).ok_or_else(fewer)?;
        }
        if let Some(given) = &mut self.given {
            self.position = *given.next().ok_or_else(fewer)?;
        }
        Ok(true)
    }
}

fn read_failed(path: &Path, e: csv::Error) -> JobError {
    merge_error(format!("{}: {e}", path.display()), Some("run that partition again"))
}

/// A table's row as the merge compares it: the record and its place in the night's input lists (0 for
/// tables without `.pos` files).
type Row<'r> = (&'r csv::ByteRecord, u64);
/// How two rows compare in the order one run writes the table.
type RowOrder<'o> = dyn Fn(Row<'_>, Row<'_>) -> std::cmp::Ordering + 'o;

/// The order of a key made from each row (small tables: it allocates the key at each comparison).
fn by_key<K: Ord>(key: impl Fn(&csv::ByteRecord, u64) -> K) -> impl Fn(Row<'_>, Row<'_>) -> std::cmp::Ordering {
    move |a, b| key(a.0, a.1).cmp(&key(b.0, b.1))
}

/// A cell of a table people open as it was before `settle_report::safe_cell` escaped it (`'-x` → `-x`):
/// the engine sorted the ids themselves.
fn unescaped(cell: Option<&[u8]>) -> Option<&[u8]> {
    match cell {
        Some([b'\'', rest @ ..]) if matches!(rest.first(), Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r')) => {
            Some(rest)
        }
        other => other,
    }
}

/// Rows of a table people open compared cell by cell on `columns`, as the ids were before escaping.
fn by_table_cells(columns: Vec<usize>) -> impl Fn(Row<'_>, Row<'_>) -> std::cmp::Ordering {
    move |a, b| {
        columns
            .iter()
            .map(|&c| unescaped(a.0.get(c)).cmp(&unescaped(b.0.get(c))))
            .find(|o| o.is_ne())
            .unwrap_or(std::cmp::Ordering::Equal)
    }
}

/// Rows compared cell by cell on `columns` (bytes), without copying them.
fn by_cells(columns: Vec<usize>) -> impl Fn(Row<'_>, Row<'_>) -> std::cmp::Ordering {
    move |a, b| {
        columns.iter().map(|&c| a.0.get(c).cmp(&b.0.get(c))).find(|o| o.is_ne()).unwrap_or(std::cmp::Ordering::Equal)
    }
}

/// Merges one table's parts in `order` (ties: partition order), rewriting each row with `emit` (which
/// may change a cell, e.g. number an id). Returns the header.
fn merge_table(
    paths: &[PathBuf],
    places: Places<'_>,
    order: &RowOrder<'_>,
    mut emit: impl FnMut(&csv::ByteRecord, &mut csv::Writer<&mut dyn Write>) -> Result<(), JobError>,
    out: &mut dyn Write,
) -> Result<csv::ByteRecord, JobError> {
    merge_laid_out(paths, places, order, &mut emit, out, None)
}

/// `merge_table` of parts whose columns differ (`layout`: the merged header, and per part the merged
/// column of each of its columns); cells a part does not have are empty.
fn merge_laid_out(
    paths: &[PathBuf],
    places: Places<'_>,
    order: &RowOrder<'_>,
    emit: &mut Emit<'_>,
    out: &mut dyn Write,
    layout: Option<(&csv::ByteRecord, &[Vec<usize>])>,
) -> Result<csv::ByteRecord, JobError> {
    let mut sources = Vec::with_capacity(paths.len());
    let mut header: Option<csv::ByteRecord> = None;
    for (part, path) in paths.iter().enumerate() {
        let (source, h) = Source::open(path, places, part)?;
        match &header {
            Some(first) if *first != h && layout.is_none() => {
                return Err(merge_error(format!("{}: its header differs from partition 0's", path.display()), None));
            }
            _ => header = Some(h),
        }
        sources.push(source);
    }
    let header = match layout {
        Some((merged, _)) => merged.clone(),
        None => header.unwrap_or_default(),
    };
    let mut laid = csv::ByteRecord::new();
    let mut at: Vec<Option<usize>> = Vec::with_capacity(header.len());
    let mut w = csv::WriterBuilder::new().terminator(csv::Terminator::Any(b'\n')).from_writer(out);
    w.write_byte_record(&header).map_err(csv_error("merged table"))?;
    // The parts with a row left; the next row is the least of their rows (a scan: partitions are few).
    let mut live: Vec<usize> = Vec::with_capacity(sources.len());
    for (i, source) in sources.iter_mut().enumerate() {
        if source.advance(&paths[i])? {
            live.push(i);
        }
    }
    fn row<'s>(s: &'s Source<'_>) -> Row<'s> {
        (&s.record, s.position)
    }
    // Bounded by the rows of the parts: each pass writes one.
    while let Some(&first) = live.first() {
        let mut i = first;
        for &j in &live[1..] {
            if order(row(&sources[j]), row(&sources[i])).is_lt() {
                i = j;
            }
        }
        match layout {
            None => emit(&sources[i].record, &mut w)?,
            Some((_, columns)) => {
                // Which of the part's cells goes in each merged column.
                at.clear();
                at.resize(header.len(), None);
                for (j, &c) in columns[i].iter().enumerate() {
                    at[c] = Some(j);
                }
                let record = &sources[i].record;
                laid.clear();
                for cell in &at {
                    laid.push_field(cell.and_then(|j| record.get(j)).unwrap_or_default());
                }
                emit(&laid, &mut w)?;
            }
        }
        if !sources[i].advance(&paths[i])? {
            live.retain(|&j| j != i);
        }
    }
    w.flush().map_err(write_error(Path::new("merged table")))?;
    Ok(header)
}

/// The index of column `name` in `header`.
fn column(header_of: &Path, name: &str) -> Result<usize, JobError> {
    let file = crate::fault::open(header_of).map_err(read_error(header_of))?;
    let mut reader = csv::Reader::from_reader(std::io::BufReader::new(file));
    let header = reader.byte_headers().map_err(|e| read_failed(header_of, e))?;
    header
        .iter()
        .position(|h| h == name.as_bytes())
        .ok_or_else(|| merge_error(format!("{}: no column {name}", header_of.display()), None))
}

fn text(record: &csv::ByteRecord, i: usize) -> &str {
    std::str::from_utf8(record.get(i).unwrap_or_default()).unwrap_or("")
}

/// Writes `record` with its first cell (its id, local to its partition) replaced by `id`, through `row`
/// (a buffer kept from row to row).
fn write_numbered(
    w: &mut csv::Writer<&mut dyn Write>,
    row: &mut csv::ByteRecord,
    id: &str,
    record: &csv::ByteRecord,
    table: &'static str,
) -> Result<(), JobError> {
    row.clear();
    row.push_field(id.as_bytes());
    for cell in record.iter().skip(1) {
        row.push_field(cell);
    }
    w.write_byte_record(row).map_err(csv_error(table))
}

/// Merges a table whose rows need no change.
fn merge_plain(paths: &[PathBuf], places: Places<'_>, order: &RowOrder<'_>) -> Result<(Vec<u8>, u64), JobError> {
    let mut out = Vec::new();
    let mut rows = 0u64;
    merge_table(
        paths,
        places,
        order,
        |record, w| {
            rows += 1;
            w.write_byte_record(record).map_err(csv_error("merged table"))
        },
        &mut out,
    )?;
    Ok((out, rows))
}

fn decimal(text: &str, what: &str) -> Result<Decimal, JobError> {
    text.parse().map_err(|_| merge_error(format!("{what}: {text:?} is not a decimal"), None))
}

/// `settle merge`: the run directory of a night run in N partitions, the same bytes as one run.
pub fn merge_job(job_path: &Path, options: &MergeOptions) -> Result<RunOutcome, JobError> {
    use crate::pipeline::normalize;
    let job_display = job_path.display().to_string();
    let spec_bytes =
        crate::fault::read(job_path).map_err(|source| JobError::SpecIo { path: job_display.clone(), source })?;
    let spec = JobSpec::parse(&job_display, &String::from_utf8_lossy(&spec_bytes))?;
    let business_date =
        options.date.or(spec.job.business_date).ok_or(JobError::NoDate { path: job_display.clone() })?;
    let base = job_path.parent().map(Path::to_path_buf).unwrap_or_default();
    let out_root = options.out.clone().unwrap_or_else(|| base.join(&spec.output.dir));
    let sign_key = options.sign_key.as_deref().map(crate::seal::SigningKey::read).transpose()?;
    let job_dir = normalize(&out_root.join(&spec.job.name));
    let run_dir = job_dir.join(business_date.to_string());
    let _lock = crate::lock::RunLock::acquire(&job_dir, business_date)?;
    crate::nights::check_order(&job_dir, business_date, options.and_later)?;
    let _ledger_lock = crate::lock::LedgerLock::acquire(&out_root)?;
    let state = crate::nights::begin(&run_dir, business_date, options.force, &spec, &spec_bytes, &base)?;
    let started = std::time::Instant::now();
    let parts = find_partitions(&partition::date_dir(&job_dir, business_date), options.partitions)?;
    let (dir0, p0) = &parts[0];
    let spec_sha256 = sha256_hex(&spec_bytes);
    for (dir, p) in &parts {
        let differs = |what: &str| {
            merge_error(
                format!("partition {} was run with {what} other than {}", dir.display(), job_display),
                Some("run every partition again with this job spec and this settle, then merge"),
            )
        };
        if p.spec_sha256 != spec_sha256 {
            return Err(differs("a job spec"));
        }
        if p.settle_version != env!("CARGO_PKG_VERSION") || p.business_date != business_date.to_string() {
            return Err(differs("a settle version or business date"));
        }
        if p.manifest_inputs != p0.manifest_inputs
            || p.register_read_sha256 != p0.register_read_sha256
            || p.ledger_window != p0.ledger_window
        {
            return Err(differs("inputs"));
        }
    }
    // The settlement ledger must be as the partitions read it (under the lock now): a night committed
    // into the output root since could have settled the same records.
    let window = crate::ledger::window(&out_root, &spec.job.name, business_date, spec.output.ledger_horizon_days)?;
    let read: Vec<&Value> = p0.manifest_inputs.iter().filter(|i| i["role"] == "ledger").collect();
    let now: Vec<Value> = window.files.iter().map(crate::ledger::input_json).collect();
    if read.len() != now.len() || read.iter().zip(&now).any(|(a, b)| **a != *b) || p0.ledger_window != window.json() {
        return Err(merge_error(
            "the settlement ledger changed since the partitions ran (a night was committed into the output root)"
                .into(),
            Some("run every partition again, then merge"),
        ));
    }
    // The register must be as the partitions read it: a payout emitted since would be emitted again.
    let register_path = job_dir.join(crate::register::FILE);
    let register_now = match crate::fault::read(&register_path) {
        Ok(bytes) => Some(sha256_hex(&bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(source) => {
            return Err(JobError::InputIo {
                path: register_path.display().to_string(),
                role: "payout register",
                source,
            });
        }
    };
    if register_now != p0.register_read_sha256 {
        return Err(merge_error(
            format!("the payout register {} changed since the partitions ran", register_path.display()),
            Some("run every partition again, then merge"),
        ));
    }
    let register_bytes = crate::fault::read(dir0.join(REGISTER_COPY)).map_err(read_error(&dir0.join(REGISTER_COPY)))?;
    let mut register = crate::register::read(&register_bytes)
        .map_err(|message| JobError::Register { path: dir0.join(REGISTER_COPY).display().to_string(), message })?;

    // The small inputs the global outputs need, read again (and checked to be the ones the partitions read).
    let mut rates = Vec::new();
    let mut beneficiaries: BTreeMap<String, settle_core::Beneficiary> = BTreeMap::new();
    let mut paid_accounts = Vec::new();
    let mut statements = Vec::new();
    for entry in &p0.manifest_inputs {
        let role = match entry["role"].as_str() {
            Some("bank_entries") => InputRole::BankEntries,
            Some("rates") => InputRole::Rates,
            Some("beneficiaries") => InputRole::Beneficiaries,
            Some("paid_accounts") => InputRole::PaidAccounts,
            _ => continue,
        };
        let path = entry["path"].as_str().unwrap_or_default();
        let file = crate::pipeline::read_input(
            &base,
            role,
            Path::new(path),
            path.to_string(),
            entry["profile"].as_str(),
            spec.mt940_encoding(),
            None,
            None,
            spec.inputs.max_file_bytes(),
        )?;
        if Some(file.sha256.as_str()) != entry["sha256"].as_str() {
            return Err(merge_error(
                format!("{path} changed since the partitions read it"),
                Some("run every partition again, then merge"),
            ));
        }
        match file.parsed {
            crate::pipeline::Parsed::Rates(v) => rates.extend(v),
            crate::pipeline::Parsed::Beneficiaries(v) => {
                // One row per id: the partitions refused a beneficiary defined twice (check_beneficiaries).
                for b in v {
                    beneficiaries.insert(b.beneficiary_id.to_string(), b);
                }
            }
            crate::pipeline::Parsed::PaidAccounts(v) => paid_accounts.extend(v),
            crate::pipeline::Parsed::Bank(_, s) => statements.extend(s),
            _ => {}
        }
    }
    let rate_table = settle_fx::RateTable::new(rates)?;
    rate_table.check_plausible(spec.fx.max_rate_change().expect("validated by JobSpec::parse"))?;

    let mut staging = crate::write::Staging::begin(&run_dir).map_err(write_error(&run_dir))?;
    let staged = |name: &str| write_error(&run_dir.join(name));
    let paths = |name: &str| -> Vec<PathBuf> { parts.iter().map(|(dir, _)| dir.join(name)).collect() };
    let shared_only = |name: &str| -> Result<Vec<u8>, JobError> {
        crate::fault::read(dir0.join(name)).map_err(read_error(&dir0.join(name)))
    };
    let mut counts = settle_report::Counts::default();

    // payouts.csv, by beneficiary (each is in one partition).
    let payouts_paths = paths("payouts.csv");
    // Each payout's place: its beneficiary id as computed (payouts.csv escapes cells a spreadsheet would
    // run) among every partition's, one payout a beneficiary.
    let mut by_beneficiary: Vec<(&str, usize, usize)> = parts
        .iter()
        .enumerate()
        .flat_map(|(p, (_, partial))| partial.statements.iter().enumerate().map(move |(k, (b, _))| (b.as_str(), p, k)))
        .collect();
    by_beneficiary.sort_unstable();
    let mut payout_places: Vec<Vec<u64>> = parts.iter().map(|(_, p)| vec![0; p.statements.len()]).collect();
    for (place, &(_, p, k)) in by_beneficiary.iter().enumerate() {
        payout_places[p][k] = place as u64;
    }
    let (payouts_csv, _) =
        merge_plain(&payouts_paths, Places::Given(&payout_places), &|a: Row<'_>, b: Row<'_>| a.1.cmp(&b.1))?;
    let mut payout_rank: HashMap<String, usize> = HashMap::new();
    {
        let mut reader = csv::Reader::from_reader(payouts_csv.as_slice());
        let header = reader.headers().map_err(csv_error("payouts.csv"))?.clone();
        let col = |name: &str| {
            header
                .iter()
                .position(|h| h == name)
                .ok_or_else(|| merge_error(format!("payouts.csv: no column {name}"), None))
        };
        let (id, amount, currency, status) = (col("payout_id")?, col("amount")?, col("currency")?, col("status")?);
        for (rank, row) in reader.records().enumerate() {
            let row = row.map_err(csv_error("payouts.csv"))?;
            let currency = Currency::from_code(&row[currency])
                .map_err(|_| merge_error(format!("payouts.csv: currency {:?}", &row[currency]), None))?;
            counts.add_payout(&row[status], Money::new(decimal(&row[amount], "payouts.csv amount")?, currency));
            payout_rank.insert(row[id].to_string(), rank);
        }
    }
    // The payable payouts for the payout files, in beneficiary order.
    let mut payable_refs: Vec<&PayableRef> = parts.iter().flat_map(|(_, p)| p.payable.iter()).collect();
    payable_refs.sort_by(|a, b| a.beneficiary_id.cmp(&b.beneficiary_id));
    let mut payable: Vec<settle_payout::Payout> = Vec::with_capacity(payable_refs.len());
    for r in payable_refs {
        let bad = |what: &str| merge_error(format!("partial.json: payout {}: {what}", r.payout_id), None);
        let date = |text: &str| settle_core::parse_date(text).map_err(|_| bad("a date"));
        let beneficiary = beneficiaries.get(&r.beneficiary_id).cloned();
        if beneficiary.is_none() {
            return Err(bad("its beneficiary is not in the beneficiaries files"));
        }
        payable.push(settle_payout::Payout {
            payout_id: r.payout_id.clone(),
            end_to_end_id: r.end_to_end_id.clone(),
            beneficiary_id: r.beneficiary_id.clone(),
            beneficiary,
            business_date: date(&r.business_date)?,
            execution_date: date(&r.execution_date)?,
            amount: Money::new(decimal(&r.amount, "partial.json payout amount")?, r.currency),
            status: settle_payout::PayoutStatus::Payable,
            components: Vec::new(),
        });
    }

    tracing::debug!(phase = "merge", elapsed_ms = started.elapsed().as_millis() as u64, "payouts merged");
    // matches.csv: stage, left id, right id; numbered again.
    let match_paths = paths("matches.csv");
    let (stage_col, left_col, right_col) =
        (column(&match_paths[0], "stage")?, column(&match_paths[0], "left_id")?, column(&match_paths[0], "right_id")?);
    let matches_parquet = {
        let mut writer = staging.writer("matches.csv").map_err(staged("matches.csv"))?;
        let (mut n, mut row) = (0usize, csv::ByteRecord::new());
        merge_table(
            &match_paths,
            Places::Cells,
            &by_table_cells(vec![stage_col, left_col, right_col]),
            |r, w| {
                n += 1;
                let stage = Stage::parse(text(r, stage_col))
                    .ok_or_else(|| merge_error(format!("matches.csv: stage {:?}", text(r, stage_col)), None))?;
                counts.add_match(stage);
                write_numbered(w, &mut row, &format!("M{}{:06}", stage.as_str(), n), r, "matches.csv")
            },
            &mut writer,
        )?;
        let temp = staging.finish(writer).map_err(staged("matches.csv"))?.temp_path().to_path_buf();
        matches_parquet(temp, started)
    };

    tracing::debug!(phase = "merge", elapsed_ms = started.elapsed().as_millis() as u64, "matches merged");
    // exceptions.csv: stage, reason, left (id, source), right (id, source); numbered again.
    let exception_paths = paths("exceptions.csv");
    let col = |name: &str| column(&exception_paths[0], name);
    let key_cols = [
        col("left_kind")?,
        col("left_id")?,
        col("left_source")?,
        col("right_kind")?,
        col("right_id")?,
        col("right_source")?,
    ];
    let (stage_col, reason_col) = (col("stage")?, col("reason_code")?);
    let mut exceptions_csv = Vec::new();
    {
        let (mut n, mut row) = (0usize, csv::ByteRecord::new());
        let mut bad: Option<JobError> = None;
        merge_table(
            &exception_paths,
            Places::Cells,
            &|a: Row<'_>, b: Row<'_>| {
                // Stage, reason (in the engine's order), then each side: absent first, id, source.
                let reason = |r: &csv::ByteRecord| ReasonCode::parse(text(r, reason_col));
                fn side(r: &csv::ByteRecord, cols: [usize; 3]) -> (bool, Option<&[u8]>, Option<&[u8]>) {
                    (
                        !r.get(cols[0]).unwrap_or_default().is_empty(),
                        unescaped(r.get(cols[1])),
                        unescaped(r.get(cols[2])),
                    )
                }
                let (left, right) = ([key_cols[0], key_cols[1], key_cols[2]], [key_cols[3], key_cols[4], key_cols[5]]);
                (a.0.get(stage_col).cmp(&b.0.get(stage_col)))
                    .then_with(|| reason(a.0).cmp(&reason(b.0)))
                    .then_with(|| side(a.0, left).cmp(&side(b.0, left)))
                    .then_with(|| side(a.0, right).cmp(&side(b.0, right)))
            },
            |r, w| {
                n += 1;
                let (Some(stage), Some(reason)) =
                    (Stage::parse(text(r, stage_col)), ReasonCode::parse(text(r, reason_col)))
                else {
                    bad = Some(merge_error(format!("exceptions.csv: stage or reason of row {n}"), None));
                    return Ok(());
                };
                counts.add_exception(reason, stage);
                write_numbered(w, &mut row, &format!("E{}{:06}", stage.as_str(), n), r, "exceptions.csv")
            },
            &mut exceptions_csv,
        )?;
        if let Some(e) = bad {
            return Err(e);
        }
    }

    tracing::debug!(phase = "merge", elapsed_ms = started.elapsed().as_millis() as u64, "exceptions merged");
    // Tallies, channel progress and fees, FX costs: the partitions' parts added up.
    let mut tallies: Tallies = BTreeMap::new();
    let mut progress: BTreeMap<String, settle_report::html::ChannelProgress> = BTreeMap::new();
    let mut fees: BTreeMap<(String, Currency), (u64, Decimal)> = BTreeMap::new();
    let mut fx_parts = Vec::new();
    let mut local_notes = Vec::new();
    let (mut open_orders, mut open_channel) = (0u64, 0u64);
    for (_, p) in &parts {
        for t in &p.tallies {
            let (Some(stage), Some(kind)) = (Stage::parse(&t.stage), RecordKind::parse(&t.kind)) else {
                return Err(merge_error(format!("partial.json: tally {} {}", t.stage, t.kind), None));
            };
            let sum = tallies.entry((stage, kind, t.currency)).or_default();
            for (k, part) in [&mut sum.input, &mut sum.matched, &mut sum.open, &mut sum.exception, &mut sum.rejected]
                .into_iter()
                .enumerate()
            {
                part.count += t.counts[k];
                part.amount += decimal(&t.amounts[k], "partial.json tally")?;
            }
        }
        for (channel, rows, matched_a, matched_b) in &p.progress {
            let e = progress.entry(channel.clone()).or_insert_with(|| settle_report::html::ChannelProgress {
                channel: channel.clone(),
                rows: 0,
                matched_a: 0,
                matched_b: 0,
            });
            e.rows += rows;
            e.matched_a += matched_a;
            e.matched_b += matched_b;
        }
        for (channel, currency, rows, amount) in &p.fees {
            let e = fees.entry((channel.clone(), *currency)).or_default();
            e.0 += rows;
            e.1 += decimal(amount, "partial.json fees")?;
        }
        fx_parts.extend(p.fx_costs.iter().cloned());
        local_notes.extend(p.local_notes.iter().cloned());
        open_orders += p.open_orders;
        open_channel += p.open_channel_transactions;
    }
    let progress: Vec<_> = progress.into_values().collect();
    let fees: Vec<_> = fees
        .into_iter()
        .map(|((channel, currency), (rows, fees))| settle_report::html::ChannelFees { channel, currency, rows, fees })
        .collect();
    let fx_costs = settle_fx::cost::combine(fx_parts);

    let input_rows: BTreeMap<&str, u64> = p0.input_rows.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    let mut summary = settle_report::build_summary(&settle_report::SummaryInput {
        job_name: &spec.job.name,
        business_date,
        reporting_currency: spec.job.reporting_currency,
        rounding: spec.job.rounding,
        max_rate_age_days: spec.fx.max_rate_age_days,
        input_rows: &input_rows,
        tallies: &tallies,
        counts: &counts,
        rates: &rate_table,
    })?;

    // conversions.csv: the payouts' (in payout order), then the summary's.
    let conversion_paths = paths("conversions.csv");
    let reference_col = column(&conversion_paths[0], "reference")?;
    let (mut conversions_csv, _) = merge_plain(
        &conversion_paths,
        Places::Cells,
        &by_key(|r, _| payout_rank.get(text(r, reference_col)).copied().unwrap_or(usize::MAX)),
    )?;
    let reporting_csv = settle_report::conversions_csv(&summary.conversions)?;
    let body = reporting_csv.iter().position(|&b| b == b'\n').map_or(reporting_csv.len(), |i| i + 1);
    conversions_csv.extend_from_slice(&reporting_csv[body..]);
    {
        let mut reader = csv::Reader::from_reader(conversions_csv.as_slice());
        let header = reader.headers().map_err(csv_error("conversions.csv"))?.clone();
        let col = |name: &str| header.iter().position(|h| h == name).unwrap_or(usize::MAX);
        let (purpose, to, residual) = (col("purpose"), col("to_currency"), col("residual"));
        let mut rows = Vec::new();
        for row in reader.records() {
            let row = row.map_err(csv_error("conversions.csv"))?;
            let get = |i: usize| row.get(i).unwrap_or_default().to_string();
            rows.push((get(purpose), get(to), decimal(&get(residual), "conversions.csv residual")?));
        }
        let residuals = crate::pipeline::residuals_json(rows.iter().map(|(p, c, r)| (p.as_str(), c.as_str(), *r)));
        if let Some(object) = summary.json.as_object_mut() {
            object.insert("conversion_residuals".into(), residuals);
        }
    }
    put(
        &mut staging,
        "summary.json",
        &render_json(&summary.json)
            .map_err(|source| settle_report::ReportError::Json { table: "summary.json", source })?,
    )?;
    let fx_cost_csv = settle_report::fx_cost_csv(&fx_costs)?;
    put_table(&mut staging, "exceptions.csv", &exceptions_csv)?;
    put_table(&mut staging, "payouts.csv", &payouts_csv)?;
    put_table(&mut staging, "conversions.csv", &conversions_csv)?;
    put_table(&mut staging, "fx_cost.csv", &fx_cost_csv)?;

    tracing::debug!(phase = "merge", elapsed_ms = started.elapsed().as_millis() as u64, "summary and the small tables");
    // The open items, in the order one run writes them.
    let (open_orders_csv, orders_rows) =
        merge_plain(&paths("open_orders.csv"), Places::Files, &|a: Row<'_>, b: Row<'_>| a.1.cmp(&b.1))?;
    let (open_channel_csv, channel_rows) = {
        // Columns: the fixed ones, then the fee components and the metadata columns of all parts.
        let (mut fee_names, mut meta_names): (Vec<&str>, Vec<&str>) = (Vec::new(), Vec::new());
        for (_, p) in &parts {
            fee_names.extend(p.open_channel_columns.0.iter().map(String::as_str));
            meta_names.extend(p.open_channel_columns.1.iter().map(String::as_str));
        }
        fee_names.sort_unstable();
        fee_names.dedup();
        meta_names.sort_unstable();
        meta_names.dedup();
        let fixed = settle_tabular::CHANNEL_OUTPUT_COLUMNS;
        let header = csv::ByteRecord::from(settle_tabular::channel_header(&fee_names, &meta_names));
        let columns: Vec<Vec<usize>> = parts
            .iter()
            .map(|(_, p)| {
                let fee = p
                    .open_channel_columns
                    .0
                    .iter()
                    .map(|n| fixed.len() + fee_names.binary_search(&n.as_str()).expect("in the union"));
                let meta = p.open_channel_columns.1.iter().map(|n| {
                    fixed.len() + fee_names.len() + meta_names.binary_search(&n.as_str()).expect("in the union")
                });
                (0..fixed.len()).chain(fee).chain(meta).collect()
            })
            .collect();
        let mut out = Vec::new();
        let mut rows = 0u64;
        merge_laid_out(
            &paths("open_channel_transactions.csv"),
            Places::Files,
            &|a: Row<'_>, b: Row<'_>| a.1.cmp(&b.1),
            &mut |record, w| {
                rows += 1;
                w.write_byte_record(record).map_err(csv_error("open_channel_transactions.csv"))
            },
            &mut out,
            Some((&header, &columns)),
        )?;
        (out, rows)
    };
    let (open_earlier_csv, _) =
        merge_plain(&paths("open_earlier.csv"), Places::Files, &|a: Row<'_>, b: Row<'_>| a.1.cmp(&b.1))?;
    if (orders_rows, channel_rows) != (open_orders, open_channel) {
        return Err(merge_error("the open items of the partitions do not add up to their partial.json".into(), None));
    }
    put(&mut staging, "open_orders.csv", &open_orders_csv)?;
    put(&mut staging, "open_channel_transactions.csv", &open_channel_csv)?;
    let open_bank = shared_only("open_bank_entries.csv")?;
    put(&mut staging, "open_bank_entries.csv", &open_bank)?;
    put(&mut staging, "open_earlier.csv", &open_earlier_csv)?;
    let (open_payouts_csv, open_payouts) =
        merge_plain(&paths("open_payouts.csv"), Places::Cells, &by_cells(vec![0, 1]))?;
    put(&mut staging, "open_payouts.csv", &open_payouts_csv)?;
    let written_off_paths = paths("written_off.csv");
    let (written_off_csv, written_off) = merge_plain(&written_off_paths, Places::Cells, &|a: Row<'_>, b: Row<'_>| {
        a.0.iter().map(|c| unescaped(Some(c))).cmp(b.0.iter().map(|c| unescaped(Some(c))))
    })?;
    put(&mut staging, "written_off.csv", &written_off_csv)?;
    let balances_paths = paths(carry::BALANCES);
    let status_col = column(&balances_paths[0], "status")?;
    let (balances_csv, _) = merge_plain(
        &balances_paths,
        Places::Cells,
        &by_key(|r, _| (r.get(status_col) == Some(b"reserve".as_slice()), r.get(0).unwrap_or_default().to_vec())),
    )?;
    put(&mut staging, carry::BALANCES, &balances_csv)?;
    put(&mut staging, "returned_payouts.csv", &shared_only("returned_payouts.csv")?)?;
    let open_bank_rows = csv::Reader::from_reader(open_bank.as_slice()).byte_records().count();
    put(
        &mut staging,
        carry::INDEX,
        &render_json(&carry::index_json(
            business_date,
            [open_orders as usize, open_channel as usize, open_bank_rows, open_payouts as usize, written_off as usize],
        ))
        .map_err(|source| settle_report::ReportError::Json { table: carry::INDEX, source })?,
    )?;

    tracing::debug!(phase = "merge", elapsed_ms = started.elapsed().as_millis() as u64, "open items merged");
    // The treasury report.
    settle_core::statement::cross_check(&mut statements);
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
            inputs: &p0.manifest_inputs,
            tallies: &tallies,
        },
    )?;

    // The payout files, from every partition's payable payouts; their statuses were decided in the
    // partitions and must come out the same here.
    let payment_run = crate::pipeline::payout_files(&spec, &mut payable, business_date, &register, &paid_accounts)?;
    if let Some(p) = payable.iter().find(|p| p.status != settle_payout::PayoutStatus::Payable) {
        return Err(merge_error(
            format!("payout {} was payable in its partition but is {} here", p.payout_id, p.status.as_str()),
            Some("run every partition again, then merge"),
        ));
    }
    for file in &payment_run.files {
        put(&mut staging, &file.name, file.written.xml.as_bytes())?;
    }
    let payout_notes = payout_notes(&payment_run.files);
    tracing::debug!(phase = "merge", elapsed_ms = started.elapsed().as_millis() as u64, "report and payout files");
    // The statements of account, as the partitions wrote them, in payout (beneficiary) order.
    let mut statement_files: Vec<(&str, PathBuf, &str)> = parts
        .iter()
        .flat_map(|(dir, p)| p.statements.iter().map(move |(b, name)| (b.as_str(), dir.join(name), name.as_str())))
        .collect();
    statement_files.sort_by(|a, b| a.0.cmp(b.0));
    for (_, path, name) in &statement_files {
        put(&mut staging, name, &crate::fault::read(path).map_err(read_error(path))?)?;
    }
    tracing::debug!(phase = "merge", elapsed_ms = started.elapsed().as_millis() as u64, "statements of account copied");
    put_matches_parquet(&mut staging, matches_parquet)?;
    // The settlement ledger: the partitions' parts as one key file.
    let mut entries = Vec::new();
    for (dir, _) in &parts {
        let path = dir.join(LEDGER_PART);
        let bytes = crate::fault::read(&path).map_err(read_error(&path))?;
        entries.extend(crate::ledger::read_entries(&bytes).map_err(|message| {
            merge_error(format!("{}: {message}", path.display()), Some("run that partition again, then merge"))
        })?);
    }
    let ledger = crate::ledger::write(entries, spec.output.ledger_horizon_days);
    put(&mut staging, crate::ledger::FILE, &ledger.bytes)?;

    // The archive: the files the partitions read (the same in each), and partition 0's in-memory ones.
    let mut archived: Vec<(PathBuf, String)> = vec![(job_path.to_path_buf(), spec_sha256.clone())];
    for entry in &p0.manifest_inputs {
        // Open items and the register are archived from partition 0's copies; ledger files by their nights.
        if matches!(entry["role"].as_str(), Some("open_items" | "payout_register" | "ledger")) {
            continue;
        }
        if let (Some(path), Some(sha256)) = (entry["path"].as_str(), entry["sha256"].as_str()) {
            archived.push((base.join(path), sha256.to_string()));
        }
    }
    let mut archived_bytes = Vec::new();
    for (path, file) in &p0.archived_bytes {
        archived_bytes.push((path.clone(), crate::fault::read(dir0.join(file)).map_err(read_error(&dir0.join(file)))?));
    }
    let previous_run = p0
        .previous_run
        .as_deref()
        .map(settle_core::parse_date)
        .transpose()
        .map_err(|_| merge_error(format!("partial.json: previous run {:?}", p0.previous_run), None))?;
    tracing::debug!(
        phase = "write",
        files = staging.files().len(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "writing the merged run directory"
    );
    let written = crate::pipeline::commit_night(
        crate::pipeline::Night {
            spec: &spec,
            job_path,
            spec_bytes: &spec_bytes,
            business_date,
            previous_run,
            manifest_inputs: p0.manifest_inputs.clone(),
            out_root: &out_root,
            job_dir: &job_dir,
            run_dir: &run_dir,
            payout_files: payment_run.files.iter().map(|f| f.payout_ids.len()).sum::<usize>(),
            register: &mut register,
            register_path: &register_path,
            new_entries: &payment_run.new_entries,
            register_changed: p0.register_changed,
            archive: true,
            archived: &archived,
            archived_bytes: &archived_bytes,
            sign_key: sign_key.as_ref(),
            started,
            ledger: ledger.json,
            ledger_window: p0.ledger_window.clone(),
        },
        staging,
    )?;
    let mut input_notes = p0.shared_notes.clone();
    input_notes.extend(local_notes);
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
        payout_files: payment_run.files.iter().map(|f| (f.name.clone(), state.announced(f.already_emitted))).collect(),
    })
}
