//! What the camt reader extracts.

use std::fmt;

use serde::Serialize;
use settle_core::{Currency, Date, Decimal, Direction, EntryStatus, Money, TransactionDetail};

/// camt.052 (account report), camt.053 (statement) or camt.054 (debit/credit notification).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum MessageKind {
    Camt052,
    Camt053,
    Camt054,
}

impl MessageKind {
    pub fn number(self) -> &'static str {
        match self {
            MessageKind::Camt052 => "052",
            MessageKind::Camt053 => "053",
            MessageKind::Camt054 => "054",
        }
    }

    /// The message's root element under `Document`.
    pub fn root_element(self) -> &'static str {
        match self {
            MessageKind::Camt052 => "BkToCstmrAcctRpt",
            MessageKind::Camt053 => "BkToCstmrStmt",
            MessageKind::Camt054 => "BkToCstmrDbtCdtNtfctn",
        }
    }

    /// The element of one statement, report or notification.
    pub fn statement_element(self) -> &'static str {
        match self {
            MessageKind::Camt052 => "Rpt",
            MessageKind::Camt053 => "Stmt",
            MessageKind::Camt054 => "Ntfctn",
        }
    }
}

/// A message and version, e.g. camt.053.001.08, recognised by the document's namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MessageFormat {
    pub kind: MessageKind,
    pub version: u8,
}

impl MessageFormat {
    /// Versions this reader knows: .02 to .13 of each message.
    pub const KNOWN_VERSIONS: std::ops::RangeInclusive<u8> = 2..=13;

    pub fn namespace(self) -> String {
        format!("urn:iso:std:iso:20022:tech:xsd:{self}")
    }

    /// Reads `urn:iso:std:iso:20022:tech:xsd:camt.053.001.08`.
    pub fn from_namespace(namespace: &str) -> Option<MessageFormat> {
        let name = namespace.strip_prefix("urn:iso:std:iso:20022:tech:xsd:")?;
        let mut parts = name.split('.');
        let (family, number, variant, version) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        if family != "camt" || variant != "001" || parts.next().is_some() {
            return None;
        }
        let kind = match number {
            "052" => MessageKind::Camt052,
            "053" => MessageKind::Camt053,
            "054" => MessageKind::Camt054,
            _ => return None,
        };
        let version: u8 = version.parse().ok()?;
        Some(MessageFormat { kind, version })
    }
}

impl fmt::Display for MessageFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "camt.{}.001.{:02}", self.kind.number(), self.version)
    }
}

/// Page number and last-page flag (`MsgPgntn`, `StmtPgntn`, …).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Pagination {
    pub page: Option<String>,
    pub last_page: Option<bool>,
}

/// A balance, signed by its `CdtDbtInd` (a debit balance is negative).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Balance {
    /// OPBD, PRCD, CLBD, CLAV, ITBD, FWAV, … (or the proprietary code).
    pub code: String,
    pub amount: Money,
    pub date: Option<Date>,
}

/// `TxsSummry` as stated by the bank.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TxSummary {
    pub total_count: Option<u64>,
    pub total_sum: Option<Decimal>,
    /// Net of all entries, signed (credit positive).
    pub net: Option<Decimal>,
    pub credit_count: Option<u64>,
    pub credit_sum: Option<Decimal>,
    pub debit_count: Option<u64>,
    pub debit_sum: Option<Decimal>,
}

/// One `Ntry`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// 1-based position in its statement.
    pub index: usize,
    pub entry_reference: Option<String>,
    /// Unsigned, as the bank writes it.
    pub amount: Money,
    pub direction: Direction,
    pub reversal: bool,
    pub status: EntryStatus,
    pub booking_date: Option<Date>,
    pub value_date: Option<Date>,
    pub account_servicer_reference: Option<String>,
    pub bank_transaction_code: Option<String>,
    pub batch_count: Option<u64>,
    pub batch_total: Option<Money>,
    pub charges: Option<Money>,
    pub additional_info: Option<String>,
    pub details: Vec<TransactionDetail>,
    /// e.g. `/Document/BkToCstmrStmt/Stmt[1]/Ntry[3]`
    pub xml_path: String,
}

impl Entry {
    /// Credits positive, debits negative.
    pub fn signed_amount(&self) -> Decimal {
        match self.direction {
            Direction::Credit => self.amount.amount(),
            Direction::Debit => -self.amount.amount(),
        }
    }
}

/// One `Stmt` (camt.053), `Rpt` (camt.052) or `Ntfctn` (camt.054).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub format: MessageFormat,
    pub message_id: Option<String>,
    pub message_created: Option<String>,
    pub message_page: Option<Pagination>,
    pub statement_id: Option<String>,
    pub statement_page: Option<Pagination>,
    pub electronic_sequence: Option<String>,
    pub legal_sequence: Option<String>,
    pub created: Option<String>,
    /// `FrToDt` as written (date-times).
    pub from: Option<String>,
    pub to: Option<String>,
    /// IBAN, or `Othr/Id`.
    pub account: Option<String>,
    pub account_currency: Option<Currency>,
    pub owner: Option<String>,
    pub servicer_bic: Option<String>,
    pub balances: Vec<Balance>,
    pub summary: Option<TxSummary>,
    pub entries: Vec<Entry>,
    /// e.g. `/Document/BkToCstmrStmt/Stmt[1]`
    pub xml_path: String,
    /// Deviations from the schema that were read anyway (unknown version, extra fraction digits, …).
    pub warnings: Vec<String>,
}

impl Statement {
    pub fn balance(&self, code: &str) -> Option<&Balance> {
        self.balances.iter().find(|b| b.code == code)
    }
}
