//! summary.json: counts per status and totals per currency, for machines.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};
use settle_core::{Currency, Date, Money, RoundingMode, format_minor};
use settle_fx::{ConversionPolicy, FxError, RateTable, RecordedConversion};
use settle_payout::{Payout, PayoutStatus};
use settle_recon::{CountSum, Exception, Match, ReasonCode, Stage, Tallies};

/// What the summary is built from.
pub struct SummaryInput<'a> {
    pub job_name: &'a str,
    pub business_date: Date,
    pub reporting_currency: Currency,
    pub rounding: RoundingMode,
    pub max_rate_age_days: u32,
    pub input_rows: &'a BTreeMap<&'a str, u64>,
    pub tallies: &'a Tallies,
    pub counts: &'a Counts,
    pub rates: &'a RateTable,
}

/// What the summary counts of matches, exceptions and payouts. Counts of parts of a night (the
/// partitions of a partitioned run) add up to the whole night's (`Counts::add`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    pub matches_by_stage: BTreeMap<Stage, u64>,
    pub exceptions: BTreeMap<(ReasonCode, Stage), u64>,
    pub payouts: u64,
    pub payouts_by_status: BTreeMap<String, u64>,
    /// Σ payable payouts per currency.
    pub payable_totals: BTreeMap<Currency, Money>,
}

impl Counts {
    pub fn of(matches: &[Match], exceptions: &[Exception], payouts: &[Payout]) -> Counts {
        let mut counts = Counts::default();
        for m in matches {
            counts.add_match(m.stage);
        }
        for e in exceptions {
            counts.add_exception(e.reason, e.stage);
        }
        for p in payouts {
            counts.add_payout(p.status.as_str(), p.amount);
        }
        counts
    }

    pub fn add_match(&mut self, stage: Stage) {
        *self.matches_by_stage.entry(stage).or_default() += 1;
    }

    pub fn add_exception(&mut self, reason: ReasonCode, stage: Stage) {
        *self.exceptions.entry((reason, stage)).or_default() += 1;
    }

    /// A payout of `status` (`PayoutStatus::as_str`) for `amount`.
    pub fn add_payout(&mut self, status: &str, amount: Money) {
        self.payouts += 1;
        *self.payouts_by_status.entry(status.to_string()).or_default() += 1;
        if status == PayoutStatus::Payable.as_str() {
            let total = self.payable_totals.entry(amount.currency()).or_insert(Money::zero(amount.currency()));
            *total = total.checked_add(&amount).expect("payout totals stay far below 10^28");
        }
    }
}

/// The summary and the conversions made for its reporting-currency totals.
pub struct Summary {
    pub json: Value,
    pub conversions: Vec<RecordedConversion>,
    /// True when every record matched: no open item, exception or rejected row.
    pub all_settled: bool,
}

const STATUSES: [&str; 4] = ["matched", "open", "exception", "rejected"];

fn status_parts(t: &settle_recon::Tally) -> [CountSum; 4] {
    [t.matched, t.open, t.exception, t.rejected]
}

fn money_text(amount: rust_decimal::Decimal, currency: Currency) -> Value {
    Value::String(format_minor(amount, currency))
}

/// Builds summary.json. Reporting-currency totals convert each per-currency total separately (each
/// conversion recorded) and add the rounded results.
pub fn build_summary(input: &SummaryInput<'_>) -> Result<Summary, FxError> {
    let policy = ConversionPolicy { max_rate_age_days: input.max_rate_age_days, rounding: input.rounding };
    let mut conversions = Vec::new();
    let mut to_reporting = |money: Money, reference: String| -> Result<Money, FxError> {
        if money.currency() == input.reporting_currency {
            return Ok(money);
        }
        let conversion = input.rates.convert(money, input.reporting_currency, input.business_date, policy)?;
        let to = conversion.to;
        conversions.push(RecordedConversion { purpose: "reporting", reference, conversion });
        Ok(to)
    };

    let mut records: BTreeMap<&str, BTreeMap<&str, u64>> = BTreeMap::new();
    let mut stages: BTreeMap<&str, BTreeMap<&str, BTreeMap<&str, Value>>> = BTreeMap::new();
    let mut reporting: BTreeMap<&str, BTreeMap<&str, BTreeMap<&str, Money>>> = BTreeMap::new();
    for ((stage, kind, currency), tally) in input.tallies {
        let counts = records.entry(stage.as_str()).or_default();
        let mut per_status = Map::new();
        per_status.insert(
            "input".into(),
            json!({"count": tally.input.count, "amount": money_text(tally.input.amount, *currency)}),
        );
        for (name, part) in STATUSES.iter().zip(status_parts(tally)) {
            *counts.entry(name).or_default() += part.count;
            per_status
                .insert((*name).into(), json!({"count": part.count, "amount": money_text(part.amount, *currency)}));
            if part.count > 0 {
                let reference = format!("{}/{}/{}/{}", stage.as_str(), kind.as_str(), name, currency);
                let converted = to_reporting(Money::new(part.amount, *currency), reference)?;
                let total = reporting
                    .entry(stage.as_str())
                    .or_default()
                    .entry(kind.as_str())
                    .or_default()
                    .entry(name)
                    .or_insert(Money::zero(input.reporting_currency));
                *total = total.checked_add(&converted).expect("reporting totals stay far below 10^28");
            }
        }
        stages
            .entry(stage.as_str())
            .or_default()
            .entry(kind.as_str())
            .or_default()
            .insert(currency.code(), Value::Object(per_status));
    }

    let mut by_reason: BTreeMap<&str, (Value, BTreeMap<&str, u64>, u64)> = BTreeMap::new();
    for (&(reason, stage), &count) in &input.counts.exceptions {
        let entry = by_reason.entry(reason.as_str()).or_insert_with(|| {
            (json!({"status": reason.class().as_str(), "severity": reason.severity().as_str()}), BTreeMap::new(), 0)
        });
        *entry.1.entry(stage.as_str()).or_default() += count;
        entry.2 += count;
    }
    let exceptions_by_reason: Map<String, Value> = by_reason
        .into_iter()
        .map(|(reason, (mut meta, per_stage, count))| {
            meta["count"] = json!(count);
            meta["stages"] = json!(per_stage);
            (reason.to_string(), meta)
        })
        .collect();

    let matches_by_stage: BTreeMap<&str, u64> =
        input.counts.matches_by_stage.iter().map(|(stage, n)| (stage.as_str(), *n)).collect();
    let payout_status = &input.counts.payouts_by_status;
    let payout_totals = &input.counts.payable_totals;
    let mut payable_reporting = Money::zero(input.reporting_currency);
    for (currency, total) in payout_totals {
        let converted = to_reporting(*total, format!("payouts/payable/{currency}"))?;
        payable_reporting = payable_reporting.checked_add(&converted).expect("payout totals stay far below 10^28");
    }

    let reporting_json: BTreeMap<&str, BTreeMap<&str, BTreeMap<&str, Value>>> = reporting
        .into_iter()
        .map(|(stage, kinds)| {
            let kinds = kinds
                .into_iter()
                .map(|(kind, statuses)| {
                    let statuses =
                        statuses.into_iter().map(|(s, m)| (s, money_text(m.amount(), m.currency()))).collect();
                    (kind, statuses)
                })
                .collect();
            (stage, kinds)
        })
        .collect();

    let all_settled = input.counts.exceptions.is_empty();
    let json = json!({
        "job": input.job_name,
        "business_date": input.business_date.to_string(),
        "outcome": if all_settled { "settled" } else { "exceptions" },
        "exit_code": if all_settled { 0 } else { 1 },
        "reporting_currency": input.reporting_currency.code(),
        "rounding": input.rounding.as_str(),
        "input_rows": input.input_rows,
        "records_by_status": records,
        "matches": matches_by_stage,
        "exceptions_by_reason": exceptions_by_reason,
        "stages": stages,
        "payouts": {
            "count": input.counts.payouts,
            "by_status": payout_status,
            "payable_totals": payout_totals.iter().map(|(c, m)| (c.code(), money_text(m.amount(), *c))).collect::<BTreeMap<_, _>>(),
        },
        "reporting_totals": {
            "currency": input.reporting_currency.code(),
            "stages": reporting_json,
            "payouts_payable": money_text(payable_reporting.amount(), input.reporting_currency),
        },
    });
    Ok(Summary { json, conversions, all_settled })
}

/// Renders JSON deterministically (sorted keys, two-space indent, trailing newline).
pub fn render_json(value: &Value) -> Result<Vec<u8>, serde_json::Error> {
    let mut bytes = serde_json::to_vec_pretty(value)?;
    bytes.push(b'\n');
    Ok(bytes)
}
