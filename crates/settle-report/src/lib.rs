//! settle-report: renders a run's tables and summary to bytes. Deterministic: rows come sorted from the
//! engine, maps are ordered, amounts are printed at their currency's minor units, no clock is read.
//! Writing the bytes (atomically) is settle-job's work. Columns are documented in docs/outputs.md.
#![forbid(unsafe_code)]

pub mod history;
pub mod html;
mod summary;
pub mod tables;

use settle_core::{Decimal, format_minor};
use settle_fx::RecordedConversion;
use settle_payout::Payout;
use settle_recon::{Exception, Inputs, ReconResult, Side};

pub use summary::{Counts, Summary, SummaryInput, build_summary, render_json};

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("rendering {table}: {source}")]
    Csv { table: &'static str, source: csv::Error },
    #[error("rendering {table}: {source}")]
    Json { table: &'static str, source: serde_json::Error },
    #[error("rendering {table}: {message}")]
    Table { table: &'static str, message: String },
    #[error("writing {table}: {source}")]
    Io { table: &'static str, source: std::io::Error },
}

/// A CSV table for people to open: LF line ends, and every text cell a spreadsheet would take for a
/// formula escaped (`safe_cell`).
pub struct TableWriter(csv::Writer<Vec<u8>>);

impl TableWriter {
    pub fn new() -> TableWriter {
        TableWriter::with_capacity(0)
    }

    /// A writer whose buffer starts at `bytes` (a table's expected size: a large table then grows
    /// without copying itself over and over).
    pub fn with_capacity(bytes: usize) -> TableWriter {
        TableWriter(
            csv::WriterBuilder::new()
                .terminator(csv::Terminator::Any(b'\n'))
                .buffer_capacity(64 * 1024)
                .from_writer(Vec::with_capacity(bytes)),
        )
    }

    pub fn write_record<I, T>(&mut self, record: I) -> Result<(), csv::Error>
    where
        I: IntoIterator<Item = T>,
        T: AsRef<str>,
    {
        for cell in record {
            self.0.write_field(safe_cell(cell.as_ref()).as_bytes())?;
        }
        self.0.write_record(None::<&[u8]>)
    }

    pub fn into_inner(self) -> Result<Vec<u8>, csv::Error> {
        self.0.into_inner().map_err(|e| e.into_error().into())
    }
}

impl Default for TableWriter {
    fn default() -> Self {
        TableWriter::new()
    }
}

/// A text cell as it is safe to open in a spreadsheet: one beginning with `=`, `+`, `-`, `@`, a tab or a
/// carriage return gets a leading `'` (OWASP's CSV injection rule), unless it is a number (amounts
/// such as `-12.50` stay numbers).
pub fn safe_cell(cell: &str) -> std::borrow::Cow<'_, str> {
    let risky = cell.starts_with(['=', '+', '-', '@', '\t', '\r']);
    if risky && cell.parse::<Decimal>().is_err() {
        std::borrow::Cow::Owned(format!("'{cell}"))
    } else {
        std::borrow::Cow::Borrowed(cell)
    }
}

/// `text` with every card number in it (13 to 19 digits, optionally grouped by spaces or `-`, passing
/// the Luhn check) cut to its BIN and last four digits (`411111******1111`), for free-text cells.
pub fn mask_card_numbers(text: &str) -> std::borrow::Cow<'_, str> {
    let bytes = text.as_bytes();
    let mut out: Option<String> = None;
    let mut last = 0usize;
    let mut i = 0usize;
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit() || (i > 0 && bytes[i - 1].is_ascii_alphanumeric()) {
            i += 1;
            continue;
        }
        // The run of digits and single separators starting here.
        let (mut end, mut digits) = (i, Vec::new());
        while end < bytes.len() {
            let b = bytes[end];
            if b.is_ascii_digit() {
                digits.push(b - b'0');
                end += 1;
            } else if (b == b' ' || b == b'-') && end + 1 < bytes.len() && bytes[end + 1].is_ascii_digit() {
                end += 1;
            } else {
                break;
            }
        }
        let bounded = end == bytes.len() || !bytes[end].is_ascii_alphanumeric();
        if bounded && (13..=19).contains(&digits.len()) && luhn(&digits) {
            let masked: String = digits
                .iter()
                .enumerate()
                .map(|(k, d)| if k < 6 || k >= digits.len() - 4 { char::from(b'0' + d) } else { '*' })
                .collect();
            let o = out.get_or_insert_with(String::new);
            o.push_str(&text[last..i]);
            o.push_str(&masked);
            last = end;
        }
        i = end.max(i + 1);
    }
    match out {
        None => std::borrow::Cow::Borrowed(text),
        Some(mut o) => {
            o.push_str(&text[last..]);
            std::borrow::Cow::Owned(o)
        }
    }
}

fn luhn(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(k, &d)| {
            let d = u32::from(d);
            if k % 2 == 1 { if d * 2 > 9 { d * 2 - 9 } else { d * 2 } } else { d }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// An IBAN as reports show it: the country and check digits and the last four characters, the rest
/// masked (`DE89**************3000`); full IBANs appear only in payout files. Shorter texts are kept.
pub fn mask_iban(iban: &str) -> String {
    let n = iban.chars().count();
    if n <= 8 {
        return iban.to_string();
    }
    iban.chars().enumerate().map(|(i, c)| if i < 4 || i >= n - 4 { c } else { '*' }).collect()
}

fn writer() -> TableWriter {
    TableWriter::new()
}

fn finish(table: &'static str, w: TableWriter) -> Result<Vec<u8>, ReportError> {
    w.into_inner().map_err(|source| ReportError::Csv { table, source })
}

fn side_fields(side: Option<&Side>) -> [String; 6] {
    match side {
        Some(s) => [
            s.kind.as_str().to_string(),
            s.id.to_string(),
            format_minor(s.amount.amount(), s.amount.currency()),
            s.amount.currency().code().to_string(),
            s.records.to_string(),
            s.source.to_string(),
        ],
        None => Default::default(),
    }
}

const FEE_FX_COLUMNS: [&str; 9] = [
    "settlement_currency",
    "settled_net",
    "channel_fees",
    "fx_difference",
    "fx_reference_amount",
    "fx_reference_rate",
    "fx_rate_date",
    "fx_rate_source",
    "fx_rounding_residual",
];

fn fee_fx_fields(fee_fx: Option<settle_recon::FeeFx>) -> [String; 9] {
    let Some(f) = fee_fx else { return Default::default() };
    let currency = f.net.currency();
    let money = |d: Decimal| format_minor(d, currency);
    let reference = f.reference;
    [
        currency.code().to_string(),
        money(f.net.amount()),
        money(f.channel_fees.amount()),
        f.fx_difference.map(money).unwrap_or_default(),
        reference.map(|r| money(r.to.amount())).unwrap_or_default(),
        reference.map(|r| r.rate.rate.normalize().to_string()).unwrap_or_default(),
        reference.map(|r| r.rate.rate_date.to_string()).unwrap_or_default(),
        reference.map(|r| r.rate.source.to_string()).unwrap_or_default(),
        reference.map(|r| r.residual.normalize().to_string()).unwrap_or_default(),
    ]
}

const SIDE_COLUMNS: [&str; 6] = ["kind", "id", "amount", "currency", "records", "source"];

fn side_headers(prefix: &str) -> Vec<String> {
    SIDE_COLUMNS.iter().map(|c| format!("{prefix}_{c}")).collect()
}

fn decimal_text(value: Option<Decimal>, currency: Option<settle_core::Currency>) -> String {
    match (value, currency) {
        (Some(v), Some(c)) => format_minor(v, c),
        (Some(v), None) => v.normalize().to_string(),
        _ => String::new(),
    }
}

/// `matches.csv`: one row per match of `recon`, whose sides are resolved from `inputs` (the ones the
/// engine was given); stage A matches with their fees and FX difference against `rates` (see
/// `ReconResult::fee_fx`). Written to `out` as it is rendered: rows in chunks rendered in parallel and
/// written in order (the same bytes whatever the threads), a wave of chunks at a time, so that memory
/// holds a wave (half a million rows), not the table. `shard_local_only`: only the stage A matches (a
/// partition's own, see `Match::is_shard_local`).
pub fn matches_csv_to(
    recon: &ReconResult,
    inputs: &Inputs<'_>,
    rates: &settle_fx::RateTable,
    policy: settle_fx::ConversionPolicy,
    shard_local_only: bool,
    out: &mut dyn std::io::Write,
) -> Result<(), ReportError> {
    use rayon::prelude::*;
    // Matches are sorted by stage first: the shard-local ones (stage A) come first.
    let count =
        if shard_local_only { recon.matches.partition_point(|m| m.is_shard_local()) } else { recon.matches.len() };
    let table = "matches.csv";
    let err = |source| ReportError::Csv { table, source };
    let io = |source| ReportError::Io { table, source };
    let mut header: Vec<String> = ["match_id", "stage", "rule"].map(String::from).to_vec();
    header.extend(side_headers("left"));
    header.extend(side_headers("right"));
    header.extend(["difference", "difference_bank_charges", "difference_unexplained"].map(String::from));
    header.extend(FEE_FX_COLUMNS.map(String::from));
    let mut w = writer();
    w.write_record(&header).map_err(err)?;
    out.write_all(&finish(table, w)?).map_err(io)?;
    const CHUNK_ROWS: usize = 32 * 1024;
    const WAVE_CHUNKS: usize = 16;
    let chunks = count.div_ceil(CHUNK_ROWS);
    // Bounded: each wave renders WAVE_CHUNKS chunks of the `chunks`.
    for wave in (0..chunks).step_by(WAVE_CHUNKS) {
        let rendered: Vec<Vec<u8>> = (wave..(wave + WAVE_CHUNKS).min(chunks))
            .into_par_iter()
            .map(|chunk| {
                let rows = chunk * CHUNK_ROWS..((chunk + 1) * CHUNK_ROWS).min(count);
                // A stage A row with its fees and FX takes about 300 bytes.
                let mut w = TableWriter::with_capacity(rows.len() * 320);
                for n in rows {
                    let m = recon.view(n, inputs);
                    let mut row: Vec<String> =
                        vec![m.match_id.to_string(), m.stage.as_str().into(), m.rule.to_string()];
                    row.extend(side_fields(Some(&m.left)));
                    row.extend(side_fields(Some(&m.right)));
                    let currency = Some(m.left.amount.currency());
                    row.push(decimal_text(m.difference(), currency));
                    row.push(decimal_text(m.difference().map(|_| m.explained.bank_charges), currency));
                    row.push(decimal_text(m.difference().map(|_| m.explained.unexplained), currency));
                    row.extend(fee_fx_fields(recon.fee_fx(&recon.matches[n], inputs, rates, policy)));
                    w.write_record(&row).map_err(err)?;
                }
                finish(table, w)
            })
            .collect::<Result<_, _>>()?;
        for chunk in rendered {
            out.write_all(&chunk).map_err(io)?;
        }
    }
    Ok(())
}

/// `exceptions.csv`: one row per exception, open item or rejected row; ages count business days of
/// `calendar` up to `business_date`.
pub fn exceptions_csv(
    exceptions: &[Exception],
    business_date: settle_core::Date,
    calendar: &settle_core::Calendar,
) -> Result<Vec<u8>, ReportError> {
    let table = "exceptions.csv";
    let err = |source| ReportError::Csv { table, source };
    let mut w = writer();
    let mut header: Vec<String> =
        ["exception_id", "stage", "reason_code", "category", "status", "severity", "age_business_days"]
            .map(String::from)
            .to_vec();
    header.extend(side_headers("left"));
    header.extend(side_headers("right"));
    header.extend(["difference", "related_id", "detail"].map(String::from));
    w.write_record(&header).map_err(err)?;
    for e in exceptions {
        let mut row: Vec<String> = vec![
            e.exception_id.to_string(),
            e.stage.as_str().into(),
            e.reason.as_str().into(),
            e.reason.category().into(),
            e.reason.class().as_str().into(),
            e.reason.severity().as_str().into(),
            e.age_business_days(business_date, calendar).to_string(),
        ];
        row.extend(side_fields(e.left.as_ref()));
        row.extend(side_fields(e.right.as_ref()));
        row.push(decimal_text(e.difference(), e.left.as_ref().map(|s| s.amount.currency())));
        row.push(e.related_id.clone().unwrap_or_default());
        row.push(mask_card_numbers(&e.detail).into_owned());
        w.write_record(&row).map_err(err)?;
    }
    finish(table, w)
}

/// A beneficiary's statement of account for `payout` (`payouts/statements/<beneficiary>.csv`): every
/// line that makes it, in the payout's component order: balances brought in (carried, returned payouts,
/// released reserves), then per settlement currency the channel rows (`rows`: indices into `channel`,
/// sorted here by booking date, channel and id) with their commission under `plan`, their subtotal, the
/// commission and the reserve held, each with its conversion into the payout currency; last the payout.
/// The transaction lines add up to each subtotal and commission, and the lines' payout amounts to the
/// payout (all asserted).
#[allow(clippy::too_many_arguments)]
pub fn statement_csv(
    payout: &Payout,
    orders: &[settle_core::Order],
    channel: &[settle_core::ChannelTransaction],
    rows: &[usize],
    order_of: &dyn Fn(usize) -> Option<usize>,
    plan: Option<&settle_payout::FeePlan>,
    rounding: settle_core::RoundingMode,
) -> Result<Vec<u8>, ReportError> {
    use settle_payout::Source;
    let table = "statement";
    let err = |source| ReportError::Csv { table, source };
    let mut w = writer();
    w.write_record([
        "line",
        "date",
        "order_id",
        "channel",
        "transaction_id",
        "kind",
        "currency",
        "amount",
        "commission",
        "payout_currency",
        "payout_amount",
        "rate",
        "rate_date",
        "rate_source",
        "rounding_residual",
        "payout_id",
        "status",
        "note",
    ])
    .map_err(err)?;
    let mut sorted: Vec<usize> = rows.to_vec();
    sorted.sort_by(|&a, &b| {
        let (x, y) = (&channel[a], &channel[b]);
        (x.booking_date, &x.channel, &x.transaction_id).cmp(&(y.booking_date, &y.channel, &y.transaction_id))
    });
    let payout_currency = payout.amount.currency();
    let mut payout_total = Decimal::ZERO;
    let mut commission_by_currency: std::collections::BTreeMap<settle_core::Currency, Decimal> = Default::default();
    for component in &payout.components {
        let currency = component.settled.currency();
        if component.source == Source::Settled {
            let mut subtotal = Decimal::ZERO;
            let mut commissions = Decimal::ZERO;
            for &i in sorted.iter().filter(|&&i| channel[i].settlement_currency == currency) {
                let tx = &channel[i];
                subtotal += tx.net;
                let commission = match plan {
                    // compute_payouts computed it before without overflow.
                    Some(plan) => plan.commission(tx, rounding).expect("the payout's commission was computed"),
                    None => Decimal::ZERO,
                };
                commissions += commission;
                let order_id = order_of(i).map(|o| orders[o].order_id.to_string()).unwrap_or_default();
                w.write_record([
                    "transaction",
                    &tx.booking_date.to_string(),
                    &order_id,
                    tx.channel.as_str(),
                    tx.transaction_id.as_str(),
                    tx.kind.as_str(),
                    currency.code(),
                    &format_minor(tx.net, currency),
                    &if plan.is_some() { format_minor(commission, currency) } else { String::new() },
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                ])
                .map_err(err)?;
            }
            assert_eq!(subtotal, component.settled.amount(), "statement lines add up to the settled amount");
            commission_by_currency.insert(currency, commissions);
        }
        if component.source == Source::Commission {
            assert_eq!(
                commission_by_currency.get(&currency).copied().unwrap_or_default(),
                -component.settled.amount(),
                "the lines' commissions add up to the commission"
            );
        }
        let (date, payout_id, note) = match &component.source {
            Source::Settled | Source::Commission => (payout.business_date, String::new(), String::new()),
            Source::ReserveHold { release_on } => {
                (payout.business_date, String::new(), format!("released on {release_on}"))
            }
            Source::ReserveRelease { held_on } => (*held_on, String::new(), format!("held on {held_on}")),
            Source::Carried { since } => (*since, String::new(), String::new()),
            Source::Returned { payout_id, reason } => {
                (payout.business_date, payout_id.clone(), format!("returned by the bank: {reason}"))
            }
        };
        let paid = component.payout_amount();
        payout_total += paid.amount();
        let c = component.conversion.as_ref();
        w.write_record([
            component.source.as_str(),
            &date.to_string(),
            "",
            "",
            "",
            "",
            currency.code(),
            &format_minor(component.settled.amount(), currency),
            "",
            payout_currency.code(),
            &format_minor(paid.amount(), paid.currency()),
            &c.map(|c| c.rate.rate.normalize().to_string()).unwrap_or_else(|| "1".into()),
            &c.map(|c| c.rate.rate_date.to_string()).unwrap_or_default(),
            &c.map(|c| c.rate.source.to_string()).unwrap_or_default(),
            &c.map(|c| c.residual.normalize().to_string()).unwrap_or_default(),
            &payout_id,
            "",
            &note,
        ])
        .map_err(err)?;
    }
    if payout.status != settle_payout::PayoutStatus::UnknownBeneficiary {
        assert_eq!(payout_total, payout.amount.amount(), "the lines add up to the payout");
    }
    w.write_record([
        "payout",
        &payout.execution_date.to_string(),
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        payout_currency.code(),
        &format_minor(payout.amount.amount(), payout_currency),
        "",
        "",
        "",
        &payout.residual().normalize().to_string(),
        &payout.payout_id,
        payout.status.as_str(),
        "",
    ])
    .map_err(err)?;
    finish(table, w)
}

/// `tallies.csv`: per stage, record kind and currency, the records in (input) and per status: the
/// conservation table behind summary.json's `stages`, one row per status.
pub fn tallies_csv(tallies: &settle_recon::Tallies) -> Result<Vec<u8>, ReportError> {
    let table = "tallies.csv";
    let err = |source| ReportError::Csv { table, source };
    let mut w = writer();
    w.write_record(["stage", "record_kind", "currency", "status", "count", "amount"]).map_err(err)?;
    for ((stage, kind, currency), t) in tallies {
        let parts = [
            ("input", &t.input),
            ("matched", &t.matched),
            ("open", &t.open),
            ("exception", &t.exception),
            ("rejected", &t.rejected),
        ];
        for (status, part) in parts {
            w.write_record([
                stage.as_str(),
                kind.as_str(),
                currency.code(),
                status,
                &part.count.to_string(),
                &format_minor(part.amount, *currency),
            ])
            .map_err(err)?;
        }
    }
    finish(table, w)
}

/// `channels.csv`: per channel, its rows and how far they got (stage A, stage B), and per settlement
/// currency the channel's fees.
pub fn channels_csv(progress: &[html::ChannelProgress], fees: &[html::ChannelFees]) -> Result<Vec<u8>, ReportError> {
    let table = "channels.csv";
    let err = |source| ReportError::Csv { table, source };
    let mut w = writer();
    w.write_record(["channel", "settlement_currency", "rows", "matched_a", "matched_b", "fees"]).map_err(err)?;
    for p in progress {
        for f in fees.iter().filter(|f| f.channel == p.channel) {
            w.write_record([
                p.channel.as_str(),
                f.currency.code(),
                &f.rows.to_string(),
                "",
                "",
                &format_minor(f.fees, f.currency),
            ])
            .map_err(err)?;
        }
        w.write_record([
            p.channel.as_str(),
            "",
            &p.rows.to_string(),
            &p.matched_a.to_string(),
            &p.matched_b.to_string(),
            "",
        ])
        .map_err(err)?;
    }
    finish(table, w)
}

/// `payouts.csv`: one row per beneficiary with settled transactions.
pub fn payouts_csv(payouts: &[Payout]) -> Result<Vec<u8>, ReportError> {
    let table = "payouts.csv";
    let err = |source| ReportError::Csv { table, source };
    let mut w = writer();
    w.write_record([
        "payout_id",
        "end_to_end_id",
        "beneficiary_id",
        "legal_name",
        "country",
        "iban",
        "bic",
        "account_number",
        "clearing_system",
        "bank_code",
        "business_date",
        "execution_date",
        "amount",
        "currency",
        "status",
        "transactions",
        "settled_amounts",
        "fx_residual",
        "carried_in",
        "commission",
        "reserve_held",
        "reserve_released",
        "returned",
    ])
    .map_err(err)?;
    for p in payouts {
        let parts = |kind: &str| -> String {
            p.components
                .iter()
                .filter(|c| c.source.as_str() == kind)
                .map(|c| format!("{}:{}", c.settled.currency(), format_minor(c.settled.amount(), c.settled.currency())))
                .collect::<Vec<_>>()
                .join(" ")
        };
        let b = p.beneficiary.as_ref();
        w.write_record([
            p.payout_id.clone(),
            p.end_to_end_id.clone(),
            p.beneficiary_id.clone(),
            b.map(|b| b.legal_name.clone()).unwrap_or_default(),
            b.map(|b| b.country.clone()).unwrap_or_default(),
            b.map(|b| mask_iban(&b.iban)).unwrap_or_default(),
            b.and_then(|b| b.bic.clone()).unwrap_or_default(),
            b.and_then(|b| b.account_number.clone()).unwrap_or_default(),
            b.and_then(|b| b.clearing_system.clone()).unwrap_or_default(),
            b.and_then(|b| b.bank_code.clone()).unwrap_or_default(),
            p.business_date.to_string(),
            p.execution_date.to_string(),
            format_minor(p.amount.amount(), p.amount.currency()),
            p.amount.currency().code().to_string(),
            p.status.as_str().to_string(),
            p.transactions().to_string(),
            parts("subtotal"),
            p.residual().normalize().to_string(),
            parts("carried_in"),
            parts("commission"),
            parts("reserve_held"),
            parts("reserve_released"),
            parts("returned"),
        ])
        .map_err(err)?;
    }
    finish(table, w)
}

/// `fx_cost.csv`: per channel and currency pair, what the channel's rates gave against the reference
/// rates (`settle_fx::cost`), with the cost in the settlement currency and in basis points.
pub fn fx_cost_csv(costs: &[settle_fx::cost::FxCost]) -> Result<Vec<u8>, ReportError> {
    let table = "fx_cost.csv";
    let err = |source| ReportError::Csv { table, source };
    let mut w = writer();
    w.write_record([
        "channel",
        "presentment_currency",
        "settlement_currency",
        "transactions",
        "presentment_amount",
        "settled_amount",
        "reference_amount",
        "fx_cost",
        "fx_cost_bps",
        "fallback_rates",
    ])
    .map_err(err)?;
    for c in costs {
        w.write_record([
            c.channel.clone(),
            c.presentment_currency.code().to_string(),
            c.settlement_currency.code().to_string(),
            c.transactions.to_string(),
            format_minor(c.presentment_amount, c.presentment_currency),
            format_minor(c.settled_amount, c.settlement_currency),
            format_minor(c.reference_amount, c.settlement_currency),
            format_minor(c.cost, c.settlement_currency),
            c.cost_bps.to_string(),
            c.fallback_rates.to_string(),
        ])
        .map_err(err)?;
    }
    finish(table, w)
}

/// `conversions.csv`: every conversion of the run, with rate, rate date, source and residual.
pub fn conversions_csv(conversions: &[RecordedConversion]) -> Result<Vec<u8>, ReportError> {
    let table = "conversions.csv";
    let err = |source| ReportError::Csv { table, source };
    let mut w = writer();
    w.write_record([
        "purpose",
        "reference",
        "from_amount",
        "from_currency",
        "to_currency",
        "rate",
        "rate_path",
        "requested_date",
        "rate_date",
        "fallback",
        "source",
        "unrounded",
        "rounded",
        "residual",
        "rounding",
    ])
    .map_err(err)?;
    for r in conversions {
        let c = &r.conversion;
        w.write_record([
            r.purpose.to_string(),
            r.reference.clone(),
            format_minor(c.from.amount(), c.from.currency()),
            c.from.currency().code().to_string(),
            c.to.currency().code().to_string(),
            c.rate.rate.normalize().to_string(),
            c.rate.path.describe(),
            c.rate.requested_date.to_string(),
            c.rate.rate_date.to_string(),
            c.rate.is_fallback().to_string(),
            c.rate.source.to_string(),
            c.unrounded.normalize().to_string(),
            format_minor(c.to.amount(), c.to.currency()),
            c.residual.normalize().to_string(),
            c.rounding.as_str().to_string(),
        ])
        .map_err(err)?;
    }
    finish(table, w)
}

#[cfg(test)]
mod safety_tests {
    use super::*;

    #[test]
    fn cells_ibans_and_card_numbers_are_made_safe() {
        for (cell, safe) in [
            ("=HYPERLINK(\"x\")", "'=HYPERLINK(\"x\")"),
            ("+1 555", "'+1 555"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tx", "'\tx"),
            ("-12.50", "-12.50"),
            ("+3", "+3"),
            ("-", "'-"),
            ("O-1", "O-1"),
        ] {
            assert_eq!(safe_cell(cell), safe, "{cell}");
        }
        let mut w = TableWriter::new();
        w.write_record(["id", "=cmd|' /C calc'!A0", "-1.5"]).unwrap();
        assert_eq!(String::from_utf8(w.into_inner().unwrap()).unwrap(), "id,'=cmd|' /C calc'!A0,-1.5\n");
        assert_eq!(mask_iban("DE89370400440532013000"), "DE89**************3000");
        assert_eq!(mask_iban("short"), "short");
        assert_eq!(
            mask_card_numbers("card 4111 1111 1111 1111 declined, ref 4111111111111112, id A4111111111111111"),
            "card 411111******1111 declined, ref 4111111111111112, id A4111111111111111"
        );
        assert_eq!(mask_card_numbers("5500-0000-0000-0004"), "550000******0004");
        assert!(matches!(mask_card_numbers("no digits here"), std::borrow::Cow::Borrowed(_)));
    }
}
