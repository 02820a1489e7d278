//! Parquet inputs through the same profiles as CSV: each row's typed values are rendered as text in
//! canonical forms (DECIMAL exactly, DATE as `YYYY-MM-DD`, TIMESTAMP as UTC with `+0000`) and read by the
//! profile engine, so a profile maps Parquet columns by name as it maps CSV headers.
//!
//! Money is never a float: a column a profile reads as an amount or a rate must be DECIMAL, an integer
//! or text, and a FLOAT/DOUBLE one is an error naming it. Rows are numbered from 1 (`file:ROW` in errors
//! and checks). Nested columns (groups, lists, maps) are not read. Compression: none or Snappy.

use bytes::Bytes;
use parquet::basic::Type as PhysicalType;
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::Field;

use crate::profile::{AmountSource, Profile};
use crate::table::TabularError;

/// Whether `bytes` are a Parquet file (its `PAR1` magic).
pub fn is_parquet(bytes: &[u8]) -> bool {
    bytes.len() >= 8 && bytes.starts_with(b"PAR1") && bytes.ends_with(b"PAR1")
}

/// Runs a call into the parquet crate, turning a panic (it asserts on some malformed files) into an error
/// naming the file: bad input never brings the run down.
fn guarded<T>(path: &str, call: impl FnOnce() -> T) -> Result<T, TabularError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(call)).map_err(|panic| {
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown".into());
        error(path, None, None, format!("a damaged Parquet file: the Parquet reader failed ({what})"))
    })
}

/// Walks the footer (the file metadata, Thrift compact protocol) before the parquet crate decodes it,
/// and refuses one whose lists, sets or maps declare more elements than bytes are left. The crate skips
/// a list of booleans without consuming a byte per element, so a footer of a kilobyte declaring lists
/// of 2^31 booleans kept it busy for seconds each (found by the parquet_profiles fuzz target: a
/// 995-byte file took 2.5 s, several such lists would take minutes). Every element of a list takes at
/// least one byte in the compact protocol, so the walk is bounded by the footer's length.
fn check_footer(bytes: &[u8]) -> Result<(), String> {
    let len = bytes.len();
    if len < 12 {
        return Err("shorter than a Parquet file's magic and footer".into());
    }
    let footer_len = u32::from_le_bytes([bytes[len - 8], bytes[len - 7], bytes[len - 6], bytes[len - 5]]) as usize;
    let Some(start) = (len - 8).checked_sub(footer_len).filter(|s| *s >= 4) else {
        return Err(format!("a footer of {footer_len} bytes does not fit in the file"));
    };
    let mut walk = CompactWalk { bytes: &bytes[start..len - 8], at: 0 };
    walk.value(COMPACT_STRUCT, 0)
}

/// Thrift compact protocol types (of a field header, or of list, set and map elements).
const COMPACT_STRUCT: u8 = 12;
/// How deep structs and containers may nest (the parquet crate's own limit is of this order).
const COMPACT_DEPTH_MAX: u32 = 64;

struct CompactWalk<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl CompactWalk<'_> {
    fn byte(&mut self) -> Result<u8, String> {
        let b = *self.bytes.get(self.at).ok_or("the footer ends inside a value")?;
        self.at += 1;
        Ok(b)
    }

    fn varint(&mut self) -> Result<u64, String> {
        let mut value = 0u64;
        // Bounded: at most 10 bytes.
        for shift in (0..70).step_by(7) {
            let b = self.byte()?;
            value |= u64::from(b & 0x7f).checked_shl(shift).unwrap_or(0);
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err("a varint longer than 10 bytes in the footer".into())
    }

    fn skip(&mut self, n: u64) -> Result<(), String> {
        let n = usize::try_from(n).map_err(|_| "a length beyond the footer")?;
        match self.at.checked_add(n) {
            Some(end) if end <= self.bytes.len() => {
                self.at = end;
                Ok(())
            }
            _ => Err(format!("a length of {n} bytes beyond the footer")),
        }
    }

    /// `count` elements each needing at least a byte: no more than the bytes left.
    fn elements(&self, count: u64) -> Result<u64, String> {
        let left = (self.bytes.len() - self.at) as u64;
        if count > left {
            return Err(format!("a list of {count} elements in the {left} bytes left of the footer"));
        }
        Ok(count)
    }

    /// Walks one value of compact type `kind`; `in_container`: booleans take a byte (in a field
    /// header they take none).
    fn value_of(&mut self, kind: u8, depth: u32, in_container: bool) -> Result<(), String> {
        if depth > COMPACT_DEPTH_MAX {
            return Err(format!("the footer nests deeper than {COMPACT_DEPTH_MAX} levels"));
        }
        match kind {
            1 | 2 if in_container => self.skip(1),
            1 | 2 => Ok(()),
            3 => self.skip(1),
            4..=6 => self.varint().map(|_| ()),
            7 => self.skip(8),
            8 => {
                let n = self.varint()?;
                self.skip(n)
            }
            9 | 10 => {
                let header = self.byte()?;
                let count = match header >> 4 {
                    15 => self.varint()?,
                    short => u64::from(short),
                };
                let element = header & 0x0f;
                // Bounded by the footer's length: each element takes at least a byte.
                for _ in 0..self.elements(count)? {
                    self.value_of(element, depth + 1, true)?;
                }
                Ok(())
            }
            11 => {
                let count = self.varint()?;
                if count == 0 {
                    return Ok(());
                }
                let types = self.byte()?;
                for _ in 0..self.elements(count.saturating_mul(2))? / 2 {
                    self.value_of(types >> 4, depth + 1, true)?;
                    self.value_of(types & 0x0f, depth + 1, true)?;
                }
                Ok(())
            }
            COMPACT_STRUCT => {
                // Bounded by the footer's length: each field header takes a byte.
                loop {
                    let header = self.byte()?;
                    if header == 0 {
                        return Ok(());
                    }
                    if header >> 4 == 0 {
                        self.varint()?; // a field id that is no small delta
                    }
                    self.value_of(header & 0x0f, depth + 1, false)?;
                }
            }
            other => Err(format!("an unknown Thrift type {other} in the footer")),
        }
    }

    fn value(&mut self, kind: u8, depth: u32) -> Result<(), String> {
        self.value_of(kind, depth, false)
    }
}

fn error(path: &str, line: Option<u64>, column: Option<&str>, message: String) -> TabularError {
    TabularError { path: path.to_string(), line, column: column.map(str::to_string), message }
}

pub(crate) struct ParquetFile {
    reader: SerializedFileReader<Bytes>,
    /// Top-level column names, in schema order.
    pub(crate) columns: Vec<String>,
}

/// Opens a Parquet file and lists its columns; nested columns are an error.
pub(crate) fn open(path: &str, bytes: &[u8]) -> Result<ParquetFile, TabularError> {
    check_footer(bytes).map_err(|message| error(path, None, None, format!("a damaged Parquet file: {message}")))?;
    let reader = guarded(path, || SerializedFileReader::new(Bytes::copy_from_slice(bytes)))?
        .map_err(|e| error(path, None, None, format!("not a readable Parquet file: {e}")))?;
    // The parquet crate asserts these instead of reporting them: check first (found by fuzzing).
    let metadata = reader.metadata();
    for g in 0..metadata.num_row_groups() {
        for chunk in metadata.row_group(g).columns() {
            let start = chunk.dictionary_page_offset().unwrap_or(chunk.data_page_offset());
            let length = chunk.compressed_size();
            let fits =
                start >= 0 && length >= 0 && start.checked_add(length).is_some_and(|end| end <= bytes.len() as i64);
            if !fits {
                return Err(error(
                    path,
                    None,
                    Some(chunk.column_path().string().as_str()),
                    format!(
                        "row group {g}: column chunk at byte {start}, {length} bytes, outside the file: a damaged Parquet file"
                    ),
                ));
            }
        }
    }
    let schema = reader.metadata().file_metadata().schema_descr();
    let mut columns = Vec::with_capacity(schema.num_columns());
    for column in schema.columns() {
        let parts = column.path().parts();
        if parts.len() != 1 {
            return Err(error(
                path,
                None,
                Some(&column.path().string()),
                "a nested column (group, list or map): expected a flat table of columns".into(),
            ));
        }
        columns.push(parts[0].clone());
    }
    Ok(ParquetFile { reader, columns })
}

/// The profile as it reads rendered Parquet values: point decimals without grouping, and the
/// canonical date and time forms tried before the profile's own (which still read text columns).
pub(crate) fn typed_profile(profile: &Profile) -> Profile {
    let mut p = profile.clone();
    p.numbers.decimal = ".".into();
    p.numbers.thousands = String::new();
    let canonical = [TIMESTAMP_FORMAT.to_string(), DATE_FORMAT.to_string()];
    p.dates.formats.splice(0..0, canonical.clone());
    // Empty payout formats mean "the same as `formats`".
    if !p.dates.payout_formats.is_empty() {
        p.dates.payout_formats.splice(0..0, canonical);
    }
    p
}

const TIMESTAMP_FORMAT: &str = "%Y-%m-%d %H:%M:%S%z";
const DATE_FORMAT: &str = "%Y-%m-%d";

impl ParquetFile {
    /// Checks that no column the profile reads as money is floating point.
    pub(crate) fn check_money_columns(&self, path: &str, profile: &Profile) -> Result<(), TabularError> {
        let a = &profile.amounts;
        let mut money: Vec<&str> = [&a.gross, &a.net, &a.fee, &a.presentment, &a.amount]
            .into_iter()
            .flatten()
            .flat_map(AmountSource::columns)
            .collect();
        money.extend(a.fee_components.values().map(String::as_str));
        if let Some(rate) = &profile.columns.exchange_rate {
            money.extend(rate.name_slice().iter().map(String::as_str));
        }
        let schema = self.reader.metadata().file_metadata().schema_descr();
        for column in schema.columns() {
            let name = column.name();
            let float = matches!(column.physical_type(), PhysicalType::FLOAT | PhysicalType::DOUBLE);
            if float && money.contains(&name) {
                return Err(error(
                    path,
                    None,
                    Some(name),
                    "holds floating-point numbers: amounts and rates must be DECIMAL, integers (with \
                     numbers.minor_units) or text in Parquet, as floats cannot hold every amount exactly"
                        .into(),
                ));
            }
        }
        Ok(())
    }

    /// Calls `row` with each row's values rendered as text (an absent value as empty), in order, with
    /// its 1-based row number.
    pub(crate) fn for_each_row(
        &self,
        path: &str,
        mut row: impl FnMut(u64, &[String]) -> Result<(), TabularError>,
    ) -> Result<(), TabularError> {
        let mut rows = guarded(path, || self.reader.get_row_iter(None))?
            .map_err(|e| error(path, None, None, format!("cannot read the Parquet rows: {e}")))?;
        let mut cells: Vec<String> = Vec::with_capacity(self.columns.len());
        let mut index = 0u64;
        while let Some(read) = guarded(path, || rows.next())? {
            index += 1;
            let number = index;
            let values = read.map_err(|e| error(path, Some(number), None, format!("cannot read this row: {e}")))?;
            cells.clear();
            for (name, field) in values.get_column_iter() {
                cells.push(render(field).map_err(|m| error(path, Some(number), Some(name), m))?);
            }
            row(number, &cells)?;
        }
        Ok(())
    }
}

/// A value as the profile engine reads it.
fn render(field: &Field) -> Result<String, String> {
    Ok(match field {
        Field::Null => String::new(),
        Field::Bool(v) => v.to_string(),
        Field::Byte(v) => v.to_string(),
        Field::Short(v) => v.to_string(),
        Field::Int(v) => v.to_string(),
        Field::Long(v) => v.to_string(),
        Field::UByte(v) => v.to_string(),
        Field::UShort(v) => v.to_string(),
        Field::UInt(v) => v.to_string(),
        Field::ULong(v) => v.to_string(),
        // Floats are refused where money is read (`check_money_columns`); elsewhere they are text.
        Field::Float16(v) => v.to_string(),
        Field::Float(v) => v.to_string(),
        Field::Double(v) => v.to_string(),
        Field::Decimal(d) => decimal_text(d.data(), d.scale())?,
        Field::Str(s) => s.clone(),
        Field::Bytes(b) => match std::str::from_utf8(b.data()) {
            Ok(text) => text.to_string(),
            Err(_) => return Err("binary value that is not UTF-8 text".into()),
        },
        Field::Date(days) => {
            let date = jiff::civil::date(1970, 1, 1)
                .checked_add(jiff::Span::new().days(i64::from(*days)))
                .map_err(|e| format!("date {days} days from 1970-01-01: {e}"))?;
            date.strftime(DATE_FORMAT).to_string()
        }
        Field::TimestampMillis(ms) => timestamp(jiff::Timestamp::from_millisecond(*ms))?,
        Field::TimestampMicros(us) => timestamp(jiff::Timestamp::from_microsecond(*us))?,
        Field::TimeMillis(ms) => time_of_day(i64::from(*ms) * 1_000)?,
        Field::TimeMicros(us) => time_of_day(*us)?,
        Field::Group(_) | Field::ListInternal(_) | Field::MapInternal(_) => {
            return Err("a nested value: expected a flat table of columns".into());
        }
    })
}

fn timestamp(t: Result<jiff::Timestamp, jiff::Error>) -> Result<String, String> {
    let t = t.map_err(|e| format!("timestamp out of range: {e}"))?;
    Ok(t.strftime(TIMESTAMP_FORMAT).to_string())
}

fn time_of_day(micros: i64) -> Result<String, String> {
    let seconds = micros.div_euclid(1_000_000);
    if !(0..86_400).contains(&seconds) {
        return Err(format!("time of day {micros} µs is not within a day"));
    }
    Ok(format!("{:02}:{:02}:{:02}", seconds / 3600, seconds / 60 % 60, seconds % 60))
}

/// A DECIMAL's unscaled big-endian two's-complement bytes and scale, as exact decimal text.
fn decimal_text(bytes: &[u8], scale: i32) -> Result<String, String> {
    if bytes.is_empty() || bytes.len() > 16 {
        return Err(format!("DECIMAL of {} bytes: expected 1 to 16", bytes.len()));
    }
    let negative = bytes[0] & 0x80 != 0;
    let mut buf = [if negative { 0xFF } else { 0 }; 16];
    buf[16 - bytes.len()..].copy_from_slice(bytes);
    let unscaled = i128::from_be_bytes(buf);
    let scale = u32::try_from(scale).map_err(|_| format!("DECIMAL scale {scale}: expected 0 or more"))?;
    let value = rust_decimal::Decimal::try_from_i128_with_scale(unscaled, scale)
        .map_err(|_| format!("DECIMAL {unscaled} × 10^-{scale} does not fit 28 digits"))?;
    Ok(value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_are_exact() {
        assert_eq!(decimal_text(&[0x01, 0xE2, 0x40], 2).unwrap(), "1234.56");
        assert_eq!(decimal_text(&(-123_456i64).to_be_bytes(), 2).unwrap(), "-1234.56");
        assert_eq!(decimal_text(&[0xFF], 0).unwrap(), "-1");
        let big = 123_456_789_012_345_678_901_234_567i128.to_be_bytes();
        assert_eq!(decimal_text(&big, 4).unwrap(), "12345678901234567890123.4567");
        assert!(decimal_text(&[], 2).is_err());
    }

    #[test]
    fn times_render_in_canonical_forms() {
        assert_eq!(render(&Field::Date(20_755)).unwrap(), "2026-10-29");
        assert_eq!(render(&Field::TimestampMillis(1_790_000_000_000)).unwrap(), "2026-09-21 14:13:20+0000");
        assert_eq!(render(&Field::TimeMillis(3_723_000)).unwrap(), "01:02:03");
        assert_eq!(render(&Field::Null).unwrap(), "");
    }
}
