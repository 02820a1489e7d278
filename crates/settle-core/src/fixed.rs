//! Fixed-point arithmetic in 64-bit integers for the hot paths (conversions, applied-rate checks,
//! rounding): the same values and scales as `rust_decimal`'s arithmetic (proptests hold them equal), for
//! the common case where mantissas fit 64 bits. Every function returns `None` outside that case and the
//! caller takes the `Decimal` path.

use rust_decimal::Decimal;

use crate::money::RoundingMode;

/// `amount × (factor_mantissa × 10^-factor_scale)` for a positive factor, rounded to `units` decimals
/// with `mode`: `(rounded, exact product, residual = product − rounded)`, with the scales the `Decimal`
/// path gives (`units`; the sum of the scales; the same). `None` when the product's magnitude exceeds
/// 64 bits or rounding would drop no digit or more than 18.
#[inline(always)]
pub fn multiply_rounded(
    amount: Decimal,
    factor_mantissa: u64,
    factor_scale: u32,
    units: u32,
    mode: RoundingMode,
) -> Option<(Decimal, Decimal, Decimal)> {
    let scale = amount.scale() + factor_scale;
    let shift = scale.checked_sub(units).filter(|s| (1..=18).contains(s))?;
    let product = magnitude_u64(amount)?.checked_mul(factor_mantissa)?;
    let negative = amount.is_sign_negative();
    let (quotient, remainder) = div_rem_pow10(product, shift);
    let divisor = pow10(shift);
    let away = mode.rounds_away(i128::from(quotient), i128::from(remainder), i128::from(divisor));
    // residual = product − rounded × divisor: the remainder, or (rounded away) minus what was added.
    let (rounded, residual, residual_negative) =
        if away { (quotient + 1, divisor - remainder, !negative) } else { (quotient, remainder, negative) };
    Some((
        from_u64(rounded, negative, units),
        from_u64(product, negative, scale),
        from_u64(residual, residual_negative, scale),
    ))
}

/// `value` rounded to `units` decimals with `mode`, when its mantissa fits 64 bits and rounding drops
/// 1 to 18 digits; `None` otherwise (nothing to round, or the `Decimal` path).
#[inline]
pub fn round_u64(value: Decimal, units: u32, mode: RoundingMode) -> Option<Decimal> {
    let shift = value.scale().checked_sub(units).filter(|s| (1..=18).contains(s))?;
    let (quotient, remainder) = div_rem_pow10(magnitude_u64(value)?, shift);
    let away = mode.rounds_away(i128::from(quotient), i128::from(remainder), i128::from(pow10(shift)));
    Some(from_u64(quotient + u64::from(away), value.is_sign_negative(), units))
}

/// The magnitude of a decimal's mantissa when it fits 64 bits.
#[inline(always)]
pub fn magnitude_u64(value: Decimal) -> Option<u64> {
    let parts = value.unpack();
    (parts.hi == 0).then(|| u64::from(parts.lo) | (u64::from(parts.mid) << 32))
}

/// The decimal `±magnitude × 10^-scale` (scale ≤ 28); zero has no sign.
#[inline(always)]
pub fn from_u64(magnitude: u64, negative: bool, scale: u32) -> Decimal {
    Decimal::from_parts(magnitude as u32, (magnitude >> 32) as u32, 0, negative, scale)
}

/// The decimal `mantissa × 10^-scale` (the caller has checked `|mantissa| < 2^96`, `scale ≤ 28`); zero
/// has no sign.
#[inline(always)]
pub fn from_i128(mantissa: i128, scale: u32) -> Decimal {
    debug_assert!(mantissa.unsigned_abs() < 1 << 96 && scale <= 28);
    let m = mantissa.unsigned_abs();
    Decimal::from_parts(m as u32, (m >> 32) as u32, (m >> 64) as u32, mantissa < 0, scale)
}

/// 10^n for n ≤ 19.
#[inline(always)]
pub fn pow10(n: u32) -> u64 {
    POW10[n as usize]
}

const POW10: [u64; 20] = {
    let mut table = [1u64; 20];
    let mut n = 1;
    while n < 20 {
        table[n] = table[n - 1] * 10;
        n += 1;
    }
    table
};

/// `(x / 10^n, x % 10^n)` for 1 ≤ n ≤ 18, by multiplying with a 128-bit reciprocal (no hardware divide).
///
/// With `M = ⌊(2^128 − 1) / d⌋ + 1` (d = 10^n, not a power of two) the error `M·d − 2^128` is below d,
/// so `⌊x·M / 2^128⌋` exceeds `x/d` by less than `x / 2^128 < 2^-64 < 1/d`: it never reaches the next
/// integer, and the quotient is exact for every 64-bit x (a proptest holds it to `/` and `%`).
#[inline(always)]
pub fn div_rem_pow10(x: u64, n: u32) -> (u64, u64) {
    debug_assert!((1..=18).contains(&n));
    let reciprocal = RECIPROCAL_POW10[n as usize];
    let (high, low) = ((reciprocal >> 64) as u64, reciprocal as u64);
    // x·M / 2^128 = (x·high + (x·low) / 2^64) / 2^64; x·high < 2^125, so the sum cannot overflow.
    let sum = u128::from(x) * u128::from(high) + ((u128::from(x) * u128::from(low)) >> 64);
    let quotient = (sum >> 64) as u64;
    (quotient, x - quotient * pow10(n))
}

/// `⌊(2^128 − 1) / 10^n⌋ + 1` for n in 1..=19 (index 0 unused).
const RECIPROCAL_POW10: [u128; 20] = {
    let mut table = [0u128; 20];
    let mut n = 1;
    while n < 20 {
        table[n] = u128::MAX / (POW10[n] as u128) + 1;
        n += 1;
    }
    table
};

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const MODES: [RoundingMode; 4] =
        [RoundingMode::HalfEven, RoundingMode::HalfUp, RoundingMode::Down, RoundingMode::Up];

    proptest! {
        /// The reciprocal division is `/` and `%`, edges included.
        #[test]
        fn reciprocal_division_is_exact(x in any::<u64>(), n in 1u32..=18, edge in 0u64..4) {
            let d = pow10(n);
            for x in [x, u64::MAX - edge, (x / d) * d + edge, ((x / d) * d).wrapping_sub(edge)] {
                prop_assert_eq!(div_rem_pow10(x, n), (x / d, x % d));
            }
        }

        /// The 64-bit product gives what `Decimal` multiplication and rounding give: values, scales, signs.
        #[test]
        fn multiply_rounded_is_decimal_arithmetic(
            amount in any::<i64>(), amount_scale in 0u32..=6,
            factor in 1u64..1_000_000_000_000, factor_scale in 0u32..=12,
            units in 0u32..=4,
            mode in prop::sample::select(MODES.to_vec()),
        ) {
            let factor_decimal = Decimal::new(i64::try_from(factor).unwrap(), factor_scale);
            let amount = Decimal::new(amount, amount_scale);
            if let Some((rounded, unrounded, residual)) = multiply_rounded(amount, factor, factor_scale, units, mode) {
                let slow_unrounded = amount.checked_mul(factor_decimal).unwrap();
                let mut slow = slow_unrounded.round_dp_with_strategy(units, mode.strategy());
                slow.rescale(units);
                if slow.is_zero() {
                    slow.set_sign_positive(true);
                }
                let slow_residual = slow_unrounded - slow;
                let parts = |d: Decimal| (d, d.scale(), d.is_sign_negative());
                prop_assert_eq!(parts(rounded), parts(slow));
                prop_assert_eq!(parts(unrounded), parts(slow_unrounded));
                prop_assert_eq!((residual, residual.scale()), (slow_residual, slow_residual.scale()));
            }
        }

        /// Rounding in 64 bits is `Decimal` rounding, at the target scale, zero without a sign.
        #[test]
        fn round_u64_is_decimal_rounding(
            mantissa in any::<i64>(), scale in 0u32..=20, units in 0u32..=4,
            mode in prop::sample::select(MODES.to_vec()),
        ) {
            let value = Decimal::new(mantissa, scale.min(28));
            if let Some(rounded) = round_u64(value, units, mode) {
                let mut slow = value.round_dp_with_strategy(units, mode.strategy());
                slow.rescale(units);
                if slow.is_zero() {
                    slow.set_sign_positive(true);
                }
                prop_assert_eq!((rounded, rounded.scale(), rounded.is_sign_negative()), (slow, slow.scale(), slow.is_sign_negative()));
            }
        }
    }
}
