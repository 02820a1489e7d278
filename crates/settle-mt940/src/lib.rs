//! settle-mt940: SWIFT MT940 statements and MT942 interim reports, with real bank dialects.
//!
//! - `read_mt940`: decodes the bytes (UTF-8, or Windows-1252/CP850/CP852 declared or by evidence, with a
//!   warning naming the bytes), strips SWIFT envelopes (`{1:}{2:}{3:}{4: … -}{5:}`), SOH/ETX, a leading
//!   `:940:` line, trailing 0x1A and bank header lines, and reads every message: `:20:` `:21:` `:25:`
//!   `:28C:` `:60F/M:` `:61:` `:86:` `:62F/M:` `:64:` `:65:`, MT942 `:13D:` `:34F:` `:90D/C:`. A tag
//!   starts only at a line start: a colon inside `:86:` text is text.
//! - `check_message`: opening + entries = closing (MT940), `:90D:`/`:90C:` counts and sums (MT942).
//! - `bank_entries`: canonical `BankEntry` rows, `:86:` mapped by dialect (German GVC `?NN` sub-fields
//!   and SEPA keywords, Dutch `/TAG/` pairs, unstructured text).
//! - `write_mt940`: a writer for tests and generated days.
#![forbid(unsafe_code)]
#![deny(clippy::float_arithmetic)]

mod details;
mod encoding;
mod parse;
mod write;

use std::sync::Arc;

use settle_core::statement::{CheckRecord, StatementCheck, StatementSource, balance_rule};
use settle_core::{BankEntry, Decimal, Direction, EntryStatus, Provenance, Text, format_minor};

pub use details::{Dialect, dialect, parse_information};
pub use encoding::{Decoded, TextEncoding, decode};
pub use parse::{Balance, Entry, Mark, Message, MessageType, Mt940Error, parse_messages};
pub use write::write_mt940;

/// A read file: how it was decoded, and its messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mt940File {
    pub encoding: TextEncoding,
    /// File-level warnings (the encoding guess).
    pub warnings: Vec<String>,
    pub messages: Vec<Message>,
}

/// Whether bytes look like MT940/MT942: a SWIFT block header, or a `:20:` field at a line start.
pub fn looks_like_mt940(head: &[u8]) -> bool {
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let start = head.iter().position(|b| !b.is_ascii_whitespace() && *b != 0x01).unwrap_or(head.len());
    let head = &head[start..];
    head.starts_with(b"{1:")
        || head.starts_with(b":20:")
        || head.starts_with(b":940:")
        || head.windows(5).any(|w| w == b"\n:20:")
}

/// Reads an MT940/MT942 file. `declared` is the job's encoding setting, if any.
pub fn read_mt940(file: &str, bytes: &[u8], declared: Option<TextEncoding>) -> Result<Mt940File, Mt940Error> {
    let mut messages = Vec::new();
    let (encoding, warnings) = read_mt940_with(file, bytes, declared, true, |m| {
        messages.push(m);
        Ok(())
    })?;
    if messages.is_empty() {
        return Err(Mt940Error {
            file: file.to_string(),
            line: 1,
            tag: ":20:".into(),
            message: "no MT940/MT942 message found: expected fields such as :20:, :25:, :60F:".into(),
        });
    }
    Ok(Mt940File { encoding, warnings, messages })
}

/// Reads an MT940/MT942 file message by message (`on_message` gets each as soon as it is read).
/// `parse_details` false skips the `:86:` dialect reading (the raw text is kept): for checks, which
/// need only the amounts. Returns the encoding used and the file-level warnings.
pub fn read_mt940_with(
    file: &str,
    bytes: &[u8],
    declared: Option<TextEncoding>,
    parse_details: bool,
    on_message: impl FnMut(Message) -> Result<(), Mt940Error>,
) -> Result<(TextEncoding, Vec<String>), Mt940Error> {
    check_bytes(file, bytes)?;
    let decoded = decode(bytes, declared);
    // Old Mac files end lines with CR alone, and files pasted together mix them with LF and CRLF: every
    // bare CR (one not before an LF) is a line end.
    let raw = decoded.text.as_bytes();
    let bare_cr = memchr::memchr_iter(b'\r', raw).any(|at| raw.get(at + 1) != Some(&b'\n'));
    let text = if bare_cr {
        let mut out = String::with_capacity(raw.len());
        let mut chars = decoded.text.chars().peekable();
        while let Some(c) = chars.next() {
            out.push(if c == '\r' && chars.peek() != Some(&'\n') { '\n' } else { c });
        }
        std::borrow::Cow::Owned(out)
    } else {
        std::borrow::Cow::Borrowed(decoded.text.as_ref())
    };
    parse::for_each_parsed_message(file, &text, parse_details, on_message)?;
    Ok((decoded.encoding, decoded.warning.into_iter().collect()))
}

/// No MT940 line may be longer than this: SWIFT's lines have at most 65 characters, the longest bank
/// dialects a few hundred; a longer one is a damaged or hostile file, refused before it is decoded.
pub const LINE_BYTES_MAX: usize = 64 * 1024;

/// One pass before decoding (`settle_core::text::scan_lines`): no NUL byte (in no SWIFT character set)
/// and no line longer than `LINE_BYTES_MAX`; errors name the line.
fn check_bytes(file: &str, bytes: &[u8]) -> Result<(), Mt940Error> {
    use settle_core::text::{LineFault, scan_lines};
    let fail = |line: u64, message: String| Mt940Error { file: file.to_string(), line, tag: "file".into(), message };
    scan_lines(bytes, LINE_BYTES_MAX).map_err(|fault| match fault {
        LineFault::TooLong { line, .. } => {
            fail(line, format!("a line longer than {LINE_BYTES_MAX} bytes: a damaged file, not MT940"))
        }
        LineFault::Nul { line, at } => fail(line, format!("a NUL byte at byte {at} (not in any SWIFT character set)")),
    })
}

/// Checks one message.
pub fn check_message(m: &Message) -> StatementCheck {
    let mut problems = Vec::new();
    let (mut credits, mut debits, mut credit_count, mut debit_count) = (Decimal::ZERO, Decimal::ZERO, 0u64, 0u64);
    for e in &m.entries {
        match e.mark.direction() {
            Direction::Credit => {
                credits += e.amount.amount();
                credit_count += 1;
            }
            Direction::Debit => {
                debits += e.amount.amount();
                debit_count += 1;
            }
        }
    }
    let opening = m.opening.as_ref().map(|b| b.amount);
    let closing = m.closing.as_ref().map(|b| b.amount);
    let text = |d: Decimal| m.currency.map_or_else(|| d.to_string(), |c| format_minor(d, c));
    // MT942 carries no balances to check.
    let (balance_ok, problem) = match m.message_type {
        MessageType::Mt940 => balance_rule(opening, closing, credits, debits, m.currency),
        MessageType::Mt942 => (None, None),
    };
    problems.extend(problem);
    if m.message_type == MessageType::Mt942 {
        for (what, stated, count, sum) in
            [("debit", &m.debit_summary, debit_count, debits), ("credit", &m.credit_summary, credit_count, credits)]
        {
            if let Some((n, total)) = stated
                && (*n != count || total.amount() != sum)
            {
                problems.push(format!(
                    ":90{}: states {n} {what} entries of {}, the report has {count} of {}",
                    if what == "debit" { "D" } else { "C" },
                    text(total.amount()),
                    text(sum)
                ));
            }
        }
    }
    StatementCheck {
        currency: m.currency,
        opening,
        closing,
        entries: m.entries.len(),
        sum_credits: credits,
        sum_debits: debits,
        balance_ok,
        problems,
        warnings: Vec::new(),
    }
}

/// The `settle check` record of a message; `warnings` are the file's (the encoding guess).
pub fn check_record(file: &str, m: &Message, check: &StatementCheck, warnings: &[String]) -> CheckRecord {
    let source = StatementSource {
        file,
        format: m.message_type.name().to_string(),
        location: format!("line {}", m.line),
        account: m.account.clone(),
        statement_id: m.reference.clone(),
        sequence: m.sequence.clone(),
        from: m.opening.as_ref().map(|b| b.date.to_string()),
        to: m.closing.as_ref().map(|b| b.date.to_string()),
    };
    check.record(source, warnings.iter().chain(&m.warnings).cloned())
}

/// Canonical rows, one per `:61:`, with the `:86:` detail.
pub fn bank_entries(file: &Arc<str>, m: &Message) -> Vec<BankEntry> {
    into_bank_entries(file, m.clone()).collect()
}

/// Old Rabobank statements (pre-IBAN) put the counterparty's account and name in the `:61:` reference
/// field: `0121470966      W.P. Jansen`. Returns them when the field has that shape.
fn rabobank_counterparty(reference: &str) -> Option<(Option<Text>, Text)> {
    let gap = memchr::memmem::find(reference.as_bytes(), b"  ")?;
    let (first, rest) = (&reference[..gap], &reference[gap + 2..]);
    let name = rest.trim_ascii();
    let account = first.trim_ascii();
    let account_ok = account == "NONREF" || (account.len() >= 9 && account.bytes().all(|b| b.is_ascii_digit()));
    (account_ok && !name.is_empty()).then(|| ((account != "NONREF").then(|| Text::from(account)), Text::from(name)))
}

/// The charges in `:61:` supplementary details (`/CHGS/EUR0,50/`, SWIFT's code word): currency and
/// amount with a decimal comma; `None` when absent or unreadable.
fn supplementary_charges(text: &str) -> Option<settle_core::Money> {
    let at = text.find("/CHGS/")? + "/CHGS/".len();
    let rest = &text[at..];
    let code = rest.get(..3)?;
    let currency = settle_core::Currency::from_code(code).ok()?;
    let amount = rest[3..].split(['/', '\n']).next()?.trim_ascii();
    settle_core::parse_amount(amount, settle_core::AmountFormat::COMMA, currency, settle_core::ExtraDigits::Reject).ok()
}

/// Whether a reference field holds a reference (not empty, `NONREF` or `NOTPROVIDED`).
fn is_usable(value: &str) -> bool {
    let v = value.trim_ascii();
    !v.is_empty() && v != "NONREF" && v != "NOTPROVIDED"
}

/// The field itself when it is usable and already trimmed (no copy), else its trimmed copy.
fn usable_owned(value: Text) -> Option<Text> {
    if !is_usable(&value) {
        None
    } else if value.trim_ascii().len() == value.len() {
        Some(value)
    } else {
        Some(Text::from(value.trim_ascii()))
    }
}

/// Canonical rows, taking the message: details and texts move into the rows instead of being copied.
/// An iterator, so the caller's collection receives each row directly.
pub fn into_bank_entries(file: &Arc<str>, m: Message) -> impl Iterator<Item = BankEntry> + '_ {
    let account = m.account.as_deref().map(Text::from).unwrap_or_default();
    let (reference, sequence) = (m.reference.unwrap_or_default(), m.sequence.unwrap_or_default());
    m.entries.into_iter().map(move |mut e| {
        let direction = e.mark.direction();
        let mut customer_reference = e.customer_reference;
        if let Some((account, name)) = rabobank_counterparty(&customer_reference) {
            if e.details.is_empty() {
                e.details = vec![settle_core::TransactionDetail::default()];
            }
            let d = &mut e.details[0];
            match direction {
                Direction::Credit => {
                    d.debtor_name = d.debtor_name.take().or(Some(name));
                    d.debtor_account = d.debtor_account.take().or(account);
                }
                Direction::Debit => {
                    d.creditor_name = d.creditor_name.take().or(Some(name));
                    d.creditor_account = d.creditor_account.take().or(account);
                }
            }
            customer_reference = Text::default();
        }
        if e.information.is_some() && e.details.is_empty() {
            // Details not read (`parse_details` false): the row still says a detail exists.
            e.details = vec![settle_core::TransactionDetail::default()];
        }
        let d = e.details.first();
        let counterparty = d.and_then(|d| match direction {
            Direction::Credit => d.debtor_name.clone(),
            Direction::Debit => d.creditor_name.clone(),
        });
        let remittance = match d.and_then(|d| d.remittance_info.clone()) {
            Some(text) => Some(text),
            None => {
                e.information.as_ref().map(|i| Text::from(i.lines().map(str::trim_ascii).collect::<Vec<_>>().join(" ")))
            }
        };
        let structured_reference = d.and_then(|d| d.end_to_end_id.clone());
        let entry_id = match e.bank_reference.and_then(usable_owned) {
            Some(id) => id,
            None => settle_core::format_compact!("{reference}/{sequence}#{}", e.index),
        };
        // `/CHGS/EUR0,50/` in the `:61:` supplementary details: the bank's charges on the entry.
        if let Some(charges) = e.supplementary.as_deref().and_then(supplementary_charges) {
            if e.details.is_empty() {
                e.details = vec![settle_core::TransactionDetail::default()];
            }
            e.details[0].more_mut().charges = Some(charges);
        }
        let kind = e.transaction_type.trim_ascii();
        let mut bank_transaction_code = Text::with_capacity(kind.len() + 8);
        bank_transaction_code.push_str(kind);
        if let Some(code) = &e.information_code {
            bank_transaction_code.push('/');
            bank_transaction_code.push_str(code);
        }
        BankEntry {
            account_id: account.clone(),
            entry_id,
            booking_date: e.entry_date.unwrap_or(e.value_date),
            value_date: e.value_date,
            direction,
            amount: e.amount.amount(),
            currency: e.amount.currency(),
            reference: structured_reference.or_else(|| usable_owned(customer_reference)),
            counterparty_name: counterparty,
            remittance_info: remittance,
            status: EntryStatus::Booked,
            reversal: e.mark.is_reversal(),
            bank_transaction_code: Some(bank_transaction_code),
            details: e.details,
            provenance: Provenance::line(Arc::clone(file), e.line),
        }
    })
}

#[cfg(test)]
mod tests;
