//! Reason codes: why a record is not matched, with their class and severity.

use serde::Serialize;

/// Where a reason puts a record (the statuses of the summary, besides `matched`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Class {
    /// Not matched yet; expected to resolve on a later night (the next run tries again).
    Open,
    /// Needs a person.
    Exception,
    /// Not admitted to matching at all (e.g. a duplicate row).
    Rejected,
}

impl Class {
    pub fn as_str(self) -> &'static str {
        match self {
            Class::Open => "open",
            Class::Exception => "exception",
            Class::Rejected => "rejected",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Low,
    Medium,
    High,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
        }
    }
}

/// Why a record is not matched. The string forms are stable: they appear in outputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReasonCode {
    DuplicateOrder,
    DuplicateChannelTransaction,
    DuplicateBankEntry,
    NoChannelTransaction,
    NoOrder,
    AmountMismatch,
    KindMismatch,
    OrderAlreadyMatched,
    Chargeback,
    NotInPayoutBatch,
    NoBankCredit,
    NoPayoutBatch,
    MixedCurrencyBatch,
    UnmatchedBankDebit,
    NotBooked,
    CurrencyMismatch,
    AmbiguousMatch,
    OutsideDateWindow,
    PayoutNotDebited,
    ReturnedPayout,
    AlreadySettled,
    SettledRecordChanged,
    BeyondLedgerHorizon,
}

impl ReasonCode {
    pub const ALL: [ReasonCode; 23] = [
        ReasonCode::DuplicateOrder,
        ReasonCode::DuplicateChannelTransaction,
        ReasonCode::DuplicateBankEntry,
        ReasonCode::NoChannelTransaction,
        ReasonCode::NoOrder,
        ReasonCode::AmountMismatch,
        ReasonCode::KindMismatch,
        ReasonCode::OrderAlreadyMatched,
        ReasonCode::Chargeback,
        ReasonCode::NotInPayoutBatch,
        ReasonCode::NoBankCredit,
        ReasonCode::NoPayoutBatch,
        ReasonCode::MixedCurrencyBatch,
        ReasonCode::UnmatchedBankDebit,
        ReasonCode::NotBooked,
        ReasonCode::CurrencyMismatch,
        ReasonCode::AmbiguousMatch,
        ReasonCode::OutsideDateWindow,
        ReasonCode::PayoutNotDebited,
        ReasonCode::ReturnedPayout,
        ReasonCode::AlreadySettled,
        ReasonCode::SettledRecordChanged,
        ReasonCode::BeyondLedgerHorizon,
    ];

    /// The reason `as_str` writes as `text`.
    pub fn parse(text: &str) -> Option<ReasonCode> {
        ReasonCode::ALL.into_iter().find(|r| r.as_str() == text)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ReasonCode::DuplicateOrder => "duplicate_order",
            ReasonCode::DuplicateChannelTransaction => "duplicate_channel_transaction",
            ReasonCode::DuplicateBankEntry => "duplicate_bank_entry",
            ReasonCode::NoChannelTransaction => "no_channel_transaction",
            ReasonCode::NoOrder => "no_order",
            ReasonCode::AmountMismatch => "amount_mismatch",
            ReasonCode::KindMismatch => "kind_mismatch",
            ReasonCode::OrderAlreadyMatched => "order_already_matched",
            ReasonCode::Chargeback => "chargeback",
            ReasonCode::NotInPayoutBatch => "not_in_payout_batch",
            ReasonCode::NoBankCredit => "no_bank_credit",
            ReasonCode::NoPayoutBatch => "no_payout_batch",
            ReasonCode::MixedCurrencyBatch => "mixed_currency_batch",
            ReasonCode::UnmatchedBankDebit => "unmatched_bank_debit",
            ReasonCode::NotBooked => "not_booked",
            ReasonCode::CurrencyMismatch => "currency_mismatch",
            ReasonCode::AmbiguousMatch => "ambiguous_match",
            ReasonCode::OutsideDateWindow => "outside_date_window",
            ReasonCode::PayoutNotDebited => "payout_not_debited",
            ReasonCode::ReturnedPayout => "returned_payout",
            ReasonCode::AlreadySettled => "already_settled",
            ReasonCode::SettledRecordChanged => "settled_record_changed",
            ReasonCode::BeyondLedgerHorizon => "beyond_ledger_horizon",
        }
    }

    /// The common category a reconciliation team files it under (several reason codes share one):
    /// `MISSING_IN_CHANNEL`, `MISSING_IN_ORDERS`, `AMOUNT_MISMATCH`, `CURRENCY_MISMATCH`, `DUPLICATE`,
    /// `PAYOUT_NOT_RECEIVED`, `UNEXPECTED_CREDIT`, `AMBIGUOUS_MATCH`, `RETURNED_PAYOUT`, and settle's own
    /// for the rest.
    pub fn category(self) -> &'static str {
        match self {
            ReasonCode::DuplicateOrder
            | ReasonCode::DuplicateChannelTransaction
            | ReasonCode::DuplicateBankEntry
            | ReasonCode::OrderAlreadyMatched
            | ReasonCode::AlreadySettled
            | ReasonCode::SettledRecordChanged => "DUPLICATE",
            ReasonCode::BeyondLedgerHorizon => "LEDGER_HORIZON",
            ReasonCode::NoChannelTransaction => "MISSING_IN_CHANNEL",
            ReasonCode::NoOrder => "MISSING_IN_ORDERS",
            ReasonCode::AmountMismatch => "AMOUNT_MISMATCH",
            ReasonCode::CurrencyMismatch | ReasonCode::MixedCurrencyBatch => "CURRENCY_MISMATCH",
            ReasonCode::KindMismatch => "KIND_MISMATCH",
            ReasonCode::Chargeback => "CHARGEBACK",
            ReasonCode::NotInPayoutBatch => "NOT_IN_PAYOUT_BATCH",
            ReasonCode::NoBankCredit => "PAYOUT_NOT_RECEIVED",
            ReasonCode::NoPayoutBatch => "UNEXPECTED_CREDIT",
            ReasonCode::UnmatchedBankDebit => "UNEXPECTED_DEBIT",
            ReasonCode::NotBooked => "NOT_BOOKED",
            ReasonCode::AmbiguousMatch => "AMBIGUOUS_MATCH",
            ReasonCode::OutsideDateWindow => "OUTSIDE_DATE_WINDOW",
            ReasonCode::PayoutNotDebited => "PAYOUT_NOT_DEBITED",
            ReasonCode::ReturnedPayout => "RETURNED_PAYOUT",
        }
    }

    pub fn class(self) -> Class {
        match self {
            ReasonCode::DuplicateOrder
            | ReasonCode::DuplicateChannelTransaction
            | ReasonCode::DuplicateBankEntry
            | ReasonCode::AlreadySettled
            | ReasonCode::SettledRecordChanged
            | ReasonCode::BeyondLedgerHorizon => Class::Rejected,
            ReasonCode::NoChannelTransaction
            | ReasonCode::NotInPayoutBatch
            | ReasonCode::NoBankCredit
            | ReasonCode::NotBooked
            | ReasonCode::PayoutNotDebited => Class::Open,
            _ => Class::Exception,
        }
    }

    pub fn severity(self) -> Severity {
        match self {
            ReasonCode::DuplicateChannelTransaction
            | ReasonCode::DuplicateBankEntry
            | ReasonCode::AlreadySettled
            | ReasonCode::NotInPayoutBatch
            | ReasonCode::NotBooked => Severity::Low,
            ReasonCode::NoChannelTransaction
            | ReasonCode::NoBankCredit
            | ReasonCode::UnmatchedBankDebit
            | ReasonCode::OutsideDateWindow
            | ReasonCode::PayoutNotDebited => Severity::Medium,
            _ => Severity::High,
        }
    }

    /// One line for docs and reports.
    pub fn meaning(self) -> &'static str {
        match self {
            ReasonCode::DuplicateOrder => "an order id appears again; the later row is not matched",
            ReasonCode::DuplicateChannelTransaction => {
                "a channel transaction id appears again for the same channel; the later row is not matched or paid"
            }
            ReasonCode::DuplicateBankEntry => {
                "a bank entry id appears again for the same account; the later row is not matched"
            }
            ReasonCode::NoChannelTransaction => "an order with no channel record (yet)",
            ReasonCode::NoOrder => "a channel charge, refund or chargeback whose order id is not among our orders",
            ReasonCode::AmountMismatch => "the same reference on both sides, but amounts or currencies differ",
            ReasonCode::KindMismatch => {
                "the channel row's kind does not fit the order's (e.g. a refund against a sale)"
            }
            ReasonCode::OrderAlreadyMatched => "a second channel row of the same kind for an order already matched",
            ReasonCode::Chargeback => {
                "the customer disputed a matched order; the amount is taken back from the beneficiary"
            }
            ReasonCode::NotInPayoutBatch => "a channel transaction not yet in a payout batch",
            ReasonCode::NoBankCredit => "a channel payout batch with no bank credit (yet)",
            ReasonCode::NoPayoutBatch => "a bank credit whose reference is no channel payout batch",
            ReasonCode::MixedCurrencyBatch => "a payout batch with transactions in several settlement currencies",
            ReasonCode::UnmatchedBankDebit => {
                "a bank debit that no payout batch with a negative net names; our own payouts (stage C) are not matched yet"
            }
            ReasonCode::NotBooked => "a pending or information-only bank entry; it is matched once booked",
            ReasonCode::CurrencyMismatch => "a bank credit names a payout batch but is in another currency",
            ReasonCode::AmbiguousMatch => {
                "a bank credit that several sets of open payout batches add up to; settle does not guess"
            }
            ReasonCode::OutsideDateWindow => {
                "a bank credit names a payout batch but was booked outside the rules' date window"
            }
            ReasonCode::PayoutNotDebited => "a payout we issued whose bank debit has not been seen yet",
            ReasonCode::ReturnedPayout => {
                "a payout we issued came back: a bank credit carries its EndToEndId (camt return information)"
            }
            ReasonCode::AlreadySettled => {
                "the settlement ledger holds this record: an earlier night (of this job, or another job writing into the same output root) settled it or holds it open; it is not matched, summed or paid again"
            }
            ReasonCode::SettledRecordChanged => {
                "a record the settlement ledger holds arrives again with other content (amount, currency, kind or references); it is not matched or paid: a person decides which is right"
            }
            ReasonCode::BeyondLedgerHorizon => {
                "a record dated before the settlement ledger's horizon, while nights older than it exist: settle cannot prove they did not settle it; it is not matched or paid: a person decides (or raise output.ledger_horizon_days)"
            }
        }
    }
}
