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
use std::num::NonZeroU64;

use crate::money::Money;
use crate::text::Text;

/// Where a record came from: the input file as the job names it, and the line (CSV, MT940) or the XML
/// path (camt) of the record in it. The file name is shared by all records of a file (`Arc<str>`).
/// 40 bytes: every record carries one (ten million channel rows, ten million orders).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Provenance {
    pub source_file: Arc<str>,
    /// Lines count from 1.
    pub source_line: Option<NonZeroU64>,
    pub xml_path: Option<Box<str>>,
}

impl Provenance {
    /// Line `source_line` (from 1; 0 means no line) of `source_file`.
    pub fn line(source_file: impl Into<Arc<str>>, source_line: u64) -> Provenance {
        debug_assert!(source_line > 0, "lines count from 1");
        Provenance { source_file: source_file.into(), source_line: NonZeroU64::new(source_line), xml_path: None }
    }

    /// The line, or 0 when the record has none (camt: an XML path instead).
    pub fn line_number(&self) -> u64 {
        self.source_line.map_or(0, NonZeroU64::get)
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
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
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
    pub order_id: Text,
    pub kind: OrderKind,
    pub beneficiary_id: Text,
    pub channel: Text,
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

/// The kind of a channel transaction: the channel's own type codes (Adyen `Type`, Stripe
/// `reporting_category`, PayPal T-codes, …) are mapped to these by the report's profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum ChannelKind {
    /// A customer payment captured and settled to the balance.
    Charge,
    Refund,
    Chargeback,
    /// A chargeback the merchant won back.
    ChargebackReversal,
    /// A fee row of its own (not a fee on a charge, which is the charge's `fee`).
    Fee,
    /// Money leaving the channel balance for our bank account: the channel payout.
    Payout,
    /// A payout that came back (failed or returned).
    PayoutReversal,
    /// A correction or a balance transfer between batches.
    Adjustment,
    /// One leg of a conversion between two balance currencies.
    CurrencyConversion,
    /// Funds held back or released by the channel.
    Reserve,
    /// A type code the profile does not map: kept, with a warning, never dropped.
    Other,
}

impl ChannelKind {
    pub const ALL: [ChannelKind; 11] = [
        ChannelKind::Charge,
        ChannelKind::Refund,
        ChannelKind::Chargeback,
        ChannelKind::ChargebackReversal,
        ChannelKind::Fee,
        ChannelKind::Payout,
        ChannelKind::PayoutReversal,
        ChannelKind::Adjustment,
        ChannelKind::CurrencyConversion,
        ChannelKind::Reserve,
        ChannelKind::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ChannelKind::Charge => "charge",
            ChannelKind::Refund => "refund",
            ChannelKind::Chargeback => "chargeback",
            ChannelKind::ChargebackReversal => "chargeback_reversal",
            ChannelKind::Fee => "fee",
            ChannelKind::Payout => "payout",
            ChannelKind::PayoutReversal => "payout_reversal",
            ChannelKind::Adjustment => "adjustment",
            ChannelKind::CurrencyConversion => "currency_conversion",
            ChannelKind::Reserve => "reserve",
            ChannelKind::Other => "other",
        }
    }

    pub fn parse(text: &str) -> Option<ChannelKind> {
        ChannelKind::ALL.into_iter().find(|k| k.as_str() == text)
    }

    /// A row that moves money between the channel balance and our bank (the payout itself, or its
    /// return): it is the batch's payout, not one of the rows the payout sums up.
    pub fn is_payout(self) -> bool {
        matches!(self, ChannelKind::Payout | ChannelKind::PayoutReversal)
    }

    /// A row that belongs to one of our orders (its merchant reference is our order id).
    pub fn belongs_to_order(self) -> bool {
        matches!(
            self,
            ChannelKind::Charge | ChannelKind::Refund | ChannelKind::Chargeback | ChannelKind::ChargebackReversal
        )
    }
}

/// One row of a channel's settlement report, in settle's words.
///
/// Amounts are signed from the channel balance's point of view: money into the balance is positive
/// (charges), money out negative (refunds, chargebacks, fee rows, payouts). `gross − fee = net`, all three
/// in the settlement currency; `fee` is what the channel kept on this row (a cost is positive). A row of
/// kind `fee` carries its amount in `gross` and `net` (negative) with `fee` zero, as Stripe reports them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelTransaction {
    pub channel: Text,
    /// The channel's id of the row (Adyen PSP reference, Stripe balance transaction, PayPal transaction
    /// id); for batch-level rows without one, a deterministic id made from the batch and the line.
    pub transaction_id: Text,
    /// Our order id as the channel reports it; none for fee, payout and adjustment rows.
    pub merchant_reference: Option<Text>,
    pub kind: ChannelKind,
    /// The channel's own type code as written (`Settled`, `charge`, `T0006`, …).
    pub channel_type: Text,
    #[serde(with = "rust_decimal::serde::str")]
    pub gross: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub fee: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub net: Decimal,
    pub settlement_currency: Currency,
    /// What the customer was charged, signed like `gross`; none when the channel does not say.
    #[serde(with = "rust_decimal::serde::str_option")]
    pub presentment_amount: Option<Decimal>,
    pub presentment_currency: Option<Currency>,
    /// The applied rate as the channel states it (settlement units per presentment unit).
    #[serde(with = "rust_decimal::serde::str_option")]
    pub exchange_rate: Option<Decimal>,
    /// The channel's payout batch (Adyen batch number, Stripe `automatic_payout_id`); none while the row
    /// is not yet in a payout.
    pub batch_id: Option<Text>,
    /// The booking date as the channel writes it, in its zone.
    pub booking_date: Date,
    /// The booking instant in UTC, RFC 3339 (`2021-01-05T00:21:32Z`), when the report gives a time.
    pub booked_at_utc: Option<Text>,
    /// The zone the report gave the time in, as written (`CET`, `PDT`, `America/Los_Angeles`).
    pub booked_zone: Option<Text>,
    /// When the payout reaches the bank, when the report says.
    pub payout_date: Option<Date>,
    /// The channel account the row was booked on (Adyen merchant account, Stripe connected account).
    pub merchant_account: Option<Text>,
    /// Another row this one is linked to (PayPal `Reference Txn ID`: the other leg of a conversion, the
    /// payment a refund returns).
    pub related_transaction_id: Option<Text>,
    /// Fee components in the settlement currency (`interchange`, `scheme_fee`, `markup`, `commission`,
    /// …), sorted by name, written as `fee_<name>` columns. Their sum is `fee` when the channel gives them.
    pub fee_components: Vec<(Text, Decimal)>,
    /// Other columns the profile keeps as written (Stripe `payment_metadata[...]`), sorted by name.
    pub metadata: Vec<(Text, Text)>,
    pub provenance: Provenance,
}

impl ChannelTransaction {
    /// A row with only what every row has: net = gross − fee, the kind's name as the channel's type, no
    /// presentment, batch, reference, times or metadata. Set the rest with struct update syntax.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        channel: &str,
        transaction_id: &str,
        kind: ChannelKind,
        gross: Decimal,
        fee: Decimal,
        settlement_currency: Currency,
        booking_date: Date,
        provenance: Provenance,
    ) -> ChannelTransaction {
        ChannelTransaction {
            channel: channel.into(),
            transaction_id: transaction_id.into(),
            merchant_reference: None,
            kind,
            channel_type: kind.as_str().into(),
            gross,
            fee,
            net: gross - fee,
            settlement_currency,
            presentment_amount: None,
            presentment_currency: None,
            exchange_rate: None,
            batch_id: None,
            booking_date,
            booked_at_utc: None,
            booked_zone: None,
            payout_date: None,
            merchant_account: None,
            related_transaction_id: None,
            fee_components: Vec::new(),
            metadata: Vec::new(),
            provenance,
        }
    }

    /// What the customer was charged; the gross in the settlement currency when the channel gives no
    /// presentment amount (the customer paid in the settlement currency).
    pub fn presentment(&self) -> Money {
        match (self.presentment_amount, self.presentment_currency) {
            (Some(amount), Some(currency)) => Money::new(amount, currency),
            _ => Money::new(self.gross, self.settlement_currency),
        }
    }
    pub fn net_money(&self) -> Money {
        Money::new(self.net, self.settlement_currency)
    }
    /// The rate implied by the amounts: |gross| / |presentment amount| (settlement units per presentment
    /// unit), to 10 decimal places, half-even; none without a presentment amount or when it is zero.
    pub fn exchange_rate_implied(&self) -> Option<Decimal> {
        let presentment = self.presentment_amount?;
        if presentment.is_zero() || self.presentment_currency.is_none() {
            return None;
        }
        let rate = self.gross.abs().checked_div(presentment.abs())?;
        Some(rate.round_dp_with_strategy(10, rust_decimal::RoundingStrategy::MidpointNearestEven).normalize())
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
///
/// The fields every dialect fills are here; the ones only camt (and rare MT940 keywords) fill are in
/// `more`, boxed, so a detail without them costs 344 bytes instead of 640 (a statement of a million
/// entries holds a million details). Serialized flat, in the field order of camt's `TxDtls`, with
/// `null` for an absent field, whether `more` is there or not.
#[derive(Debug, Clone, Eq, Default, Deserialize)]
#[serde(from = "DetailRecord<Text>")]
pub struct TransactionDetail {
    pub instruction_id: Option<Text>,
    pub end_to_end_id: Option<Text>,
    pub mandate_id: Option<Text>,
    pub debtor_name: Option<Text>,
    pub debtor_account: Option<Text>,
    pub debtor_agent_bic: Option<Text>,
    pub creditor_name: Option<Text>,
    pub creditor_account: Option<Text>,
    pub creditor_agent_bic: Option<Text>,
    pub creditor_id: Option<Text>,
    pub purpose_code: Option<Text>,
    /// All unstructured remittance lines, joined with a space in document order.
    pub remittance_info: Option<Text>,
    pub return_reason: Option<Text>,
    pub additional_info: Option<Text>,
    /// The camt-only fields, when any is set.
    pub more: Option<Box<DetailMore>>,
}

/// The less common fields of a `TransactionDetail`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DetailMore {
    pub message_id: Option<Text>,
    pub payment_information_id: Option<Text>,
    pub transaction_id: Option<Text>,
    pub account_servicer_reference: Option<Text>,
    /// The detail's own amount and direction when the bank gives them (`TxDtls/Amt`, `AmtDtls/TxAmt`).
    pub amount: Option<Money>,
    pub direction: Option<Direction>,
    pub instructed_amount: Option<Money>,
    pub counter_value_amount: Option<Money>,
    pub exchange: Option<ExchangeRate>,
    /// Σ of the charges records.
    pub charges: Option<Money>,
    pub ultimate_debtor: Option<Text>,
    pub ultimate_creditor: Option<Text>,
    /// Structured creditor reference (e.g. an ISO 11649 RF reference).
    pub creditor_reference: Option<Text>,
}

/// Equal when every field is: a `more` whose fields are all absent equals no `more`.
impl PartialEq for TransactionDetail {
    fn eq(&self, other: &TransactionDetail) -> bool {
        // Destructured without `..`: a new field must be added here to compile.
        fn hot(d: &TransactionDetail) -> [&Option<Text>; 14] {
            let TransactionDetail {
                instruction_id,
                end_to_end_id,
                mandate_id,
                debtor_name,
                debtor_account,
                debtor_agent_bic,
                creditor_name,
                creditor_account,
                creditor_agent_bic,
                creditor_id,
                purpose_code,
                remittance_info,
                return_reason,
                additional_info,
                more: _,
            } = d;
            [
                instruction_id,
                end_to_end_id,
                mandate_id,
                debtor_name,
                debtor_account,
                debtor_agent_bic,
                creditor_name,
                creditor_account,
                creditor_agent_bic,
                creditor_id,
                purpose_code,
                remittance_info,
                return_reason,
                additional_info,
            ]
        }
        hot(self) == hot(other) && self.more() == other.more()
    }
}

impl TransactionDetail {
    /// The less common fields, made when first written.
    pub fn more_mut(&mut self) -> &mut DetailMore {
        self.more.get_or_insert_with(Box::default)
    }

    /// The less common fields, or all absent.
    pub fn more(&self) -> &DetailMore {
        const NONE: &DetailMore = &DetailMore {
            message_id: None,
            payment_information_id: None,
            transaction_id: None,
            account_servicer_reference: None,
            amount: None,
            direction: None,
            instructed_amount: None,
            counter_value_amount: None,
            exchange: None,
            charges: None,
            ultimate_debtor: None,
            ultimate_creditor: None,
            creditor_reference: None,
        };
        self.more.as_deref().unwrap_or(NONE)
    }
}

/// The serialized form of a `TransactionDetail`: every field, flat, in camt's order. Borrowed to write,
/// owned to read.
#[derive(Serialize, Deserialize, Default)]
#[serde(default)]
struct DetailRecord<T> {
    message_id: Option<T>,
    payment_information_id: Option<T>,
    instruction_id: Option<T>,
    end_to_end_id: Option<T>,
    transaction_id: Option<T>,
    mandate_id: Option<T>,
    account_servicer_reference: Option<T>,
    amount: Option<Money>,
    direction: Option<Direction>,
    instructed_amount: Option<Money>,
    counter_value_amount: Option<Money>,
    exchange: Option<ExchangeRate>,
    charges: Option<Money>,
    debtor_name: Option<T>,
    debtor_account: Option<T>,
    debtor_agent_bic: Option<T>,
    ultimate_debtor: Option<T>,
    creditor_name: Option<T>,
    creditor_account: Option<T>,
    creditor_agent_bic: Option<T>,
    ultimate_creditor: Option<T>,
    creditor_id: Option<T>,
    purpose_code: Option<T>,
    remittance_info: Option<T>,
    creditor_reference: Option<T>,
    return_reason: Option<T>,
    additional_info: Option<T>,
}

impl Serialize for TransactionDetail {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let m = self.more();
        fn r(t: &Option<Text>) -> Option<&str> {
            t.as_deref()
        }
        DetailRecord::<&str> {
            message_id: r(&m.message_id),
            payment_information_id: r(&m.payment_information_id),
            instruction_id: r(&self.instruction_id),
            end_to_end_id: r(&self.end_to_end_id),
            transaction_id: r(&m.transaction_id),
            mandate_id: r(&self.mandate_id),
            account_servicer_reference: r(&m.account_servicer_reference),
            amount: m.amount,
            direction: m.direction,
            instructed_amount: m.instructed_amount,
            counter_value_amount: m.counter_value_amount,
            exchange: m.exchange.clone(),
            charges: m.charges,
            debtor_name: r(&self.debtor_name),
            debtor_account: r(&self.debtor_account),
            debtor_agent_bic: r(&self.debtor_agent_bic),
            ultimate_debtor: r(&m.ultimate_debtor),
            creditor_name: r(&self.creditor_name),
            creditor_account: r(&self.creditor_account),
            creditor_agent_bic: r(&self.creditor_agent_bic),
            ultimate_creditor: r(&m.ultimate_creditor),
            creditor_id: r(&self.creditor_id),
            purpose_code: r(&self.purpose_code),
            remittance_info: r(&self.remittance_info),
            creditor_reference: r(&m.creditor_reference),
            return_reason: r(&self.return_reason),
            additional_info: r(&self.additional_info),
        }
        .serialize(serializer)
    }
}

impl From<DetailRecord<Text>> for TransactionDetail {
    fn from(r: DetailRecord<Text>) -> TransactionDetail {
        let more = DetailMore {
            message_id: r.message_id,
            payment_information_id: r.payment_information_id,
            transaction_id: r.transaction_id,
            account_servicer_reference: r.account_servicer_reference,
            amount: r.amount,
            direction: r.direction,
            instructed_amount: r.instructed_amount,
            counter_value_amount: r.counter_value_amount,
            exchange: r.exchange,
            charges: r.charges,
            ultimate_debtor: r.ultimate_debtor,
            ultimate_creditor: r.ultimate_creditor,
            creditor_reference: r.creditor_reference,
        };
        TransactionDetail {
            instruction_id: r.instruction_id,
            end_to_end_id: r.end_to_end_id,
            mandate_id: r.mandate_id,
            debtor_name: r.debtor_name,
            debtor_account: r.debtor_account,
            debtor_agent_bic: r.debtor_agent_bic,
            creditor_name: r.creditor_name,
            creditor_account: r.creditor_account,
            creditor_agent_bic: r.creditor_agent_bic,
            creditor_id: r.creditor_id,
            purpose_code: r.purpose_code,
            remittance_info: r.remittance_info,
            return_reason: r.return_reason,
            additional_info: r.additional_info,
            more: (more != DetailMore::default()).then(|| Box::new(more)),
        }
    }
}

/// One booked movement on one of our bank accounts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BankEntry {
    /// Our account (IBAN or the bank's account id).
    pub account_id: Text,
    /// The bank's reference of the entry, unique within the account.
    pub entry_id: Text,
    pub booking_date: Date,
    pub value_date: Date,
    pub direction: Direction,
    /// Unsigned, as the statement writes it.
    #[serde(with = "rust_decimal::serde::str")]
    pub amount: Decimal,
    pub currency: Currency,
    /// The structured reference the payer gave (end-to-end id, channel payout id).
    pub reference: Option<Text>,
    pub counterparty_name: Option<Text>,
    pub remittance_info: Option<Text>,
    /// Booked, pending or information only.
    pub status: EntryStatus,
    /// The entry reverses an earlier one (camt `RvslInd`, MT940 `RC`/`RD`).
    pub reversal: bool,
    /// Bank transaction code: `DOMAIN/FAMILY/SUBFAMILY` or the proprietary code.
    pub bank_transaction_code: Option<Text>,
    /// The underlying transactions, when the statement gives them.
    pub details: Vec<TransactionDetail>,
    pub provenance: Provenance,
}

impl BankEntry {
    /// The bank's charges on the entry (Σ of its details' charges in the entry's currency), as a cost
    /// (positive); `None` when the bank states none.
    pub fn charges(&self) -> Option<Money> {
        let mut total: Option<Decimal> = None;
        for charge in self.details.iter().filter_map(|d| d.more().charges) {
            if charge.currency() == self.currency {
                total = Some(total.unwrap_or_default() + charge.amount().abs());
            }
        }
        total.map(|t| Money::new(t, self.currency))
    }

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
    pub source: Text,
    pub provenance: Provenance,
}

/// A party we pay out to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Beneficiary {
    pub beneficiary_id: String,
    pub legal_name: String,
    /// ISO 3166-1 alpha-2.
    pub country: String,
    /// The account payouts go to; empty when the account is given by `account_number` instead.
    pub iban: String,
    pub bic: Option<String>,
    /// An account outside IBAN countries: its number, with the bank's clearing system (ISO 20022
    /// external code such as `USABA`, `CACPA`, `AUBSB`) and member id (`bank_code`, e.g. the ABA routing
    /// number) when the bank is not named by BIC.
    pub account_number: Option<String>,
    pub clearing_system: Option<String>,
    pub bank_code: Option<String>,
    pub payout_currency: Currency,
    /// Structured postal address (cross-border transfers need at least the town).
    pub street: Option<String>,
    pub building_number: Option<String>,
    pub post_code: Option<String>,
    pub town: Option<String>,
    /// Below this (in the payout currency) nothing is paid: the balance is carried to the next night.
    #[serde(with = "rust_decimal::serde::str_option")]
    pub minimum_payout: Option<Decimal>,
    /// When payouts are due; other nights carry the balance.
    #[serde(default)]
    pub schedule: crate::PayoutSchedule,
    /// The job's fee plan (by id) whose commission is taken from each settled transaction.
    pub fee_plan: Option<String>,
    /// Percentage (0–100) of each night's settled charges held back as a reserve …
    #[serde(with = "rust_decimal::serde::str_option")]
    pub reserve_percent: Option<Decimal>,
    /// … and released into the payout this many business days later.
    pub reserve_release_business_days: Option<u32>,
    pub provenance: Provenance,
}

impl Beneficiary {
    /// The account payouts go to, as one text: the IBAN, or `<clearing system>/<bank code>/<account
    /// number>` (empty parts for what is not given). Two payouts went to the same account when these are
    /// equal.
    pub fn account_id(&self) -> String {
        if !self.iban.is_empty() {
            return self.iban.clone();
        }
        format!(
            "{}/{}/{}",
            self.clearing_system.as_deref().unwrap_or(""),
            self.bank_code.as_deref().unwrap_or(""),
            self.account_number.as_deref().unwrap_or("")
        )
    }
}

/// A channel row another partition of a partitioned run owns (`settle run --partition`), in brief:
/// what the matching engine needs of it where a stage is not local to one shard of beneficiaries —
/// intake (a later row with its id is a duplicate) and stage B (its net is part of its payout batch's) —
/// and what a channel report's own checks need (batch sums, duplicate ids). Its own partition keeps it
/// in full.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForeignRow {
    pub channel: Text,
    pub transaction_id: Text,
    pub kind: ChannelKind,
    pub net: Decimal,
    pub settlement_currency: Currency,
    pub batch_id: Option<Text>,
    pub booking_date: Date,
    pub payout_date: Option<Date>,
    pub provenance: Provenance,
    /// Carried from an earlier night (it comes before tonight's rows in file order).
    pub carried: bool,
    /// Its batch was matched on an earlier night (it is in no batch tonight).
    pub stage_b_carried: bool,
}

impl ForeignRow {
    /// What stage B and intake need of `tx`.
    pub fn of(tx: &ChannelTransaction, carried: bool, stage_b_carried: bool) -> ForeignRow {
        ForeignRow {
            channel: tx.channel.clone(),
            transaction_id: tx.transaction_id.clone(),
            kind: tx.kind,
            net: tx.net,
            settlement_currency: tx.settlement_currency,
            batch_id: tx.batch_id.clone(),
            booking_date: tx.booking_date,
            payout_date: tx.payout_date,
            provenance: tx.provenance.clone(),
            carried,
            stage_b_carried,
        }
    }
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
            channel_type: "charge".into(),
            merchant_reference: Some("O-1".into()),
            booking_date: crate::calendar::parse_date("2026-10-30").unwrap(),
            presentment_amount: Some("12345678901234567.89".parse().unwrap()),
            presentment_currency: Some(Currency::from_code("EUR").unwrap()),
            exchange_rate: Some("1.000000000001".parse().unwrap()),
            gross: "12345678901234567.89".parse().unwrap(),
            fee: "0.30".parse().unwrap(),
            net: "12345678901234567.59".parse().unwrap(),
            settlement_currency: Currency::from_code("EUR").unwrap(),
            batch_id: None,
            booked_at_utc: Some("2026-10-30T09:00:00Z".into()),
            booked_zone: Some("CET".into()),
            payout_date: None,
            merchant_account: None,
            related_transaction_id: None,
            fee_components: vec![("interchange".into(), "0.30".parse().unwrap())],
            metadata: Vec::new(),
            provenance: Provenance::line("channel.csv", 2),
        };
        let json = serde_json::to_string(&tx).unwrap();
        assert!(json.contains("\"net\":\"12345678901234567.59\""), "{json}");
        let back: ChannelTransaction = serde_json::from_str(&json).unwrap();
        assert_eq!(back, tx);
        assert_eq!(tx.provenance.to_string(), "channel.csv:2");
    }

    #[test]
    fn a_detail_serializes_flat_in_camt_order_whether_or_not_it_has_more() {
        let plain = TransactionDetail { end_to_end_id: Some("E2E-1".into()), ..TransactionDetail::default() };
        let json = serde_json::to_string(&plain).unwrap();
        assert!(
            json.starts_with(
                r#"{"message_id":null,"payment_information_id":null,"instruction_id":null,"end_to_end_id":"E2E-1","#
            ),
            "{json}"
        );
        assert!(json.ends_with(r#""return_reason":null,"additional_info":null}"#), "{json}");
        assert_eq!(json.matches(':').count(), 27, "every field, absent ones as null");

        let mut rich = plain.clone();
        let eur = Currency::from_code("EUR").unwrap();
        rich.more_mut().amount = Some(Money::new(Decimal::new(1234, 2), eur));
        rich.more_mut().creditor_reference = Some("RF18539007547034".into());
        let back: TransactionDetail = serde_json::from_str(&serde_json::to_string(&rich).unwrap()).unwrap();
        assert_eq!(back, rich);
        let back: TransactionDetail = serde_json::from_str(&json).unwrap();
        assert_eq!(back, plain);
        assert!(back.more.is_none(), "no box for absent fields");

        let mut emptied = plain.clone();
        emptied.more_mut();
        assert_eq!(emptied, plain, "an empty `more` equals none");
        assert_ne!(rich, plain);
        assert!(std::mem::size_of::<TransactionDetail>() <= 344, "{}", std::mem::size_of::<TransactionDetail>());
    }
}
