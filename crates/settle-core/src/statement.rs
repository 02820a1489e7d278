//! What `settle check` reports per statement, whatever the format (camt, MT940), and the checks across
//! statements: the same statement delivered twice, and chain gaps.

use std::collections::{BTreeMap, BTreeSet};

use rust_decimal::Decimal;
use serde::Serialize;

use crate::currency::Currency;
use crate::money::{Money, format_minor};

/// The figures of one statement (camt `Stmt`/`Rpt`/`Ntfctn`, MT940/MT942 message) and what does not
/// add up, whatever its format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementCheck {
    /// The account currency (else the balances', else the first entry's).
    pub currency: Option<Currency>,
    /// The opening balance (camt OPBD, else PRCD; MT940 `:60F:`/`:60M:`).
    pub opening: Option<Money>,
    /// The closing balance (camt CLBD; MT940 `:62F:`/`:62M:`).
    pub closing: Option<Money>,
    pub entries: usize,
    /// Σ of booked credits and debits (unsigned).
    pub sum_credits: Decimal,
    pub sum_debits: Decimal,
    /// opening + credits − debits = closing; None when a balance is missing (or the message has none).
    pub balance_ok: Option<bool>,
    pub problems: Vec<String>,
    /// Read anyway, worth a look (e.g. batch details that add up to another amount; both kept).
    pub warnings: Vec<String>,
}

/// The balance rule: opening + credits − debits = closing, in the same currency. Returns whether it
/// holds (None without both balances) and, when it does not, the sentence that says so with the figures.
pub fn balance_rule(
    opening: Option<Money>,
    closing: Option<Money>,
    credits: Decimal,
    debits: Decimal,
    currency: Option<Currency>,
) -> (Option<bool>, Option<String>) {
    let (Some(open), Some(close)) = (opening, closing) else { return (None, None) };
    let text = |d: Decimal| currency.map_or_else(|| d.to_string(), |c| format_minor(d, c));
    let computed = open.amount() + credits - debits;
    if computed == close.amount() && open.currency() == close.currency() {
        return (Some(true), None);
    }
    let problem = format!(
        "opening {} + credits {} − debits {} = {}, but the closing balance is {}",
        format_minor(open.amount(), open.currency()),
        text(credits),
        text(debits),
        text(computed),
        format_minor(close.amount(), close.currency())
    );
    (Some(false), Some(problem))
}

/// Where a statement came from, for its `settle check` record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementSource<'a> {
    pub file: &'a str,
    pub format: String,
    pub location: String,
    pub account: Option<String>,
    pub statement_id: Option<String>,
    pub sequence: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
}

impl StatementCheck {
    /// The `settle check` record of this check; `warnings` are the reader's (schema deviations, …).
    pub fn record(&self, source: StatementSource<'_>, warnings: impl IntoIterator<Item = String>) -> CheckRecord {
        let text = |d: Decimal| self.currency.map_or_else(|| d.to_string(), |c| format_minor(d, c));
        let money = |m: Option<Money>| m.map(|m| format_minor(m.amount(), m.currency()));
        CheckRecord {
            file: source.file.to_string(),
            format: source.format,
            location: source.location,
            account: source.account,
            currency: self.currency.map(|c| c.code().to_string()),
            statement_id: source.statement_id,
            sequence: source.sequence,
            from: source.from,
            to: source.to,
            opening: money(self.opening),
            closing: money(self.closing),
            entries: self.entries,
            sum_credits: text(self.sum_credits),
            sum_debits: text(self.sum_debits),
            balance_ok: self.balance_ok,
            duplicate_of: None,
            chain_position: None,
            chain_gap: false,
            problems: self.problems.clone(),
            warnings: warnings.into_iter().chain(self.warnings.iter().cloned()).collect(),
        }
    }
}

/// One statement as `settle check` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckRecord {
    pub file: String,
    pub format: String,
    /// Where the statement is in its file: the XML path (camt) or the line (MT940).
    pub location: String,
    pub account: Option<String>,
    pub currency: Option<String>,
    pub statement_id: Option<String>,
    /// Electronic sequence number (camt `ElctrncSeqNb`, MT940 `:28C:`).
    pub sequence: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub opening: Option<String>,
    pub closing: Option<String>,
    pub entries: usize,
    pub sum_credits: String,
    pub sum_debits: String,
    pub balance_ok: Option<bool>,
    /// This statement was already read from another file (same account, id, sequence and balances).
    pub duplicate_of: Option<String>,
    /// Its place in its account's chain of statements (`cross_check`: by balances, then period), from 0.
    #[serde(skip)]
    pub chain_position: Option<usize>,
    /// Its opening balance is not the closing balance of the statement before it in the chain.
    #[serde(skip)]
    pub chain_gap: bool,
    pub problems: Vec<String>,
    pub warnings: Vec<String>,
}

/// Re-sequences one account's statements (`indices`, in period then sequence order) by balance chaining:
/// the chain starts at the first statement whose opening balance is no other one's closing balance, and
/// each next statement is the first (in period order) still unplaced whose opening balance is the last
/// one's closing balance; where the balances break the chain, the next head in period order follows.
/// Statements delivered out of order, or on the same day without sequence numbers, so come in the order
/// the money went; intraday statements without movement keep their period order.
fn chain_order(records: &[CheckRecord], indices: &[usize]) -> Vec<usize> {
    let closings: BTreeMap<&str, usize> = indices.iter().fold(BTreeMap::new(), |mut m, &i| {
        *m.entry(records[i].closing.as_deref().unwrap_or("")).or_default() += 1;
        m
    });
    // A head: its opening is the closing of no other statement (one that closes where it opens counts
    // only if another does too).
    let is_head = |i: usize| {
        let r = &records[i];
        let others = closings.get(r.opening.as_deref().unwrap_or("")).copied().unwrap_or(0)
            - usize::from(r.opening == r.closing);
        others == 0
    };
    // The unplaced statements (by position in period order): all of them, the heads, and by opening
    // balance; each pick takes the first of one set, so a chain of n statements costs O(n log n).
    let mut unplaced: BTreeSet<usize> = (0..indices.len()).collect();
    let mut heads: BTreeSet<usize> = (0..indices.len()).filter(|&k| is_head(indices[k])).collect();
    let mut by_opening: BTreeMap<&str, BTreeSet<usize>> = BTreeMap::new();
    for k in 0..indices.len() {
        by_opening.entry(records[indices[k]].opening.as_deref().unwrap_or("")).or_default().insert(k);
    }
    let mut order = Vec::with_capacity(indices.len());
    // Bounded: each round places one statement.
    for _ in 0..indices.len() {
        let follows = order.last().map(|&last: &usize| records[last].closing.as_deref().unwrap_or(""));
        let next = follows
            .and_then(|closing| by_opening.get(closing).and_then(|set| set.first().copied()))
            .or_else(|| heads.first().copied())
            .or_else(|| unplaced.first().copied())
            .expect("an unplaced statement is left");
        unplaced.remove(&next);
        heads.remove(&next);
        if let Some(set) = by_opening.get_mut(records[indices[next]].opening.as_deref().unwrap_or("")) {
            set.remove(&next);
        }
        order.push(indices[next]);
    }
    order
}

/// Across files: marks statements delivered twice (counted once) and chain gaps (an opening balance
/// that is not the previous statement's closing balance for the same account). `records` are in the
/// order the files were given.
pub fn cross_check(records: &mut [CheckRecord]) {
    type Key = (String, Option<String>, Option<String>, Option<String>, Option<String>, Option<String>);
    let mut seen: BTreeMap<Key, String> = BTreeMap::new();
    for r in records.iter_mut() {
        if r.statement_id.is_none() && r.sequence.is_none() {
            continue;
        }
        // The message kind (camt.05x, not the version) is part of the key: a report and a statement may
        // share an id; the same statement in two versions is the same statement.
        let kind = r.format.get(..8).unwrap_or(&r.format).to_string();
        let key =
            (kind, r.account.clone(), r.statement_id.clone(), r.sequence.clone(), r.opening.clone(), r.closing.clone());
        match seen.get(&key) {
            Some(first) => r.duplicate_of = Some(first.clone()),
            None => {
                seen.insert(key, format!("{} {}", r.file, r.location));
            }
        }
    }
    // Chain: per account and currency, in period order (then sequence), skipping duplicates.
    let mut by_account: BTreeMap<(String, Option<String>), Vec<usize>> = BTreeMap::new();
    for (i, r) in records.iter().enumerate() {
        if let (Some(account), None, Some(_), Some(_)) = (&r.account, &r.duplicate_of, &r.opening, &r.closing) {
            // Statements chain (camt.053, MT940); reports and notifications need not.
            if r.format.starts_with("camt.053") || r.format == "mt940" {
                by_account.entry((account.clone(), r.currency.clone())).or_default().push(i);
            }
        }
    }
    for indices in by_account.values_mut() {
        let sort_key = |r: &CheckRecord| {
            let seq: u64 = r.sequence.as_deref().and_then(|s| s.parse().ok()).unwrap_or(0);
            (r.from.clone().or(r.to.clone()), seq)
        };
        indices.sort_by(|a, b| sort_key(&records[*a]).cmp(&sort_key(&records[*b])));
        let chain = chain_order(records, indices);
        for (position, &i) in chain.iter().enumerate() {
            records[i].chain_position = Some(position);
        }
        for pair in chain.windows(2) {
            let (previous, next) = (&records[pair[0]], &records[pair[1]]);
            if previous.closing != next.opening {
                let message = format!(
                    "chain gap: opening {} is not the closing {} of the previous statement {} ({})",
                    next.opening.clone().unwrap_or_default(),
                    previous.closing.clone().unwrap_or_default(),
                    previous.statement_id.clone().unwrap_or_default(),
                    previous.file
                );
                records[pair[1]].problems.push(message);
                records[pair[1]].chain_gap = true;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn statement(file: &str, id: &str, day: &str, opening: &str, closing: &str) -> CheckRecord {
        CheckRecord {
            file: file.into(),
            format: "camt.053.001.08".into(),
            location: format!("/Stmt[{id}]"),
            account: Some("DE44500105175407324931".into()),
            currency: Some("EUR".into()),
            statement_id: Some(id.into()),
            sequence: None,
            from: Some(day.into()),
            to: Some(day.into()),
            opening: Some(opening.into()),
            closing: Some(closing.into()),
            entries: 1,
            sum_credits: "0".into(),
            sum_debits: "0".into(),
            balance_ok: Some(true),
            duplicate_of: None,
            chain_position: None,
            chain_gap: false,
            problems: Vec::new(),
            warnings: Vec::new(),
        }
    }

    #[test]
    fn statements_of_one_day_are_resequenced_by_their_balances() {
        // Delivered last first, all of one day, no sequence numbers.
        let mut records = vec![
            statement("a.xml", "S3", "2026-10-29", "30.00", "40.00"),
            statement("a.xml", "S1", "2026-10-29", "10.00", "20.00"),
            statement("b.xml", "S2", "2026-10-29", "20.00", "30.00"),
        ];
        cross_check(&mut records);
        let positions: Vec<Option<usize>> = records.iter().map(|r| r.chain_position).collect();
        assert_eq!(positions, [Some(2), Some(0), Some(1)]);
        assert!(records.iter().all(|r| !r.chain_gap && r.problems.is_empty()), "{records:?}");
    }

    #[test]
    fn a_missing_or_overlapping_statement_is_a_chain_gap_and_a_copy_counts_once() {
        let mut records = vec![
            statement("a.xml", "S1", "2026-10-28", "10.00", "20.00"),
            statement("a.xml", "S2", "2026-10-29", "20.00", "30.00"),
            // The 29th again under another id: its period overlaps S2's, its opening is S1's closing.
            statement("b.xml", "S2B", "2026-10-29", "20.00", "25.00"),
            // S1 delivered again under another file name.
            statement("c.xml", "S1", "2026-10-28", "10.00", "20.00"),
        ];
        cross_check(&mut records);
        assert_eq!(records[3].duplicate_of.as_deref(), Some("a.xml /Stmt[S1]"));
        assert_eq!(records[3].chain_position, None, "a copy is not in the chain");
        let gaps: Vec<&str> =
            records.iter().filter(|r| r.chain_gap).map(|r| r.statement_id.as_deref().unwrap()).collect();
        assert_eq!(gaps, ["S2B"], "{records:?}");
        assert!(records[2].problems[0].starts_with("chain gap: opening 20.00 is not the closing 30.00"));
    }
}
