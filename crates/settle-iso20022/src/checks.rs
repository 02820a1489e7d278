//! Checks of a statement against itself, and of statements against each other.

use settle_core::statement::{CheckRecord, StatementCheck, StatementSource, balance_rule};
use settle_core::{Currency, Date, Decimal, Direction, EntryStatus, Money};

use crate::model::{Entry, Statement};

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
            && (day < from || day > to)
        {
            self.outside_period += 1;
        }
        let amounts: Vec<Money> = e.details.iter().filter_map(|d| d.more().amount).collect();
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
        let (balance_ok, problem) = balance_rule(opening, closing, credits, debits, currency);
        problems.extend(problem);
        let (all_credits, all_debits) = (self.all_credits, self.all_debits);
        if let Some(summary) = &s.summary {
            let n = self.entries as u64;
            if let Some(count) = summary.total_count
                && count != n
            {
                problems.push(format!("TxsSummry states {count} entries, the statement has {n}"));
            }
            if let Some(sum) = summary.total_sum
                && sum != all_credits + all_debits
            {
                problems.push(format!(
                    "TxsSummry states a sum of {sum}, the entries add up to {}",
                    all_credits + all_debits
                ));
            }
            if let Some(net) = summary.net
                && net != all_credits - all_debits
            {
                problems
                    .push(format!("TxsSummry states a net of {net}, the entries give {}", all_credits - all_debits));
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
        if self.outside_period > 0
            && let (Some(from), Some(to)) = (s.from.as_deref().and_then(date_part), s.to.as_deref().and_then(date_part))
        {
            problems.push(format!(
                "{} entries are booked outside the statement period {from} to {to}",
                self.outside_period
            ));
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
    let source = StatementSource {
        file,
        format: s.format.to_string(),
        location: s.xml_path.clone(),
        account: s.account.clone(),
        statement_id: s.statement_id.clone(),
        sequence: s.electronic_sequence.clone(),
        from: s.from.clone(),
        to: s.to.clone(),
    };
    check.record(source, s.warnings.iter().cloned())
}
