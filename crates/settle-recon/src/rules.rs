//! Matching rules as a job declares them (`[[recon.stage_b]]` in a job spec): applied in order, each with
//! an id that every match it makes carries.

use regex::Regex;
use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use settle_core::{Calendar, Date, Money};

/// The rules of a job's reconciliation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReconRules {
    /// Stage B: channel payout batches ↔ bank credits. Tried in order; a batch or credit matched by one
    /// rule is out of the later ones. Default: one rule, `B1 batch_reference_exact` (the credit's
    /// reference field is the batch id, amounts equal).
    #[serde(default = "default_stage_b")]
    pub stage_b: Vec<BatchRule>,
    /// Stage A: further order ↔ channel rules, tried in order after the exact rules (`A1` same id,
    /// amount and currency; `A2` partial captures) for rows they left: another key on the channel side,
    /// and/or an amount tolerance. Default: none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stage_a: Vec<OrderRule>,
    /// Read the open items that the job's latest earlier run left (its run directory's `open_*` files)
    /// and match them tonight. Default true.
    #[serde(default = "yes")]
    pub carry_open_items: bool,
    /// Open items older than this many business days (by their own date) leave the open list as
    /// written off (`written_off.csv`) instead of being carried; never when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub write_off_after_business_days: Option<u32>,
}

fn yes() -> bool {
    true
}

impl Default for ReconRules {
    fn default() -> ReconRules {
        ReconRules {
            stage_b: default_stage_b(),
            stage_a: Vec::new(),
            carry_open_items: true,
            write_off_after_business_days: None,
        }
    }
}

fn default_stage_b() -> Vec<BatchRule> {
    vec![BatchRule { id: "B1 batch_reference_exact".into(), ..BatchRule::default() }]
}

/// One stage B rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct BatchRule {
    /// Named in every match the rule makes (`matches.csv` column `rule`).
    pub id: String,
    /// `reference`: the credit's text names the batch; `subset_sum`: credits that name no batch, matched
    /// to the one set of open batches whose net adds up to them (never a guess: several sets are an
    /// `ambiguous_match` exception listing them).
    #[serde(default)]
    pub method: BatchMethod,
    /// Only batches of this channel (`stripe`, `adyen`, …); all channels when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// Where the credit's text is read (`reference` method): `reference` (camt `EndToEndId`/`AcctSvcrRef`,
    /// MT940 `:61:` reference), `remittance` (camt `Ustrd`, MT940 `:86:`), or `any` (both).
    #[serde(default)]
    pub text: TextSource,
    /// A regular expression finding batch references in that text (its first group, or the whole match;
    /// every match counts, so one credit can name several batches). Without it the whole text is the
    /// reference. References compare normalised: upper case, without spaces, `-`, `_`, `/` and `.`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    /// An amount difference up to this many minor units of the currency still matches (it is recorded).
    #[serde(default)]
    pub tolerance_minor: u32,
    /// … or up to this many basis points of the batch net (either tolerance suffices).
    #[serde(default)]
    pub tolerance_bps: u32,
    /// The credit's booking date must fall from the batch's date (its payout date, else its last booking
    /// date) to this many business days after it; any date when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_window_days: Option<u32>,
    /// `subset_sum`: at most this many candidate batches per credit (beyond it the credit is left to the
    /// next rule); default 12.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_candidates: Option<u32>,
    /// `subset_sum`: at most this many batches in one credit; default 4.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_batches: Option<u32>,
}

/// One stage A rule: a charge or refund the exact rules left ↔ an order not yet matched.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct OrderRule {
    /// Named in every match the rule makes.
    pub id: String,
    /// Only this channel's rows; all channels when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// The channel row's field holding our order id: `merchant_reference` (default) or
    /// `metadata:<column>` (a metadata column the profile kept, e.g. `metadata:payment_metadata[order_id]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// An amount difference up to this many minor units still matches (it is recorded).
    #[serde(default)]
    pub tolerance_minor: u32,
    /// … or up to this many basis points of the order amount.
    #[serde(default)]
    pub tolerance_bps: u32,
}

impl OrderRule {
    /// The order id this rule reads on a channel row.
    pub(crate) fn key_of<'t>(&self, tx: &'t settle_core::ChannelTransaction) -> Option<&'t str> {
        match self.key.as_deref().and_then(|k| k.strip_prefix("metadata:")) {
            Some(column) => tx.metadata.iter().find(|(name, _)| name == column).map(|(_, v)| v.as_str()),
            None => tx.merchant_reference.as_deref(),
        }
    }

    pub(crate) fn applies_to(&self, channel: &str) -> bool {
        self.channel.as_deref().is_none_or(|c| c == channel)
    }

    /// Whether `actual` is within the rule's tolerance of `expected` (same currency).
    pub(crate) fn within_tolerance(&self, expected: Money, actual: Money) -> bool {
        within(expected, actual, self.tolerance_minor, self.tolerance_bps)
    }
}

/// |actual − expected| ≤ minor units, or ≤ bps of |expected|; never across currencies.
fn within(expected: Money, actual: Money, tolerance_minor: u32, tolerance_bps: u32) -> bool {
    if expected.currency() != actual.currency() {
        return false;
    }
    let Some(difference) = actual.amount().checked_sub(expected.amount()).map(|d| d.abs()) else {
        return false;
    };
    if difference.is_zero() {
        return true;
    }
    let unit = Decimal::new(1, u32::from(expected.currency().minor_units().unwrap_or(0)));
    // Checked: amounts are bounded (settle_core::AMOUNT_INTEGER_DIGITS_MAX) but sums of them need not be;
    // a product out of range is no match rather than a panic.
    let scaled = |a: Decimal, b: u32| a.checked_mul(Decimal::from(b));
    difference <= unit * Decimal::from(tolerance_minor)
        || matches!(
            (scaled(difference, 10_000), scaled(expected.amount().abs(), tolerance_bps)),
            (Some(d), Some(e)) if d <= e
        )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum BatchMethod {
    #[default]
    Reference,
    SubsetSum,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum TextSource {
    #[default]
    Reference,
    Remittance,
    Any,
}

/// A rule ready to apply: its pattern compiled.
#[derive(Debug, Clone)]
pub(crate) struct Compiled {
    pub rule: BatchRule,
    pub pattern: Option<Regex>,
}

/// A rule the engine cannot apply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("recon rule {id:?}: {message}")]
pub struct RuleError {
    pub id: String,
    pub message: String,
}

pub(crate) const SUBSET_CANDIDATES_DEFAULT: u32 = 12;
pub(crate) const SUBSET_CANDIDATES_MAX: u32 = 24;
pub(crate) const SUBSET_BATCHES_DEFAULT: u32 = 4;

impl ReconRules {
    pub(crate) fn compile(&self) -> Result<Vec<Compiled>, RuleError> {
        // Every rule id once (the built-in stage A ones included), none empty.
        let mut seen: Vec<&str> = vec!["A1 order_id_exact", "A2 order_id_partial_captures"];
        let ids = self.stage_a.iter().map(|r| &r.id).chain(self.stage_b.iter().map(|r| &r.id));
        for id in ids {
            let error = |message: &str| RuleError { id: id.clone(), message: message.into() };
            if id.trim().is_empty() {
                return Err(error("a rule needs an id"));
            }
            if seen.contains(&id.as_str()) {
                return Err(error("two rules have this id"));
            }
            seen.push(id);
        }
        for rule in &self.stage_a {
            let error = |message: String| RuleError { id: rule.id.clone(), message };
            if let Some(key) = rule.key.as_deref()
                && key != "merchant_reference"
                && !key.starts_with("metadata:")
            {
                return Err(error(format!("key {key:?}: expected `merchant_reference` or `metadata:<column>`")));
            }
        }
        self.stage_b
            .iter()
            .map(|rule| {
                let error = |message: String| RuleError { id: rule.id.clone(), message };
                if rule.max_candidates.unwrap_or(SUBSET_CANDIDATES_DEFAULT) > SUBSET_CANDIDATES_MAX {
                    return Err(error(format!(
                        "max_candidates is at most {SUBSET_CANDIDATES_MAX} (the search visits up to 2^max_candidates sets)"
                    )));
                }
                let pattern = rule
                    .pattern
                    .as_deref()
                    .map(|p| Regex::new(p).map_err(|e| error(format!("pattern {p:?}: {e}"))))
                    .transpose()?;
                Ok(Compiled { rule: rule.clone(), pattern })
            })
            .collect()
    }
}

/// A reference as compared: upper case, without spaces and the separators `-`, `_`, `/`, `.`.
pub fn normalise_reference(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '-' | '_' | '/' | '.'))
        .flat_map(char::to_uppercase)
        .collect()
}

impl Compiled {
    /// The normalised references the rule finds in a credit's texts, in text order, without repeats.
    pub(crate) fn references(&self, reference: Option<&str>, remittance: Option<&str>) -> Vec<String> {
        let texts: Vec<&str> = match self.rule.text {
            TextSource::Reference => reference.into_iter().collect(),
            TextSource::Remittance => remittance.into_iter().collect(),
            TextSource::Any => reference.into_iter().chain(remittance).collect(),
        };
        let mut out: Vec<String> = Vec::new();
        for text in texts {
            let found: Vec<String> = match &self.pattern {
                None => vec![normalise_reference(text)],
                Some(regex) => regex
                    .captures_iter(text)
                    .filter_map(|c| c.get(1).or_else(|| c.get(0)))
                    .map(|m| normalise_reference(m.as_str()))
                    .collect(),
            };
            for reference in found {
                if !reference.is_empty() && !out.contains(&reference) {
                    out.push(reference);
                }
            }
        }
        out
    }

    /// Whether `credit` is within the rule's tolerance of `expected` (same currency).
    pub(crate) fn within_tolerance(&self, expected: Money, credit: Money) -> bool {
        within(expected, credit, self.rule.tolerance_minor, self.rule.tolerance_bps)
    }

    /// Whether a credit booked on `booked` is in the rule's window after `batch_date`.
    pub(crate) fn in_window(&self, calendar: &Calendar, batch_date: Date, booked: Date) -> bool {
        let Some(days) = self.rule.date_window_days else { return true };
        if booked < batch_date {
            return false;
        }
        match calendar.add_business_days(batch_date, i32::try_from(days).unwrap_or(i32::MAX)) {
            Ok(last) => booked <= last,
            Err(_) => true,
        }
    }

    pub(crate) fn applies_to(&self, channel: &str) -> bool {
        self.rule.channel.as_deref().is_none_or(|c| c == channel)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by the hostile corpus (28-digit amounts in a channel report): `difference × 10 000`
    /// overflowed `Decimal` and the run panicked. Now checked: out of range is no match.
    #[test]
    fn tolerance_on_the_largest_amounts_does_not_overflow() {
        let eur = settle_core::Currency::from_code("EUR").unwrap();
        let huge = |text: &str| Money::new(text.parse().unwrap(), eur);
        let max = "79228162514264337593543950335";
        assert!(!within(huge("1"), huge(max), 0, 5));
        assert!(!within(huge(max), huge("-1"), 0, u32::MAX));
        assert!(within(huge("999999999999999999.99"), huge("999999999999999999.99"), 0, 0));
        assert!(within(huge("999999999999999999.99"), huge("999999999999999999.98"), 1, 0));
    }

    #[test]
    fn references_are_found_and_normalised() {
        let rule = ReconRules {
            stage_b: vec![BatchRule {
                id: "B2".into(),
                text: TextSource::Any,
                pattern: Some(r"(?i)\b(po_[a-z0-9]+)".into()),
                ..BatchRule::default()
            }],
            ..ReconRules::default()
        }
        .compile()
        .unwrap()
        .remove(0);
        let refs = rule.references(Some("PO_ABC"), Some("STRIPE PAYOUT po_abc po_def / po_abc"));
        assert_eq!(refs, ["POABC", "PODEF"]);
        assert_eq!(normalise_reference(" ab-12_3/x.y "), "AB123XY");
    }

    #[test]
    fn bad_rules_are_named() {
        let bad = ReconRules {
            stage_b: vec![BatchRule { id: "B9".into(), pattern: Some("(".into()), ..BatchRule::default() }],
            ..ReconRules::default()
        };
        assert!(bad.compile().unwrap_err().to_string().starts_with("recon rule \"B9\": pattern \"(\""));
        let twice = ReconRules {
            stage_b: vec![BatchRule { id: "B1".into(), ..BatchRule::default() }; 2],
            ..ReconRules::default()
        };
        assert_eq!(twice.compile().unwrap_err().to_string(), "recon rule \"B1\": two rules have this id");
    }
}
