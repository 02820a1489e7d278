//! Declarative CSV profiles: how one channel's (or bank's) CSV maps onto settle's canonical records.
//!
//! A profile is TOML (schemas/profile.schema.json). The built-in profiles (`profiles/*.toml` in this
//! crate) are written in the same format and shipped inside the binary; a job can name its own file.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use settle_core::{ChannelKind, OrderKind};

/// One CSV layout and how it maps to canonical records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// Short name used by jobs and `--profile` (letters, digits, `_`).
    pub name: String,
    /// One line: which report, which versions.
    pub description: String,
    /// What the rows become.
    pub record: RecordKind,
    /// The channel name written on every row (`adyen`, `stripe`, …); channel transactions only.
    #[serde(default)]
    pub channel: Option<String>,
    #[serde(default)]
    pub csv: CsvFormat,
    #[serde(default)]
    pub numbers: NumberFormat,
    #[serde(default)]
    pub dates: DateFormat,
    /// Canonical field → the column(s) holding it.
    pub columns: ColumnMap,
    /// How gross, fee, net and presentment amounts are written.
    #[serde(default)]
    pub amounts: Amounts,
    /// The channel's type codes (values of `columns.type`) → canonical kinds. A code not listed
    /// becomes `other` with a warning, unless `kind_default` says otherwise.
    #[serde(default)]
    pub kinds: BTreeMap<String, ChannelKind>,
    /// Type code prefixes → kinds, for codes not in `kinds` (PayPal T-codes: `T04` → payout). The longest
    /// matching prefix wins.
    #[serde(default)]
    pub kind_prefixes: BTreeMap<String, ChannelKind>,
    /// The kind of rows whose type code is not in `kinds` (default `other`, with a warning).
    #[serde(default)]
    pub kind_default: Option<ChannelKind>,
    /// Orders: the shop's order types or statuses (values of `columns.type`) → `sale` or `refund`.
    /// Without a `type` column an order's kind is its amount's sign (positive: sale, negative: refund).
    #[serde(default)]
    pub order_kinds: BTreeMap<String, OrderKind>,
    /// Columns the file must have besides the mapped ones the reader cannot do without.
    #[serde(default)]
    pub required: Vec<String>,
    /// Columns that identify this layout for `--profile auto`: all of them must be in the header.
    pub detect: Vec<String>,
    /// Columns kept as written on every row (`metadata`), by exact name or by prefix.
    #[serde(default)]
    pub metadata: Metadata,
    /// Values that mean "empty" in any column (e.g. `<auto>`, `N/A`).
    #[serde(default)]
    pub null_values: Vec<String>,
}

/// What a profile's rows become.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RecordKind {
    ChannelTransactions,
    BankEntries,
    /// Our own orders (sales and refunds), the first link of the money trail.
    Orders,
    /// The parties we pay out to.
    Beneficiaries,
}

impl RecordKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RecordKind::ChannelTransactions => "channel_transactions",
            RecordKind::BankEntries => "bank_entries",
            RecordKind::Orders => "orders",
            RecordKind::Beneficiaries => "beneficiaries",
        }
    }
}

/// The file's shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct CsvFormat {
    /// One character; write `"\t"` for tab.
    pub delimiter: String,
    /// One character.
    pub quote: String,
    /// `utf-8` (a BOM is skipped), `utf-16` (with a BOM), `windows-1252` or `iso-8859-1`.
    pub encoding: String,
    /// Lines before the header to skip (report preambles).
    pub skip_lines: usize,
    /// The header is the first row whose first cell is this (PayPal's `CH`); rows before it are skipped.
    pub header_first_cell: Option<String>,
    /// Only rows whose first cell is this are data (PayPal's `SB`); other rows (headers, footers of
    /// sections) are skipped and counted.
    pub data_first_cell: Option<String>,
    /// The longest line accepted (default `LINE_BYTES_MAX`, for files from outside); settle's own carry
    /// files, checked by their sha256, are read without a limit.
    #[serde(skip)]
    #[schemars(skip)]
    pub line_bytes_max: Option<usize>,
}

impl Default for CsvFormat {
    fn default() -> Self {
        CsvFormat {
            delimiter: ",".into(),
            quote: "\"".into(),
            encoding: "utf-8".into(),
            skip_lines: 0,
            header_first_cell: None,
            data_first_cell: None,
            line_bytes_max: None,
        }
    }
}

/// How numbers are written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct NumberFormat {
    /// `.` or `,`.
    pub decimal: String,
    /// Thousands grouping character, or empty for none.
    pub thousands: String,
    /// Amounts are integers in the currency's minor units (`10000` is 100.00 USD, 10000 JPY).
    pub minor_units: bool,
    /// Columns whose amounts carry more fraction digits than their currency's minor units (a channel's
    /// unrounded FX amounts). In every other column an amount with more (non-zero) fraction digits than
    /// the currency has is an error naming the cell, as in the canonical layouts.
    pub extra_precision: Vec<String>,
}

impl Default for NumberFormat {
    fn default() -> Self {
        NumberFormat { decimal: ".".into(), thousands: String::new(), minor_units: false, extra_precision: Vec::new() }
    }
}

/// How dates and times are written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct DateFormat {
    /// strftime format of `columns.booked_at` (joined with `columns.booked_time` by a space when
    /// that is set), e.g. `%Y-%m-%d %H:%M:%S` or `%d/%m/%Y`. Several are tried in order.
    pub formats: Vec<String>,
    /// strftime formats of `columns.payout_date` (default: the same as `formats`).
    pub payout_formats: Vec<String>,
    /// The zone of every time when the file has no zone column: an IANA name, `UTC` or `+01:00`.
    pub zone: Option<String>,
}

impl Default for DateFormat {
    fn default() -> Self {
        DateFormat { formats: vec!["%Y-%m-%d".into()], payout_formats: Vec::new(), zone: None }
    }
}

/// One field's source: a column, or several candidates tried in order (the first that the header has
/// and the row fills).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Columns {
    One(String),
    Candidates(Vec<String>),
    /// The filled values of several columns joined (`{ join = ["Action ID", "Breakdown Type"], separator
    /// = "/" }`): for reports with one row per part of a transaction.
    Join {
        join: Vec<String>,
        separator: String,
    },
}

impl Columns {
    /// The column names, without building a list.
    pub fn name_slice(&self) -> &[String] {
        match self {
            Columns::One(name) => std::slice::from_ref(name),
            Columns::Candidates(names) | Columns::Join { join: names, .. } => names,
        }
    }

    pub fn names(&self) -> Vec<&str> {
        match self {
            Columns::One(name) => vec![name.as_str()],
            Columns::Candidates(names) | Columns::Join { join: names, .. } => {
                names.iter().map(String::as_str).collect()
            }
        }
    }
}

/// Canonical field → column(s). Which fields a record kind needs is said in docs/formats.md.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ColumnMap {
    // Channel transactions.
    /// The channel name per row (canonical files); else the profile's `channel`.
    pub channel: Option<Columns>,
    pub transaction_id: Option<Columns>,
    /// When this column is empty the row is batch-level (no payment of its own): its transaction id is
    /// made from the batch, the type and the line (`380-Fee-L229`).
    pub batch_level_when_empty: Option<String>,
    pub merchant_reference: Option<Columns>,
    #[serde(rename = "type")]
    pub type_code: Option<Columns>,
    pub settlement_currency: Option<Columns>,
    pub presentment_currency: Option<Columns>,
    pub exchange_rate: Option<Columns>,
    pub batch_id: Option<Columns>,
    /// The booking date (or date and time).
    pub booked_at: Option<Columns>,
    /// A separate time column joined to `booked_at` (PayPal's `Date` + `Time`).
    pub booked_time: Option<Columns>,
    /// The zone of `booked_at`, as a column (`CET`, `PDT`, `Europe/Berlin`), candidates index-aligned
    /// with `booked_at`'s.
    pub booked_zone: Option<Columns>,
    pub payout_date: Option<Columns>,
    pub merchant_account: Option<Columns>,
    pub related_transaction_id: Option<Columns>,
    // Bank entries.
    pub account_id: Option<Columns>,
    pub entry_id: Option<Columns>,
    pub value_date: Option<Columns>,
    pub currency: Option<Columns>,
    pub reference: Option<Columns>,
    pub counterparty_name: Option<Columns>,
    pub remittance_info: Option<Columns>,
    // Orders (also `channel`, `type`, `booked_at` as the order date, `currency`, `amounts.amount`).
    pub order_id: Option<Columns>,
    /// Who the order's money is for (a merchant, a seller); the beneficiary's id in beneficiaries.
    pub beneficiary_id: Option<Columns>,
    // Beneficiaries (also `beneficiary_id`).
    pub legal_name: Option<Columns>,
    /// ISO 3166-1 alpha-2.
    pub country: Option<Columns>,
    pub iban: Option<Columns>,
    pub bic: Option<Columns>,
    /// An account outside IBAN countries (instead of `iban`), its clearing system and bank code.
    pub account_number: Option<Columns>,
    pub clearing_system: Option<Columns>,
    pub bank_code: Option<Columns>,
    pub payout_currency: Option<Columns>,
    /// Structured postal address of a beneficiary.
    pub street: Option<Columns>,
    pub building_number: Option<Columns>,
    pub post_code: Option<Columns>,
    pub town: Option<Columns>,
    pub minimum_payout: Option<Columns>,
    /// `daily`, `weekly:<weekday>`, `monthly:<day>`.
    pub schedule: Option<Columns>,
    pub fee_plan: Option<Columns>,
    pub reserve_percent: Option<Columns>,
    pub reserve_release_business_days: Option<Columns>,
}

/// How the amounts are written.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Amounts {
    /// Gross in the settlement currency. When absent: net + fee.
    pub gross: Option<AmountSource>,
    /// Net in the settlement currency. When absent: gross − fee.
    pub net: Option<AmountSource>,
    /// What the channel kept; when absent: the sum of `fee_components`, or zero.
    pub fee: Option<AmountSource>,
    /// Fee components (name → column), in the settlement currency, costs positive unless
    /// `fee_sign = "balance"`. Written as `fee_<name>` columns.
    pub fee_components: BTreeMap<String, String>,
    /// `cost` (a fee is positive, Stripe, Adyen) or `balance` (a fee is negative as it reduces the
    /// balance, PayPal downloads).
    pub fee_sign: FeeSign,
    /// What the customer was charged, in `presentment_currency`.
    pub presentment: Option<AmountSource>,
    /// Bank entries: the entry's amount (signed, or debit/credit, or with an indicator).
    pub amount: Option<AmountSource>,
}

/// Which sign a fee is written with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FeeSign {
    #[default]
    Cost,
    Balance,
}

/// One amount: signed in a column, split in debit and credit columns (unsigned, the filled one gives
/// the sign), or unsigned with an indicator column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum AmountSource {
    DebitCredit {
        debit: String,
        credit: String,
    },
    Indicator {
        column: String,
        indicator: String,
        /// Indicator values meaning money in (e.g. `CR`, `C`, `H`).
        credit_values: Vec<String>,
        /// Indicator values meaning money out (e.g. `DR`, `D`, `S`).
        debit_values: Vec<String>,
    },
    Signed {
        column: String,
    },
}

impl AmountSource {
    pub fn columns(&self) -> Vec<&str> {
        match self {
            AmountSource::Signed { column } => vec![column],
            AmountSource::DebitCredit { debit, credit } => vec![debit, credit],
            AmountSource::Indicator { column, indicator, .. } => vec![column, indicator],
        }
    }
}

/// Columns kept as metadata.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Metadata {
    pub columns: Vec<String>,
    pub prefixes: Vec<String>,
}

/// A profile could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{source_name}: {message}")]
pub struct ProfileError {
    pub source_name: String,
    pub message: String,
}

const BUILTIN: [(&str, &str); 11] = [
    ("adyen_sdr", include_str!("../profiles/adyen_sdr.toml")),
    ("stripe_itemized", include_str!("../profiles/stripe_itemized.toml")),
    ("paypal_activity", include_str!("../profiles/paypal_activity.toml")),
    ("paypal_statement_en", include_str!("../profiles/paypal_statement_en.toml")),
    ("paypal_statement_es", include_str!("../profiles/paypal_statement_es.toml")),
    ("paypal_stl", include_str!("../profiles/paypal_stl.toml")),
    ("paypal_trr", include_str!("../profiles/paypal_trr.toml")),
    ("checkout_financial_actions", include_str!("../profiles/checkout_financial_actions.toml")),
    ("canonical_channel", include_str!("../profiles/canonical_channel.toml")),
    ("orders", include_str!("../profiles/orders.toml")),
    ("beneficiaries", include_str!("../profiles/beneficiaries.toml")),
];

impl Profile {
    /// Reads and validates a profile. `source_name` names it in errors (a path, or `built-in NAME`).
    pub fn from_toml(source_name: &str, text: &str) -> Result<Profile, ProfileError> {
        let err = |message: String| ProfileError { source_name: source_name.to_string(), message };
        let profile: Profile = toml::from_str(text).map_err(|e| err(e.to_string().trim_end().to_string()))?;
        profile.validate().map_err(err)?;
        Ok(profile)
    }

    /// The profile as TOML (`settle profiles show`): the built-in text as shipped.
    pub fn builtin_text(name: &str) -> Option<&'static str> {
        BUILTIN.iter().find(|(n, _)| *n == name).map(|(_, text)| *text)
    }

    fn validate(&self) -> Result<(), String> {
        if self.name.is_empty() || !self.name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(format!("name {:?}: expected letters, digits and `_`", self.name));
        }
        for (what, value) in [("csv.delimiter", &self.csv.delimiter), ("csv.quote", &self.csv.quote)] {
            if value.len() != 1 || matches!(value.as_str(), "\n" | "\r") {
                return Err(format!("{what} {value:?}: expected one ASCII character, not a line break"));
            }
        }
        if self.csv.delimiter == self.csv.quote {
            return Err(format!("csv.delimiter and csv.quote are both {:?}: expected two characters", self.csv.quote));
        }
        if !matches!(self.csv.encoding.as_str(), "utf-8" | "utf-16" | "windows-1252" | "iso-8859-1") {
            return Err(format!(
                "csv.encoding {:?}: expected utf-8, utf-16, windows-1252 or iso-8859-1",
                self.csv.encoding
            ));
        }
        if !matches!(self.numbers.decimal.as_str(), "." | ",") {
            return Err(format!("numbers.decimal {:?}: expected \".\" or \",\"", self.numbers.decimal));
        }
        if !matches!(self.numbers.thousands.as_str(), "" | "," | "." | " " | "'")
            || self.numbers.thousands == self.numbers.decimal
        {
            return Err(format!(
                "numbers.thousands {:?}: expected \"\", \",\", \".\", \" \" or \"'\", unlike the decimal separator",
                self.numbers.thousands
            ));
        }
        if self.detect.is_empty() {
            return Err("detect: name at least one column that identifies the layout".into());
        }
        let c = &self.columns;
        match self.record {
            RecordKind::ChannelTransactions => {
                if self.channel.as_deref().is_none_or(str::is_empty) {
                    return Err("channel: a channel transactions profile names its channel".into());
                }
                for (field, value) in [
                    ("transaction_id", &c.transaction_id),
                    ("type", &c.type_code),
                    ("settlement_currency", &c.settlement_currency),
                    ("booked_at", &c.booked_at),
                ] {
                    if value.is_none() {
                        return Err(format!("columns.{field}: required for channel transactions"));
                    }
                }
                let a = &self.amounts;
                // The fee may be absent (zero); the reader derives the missing one of gross and net.
                if a.gross.is_none() && a.net.is_none() {
                    return Err("amounts: give at least gross or net (and fee or fee_components)".into());
                }
                if self.kinds.is_empty() && self.kind_prefixes.is_empty() && self.kind_default.is_none() {
                    return Err("kinds: map the channel's type codes to kinds (or set kind_default)".into());
                }
            }
            RecordKind::BankEntries => {
                for (field, value) in
                    [("account_id", &c.account_id), ("booked_at", &c.booked_at), ("currency", &c.currency)]
                {
                    if value.is_none() {
                        return Err(format!("columns.{field}: required for bank entries"));
                    }
                }
                if self.amounts.amount.is_none() {
                    return Err("amounts.amount: required for bank entries".into());
                }
            }
            RecordKind::Orders => {
                for (field, value) in [
                    ("order_id", &c.order_id),
                    ("beneficiary_id", &c.beneficiary_id),
                    ("booked_at", &c.booked_at),
                    ("currency", &c.currency),
                ] {
                    if value.is_none() {
                        return Err(format!("columns.{field}: required for orders"));
                    }
                }
                if c.channel.is_none() && self.channel.as_deref().is_none_or(str::is_empty) {
                    return Err("channel: orders need a `columns.channel` or the profile's `channel`".into());
                }
                if self.amounts.amount.is_none() {
                    return Err("amounts.amount: required for orders".into());
                }
                if c.type_code.is_some() && self.order_kinds.is_empty() {
                    return Err("order_kinds: map the values of columns.type to sale or refund".into());
                }
            }
            RecordKind::Beneficiaries => {
                for (field, value) in [
                    ("beneficiary_id", &c.beneficiary_id),
                    ("legal_name", &c.legal_name),
                    ("country", &c.country),
                    ("payout_currency", &c.payout_currency),
                ] {
                    if value.is_none() {
                        return Err(format!("columns.{field}: required for beneficiaries"));
                    }
                }
                if c.iban.is_none() && c.account_number.is_none() {
                    return Err("columns.iban: required for beneficiaries (or columns.account_number)".to_string());
                }
            }
        }
        if self.dates.formats.is_empty() {
            return Err("dates.formats: give at least one format".into());
        }
        Ok(())
    }
}

/// The profiles shipped in the binary, sorted by name.
pub fn builtin_profiles() -> Vec<Profile> {
    let mut out: Vec<Profile> = BUILTIN
        .iter()
        .map(|(name, text)| {
            Profile::from_toml(&format!("built-in profile {name}"), text).expect("built-in profiles are valid")
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// The JSON Schema of profiles, as committed in schemas/profile.schema.json.
pub fn profile_schema_json() -> String {
    let schema = schemars::schema_for!(Profile);
    let mut text = serde_json::to_string_pretty(&schema).expect("a schema serializes");
    text.push('\n');
    text
}

/// Picks the profile whose `detect` columns the header has. None or several → an error listing the
/// closest profiles and the columns that differ.
pub fn detect<'p>(profiles: &[&'p Profile], header: &[&str]) -> Result<&'p Profile, String> {
    let has = |c: &String| header.iter().any(|h| h.trim() == c.as_str());
    let fits: Vec<&'p Profile> = profiles.iter().copied().filter(|p| p.detect.iter().all(has)).collect();
    match fits.as_slice() {
        [one] => Ok(one),
        [] => {
            let mut scored: Vec<(usize, &Profile, Vec<&String>)> = profiles
                .iter()
                .copied()
                .map(|p| {
                    let missing: Vec<&String> = p.detect.iter().filter(|c| !has(c)).collect();
                    (p.detect.len() - missing.len(), p, missing)
                })
                .collect();
            scored.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.name.cmp(&b.1.name)));
            let closest: Vec<String> = scored
                .iter()
                .take(3)
                .map(|(_, p, missing)| {
                    format!(
                        "{} (missing {})",
                        p.name,
                        missing.iter().map(|m| format!("`{m}`")).collect::<Vec<_>>().join(", ")
                    )
                })
                .collect();
            Err(format!(
                "no profile fits this header; closest: {}. Header: {}",
                closest.join("; "),
                header.iter().take(12).map(|h| format!("`{h}`")).collect::<Vec<_>>().join(", ")
            ))
        }
        several => {
            // The most specific wins when one profile's columns include all of another's.
            let max = several.iter().map(|p| p.detect.len()).max().unwrap_or(0);
            let best: Vec<&&Profile> = several.iter().filter(|p| p.detect.len() == max).collect();
            if best.len() == 1 {
                return Ok(best[0]);
            }
            Err(format!(
                "the header fits several profiles: {}; name one with --profile",
                several.iter().map(|p| p.name.as_str()).collect::<Vec<_>>().join(", ")
            ))
        }
    }
}
