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

/// What a column holds, decided over the whole table before any row is written (a column's type, scale
/// and precision cannot change between row groups).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ColumnType {
    Int,
    Date,
    /// Mantissas at `scale`; `checked`: money (scale ≤ 4), whose polars sum is checked against Rust's.
    Decimal {
        precision: usize,
        scale: u32,
        checked: bool,
    },
    Text,
}

/// Pass 1 over one column: which types every cell fits.
#[derive(Debug, Clone)]
struct ColumnScan {
    int_candidate: bool,
    date_candidate: bool,
    decimal_candidate: bool,
    present: u64,
    all_int: bool,
    all_date: bool,
    all_decimal: bool,
    scale_max: u32,
    integer_digits_max: usize,
}

impl ColumnScan {
    fn new(name: &str) -> ColumnScan {
        let text = is_text(name);
        ColumnScan {
            int_candidate: !text && COUNTS.contains(&name),
            date_candidate: name.contains("date") || name.ends_with("_on"),
            decimal_candidate: !text,
            present: 0,
            all_int: true,
            all_date: true,
            all_decimal: true,
            scale_max: 0,
            integer_digits_max: 0,
        }
    }

    fn add(&mut self, cell: &str) {
        if cell.is_empty() {
            return;
        }
        self.present += 1;
        if self.int_candidate && self.all_int {
            self.all_int = cell.parse::<i64>().is_ok();
        }
        if self.date_candidate && self.all_date {
            self.all_date = settle_core::parse_date(cell).is_ok();
        }
        // A count column whose cells are all integers is Int64 whatever else they fit; should a later
        // cell not be one, the integers skipped here change nothing (scale 0 and at most 19 digits,
        // under the least precision, 28).
        if self.decimal_candidate && self.all_decimal && !(self.int_candidate && self.all_int) {
            match cell.parse::<Decimal>() {
                Ok(d) => {
                    self.scale_max = self.scale_max.max(d.scale());
                    // Digits of |mantissa| less the scale, without formatting the number.
                    let mut m = d.mantissa().unsigned_abs();
                    let mut digits = 0usize;
                    while m > 0 {
                        m /= 10;
                        digits += 1;
                    }
                    self.integer_digits_max = self.integer_digits_max.max(digits.saturating_sub(d.scale() as usize));
                }
                Err(_) => self.all_decimal = false,
            }
        }
    }

    /// Counts (by name) when every cell is an integer; dates when every cell is one; decimals when every
    /// cell is a number (scale: the column's largest; precision: its digits, 28 to 38); else text.
    fn column_type(&self) -> ColumnType {
        if self.int_candidate && self.all_int {
            return ColumnType::Int;
        }
        if self.date_candidate && self.present > 0 && self.all_date {
            return ColumnType::Date;
        }
        if self.decimal_candidate && self.present > 0 && self.all_decimal {
            let precision = (self.integer_digits_max + self.scale_max as usize).clamp(28, 38);
            return ColumnType::Decimal { precision, scale: self.scale_max, checked: self.scale_max <= 4 };
        }
        ColumnType::Text
    }
}

/// One column of a row group, typed as pass 1 decided. `total` is the column's checked Rust-side sum so
/// far (decimal columns), carried from row group to row group.
fn column(
    table: &'static str,
    name: &str,
    column_type: ColumnType,
    cells: &[&str],
    total: &mut Option<Decimal>,
) -> Result<Column, ReportError> {
    let pl_name = PlSmallStr::from(name);
    match column_type {
        ColumnType::Int => {
            let values: Vec<Option<i64>> = cells.iter().map(|c| c.parse().ok()).collect();
            Ok(Column::new(pl_name, values))
        }
        ColumnType::Date => {
            // Days since 1970-01-01, as Polars stores dates.
            let epoch = settle_core::parse_date("1970-01-01").expect("a date");
            let values: Vec<Option<i32>> =
                cells.iter().map(|c| settle_core::parse_date(c).ok().map(|d| (d - epoch).get_days())).collect();
            let series = Series::new(pl_name, values).cast(&DataType::Date).map_err(polars_error(table))?;
            Ok(series.into())
        }
        ColumnType::Decimal { precision, scale, checked } => {
            let mut group_total = Some(Decimal::ZERO);
            let mut mantissas: Vec<Option<i128>> = Vec::with_capacity(cells.len());
            for cell in cells {
                if cell.is_empty() {
                    mantissas.push(None);
                    continue;
                }
                let mut d: Decimal = cell.parse().map_err(|_| ReportError::Table {
                    table,
                    message: format!("column {name}: {cell:?} is not a number on the second reading"),
                })?;
                group_total = group_total.and_then(|t| t.checked_add(d));
                d.rescale(scale);
                mantissas.push(Some(d.mantissa()));
            }
            *total = match (*total, group_total) {
                (Some(t), Some(g)) => t.checked_add(g),
                _ => None,
            };
            let series =
                Series::new(pl_name, mantissas).into_decimal(precision, scale as usize).map_err(polars_error(table))?;
            // Money columns (at most 4 decimals: minor units): polars' sum of the written column equals the
            // Rust-side checked total, row group by row group, and the whole column's checked total exists
            // (polars' Decimal sum wraps on overflow instead of failing).
            if checked {
                let summed = series.sum_reduce().map_err(polars_error(table))?;
                let polars_total = match summed.value() {
                    AnyValue::Decimal(v, _, s) => {
                        Decimal::try_from_i128_with_scale(*v, u32::try_from(*s).unwrap_or(0)).ok()
                    }
                    AnyValue::Null => Some(Decimal::ZERO),
                    _ => None,
                };
                let same = matches!((polars_total, group_total), (Some(p), Some(t)) if p == t);
                if !same || total.is_none() {
                    return Err(ReportError::Table {
                        table,
                        message: format!(
                            "column {name}: polars sums it to {polars_total:?}, the table's checked total is {:?}",
                            total.and(group_total)
                        ),
                    });
                }
            }
            Ok(series.into())
        }
        ColumnType::Text => Ok(Column::new(
            pl_name,
            cells.iter().map(|c| Some(*c).filter(|c| !c.is_empty())).collect::<Vec<Option<&str>>>(),
        )),
    }
}

/// The row groups of a table of `height` rows, as polars' `ParquetWriter::finish` cuts a frame of one
/// chunk (so a table written a row group at a time has the bytes it had when written whole): one group
/// below 512² rows, else `height / 512²` groups of equal size, the last taking the remainder.
fn row_groups(height: usize) -> Vec<usize> {
    const ROW_GROUP_ROWS: usize = 512 * 512;
    let groups = height / ROW_GROUP_ROWS;
    if groups <= 1 {
        return vec![height];
    }
    let size = height / groups;
    let mut sizes = vec![size; groups - 1];
    sizes.push(height - size * (groups - 1));
    sizes
}

/// A cell as the table means it: a text cell the CSV escaped for spreadsheets (`'=…`) is stored as it was.
fn cell_text(cell: &str) -> &str {
    cell.strip_prefix('\'').filter(|c| c.starts_with(['=', '+', '-', '@', '\t', '\r'])).unwrap_or(cell)
}

/// The CSV table `csv` as Parquet bytes (zstd, deterministic for the same bytes and settle version).
pub fn csv_to_parquet(table: &'static str, csv: &[u8]) -> Result<Vec<u8>, ReportError> {
    let mut out = Vec::new();
    csv_to_parquet_streamed(table, || Ok(csv), &mut out)?;
    Ok(out)
}

/// The CSV table that `open` reads (it is called twice: once to type the columns, once to write them) as
/// Parquet into `out`, one row group (262 144 to 524 287 rows) at a time: memory holds one row group's cells, not
/// the table (a 10^7-order day's matches.csv is 2.8 GB).
pub fn csv_to_parquet_streamed<R: std::io::Read, W: std::io::Write + Send>(
    table: &'static str,
    open: impl Fn() -> std::io::Result<R>,
    out: W,
) -> Result<(), ReportError> {
    let csv_error = |source| ReportError::Csv { table, source };
    let io_error = |e: std::io::Error| ReportError::Table { table, message: format!("reading the table: {e}") };
    let reader = |r: R| csv::ReaderBuilder::new().buffer_capacity(1 << 20).from_reader(r);
    // Pass 1: the columns' types.
    let mut first = reader(open().map_err(io_error)?);
    let header: Vec<String> =
        first.headers().map_err(csv_error)?.iter().map(|h| h.trim_start_matches('\'').to_string()).collect();
    let mut scans: Vec<ColumnScan> = header.iter().map(|name| ColumnScan::new(name)).collect();
    let mut record = csv::StringRecord::new();
    let mut height = 0usize;
    while first.read_record(&mut record).map_err(csv_error)? {
        for (i, scan) in scans.iter_mut().enumerate() {
            scan.add(cell_text(record.get(i).unwrap_or("")));
        }
        height += 1;
    }
    drop(first);
    let types: Vec<ColumnType> = scans.iter().map(ColumnScan::column_type).collect();
    let schema = Schema::from_iter(header.iter().zip(&types).map(|(name, t)| {
        let dtype = match *t {
            ColumnType::Int => DataType::Int64,
            ColumnType::Date => DataType::Date,
            ColumnType::Decimal { precision, scale, .. } => DataType::Decimal(precision, scale as usize),
            ColumnType::Text => DataType::String,
        };
        Field::new(PlSmallStr::from(name.as_str()), dtype)
    }));
    let mut writer = ParquetWriter::new(out)
        .with_compression(ParquetCompression::Zstd(None))
        .batched(&schema)
        .map_err(polars_error(table))?;
    // Pass 2: row group by row group. One text buffer and end offsets per column (not a String per
    // cell), typed one column at a time, in parallel.
    let mut second = reader(open().map_err(io_error)?);
    second.headers().map_err(csv_error)?;
    let too_big = || ReportError::Table { table, message: "a column holds more than 4 GiB of text".into() };
    let mut totals: Vec<Option<Decimal>> = vec![Some(Decimal::ZERO); header.len()];
    let mut written = 0usize;
    // Bounded: one turn per row group.
    for rows_wanted in row_groups(height) {
        let mut texts: Vec<(String, Vec<u32>)> = vec![(String::new(), Vec::new()); header.len()];
        let mut rows = 0usize;
        while rows < rows_wanted && second.read_record(&mut record).map_err(csv_error)? {
            for (i, (buf, ends)) in texts.iter_mut().enumerate() {
                buf.push_str(cell_text(record.get(i).unwrap_or("")));
                ends.push(u32::try_from(buf.len()).map_err(|_| too_big())?);
            }
            rows += 1;
        }
        let columns = header
            .par_iter()
            .zip(&types)
            .zip(texts.into_par_iter())
            .zip(totals.par_iter_mut())
            .map(|(((name, column_type), (buf, ends)), total)| {
                let mut start = 0usize;
                let cells: Vec<&str> = ends
                    .iter()
                    .map(|&end| {
                        let cell = &buf[start..end as usize];
                        start = end as usize;
                        cell
                    })
                    .collect();
                column(table, name, *column_type, &cells, total)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let frame = DataFrame::new(rows, columns).map_err(polars_error(table))?;
        writer.write_batch(&frame).map_err(polars_error(table))?;
        written += rows;
    }
    // The second reading must see the rows the first one typed (a file changed in between would not).
    if written != height || second.read_record(&mut record).map_err(csv_error)? {
        return Err(ReportError::Table {
            table,
            message: format!("the table changed between readings: {height} rows, then {written}"),
        });
    }
    writer.finish().map_err(polars_error(table))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_groups_cut_a_table_as_polars_cuts_a_frame() {
        assert_eq!(row_groups(0), [0]);
        assert_eq!(row_groups(1000), [1000]);
        assert_eq!(row_groups(524_287), [524_287]);
        assert_eq!(row_groups(524_288), [262_144, 262_144]);
        // 10^6 rows: 3 groups of 333 333, the last taking the remainder.
        assert_eq!(row_groups(1_000_000), [333_333, 333_333, 333_334]);
        for height in [262_144usize, 777_777, 10_000_001] {
            let groups = row_groups(height);
            assert_eq!(groups.iter().sum::<usize>(), height);
            assert!(groups.iter().all(|&g| (262_144..2 * 262_144).contains(&g)), "{height}: {groups:?}");
        }
    }

    #[test]
    fn a_table_written_in_row_groups_reads_back_whole_and_typed() {
        let mut csv = String::from("match_id,left_records,amount,value_date,note\n");
        for i in 0..1000 {
            csv.push_str(&format!("M{i:06},{},{}.5{},2026-10-{:02},'=x\n", i % 3, i, i % 10, 1 + i % 28));
        }
        let parquet = csv_to_parquet("t.csv", csv.as_bytes()).unwrap();
        let frame = ParquetReader::new(std::io::Cursor::new(parquet)).finish().unwrap();
        assert_eq!(frame.height(), 1000);
        let types: Vec<DataType> = frame.dtypes();
        assert_eq!(
            types,
            [DataType::String, DataType::Int64, DataType::Decimal(28, 2), DataType::Date, DataType::String]
        );
        assert_eq!(frame.column("note").unwrap().str().unwrap().get(0), Some("=x"));
    }

    #[test]
    fn a_table_that_changes_between_its_two_readings_is_an_error() {
        let readings = std::sync::atomic::AtomicUsize::new(0);
        let open = || {
            let n = readings.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Ok(std::io::Cursor::new(if n == 0 { "a,amount\nx,1\n" } else { "a,amount\nx,1\ny,2\n" }))
        };
        let err = csv_to_parquet_streamed("t.csv", open, Vec::new()).unwrap_err();
        assert!(err.to_string().contains("changed between readings"), "{err}");
    }
}
