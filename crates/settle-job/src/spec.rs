//! Job specs: `jobs/*.toml`, parsed into a typed `JobSpec`. Unknown keys and wrong types are errors that
//! name the file, the line and the key.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use settle_core::{Currency, Date, RoundingMode};

/// A job: which inputs to read for a business date, how to convert and where to write the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JobSpec {
    pub job: JobSection,
    pub inputs: Inputs,
    #[serde(default)]
    pub fx: FxSection,
    #[serde(default)]
    pub payouts: PayoutSection,
    #[serde(default)]
    pub output: OutputSection,
    /// Matching rules (default: `A1 order_id_exact`, `B1 batch_reference_exact`).
    #[serde(default)]
    pub recon: settle_recon::ReconRules,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JobSection {
    /// Names the run directory `OUT/<name>/<business-date>/` and enters every payout id: letters, digits,
    /// `-` and `_`.
    pub name: String,
    /// The business date to settle (YYYY-MM-DD). `settle run --date` overrides it; one of the two is required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>", regex(pattern = r"^\d{4}-\d{2}-\d{2}$"))]
    pub business_date: Option<Date>,
    /// Totals in summary.json are also given in this currency.
    pub reporting_currency: Currency,
    /// Rounding to minor units for every conversion.
    #[serde(default)]
    pub rounding: RoundingMode,
    /// Business-day calendar: `target2` (weekends and TARGET2 closing days) or `weekends`.
    #[serde(default)]
    pub calendar: CalendarName,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum CalendarName {
    #[default]
    Target2,
    Weekends,
}

/// Input files in settle's canonical CSV layouts (docs/formats.md). Relative paths are relative to the
/// job file's directory. Each list is read in order; several files of one kind are concatenated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Inputs {
    /// Our orders: a path in the canonical layout, or `{ path = "…", profile = "…" }` for a shop's own
    /// export (a profile with `record = "orders"`; `auto` picks among the built-in ones).
    pub orders: Vec<InputFile>,
    /// Channel reports: a path (its profile detected from the header, `auto`), or `{ path = "…",
    /// profile = "adyen_sdr" }` naming a built-in profile (`settle profiles`) or a profile file (`.toml`,
    /// relative to the job file).
    pub channel_transactions: Vec<InputFile>,
    /// Bank files: camt, MT940/MT942 and the canonical CSV are told apart by content; any other bank
    /// CSV needs `{ path = "…", profile = "my_bank.toml" }`.
    pub bank_entries: Vec<InputFile>,
    pub rates: Vec<PathBuf>,
    /// The parties we pay out to: a path in the canonical layout, or `{ path, profile }` (a profile with
    /// `record = "beneficiaries"`).
    pub beneficiaries: Vec<InputFile>,
    /// Text encoding of MT940/MT942 bank files: `utf-8`, `iso-8859-1`, `windows-1252`, `cp850` or
    /// `cp852`. When absent: UTF-8 if the bytes are valid UTF-8, else the code page the text reads best
    /// in, with a warning naming the bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mt940_encoding: Option<String>,
    /// The bank's pain.002 status reports on our payout files: payouts they reject go back to the
    /// beneficiaries' balances tonight (once; the payout register records it).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub payment_status: Vec<PathBuf>,
    /// The accounts beneficiaries were last paid to before this job's payout register began
    /// (`beneficiary_id,iban,paid_on`, e.g. exported from the payout system settle replaces): a payout
    /// to another account is held as `held_bank_details_changed` unless approved.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub paid_accounts: Vec<PathBuf>,
    /// The largest input file a night reads, in bytes (default 17 179 869 184, 16 GiB: a night of 10^7
    /// orders and channel rows is about 2 GB). A larger file stops the night naming it, before it is
    /// read; inputs must be regular files (a FIFO, a device such as /dev/zero or a directory is refused).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_file_bytes: Option<u64>,
}

/// The longest `job.name`: file systems take names of 255 bytes; run directories, lock files and temp
/// files add to it.
pub const JOB_NAME_MAX: usize = 64;

/// The default of `inputs.max_file_bytes`.
pub const DEFAULT_MAX_FILE_BYTES: u64 = 16 << 30;

impl Inputs {
    /// `max_file_bytes`, or its default.
    pub fn max_file_bytes(&self) -> u64 {
        self.max_file_bytes.unwrap_or(DEFAULT_MAX_FILE_BYTES)
    }
}

/// An input file, with the profile to read it with when it needs one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum InputFile {
    Path(PathBuf),
    WithProfile {
        path: PathBuf,
        /// A built-in profile name, `auto`, or a profile file (`.toml`, relative to the job file).
        profile: String,
    },
}

impl InputFile {
    pub fn path(&self) -> &Path {
        match self {
            InputFile::Path(path) | InputFile::WithProfile { path, .. } => path,
        }
    }
    pub fn profile(&self) -> Option<&str> {
        match self {
            InputFile::Path(_) => None,
            InputFile::WithProfile { profile, .. } => Some(profile),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FxSection {
    /// A rate up to this many calendar days before the rate date asked for may be used (weekends,
    /// holidays); the fallback is recorded in conversions.csv.
    #[serde(default = "default_max_rate_age_days")]
    pub max_rate_age_days: u32,
    /// A rates store (`settle rates fetch --store DIR`), relative to the job file: its latest ECB
    /// snapshot is read as one more rates input (recorded in the manifest with its sha256).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store: Option<PathBuf>,
    /// How far (in percent a week, as a string: `"25"`) a published rate may move from the same pair's
    /// previous published rate in the job's rate files before the night stops, naming the file and line
    /// (default 25; raise it for a devaluation the rates really show). Every rate must also lie between
    /// 0.000001 and 10 000 000 (or its inverse must).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_rate_change_percent: Option<String>,
}

fn default_max_rate_age_days() -> u32 {
    4
}

impl Default for FxSection {
    fn default() -> Self {
        FxSection { max_rate_age_days: default_max_rate_age_days(), store: None, max_rate_change_percent: None }
    }
}

impl FxSection {
    /// `max_rate_change_percent`, or its default; an error says what is wrong with the text.
    pub fn max_rate_change(&self) -> Result<settle_core::Decimal, String> {
        let Some(text) = &self.max_rate_change_percent else {
            return Ok(settle_fx::DEFAULT_MAX_RATE_CHANGE_PERCENT);
        };
        plain_decimal(text)
            .filter(|p| *p > settle_core::Decimal::ZERO)
            .ok_or_else(|| format!("{text:?}: expected a percentage greater than 0 in plain digits, e.g. \"25\""))
    }
}

/// A number as the spec writes amounts and percentages: digits with at most one `.`, an optional sign;
/// no exponent, no more digits than a decimal holds exactly (so `1e2` and `100.0000000000000000000000000001`
/// are refused, not read as 100).
fn plain_decimal(text: &str) -> Option<settle_core::Decimal> {
    settle_core::parse_decimal(text).ok()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PayoutSection {
    /// Payouts are executed this many business days after the business date.
    #[serde(default = "default_execution_offset")]
    pub execution_offset_business_days: u32,
    /// Us, as the payout files name us, and the accounts payouts leave from. Without it no pain.001
    /// file is written (payouts.csv still is).
    #[serde(default)]
    pub debtor: Option<DebtorSpec>,
    /// What the bank accepts in a pain.001 file.
    #[serde(default)]
    pub bank: BankSpec,
    /// Beneficiary ids whose bank account changed since their last emitted payout and whose new account
    /// the job approves; any other such payout is held (`held_bank_details_changed`).
    #[serde(default)]
    pub approve_bank_details: Vec<String>,
    /// Which day's reference rates convert payouts: `business_date` (default) or
    /// `business_day_before_execution`.
    #[serde(default)]
    pub rate_date: PayoutRateDate,
    /// When a settled transaction counts towards its beneficiary's balance: `bank_credit` (default:
    /// its channel payout batch matched our bank credit) or `channel_match` (matched to its order).
    #[serde(default)]
    pub release: ReleaseSpec,
    /// Fee plans beneficiaries name in their `fee_plan` column (`[[payouts.fee_plans]]`).
    #[serde(default)]
    pub fee_plans: Vec<FeePlanSpec>,
    /// ISO 20022 purpose code (ExternalPurpose1Code, 1–4 letters, e.g. `SUPP`) on every transfer.
    #[serde(default)]
    pub purpose: Option<String>,
    /// Regulatory reporting codes by beneficiary country, on cross-border transfers
    /// (`[[payouts.regulatory_reporting]]`).
    #[serde(default)]
    pub regulatory_reporting: Vec<RegulatoryReportingSpec>,
}

/// `[[payouts.regulatory_reporting]]`: the central bank's reporting code for transfers to a country.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RegulatoryReportingSpec {
    /// ISO 3166-1 alpha-2 country of the beneficiary.
    pub country: String,
    /// `RgltryRptg/Dtls/Cd`, up to 10 characters.
    pub code: String,
}

/// `[payouts] release`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReleaseSpec {
    #[default]
    BankCredit,
    ChannelMatch,
}

/// `[[payouts.fee_plans]]`: the commission taken from each settled transaction of a beneficiary on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FeePlanSpec {
    pub id: String,
    /// Tried in order; the first whose channel and kind fit applies; none fitting: no commission.
    pub rules: Vec<FeeRuleSpec>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FeeRuleSpec {
    /// Only this channel's transactions (absent: all).
    pub channel: Option<String>,
    /// `charge`, `refund` or `chargeback` (absent: all).
    pub kind: Option<String>,
    /// Percentage of the transaction's gross amount in its settlement currency, as a string
    /// (`"2.9"`): decimals are never read through floating point. Signed like the amount, so a
    /// refund's percentage comes back unless a refund rule says otherwise.
    #[serde(default = "zero_text")]
    pub percent: String,
    /// Fixed fee per transaction by settlement currency, as strings: `{ EUR = "0.25", USD = "0.30" }`.
    #[serde(default)]
    pub fixed: BTreeMap<String, String>,
}

fn zero_text() -> String {
    "0".into()
}

impl PayoutSection {
    /// The purpose and regulatory codes, or what in the spec is not understood.
    pub fn transfer_codes(&self) -> Result<settle_payout::files::TransferCodes, String> {
        if let Some(purpose) = &self.purpose
            && (purpose.is_empty() || purpose.len() > 4 || !purpose.bytes().all(|b| b.is_ascii_uppercase()))
        {
            return Err(format!("purpose {purpose:?}: expected an ISO 20022 purpose code of 1–4 letters such as SUPP"));
        }
        let mut regulatory = BTreeMap::new();
        for (i, r) in self.regulatory_reporting.iter().enumerate() {
            if r.country.len() != 2 || !r.country.bytes().all(|b| b.is_ascii_uppercase()) {
                return Err(format!("regulatory_reporting[{i}]: country {:?}: expected an ISO 3166 code", r.country));
            }
            let shape_ok =
                !r.code.is_empty() && r.code.len() <= 10 && r.code.bytes().all(|b| b.is_ascii_alphanumeric());
            if !shape_ok {
                return Err(format!("regulatory_reporting[{i}]: code {:?}: expected 1–10 letters and digits", r.code));
            }
            if regulatory.insert(r.country.clone(), r.code.clone()).is_some() {
                return Err(format!("regulatory_reporting[{i}]: a second code for {}", r.country));
            }
        }
        Ok(settle_payout::files::TransferCodes { purpose: self.purpose.clone(), regulatory })
    }

    /// The fee plans, or what in the spec is not understood (`fee_plans[i]: …`).
    pub fn fee_plans(&self) -> Result<Vec<settle_payout::FeePlan>, String> {
        let mut plans: Vec<settle_payout::FeePlan> = Vec::with_capacity(self.fee_plans.len());
        for (i, plan) in self.fee_plans.iter().enumerate() {
            let at = |message: String| format!("fee_plans[{i}] ({:?}): {message}", plan.id);
            if plans.iter().any(|p| p.id == plan.id) {
                return Err(at("a second plan with this id".into()));
            }
            let mut rules = Vec::with_capacity(plan.rules.len());
            for (j, rule) in plan.rules.iter().enumerate() {
                let at = |message: String| at(format!("rules[{j}]: {message}"));
                let kind = match rule.kind.as_deref() {
                    None => None,
                    Some("charge") => Some(settle_core::ChannelKind::Charge),
                    Some("refund") => Some(settle_core::ChannelKind::Refund),
                    Some("chargeback") => Some(settle_core::ChannelKind::Chargeback),
                    Some(other) => return Err(at(format!("kind {other:?}: expected charge, refund or chargeback"))),
                };
                let percent: settle_core::Decimal = plain_decimal(&rule.percent)
                    .filter(|p: &settle_core::Decimal| {
                        *p >= settle_core::Decimal::ZERO && *p <= settle_core::Decimal::ONE_HUNDRED
                    })
                    .ok_or_else(|| at(format!("percent {:?}: expected a percentage from 0 to 100", rule.percent)))?;
                let mut fixed = BTreeMap::new();
                for (code, amount) in &rule.fixed {
                    let currency = settle_core::Currency::from_code(code)
                        .map_err(|_| at(format!("fixed: {code:?} is not an ISO 4217 code")))?;
                    let amount: settle_core::Decimal = plain_decimal(amount)
                        .filter(|a: &settle_core::Decimal| !a.is_sign_negative())
                        .ok_or_else(|| at(format!("fixed.{code} {amount:?}: expected an amount ≥ 0")))?;
                    fixed.insert(currency, amount);
                }
                rules.push(settle_payout::FeeRule { channel: rule.channel.clone(), kind, percent, fixed });
            }
            plans.push(settle_payout::FeePlan { id: plan.id.clone(), rules });
        }
        Ok(plans)
    }
}

/// `[payouts] rate_date`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PayoutRateDate {
    #[default]
    BusinessDate,
    BusinessDayBeforeExecution,
}

/// `[payouts.debtor]`: the ordering party.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DebtorSpec {
    pub name: String,
    pub street: Option<String>,
    pub building_number: Option<String>,
    pub post_code: Option<String>,
    pub town: Option<String>,
    /// ISO 3166 alpha-2; with it the debtor's postal address is written.
    pub country: Option<String>,
    /// One account per payout currency (`[[payouts.debtor.accounts]]`).
    pub accounts: Vec<DebtorAccountSpec>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DebtorAccountSpec {
    /// ISO 4217 code of the payouts this account pays.
    pub currency: String,
    pub iban: String,
    pub bic: String,
}

/// `[payouts.bank]`: the bank profile for pain.001 files.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BankSpec {
    /// `pain.001.001.09` (default) or `pain.001.001.03`.
    #[serde(default = "default_pain001_version")]
    pub pain001_version: String,
    /// `sepa_latin` (default: the EPC subset, other letters transliterated and logged) or `utf8`.
    #[serde(default = "default_charset")]
    pub charset: String,
    /// Cut files at this many transfers.
    pub max_transactions_per_file: Option<u32>,
    /// `BtchBookg`: one debit per payment batch (true, default) or per transfer (false).
    #[serde(default = "default_batch_booking")]
    pub batch_booking: Option<bool>,
    /// One payment batch (`PmtInf`) per file, for banks that require it.
    #[serde(default)]
    pub one_batch_per_file: bool,
    /// `ChrgBr` of cross-border transfers: `SHAR` (default), `DEBT` or `CRED` (SEPA ones are `SLEV`).
    #[serde(default = "default_charge_bearer")]
    pub cross_border_charge_bearer: String,
}

fn default_pain001_version() -> String {
    "pain.001.001.09".into()
}

fn default_charset() -> String {
    "sepa_latin".into()
}

fn default_batch_booking() -> Option<bool> {
    Some(true)
}

fn default_charge_bearer() -> String {
    "SHAR".into()
}

impl Default for BankSpec {
    fn default() -> Self {
        BankSpec {
            pain001_version: default_pain001_version(),
            charset: default_charset(),
            max_transactions_per_file: None,
            batch_booking: default_batch_booking(),
            one_batch_per_file: false,
            cross_border_charge_bearer: default_charge_bearer(),
        }
    }
}

impl BankSpec {
    /// The profile, or what in the spec is not understood.
    pub fn profile(&self) -> Result<settle_payout::files::BankProfile, String> {
        use settle_iso20022::pain001::{ChargeBearer, Charset, Pain001Version};
        let version = Pain001Version::parse(&self.pain001_version).ok_or_else(|| {
            format!("pain001_version {:?}: expected pain.001.001.09 or pain.001.001.03", self.pain001_version)
        })?;
        let charset = match self.charset.as_str() {
            "sepa_latin" => Charset::SepaLatin,
            "utf8" => Charset::Utf8,
            other => return Err(format!("charset {other:?}: expected sepa_latin or utf8")),
        };
        let cross_border_charge_bearer = ChargeBearer::parse(&self.cross_border_charge_bearer)
            .filter(|b| *b != ChargeBearer::ServiceLevel)
            .ok_or_else(|| {
                format!("cross_border_charge_bearer {:?}: expected SHAR, DEBT or CRED", self.cross_border_charge_bearer)
            })?;
        Ok(settle_payout::files::BankProfile {
            version,
            charset,
            max_transactions_per_file: self.max_transactions_per_file,
            batch_booking: self.batch_booking,
            one_batch_per_file: self.one_batch_per_file,
            cross_border_charge_bearer,
        })
    }
}

impl DebtorSpec {
    /// The debtor, or what in the spec is not understood.
    pub fn debtor(&self) -> Result<settle_payout::files::Debtor, String> {
        // The texts a pain.001 writes of us, checked here rather than in the first file a night writes.
        let texts = [
            ("name", Some(&self.name), 140),
            ("street", self.street.as_ref(), 70),
            ("building_number", self.building_number.as_ref(), 16),
            ("post_code", self.post_code.as_ref(), 16),
            ("town", self.town.as_ref(), 35),
        ];
        for (key, text, max) in texts {
            let Some(text) = text else { continue };
            let length = text.chars().count();
            if length > max || (key == "name" && text.trim().is_empty()) {
                return Err(format!(
                    "{key} {:?}: expected 1 to {max} characters (a pain.001's limit), found {length}",
                    settle_core::text::brief(text, 40)
                ));
            }
        }
        let mut accounts = Vec::with_capacity(self.accounts.len());
        for a in &self.accounts {
            let currency = settle_core::Currency::from_code(&a.currency)
                .map_err(|_| format!("accounts: currency {:?} is not an ISO 4217 code", a.currency))?;
            if accounts.iter().any(|x: &settle_payout::files::DebtorAccount| x.currency == currency) {
                return Err(format!("accounts: two accounts for {currency}"));
            }
            let iban: String = a.iban.chars().filter(|c| !c.is_whitespace()).collect();
            accounts.push(settle_payout::files::DebtorAccount { currency, iban, bic: a.bic.trim().to_string() });
        }
        let address = self.country.as_ref().map(|country| settle_iso20022::pain001::PostalAddress {
            street: self.street.clone(),
            building_number: self.building_number.clone(),
            post_code: self.post_code.clone(),
            town: self.town.clone(),
            country: country.clone(),
        });
        Ok(settle_payout::files::Debtor { name: self.name.clone(), address, accounts })
    }
}

fn default_execution_offset() -> u32 {
    1
}

impl Default for PayoutSection {
    fn default() -> Self {
        PayoutSection {
            execution_offset_business_days: default_execution_offset(),
            debtor: None,
            bank: BankSpec::default(),
            approve_bank_details: Vec::new(),
            rate_date: PayoutRateDate::default(),
            release: ReleaseSpec::default(),
            fee_plans: Vec::new(),
            purpose: None,
            regulatory_reporting: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OutputSection {
    /// Root of run directories, relative to the job file's directory. `settle run --out` overrides it.
    #[serde(default = "default_output_dir")]
    pub dir: PathBuf,
    /// How many calendar days back a night checks the settlement ledger (the key files of every job's
    /// nights writing into the same output root): a record settled within it is never settled again.
    /// Default 50 (more than 35 TARGET2 business nights); docs/reliability.md says what expiry means.
    #[serde(default = "default_ledger_horizon_days")]
    pub ledger_horizon_days: u32,
}

fn default_ledger_horizon_days() -> u32 {
    crate::ledger::DEFAULT_HORIZON_DAYS
}

fn default_output_dir() -> PathBuf {
    PathBuf::from("runs")
}

impl Default for OutputSection {
    fn default() -> Self {
        OutputSection { dir: default_output_dir(), ledger_horizon_days: default_ledger_horizon_days() }
    }
}

/// A job spec could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}:{line}:{column}: {message}")]
pub struct SpecError {
    pub path: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl JobSpec {
    /// Parses and validates a job spec. `path` is used in messages only.
    pub fn parse(path: &str, text: &str) -> Result<JobSpec, SpecError> {
        let spec: JobSpec = toml::from_str(text).map_err(|e| {
            let (line, column, snippet) = match e.span() {
                Some(span) => locate(text, span.start),
                None => (1, 1, String::new()),
            };
            let message = e.message().trim().to_string();
            let message = if snippet.is_empty() { message } else { format!("{message} (in `{snippet}`)") };
            SpecError { path: path.to_string(), line, column, message }
        })?;
        spec.validate(path, text)?;
        Ok(spec)
    }

    fn validate(&self, path: &str, text: &str) -> Result<(), SpecError> {
        let at_key = |key: &str, message: String| {
            let leaf = key.rsplit('.').next().unwrap_or(key);
            // A fee plan's error names its index: point at that `[[payouts.fee_plans]]` table.
            let nth = message
                .strip_prefix("fee_plans[")
                .and_then(|rest| rest.split(']').next())
                .and_then(|i| i.parse::<usize>().ok())
                .unwrap_or(0);
            let lines = || {
                text.lines().scan(0usize, |pos, l| {
                    let start = *pos;
                    *pos += l.len() + 1;
                    Some((start, l.trim()))
                })
            };
            let header = |l: &str| l == format!("[{key}]") || l == format!("[[{key}]]");
            let offset = lines()
                .filter(|(_, l)| header(l))
                .nth(nth)
                .or_else(|| lines().find(|(_, l)| l.starts_with(leaf)))
                .map_or(0, |(start, _)| start);
            let (line, column, _) = locate(text, offset);
            SpecError { path: path.to_string(), line, column, message: format!("key `{key}`: {message}") }
        };
        let name = &self.job.name;
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
            return Err(at_key(
                "job.name",
                format!(
                    "{:?}: expected letters, digits, `-` and `_` only (it names the run directory)",
                    settle_core::text::brief(name, 64)
                ),
            ));
        }
        if name.len() > JOB_NAME_MAX {
            return Err(at_key(
                "job.name",
                format!(
                    "{:?} is {} characters: expected at most {JOB_NAME_MAX} (it names the run directory, and payout ids are made from it)",
                    settle_core::text::brief(name, 64),
                    name.len()
                ),
            ));
        }
        // A night may bring no orders, channel reports or bank files (`[]`: what earlier nights left open
        // is still matched), but payouts always need rates and beneficiaries.
        let lists =
            [("inputs.rates", self.inputs.rates.len()), ("inputs.beneficiaries", self.inputs.beneficiaries.len())];
        for (key, files) in lists {
            if files == 0 {
                return Err(at_key(key, "expected at least one file".to_string()));
            }
        }
        if let Some(name) = &self.inputs.mt940_encoding
            && settle_mt940::TextEncoding::parse(name).is_none()
        {
            return Err(at_key(
                "inputs.mt940_encoding",
                format!("{name:?}: expected utf-8, iso-8859-1, windows-1252, cp850 or cp852"),
            ));
        }
        if self.job.reporting_currency.minor_units().is_none() {
            return Err(at_key(
                "job.reporting_currency",
                format!("{} has no minor unit: expected a currency that can be paid", self.job.reporting_currency),
            ));
        }
        self.payouts.bank.profile().map_err(|message| at_key("payouts.bank", message))?;
        self.payouts.fee_plans().map_err(|message| at_key("payouts.fee_plans", message))?;
        self.fx.max_rate_change().map_err(|message| at_key("fx.max_rate_change_percent", message))?;
        self.payouts.transfer_codes().map_err(|message| at_key("payouts", message))?;
        if let Some(debtor) = &self.payouts.debtor {
            debtor.debtor().map_err(|message| at_key("payouts.debtor", message))?;
        }
        Ok(())
    }

    /// The declared MT940 encoding (validated by `parse`).
    pub fn mt940_encoding(&self) -> Option<settle_mt940::TextEncoding> {
        self.inputs.mt940_encoding.as_deref().and_then(settle_mt940::TextEncoding::parse)
    }

    /// Every input as (role, path as written in the spec, profile), in spec order.
    pub fn inputs(&self) -> Vec<(InputRole, &Path, Option<&str>)> {
        let mut out = Vec::new();
        let profiled = [
            (InputRole::Orders, &self.inputs.orders),
            (InputRole::ChannelTransactions, &self.inputs.channel_transactions),
            (InputRole::BankEntries, &self.inputs.bank_entries),
        ];
        for (role, list) in profiled {
            out.extend(list.iter().map(|f| (role, f.path(), f.profile())));
        }
        out.extend(self.inputs.rates.iter().map(|p| (InputRole::Rates, p.as_path(), None)));
        out.extend(self.inputs.beneficiaries.iter().map(|f| (InputRole::Beneficiaries, f.path(), f.profile())));
        out.extend(self.inputs.payment_status.iter().map(|p| (InputRole::PaymentStatus, p.as_path(), None)));
        out.extend(self.inputs.paid_accounts.iter().map(|p| (InputRole::PaidAccounts, p.as_path(), None)));
        out
    }
}

/// What an input file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum InputRole {
    Orders,
    ChannelTransactions,
    BankEntries,
    Rates,
    Beneficiaries,
    PaymentStatus,
    PaidAccounts,
}

impl InputRole {
    /// The role a manifest names (`as_str`), of the inputs a spec lists.
    pub fn parse(text: &str) -> Option<InputRole> {
        [
            InputRole::Orders,
            InputRole::ChannelTransactions,
            InputRole::BankEntries,
            InputRole::Rates,
            InputRole::Beneficiaries,
            InputRole::PaymentStatus,
            InputRole::PaidAccounts,
        ]
        .into_iter()
        .find(|r| r.as_str() == text)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            InputRole::Orders => "orders",
            InputRole::ChannelTransactions => "channel_transactions",
            InputRole::BankEntries => "bank_entries",
            InputRole::Rates => "rates",
            InputRole::Beneficiaries => "beneficiaries",
            InputRole::PaymentStatus => "payment_status",
            InputRole::PaidAccounts => "paid_accounts",
        }
    }
}

/// 1-based line and column of a byte offset, and the trimmed text of that line.
fn locate(text: &str, offset: usize) -> (usize, usize, String) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    let line_text = text[line_start..].lines().next().unwrap_or("").trim().to_string();
    (line, column, line_text)
}

/// The JSON Schema of job specs, as committed in schemas/job.schema.json.
pub fn job_schema_json() -> String {
    let schema = schemars::schema_for!(JobSpec);
    let mut text = serde_json::to_string_pretty(&schema).expect("a schema serializes");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
[job]
name = "demo"
reporting_currency = "EUR"

[inputs]
orders = ["o.csv"]
channel_transactions = ["c.csv"]
bank_entries = ["b.csv"]
rates = ["r.csv"]
beneficiaries = ["n.csv"]
"#;

    #[test]
    fn defaults_apply() {
        let spec = JobSpec::parse("job.toml", MINIMAL).unwrap();
        assert_eq!(spec.job.rounding, RoundingMode::HalfEven);
        assert_eq!(spec.fx.max_rate_age_days, 4);
        assert_eq!(spec.output.dir, PathBuf::from("runs"));
        assert_eq!(spec.inputs().len(), 5);
    }

    #[test]
    fn unknown_keys_and_wrong_types_name_file_line_and_key() {
        let unknown = MINIMAL.replace("reporting_currency = \"EUR\"", "reporting_currency = \"EUR\"\nreportng = 1");
        let err = JobSpec::parse("jobs/x.toml", &unknown).unwrap_err().to_string();
        assert!(err.starts_with("jobs/x.toml:5:1: unknown field `reportng`"), "{err}");

        let wrong = MINIMAL.replace("[inputs]", "[fx]\nmax_rate_age_days = \"four\"\n\n[inputs]");
        let err = JobSpec::parse("jobs/x.toml", &wrong).unwrap_err().to_string();
        assert!(err.starts_with("jobs/x.toml:7:21: invalid type: string \"four\", expected u32"), "{err}");
        assert!(err.contains("max_rate_age_days"), "{err}");

        let currency = MINIMAL.replace("\"EUR\"", "\"EURO\"");
        let err = JobSpec::parse("jobs/x.toml", &currency).unwrap_err().to_string();
        assert!(err.contains("unknown currency code \"EURO\""), "{err}");
        assert!(err.contains("reporting_currency"), "{err}");

        let name = MINIMAL.replace("\"demo\"", "\"../escape\"");
        let err = JobSpec::parse("jobs/x.toml", &name).unwrap_err().to_string();
        assert!(err.starts_with("jobs/x.toml:3:1: key `job.name`"), "{err}");

        let empty = MINIMAL.replace("rates = [\"r.csv\"]", "rates = []");
        let err = JobSpec::parse("jobs/x.toml", &empty).unwrap_err().to_string();
        assert!(err.contains("key `inputs.rates`: expected at least one file"), "{err}");

        let encoding =
            MINIMAL.replace("beneficiaries = [\"n.csv\"]", "beneficiaries = [\"n.csv\"]\nmt940_encoding = \"ebcdic\"");
        let err = JobSpec::parse("jobs/x.toml", &encoding).unwrap_err().to_string();
        assert!(err.contains("key `inputs.mt940_encoding`: \"ebcdic\": expected utf-8"), "{err}");
        let cp852 =
            MINIMAL.replace("beneficiaries = [\"n.csv\"]", "beneficiaries = [\"n.csv\"]\nmt940_encoding = \"CP852\"");
        assert_eq!(
            JobSpec::parse("jobs/x.toml", &cp852).unwrap().mt940_encoding(),
            Some(settle_mt940::TextEncoding::Cp852)
        );

        let missing = MINIMAL.replace("reporting_currency = \"EUR\"\n", "");
        let err = JobSpec::parse("jobs/x.toml", &missing).unwrap_err().to_string();
        assert!(err.contains("missing field `reporting_currency`"), "{err}");
    }

    #[test]
    fn committed_schema_is_up_to_date() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../schemas/job.schema.json");
        let committed = std::fs::read_to_string(path).unwrap_or_default();
        if std::env::var_os("SETTLE_UPDATE_SCHEMAS").is_some() {
            std::fs::write(path, job_schema_json()).expect("write schema");
            return;
        }
        assert!(
            committed == job_schema_json(),
            "schemas/job.schema.json is out of date: run `SETTLE_UPDATE_SCHEMAS=1 cargo test -p settle-job` and commit it"
        );
    }
}
