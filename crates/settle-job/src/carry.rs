//! Open items across nights: what a run leaves open is written into its run directory, and the next run
//! of the job reads it back as inputs, with what earlier nights already decided.
//!
//! Files (format version 1, documented in docs/outputs.md):
//! - `open_orders.csv`, `open_channel_transactions.csv`, `open_bank_entries.csv`: the records, in the
//!   canonical layouts (docs/formats.md);
//! - `open_earlier.csv`: `channel,transaction_id,stage_a,order_id,stage_b` for carried channel rows whose
//!   stage A (`matched`, `chargeback`) or stage B (`matched`) is already decided;
//! - `open_payouts.csv`: `payout_id,end_to_end_id,beneficiary_id,amount,currency,execution_date,
//!   debited_on`: payouts issued and not yet seen debited, and debited ones watched for a return
//!   (stage C);
//! - `open_items.json`: `{"format": "settle-open-items", "version": 1, "business_date", "counts"}`.
//! - `written_off.csv`: records that left the open list by the job's age rule instead.
//! - `open_balances.csv`: `beneficiary_id,amount,currency,status,business_date,release_on`: what a
//!   payout did not pay (below the minimum, negative, not due, held: its status), added to the
//!   beneficiary's next payout; and reserves (`status` `reserve`, held on `business_date`), released into
//!   the first payout on or after `release_on`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use settle_core::{BankEntry, Calendar, ChannelTransaction, Date, Order};
use settle_recon::{AwaitedPayout, Class, Earlier, Place, Prior, ReasonCode, ReconResult, business_days_between};

pub const FORMAT: &str = "settle-open-items";
pub const VERSION: u64 = 1;
pub const FILES: [&str; 5] = [
    "open_orders.csv",
    "open_channel_transactions.csv",
    "open_bank_entries.csv",
    "open_earlier.csv",
    "open_payouts.csv",
];
pub const INDEX: &str = "open_items.json";
/// Beneficiaries' balances tonight did not pay out (optional: runs before it existed have none).
pub const BALANCES: &str = "open_balances.csv";
/// How long a debited payout is watched for its return (SEPA returns come within a few business days).
pub const RETURN_WINDOW_BUSINESS_DAYS: u32 = 10;

/// What a night carries into the next.
#[derive(Debug, Default)]
pub struct Carry {
    pub orders: Vec<Order>,
    pub channel: Vec<ChannelTransaction>,
    pub bank: Vec<BankEntry>,
    /// Index-aligned with `channel`.
    pub earlier: Vec<Earlier>,
    /// The order id of each carried row's earlier stage A link.
    pub earlier_orders: Vec<Option<String>>,
    /// Payouts issued and not yet seen debited.
    pub payouts: Vec<AwaitedPayout>,
    /// (record kind, id, amount, currency, date, age in business days, source) written off by age.
    pub written_off: Vec<[String; 7]>,
}

/// What tonight leaves open, borrowed from tonight's records (copying the open channel rows took 2.5 GB
/// on a 10^7-order night): written as the open-items files, which the next night reads back as a
/// `Carry`. `Open::to_carry` gives that `Carry` without the files.
#[derive(Debug, Default)]
pub struct Open<'a> {
    pub orders: Vec<&'a Order>,
    pub channel: Vec<&'a ChannelTransaction>,
    pub bank: Vec<&'a BankEntry>,
    /// Index-aligned with `orders`, `channel` and `bank`: each one's index in the lists `carry` was given.
    pub order_index: Vec<u32>,
    pub channel_index: Vec<u32>,
    pub bank_index: Vec<u32>,
    /// Index-aligned with `channel`.
    pub earlier: Vec<Earlier>,
    /// The order id of each carried row's earlier stage A link.
    pub earlier_orders: Vec<Option<String>>,
    /// Payouts issued and not yet seen debited (with tonight's payable ones, once they are added).
    pub payouts: Vec<AwaitedPayout>,
    /// (record kind, id, amount, currency, date, age in business days, source) written off by age.
    pub written_off: Vec<[String; 7]>,
}

impl Open<'_> {
    /// The open items as the next night would read them back (the records copied).
    pub fn to_carry(&self) -> Carry {
        Carry {
            orders: self.orders.iter().map(|o| (*o).clone()).collect(),
            channel: self.channel.iter().map(|t| (*t).clone()).collect(),
            bank: self.bank.iter().map(|b| (*b).clone()).collect(),
            earlier: self.earlier.clone(),
            earlier_orders: self.earlier_orders.clone(),
            payouts: self.payouts.clone(),
            written_off: self.written_off.clone(),
        }
    }
}

fn settled_a(place: Place) -> bool {
    matches!(place, Place::Matched | Place::Unmatched(ReasonCode::Chargeback) | Place::NotApplicable)
}

pub(crate) fn rejected(place: Place) -> bool {
    matches!(place, Place::Unmatched(reason) if reason.class() == Class::Rejected)
}

/// The records tonight leaves open: orders and bank entries not matched (and not rejected); channel rows
/// not settled in both stages, with what they settled. Records older than `write_off_after` business
/// days (by their own date) leave the list as written off, except orders linked to a carried row.
#[allow(clippy::too_many_arguments)]
pub fn carry<'a>(
    orders: &'a [Order],
    channel: &'a [ChannelTransaction],
    bank: &'a [BankEntry],
    recon: &ReconResult,
    awaited: &[AwaitedPayout],
    business_date: Date,
    calendar: &Calendar,
    write_off_after: Option<u32>,
) -> Open<'a> {
    let mut out = Open::default();
    let mut written_off: Vec<[String; 7]> = Vec::new();
    // Whether a record dated `date` is past the age rule; if so it is listed as written off.
    let mut write_off = |kind: &str,
                         date: Date,
                         money: settle_core::Money,
                         id: &dyn Fn() -> String,
                         source: &settle_core::Provenance| {
        // The age only when a rule asks for it (the night's open records are millions at 10^7 orders).
        let Some(limit) = write_off_after else { return false };
        let age = business_days_between(calendar, date, business_date);
        let past = age > limit;
        if past {
            written_off.push([
                kind.to_string(),
                id(),
                settle_core::format_minor(money.amount(), money.currency()),
                money.currency().code().to_string(),
                date.to_string(),
                age.to_string(),
                source.to_string(),
            ]);
        }
        past
    };
    let mut linked_orders: Vec<bool> = vec![false; orders.len()];
    for (i, (tx, outcome)) in channel.iter().zip(&recon.channel).enumerate() {
        if rejected(outcome.stage_a) || rejected(outcome.stage_b) {
            continue;
        }
        let (a, b) = (settled_a(outcome.stage_a), outcome.stage_b == Place::Matched);
        let id = || format!("{}:{}", tx.channel, tx.transaction_id);
        if (a && b) || write_off("channel_transaction", tx.booking_date, tx.net_money(), &id, &tx.provenance) {
            continue;
        }
        let stage_a = (a && outcome.stage_a != Place::NotApplicable).then_some((outcome.stage_a, outcome.order));
        if let Some((_, Some(o))) = stage_a {
            linked_orders[o as usize] = true;
        }
        out.earlier_orders.push(stage_a.and_then(|(_, o)| o).map(|o| orders[o as usize].order_id.to_string()));
        out.earlier.push(Earlier { stage_a: stage_a.map(|(place, _)| (place, None)), stage_b_matched: b });
        out.channel.push(tx);
        out.channel_index.push(u32::try_from(i).expect("the engine takes at most u32::MAX rows"));
    }
    for (o, (order, place)) in orders.iter().zip(&recon.orders).enumerate() {
        // An order linked to a carried row stays, whatever its age: the row's payout needs it.
        let linked = linked_orders[o];
        let open =
            *place != Place::Matched && !rejected(*place) && !recon.orders_carried.get(o).copied().unwrap_or(false);
        let id = || order.order_id.to_string();
        if linked || (open && !write_off("order", order.order_date, order.money(), &id, &order.provenance)) {
            out.orders.push(order);
            out.order_index.push(u32::try_from(o).expect("the engine takes at most u32::MAX orders"));
        }
    }
    for (b, (entry, place)) in bank.iter().zip(&recon.bank).enumerate() {
        let id = || format!("{}:{}", entry.account_id, entry.entry_id);
        let settled = *place == Place::Matched || rejected(*place);
        if !settled && !write_off("bank_entry", entry.booking_date, entry.signed_money(), &id, &entry.provenance) {
            out.bank.push(entry);
            out.bank_index.push(u32::try_from(b).expect("the engine takes at most u32::MAX entries"));
        }
    }
    for (payout, place) in awaited.iter().zip(&recon.payouts) {
        let id = || payout.payout_id.clone();
        let source =
            settle_core::Provenance { source_file: payout.source.as_str().into(), source_line: None, xml_path: None };
        let money = payout.signed_money();
        let kept = match (place, payout.debited_on) {
            // Still awaiting its debit, unless the age rule writes it off.
            (Place::Unmatched(ReasonCode::PayoutNotDebited), _) => {
                (!write_off("payout", payout.execution_date, money, &id, &source)).then(|| payout.clone())
            }
            // Debited tonight: watched for a return from now on.
            (Place::Matched, None) => Some(AwaitedPayout { debited_on: Some(business_date), ..payout.clone() }),
            // Debited earlier: watched while its return window lasts.
            (Place::Matched, Some(debited)) => (business_days_between(calendar, debited, business_date)
                <= RETURN_WINDOW_BUSINESS_DAYS)
                .then(|| payout.clone()),
            // Returned or in another exception: for a person to decide.
            _ => None,
        };
        out.payouts.extend(kept);
    }
    out.written_off = written_off;
    out
}

/// Puts carried records before tonight's (an id both carried and sent again tonight is admitted from the
/// carried copy), and returns what the engine needs of them: their counts, and the earlier decisions
/// index-aligned with the merged channel rows, their orders resolved to indices among the merged orders.
pub fn prepend(
    carried: Carry,
    orders: &mut Vec<Order>,
    channel: &mut Vec<ChannelTransaction>,
    bank: &mut Vec<BankEntry>,
) -> Result<Prior, String> {
    let counts = (carried.orders.len(), carried.channel.len(), carried.bank.len());
    let mut earlier = carried.earlier;
    earlier.resize(carried.channel.len() + channel.len(), Earlier::default());
    let order_index: BTreeMap<&str, usize> =
        carried.orders.iter().enumerate().map(|(i, o)| (o.order_id.as_str(), i)).collect();
    for (e, order_id) in earlier.iter_mut().zip(&carried.earlier_orders) {
        if let (Some((_, slot)), Some(id)) = (e.stage_a.as_mut(), order_id) {
            let index =
                order_index.get(id.as_str()).ok_or_else(|| format!("order {id:?} is not among the carried orders"))?;
            *slot = Some(u32::try_from(*index).map_err(|_| format!("more than {} carried orders", u32::MAX))?);
        }
    }
    orders.splice(0..0, carried.orders);
    channel.splice(0..0, carried.channel);
    bank.splice(0..0, carried.bank);
    Ok(Prior {
        earlier,
        orders: counts.0,
        channel: counts.1,
        bank: counts.2,
        payouts: carried.payouts,
        known: Default::default(),
    })
}

/// `open_earlier.csv`.
pub fn earlier_csv(carry: &Open<'_>) -> Result<Vec<u8>, csv::Error> {
    let mut w = csv::WriterBuilder::new().terminator(csv::Terminator::Any(b'\n')).from_writer(Vec::new());
    w.write_record(["channel", "transaction_id", "stage_a", "order_id", "stage_b"])?;
    for ((tx, earlier), order_id) in carry.channel.iter().zip(&carry.earlier).zip(&carry.earlier_orders) {
        let stage_a = match earlier.stage_a {
            Some((Place::Matched, _)) => "matched",
            Some((Place::Unmatched(ReasonCode::Chargeback), _)) => "chargeback",
            _ => "",
        };
        let stage_b = if earlier.stage_b_matched { "matched" } else { "" };
        if !earlier_written(earlier) {
            continue;
        }
        w.write_record([
            tx.channel.as_str(),
            tx.transaction_id.as_str(),
            stage_a,
            order_id.as_deref().unwrap_or(""),
            stage_b,
        ])?;
    }
    w.into_inner().map_err(|e| e.into_error().into())
}

/// `open_items.json`: the format, the business date and how many orders, channel rows, bank entries,
/// awaited payouts and written-off records the night left.
pub fn index_json(business_date: Date, counts: [usize; 5]) -> serde_json::Value {
    let [orders, channel_transactions, bank_entries, payouts, written_off] = counts;
    serde_json::json!({
        "format": FORMAT,
        "version": VERSION,
        "business_date": business_date.to_string(),
        "counts": {
            "orders": orders,
            "channel_transactions": channel_transactions,
            "bank_entries": bank_entries,
            "payouts": payouts,
            "written_off": written_off,
        },
    })
}

/// Whether `open_earlier.csv` has a row for an open channel row: when an earlier stage settled it.
pub fn earlier_written(earlier: &Earlier) -> bool {
    matches!(earlier.stage_a, Some((Place::Matched | Place::Unmatched(ReasonCode::Chargeback), _)))
        || earlier.stage_b_matched
}

/// `open_payouts.csv`.
pub fn payouts_csv(payouts: &[AwaitedPayout]) -> Result<Vec<u8>, csv::Error> {
    let mut w = csv::WriterBuilder::new().terminator(csv::Terminator::Any(b'\n')).from_writer(Vec::new());
    w.write_record([
        "payout_id",
        "end_to_end_id",
        "beneficiary_id",
        "amount",
        "currency",
        "execution_date",
        "debited_on",
    ])?;
    let mut sorted: Vec<&AwaitedPayout> = payouts.iter().collect();
    sorted.sort_by(|a, b| (&a.payout_id, &a.end_to_end_id).cmp(&(&b.payout_id, &b.end_to_end_id)));
    for p in sorted {
        w.write_record([
            p.payout_id.as_str(),
            p.end_to_end_id.as_str(),
            p.beneficiary_id.as_str(),
            &settle_core::format_minor(p.amount.amount(), p.amount.currency()),
            p.amount.currency().code(),
            &p.execution_date.to_string(),
            &p.debited_on.map(|d| d.to_string()).unwrap_or_default(),
        ])?;
    }
    w.into_inner().map_err(|e| e.into_error().into())
}

/// Reads `open_payouts.csv` (sources `path:line`).
pub fn read_payouts(path: &str, bytes: &[u8]) -> Result<Vec<AwaitedPayout>, String> {
    let mut out = Vec::new();
    let mut reader = csv::Reader::from_reader(bytes);
    for (n, record) in reader.records().enumerate() {
        let line = n + 2;
        let record = record.map_err(|e| format!("{path}:{line}: {e}"))?;
        let field = |i: usize| record.get(i).unwrap_or("").trim();
        let currency =
            settle_core::Currency::from_code(field(4)).map_err(|e| format!("{path}:{line}: currency: {e}"))?;
        let amount = settle_core::parse_amount(
            field(3),
            settle_core::AmountFormat::POINT,
            currency,
            settle_core::ExtraDigits::Reject,
        )
        .map_err(|e| format!("{path}:{line}: amount: {e}"))?;
        let execution_date =
            settle_core::parse_date(field(5)).map_err(|e| format!("{path}:{line}: execution_date: {e}"))?;
        let debited_on = match field(6) {
            "" => None,
            text => Some(settle_core::parse_date(text).map_err(|e| format!("{path}:{line}: debited_on: {e}"))?),
        };
        if field(0).is_empty() || field(1).is_empty() {
            return Err(format!("{path}:{line}: payout_id and end_to_end_id are required"));
        }
        out.push(AwaitedPayout {
            payout_id: field(0).to_string(),
            end_to_end_id: field(1).to_string(),
            beneficiary_id: field(2).to_string(),
            amount,
            execution_date,
            source: format!("{path}:{line}"),
            debited_on,
        });
    }
    Ok(out)
}

/// `written_off.csv`.
pub fn written_off_csv(carry: &Open<'_>) -> Result<Vec<u8>, csv::Error> {
    let mut w = settle_report::TableWriter::new();
    w.write_record(["record_kind", "id", "amount", "currency", "date", "age_business_days", "source"])?;
    let mut rows = carry.written_off.clone();
    rows.sort();
    for row in &rows {
        w.write_record(row)?;
    }
    w.into_inner()
}

/// The latest earlier run of the job (a `YYYY-MM-DD` directory before `business_date` under `job_dir`)
/// that left open items; `None` when there is none.
pub fn previous_run(job_dir: &Path, business_date: Date) -> Option<(Date, PathBuf)> {
    let nights = crate::nights::nights(job_dir).ok()?;
    let mut earlier =
        nights.into_iter().filter(|n| n.date < business_date && n.complete && n.dir.join(INDEX).is_file());
    earlier.next_back().map(|n| (n.date, n.dir))
}

/// An earlier decision as `open_earlier.csv` writes it: (channel, transaction id) → (stage A, order id,
/// stage B matched).
pub type EarlierRow = (Option<Place>, Option<String>, bool);

/// Reads `open_earlier.csv`.
pub fn read_earlier(path: &str, bytes: &[u8]) -> Result<BTreeMap<(String, String), EarlierRow>, String> {
    let mut out = BTreeMap::new();
    let mut reader = csv::Reader::from_reader(bytes);
    for (n, record) in reader.records().enumerate() {
        let line = n + 2;
        let record = record.map_err(|e| format!("{path}:{line}: {e}"))?;
        let field = |i: usize| record.get(i).unwrap_or("").trim().to_string();
        let stage_a = match field(2).as_str() {
            "" => None,
            "matched" => Some(Place::Matched),
            "chargeback" => Some(Place::Unmatched(ReasonCode::Chargeback)),
            other => {
                return Err(format!("{path}:{line}: stage_a {other:?}: expected `matched`, `chargeback` or empty"));
            }
        };
        let stage_b = match field(4).as_str() {
            "" => false,
            "matched" => true,
            other => return Err(format!("{path}:{line}: stage_b {other:?}: expected `matched` or empty")),
        };
        let order = Some(field(3)).filter(|o| !o.is_empty());
        out.insert((field(0), field(1)), (stage_a, order, stage_b));
    }
    Ok(out)
}

/// `open_balances.csv`: the payouts whose balance is carried (`Payout::carries_balance`), then the
/// reserves still held, each list by beneficiary.
pub fn balances_csv(
    payouts: &[settle_payout::Payout],
    reserves: &[settle_payout::CarriedBalance],
) -> Result<Vec<u8>, csv::Error> {
    let mut w = csv::WriterBuilder::new().terminator(csv::Terminator::Any(b'\n')).from_writer(Vec::new());
    w.write_record(["beneficiary_id", "amount", "currency", "status", "business_date", "release_on"])?;
    for p in payouts {
        for amount in p.carried_balances() {
            w.write_record([
                p.beneficiary_id.as_str(),
                &settle_core::format_minor(amount.amount(), amount.currency()),
                amount.currency().code(),
                p.status.as_str(),
                &p.business_date.to_string(),
                "",
            ])?;
        }
    }
    for r in reserves {
        let settle_payout::BalanceKind::Reserve { held_on, release_on } = r.kind else {
            unreachable!("compute_payouts keeps reserves only")
        };
        w.write_record([
            r.beneficiary_id.as_str(),
            &settle_core::format_minor(r.amount.amount(), r.amount.currency()),
            r.amount.currency().code(),
            "reserve",
            &held_on.to_string(),
            &release_on.to_string(),
        ])?;
    }
    w.into_inner().map_err(|e| e.into_error().into())
}

/// Reads `open_balances.csv`; the error names the line.
pub fn read_balances(bytes: &[u8]) -> Result<Vec<settle_payout::CarriedBalance>, String> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(bytes);
    let mut out = Vec::new();
    for (n, record) in reader.records().enumerate() {
        let line = n + 2;
        let record = record.map_err(|e| format!("line {line}: {e}"))?;
        let field = |i: usize| record.get(i).unwrap_or("");
        let currency = settle_core::Currency::from_code(field(2))
            .map_err(|_| format!("line {line}: currency {:?} is not ISO 4217", field(2)))?;
        let amount: settle_core::Decimal =
            field(1).parse().map_err(|_| format!("line {line}: amount {:?} is not a decimal", field(1)))?;
        let date = |i: usize, what: &str| {
            settle_core::parse_date(field(i))
                .map_err(|_| format!("line {line}: {what} {:?} is not YYYY-MM-DD", field(i)))
        };
        let kind = if field(3) == "reserve" {
            settle_payout::BalanceKind::Reserve {
                held_on: date(4, "business_date")?,
                release_on: date(5, "release_on")?,
            }
        } else {
            settle_payout::BalanceKind::Carried { since: date(4, "business_date")? }
        };
        out.push(settle_payout::CarriedBalance {
            beneficiary_id: field(0).to_string(),
            amount: settle_core::Money::new(amount, currency),
            kind,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use settle_core::{Currency, Decimal, OrderKind, Provenance, parse_date};

    fn order(id: &str, date: &str) -> Order {
        Order {
            order_id: id.into(),
            kind: OrderKind::Sale,
            beneficiary_id: "B1".into(),
            channel: "stripe".into(),
            order_date: parse_date(date).unwrap(),
            amount: Decimal::new(1000, 2),
            currency: Currency::from_code("EUR").unwrap(),
            provenance: Provenance::line("orders.csv", 2),
        }
    }

    /// Open orders carry; past the age rule they are written off instead (listed with their age).
    #[test]
    fn open_items_carry_until_the_age_rule_writes_them_off() {
        let orders = [order("O1", "2026-10-01"), order("O2", "2026-10-29")];
        let recon = settle_recon::reconcile(&orders, &[], &[]).unwrap();
        let calendar = Calendar::target2();
        let business_date = parse_date("2026-11-02").unwrap();
        let kept = carry(&orders, &[], &[], &recon, &[], business_date, &calendar, None);
        assert_eq!(kept.orders.len(), 2);
        let aged = carry(&orders, &[], &[], &recon, &[], business_date, &calendar, Some(10));
        assert_eq!(aged.orders.iter().map(|o| o.order_id.as_str()).collect::<Vec<_>>(), ["O2"]);
        assert_eq!(aged.written_off.len(), 1);
        assert_eq!(aged.written_off[0][..6], ["order", "O1", "10.00", "EUR", "2026-10-01", "22"].map(String::from));
        let csv = String::from_utf8(written_off_csv(&aged).unwrap()).unwrap();
        assert!(csv.starts_with("record_kind,id,amount,currency,date,age_business_days,source\norder,O1,"), "{csv}");
    }
}
