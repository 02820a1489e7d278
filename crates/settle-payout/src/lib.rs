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
//! Each beneficiary's fee plan takes its commission per transaction; a reserve percentage of the night's
//! settled charges is held back and released after the beneficiary's number of business days; balances
//! not paid (negative, below the minimum, not due by the schedule, held) and payouts the bank returned
//! come back on a later night. Every such part is a `Component` with its source, so the statement of
//! account lists every line that makes the payout.
//!
//! Payout ids are derived from the job name, business date, beneficiary and currency, so a rerun of the
//! same night produces the same ids.
#![forbid(unsafe_code)]
#![deny(clippy::float_arithmetic)]

pub mod files;
pub mod returns;

use std::collections::BTreeMap;

use settle_core::{
    Beneficiary, Calendar, ChannelKind, ChannelTransaction, Currency, Date, Decimal, Money, MoneyError, Order,
    RoundingMode,
};
use settle_fx::{Conversion, ConversionPolicy, FxError, RateTable};
use settle_recon::{ChannelOutcome, Place, ReasonCode, ReconResult};
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayoutError {
    #[error("payout for beneficiary {beneficiary_id}: {source}")]
    Fx { beneficiary_id: String, source: FxError },
    #[error("payout for beneficiary {beneficiary_id}: {source}")]
    Money { beneficiary_id: String, source: MoneyError },
    #[error("{provenance}: beneficiary {beneficiary_id} names fee plan {plan:?}, which the job does not define")]
    UnknownFeePlan { beneficiary_id: String, plan: String, provenance: String },
    #[error("beneficiary {beneficiary_id}: the reserve's release date is out of range: {source}")]
    Calendar { beneficiary_id: String, source: settle_core::calendar::CalendarError },
}

/// Whether a payout is to be paid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PayoutStatus {
    /// Amount > 0 and the beneficiary is known.
    Payable,
    /// Amount ≤ 0 (refunds, chargebacks, commission or reserve exceed sales): nothing is paid, the
    /// balance is carried.
    NotPayable,
    /// Amount > 0 but tonight is not a payout day of the beneficiary's schedule: the balance is carried.
    NotDue,
    /// 0 < amount < the beneficiary's `minimum_payout`: nothing is paid, the balance is carried.
    BelowMinimum,
    /// Orders name a beneficiary that is not in the beneficiaries file: held.
    UnknownBeneficiary,
    /// Payable, but the job has no debtor account in its currency: held.
    HeldNoDebtorAccount,
    /// Payable, but cross-border (not SEPA) and the beneficiary's bank has neither a BIC nor a clearing
    /// system and bank code: held.
    HeldMissingBic,
    /// Payable, but cross-border (not SEPA) and the beneficiary has no town in its postal address: held.
    HeldMissingAddress,
    /// Payable, but the beneficiary's bank account differs from the one its last emitted payout went to,
    /// and the job has not approved the change: held (a fraud control).
    HeldBankDetailsChanged,
    /// Payable, but a text of the beneficiary's (name, street, building number, post code, town) is longer
    /// than a pain.001 takes as the file's character set writes it, or its name is empty: held, and the
    /// night goes on for everyone else (the note names the beneficiaries file's line).
    HeldInvalidBeneficiary,
    /// The payout register has this payout id from an earlier file with other content: never sent twice.
    AlreadyEmitted,
}

impl PayoutStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PayoutStatus::Payable => "payable",
            PayoutStatus::NotPayable => "not_payable",
            PayoutStatus::NotDue => "not_due",
            PayoutStatus::BelowMinimum => "below_minimum",
            PayoutStatus::UnknownBeneficiary => "unknown_beneficiary",
            PayoutStatus::HeldNoDebtorAccount => "held_no_debtor_account",
            PayoutStatus::HeldMissingBic => "held_missing_bic",
            PayoutStatus::HeldMissingAddress => "held_missing_address",
            PayoutStatus::HeldBankDetailsChanged => "held_bank_details_changed",
            PayoutStatus::HeldInvalidBeneficiary => "held_invalid_beneficiary",
            PayoutStatus::AlreadyEmitted => "already_emitted",
        }
    }
}

/// Where a part of a payout comes from: a line of the beneficiary's statement of account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Tonight's settled transactions in one settlement currency, net of the channel's fees.
    Settled,
    /// The commission of the beneficiary's fee plan on those transactions (negative: taken).
    Commission,
    /// The share of tonight's settled charges held back as a reserve (negative), released on `release_on`.
    ReserveHold { release_on: Date },
    /// A reserve held on `held_on` and released tonight (positive).
    ReserveRelease { held_on: Date },
    /// A balance the night of `since` did not pay out (below the minimum, negative, not due, or held).
    Carried { since: Date },
    /// A payout the bank rejected (pain.002 status report) or brought back after debiting it (a return
    /// in our bank statement), back in the balance.
    Returned { payout_id: String, reason: String },
}

impl Source {
    /// The statement line's kind.
    pub fn as_str(&self) -> &'static str {
        match self {
            Source::Settled => "subtotal",
            Source::Commission => "commission",
            Source::ReserveHold { .. } => "reserve_held",
            Source::ReserveRelease { .. } => "reserve_released",
            Source::Carried { .. } => "carried_in",
            Source::Returned { .. } => "returned",
        }
    }
}

/// One part of a payout in its own currency (`settled`), converted to the payout currency when it differs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Component {
    pub source: Source,
    /// The part's amount in its own currency (a cost or hold is negative).
    pub settled: Money,
    /// Channel transactions behind it (settled and commission parts).
    pub transactions: u32,
    /// None when the part's currency is the payout currency.
    pub conversion: Option<Conversion>,
}

impl Component {
    pub fn payout_amount(&self) -> Money {
        self.conversion.as_ref().map_or(self.settled, |c| c.to)
    }

    /// A balance an earlier night did not pay out.
    pub fn is_carried(&self) -> bool {
        matches!(self.source, Source::Carried { .. })
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
    /// Carried balances, returned payouts, released reserves, then per settlement currency: settled,
    /// commission, reserve held.
    pub components: Vec<Component>,
}

impl Payout {
    pub fn transactions(&self) -> u32 {
        self.components.iter().filter(|c| c.source == Source::Settled).map(|c| c.transactions).sum()
    }

    /// Σ rounding residuals of the conversions (payout currency).
    pub fn residual(&self) -> Decimal {
        self.components.iter().filter_map(|c| c.conversion.as_ref()).map(|c| c.residual).sum()
    }

    /// Σ of the components of one kind, in the payout currency.
    pub fn total_of(&self, kind: &str) -> Decimal {
        self.components.iter().filter(|c| c.source.as_str() == kind).map(|c| c.payout_amount().amount()).sum()
    }
}

/// What an earlier night left owed to a beneficiary, brought into tonight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CarriedBalance {
    pub beneficiary_id: String,
    pub amount: Money,
    pub kind: BalanceKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BalanceKind {
    /// A payout's balance not paid on `since` (its status said why).
    Carried { since: Date },
    /// A reserve held on `held_on`, due back on `release_on`.
    Reserve { held_on: Date, release_on: Date },
    /// An emitted payout the bank rejected or returned (pain.002 reason codes, or the return's reason).
    Returned { payout_id: String, reason: String },
}

impl Payout {
    /// Whether what this payout did not pay is owed on (carried to the next night): everything but a
    /// paid payout, one emitted before, and an unknown beneficiary's (reported, not owed to anyone known).
    pub fn carries_balance(&self) -> bool {
        !self.carried_balances().is_empty()
    }

    /// What this payout carries to the next night: its amount, when it is owed on and not zero; when the
    /// amount is zero but parts of it converted to zero (a tiny balance, or a rate that makes a real
    /// balance round away), those parts unconverted, summed per currency — a conversion never loses
    /// a balance.
    pub fn carried_balances(&self) -> Vec<Money> {
        if matches!(
            self.status,
            PayoutStatus::Payable | PayoutStatus::AlreadyEmitted | PayoutStatus::UnknownBeneficiary
        ) {
            return Vec::new();
        }
        if !self.amount.amount().is_zero() {
            return vec![self.amount];
        }
        let mut lost: BTreeMap<Currency, Decimal> = BTreeMap::new();
        for c in self.components.iter().filter(|c| c.conversion.is_some() && c.payout_amount().amount().is_zero()) {
            *lost.entry(c.settled.currency()).or_default() += c.settled.amount();
        }
        lost.into_iter()
            .filter(|(_, amount)| !amount.is_zero())
            .map(|(currency, amount)| Money::new(amount, currency))
            .collect()
    }
}

/// The commission of a fee plan on one kind of transaction: `percent` of its gross amount (signed: a
/// refund's percentage comes back unless a rule for refunds says otherwise) plus a fixed fee per
/// transaction in its settlement currency (currencies the rule does not list pay none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeeRule {
    /// Only this channel's transactions; None: every channel.
    pub channel: Option<String>,
    /// Only this kind (charge, refund, chargeback); None: every kind.
    pub kind: Option<ChannelKind>,
    pub percent: Decimal,
    pub fixed: BTreeMap<Currency, Decimal>,
}

/// A named fee plan: its rules are tried in order, the first that fits a transaction applies; a
/// transaction no rule fits pays no commission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeePlan {
    pub id: String,
    pub rules: Vec<FeeRule>,
}

impl FeePlan {
    /// The commission taken from one transaction (positive = taken), rounded to its settlement
    /// currency's minor units with `rounding`.
    pub fn commission(&self, tx: &ChannelTransaction, rounding: RoundingMode) -> Result<Decimal, MoneyError> {
        let Some(rule) = self.rules.iter().find(|r| {
            r.channel.as_deref().is_none_or(|c| c == tx.channel.as_str()) && r.kind.is_none_or(|k| k == tx.kind)
        }) else {
            return Ok(Decimal::ZERO);
        };
        let fixed = rule.fixed.get(&tx.settlement_currency).copied().unwrap_or_default();
        let overflow = || MoneyError::Overflow { operation: "commission", currency: tx.settlement_currency };
        let commission = tx
            .gross
            .checked_mul(rule.percent)
            .and_then(|p| p.checked_div(Decimal::ONE_HUNDRED))
            .and_then(|p| p.checked_add(fixed))
            .ok_or_else(overflow)?;
        Ok(Money::new(commission, tx.settlement_currency).round_to_minor(rounding)?.amount())
    }
}

/// Which settled transactions count towards a beneficiary's balance.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Release {
    /// When the channel's payout batch is matched to our bank credit (stage B): the money is with us.
    #[default]
    BankCredit,
    /// When the transaction is matched to its order (stage A), before the channel pays us.
    ChannelMatch,
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
    pub release: Release,
    pub fee_plans: &'a [FeePlan],
    /// Counts reserves' release days.
    pub calendar: &'a Calendar,
    /// The business date of the job's previous run (schedules: a payout day since then is due tonight).
    pub previous_business_date: Option<Date>,
}

/// Tonight's payouts, and the reserves still held after them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payouts {
    /// One per beneficiary with anything tonight, sorted by beneficiary id.
    pub payouts: Vec<Payout>,
    /// Reserves (held tonight or earlier) not yet released, by beneficiary id then hold date.
    pub reserves: Vec<CarriedBalance>,
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

/// Whether a channel transaction counts towards its order's beneficiary tonight (`release` says when).
pub fn is_settled_for_beneficiary(tx: &ChannelTransaction, outcome: &ChannelOutcome, release: Release) -> bool {
    let released = match release {
        Release::BankCredit => outcome.stage_b == Place::Matched,
        // Counted the night its stage A is decided, never again when it is carried on for stage B.
        Release::ChannelMatch => !outcome.carried_a,
    };
    if !released {
        return false;
    }
    match tx.kind {
        ChannelKind::Charge | ChannelKind::Refund => outcome.stage_a == Place::Matched,
        ChannelKind::Chargeback => outcome.stage_a == Place::Unmatched(ReasonCode::Chargeback),
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
    release: Release,
) -> BTreeMap<String, Vec<usize>> {
    assert_eq!(recon.channel.len(), channel.len(), "recon outcomes are index-aligned with channel rows");
    let mut slots: Slots<'_, Vec<usize>> = Slots::with_capacity(1024);
    for (i, (tx, outcome)) in channel.iter().zip(&recon.channel).enumerate() {
        if is_settled_for_beneficiary(tx, outcome, release) {
            let order = &orders[outcome.order.expect("a settled row is linked to its order") as usize];
            slots.get(order.beneficiary_id.as_str()).1.push(i);
        }
    }
    slots.ids.iter().zip(slots.values).map(|(id, rows)| (id.to_string(), rows)).collect()
}

/// Ids numbered densely as they are first seen, each with a value, found again by a hash map (foldhash
/// with a fixed seed) that is only looked up, never iterated: its order reaches no output. A night
/// touches each beneficiary many times (once per settled row: 10^7 at 10^7 orders); a B-tree of their
/// ids read each id's scattered bytes a dozen times per lookup (16 s of a 10^7-order night).
struct Slots<'a, T> {
    index: std::collections::HashMap<&'a str, u32, foldhash::fast::FixedState>,
    ids: Vec<&'a str>,
    values: Vec<T>,
}

impl<'a, T: Default> Slots<'a, T> {
    fn with_capacity(n: usize) -> Slots<'a, T> {
        Slots {
            index: std::collections::HashMap::with_capacity_and_hasher(
                n,
                foldhash::fast::FixedState::with_seed(0x5e77),
            ),
            ids: Vec::with_capacity(n),
            values: Vec::with_capacity(n),
        }
    }

    /// `id`'s slot and value; a new slot (the next number, a default value) when it is first seen.
    fn get(&mut self, id: &'a str) -> (usize, &mut T) {
        let next = u32::try_from(self.ids.len()).expect("fewer than 2^32 beneficiaries");
        let slot = *self.index.entry(id).or_insert(next) as usize;
        if slot == self.ids.len() {
            self.ids.push(id);
            self.values.push(T::default());
        }
        (slot, &mut self.values[slot])
    }

    /// The slots whose value `keep` accepts, in id order.
    fn sorted(&self, keep: impl Fn(&T) -> bool) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.ids.len()).filter(|&s| keep(&self.values[s])).collect();
        order.sort_unstable_by(|&a, &b| self.ids[a].cmp(self.ids[b]));
        order
    }
}

/// What a night gathers for one beneficiary id.
#[derive(Default)]
struct Gathered<'a> {
    /// Its row of the beneficiaries file (a later row of one id wins).
    beneficiary: Option<&'a Beneficiary>,
    /// Its fee plan, looked up at its first settled row (an unknown plan is an error then).
    plan: Option<Option<&'a FeePlan>>,
    /// Settlement currency → tonight's settled money.
    settled: BTreeMap<Currency, Settled>,
    /// Balances brought in (carried, returned, reserves).
    brought: Vec<&'a CarriedBalance>,
    /// It gets a payout: settled rows or balances brought in.
    present: bool,
}

/// Tonight's settled money of one beneficiary in one settlement currency.
#[derive(Debug, Clone, Copy)]
struct Settled {
    net: Money,
    commission: Money,
    /// Σ net of charges: what a reserve percentage applies to.
    charges: Money,
    transactions: u32,
}

/// Computes tonight's payouts, one per beneficiary with settled transactions or a balance brought in,
/// sorted by beneficiary id: Σ settled − commission − reserve held + reserves released + carried +
/// returned, each part converted to the payout currency at the policy's rate date.
pub fn compute_payouts(
    beneficiaries: &[Beneficiary],
    orders: &[Order],
    channel: &[ChannelTransaction],
    recon: &ReconResult,
    rates: &RateTable,
    policy: PayoutPolicy<'_>,
    brought_in: &[CarriedBalance],
) -> Result<Payouts, PayoutError> {
    assert_eq!(recon.channel.len(), channel.len(), "recon outcomes are index-aligned with channel rows");
    let rounding = policy.conversion.rounding;
    // Every beneficiary id of the night in a slot: the file's, then those of tonight's settled rows and
    // of the balances brought in.
    let mut slots: Slots<'_, Gathered<'_>> = Slots::with_capacity(beneficiaries.len());
    for b in beneficiaries {
        slots.get(b.beneficiary_id.as_str()).1.beneficiary = Some(b);
    }
    let plans: BTreeMap<&str, &FeePlan> = policy.fee_plans.iter().map(|p| (p.id.as_str(), p)).collect();
    let plan_of = |b: &Beneficiary| -> Result<Option<&FeePlan>, PayoutError> {
        match b.fee_plan.as_deref() {
            None => Ok(None),
            Some(id) => plans.get(id).copied().map(Some).ok_or_else(|| PayoutError::UnknownFeePlan {
                beneficiary_id: b.beneficiary_id.clone(),
                plan: id.to_string(),
                provenance: b.provenance.to_string(),
            }),
        }
    };
    let money_error = |id: &str| {
        let id = id.to_string();
        move |source| PayoutError::Money { beneficiary_id: id, source }
    };
    for (tx, outcome) in channel.iter().zip(&recon.channel) {
        if !is_settled_for_beneficiary(tx, outcome, policy.release) {
            continue;
        }
        let order =
            &orders[outcome.order.expect("a settled charge, refund or chargeback is linked to its order") as usize];
        let beneficiary_id = order.beneficiary_id.as_str();
        let (_, gathered) = slots.get(beneficiary_id);
        gathered.present = true;
        let plan = match (gathered.plan, gathered.beneficiary) {
            (Some(plan), _) => plan,
            (None, Some(b)) => *gathered.plan.insert(plan_of(b)?),
            (None, None) => None,
        };
        let commission = match plan {
            Some(p) => p.commission(tx, rounding).map_err(money_error(beneficiary_id))?,
            None => Decimal::ZERO,
        };
        let zero = Money::zero(tx.settlement_currency);
        let entry = gathered.settled.entry(tx.settlement_currency).or_insert(Settled {
            net: zero,
            commission: zero,
            charges: zero,
            transactions: 0,
        });
        let add =
            |a: Money, b: Decimal| a.checked_add(&Money::new(b, a.currency())).map_err(money_error(beneficiary_id));
        entry.net = add(entry.net, tx.net)?;
        entry.commission = add(entry.commission, commission)?;
        if tx.kind == ChannelKind::Charge {
            entry.charges = add(entry.charges, tx.net)?;
        }
        entry.transactions += 1;
    }
    for c in brought_in {
        let (_, gathered) = slots.get(c.beneficiary_id.as_str());
        gathered.brought.push(c);
        gathered.present = true;
    }
    let order = slots.sorted(|gathered| gathered.present);
    let mut payouts = Vec::with_capacity(order.len());
    let mut reserves: Vec<CarriedBalance> = Vec::new();
    for slot in order {
        let beneficiary_id = slots.ids[slot];
        let gathered = std::mem::take(&mut slots.values[slot]);
        let (by_currency, beneficiary, brought) = (gathered.settled, gathered.beneficiary, gathered.brought.as_slice());
        // Unknown beneficiaries are reported in the first settlement currency, unconverted.
        let payout_currency = beneficiary.map_or_else(
            || by_currency.keys().next().copied().unwrap_or_else(|| brought[0].amount.currency()),
            |b| b.payout_currency,
        );
        // The parts, in statement order: brought in (carried, returned, released reserves), then per
        // settlement currency.
        let mut parts: Vec<(Source, Money, u32)> = Vec::with_capacity(brought.len() + 3 * by_currency.len());
        for c in brought {
            match &c.kind {
                BalanceKind::Carried { since } => parts.push((Source::Carried { since: *since }, c.amount, 0)),
                BalanceKind::Returned { payout_id, reason } => {
                    parts.push((Source::Returned { payout_id: payout_id.clone(), reason: reason.clone() }, c.amount, 0))
                }
                BalanceKind::Reserve { held_on, release_on } if *release_on <= policy.business_date => {
                    parts.push((Source::ReserveRelease { held_on: *held_on }, c.amount, 0));
                }
                BalanceKind::Reserve { .. } => reserves.push(CarriedBalance::clone(c)),
            }
        }
        let reserve =
            beneficiary.and_then(|b| Some((b.reserve_percent?, b.reserve_release_business_days.unwrap_or(0))));
        for (currency, s) in by_currency {
            parts.push((Source::Settled, s.net, s.transactions));
            if !s.commission.amount().is_zero() {
                parts.push((Source::Commission, Money::new(-s.commission.amount(), currency), s.transactions));
            }
            if let Some((percent, days)) = reserve.filter(|(p, _)| !p.is_zero())
                && s.charges.amount() > Decimal::ZERO
            {
                let share = s
                    .charges
                    .amount()
                    .checked_mul(percent)
                    .map(|p| p / Decimal::ONE_HUNDRED)
                    .ok_or(MoneyError::Overflow { operation: "reserve", currency })
                    .map_err(money_error(beneficiary_id))?;
                let held = Money::new(share, currency).round_to_minor(rounding).map_err(money_error(beneficiary_id))?;
                if !held.amount().is_zero() {
                    let release_on = policy
                        .calendar
                        .add_business_days(policy.business_date, i32::try_from(days).unwrap_or(i32::MAX))
                        .map_err(|source| PayoutError::Calendar {
                            beneficiary_id: beneficiary_id.to_string(),
                            source,
                        })?;
                    parts.push((Source::ReserveHold { release_on }, Money::new(-held.amount(), currency), 0));
                    reserves.push(CarriedBalance {
                        beneficiary_id: beneficiary_id.to_string(),
                        amount: held,
                        kind: BalanceKind::Reserve { held_on: policy.business_date, release_on },
                    });
                }
            }
        }
        let mut amount = Money::zero(payout_currency);
        let mut components = Vec::with_capacity(parts.len());
        for (source, part, transactions) in parts {
            let conversion = if part.currency() == payout_currency || beneficiary.is_none() {
                None
            } else {
                Some(
                    rates
                        .convert(part, payout_currency, policy.rate_date, policy.conversion)
                        .map_err(|source| PayoutError::Fx { beneficiary_id: beneficiary_id.to_string(), source })?,
                )
            };
            let component = Component { source, settled: part, transactions, conversion };
            if component.payout_amount().currency() == payout_currency {
                amount = amount.checked_add(&component.payout_amount()).map_err(money_error(beneficiary_id))?;
            }
            components.push(component);
        }
        let status = match beneficiary {
            None => PayoutStatus::UnknownBeneficiary,
            Some(_) if amount.amount() <= Decimal::ZERO => PayoutStatus::NotPayable,
            Some(b) if !b.schedule.is_due(policy.business_date, policy.previous_business_date) => PayoutStatus::NotDue,
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
    reserves.sort_by(|a, b| {
        let key = |c: &CarriedBalance| match c.kind {
            BalanceKind::Reserve { held_on, release_on } => (held_on, release_on),
            _ => unreachable!("only reserves are kept"),
        };
        (&a.beneficiary_id, key(a), a.amount.currency()).cmp(&(&b.beneficiary_id, key(b), b.amount.currency()))
    });
    Ok(Payouts { payouts, reserves })
}

#[cfg(test)]
mod tests {
    use super::*;
    use settle_core::{BankEntry, ChannelKind, Direction, OrderKind, Provenance, Rate, RoundingMode, parse_date};

    static CALENDAR: std::sync::LazyLock<Calendar> = std::sync::LazyLock::new(Calendar::target2);

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

    /// The tests' policy: business date and rate date `date`, execution on 2026-11-02, half-even
    /// rounding, release at the bank credit, no previous run.
    fn policy<'a>(job_name: &'a str, date: &str, fee_plans: &'a [FeePlan]) -> PayoutPolicy<'a> {
        let date = parse_date(date).unwrap();
        PayoutPolicy {
            job_name,
            business_date: date,
            execution_date: parse_date("2026-11-02").unwrap(),
            rate_date: date,
            conversion: ConversionPolicy { max_rate_age_days: 4, rounding: RoundingMode::HalfEven },
            release: Release::BankCredit,
            fee_plans,
            calendar: &CALENDAR,
            previous_business_date: None,
        }
    }

    /// A beneficiary with every optional term absent (the payout files' tests add theirs).
    pub(crate) fn beneficiary(id: &str, currency: &str) -> Beneficiary {
        Beneficiary {
            street: None,
            building_number: None,
            post_code: None,
            town: None,
            minimum_payout: None,
            account_number: None,
            clearing_system: None,
            bank_code: None,
            schedule: settle_core::PayoutSchedule::Daily,
            fee_plan: None,
            reserve_percent: None,
            reserve_release_business_days: None,
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
    fn a_balance_that_converts_to_zero_is_carried_unconverted() {
        // Found by issue 24: a rate that turns 97 EUR and 54 USD into 0.00 GBP made the payout
        // `not_payable` with nothing carried: the balance was lost.
        let orders = vec![order("O1", "B1", "100.00"), order("O2", "B1", "50.00")];
        let channel = vec![
            tx("t1", ChannelKind::Charge, "O1", "100.00", "97.00", "EUR", "p1"),
            tx("t2", ChannelKind::Charge, "O2", "50.00", "54.00", "USD", "p2"),
        ];
        let bank = vec![credit("b1", "97.00", "EUR", "p1"), credit("b2", "54.00", "USD", "p2")];
        let recon = settle_recon::reconcile(&orders, &channel, &bank).unwrap();
        let rate = |quote: &str, value: &str| Rate {
            date: parse_date("2026-10-30").unwrap(),
            base: cur("EUR"),
            quote: cur(quote),
            rate: value.parse().unwrap(),
            source: "ECB".into(),
            provenance: Provenance::line("rates.csv", 2),
        };
        let tiny = RateTable::new([rate("GBP", "0.000001"), rate("USD", "1.0862")]).unwrap();
        let policy = policy("t", "2026-10-31", &[]);
        let run = compute_payouts(&[beneficiary("B1", "GBP")], &orders, &channel, &recon, &tiny, policy, &[]).unwrap();
        let p = &run.payouts[0];
        assert_eq!((p.amount.to_string(), p.status), ("0.00 GBP".to_string(), PayoutStatus::NotPayable));
        let carried: Vec<String> = p.carried_balances().iter().map(Money::to_string).collect();
        assert_eq!(carried, ["97.00 EUR", "54.00 USD"]);
        assert!(p.carries_balance());
        // A payout that is zero because its parts cancel carries nothing.
        let cancel = vec![
            tx("t1", ChannelKind::Charge, "O1", "100.00", "97.00", "EUR", "p1"),
            tx("t2", ChannelKind::Refund, "O2", "-100.00", "-97.00", "EUR", "p1"),
        ];
        let orders2 = vec![order("O1", "B1", "100.00"), order("O2", "B1", "-100.00")];
        let recon2 = settle_recon::reconcile(&orders2, &cancel, &[credit("b1", "0.00", "EUR", "p1")]).unwrap();
        let zero =
            compute_payouts(&[beneficiary("B1", "EUR")], &orders2, &cancel, &recon2, &tiny, policy, &[]).unwrap();
        assert!(zero.payouts.iter().all(|p| p.carried_balances().is_empty()), "{:?}", zero.payouts);
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
        let policy = policy("t", "2026-10-31", &[]);
        let payouts = compute_payouts(
            &[beneficiary("B1", "GBP"), beneficiary("B2", "EUR")],
            &orders,
            &channel,
            &recon,
            &rates,
            policy,
            &[],
        )
        .unwrap()
        .payouts;
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
        let since = parse_date("2026-10-31").unwrap();
        let carried = [CarriedBalance {
            beneficiary_id: "B2".into(),
            amount: payouts[1].amount,
            kind: BalanceKind::Carried { since },
        }];
        let mut b1_min = beneficiary("B1", "GBP");
        b1_min.minimum_payout = Some("500.00".parse().unwrap());
        let next =
            compute_payouts(&[b1_min, beneficiary("B2", "EUR")], &orders, &channel, &recon, &rates, policy, &carried)
                .unwrap()
                .payouts;
        assert_eq!(next[0].status, PayoutStatus::BelowMinimum);
        assert!(next[0].carries_balance());
        assert_eq!(next[1].amount.to_string(), "-1.00 EUR", "−0.50 carried in and −0.50 tonight");
        assert_eq!(next[1].components.iter().filter(|c| c.is_carried()).count(), 1);
        // A beneficiary with only a carried balance still gets its payout line.
        let only = compute_payouts(
            &[beneficiary("B7", "EUR")],
            &[],
            &[],
            &recon_empty(),
            &rates,
            policy,
            &[CarriedBalance {
                beneficiary_id: "B7".into(),
                amount: Money::new("12.00".parse().unwrap(), cur("EUR")),
                kind: BalanceKind::Carried { since },
            }],
        )
        .unwrap()
        .payouts;
        assert_eq!(
            (only.len(), only[0].amount.to_string(), only[0].status),
            (1, "12.00 EUR".to_string(), PayoutStatus::Payable)
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        /// Money in = money out per beneficiary, to the minor unit: Σ settled net − commission + balances
        /// brought in = the payout (paid or carried) + the reserves still held.
        #[test]
        fn settled_and_carried_money_is_paid_carried_or_held(
            rows in proptest::collection::vec((0usize..4, 1i64..100_000, 0i64..10, proptest::bool::weighted(0.2)), 1..40),
            minimums in proptest::collection::vec(proptest::option::of(0i64..200_000), 4),
            carried_cents in proptest::collection::vec(proptest::option::of(-50_000i64..50_000), 4),
            reserve_bps in proptest::collection::vec(proptest::option::of(0i64..10_000), 4),
            plan_bps in 0i64..1_000,
            plan_fixed_cents in 0i64..100,
            due in proptest::collection::vec(proptest::bool::ANY, 4),
        ) {
            let plan = FeePlan {
                id: "p".into(),
                rules: vec![FeeRule {
                    channel: None,
                    kind: Some(ChannelKind::Charge),
                    percent: Decimal::new(plan_bps, 2),
                    fixed: [(cur("EUR"), Decimal::new(plan_fixed_cents, 2))].into(),
                }],
            };
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
                // Beneficiaries B0 and B2 are on the fee plan: the commission is taken per charge.
                let commission = if b % 2 == 0 && !refund {
                    let exact = net * Decimal::new(plan_bps, 2) / Decimal::ONE_HUNDRED + Decimal::new(plan_fixed_cents, 2);
                    Money::new(exact, cur("EUR")).round_to_minor(RoundingMode::HalfEven).unwrap().amount()
                } else {
                    Decimal::ZERO
                };
                *expected.entry(beneficiary).or_default() += net - commission;
            }
            proptest::prop_assume!(batch_net > Decimal::ZERO);
            let bank = vec![credit("c1", &batch_net.to_string(), "EUR", "po1")];
            let recon = settle_recon::reconcile(&orders, &channel, &bank).unwrap();
            let beneficiaries: Vec<Beneficiary> = (0..4)
                .map(|b| Beneficiary {
                    minimum_payout: minimums[b].map(|m| Decimal::new(m, 2)),
                    fee_plan: (b % 2 == 0).then(|| "p".to_string()),
                    reserve_percent: reserve_bps[b].map(|r| Decimal::new(r, 2)),
                    reserve_release_business_days: Some(3),
                    // Due: every night; not due: Mondays only (the business date is a Friday).
                    schedule: settle_core::PayoutSchedule::parse(if due[b] { "daily" } else { "weekly:mon" }).unwrap(),
                    ..beneficiary(&format!("B{b}"), "EUR")
                })
                .collect();
            let carried: Vec<CarriedBalance> = (0..4)
                .filter_map(|b| carried_cents[b].map(|c| CarriedBalance { beneficiary_id: format!("B{b}"), amount: Money::new(Decimal::new(c, 2), cur("EUR")), kind: BalanceKind::Carried { since: parse_date("2026-10-29").unwrap() } }))
                .collect();
            for c in &carried {
                *expected.entry(c.beneficiary_id.clone()).or_default() += c.amount.amount();
            }
            let plans = [plan];
            let policy = policy("p", "2026-10-30", &plans);
            let rates = RateTable::new(Vec::new()).unwrap();
            let run = compute_payouts(&beneficiaries, &orders, &channel, &recon, &rates, policy, &carried).unwrap();
            let mut accounted: BTreeMap<String, Decimal> = BTreeMap::new();
            for p in &run.payouts {
                let b = beneficiaries.iter().find(|b| b.beneficiary_id == p.beneficiary_id).unwrap();
                let payable = p.amount.amount() > Decimal::ZERO
                    && b.schedule == settle_core::PayoutSchedule::Daily
                    && b.minimum_payout.is_none_or(|m| p.amount.amount() >= m);
                proptest::prop_assert_eq!(p.status == PayoutStatus::Payable, payable, "{:?}", p);
                proptest::prop_assert!(p.status == PayoutStatus::Payable || p.carries_balance() || p.amount.amount().is_zero());
                *accounted.entry(p.beneficiary_id.clone()).or_default() += p.amount.amount();
            }
            for r in &run.reserves {
                proptest::prop_assert!(r.amount.amount() > Decimal::ZERO);
                *accounted.entry(r.beneficiary_id.clone()).or_default() += r.amount.amount();
            }
            proptest::prop_assert_eq!(accounted, expected);
        }
    }

    #[test]
    fn commission_reserve_schedule_and_returns() {
        let orders = vec![order("O1", "B1", "100.00"), order("O2", "B1", "50.00"), order("O2-R", "B1", "-20.00")];
        let channel = vec![
            tx("t1", ChannelKind::Charge, "O1", "100.00", "97.00", "EUR", "p1"),
            tx("t2", ChannelKind::Charge, "O2", "50.00", "48.50", "EUR", "p1"),
            tx("t3", ChannelKind::Refund, "O2-R", "-20.00", "-20.00", "EUR", "p1"),
        ];
        let recon = settle_recon::reconcile(&orders, &channel, &[credit("b1", "125.50", "EUR", "p1")]).unwrap();
        let plan = FeePlan {
            id: "std".into(),
            rules: vec![
                FeeRule {
                    channel: None,
                    kind: Some(ChannelKind::Refund),
                    percent: Decimal::ZERO,
                    fixed: BTreeMap::new(),
                },
                FeeRule {
                    channel: Some("stripe".into()),
                    kind: None,
                    percent: "2.5".parse().unwrap(),
                    fixed: [(cur("EUR"), "0.25".parse().unwrap())].into(),
                },
            ],
        };
        let b1 = Beneficiary {
            fee_plan: Some("std".into()),
            reserve_percent: Some("10".parse().unwrap()),
            reserve_release_business_days: Some(2),
            schedule: settle_core::PayoutSchedule::parse("weekly:fri").unwrap(),
            ..beneficiary("B1", "EUR")
        };
        let d = |t: &str| parse_date(t).unwrap();
        let eur = |t: &str| Money::new(t.parse().unwrap(), cur("EUR"));
        let brought = [
            CarriedBalance {
                beneficiary_id: "B1".into(),
                amount: eur("5.00"),
                kind: BalanceKind::Reserve { held_on: d("2026-10-27"), release_on: d("2026-10-29") },
            },
            CarriedBalance {
                beneficiary_id: "B1".into(),
                amount: eur("7.00"),
                kind: BalanceKind::Reserve { held_on: d("2026-10-29"), release_on: d("2026-11-05") },
            },
            CarriedBalance {
                beneficiary_id: "B1".into(),
                amount: eur("30.00"),
                kind: BalanceKind::Returned { payout_id: "PO-X".into(), reason: "AC04".into() },
            },
        ];
        let plans = [plan];
        let policy =
            PayoutPolicy { previous_business_date: Some(d("2026-10-29")), ..policy("t", "2026-10-30", &plans) };
        let rates = RateTable::new(Vec::new()).unwrap();
        let run =
            compute_payouts(std::slice::from_ref(&b1), &orders, &channel, &recon, &rates, policy, &brought).unwrap();
        let p = &run.payouts[0];
        // Commission: 97.00 × 2.5 % + 0.25 = 2.675 → 2.68; 48.50 × 2.5 % + 0.25 = 1.4625 → 1.46; the
        // refund's rule takes none. Reserve: 10 % of the charges' 145.50 = 14.55, released Tuesday.
        let lines: Vec<(&str, String)> =
            p.components.iter().map(|c| (c.source.as_str(), c.settled.amount().to_string())).collect();
        assert_eq!(
            lines,
            [
                ("reserve_released", "5.00".to_string()),
                ("returned", "30.00".to_string()),
                ("subtotal", "125.50".to_string()),
                ("commission", "-4.14".to_string()),
                ("reserve_held", "-14.55".to_string()),
            ]
        );
        assert_eq!(p.amount, eur("141.81"));
        assert_eq!(p.status, PayoutStatus::Payable, "Friday is the beneficiary's payout day");
        assert_eq!((p.total_of("commission"), p.transactions()), ("-4.14".parse().unwrap(), 3));
        let kept: Vec<(String, String)> = run
            .reserves
            .iter()
            .map(|r| match r.kind {
                BalanceKind::Reserve { held_on, release_on } => {
                    (r.amount.to_string(), format!("{held_on}→{release_on}"))
                }
                _ => unreachable!(),
            })
            .collect();
        assert_eq!(
            kept,
            [
                ("7.00 EUR".to_string(), "2026-10-29→2026-11-05".to_string()),
                ("14.55 EUR".to_string(), "2026-10-30→2026-11-03".to_string())
            ]
        );
        // Saturday, after Friday's run: not a payout day; the balance is carried.
        let saturday =
            PayoutPolicy { business_date: d("2026-10-31"), previous_business_date: Some(d("2026-10-30")), ..policy };
        let run = compute_payouts(&[b1], &orders, &channel, &recon, &rates, saturday, &[]).unwrap();
        assert_eq!(run.payouts[0].status, PayoutStatus::NotDue);
        assert!(run.payouts[0].carries_balance());
        // A fee plan the job does not define is an error naming the beneficiaries file's line.
        let unknown = Beneficiary { fee_plan: Some("gold".into()), ..beneficiary("B1", "EUR") };
        let error = compute_payouts(&[unknown], &orders, &channel, &recon, &rates, policy, &[]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "beneficiaries.csv:2: beneficiary B1 names fee plan \"gold\", which the job does not define"
        );
        // Released at the channel match: tonight's rows count whatever their batch's bank credit.
        let unpaid = settle_recon::reconcile(&orders, &channel, &[]).unwrap();
        let at_match = PayoutPolicy { release: Release::ChannelMatch, fee_plans: &[], ..policy };
        let plain = beneficiary("B1", "EUR");
        let run =
            compute_payouts(std::slice::from_ref(&plain), &orders, &channel, &unpaid, &rates, at_match, &[]).unwrap();
        assert_eq!(run.payouts[0].amount, eur("125.50"));
        let by_credit = compute_payouts(&[plain], &orders, &channel, &unpaid, &rates, policy, &[]).unwrap();
        assert!(by_credit.payouts.is_empty(), "no bank credit yet: nothing is released");
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
