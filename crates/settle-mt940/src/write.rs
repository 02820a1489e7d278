//! An MT940 writer for tests and generated days: what the reader reads back.

use std::fmt::Write as _;

use settle_core::{Date, Decimal, Money, format_minor};

use crate::parse::{Entry, Mark};

fn date(d: Date) -> String {
    d.strftime("%y%m%d").to_string()
}

fn swift_amount(money: Money) -> String {
    format_minor(money.amount().abs(), money.currency()).replace('.', ",")
}

fn balance(tag: &str, amount: Money, day: Date) -> String {
    let sign = if amount.amount() < Decimal::ZERO { 'D' } else { 'C' };
    format!(":{tag}:{sign}{}{}{}\n", date(day), amount.currency(), swift_amount(amount))
}

/// Writes one MT940 message (CRLF-free, LF line endings, no envelope): `:20:`, `:25:`, `:28C:`, `:60F:`,
/// each entry's `:61:` and `:86:` (its `information`, lines kept), `:62F:` = opening + entries.
pub fn write_mt940(
    reference: &str,
    account: &str,
    sequence: &str,
    opening: Money,
    opening_date: Date,
    entries: &[Entry],
) -> String {
    let mut out = String::with_capacity(256 + entries.len() * 160);
    let _ = write!(out, ":20:{reference}\n:25:{account}\n:28C:{sequence}\n");
    out.push_str(&balance("60F", opening, opening_date));
    let mut closing = opening;
    let mut closing_date = opening_date;
    for e in entries {
        let mark = match e.mark {
            Mark::Credit => "C",
            Mark::Debit => "D",
            Mark::ReversalCredit => "RC",
            Mark::ReversalDebit => "RD",
        };
        let entry_date = e.entry_date.map(|d| d.strftime("%m%d").to_string()).unwrap_or_default();
        let funds = e.funds_code.map(String::from).unwrap_or_default();
        let _ = write!(
            out,
            ":61:{}{entry_date}{mark}{funds}{}{}{}",
            date(e.value_date),
            swift_amount(e.amount),
            e.transaction_type,
            e.customer_reference
        );
        if let Some(b) = &e.bank_reference {
            let _ = write!(out, "//{b}");
        }
        out.push('\n');
        if let Some(s) = &e.supplementary {
            let _ = writeln!(out, "{s}");
        }
        if let Some(info) = &e.information {
            let _ = writeln!(out, ":86:{info}");
        }
        let signed = match e.mark.direction() {
            settle_core::Direction::Credit => e.amount,
            settle_core::Direction::Debit => e.amount.neg(),
        };
        closing = closing.checked_add(&signed).unwrap_or(closing);
        closing_date = e.entry_date.unwrap_or(e.value_date).max(closing_date);
    }
    out.push_str(&balance("62F", closing, closing_date));
    out.push_str("-\n");
    out
}
