//! Canonical records: what every reader produces and every later stage consumes.
//!
//! Amounts are signed from our side of the money: a sale or a bank credit is positive, a refund, a
//! chargeback or a fee is negative — except `BankEntry::amount`, which is unsigned with a `Direction`,
//! as statements write it. Every record carries its `Provenance`.

use std::fmt;
use std::sync::Arc;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::calendar::Date;
use crate::currency::Currency;
use crate::money::Money;

/// Where a record came from: the input file as the job names it, and the line (CSV, MT940) or the XML
/// path (camt) of the record in it. The file name is shared by all records of a file (`Arc<str>`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Provenance {
    pub source_file: Arc<str>,
    pub source_line: Option<u64>,
    pub xml_path: Option<String>,
}

impl Provenance {
    pub fn line(source_file: impl Into<Arc<str>>, source_line: u64) -> Provenance {
        Provenance { source_file: source_file.into(), source_line: Some(source_line), xml_path: None }
    }
}

impl fmt::Display for Provenance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source_file)?;
        if let Some(line) = self.source_line {
            write!(f, ":{line}")?;
        }
        if let Some(path) = &self.xml_path {
            write!(f, " at {path}")?;
        }
        Ok(())
    }
}

/// Whether an order is a sale or our record of a refund.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderKind {
    Sale,
    Refund,
}

impl OrderKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OrderKind::Sale => "sale",
            OrderKind::Refund => "refund",
        }
    }
}

/// The company's own record of a sale or refund paid through a channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    pub order_id: String,
    pub kind: OrderKind,
    pub beneficiary_id: String,
    pub channel: String,
    pub order_date: Date,
    /// Signed: a sale is positive, a refund negative.
    #[serde(with = "rust_decimal::serde::str")]
    pub amount: Decimal,
    pub currency: Currency,
    pub provenance: Provenance,
}

impl Order {
    pub fn money(&self) -> Money {
        Money::new(self.amount, self.currency)
    }
}

/// The kind of a channel transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelKind {
    Charge,
    Refund,
    Chargeback,
    Fee,
    Adjustment,
}

impl ChannelKind {
    pub const ALL: [ChannelKind; 5] =
        [ChannelKind::Charge, ChannelKind::Refund, ChannelKind::Chargeback, ChannelKind::Fee, ChannelKind::Adjustment];

    pub fn as_str(self) -> &'static str {
        match self {
            ChannelKind::Charge => "charge",
            ChannelKind::Refund => "refund",
            ChannelKind::Chargeback => "chargeback",
            ChannelKind::Fee => "fee",
            ChannelKind::Adjustment => "adjustment",
        }
    }

    pub fn parse(text: &str) -> Option<ChannelKind> {
        ChannelKind::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

/// One row of a channel's settlement report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelTransaction {
    pub channel: String,
    pub transaction_id: String,
    pub kind: ChannelKind,
    /// Our order id as the channel reports it (merchant reference); none for fees and adjustments.
    pub order_id: Option<String>,
    pub booking_date: Date,
    /// What the customer was charged, signed.
    #[serde(with = "rust_decimal::serde::str")]
    pub presentment_amount: Decimal,
    pub presentment_currency: Currency,
    /// gross − fee = net, all in the settlement currency, signed.
    #[serde(with = "rust_decimal::serde::str")]
    pub gross: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub fee: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub net: Decimal,
    pub settlement_currency: Currency,
    /// The channel's payout batch; none while the transaction is not yet in a payout.
    pub payout_batch_id: Option<String>,
    pub provenance: Provenance,
}

impl ChannelTransaction {
    pub fn presentment(&self) -> Money {
        Money::new(self.presentment_amount, self.presentment_currency)
    }
    pub fn net_money(&self) -> Money {
        Money::new(self.net, self.settlement_currency)
    }
}

/// Credit or debit, as a statement marks an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Direction {
    #[serde(rename = "CRDT")]
    Credit,
    #[serde(rename = "DBIT")]
    Debit,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Credit => "CRDT",
            Direction::Debit => "DBIT",
        }
    }
}

/// Whether the bank has booked an entry (camt `Sts`: BOOK, PDNG, INFO). Only booked entries move the
/// balance and are matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default)]
pub enum EntryStatus {
    #[default]
    #[serde(rename = "BOOK")]
    Booked,
    #[serde(rename = "PDNG")]
    Pending,
    #[serde(rename = "INFO")]
    Info,
}

impl EntryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            EntryStatus::Booked => "BOOK",
            EntryStatus::Pending => "PDNG",
            EntryStatus::Info => "INFO",
        }
    }

    pub fn parse(code: &str) -> Option<EntryStatus> {
        match code {
            "BOOK" => Some(EntryStatus::Booked),
            "PDNG" => Some(EntryStatus::Pending),
            "INFO" => Some(EntryStatus::Info),
            _ => None,
        }
    }
}

/// A currency exchange a bank reports for a transaction (camt `CcyXchg`): 1 `unit_currency` =
/// `rate` of the other currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExchangeRate {
    pub source_currency: Option<Currency>,
    pub target_currency: Option<Currency>,
    pub unit_currency: Option<Currency>,
    #[serde(with = "rust_decimal::serde::str_option")]
    pub rate: Option<Decimal>,
}

/// One underlying transaction of a bank entry (camt `TxDtls`; the MT940 `:86:` details of a `:61:`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct TransactionDetail {
    pub message_id: Option<String>,
    pub payment_information_id: Option<String>,
    pub instruction_id: Option<String>,
    pub end_to_end_id: Option<String>,
    pub transaction_id: Option<String>,
    pub mandate_id: Option<String>,
    pub account_servicer_reference: Option<String>,
    /// The detail's own amount and direction when the bank gives them (`TxDtls/Amt`, `AmtDtls/TxAmt`).
    pub amount: Option<Money>,
    pub direction: Option<Direction>,
    pub instructed_amount: Option<Money>,
    pub counter_value_amount: Option<Money>,
    pub exchange: Option<ExchangeRate>,
    /// Σ of the charges records.
    pub charges: Option<Money>,
    pub debtor_name: Option<String>,
    pub debtor_account: Option<String>,
    pub debtor_agent_bic: Option<String>,
    pub ultimate_debtor: Option<String>,
    pub creditor_name: Option<String>,
    pub creditor_account: Option<String>,
    pub creditor_agent_bic: Option<String>,
    pub ultimate_creditor: Option<String>,
    pub creditor_id: Option<String>,
    pub purpose_code: Option<String>,
    /// All unstructured remittance lines, joined with a space in document order.
    pub remittance_info: Option<String>,
    /// Structured creditor reference (e.g. an ISO 11649 RF reference).
    pub creditor_reference: Option<String>,
    pub return_reason: Option<String>,
    pub additional_info: Option<String>,
}

/// One booked movement on one of our bank accounts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BankEntry {
    /// Our account (IBAN or the bank's account id).
    pub account_id: String,
    /// The bank's reference of the entry, unique within the account.
    pub entry_id: String,
    pub booking_date: Date,
    pub value_date: Date,
    pub direction: Direction,
    /// Unsigned, as the statement writes it.
    #[serde(with = "rust_decimal::serde::str")]
    pub amount: Decimal,
    pub currency: Currency,
    /// The structured reference the payer gave (end-to-end id, channel payout id).
    pub reference: Option<String>,
    pub counterparty_name: Option<String>,
    pub remittance_info: Option<String>,
    /// Booked, pending or information only.
    pub status: EntryStatus,
    /// The entry reverses an earlier one (camt `RvslInd`, MT940 `RC`/`RD`).
    pub reversal: bool,
    /// Bank transaction code: `DOMAIN/FAMILY/SUBFAMILY` or the proprietary code.
    pub bank_transaction_code: Option<String>,
    /// The underlying transactions, when the statement gives them.
    pub details: Vec<TransactionDetail>,
    pub provenance: Provenance,
}

impl BankEntry {
    /// Signed amount: credits positive, debits negative.
    pub fn signed_money(&self) -> Money {
        match self.direction {
            Direction::Credit => Money::new(self.amount, self.currency),
            Direction::Debit => Money::new(-self.amount, self.currency),
        }
    }
}

/// A reference rate: 1 `base` = `rate` `quote` on `date`, as published by `source`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rate {
    pub date: Date,
    pub base: Currency,
    pub quote: Currency,
    #[serde(with = "rust_decimal::serde::str")]
    pub rate: Decimal,
    pub source: String,
    pub provenance: Provenance,
}

/// A party we pay out to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Beneficiary {
    pub beneficiary_id: String,
    pub legal_name: String,
    /// ISO 3166-1 alpha-2.
    pub country: String,
    pub iban: String,
    pub bic: Option<String>,
    pub payout_currency: Currency,
    pub provenance: Provenance,
}

/// One credit transfer to a beneficiary, with deterministic ids.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayoutInstruction {
    pub payout_id: String,
    pub end_to_end_id: String,
    pub beneficiary_id: String,
    pub business_date: Date,
    pub execution_date: Date,
    #[serde(with = "rust_decimal::serde::str")]
    pub amount: Decimal,
    pub currency: Currency,
    pub creditor_name: String,
    pub creditor_iban: String,
    pub creditor_bic: Option<String>,
    pub provenance: Provenance,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_through_json_with_string_decimals() {
        let tx = ChannelTransaction {
            channel: "stripe".into(),
            transaction_id: "txn_1".into(),
            kind: ChannelKind::Charge,
            order_id: Some("O-1".into()),
            booking_date: crate::calendar::parse_date("2026-10-30").unwrap(),
            presentment_amount: "12345678901234567.89".parse().unwrap(),
            presentment_currency: Currency::from_code("EUR").unwrap(),
            gross: "12345678901234567.89".parse().unwrap(),
            fee: "0.30".parse().unwrap(),
            net: "12345678901234567.59".parse().unwrap(),
            settlement_currency: Currency::from_code("EUR").unwrap(),
            payout_batch_id: None,
            provenance: Provenance::line("channel.csv", 2),
        };
        let json = serde_json::to_string(&tx).unwrap();
        assert!(json.contains("\"net\":\"12345678901234567.59\""), "{json}");
        let back: ChannelTransaction = serde_json::from_str(&json).unwrap();
        assert_eq!(back, tx);
        assert_eq!(tx.provenance.to_string(), "channel.csv:2");
    }
}
