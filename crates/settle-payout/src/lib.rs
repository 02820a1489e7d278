//! settle-payout: what each beneficiary is owed tonight.
//!
//! A channel transaction counts towards its beneficiary's payout when its payout batch matched a bank
//! credit (stage B), and it is a charge or refund matched to its order (stage A), or a chargeback on a
//! known order (taken back from the beneficiary). Everything else is held: it stays in the exceptions and
//! open items until a later run settles it.
//!
//! Net amounts are summed per beneficiary and settlement currency, each sum converted to the payout
//! currency at the business date's reference rate (as-of fallback recorded), rounded per the job's
//! rounding mode; the payout is the sum of the rounded parts, and the residuals are kept.
//!
//! Payout ids are derived from the job name, business date, beneficiary and currency, so a rerun of the
//! same night produces the same ids. Fee plans, reserves, schedules and carry-forward of balances come
//! with the payouts issue.
#![forbid(unsafe_code)]
#![deny(clippy::float_arithmetic)]

use std::collections::BTreeMap;

use settle_core::{Beneficiary, ChannelKind, ChannelTransaction, Currency, Date, Decimal, Money, MoneyError, Order};
use settle_fx::{Conversion, ConversionPolicy, FxError, RateTable};
use settle_recon::{Place, ReasonCode, ReconResult};
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayoutError {
    #[error("payout for beneficiary {beneficiary_id}: {source}")]
    Fx { beneficiary_id: String, source: FxError },
    #[error("payout for beneficiary {beneficiary_id}: {source}")]
    Money { beneficiary_id: String, source: MoneyError },
}

/// Whether a payout is to be paid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PayoutStatus {
    /// Amount > 0 and the beneficiary is known.
    Payable,
    /// Amount ≤ 0 (refunds or chargebacks exceed sales): nothing is paid, the balance is carried.
    NotPayable,
    /// Orders name a beneficiary that is not in the beneficiaries file: held.
    UnknownBeneficiary,
}

impl PayoutStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PayoutStatus::Payable => "payable",
            PayoutStatus::NotPayable => "not_payable",
            PayoutStatus::UnknownBeneficiary => "unknown_beneficiary",
        }
    }
}

/// The part of a payout that came from one settlement currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Component {
    pub settled: Money,
    pub transactions: u32,
    /// None when the settlement currency is the payout currency.
    pub conversion: Option<Conversion>,
}

impl Component {
    pub fn payout_amount(&self) -> Money {
        self.conversion.as_ref().map_or(self.settled, |c| c.to)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payout {
    pub payout_id: String,
    pub end_to_end_id: String,
    pub beneficiary_id: String,
    pub beneficiary: Option<Beneficiary>,
    pub business_date: Date,
    pub execution_date: Date,
    pub amount: Money,
    pub status: PayoutStatus,
    /// In settlement-currency order.
    pub components: Vec<Component>,
}

impl Payout {
    pub fn transactions(&self) -> u32 {
        self.components.iter().map(|c| c.transactions).sum()
    }

    /// Σ rounding residuals of the conversions (payout currency).
    pub fn residual(&self) -> Decimal {
        self.components.iter().filter_map(|c| c.conversion.as_ref()).map(|c| c.residual).sum()
    }
}

/// What the run needs to know to compute payouts.
#[derive(Debug, Clone, Copy)]
pub struct PayoutPolicy<'a> {
    pub job_name: &'a str,
    pub business_date: Date,
    pub execution_date: Date,
    pub conversion: ConversionPolicy,
}

/// A deterministic payout id, also used as EndToEndId (≤ 35 characters, ISO 20022 safe set).
pub fn payout_id(job_name: &str, business_date: Date, beneficiary_id: &str, currency: Currency) -> String {
    let mut hasher = Sha256::new();
    for part in ["settle/payout/v1", job_name, &business_date.to_string(), beneficiary_id, currency.code()] {
        hasher.update(part.as_bytes());
        hasher.update([0u8]);
    }
    let digest = hasher.finalize();
    let hex: String = digest.iter().take(6).map(|b| format!("{b:02X}")).collect();
    format!("PO{}-{hex}", business_date.strftime("%Y%m%d"))
}

/// Whether a channel transaction counts towards its order's beneficiary tonight.
pub fn is_settled_for_beneficiary(tx: &ChannelTransaction, stage_a: Place, stage_b: Place) -> bool {
    if stage_b != Place::Matched {
        return false;
    }
    match tx.kind {
        ChannelKind::Charge | ChannelKind::Refund => stage_a == Place::Matched,
        ChannelKind::Chargeback => stage_a == Place::Unmatched(ReasonCode::Chargeback),
        ChannelKind::Fee | ChannelKind::Adjustment => false,
    }
}

/// Computes tonight's payouts, one per beneficiary with settled transactions, sorted by beneficiary id.
pub fn compute_payouts(
    beneficiaries: &[Beneficiary],
    orders: &[Order],
    channel: &[ChannelTransaction],
    recon: &ReconResult,
    rates: &RateTable,
    policy: PayoutPolicy<'_>,
) -> Result<Vec<Payout>, PayoutError> {
    assert_eq!(recon.channel.len(), channel.len(), "recon outcomes are index-aligned with channel rows");
    let by_id: BTreeMap<&str, &Beneficiary> = beneficiaries.iter().map(|b| (b.beneficiary_id.as_str(), b)).collect();
    // beneficiary → settlement currency → (net, transactions)
    let mut settled: BTreeMap<&str, BTreeMap<Currency, (Money, u32)>> = BTreeMap::new();
    for (tx, outcome) in channel.iter().zip(&recon.channel) {
        if !is_settled_for_beneficiary(tx, outcome.stage_a, outcome.stage_b) {
            continue;
        }
        let order = &orders[outcome.order.expect("a settled charge, refund or chargeback is linked to its order")];
        let entry = settled
            .entry(order.beneficiary_id.as_str())
            .or_default()
            .entry(tx.settlement_currency)
            .or_insert((Money::zero(tx.settlement_currency), 0));
        entry.0 = entry
            .0
            .checked_add(&tx.net_money())
            .map_err(|source| PayoutError::Money { beneficiary_id: order.beneficiary_id.clone(), source })?;
        entry.1 += 1;
    }
    let mut payouts = Vec::with_capacity(settled.len());
    for (beneficiary_id, by_currency) in settled {
        let beneficiary = by_id.get(beneficiary_id).copied();
        // Unknown beneficiaries are reported in the first settlement currency, unconverted.
        let payout_currency =
            beneficiary.map_or_else(|| *by_currency.keys().next().expect("non-empty"), |b| b.payout_currency);
        let mut amount = Money::zero(payout_currency);
        let mut components = Vec::with_capacity(by_currency.len());
        for (currency, (net, transactions)) in by_currency {
            let conversion = if currency == payout_currency || beneficiary.is_none() {
                None
            } else {
                Some(
                    rates
                        .convert(net, payout_currency, policy.business_date, policy.conversion)
                        .map_err(|source| PayoutError::Fx { beneficiary_id: beneficiary_id.to_string(), source })?,
                )
            };
            let component = Component { settled: net, transactions, conversion };
            if component.payout_amount().currency() == payout_currency {
                amount = amount
                    .checked_add(&component.payout_amount())
                    .map_err(|source| PayoutError::Money { beneficiary_id: beneficiary_id.to_string(), source })?;
            }
            components.push(component);
        }
        let status = match beneficiary {
            None => PayoutStatus::UnknownBeneficiary,
            Some(_) if amount.amount() > Decimal::ZERO => PayoutStatus::Payable,
            Some(_) => PayoutStatus::NotPayable,
        };
        let id = payout_id(policy.job_name, policy.business_date, beneficiary_id, payout_currency);
        payouts.push(Payout {
            end_to_end_id: id.clone(),
            payout_id: id,
            beneficiary_id: beneficiary_id.to_string(),
            beneficiary: beneficiary.cloned(),
            business_date: policy.business_date,
            execution_date: policy.execution_date,
            amount,
            status,
            components,
        });
    }
    Ok(payouts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use settle_core::parse_date;

    #[test]
    fn payout_ids_are_deterministic_and_fit_end_to_end_id() {
        let date = parse_date("2026-10-31").unwrap();
        let eur = Currency::from_code("EUR").unwrap();
        let a = payout_id("demo", date, "B-001", eur);
        assert_eq!(a, payout_id("demo", date, "B-001", eur));
        assert_ne!(a, payout_id("demo", date, "B-002", eur));
        assert_ne!(a, payout_id("demo2", date, "B-001", eur));
        assert!(a.starts_with("PO20261031-"));
        assert!(a.len() <= 35);
        assert!(a.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
    }
}
