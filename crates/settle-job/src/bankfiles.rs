//! Bank statement files: camt (ISO 20022 XML), SWIFT MT940/MT942, or settle's canonical bank-entries
//! CSV, told apart by content. Used by `settle check`, `settle ingest` and the pipeline's `inputs.bank_entries`.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;
use std::sync::Arc;

use rayon::prelude::*;
use settle_core::BankEntry;
use settle_iso20022::{CamtEvent, CheckRecord, Limits, StatementChecker, cross_check, read_camt_events};
pub use settle_mt940::TextEncoding;

/// What a bank file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BankFileKind {
    Camt,
    Mt940,
    Csv,
    /// An MT940 or camt file in UTF-16 (a byte order mark, then `:20:` or `<`): refused with what to do,
    /// rather than read as XML or CSV and refused with a misleading message.
    Utf16Statement,
}

/// Tells a bank file's kind from its first bytes: `<` (after a BOM and blanks) is camt XML; a SWIFT
/// block header, `:940:` or a `:20:` field is MT940/MT942; anything else the canonical CSV.
pub fn sniff_kind(head: &[u8]) -> BankFileKind {
    let utf16 = match head {
        [0xFF, 0xFE, rest @ ..] => Some((rest, true)),
        [0xFE, 0xFF, rest @ ..] => Some((rest, false)),
        _ => None,
    };
    if let Some((rest, little)) = utf16 {
        let units = rest
            .chunks_exact(2)
            .map(|p| if little { u16::from_le_bytes([p[0], p[1]]) } else { u16::from_be_bytes([p[0], p[1]]) });
        let text: String = char::decode_utf16(units).map(|c| c.unwrap_or('\u{FFFD}')).collect();
        let trimmed = text.trim_start();
        if trimmed.starts_with('<') || settle_mt940::looks_like_mt940(trimmed.as_bytes()) {
            return BankFileKind::Utf16Statement;
        }
    }
    let body = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    if body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'<') {
        BankFileKind::Camt
    } else if settle_mt940::looks_like_mt940(head) {
        BankFileKind::Mt940
    } else {
        BankFileKind::Csv
    }
}

const UTF16_STATEMENT: &str = "a bank statement in UTF-16 (it starts with a UTF-16 byte order mark): settle reads MT940 in UTF-8 or a single-byte code page (inputs.mt940_encoding) and camt in UTF-8 or ISO-8859-1; convert it first, e.g. `iconv -f UTF-16 -t UTF-8`";

/// Why a bank file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum BankFileError {
    #[error("cannot read {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("{0}")]
    Camt(#[from] settle_iso20022::CamtError),
    #[error("{0}")]
    Csv(#[from] settle_tabular::TabularError),
    #[error("{0}")]
    Mt940(#[from] settle_mt940::Mt940Error),
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
}

/// The result of checking one file: its statements, or why it could not be read.
#[derive(Debug)]
pub struct CheckedFile {
    pub file: String,
    pub records: Vec<CheckRecord>,
    pub error: Option<BankFileError>,
}

fn open(path: &Path, name: &str) -> Result<BufReader<File>, BankFileError> {
    crate::fault::open(path)
        .map(|f| BufReader::with_capacity(1 << 16, f))
        .map_err(|source| BankFileError::Io { path: name.to_string(), source })
}

/// Checks camt files (in parallel; records in the order of `paths`, then statement order), then
/// marks statements delivered twice and chain gaps across them.
/// `encoding` is the declared text encoding of MT940 files (None: UTF-8, else by evidence).
pub fn check_files(paths: &[(String, &Path)], encoding: Option<TextEncoding>) -> Vec<CheckedFile> {
    let mut files: Vec<CheckedFile> = paths
        .par_iter()
        .map(|(name, path)| {
            let mut records = Vec::new();
            let mut head = [0u8; 512];
            // The file layer refuses what is not a regular file (a FIFO would block here); the camt
            // reader below then names the error.
            let kind = crate::fault::open(path)
                .and_then(|mut f| f.read(&mut head).map(|n| sniff_kind(&head[..n])))
                .unwrap_or(BankFileKind::Camt);
            if kind == BankFileKind::Utf16Statement {
                let error = BankFileError::Invalid { path: name.to_string(), message: UTF16_STATEMENT.into() };
                return CheckedFile { file: name.clone(), records, error: Some(error) };
            }
            if kind == BankFileKind::Mt940 {
                return match check_mt940(name, path, encoding) {
                    Ok(records) => CheckedFile { file: name.clone(), records, error: None },
                    Err(error) => CheckedFile { file: name.clone(), records: Vec::new(), error: Some(error) },
                };
            }
            // Entries are streamed into the checker: memory does not grow with the statement.
            let mut checker = StatementChecker::default();
            let result = open(path, name).and_then(|reader| {
                read_camt_events(name, reader, Limits::default(), false, &mut |event| {
                    match event {
                        CamtEvent::Entry(statement, entry) => checker.add(statement, &entry),
                        CamtEvent::Statement(statement) => {
                            let check = std::mem::take(&mut checker).finish(&statement);
                            records.push(settle_iso20022::check_record(name, &statement, &check));
                        }
                    }
                    Ok(())
                })
                .map_err(BankFileError::from)
            });
            match result {
                Ok(info) => {
                    prepend_file_warnings(&mut records, info.warnings);
                    CheckedFile { file: name.clone(), records, error: None }
                }
                Err(error) => CheckedFile { file: name.clone(), records, error: Some(error) },
            }
        })
        .collect();
    let mut all: Vec<CheckRecord> = files.iter_mut().flat_map(|f| std::mem::take(&mut f.records)).collect();
    cross_check(&mut all);
    let mut all = all.into_iter().peekable();
    for f in &mut files {
        while all.peek().is_some_and(|r| r.file == f.file) {
            f.records.push(all.next().expect("peeked"));
        }
    }
    files
}

/// File-level warnings (unknown version, encoding guess) go with the file's first record.
fn prepend_file_warnings(records: &mut [CheckRecord], warnings: Vec<String>) {
    if let Some(first) = records.first_mut() {
        first.warnings.splice(0..0, warnings);
    }
}

/// The check records of an MT940/MT942 file, one per message.
fn check_mt940(name: &str, path: &Path, encoding: Option<TextEncoding>) -> Result<Vec<CheckRecord>, BankFileError> {
    let bytes = crate::fault::read(path).map_err(|source| BankFileError::Io { path: name.to_string(), source })?;
    let mut records = Vec::new();
    let (_, warnings) = settle_mt940::read_mt940_with(name, &bytes, encoding, false, |m| {
        records.push(settle_mt940::check_record(name, &m, &settle_mt940::check_message(&m), &[]));
        Ok(())
    })?;
    prepend_file_warnings(&mut records, warnings);
    Ok(records)
}

/// Reads a bank file into canonical entries: camt (one row per entry, or per transaction detail when
/// `flatten`) or the canonical CSV layout.
pub fn read_bank_file(
    name: &str,
    path: &Path,
    flatten: bool,
    encoding: Option<TextEncoding>,
) -> Result<(BankFileKind, Vec<BankEntry>), BankFileError> {
    let mut reader = open(path, name)?;
    let mut head = [0u8; 512];
    let n = reader.read(&mut head).map_err(|source| BankFileError::Io { path: name.to_string(), source })?;
    let rest = std::io::Cursor::new(head[..n].to_vec()).chain(reader);
    read_bank_input(name, sniff_kind(&head[..n]), rest, flatten, encoding, None)
}

/// Reads bank files in parallel (rayon); rows come in the order of `paths`, then of the entries, so the
/// thread count changes nothing. The first failing file (in `paths` order) is the error.
pub fn read_bank_files(
    paths: &[(String, &Path)],
    flatten: bool,
    encoding: Option<TextEncoding>,
) -> Result<Vec<BankEntry>, BankFileError> {
    let per_file: Vec<Result<Vec<BankEntry>, BankFileError>> = paths
        .par_iter()
        .map(|(name, path)| read_bank_file(name, path, flatten, encoding).map(|(_, rows)| rows))
        .collect();
    let mut rows = Vec::new();
    for file in per_file {
        rows.extend(file?);
    }
    Ok(rows)
}

/// Reads bank entries from bytes already in memory (the pipeline hashes them for the manifest).
pub fn read_bank_bytes(
    name: &str,
    bytes: &[u8],
    flatten: bool,
    encoding: Option<TextEncoding>,
) -> Result<Vec<BankEntry>, BankFileError> {
    read_bank_input(name, sniff_kind(bytes), bytes, flatten, encoding, None).map(|(_, rows)| rows)
}

/// `read_bank_bytes` (not flattened), and the statements as `settle check` reports them (balances,
/// sums, checks): the run's cash position. The canonical CSV layout has no statements.
pub fn read_bank_statements(
    name: &str,
    bytes: &[u8],
    encoding: Option<TextEncoding>,
) -> Result<(Vec<BankEntry>, Vec<CheckRecord>), BankFileError> {
    let mut records = Vec::new();
    let (_, rows) = read_bank_input(name, sniff_kind(bytes), bytes, false, encoding, Some(&mut records))?;
    Ok((rows, records))
}

fn read_bank_input<R: Read>(
    name: &str,
    kind: BankFileKind,
    rest: R,
    flatten: bool,
    encoding: Option<TextEncoding>,
    mut records: Option<&mut Vec<CheckRecord>>,
) -> Result<(BankFileKind, Vec<BankEntry>), BankFileError> {
    match kind {
        BankFileKind::Utf16Statement => {
            Err(BankFileError::Invalid { path: name.to_string(), message: UTF16_STATEMENT.into() })
        }
        BankFileKind::Camt => {
            // Entries are streamed into canonical rows: memory holds the rows, not the document.
            let file: Arc<str> = Arc::from(name);
            let mut rows = Vec::new();
            let mut checker = StatementChecker::default();
            read_camt_events(name, rest, Limits::default(), false, &mut |event| {
                match event {
                    CamtEvent::Entry(statement, entry) => {
                        if records.is_some() {
                            checker.add(statement, &entry);
                        }
                        let undated = entry.booking_date.is_none() && entry.value_date.is_none();
                        if undated && settle_iso20022::statement_date(statement).is_none() {
                            return Err(settle_iso20022::CamtError {
                                file: name.to_string(),
                                byte: None,
                                path: entry.xml_path.clone(),
                                message: "entry without BookgDt or ValDt in a statement without a date: a bank entry needs a date"
                                    .into(),
                            });
                        }
                        if statement.account.is_none() {
                            return Err(settle_iso20022::CamtError {
                                file: name.to_string(),
                                byte: None,
                                path: statement.xml_path.clone(),
                                message: "statement without Acct/Id: a bank entry needs an account".into(),
                            });
                        }
                        if flatten {
                            settle_iso20022::flatten_entry(statement, &entry, &file, &mut rows);
                        } else {
                            rows.push(settle_iso20022::into_bank_entry(statement, entry, &file));
                        }
                    }
                    CamtEvent::Statement(statement) => {
                        if let Some(records) = records.as_deref_mut() {
                            let check = std::mem::take(&mut checker).finish(&statement);
                            records.push(settle_iso20022::check_record(name, &statement, &check));
                        }
                    }
                }
                Ok(())
            })?;
            Ok((kind, rows))
        }
        BankFileKind::Mt940 => {
            let mut bytes = Vec::new();
            let mut rest = rest;
            rest.read_to_end(&mut bytes).map_err(|source| BankFileError::Io { path: name.to_string(), source })?;
            let file: Arc<str> = Arc::from(name);
            let mut rows = Vec::new();
            let mut missing_account = None;
            settle_mt940::read_mt940_with(name, &bytes, encoding, true, |m| {
                if m.account.is_none() && missing_account.is_none() {
                    missing_account = Some(m.line);
                }
                if let Some(records) = records.as_deref_mut() {
                    records.push(settle_mt940::check_record(name, &m, &settle_mt940::check_message(&m), &[]));
                }
                rows.extend(settle_mt940::into_bank_entries(&file, m));
                Ok(())
            })?;
            if let Some(line) = missing_account {
                return Err(BankFileError::Invalid {
                    path: format!("{name}:{line}"),
                    message: "message without :25: account: a bank entry needs an account".into(),
                });
            }
            Ok((kind, rows))
        }
        BankFileKind::Csv => {
            let mut bytes = Vec::new();
            let mut rest = rest;
            rest.read_to_end(&mut bytes).map_err(|source| BankFileError::Io { path: name.to_string(), source })?;
            Ok((kind, settle_tabular::read_bank_entries(name, &bytes)?))
        }
    }
}
