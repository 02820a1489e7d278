//! settle-recon: the matching engine. Pure: canonical records in, matches, exceptions and per-record
//! places out; no I/O, no clock, no randomness, and output order independent of hash order.
//!
//! Stages in this version:
//! - A: order ↔ channel transaction by exact order id (rule `A1 order_id_exact`), amount and currency
//!   equal; chargebacks are linked to their order and raised as exceptions;
//! - B: channel payout batch (Σ net per channel and batch id) ↔ bank credit by reference = batch id and
//!   exact amount (rule `B1 batch_reference_exact`).
//!
//! Every admitted record gets exactly one place per stage it takes part in; `Tallies` add them up per
//! stage, record kind and currency, and the engine asserts conservation (input = matched + open +
//! exception + rejected) before returning.
#![forbid(unsafe_code)]
#![deny(clippy::float_arithmetic)]

mod reason;
pub mod rules;

use std::collections::{BTreeMap, HashMap};

/// A hash map with foldhash's fixed seeds (deterministic, several times faster than SipHash on short
/// keys); lookups only, never iterated for output.
type FastMap<K, V> = HashMap<K, V, foldhash::fast::FixedState>;

/// Record ids (`(a, b)` pairs such as channel and transaction id) → the first record with that id. The
/// table holds only record indices (4 bytes a slot: ten million ids take 64 MB, not 400 with borrowed
/// strings); a probe reads the record's id only when the hash's tag bits agree.
struct IdIndex<'a, F: Fn(u32) -> (&'a str, &'a str)> {
    table: hashbrown::HashTable<u32>,
    key_of: F,
    hasher: foldhash::fast::FixedState,
}

impl<'a, F: Fn(u32) -> (&'a str, &'a str)> IdIndex<'a, F> {
    fn with_capacity(n: usize, key_of: F) -> IdIndex<'a, F> {
        IdIndex {
            table: hashbrown::HashTable::with_capacity(n),
            key_of,
            hasher: foldhash::fast::FixedState::with_seed(0x5e77_1e00),
        }
    }

    fn hash(&self, key: (&str, &str)) -> u64 {
        use std::hash::BuildHasher;
        self.hasher.hash_one(key)
    }

    /// Adds record `i` under `key` unless a record already has it: then that record's index.
    fn insert(&mut self, key: (&str, &str), i: u32) -> Option<u32> {
        let hash = self.hash(key);
        let (key_of, hasher) = (&self.key_of, &self.hasher);
        let rehash = |&j: &u32| {
            use std::hash::BuildHasher;
            hasher.hash_one(key_of(j))
        };
        match self.table.entry(hash, |&j| key_of(j) == key, rehash) {
            hashbrown::hash_table::Entry::Occupied(first) => Some(*first.get()),
            hashbrown::hash_table::Entry::Vacant(slot) => {
                slot.insert(i);
                None
            }
        }
    }

    fn get(&self, key: (&str, &str)) -> Option<u32> {
        self.table.find(self.hash(key), |&j| (self.key_of)(j) == key).copied()
    }
}

use serde::Serialize;
use settle_core::{
    BankEntry, Calendar, ChannelKind, ChannelTransaction, Currency, Date, Decimal, Direction, EntryStatus, Money,
    Order, OrderKind, Text, ToCompactString, format_compact,
};

pub use reason::{Class, ReasonCode, Severity};
pub use rules::{BatchMethod, BatchRule, OrderRule, ReconRules, RuleError, TextSource};
pub use settle_core::ForeignRow;

/// A, B (and C in a later version).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Stage {
    A,
    B,
    C,
}

impl Stage {
    pub const ALL: [Stage; 3] = [Stage::A, Stage::B, Stage::C];

    /// The stage `as_str` writes as `text`.
    pub fn parse(text: &str) -> Option<Stage> {
        Stage::ALL.into_iter().find(|s| s.as_str() == text)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Stage::A => "A",
            Stage::B => "B",
            Stage::C => "C",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordKind {
    Order,
    ChannelTransaction,
    PayoutBatch,
    BankEntry,
    Payout,
}

impl RecordKind {
    pub const ALL: [RecordKind; 5] = [
        RecordKind::Order,
        RecordKind::ChannelTransaction,
        RecordKind::PayoutBatch,
        RecordKind::BankEntry,
        RecordKind::Payout,
    ];

    /// The kind `as_str` writes as `text`.
    pub fn parse(text: &str) -> Option<RecordKind> {
        RecordKind::ALL.into_iter().find(|k| k.as_str() == text)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RecordKind::Order => "order",
            RecordKind::ChannelTransaction => "channel_transaction",
            RecordKind::PayoutBatch => "payout_batch",
            RecordKind::BankEntry => "bank_entry",
            RecordKind::Payout => "payout",
        }
    }
}

/// One side of a match or exception: a record, or an aggregate of records (a payout batch).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Side {
    pub kind: RecordKind,
    /// `order_id`; `channel:transaction_id`; `channel:batch_id`; `account_id:entry_id`.
    pub id: Text,
    pub amount: Money,
    /// `file:line` of the record; for a batch, of its first transaction.
    pub source: Text,
    /// How many input records the side stands for.
    pub records: u32,
    /// The record's date (an order's date, a channel row's or bank entry's booking date, a batch's
    /// payout date); for a group, the earliest. Exceptions age from it.
    pub date: Date,
}

/// A side of a match by reference: an input record (its index in the inputs given to the engine) or a
/// group the result holds (`ReconResult::groups`: a payout batch, several records matched together).
/// Eight bytes: a night of ten million matches holds no strings for them. `ReconResult::side` makes the
/// full `Side` (id, amount, source) when an output needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SideRef {
    Order(u32),
    /// A channel transaction at its presentment amount (stage A).
    Channel(u32),
    /// A channel transaction at its net amount in the settlement currency (stage B).
    ChannelNet(u32),
    Bank(u32),
    /// An awaited payout (`Prior::payouts`).
    Payout(u32),
    Group(u32),
}

/// The inputs an engine run was given, to resolve `SideRef`s.
#[derive(Debug, Clone, Copy)]
pub struct Inputs<'a> {
    pub orders: &'a [Order],
    pub channel: &'a [ChannelTransaction],
    pub bank: &'a [BankEntry],
    pub payouts: &'a [AwaitedPayout],
}

/// A match as the engine keeps it (24 bytes); `ReconResult::view` gives it with ids and amounts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match {
    pub stage: Stage,
    /// The rule that made the match: an index into `ReconResult::rules`.
    pub rule: u16,
    pub left: SideRef,
    pub right: SideRef,
    /// What explains the difference, when there is one: 1 + its index in `ReconResult::explanations`;
    /// 0 for an exact match.
    explained: u32,
}

/// A stage A match's path from the order to what the channel settled, in the settlement currency:
/// `net = reference.to + fx_difference + channel_fees` when a reference rate is known. The FX difference
/// is what the channel's own rate gave against the reference rate (its markup shows negative); fees are
/// negative (a cost).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeeFx {
    /// The order's amount at the reference rate, rounded to the settlement currency (rate, rate date,
    /// source and rounding residual recorded in it).
    pub reference: Option<settle_fx::Conversion>,
    /// The channel's gross less `reference.to`.
    pub fx_difference: Option<Decimal>,
    pub channel_fees: Money,
    pub net: Money,
}

/// A match with its id, rule id and both sides in full.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchView {
    pub match_id: Text,
    pub stage: Stage,
    /// The id of the rule that made the match.
    pub rule: Text,
    pub left: Side,
    pub right: Side,
    /// What explains `difference()` (zero parts for an exact match).
    pub explained: Explained,
}

/// A match's difference (right − left) taken apart, in the right side's currency: the part the bank's
/// charges on the credit explain (camt `Chrgs`, MT940 `/CHGS/`: a credit short by its charges), and what
/// is left unexplained. `bank_charges + unexplained = difference`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Explained {
    pub bank_charges: Decimal,
    pub unexplained: Decimal,
}

impl Explained {
    /// `difference` explained by up to `charges` (a positive cost) of bank charges.
    pub fn by_bank_charges(difference: Decimal, charges: Decimal) -> Explained {
        let bank_charges = if difference < Decimal::ZERO && charges > Decimal::ZERO {
            -charges.min(-difference)
        } else {
            Decimal::ZERO
        };
        Explained { bank_charges, unexplained: difference - bank_charges }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exception {
    pub exception_id: Text,
    pub stage: Stage,
    pub reason: ReasonCode,
    /// The records this exception places (one or both sides).
    pub left: Option<Side>,
    pub right: Option<Side>,
    /// Context that is not placed here (e.g. the order a chargeback belongs to).
    pub related_id: Option<String>,
    pub detail: String,
}

impl Exception {
    /// The earliest date of its sides: what its age counts from.
    pub fn date(&self) -> Option<Date> {
        [self.left.as_ref(), self.right.as_ref()].into_iter().flatten().map(|s| s.date).min()
    }

    /// Business days from `date()` to `business_date` (0 when not before it).
    pub fn age_business_days(&self, business_date: Date, calendar: &Calendar) -> u32 {
        self.date().map_or(0, |date| business_days_between(calendar, date, business_date))
    }

    /// right − left, when both sides exist and share a currency.
    pub fn difference(&self) -> Option<Decimal> {
        difference(self.left.as_ref()?, self.right.as_ref()?)
    }

    /// Whether it places an order or a channel row: the partition owning that record raises it. The
    /// others (payout batches, bank entries, awaited payouts) come out the same in every partition of a
    /// partitioned run (`reconcile_shard`).
    pub fn is_shard_local(&self) -> bool {
        [&self.left, &self.right]
            .into_iter()
            .flatten()
            .any(|s| matches!(s.kind, RecordKind::Order | RecordKind::ChannelTransaction))
    }
}

impl Match {
    /// Whether it matches an order (stage A): the partition owning the order makes it. Stage B and C
    /// matches come out the same in every partition (`reconcile_shard`).
    pub fn is_shard_local(&self) -> bool {
        self.stage == Stage::A
    }
}

impl MatchView {
    /// right − left (zero for exact rules).
    pub fn difference(&self) -> Option<Decimal> {
        difference(&self.left, &self.right)
    }
}

fn difference(left: &Side, right: &Side) -> Option<Decimal> {
    (left.amount.currency() == right.amount.currency()).then(|| right.amount.amount() - left.amount.amount())
}

/// Indices in file order — the `carried` leading records first, then by (file, line), then input
/// position — so that which of two rows with one id is admitted depends on where they are in their files,
/// not on the order the files were listed or read.
fn file_order<T>(records: &[T], provenance: impl Fn(&T) -> &settle_core::Provenance, carried: usize) -> Vec<u32> {
    file_order_by(records.len(), |i| provenance(&records[i]), |i| i < carried)
}

/// `file_order` over `n` records given by index: `carried(i)` says which come first.
fn file_order_by<'p>(
    n: usize,
    provenance: impl Fn(usize) -> &'p settle_core::Provenance,
    carried: impl Fn(usize) -> bool,
) -> Vec<u32> {
    let mut order: Vec<u32> = (0..r32(n)).collect();
    // Rows of one file share its name's `Arc`: equal pointers compare equal without reading the text.
    let file = |a: &std::sync::Arc<str>, b: &std::sync::Arc<str>| {
        if std::sync::Arc::ptr_eq(a, b) { std::cmp::Ordering::Equal } else { a.cmp(b) }
    };
    // Keys read where they are (no key list: ten million of them took 500 MB). Rows come in runs already
    // in file order (one per file), which the stable sort merges in linear time, so few comparisons
    // reach a record out of cache. The index breaks ties: the order is total.
    order.sort_by(|&a, &b| {
        let (x, y) = (provenance(a as usize), provenance(b as usize));
        let (tonight_x, tonight_y) = (!carried(a as usize), !carried(b as usize));
        tonight_x
            .cmp(&tonight_y)
            .then_with(|| file(&x.source_file, &y.source_file))
            .then(x.source_line.cmp(&y.source_line))
            .then_with(|| x.xml_path.cmp(&y.xml_path))
            .then(a.cmp(&b))
    });
    order
}

/// Business days after `from` up to and including `to` (0 when `to` is not after `from`): a record dated
/// Friday is 1 business day old on Monday.
pub fn business_days_between(calendar: &Calendar, from: Date, to: Date) -> u32 {
    let mut days = 0u32;
    let mut day = from;
    // Bounded: one step per calendar day from `from` to `to`.
    while day < to {
        day = match day.tomorrow() {
            Ok(next) => next,
            Err(_) => break,
        };
        if calendar.is_business_day(day) {
            days += 1;
        }
    }
    days
}

/// Where a record ended in one stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    Matched,
    Unmatched(ReasonCode),
    /// The record takes no part in this stage (e.g. a channel fee row in stage A).
    NotApplicable,
}

impl Place {
    fn class(self) -> Option<Result<(), Class>> {
        match self {
            Place::Matched => Some(Ok(())),
            Place::Unmatched(reason) => Some(Err(reason.class())),
            Place::NotApplicable => None,
        }
    }
}

/// The outcome of one channel transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChannelOutcome {
    pub stage_a: Place,
    pub stage_b: Place,
    /// Index into the orders of the order this row belongs to (matched, or linked for a chargeback).
    pub order: Option<u32>,
    /// Whether `stage_a` / `stage_b` were decided on an earlier night (carried in; not counted again).
    pub carried_a: bool,
    pub carried_b: bool,
}

/// What earlier nights decided about a channel transaction carried into tonight (see `reconcile_nights`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Earlier {
    /// Its stage A place (matched, or linked as a chargeback) and order (an index into tonight's orders),
    /// when stage A was decided.
    pub stage_a: Option<(Place, Option<u32>)>,
    /// Whether its payout batch was already matched to a bank credit.
    pub stage_b_matched: bool,
}

/// Count and sum of one status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct CountSum {
    pub count: u64,
    #[serde(with = "rust_decimal::serde::str")]
    pub amount: Decimal,
}

impl CountSum {
    fn add(&mut self, amount: Decimal) -> Result<(), ReconError> {
        self.count += 1;
        self.amount = self.amount.checked_add(amount).ok_or(ReconError::Overflow)?;
        Ok(())
    }
}

/// Per stage, record kind and currency: inputs and where they went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Tally {
    pub input: CountSum,
    pub matched: CountSum,
    pub open: CountSum,
    pub exception: CountSum,
    pub rejected: CountSum,
}

pub type Tallies = BTreeMap<(Stage, RecordKind, Currency), Tally>;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReconError {
    #[error("amount overflow while summing records (more than 28 significant digits)")]
    Overflow,
    #[error("{0}")]
    Rule(RuleError),
    #[error("{count} {what} in one run: at most {max} are supported", max = u32::MAX)]
    TooManyRecords { what: &'static str, count: usize },
}

/// Everything the engine decided.
#[derive(Debug, Clone)]
pub struct ReconResult {
    /// Sorted by stage, then left id, then right id; ids (`match_id`) follow that order.
    pub matches: Vec<Match>,
    /// The sides that stand for several records (payout batches, split or merged matches), which
    /// `SideRef::Group` points at.
    pub groups: Vec<Side>,
    /// Index-aligned with `groups`: the channel rows of a stage A group (partial captures), for
    /// `ReconResult::fee_fx`; empty for other groups.
    pub group_rows: Vec<Vec<u32>>,
    /// Rule ids, which `Match::rule` indexes.
    pub rules: Vec<Text>,
    /// The differences of inexact matches taken apart (see `ReconResult::explained`).
    explanations: Vec<Explained>,
    /// Sorted by stage, reason, then left/right id; ids assigned in that order.
    pub exceptions: Vec<Exception>,
    /// Stage A place of each order, index-aligned with the input.
    pub orders: Vec<Place>,
    /// Whether an order's place was decided on an earlier night (it came in linked to a carried row).
    pub orders_carried: Vec<bool>,
    /// Index-aligned with the input channel transactions.
    pub channel: Vec<ChannelOutcome>,
    /// Stage C place of each awaited payout (`Prior::payouts`), index-aligned.
    pub payouts: Vec<Place>,
    /// Index-aligned with `payouts`: the bank entry (index into the input) of a payout returned tonight
    /// (`returned_payout`), whose money is the beneficiary's again.
    pub payout_returns: Vec<Option<u32>>,
    /// Stage B place of each bank entry, index-aligned with the input.
    pub bank: Vec<Place>,
    pub tallies: Tallies,
}

impl ReconResult {
    /// The id of match `n` (`MA000001`: stage, then the position among all matches).
    pub fn match_id(&self, n: usize) -> Text {
        format_compact!("M{}{:06}", self.matches[n].stage.as_str(), n + 1)
    }

    /// What explains a match's difference (zero parts for an exact match).
    pub fn explained(&self, m: &Match) -> Explained {
        m.explained.checked_sub(1).map_or_else(Explained::default, |i| self.explanations[i as usize])
    }

    /// The id of a match's rule.
    pub fn rule_id(&self, m: &Match) -> &str {
        self.rules.get(usize::from(m.rule)).map_or("", |r| r.as_str())
    }

    /// A side in full: id, amount, source, records and date. `inputs` are the ones the run was given.
    pub fn side(&self, side: SideRef, inputs: &Inputs<'_>) -> Side {
        let at = |i: u32| i as usize;
        match side {
            SideRef::Order(i) => order_side(&inputs.orders[at(i)]),
            SideRef::Channel(i) => channel_side(&inputs.channel[at(i)]),
            SideRef::ChannelNet(i) => channel_net_side(&inputs.channel[at(i)]),
            SideRef::Bank(i) => bank_side(&inputs.bank[at(i)]),
            SideRef::Payout(i) => payout_side(&inputs.payouts[at(i)]),
            SideRef::Group(i) => self.groups[at(i)].clone(),
        }
    }

    /// Match `n` with its id, rule id and both sides in full.
    pub fn view(&self, n: usize, inputs: &Inputs<'_>) -> MatchView {
        let m = &self.matches[n];
        MatchView {
            match_id: self.match_id(n),
            stage: m.stage,
            rule: Text::from(self.rule_id(m)),
            left: self.side(m.left, inputs),
            right: self.side(m.right, inputs),
            explained: self.explained(m),
        }
    }

    /// How a stage A match's money went from the order to the channel's net, in the settlement currency
    /// (see `FeeFx`); `None` for other stages. The order's amount is converted at the reference rate of
    /// the channel row's booking date (`rates`, `policy`); without such a rate the FX parts are `None`.
    pub fn fee_fx(
        &self,
        m: &Match,
        inputs: &Inputs<'_>,
        rates: &settle_fx::RateTable,
        policy: settle_fx::ConversionPolicy,
    ) -> Option<FeeFx> {
        let (SideRef::Order(o), Stage::A) = (m.left, m.stage) else { return None };
        let rows: &[u32] = match &m.right {
            SideRef::Channel(i) => std::slice::from_ref(i),
            SideRef::Group(g) => self.group_rows.get(*g as usize)?,
            _ => return None,
        };
        let first = &inputs.channel[*rows.first()? as usize];
        let currency = first.settlement_currency;
        let (mut gross, mut fee, mut net) = (Decimal::ZERO, Decimal::ZERO, Decimal::ZERO);
        for &i in rows {
            let tx = &inputs.channel[i as usize];
            if tx.settlement_currency != currency {
                return None;
            }
            gross = gross.checked_add(tx.gross)?;
            fee = fee.checked_add(tx.fee)?;
            net = net.checked_add(tx.net)?;
        }
        let order = inputs.orders[o as usize].money();
        let reference = rates.convert(order, currency, first.booking_date, policy).ok();
        Some(FeeFx {
            fx_difference: reference.map(|r| gross - r.to.amount()),
            reference,
            channel_fees: Money::new(-fee, currency),
            net: Money::new(net, currency),
        })
    }

    /// Every match in full, in order (for small runs and tests; outputs go one match at a time).
    pub fn views(&self, inputs: &Inputs<'_>) -> Vec<MatchView> {
        (0..self.matches.len()).map(|n| self.view(n, inputs)).collect()
    }
}

/// A side's id as the parts it is written from: `head`, then `:` and `tail` when there is one
/// (`channel:transaction_id`). Compares like the written id, without writing it.
#[derive(Clone, Copy)]
struct IdKey<'a> {
    head: &'a str,
    tail: Option<&'a str>,
}

impl IdKey<'_> {
    fn cmp_written(&self, other: &IdKey<'_>) -> std::cmp::Ordering {
        use std::cmp::Ordering;
        let (a, b) = (self.head.as_bytes(), other.head.as_bytes());
        let n = a.len().min(b.len());
        match a[..n].cmp(&b[..n]) {
            Ordering::Equal => {}
            unequal => return unequal,
        }
        if a.len() == b.len() {
            return match (self.tail, other.tail) {
                (None, None) => Ordering::Equal,
                (None, Some(_)) => Ordering::Less,
                (Some(_), None) => Ordering::Greater,
                (Some(x), Some(y)) => x.cmp(y),
            };
        }
        // One head is a prefix of the other: compare the written forms byte by byte from there.
        fn written<'k>(k: IdKey<'k>, n: usize) -> impl Iterator<Item = u8> + 'k {
            let tail = k.tail.map(|t| std::iter::once(b':').chain(t.bytes()));
            k.head.bytes().skip(n).chain(tail.into_iter().flatten())
        }
        written(*self, n).cmp(written(*other, n))
    }
}

fn id_key<'a>(side: SideRef, inputs: &Inputs<'a>, groups: &'a [Side]) -> IdKey<'a> {
    let at = |i: u32| i as usize;
    match side {
        SideRef::Order(i) => IdKey { head: &inputs.orders[at(i)].order_id, tail: None },
        SideRef::Channel(i) | SideRef::ChannelNet(i) => {
            let tx = &inputs.channel[at(i)];
            IdKey { head: &tx.channel, tail: Some(&tx.transaction_id) }
        }
        SideRef::Bank(i) => {
            let e = &inputs.bank[at(i)];
            IdKey { head: &e.account_id, tail: Some(&e.entry_id) }
        }
        SideRef::Payout(i) => IdKey { head: &inputs.payouts[at(i)].payout_id, tail: None },
        SideRef::Group(i) => IdKey { head: &groups[at(i)].id, tail: None },
    }
}

fn order_side(order: &Order) -> Side {
    Side {
        kind: RecordKind::Order,
        id: Text::from(order.order_id.as_str()),
        amount: order.money(),
        source: order.provenance.to_compact_string(),
        records: 1,
        date: order.order_date,
    }
}

fn channel_id(tx: &ChannelTransaction) -> Text {
    format_compact!("{}:{}", tx.channel, tx.transaction_id)
}

fn channel_side(tx: &ChannelTransaction) -> Side {
    Side {
        kind: RecordKind::ChannelTransaction,
        id: channel_id(tx),
        amount: tx.presentment(),
        source: tx.provenance.to_compact_string(),
        records: 1,
        date: tx.booking_date,
    }
}

fn channel_net_side(tx: &ChannelTransaction) -> Side {
    Side { amount: tx.net_money(), ..channel_side(tx) }
}

fn bank_side(entry: &BankEntry) -> Side {
    Side {
        kind: RecordKind::BankEntry,
        id: format_compact!("{}:{}", entry.account_id, entry.entry_id),
        amount: entry.signed_money(),
        source: entry.provenance.to_compact_string(),
        records: 1,
        date: entry.booking_date,
    }
}

fn takes_part_in_stage_a(kind: ChannelKind) -> bool {
    matches!(kind, ChannelKind::Charge | ChannelKind::Refund | ChannelKind::Chargeback)
}

/// Runs stages A and B with the default rules (`ReconRules::default()`) on the TARGET2 calendar.
pub fn reconcile(
    orders: &[Order],
    channel: &[ChannelTransaction],
    bank: &[BankEntry],
) -> Result<ReconResult, ReconError> {
    reconcile_with(orders, channel, bank, &ReconRules::default(), &Calendar::target2())
}

/// Runs stages A and B with a job's rules; date windows count business days of `calendar`.
pub fn reconcile_with(
    orders: &[Order],
    channel: &[ChannelTransaction],
    bank: &[BankEntry],
    rules: &ReconRules,
    calendar: &Calendar,
) -> Result<ReconResult, ReconError> {
    reconcile_nights(orders, channel, bank, &Prior::default(), rules, calendar)
}

/// Records carried from earlier nights: they come first in the inputs (`orders`, `channel`, `bank`
/// leading records of each), and `earlier` (index-aligned with the channel input, or empty) says which
/// stage each carried row already settled.
#[derive(Debug, Clone, Default)]
pub struct Prior {
    pub earlier: Vec<Earlier>,
    pub orders: usize,
    pub channel: usize,
    pub bank: usize,
    /// Payouts earlier nights issued whose bank debit has not been seen (stage C).
    pub payouts: Vec<AwaitedPayout>,
    /// Tonight's records the settlement ledger already holds: rejected at intake, never matched.
    pub known: Known,
}

/// Records the settlement ledger holds (an earlier night settled them, or another job holds them): each
/// list is `(index, note)` sorted by index — into `orders`, into `channel` followed by `foreign` (one index
/// space, as the engine numbers them), into `bank`. The notes' texts are in `details` (a night's file
/// gives a handful of them, whatever the number of records).
#[derive(Debug, Clone, Default)]
pub struct Known {
    pub orders: Vec<(u32, KnownNote)>,
    pub channel: Vec<(u32, KnownNote)>,
    pub bank: Vec<(u32, KnownNote)>,
    pub details: Vec<String>,
}

/// Why the ledger knows a record: what the exception's detail says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnownNote {
    pub reason: KnownReason,
    /// Index into `Known::details`: names the job, night and run directory.
    pub detail: u32,
}

impl Known {
    pub fn is_empty(&self) -> bool {
        self.orders.is_empty() && self.channel.is_empty() && self.bank.is_empty()
    }

    fn find(list: &[(u32, KnownNote)], i: usize) -> Option<KnownNote> {
        let i = u32::try_from(i).ok()?;
        list.binary_search_by_key(&i, |(k, _)| *k).ok().map(|at| list[at].1)
    }

    fn detail(&self, note: KnownNote) -> String {
        self.details.get(note.detail as usize).cloned().unwrap_or_default()
    }
}

/// What the ledger says of a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KnownReason {
    /// It holds the record as it arrives (`already_settled`).
    Settled,
    /// It holds the record with other content (`settled_record_changed`).
    Changed,
    /// The record is dated before the ledger's horizon while older nights exist: the ledger cannot say
    /// whether one of them settled it (`beyond_ledger_horizon`).
    BeyondHorizon,
}

impl KnownNote {
    fn reason(&self) -> ReasonCode {
        match self.reason {
            KnownReason::Settled => ReasonCode::AlreadySettled,
            KnownReason::Changed => ReasonCode::SettledRecordChanged,
            KnownReason::BeyondHorizon => ReasonCode::BeyondLedgerHorizon,
        }
    }
}

/// A payout we issued (a pain.001 credit transfer), awaiting its bank debit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwaitedPayout {
    pub payout_id: String,
    /// What the bank reports back on the debit (camt `EndToEndId`, MT940 reference).
    pub end_to_end_id: String,
    pub beneficiary_id: String,
    pub amount: Money,
    pub execution_date: Date,
    /// Where it was read (`<date>/open_payouts.csv:line`).
    pub source: String,
    /// The business date its debit was matched, when it was: it is then carried only so that a return
    /// (a credit carrying its EndToEndId) can still be linked to it, and is not counted again.
    pub debited_on: Option<Date>,
}

impl AwaitedPayout {
    /// The payout as money leaving our account (negative), as its bank debit shows it.
    pub fn signed_money(&self) -> Money {
        Money::new(-self.amount.amount(), self.amount.currency())
    }
}

fn payout_side(p: &AwaitedPayout) -> Side {
    Side {
        kind: RecordKind::Payout,
        id: Text::from(p.payout_id.as_str()),
        amount: p.signed_money(),
        source: Text::from(p.source.as_str()),
        records: 1,
        date: p.execution_date,
    }
}

/// `reconcile_with` on inputs that include records carried from earlier nights (`prior`). Stages an
/// earlier night settled are not decided again, and their records are not counted again in tonight's
/// tallies; a carried record is admitted before a row with its id sent again tonight.
pub fn reconcile_nights(
    orders: &[Order],
    channel: &[ChannelTransaction],
    bank: &[BankEntry],
    prior: &Prior,
    rules: &ReconRules,
    calendar: &Calendar,
) -> Result<ReconResult, ReconError> {
    reconcile_shard(orders, channel, &[], bank, prior, rules, calendar)
}

/// `reconcile_nights` on one partition's shard: `orders` and `channel` are the records it owns, `foreign`
/// the other partitions' channel rows (see `ForeignRow`). Every partition is given every bank entry and
/// awaited payout, so stages B and C decide the same in each; stage A, and every place, match and
/// exception of an owned record, are the ones the whole night's run gives that record. With no foreign
/// rows it is `reconcile_nights`.
pub fn reconcile_shard(
    orders: &[Order],
    channel: &[ChannelTransaction],
    foreign: &[ForeignRow],
    bank: &[BankEntry],
    prior: &Prior,
    rules: &ReconRules,
    calendar: &Calendar,
) -> Result<ReconResult, ReconError> {
    let earlier = prior.earlier.as_slice();
    assert!(earlier.is_empty() || earlier.len() == channel.len(), "earlier is index-aligned with channel");
    let earlier_of = |i: usize| earlier.get(i).copied().unwrap_or_default();
    let compiled = rules.compile().map_err(ReconError::Rule)?;
    for (what, count) in [
        ("orders", orders.len()),
        ("channel transactions", channel.len() + foreign.len()),
        ("bank entries", bank.len()),
        ("awaited payouts", prior.payouts.len()),
    ] {
        if u32::try_from(count).is_err() {
            return Err(ReconError::TooManyRecords { what, count });
        }
    }
    // Rule ids, indexed by `Match::rule`: the built-in ones, then the job's in spec order.
    let mut rule_ids: Vec<Text> = BUILTIN_RULES.iter().map(|r| Text::const_new(r)).collect();
    rule_ids.extend(rules.stage_a.iter().map(|r| Text::from(r.id.as_str())));
    rule_ids.extend(compiled.iter().map(|r| Text::from(r.rule.id.as_str())));
    let mut groups: Vec<Side> = Vec::new();
    // Channel rows of stage A groups, index-aligned with `groups` once stage B's groups are added.
    let mut group_rows: Vec<Vec<u32>> = Vec::new();
    let mut explanations: Vec<Explained> = Vec::new();
    // Stage A matches one order each at most; stage B one bank entry each; stage C one payout each.
    let mut matches: Vec<Match> = Vec::with_capacity(orders.len() + bank.len() + prior.payouts.len());
    let mut exceptions: Vec<Exception> = Vec::new();
    let mut order_places = vec![Place::NotApplicable; orders.len()];
    let mut outcomes = vec![
        ChannelOutcome {
            stage_a: Place::NotApplicable,
            stage_b: Place::NotApplicable,
            order: None,
            carried_a: false,
            carried_b: false,
        };
        channel.len()
    ];
    let mut orders_carried = vec![false; orders.len()];
    let mut bank_places = vec![Place::NotApplicable; bank.len()];
    let exception = |stage, reason, left, right, related_id, detail: String| Exception {
        exception_id: Text::default(),
        stage,
        reason,
        left,
        right,
        related_id,
        detail,
    };

    // Intake: the first row of an id is admitted, later rows with the same id are rejected.
    // Hash maps are only looked up, never iterated: their order cannot reach an output.
    let order_key = |o: u32| (orders[o as usize].order_id.as_str(), "");
    let mut order_by_id = IdIndex::with_capacity(orders.len(), order_key);
    for i in file_order(orders, |o| &o.provenance, prior.orders).into_iter().map(|i| i as usize) {
        let order = &orders[i];
        // A record the ledger holds is not admitted (nor is a later row with its id: the ledger holds it).
        if let Some(note) = Known::find(&prior.known.orders, i) {
            order_places[i] = Place::Unmatched(note.reason());
            exceptions.push(exception(
                Stage::A,
                note.reason(),
                Some(order_side(order)),
                None,
                Some(order.order_id.to_string()),
                prior.known.detail(note),
            ));
            continue;
        }
        if let Some(first) = order_by_id.insert((&order.order_id, ""), r32(i)) {
            order_places[i] = Place::Unmatched(ReasonCode::DuplicateOrder);
            exceptions.push(exception(
                Stage::A,
                ReasonCode::DuplicateOrder,
                Some(order_side(order)),
                None,
                Some(order.order_id.to_string()),
                format!("same order id as {}", orders[first as usize].provenance),
            ));
        }
    }
    // The order each channel row names (its merchant reference), looked up once for all rules.
    const NO_ORDER: u32 = u32::MAX;
    let order_of: Vec<u32> = channel
        .iter()
        .map(|tx| {
            let reference = tx.merchant_reference.as_deref().unwrap_or("");
            order_by_id.get((reference, "")).unwrap_or(NO_ORDER)
        })
        .collect();
    let named_order = |i: usize| (order_of[i] != NO_ORDER).then_some(order_of[i] as usize);
    let mut admitted_channel = vec![true; channel.len()];
    // Foreign rows follow tonight's owned ones in one index space: `i < n` is `channel[i]`, else
    // `foreign[i - n]`.
    let n = channel.len();
    let mut admitted_foreign = vec![true; foreign.len()];
    let provenance_of = |i: usize| if i < n { &channel[i].provenance } else { &foreign[i - n].provenance };
    let tx_key = |i: u32| {
        let i = i as usize;
        if i < n {
            (channel[i].channel.as_str(), channel[i].transaction_id.as_str())
        } else {
            (foreign[i - n].channel.as_str(), foreign[i - n].transaction_id.as_str())
        }
    };
    let mut seen_tx = IdIndex::with_capacity(n + foreign.len(), tx_key);
    let rows_file_order =
        file_order_by(
            n + foreign.len(),
            provenance_of,
            |i| {
                if i < n { i < prior.channel } else { foreign[i - n].carried }
            },
        );
    for i in rows_file_order.iter().map(|&i| i as usize) {
        if let Some(note) = Known::find(&prior.known.channel, i) {
            if i >= n {
                admitted_foreign[i - n] = false;
                continue;
            }
            let tx = &channel[i];
            admitted_channel[i] = false;
            let stage = if takes_part_in_stage_a(tx.kind) { Stage::A } else { Stage::B };
            let place = Place::Unmatched(note.reason());
            outcomes[i].stage_a = if takes_part_in_stage_a(tx.kind) { place } else { Place::NotApplicable };
            outcomes[i].stage_b = place;
            let detail = prior.known.detail(note);
            exceptions.push(exception(stage, note.reason(), None, Some(channel_side(tx)), None, detail));
            continue;
        }
        let Some(first) = seen_tx.insert(tx_key(r32(i)), r32(i)) else { continue };
        if i >= n {
            admitted_foreign[i - n] = false;
            continue;
        }
        let tx = &channel[i];
        let first = first as usize;
        admitted_channel[i] = false;
        // A foreign first row differs from this one: rows with one id and one merchant reference are in
        // one shard.
        let same = first < n
            && channel[first] == ChannelTransaction { provenance: channel[first].provenance.clone(), ..tx.clone() };
        let stage = if takes_part_in_stage_a(tx.kind) { Stage::A } else { Stage::B };
        let place = Place::Unmatched(ReasonCode::DuplicateChannelTransaction);
        outcomes[i].stage_a = if takes_part_in_stage_a(tx.kind) { place } else { Place::NotApplicable };
        outcomes[i].stage_b = place;
        exceptions.push(exception(
            stage,
            ReasonCode::DuplicateChannelTransaction,
            None,
            Some(channel_side(tx)),
            None,
            format!(
                "same transaction id as {}{}",
                provenance_of(first),
                if same { " (identical row)" } else { " (the rows differ)" }
            ),
        ));
    }
    drop(seen_tx);
    let mut admitted_bank = vec![true; bank.len()];
    let mut seen_entry: FastMap<(&str, &str), usize> =
        FastMap::with_capacity_and_hasher(bank.len(), Default::default());
    let bank_file_order = file_order(bank, |e| &e.provenance, prior.bank);
    for i in bank_file_order.iter().map(|&i| i as usize) {
        let entry = &bank[i];
        if let Some(note) = Known::find(&prior.known.bank, i) {
            admitted_bank[i] = false;
            bank_places[i] = Place::Unmatched(note.reason());
            exceptions.push(exception(
                Stage::B,
                note.reason(),
                None,
                Some(bank_side(entry)),
                None,
                prior.known.detail(note),
            ));
            continue;
        }
        if let Some(first) = seen_entry.get(&(entry.account_id.as_str(), entry.entry_id.as_str())) {
            admitted_bank[i] = false;
            bank_places[i] = Place::Unmatched(ReasonCode::DuplicateBankEntry);
            exceptions.push(exception(
                Stage::B,
                ReasonCode::DuplicateBankEntry,
                None,
                Some(bank_side(entry)),
                None,
                format!("same entry id as {}", bank[*first].provenance),
            ));
        } else {
            seen_entry.insert((&entry.account_id, &entry.entry_id), i);
        }
    }

    // Stage A: each admitted charge/refund claims its order; chargebacks link to theirs.
    let mut order_claimed = vec![false; orders.len()];
    // Rows whose stage A an earlier night decided keep that decision and their order.
    for (i, outcome) in outcomes.iter_mut().enumerate() {
        if let Some((place, order)) = earlier_of(i).stage_a {
            outcome.stage_a = place;
            outcome.order = order;
            outcome.carried_a = true;
            if let Some(o) = order.map(|o| o as usize) {
                order_claimed[o] = true;
                order_places[o] = Place::Matched;
                orders_carried[o] = true;
            }
        }
        if earlier_of(i).stage_b_matched {
            outcome.stage_b = Place::Matched;
            outcome.carried_b = true;
        }
    }
    // In file order (carried rows first, then by file and line): which of two rows claims an order depends
    // on where they are in their files, not on the order the files were listed or read.
    let stage_a_order: Vec<u32> = rows_file_order.into_iter().filter(|&i| (i as usize) < n).collect();
    // Exact first (A1): a row with its order's id, kind, amount and currency claims it before any row that
    // differs can be raised against it.
    let fits = |order: &Order, tx: &ChannelTransaction| {
        matches!(
            (order.kind, tx.kind),
            (OrderKind::Sale, ChannelKind::Charge) | (OrderKind::Refund, ChannelKind::Refund)
        )
    };
    for i in stage_a_order.iter().map(|&i| i as usize) {
        let tx = &channel[i];
        if !admitted_channel[i] || outcomes[i].carried_a || outcomes[i].stage_a != Place::NotApplicable {
            continue;
        }
        let Some(o) = named_order(i) else { continue };
        if order_claimed[o] || !fits(&orders[o], tx) || orders[o].money() != tx.presentment() {
            continue;
        }
        order_claimed[o] = true;
        order_places[o] = Place::Matched;
        outcomes[i].stage_a = Place::Matched;
        outcomes[i].order = Some(r32(o));
        matches.push(Match {
            stage: Stage::A,
            rule: RULE_A1,
            left: SideRef::Order(r32(o)),
            right: SideRef::Channel(r32(i)),
            explained: 0,
        });
    }
    // Partial captures (rule A2): several charges (or refunds) of one order that add up to it, when no
    // single one equals it.
    let mut fitting: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for i in stage_a_order.iter().map(|&i| i as usize) {
        let tx = &channel[i];
        if !admitted_channel[i]
            || outcomes[i].carried_a
            || !matches!(tx.kind, ChannelKind::Charge | ChannelKind::Refund)
        {
            continue;
        }
        let Some(o) = named_order(i) else { continue };
        if fits(&orders[o], tx) && !order_claimed[o] {
            fitting.entry(o).or_default().push(i);
        }
    }
    for (o, rows) in &fitting {
        let order = &orders[*o];
        if rows.len() < 2 || rows.iter().any(|&i| channel[i].presentment() == order.money()) {
            continue;
        }
        let mut sum = Money::zero(order.currency);
        let mut same_currency = true;
        for &i in rows {
            same_currency &= channel[i].presentment().currency() == order.currency;
            sum = sum.checked_add(&channel[i].presentment()).unwrap_or(sum);
        }
        if !same_currency || sum != order.money() {
            continue;
        }
        let sides: Vec<Side> = rows.iter().map(|&i| channel_side(&channel[i])).collect();
        let right = group_side(RecordKind::ChannelTransaction, &sides.iter().collect::<Vec<_>>())?;
        order_claimed[*o] = true;
        order_places[*o] = Place::Matched;
        for &i in rows {
            outcomes[i].stage_a = Place::Matched;
            outcomes[i].order = Some(r32(*o));
        }
        groups.push(right);
        group_rows.push(rows.iter().map(|&i| r32(i)).collect());
        matches.push(Match {
            stage: Stage::A,
            rule: RULE_A2,
            left: SideRef::Order(r32(*o)),
            right: SideRef::Group(r32(groups.len() - 1)),
            explained: 0,
        });
    }
    // The job's stage A rules, in order, for rows the exact rules left.
    for (n, rule) in rules.stage_a.iter().enumerate() {
        let rule_index = u16::try_from(BUILTIN_RULES.len() + n).expect("rules are few");
        for i in stage_a_order.iter().map(|&i| i as usize) {
            let tx = &channel[i];
            let open = admitted_channel[i] && !outcomes[i].carried_a && outcomes[i].stage_a == Place::NotApplicable;
            if !open || !rule.applies_to(&tx.channel) || !matches!(tx.kind, ChannelKind::Charge | ChannelKind::Refund) {
                continue;
            }
            let Some(o) = rule.key_of(tx).and_then(|key| order_by_id.get((key, ""))) else { continue };
            let o = o as usize;
            if order_claimed[o] || !fits(&orders[o], tx) || !rule.within_tolerance(orders[o].money(), tx.presentment())
            {
                continue;
            }
            order_claimed[o] = true;
            order_places[o] = Place::Matched;
            outcomes[i].stage_a = Place::Matched;
            outcomes[i].order = Some(r32(o));
            let explained =
                Explained::by_bank_charges(tx.presentment().amount() - orders[o].money().amount(), Decimal::ZERO);
            matches.push(Match {
                stage: Stage::A,
                rule: rule_index,
                left: SideRef::Order(r32(o)),
                right: SideRef::Channel(r32(i)),
                explained: explain(&mut explanations, explained),
            });
        }
    }
    for i in stage_a_order.into_iter().map(|i| i as usize) {
        let tx = &channel[i];
        let decided = outcomes[i].carried_a || outcomes[i].stage_a != Place::NotApplicable;
        if !admitted_channel[i] || !takes_part_in_stage_a(tx.kind) || decided {
            continue;
        }
        let order_id = tx.merchant_reference.as_deref().unwrap_or("");
        let Some(o) = named_order(i) else {
            outcomes[i].stage_a = Place::Unmatched(ReasonCode::NoOrder);
            exceptions.push(exception(
                Stage::A,
                ReasonCode::NoOrder,
                None,
                Some(channel_side(tx)),
                Some(order_id.to_string()),
                format!("no order with id {order_id:?}"),
            ));
            continue;
        };
        let order = &orders[o];
        outcomes[i].order = Some(r32(o));
        let (reason, detail, place_order) = if tx.kind == ChannelKind::Chargeback {
            if order.kind == OrderKind::Sale {
                (
                    ReasonCode::Chargeback,
                    format!("chargeback of {} on order {}", tx.presentment(), order.order_id),
                    false,
                )
            } else {
                (
                    ReasonCode::KindMismatch,
                    format!("a chargeback against {} order {}", order.kind.as_str(), order.order_id),
                    false,
                )
            }
        } else if !fits(order, tx) {
            (
                ReasonCode::KindMismatch,
                format!("channel {} against {} order {}", tx.kind.as_str(), order.kind.as_str(), order.order_id),
                false,
            )
        } else if order_claimed[o] {
            (
                ReasonCode::OrderAlreadyMatched,
                match order_places[o] {
                    Place::Unmatched(reason) => format!(
                        "order {} is already in an exception ({}) with another {}",
                        order.order_id,
                        reason.as_str(),
                        tx.kind.as_str()
                    ),
                    _ => format!("order {} already has a {}", order.order_id, tx.kind.as_str()),
                },
                false,
            )
        } else {
            // A row of the right kind whose order is unclaimed and equal in amount was matched by A1 above
            // (same conditions; claims are never undone): only a different amount is left here.
            assert_ne!(order.money(), tx.presentment(), "rule A1 matches every exact row before exceptions");
            (
                ReasonCode::AmountMismatch,
                format!("order {} but channel presentment {}", order.money(), tx.presentment()),
                true,
            )
        };
        outcomes[i].stage_a = Place::Unmatched(reason);
        let left = if place_order {
            order_claimed[o] = true;
            order_places[o] = Place::Unmatched(reason);
            Some(order_side(order))
        } else {
            None
        };
        exceptions.push(exception(
            Stage::A,
            reason,
            left,
            Some(channel_side(tx)),
            Some(order.order_id.to_string()),
            detail,
        ));
    }
    for (o, order) in orders.iter().enumerate() {
        if order_places[o] == Place::NotApplicable {
            order_places[o] = Place::Unmatched(ReasonCode::NoChannelTransaction);
            exceptions.push(exception(
                Stage::A,
                ReasonCode::NoChannelTransaction,
                Some(order_side(order)),
                None,
                None,
                format!(
                    "no {} row from channel {} for this order",
                    if order.kind == OrderKind::Sale { "charge" } else { "refund" },
                    order.channel
                ),
            ));
        }
    }

    drop(order_by_id);

    // Stage C: payouts we issued ↔ the bank debits that carry their EndToEndId (rule C1); a credit that
    // carries it brings the payout back (returned_payout). Before stage B, so a debit of ours is never
    // taken for a channel's.
    let mut payout_places = vec![Place::NotApplicable; prior.payouts.len()];
    let mut payout_returns: Vec<Option<u32>> = vec![None; prior.payouts.len()];
    {
        let mut by_id: FastMap<String, usize> = FastMap::default();
        for (p, payout) in prior.payouts.iter().enumerate() {
            by_id.entry(rules::normalise_reference(&payout.end_to_end_id)).or_insert(p);
        }
        for b in bank_file_order.iter().map(|&b| b as usize) {
            let entry = &bank[b];
            if !admitted_bank[b] || entry.status != EntryStatus::Booked || by_id.is_empty() {
                continue;
            }
            let texts = [entry.reference.as_deref()]
                .into_iter()
                .chain(entry.details.iter().map(|d| d.end_to_end_id.as_deref()))
                .flatten();
            let Some(p) = texts
                .map(rules::normalise_reference)
                .find_map(|t| by_id.get(&t).copied().filter(|&p| payout_places[p] == Place::NotApplicable))
            else {
                continue;
            };
            let payout = &prior.payouts[p];
            let returned = entry.direction == Direction::Credit;
            // A payout already debited expects no other debit: only its return concerns it.
            if payout.debited_on.is_some() && !returned {
                continue;
            }
            let (left, right) = (payout_side(payout), bank_side(entry));
            let reason = if returned {
                Some(ReasonCode::ReturnedPayout)
            } else if right.amount != left.amount {
                Some(if right.amount.currency() == left.amount.currency() {
                    ReasonCode::AmountMismatch
                } else {
                    ReasonCode::CurrencyMismatch
                })
            } else {
                None
            };
            match reason {
                None => {
                    payout_places[p] = Place::Matched;
                    bank_places[b] = Place::Matched;
                    let charges = entry.charges().map(|c| c.amount()).unwrap_or_default();
                    let explained = Explained::by_bank_charges(right.amount.amount() - left.amount.amount(), charges);
                    matches.push(Match {
                        stage: Stage::C,
                        rule: RULE_C1,
                        left: SideRef::Payout(r32(p)),
                        right: SideRef::Bank(r32(b)),
                        explained: explain(&mut explanations, explained),
                    });
                }
                Some(reason) => {
                    payout_places[p] = Place::Unmatched(reason);
                    bank_places[b] = Place::Unmatched(reason);
                    if returned {
                        payout_returns[p] = Some(r32(b));
                    }
                    let detail = if returned {
                        let why =
                            entry.details.iter().find_map(|d| d.return_reason.as_deref()).unwrap_or("no reason given");
                        format!("payout {} came back ({why})", payout.payout_id)
                    } else {
                        format!("payout {} but bank debit {}", left.amount, right.amount)
                    };
                    exceptions.push(exception(Stage::C, reason, Some(left), Some(right), None, detail));
                }
            }
        }
        for (p, payout) in prior.payouts.iter().enumerate() {
            if payout_places[p] == Place::NotApplicable && payout.debited_on.is_some() {
                // Debited on an earlier night and not returned tonight: decided then, not counted again.
                payout_places[p] = Place::Matched;
            } else if payout_places[p] == Place::NotApplicable {
                payout_places[p] = Place::Unmatched(ReasonCode::PayoutNotDebited);
                exceptions.push(exception(
                    Stage::C,
                    ReasonCode::PayoutNotDebited,
                    Some(payout_side(payout)),
                    None,
                    None,
                    format!("no bank debit with EndToEndId {:?} yet", payout.end_to_end_id),
                ));
            }
        }
    }

    // Stage B: batches by (channel, batch id, settlement currency), then the job's rules in order.
    // Rows into their (channel, batch id, currency) by a hash map, only looked up; the groups are then
    // put in key order, so hash order reaches nothing.
    let mut group_of: FastMap<(&str, &str, Currency), usize> = FastMap::default();
    let mut group_keys: Vec<(&str, &str, Currency)> = Vec::new();
    let mut group_members: Vec<Vec<usize>> = Vec::new();
    type BatchKey<'k> = (&'k str, &'k str, Currency);
    fn add_member<'k>(
        (group_of, group_keys, group_members): (
            &mut FastMap<BatchKey<'k>, usize>,
            &mut Vec<BatchKey<'k>>,
            &mut Vec<Vec<usize>>,
        ),
        key: BatchKey<'k>,
        i: usize,
    ) {
        let g = *group_of.entry(key).or_insert_with(|| {
            group_keys.push(key);
            group_members.push(Vec::new());
            group_keys.len() - 1
        });
        group_members[g].push(i);
    }
    for (i, tx) in channel.iter().enumerate() {
        if !admitted_channel[i] || outcomes[i].carried_b {
            continue;
        }
        match tx.batch_id.as_deref() {
            Some(batch) => add_member(
                (&mut group_of, &mut group_keys, &mut group_members),
                (tx.channel.as_str(), batch, tx.settlement_currency),
                i,
            ),
            None => {
                outcomes[i].stage_b = Place::Unmatched(ReasonCode::NotInPayoutBatch);
                exceptions.push(exception(
                    Stage::B,
                    ReasonCode::NotInPayoutBatch,
                    Some(channel_net_side(tx)),
                    None,
                    None,
                    format!("{} not yet in a payout batch", tx.kind.as_str()),
                ));
            }
        }
    }
    // Foreign rows in a batch count in it; their partition gives them their places.
    for (j, row) in foreign.iter().enumerate() {
        if let Some(batch) = row.batch_id.as_deref()
            && admitted_foreign[j]
            && !row.stage_b_carried
        {
            add_member(
                (&mut group_of, &mut group_keys, &mut group_members),
                (row.channel.as_str(), batch, row.settlement_currency),
                n + j,
            );
        }
    }
    drop(group_of);
    // What a batch takes of a member: (kind, net, booking date, payout date, transaction id).
    let member = |i: usize| -> (ChannelKind, Money, Date, Option<Date>, &str) {
        if i < n {
            let tx = &channel[i];
            (tx.kind, tx.net_money(), tx.booking_date, tx.payout_date, &tx.transaction_id)
        } else {
            let row = &foreign[i - n];
            let net = Money::new(row.net, row.settlement_currency);
            (row.kind, net, row.booking_date, row.payout_date, &row.transaction_id)
        }
    };
    for members in &mut group_members {
        // Members in file order (file, line, id), whatever order the rows came in.
        // Rows of one file come in line order already: sorted runs make this sort linear.
        let key = |i: usize| {
            let p = provenance_of(i);
            (&*p.source_file, p.line_number(), member(i).4)
        };
        members.sort_by(|&a, &b| key(a).cmp(&key(b)));
    }
    let mut group_order: Vec<usize> = (0..group_keys.len()).collect();
    group_order.sort_unstable_by(|&a, &b| group_keys[a].cmp(&group_keys[b]));
    // (channel, batch id) → its groups, one per settlement currency, in key order.
    let grouped: Vec<(&str, &str, Vec<usize>)> = group_order
        .chunk_by(|&a, &b| group_keys[a].0 == group_keys[b].0 && group_keys[a].1 == group_keys[b].1)
        .map(|run| (group_keys[run[0]].0, group_keys[run[0]].1, run.to_vec()))
        .collect();
    let mut batches: Vec<Batch<'_>> = Vec::new();
    for (channel_name, batch_id, by_currency) in &grouped {
        let mixed = by_currency.len() > 1;
        for &g in by_currency {
            let (currency, members) = (&group_keys[g].2, std::mem::take(&mut group_members[g]));
            // The batch's payout row (when the report has one) is the channel payout itself: the other
            // rows sum up to it (checked when the report is read), so it is a member but not a summand.
            let mut net = Money::zero(*currency);
            for &i in members.iter().filter(|&&i| !member(i).0.is_payout()) {
                net = net.checked_add(&member(i).1).map_err(|_| ReconError::Overflow)?;
            }
            let date = members
                .iter()
                .filter_map(|&i| member(i).3)
                .max()
                .or_else(|| members.iter().map(|&i| member(i).2).max())
                .expect("a batch has members");
            let side = Side {
                kind: RecordKind::PayoutBatch,
                id: format_compact!("{channel_name}:{batch_id}"),
                amount: net,
                source: provenance_of(members[0]).to_compact_string(),
                records: u32::try_from(members.len()).unwrap_or(u32::MAX),
                date,
            };
            if mixed {
                exceptions.push(exception(
                    Stage::B,
                    ReasonCode::MixedCurrencyBatch,
                    Some(side),
                    None,
                    None,
                    format!("batch has {} settlement currencies", by_currency.len()),
                ));
                for &i in members.iter().filter(|&&i| i < n) {
                    outcomes[i].stage_b = Place::Unmatched(ReasonCode::MixedCurrencyBatch);
                }
                continue;
            }
            batches.push(Batch {
                channel: channel_name,
                reference: rules::normalise_reference(batch_id),
                batch_id,
                members,
                net,
                date,
                side,
                place: None,
                candidate: None,
                late: None,
            });
        }
    }
    // Booked entries in the order of their ids (not of the input): which entry a rule tries first cannot
    // depend on how the files were ordered. Debits take part too: a batch whose refunds and chargebacks
    // exceed its charges has a negative net, which the channel debits (amounts compare signed).
    let mut credits: Vec<usize> =
        (0..bank.len()).filter(|&i| admitted_bank[i] && bank[i].status == EntryStatus::Booked).collect();
    credits.sort_by(|&a, &b| (&bank[a].account_id, &bank[a].entry_id).cmp(&(&bank[b].account_id, &bank[b].entry_id)));
    let mut stage = StageB {
        calendar,
        bank,
        credits,
        batches,
        bank_places: &mut bank_places,
        matches: &mut matches,
        exceptions: &mut exceptions,
        groups: &mut groups,
        explanations: &mut explanations,
        rule_ids: &rule_ids,
    };
    for rule in &compiled {
        match rule.rule.method {
            BatchMethod::Reference => stage.reference_rule(rule)?,
            BatchMethod::SubsetSum => stage.subset_rule(rule)?,
        }
    }
    let mut batches = stage.batches;
    for batch in &mut batches {
        let place = match batch.place {
            Some(place) => place,
            None => match batch.candidate.filter(|&b| bank_places[b] == Place::NotApplicable) {
                // A credit named the batch but no rule's amount (or window) fitted.
                Some(b) => {
                    let credit = bank_side(&bank[b]);
                    let (reason, detail) = if credit.amount.currency() != batch.net.currency() {
                        (
                            ReasonCode::CurrencyMismatch,
                            format!("batch net {} but bank credit in {}", batch.net, credit.amount.currency()),
                        )
                    } else {
                        (
                            ReasonCode::AmountMismatch,
                            format!("batch net {} but bank credit {}", batch.net, credit.amount),
                        )
                    };
                    bank_places[b] = Place::Unmatched(reason);
                    exceptions.push(exception(Stage::B, reason, Some(batch.side.clone()), Some(credit), None, detail));
                    Place::Unmatched(reason)
                }
                None if batch.late.is_some_and(|b| bank_places[b] == Place::NotApplicable) => {
                    let b = batch.late.expect("checked");
                    let credit = bank_side(&bank[b]);
                    let reason = ReasonCode::OutsideDateWindow;
                    bank_places[b] = Place::Unmatched(reason);
                    let detail = format!(
                        "credit booked {} names the batch of {}, outside every rule's date window",
                        bank[b].booking_date, batch.date
                    );
                    exceptions.push(exception(Stage::B, reason, Some(batch.side.clone()), Some(credit), None, detail));
                    Place::Unmatched(reason)
                }
                None => {
                    exceptions.push(exception(
                        Stage::B,
                        ReasonCode::NoBankCredit,
                        Some(batch.side.clone()),
                        None,
                        None,
                        format!("no bank credit names batch {:?}", batch.batch_id),
                    ));
                    Place::Unmatched(ReasonCode::NoBankCredit)
                }
            },
        };
        for &i in batch.members.iter().filter(|&&i| i < n) {
            outcomes[i].stage_b = place;
        }
    }
    for (b, entry) in bank.iter().enumerate() {
        if !admitted_bank[b] || bank_places[b] != Place::NotApplicable {
            continue;
        }
        let (reason, detail) = match entry.direction {
            _ if entry.status != EntryStatus::Booked => {
                (ReasonCode::NotBooked, format!("status {}: not booked", entry.status.as_str()))
            }
            Direction::Credit => (
                ReasonCode::NoPayoutBatch,
                match &entry.reference {
                    Some(r) => format!("no channel payout batch with id {r:?}"),
                    None => "credit without a reference".to_string(),
                },
            ),
            Direction::Debit => (
                ReasonCode::UnmatchedBankDebit,
                "no payout batch with a negative net names this debit; our own payouts (stage C) are not matched yet"
                    .to_string(),
            ),
        };
        bank_places[b] = Place::Unmatched(reason);
        exceptions.push(exception(
            Stage::B,
            reason,
            None,
            Some(bank_side(entry)),
            entry.reference.as_deref().map(String::from),
            detail,
        ));
    }

    finish(
        (matches, groups, group_rows, rule_ids, explanations),
        exceptions,
        (order_places, orders_carried),
        outcomes,
        (bank_places, payout_places, payout_returns),
        Inputs { orders, channel, bank, payouts: &prior.payouts },
    )
}

/// A channel payout batch in stage B: its rows' net in one settlement currency.
struct Batch<'a> {
    channel: &'a str,
    batch_id: &'a str,
    /// `batch_id` normalised (`rules::normalise_reference`).
    reference: String,
    members: Vec<usize>,
    net: Money,
    /// The payout date its rows give, else their last booking date: the start of a rule's date window.
    date: Date,
    side: Side,
    /// Set once a rule matched it.
    place: Option<Place>,
    /// The first credit that named it (for the amount-mismatch exception when no rule fits).
    candidate: Option<usize>,
    /// The first credit that named it outside a rule's date window.
    late: Option<usize>,
}

/// One side standing for several: ids joined by ` + `, amounts summed, the first one's source.
fn group_side(kind: RecordKind, sides: &[&Side]) -> Result<Side, ReconError> {
    let first = sides.first().expect("a group has members");
    let mut amount = Money::zero(first.amount.currency());
    for side in sides {
        amount = amount.checked_add(&side.amount).map_err(|_| ReconError::Overflow)?;
    }
    Ok(Side {
        kind,
        id: Text::from(sides.iter().map(|s| s.id.as_str()).collect::<Vec<_>>().join(" + ")),
        amount,
        source: first.source.clone(),
        records: sides.iter().map(|s| s.records).sum(),
        date: sides.iter().map(|s| s.date).min().unwrap_or(first.date),
    })
}

/// Stage B's state while its rules run: the batches and booked credits, and where they went.
struct StageB<'a, 'p> {
    calendar: &'a Calendar,
    bank: &'a [BankEntry],
    /// Booked credits admitted, in id order.
    credits: Vec<usize>,
    batches: Vec<Batch<'a>>,
    bank_places: &'p mut [Place],
    matches: &'p mut Vec<Match>,
    exceptions: &'p mut Vec<Exception>,
    groups: &'p mut Vec<Side>,
    explanations: &'p mut Vec<Explained>,
    rule_ids: &'p [Text],
}

impl StageB<'_, '_> {
    /// Records a match of batches `ks` with credits `cs` under `rule`.
    fn match_group(&mut self, rule: &str, ks: &[usize], cs: &[usize]) -> Result<(), ReconError> {
        let (batches, bank) = (&mut self.batches, self.bank);
        let lefts: Vec<&Side> = ks.iter().map(|&k| &batches[k].side).collect();
        let left = group_side(RecordKind::PayoutBatch, &lefts)?;
        let (right, right_amount) = match cs {
            [c] => (SideRef::Bank(r32(*c)), bank[*c].signed_money()),
            _ => {
                let credit_sides: Vec<Side> = cs.iter().map(|&c| bank_side(&bank[c])).collect();
                let group = group_side(RecordKind::BankEntry, &credit_sides.iter().collect::<Vec<_>>())?;
                let amount = group.amount;
                self.groups.push(group);
                (SideRef::Group(r32(self.groups.len() - 1)), amount)
            }
        };
        let charges: Decimal = cs.iter().filter_map(|&c| bank[c].charges()).map(|m| m.amount()).sum();
        let explained = Explained::by_bank_charges(right_amount.amount() - left.amount.amount(), charges);
        self.groups.push(left);
        let left = SideRef::Group(r32(self.groups.len() - 1));
        let rule = rule_index(self.rule_ids, rule);
        let explained = explain(self.explanations, explained);
        self.matches.push(Match { stage: Stage::B, rule, left, right, explained });
        for &k in ks {
            batches[k].place = Some(Place::Matched);
        }
        for &c in cs {
            self.bank_places[c] = Place::Matched;
        }
        Ok(())
    }

    /// A `reference` rule: credits name batches in their texts. One credit naming one batch within
    /// tolerance matches it (1:1); several credits naming only that batch and adding up to it match it
    /// together (a split payout, 1:n); one credit naming several open batches that add up to it matches
    /// them all (n:1).
    fn reference_rule(&mut self, rule: &rules::Compiled) -> Result<(), ReconError> {
        let (calendar, bank) = (self.calendar, self.bank);
        // Only looked up, never iterated: hash order cannot reach an output.
        let mut by_reference: FastMap<String, Vec<usize>> = FastMap::default();
        for (k, batch) in self.batches.iter().enumerate() {
            if batch.place.is_none() && rule.applies_to(batch.channel) {
                by_reference.entry(batch.reference.clone()).or_default().push(k);
            }
        }
        let mut naming: Vec<(usize, Vec<usize>)> = Vec::new();
        // Batch → the credits naming it and no other batch (in credit order).
        let mut sole_namers: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for &c in self.credits.iter().filter(|&&c| self.bank_places[c] == Place::NotApplicable) {
            let entry = &bank[c];
            let mut named: Vec<usize> = Vec::new();
            for reference in rule.references(entry.reference.as_deref(), entry.remittance_info.as_deref()) {
                for &k in by_reference.get(reference.as_str()).into_iter().flatten() {
                    if !rule.in_window(calendar, self.batches[k].date, entry.booking_date) {
                        self.batches[k].late.get_or_insert(c);
                    } else if !named.contains(&k) {
                        named.push(k);
                    }
                }
            }
            for &k in &named {
                self.batches[k].candidate.get_or_insert(c);
            }
            if let [k] = named.as_slice() {
                sole_namers.entry(*k).or_default().push(c);
            }
            naming.push((c, named));
        }
        for (k, cs) in &sole_namers {
            let k = *k;
            if self.batches[k].place.is_some() {
                continue;
            }
            let net = self.batches[k].net;
            let open: Vec<usize> =
                cs.iter().copied().filter(|&c| self.bank_places[c] == Place::NotApplicable).collect();
            if let Some(&c) = open.iter().find(|&&c| rule.within_tolerance(net, bank[c].signed_money())) {
                self.match_group(&rule.rule.id, &[k], &[c])?;
            } else if open.len() > 1 {
                let mut sum = Money::zero(net.currency());
                let mut same_currency = true;
                for &c in &open {
                    same_currency &= bank[c].currency == net.currency();
                    sum = sum.checked_add(&bank[c].signed_money()).unwrap_or(sum);
                }
                if same_currency && rule.within_tolerance(net, sum) {
                    self.match_group(&rule.rule.id, &[k], &open)?;
                }
            }
        }
        // A credit naming several batches of which exactly one fits its amount alone: that one.
        for (c, named) in &naming {
            if named.len() < 2 || self.bank_places[*c] != Place::NotApplicable {
                continue;
            }
            let credit = bank[*c].signed_money();
            let fitting: Vec<usize> = named
                .iter()
                .copied()
                .filter(|&k| self.batches[k].place.is_none() && rule.within_tolerance(self.batches[k].net, credit))
                .collect();
            if let [k] = fitting.as_slice() {
                self.match_group(&rule.rule.id, &[*k], &[*c])?;
            }
        }
        for (c, named) in &naming {
            if named.len() < 2 || self.bank_places[*c] != Place::NotApplicable {
                continue;
            }
            if named
                .iter()
                .any(|&k| self.batches[k].place.is_some() || self.batches[k].net.currency() != bank[*c].currency)
            {
                continue;
            }
            let mut sum = Money::zero(bank[*c].currency);
            for &k in named {
                sum = sum.checked_add(&self.batches[k].net).map_err(|_| ReconError::Overflow)?;
            }
            if rule.within_tolerance(sum, bank[*c].signed_money()) {
                let mut ks = named.clone();
                ks.sort_unstable();
                self.match_group(&rule.rule.id, &ks, &[*c])?;
            }
        }
        Ok(())
    }

    /// A `subset_sum` rule: each credit still open (in id order) against the open batches of its currency in
    /// its window; exactly one set of at most `max_batches` of them adding up to it (within tolerance)
    /// matches, several are an `ambiguous_match` exception naming them. More candidates than
    /// `max_candidates` leave the credit alone.
    fn subset_rule(&mut self, rule: &rules::Compiled) -> Result<(), ReconError> {
        let (calendar, bank) = (self.calendar, self.bank);
        let max_candidates = rule.rule.max_candidates.unwrap_or(rules::SUBSET_CANDIDATES_DEFAULT) as usize;
        let max_batches = rule.rule.max_batches.unwrap_or(rules::SUBSET_BATCHES_DEFAULT).max(1) as usize;
        const SOLUTIONS_SHOWN_MAX: usize = 5;
        for c in self.credits.clone() {
            if self.bank_places[c] != Place::NotApplicable {
                continue;
            }
            let credit = bank[c].signed_money();
            let candidates: Vec<usize> = (0..self.batches.len())
                .filter(|&k| {
                    let b = &self.batches[k];
                    b.place.is_none()
                        && rule.applies_to(b.channel)
                        && b.net.currency() == credit.currency()
                        && rule.in_window(calendar, b.date, bank[c].booking_date)
                })
                .collect();
            if candidates.is_empty() || candidates.len() > max_candidates {
                continue;
            }
            // Every set of 1..=max_batches candidates, in lexicographic order of positions: bounded by
            // C(max_candidates, max_batches) sets per credit.
            let mut solutions: Vec<Vec<usize>> = Vec::new();
            let mut stack: Vec<usize> = Vec::new();
            let mut sums: Vec<Money> = vec![Money::zero(credit.currency())];
            let mut next = 0usize;
            loop {
                if next < candidates.len() && stack.len() < max_batches {
                    let total = sums.last().expect("starts with zero").checked_add(&self.batches[candidates[next]].net);
                    let total = total.map_err(|_| ReconError::Overflow)?;
                    stack.push(next);
                    sums.push(total);
                    if rule.within_tolerance(total, credit) {
                        solutions.push(stack.iter().map(|&p| candidates[p]).collect());
                    }
                    next += 1;
                    continue;
                }
                let Some(last) = stack.pop() else { break };
                sums.pop();
                next = last + 1;
            }
            match solutions.len() {
                0 => {}
                1 => self.match_group(&rule.rule.id, &solutions[0], &[c])?,
                n => {
                    let shown: Vec<String> = solutions
                        .iter()
                        .take(SOLUTIONS_SHOWN_MAX)
                        .map(|set| {
                            set.iter().map(|&k| self.batches[k].side.id.as_str()).collect::<Vec<_>>().join(" + ")
                        })
                        .collect();
                    self.bank_places[c] = Place::Unmatched(ReasonCode::AmbiguousMatch);
                    self.exceptions.push(Exception {
                        exception_id: Text::default(),
                        stage: Stage::B,
                        reason: ReasonCode::AmbiguousMatch,
                        left: None,
                        right: Some(bank_side(&bank[c])),
                        related_id: None,
                        detail: format!(
                            "rule {}: {n} sets of open batches add up to it: {}{}",
                            rule.rule.id,
                            shown.join("; "),
                            if n > SOLUTIONS_SHOWN_MAX { "; …" } else { "" }
                        ),
                    });
                }
            }
        }
        Ok(())
    }
}

/// The built-in rules' ids, first in `ReconResult::rules`.
const BUILTIN_RULES: [&str; 3] = ["A1 order_id_exact", "A2 order_id_partial_captures", "C1 payout_end_to_end_id"];
const RULE_A1: u16 = 0;
const RULE_A2: u16 = 1;
const RULE_C1: u16 = 2;

/// The index of rule `id` in `rule_ids` (every rule a run applies is in it).
fn rule_index(rule_ids: &[Text], id: &str) -> u16 {
    let n = rule_ids.iter().position(|r| r == id).expect("every applied rule is listed");
    u16::try_from(n).expect("rules are few")
}

/// An input index as a `SideRef` holds it (the engine checked every input fits in `u32`).
fn r32(i: usize) -> u32 {
    u32::try_from(i).expect("input sizes are checked to fit u32")
}

/// `Match::explained` for `explained`: 0 when there is nothing to explain, else 1 + its place in
/// `explanations`.
fn explain(explanations: &mut Vec<Explained>, explained: Explained) -> u32 {
    if explained == Explained::default() {
        return 0;
    }
    explanations.push(explained);
    r32(explanations.len())
}

/// The matches and what they point at: groups, their channel rows, rule ids, explained differences.
type MatchParts = (Vec<Match>, Vec<Side>, Vec<Vec<u32>>, Vec<Text>, Vec<Explained>);

#[allow(clippy::too_many_arguments)]
fn finish(
    (mut matches, groups, mut group_rows, rules, explanations): MatchParts,
    mut exceptions: Vec<Exception>,
    (order_places, orders_carried): (Vec<Place>, Vec<bool>),
    outcomes: Vec<ChannelOutcome>,
    (bank_places, payout_places, payout_returns): (Vec<Place>, Vec<Place>, Vec<Option<u32>>),
    inputs: Inputs<'_>,
) -> Result<ReconResult, ReconError> {
    let Inputs { orders, channel, bank, payouts } = inputs;
    group_rows.resize(groups.len(), Vec::new());
    // Compared by reference: a sort of millions of exceptions must not copy their strings.
    fn side_key(s: &Option<Side>) -> Option<(&str, &str)> {
        s.as_ref().map(|s| (s.id.as_str(), s.source.as_str()))
    }
    // Ids compared where they are (in the records): nothing is written to sort millions of matches. The
    // stable sort merges the sorted runs matches come in (one per channel file) in linear time, where
    // an unstable one took twice as long resolving ids out of cache.
    matches.sort_by(|a, b| {
        a.stage.cmp(&b.stage).then_with(|| {
            let key = |r| id_key(r, &inputs, &groups);
            key(a.left).cmp_written(&key(b.left)).then_with(|| key(a.right).cmp_written(&key(b.right)))
        })
    });
    exceptions.sort_by(|a, b| {
        (a.stage, a.reason, side_key(&a.left), side_key(&a.right)).cmp(&(
            b.stage,
            b.reason,
            side_key(&b.left),
            side_key(&b.right),
        ))
    });
    for (n, e) in exceptions.iter_mut().enumerate() {
        e.exception_id = format_compact!("E{}{:06}", e.stage.as_str(), n + 1);
    }

    let mut tallies: Tallies = BTreeMap::new();
    let mut tally = |stage: Stage, kind: RecordKind, amount: Money, place: Place| -> Result<(), ReconError> {
        let Some(class) = place.class() else { return Ok(()) };
        let t = tallies.entry((stage, kind, amount.currency())).or_default();
        t.input.add(amount.amount())?;
        match class {
            Ok(()) => t.matched.add(amount.amount()),
            Err(Class::Open) => t.open.add(amount.amount()),
            Err(Class::Exception) => t.exception.add(amount.amount()),
            Err(Class::Rejected) => t.rejected.add(amount.amount()),
        }
    };
    // Places decided on an earlier night were counted then: they are not inputs of tonight's tallies.
    for ((order, place), carried) in orders.iter().zip(&order_places).zip(&orders_carried) {
        if !carried {
            tally(Stage::A, RecordKind::Order, order.money(), *place)?;
        }
    }
    for (tx, outcome) in channel.iter().zip(&outcomes) {
        if !outcome.carried_a {
            tally(Stage::A, RecordKind::ChannelTransaction, tx.presentment(), outcome.stage_a)?;
        }
        if !outcome.carried_b {
            tally(Stage::B, RecordKind::ChannelTransaction, tx.net_money(), outcome.stage_b)?;
        }
    }
    for (entry, place) in bank.iter().zip(&bank_places) {
        tally(Stage::B, RecordKind::BankEntry, entry.signed_money(), *place)?;
    }
    for (payout, place) in payouts.iter().zip(&payout_places) {
        // A payout debited on an earlier night counts again only if it comes back tonight.
        if payout.debited_on.is_none() || *place != Place::Matched {
            tally(Stage::C, RecordKind::Payout, payout_side(payout).amount, *place)?;
        }
    }
    // Conservation: every record counted once per stage it takes part in, in exactly one status.
    for ((stage, kind, currency), t) in &tallies {
        let parts = [t.matched, t.open, t.exception, t.rejected];
        let count: u64 = parts.iter().map(|p| p.count).sum();
        let amount: Decimal = parts.iter().map(|p| p.amount).sum();
        assert_eq!(count, t.input.count, "record count not conserved in stage {stage:?} {kind:?} {currency}");
        assert_eq!(amount, t.input.amount, "amount not conserved in stage {stage:?} {kind:?} {currency}");
    }
    assert!(order_places.iter().all(|p| *p != Place::NotApplicable), "every order has a stage A place");
    assert!(bank_places.iter().all(|p| *p != Place::NotApplicable), "every bank entry has a stage B place");
    assert!(outcomes.iter().all(|o| o.stage_b != Place::NotApplicable), "every channel row has a stage B place");

    Ok(ReconResult {
        matches,
        groups,
        group_rows,
        rules,
        explanations,
        exceptions,
        orders: order_places,
        orders_carried,
        channel: outcomes,
        payouts: payout_places,
        payout_returns,
        bank: bank_places,
        tallies,
    })
}

#[cfg(test)]
mod tests;
