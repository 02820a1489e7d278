//! settle-tabular: CSV readers. Columns are mapped by header name, never by position; every error names
//! the file, the line and the column.
//!
//! This version reads settle's canonical layouts (documented column by column in docs/formats.md).
//! Channel report profiles (Adyen, Stripe, PayPal, …) and bank CSV profiles come with later issues.
#![forbid(unsafe_code)]

mod parquet_input;
pub mod profile;
mod profiled;
mod split;
mod table;

use std::sync::Arc;

pub use parquet_input::is_parquet;
pub use profile::{Profile, ProfileError, RecordKind, builtin_profiles, detect, profile_schema_json};
pub use profiled::{
    FileProblem, Keep, ProfiledRead, decode_text, detect_profile, header_of, read_shard_with_profile,
    read_with_profile, read_with_profile_threads, zone_offset,
};
use settle_core::{
    BankEntry, Beneficiary, ChannelTransaction, Decimal, Direction, EntryStatus, Order, OrderKind, Provenance, Rate,
    Text,
};
pub use table::{Column, Layout, Row, Table, TabularError};

const fn req(name: &'static str, meaning: &'static str) -> Column {
    Column { name, required: true, meaning }
}
const fn opt(name: &'static str, meaning: &'static str) -> Column {
    Column { name, required: false, meaning }
}

pub static ORDERS: Layout = Layout {
    name: "orders",
    columns: &[
        req("order_id", "our order id; unique in the file; the reference channels report back"),
        req("kind", "`sale` or `refund` (our record of a refund has its own order id)"),
        req("beneficiary_id", "the beneficiary owed the money (see beneficiaries)"),
        req("channel", "the channel the customer paid through, e.g. `stripe`, `adyen`"),
        req("order_date", "YYYY-MM-DD"),
        req("amount", "signed, point decimal, at most the currency's minor units: a sale > 0, a refund < 0"),
        req("currency", "ISO 4217 code of `amount` (the presentment currency)"),
    ],
};

pub static CHANNEL_TRANSACTIONS: Layout = Layout {
    name: "channel transactions",
    columns: &[
        req("channel", "the channel that reported the row, e.g. `stripe`, `adyen`"),
        req("transaction_id", "the channel's id of the row; unique per channel (batch-level rows: `BATCH-TYPE-Lline`)"),
        req("merchant_reference", "our order id as the channel reports it; empty for fee, payout and batch rows"),
        req(
            "kind",
            "charge, refund, chargeback, chargeback_reversal, fee, payout, payout_reversal, adjustment, currency_conversion, reserve or other",
        ),
        req("gross", "signed, settlement currency: money into the channel balance > 0, out < 0"),
        req("fee", "what the channel kept on the row, a cost > 0; gross − fee = net"),
        req("net", "signed, settlement currency"),
        req("settlement_currency", "ISO 4217 code of gross, fee and net (the channel balance's currency)"),
        opt(
            "presentment_amount",
            "what the customer was charged, signed like gross; empty when the channel does not say",
        ),
        opt("presentment_currency", "ISO 4217 code of presentment_amount"),
        opt("exchange_rate", "the applied rate as the channel states it (settlement units per presentment unit)"),
        opt("exchange_rate_implied", "written by settle: |gross| / |presentment_amount|, 10 decimals, half-even"),
        opt(
            "batch_id",
            "the channel's payout batch (Adyen batch number, Stripe automatic_payout_id); empty while not paid out",
        ),
        opt("booked_at_utc", "written by settle: the booking time in UTC, RFC 3339, when the report gives a time"),
        opt(
            "booked_zone",
            "written by settle: the zone the report gave the time in, as written (CET, PDT, Europe/Berlin)",
        ),
        opt("payout_date", "YYYY-MM-DD, when the payout reaches the bank, if the report says"),
        opt("merchant_account", "the channel account the row was booked on"),
        opt("source_file", "written by settle: the file the row was read from"),
        opt("source_line", "written by settle: its line in that file"),
        opt("booking_date", "YYYY-MM-DD, the booking date in the report's zone (read back by the canonical profile)"),
        opt("channel_type", "written by settle: the channel's own type code (Settled, charge, T0006, …)"),
        opt(
            "related_transaction_id",
            "another row this one is linked to (the other leg of a conversion, the payment of a refund)",
        ),
    ],
};

pub static BANK_ENTRIES: Layout = Layout {
    name: "bank entries",
    columns: &[
        req("account_id", "our account, IBAN or the bank's account id"),
        req("entry_id", "the bank's reference of the entry; unique within the account"),
        req("booking_date", "YYYY-MM-DD"),
        req("value_date", "YYYY-MM-DD"),
        req("direction", "`CRDT` (money in) or `DBIT` (money out)"),
        req("amount", "unsigned, > 0, at most the currency's minor units"),
        req("currency", "ISO 4217 code"),
        opt("reference", "the structured reference the payer gave; for a channel payout, its payout batch id"),
        opt("counterparty_name", "who paid or was paid"),
        opt("remittance_info", "free remittance text"),
        opt("status", "`BOOK` (default), `PDNG` or `INFO`; only booked entries are matched"),
        opt("charges", "the bank's charges on the entry, a cost > 0 in its currency (camt `Chrgs`, MT940 `/CHGS/`)"),
        opt(
            "reversal",
            "`true` when the entry reverses an earlier one (camt `RvslInd`, MT940 `RC`/`RD`); default `false`",
        ),
        opt("bank_transaction_code", "`DOMAIN/FAMILY/SUBFAMILY` or the bank's proprietary code"),
    ],
};

pub static RATES: Layout = Layout {
    name: "rates",
    columns: &[
        req("date", "YYYY-MM-DD, the rate date"),
        req("base", "ISO 4217 code: 1 unit of base ="),
        req("quote", "ISO 4217 code: … `rate` units of quote"),
        req("rate", "positive decimal at its full published precision"),
        req("source", "who published it, e.g. `ECB`"),
    ],
};

pub static BENEFICIARIES: Layout = Layout {
    name: "beneficiaries",
    columns: &[
        req("beneficiary_id", "our id of the beneficiary; unique in the file"),
        req("legal_name", "name as the bank account holder"),
        req("country", "ISO 3166-1 alpha-2 country code"),
        opt("iban", "the account payouts go to (IBAN: the country's length and ISO 13616 mod 97); or `account_number`"),
        opt("bic", "BIC of the beneficiary's bank (8 or 11 characters)"),
        opt("account_number", "an account outside IBAN countries (instead of `iban`), 1–34 letters, digits, `-`, `/`"),
        opt(
            "clearing_system",
            "the bank's clearing system, ISO 20022 code such as `USABA`, `CACPA`, `AUBSB` (with `bank_code`)",
        ),
        opt("bank_code", "the bank's member id in that clearing system, e.g. the ABA routing number"),
        req("payout_currency", "ISO 4217 code the beneficiary is paid in"),
        opt("street", "postal address: street name"),
        opt("building_number", "postal address: building number"),
        opt("post_code", "postal address: post code"),
        opt("town", "postal address: town (required for a payout outside SEPA)"),
        opt("minimum_payout", "below this amount (payout currency) nothing is paid; the balance is carried"),
        opt(
            "schedule",
            "when payouts are due: `daily` (default), `weekly:fri`, `monthly:15`; other nights carry the balance",
        ),
        opt("fee_plan", "id of a fee plan of the job (`[[payouts.fee_plans]]`): commission per settled transaction"),
        opt("reserve_percent", "percentage (0–100) of each night's settled charges held back as a reserve"),
        opt(
            "reserve_release_business_days",
            "business days after which a reserve is released (required with a reserve)",
        ),
    ],
};

/// Every canonical layout, in the order docs/formats.md documents them.
pub fn canonical_layouts() -> [&'static Layout; 5] {
    [&ORDERS, &CHANNEL_TRANSACTIONS, &BANK_ENTRIES, &RATES, &BENEFICIARIES]
}

fn provenance(path: &Arc<str>, row: &Row<'_>) -> Provenance {
    Provenance::line(Arc::clone(path), row.line())
}

/// Where a canonical file comes from: outside (its lines are bounded by `LINE_BYTES_MAX`), or settle's
/// own carry files, which hold whatever a night accepted (a record's text can make a row longer than any
/// input line) and are checked by sha256 before they are read: every row settle writes it reads back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Input,
    Own,
}

impl Origin {
    fn line_bytes_max(self) -> usize {
        match self {
            Origin::Input => profiled::LINE_BYTES_MAX,
            Origin::Own => usize::MAX,
        }
    }
}

/// Reads an orders file.
pub fn read_orders(path: &str, bytes: &[u8]) -> Result<Vec<Order>, TabularError> {
    read_orders_from(path, bytes, Origin::Input)
}

/// `read_orders` of a file from `origin`.
pub fn read_orders_from(path: &str, bytes: &[u8], origin: Origin) -> Result<Vec<Order>, TabularError> {
    let mut out = Vec::new();
    let file: Arc<str> = Arc::from(path);
    Table::open_with(path, bytes, &ORDERS, origin.line_bytes_max())?.for_each_row(|row| {
        let kind = match row.required("kind")? {
            "sale" => OrderKind::Sale,
            "refund" => OrderKind::Refund,
            other => {
                return Err(row.error("kind", format!("{other:?} is not an order kind: expected `sale` or `refund`")));
            }
        };
        let currency = row.currency("currency")?;
        let amount = row.amount("amount", currency)?.amount();
        match kind {
            OrderKind::Sale if amount <= Decimal::ZERO => {
                return Err(row.error("amount", format!("{amount} for a sale: expected an amount > 0")));
            }
            OrderKind::Refund if amount >= Decimal::ZERO => {
                return Err(row.error("amount", format!("{amount} for a refund: expected an amount < 0")));
            }
            _ => {}
        }
        out.push(Order {
            order_id: Text::from(row.required("order_id")?),
            kind,
            beneficiary_id: Text::from(row.required("beneficiary_id")?),
            channel: Text::from(row.required("channel")?),
            order_date: row.date("order_date")?,
            amount,
            currency,
            provenance: provenance(&file, row),
        });
        Ok(())
    })?;
    Ok(out)
}

/// Reads a channel transactions file in settle's canonical layout (the `canonical_channel` profile);
/// a row whose gross − fee ≠ net is an error here (canonical files are settle's own).
pub fn read_channel_transactions(path: &str, bytes: &[u8]) -> Result<Vec<ChannelTransaction>, TabularError> {
    read_channel_transactions_from(path, bytes, Origin::Input)
}

/// `read_channel_transactions` of a file from `origin`.
pub fn read_channel_transactions_from(
    path: &str,
    bytes: &[u8],
    origin: Origin,
) -> Result<Vec<ChannelTransaction>, TabularError> {
    let mut profile = builtin_profiles().into_iter().find(|p| p.name == "canonical_channel").expect("built in");
    profile.csv.line_bytes_max = Some(origin.line_bytes_max());
    let read = read_with_profile(path, bytes, &profile)?;
    if let Some(problem) = read.problems.first() {
        return Err(TabularError {
            path: path.to_string(),
            line: Some(problem.line),
            column: None,
            message: format!("{}: {}", problem.check, problem.message),
        });
    }
    Ok(read.channel_transactions)
}

/// The fixed columns `write_channel_transactions` writes, in order; `fee_<component>` columns and kept
/// metadata columns follow, sorted by name.
pub const CHANNEL_OUTPUT_COLUMNS: [&str; 22] = [
    "channel",
    "transaction_id",
    "merchant_reference",
    "kind",
    "gross",
    "fee",
    "net",
    "settlement_currency",
    "presentment_amount",
    "presentment_currency",
    "exchange_rate",
    "exchange_rate_implied",
    "batch_id",
    "booked_at_utc",
    "booked_zone",
    "payout_date",
    "merchant_account",
    "source_file",
    "source_line",
    "booking_date",
    "channel_type",
    "related_transaction_id",
];

/// The columns `write_channel_transactions` writes after `CHANNEL_OUTPUT_COLUMNS` for `rows`: the fee
/// components' names and the metadata columns, each sorted, once.
pub fn channel_columns<'a>(rows: impl Iterator<Item = &'a ChannelTransaction> + Clone) -> (Vec<&'a str>, Vec<&'a str>) {
    let mut fee_names: Vec<&str> =
        rows.clone().flat_map(|r| r.fee_components.iter().map(|(n, _)| n.as_str())).collect();
    fee_names.sort_unstable();
    fee_names.dedup();
    let mut meta_names: Vec<&str> = rows.flat_map(|r| r.metadata.iter().map(|(n, _)| n.as_str())).collect();
    meta_names.sort_unstable();
    meta_names.dedup();
    (fee_names, meta_names)
}

/// The header of the canonical channel transactions layout with these fee components and metadata
/// columns (`channel_columns`).
pub fn channel_header<S: AsRef<str>>(fee_names: &[S], meta_names: &[S]) -> Vec<String> {
    let mut header: Vec<String> = CHANNEL_OUTPUT_COLUMNS.iter().map(|c| c.to_string()).collect();
    header.extend(fee_names.iter().map(|n| format!("fee_{}", n.as_ref())));
    header.extend(meta_names.iter().map(|n| n.as_ref().to_string()));
    header
}

/// Renders channel transactions as CSV: the canonical columns, then one `fee_<name>` column per fee
/// component any row has, then the kept metadata columns, both sorted by name.
/// `rows`: a slice, or any list of borrowed rows (read twice: once for the columns, once to write).
pub fn write_channel_transactions<'a, I>(rows: I) -> Result<Vec<u8>, csv::Error>
where
    I: IntoIterator<Item = &'a ChannelTransaction>,
    I::IntoIter: Clone,
{
    let rows = rows.into_iter();
    let (fee_names, meta_names) = channel_columns(rows.clone());
    let mut w = csv::WriterBuilder::new().terminator(csv::Terminator::Any(b'\n')).from_writer(Vec::new());
    let header = channel_header(&fee_names, &meta_names);
    w.write_record(&header)?;
    let decimal = |d: Option<Decimal>| d.map(|d| d.to_string()).unwrap_or_default();
    let mut record: Vec<String> = Vec::with_capacity(header.len());
    for r in rows {
        record.clear();
        record.extend([
            r.channel.to_string(),
            r.transaction_id.to_string(),
            r.merchant_reference.as_deref().unwrap_or_default().to_string(),
            r.kind.as_str().to_string(),
            r.gross.to_string(),
            r.fee.to_string(),
            r.net.to_string(),
            r.settlement_currency.code().to_string(),
            decimal(r.presentment_amount),
            r.presentment_currency.map(|c| c.code().to_string()).unwrap_or_default(),
            decimal(r.exchange_rate),
            decimal(r.exchange_rate_implied()),
            r.batch_id.as_deref().unwrap_or_default().to_string(),
            r.booked_at_utc.as_deref().unwrap_or_default().to_string(),
            r.booked_zone.as_deref().unwrap_or_default().to_string(),
            r.payout_date.map(|d| d.to_string()).unwrap_or_default(),
            r.merchant_account.as_deref().unwrap_or_default().to_string(),
            r.provenance.source_file.to_string(),
            r.provenance.source_line.map(|l| l.to_string()).unwrap_or_default(),
            r.booking_date.to_string(),
            r.channel_type.to_string(),
            r.related_transaction_id.as_deref().unwrap_or_default().to_string(),
        ]);
        for name in &fee_names {
            record.push(decimal(r.fee_components.iter().find(|(n, _)| n == name).map(|(_, v)| *v)));
        }
        for name in &meta_names {
            record.push(r.metadata.iter().find(|(n, _)| n == name).map(|(_, v)| v.to_string()).unwrap_or_default());
        }
        w.write_record(&record)?;
    }
    w.into_inner().map_err(|e| e.into_error().into())
}

/// Whether a CSV's header is the canonical bank entries layout (`account_id`, `entry_id`, `direction`).
pub fn looks_like_canonical_bank_csv(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(4096)];
    let line = head.split(|b| *b == b'\n').next().unwrap_or_default();
    let text = String::from_utf8_lossy(line);
    let cells: Vec<&str> = text.split(',').map(|c| c.trim().trim_start_matches('\u{feff}')).collect();
    ["account_id", "entry_id", "direction"].iter().all(|c| cells.contains(c))
}

/// Reads a bank entries file.
pub fn read_bank_entries(path: &str, bytes: &[u8]) -> Result<Vec<BankEntry>, TabularError> {
    read_bank_entries_from(path, bytes, Origin::Input)
}

/// `read_bank_entries` of a file from `origin`.
pub fn read_bank_entries_from(path: &str, bytes: &[u8], origin: Origin) -> Result<Vec<BankEntry>, TabularError> {
    let mut out = Vec::new();
    let file: Arc<str> = Arc::from(path);
    Table::open_with(path, bytes, &BANK_ENTRIES, origin.line_bytes_max())?.for_each_row(|row| {
        let direction = match row.required("direction")? {
            "CRDT" => Direction::Credit,
            "DBIT" => Direction::Debit,
            other => return Err(row.error("direction", format!("{other:?}: expected `CRDT` or `DBIT`"))),
        };
        let status = match row.optional("status") {
            None => EntryStatus::Booked,
            Some(code) => EntryStatus::parse(code)
                .ok_or_else(|| row.error("status", format!("{code:?}: expected `BOOK`, `PDNG` or `INFO`")))?,
        };
        let currency = row.currency("currency")?;
        let amount = row.amount("amount", currency)?.amount();
        if amount <= Decimal::ZERO {
            return Err(
                row.error("amount", format!("{amount}: expected an unsigned amount > 0 (the sign is in `direction`)"))
            );
        }
        let details = match row.optional("charges") {
            None => Vec::new(),
            Some(_) => {
                let charges = row.amount("charges", currency)?;
                if charges.amount() <= Decimal::ZERO {
                    return Err(row.error("charges", format!("{}: expected a cost > 0", charges.amount())));
                }
                let mut detail = settle_core::TransactionDetail::default();
                detail.more_mut().charges = Some(charges);
                vec![detail]
            }
        };
        out.push(BankEntry {
            account_id: row.required("account_id")?.into(),
            entry_id: row.required("entry_id")?.into(),
            booking_date: row.date("booking_date")?,
            value_date: row.date("value_date")?,
            direction,
            amount,
            currency,
            reference: row.optional("reference").map(Text::from),
            counterparty_name: row.optional("counterparty_name").map(Text::from),
            remittance_info: row.optional("remittance_info").map(Text::from),
            status,
            reversal: match row.optional("reversal") {
                None | Some("false") => false,
                Some("true") => true,
                Some(other) => return Err(row.error("reversal", format!("{other:?}: expected `true` or `false`"))),
            },
            bank_transaction_code: row.optional("bank_transaction_code").map(Text::from),
            details,
            provenance: provenance(&file, row),
        });
        Ok(())
    })?;
    Ok(out)
}

/// Reads a rates file in the generic layout `date,base,quote,rate,source`.
pub fn read_rates(path: &str, bytes: &[u8]) -> Result<Vec<Rate>, TabularError> {
    let mut out = Vec::new();
    let file: Arc<str> = Arc::from(path);
    Table::open(path, bytes, &RATES)?.for_each_row(|row| {
        let base = row.currency("base")?;
        let quote = row.currency("quote")?;
        if base == quote {
            return Err(row.error("quote", format!("{quote} equals the base: expected two different currencies")));
        }
        out.push(Rate {
            date: row.date("date")?,
            base,
            quote,
            rate: row.positive_decimal("rate")?,
            source: Text::from(row.required("source")?),
            provenance: provenance(&file, row),
        });
        Ok(())
    })?;
    Ok(out)
}

/// Reads a beneficiaries file; checks country codes, IBAN check digits and BIC shape.
/// What is wrong with a beneficiary's country, IBAN (white space removed) or BIC: (column, message).
pub(crate) fn beneficiary_problem(
    country: &str,
    iban: &str,
    bic: Option<&str>,
    other: [Option<&str>; 3],
) -> Option<(&'static str, String)> {
    if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_uppercase()) {
        return Some(("country", format!("{country:?}: expected an ISO 3166-1 alpha-2 code such as DE")));
    }
    let [account_number, clearing_system, bank_code] = other;
    match (iban.is_empty(), account_number) {
        (true, None) => return Some(("iban", "is empty: expected an IBAN, or an account_number".to_string())),
        (false, Some(_)) => {
            return Some(("account_number", "an account number beside an IBAN: expected one of the two".to_string()));
        }
        (false, None) if !settle_core::iban::is_valid(iban) => {
            return Some((
                "iban",
                format!("{iban:?} is not a valid IBAN (country code, the country's length, check digits, mod-97)"),
            ));
        }
        (true, Some(number)) => {
            let shape_ok = (1..=34).contains(&number.len())
                && number.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'/'));
            if !shape_ok {
                return Some(("account_number", format!("{number:?}: expected 1 to 34 letters, digits, `-` or `/`")));
            }
        }
        (false, None) => {}
    }
    match (clearing_system, bank_code) {
        (Some(system), Some(_)) if !(system.len() == 5 && system.bytes().all(|b| b.is_ascii_uppercase())) => {
            return Some((
                "clearing_system",
                format!("{system:?}: expected an ISO 20022 clearing system code of 5 letters such as USABA"),
            ));
        }
        (Some(_), None) => {
            return Some(("bank_code", "is empty: the clearing system needs the bank's member id".into()));
        }
        (None, Some(_)) => {
            return Some(("clearing_system", "is empty: the bank code needs its clearing system".into()));
        }
        _ => {}
    }
    if let Some(bic) = bic {
        let shape_ok =
            (bic.len() == 8 || bic.len() == 11) && bic.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
        if !shape_ok {
            return Some(("bic", format!("{bic:?}: expected a BIC of 8 or 11 upper-case letters and digits")));
        }
    }
    None
}

/// A beneficiary's payout terms read from their texts (empty = absent): schedule, fee plan, reserve
/// percentage and release days; the error is (column, message).
pub(crate) type BeneficiaryTerms = (settle_core::PayoutSchedule, Option<String>, Option<Decimal>, Option<u32>);

pub(crate) fn beneficiary_terms(
    schedule: Option<&str>,
    fee_plan: Option<&str>,
    reserve_percent: Option<&str>,
    release_days: Option<&str>,
) -> Result<BeneficiaryTerms, (&'static str, String)> {
    let schedule = match schedule {
        Some(text) => settle_core::PayoutSchedule::parse(text).map_err(|e| ("schedule", e.to_string()))?,
        None => settle_core::PayoutSchedule::Daily,
    };
    let percent = match reserve_percent {
        Some(text) => Some(
            text.parse::<Decimal>()
                .ok()
                .filter(|p| *p >= Decimal::ZERO && *p <= Decimal::ONE_HUNDRED)
                .ok_or_else(|| ("reserve_percent", format!("{text:?}: expected a percentage from 0 to 100")))?,
        ),
        None => None,
    };
    let days = match release_days {
        Some(text) => Some(text.parse::<u32>().ok().filter(|d| *d <= 3660).ok_or_else(|| {
            ("reserve_release_business_days", format!("{text:?}: expected a number of business days from 0 to 3660"))
        })?),
        None => None,
    };
    if percent.is_some_and(|p| !p.is_zero()) && days.is_none() {
        return Err((
            "reserve_release_business_days",
            "is empty: a reserve needs the business days after which it is released".to_string(),
        ));
    }
    Ok((schedule, fee_plan.map(str::to_string), percent, days))
}

pub fn read_beneficiaries(path: &str, bytes: &[u8]) -> Result<Vec<Beneficiary>, TabularError> {
    let mut out = Vec::new();
    let file: Arc<str> = Arc::from(path);
    Table::open(path, bytes, &BENEFICIARIES)?.for_each_row(|row| {
        let country = row.required("country")?;
        let iban: String = row.optional("iban").unwrap_or("").chars().filter(|c| !c.is_whitespace()).collect();
        let bic = row.optional("bic").map(str::to_string);
        let other = [row.optional("account_number"), row.optional("clearing_system"), row.optional("bank_code")];
        if let Some((column, message)) = beneficiary_problem(country, &iban, bic.as_deref(), other) {
            return Err(row.error(column, message));
        }
        let (schedule, fee_plan, reserve_percent, reserve_release_business_days) = beneficiary_terms(
            row.optional("schedule"),
            row.optional("fee_plan"),
            row.optional("reserve_percent"),
            row.optional("reserve_release_business_days"),
        )
        .map_err(|(column, message)| row.error(column, message))?;
        out.push(Beneficiary {
            beneficiary_id: row.required("beneficiary_id")?.to_string(),
            legal_name: row.required("legal_name")?.to_string(),
            country: country.to_string(),
            iban,
            bic,
            account_number: other[0].map(str::to_string),
            clearing_system: other[1].map(str::to_string),
            bank_code: other[2].map(str::to_string),
            payout_currency: row.currency("payout_currency")?,
            street: row.optional("street").map(str::to_string),
            building_number: row.optional("building_number").map(str::to_string),
            post_code: row.optional("post_code").map(str::to_string),
            town: row.optional("town").map(str::to_string),
            minimum_payout: match row.optional("minimum_payout") {
                Some(text) => Some(
                    text.parse::<Decimal>()
                        .ok()
                        .filter(|m| !m.is_sign_negative())
                        .ok_or_else(|| row.error("minimum_payout", format!("{text:?}: expected an amount ≥ 0")))?,
                ),
                None => None,
            },
            schedule,
            fee_plan,
            reserve_percent,
            reserve_release_business_days,
            provenance: provenance(&file, row),
        });
        Ok(())
    })?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORDERS_CSV: &str = "order_id,kind,beneficiary_id,channel,order_date,amount,currency,extra\n\
O-1,sale,B-1,stripe,2026-10-30,12.50,EUR,x\n\
\n\
O-2,refund,B-1,stripe,2026-10-30,-1200,JPY,y\n";

    #[test]
    fn reads_orders_by_header_name_with_lines() {
        let orders = read_orders("orders.csv", ORDERS_CSV.as_bytes()).unwrap();
        assert_eq!(orders.len(), 2);
        assert_eq!(orders[0].amount.to_string(), "12.50");
        assert_eq!(orders[1].provenance.to_string(), "orders.csv:4");
        // columns in another order read the same
        let swapped = "currency,amount,order_id,kind,beneficiary_id,channel,order_date\nEUR,12.50,O-1,sale,B-1,stripe,2026-10-30\n";
        let again = read_orders("o.csv", swapped.as_bytes()).unwrap();
        assert_eq!(again[0].amount, orders[0].amount);
        // a BOM is not part of the first header
        let bom = format!("\u{feff}{swapped}");
        assert_eq!(read_orders("o.csv", bom.as_bytes()).unwrap().len(), 1);
    }

    fn err(text: &str) -> String {
        read_orders("orders.csv", text.as_bytes()).unwrap_err().to_string()
    }

    #[test]
    fn errors_name_file_line_column_and_expectation() {
        let head = "order_id,kind,beneficiary_id,channel,order_date,amount,currency\n";
        assert_eq!(
            err(&format!("{head}O-1,sale,B-1,stripe,2026-10-30,12.5x,EUR\n")),
            "orders.csv:2: column `amount`: invalid amount \"12.5x\": unexpected character 'x' at position 5; expected digits with '.' as decimal separator, no thousands separator, e.g. 1234.56"
        );
        assert_eq!(
            err(&format!("{head}O-1,sale,B-1,stripe,2026-10-30,12.50,EUX\n")),
            "orders.csv:2: column `currency`: unknown currency code \"EUX\": expected an ISO 4217 alphabetic code such as EUR, USD or JPY"
        );
        assert_eq!(
            err(&format!("{head}O-1,sale,B-1,stripe,2026-10-30,12.50\n")),
            "orders.csv:2: expected 7 fields as in the header of the orders layout, found 6"
        );
        assert!(
            err("order_id,kind\nO-1,sale\n")
                .starts_with("orders.csv:1: missing required column(s) `beneficiary_id`, `channel`")
        );
        assert!(err("").contains("the file is empty"));
        assert!(err(&format!("{head}O-1,sale,B-1,stripe,2026-10-30,-5.00,EUR\n")).contains("expected an amount > 0"));
        assert!(err(&format!("{head}O-1,gift,B-1,stripe,2026-10-30,5.00,EUR\n")).contains("column `kind`"));
        assert!(err(&format!("{head},sale,B-1,stripe,2026-10-30,5.00,EUR\n")).contains("column `order_id`: is empty"));
        assert!(err("order_id,order_id\n").contains("appears twice"));
    }

    #[test]
    fn channel_rows_round_trip_and_check_net() {
        let head = "channel,transaction_id,merchant_reference,kind,gross,fee,net,settlement_currency,presentment_amount,presentment_currency,batch_id,booking_date\n";
        let good = format!(
            "{head}stripe,t1,O-1,charge,6.10,0.30,5.80,EUR,1000,JPY,po_1,2026-10-30\nstripe,t2,,fee,-1.00,0.00,-1.00,EUR,,,,2026-10-30\n"
        );
        let rows = read_channel_transactions("c.csv", good.as_bytes()).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].batch_id, None);
        assert_eq!(rows[0].presentment_amount, Some(Decimal::new(1000, 0)));
        // What settle writes, it reads back to the same rows.
        let written = write_channel_transactions(&rows).unwrap();
        let back = read_channel_transactions("c.csv", &written).unwrap();
        let strip = |r: &ChannelTransaction| ChannelTransaction { provenance: Provenance::line("x", 1), ..r.clone() };
        assert_eq!(back.iter().map(strip).collect::<Vec<_>>(), rows.iter().map(strip).collect::<Vec<_>>());
        let bad = format!("{head}stripe,t1,O-1,charge,6.10,0.30,5.70,EUR,1000,JPY,po_1,2026-10-30\n");
        let message = read_channel_transactions("c.csv", bad.as_bytes()).unwrap_err().to_string();
        assert!(
            message.starts_with("c.csv:2: net_mismatch: gross 6.10 − fee 0.30 = 5.80 but net is 5.70"),
            "{message}"
        );
    }

    fn entry(reference: Option<&str>, name: Option<&str>, remittance: Option<&str>) -> BankEntry {
        BankEntry {
            account_id: "DE89370400440532013000".into(),
            entry_id: "E-1".into(),
            booking_date: settle_core::parse_date("2026-10-30").unwrap(),
            value_date: settle_core::parse_date("2026-10-30").unwrap(),
            direction: Direction::Credit,
            amount: Decimal::new(12_345, 2),
            currency: settle_core::Currency::from_code("EUR").unwrap(),
            reference: reference.map(Text::from),
            counterparty_name: name.map(Text::from),
            remittance_info: remittance.map(Text::from),
            status: settle_core::EntryStatus::Booked,
            reversal: false,
            bank_transaction_code: Some("PMNT/RCDT/ESCT".into()),
            details: Vec::new(),
            provenance: Provenance::line("x", 1),
        }
    }

    /// Found by issue 24: a camt entry with 10 000 `Ustrd` lines made night 1 write a 1,400,206-byte row
    /// into open_bank_entries.csv, and every later night refused settle's own carry file. Carry files are
    /// read without the input line limit: what settle writes, it reads back.
    #[test]
    fn a_carry_row_longer_than_any_input_line_reads_back() {
        let long = "x".repeat(1_500_000);
        let rows = [entry(Some("po_1"), Some("Acme"), Some(&long))];
        let written = write_bank_entries(&rows).unwrap();
        assert!(written.len() > profiled::LINE_BYTES_MAX);
        let back = read_bank_entries_from("open_bank_entries.csv", &written, Origin::Own).unwrap();
        assert_eq!(back[0].remittance_info.as_deref(), Some(long.as_str()));
        let refused = read_bank_entries("input.csv", &written).unwrap_err().to_string();
        assert!(refused.contains("input.csv:2: the line is longer than 1048576 bytes"), "{refused}");
    }

    proptest::proptest! {
        /// The orders carry file reads back as written, whatever the ids' characters (trimmed, no NUL).
        #[test]
        fn orders_read_back_as_written(
            ids in proptest::collection::vec("[a-zA-Z0-9 ,;\"'\n\r\t€é中\\/=+-]{1,40}", 3),
            cents in 1i64..1_000_000_000,
        ) {
            let t: Vec<String> = ids.iter().map(|t| t.trim().to_string()).collect();
            proptest::prop_assume!(t.iter().all(|t| !t.is_empty()));
            let order = Order {
                order_id: t[0].as_str().into(),
                kind: OrderKind::Sale,
                beneficiary_id: t[1].as_str().into(),
                channel: t[2].as_str().into(),
                order_date: settle_core::parse_date("2026-10-30").unwrap(),
                amount: Decimal::new(cents, 2),
                currency: settle_core::Currency::from_code("EUR").unwrap(),
                provenance: Provenance::line("x", 1),
            };
            let written = write_orders([&order]).unwrap();
            let back = read_orders_from("o.csv", &written, Origin::Own).unwrap();
            proptest::prop_assert_eq!(Order { provenance: Provenance::line("x", 1), ..back[0].clone() }, order);
        }

        /// Write → read is the identity for any text a reader accepts (trimmed, no NUL): quotes,
        /// separators, line breaks, non-ASCII.
        #[test]
        fn bank_entries_read_back_as_written(
            texts in proptest::collection::vec(
                proptest::option::of("[a-zA-Z0-9 ,;\"'\n\r\t€é中\\/=+-]{0,60}"),
                3,
            )
        ) {
            let t: Vec<Option<String>> = texts
                .iter()
                .map(|t| t.as_deref().map(str::trim).filter(|t| !t.is_empty()).map(str::to_string))
                .collect();
            let row = entry(t[0].as_deref(), t[1].as_deref(), t[2].as_deref());
            let written = write_bank_entries([&row]).unwrap();
            let back = read_bank_entries_from("b.csv", &written, Origin::Own).unwrap();
            let strip = |r: &BankEntry| BankEntry { provenance: Provenance::line("x", 1), ..r.clone() };
            proptest::prop_assert_eq!(strip(&back[0]), strip(&row));
        }
    }

    #[test]
    fn beneficiaries_check_iban() {
        let head = "beneficiary_id,legal_name,country,iban,bic,payout_currency\n";
        let good = format!("{head}B-1,Acme GmbH,DE,DE89 3704 0044 0532 0130 00,COBADEFFXXX,EUR\n");
        assert_eq!(read_beneficiaries("b.csv", good.as_bytes()).unwrap()[0].iban, "DE89370400440532013000");
        let bad = format!("{head}B-1,Acme GmbH,DE,DE88370400440532013000,,EUR\n");
        assert!(read_beneficiaries("b.csv", bad.as_bytes()).unwrap_err().to_string().contains("not a valid IBAN"));
        // Accounts outside IBAN countries: a number, and the bank by BIC or clearing system and code.
        let head =
            "beneficiary_id,legal_name,country,iban,bic,account_number,clearing_system,bank_code,payout_currency\n";
        let err = |row: &str| read_beneficiaries("b.csv", format!("{head}{row}\n").as_bytes()).unwrap_err().to_string();
        let us = read_beneficiaries(
            "b.csv",
            format!("{head}B-2,Acme Inc,US,,,000123456789,USABA,021000021,USD\n").as_bytes(),
        )
        .unwrap();
        assert_eq!(us[0].account_id(), "USABA/021000021/000123456789");
        assert!(
            err("B-2,Acme Inc,US,,,,,,USD").contains("column `iban`: is empty: expected an IBAN, or an account_number")
        );
        assert!(err("B-2,Acme Inc,US,,,12 34,,,USD").contains("column `account_number`: \"12 34\": expected 1 to 34"));
        assert!(err("B-2,Acme Inc,US,,,1234,ABA,021000021,USD").contains("column `clearing_system`"));
        assert!(err("B-2,Acme Inc,US,,,1234,USABA,,USD").contains("column `bank_code`: is empty"));
        assert!(err("B-2,Acme GmbH,DE,DE89370400440532013000,,1234,,,EUR").contains("beside an IBAN"));
    }
}

#[cfg(test)]
mod doc_tests {
    /// docs/formats.md documents every column of every canonical layout, in its own section.
    #[test]
    fn formats_doc_lists_every_column() {
        let doc = include_str!("../../../docs/formats.md");
        for layout in super::canonical_layouts() {
            let heading = format!("\n## {}\n", layout.name);
            let section =
                doc.split(&heading).nth(1).unwrap_or_else(|| panic!("docs/formats.md has no section {heading:?}"));
            let section = section.split("\n## ").next().unwrap_or(section);
            for column in layout.columns {
                assert!(
                    section.contains(&format!("| `{}` |", column.name)),
                    "docs/formats.md, {}: column `{}`",
                    layout.name,
                    column.name
                );
            }
        }
    }
}

/// Columns of `write_bank_entries`: the canonical bank entries layout (readable back by
/// `read_bank_entries`), then what statements add.
pub const BANK_ENTRY_OUTPUT_COLUMNS: [&str; 16] = [
    "account_id",
    "entry_id",
    "booking_date",
    "value_date",
    "direction",
    "amount",
    "currency",
    "reference",
    "counterparty_name",
    "remittance_info",
    "status",
    "reversal",
    "bank_transaction_code",
    "details",
    "charges",
    "source",
];

/// Renders orders as CSV in the canonical `ORDERS` layout (reading it back gives the same orders).
pub fn write_orders<'a>(rows: impl IntoIterator<Item = &'a Order>) -> Result<Vec<u8>, csv::Error> {
    let mut w = csv::WriterBuilder::new().terminator(csv::Terminator::Any(b'\n')).from_writer(Vec::new());
    w.write_record(ORDERS.columns.iter().map(|c| c.name))?;
    for r in rows {
        w.write_record([
            r.order_id.as_str(),
            r.kind.as_str(),
            r.beneficiary_id.as_str(),
            r.channel.as_str(),
            &r.order_date.to_string(),
            &settle_core::format_minor(r.amount, r.currency),
            r.currency.code(),
        ])?;
    }
    w.into_inner().map_err(|e| e.into_error().into())
}

/// Renders beneficiaries as CSV in the canonical `BENEFICIARIES` layout.
pub fn write_beneficiaries(rows: &[Beneficiary]) -> Result<Vec<u8>, csv::Error> {
    let mut w = csv::WriterBuilder::new().terminator(csv::Terminator::Any(b'\n')).from_writer(Vec::new());
    w.write_record(BENEFICIARIES.columns.iter().map(|c| c.name))?;
    for r in rows {
        w.write_record([
            r.beneficiary_id.as_str(),
            r.legal_name.as_str(),
            r.country.as_str(),
            r.iban.as_str(),
            r.bic.as_deref().unwrap_or(""),
            r.account_number.as_deref().unwrap_or(""),
            r.clearing_system.as_deref().unwrap_or(""),
            r.bank_code.as_deref().unwrap_or(""),
            r.payout_currency.code(),
            r.street.as_deref().unwrap_or(""),
            r.building_number.as_deref().unwrap_or(""),
            r.post_code.as_deref().unwrap_or(""),
            r.town.as_deref().unwrap_or(""),
            &r.minimum_payout.map(|m| m.to_string()).unwrap_or_default(),
            &r.schedule.to_string(),
            r.fee_plan.as_deref().unwrap_or(""),
            &r.reserve_percent.map(|m| m.to_string()).unwrap_or_default(),
            &r.reserve_release_business_days.map(|m| m.to_string()).unwrap_or_default(),
        ])?;
    }
    w.into_inner().map_err(|e| e.into_error().into())
}

/// Renders bank entries as CSV in the canonical layout plus `reversal`, `bank_transaction_code`,
/// `details` (how many transaction details the entry has) and `source` (file and line or XML path).
pub fn write_bank_entries<'a>(rows: impl IntoIterator<Item = &'a BankEntry>) -> Result<Vec<u8>, csv::Error> {
    let mut w = csv::WriterBuilder::new().terminator(csv::Terminator::Any(b'\n')).from_writer(Vec::new());
    w.write_record(BANK_ENTRY_OUTPUT_COLUMNS)?;
    for r in rows {
        w.write_record([
            r.account_id.as_str(),
            r.entry_id.as_str(),
            &r.booking_date.to_string(),
            &r.value_date.to_string(),
            r.direction.as_str(),
            &settle_core::format_minor(r.amount, r.currency),
            r.currency.code(),
            r.reference.as_deref().unwrap_or(""),
            r.counterparty_name.as_deref().unwrap_or(""),
            r.remittance_info.as_deref().unwrap_or(""),
            r.status.as_str(),
            if r.reversal { "true" } else { "false" },
            r.bank_transaction_code.as_deref().unwrap_or(""),
            &r.details.len().to_string(),
            &r.charges().map(|c| settle_core::format_minor(c.amount(), c.currency())).unwrap_or_default(),
            &r.provenance.to_string(),
        ])?;
    }
    w.into_inner().map_err(|e| e.into_error().into())
}

#[cfg(test)]
mod profile_tests;
