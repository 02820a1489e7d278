//! Parsing amounts from text under an explicit convention, and formatting them back.
//!
//! settle never guesses the convention of a column: the caller says whether `,` or `.` is the decimal
//! separator and which character (if any) groups thousands. Text that does not fit is an error that says
//! what was read and what was expected.

use rust_decimal::Decimal;

use crate::currency::Currency;
use crate::money::Money;

/// The decimal separator of a convention.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum DecimalSeparator {
    /// `1234.56`
    #[default]
    Point,
    /// `1234,56`
    Comma,
}

impl DecimalSeparator {
    fn char(self) -> char {
        match self {
            DecimalSeparator::Point => '.',
            DecimalSeparator::Comma => ',',
        }
    }
}

/// A text convention for amounts (default: `1234.56`, no grouping).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct AmountFormat {
    pub decimal: DecimalSeparator,
    /// Thousands grouping character. When set, grouping is optional in the input (`1234,56` and
    /// `1.234,56` both read under `1.234,56`), but when present every group after the first has three
    /// digits.
    pub grouping: Option<char>,
}

impl AmountFormat {
    /// `1234.56`: point decimal, no grouping (canonical CSV layouts, ISO 20022, ECB).
    pub const POINT: AmountFormat = AmountFormat { decimal: DecimalSeparator::Point, grouping: None };
    /// `1,234.56`: point decimal, comma thousands.
    pub const POINT_COMMA_GROUPED: AmountFormat =
        AmountFormat { decimal: DecimalSeparator::Point, grouping: Some(',') };
    /// `1234,56`: comma decimal, no grouping (MT940, many European CSVs).
    pub const COMMA: AmountFormat = AmountFormat { decimal: DecimalSeparator::Comma, grouping: None };
    /// `1.234,56`: comma decimal, point thousands (German, Spanish locales).
    pub const COMMA_POINT_GROUPED: AmountFormat =
        AmountFormat { decimal: DecimalSeparator::Comma, grouping: Some('.') };

    fn example(&self) -> String {
        let dec = self.decimal.char();
        match self.grouping {
            Some(g) => format!("1{g}234{dec}56"),
            None => format!("1234{dec}56"),
        }
    }

    fn describe(&self) -> String {
        let grouping = match self.grouping {
            Some(g) => format!(", optional '{g}' between thousands"),
            None => ", no thousands separator".to_string(),
        };
        format!("digits with '{}' as decimal separator{grouping}, e.g. {}", self.decimal.char(), self.example())
    }
}

/// Whether more fraction digits than the currency's minor units are accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExtraDigits {
    Reject,
    Allow,
}

/// What was wrong with an amount's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AmountProblem {
    Empty,
    TwoSigns,
    Exponent,
    NotANumber,
    UnexpectedChar {
        found: char,
        index: usize,
    },
    MissingDigits,
    BadGrouping,
    TooManyFractionDigits {
        found: usize,
        allowed: u8,
    },
    TooLarge,
    /// More integer digits than `AMOUNT_INTEGER_DIGITS_MAX`.
    OutOfRange,
    /// Zero or below where only a positive number makes sense (a rate).
    NotPositive,
}

/// An amount has at most this many digits before its decimal separator (|amount| < 10^18): ISO 20022's
/// amounts have at most 18 digits in all (`ActiveOrHistoricCurrencyAndAmount`). The bound keeps every
/// sum, tolerance and conversion settle makes far inside `Decimal`'s range (≈ 7.9 × 10^28) instead
/// of overflowing on a hostile or garbled file.
pub const AMOUNT_INTEGER_DIGITS_MAX: usize = 18;

/// An amount's text could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid amount {text:?}: {}; expected {expected}", problem_text(.problem))]
pub struct AmountError {
    pub text: String,
    pub problem: AmountProblem,
    pub expected: String,
}

fn problem_text(problem: &AmountProblem) -> String {
    match problem {
        AmountProblem::Empty => "it is empty".into(),
        AmountProblem::TwoSigns => "it has more than one sign".into(),
        AmountProblem::Exponent => "exponent notation is not accepted".into(),
        AmountProblem::NotANumber => "it is not a number".into(),
        AmountProblem::UnexpectedChar { found, index } => {
            format!("unexpected character {found:?} at position {}", index + 1)
        }
        AmountProblem::MissingDigits => "digits are missing before or after the separator".into(),
        AmountProblem::BadGrouping => "thousands groups must have three digits".into(),
        AmountProblem::TooManyFractionDigits { found, allowed } => {
            format!("{found} fraction digits, but the currency has {allowed} minor units")
        }
        AmountProblem::TooLarge => "it has more than 28 significant digits".into(),
        AmountProblem::NotPositive => "it is not greater than zero".into(),
        AmountProblem::OutOfRange => {
            format!("more than {AMOUNT_INTEGER_DIGITS_MAX} digits before the decimal separator (at most 10^18)")
        }
    }
}

/// Parses `text` as an amount of `currency` under `format`.
///
/// Accepts surrounding white space, one leading `+` or `-`, grouping per `format`. `-0.00` reads as zero.
/// The result has at least the currency's minor units as its scale (`12` EUR → `12.00`).
pub fn parse_amount(
    text: &str,
    format: AmountFormat,
    currency: Currency,
    extra: ExtraDigits,
) -> Result<Money, AmountError> {
    let fail = |problem: AmountProblem| AmountError { text: text.to_string(), problem, expected: format.describe() };
    // Most amounts have no white space around them: skip the (Unicode) trim when both ends are visible ASCII.
    let b = text.as_bytes();
    let visible_ends = b.first().is_some_and(u8::is_ascii_graphic) && b.last().is_some_and(u8::is_ascii_graphic);
    let trimmed = if visible_ends { text } else { text.trim() };
    if trimmed.is_empty() {
        return Err(fail(AmountProblem::Empty));
    }
    // Fast path: an optional sign, up to 18 digits and at most one decimal separator (most amounts in
    // statements and reports). Anything else takes the general parser, which gives the same value.
    if let Some((mantissa, frac_len)) = plain_amount(trimmed.as_bytes(), format.decimal.char() as u8) {
        return finish_plain(mantissa, frac_len, currency, extra).map_err(fail);
    }
    parse_amount_general(text, format, currency, extra)
}

/// Parses a number of any precision in the canonical convention (`-1234.5678`: an optional sign, `.` as
/// the separator, no grouping, no exponent, at most 18 integer digits): `parse_amount` under no
/// currency's minor units. Rates, percentages and the job spec's numbers.
pub fn parse_decimal(text: &str) -> Result<Decimal, AmountError> {
    let xxx = Currency::from_code("XXX").expect("XXX is in the table");
    parse_amount(text, AmountFormat::POINT, xxx, ExtraDigits::Allow).map(|m| m.amount())
}

/// Parses a reference rate: plain digits with at most one `.` (no sign, no grouping, no exponent —
/// `1e12` is refused as amounts are), greater than zero, at most 18 integer digits. The rate's published
/// precision is kept (`11.4710` stays `11.4710`).
pub fn parse_rate(text: &str) -> Result<Decimal, AmountError> {
    let trimmed = text.trim();
    if trimmed.starts_with(['+', '-']) {
        let found = trimmed.chars().next().unwrap_or('-');
        return Err(AmountError {
            text: text.to_string(),
            problem: AmountProblem::UnexpectedChar { found, index: 0 },
            expected: "a rate greater than zero, e.g. 1.0866".into(),
        });
    }
    let value = parse_decimal(trimmed)?;
    if value <= Decimal::ZERO {
        return Err(AmountError {
            text: text.to_string(),
            problem: AmountProblem::NotPositive,
            expected: "a rate greater than zero, e.g. 1.0866".into(),
        });
    }
    Ok(value)
}

/// `parse_amount` without its fast path: signs, grouping, every error.
fn parse_amount_general(
    text: &str,
    format: AmountFormat,
    currency: Currency,
    extra: ExtraDigits,
) -> Result<Money, AmountError> {
    let fail = |problem: AmountProblem| AmountError { text: text.to_string(), problem, expected: format.describe() };
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(fail(AmountProblem::Empty));
    }
    let unsigned = trimmed.trim_start_matches(['+', '-']);
    if ["nan", "inf", "infinity"].iter().any(|word| unsigned.eq_ignore_ascii_case(word)) {
        return Err(fail(AmountProblem::NotANumber));
    }
    let (negative, body) = match trimmed.as_bytes()[0] {
        b'-' => (true, &trimmed[1..]),
        b'+' => (false, &trimmed[1..]),
        _ => (false, trimmed),
    };
    if body.starts_with(['+', '-']) {
        return Err(fail(AmountProblem::TwoSigns));
    }
    let offset = trimmed.len() - body.len();
    let decimal = format.decimal.char();
    // One pass, no allocation: the digits accumulate into an integer mantissa.
    let mut mantissa: u128 = 0;
    let (mut int_len, mut frac_len, mut significant) = (0usize, 0usize, 0usize);
    let mut seen_decimal = false;
    // Grouping: length of the first group, whether later groups were all three digits, current group.
    let (mut groups, mut first_group, mut groups_ok, mut current_group) = (0usize, 0usize, true, 0usize);
    for (index, ch) in body.char_indices() {
        if ch.is_ascii_digit() {
            let digit = u128::from(ch as u8 - b'0');
            if seen_decimal {
                frac_len += 1;
            } else {
                int_len += 1;
                current_group += 1;
            }
            if significant > 0 || digit != 0 {
                significant += 1;
            }
            if significant <= 28 {
                mantissa = mantissa * 10 + digit;
            }
        } else if ch == decimal && !seen_decimal {
            seen_decimal = true;
        } else if Some(ch) == format.grouping && !seen_decimal {
            if groups == 0 {
                first_group = current_group;
            } else if current_group != 3 {
                groups_ok = false;
            }
            groups += 1;
            current_group = 0;
        } else if (ch == 'e' || ch == 'E') && int_len > 0 {
            return Err(fail(AmountProblem::Exponent));
        } else if ch == '+' || ch == '-' {
            return Err(fail(AmountProblem::TwoSigns));
        } else {
            return Err(fail(AmountProblem::UnexpectedChar { found: ch, index: offset + index }));
        }
    }
    if int_len == 0 || (seen_decimal && frac_len == 0) {
        return Err(fail(AmountProblem::MissingDigits));
    }
    if groups > 0 && (!(1..=3).contains(&first_group) || !groups_ok || current_group != 3) {
        return Err(fail(AmountProblem::BadGrouping));
    }
    if significant > 28 || frac_len > 28 {
        return Err(fail(AmountProblem::TooLarge));
    }
    // Integer digits without the leading zeros.
    if significant.saturating_sub(frac_len) > AMOUNT_INTEGER_DIGITS_MAX {
        return Err(fail(AmountProblem::OutOfRange));
    }
    // Leading zeros add nothing to the mantissa, so the value is exactly mantissa / 10^frac_len.
    let signed = i128::try_from(mantissa).map_err(|_| fail(AmountProblem::TooLarge))?;
    finish_amount(if negative { -signed } else { signed }, frac_len, currency, extra).map_err(fail)
}

/// `[+-]digits[<decimal>digits]` with at most 18 digits (so the mantissa fits without a check): the
/// signed mantissa and the number of fraction digits. `None` for anything else, including the errors
/// (no digit before or after the separator), which the general parser reports.
fn plain_amount(text: &[u8], decimal: u8) -> Option<(i128, usize)> {
    const DIGITS_MAX: usize = 18;
    let (negative, body) = match text.first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    if body.is_empty() || body.len() > DIGITS_MAX + 1 {
        return None;
    }
    let mut mantissa: i64 = 0;
    let mut decimal_at = None;
    for (index, &b) in body.iter().enumerate() {
        if b.is_ascii_digit() {
            if index == DIGITS_MAX && decimal_at.is_none() {
                return None;
            }
            mantissa = mantissa * 10 + i64::from(b - b'0');
        } else if b == decimal && decimal_at.is_none() {
            decimal_at = Some(index);
        } else {
            return None;
        }
    }
    let frac_len = match decimal_at {
        None => 0,
        Some(0) => return None,
        Some(at) if at + 1 == body.len() => return None,
        Some(at) => body.len() - at - 1,
    };
    Some((i128::from(if negative { -mantissa } else { mantissa }), frac_len))
}

/// `finish_amount` for a plain amount (at most 18 digits, so at most 18 fraction digits): the mantissa
/// is widened to the minor units in integers, and the decimal built from its parts.
fn finish_plain(
    mantissa: i128,
    frac_len: usize,
    currency: Currency,
    extra: ExtraDigits,
) -> Result<Money, AmountProblem> {
    debug_assert!(mantissa.unsigned_abs() < 10u128.pow(18) && frac_len <= 18);
    let units = currency.minor_units();
    if let (Some(allowed), ExtraDigits::Reject) = (units, extra)
        && frac_len > usize::from(allowed)
    {
        return Err(AmountProblem::TooManyFractionDigits { found: frac_len, allowed });
    }
    let units = units.map_or(0, usize::from);
    // Below 10^18 × 10^4 (four minor units at most): within the 96-bit mantissa.
    let (value, scale) = match units.checked_sub(frac_len) {
        Some(widen) if widen > 0 => (mantissa * 10i128.pow(widen as u32), units),
        _ => (mantissa, frac_len),
    };
    // Written without the sign of a zero: `-0.00` reads as zero.
    Ok(Money::new(crate::fixed::from_i128(value, scale as u32), currency))
}

/// The amount `mantissa / 10^frac_len` of `currency`, at least at its minor units; `-0` reads as zero.
fn finish_amount(
    mantissa: i128,
    frac_len: usize,
    currency: Currency,
    extra: ExtraDigits,
) -> Result<Money, AmountProblem> {
    let minor = currency.minor_units();
    if let (Some(allowed), ExtraDigits::Reject) = (minor, extra)
        && frac_len > usize::from(allowed)
    {
        return Err(AmountProblem::TooManyFractionDigits { found: frac_len, allowed });
    }
    if frac_len > 28 {
        return Err(AmountProblem::TooLarge);
    }
    let scale = u32::try_from(frac_len).map_err(|_| AmountProblem::TooLarge)?;
    let mut value = Decimal::try_from_i128_with_scale(mantissa, scale).map_err(|_| AmountProblem::TooLarge)?;
    if let Some(units) = minor
        && value.scale() < u32::from(units)
    {
        value.rescale(u32::from(units));
    }
    if value.is_zero() {
        value.set_sign_positive(true);
    }
    Ok(Money::new(value, currency))
}

/// Formats money in `format`, at least at the currency's minor units: the inverse of `parse_amount`.
pub fn format_amount(money: &Money, format: AmountFormat) -> String {
    let text = crate::money::format_minor(money.amount(), money.currency());
    let (sign, unsigned) = match text.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", text.as_str()),
    };
    let (int_part, frac_part) = match unsigned.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (unsigned, None),
    };
    let mut out = String::with_capacity(text.len() + text.len() / 3 + 1);
    out.push_str(sign);
    match format.grouping {
        Some(g) => {
            let digits: Vec<char> = int_part.chars().collect();
            for (i, d) in digits.iter().enumerate() {
                if i > 0 && (digits.len() - i).is_multiple_of(3) {
                    out.push(g);
                }
                out.push(*d);
            }
        }
        None => out.push_str(int_part),
    }
    if let Some(frac) = frac_part {
        out.push(format.decimal.char());
        out.push_str(frac);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn cur(code: &str) -> Currency {
        Currency::from_code(code).unwrap()
    }
    fn parse(text: &str, format: AmountFormat) -> Result<String, AmountError> {
        parse_amount(text, format, cur("EUR"), ExtraDigits::Reject).map(|m| m.amount().to_string())
    }

    #[test]
    fn accepts_the_documented_conventions() {
        assert_eq!(parse("1234.56", AmountFormat::POINT).unwrap(), "1234.56");
        assert_eq!(parse("1.234,56", AmountFormat::COMMA_POINT_GROUPED).unwrap(), "1234.56");
        assert_eq!(parse("1234,56", AmountFormat::COMMA).unwrap(), "1234.56");
        assert_eq!(parse("1234,56", AmountFormat::COMMA_POINT_GROUPED).unwrap(), "1234.56");
        assert_eq!(parse("1,234,567.5", AmountFormat::POINT_COMMA_GROUPED).unwrap(), "1234567.50");
        assert_eq!(parse("+12", AmountFormat::POINT).unwrap(), "12.00");
        assert_eq!(parse("-0.00", AmountFormat::POINT).unwrap(), "0.00");
        assert_eq!(parse("  -7.5 \t", AmountFormat::POINT).unwrap(), "-7.50");
        assert_eq!(parse("007", AmountFormat::POINT).unwrap(), "7.00");
        let jpy = parse_amount("1200", AmountFormat::POINT, cur("JPY"), ExtraDigits::Reject).unwrap();
        assert_eq!(jpy.amount().to_string(), "1200");
        let kwd = parse_amount("12.345", AmountFormat::POINT, cur("KWD"), ExtraDigits::Reject).unwrap();
        assert_eq!(kwd.amount().to_string(), "12.345");
    }

    #[test]
    fn rejects_with_what_was_read_and_expected() {
        let cases: &[(&str, AmountFormat, AmountProblem)] = &[
            ("1e3", AmountFormat::POINT, AmountProblem::Exponent),
            ("NaN", AmountFormat::POINT, AmountProblem::NotANumber),
            ("-inf", AmountFormat::POINT, AmountProblem::NotANumber),
            ("", AmountFormat::POINT, AmountProblem::Empty),
            ("   ", AmountFormat::POINT, AmountProblem::Empty),
            ("+-1", AmountFormat::POINT, AmountProblem::TwoSigns),
            ("--1", AmountFormat::POINT, AmountProblem::TwoSigns),
            ("1-", AmountFormat::POINT, AmountProblem::TwoSigns),
            ("1.234", AmountFormat::POINT, AmountProblem::TooManyFractionDigits { found: 3, allowed: 2 }),
            (".5", AmountFormat::POINT, AmountProblem::MissingDigits),
            ("5.", AmountFormat::POINT, AmountProblem::MissingDigits),
            ("1.2.3", AmountFormat::POINT, AmountProblem::UnexpectedChar { found: '.', index: 3 }),
            ("1,5", AmountFormat::POINT, AmountProblem::UnexpectedChar { found: ',', index: 1 }),
            ("12,34.5", AmountFormat::POINT_COMMA_GROUPED, AmountProblem::BadGrouping),
            ("1234.567,5", AmountFormat::COMMA_POINT_GROUPED, AmountProblem::BadGrouping),
            ("1 000", AmountFormat::POINT, AmountProblem::UnexpectedChar { found: ' ', index: 1 }),
            ("€5", AmountFormat::POINT, AmountProblem::UnexpectedChar { found: '€', index: 0 }),
            ("12345678901234567890123456789", AmountFormat::POINT, AmountProblem::TooLarge),
        ];
        for (text, format, problem) in cases {
            let err = parse_amount(text, *format, cur("EUR"), ExtraDigits::Reject).unwrap_err();
            assert_eq!(&err.problem, problem, "{text:?}");
            let message = err.to_string();
            assert!(message.contains(&format!("{text:?}")), "{message}");
            assert!(message.contains("expected digits with"), "{message}");
        }
        let err = parse_amount("0.5", AmountFormat::POINT, cur("JPY"), ExtraDigits::Reject).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid amount \"0.5\": 1 fraction digits, but the currency has 0 minor units; expected digits with '.' as decimal separator, no thousands separator, e.g. 1234.56"
        );
        let allowed = parse_amount("1.23456", AmountFormat::POINT, cur("EUR"), ExtraDigits::Allow).unwrap();
        assert_eq!(allowed.amount().to_string(), "1.23456");
    }

    #[test]
    fn formats_with_grouping() {
        let money = parse_amount("-1234567.5", AmountFormat::POINT, cur("EUR"), ExtraDigits::Reject).unwrap();
        assert_eq!(format_amount(&money, AmountFormat::POINT), "-1234567.50");
        assert_eq!(format_amount(&money, AmountFormat::COMMA_POINT_GROUPED), "-1.234.567,50");
        assert_eq!(format_amount(&money, AmountFormat::POINT_COMMA_GROUPED), "-1,234,567.50");
        let jpy = Money::new(Decimal::from(999), cur("JPY"));
        assert_eq!(format_amount(&jpy, AmountFormat::COMMA_POINT_GROUPED), "999");
    }

    proptest! {
        #[test]
        fn the_fast_path_agrees_with_the_general_parser(
            text in "[ +-]{0,2}[0-9]{0,21}([.,][0-9]{0,8})?[ ]?",
            code in prop::sample::select(vec!["EUR", "JPY", "KWD", "CLF", "XXX"]),
            format in prop::sample::select(vec![AmountFormat::POINT, AmountFormat::COMMA]),
            extra in prop::sample::select(vec![ExtraDigits::Allow, ExtraDigits::Reject]),
        ) {
            let currency = cur(code);
            let fast = parse_amount(&text, format, currency, extra);
            let general = parse_amount_general(&text, format, currency, extra);
            let parts = |m: &Money| (m.amount(), m.amount().scale(), m.amount().is_sign_negative());
            prop_assert_eq!(fast.as_ref().map(parts), general.as_ref().map(parts));
            prop_assert_eq!(fast.err().map(|e| e.to_string()), general.err().map(|e| e.to_string()));
        }

        #[test]
        fn agrees_with_decimal_from_str(text in "[+-]?[0-9]{1,20}(\\.[0-9]{1,7})?") {
            let ours = parse_amount(&text, AmountFormat::POINT, cur("EUR"), ExtraDigits::Allow);
            let reference: Decimal = text.trim_start_matches('+').parse().unwrap();
            // At most 18 digits before the separator (leading zeros aside), else out of range.
            if reference.abs() < Decimal::from(10u64.pow(18)) {
                prop_assert_eq!(ours.unwrap().amount(), reference);
            } else {
                prop_assert_eq!(ours.unwrap_err().problem, AmountProblem::OutOfRange);
            }
        }

        #[test]
        fn parse_after_format_is_identity(
            // Every amount settle reads: |amount| < 10^18, in minor units of up to 4 decimals.
            minor in -999_999_999_999_999_999i64..=999_999_999_999_999_999,
            code in prop::sample::select(vec!["EUR", "JPY", "KWD", "CLF"]),
            format in prop::sample::select(vec![AmountFormat::POINT, AmountFormat::COMMA, AmountFormat::POINT_COMMA_GROUPED, AmountFormat::COMMA_POINT_GROUPED]),
        ) {
            let currency = cur(code);
            let money = Money::from_minor_units(i128::from(minor), currency).unwrap();
            let text = format_amount(&money, format);
            let back = parse_amount(&text, format, currency, ExtraDigits::Reject).unwrap();
            prop_assert_eq!(back, money);
            prop_assert_eq!(format_amount(&back, format), text);
        }
    }
}
