//! A header-mapped CSV reader that carries positions into every error.

use std::collections::BTreeMap;

use settle_core::{AmountFormat, Currency, Date, Decimal, ExtraDigits, Money, parse_amount, parse_date};

/// One column of a layout.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub name: &'static str,
    pub required: bool,
    /// One line for docs/formats.md.
    pub meaning: &'static str,
}

/// A CSV layout: its name (used in messages and docs) and columns, mapped by header name.
#[derive(Debug, Clone, Copy)]
pub struct Layout {
    pub name: &'static str,
    pub columns: &'static [Column],
}

/// An input could not be read. `line` is the 1-based physical line of the record (1 is the header).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}{}{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default(), column.as_ref().map(|c| format!(": column `{c}`")).unwrap_or_default())]
pub struct TabularError {
    pub path: String,
    pub line: Option<u64>,
    pub column: Option<String>,
    pub message: String,
}

/// The records of one file, with column positions resolved.
pub struct Table<'a> {
    path: &'a str,
    layout: &'static Layout,
    index: BTreeMap<&'static str, usize>,
    reader: csv::Reader<&'a [u8]>,
    width: usize,
    /// The bytes after the BOM, to count physical lines (the csv crate's own line count skips blank lines).
    bytes: &'a [u8],
}

/// Physical line numbers of CSV records, counted incrementally from each record's byte offset (the csv
/// crate's own line count skips blank lines).
#[derive(Debug, Default)]
pub(crate) struct LineCounter {
    counted_to: usize,
    newlines: u64,
}

impl LineCounter {
    /// The 1-based line of `record`, just read from `bytes`; records must come in file order.
    pub(crate) fn line_of(&mut self, bytes: &[u8], record: &csv::StringRecord) -> u64 {
        let start = record.position().map_or(0, |p| usize::try_from(p.byte()).unwrap_or(usize::MAX));
        let mut start = start.min(bytes.len()).max(self.counted_to);
        // The reported offset can point at blank lines the reader skipped before the record.
        while start < bytes.len() && matches!(bytes[start], b'\n' | b'\r') {
            start += 1;
        }
        self.newlines += memchr::memchr_iter(b'\n', &bytes[self.counted_to..start]).count() as u64;
        self.counted_to = start;
        self.newlines + 1
    }
}

/// One row, borrowing the table's column map.
pub struct Row<'t> {
    path: &'t str,
    line: u64,
    record: &'t csv::StringRecord,
    index: &'t BTreeMap<&'static str, usize>,
}

impl<'a> Table<'a> {
    /// Reads the header of `bytes` and checks every required column of `layout` is present.
    /// Extra columns are allowed and ignored; a duplicated header name is an error.
    pub fn open(path: &'a str, bytes: &'a [u8], layout: &'static Layout) -> Result<Table<'a>, TabularError> {
        Table::open_with(path, bytes, layout, crate::profiled::LINE_BYTES_MAX)
    }

    /// `open` with another line limit (settle's own carry files: none).
    pub fn open_with(
        path: &'a str,
        bytes: &'a [u8],
        layout: &'static Layout,
        line_bytes_max: usize,
    ) -> Result<Table<'a>, TabularError> {
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        crate::profiled::check_text_bytes(path, bytes, line_bytes_max)?;
        let mut reader = csv::ReaderBuilder::new().has_headers(true).flexible(true).from_reader(bytes);
        let header_error =
            |message: String| TabularError { path: path.to_string(), line: Some(1), column: None, message };
        let headers = reader.headers().map_err(|e| header_error(format!("cannot read the header row: {e}")))?.clone();
        if headers.is_empty() || (headers.len() == 1 && headers[0].trim().is_empty()) {
            return Err(header_error(format!(
                "the file is empty: expected a header row with the {} columns",
                layout.name
            )));
        }
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        for (position, name) in headers.iter().enumerate() {
            if seen.insert(name.trim().to_string(), position).is_some() {
                return Err(header_error(format!("column `{}` appears twice in the header", name.trim())));
            }
        }
        let mut index = BTreeMap::new();
        let mut missing = Vec::new();
        for column in layout.columns {
            match seen.get(column.name) {
                Some(position) => {
                    index.insert(column.name, *position);
                }
                None if column.required => missing.push(column.name),
                None => {}
            }
        }
        if !missing.is_empty() {
            return Err(header_error(format!(
                "missing required column(s) {} for the {} layout (see docs/formats.md)",
                missing.iter().map(|m| format!("`{m}`")).collect::<Vec<_>>().join(", "),
                layout.name
            )));
        }
        Ok(Table { path, layout, index, width: headers.len(), reader, bytes })
    }

    /// Calls `each` for every data row, in file order. Blank lines are skipped by the CSV reader.
    pub fn for_each_row(
        mut self,
        mut each: impl FnMut(&Row<'_>) -> Result<(), TabularError>,
    ) -> Result<(), TabularError> {
        let mut record = csv::StringRecord::new();
        let mut lines = LineCounter::default();
        loop {
            let more = self.reader.read_record(&mut record).map_err(|e| TabularError {
                path: self.path.to_string(),
                line: e.position().map(|p| p.line()),
                column: None,
                message: format!("malformed CSV: {e}"),
            })?;
            if !more {
                return Ok(());
            }
            let line = lines.line_of(self.bytes, &record);
            if record.len() != self.width {
                return Err(TabularError {
                    path: self.path.to_string(),
                    line: Some(line),
                    column: None,
                    message: format!(
                        "expected {} fields as in the header of the {} layout, found {}",
                        self.width,
                        self.layout.name,
                        record.len()
                    ),
                });
            }
            each(&Row { path: self.path, line, record: &record, index: &self.index })?;
        }
    }
}

impl Row<'_> {
    pub fn line(&self) -> u64 {
        self.line
    }

    pub fn error(&self, column: &str, message: impl Into<String>) -> TabularError {
        TabularError {
            path: self.path.to_string(),
            line: Some(self.line),
            column: Some(column.to_string()),
            message: message.into(),
        }
    }

    /// The trimmed text of `column`, or `None` if the column is absent from the file or empty.
    pub fn optional(&self, column: &str) -> Option<&str> {
        let position = *self.index.get(column)?;
        let value = self.record.get(position)?.trim();
        if value.is_empty() { None } else { Some(value) }
    }

    pub fn required(&self, column: &str) -> Result<&str, TabularError> {
        self.optional(column).ok_or_else(|| self.error(column, "is empty: a value is required"))
    }

    pub fn currency(&self, column: &str) -> Result<Currency, TabularError> {
        let text = self.required(column)?;
        Currency::from_code(text).map_err(|e| self.error(column, e.to_string()))
    }

    pub fn date(&self, column: &str) -> Result<Date, TabularError> {
        let text = self.required(column)?;
        parse_date(text).map_err(|e| self.error(column, e.to_string()))
    }

    /// An amount in the canonical convention (`-1234.56`) with no digits beyond the currency's minor units.
    pub fn amount(&self, column: &str, currency: Currency) -> Result<Money, TabularError> {
        let text = self.required(column)?;
        parse_amount(text, AmountFormat::POINT, currency, ExtraDigits::Reject)
            .map_err(|e| self.error(column, e.to_string()))
    }

    /// A positive decimal of any precision (rates).
    pub fn positive_decimal(&self, column: &str) -> Result<Decimal, TabularError> {
        let text = self.required(column)?;
        let value = settle_core::parse_decimal(text).map_err(|e| self.error(column, e.to_string()))?;
        if value <= Decimal::ZERO {
            return Err(self.error(column, format!("{text:?} must be greater than zero")));
        }
        Ok(value)
    }
}
