//! The ECB's euro foreign exchange reference rates, in each of the layouts the ECB publishes:
//!
//! - the history CSV (`eurofxref-hist.csv`): `Date,USD,JPY,…,ZAR,` header with a trailing comma, one row
//!   per TARGET business day, newest first, `N/A` where a currency has no rate that day;
//! - the daily CSV (`eurofxref.csv`): `Date, USD, JPY, …` with comma-and-space separators and the date
//!   written `30 October 2026`;
//! - the XML feeds (`eurofxref-daily.xml`, `-hist-90d.xml`, `-hist.xml`): `<Cube time="…">` holding
//!   `<Cube currency="USD" rate="1.0866"/>`.
//!
//! Every rate is 1 EUR = `rate` units of the currency, kept at its published precision (`Decimal`), with
//! source `ECB` and the line (CSV) or the position (XML) it was read at.

use std::sync::Arc;

use settle_core::{Currency, Date, Provenance, Rate};

/// What a rate file turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateFileFormat {
    EcbHistoryCsv,
    EcbDailyCsv,
    EcbXml,
}

impl RateFileFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            RateFileFormat::EcbHistoryCsv => "ecb-history-csv",
            RateFileFormat::EcbDailyCsv => "ecb-daily-csv",
            RateFileFormat::EcbXml => "ecb-xml",
        }
    }
}

/// The rates of one ECB file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateFile {
    pub format: RateFileFormat,
    pub rates: Vec<Rate>,
    /// Columns whose code is not an ISO 4217 currency settle knows (none in the ECB's files so far).
    pub unknown_currencies: Vec<String>,
}

/// A rate file that cannot be read: where, and what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}{}{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default(), column.as_ref().map(|c| format!(": column `{c}`")).unwrap_or_default())]
pub struct RateFileError {
    pub path: String,
    pub line: Option<u64>,
    pub column: Option<String>,
    pub message: String,
}

/// The ECB layout of `bytes`, told by content, or `None` (another rates file, e.g. settle's generic
/// `date,base,quote,rate,source` CSV).
pub fn sniff(bytes: &[u8]) -> Option<RateFileFormat> {
    if is_zip(bytes) {
        // The ECB's zip holds its history CSV.
        return Some(RateFileFormat::EcbHistoryCsv);
    }
    let text = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let start = text.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(text.len());
    let text = &text[start..];
    if text.starts_with(b"<") {
        let head = &text[..text.len().min(4096)];
        let found = |needle: &[u8]| memchr::memmem::find(head, needle).is_some();
        return (found(b"eurofxref") || found(b"<Cube")).then_some(RateFileFormat::EcbXml);
    }
    if text.starts_with(b"Date, ") {
        Some(RateFileFormat::EcbDailyCsv)
    } else if text.starts_with(b"Date,") {
        // The generic layout starts `date,base,…` (lower case); the ECB's `Date,USD,…`.
        Some(RateFileFormat::EcbHistoryCsv)
    } else {
        None
    }
}

/// Whether `bytes` are a zip archive (the ECB distributes its history as `eurofxref-hist.zip`).
pub fn is_zip(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK\x03\x04")
}

/// The largest file a zip entry may inflate to (the full ECB history is about 2 MB).
const UNZIPPED_MAX: usize = 256 << 20;

/// The first `.csv` or `.xml` entry of a zip archive: its name and inflated bytes (stored or deflated;
/// CRC-32 checked).
pub fn unzip_rates(path: &str, bytes: &[u8]) -> Result<(String, Vec<u8>), RateFileError> {
    let fail = |message: String| RateFileError { path: path.to_string(), line: None, column: None, message };
    let u16_at = |at: usize| bytes.get(at..at + 2).map(|b| u16::from_le_bytes([b[0], b[1]]));
    let u32_at = |at: usize| bytes.get(at..at + 4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
    let truncated = || fail("truncated zip archive".into());
    // The end-of-central-directory record is in the last 64 KiB + 22 bytes.
    let tail_start = bytes.len().saturating_sub(65_557);
    let eocd = (tail_start..bytes.len().saturating_sub(21))
        .rev()
        .find(|&i| bytes[i..].starts_with(b"PK\x05\x06"))
        .ok_or_else(|| fail("no end of central directory: not a complete zip archive".into()))?;
    let entries = usize::from(u16_at(eocd + 10).ok_or_else(truncated)?);
    let mut at = u32_at(eocd + 16).ok_or_else(truncated)? as usize;
    for _ in 0..entries {
        if u32_at(at) != Some(0x0201_4b50) {
            return Err(fail(format!("no central directory entry at byte {at}")));
        }
        let method = u16_at(at + 10).ok_or_else(truncated)?;
        let crc = u32_at(at + 16).ok_or_else(truncated)?;
        let compressed = u32_at(at + 20).ok_or_else(truncated)? as usize;
        let size = u32_at(at + 24).ok_or_else(truncated)? as usize;
        let name_len = usize::from(u16_at(at + 28).ok_or_else(truncated)?);
        let extra_len = usize::from(u16_at(at + 30).ok_or_else(truncated)?);
        let comment_len = usize::from(u16_at(at + 32).ok_or_else(truncated)?);
        let local = u32_at(at + 42).ok_or_else(truncated)? as usize;
        let name = String::from_utf8_lossy(bytes.get(at + 46..at + 46 + name_len).ok_or_else(truncated)?).to_string();
        at += 46 + name_len + extra_len + comment_len;
        let lower = name.to_ascii_lowercase();
        if !(lower.ends_with(".csv") || lower.ends_with(".xml")) {
            continue;
        }
        if u32_at(local) != Some(0x0403_4b50) {
            return Err(fail(format!("{name}: no local file header at byte {local}")));
        }
        let data_at = local
            + 30
            + usize::from(u16_at(local + 26).ok_or_else(truncated)?)
            + usize::from(u16_at(local + 28).ok_or_else(truncated)?);
        let data = bytes.get(data_at..data_at + compressed).ok_or_else(truncated)?;
        if size > UNZIPPED_MAX {
            return Err(fail(format!("{name}: {size} bytes unzipped, above the {UNZIPPED_MAX}-byte limit")));
        }
        let inflated = match method {
            0 => data.to_vec(),
            8 => miniz_oxide::inflate::decompress_to_vec_with_limit(data, size)
                .map_err(|e| fail(format!("{name}: cannot inflate: {e:?}")))?,
            other => {
                return Err(fail(format!("{name}: compression method {other}: expected stored (0) or deflate (8)")));
            }
        };
        if inflated.len() != size || crc32fast::hash(&inflated) != crc {
            return Err(fail(format!("{name}: size or CRC-32 does not match the archive's record")));
        }
        return Ok((name, inflated));
    }
    Err(fail("no .csv or .xml file in the zip archive".into()))
}

/// Reads an ECB rate file in any of its layouts, or a zip archive holding one.
pub fn read_ecb(path: &str, bytes: &[u8]) -> Result<RateFile, RateFileError> {
    if is_zip(bytes) {
        let (name, inner) = unzip_rates(path, bytes)?;
        return read_ecb(&format!("{path}!{name}"), &inner);
    }
    let fail = |line, message: String| RateFileError { path: path.to_string(), line, column: None, message };
    let Some(format) = sniff(bytes) else {
        return Err(fail(
            Some(1),
            "not an ECB rate file: expected the history CSV (`Date,USD,…`), the daily CSV (`Date, USD, …`) or \
             the XML feed (`<Cube time=…>`)"
                .into(),
        ));
    };
    let text = std::str::from_utf8(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes))
        .map_err(|e| fail(None, format!("not UTF-8 text (byte {}): ECB files are ASCII", e.valid_up_to())))?;
    match format {
        RateFileFormat::EcbHistoryCsv | RateFileFormat::EcbDailyCsv => read_csv(path, text, format),
        RateFileFormat::EcbXml => read_xml(path, text),
    }
}

fn currency_columns(header: &[&str]) -> (Vec<Option<Currency>>, Vec<String>) {
    let mut unknown = Vec::new();
    let columns = header
        .iter()
        .map(|code| match Currency::from_code(code) {
            Ok(c) => Some(c),
            Err(_) if code.is_empty() => None,
            Err(_) => {
                unknown.push(code.to_string());
                None
            }
        })
        .collect();
    (columns, unknown)
}

fn read_csv(path: &str, text: &str, format: RateFileFormat) -> Result<RateFile, RateFileError> {
    let file: Arc<str> = Arc::from(path);
    let eur = Currency::from_code("EUR").expect("EUR is in the table");
    let err = |line: u64, column: Option<&str>, message: String| RateFileError {
        path: path.to_string(),
        line: Some(line),
        column: column.map(str::to_string),
        message,
    };
    let mut lines = text.lines().enumerate().map(|(i, l)| (i as u64 + 1, l.trim_end_matches('\r')));
    let (_, header) = lines.next().ok_or_else(|| err(1, None, "empty file: expected a `Date,…` header".into()))?;
    let header: Vec<&str> = header.split(',').map(str::trim).collect();
    if header.first() != Some(&"Date") {
        return Err(err(1, None, format!("header starts {:?}: expected `Date`", header.first().unwrap_or(&""))));
    }
    let (columns, unknown_currencies) = currency_columns(&header[1..]);
    // At most one rate per line and currency column: no reallocation while reading.
    let lines_left = memchr::memchr_iter(b'\n', text.as_bytes()).count();
    let mut rates = Vec::with_capacity(lines_left * columns.iter().flatten().count());
    for (number, line) in lines {
        if line.trim().is_empty() {
            continue;
        }
        let cells: Vec<&str> = line.split(',').map(str::trim).collect();
        let date_text = cells[0];
        let date = match format {
            RateFileFormat::EcbDailyCsv => parse_long_date(date_text),
            _ => settle_core::parse_date(date_text).ok(),
        }
        .ok_or_else(|| {
            let expected = if format == RateFileFormat::EcbDailyCsv { "30 October 2026" } else { "YYYY-MM-DD" };
            err(number, Some("Date"), format!("{date_text:?}: expected a date like {expected}"))
        })?;
        for (i, cell) in cells.iter().enumerate().skip(1) {
            let Some(Some(currency)) = columns.get(i - 1) else { continue };
            if cell.is_empty() || *cell == "N/A" {
                continue;
            }
            let rate = settle_core::parse_rate(cell)
                .map_err(|_| err(number, Some(header[i]), format!("{cell:?}: expected {RATE_TEXT}, or N/A")))?;
            rates.push(Rate {
                date,
                base: eur,
                quote: *currency,
                rate,
                source: "ECB".into(),
                provenance: Provenance::line(Arc::clone(&file), number),
            });
        }
    }
    Ok(RateFile { format, rates, unknown_currencies })
}

/// What a rate cell must be (`settle_core::parse_rate`).
const RATE_TEXT: &str = "a rate > 0 in plain digits with at most one '.' (no sign, no exponent)";

/// `30 October 2026` (the daily CSV's date).
fn parse_long_date(text: &str) -> Option<Date> {
    jiff::fmt::strtime::parse("%d %B %Y", text).ok()?.to_date().ok()
}

fn read_xml(path: &str, text: &str) -> Result<RateFile, RateFileError> {
    use quick_xml::events::Event;
    let file: Arc<str> = Arc::from(path);
    let eur = Currency::from_code("EUR").expect("EUR is in the table");
    let mut reader = quick_xml::Reader::from_str(text);
    let mut rates = Vec::new();
    let mut unknown_currencies: Vec<String> = Vec::new();
    let mut day: Option<Date> = None;
    let mut days = 0u64;
    let fail = |at: u64, message: String| RateFileError {
        path: path.to_string(),
        line: None,
        column: None,
        message: format!("{message} (byte {at})"),
    };
    loop {
        let at = reader.buffer_position();
        let event = reader.read_event().map_err(|e| fail(at, format!("malformed XML: {e}")))?;
        let element = match &event {
            Event::Start(e) | Event::Empty(e) => e,
            Event::Eof => break,
            _ => continue,
        };
        if element.local_name().as_ref() != "Cube" {
            continue;
        }
        let mut time = None;
        let mut currency = None;
        let mut rate = None;
        for attribute in element.attributes() {
            let attribute = attribute.map_err(|e| fail(at, format!("malformed attribute: {e}")))?;
            let value = attribute
                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .map_err(|e| fail(at, format!("malformed attribute value: {e}")))?
                .to_string();
            match attribute.key.as_ref() {
                "time" => time = Some(value),
                "currency" => currency = Some(value),
                "rate" => rate = Some(value),
                _ => {}
            }
        }
        if let Some(time) = time {
            day = Some(
                settle_core::parse_date(&time)
                    .map_err(|_| fail(at, format!("Cube time {time:?}: expected a date YYYY-MM-DD")))?,
            );
            days += 1;
            continue;
        }
        let (Some(code), Some(rate_text)) = (currency, rate) else { continue };
        let Some(date) = day else {
            return Err(fail(at, format!("a rate for {code} before any <Cube time=…>")));
        };
        let Ok(quote) = Currency::from_code(&code) else {
            if !unknown_currencies.contains(&code) {
                unknown_currencies.push(code);
            }
            continue;
        };
        let rate = settle_core::parse_rate(&rate_text)
            .map_err(|_| fail(at, format!("{code} rate {rate_text:?}: expected {RATE_TEXT}")))?;
        rates.push(Rate {
            date,
            base: eur,
            quote,
            rate,
            source: "ECB".into(),
            provenance: Provenance {
                source_file: Arc::clone(&file),
                source_line: None,
                xml_path: Some(format!("Cube[{days}]/Cube[@currency='{}']", quote).into()),
            },
        });
    }
    if days == 0 {
        return Err(fail(0, "no <Cube time=…> element: not an ECB rates feed".into()));
    }
    Ok(RateFile { format: RateFileFormat::EcbXml, rates, unknown_currencies })
}

/// The last day the ECB published a reference rate for a currency it no longer quotes; a conversion
/// dated after it is an error, not a stale rate.
pub fn ecb_last_quote(currency: Currency) -> Option<Date> {
    // By currency ordinal, built once: this runs for both sides of every conversion.
    static LAST: std::sync::LazyLock<Vec<Option<Date>>> =
        std::sync::LazyLock::new(|| Currency::all().map(last_quote_by_code).collect());
    LAST.get(currency.ordinal()).copied().flatten()
}

fn last_quote_by_code(currency: Currency) -> Option<Date> {
    let last = match currency.code() {
        "SIT" => (2006, 12, 29),
        "CYP" | "MTL" => (2007, 12, 31),
        "SKK" => (2008, 12, 31),
        "EEK" => (2010, 12, 31),
        "LVL" => (2013, 12, 31),
        "LTL" => (2014, 12, 31),
        // Suspended by the ECB on 2 March 2022.
        "RUB" => (2022, 3, 1),
        "HRK" => (2022, 12, 30),
        "BGN" => (2025, 12, 31),
        _ => return None,
    };
    Some(Date::constant(last.0, last.1, last.2))
}
