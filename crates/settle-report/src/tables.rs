//! Parquet copies of the run's tables (`tables/<table>.parquet`), for BI tools and `settle history`.
//!
//! The CSV tables are the source: each is parsed here and written with typed columns. Money crosses into
//! polars only at this boundary, as `Decimal(precision, scale)` built from `rust_decimal` mantissas (the
//! scale is the column's largest; precision 28, or up to 38 when a column needs more digits), never
//! through floating point; every decimal column's total is computed on the Rust side and checked against
//! the one read back from the written DataFrame.
//!
//! Column types follow the names: `*_id`, sources and codes are text; counts (`transactions`,
//! `*_records`, `age_business_days`, `rows`, …) are Int64; `*date*` / `*_on` columns holding
//! `YYYY-MM-DD` are Date; columns whose every value is a decimal number are Decimal; the rest is text.

use polars::prelude::*;
use rayon::prelude::*;
use settle_core::Decimal;

use crate::ReportError;

/// Integer columns by name.
const COUNTS: [&str; 9] = [
    "transactions",
    "left_records",
    "right_records",
    "age_business_days",
    "rows",
    "count",
    "conversions",
    "matched_a",
    "matched_b",
];

/// Text columns by name, whatever their values look like.
fn is_text(name: &str) -> bool {
    name.ends_with("_id")
        || name.ends_with("_source")
        || name.ends_with("_kind")
        || name.ends_with("_currency")
        || matches!(name, "source" | "currency" | "stage" | "rule" | "status" | "reason_code" | "detail" | "note")
}

fn polars_error(table: &'static str) -> impl Fn(PolarsError) -> ReportError {
    move |e| ReportError::Table { table, message: e.to_string() }
}

/// One column of the table, typed.
fn column(table: &'static str, name: &str, cells: &[&str]) -> Result<Column, ReportError> {
    let present = || cells.iter().filter(|c| !c.is_empty());
    let pl_name = PlSmallStr::from(name);
    if !is_text(name) && COUNTS.contains(&name) && present().all(|c| c.parse::<i64>().is_ok()) {
        let values: Vec<Option<i64>> = cells.iter().map(|c| c.parse().ok()).collect();
        return Ok(Column::new(pl_name, values));
    }
    let date_like = name.contains("date") || name.ends_with("_on");
    if date_like && present().count() > 0 && present().all(|c| settle_core::parse_date(c).is_ok()) {
        // Days since 1970-01-01, as Polars stores dates.
        let epoch = settle_core::parse_date("1970-01-01").expect("a date");
        let values: Vec<Option<i32>> =
            cells.iter().map(|c| settle_core::parse_date(c).ok().map(|d| (d - epoch).get_days())).collect();
        let series = Series::new(pl_name, values).cast(&DataType::Date).map_err(polars_error(table))?;
        return Ok(series.into());
    }
    let decimals: Option<Vec<Option<Decimal>>> = if is_text(name) || present().count() == 0 {
        None
    } else {
        cells.iter().map(|c| if c.is_empty() { Some(None) } else { c.parse::<Decimal>().ok().map(Some) }).collect()
    };
    if let Some(values) = decimals {
        let scale = values.iter().flatten().map(|d| d.scale()).max().unwrap_or(0);
        // Digits before the point, at most, plus the scale: the precision the column needs.
        let integer_digits = values
            .iter()
            .flatten()
            .map(|d| {
                // Digits of |mantissa| less the scale, without formatting the number.
                let mut m = d.mantissa().unsigned_abs();
                let mut digits = 0usize;
                while m > 0 {
                    m /= 10;
                    digits += 1;
                }
                digits.saturating_sub(d.scale() as usize)
            })
            .max()
            .unwrap_or(0);
        let precision = (integer_digits + scale as usize).clamp(28, 38);
        let mut total = Some(Decimal::ZERO);
        let mantissas: Vec<Option<i128>> = values
            .iter()
            .map(|v| {
                v.map(|mut d| {
                    total = total.and_then(|t| t.checked_add(d));
                    d.rescale(scale);
                    d.mantissa()
                })
            })
            .collect();
        let series =
            Series::new(pl_name, mantissas).into_decimal(precision, scale as usize).map_err(polars_error(table))?;
        // Money columns (at most 4 decimals: minor units): polars' sum of the written column equals the
        // Rust-side checked total (polars' Decimal sum wraps on overflow instead of failing).
        if scale <= 4 {
            let summed = series.sum_reduce().map_err(polars_error(table))?;
            let polars_total = match summed.value() {
                AnyValue::Decimal(v, _, s) => {
                    Decimal::try_from_i128_with_scale(*v, u32::try_from(*s).unwrap_or(0)).ok()
                }
                AnyValue::Null => Some(Decimal::ZERO),
                _ => None,
            };
            let same = match (polars_total, total) {
                (Some(p), Some(t)) => p == t,
                _ => false,
            };
            if !same {
                return Err(ReportError::Table {
                    table,
                    message: format!(
                        "column {name}: polars sums it to {polars_total:?}, the table's checked total is {total:?}"
                    ),
                });
            }
        }
        return Ok(series.into());
    }
    Ok(Column::new(pl_name, cells.iter().map(|c| Some(*c).filter(|c| !c.is_empty())).collect::<Vec<Option<&str>>>()))
}

/// The CSV table `csv` as Parquet bytes (zstd, deterministic for the same bytes and settle version).
pub fn csv_to_parquet(table: &'static str, csv: &[u8]) -> Result<Vec<u8>, ReportError> {
    let mut reader = csv::Reader::from_reader(csv);
    let header: Vec<String> = reader
        .headers()
        .map_err(|source| ReportError::Csv { table, source })?
        .iter()
        .map(|h| h.trim_start_matches('\'').to_string())
        .collect();
    // One text buffer and end offsets per column (not a String per cell: a 10^6-row matches table has
    // 3.5 10^7 cells), typed one column at a time.
    let mut texts: Vec<(String, Vec<u32>)> = vec![(String::new(), Vec::new()); header.len()];
    let too_big = || ReportError::Table { table, message: "a column holds more than 4 GiB of text".into() };
    for record in reader.records() {
        let record = record.map_err(|source| ReportError::Csv { table, source })?;
        for (i, (buf, ends)) in texts.iter_mut().enumerate() {
            let cell = record.get(i).unwrap_or("");
            // A text cell the CSV escaped for spreadsheets is stored as it was.
            let cell =
                cell.strip_prefix('\'').filter(|c| c.starts_with(['=', '+', '-', '@', '\t', '\r'])).unwrap_or(cell);
            buf.push_str(cell);
            ends.push(u32::try_from(buf.len()).map_err(|_| too_big())?);
        }
    }
    let height = texts.first().map_or(0, |(_, ends)| ends.len());
    // Columns are typed in parallel (each holds only its own cells).
    let columns = header
        .par_iter()
        .zip(texts.into_par_iter())
        .map(|(name, (buf, ends))| {
            let mut start = 0usize;
            let cells: Vec<&str> = ends
                .iter()
                .map(|&end| {
                    let cell = &buf[start..end as usize];
                    start = end as usize;
                    cell
                })
                .collect();
            column(table, name, &cells)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut frame = DataFrame::new(height, columns).map_err(polars_error(table))?;
    let mut out = Vec::new();
    ParquetWriter::new(&mut out)
        .with_compression(ParquetCompression::Zstd(None))
        .finish(&mut frame)
        .map_err(polars_error(table))?;
    Ok(out)
}
