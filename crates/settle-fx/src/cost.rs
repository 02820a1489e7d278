//! The FX cost of channel transactions: what a channel's applied rate gave against the reference rate.
//!
//! For each transaction presented in one currency and settled in another, the presentment amount is
//! converted at the reference rate of its booking date (the table's as-of rule, rounded to the settlement
//! currency's minor units); the FX cost is that reference amount minus what the channel settled (gross).
//! Positive: the channel's rate gave us less than the reference (on a charge: fewer units; on a refund:
//! more units taken back). Costs are summed per channel and currency pair; basis points are taken on the
//! sums (Σ cost / Σ |reference| × 10 000, rounded half-even to two decimals).

use std::collections::BTreeMap;

use settle_core::{ChannelTransaction, Currency, Decimal, Money};

use crate::{ConversionPolicy, RateTable};

/// One channel and currency pair's FX cost.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FxCost {
    pub channel: String,
    pub presentment_currency: Currency,
    pub settlement_currency: Currency,
    pub transactions: u64,
    /// Σ presentment amounts (signed).
    #[serde(with = "rust_decimal::serde::str")]
    pub presentment_amount: Decimal,
    /// Σ gross as the channel settled it.
    #[serde(with = "rust_decimal::serde::str")]
    pub settled_amount: Decimal,
    /// Σ presentment amounts at the reference rate, each rounded to the settlement currency.
    #[serde(with = "rust_decimal::serde::str")]
    pub reference_amount: Decimal,
    /// `reference_amount − settled_amount`.
    #[serde(with = "rust_decimal::serde::str")]
    pub cost: Decimal,
    /// `cost / Σ |reference| × 10 000`, two decimals; zero when there is no reference amount.
    #[serde(with = "rust_decimal::serde::str")]
    pub cost_bps: Decimal,
    /// Transactions converted at an earlier day's rate (weekends, holidays).
    pub fallback_rates: u64,
    /// Σ |reference amount|: what `cost_bps` is taken on (kept so that parts of a night add up).
    #[serde(with = "rust_decimal::serde::str")]
    pub reference_magnitude: Decimal,
}

/// A transaction whose FX cost could not be computed (no reference rate): listed, never guessed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FxCostGap {
    pub channel: String,
    pub transaction_id: String,
    pub reason: String,
}

/// FX costs of `rows`, by (channel, presentment currency, settlement currency), in that order.
pub fn fx_costs(
    rows: &[ChannelTransaction],
    table: &RateTable,
    policy: ConversionPolicy,
) -> (Vec<FxCost>, Vec<FxCostGap>) {
    let mut sums: BTreeMap<(&str, Currency, Currency), FxCost> = BTreeMap::new();
    let mut gaps = Vec::new();
    for tx in rows {
        let (Some(amount), Some(presented_in)) = (tx.presentment_amount, tx.presentment_currency) else { continue };
        let settled_in = tx.settlement_currency;
        if presented_in == settled_in {
            continue;
        }
        let reference = match table.convert(Money::new(amount, presented_in), settled_in, tx.booking_date, policy) {
            Ok(c) => c,
            Err(e) => {
                gaps.push(FxCostGap {
                    channel: tx.channel.to_string(),
                    transaction_id: tx.transaction_id.to_string(),
                    reason: e.to_string(),
                });
                continue;
            }
        };
        let entry = sums.entry((&tx.channel, presented_in, settled_in)).or_insert_with(|| FxCost {
            channel: tx.channel.to_string(),
            presentment_currency: presented_in,
            settlement_currency: settled_in,
            transactions: 0,
            presentment_amount: Decimal::ZERO,
            settled_amount: Decimal::ZERO,
            reference_amount: Decimal::ZERO,
            cost: Decimal::ZERO,
            cost_bps: Decimal::ZERO,
            fallback_rates: 0,
            reference_magnitude: Decimal::ZERO,
        });
        entry.transactions += 1;
        entry.presentment_amount += amount;
        entry.settled_amount += tx.gross;
        entry.reference_amount += reference.to.amount();
        entry.fallback_rates += u64::from(reference.rate.is_fallback());
        entry.reference_magnitude += reference.to.amount().abs();
    }
    (sums.into_values().map(finish).collect(), gaps)
}

/// The cost and basis points of summed parts.
fn finish(mut c: FxCost) -> FxCost {
    c.cost = c.reference_amount - c.settled_amount;
    c.cost_bps = if c.reference_magnitude.is_zero() {
        Decimal::ZERO
    } else {
        (c.cost * Decimal::from(10_000) / c.reference_magnitude)
            .round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointNearestEven)
    };
    c
}

/// FX costs of several parts of one night's rows (the partitions of a partitioned run) as `fx_costs` of
/// all the rows gives them: sums per (channel, presentment currency, settlement currency), in that order.
pub fn combine(parts: impl IntoIterator<Item = FxCost>) -> Vec<FxCost> {
    let mut sums: BTreeMap<(String, Currency, Currency), FxCost> = BTreeMap::new();
    for part in parts {
        let key = (part.channel.clone(), part.presentment_currency, part.settlement_currency);
        match sums.get_mut(&key) {
            None => {
                sums.insert(key, part);
            }
            Some(sum) => {
                sum.transactions += part.transactions;
                sum.presentment_amount += part.presentment_amount;
                sum.settled_amount += part.settled_amount;
                sum.reference_amount += part.reference_amount;
                sum.fallback_rates += part.fallback_rates;
                sum.reference_magnitude += part.reference_magnitude;
            }
        }
    }
    sums.into_values().map(finish).collect()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use settle_core::{ChannelKind, Provenance, Rate, RoundingMode, parse_date};

    use super::*;

    fn cur(code: &str) -> Currency {
        Currency::from_code(code).unwrap()
    }

    fn tx(id: &str, presented: &str, currency: &str, gross: &str, date: &str) -> ChannelTransaction {
        ChannelTransaction {
            presentment_amount: Some(presented.parse().unwrap()),
            presentment_currency: Some(cur(currency)),
            ..ChannelTransaction::new(
                "stripe",
                id,
                ChannelKind::Charge,
                gross.parse().unwrap(),
                Decimal::ZERO,
                cur("EUR"),
                parse_date(date).unwrap(),
                Provenance::line(Arc::from("s.csv"), 2),
            )
        }
    }

    #[test]
    fn cost_against_the_reference_rate_per_channel_and_pair() {
        let rate = |date: &str, quote: &str, value: &str| Rate {
            date: parse_date(date).unwrap(),
            base: cur("EUR"),
            quote: cur(quote),
            rate: value.parse().unwrap(),
            source: "ECB".into(),
            provenance: Provenance::line("r.csv", 2),
        };
        let table = RateTable::new([rate("2025-05-09", "USD", "1.1252"), rate("2025-05-09", "JPY", "163.36")]).unwrap();
        let policy = ConversionPolicy { max_rate_age_days: 4, rounding: RoundingMode::HalfEven };
        let rows = [
            // 112.52 USD is 100.00 EUR at the reference; the channel settled 98.00: 2.00 EUR cost.
            tx("a", "112.52", "USD", "98.00", "2025-05-09"),
            // A refund booked on Saturday (Friday's rate): −56.26 USD is −50.00 EUR; the channel took −51.00.
            tx("b", "-56.26", "USD", "-51.00", "2025-05-10"),
            tx("c", "16336", "JPY", "100.00", "2025-05-09"),
            tx("d", "10.00", "GBP", "11.00", "2025-05-09"),
        ];
        let (costs, gaps) = fx_costs(&rows, &table, policy);
        assert_eq!(costs.len(), 2);
        let usd = &costs[1];
        assert_eq!((usd.presentment_currency, usd.transactions), (cur("USD"), 2));
        assert_eq!(usd.reference_amount, "50.00".parse::<Decimal>().unwrap());
        assert_eq!(usd.settled_amount, "47.00".parse::<Decimal>().unwrap());
        assert_eq!(usd.cost, "3.00".parse::<Decimal>().unwrap());
        assert_eq!(usd.cost_bps, "200.00".parse::<Decimal>().unwrap(), "3.00 on 150.00 of reference");
        assert_eq!(usd.fallback_rates, 1);
        assert_eq!(costs[0].cost, Decimal::ZERO, "JPY at exactly the reference rate");
        assert_eq!(gaps.len(), 1);
        // Parts of the rows (a partitioned night) combine to what all the rows give, basis points too.
        for split in 0..=rows.len() {
            let (left, right) = rows.split_at(split);
            let parts = [fx_costs(right, &table, policy).0, fx_costs(left, &table, policy).0];
            assert_eq!(combine(parts.into_iter().flatten()), costs, "split at {split}");
        }
        assert!(gaps[0].reason.contains("no GBP/EUR rate"), "{}", gaps[0].reason);
    }
}
