//! Checks of a statement against itself, and of statements against each other.

use settle_core::statement::CheckRecord;
use settle_core::{Currency, Date, Decimal, Direction, EntryStatus, Money, format_minor};

use crate::model::{Entry, Statement};

/// The figures of one statement and what does not add up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementCheck {
    /// The account currency (else the balances', else the first entry's).
    pub currency: Option<Currency>,
    /// OPBD, or PRCD when there is no OPBD.
    pub opening: Option<Money>,
    /// CLBD.
    pub closing: Option<Money>,
    pub entries: usize,
    /// Σ of booked credits and debits (unsigned), in the statement's currency.
    pub sum_credits: Decimal,
    pub sum_debits: Decimal,
    /// opening + credits − debits = closing; None when the message has no opening or closing balance.
    pub balance_ok: Option<bool>,
    pub problems: Vec<String>,
    /// Read anyway, worth a look: batch entries whose transaction details do not add up (both kept).
    pub warnings: Vec<String>,
}

fn text(amount: Decimal, currency: Option<Currency>) -> String {
    match currency {
        Some(c) => format_minor(amount, c),
        None => amount.to_string(),
    }
}

/// The first ten characters of an ISO date-time as a date.
fn date_part(text: &str) -> Option<Date> {
    settle_core::parse_date(text.get(..10)?).ok()
}

/// Checks a statement entry by entry, so that a statement need not be held in memory: `add` each entry
/// (the statement's head — balances, summary, period — is complete before its first entry), then
/// `finish`.
#[derive(Debug, Clone, Default)]
pub struct StatementChecker {
    entries: usize,
    first_currency: Option<Currency>,
    foreign: usize,
    credits: Decimal,
    debits: Decimal,
    all_credits: Decimal,
    all_debits: Decimal,
    credit_count: u64,
    debit_count: u64,
    outside_period: usize,
    warnings: Vec<String>,
}

impl StatementChecker {
    pub fn add(&mut self, s: &Statement, e: &Entry) {
        self.entries += 1;
        let currency = s.account_currency.or(s.balances.first().map(|b| b.amount.currency()));
        if self.first_currency.is_none() {
            self.first_currency = Some(e.amount.currency());
        }
        if Some(e.amount.currency()) != currency.or(self.first_currency) {
            self.foreign += 1;
        }
        let amount = e.amount.amount();
        match e.direction {
            Direction::Credit => {
                self.all_credits += amount;
                self.credit_count += 1;
            }
            Direction::Debit => {
                self.all_debits += amount;
                self.debit_count += 1;
            }
        }
        if e.status == EntryStatus::Booked {
            match e.direction {
                Direction::Credit => self.credits += amount,
                Direction::Debit => self.debits += amount,
            }
        }
        if let (Some(from), Some(to), Some(day)) =
            (s.from.as_deref().and_then(date_part), s.to.as_deref().and_then(date_part), e.booking_date)
        {
            if day < from || day > to {
                self.outside_period += 1;
            }
        }
        let amounts: Vec<Money> = e.details.iter().filter_map(|d| d.amount).collect();
        if e.details.len() > 1
            && amounts.len() == e.details.len()
            && amounts.iter().all(|a| a.currency() == e.amount.currency())
        {
            let total: Decimal = amounts.iter().map(|a| a.amount()).sum();
            if total != amount && self.warnings.len() < 100 {
                self.warnings.push(format!(
                    "entry {} ({}): its {} transaction details add up to {total}, the entry is {}",
                    e.index,
                    e.account_servicer_reference.as_deref().unwrap_or("-"),
                    e.details.len(),
                    e.amount
                ));
            }
        }
    }

    pub fn finish(self, s: &Statement) -> StatementCheck {
        let mut problems = Vec::new();
        let opening = s.balance("OPBD").or_else(|| s.balance("PRCD")).map(|b| b.amount);
        let closing = s.balance("CLBD").map(|b| b.amount);
        let currency = s.account_currency.or(opening.map(|m| m.currency())).or(self.first_currency);
        if self.foreign > 0 {
            problems.push(format!(
                "{} entries are not in the account currency {}",
                self.foreign,
                currency.map_or("(unknown)", |c| c.code())
            ));
        }
        let (credits, debits) = (self.credits, self.debits);
        let balance_ok = match (opening, closing) {
            (Some(open), Some(close)) => {
                let computed = open.amount() + credits - debits;
                let ok = computed == close.amount() && open.currency() == close.currency();
                if !ok {
                    problems.push(format!(
                        "opening {} + credits {} − debits {} = {}, but the closing balance is {}",
                        text(open.amount(), Some(open.currency())),
                        text(credits, currency),
                        text(debits, currency),
                        text(computed, currency),
                        text(close.amount(), Some(close.currency()))
                    ));
                }
                Some(ok)
            }
            _ => None,
        };
        let (all_credits, all_debits) = (self.all_credits, self.all_debits);
        if let Some(summary) = &s.summary {
            let n = self.entries as u64;
            if let Some(count) = summary.total_count {
                if count != n {
                    problems.push(format!("TxsSummry states {count} entries, the statement has {n}"));
                }
            }
            if let Some(sum) = summary.total_sum {
                if sum != all_credits + all_debits {
                    problems.push(format!(
                        "TxsSummry states a sum of {sum}, the entries add up to {}",
                        all_credits + all_debits
                    ));
                }
            }
            if let Some(net) = summary.net {
                if net != all_credits - all_debits {
                    problems.push(format!(
                        "TxsSummry states a net of {net}, the entries give {}",
                        all_credits - all_debits
                    ));
                }
            }
            for (what, count, sum, actual_count, actual_sum) in [
                ("credit", summary.credit_count, summary.credit_sum, self.credit_count, all_credits),
                ("debit", summary.debit_count, summary.debit_sum, self.debit_count, all_debits),
            ] {
                if count.is_some_and(|c| c != actual_count) {
                    problems.push(format!(
                        "TxsSummry states {} {what} entries, the statement has {actual_count}",
                        count.unwrap_or(0)
                    ));
                }
                if sum.is_some_and(|v| v != actual_sum) {
                    problems.push(format!(
                        "TxsSummry states {what}s of {}, the entries add up to {actual_sum}",
                        sum.unwrap_or_default()
                    ));
                }
            }
        }
        if self.outside_period > 0 {
            if let (Some(from), Some(to)) = (s.from.as_deref().and_then(date_part), s.to.as_deref().and_then(date_part))
            {
                problems.push(format!(
                    "{} entries are booked outside the statement period {from} to {to}",
                    self.outside_period
                ));
            }
        }
        StatementCheck {
            warnings: self.warnings,
            currency,
            opening,
            closing,
            entries: self.entries,
            sum_credits: credits,
            sum_debits: debits,
            balance_ok,
            problems,
        }
    }
}

/// Checks a statement held in memory: balances, the bank's transaction summary, entries outside the
/// period, and batch entries whose details do not add up (with the figures).
pub fn check_statement(s: &Statement) -> StatementCheck {
    let mut checker = StatementChecker::default();
    for e in &s.entries {
        checker.add(s, e);
    }
    checker.finish(s)
}

/// The `settle check` record of a camt statement.
pub fn check_record(file: &str, s: &Statement, check: &StatementCheck) -> CheckRecord {
    let currency = check.currency;
    {
        CheckRecord {
            file: file.to_string(),
            format: s.format.to_string(),
            location: s.xml_path.clone(),
            account: s.account.clone(),
            currency: currency.map(|c| c.code().to_string()),
            statement_id: s.statement_id.clone(),
            sequence: s.electronic_sequence.clone(),
            from: s.from.clone(),
            to: s.to.clone(),
            opening: check.opening.map(|m| format_minor(m.amount(), m.currency())),
            closing: check.closing.map(|m| format_minor(m.amount(), m.currency())),
            entries: check.entries,
            sum_credits: text(check.sum_credits, currency),
            sum_debits: text(check.sum_debits, currency),
            balance_ok: check.balance_ok,
            duplicate_of: None,
            problems: check.problems.clone(),
            warnings: s.warnings.iter().chain(&check.warnings).cloned().collect(),
        }
    }
}
