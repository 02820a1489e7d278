//! settle-core: money, currencies, amount parsing, business-day calendars and canonical records.
//!
//! No I/O and no floating point: every amount is a `rust_decimal::Decimal` with a `Currency`, and every
//! rounding names its `RoundingMode`.
#![forbid(unsafe_code)]
#![deny(clippy::float_arithmetic)]

pub mod amount;
pub mod calendar;
pub mod currency;
mod currency_table;
pub mod fixed;
pub mod iban;
pub mod money;
pub mod records;
pub mod statement;
pub mod text;

pub use amount::{
    AMOUNT_INTEGER_DIGITS_MAX, AmountError, AmountFormat, DecimalSeparator, ExtraDigits, format_amount, parse_amount,
    parse_decimal, parse_rate,
};
pub use calendar::{Calendar, Date, DateError, PayoutSchedule, ScheduleError, parse_date};
pub use compact_str::{ToCompactString, format_compact};
pub use currency::{Currency, UnknownCurrency};
pub use money::{Money, MoneyError, Rounded, RoundingMode, format_minor};
pub use records::{
    BankEntry, Beneficiary, ChannelKind, ChannelTransaction, DetailMore, Direction, EntryStatus, ExchangeRate,
    ForeignRow, Order, OrderKind, Provenance, Rate, TransactionDetail,
};
pub use rust_decimal::Decimal;
pub use text::Text;
