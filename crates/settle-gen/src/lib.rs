//! settle-gen: a realistic settlement day of any size in settle's canonical layouts, with exceptions
//! injected at configurable rates and `truth.csv` listing the expected outcome of every record.
//!
//! Streaming: orders and channel rows are written as they are drawn; what is kept in memory is bounded by
//! the number of payout batches (channels × days) and beneficiaries, not by the number of orders. Same
//! options and seed ⇒ same bytes (settle's own PRNG, no clock, no hash-map order).
#![forbid(unsafe_code)]

mod adyen_large;
mod camt_large;
mod ecb_history;
mod mt940_large;
mod rng;
mod world;

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use settle_core::{Calendar, Currency, Date, Decimal, Money, RoundingMode, format_minor};
use settle_fx::RateTable;
use settle_iso20022 as camt;

pub use adyen_large::write_large_adyen;
pub use camt_large::write_large_camt053;
pub use ecb_history::ecb_history_csv;
pub use mt940_large::write_large_mt940;
pub use rng::Rng;
use world::{CHANNELS, CURRENCIES, Channel, beneficiary_for};

/// What to generate.
#[derive(Debug, Clone)]
pub struct GenOptions {
    pub orders: u64,
    pub seed: u64,
    /// The business date the generated job settles (default in the CLI: 2026-10-31, a Saturday).
    pub business_date: Date,
    /// Beneficiaries; default max(10, orders / 200).
    pub beneficiaries: Option<u64>,
    /// Fraction of orders for each injected exception kind (overridable per kind).
    pub rates: InjectionRates,
    /// How many bank credits are short by a bank fee.
    pub short_credits: u64,
    /// How many bank credits carry no channel payout reference (a customer's wire).
    pub stray_credits: u64,
    /// Merchant accounts per channel (at least 1). Each channel pays out one batch per merchant account
    /// and booking day, so the bank statements hold about channels × accounts × days credits; each
    /// beneficiary's sales go through one account.
    pub merchant_accounts: u64,
    pub job_name: String,
    /// The night's place in a sequence of generated nights run one after the other into one OUT (0: a
    /// day on its own). Nights of one seed share the world (beneficiaries, their accounts) but not their
    /// rows: orders, channel rows, payout batch ids, bank entries and rates come from the night's own
    /// stream, so a night's carried open items never collide with a later night's rows.
    pub night: u64,
}

/// Per-kind injection rates, each a fraction of the orders in [0, 1]; counts are round(orders × rate).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InjectionRates {
    pub no_channel_transaction: Decimal,
    pub no_order: Decimal,
    pub amount_mismatch: Decimal,
    pub duplicate: Decimal,
    pub chargeback: Decimal,
}

impl InjectionRates {
    pub fn uniform(rate: Decimal) -> InjectionRates {
        InjectionRates {
            no_channel_transaction: rate,
            no_order: rate,
            amount_mismatch: rate,
            duplicate: rate,
            chargeback: rate,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum GenError {
    #[error("{0}")]
    Invalid(String),
    #[error("writing {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("writing {path}: {source}")]
    Csv { path: String, source: csv::Error },
}

/// What was generated.
#[derive(Debug, Clone, Default)]
pub struct GenReport {
    /// (file name, rows excluding the header)
    pub files: Vec<(String, u64)>,
    /// Injected counts per truth reason.
    pub injected: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    Normal,
    NoChannelTransaction,
    NoOrder,
    AmountMismatch,
    Duplicate,
    Chargeback,
}

const FATES: [Fate; 5] =
    [Fate::NoChannelTransaction, Fate::NoOrder, Fate::AmountMismatch, Fate::Duplicate, Fate::Chargeback];

struct Out {
    dir: PathBuf,
    name: &'static str,
    writer: csv::Writer<BufWriter<File>>,
    rows: u64,
}

impl Out {
    fn create(dir: &Path, name: &'static str, header: &[&str]) -> Result<Out, GenError> {
        let path = dir.join(format!(".{name}.gen-tmp"));
        let file = File::create(&path).map_err(|source| GenError::Io { path: path.display().to_string(), source })?;
        let mut writer = csv::WriterBuilder::new()
            .terminator(csv::Terminator::Any(b'\n'))
            .from_writer(BufWriter::with_capacity(1 << 20, file));
        writer.write_record(header).map_err(|source| GenError::Csv { path: name.into(), source })?;
        Ok(Out { dir: dir.to_path_buf(), name, writer, rows: 0 })
    }

    fn row<I, T>(&mut self, fields: I) -> Result<u64, GenError>
    where
        I: IntoIterator<Item = T>,
        T: AsRef<[u8]>,
    {
        self.writer.write_record(fields).map_err(|source| GenError::Csv { path: self.name.into(), source })?;
        self.rows += 1;
        Ok(self.rows + 1) // the physical line of this row (header is line 1)
    }

    fn finish(self, report: &mut GenReport) -> Result<(), GenError> {
        let temp = self.dir.join(format!(".{}.gen-tmp", self.name));
        let io = |source| GenError::Io { path: temp.display().to_string(), source };
        let mut inner = self.writer.into_inner().map_err(|e| io(e.into_error()))?;
        inner.flush().map_err(io)?;
        inner.get_ref().sync_all().map_err(io)?;
        fs::rename(&temp, self.dir.join(self.name)).map_err(io)?;
        report.files.push((self.name.to_string(), self.rows));
        Ok(())
    }
}

fn count_for(orders: u64, rate: Decimal, what: &str) -> Result<u64, GenError> {
    if rate < Decimal::ZERO || rate > Decimal::ONE {
        return Err(GenError::Invalid(format!("rate for {what} is {rate}: expected a fraction between 0 and 1")));
    }
    let count =
        (Decimal::from(orders) * rate).round_dp_with_strategy(0, rust_decimal::RoundingStrategy::MidpointNearestEven);
    u64::try_from(count.mantissa()).map_err(|_| GenError::Invalid(format!("rate for {what} gives a negative count")))
}

fn round(money: Money) -> Money {
    money.round_to_minor(RoundingMode::HalfEven).expect("generated currencies have minor units")
}

/// The channel's booking of one presentment amount: gross, fee and net in its settlement currency.
fn channel_amounts(table: &RateTable, channel: &Channel, presentment: Money, date: Date, with_fee: bool) -> Amounts {
    let settlement = channel.settlement_currency();
    let (gross, rate) = if presentment.currency() == settlement {
        (presentment, Decimal::ONE)
    } else {
        let rate = table
            .lookup(presentment.currency(), settlement, date, 7)
            .expect("generated rates cover every booking date")
            .rate;
        // The channel's applied rate is the reference rate less its FX markup.
        let applied = (rate * (Decimal::ONE - channel.fx_markup())).round_dp(10).normalize();
        (round(Money::new(presentment.amount() * applied, settlement)), applied)
    };
    let fee = if with_fee {
        round(Money::new(gross.amount().abs() * channel.fee_rate() + channel.fee_fixed(), settlement))
    } else {
        Money::zero(settlement)
    };
    let net = gross.checked_sub(&fee).expect("small amounts");
    Amounts { gross, fee, net, rate }
}

/// A channel's booking of a presentment amount, in its settlement currency, and the rate it applied.
#[derive(Clone, Copy)]
struct Amounts {
    gross: Money,
    fee: Money,
    net: Money,
    rate: Decimal,
}

/// Adyen Settlement details report columns (the newer order, with the booking date).
pub(crate) const ADYEN_COLUMNS: [&str; 32] = [
    "Company Account",
    "Merchant Account",
    "Psp Reference",
    "Merchant Reference",
    "Payment Method",
    "Creation Date",
    "TimeZone",
    "Type",
    "Modification Reference",
    "Gross Currency",
    "Gross Debit (GC)",
    "Gross Credit (GC)",
    "Exchange Rate",
    "Net Currency",
    "Net Debit (NC)",
    "Net Credit (NC)",
    "Commission (NC)",
    "Markup (NC)",
    "Scheme Fees (NC)",
    "Interchange (NC)",
    "Payment Method Variant",
    "Batch Number",
    "Reserved4",
    "Reserved5",
    "Reserved6",
    "Reserved7",
    "Reserved8",
    "Reserved9",
    "Reserved10",
    "Modification Merchant Reference",
    "Booking Date",
    "Booking Date TimeZone",
];

/// Stripe itemized payout reconciliation columns (a subset the user chose, in Stripe's order).
const STRIPE_COLUMNS: [&str; 14] = [
    "automatic_payout_id",
    "automatic_payout_effective_at",
    "balance_transaction_id",
    "created_utc",
    "currency",
    "gross",
    "fee",
    "net",
    "reporting_category",
    "source_id",
    "customer_facing_amount",
    "customer_facing_currency",
    "payment_metadata[order_id]",
    "refund_metadata[order_id]",
];

/// `(debit, credit)` columns of an unsigned pair.
fn debit_credit(m: Money) -> (String, String) {
    if m.amount() < Decimal::ZERO { (money_fields(m.neg()), String::new()) } else { (String::new(), money_fields(m)) }
}

/// One row of the channel's own report layout.
struct ReportRow<'a> {
    channel: &'a Channel,
    kind: &'a str,
    transaction_id: &'a str,
    payment_reference: &'a str,
    order_id: &'a str,
    /// Our refund's own id goes where the channel keeps the refund's reference.
    is_refund: bool,
    presentment: Option<Money>,
    amounts: Amounts,
    booking: Date,
    batch_id: &'a str,
    payout_date: Date,
}

impl ReportRow<'_> {
    fn fields(&self) -> Vec<String> {
        let a = &self.amounts;
        let time = format!("{} 10:00:00", self.booking);
        match self.channel.name {
            "stripe" => {
                let category = match self.kind {
                    "chargeback" => "dispute",
                    other => other,
                };
                vec![
                    self.batch_id.to_string(),
                    self.payout_date.to_string(),
                    self.transaction_id.to_string(),
                    time,
                    a.net.currency().code().to_ascii_lowercase(),
                    money_fields(a.gross),
                    money_fields(a.fee),
                    money_fields(a.net),
                    category.to_string(),
                    self.payment_reference.to_string(),
                    self.presentment.map(money_fields).unwrap_or_default(),
                    self.presentment.map(|p| p.currency().code().to_ascii_lowercase()).unwrap_or_default(),
                    if self.is_refund { String::new() } else { self.order_id.to_string() },
                    if self.is_refund { self.order_id.to_string() } else { String::new() },
                ]
            }
            _ => {
                let adyen_type = match self.kind {
                    "charge" => "Settled",
                    "refund" => "Refunded",
                    "chargeback" => "Chargeback",
                    "fee" => "Fee",
                    "payout" => "MerchantPayout",
                    other => other,
                };
                let batch_level = self.payment_reference.is_empty();
                let (gross_debit, gross_credit) = self.presentment.map(debit_credit).unwrap_or_default();
                let (net_debit, net_credit) = debit_credit(a.net);
                let mut row = vec![
                    "SettleDemo".to_string(),
                    "SettleDemo_EUR".to_string(),
                    self.payment_reference.to_string(),
                    if batch_level { String::new() } else { self.order_id.to_string() },
                    if batch_level { String::new() } else { "visa".to_string() },
                    time.clone(),
                    "CET".to_string(),
                    adyen_type.to_string(),
                    self.transaction_id.to_string(),
                    self.presentment.map(|p| p.currency().code().to_string()).unwrap_or_default(),
                    gross_debit,
                    gross_credit,
                    if batch_level { String::new() } else { a.rate.to_string() },
                    a.net.currency().code().to_string(),
                    net_debit,
                    net_credit,
                    if batch_level || a.fee.is_zero() { String::new() } else { money_fields(a.fee) },
                    String::new(),
                    String::new(),
                    String::new(),
                    if batch_level { String::new() } else { "visastandardcredit".to_string() },
                    self.batch_id.to_string(),
                ];
                row.extend(std::iter::repeat_n(String::new(), 7));
                row.push(match (batch_level, self.is_refund) {
                    (true, _) => String::new(),
                    (false, true) => self.order_id.to_string(),
                    (false, false) => "<auto>".to_string(),
                });
                row.push(time);
                row.push("CET".to_string());
                row
            }
        }
    }
}

/// The order a channel row belongs to.
#[derive(Clone, Copy)]
struct OrderRow<'a> {
    id: &'a str,
    beneficiary: &'a str,
    /// Zero-based; chooses the merchant account the sale goes through.
    beneficiary_index: u64,
    channel: usize,
    date: Date,
}

struct WrittenRow {
    fields: Vec<String>,
    record_id: String,
}

/// The streamed outputs of the order loop, and the payout batches they add up to.
struct DayWriters {
    orders: Out,
    /// One report per channel, in the channel's own layout (index-aligned with `CHANNELS`).
    channel: Vec<Out>,
    truth: Out,
    seed: u64,
    calendar: Calendar,
    merchant_accounts: u64,
    /// `GenOptions::night`: batch ids take account slots of their own per night.
    night: u64,
    /// (channel index, booking date, merchant account) → (batch id, net, transactions)
    batches: BTreeMap<(usize, Date, u64), (String, Money, u64)>,
}

impl DayWriters {
    fn order(&mut self, order: &OrderRow<'_>, kind: &str, amount: Money, expected: &str) -> Result<(), GenError> {
        let channel = &CHANNELS[order.channel];
        self.orders.row([
            order.id,
            kind,
            order.beneficiary,
            channel.name,
            &order.date.to_string(),
            &money_fields(amount),
            amount.currency().code(),
        ])?;
        self.truth.row(["A", "order", order.id, expected, paired_with(expected, order.id)])?;
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn transaction(
        &mut self,
        order: &OrderRow<'_>,
        kind: &str,
        presentment: Money,
        amounts: Amounts,
        booking: Date,
        expected: &str,
        rng: &mut Rng,
    ) -> Result<WrittenRow, GenError> {
        let channel = &CHANNELS[order.channel];
        let tx_id = channel.transaction_id(rng);
        let payment_reference = channel.payment_reference(rng);
        let account = order.beneficiary_index % self.merchant_accounts;
        let batch_id = channel.batch_id(self.seed, booking, account + self.night * self.merchant_accounts);
        let fields = ReportRow {
            channel,
            kind,
            transaction_id: &tx_id,
            payment_reference: &payment_reference,
            order_id: order.id,
            is_refund: kind == "refund",
            presentment: Some(presentment),
            amounts,
            booking,
            batch_id: &batch_id,
            payout_date: self.payout_date(booking),
        }
        .fields();
        self.channel[order.channel].row(&fields)?;
        let record_id = format!("{}:{tx_id}", channel.name);
        self.truth.row(["A", "channel_transaction", &record_id, expected, paired_with(expected, order.id)])?;
        let net = amounts.net;
        let batch = self
            .batches
            .entry((order.channel, booking, account))
            .or_insert_with(|| (batch_id, Money::zero(net.currency()), 0));
        batch.1 = batch.1.checked_add(&net).expect("batch sums stay far below 10^28");
        batch.2 += 1;
        Ok(WrittenRow { fields, record_id })
    }

    /// A batch booked on `booking` is paid out the next business day.
    fn payout_date(&self, booking: Date) -> Date {
        self.calendar.add_business_days(booking, 1).expect("near dates")
    }
}

/// A bank credit the generator books.
struct Credit {
    booking: Date,
    channel: usize,
    amount: Money,
    reference: String,
    payer: &'static str,
    remittance: String,
    expected: &'static str,
    /// The payout batch (`channel:batch id`) it credits, empty for a stray credit.
    batch: String,
}

/// truth.csv's `expected_with`: records expected to meet (matched, or paired in an exception such as an
/// amount mismatch) share this label; a record expected alone (open, rejected, unpaired) has none.
fn paired_with<'a>(expected: &str, label: &'a str) -> &'a str {
    if matches!(expected, "matched" | "amount_mismatch") { label } else { "" }
}

/// A credit as a camt.053 entry: SEPA credit transfer, end-to-end id = the payer's reference.
fn camt_credit(index: usize, entry_id: String, credit: &Credit) -> camt::Entry {
    camt::Entry {
        index,
        entry_reference: None,
        amount: credit.amount,
        direction: settle_core::Direction::Credit,
        reversal: false,
        status: settle_core::EntryStatus::Booked,
        booking_date: Some(credit.booking),
        value_date: Some(credit.booking),
        account_servicer_reference: Some(entry_id),
        bank_transaction_code: Some("PMNT/RCDT/ESCT".into()),
        batch_count: None,
        batch_total: None,
        charges: None,
        additional_info: Some("SEPA CREDIT TRANSFER".into()),
        details: vec![settle_core::TransactionDetail {
            end_to_end_id: Some(credit.reference.as_str().into()),
            more: Some(Box::new(settle_core::DetailMore {
                amount: Some(credit.amount),
                direction: Some(settle_core::Direction::Credit),
                ..settle_core::DetailMore::default()
            })),
            debtor_name: Some(credit.payer.into()),
            remittance_info: Some(credit.remittance.as_str().into()),
            ..settle_core::TransactionDetail::default()
        }],
        xml_path: String::new(),
    }
}

/// A credit as an MT940 statement line: the payer's reference as customer reference, our entry id as
/// the bank reference, the payer and remittance as unstructured `:86:` text.
fn mt940_credit(index: usize, entry_id: String, credit: &Credit) -> settle_mt940::Entry {
    settle_mt940::Entry {
        index,
        line: 0,
        value_date: credit.booking,
        entry_date: Some(credit.booking),
        mark: settle_mt940::Mark::Credit,
        funds_code: None,
        amount: credit.amount,
        transaction_type: "NTRF".into(),
        customer_reference: credit.reference.as_str().into(),
        bank_reference: Some(entry_id.into()),
        supplementary: None,
        information: Some(format!("{} {}", credit.payer, credit.remittance)),
        details: Vec::new(),
        information_code: None,
    }
}

/// Writes the USD account's MT940 statements, one message per booking day, chained balances.
fn write_mt940_statements(
    dir: &Path,
    rng: &mut Rng,
    days: BTreeMap<Date, Vec<settle_mt940::Entry>>,
    report: &mut GenReport,
) -> Result<(), GenError> {
    let usd = CHANNELS[1].settlement_currency();
    let mut balance = Money::from_minor_units(i128::from(rng.range(1_000_000, 20_000_000)), usd).expect("small");
    let mut text = String::new();
    let mut rows = 0u64;
    for (n, (date, entries)) in days.into_iter().enumerate() {
        let previous_day = date.yesterday().expect("near dates");
        text.push_str(&settle_mt940::write_mt940(
            &format!("STMT{}", date.strftime("%Y%m%d")),
            CHANNELS[1].account,
            &format!("{:05}/001", n + 1),
            balance,
            previous_day,
            &entries,
        ));
        for e in &entries {
            balance = balance.checked_add(&e.amount).expect("small");
        }
        rows += entries.len() as u64;
    }
    let path = dir.join("bank_statement_usd.sta");
    fs::write(&path, text).map_err(|source| GenError::Io { path: path.display().to_string(), source })?;
    report.files.push(("bank_statement_usd.sta".into(), rows));
    Ok(())
}

/// Writes the EUR account's statements (camt.053.001.08), one per booking day, chained: each opening
/// balance is the previous closing balance.
fn write_camt_statements(
    dir: &Path,
    options: &GenOptions,
    rng: &mut Rng,
    days: BTreeMap<Date, Vec<camt::Entry>>,
    report: &mut GenReport,
) -> Result<(), GenError> {
    let eur = CHANNELS[0].settlement_currency();
    let mut balance = Money::from_minor_units(i128::from(rng.range(5_000_000, 50_000_000)), eur).expect("small");
    let mut statements = Vec::with_capacity(days.len());
    let mut rows = 0u64;
    for (n, (date, entries)) in days.into_iter().enumerate() {
        let opening = balance;
        let mut credits = Money::zero(eur);
        for e in &entries {
            credits = credits.checked_add(&e.amount).expect("small");
        }
        balance = opening.checked_add(&credits).expect("small");
        rows += entries.len() as u64;
        statements.push(camt::Statement {
            format: camt::MessageFormat { kind: camt::MessageKind::Camt053, version: 8 },
            message_id: None,
            message_created: None,
            message_page: None,
            statement_id: Some(format!("{}-{}", CHANNELS[0].account, date.strftime("%Y%m%d"))),
            statement_page: None,
            electronic_sequence: Some((n + 1).to_string()),
            legal_sequence: None,
            created: Some(format!("{}T22:00:00+01:00", date)),
            from: Some(format!("{date}T00:00:00+01:00")),
            to: Some(format!("{date}T23:59:59+01:00")),
            account: Some(CHANNELS[0].account.to_string()),
            account_currency: Some(eur),
            owner: Some("MARKETPLACE EUROPE GMBH".into()),
            servicer_bic: Some("INGDDEFFXXX".into()),
            balances: vec![
                camt::Balance { code: "OPBD".into(), amount: opening, date: Some(date) },
                camt::Balance { code: "CLBD".into(), amount: balance, date: Some(date) },
            ],
            summary: Some(camt::TxSummary {
                total_count: Some(entries.len() as u64),
                total_sum: Some(credits.amount()),
                net: Some(credits.amount()),
                credit_count: Some(entries.len() as u64),
                credit_sum: Some(credits.amount()),
                debit_count: Some(0),
                debit_sum: Some(Decimal::ZERO),
            }),
            entries,
            xml_path: String::new(),
            warnings: Vec::new(),
        });
    }
    let message_id = format!("CAMT053-{}-{}", options.business_date.strftime("%Y%m%d"), options.seed);
    let created = format!("{}T06:00:00+01:00", options.business_date);
    let xml = camt::write_camt053(&camt::StatementToWrite {
        version: 8,
        message_id: &message_id,
        created: &created,
        statements: &statements,
    });
    let path = dir.join("bank_statement_eur.xml");
    fs::write(&path, xml).map_err(|source| GenError::Io { path: path.display().to_string(), source })?;
    report.files.push(("bank_statement_eur.xml".into(), rows));
    Ok(())
}

/// The generated channel reports, in the channels' own layouts.
pub const STRIPE_FILE: &str = "stripe_payout_reconciliation.csv";
pub const ADYEN_FILE: &str = "adyen_settlement_details.csv";

fn money_fields(m: Money) -> String {
    format_minor(m.amount(), m.currency())
}

/// Generates a day into `dir` (created if missing).
pub fn generate(dir: &Path, options: &GenOptions) -> Result<GenReport, GenError> {
    if options.orders == 0 {
        return Err(GenError::Invalid("--orders must be at least 1".into()));
    }
    if options.merchant_accounts == 0 {
        return Err(GenError::Invalid("--merchant-accounts must be at least 1".into()));
    }
    if options.job_name.is_empty()
        || !options.job_name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(GenError::Invalid(format!("job name {:?}: expected letters, digits, - and _", options.job_name)));
    }
    fs::create_dir_all(dir).map_err(|source| GenError::Io { path: dir.display().to_string(), source })?;
    let mut report = GenReport::default();
    let rng = Rng::new(options.seed);
    // The night's rows come from a stream of their own (night 0: the seed's, as a single day always had).
    let night_rng = if options.night == 0 { rng.clone() } else { rng.fork(0x000E_1647_0000 + options.night) };
    let calendar = Calendar::target2();
    let d = options.business_date;
    let day = |n: i64| d.checked_sub(jiff::Span::new().days(n)).expect("dates near the business date");

    // Rates: every TARGET2 business day of the 21 days up to the business date.
    // Rates as their publishers deliver them: the ECB's currencies in the ECB's own history layout
    // (eurofxref-hist.csv: newest day first, a column per currency, a trailing comma), the others
    // (KWD, from the Central Bank of Kuwait) in settle's canonical rates layout.
    let mut rates_out = Out::create(dir, "rates.csv", &["date", "base", "quote", "rate", "source"])?;
    let ecb_codes: Vec<&str> =
        CURRENCIES.iter().filter(|c| c.rate_source == "ECB" && c.code != "EUR").map(|c| c.code).collect();
    let mut ecb_days: Vec<(Date, Vec<String>)> = Vec::new();
    let mut rate_rows = Vec::new();
    let mut rate_rng = night_rng.fork(1);
    let mut levels: Vec<Decimal> = CURRENCIES.iter().map(|c| c.eur_rate()).collect();
    for back in (0..=21).rev() {
        let date = day(back);
        if !calendar.is_business_day(date) {
            continue;
        }
        for (c, level) in CURRENCIES.iter().zip(levels.iter_mut()) {
            if c.code == "EUR" {
                continue;
            }
            // A random walk of at most ±0.4 % a day, rounded to the publisher's precision.
            let step = Decimal::new(rate_rng.range(-40, 40), 4);
            *level = (*level * (Decimal::ONE + step)).round_dp(c.rate_dp);
            let provenance = if c.rate_source == "ECB" {
                if ecb_days.last().map(|(d, _)| *d) != Some(date) {
                    ecb_days.push((date, Vec::with_capacity(ecb_codes.len())));
                }
                ecb_days.last_mut().expect("just pushed").1.push(level.to_string());
                // The generator's own rate table never reports where a rate came from.
                settle_core::Provenance::line("eurofxref-hist.csv", 1)
            } else {
                rates_out.row([date.to_string().as_str(), "EUR", c.code, &level.to_string(), c.rate_source])?;
                settle_core::Provenance::line("rates.csv", rates_out.rows + 1)
            };
            rate_rows.push(settle_core::Rate {
                date,
                base: Currency::from_code("EUR").expect("EUR"),
                quote: c.currency(),
                rate: *level,
                source: c.rate_source.into(),
                provenance,
            });
        }
    }
    rates_out.finish(&mut report)?;
    let mut ecb_header: Vec<&str> = vec!["Date"];
    ecb_header.extend(&ecb_codes);
    ecb_header.push("");
    let mut ecb_out = Out::create(dir, "eurofxref-hist.csv", &ecb_header)?;
    for (date, levels) in ecb_days.iter().rev() {
        let mut row: Vec<&str> = Vec::with_capacity(levels.len() + 2);
        let date = date.to_string();
        row.push(&date);
        row.extend(levels.iter().map(String::as_str));
        row.push("");
        ecb_out.row(row)?;
    }
    ecb_out.finish(&mut report)?;
    let table = RateTable::new(rate_rows).expect("generated rates do not conflict");

    // Beneficiaries.
    let beneficiary_count = options.beneficiaries.unwrap_or((options.orders / 200).max(10)).max(1);
    let mut ben_out = Out::create(
        dir,
        "beneficiaries.csv",
        &[
            "beneficiary_id",
            "legal_name",
            "country",
            "iban",
            "bic",
            "payout_currency",
            "street",
            "building_number",
            "post_code",
            "town",
            "schedule",
            "fee_plan",
            "reserve_percent",
            "reserve_release_business_days",
        ],
    )?;
    // The accounts the payout system before settle last paid, a week before the business date.
    let mut paid_out = Out::create(dir, "paid_accounts.csv", &["beneficiary_id", "iban", "paid_on"])?;
    let paid_on = d.checked_sub(jiff::Span::new().days(7)).map_err(|e| GenError::Invalid(e.to_string()))?.to_string();
    for index in 0..beneficiary_count {
        let b = beneficiary_for(&rng, index);
        let (reserve_percent, reserve_days) = b.reserve.unwrap_or(("", ""));
        ben_out.row([
            b.id.as_str(),
            &b.legal_name,
            b.country,
            &b.iban,
            &b.bic,
            b.currency,
            b.street,
            &b.building_number,
            &b.post_code,
            b.town,
            b.schedule,
            "marketplace",
            reserve_percent,
            reserve_days,
        ])?;
        paid_out.row([b.id.as_str(), &b.paid_iban, &paid_on])?;
    }
    ben_out.finish(&mut report)?;
    paid_out.finish(&mut report)?;

    // Orders and channel rows, streamed.
    let mut counts: Vec<u64> = vec![
        count_for(options.orders, options.rates.no_channel_transaction, "no_channel_transaction")?,
        count_for(options.orders, options.rates.no_order, "no_order")?,
        count_for(options.orders, options.rates.amount_mismatch, "amount_mismatch")?,
        count_for(options.orders, options.rates.duplicate, "duplicate")?,
        count_for(options.orders, options.rates.chargeback, "chargeback")?,
    ];
    if counts.iter().sum::<u64>() > options.orders {
        return Err(GenError::Invalid("the injection rates add up to more than all orders".into()));
    }
    let orders_out = Out::create(
        dir,
        "orders.csv",
        &["order_id", "kind", "beneficiary_id", "channel", "order_date", "amount", "currency"],
    )?;
    let mut channel_outs = Vec::with_capacity(CHANNELS.len());
    for channel in &CHANNELS {
        channel_outs.push(match channel.name {
            "stripe" => Out::create(dir, STRIPE_FILE, &STRIPE_COLUMNS)?,
            _ => Out::create(dir, ADYEN_FILE, &ADYEN_COLUMNS)?,
        });
    }
    let truth = Out::create(dir, "truth.csv", &["stage", "record_kind", "record_id", "expected", "expected_with"])?;
    let mut day_out = DayWriters {
        orders: orders_out,
        channel: channel_outs,
        truth,
        seed: options.seed,
        calendar: calendar.clone(),
        merchant_accounts: options.merchant_accounts,
        night: options.night,
        batches: BTreeMap::new(),
    };
    let mut order_rng = night_rng.fork(2);
    let mut remaining = options.orders;
    let channel_weights: Vec<u64> = CHANNELS.iter().map(|c| c.weight).collect();
    let currency_weights: Vec<u64> = CURRENCIES.iter().map(|c| c.weight).collect();
    let mut injected: BTreeMap<String, u64> = BTreeMap::new();
    let mut note = |name: &str| *injected.entry(name.to_string()).or_default() += 1;
    for i in 0..options.orders {
        // Exact injection counts by sequential selection: fate j with probability remaining_j / remaining.
        let mut pick = order_rng.below(remaining);
        let mut fate = Fate::Normal;
        for (j, count) in counts.iter_mut().enumerate() {
            if pick < *count {
                fate = FATES[j];
                *count -= 1;
                break;
            }
            pick -= *count;
        }
        remaining -= 1;
        let ch = order_rng.weighted(&channel_weights);
        let channel = &CHANNELS[ch];
        let cur = &CURRENCIES[order_rng.weighted(&currency_weights)];
        let amount = Money::from_minor_units(i128::from(order_rng.range(cur.min_minor, cur.max_minor)), cur.currency())
            .expect("small");
        let date = day(3 - i64::try_from(i * 3 / options.orders).expect("small"));
        let beneficiary_index = order_rng.below(beneficiary_count);
        let beneficiary = format!("B{:05}", beneficiary_index + 1);
        let order_id = format!("O{}-{:08}", d.strftime("%y%m%d"), i + 1);
        let order = OrderRow { id: &order_id, beneficiary: &beneficiary, beneficiary_index, channel: ch, date };
        let amounts = channel_amounts(&table, channel, amount, date, true);
        match fate {
            Fate::NoChannelTransaction => {
                day_out.order(&order, "sale", amount, "no_channel_transaction")?;
                note("no_channel_transaction");
            }
            Fate::NoOrder => {
                day_out.transaction(&order, "charge", amount, amounts, date, "no_order", &mut order_rng)?;
                note("no_order");
            }
            Fate::AmountMismatch => {
                day_out.order(&order, "sale", amount, "amount_mismatch")?;
                let bump =
                    Money::from_minor_units((amount.to_minor_units().expect("minor") / 100).max(1), amount.currency())
                        .expect("small");
                let captured = amount.checked_add(&bump).expect("small");
                let amounts = channel_amounts(&table, channel, captured, date, true);
                day_out.transaction(&order, "charge", captured, amounts, date, "amount_mismatch", &mut order_rng)?;
                note("amount_mismatch");
            }
            Fate::Normal | Fate::Duplicate | Fate::Chargeback => {
                day_out.order(&order, "sale", amount, "matched")?;
                let row = day_out.transaction(&order, "charge", amount, amounts, date, "matched", &mut order_rng)?;
                if fate == Fate::Duplicate {
                    // The channel's export repeats the row: same id, same content, not in the batch twice.
                    day_out.channel[ch].row(&row.fields)?;
                    day_out.truth.row([
                        "A",
                        "channel_transaction",
                        &row.record_id,
                        "duplicate_channel_transaction",
                        "",
                    ])?;
                    note("duplicate_channel_transaction");
                } else if fate == Fate::Chargeback {
                    // The dispute lands in the latest batch: the whole gross back, plus the channel's dispute fee.
                    let gross = amounts.gross.neg();
                    let fee = Money::new(channel.dispute_fee(), gross.currency());
                    let net = gross.checked_sub(&fee).expect("small");
                    day_out.transaction(
                        &order,
                        "chargeback",
                        amount.neg(),
                        Amounts { gross, fee, net, rate: amounts.rate },
                        day(1),
                        "chargeback",
                        &mut order_rng,
                    )?;
                    note("chargeback");
                } else if order_rng.chance(3, 100) {
                    // A refund the same day: our refund record and the channel's, half or all of the sale.
                    let sale_minor = amount.to_minor_units().expect("minor");
                    let refund_minor = if order_rng.chance(1, 2) { sale_minor } else { (sale_minor / 2).max(1) };
                    let refund = Money::from_minor_units(-refund_minor, amount.currency()).expect("small");
                    let refund_id = format!("{order_id}-R1");
                    let refund_order = OrderRow { id: &refund_id, ..order };
                    day_out.order(&refund_order, "refund", refund, "matched")?;
                    let amounts = channel_amounts(&table, channel, refund, date, false);
                    day_out.transaction(&refund_order, "refund", refund, amounts, date, "matched", &mut order_rng)?;
                    note("refund (matched, not an exception)");
                }
            }
        }
    }
    let DayWriters { orders: orders_out, channel: mut channel_outs, mut truth, mut batches, .. } = day_out;
    // One channel fee row per channel, in its latest batch (not linked to an order; stage B only).
    for (ch_index, channel) in CHANNELS.iter().enumerate() {
        let latest = day(1);
        let fee = Money::new(channel.monthly_fee(), channel.settlement_currency());
        let zero = Money::zero(channel.settlement_currency());
        let batch = channel.batch_id(options.seed, latest, options.night * options.merchant_accounts);
        let fee_id = match options.night {
            0 => format!("txn_fee_{}", latest.strftime("%Y%m")),
            night => format!("txn_fee_{}_n{night}", latest.strftime("%Y%m")),
        };
        let row = ReportRow {
            channel,
            kind: "fee",
            transaction_id: if channel.name == "stripe" { &fee_id } else { "Transaction Fees" },
            payment_reference: "",
            order_id: "",
            is_refund: false,
            presentment: None,
            amounts: Amounts { gross: fee.neg(), fee: zero, net: fee.neg(), rate: Decimal::ONE },
            booking: latest,
            batch_id: &batch,
            payout_date: calendar.add_business_days(latest, 1).expect("near dates"),
        };
        channel_outs[ch_index].row(row.fields())?;
        let entry = batches.entry((ch_index, latest, 0)).or_insert_with(|| (batch.clone(), zero, 0));
        entry.1 = entry.1.checked_sub(&fee).expect("small");
        entry.2 += 1;
    }
    // Adyen writes the payout of each batch it pays out as a MerchantPayout row (Stripe's payout
    // reconciliation report has no payout rows).
    for ((ch_index, date, _), (batch_id, net, _)) in &batches {
        let channel = &CHANNELS[*ch_index];
        let paid = calendar.add_business_days(*date, 1).map(|c| c <= d).unwrap_or(false);
        if channel.name == "stripe" || !paid || net.amount() <= Decimal::ZERO {
            continue;
        }
        let zero = Money::zero(net.currency());
        let row = ReportRow {
            channel,
            kind: "payout",
            transaction_id: &format!("TX{}XT batch {batch_id}, SettleDemo_EUR", batch_id),
            payment_reference: "",
            order_id: "",
            is_refund: false,
            presentment: None,
            amounts: Amounts { gross: net.neg(), fee: zero, net: net.neg(), rate: Decimal::ONE },
            booking: *date,
            batch_id,
            payout_date: calendar.add_business_days(*date, 1).expect("near dates"),
        };
        channel_outs[*ch_index].row(row.fields())?;
    }
    orders_out.finish(&mut report)?;
    for out in channel_outs {
        out.finish(&mut report)?;
    }

    // Bank credits: each batch is paid out on the next business day after its booking date; those not
    // yet booked by the business date have no bank credit yet.
    let mut bank_rng = night_rng.fork(3);
    let credited: Vec<(usize, Date, u64)> = batches
        .iter()
        .filter(|((_, date, _), (_, net, _))| {
            calendar.add_business_days(*date, 1).map(|c| c <= d).unwrap_or(false) && net.amount() > Decimal::ZERO
        })
        .map(|(key, _)| *key)
        .collect();
    if options.short_credits > credited.len() as u64 {
        return Err(GenError::Invalid(format!(
            "--short-credits {} but only {} batches are credited by the business date",
            options.short_credits,
            credited.len()
        )));
    }
    // Choose the short credits by selection sampling over the credited batches.
    let mut short_left = options.short_credits;
    let mut short: Vec<bool> = Vec::with_capacity(credited.len());
    for (k, _) in credited.iter().enumerate() {
        let left = (credited.len() - k) as u64;
        let take = bank_rng.below(left) < short_left;
        if take {
            short_left -= 1;
        }
        short.push(take);
    }
    let mut entries: Vec<Credit> = Vec::new();
    let positions: BTreeMap<(usize, Date, u64), usize> = credited.iter().enumerate().map(|(i, k)| (*k, i)).collect();
    for (key, (batch_id, net, _)) in &batches {
        let (ch_index, date, _) = key;
        let channel = &CHANNELS[*ch_index];
        let Some(&position) = positions.get(key) else {
            truth.row(["B", "payout_batch", &format!("{}:{batch_id}", channel.name), "no_bank_credit", ""])?;
            continue;
        };
        let booking = calendar.add_business_days(*date, 1).expect("near dates");
        let (amount, expected) = if short[position] {
            let bank_fee = Money::new(channel.bank_fee(), net.currency());
            *injected.entry("amount_mismatch (bank fee)".to_string()).or_default() += 1;
            (net.checked_sub(&bank_fee).expect("small"), "amount_mismatch")
        } else {
            (*net, "matched")
        };
        let batch = format!("{}:{batch_id}", channel.name);
        truth.row(["B", "payout_batch", &batch, expected, paired_with(expected, &batch)])?;
        entries.push(Credit {
            booking,
            channel: *ch_index,
            amount,
            reference: batch_id.clone(),
            payer: channel.payer_name,
            remittance: format!("{} {batch_id}", channel.remittance_prefix),
            expected,
            batch,
        });
    }
    for s in 0..options.stray_credits {
        let booking = calendar.on_or_before(day(1)).expect("near dates");
        let amount =
            Money::from_minor_units(i128::from(bank_rng.range(10_000, 500_000)), CHANNELS[0].settlement_currency())
                .expect("small");
        let reference = format!("INV-{}-{:04}", d.strftime("%Y"), bank_rng.range(1, 9999));
        entries.push(Credit {
            booking,
            channel: 0,
            amount,
            remittance: format!("Payment {reference}"),
            reference,
            payer: world::STRAY_PAYERS[usize::try_from(s).unwrap_or(0) % world::STRAY_PAYERS.len()],
            expected: "no_payout_batch",
            batch: String::new(),
        });
        *injected.entry("no_payout_batch".to_string()).or_default() += 1;
    }
    entries.sort_by_key(|e| (e.booking, e.channel));
    // The EUR account (the first channel's) delivers camt.053 statements, the USD account (the second
    // channel's) MT940 statements: one statement per booking day in each.
    let mut sequence: BTreeMap<(usize, Date), u64> = BTreeMap::new();
    let mut camt_days: BTreeMap<Date, Vec<camt::Entry>> = BTreeMap::new();
    let mut mt940_days: BTreeMap<Date, Vec<settle_mt940::Entry>> = BTreeMap::new();
    for credit in entries {
        let account = CHANNELS[credit.channel].account;
        let seq = sequence.entry((credit.channel, credit.booking)).or_default();
        *seq += 1;
        let entry_id = match options.night {
            0 => format!("{}{:05}", credit.booking.strftime("%Y%m%d"), seq),
            night => format!("{}N{night}-{:05}", credit.booking.strftime("%Y%m%d"), seq),
        };
        let with = paired_with(credit.expected, &credit.batch);
        truth.row(["B", "bank_entry", &format!("{account}:{entry_id}"), credit.expected, with])?;
        if credit.channel == 0 {
            let day = camt_days.entry(credit.booking).or_default();
            day.push(camt_credit(day.len() + 1, entry_id, &credit));
        } else {
            let day = mt940_days.entry(credit.booking).or_default();
            day.push(mt940_credit(day.len() + 1, entry_id, &credit));
        }
    }
    write_camt_statements(dir, options, &mut bank_rng, camt_days, &mut report)?;
    write_mt940_statements(dir, &mut bank_rng, mt940_days, &mut report)?;
    truth.finish(&mut report)?;

    let job = format!(
        "# Generated by `settle gen --orders {} --seed {}`: a day in settle's canonical layouts.\n\
         # Run it with `settle run job.toml` (paths are relative to this file); truth.csv lists the\n\
         # expected outcome of every record.\n\
         [job]\nname = \"{}\"\nbusiness_date = \"{}\"\nreporting_currency = \"EUR\"\nrounding = \"half-even\"\ncalendar = \"target2\"\n\n\
         [inputs]\norders = [\"orders.csv\"]\nchannel_transactions = [\n  {{ path = \"{STRIPE_FILE}\", profile = \"stripe_itemized\" }},\n  {{ path = \"{ADYEN_FILE}\", profile = \"adyen_sdr\" }},\n]\nbank_entries = [\"bank_statement_eur.xml\", \"bank_statement_usd.sta\"]\n\
         rates = [\"eurofxref-hist.csv\", \"rates.csv\"]\nbeneficiaries = [\"beneficiaries.csv\"]\npaid_accounts = [\"paid_accounts.csv\"]\n\n\
         [fx]\nmax_rate_age_days = 4\n\n[payouts]\nexecution_offset_business_days = 1\n\n\
         [[payouts.fee_plans]]\nid = \"marketplace\"\nrules = [\n  {{ kind = \"charge\", percent = \"1.5\", fixed = {{ EUR = \"0.10\", USD = \"0.10\" }} }},\n]\n\n\
         [output]\ndir = \"runs\"\n",
        options.orders, options.seed, options.job_name, d
    );
    let job_path = dir.join("job.toml");
    fs::write(&job_path, job).map_err(|source| GenError::Io { path: job_path.display().to_string(), source })?;
    report.injected = injected;
    Ok(report)
}
