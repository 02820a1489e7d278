//! Exact money: `Decimal` + `Currency`, with explicit rounding and exact allocation.

use std::fmt;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

use crate::currency::Currency;

/// How to round to a currency's minor units. Always an explicit argument: there is no default rounding
/// inside settle-core. Jobs default to `HalfEven` (banker's rounding).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum RoundingMode {
    /// Ties go to the even neighbour: 0.125 → 0.12, 0.135 → 0.14.
    #[default]
    HalfEven,
    /// Ties go away from zero: 0.125 → 0.13, -0.125 → -0.13.
    HalfUp,
    /// Toward zero (truncate): 0.129 → 0.12, -0.129 → -0.12.
    Down,
    /// Away from zero: 0.121 → 0.13, -0.121 → -0.13.
    Up,
}

impl RoundingMode {
    pub(crate) fn strategy(self) -> RoundingStrategy {
        match self {
            RoundingMode::HalfEven => RoundingStrategy::MidpointNearestEven,
            RoundingMode::HalfUp => RoundingStrategy::MidpointAwayFromZero,
            RoundingMode::Down => RoundingStrategy::ToZero,
            RoundingMode::Up => RoundingStrategy::AwayFromZero,
        }
    }

    /// Whether a value `quotient + remainder / divisor` (remainder ≥ 0, below the divisor, taken toward
    /// zero) rounds away from zero to the next integer under this mode.
    pub fn rounds_away(self, quotient: i128, remainder: i128, divisor: i128) -> bool {
        // The remainder is below the divisor (at most 10^28 here), so doubling it cannot overflow.
        let twice = remainder * 2;
        match self {
            RoundingMode::Down => false,
            RoundingMode::Up => remainder != 0,
            RoundingMode::HalfUp => twice >= divisor,
            RoundingMode::HalfEven => twice > divisor || (twice == divisor && quotient % 2 != 0),
        }
    }

    /// The name used in job specs and outputs.
    pub fn as_str(self) -> &'static str {
        match self {
            RoundingMode::HalfEven => "half-even",
            RoundingMode::HalfUp => "half-up",
            RoundingMode::Down => "down",
            RoundingMode::Up => "up",
        }
    }
}

/// `value` rounded to `units` decimals by integer arithmetic on its mantissa (what
/// `round_dp_with_strategy` computes, several times faster); `None` when it has no more decimals than
/// `units` (nothing to round).
fn round_mantissa(value: Decimal, units: u32, mode: RoundingMode) -> Option<Decimal> {
    let scale = value.scale();
    if scale <= units {
        return None;
    }
    let divisor = 10i128.checked_pow(scale - units)?;
    let mantissa = value.mantissa();
    // 64-bit mantissas take `fixed::round_u64` before this (see `rounded_amount`).
    let (quotient, remainder) = (mantissa / divisor, (mantissa % divisor).abs());
    let quotient = if mode.rounds_away(quotient, remainder, divisor) { quotient + mantissa.signum() } else { quotient };
    Decimal::try_from_i128_with_scale(quotient, units).ok()
}

/// Why a money operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("currency mismatch: cannot combine {left} with {right}")]
    CurrencyMismatch { left: Currency, right: Currency },
    #[error("arithmetic overflow in {operation} on {currency} amounts")]
    Overflow { operation: &'static str, currency: Currency },
    #[error("{currency} has no minor unit in ISO 4217 (N.A.): it cannot be rounded or allocated")]
    NoMinorUnit { currency: Currency },
    #[error("{amount} {currency} has more fraction digits than the currency's {minor_units} minor units")]
    NotInMinorUnits { amount: Decimal, currency: Currency, minor_units: u8 },
    #[error("allocation needs at least one weight and a positive sum of weights")]
    InvalidWeights,
}

/// An exact amount of one currency.
///
/// Money is never a float. The amount keeps whatever scale it was built with; `round_to_minor` brings it
/// to the currency's minor units with an explicit `RoundingMode`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    #[serde(with = "rust_decimal::serde::str")]
    amount: Decimal,
    currency: Currency,
}

/// The result of rounding: the rounded money and what rounding left over (`unrounded − rounded`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rounded {
    pub money: Money,
    pub residual: Decimal,
}

impl Money {
    pub fn new(amount: Decimal, currency: Currency) -> Money {
        Money { amount, currency }
    }

    pub fn zero(currency: Currency) -> Money {
        Money { amount: Decimal::ZERO, currency }
    }

    pub fn amount(&self) -> Decimal {
        self.amount
    }

    pub fn currency(&self) -> Currency {
        self.currency
    }

    pub fn is_zero(&self) -> bool {
        self.amount.is_zero()
    }

    fn same_currency(&self, other: &Money) -> Result<(), MoneyError> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(MoneyError::CurrencyMismatch { left: self.currency, right: other.currency })
        }
    }

    pub fn checked_add(&self, other: &Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        let amount = self
            .amount
            .checked_add(other.amount)
            .ok_or(MoneyError::Overflow { operation: "addition", currency: self.currency })?;
        Ok(Money { amount, currency: self.currency })
    }

    pub fn checked_sub(&self, other: &Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        let amount = self
            .amount
            .checked_sub(other.amount)
            .ok_or(MoneyError::Overflow { operation: "subtraction", currency: self.currency })?;
        Ok(Money { amount, currency: self.currency })
    }

    /// The negated amount (a negation of a `Decimal` cannot overflow).
    pub fn neg(&self) -> Money {
        Money { amount: -self.amount, currency: self.currency }
    }

    /// Minor units of the currency, or an error for "N.A." codes.
    pub fn minor_units(&self) -> Result<u8, MoneyError> {
        self.currency.minor_units().ok_or(MoneyError::NoMinorUnit { currency: self.currency })
    }

    /// Rounds to the currency's minor units and rescales, so `1.5 EUR` becomes `1.50 EUR`, and `-0.001`
    /// becomes `0.00` (never a negative zero).
    pub fn round_to_minor(&self, mode: RoundingMode) -> Result<Money, MoneyError> {
        Ok(Money { amount: self.rounded_amount(mode)?, currency: self.currency })
    }

    /// The amount rounded to the minor units, at exactly that scale; zero without a sign.
    fn rounded_amount(&self, mode: RoundingMode) -> Result<Decimal, MoneyError> {
        let units = self.minor_units()?;
        let units = u32::from(units);
        let fast =
            crate::fixed::round_u64(self.amount, units, mode).or_else(|| round_mantissa(self.amount, units, mode));
        let mut rounded = match fast {
            Some(fast) => fast,
            None => self.amount.round_dp_with_strategy(units, mode.strategy()),
        };
        rounded.rescale(units);
        if rounded.is_zero() {
            rounded.set_sign_positive(true);
        }
        Ok(rounded)
    }

    /// Like `round_to_minor`, also returning the residual `self − rounded` (exact).
    pub fn round_with_residual(&self, mode: RoundingMode) -> Result<Rounded, MoneyError> {
        let rounded = self.rounded_amount(mode)?;
        let residual = self
            .amount
            .checked_sub(rounded)
            .ok_or(MoneyError::Overflow { operation: "rounding", currency: self.currency })?;
        Ok(Rounded { money: Money { amount: rounded, currency: self.currency }, residual })
    }

    /// Whether the amount already fits the currency's minor units (no digits beyond them).
    pub fn is_in_minor_units(&self) -> Result<bool, MoneyError> {
        let units = self.minor_units()?;
        Ok(self.amount.round_dp(u32::from(units)) == self.amount)
    }

    /// The amount as an integer count of minor units (`12.34 EUR` → 1234). Errors if the amount has
    /// digits beyond the minor units.
    pub fn to_minor_units(&self) -> Result<i128, MoneyError> {
        let units = self.minor_units()?;
        if !self.is_in_minor_units()? {
            return Err(MoneyError::NotInMinorUnits {
                amount: self.amount,
                currency: self.currency,
                minor_units: units,
            });
        }
        let mut scaled = self.amount;
        scaled.rescale(u32::from(units));
        // mantissa() is the integer of the rescaled value: exact.
        Ok(scaled.mantissa())
    }

    /// Builds money from an integer count of minor units.
    pub fn from_minor_units(minor: i128, currency: Currency) -> Result<Money, MoneyError> {
        let units = currency.minor_units().ok_or(MoneyError::NoMinorUnit { currency })?;
        let amount = Decimal::try_from_i128_with_scale(minor, u32::from(units))
            .map_err(|_| MoneyError::Overflow { operation: "from minor units", currency })?;
        Ok(Money { amount, currency })
    }

    /// Splits the money into parts proportional to `weights`, in minor units, such that the parts always
    /// sum exactly to the whole (largest-remainder method; remaining minor units go to the largest
    /// remainders, ties to the earlier weight). The amount must already be in minor units.
    pub fn allocate(&self, weights: &[u64]) -> Result<Vec<Money>, MoneyError> {
        let total_weight: u128 = weights.iter().map(|w| u128::from(*w)).sum();
        if weights.is_empty() || total_weight == 0 {
            return Err(MoneyError::InvalidWeights);
        }
        let whole = self.to_minor_units()?;
        let negative = whole < 0;
        let magnitude = whole.unsigned_abs();
        let overflow = MoneyError::Overflow { operation: "allocation", currency: self.currency };
        let mut shares: Vec<u128> = Vec::with_capacity(weights.len());
        let mut remainders: Vec<(u128, usize)> = Vec::with_capacity(weights.len());
        for (index, weight) in weights.iter().enumerate() {
            let product = magnitude.checked_mul(u128::from(*weight)).ok_or(overflow.clone())?;
            shares.push(product / total_weight);
            remainders.push((product % total_weight, index));
        }
        let allocated: u128 = shares.iter().sum();
        let mut left = magnitude - allocated;
        // Each share is short of its exact value by less than one unit, so at most `weights.len()` units
        // remain: one pass over the remainders places them all.
        assert!(left < weights.len() as u128, "largest remainder leaves fewer units than parts");
        remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        for (_, index) in remainders {
            if left == 0 {
                break;
            }
            shares[index] += 1;
            left -= 1;
        }
        let parts = shares
            .into_iter()
            .map(|share| {
                let signed = i128::try_from(share).map_err(|_| overflow.clone())?;
                Money::from_minor_units(if negative { -signed } else { signed }, self.currency)
            })
            .collect::<Result<Vec<_>, _>>()?;
        debug_assert_eq!(parts.iter().map(|p| p.to_minor_units().unwrap_or(0)).sum::<i128>(), whole);
        Ok(parts)
    }
}

impl fmt::Debug for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.amount, self.currency)
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.amount, self.currency)
    }
}

/// Formats an amount at exactly the currency's minor units (`12.5` EUR → `"12.50"`, JPY → `"1200"`),
/// for outputs. Amounts with more digits than the minor units keep them (nothing is silently rounded).
pub fn format_minor(amount: Decimal, currency: Currency) -> String {
    let mut value = amount;
    if let Some(units) = currency.minor_units()
        && value.scale() < u32::from(units)
    {
        value.rescale(u32::from(units));
    }
    if value.is_zero() {
        value.set_sign_positive(true);
    }
    value.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::str::FromStr;

    fn cur(code: &str) -> Currency {
        Currency::from_code(code).unwrap()
    }
    fn m(amount: &str, code: &str) -> Money {
        Money::new(Decimal::from_str(amount).unwrap(), cur(code))
    }

    #[test]
    fn add_and_sub_check_currency_and_overflow() {
        assert_eq!(m("1.10", "EUR").checked_add(&m("2.25", "EUR")).unwrap(), m("3.35", "EUR"));
        assert_eq!(m("1.10", "EUR").checked_sub(&m("2.25", "EUR")).unwrap(), m("-1.15", "EUR"));
        let err = m("1", "EUR").checked_add(&m("1", "USD")).unwrap_err();
        assert_eq!(err, MoneyError::CurrencyMismatch { left: cur("EUR"), right: cur("USD") });
        let max = Money::new(Decimal::MAX, cur("EUR"));
        assert!(matches!(max.checked_add(&m("1", "EUR")), Err(MoneyError::Overflow { .. })));
        assert!(matches!(max.neg().checked_sub(&m("1", "EUR")), Err(MoneyError::Overflow { .. })));
    }

    #[test]
    fn rounding_modes() {
        let cases = [
            ("0.125", RoundingMode::HalfEven, "0.12"),
            ("0.135", RoundingMode::HalfEven, "0.14"),
            ("-0.125", RoundingMode::HalfEven, "-0.12"),
            ("0.125", RoundingMode::HalfUp, "0.13"),
            ("-0.125", RoundingMode::HalfUp, "-0.13"),
            ("0.129", RoundingMode::Down, "0.12"),
            ("-0.129", RoundingMode::Down, "-0.12"),
            ("0.121", RoundingMode::Up, "0.13"),
            ("-0.121", RoundingMode::Up, "-0.13"),
            ("-0.001", RoundingMode::HalfEven, "0.00"),
            ("5", RoundingMode::HalfEven, "5.00"),
        ];
        for (input, mode, want) in cases {
            let got = m(input, "EUR").round_to_minor(mode).unwrap();
            assert_eq!(got.amount().to_string(), want, "{input} {mode:?}");
        }
        assert_eq!(m("2.5", "JPY").round_to_minor(RoundingMode::HalfEven).unwrap().amount().to_string(), "2");
        assert_eq!(m("1.0005", "KWD").round_to_minor(RoundingMode::HalfEven).unwrap().amount().to_string(), "1.000");
        assert_eq!(m("1.00005", "CLF").round_to_minor(RoundingMode::HalfUp).unwrap().amount().to_string(), "1.0001");
        assert!(matches!(m("1.5", "XAU").round_to_minor(RoundingMode::HalfEven), Err(MoneyError::NoMinorUnit { .. })));
        let r = m("10.005", "EUR").round_with_residual(RoundingMode::HalfEven).unwrap();
        assert_eq!(r.money, m("10.00", "EUR"));
        assert_eq!(r.residual, Decimal::from_str("0.005").unwrap());
    }

    #[test]
    fn allocate_examples() {
        let parts = m("100.00", "EUR").allocate(&[1, 1, 1]).unwrap();
        let got: Vec<String> = parts.iter().map(|p| p.amount().to_string()).collect();
        assert_eq!(got, ["33.34", "33.33", "33.33"]);
        let parts = m("-0.05", "EUR").allocate(&[3, 7]).unwrap();
        let got: Vec<String> = parts.iter().map(|p| p.amount().to_string()).collect();
        assert_eq!(got, ["-0.02", "-0.03"]);
        let parts = m("1000", "JPY").allocate(&[0, 1, 2]).unwrap();
        let got: Vec<String> = parts.iter().map(|p| p.amount().to_string()).collect();
        assert_eq!(got, ["0", "333", "667"]);
        assert_eq!(m("1", "EUR").allocate(&[]), Err(MoneyError::InvalidWeights));
        assert_eq!(m("1", "EUR").allocate(&[0, 0]), Err(MoneyError::InvalidWeights));
        assert!(matches!(m("1.001", "EUR").allocate(&[1]), Err(MoneyError::NotInMinorUnits { .. })));
    }

    #[test]
    fn format_minor_pads_and_drops_negative_zero() {
        assert_eq!(format_minor(Decimal::from_str("12.5").unwrap(), cur("EUR")), "12.50");
        assert_eq!(format_minor(Decimal::from_str("1200").unwrap(), cur("JPY")), "1200");
        assert_eq!(format_minor(Decimal::from_str("-0.00").unwrap(), cur("EUR")), "0.00");
        assert_eq!(format_minor(Decimal::from_str("1.5").unwrap(), cur("KWD")), "1.500");
        assert_eq!(format_minor(Decimal::from_str("1.12345").unwrap(), cur("EUR")), "1.12345");
    }

    fn currency_strategy() -> impl Strategy<Value = Currency> {
        prop::sample::select(vec!["EUR", "JPY", "KWD", "CLF", "USD", "BHD", "ISK"]).prop_map(cur)
    }

    proptest! {
        #[test]
        fn fast_rounding_is_decimal_rounding(
            high in any::<i64>(),
            low in 0i64..(1 << 30),
            scale in 0u32..=24,
            units in 0u32..=4,
            mode in prop::sample::select(vec![RoundingMode::HalfEven, RoundingMode::HalfUp, RoundingMode::Down, RoundingMode::Up]),
        ) {
            // Up to 94 bits of mantissa, near Decimal's 96.
            let value = Decimal::from_i128_with_scale(i128::from(high) * (1 << 30) + i128::from(low), scale);
            if let Some(fast) = super::round_mantissa(value, units, mode) {
                let slow = value.round_dp_with_strategy(units, mode.strategy());
                prop_assert_eq!(fast, slow);
                prop_assert_eq!(fast.scale(), units.min(slow.scale().max(units)));
            }
        }

        #[test]
        fn allocate_parts_sum_to_whole(
            minor in -1_000_000_000_000i64..1_000_000_000_000i64,
            weights in prop::collection::vec(0u64..1_000_000, 1..20),
            currency in currency_strategy(),
        ) {
            prop_assume!(weights.iter().any(|w| *w > 0));
            let whole = Money::from_minor_units(i128::from(minor), currency).unwrap();
            let parts = whole.allocate(&weights).unwrap();
            prop_assert_eq!(parts.len(), weights.len());
            let mut sum = Money::zero(currency);
            for (part, weight) in parts.iter().zip(&weights) {
                prop_assert!(part.is_in_minor_units().unwrap());
                if *weight == 0 { prop_assert!(part.is_zero()); }
                // every part has the sign of the whole (or is zero)
                prop_assert!(part.amount().is_zero() || part.amount().is_sign_negative() == (minor < 0));
                sum = sum.checked_add(part).unwrap();
            }
            prop_assert_eq!(sum.to_minor_units().unwrap(), i128::from(minor));
        }

        #[test]
        fn rounding_lands_on_minor_units(
            mantissa in -10_000_000_000_000i64..10_000_000_000_000i64,
            scale in 0u32..9,
            currency in currency_strategy(),
            mode in prop::sample::select(vec![RoundingMode::HalfEven, RoundingMode::HalfUp, RoundingMode::Down, RoundingMode::Up]),
        ) {
            let money = Money::new(Decimal::new(mantissa, scale), currency);
            let r = money.round_with_residual(mode).unwrap();
            let units = u32::from(currency.minor_units().unwrap());
            prop_assert_eq!(r.money.amount().scale(), units);
            prop_assert_eq!(r.money.amount() + r.residual, money.amount());
            // the residual is less than one minor unit
            let unit = Decimal::new(1, units);
            prop_assert!(r.residual.abs() < unit);
            if mode != RoundingMode::Down && mode != RoundingMode::Up {
                prop_assert!(r.residual.abs() * Decimal::TWO <= unit);
            }
        }

        #[test]
        fn half_even_ties_go_to_even(whole in -1_000_000_000i64..1_000_000_000i64) {
            // whole + 0.5 minor units, in EUR: the result's last digit is even
            let eur = cur("EUR");
            let tie = Money::new(Decimal::new(whole * 10 + 5, 3), eur);
            let rounded = tie.round_to_minor(RoundingMode::HalfEven).unwrap();
            let minor = rounded.to_minor_units().unwrap();
            prop_assert_eq!(minor % 2, 0);
            prop_assert!((rounded.amount() - tie.amount()).abs() == Decimal::new(5, 3));
        }
    }
}
