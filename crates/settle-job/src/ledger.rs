//! The settlement ledger: the memory of what every night of every job writing into one output root
//! admitted, keyed by the record's identity (order id; channel and transaction id; account and entry id),
//! so that the same money is never settled twice — not by a rerun under another business date, not by a
//! report sent again or an overlapping export, not by a second job over the same inputs.
//!
//! Each completed night leaves one immutable key file in its run directory (`ledger.keys`, an output the
//! manifest lists, archived by content like the inputs). The manifest's `ledger` object records the
//! file's record count and the XXH3-128 of each of its two sections, so a reader verifies what it reads
//! while it streams it (an XXH3 pass costs little beside the read; the sha256 in the manifest's outputs
//! stays what `settle verify` checks).
//!
//! Before matching, a night reads the key files of every completed night in its window — its own job's
//! nights before it and every other job's nights, dated no more than `output.ledger_horizon_days` before
//! it — and checks tonight's records against them: tonight's keys sorted once, each file merge-joined
//! against them as it streams (`check`). A record of tonight found there is not admitted
//! (`already_settled`, or `settled_record_changed` when its content differs), when the ledger says it was
//! settled on an earlier night of this job, or another job holds it at all (settled or open). A record
//! this job only holds open is the carried open item's business (it is admitted from the carry, and
//! tonight's copy is a duplicate). The files a night read are listed in its manifest (role `ledger`,
//! with their sha256), so a replay reads the same ones from the archive.
//!
//! File layout (little-endian): a 32-byte header (`settle-ledger-v1`, record count u64, 8 bytes zero),
//! then the keys section (count × u64, ascending), then the rest section (count × u64, in key order:
//! identity check u32 << 32 | content hash u24 << 8 | flags u8). Identity is XXH3-128 of the record's
//! kind and id: the key is its high 64 bits, the check the next 32 (96 bits in all: two different ids
//! alike in all of them is a chance of about 10^-13 per night at 10^7 records against a full window).
//! Flags: bits 0–1 the kind (order, channel transaction, bank entry), bit 2 set when the record left the
//! open items that night (matched through, or written off by age) rather than being carried.

use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use settle_core::{BankEntry, ChannelTransaction, Date, ForeignRow, Order};
use settle_recon::{Known, KnownNote, KnownReason};
use xxhash_rust::xxh3::{Xxh3, xxh3_64, xxh3_128};

/// The key file's name in a run directory.
pub const FILE: &str = "ledger.keys";
const MAGIC: &[u8; 16] = b"settle-ledger-v1";
const HEADER: u64 = 32;
/// Threads that stream the window's key files at once.
const SCAN_STREAMS: usize = 6;
/// How far back a night looks by default: 50 calendar days, more than 35 TARGET2 business nights.
pub const DEFAULT_HORIZON_DAYS: u32 = 50;

/// The first day a night dated `date` looks back to: `horizon_days` before it.
pub fn horizon_start(date: Date, horizon_days: u32) -> Date {
    date.checked_sub(jiff::Span::new().days(i64::from(horizon_days))).unwrap_or(Date::MIN)
}

/// The record count of a key file's 32-byte header, or why it is not one.
fn header_count(header: &[u8]) -> Result<u64, &'static str> {
    if header.len() < HEADER as usize || &header[..16] != MAGIC {
        return Err("not a settle ledger key file (version 1)");
    }
    Ok(u64::from_le_bytes(header[16..24].try_into().expect("8 bytes")))
}

/// A record's kind, as the flags write it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Order = 0,
    Channel = 1,
    Bank = 2,
}

const SETTLED: u8 = 1 << 2;

/// Why the ledger could not be read or written. Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("settlement ledger {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("settlement ledger {path}: {message}")]
    Damaged { path: String, message: String },
    #[error("{dir} was written without a settlement ledger (its manifest has no `ledger`)")]
    NoLedger { dir: String },
    #[error("the night in {dir} is incomplete (no manifest.json): it may have written payout files")]
    Incomplete { dir: String },
    #[error("{0}")]
    Archive(#[from] crate::archive::ArchiveError),
}

impl LedgerError {
    pub fn hint(&self) -> Option<String> {
        match self {
            LedgerError::Damaged { .. } => Some(
                "the file differs from what its night's manifest recorded (damaged, or restored from another copy): restore that run directory from a backup, or recompute that night with `settle run --force`"
                    .into(),
            ),
            LedgerError::Io { .. } => Some(
                "a night's key file is missing or unreadable: restore that run directory from a backup (`settle verify` on it lists what is missing), or recompute that night with `settle run --force`; until then settle cannot prove tonight safe"
                    .into(),
            ),
            LedgerError::NoLedger { .. } => Some(
                "recompute that night with `settle run --force` so it records what it settled; until then settle cannot prove tonight safe"
                    .into(),
            ),
            LedgerError::Incomplete { .. } => Some(
                "complete that night first: run its command again (without --force); a night that crashed is completed with the same bytes"
                    .into(),
            ),
            _ => None,
        }
    }
}

/// One night's key file, as its manifest describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NightFile {
    pub job: String,
    pub date: Date,
    /// `<job>/<date>/ledger.keys`, relative to the output root: the manifest's path, and the exceptions'.
    pub path: String,
    pub records: u64,
    pub keys_xxh3: String,
    pub rest_xxh3: String,
    /// The file's sha256 as its night's manifest lists it (the archive's key).
    pub sha256: String,
}

/// The manifest's input entry for a key file a night read (role `ledger`).
pub fn input_json(file: &NightFile) -> serde_json::Value {
    serde_json::json!({
        "role": "ledger",
        "path": file.path,
        "sha256": file.sha256,
        "job": file.job,
        "business_date": file.date.to_string(),
        "records": file.records,
        "keys_xxh3": file.keys_xxh3,
        "rest_xxh3": file.rest_xxh3,
    })
}

/// The key files a recorded night read, from its manifest's inputs (for a replay).
pub fn from_manifest_inputs(inputs: &[serde_json::Value]) -> Option<Vec<NightFile>> {
    let mut files = Vec::new();
    for input in inputs.iter().filter(|i| i["role"] == "ledger") {
        files.push(NightFile {
            job: input["job"].as_str()?.to_string(),
            date: settle_core::parse_date(input["business_date"].as_str()?).ok()?,
            path: input["path"].as_str()?.to_string(),
            records: input["records"].as_u64()?,
            keys_xxh3: input["keys_xxh3"].as_str()?.to_string(),
            rest_xxh3: input["rest_xxh3"].as_str()?.to_string(),
            sha256: input["sha256"].as_str()?.to_string(),
        });
    }
    Some(files)
}

/// The bytes a record's hashes are taken over: each field length-prefixed, decimals as their normalized
/// mantissa and scale (not their text), so the hashes do not depend on how a file wrote an amount. One
/// scratch buffer per thread: hashing ten million records allocates nothing per record.
#[derive(Default)]
pub struct Hasher {
    bytes: Vec<u8>,
}

impl Hasher {
    fn field(&mut self, field: &[u8]) -> &mut Hasher {
        self.bytes.extend_from_slice(&(field.len() as u32).to_le_bytes());
        self.bytes.extend_from_slice(field);
        self
    }

    fn text(&mut self, text: &str) -> &mut Hasher {
        self.field(text.as_bytes())
    }

    fn decimal(&mut self, d: settle_core::Decimal) -> &mut Hasher {
        let d = d.normalize();
        let mut cell = [0u8; 20];
        cell[..16].copy_from_slice(&d.mantissa().to_le_bytes());
        cell[16..].copy_from_slice(&d.scale().to_le_bytes());
        self.field(&cell)
    }

    /// A record's identity, (key, check): the high 64 and the next 32 bits of XXH3-128 over its kind
    /// and id parts.
    fn identity(&mut self, kind: Kind, parts: [&str; 2]) -> (u64, u32) {
        self.bytes.clear();
        self.bytes.push(kind as u8);
        self.text(parts[0]).text(parts[1]);
        let hash = xxh3_128(&self.bytes);
        ((hash >> 64) as u64, (hash >> 32) as u32)
    }

    fn finish_content(&mut self) -> u32 {
        (xxh3_64(&self.bytes) & 0x00ff_ffff) as u32
    }

    pub fn order_identity(&mut self, o: &Order) -> (u64, u32) {
        self.identity(Kind::Order, [&o.order_id, ""])
    }

    /// What must not change about a settled order: kind, beneficiary, channel, amount and currency.
    pub fn order_content(&mut self, o: &Order) -> u32 {
        self.bytes.clear();
        self.text(o.kind.as_str()).text(&o.beneficiary_id).text(&o.channel).decimal(o.amount).text(o.currency.code());
        self.finish_content()
    }

    pub fn channel_identity(&mut self, channel: &str, transaction_id: &str) -> (u64, u32) {
        self.identity(Kind::Channel, [channel, transaction_id])
    }

    /// Kind, order reference, gross, fee, net, settlement currency and batch.
    pub fn channel_content(&mut self, tx: &ChannelTransaction) -> u32 {
        self.bytes.clear();
        self.text(tx.kind.as_str())
            .text(tx.merchant_reference.as_deref().unwrap_or(""))
            .decimal(tx.gross)
            .decimal(tx.fee)
            .decimal(tx.net)
            .text(tx.settlement_currency.code())
            .text(tx.batch_id.as_deref().unwrap_or(""));
        self.finish_content()
    }

    pub fn bank_identity(&mut self, e: &BankEntry) -> (u64, u32) {
        self.identity(Kind::Bank, [&e.account_id, &e.entry_id])
    }

    /// Direction, amount, currency and reference.
    pub fn bank_content(&mut self, e: &BankEntry) -> u32 {
        self.bytes.clear();
        self.text(e.direction.as_str())
            .decimal(e.amount)
            .text(e.currency.code())
            .text(e.reference.as_deref().unwrap_or(""));
        self.finish_content()
    }
}

/// One record of a night's key file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Entry {
    pub key: u64,
    pub rest: u64,
}

impl Entry {
    pub fn new((key, check): (u64, u32), content: u32, kind: Kind, settled: bool) -> Entry {
        let flags = kind as u8 | if settled { SETTLED } else { 0 };
        Entry { key, rest: (u64::from(check) << 32) | (u64::from(content & 0x00ff_ffff) << 8) | u64::from(flags) }
    }
    fn check(self) -> u32 {
        (self.rest >> 32) as u32
    }
    fn content(self) -> u32 {
        ((self.rest >> 8) & 0x00ff_ffff) as u32
    }
    fn settled(self) -> bool {
        self.rest & u64::from(SETTLED) != 0
    }
}

/// A night's key file: its bytes, and what its manifest records of it (`records`, the sections' XXH3).
pub struct Written {
    pub bytes: Vec<u8>,
    pub json: serde_json::Value,
}

fn hex128(h: u128) -> String {
    format!("{h:032x}")
}

/// The key file of `entries` (any order: sorted here).
pub fn write(mut entries: Vec<Entry>, horizon_days: u32) -> Written {
    entries.sort_unstable();
    entries.dedup();
    let n = entries.len();
    let mut bytes = Vec::with_capacity(HEADER as usize + 16 * n);
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&(n as u64).to_le_bytes());
    bytes.extend_from_slice(&[0u8; 8]);
    for e in &entries {
        bytes.extend_from_slice(&e.key.to_le_bytes());
    }
    for e in &entries {
        bytes.extend_from_slice(&e.rest.to_le_bytes());
    }
    let keys = &bytes[HEADER as usize..HEADER as usize + 8 * n];
    let rest = &bytes[HEADER as usize + 8 * n..];
    let json = serde_json::json!({
        "path": FILE,
        "records": n,
        "keys_xxh3": hex128(xxh3_128(keys)),
        "rest_xxh3": hex128(xxh3_128(rest)),
        "horizon_days": horizon_days,
    });
    Written { bytes, json }
}

/// What tonight admitted, as its key file records it: every order, channel row and bank entry of the
/// night's lists (carried and tonight's) that was not rejected, settled when tonight's open items do not
/// carry it on. `bank`: whether the bank entries are this part's to record (a partition's part records
/// the bank entries in partition 0 only).
pub fn night_entries(
    orders: &[Order],
    channel: &[ChannelTransaction],
    bank: &[BankEntry],
    recon: &settle_recon::ReconResult,
    open: &crate::carry::Open<'_>,
    with_bank: bool,
    hashes: &Hashes,
) -> Vec<Entry> {
    use crate::carry::rejected;
    let carried_on = |n: usize, index: &[u32]| {
        let mut set = vec![false; n];
        for &i in index {
            set[i as usize] = true;
        }
        set
    };
    // Hashed on every thread (ten million records a night); the file sorts them, so order is free.
    let open_orders = carried_on(orders.len(), &open.order_index);
    let mut entries: Vec<Entry> = orders
        .par_iter()
        .zip(&recon.orders)
        .enumerate()
        .filter(|(_, (_, place))| !rejected(**place))
        .map_init(Hasher::default, |h, (i, (o, _))| {
            let (identity, content) =
                if i >= hashes.carried.0 { hashes.get(i) } else { (h.order_identity(o), h.order_content(o)) };
            Entry::new(identity, content, Kind::Order, !open_orders[i])
        })
        .collect();
    drop(open_orders);
    let open_channel = carried_on(channel.len(), &open.channel_index);
    entries.par_extend(
        channel
            .par_iter()
            .zip(&recon.channel)
            .enumerate()
            .filter(|(_, (_, outcome))| !rejected(outcome.stage_a) && !rejected(outcome.stage_b))
            .map_init(Hasher::default, |h, (i, (tx, _))| {
                let (identity, content) = if i >= hashes.carried.1 {
                    hashes.get(hashes.orders + i)
                } else {
                    (h.channel_identity(&tx.channel, &tx.transaction_id), h.channel_content(tx))
                };
                Entry::new(identity, content, Kind::Channel, !open_channel[i])
            }),
    );
    if with_bank {
        let open_bank = carried_on(bank.len(), &open.bank_index);
        let mut h = Hasher::default();
        for (i, (e, place)) in bank.iter().zip(&recon.bank).enumerate() {
            if !rejected(*place) {
                let (identity, content) = if i >= hashes.carried.2 {
                    hashes.get(hashes.orders + hashes.channel + i)
                } else {
                    (h.bank_identity(e), h.bank_content(e))
                };
                entries.push(Entry::new(identity, content, Kind::Bank, !open_bank[i]));
            }
        }
    }
    entries
}

/// A key file read in key order: its entries one at a time (two buffered readers, one per section), for
/// merging many files without holding them.
pub struct Cursor {
    keys: std::io::BufReader<std::fs::File>,
    rest: std::io::BufReader<std::fs::File>,
    left: u64,
}

impl Cursor {
    pub fn open(path: &Path) -> Result<Cursor, String> {
        let open = || crate::fault::open(path).map_err(|e| format!("{}: {e}", path.display()));
        let mut keys = std::io::BufReader::with_capacity(1 << 16, open()?);
        let mut header = [0u8; HEADER as usize];
        keys.read_exact(&mut header).map_err(|e| format!("{}: header: {e}", path.display()))?;
        let count = header_count(&header).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut rest = std::io::BufReader::with_capacity(1 << 16, open()?);
        rest.seek(SeekFrom::Start(HEADER + 8 * count)).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(Cursor { keys, rest, left: count })
    }

    /// The next entry: (key, check, settled), or `None` at the end.
    pub fn next_entry(&mut self) -> Result<Option<(u64, u32, bool)>, String> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        let (mut k, mut r) = ([0u8; 8], [0u8; 8]);
        self.keys.read_exact(&mut k).map_err(|e| format!("keys section cut short: {e}"))?;
        self.rest.read_exact(&mut r).map_err(|e| format!("rest section cut short: {e}"))?;
        let entry = Entry { key: u64::from_le_bytes(k), rest: u64::from_le_bytes(r) };
        Ok(Some((entry.key, entry.check(), entry.settled())))
    }
}

/// The entries of a key file's bytes (a partition's part, read back by the merge).
pub fn read_entries(bytes: &[u8]) -> Result<Vec<Entry>, String> {
    let count = header_count(bytes)?;
    let n = usize::try_from(count).map_err(|_| format!("{count} records"))?;
    if (bytes.len() as u64 - HEADER) != count.saturating_mul(16) {
        return Err(format!("{count} records in {} bytes", bytes.len()));
    }
    let keys = &bytes[HEADER as usize..HEADER as usize + 8 * n];
    let rest = &bytes[HEADER as usize + 8 * n..];
    Ok(keys
        .chunks_exact(8)
        .zip(rest.chunks_exact(8))
        .map(|(k, r)| Entry {
            key: u64::from_le_bytes(k.try_into().expect("8 bytes")),
            rest: u64::from_le_bytes(r.try_into().expect("8 bytes")),
        })
        .collect())
}

/// Tonight's records to check, each with its identity: (key, check, index in one space — orders, then
/// channel rows followed by foreign rows, then bank entries), sorted by key.
pub struct Tonight {
    keys: Vec<(u64, u32, u32)>,
    /// `keys`' keys alone (8 bytes each): what the merge-join reads, fifty times a night.
    sorted: Vec<u64>,
    orders: u32,
    channel: u32,
    contents: Vec<u32>,
    /// Each fresh record's identity by its index (`carried` of each list are not hashed): the night's
    /// key file takes them from here instead of hashing them again (`Hashes`).
    by_index: (Vec<u64>, Vec<u32>),
    carried: (usize, usize, usize),
}

/// What `Tonight` hashed, kept for the night's key file once the check is done (tonight's sorted keys
/// freed): 16 bytes a record.
pub struct Hashes {
    by_index: (Vec<u64>, Vec<u32>),
    contents: Vec<u32>,
    orders: usize,
    channel: usize,
    carried: (usize, usize, usize),
}

impl Hashes {
    fn get(&self, index: usize) -> ((u64, u32), u32) {
        ((self.by_index.0[index], self.by_index.1[index]), self.contents[index])
    }
}

impl Tonight {
    /// Tonight's fresh records (`carried` of each list come first and are not checked: they are the
    /// job's own open items).
    pub fn new(
        orders: &[Order],
        channel: &[ChannelTransaction],
        foreign: &[ForeignRow],
        bank: &[BankEntry],
        carried: (usize, usize, usize),
    ) -> Tonight {
        let no = u32::try_from(orders.len()).expect("the engine takes at most u32::MAX records");
        let nc = u32::try_from(channel.len() + foreign.len()).expect("the engine takes at most u32::MAX records");
        let total = no as usize + nc as usize + bank.len();
        // (key, check, index) and the content hash of each fresh record, hashed on every thread.
        let fresh_orders =
            orders[carried.0.min(orders.len())..].par_iter().enumerate().map_init(Hasher::default, |h, (i, o)| {
                let (key, check) = h.order_identity(o);
                ((key, check, (carried.0 + i) as u32), h.order_content(o))
            });
        let fresh_channel =
            channel[carried.1.min(channel.len())..].par_iter().enumerate().map_init(Hasher::default, |h, (i, tx)| {
                let (key, check) = h.channel_identity(&tx.channel, &tx.transaction_id);
                ((key, check, no + (carried.1 + i) as u32), h.channel_content(tx))
            });
        // A foreign row's content is its owner partition's to compare: only whether it is known counts.
        let fresh_foreign =
            foreign.par_iter().enumerate().filter(|(_, r)| !r.carried).map_init(Hasher::default, |h, (i, row)| {
                let (key, check) = h.channel_identity(&row.channel, &row.transaction_id);
                ((key, check, no + (channel.len() + i) as u32), u32::MAX)
            });
        let fresh_bank =
            bank[carried.2.min(bank.len())..].par_iter().enumerate().map_init(Hasher::default, |h, (i, e)| {
                let (key, check) = h.bank_identity(e);
                ((key, check, no + nc + (carried.2 + i) as u32), h.bank_content(e))
            });
        let hashed: Vec<((u64, u32, u32), u32)> =
            fresh_orders.chain(fresh_channel).chain(fresh_foreign).chain(fresh_bank).collect();
        // Indexed by the record's index in the one space (only fresh records' are read).
        let mut contents = vec![0u32; total];
        let mut by_index = (vec![0u64; total], vec![0u32; total]);
        let mut keys = Vec::with_capacity(hashed.len());
        for (key, content) in hashed {
            contents[key.2 as usize] = content;
            by_index.0[key.2 as usize] = key.0;
            by_index.1[key.2 as usize] = key.1;
            keys.push(key);
        }
        keys.par_sort_unstable();
        let sorted = keys.iter().map(|k| k.0).collect();
        Tonight { keys, sorted, orders: no, channel: nc, contents, by_index, carried }
    }

    /// Tonight's hashes by record, its sorted keys freed.
    pub fn into_hashes(self) -> Hashes {
        Hashes {
            by_index: self.by_index,
            contents: self.contents,
            orders: self.orders as usize,
            channel: self.channel as usize,
            carried: self.carried,
        }
    }

    /// Tonight's keys hashed already, (key, check, index), with how many of the indices are orders and
    /// channel rows (the rest bank entries): for benchmarks of the check on synthetic keys.
    pub fn from_keys(mut keys: Vec<(u64, u32, u32)>, orders: u32, channel: u32) -> Tonight {
        let total = keys.iter().map(|k| k.2 as usize + 1).max().unwrap_or(0);
        keys.par_sort_unstable();
        let sorted = keys.iter().map(|k| k.0).collect();
        Tonight {
            keys,
            sorted,
            orders,
            channel,
            contents: vec![0; total],
            by_index: (Vec::new(), Vec::new()),
            carried: (0, 0, 0),
        }
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// A key file's bytes, from disk or (a replay) the archive.
pub enum Source<'a> {
    Disk(&'a Path),
    Archive(&'a crate::replay::Replay),
}

/// The window of a night's ledger check: the key files it reads, and whether completed nights older than
/// the horizon exist (then records dated before `from` cannot be proved unsettled).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    pub files: Vec<NightFile>,
    pub from: Date,
    pub older_nights: bool,
}

impl Window {
    /// The manifest's `ledger_window`.
    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({"from": self.from.to_string(), "older_nights": self.older_nights})
    }
}

/// The completed nights whose key files tonight (`job`, `date`) reads from `out_root`: every job's
/// nights no more than `horizon_days` before `date`, the job's own only before `date`; and whether
/// completed nights older than that exist. A night of another job (or an earlier one of this job) that
/// is incomplete, or that has no ledger, is an error: settle cannot prove tonight safe beside it.
pub fn window(out_root: &Path, job: &str, date: Date, horizon_days: u32) -> Result<Window, LedgerError> {
    let io = |path: &Path| {
        let path = path.display().to_string();
        move |source| LedgerError::Io { path, source }
    };
    let from = horizon_start(date, horizon_days);
    let mut window = Window { files: Vec::new(), from, older_nights: false };
    let jobs = match std::fs::read_dir(out_root) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(window),
        Err(e) => return Err(io(out_root)(e)),
    };
    let mut job_dirs: Vec<(String, PathBuf)> = Vec::new();
    for entry in jobs {
        let entry = entry.map_err(io(out_root))?;
        let name = entry.file_name().to_string_lossy().to_string();
        if name.starts_with('.') || !entry.path().is_dir() {
            continue;
        }
        job_dirs.push((name, entry.path()));
    }
    job_dirs.sort();
    for (job_name, job_dir) in job_dirs {
        let nights = crate::nights::nights(&job_dir).map_err(io(&job_dir))?;
        for night in nights {
            if night.date < from {
                window.older_nights |= night.complete;
                continue;
            }
            if job_name == job && night.date >= date {
                continue;
            }
            let shown = format!("{job_name}/{}", night.date);
            if !night.complete {
                // A night another process is running right now (its job's lock is held: a partition
                // reads the ledger without the root's lock) is not settled yet; the merge checks, under
                // that lock, that the ledger is still what its partitions read.
                if job_name != job && crate::lock::RunLock::is_held(&job_dir) {
                    continue;
                }
                return Err(LedgerError::Incomplete { dir: shown });
            }
            let manifest_path = night.dir.join("manifest.json");
            let bytes = crate::fault::read(&manifest_path).map_err(io(&manifest_path))?;
            let manifest: ManifestLedger = serde_json::from_slice(&bytes).map_err(|e| LedgerError::Damaged {
                path: manifest_path.display().to_string(),
                message: e.to_string(),
            })?;
            let Some(ledger) = manifest.ledger else { return Err(LedgerError::NoLedger { dir: shown }) };
            let sha256 =
                manifest.outputs.iter().find(|o| o.path == FILE).map(|o| o.sha256.clone()).ok_or_else(|| {
                    LedgerError::Damaged {
                        path: manifest_path.display().to_string(),
                        message: format!("the manifest lists no {FILE}"),
                    }
                })?;
            window.files.push(NightFile {
                job: manifest.job.name,
                date: night.date,
                path: format!("{shown}/{FILE}"),
                records: ledger.records,
                keys_xxh3: ledger.keys_xxh3,
                rest_xxh3: ledger.rest_xxh3,
                sha256,
            });
        }
    }
    Ok(window)
}

#[derive(serde::Deserialize)]
struct ManifestLedger {
    job: ManifestJob,
    #[serde(default)]
    ledger: Option<LedgerMeta>,
    #[serde(default)]
    outputs: Vec<ManifestOutput>,
}

#[derive(serde::Deserialize)]
struct ManifestJob {
    name: String,
}

#[derive(serde::Deserialize)]
struct LedgerMeta {
    records: u64,
    keys_xxh3: String,
    rest_xxh3: String,
}

#[derive(serde::Deserialize)]
struct ManifestOutput {
    path: String,
    sha256: String,
}

/// A hit: tonight's entry (its position in `Tonight::keys`) is in `file` with this entry.
struct Hit {
    tonight: u32,
    entry: Entry,
}

trait ReadSeek: Read + Seek + Send {}
impl<T: Read + Seek + Send> ReadSeek for T {}

fn open(file: &NightFile, out_root: &Path, source: &Source<'_>) -> Result<Box<dyn ReadSeek>, LedgerError> {
    match source {
        Source::Disk(_) => {
            let path = out_root.join(&file.path);
            let f = crate::fault::open(&path).map_err(|source| LedgerError::Io { path: file.path.clone(), source })?;
            Ok(Box::new(std::io::BufReader::with_capacity(1 << 20, f)))
        }
        Source::Archive(replay) => {
            let bytes = replay.load("ledger", &file.path)?;
            Ok(Box::new(std::io::Cursor::new(bytes)))
        }
    }
}

/// Streams one key file, verifying both sections, and returns tonight's entries found in it.
fn scan(file: &NightFile, out_root: &Path, source: &Source<'_>, tonight: &Tonight) -> Result<Vec<Hit>, LedgerError> {
    let damaged = |message: String| LedgerError::Damaged { path: file.path.clone(), message };
    let io = |source| LedgerError::Io { path: file.path.clone(), source };
    let mut reader = open(file, out_root, source)?;
    let mut header = [0u8; HEADER as usize];
    reader.read_exact(&mut header).map_err(|e| damaged(format!("header: {e}")))?;
    let count = header_count(&header).map_err(|e| damaged(e.into()))?;
    if count != file.records {
        return Err(damaged(format!("{count} records, its manifest says {}", file.records)));
    }
    let keys = &tonight.sorted;
    let mut hits_at: Vec<(u64, u32)> = Vec::new();
    let mut hasher = Xxh3::new();
    let mut buffer = vec![0u8; 1 << 19];
    let mut words: Vec<u64> = Vec::with_capacity(buffer.len() / 8);
    let (mut position, mut t, mut previous) = (0u64, 0usize, 0u64);
    while position < count {
        let take = ((count - position) as usize).min(buffer.len() / 8);
        let chunk = &mut buffer[..take * 8];
        reader.read_exact(chunk).map_err(|e| damaged(format!("keys section cut short: {e}")))?;
        hasher.update(chunk);
        words.clear();
        words.extend(chunk.chunks_exact(8).map(|w| u64::from_le_bytes(w.try_into().expect("8 bytes"))));
        if words.first().is_some_and(|&first| first < previous) || words.windows(2).any(|w| w[1] < w[0]) {
            return Err(damaged(format!("keys out of order in records {position}..{}", position + take as u64)));
        }
        previous = *words.last().expect("a chunk holds keys");
        // A merge of two sorted runs without a branch per step (the comparisons are a coin toss: a
        // branch would be mispredicted half the time); an equal pair is rare and takes the slow path.
        let mut i = 0usize;
        while i < words.len() && t < keys.len() {
            let (a, b) = (words[i], keys[t]);
            if a == b {
                let mut j = t;
                while j < keys.len() && keys[j] == a {
                    hits_at.push((position + i as u64, j as u32));
                    j += 1;
                }
                i += 1;
                continue;
            }
            i += usize::from(a < b);
            t += usize::from(b < a);
        }
        position += take as u64;
    }
    if hex128(hasher.digest128()) != file.keys_xxh3 {
        return Err(damaged("its keys are not the ones its night's manifest recorded".into()));
    }
    if hits_at.is_empty() {
        return Ok(Vec::new());
    }
    // Tonight's records are in this file: read its rest section whole, verified, for their entries.
    reader.seek(SeekFrom::Start(HEADER + 8 * count)).map_err(io)?;
    let mut hasher = Xxh3::new();
    let mut hits = Vec::with_capacity(hits_at.len());
    let (mut position, mut next) = (0u64, 0usize);
    while position < count {
        let take = ((count - position) as usize).min(buffer.len() / 8);
        let chunk = &mut buffer[..take * 8];
        reader.read_exact(chunk).map_err(|e| damaged(format!("rest section cut short: {e}")))?;
        hasher.update(chunk);
        let end = position + take as u64;
        while next < hits_at.len() && hits_at[next].0 < end {
            let at = (hits_at[next].0 - position) as usize * 8;
            let rest = u64::from_le_bytes(chunk[at..at + 8].try_into().expect("8 bytes"));
            let key = keys[hits_at[next].1 as usize];
            hits.push(Hit { tonight: hits_at[next].1, entry: Entry { key, rest } });
            next += 1;
        }
        position = end;
    }
    if hex128(hasher.digest128()) != file.rest_xxh3 {
        return Err(damaged("its records are not the ones its night's manifest recorded".into()));
    }
    Ok(hits)
}

/// Where a night's ledger check looks: the output root and the window's bounds, or a replay's archive.
pub struct Night<'a> {
    pub out_root: &'a Path,
    pub job: &'a str,
    pub business_date: Date,
    pub horizon_days: u32,
    pub replay: Option<&'a crate::replay::Replay>,
}

/// What a night's ledger check gives the night: what the engine must not admit, tonight's hashes for
/// its own key file, the manifest's input entries of the files read, and its `ledger_window` (the
/// horizon's first day, and whether older nights exist: a replay reads both back).
pub struct Checked {
    pub known: Known,
    pub hashes: Hashes,
    pub inputs: Vec<serde_json::Value>,
    pub window: serde_json::Value,
}

/// The `ledger_window` a recorded night's manifest gives: (the horizon's first day, older nights existed).
pub fn window_from_manifest(manifest: &serde_json::Value) -> Option<(Date, bool)> {
    let window = manifest.get("ledger_window")?;
    Some((settle_core::parse_date(window["from"].as_str()?).ok()?, window["older_nights"].as_bool()?))
}

/// Tonight's fresh records dated before `from` that the ledger does not know already: when nights older
/// than the horizon exist, the ledger cannot prove those did not settle them.
fn beyond_horizon(
    known: &mut Known,
    from: Date,
    orders: &[Order],
    channel: &[ChannelTransaction],
    foreign: &[ForeignRow],
    bank: &[BankEntry],
    prior: &settle_recon::Prior,
) {
    let detail = known.details.len() as u32;
    let note = KnownNote { reason: KnownReason::BeyondHorizon, detail };
    let mut added = 0usize;
    let mut add = |list: &mut Vec<(u32, KnownNote)>, dates: &mut dyn Iterator<Item = (usize, Date, bool)>| {
        // The list is sorted by index: what it held before is searched, what is added goes after it.
        let had = list.len();
        for (i, date, fresh) in dates {
            let i = i as u32;
            if fresh && date < from && list[..had].binary_search_by_key(&i, |(k, _)| *k).is_err() {
                list.push((i, note));
                added += 1;
            }
        }
        list.sort_unstable_by_key(|(i, _)| *i);
    };
    add(&mut known.orders, &mut orders.iter().enumerate().map(|(i, o)| (i, o.order_date, i >= prior.orders)));
    let n = channel.len();
    add(
        &mut known.channel,
        &mut channel
            .iter()
            .enumerate()
            .map(|(i, tx)| (i, tx.booking_date, i >= prior.channel))
            .chain(foreign.iter().enumerate().map(|(i, r)| (n + i, r.booking_date, !r.carried))),
    );
    add(&mut known.bank, &mut bank.iter().enumerate().map(|(i, e)| (i, e.booking_date, i >= prior.bank)));
    if added > 0 {
        known.details.push(format!(
            "dated before {from}, the settlement ledger's horizon, while nights older than it exist in the output root: settle cannot prove none of them settled it"
        ));
    }
}

/// The night's ledger phase: the window's key files (from disk, or those a replayed night read, from the
/// archive), tonight's fresh records hashed (the first `prior.orders`, `prior.channel`, `prior.bank` of
/// each list are the carried ones), the check.
pub fn check_night(
    night: &Night<'_>,
    orders: &[Order],
    channel: &[ChannelTransaction],
    foreign: &[ForeignRow],
    bank: &[BankEntry],
    prior: &settle_recon::Prior,
    started: std::time::Instant,
) -> Result<Checked, LedgerError> {
    tracing::debug!(
        phase = "ledger",
        elapsed_ms = started.elapsed().as_millis() as u64,
        "checking the settlement ledger"
    );
    let (window, source) = match night.replay {
        Some(replay) => {
            let older_nights = replay.ledger_window.is_some_and(|(_, older)| older);
            let from = horizon_start(night.business_date, night.horizon_days);
            (Window { files: replay.ledger.clone(), from, older_nights }, Source::Archive(replay))
        }
        None => {
            (window(night.out_root, night.job, night.business_date, night.horizon_days)?, Source::Disk(night.out_root))
        }
    };
    let files = &window.files;
    let tonight = Tonight::new(orders, channel, foreign, bank, (prior.orders, prior.channel, prior.bank));
    let mut known = check(files, night.out_root, &source, &tonight, night.job)?;
    if window.older_nights {
        beyond_horizon(&mut known, window.from, orders, channel, foreign, bank, prior);
    }
    tracing::debug!(
        phase = "ledger",
        nights = files.len(),
        known_orders = known.orders.len(),
        known_channel_transactions = known.channel.len(),
        known_bank_entries = known.bank.len(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "settlement ledger checked"
    );
    // Kept for the night's key file (16 bytes a record), tonight's sorted keys freed.
    Ok(Checked {
        known,
        hashes: tonight.into_hashes(),
        inputs: files.iter().map(input_json).collect(),
        window: window.json(),
    })
}

/// Checks tonight's records against the key files of `files` (read from disk under `out_root`, or from
/// the archive): what the engine must not admit, and why.
pub fn check(
    files: &[NightFile],
    out_root: &Path,
    source: &Source<'_>,
    tonight: &Tonight,
    job: &str,
) -> Result<Known, LedgerError> {
    if tonight.is_empty() || files.is_empty() {
        return Ok(Known::default());
    }
    // The files are streamed by more threads than cores: a cold read waits on the disk (one stream reached
    // 0.9 GB/s here, several 2 GB/s), and while one thread waits another merges.
    // (A replay loads each file whole from the archive: two at a time.)
    let streams = if matches!(source, Source::Archive(_)) { 2 } else { SCAN_STREAMS }.min(files.len()).max(1);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut results: Vec<(usize, Result<Vec<Hit>, LedgerError>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..streams)
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    // Bounded by the files: each round takes the next one.
                    loop {
                        let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(file) = files.get(k) else { break };
                        mine.push((k, scan(file, out_root, source, tonight)));
                    }
                    mine
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().expect("a ledger scan thread panicked")).collect()
    });
    // In window order (each file once), the first error in it wins, whatever thread met it first.
    results.sort_unstable_by_key(|(k, _)| *k);
    let scanned: Vec<Vec<Hit>> = results.into_iter().map(|(_, r)| r).collect::<Result<_, _>>()?;
    // Every hit that counts: (tonight's position, the file's place in the window, the entry). The one that
    // decides for a record is its latest night's (then the greatest job name): sorted, the last of its run.
    let mut hits: Vec<(u32, u32, Entry)> = Vec::new();
    for (f, (file, found)) in files.iter().zip(&scanned).enumerate() {
        for hit in found {
            let (_, check, _) = tonight.keys[hit.tonight as usize];
            // The job's own open item is its carry's business: the carried copy is admitted, tonight's is
            // a duplicate of it.
            if hit.entry.check() == check && (file.job != job || hit.entry.settled()) {
                hits.push((hit.tonight, f as u32, hit.entry));
            }
        }
    }
    drop(scanned);
    let rank = |f: u32| (files[f as usize].date, files[f as usize].job.as_str());
    hits.sort_unstable_by(|a, b| (a.0, rank(a.1), a.2).cmp(&(b.0, rank(b.1), b.2)));
    let mut known = Known::default();
    // One detail per (file, settled, changed): a handful a night, shared by all the records they name.
    let mut details: std::collections::BTreeMap<(u32, bool, bool), u32> = std::collections::BTreeMap::new();
    let mut at = 0;
    while at < hits.len() {
        let mut last = at;
        while last + 1 < hits.len() && hits[last + 1].0 == hits[at].0 {
            last += 1;
        }
        let (position, f, entry) = hits[last];
        at = last + 1;
        let (_, _, index) = tonight.keys[position as usize];
        let content = tonight.contents[index as usize];
        let changed = content != u32::MAX && content != entry.content();
        let file = &files[f as usize];
        let detail = *details.entry((f, entry.settled(), changed)).or_insert_with(|| {
            let dir = format!("{}/{}", file.job, file.date);
            let mut text = match (file.job == job, entry.settled()) {
                (true, _) => format!("already settled by this job on {} (run directory {dir})", file.date),
                (false, true) => {
                    format!("already settled by job `{}` on {} (run directory {dir})", file.job, file.date)
                }
                (false, false) => {
                    format!("held open by job `{}` since its night of {} (run directory {dir})", file.job, file.date)
                }
            };
            if changed {
                text.push_str("; it arrives again with other content (amount, currency, kind or references)");
            }
            known.details.push(text);
            (known.details.len() - 1) as u32
        });
        let note = KnownNote { reason: if changed { KnownReason::Changed } else { KnownReason::Settled }, detail };
        if index < tonight.orders {
            known.orders.push((index, note));
        } else if index < tonight.orders + tonight.channel {
            known.channel.push((index - tonight.orders, note));
        } else {
            known.bank.push((index - tonight.orders - tonight.channel, note));
        }
    }
    for list in [&mut known.orders, &mut known.channel, &mut known.bank] {
        list.sort_unstable_by_key(|(i, _)| *i);
    }
    Ok(known)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_file_round_trips_and_a_changed_byte_is_found() {
        let entries = vec![
            Entry::new(Hasher::default().channel_identity("stripe", "ch_1"), 7, Kind::Channel, true),
            Entry::new(Hasher::default().channel_identity("stripe", "ch_2"), 8, Kind::Channel, false),
            Entry::new(Hasher::default().identity(Kind::Order, ["O1", ""]), 9, Kind::Order, true),
        ];
        let written = write(entries.clone(), 50);
        assert_eq!(written.bytes.len(), 32 + 16 * 3);
        assert_eq!(written.json["records"], 3);
        // Sorted by key whatever order they came in.
        let again = write(entries.into_iter().rev().collect(), 50);
        assert_eq!(written.bytes, again.bytes);
    }

    #[test]
    fn identities_differ_by_kind_and_part_boundaries() {
        let mut h = Hasher::default();
        assert_ne!(h.identity(Kind::Order, ["ab", "c"]), h.identity(Kind::Order, ["a", "bc"]));
        assert_ne!(h.identity(Kind::Order, ["x", ""]), h.identity(Kind::Bank, ["x", ""]));
    }
}
