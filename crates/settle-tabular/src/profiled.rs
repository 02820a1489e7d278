//! The profile-driven reader: any channel report or bank CSV, mapped by a `Profile` into canonical
//! `ChannelTransaction` or `BankEntry` rows, with the file's checks.
//!
//! Columns are found by header name, never by position. Every error names the file, the line and the
//! column; every row ends in the output (an unknown type code becomes kind `other` with a warning), and
//! the checks (gross − fee = net, batch sums, duplicate ids, applied rates) are reported with line numbers,
//! never silently fixed.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;

use settle_core::text::{TextEncoding, decode_single_byte};
use settle_core::{
    AmountFormat, BankEntry, Beneficiary, ChannelKind, ChannelTransaction, Currency, Date, Decimal, DecimalSeparator,
    Direction, EntryStatus, ExtraDigits, ForeignRow, Money, Order, OrderKind, Provenance, RoundingMode, Text,
    parse_amount,
};

use crate::profile::{AmountSource, Columns, FeeSign, Profile, RecordKind};
use crate::split::{Record, Splitter};
use crate::table::TabularError;

/// A check on the file that failed (the rows are read all the same).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileProblem {
    /// `net_mismatch`, `batch_sum`, `duplicate_id`, `rate_mismatch`.
    pub check: &'static str,
    pub line: u64,
    pub message: String,
}

/// What reading one file gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfiledRead {
    pub profile: String,
    pub channel_transactions: Vec<ChannelTransaction>,
    pub bank_entries: Vec<BankEntry>,
    pub orders: Vec<Order>,
    pub beneficiaries: Vec<Beneficiary>,
    pub problems: Vec<FileProblem>,
    /// Unknown type codes, undecodable bytes and the like: the rows are kept.
    pub warnings: Vec<String>,
    /// Envelope rows skipped (PayPal section headers and footers, preamble lines).
    pub skipped_rows: u64,
    /// Read with a `Keep` (`read_shard_with_profile`): the channel rows it did not keep, in brief, in
    /// file order; and each kept row's ordinal among the file's rows (from 0).
    pub foreign_rows: Vec<ForeignRow>,
    pub kept_ordinals: Vec<u32>,
}

/// Which channel rows a reading keeps in full (the others it keeps in brief, `ForeignRow`): a partition
/// of a partitioned run keeps its shard.
pub type Keep<'k> = &'k (dyn Fn(&ChannelTransaction) -> bool + Sync);

/// The tag of a row kept in brief in `Rows::order` (else the tag is the row's index in the full list).
const BRIEF: u32 = 1 << 31;

/// Turns the file's bytes into text per the profile's encoding. A file that is not valid in the declared
/// encoding is an error naming the first bad byte and its line, never garbled text.
pub fn decode_text<'a>(
    path: &str,
    bytes: &'a [u8],
    encoding: &str,
    line_bytes_max: usize,
) -> Result<Cow<'a, str>, TabularError> {
    let fail =
        |line: Option<u64>, message: String| TabularError { path: path.to_string(), line, column: None, message };
    let utf16 = |bytes: &[u8], little: bool| -> Result<String, TabularError> {
        if !bytes.len().is_multiple_of(2) {
            return Err(fail(None, "UTF-16 text with an odd number of bytes: the file is cut short".into()));
        }
        let units = bytes
            .chunks_exact(2)
            .map(|p| if little { u16::from_le_bytes([p[0], p[1]]) } else { u16::from_be_bytes([p[0], p[1]]) });
        char::decode_utf16(units)
            .collect::<Result<String, _>>()
            .map_err(|e| fail(None, format!("invalid UTF-16: unpaired surrogate {:#06X}", e.unpaired_surrogate())))
    };
    if let Some(rest) = bytes.strip_prefix(b"\xFF\xFE") {
        return utf16(rest, true).map(Cow::Owned);
    }
    if let Some(rest) = bytes.strip_prefix(b"\xFE\xFF") {
        return utf16(rest, false).map(Cow::Owned);
    }
    check_text_bytes(path, bytes, line_bytes_max)?;
    match encoding {
        "windows-1252" => Ok(Cow::Owned(decode_single_byte(bytes, TextEncoding::Windows1252))),
        "iso-8859-1" => Ok(Cow::Owned(decode_single_byte(bytes, TextEncoding::Latin1))),
        "utf-16" => Err(fail(Some(1), "expected UTF-16 with a byte order mark (FF FE or FE FF)".into())),
        _ => {
            let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
            std::str::from_utf8(bytes).map(Cow::Borrowed).map_err(|e| {
                let at = e.valid_up_to();
                let line = bytes[..at].iter().filter(|b| **b == b'\n').count() as u64 + 1;
                let shown: Vec<String> = bytes[at..].iter().take(4).map(|b| format!("{b:#04X}")).collect();
                let hint = if bytes[at..].first().is_some_and(|b| (0x80..=0xFF).contains(b)) {
                    "; the file looks like a single-byte code page (Windows-1252 or ISO-8859-1): declare it with \
                     `csv.encoding` in the profile"
                } else {
                    ""
                };
                fail(Some(line), format!("not UTF-8: bytes {} at byte {at}{hint}", shown.join(" ")))
            })
        }
    }
}

/// No line of a CSV file may be longer than this (1 MiB): a real report's row is a few hundred bytes;
/// a longer one is a damaged or hostile file, refused before a record buffer grows to hold it.
pub const LINE_BYTES_MAX: usize = 1 << 20;

/// The checks every CSV file passes before it is parsed (`settle_core::text::scan_lines`): no NUL byte
/// (outside UTF-16) and no line longer than `LINE_BYTES_MAX`. Errors name the line and byte.
pub(crate) fn check_text_bytes(path: &str, bytes: &[u8], line_bytes_max: usize) -> Result<(), TabularError> {
    use settle_core::text::{LineFault, scan_lines};
    let fail =
        |line: u64, message: String| TabularError { path: path.to_string(), line: Some(line), column: None, message };
    scan_lines(bytes, line_bytes_max).map_err(|fault| match fault {
        LineFault::TooLong { line, length } => fail(
            line,
            format!(
                "the line is longer than {line_bytes_max} bytes (at least {length} bytes): a damaged file, not CSV rows"
            ),
        ),
        LineFault::Nul { line, at } => {
            fail(line, format!("a NUL byte at byte {at}: a binary or damaged file, not CSV text"))
        }
    })
}

/// Below this many bytes of rows a file is read on one thread.
const PARALLEL_BYTES_MIN: usize = 4 << 20;

/// Reads `bytes` (the file `path`) with `profile`. A large file is read in record-aligned chunks on
/// rayon's threads; the result (rows, their order, problems, warnings, the first error) is the same as
/// reading it on one thread, whatever the thread count.
pub fn read_with_profile(path: &str, bytes: &[u8], profile: &Profile) -> Result<ProfiledRead, TabularError> {
    read_with_profile_threads(path, bytes, profile, rayon::current_num_threads())
}

/// `read_with_profile` on at most `threads` chunks (1: one thread).
pub fn read_with_profile_threads(
    path: &str,
    bytes: &[u8],
    profile: &Profile,
    threads: usize,
) -> Result<ProfiledRead, TabularError> {
    read_profiled(path, bytes, profile, threads, None)
}

/// `read_with_profile` of a channel report that keeps in full only the rows `keep` says, the others in
/// brief (`ProfiledRead::foreign_rows`), as each chunk is read: the file's rows are never all held in
/// full. The file's checks (batch sums, duplicate ids) still see every row.
pub fn read_shard_with_profile(
    path: &str,
    bytes: &[u8],
    profile: &Profile,
    keep: Keep<'_>,
) -> Result<ProfiledRead, TabularError> {
    read_profiled(path, bytes, profile, rayon::current_num_threads(), Some(keep))
}

fn read_profiled(
    path: &str,
    bytes: &[u8],
    profile: &Profile,
    threads: usize,
    keep: Option<Keep<'_>>,
) -> Result<ProfiledRead, TabularError> {
    if crate::parquet_input::is_parquet(bytes) {
        return read_parquet(path, bytes, profile, keep);
    }
    let line_max = profile.csv.line_bytes_max.unwrap_or(LINE_BYTES_MAX);
    let text = decode_text(path, bytes, &profile.csv.encoding, line_max)?;
    let reader = Reader::open(path, &text, profile)?;
    let (data, first_line) = reader.splitter.rest();
    let (cols, line_base) = (reader.cols, reader.line_base);
    let (delimiter, quote) = (profile.csv.delimiter.as_bytes()[0], profile.csv.quote.as_bytes()[0]);
    let chunks = chunk_bounds(data, quote, threads);
    // Each chunk has its own copy of the column plan and its caches, and its own file name for the
    // rows' provenance: one shared `Arc` would have every row of every thread bump one reference count
    // (a cache line the cores would pass back and forth).
    let read_chunk = |(start, end, line): (usize, usize, u64), cols: Resolved, rows_max: usize| {
        let file: Arc<str> = Arc::from(path);
        let splitter = Splitter::at(&data[start..end], delimiter, quote, line);
        read_rows(path, &file, profile, (cols, keep), line_base, splitter, rows_max)
    };
    // One row a line at most: lists sized to that never move while they are read.
    let lines = |start: usize, end: usize| memchr::memchr_iter(b'\n', &data.as_bytes()[start..end]).count() + 1;
    let whole = (0, data.len(), first_line);
    let parts: Vec<Result<Rows, TabularError>> = if chunks.len() > 1 {
        use rayon::prelude::*;
        let chunk_lines: Vec<usize> = chunks.par_iter().map(|&(s, e, _)| lines(s, e)).collect();
        // The first chunk's list becomes the file's (`assemble`): it is sized for every chunk's rows, so
        // the others are moved into it without copying it first.
        let file_lines: usize = chunk_lines.iter().sum();
        // Chunk lines count from the data's first line.
        let plans: Vec<_> = chunks
            .iter()
            .zip(&chunk_lines)
            .enumerate()
            .map(|(i, (&(s, e, line), &n))| {
                ((s, e, line + first_line - 1), cols.clone(), if i == 0 { file_lines } else { n })
            })
            .collect();
        let parts: Vec<_> = plans.into_par_iter().map(|(c, cols, rows_max)| read_chunk(c, cols, rows_max)).collect();
        // Chunks start where a quote count says no quoted field is open; a quote the count cannot
        // vouch for (one inside an unquoted field, text after a closing quote, an unclosed quote) sends
        // the file back to one thread.
        if parts.iter().any(|p| p.as_ref().is_ok_and(|r| r.irregular_quotes)) {
            drop(parts);
            vec![read_chunk(whole, cols, file_lines)]
        } else {
            parts
        }
    } else {
        vec![read_chunk(whole, cols, lines(0, data.len()))]
    };
    let mut rows: Vec<Rows> = Vec::with_capacity(parts.len());
    for part in parts {
        // The first error in file order: chunks are in file order and each stops at its first error.
        rows.push(part?);
    }
    Ok(assemble(path, profile, reader.skipped, rows))
}

/// The file's result from its chunks' rows, in order: rows, problems, warnings, and the file's checks.
fn assemble(path: &str, profile: &Profile, skipped_rows: u64, rows: Vec<Rows>) -> ProfiledRead {
    // The first chunk's rows become the result (a file read on one thread is never copied); the
    // other chunks' rows follow it.
    let mut parts = rows.into_iter();
    let Rows {
        channel_transactions,
        bank_entries,
        orders,
        beneficiaries,
        problems,
        mut unknown,
        skipped_rows: first_skipped,
        irregular_quotes: _,
        mut id_hashes,
        mut batch_runs,
        mut foreign,
        mut order,
    } = parts.next().unwrap_or_default();
    let mut out = ProfiledRead {
        profile: profile.name.clone(),
        channel_transactions,
        bank_entries,
        orders,
        beneficiaries,
        problems,
        warnings: Vec::new(),
        skipped_rows: skipped_rows + first_skipped,
        foreign_rows: Vec::new(),
        kept_ordinals: Vec::new(),
    };
    let rest: Vec<Rows> = parts.collect();
    out.channel_transactions.reserve_exact(rest.iter().map(|r| r.channel_transactions.len()).sum());
    out.bank_entries.reserve_exact(rest.iter().map(|r| r.bank_entries.len()).sum());
    out.orders.reserve_exact(rest.iter().map(|r| r.orders.len()).sum());
    out.beneficiaries.reserve_exact(rest.iter().map(|r| r.beneficiaries.len()).sum());
    for part in rest {
        id_hashes.extend(part.id_hashes);
        batch_runs.extend(part.batch_runs);
        // The chunk's tags, from its own lists' indices to the file's.
        let (kept_before, brief_before) = (r32(out.channel_transactions.len()), r32(foreign.len()));
        order.extend(part.order.iter().map(|&t| if t & BRIEF != 0 { t + brief_before } else { t + kept_before }));
        foreign.extend(part.foreign);
        out.channel_transactions.extend(part.channel_transactions);
        out.bank_entries.extend(part.bank_entries);
        out.orders.extend(part.orders);
        out.beneficiaries.extend(part.beneficiaries);
        out.problems.extend(part.problems);
        out.skipped_rows += part.skipped_rows;
        for (code, (count, line)) in part.unknown {
            let e = unknown.entry(code).or_insert((0, line));
            e.0 += count;
            e.1 = e.1.min(line);
        }
    }
    for (code, (count, line)) in &unknown {
        out.warnings.push(format!(
            "{path}:{line}: type {code:?} ({count} rows) is not in profile {}: read as kind `other`",
            profile.name
        ));
    }
    match profile.record {
        RecordKind::ChannelTransactions => {
            let rows = &out.channel_transactions;
            let seen = |i: usize| match order.get(i) {
                None => Seen::Full(&rows[i]),
                Some(&t) if t & BRIEF != 0 => Seen::Brief(&foreign[(t & !BRIEF) as usize]),
                Some(&t) => Seen::Full(&rows[t as usize]),
            };
            check_channel_file(&seen, &id_hashes, batch_runs, &mut out.problems);
            out.kept_ordinals =
                order.iter().enumerate().filter(|(_, t)| **t & BRIEF == 0).map(|(i, _)| r32(i)).collect();
            out.foreign_rows = foreign;
        }
        RecordKind::Orders => check_unique_ids(
            out.orders.iter().map(|o| (o.order_id.as_str(), &o.provenance)),
            "order",
            &mut out.problems,
        ),
        RecordKind::Beneficiaries => check_unique_ids(
            out.beneficiaries.iter().map(|b| (b.beneficiary_id.as_str(), &b.provenance)),
            "beneficiary",
            &mut out.problems,
        ),
        RecordKind::BankEntries => {}
    }
    out.problems.sort_by(|a, b| (a.line, a.check).cmp(&(b.line, b.check)));
    out
}

/// A Parquet file through `profile` (see `parquet_input`): one thread, rows numbered from 1.
fn read_parquet(
    path: &str,
    bytes: &[u8],
    profile: &Profile,
    keep: Option<Keep<'_>>,
) -> Result<ProfiledRead, TabularError> {
    let file = crate::parquet_input::open(path, bytes)?;
    let typed = crate::parquet_input::typed_profile(profile);
    file.check_money_columns(path, &typed)?;
    let cols = Resolved::new(path, file.columns.iter().map(String::as_str), None, &typed)?;
    let arc: Arc<str> = Arc::from(path);
    let mut rows = Rows::default();
    let mut record = Record::default();
    file.for_each_row(path, |number, cells| {
        record.set_owned(cells);
        rows.push(&RowView { path, line: number, record: &record, cols: &cols, profile: &typed }, &arc, keep)
    })?;
    Ok(assemble(path, profile, 0, vec![rows]))
}

/// What one chunk of a file gave.
#[derive(Default)]
struct Rows {
    channel_transactions: Vec<ChannelTransaction>,
    bank_entries: Vec<BankEntry>,
    orders: Vec<Order>,
    beneficiaries: Vec<Beneficiary>,
    problems: Vec<FileProblem>,
    /// Unknown type code → (rows, first line).
    unknown: BTreeMap<String, (u64, u64)>,
    skipped_rows: u64,
    irregular_quotes: bool,
    /// What the file's checks need of each channel transaction, taken while the row is in cache (a
    /// second pass over hundreds of megabytes of rows cost more than building them): a hash of its
    /// (channel, id) per row, and its payout batch runs.
    id_hashes: Vec<u64>,
    batch_runs: Vec<BatchRun>,
    /// Read with a `Keep`: the rows kept in brief, and every row's tag in file order (its index in
    /// `channel_transactions`, or `BRIEF` | its index in `foreign`). Empty without one.
    foreign: Vec<ForeignRow>,
    order: Vec<u32>,
}

/// An index as a tag (a file has fewer than 2^31 rows: checked where rows are tagged).
fn r32(i: usize) -> u32 {
    u32::try_from(i).expect("fewer than 2^31 rows in a file")
}

/// Consecutive channel transactions of one payout batch and settlement currency (rows without a batch
/// may come between), with their sums.
struct BatchRun {
    batch: Text,
    currency: Currency,
    /// Σ net of the rows that are not payouts, Σ net of the payout rows, and the payout rows' lines.
    rows_sum: Decimal,
    payout_sum: Decimal,
    payout_lines: Vec<u64>,
}

/// The hash of a channel transaction's (channel, id) for the duplicate check (fixed seeds: the same on
/// every run and host).
fn id_hash(tx: &ChannelTransaction) -> u64 {
    std::hash::BuildHasher::hash_one(
        &foldhash::fast::FixedState::default(),
        (tx.channel.as_str(), tx.transaction_id.as_str()),
    )
}

impl Rows {
    /// The canonical record of `row`, by the profile's record kind.
    fn push(&mut self, row: &RowView<'_>, file: &Arc<str>, keep: Option<Keep<'_>>) -> Result<(), TabularError> {
        match row.profile.record {
            RecordKind::ChannelTransactions => {
                let tx = row.channel_transaction(file, &mut self.unknown, &mut self.problems)?;
                self.id_hashes.push(id_hash(&tx));
                if let Some(batch) = &tx.batch_id {
                    let run = match self.batch_runs.last_mut() {
                        Some(run) if run.currency == tx.settlement_currency && run.batch == *batch => run,
                        _ => {
                            self.batch_runs.push(BatchRun {
                                batch: batch.clone(),
                                currency: tx.settlement_currency,
                                rows_sum: Decimal::ZERO,
                                payout_sum: Decimal::ZERO,
                                payout_lines: Vec::new(),
                            });
                            self.batch_runs.last_mut().expect("just pushed")
                        }
                    };
                    if tx.kind.is_payout() {
                        run.payout_sum += tx.net;
                        run.payout_lines.push(tx.provenance.line_number());
                    } else {
                        run.rows_sum += tx.net;
                    }
                }
                if keep.is_some() && self.order.len() >= BRIEF as usize {
                    return Err(TabularError {
                        path: row.path.to_string(),
                        line: Some(row.line),
                        column: None,
                        message: "more than 2^31 rows in one part of a file".into(),
                    });
                }
                match keep {
                    None => self.channel_transactions.push(tx),
                    Some(keep) if keep(&tx) => {
                        self.order.push(r32(self.channel_transactions.len()));
                        self.channel_transactions.push(tx);
                    }
                    Some(_) => {
                        self.order.push(BRIEF | r32(self.foreign.len()));
                        self.foreign.push(ForeignRow::of(&tx, false, false));
                    }
                }
            }
            RecordKind::BankEntries => self.bank_entries.push(row.bank_entry(file)?),
            RecordKind::Orders => self.orders.push(row.order(file)?),
            RecordKind::Beneficiaries => self.beneficiaries.push(row.beneficiary(file)?),
        }
        Ok(())
    }
}

/// Reads the rows `splitter` yields, with caches of its own (`cols` is cloned), into a list with room
/// for `rows_max` (its lines, one row a line at most), so the rows never move while they are read.
fn read_rows(
    path: &str,
    file: &Arc<str>,
    profile: &Profile,
    (cols, keep): (Resolved, Option<Keep<'_>>),
    line_base: u64,
    mut splitter: Splitter<'_>,
    rows_max: usize,
) -> Result<Rows, TabularError> {
    let mut out = Rows::default();
    match profile.record {
        RecordKind::ChannelTransactions => out.channel_transactions.reserve(rows_max),
        RecordKind::BankEntries => out.bank_entries.reserve(rows_max),
        RecordKind::Orders => out.orders.reserve(rows_max),
        RecordKind::Beneficiaries => out.beneficiaries.reserve(rows_max),
    }
    let mut record = Record::default();
    while let Some(line) = splitter.next_record(&mut record) {
        let line = line_base + line;
        if let Some(first) = &profile.csv.data_first_cell
            && record.get(0).map(str::trim) != Some(first.as_str())
        {
            out.skipped_rows += 1;
            continue;
        }
        out.push(&RowView { path, line, record: &record, cols: &cols, profile }, file, keep)?;
    }
    out.irregular_quotes = splitter.irregular_quotes();
    Ok(out)
}

/// Record-aligned chunks of `data` for `threads` threads: (start, end, 1-based line of start). A chunk
/// ends after a line break with an even number of quotes before it (no quoted field open there, if the
/// file's quotes are regular; `read_rows` reports when they are not).
fn chunk_bounds(data: &str, quote: u8, threads: usize) -> Vec<(usize, usize, u64)> {
    let b = data.as_bytes();
    let chunks = threads.clamp(1, 64);
    if chunks == 1 || b.len() < PARALLEL_BYTES_MIN {
        return vec![(0, b.len(), 1)];
    }
    let target = b.len() / chunks;
    let mut out = Vec::with_capacity(chunks);
    let (mut start, mut line, mut quotes) = (0usize, 1u64, 0usize);
    while out.len() + 1 < chunks {
        let mut at = (start + target).min(b.len());
        // The first line break at or after `at` with an even quote count before it.
        quotes += memchr::memchr_iter(quote, &b[start..at]).count();
        let end = loop {
            match memchr::memchr(b'\n', &b[at..]) {
                None => break b.len(),
                Some(offset) => {
                    let newline = at + offset;
                    quotes += memchr::memchr_iter(quote, &b[at..newline]).count();
                    at = newline + 1;
                    if quotes % 2 == 0 {
                        break at;
                    }
                }
            }
        };
        if end >= b.len() {
            break;
        }
        out.push((start, end, line));
        line += memchr::memchr_iter(b'\n', &b[start..end]).count() as u64;
        start = end;
    }
    out.push((start, b.len(), line));
    out
}

/// The file's header cells (after the preamble), for `--profile auto`.
pub fn header_of(
    path: &str,
    bytes: &[u8],
    skip_lines: usize,
    header_first_cell: Option<&str>,
) -> Result<Vec<String>, TabularError> {
    header_in(path, &detection_text(path, bytes), skip_lines, header_first_cell)
}

/// The text detection reads: UTF-8 or UTF-16 (a BOM says which); single-byte files decode as
/// Windows-1252.
fn detection_text<'a>(path: &str, bytes: &'a [u8]) -> Cow<'a, str> {
    // The header and the rows before it are at the head: detection reads at most its first 4 MiB, cut
    // after a line end, so a huge or hostile file costs no more than that here.
    const HEAD_BYTES_MAX: usize = 4 << 20;
    let bytes = match bytes.get(..HEAD_BYTES_MAX) {
        Some(head) => memchr::memrchr(b'\n', head).map_or(head, |end| &head[..=end]),
        None => bytes,
    };
    match decode_text(path, bytes, "utf-8", LINE_BYTES_MAX) {
        Ok(text) => text,
        Err(_) => Cow::Owned(decode_single_byte(bytes, TextEncoding::Windows1252)),
    }
}

/// `header_of` on text already decoded.
fn header_in(
    path: &str,
    text: &str,
    skip_lines: usize,
    header_first_cell: Option<&str>,
) -> Result<Vec<String>, TabularError> {
    let (body, _) = skip_lines_of(text, skip_lines);
    for delimiter in [b',', b';', b'\t', b'|'] {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(delimiter)
            .from_reader(body.as_bytes());
        let mut record = csv::StringRecord::new();
        for _ in 0..50 {
            match reader.read_record(&mut record) {
                Ok(true) => {
                    if header_first_cell.is_some_and(|c| record.get(0).map(str::trim) != Some(c)) {
                        continue;
                    }
                    if record.len() > 2 {
                        return Ok(record.iter().map(|c| c.trim().to_string()).collect());
                    }
                    break;
                }
                _ => break,
            }
        }
    }
    Err(TabularError {
        path: path.to_string(),
        line: Some(1 + skip_lines as u64),
        column: None,
        message: "no header row found: expected a CSV header with the report's column names".into(),
    })
}

fn skip_lines_of(text: &str, n: usize) -> (&str, u64) {
    let mut rest = text;
    let mut skipped = 0u64;
    for _ in 0..n {
        match rest.find('\n') {
            Some(i) => {
                rest = &rest[i + 1..];
                skipped += 1;
            }
            None => {
                rest = "";
                break;
            }
        }
    }
    (rest, skipped)
}

/// Column positions resolved against the header: candidates in the profile's order.
#[derive(Debug, Default, Clone)]
struct Resolved {
    by_name: BTreeMap<String, usize>,
    /// The profile's own column names (address, length) → position, in an open-addressing table keyed
    /// by the name's address: rows look their cells up by the profile's strings, so one multiply and one
    /// comparison find them without comparing text (measured: name lookups by text were a third of the
    /// reader's time, a binary search on addresses a fifth).
    fast: Vec<Option<(usize, usize, Option<usize>)>>,
    /// log2 of `fast.len()`.
    fast_bits: u32,
    /// The first bytes of the profile's null values.
    null_first: Vec<bool>,
    /// The columns kept as metadata (by the profile's names and prefixes), in name order: (name, position).
    metadata: Vec<(String, usize)>,
    /// The last currency codes read and their currencies (a report has few: settlement and presentment
    /// currencies alternate), filled round-robin.
    last_currency: std::cell::Cell<[Option<CurrencyCacheEntry>; 4]>,
    last_currency_next: std::cell::Cell<usize>,
    /// The last type code read and its kind (`None`: not in the profile's kinds or prefixes).
    last_kind: std::cell::RefCell<Option<(Text, Option<ChannelKind>)>>,
    /// The last booking time text and zone read, and what they gave (rows of a batch share them).
    last_booked: std::cell::RefCell<Option<BookedCache>>,
    /// The profile's number format.
    format: AmountFormat,
}

impl Resolved {
    /// The column plan of `profile` against a header (CSV header cells, or Parquet column names);
    /// `header_line` for errors (`None` for Parquet).
    fn new<'h>(
        path: &str,
        header: impl Iterator<Item = &'h str>,
        header_line: Option<u64>,
        profile: &Profile,
    ) -> Result<Resolved, TabularError> {
        let header_error =
            |message: String| TabularError { path: path.to_string(), line: header_line, column: None, message };
        let format = AmountFormat {
            decimal: if profile.numbers.decimal == "," { DecimalSeparator::Comma } else { DecimalSeparator::Point },
            grouping: profile.numbers.thousands.chars().next(),
        };
        let mut r = Resolved { format, ..Resolved::default() };
        for (position, name) in header.enumerate() {
            let name = name.trim().trim_start_matches('\u{feff}');
            if name.is_empty() {
                continue;
            }
            if r.by_name.insert(name.to_string(), position).is_some() {
                return Err(header_error(format!("column `{name}` appears twice in the header")));
            }
        }
        r.null_first = vec![false; 256];
        for n in &profile.null_values {
            if let Some(b) = n.as_bytes().first() {
                r.null_first[usize::from(*b)] = true;
            }
        }
        let names = profile_names(profile);
        // At most a quarter full, so probes are short.
        let bits = (names.len() * 4).next_power_of_two().trailing_zeros().max(4);
        r.fast = vec![None; 1 << bits];
        r.fast_bits = bits;
        for n in names {
            let key = (n.as_ptr() as usize, n.len());
            let mut slot = fast_slot(key.0, bits);
            loop {
                match r.fast[slot] {
                    Some((p, l, _)) if (p, l) == key => break,
                    Some(_) => slot = (slot + 1) & ((1 << bits) - 1),
                    None => {
                        r.fast[slot] = Some((key.0, key.1, r.by_name.get(n).copied()));
                        break;
                    }
                }
            }
        }
        r.metadata = r
            .by_name
            .iter()
            .filter(|(name, _)| {
                profile.metadata.columns.iter().any(|c| c == *name)
                    || profile.metadata.prefixes.iter().any(|pre| name.starts_with(pre.as_str()))
            })
            .map(|(name, position)| (name.clone(), *position))
            .collect();
        let missing: Vec<String> =
            needed_columns(profile).into_iter().filter(|c| !r.by_name.contains_key(c.as_str())).collect();
        if !missing.is_empty() {
            return Err(header_error(format!(
                "missing required column(s) {} for profile {}",
                missing.iter().map(|m| format!("`{m}`")).collect::<Vec<_>>().join(", "),
                profile.name
            )));
        }
        Ok(r)
    }
}

/// An upper-cased currency code and its currency.
type CurrencyCacheEntry = ([u8; 3], Currency);

/// (date-time text, zone text) → (date, UTC instant, zone).
type BookedCache = ((Text, Option<Text>), (Date, Option<Text>, Option<Text>));

/// Every column name a profile mentions.
fn profile_names(p: &Profile) -> Vec<&str> {
    let c = &p.columns;
    let mut out: Vec<&str> = Vec::new();
    for columns in [
        &c.channel,
        &c.transaction_id,
        &c.merchant_reference,
        &c.type_code,
        &c.settlement_currency,
        &c.presentment_currency,
        &c.exchange_rate,
        &c.batch_id,
        &c.booked_at,
        &c.booked_time,
        &c.booked_zone,
        &c.payout_date,
        &c.merchant_account,
        &c.related_transaction_id,
        &c.account_id,
        &c.entry_id,
        &c.value_date,
        &c.currency,
        &c.reference,
        &c.counterparty_name,
        &c.remittance_info,
        &c.order_id,
        &c.beneficiary_id,
        &c.legal_name,
        &c.country,
        &c.iban,
        &c.bic,
        &c.account_number,
        &c.clearing_system,
        &c.bank_code,
        &c.payout_currency,
    ]
    .into_iter()
    .flatten()
    {
        out.extend(columns.names());
    }
    out.extend(c.batch_level_when_empty.as_deref());
    let a = &p.amounts;
    for source in [&a.gross, &a.net, &a.fee, &a.presentment, &a.amount].into_iter().flatten() {
        out.extend(source.columns());
    }
    out.extend(a.fee_components.values().map(String::as_str));
    out
}

struct Reader<'a> {
    splitter: Splitter<'a>,
    cols: Resolved,
    /// Lines before `text` (the preamble), so reported lines are the file's.
    line_base: u64,
    skipped: u64,
}

impl<'a> Reader<'a> {
    fn open(path: &'a str, full: &'a str, profile: &Profile) -> Result<Reader<'a>, TabularError> {
        let (text, line_base) = skip_lines_of(full, profile.csv.skip_lines);
        let splitter = Splitter::new(text, profile.csv.delimiter.as_bytes()[0], profile.csv.quote.as_bytes()[0]);
        let mut r = Reader { splitter, cols: Resolved::default(), line_base, skipped: line_base };
        let mut header = Record::default();
        let header_line = loop {
            let Some(line) = r.next_record(&mut header) else {
                return Err(TabularError {
                    path: path.to_string(),
                    line: Some(line_base + 1),
                    column: None,
                    message: format!(
                        "no header row: expected the {} columns ({})",
                        profile.name,
                        profile.detect.join(", ")
                    ),
                });
            };
            match &profile.csv.header_first_cell {
                Some(first) if header.get(0).map(str::trim) != Some(first.as_str()) => r.skipped += 1,
                _ => break line,
            }
        };
        r.cols = Resolved::new(path, header.iter(), Some(header_line), profile)?;
        Ok(r)
    }

    /// The next record and its physical line in the file.
    fn next_record(&mut self, record: &mut Record<'a>) -> Option<u64> {
        Some(self.line_base + self.splitter.next_record(record)?)
    }
}

/// The columns a file must have for `profile`: the explicit `required` ones, and the first candidate of
/// every field the reader cannot do without when the field has a single column.
fn needed_columns(profile: &Profile) -> Vec<String> {
    let mut out: Vec<String> = profile.required.clone();
    let c = &profile.columns;
    let single = |columns: &Option<Columns>| match columns {
        Some(Columns::One(name)) => Some(name.clone()),
        _ => None,
    };
    let fields: Vec<&Option<Columns>> = match profile.record {
        RecordKind::ChannelTransactions => vec![&c.transaction_id, &c.type_code, &c.settlement_currency, &c.booked_at],
        RecordKind::BankEntries => vec![&c.account_id, &c.booked_at, &c.currency],
        RecordKind::Orders => vec![&c.order_id, &c.beneficiary_id, &c.booked_at, &c.currency],
        RecordKind::Beneficiaries => {
            vec![&c.beneficiary_id, &c.legal_name, &c.country, &c.payout_currency]
        }
    };
    out.extend(fields.into_iter().filter_map(single));
    let a = &profile.amounts;
    for source in [&a.gross, &a.net, &a.fee, &a.amount].into_iter().flatten() {
        out.extend(source.columns().into_iter().map(str::to_string));
    }
    out.sort();
    out.dedup();
    out
}

struct RowView<'r> {
    path: &'r str,
    line: u64,
    record: &'r Record<'r>,
    cols: &'r Resolved,
    profile: &'r Profile,
}

/// A field's first column name, for errors ("" when the profile maps none).
fn first_column(columns: &Option<Columns>) -> &str {
    columns.as_ref().map_or("", |s| s.name_slice()[0].as_str())
}

/// The home slot of a name's address in a table of `2^bits` slots (Fibonacci hashing).
fn fast_slot(address: usize, bits: u32) -> usize {
    ((address as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - bits)) as usize
}

/// A cell without the white space around it (`str::trim`), without scanning when its ends are visible
/// ASCII, as most cells' are.
fn trim_cell(cell: &str) -> &str {
    match (cell.as_bytes().first(), cell.as_bytes().last()) {
        (Some(a), Some(z)) if a.is_ascii_graphic() && z.is_ascii_graphic() => cell,
        (None, _) | (_, None) => cell,
        _ => cell.trim(),
    }
}

/// `1.03311E+11`: what Excel makes of a long number (digits, `.` or `,`, then `E`, a sign and digits).
/// One pass that stops at the first byte that cannot belong to that form.
fn looks_like_excel_exponent(text: &str) -> bool {
    let b = trim_cell(text).as_bytes();
    // The exponent has at most three digits and a sign: its `E` is among the last five bytes.
    if !b[b.len().saturating_sub(5)..].iter().any(|c| *c == b'E' || *c == b'e') {
        return false;
    }
    if !b.first().is_some_and(u8::is_ascii_digit) {
        return false;
    }
    let Some(e) = b.iter().position(|c| !(c.is_ascii_digit() || *c == b'.' || *c == b',')) else { return false };
    if b[e] != b'E' && b[e] != b'e' {
        return false;
    }
    let exponent = match b.get(e + 1) {
        Some(b'+' | b'-') => &b[e + 2..],
        _ => &b[e + 1..],
    };
    !exponent.is_empty() && exponent.iter().all(u8::is_ascii_digit)
}

impl RowView<'_> {
    fn error(&self, column: &str, message: impl Into<String>) -> TabularError {
        TabularError {
            path: self.path.to_string(),
            line: Some(self.line),
            column: Some(column.to_string()),
            message: message.into(),
        }
    }

    /// The trimmed value of `name`, or `None` when the header lacks it, the row is short, or it is empty
    /// or a null value.
    #[inline(always)]
    fn cell(&self, name: &str) -> Option<&str> {
        let key = (name.as_ptr() as usize, name.len());
        let (fast, bits) = (&self.cols.fast, self.cols.fast_bits);
        let mut slot = fast_slot(key.0, bits);
        // The table is at most a quarter full: a probe ends at an empty slot well before it wraps.
        let position = loop {
            match fast[slot] {
                Some((p, l, position)) if (p, l) == key => break position?,
                Some(_) => slot = (slot + 1) & (fast.len() - 1),
                None => break *self.cols.by_name.get(name)?,
            }
        };
        let value = trim_cell(self.record.get(position)?);
        let first = *value.as_bytes().first()?;
        // Compared with the null values only when one of them starts with the same byte.
        let null = self.cols.null_first[usize::from(first)] && self.profile.null_values.iter().any(|n| n == value);
        (!null).then_some(value)
    }

    /// The first candidate column the row fills: (column, value). A join is its parts' filled values.
    fn field<'c>(&self, columns: &'c Option<Columns>) -> Option<(&'c str, Cow<'_, str>)> {
        let columns = columns.as_ref()?;
        match columns {
            Columns::One(name) => self.cell(name).map(|v| (name.as_str(), Cow::Borrowed(v))),
            Columns::Candidates(names) => {
                names.iter().find_map(|n| self.cell(n).map(|v| (n.as_str(), Cow::Borrowed(v))))
            }
            Columns::Join { join, separator } => {
                let parts: Vec<&str> = join.iter().filter_map(|n| self.cell(n)).collect();
                (!parts.is_empty()).then(|| (join[0].as_str(), Cow::Owned(parts.join(separator))))
            }
        }
    }

    fn text(&self, columns: &Option<Columns>) -> Option<Text> {
        self.field(columns).map(|(_, v)| Text::from(v.as_ref()))
    }

    /// An id column: Excel's exponent form (`1.03311E+11`) is an error, since the digits are lost.
    fn id(&self, columns: &Option<Columns>) -> Result<Option<Text>, TabularError> {
        match self.field(columns) {
            Some((column, value)) if looks_like_excel_exponent(&value) => Err(self.error(
                column,
                format!(
                    "{value:?} is a number in exponent form: the file was probably opened and saved in a spreadsheet, \
                     which turned a long id into a rounded number; the digits are lost. Export the report again \
                     from the channel without opening it in a spreadsheet"
                ),
            )),
            Some((_, value)) => Ok(Some(Text::from(value.as_ref()))),
            None => Ok(None),
        }
    }

    fn currency(&self, columns: &Option<Columns>, what: &str) -> Result<Option<Currency>, TabularError> {
        match self.field(columns) {
            None => Ok(None),
            Some((_, value)) if value.len() == 3 && value.is_ascii() => {
                let b = value.as_bytes();
                let key = [b[0].to_ascii_uppercase(), b[1].to_ascii_uppercase(), b[2].to_ascii_uppercase()];
                let cache = self.cols.last_currency.get();
                if let Some((_, currency)) = cache.iter().flatten().find(|(code, _)| *code == key) {
                    return Ok(Some(*currency));
                }
                let column = columns.as_ref().map(|c| c.names()[0]).unwrap_or("");
                let currency = Currency::from_code_ignore_case(&value)
                    .map_err(|e| self.error(column, format!("{e}; expected the {what} as an ISO 4217 code")))?;
                let mut cache = cache;
                let slot = self.cols.last_currency_next.get();
                cache[slot] = Some((key, currency));
                self.cols.last_currency.set(cache);
                self.cols.last_currency_next.set((slot + 1) % cache.len());
                Ok(Some(currency))
            }
            Some((column, value)) => Currency::from_code_ignore_case(&value)
                .map(Some)
                .map_err(|e| self.error(column, format!("{e}; expected the {what} as an ISO 4217 code"))),
        }
    }

    fn format(&self) -> AmountFormat {
        self.cols.format
    }

    fn number(&self, column: &str, text: &str, currency: Currency) -> Result<Decimal, TabularError> {
        // Exponent form is told apart only once a number fails: it is never a valid amount.
        let exponent_error = || {
            looks_like_excel_exponent(text).then(|| self.error(column, format!("{text:?} is a number in exponent form, as a spreadsheet writes it: export the report again without opening it in a spreadsheet")))
        };
        if self.profile.numbers.minor_units {
            let digits = text.trim();
            let (negative, digits) = match digits.strip_prefix('-') {
                Some(rest) => (true, rest),
                None => (false, digits),
            };
            if digits.is_empty() || digits.len() > 25 || !digits.bytes().all(|b| b.is_ascii_digit()) {
                if let Some(error) = exponent_error() {
                    return Err(error);
                }
                return Err(self.error(
                    column,
                    format!("{text:?}: expected an integer amount in minor units (10000 is 100.00 USD)"),
                ));
            }
            let minor: i128 = digits.parse().map_err(|_| self.error(column, format!("{text:?}: too large")))?;
            let money = Money::from_minor_units(if negative { -minor } else { minor }, currency)
                .map_err(|e| self.error(column, e.to_string()))?;
            return Ok(money.amount());
        }
        let amount = parse_amount(text, self.format(), currency, ExtraDigits::Allow)
            .map(|m| m.amount())
            .map_err(|e| exponent_error().unwrap_or_else(|| self.error(column, e.to_string())))?;
        // More fraction digits than the currency has (trailing zeros aside) is refused as the canonical
        // readers refuse it, unless the profile declares the column carries more precision.
        if let Some(units) = currency.minor_units()
            && amount.scale() > u32::from(units)
            && amount.normalize().scale() > u32::from(units)
            && !self.profile.numbers.extra_precision.iter().any(|c| c == column)
        {
            return Err(self.error(
                column,
                format!(
                    "{text:?}: {} fraction digit(s), but {currency} has {units} minor units (a profile whose column carries more precision lists it in `numbers.extra_precision`)",
                    amount.normalize().scale()
                ),
            ));
        }
        Ok(amount)
    }

    /// An amount by its source, signed from the balance's point of view; `None` when the row leaves it
    /// empty.
    fn amount(&self, source: &AmountSource, currency: Currency) -> Result<Option<Decimal>, TabularError> {
        match source {
            AmountSource::Signed { column } => self.cell(column).map(|t| self.number(column, t, currency)).transpose(),
            AmountSource::DebitCredit { debit, credit } => {
                let d = self.cell(debit).map(|t| self.number(debit, t, currency)).transpose()?;
                let c = self.cell(credit).map(|t| self.number(credit, t, currency)).transpose()?;
                for (column, value) in [(debit, d), (credit, c)] {
                    if value.is_some_and(|v| v < Decimal::ZERO) {
                        return Err(self.error(column, "negative: debit and credit columns hold unsigned amounts"));
                    }
                }
                Ok(match (d, c) {
                    (None, None) => None,
                    (d, c) => Some(c.unwrap_or_default() - d.unwrap_or_default()),
                })
            }
            AmountSource::Indicator { column, indicator, credit_values, debit_values } => {
                let Some(text) = self.cell(column) else { return Ok(None) };
                let value = self.number(column, text, currency)?;
                let mark = self.cell(indicator).unwrap_or("");
                if credit_values.iter().any(|v| v == mark) {
                    Ok(Some(value))
                } else if debit_values.iter().any(|v| v == mark) {
                    Ok(Some(-value))
                } else {
                    Err(self.error(
                        indicator,
                        format!(
                            "{mark:?}: expected one of {} (credit) or {} (debit)",
                            credit_values.join(", "),
                            debit_values.join(", ")
                        ),
                    ))
                }
            }
        }
    }

    /// The booking date, and the UTC instant and zone when the report gives a time.
    fn booked(&self, what: &str) -> Result<(Date, Option<Text>, Option<Text>), TabularError> {
        let p = self.profile;
        let c = &p.columns;
        let Some(dates) = &c.booked_at else { unreachable!("validated") };
        let names = dates.name_slice();
        let zone_names: &[String] = c.booked_zone.as_ref().map(Columns::name_slice).unwrap_or_default();
        let Some((index, date_column, date_text)) =
            names.iter().enumerate().find_map(|(i, n)| self.cell(n).map(|v| (i, n.as_str(), v)))
        else {
            return Err(self.error(&names[0], format!("is empty: the {what} needs a booking date")));
        };
        let time = self.field(&c.booked_time).map(|(_, time)| time);
        let zone_text: Option<&str> =
            zone_names.get(index).or(zone_names.first()).and_then(|z| self.cell(z)).or(p.dates.zone.as_deref());
        // The cache is compared with the cells themselves: the key is built only when it misses.
        if let Some(((key_text, key_zone), value)) = self.cols.last_booked.borrow().as_ref() {
            let same_text = match &time {
                None => key_text == date_text,
                Some(time) => {
                    key_text.len() == date_text.len() + 1 + time.len()
                        && key_text.starts_with(date_text)
                        && key_text.ends_with(time.as_ref())
                }
            };
            if same_text && key_zone.as_deref() == zone_text {
                return Ok(value.clone());
            }
        }
        let mut text = Text::from(date_text);
        if let Some(time) = &time {
            text.push(' ');
            text.push_str(time);
        }
        let zone_text = zone_text.map(Text::from);
        let value = self.parse_booked(&text, zone_text.clone(), date_column, index, zone_names)?;
        *self.cols.last_booked.borrow_mut() = Some(((text, zone_text), value.clone()));
        Ok(value)
    }

    fn parse_booked(
        &self,
        text: &str,
        zone_text: Option<Text>,
        date_column: &str,
        index: usize,
        zone_names: &[String],
    ) -> Result<(Date, Option<Text>, Option<Text>), TabularError> {
        let p = self.profile;
        for format in &p.dates.formats {
            let Ok(parsed) = jiff::fmt::strtime::parse(format, text) else { continue };
            let Ok(date) = parsed.to_date() else { continue };
            let Ok(time) = parsed.to_time() else {
                return Ok((date, None, zone_text));
            };
            // A format with `%z` carries its own offset.
            if let Some(offset) = parsed.offset() {
                let instant =
                    offset.to_timestamp(date.to_datetime(time)).map_err(|e| self.error(date_column, e.to_string()))?;
                let utc = instant.strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
                return Ok((date, Some(Text::from(utc)), Some(settle_core::format_compact!("{offset}"))));
            }
            let Some(zone) = &zone_text else {
                return Ok((date, None, None));
            };
            let offset = zone_offset(zone).map_err(|m| {
                let column = zone_names.get(index).or(zone_names.first()).map_or("dates.zone", String::as_str);
                self.error(column, m)
            })?;
            let instant =
                offset.to_timestamp(date.to_datetime(time)).map_err(|e| self.error(date_column, e.to_string()))?;
            let utc = instant.strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
            return Ok((date, Some(Text::from(utc)), Some(zone.clone())));
        }
        Err(self.error(date_column, format!("{text:?}: expected a date as {}", p.dates.formats.join(" or "))))
    }

    fn date_of(&self, columns: &Option<Columns>) -> Result<Option<Date>, TabularError> {
        let Some((column, text)) = self.field(columns) else { return Ok(None) };
        let formats = if self.profile.dates.payout_formats.is_empty() {
            &self.profile.dates.formats
        } else {
            &self.profile.dates.payout_formats
        };
        for format in formats {
            if let Ok(parsed) = jiff::fmt::strtime::parse(format, text.as_ref())
                && let Ok(date) = parsed.to_date()
            {
                return Ok(Some(date));
            }
        }
        Err(self.error(column, format!("{text:?}: expected a date as {}", formats.join(" or "))))
    }

    fn channel_transaction(
        &self,
        file: &Arc<str>,
        unknown: &mut BTreeMap<String, (u64, u64)>,
        problems: &mut Vec<FileProblem>,
    ) -> Result<ChannelTransaction, TabularError> {
        let p = self.profile;
        let c = &p.columns;
        let a = &p.amounts;
        let type_code = self.text(&c.type_code).unwrap_or_default();
        let by_prefix = || {
            p.kind_prefixes
                .iter()
                .filter(|(prefix, _)| type_code.starts_with(prefix.as_str()))
                .max_by_key(|(prefix, _)| prefix.len())
                .map(|(_, k)| *k)
        };
        let cached = match &*self.cols.last_kind.borrow() {
            Some((code, kind)) if *code == type_code => Some(*kind),
            _ => None,
        };
        let found = match cached {
            Some(kind) => kind,
            None => {
                let kind = p.kinds.get(type_code.as_str()).copied().or_else(by_prefix);
                *self.cols.last_kind.borrow_mut() = Some((type_code.clone(), kind));
                kind
            }
        };
        let kind = match found {
            Some(k) => k,
            None => match p.kind_default {
                Some(k) => k,
                None => {
                    let e = unknown.entry(type_code.to_string()).or_insert((0, self.line));
                    e.0 += 1;
                    ChannelKind::Other
                }
            },
        };
        let settlement_currency = self.currency(&c.settlement_currency, "settlement currency")?.ok_or_else(|| {
            self.error(
                c.settlement_currency.as_ref().map(|s| s.names()[0]).unwrap_or(""),
                "is empty: the settlement currency is required",
            )
        })?;
        let batch_id = self.id(&c.batch_id)?;
        let batch_level = c.batch_level_when_empty.as_ref().is_some_and(|col| self.cell(col).is_none());
        let transaction_id = match self.id(&c.transaction_id)? {
            Some(id) if !batch_level => id,
            _ => settle_core::format_compact!(
                "{}-{}-L{}",
                batch_id.as_deref().unwrap_or("nobatch"),
                if type_code.is_empty() { "row" } else { &type_code },
                self.line
            ),
        };
        // Batch-level rows have no order: what their reference columns hold is batch text.
        let merchant_reference = if batch_level { None } else { self.id(&c.merchant_reference)? };
        // Fee components and the fee, as costs (positive).
        let fee_sign = |value: Decimal, source: Option<&AmountSource>| match (p.amounts.fee_sign, source) {
            (FeeSign::Cost, Some(AmountSource::Signed { .. }) | None) => value,
            // Debit/credit and indicator sources give the balance effect: a cost is negative there.
            _ => -value,
        };
        // Exact capacity: a Vec's first push reserves four, and ten million rows keep what they hold.
        let present = a.fee_components.values().filter(|column| self.cell(column).is_some()).count();
        let mut fee_components: Vec<(Text, Decimal)> = Vec::with_capacity(present);
        for (name, column) in &a.fee_components {
            if let Some(text) = self.cell(column) {
                let value = self.number(column, text, settlement_currency)?;
                fee_components.push((Text::from(name.as_str()), fee_sign(value, None)));
            }
        }
        let components_sum: Option<Decimal> =
            (!fee_components.is_empty()).then(|| fee_components.iter().map(|(_, v)| *v).sum());
        let fee = match &a.fee {
            Some(source) => self.amount(source, settlement_currency)?.map(|v| fee_sign(v, Some(source))),
            None => components_sum,
        };
        let gross = a.gross.as_ref().map(|s| self.amount(s, settlement_currency)).transpose()?.flatten();
        let net = a.net.as_ref().map(|s| self.amount(s, settlement_currency)).transpose()?.flatten();
        let (gross, fee, net) = match (gross, fee, net) {
            (Some(g), Some(f), Some(n)) => {
                if g - f != n {
                    problems.push(FileProblem {
                        check: "net_mismatch",
                        line: self.line,
                        message: format!("gross {g} − fee {f} = {} but net is {n} ({settlement_currency})", g - f),
                    });
                }
                (g, f, n)
            }
            (Some(g), Some(f), None) => (g, f, g - f),
            (Some(g), None, Some(n)) => (g, g - n, n),
            (None, f, Some(n)) => {
                let f = f.unwrap_or_default();
                (n + f, f, n)
            }
            (Some(g), None, None) => (g, Decimal::ZERO, g),
            (None, _, None) => {
                let columns: Vec<&str> =
                    [&a.gross, &a.net].into_iter().flatten().flat_map(AmountSource::columns).collect();
                return Err(self.error(
                    columns.first().copied().unwrap_or(""),
                    format!("no amount: expected a value in {}", columns.join(" or ")),
                ));
            }
        };
        if let (Some(components), Some(_)) = (components_sum, &a.fee)
            && components != fee
        {
            problems.push(FileProblem {
                check: "net_mismatch",
                line: self.line,
                message: format!("fee {fee} but its components sum to {components}"),
            });
        }
        let presentment_currency = self.currency(&c.presentment_currency, "presentment currency")?;
        let presentment_amount = match (&a.presentment, presentment_currency) {
            (Some(source), Some(currency)) => self.amount(source, currency)?,
            _ => None,
        };
        let exchange_rate = match self.field(&c.exchange_rate) {
            Some((column, text)) => {
                let text = text.as_ref();
                static XXX: std::sync::LazyLock<Currency> =
                    std::sync::LazyLock::new(|| Currency::from_code("XXX").expect("XXX is in the table"));
                let xxx = *XXX;
                let rate = parse_amount(text, self.format(), xxx, ExtraDigits::Allow)
                    .map_err(|e| self.error(column, e.to_string()))?
                    .amount();
                if rate <= Decimal::ZERO {
                    return Err(self.error(column, format!("{text:?}: a rate must be greater than zero")));
                }
                Some(rate)
            }
            None => None,
        };
        // The applied rate must turn the presentment amount into the gross (to the settlement currency's
        // minor units, half-even).
        if let (Some(rate), Some(presented)) = (exchange_rate, presentment_amount) {
            let units = settlement_currency.minor_units().map(u32::from);
            // In 64-bit integers when they suffice (most rows), else through `Decimal`.
            let fast = units.zip(settle_core::fixed::magnitude_u64(rate)).and_then(|(units, factor)| {
                settle_core::fixed::multiply_rounded(presented, factor, rate.scale(), units, RoundingMode::HalfEven)
            });
            let converted = match fast {
                Some((rounded, _, _)) => Some(Ok(Money::new(rounded, settlement_currency))),
                None => presented
                    .checked_mul(rate)
                    .map(|v| Money::new(v, settlement_currency).round_to_minor(RoundingMode::HalfEven)),
            };
            if let Some(Ok(rounded)) = converted {
                let units = units.unwrap_or(28);
                let gross_rounded = if gross.scale() > units { gross.round_dp(units) } else { gross };
                if rounded.amount() != gross_rounded {
                    problems.push(FileProblem {
                        check: "rate_mismatch",
                        line: self.line,
                        message: format!(
                            "presentment {presented} × rate {rate} = {} but gross is {gross} {settlement_currency}",
                            rounded.amount()
                        ),
                    });
                }
            }
        }
        let (booking_date, booked_at_utc, booked_zone) = self.booked("channel transaction")?;
        let cell = |position: usize| self.record.get(position).map(trim_cell).filter(|v| !v.is_empty());
        let present = self.cols.metadata.iter().filter(|(_, position)| cell(*position).is_some()).count();
        let mut metadata: Vec<(Text, Text)> = Vec::with_capacity(present);
        for (name, position) in &self.cols.metadata {
            if let Some(value) = self.record.get(*position).map(trim_cell).filter(|v| !v.is_empty()) {
                metadata.push((Text::from(name.as_str()), Text::from(value)));
            }
        }
        Ok(ChannelTransaction {
            channel: self.text(&c.channel).or_else(|| p.channel.as_deref().map(Text::from)).unwrap_or_default(),
            transaction_id,
            merchant_reference,
            kind,
            channel_type: type_code,
            gross,
            fee,
            net,
            settlement_currency,
            presentment_amount,
            presentment_currency: presentment_amount.and(presentment_currency),
            exchange_rate,
            batch_id,
            booking_date,
            booked_at_utc,
            booked_zone,
            payout_date: self.date_of(&c.payout_date)?,
            merchant_account: self.text(&c.merchant_account),
            related_transaction_id: self.id(&c.related_transaction_id)?,
            fee_components,
            metadata,
            provenance: Provenance::line(Arc::clone(file), self.line),
        })
    }

    fn order(&self, file: &Arc<str>) -> Result<Order, TabularError> {
        let p = self.profile;
        let c = &p.columns;
        let first = first_column;
        let required = |columns: &Option<Columns>, what: &str| -> Result<Text, TabularError> {
            self.id(columns)?
                .ok_or_else(|| self.error(first(columns), format!("is empty: the order's {what} is required")))
        };
        let order_id = required(&c.order_id, "id")?;
        let beneficiary_id = required(&c.beneficiary_id, "beneficiary")?;
        let channel = match self.text(&c.channel) {
            Some(channel) => channel,
            None if c.channel.is_none() => p.channel.as_deref().map(Text::from).unwrap_or_default(),
            None => return Err(self.error(first(&c.channel), "is empty: the order's channel is required")),
        };
        let currency = self
            .currency(&c.currency, "currency")?
            .ok_or_else(|| self.error(first(&c.currency), "is empty: the order's currency is required"))?;
        let Some(source) = &p.amounts.amount else { unreachable!("validated") };
        let amount = self
            .amount(source, currency)?
            .ok_or_else(|| self.error(source.columns()[0], "is empty: the order's amount is required"))?;
        let kind = match self.field(&c.type_code) {
            None if c.type_code.is_some() => {
                return Err(self.error(first(&c.type_code), "is empty: the order's kind is required"));
            }
            None if amount < Decimal::ZERO => OrderKind::Refund,
            None => OrderKind::Sale,
            Some((column, code)) => *p.order_kinds.get(code.as_ref()).ok_or_else(|| {
                let known: Vec<&str> = p.order_kinds.keys().map(String::as_str).collect();
                self.error(
                    column,
                    format!(
                        "{code:?} is not an order kind of profile {}: expected one of {}",
                        p.name,
                        known.join(", ")
                    ),
                )
            })?,
        };
        // A refund may be written as a positive amount; it reduces what the order brought in.
        let amount = match kind {
            OrderKind::Refund if amount > Decimal::ZERO => -amount,
            _ => amount,
        };
        let amount_column = source.columns()[0];
        match kind {
            OrderKind::Sale if amount <= Decimal::ZERO => {
                return Err(self.error(amount_column, format!("{amount} for a sale: expected an amount > 0")));
            }
            OrderKind::Refund if amount == Decimal::ZERO => {
                return Err(self.error(amount_column, "0 for a refund: expected an amount other than 0"));
            }
            _ => {}
        }
        let (order_date, _, _) = self.booked("order")?;
        Ok(Order {
            order_id: Text::from(order_id),
            kind,
            beneficiary_id: Text::from(beneficiary_id),
            channel: Text::from(channel),
            order_date,
            amount,
            currency,
            provenance: Provenance::line(Arc::clone(file), self.line),
        })
    }

    fn beneficiary(&self, file: &Arc<str>) -> Result<Beneficiary, TabularError> {
        let c = &self.profile.columns;
        let column = first_column;
        let required = |columns: &Option<Columns>, what: &str| -> Result<Text, TabularError> {
            self.text(columns)
                .ok_or_else(|| self.error(column(columns), format!("is empty: the beneficiary's {what} is required")))
        };
        let beneficiary_id = required(&c.beneficiary_id, "id")?;
        let legal_name = required(&c.legal_name, "legal name")?;
        let country = required(&c.country, "country")?;
        let iban: String =
            self.text(&c.iban).map(|t| t.chars().filter(|ch| !ch.is_whitespace()).collect()).unwrap_or_default();
        let bic = self.text(&c.bic);
        let (account_number, clearing_system, bank_code) =
            (self.text(&c.account_number), self.text(&c.clearing_system), self.text(&c.bank_code));
        let other = [account_number.as_deref(), clearing_system.as_deref(), bank_code.as_deref()];
        if let Some((field, message)) = crate::beneficiary_problem(&country, &iban, bic.as_deref(), other) {
            let columns = match field {
                "country" => &c.country,
                "iban" if c.iban.is_some() => &c.iban,
                "iban" | "account_number" => &c.account_number,
                "clearing_system" => &c.clearing_system,
                "bank_code" => &c.bank_code,
                _ => &c.bic,
            };
            return Err(self.error(column(columns), message));
        }
        let (schedule_text, plan_text, percent_text, days_text) = (
            self.text(&c.schedule),
            self.text(&c.fee_plan),
            self.text(&c.reserve_percent),
            self.text(&c.reserve_release_business_days),
        );
        let (schedule, fee_plan, reserve_percent, reserve_release_business_days) = crate::beneficiary_terms(
            schedule_text.as_deref(),
            plan_text.as_deref(),
            percent_text.as_deref(),
            days_text.as_deref(),
        )
        .map_err(|(field, message)| {
            let columns = match field {
                "schedule" => &c.schedule,
                "reserve_percent" => &c.reserve_percent,
                _ => &c.reserve_release_business_days,
            };
            self.error(column(columns), message)
        })?;
        let payout_currency = self
            .currency(&c.payout_currency, "payout currency")?
            .ok_or_else(|| self.error(column(&c.payout_currency), "is empty: the payout currency is required"))?;
        Ok(Beneficiary {
            beneficiary_id: beneficiary_id.to_string(),
            legal_name: legal_name.to_string(),
            country: country.to_string(),
            iban,
            bic: bic.map(|b| b.to_string()),
            account_number: account_number.map(|t| t.to_string()),
            clearing_system: clearing_system.map(|t| t.to_string()),
            bank_code: bank_code.map(|t| t.to_string()),
            payout_currency,
            street: self.text(&c.street).map(|t| t.to_string()),
            building_number: self.text(&c.building_number).map(|t| t.to_string()),
            post_code: self.text(&c.post_code).map(|t| t.to_string()),
            town: self.text(&c.town).map(|t| t.to_string()),
            minimum_payout: match self.text(&c.minimum_payout) {
                Some(text) => {
                    Some(text.parse::<Decimal>().ok().filter(|m| !m.is_sign_negative()).ok_or_else(|| {
                        self.error(column(&c.minimum_payout), format!("{text:?}: expected an amount ≥ 0"))
                    })?)
                }
                None => None,
            },
            schedule,
            fee_plan,
            reserve_percent,
            reserve_release_business_days,
            provenance: Provenance::line(Arc::clone(file), self.line),
        })
    }

    fn bank_entry(&self, file: &Arc<str>) -> Result<BankEntry, TabularError> {
        let p = self.profile;
        let c = &p.columns;
        let account_id = self.text(&c.account_id).ok_or_else(|| {
            self.error(c.account_id.as_ref().map(|s| s.names()[0]).unwrap_or(""), "is empty: the account is required")
        })?;
        let currency = self.currency(&c.currency, "currency")?.ok_or_else(|| {
            self.error(c.currency.as_ref().map(|s| s.names()[0]).unwrap_or(""), "is empty: the currency is required")
        })?;
        let Some(source) = &p.amounts.amount else { unreachable!("validated") };
        let signed = self
            .amount(source, currency)?
            .ok_or_else(|| self.error(source.columns()[0], "is empty: the amount is required"))?;
        let (booking_date, _, _) = self.booked("bank entry")?;
        let value_date = self.date_of(&c.value_date)?.unwrap_or(booking_date);
        let entry_id = match self.id(&c.entry_id)? {
            Some(id) => id,
            None => settle_core::format_compact!("{account_id}-{}-L{}", booking_date, self.line),
        };
        Ok(BankEntry {
            account_id,
            entry_id,
            booking_date,
            value_date,
            direction: if signed < Decimal::ZERO { Direction::Debit } else { Direction::Credit },
            amount: signed.abs(),
            currency,
            reference: self.text(&c.reference),
            counterparty_name: self.text(&c.counterparty_name),
            remittance_info: self.text(&c.remittance_info),
            status: EntryStatus::Booked,
            reversal: false,
            bank_transaction_code: self.text(&c.type_code),
            details: Vec::new(),
            provenance: Provenance::line(Arc::clone(file), self.line),
        })
    }
}

/// A zone as reports write it: an abbreviation (`CET`, `PDT`), an offset (`+01:00`), `UTC`, or an IANA
/// name (`Europe/Berlin`, resolved with the tz database built into the binary, so every host agrees).
pub fn zone_offset(zone: &str) -> Result<jiff::tz::TimeZone, String> {
    let hours = |h: i8| jiff::tz::TimeZone::fixed(jiff::tz::Offset::constant(h));
    let z = zone.trim();
    let fixed = match z.to_ascii_uppercase().as_str() {
        "UTC" | "GMT" | "Z" | "UT" => Some(hours(0)),
        "CET" | "MEZ" | "BST" | "WAT" => Some(hours(1)),
        "CEST" | "MESZ" | "EET" | "SAST" => Some(hours(2)),
        "EEST" | "MSK" => Some(hours(3)),
        "PST" => Some(hours(-8)),
        "PDT" | "MST" => Some(hours(-7)),
        "MDT" | "CST" => Some(hours(-6)),
        "CDT" | "EST" => Some(hours(-5)),
        "EDT" => Some(hours(-4)),
        "JST" | "KST" => Some(hours(9)),
        "AEST" => Some(hours(10)),
        "AEDT" => Some(hours(11)),
        "SGT" | "HKT" | "AWST" => Some(hours(8)),
        _ => None,
    };
    if let Some(tz) = fixed {
        return Ok(tz);
    }
    let b = z.as_bytes();
    if b.len() >= 5 && matches!(b[0], b'+' | b'-') {
        let digits: String = z[1..].chars().filter(char::is_ascii_digit).collect();
        if digits.len() == 4 && z[1..].chars().all(|c| c.is_ascii_digit() || c == ':') {
            let h: i32 = digits[..2].parse().unwrap_or(99);
            let m: i32 = digits[2..].parse().unwrap_or(99);
            let seconds = (h * 3600 + m * 60) * if b[0] == b'-' { -1 } else { 1 };
            if h <= 18
                && m < 60
                && let Ok(offset) = jiff::tz::Offset::from_seconds(seconds)
            {
                return Ok(jiff::tz::TimeZone::fixed(offset));
            }
        }
    }
    if z.contains('/')
        && let Ok(tz) = jiff::tz::TimeZone::get(z)
    {
        return Ok(tz);
    }
    Err(format!(
        "{z:?}: unknown time zone; expected an IANA name (Europe/Berlin), an offset (+01:00) or an abbreviation such as CET, CEST, PST, PDT, UTC"
    ))
}

/// The file's check across orders or beneficiaries: an id appears once.
fn check_unique_ids<'r>(
    rows: impl ExactSizeIterator<Item = (&'r str, &'r Provenance)>,
    what: &str,
    problems: &mut Vec<FileProblem>,
) {
    let mut seen: std::collections::HashMap<&str, u64, foldhash::fast::FixedState> =
        std::collections::HashMap::with_capacity_and_hasher(rows.len(), foldhash::fast::FixedState::default());
    for (id, provenance) in rows {
        let line = provenance.line_number();
        if let Some(first) = seen.get(id) {
            problems.push(FileProblem {
                check: "duplicate_id",
                line,
                message: format!("{what} id {id:?} already on line {first}"),
            });
        } else {
            seen.insert(id, line);
        }
    }
}

/// A hasher for keys that are already hashes (`write_u64` keeps the value; other writes mix bytes in).
#[derive(Default)]
struct PreHashed(u64);

impl std::hash::Hasher for PreHashed {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(*b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_u64(&mut self, value: u64) {
        self.0 = value;
    }
}

/// A channel row as a report's checks see it: kept in full, or in brief.
#[derive(Clone, Copy)]
enum Seen<'a> {
    Full(&'a ChannelTransaction),
    Brief(&'a ForeignRow),
}

impl<'a> Seen<'a> {
    fn key(self) -> (&'a str, &'a str) {
        match self {
            Seen::Full(t) => (&t.channel, &t.transaction_id),
            Seen::Brief(b) => (&b.channel, &b.transaction_id),
        }
    }

    fn line(self) -> u64 {
        match self {
            Seen::Full(t) => t.provenance.line_number(),
            Seen::Brief(b) => b.provenance.line_number(),
        }
    }

    /// (batch, payout row?, settlement currency, net)
    fn batch(self) -> (Option<&'a Text>, bool, Currency, Decimal) {
        match self {
            Seen::Full(t) => (t.batch_id.as_ref(), t.kind.is_payout(), t.settlement_currency, t.net),
            Seen::Brief(b) => (b.batch_id.as_ref(), b.kind.is_payout(), b.settlement_currency, b.net),
        }
    }
}

/// The file's checks across rows: per payout batch, the rows sum to the payout row; duplicate ids.
/// `id_hashes[i]` is `id_hash` of row `i` (`rows(i)`, in file order); `runs` are the rows' batch runs in
/// file order.
fn check_channel_file<'a>(
    rows: &dyn Fn(usize) -> Seen<'a>,
    id_hashes: &[u64],
    runs: Vec<BatchRun>,
    problems: &mut Vec<FileProblem>,
) {
    // Hash maps: only looked up, never iterated, so their order cannot reach an output. The main one
    // holds the hash of (channel, id) → first row (16 bytes an entry; a row is read only when another
    // has its hash); ids whose hash another id has are told apart exactly in `colliding`.
    let mut first_by_hash: std::collections::HashMap<u64, usize, std::hash::BuildHasherDefault<PreHashed>> =
        std::collections::HashMap::with_capacity_and_hasher(id_hashes.len(), Default::default());
    let mut colliding: std::collections::HashMap<(&str, &str), u64, foldhash::fast::FixedState> =
        std::collections::HashMap::with_hasher(foldhash::fast::FixedState::default());
    let mut duplicated_net: Vec<(Text, Currency, Decimal)> = Vec::new();
    for (index, hash) in id_hashes.iter().enumerate() {
        let first = match first_by_hash.entry(*hash) {
            std::collections::hash_map::Entry::Vacant(vacant) => {
                vacant.insert(index);
                continue;
            }
            std::collections::hash_map::Entry::Occupied(occupied) => rows(*occupied.get()),
        };
        let tx = rows(index);
        let key = tx.key();
        let first_line = if first.key() == key {
            Some(first.line())
        } else {
            colliding.entry(first.key()).or_insert(first.line());
            match colliding.entry(key) {
                std::collections::hash_map::Entry::Occupied(seen) => Some(*seen.get()),
                std::collections::hash_map::Entry::Vacant(vacant) => {
                    vacant.insert(tx.line());
                    None
                }
            }
        };
        if let Some(first) = first_line {
            problems.push(FileProblem {
                check: "duplicate_id",
                line: tx.line(),
                message: format!("transaction id {:?} already on line {first}", key.1),
            });
            // A re-sent row is rejected by reconciliation and is not in its batch twice: the channel's
            // payout row does not count it, nor does the batch sum.
            if let (Some(batch), false, currency, net) = tx.batch() {
                duplicated_net.push((batch.clone(), currency, net));
            }
        }
    }
    // (batch, currency) → (Σ net of the rows, Σ net of payout rows, payout row lines), from the runs.
    let mut batches: BTreeMap<(Text, Currency), (Decimal, Decimal, Vec<u64>)> = BTreeMap::new();
    for run in runs {
        let b = batches.entry((run.batch, run.currency)).or_default();
        b.0 += run.rows_sum;
        b.1 += run.payout_sum;
        b.2.extend(run.payout_lines);
    }
    for (batch, currency, net) in duplicated_net {
        if let Some(b) = batches.get_mut(&(batch, currency)) {
            b.0 -= net;
        }
    }
    for ((batch, currency), (rows_sum, payout_sum, lines)) in batches {
        if let Some(first) = lines.first()
            && rows_sum + payout_sum != Decimal::ZERO
        {
            problems.push(FileProblem {
                check: "batch_sum",
                line: *first,
                message: format!(
                    "payout batch {batch}: its rows sum to {rows_sum} {currency} but the payout row pays out {}",
                    -payout_sum
                ),
            });
        }
    }
}

/// Picks the profile for a file by its header (`--profile auto`): every distinct way the profiles find
/// their header (preamble lines, a header row's first cell) is tried. Unknown or ambiguous headers are an
/// error listing the closest profiles and the columns that differ.
pub fn detect_profile<'p>(path: &str, bytes: &[u8], profiles: &[&'p Profile]) -> Result<&'p Profile, TabularError> {
    if crate::parquet_input::is_parquet(bytes) {
        // A Parquet file's header is its column names.
        let file = crate::parquet_input::open(path, bytes)?;
        let header: Vec<&str> = file.columns.iter().map(String::as_str).collect();
        return crate::profile::detect(profiles, &header).map_err(|message| TabularError {
            path: path.to_string(),
            line: None,
            column: None,
            message,
        });
    }
    let mut ways: Vec<(usize, Option<&str>)> =
        profiles.iter().map(|p| (p.csv.skip_lines, p.csv.header_first_cell.as_deref())).collect();
    ways.sort();
    ways.dedup();
    // Decoded once for every way of finding the header.
    let text = detection_text(path, bytes);
    let mut found: Vec<&Profile> = Vec::new();
    let mut first_error = None;
    for (skip, first_cell) in ways {
        let group: Vec<&'p Profile> = profiles
            .iter()
            .copied()
            .filter(|p| p.csv.skip_lines == skip && p.csv.header_first_cell.as_deref() == first_cell)
            .collect();
        let Ok(header) = header_in(path, &text, skip, first_cell) else { continue };
        let header: Vec<&str> = header.iter().map(String::as_str).collect();
        match crate::profile::detect(&group, &header) {
            Ok(p) => found.push(p),
            Err(e) if skip == 0 && first_cell.is_none() => first_error = Some(e),
            Err(_) => {}
        }
    }
    match found.as_slice() {
        [one] => Ok(one),
        [] => Err(TabularError {
            path: path.to_string(),
            line: Some(1),
            column: None,
            message: first_error.unwrap_or_else(|| "no profile fits this file".into()),
        }),
        several => Err(TabularError {
            path: path.to_string(),
            line: Some(1),
            column: None,
            message: format!(
                "the file fits several profiles: {}; name one",
                several.iter().map(|p| p.name.as_str()).collect::<Vec<_>>().join(", ")
            ),
        }),
    }
}

#[cfg(test)]
mod check_tests {
    use super::*;

    fn tx(id: &str, line: u64) -> ChannelTransaction {
        let usd = Currency::from_code("USD").unwrap();
        let day = settle_core::parse_date("2026-10-30").unwrap();
        ChannelTransaction::new(
            "adyen",
            id,
            ChannelKind::Charge,
            Decimal::ONE,
            Decimal::ZERO,
            usd,
            day,
            Provenance::line("a.csv", line),
        )
    }

    /// Ids that share a hash are told apart exactly: only true duplicates are reported, each against
    /// the first row with its id.
    #[test]
    fn ids_sharing_a_hash_are_compared_exactly() {
        let rows = [tx("X", 2), tx("Y", 3), tx("X", 4), tx("Y", 5), tx("Z", 6)];
        let mut problems = Vec::new();
        // Every row given one hash: the worst case of collisions.
        check_channel_file(&|i| Seen::Full(&rows[i]), &[7; 5], Vec::new(), &mut problems);
        let found: Vec<(u64, &str)> = problems.iter().map(|p| (p.line, p.message.as_str())).collect();
        assert_eq!(
            found,
            [(4, "transaction id \"X\" already on line 2"), (5, "transaction id \"Y\" already on line 3")]
        );
        // With real hashes: the same answer.
        let mut again = Vec::new();
        let hashes: Vec<u64> = rows.iter().map(id_hash).collect();
        check_channel_file(&|i| Seen::Full(&rows[i]), &hashes, Vec::new(), &mut again);
        assert_eq!(again, problems);
    }
}
