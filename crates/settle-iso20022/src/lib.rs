//! settle-iso20022: ISO 20022 cash management messages.
//!
//! - `read_camt`: a streaming reader for camt.052 (account report), camt.053 (statement) and camt.054
//!   (debit/credit notification), versions .02 to .13, recognised by namespace (other versions are read
//!   with a warning). UTF-8 or declared ISO-8859-1/Windows-1252; DOCTYPE refused, entities never
//!   expanded, depth and text size bounded.
//! - `check_statement`, `cross_check`: balances, transaction summary, period, batch details, duplicates
//!   across files, chain gaps.
//! - `bank_entries`, `flattened_entries`: canonical `BankEntry` rows.
//! - `write_camt053`: a camt.053 writer (for generated days, tests and benchmarks).
//! - `write_pain001`: a pain.001 writer (credit transfer initiation, versions .09 and .03), with the
//!   SEPA Latin character subset and transliteration on request.
//! - `read_pain002`: the bank's payment status reports (group, batch and transaction statuses with
//!   reason codes).
#![forbid(unsafe_code)]
#![deny(clippy::float_arithmetic)]

mod camt;
mod canonical;
mod checks;
mod model;
pub mod pain001;
pub mod pain002;
mod write;
pub mod xml;

pub use camt::{CamtError, CamtEvent, DocumentInfo, read_camt, read_camt_all, read_camt_events};
pub use canonical::{bank_entries, bank_entry, flatten_entry, flattened_entries, into_bank_entry, statement_date};
pub use checks::{StatementChecker, check_record, check_statement};
pub use model::{Balance, Entry, MessageFormat, MessageKind, Pagination, Statement, TxSummary};
pub use pain001::{Pain001, Pain001Error, Pain001Version, write_pain001};
pub use pain002::{Pain002Error, PaymentStatus, StatusLevel, read_pain002};
pub use settle_core::statement::{CheckRecord, StatementCheck, cross_check};
pub use write::{Camt053Writer, StatementToWrite, write_camt053};
pub use xml::Limits;

#[cfg(test)]
mod pain001_tests;
#[cfg(test)]
mod tests;
