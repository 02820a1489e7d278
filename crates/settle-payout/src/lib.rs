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

pub mod files;

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
    /// 0 < amount < the beneficiary's `minimum_payout`: nothing is paid, the balance is carried.
    BelowMinimum,
    /// Orders name a beneficiary that is not in the beneficiaries file: held.
    UnknownBeneficiary,
    /// Payable, but the job has no debtor account in its currency: held.
    HeldNoDebtorAccount,
    /// Payable, but cross-border (not SEPA) and the beneficiary has no BIC: held.
    HeldMissingBic,
    /// Payable, but cross-border (not SEPA) and the beneficiary has no town in its postal address: held.
    HeldMissingAddress,
    /// Payable, but the beneficiary's bank account differs from the one its last emitted payout went to,
    /// and the job has not approved the change: held (a fraud control).
    HeldBankDetailsChanged,
    /// The payout register has this payout id from an earlier file with other content: never sent twice.
    AlreadyEmitted,
}

impl PayoutStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PayoutStatus::Payable => "payable",
            PayoutStatus::NotPayable => "not_payable",
            PayoutStatus::BelowMinimum => "below_minimum",
            PayoutStatus::UnknownBeneficiary => "unknown_beneficiary",
            PayoutStatus::HeldNoDebtorAccount => "held_no_debtor_account",
            PayoutStatus::HeldMissingBic => "held_missing_bic",
            PayoutStatus::HeldMissingAddress => "held_missing_address",
            PayoutStatus::HeldBankDetailsChanged => "held_bank_details_changed",
            PayoutStatus::AlreadyEmitted => "already_emitted",
        }
    }
}

/// The part of a payout that came from one settlement currency, or the balance carried from the job's
/// previous run (`carried`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Component {
    pub settled: Money,
    pub transactions: u32,
    /// A balance an earlier night did not pay out (below the minimum, negative, or held).
    pub carried: bool,
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

/// A beneficiary's balance an earlier night did not pay out, carried into tonight's payout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CarriedBalance {
    pub beneficiary_id: String,
    pub amount: Money,
}

impl Payout {
    /// Whether what this payout did not pay is owed on (carried to the next night): everything but a
    /// paid payout, one emitted before, and an unknown beneficiary's (reported, not owed to anyone known).
    pub fn carries_balance(&self) -> bool {
        !matches!(self.status, PayoutStatus::Payable | PayoutStatus::AlreadyEmitted | PayoutStatus::UnknownBeneficiary)
            && !self.amount.amount().is_zero()
    }
}

/// What the run needs to know to compute payouts.
#[derive(Debug, Clone, Copy)]
pub struct PayoutPolicy<'a> {
    pub job_name: &'a str,
    pub business_date: Date,
    pub execution_date: Date,
    /// The date whose reference rate converts settled amounts into payout currencies (the job's policy:
    /// the business date, or the business day before execution).
    pub rate_date: Date,
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
        // Fee, payout, adjustment, conversion and reserve rows are the channel's business with us, not a
        // beneficiary's; a won-back chargeback is not credited back automatically in this version.
        ChannelKind::ChargebackReversal
        | ChannelKind::Fee
        | ChannelKind::Payout
        | ChannelKind::PayoutReversal
        | ChannelKind::Adjustment
        | ChannelKind::CurrencyConversion
        | ChannelKind::Reserve
        | ChannelKind::Other => false,
    }
}

/// The channel rows behind each beneficiary's payout (indices into `channel`, in input order): the lines
/// of its statement of account. Uses the rule `compute_payouts` uses, so the lines add up to the payout.
pub fn statement_rows(
    orders: &[Order],
    channel: &[ChannelTransaction],
    recon: &ReconResult,
) -> BTreeMap<String, Vec<usize>> {
    assert_eq!(recon.channel.len(), channel.len(), "recon outcomes are index-aligned with channel rows");
    let mut rows: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, (tx, outcome)) in channel.iter().zip(&recon.channel).enumerate() {
        if is_settled_for_beneficiary(tx, outcome.stage_a, outcome.stage_b) {
            let order = &orders[outcome.order.expect("a settled row is linked to its order") as usize];
            rows.entry(order.beneficiary_id.to_string()).or_default().push(i);
        }
    }
    rows
}

/// Computes tonight's payouts, one per beneficiary with settled transactions, sorted by beneficiary id.
pub fn compute_payouts(
    beneficiaries: &[Beneficiary],
    orders: &[Order],
    channel: &[ChannelTransaction],
    recon: &ReconResult,
    rates: &RateTable,
    policy: PayoutPolicy<'_>,
    carried: &[CarriedBalance],
) -> Result<Vec<Payout>, PayoutError> {
    assert_eq!(recon.channel.len(), channel.len(), "recon outcomes are index-aligned with channel rows");
    let by_id: BTreeMap<&str, &Beneficiary> = beneficiaries.iter().map(|b| (b.beneficiary_id.as_str(), b)).collect();
    // beneficiary → settlement currency → (net, transactions)
    let mut settled: BTreeMap<&str, BTreeMap<Currency, (Money, u32)>> = BTreeMap::new();
    for (tx, outcome) in channel.iter().zip(&recon.channel) {
        if !is_settled_for_beneficiary(tx, outcome.stage_a, outcome.stage_b) {
            continue;
        }
        let order =
            &orders[outcome.order.expect("a settled charge, refund or chargeback is linked to its order") as usize];
        let entry = settled
            .entry(order.beneficiary_id.as_str())
            .or_default()
            .entry(tx.settlement_currency)
            .or_insert((Money::zero(tx.settlement_currency), 0));
        entry.0 = entry
            .0
            .checked_add(&tx.net_money())
            .map_err(|source| PayoutError::Money { beneficiary_id: order.beneficiary_id.to_string(), source })?;
        entry.1 += 1;
    }
    let mut carried_by: BTreeMap<&str, Vec<&CarriedBalance>> = BTreeMap::new();
    for c in carried {
        carried_by.entry(c.beneficiary_id.as_str()).or_default().push(c);
        settled.entry(c.beneficiary_id.as_str()).or_default();
    }
    let mut payouts = Vec::with_capacity(settled.len());
    for (beneficiary_id, by_currency) in settled {
        let beneficiary = by_id.get(beneficiary_id).copied();
        let carried_in = carried_by.get(beneficiary_id).map(Vec::as_slice).unwrap_or_default();
        // Unknown beneficiaries are reported in the first settlement currency, unconverted.
        let payout_currency = beneficiary.map_or_else(
            || by_currency.keys().next().copied().unwrap_or_else(|| carried_in[0].amount.currency()),
            |b| b.payout_currency,
        );
        let mut amount = Money::zero(payout_currency);
        let mut components = Vec::with_capacity(by_currency.len() + carried_in.len());
        let parts = carried_in
            .iter()
            .map(|c| (c.amount.currency(), (c.amount, 0u32), true))
            .chain(by_currency.into_iter().map(|(currency, part)| (currency, part, false)));
        for (currency, (net, transactions), is_carried) in parts {
            let conversion = if currency == payout_currency || beneficiary.is_none() {
                None
            } else {
                Some(
                    rates
                        .convert(net, payout_currency, policy.rate_date, policy.conversion)
                        .map_err(|source| PayoutError::Fx { beneficiary_id: beneficiary_id.to_string(), source })?,
                )
            };
            let component = Component { settled: net, transactions, carried: is_carried, conversion };
            if component.payout_amount().currency() == payout_currency {
                amount = amount
                    .checked_add(&component.payout_amount())
                    .map_err(|source| PayoutError::Money { beneficiary_id: beneficiary_id.to_string(), source })?;
            }
            components.push(component);
        }
        let status = match beneficiary {
            None => PayoutStatus::UnknownBeneficiary,
            Some(_) if amount.amount() <= Decimal::ZERO => PayoutStatus::NotPayable,
            Some(b) if b.minimum_payout.is_some_and(|m| amount.amount() < m) => PayoutStatus::BelowMinimum,
            Some(_) => PayoutStatus::Payable,
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
    use settle_core::{BankEntry, ChannelKind, Direction, OrderKind, Provenance, Rate, RoundingMode, parse_date};

    fn cur(c: &str) -> Currency {
        Currency::from_code(c).unwrap()
    }

    fn order(id: &str, beneficiary: &str, amount: &str) -> Order {
        Order {
            order_id: id.into(),
            kind: if amount.starts_with('-') { OrderKind::Refund } else { OrderKind::Sale },
            beneficiary_id: beneficiary.into(),
            channel: "stripe".into(),
            order_date: parse_date("2026-10-30").unwrap(),
            amount: amount.parse().unwrap(),
            currency: cur("EUR"),
            provenance: Provenance::line("orders.csv", 2),
        }
    }

    fn tx(
        id: &str,
        kind: ChannelKind,
        order: &str,
        presentment: &str,
        net: &str,
        settlement: &str,
        batch: &str,
    ) -> ChannelTransaction {
        ChannelTransaction {
            merchant_reference: Some(order.into()),
            presentment_amount: Some(presentment.parse().unwrap()),
            presentment_currency: Some(cur("EUR")),
            batch_id: Some(batch.into()),
            ..ChannelTransaction::new(
                "stripe",
                id,
                kind,
                net.parse().unwrap(),
                Decimal::ZERO,
                cur(settlement),
                parse_date("2026-10-30").unwrap(),
                Provenance::line("channel.csv", 2),
            )
        }
    }

    fn credit(id: &str, amount: &str, currency: &str, reference: &str) -> BankEntry {
        BankEntry {
            account_id: "ACC".into(),
            entry_id: id.into(),
            booking_date: parse_date("2026-10-30").unwrap(),
            value_date: parse_date("2026-10-30").unwrap(),
            direction: Direction::Credit,
            amount: amount.parse().unwrap(),
            currency: cur(currency),
            reference: Some(reference.into()),
            counterparty_name: None,
            remittance_info: None,
            status: settle_core::EntryStatus::Booked,
            reversal: false,
            bank_transaction_code: None,
            details: Vec::new(),
            provenance: Provenance::line("bank.csv", 2),
        }
    }

    fn beneficiary(id: &str, currency: &str) -> Beneficiary {
        Beneficiary {
            street: None,
            building_number: None,
            post_code: None,
            town: None,
            minimum_payout: None,
            beneficiary_id: id.into(),
            legal_name: format!("{id} Ltd"),
            country: "GB".into(),
            iban: "GB29NWBK60161331926819".into(),
            bic: None,
            payout_currency: cur(currency),
            provenance: Provenance::line("beneficiaries.csv", 2),
        }
    }

    #[test]
    fn nets_converts_and_holds() {
        let orders = vec![
            order("O1", "B1", "100.00"),
            order("O2", "B1", "50.00"),
            order("O3", "B2", "10.00"),
            order("O3-R", "B2", "-10.00"),
            order("O4", "B9", "5.00"),
            order("O5", "B1", "70.00"),
        ];
        let channel = vec![
            tx("t1", ChannelKind::Charge, "O1", "100.00", "97.00", "EUR", "p1"),
            tx("t2", ChannelKind::Charge, "O2", "50.00", "54.00", "USD", "p2"),
            tx("t3", ChannelKind::Charge, "O3", "10.00", "9.50", "EUR", "p1"),
            tx("t4", ChannelKind::Refund, "O3-R", "-10.00", "-10.00", "EUR", "p1"),
            tx("t5", ChannelKind::Charge, "O4", "5.00", "4.80", "EUR", "p1"),
            tx("t6", ChannelKind::Chargeback, "O1", "-100.00", "-115.00", "EUR", "p3"), // batch not credited
            tx("t7", ChannelKind::Charge, "O5", "71.00", "68.00", "EUR", "p1"),         // amount mismatch: held
        ];
        let bank = vec![credit("b1", "169.30", "EUR", "p1"), credit("b2", "54.00", "USD", "p2")];
        let recon = settle_recon::reconcile(&orders, &channel, &bank).unwrap();
        let rates = RateTable::new([
            Rate {
                date: parse_date("2026-10-30").unwrap(),
                base: cur("EUR"),
                quote: cur("GBP"),
                rate: "0.8403".parse().unwrap(),
                source: "ECB".into(),
                provenance: Provenance::line("rates.csv", 2),
            },
            Rate {
                date: parse_date("2026-10-30").unwrap(),
                base: cur("EUR"),
                quote: cur("USD"),
                rate: "1.0862".parse().unwrap(),
                source: "ECB".into(),
                provenance: Provenance::line("rates.csv", 3),
            },
        ])
        .unwrap();
        let policy = PayoutPolicy {
            job_name: "t",
            business_date: parse_date("2026-10-31").unwrap(),
            execution_date: parse_date("2026-11-02").unwrap(),
            rate_date: parse_date("2026-10-31").unwrap(),
            conversion: ConversionPolicy { max_rate_age_days: 4, rounding: RoundingMode::HalfEven },
        };
        let payouts = compute_payouts(
            &[beneficiary("B1", "GBP"), beneficiary("B2", "EUR")],
            &orders,
            &channel,
            &recon,
            &rates,
            policy,
            &[],
        )
        .unwrap();
        let ids: Vec<&str> = payouts.iter().map(|p| p.beneficiary_id.as_str()).collect();
        assert_eq!(ids, ["B1", "B2", "B9"]);
        // B1: 97.00 EUR → 81.51 GBP (81.5091), 54.00 USD → 41.78 GBP (54 × 0.8403 / 1.0862 = 41.7751…)
        let b1 = &payouts[0];
        assert_eq!(b1.amount.to_string(), "123.29 GBP");
        assert_eq!(b1.status, PayoutStatus::Payable);
        assert_eq!(b1.transactions(), 2, "the chargeback's batch is not credited; the mismatched charge is held");
        assert_eq!(b1.components[0].conversion.as_ref().unwrap().rate.rate_date.to_string(), "2026-10-30");
        assert_eq!(
            b1.residual(),
            b1.components.iter().map(|c| c.conversion.as_ref().unwrap().residual).sum::<Decimal>()
        );
        // B2: 9.50 − 10.00 = −0.50 EUR: nothing to pay
        assert_eq!(payouts[1].amount.to_string(), "-0.50 EUR");
        assert_eq!(payouts[1].status, PayoutStatus::NotPayable);
        // B9 is not in the beneficiaries file: held, unconverted
        assert_eq!(payouts[2].status, PayoutStatus::UnknownBeneficiary);
        assert_eq!(payouts[2].amount.to_string(), "4.80 EUR");
        assert!(!b1.carries_balance() && payouts[1].carries_balance() && !payouts[2].carries_balance());

        // Next night: B2's −0.50 EUR is carried in, and B1 has a minimum above tonight's amount.
        let carried = [CarriedBalance { beneficiary_id: "B2".into(), amount: payouts[1].amount }];
        let mut b1_min = beneficiary("B1", "GBP");
        b1_min.minimum_payout = Some("500.00".parse().unwrap());
        let next =
            compute_payouts(&[b1_min, beneficiary("B2", "EUR")], &orders, &channel, &recon, &rates, policy, &carried)
                .unwrap();
        assert_eq!(next[0].status, PayoutStatus::BelowMinimum);
        assert!(next[0].carries_balance());
        assert_eq!(next[1].amount.to_string(), "-1.00 EUR", "−0.50 carried in and −0.50 tonight");
        assert_eq!(next[1].components.iter().filter(|c| c.carried).count(), 1);
        // A beneficiary with only a carried balance still gets its payout line.
        let only = compute_payouts(
            &[beneficiary("B7", "EUR")],
            &[],
            &[],
            &recon_empty(),
            &rates,
            policy,
            &[CarriedBalance { beneficiary_id: "B7".into(), amount: Money::new("12.00".parse().unwrap(), cur("EUR")) }],
        )
        .unwrap();
        assert_eq!(
            (only.len(), only[0].amount.to_string(), only[0].status),
            (1, "12.00 EUR".to_string(), PayoutStatus::Payable)
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        /// Money in = money out per beneficiary: every settled net and carried balance ends either in a
        /// payable payout or in a balance carried to the next night, to the minor unit.
        #[test]
        fn settled_and_carried_money_is_paid_or_carried(
            rows in proptest::collection::vec((0usize..4, 1i64..100_000, 0i64..10, proptest::bool::weighted(0.2)), 1..40),
            minimums in proptest::collection::vec(proptest::option::of(0i64..200_000), 4),
            carried_cents in proptest::collection::vec(proptest::option::of(-50_000i64..50_000), 4),
        ) {
            let (mut orders, mut channel) = (Vec::new(), Vec::new());
            let mut batch_net = Decimal::ZERO;
            let mut expected: BTreeMap<String, Decimal> = BTreeMap::new();
            for (n, (b, cents, fee_pct, refund)) in rows.iter().enumerate() {
                let amount = Decimal::new(if *refund { -cents } else { *cents }, 2);
                let fee = if *refund { Decimal::ZERO } else { (amount * Decimal::new(*fee_pct, 2)).round_dp(2) };
                let (id, beneficiary) = (format!("O{n}"), format!("B{b}"));
                orders.push(order(&id, &beneficiary, &amount.to_string()));
                let kind = if *refund { ChannelKind::Refund } else { ChannelKind::Charge };
                let net = amount - fee;
                channel.push(tx(&format!("t{n}"), kind, &id, &amount.to_string(), &net.to_string(), "EUR", "po1"));
                batch_net += net;
                *expected.entry(beneficiary).or_default() += net;
            }
            proptest::prop_assume!(batch_net > Decimal::ZERO);
            let bank = vec![credit("c1", &batch_net.to_string(), "EUR", "po1")];
            let recon = settle_recon::reconcile(&orders, &channel, &bank).unwrap();
            let beneficiaries: Vec<Beneficiary> = (0..4)
                .map(|b| Beneficiary { minimum_payout: minimums[b].map(|m| Decimal::new(m, 2)), ..beneficiary(&format!("B{b}"), "EUR") })
                .collect();
            let carried: Vec<CarriedBalance> = (0..4)
                .filter_map(|b| carried_cents[b].map(|c| CarriedBalance { beneficiary_id: format!("B{b}"), amount: Money::new(Decimal::new(c, 2), cur("EUR")) }))
                .collect();
            for c in &carried {
                *expected.entry(c.beneficiary_id.clone()).or_default() += c.amount.amount();
            }
            let policy = PayoutPolicy {
                job_name: "p",
                business_date: parse_date("2026-10-30").unwrap(),
                execution_date: parse_date("2026-11-02").unwrap(),
                rate_date: parse_date("2026-10-30").unwrap(),
                conversion: ConversionPolicy { max_rate_age_days: 4, rounding: RoundingMode::HalfEven },
            };
            let rates = RateTable::new(Vec::new()).unwrap();
            let payouts = compute_payouts(&beneficiaries, &orders, &channel, &recon, &rates, policy, &carried).unwrap();
            let mut paid_or_carried: BTreeMap<String, Decimal> = BTreeMap::new();
            for p in &payouts {
                let minimum = beneficiaries.iter().find(|b| b.beneficiary_id == p.beneficiary_id).and_then(|b| b.minimum_payout);
                let payable = p.amount.amount() > Decimal::ZERO && minimum.is_none_or(|m| p.amount.amount() >= m);
                proptest::prop_assert_eq!(p.status == PayoutStatus::Payable, payable, "{:?}", p);
                proptest::prop_assert!(p.status == PayoutStatus::Payable || p.carries_balance() || p.amount.amount().is_zero());
                *paid_or_carried.entry(p.beneficiary_id.clone()).or_default() += p.amount.amount();
            }
            proptest::prop_assert_eq!(paid_or_carried, expected);
        }
    }

    fn recon_empty() -> ReconResult {
        settle_recon::reconcile(&[], &[], &[]).unwrap()
    }

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
