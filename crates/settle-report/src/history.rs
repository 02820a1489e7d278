//! `settle history OUT`: trends across nights, from the Parquet tables of every run under `OUT`
//! (`OUT/<job>/<date>/tables/*.parquet`, runs with a manifest), read with polars' lazy scans.
//!
//! Tables written (CSV, one row per job, business date and key, in that order) and `history.html`:
//! - `match_rates.csv`: per stage, records in and matched, and the rate;
//! - `channel_rates.csv`: per channel, rows, matched in stage A and in stage B;
//! - `open_items_by_age.csv`: open items per age bucket (business days);
//! - `fx_cost.csv`: per channel and currency pair, transactions and FX cost;
//! - `payouts.csv`: per currency and status, payouts and amount;
//! - `exceptions.csv`: exceptions opened (new since the job's previous night) and closed (gone since).
//!
//! Polars' Decimal sum does not detect overflow: the payable totals polars computes are checked against
//! each night's summary.json (computed in Rust with checked arithmetic); a difference is an error.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use polars::prelude::*;
use settle_core::{Date, Decimal};

use crate::ReportError;

const TABLE: &str = "history";

/// The columns of the history's fx_cost.csv.
const FX_COLUMNS: [&str; 7] =
    ["job", "business_date", "channel", "presentment_currency", "settlement_currency", "transactions", "fx_cost"];

fn error(e: PolarsError) -> ReportError {
    ReportError::Table { table: TABLE, message: e.to_string() }
}

/// One run found under OUT.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct RunRef {
    pub job: String,
    pub business_date: Date,
    pub dir: PathBuf,
}

/// The completed runs under `out` (a manifest and a tables/ directory), by job then date, within
/// [since, until].
pub fn runs(out: &Path, since: Option<Date>, until: Option<Date>) -> Result<Vec<RunRef>, ReportError> {
    let io = |e: std::io::Error| ReportError::Table { table: TABLE, message: format!("{}: {e}", out.display()) };
    let mut runs = Vec::new();
    for job in std::fs::read_dir(out).map_err(io)?.flatten() {
        let name = job.file_name().to_string_lossy().to_string();
        if name.starts_with('.') || !job.path().is_dir() {
            continue;
        }
        for run in std::fs::read_dir(job.path()).map_err(io)?.flatten() {
            let Ok(date) = settle_core::parse_date(&run.file_name().to_string_lossy()) else { continue };
            let dir = run.path();
            let complete = dir.join("manifest.json").is_file() && dir.join("tables").is_dir();
            if complete && since.is_none_or(|s| date >= s) && until.is_none_or(|u| date <= u) {
                runs.push(RunRef { job: name.clone(), business_date: date, dir });
            }
        }
    }
    runs.sort();
    Ok(runs)
}

/// All nights' `table` as one lazy frame with `job` and `business_date` columns.
fn scan(runs: &[RunRef], table: &str) -> Result<Option<LazyFrame>, ReportError> {
    let mut frames = Vec::new();
    for run in runs {
        let path = run.dir.join("tables").join(format!("{table}.parquet"));
        if !path.is_file() {
            continue;
        }
        let frame =
            LazyFrame::scan_parquet(PlRefPath::new(path.to_string_lossy().as_ref()), ScanArgsParquet::default())
                .map_err(error)?
                .with_columns([
                    lit(run.job.clone()).alias("job"),
                    lit(run.business_date.to_string()).alias("business_date"),
                ]);
        frames.push(frame);
    }
    if frames.is_empty() {
        return Ok(None);
    }
    concat(frames, UnionArgs::default()).map(Some).map_err(error)
}

/// A collected frame's rows as text cells, columns in `names` order.
fn rows(frame: DataFrame, names: &[&str]) -> Result<Vec<Vec<String>>, ReportError> {
    let mut columns = Vec::with_capacity(names.len());
    for name in names {
        let series =
            frame.column(name).map_err(error)?.as_materialized_series().cast(&DataType::String).map_err(error)?;
        let values: Vec<String> = series.str().map_err(error)?.iter().map(|v| v.unwrap_or("").to_string()).collect();
        columns.push(values);
    }
    let height = frame.height();
    Ok((0..height).map(|i| columns.iter().map(|c| c[i].clone()).collect()).collect())
}

fn csv_bytes(header: &[&str], rows: &[Vec<String>]) -> Result<Vec<u8>, ReportError> {
    let mut w = crate::TableWriter::new();
    w.write_record(header).map_err(|source| ReportError::Csv { table: TABLE, source })?;
    for row in rows {
        w.write_record(row).map_err(|source| ReportError::Csv { table: TABLE, source })?;
    }
    w.into_inner().map_err(|source| ReportError::Csv { table: TABLE, source })
}

fn sort_keys(names: &[&str]) -> Vec<PlSmallStr> {
    names.iter().map(|n| PlSmallStr::from(*n)).collect()
}

/// The history's files: (name, bytes), CSVs then history.html.
pub fn history(runs: &[RunRef]) -> Result<Vec<(String, Vec<u8>)>, ReportError> {
    let mut files = Vec::new();
    let sorted = |lf: LazyFrame, keys: &[&str]| lf.sort(sort_keys(keys), SortMultipleOptions::default());

    // Match rates per stage, from the tallies.
    let mut match_rates = Vec::new();
    if let Some(t) = scan(runs, "tallies")? {
        let frame = sorted(
            t.group_by([col("job"), col("business_date"), col("stage")]).agg([
                col("count").filter(col("status").eq(lit("input"))).sum().alias("records"),
                col("count").filter(col("status").eq(lit("matched"))).sum().alias("matched"),
            ]),
            &["job", "business_date", "stage"],
        )
        .collect()
        .map_err(error)?;
        for mut row in rows(frame, &["job", "business_date", "stage", "records", "matched"])? {
            let (records, matched) = (row[3].parse::<u64>().unwrap_or(0), row[4].parse::<u64>().unwrap_or(0));
            row.push(rate(matched, records));
            match_rates.push(row);
        }
    }
    files.push((
        "match_rates.csv".to_string(),
        csv_bytes(&["job", "business_date", "stage", "records", "matched", "rate"], &match_rates)?,
    ));

    let mut channel_rates = Vec::new();
    if let Some(c) = scan(runs, "channels")? {
        let frame = sorted(
            c.filter(col("matched_a").is_not_null())
                .group_by([col("job"), col("business_date"), col("channel")])
                .agg([col("rows").sum(), col("matched_a").sum(), col("matched_b").sum()]),
            &["job", "business_date", "channel"],
        )
        .collect()
        .map_err(error)?;
        channel_rates = rows(frame, &["job", "business_date", "channel", "rows", "matched_a", "matched_b"])?;
    }
    files.push((
        "channel_rates.csv".to_string(),
        csv_bytes(&["job", "business_date", "channel", "rows", "matched_a", "matched_b"], &channel_rates)?,
    ));

    // Open items by age, and exceptions opened and closed night over night.
    let mut by_age = Vec::new();
    let mut opened_closed = Vec::new();
    if let Some(e) = scan(runs, "exceptions")? {
        let bucket = when(col("age_business_days").lt_eq(lit(1)))
            .then(lit("0-1"))
            .when(col("age_business_days").lt_eq(lit(5)))
            .then(lit("2-5"))
            .when(col("age_business_days").lt_eq(lit(20)))
            .then(lit("6-20"))
            .otherwise(lit("21+"))
            .alias("age");
        let frame = sorted(
            e.clone()
                .filter(col("status").eq(lit("open")))
                .with_column(bucket)
                .group_by([col("job"), col("business_date"), col("age")])
                .agg([len().alias("open_items")]),
            &["job", "business_date", "age"],
        )
        .collect()
        .map_err(error)?;
        by_age = rows(frame, &["job", "business_date", "age", "open_items"])?;
        let key_columns = ["job", "business_date", "stage", "reason_code", "left_id", "right_id"];
        let keys = e.select(key_columns.map(col)).collect().map_err(error)?;
        let mut nights: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
        for row in rows(keys, &key_columns)? {
            nights.entry((row[0].clone(), row[1].clone())).or_default().insert(row[2..].join("|"));
        }
        // Every run, also those without exceptions, so a night with none closes the previous ones.
        for run in runs {
            nights.entry((run.job.clone(), run.business_date.to_string())).or_default();
        }
        let mut previous: Option<(&String, &BTreeSet<String>)> = None;
        for ((job, date), keys) in &nights {
            let before = previous.filter(|(j, _)| *j == job).map(|(_, k)| k);
            let opened = before.map_or(keys.len(), |b| keys.difference(b).count());
            let closed = before.map_or(0, |b| b.difference(keys).count());
            opened_closed.push(vec![
                job.clone(),
                date.clone(),
                keys.len().to_string(),
                opened.to_string(),
                closed.to_string(),
            ]);
            previous = Some((job, keys));
        }
    }
    files.push((
        "open_items_by_age.csv".to_string(),
        csv_bytes(&["job", "business_date", "age", "open_items"], &by_age)?,
    ));
    files.push((
        "exceptions.csv".to_string(),
        csv_bytes(&["job", "business_date", "exceptions", "opened", "closed"], &opened_closed)?,
    ));

    let mut fx = Vec::new();
    if let Some(f) = scan(runs, "fx_cost")? {
        let keys = ["job", "business_date", "channel", "presentment_currency", "settlement_currency"];
        let frame = sorted(f.group_by(keys.map(col)).agg([col("transactions").sum(), col("fx_cost").sum()]), &keys)
            .collect()
            .map_err(error)?;
        fx = rows(frame, &FX_COLUMNS)?;
    }
    files.push(("fx_cost.csv".to_string(), csv_bytes(&FX_COLUMNS, &fx)?));

    let mut payouts = Vec::new();
    if let Some(p) = scan(runs, "payouts")? {
        let keys = ["job", "business_date", "currency", "status"];
        let frame = sorted(p.group_by(keys.map(col)).agg([len().alias("payouts"), col("amount").sum()]), &keys)
            .collect()
            .map_err(error)?;
        payouts = rows(frame, &["job", "business_date", "currency", "status", "payouts", "amount"])?;
        // Amounts at their currency's minor units (the column's scale is the largest of its currencies).
        for row in &mut payouts {
            if let (Ok(currency), Ok(amount)) = (settle_core::Currency::from_code(&row[2]), row[5].parse::<Decimal>()) {
                row[5] = settle_core::format_minor(amount, currency);
            }
        }
        check_payable_totals(runs, &payouts)?;
    }
    files.push((
        "payouts.csv".to_string(),
        csv_bytes(&["job", "business_date", "currency", "status", "payouts", "amount"], &payouts)?,
    ));

    files.push(("history.html".to_string(), html(runs, &match_rates, &by_age, &payouts, &opened_closed)));
    Ok(files)
}

fn rate(part: u64, whole: u64) -> String {
    if whole == 0 {
        return String::new();
    }
    (Decimal::from(part) / Decimal::from(whole)).round_dp(4).to_string()
}

/// Polars' payable sums against each night's summary.json (Rust, checked arithmetic).
fn check_payable_totals(runs: &[RunRef], payouts: &[Vec<String>]) -> Result<(), ReportError> {
    for run in runs {
        let bytes = std::fs::read(run.dir.join("summary.json"))
            .map_err(|e| ReportError::Table { table: TABLE, message: format!("{}: {e}", run.dir.display()) })?;
        let summary: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|source| ReportError::Json { table: TABLE, source })?;
        let date = run.business_date.to_string();
        for (currency, total) in summary["payouts"]["payable_totals"].as_object().into_iter().flatten() {
            let expected: Decimal = total.as_str().unwrap_or("").parse().unwrap_or_default();
            let found: Decimal = payouts
                .iter()
                .find(|r| r[0] == run.job && r[1] == date && r[2] == *currency && r[3] == "payable")
                .and_then(|r| r[5].parse().ok())
                .unwrap_or_default();
            if found != expected {
                return Err(ReportError::Table {
                    table: TABLE,
                    message: format!(
                        "{} {date}: payable {currency} sums to {found} in the Parquet tables but {expected} in summary.json",
                        run.job
                    ),
                });
            }
        }
    }
    Ok(())
}

fn esc(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// `history.html`: match rates per stage over the nights as a line chart, open items by age and
/// exceptions opened/closed as tables, payouts per currency. Self-contained like report.html.
fn html(
    runs: &[RunRef],
    match_rates: &[Vec<String>],
    by_age: &[Vec<String>],
    payouts: &[Vec<String>],
    opened_closed: &[Vec<String>],
) -> Vec<u8> {
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>settle history</title><style>body{{font:14px/1.45 system-ui,sans-serif;color:#1d2430;margin:24px auto;max-width:1100px;padding:0 16px}}table{{border-collapse:collapse;width:100%}}th,td{{padding:3px 8px;border-bottom:1px solid #edf0f4;text-align:left}}td.n{{text-align:right;font-variant-numeric:tabular-nums}}h2{{border-bottom:1px solid #d5dbe3}}svg text{{font:11px system-ui,sans-serif}}</style></head><body><h1>History</h1><p>{} runs",
        runs.len()
    );
    if let (Some(first), Some(last)) =
        (runs.iter().map(|r| r.business_date).min(), runs.iter().map(|r| r.business_date).max())
    {
        let _ = write!(h, " from {first} to {last}");
    }
    h.push_str("</p><h2>Match rate per stage</h2>");
    // One polyline per (job, stage); x = night index, y = rate (0..1 mapped to 200..0 px).
    let nights: BTreeSet<&str> = match_rates.iter().map(|r| r[1].as_str()).collect();
    let index: BTreeMap<&str, usize> = nights.iter().enumerate().map(|(i, d)| (*d, i)).collect();
    let (w, ht) = (900usize, 200usize);
    let step = w / nights.len().max(2).saturating_sub(1).max(1);
    let _ = write!(
        h,
        "<svg role=\"img\" width=\"{}\" height=\"{}\" viewBox=\"0 0 {} {}\">",
        w + 120,
        ht + 30,
        w + 120,
        ht + 30
    );
    let colours = ["#2f6fdf", "#3a9d5d", "#7a5cc7", "#c8483b"];
    let mut series: BTreeMap<(&str, &str), Vec<(usize, Decimal)>> = BTreeMap::new();
    for r in match_rates {
        if let (Some(i), Ok(rate)) = (index.get(r[1].as_str()), r[5].parse::<Decimal>()) {
            series.entry((r[0].as_str(), r[2].as_str())).or_default().push((*i, rate));
        }
    }
    for (k, ((job, stage), points)) in series.iter().enumerate() {
        let coords: Vec<String> = points
            .iter()
            .map(|(i, rate)| {
                let y = Decimal::from(ht) - (*rate * Decimal::from(ht));
                format!("{},{}", i * step + 10, y.round())
            })
            .collect();
        let colour = colours[k % colours.len()];
        let _ = write!(
            h,
            "<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\" points=\"{}\"/>",
            coords.join(" ")
        );
        if let Some(last) = coords.last() {
            let (x, y) = last.split_once(',').unwrap_or(("0", "0"));
            let _ = write!(
                h,
                "<text x=\"{}\" y=\"{y}\" fill=\"{colour}\">{} {}</text>",
                x.parse::<usize>().unwrap_or(0) + 6,
                esc(job),
                esc(stage)
            );
        }
    }
    h.push_str("</svg>");
    let table = |h: &mut String, title: &str, header: &[&str], rows: &[Vec<String>]| {
        let _ = write!(h, "<h2>{}</h2><table><tr>", esc(title));
        for c in header {
            let _ = write!(h, "<th>{}</th>", esc(c));
        }
        h.push_str("</tr>");
        for r in rows {
            h.push_str("<tr>");
            for (i, c) in r.iter().enumerate() {
                let class = if i >= 2 && c.parse::<Decimal>().is_ok() { " class=\"n\"" } else { "" };
                let _ = write!(h, "<td{class}>{}</td>", esc(c));
            }
            h.push_str("</tr>");
        }
        h.push_str("</table>");
    };
    table(
        &mut h,
        "Exceptions opened and closed",
        &["job", "business date", "exceptions", "opened", "closed"],
        opened_closed,
    );
    table(&mut h, "Open items by age (business days)", &["job", "business date", "age", "open items"], by_age);
    table(&mut h, "Payouts", &["job", "business date", "currency", "status", "payouts", "amount"], payouts);
    h.push_str("</body></html>\n");
    h.into_bytes()
}
