//! camt statements → settle's canonical `BankEntry` rows.

use std::sync::Arc;

use settle_core::{BankEntry, Direction, Provenance, Text, TransactionDetail};

use crate::model::{Entry, Statement};

fn usable(reference: &Option<impl AsRef<str>>) -> Option<Text> {
    let r = reference.as_ref()?.as_ref();
    (!r.is_empty() && r != "NOTPROVIDED" && r != "NONREF").then(|| Text::from(r))
}

/// The reference a payer gave: the end-to-end id, else the structured creditor reference.
fn detail_reference(d: &TransactionDetail) -> Option<Text> {
    usable(&d.end_to_end_id).or_else(|| usable(&d.more().creditor_reference))
}

/// The other party: the debtor of a credit, the creditor of a debit.
fn counterparty(d: &TransactionDetail, direction: Direction) -> Option<Text> {
    match direction {
        Direction::Credit => d.debtor_name.clone().or_else(|| d.more().ultimate_debtor.clone()),
        Direction::Debit => d.creditor_name.clone().or_else(|| d.more().ultimate_creditor.clone()),
    }
}

fn entry_id(statement: &Statement, entry: &Entry) -> Text {
    usable(&entry.account_servicer_reference).or_else(|| usable(&entry.entry_reference)).unwrap_or_else(|| {
        settle_core::format_compact!(
            "{}#{}",
            statement.statement_id.as_deref().unwrap_or(statement.xml_path.as_str()),
            entry.index
        )
    })
}

/// The statement's own date, for entries that carry none: the end of its period, else the closing
/// balance's date, else its creation. Entries without booking and value date take it.
pub fn statement_date(statement: &Statement) -> Option<settle_core::Date> {
    let day = |t: &Option<String>| t.as_deref().and_then(|t| settle_core::parse_date(t.get(..10)?).ok());
    day(&statement.to)
        .or_else(|| statement.balance("CLBD").and_then(|b| b.date))
        .or_else(|| day(&statement.created))
        .or_else(|| day(&statement.message_created))
}

/// The canonical row of one entry, taking the entry (no copy of its details): for streamed entries.
pub fn into_bank_entry(statement: &Statement, mut entry: Entry, file: &Arc<str>) -> BankEntry {
    let details = std::mem::take(&mut entry.details);
    let xml_path = std::mem::take(&mut entry.xml_path);
    make_row(statement, &entry, details, xml_path, file)
}

/// The canonical row of one entry (its statement's head suffices: entries may be streamed).
pub fn bank_entry(statement: &Statement, entry: &Entry, file: &Arc<str>) -> BankEntry {
    make_row(statement, entry, entry.details.clone(), entry.xml_path.clone(), file)
}

/// Builds the row from the entry's fields and its `details` (taken or copied by the caller).
fn make_row(
    statement: &Statement,
    entry: &Entry,
    details: Vec<TransactionDetail>,
    xml_path: String,
    file: &Arc<str>,
) -> BankEntry {
    let booking = entry.booking_date.or(entry.value_date).or_else(|| statement_date(statement));
    let remittance: Vec<&str> = details.iter().filter_map(|d| d.remittance_info.as_deref()).collect();
    BankEntry {
        account_id: statement.account.as_deref().map(Text::from).unwrap_or_default(),
        entry_id: entry_id(statement, entry),
        booking_date: booking.unwrap_or(settle_core::Date::constant(1970, 1, 1)),
        value_date: entry.value_date.or(booking).unwrap_or(settle_core::Date::constant(1970, 1, 1)),
        direction: entry.direction,
        amount: entry.amount.amount(),
        currency: entry.amount.currency(),
        reference: details.iter().find_map(detail_reference).or_else(|| usable(&entry.entry_reference)),
        counterparty_name: details.iter().find_map(|d| counterparty(d, entry.direction)),
        remittance_info: if remittance.is_empty() {
            entry.additional_info.as_deref().map(Text::from)
        } else {
            Some(Text::from(remittance.join(" ")))
        },
        status: entry.status,
        reversal: entry.reversal,
        bank_transaction_code: entry.bank_transaction_code.as_deref().map(Text::from),
        details,
        provenance: Provenance { source_file: Arc::clone(file), source_line: None, xml_path: Some(xml_path.into()) },
    }
}

/// One canonical row per entry, with its transaction details kept.
pub fn bank_entries(statement: &Statement, file: &Arc<str>) -> Vec<BankEntry> {
    statement.entries.iter().map(|e| bank_entry(statement, e, file)).collect()
}

/// One canonical row per transaction detail (entries without details give one row), for matching
/// batch entries transaction by transaction. A detail without its own amount takes the entry's amount
/// when it is the entry's only detail.
pub fn flattened_entries(statement: &Statement, file: &Arc<str>) -> Vec<BankEntry> {
    let mut rows = Vec::with_capacity(statement.entries.len());
    for entry in &statement.entries {
        flatten_entry(statement, entry, file, &mut rows);
    }
    rows
}

/// The rows of one entry, one per transaction detail (see `flattened_entries`).
pub fn flatten_entry(statement: &Statement, entry: &Entry, file: &Arc<str>, rows: &mut Vec<BankEntry>) {
    let base = bank_entry(statement, entry, file);
    if entry.details.len() <= 1 {
        rows.push(base);
        return;
    }
    for (i, detail) in entry.details.iter().enumerate() {
        let mut row = base.clone();
        row.entry_id = settle_core::format_compact!("{}/{}", base.entry_id, i + 1);
        if let Some(amount) = detail.more().amount {
            row.amount = amount.amount();
            row.currency = amount.currency();
        }
        row.direction = detail.more().direction.unwrap_or(entry.direction);
        row.reference = detail_reference(detail).or_else(|| base.reference.clone());
        row.counterparty_name = counterparty(detail, row.direction);
        row.remittance_info = detail.remittance_info.clone().or_else(|| detail.additional_info.clone());
        row.details = vec![detail.clone()];
        row.provenance.xml_path = Some(format!("{}/NtryDtls/TxDtls[{}]", entry.xml_path, i + 1).into());
        rows.push(row);
    }
}
