//! The streaming camt.052/053/054 reader, on quick-xml's `Reader` (no serde, no DOM).
//!
//! It keeps a stack of element names (interned to `&'static str`; names it does not use become `?`),
//! collects the text of the current element, and files it by its position in the stack when the element
//! ends. A statement is handed to the caller as soon as its end tag is read, so memory holds one
//! statement (and whatever the caller keeps), whatever the file size.

use std::io::Read;

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};
use settle_core::{
    AmountFormat, Currency, Date, Decimal, DetailMore, Direction, EntryStatus, ExchangeRate, ExtraDigits, Money, Text,
    TransactionDetail, parse_amount, parse_date,
};

use crate::model::{Balance, Entry, MessageFormat, Pagination, Statement, TxSummary};
use crate::xml::{Encoding, Limits, prepare};

/// A camt file could not be read. `path` is the XML path of the element (with positions of
/// statements, entries and details), `byte` the position in the (decoded) input where known.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{file}: {}{}: {message}",
    if path.is_empty() { "/" } else { path },
    byte.map(|b| format!(" (byte {b})")).unwrap_or_default()
)]
pub struct CamtError {
    pub file: String,
    pub byte: Option<u64>,
    pub path: String,
    pub message: String,
}

/// What the reader learned about the document as a whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentInfo {
    pub format: MessageFormat,
    pub encoding: Encoding,
    pub statements: usize,
    /// Document-level warnings (unknown version, …); statement-level ones are on each statement.
    pub warnings: Vec<String>,
}

fn intern(name: &str) -> &'static str {
    macro_rules! known {
        ($($n:literal),* $(,)?) => {
            match name { $($n => $n,)* _ => "?" }
        };
    }
    known!(
        "Document",
        "BkToCstmrStmt",
        "BkToCstmrAcctRpt",
        "BkToCstmrDbtCdtNtfctn",
        "GrpHdr",
        "MsgId",
        "CreDtTm",
        "MsgPgntn",
        "StmtPgntn",
        "RptPgntn",
        "NtfctnPgntn",
        "PgNb",
        "LastPgInd",
        "Stmt",
        "Rpt",
        "Ntfctn",
        "Id",
        "ElctrncSeqNb",
        "LglSeqNb",
        "FrToDt",
        "FrDtTm",
        "ToDtTm",
        "Acct",
        "IBAN",
        "Othr",
        "Ccy",
        "Ownr",
        "Nm",
        "Svcr",
        "FinInstnId",
        "BIC",
        "BICFI",
        "Bal",
        "Tp",
        "CdOrPrtry",
        "Cd",
        "Prtry",
        "Amt",
        "CdtDbtInd",
        "Dt",
        "DtTm",
        "TxsSummry",
        "TtlNtries",
        "NbOfNtries",
        "Sum",
        "TtlNetNtryAmt",
        "TtlNetNtry",
        "TtlCdtNtries",
        "TtlDbtNtries",
        "Ntry",
        "NtryRef",
        "RvslInd",
        "Sts",
        "BookgDt",
        "ValDt",
        "AcctSvcrRef",
        "BkTxCd",
        "Domn",
        "Fmly",
        "SubFmlyCd",
        "NtryDtls",
        "Btch",
        "NbOfTxs",
        "TtlAmt",
        "TxDtls",
        "Refs",
        "PmtInfId",
        "InstrId",
        "EndToEndId",
        "TxId",
        "MndtId",
        "AmtDtls",
        "InstdAmt",
        "TxAmt",
        "CntrValAmt",
        "CcyXchg",
        "SrcCcy",
        "TrgtCcy",
        "UnitCcy",
        "XchgRate",
        "Chrgs",
        "Rcrd",
        "TtlChrgsAndTaxAmt",
        "RltdPties",
        "Dbtr",
        "Cdtr",
        "UltmtDbtr",
        "UltmtCdtr",
        "DbtrAcct",
        "CdtrAcct",
        "Pty",
        "RltdAgts",
        "DbtrAgt",
        "CdtrAgt",
        "RmtInf",
        "Ustrd",
        "Strd",
        "CdtrRefInf",
        "Ref",
        "RtrInf",
        "Rsn",
        "AddtlNtryInf",
        "AddtlTxInf",
        "Purp",
        "Ctry",
    )
}

#[derive(Default)]
struct EntryBuilder {
    index: usize,
    entry_reference: Option<String>,
    amount: Option<Decimal>,
    currency: Option<Currency>,
    direction: Option<Direction>,
    reversal: bool,
    status: Option<EntryStatus>,
    booking_date: Option<Date>,
    value_date: Option<Date>,
    account_servicer_reference: Option<String>,
    domain: Option<String>,
    family: Option<String>,
    subfamily: Option<String>,
    proprietary: Option<String>,
    batch_count: Option<u64>,
    batch_total: Option<Money>,
    charges: Option<Money>,
    total_charges: Option<Money>,
    additional_info: Option<String>,
    details: Vec<TransactionDetail>,
    detail_total_charges: Option<Money>,
    has_bank_code: bool,
}

#[derive(Default)]
struct BalanceBuilder {
    code: Option<String>,
    amount: Option<Money>,
    direction: Option<Direction>,
    date: Option<Date>,
}

struct Parser<'f> {
    file: &'f str,
    limits: Limits,
    /// Keep entries in their statement (false: hand each to the caller as it ends).
    keep_entries: bool,
    stack: Vec<&'static str>,
    text: String,
    /// `Ccy` attribute of the element being read.
    ccy: Option<Currency>,
    format: Option<MessageFormat>,
    warnings: Vec<String>,
    message_id: Option<String>,
    message_created: Option<String>,
    message_page: Option<Pagination>,
    statement: Option<Statement>,
    statements: usize,
    entry: Option<EntryBuilder>,
    detail: Option<TransactionDetail>,
    details_in_entry: usize,
    entries_in_statement: usize,
    balance: Option<BalanceBuilder>,
    summary: Option<TxSummary>,
    summary_net_direction: Option<Direction>,
    byte: u64,
}

fn parse_direction(text: &str) -> Option<Direction> {
    match text {
        "CRDT" => Some(Direction::Credit),
        "DBIT" => Some(Direction::Debit),
        _ => None,
    }
}

fn set<T: for<'a> From<&'a str>>(slot: &mut Option<T>, text: &str) {
    if slot.is_none() && !text.is_empty() {
        *slot = Some(T::from(text));
    }
}

/// `set` on one of the detail's less common fields: the box is made only when there is text.
fn set_more(d: &mut TransactionDetail, text: &str, field: impl FnOnce(&mut DetailMore) -> &mut Option<Text>) {
    if !text.is_empty() {
        set(field(d.more_mut()), text);
    }
}

fn add_money(slot: &mut Option<Money>, money: Money) {
    *slot = Some(match slot.take() {
        Some(total) => total.checked_add(&money).unwrap_or(total),
        None => money,
    });
}

impl<'f> Parser<'f> {
    fn error(&self, message: impl Into<String>) -> CamtError {
        CamtError { file: self.file.to_string(), byte: Some(self.byte), path: self.path(), message: message.into() }
    }

    /// The XML path of the current element, with positions of statements, entries and details.
    fn path(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::with_capacity(96);
        let mut unknown_run = 0usize;
        for (at, name) in self.stack.iter().enumerate() {
            // Elements the reader does not know are `?`; a run of them (deep nesting) is `?×N`.
            if *name == "?" {
                unknown_run += 1;
                if self.stack.get(at + 1) == Some(&"?") {
                    continue;
                }
                out.push_str("/?");
                if unknown_run > 1 {
                    let _ = write!(out, "×{unknown_run}");
                }
                unknown_run = 0;
                continue;
            }
            out.push('/');
            out.push_str(name);
            let index = match *name {
                "Stmt" | "Rpt" | "Ntfctn" => Some(self.statements),
                "Ntry" => self.entry.as_ref().map(|e| e.index),
                "TxDtls" => Some(self.details_in_entry),
                _ => None,
            };
            if let Some(i) = index {
                let _ = write!(out, "[{i}]");
            }
        }
        out
    }

    fn ends_with(&self, tail: &[&str]) -> bool {
        self.stack.len() >= tail.len() && self.stack[self.stack.len() - tail.len()..] == *tail
    }

    fn parent(&self) -> &'static str {
        self.stack.len().checked_sub(2).map_or("", |i| self.stack[i])
    }

    fn grandparent(&self) -> &'static str {
        self.stack.len().checked_sub(3).map_or("", |i| self.stack[i])
    }

    fn has_ancestor(&self, name: &str) -> bool {
        self.stack.iter().rev().skip(1).any(|n| *n == name)
    }

    fn warn(&mut self, message: String) {
        match &mut self.statement {
            Some(s) if s.warnings.len() < 100 => s.warnings.push(message),
            Some(_) => {}
            None if self.warnings.len() < 100 => self.warnings.push(message),
            None => {}
        }
    }

    fn money(&mut self, text: &str) -> Result<Money, CamtError> {
        let currency = self.ccy.ok_or_else(|| self.error("amount without a Ccy attribute"))?;
        let money = parse_amount(text, AmountFormat::POINT, currency, ExtraDigits::Allow)
            .map_err(|e| self.error(e.to_string()))?;
        if money.amount().is_sign_negative() && !money.is_zero() {
            return Err(
                self.error(format!("negative amount {text:?}: camt amounts are unsigned (the sign is CdtDbtInd)"))
            );
        }
        if let Some(units) = currency.minor_units()
            && money.amount().scale() > u32::from(units)
            && money.amount().normalize().scale() > u32::from(units)
        {
            let path = self.path();
            self.warn(format!("{path}: {text} has more fraction digits than {currency}'s {units} minor units"));
        }
        Ok(money)
    }

    fn decimal(&self, text: &str) -> Result<Decimal, CamtError> {
        settle_core::parse_decimal(text).map_err(|e| self.error(e.to_string()))
    }

    fn count(&self, text: &str) -> Result<u64, CamtError> {
        text.parse().map_err(|_| self.error(format!("{text:?} is not a count: expected digits")))
    }

    fn date(&self, text: &str) -> Result<Date, CamtError> {
        // xs:date may carry a zone (2019-04-24+02:00) and DtTm a time: the calendar date is the first ten.
        let day = text.get(..10).unwrap_or(text);
        parse_date(day).map_err(|e| self.error(e.to_string()))
    }

    fn currency(&self, text: &str) -> Result<Currency, CamtError> {
        Currency::from_code(text).map_err(|e| self.error(e.to_string()))
    }

    fn start(&mut self, e: &BytesStart<'_>) -> Result<(), CamtError> {
        let name = intern(e.local_name().as_ref());
        self.stack.push(name);
        self.text.clear();
        if self.stack.len() > self.limits.max_depth {
            return Err(self.error(format!("elements nested deeper than {} levels", self.limits.max_depth)));
        }
        self.ccy = None;
        if e.attributes_raw().contains("Ccy") {
            for attr in e.attributes() {
                let attr = attr.map_err(|err| self.error(format!("malformed attribute: {err}")))?;
                if attr.key.local_name().as_ref() == "Ccy" {
                    let value = attr
                        .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                        .map_err(|err| self.error(err.to_string()))?;
                    self.ccy = Some(self.currency(value.trim())?);
                }
            }
        }
        if self.stack.len() == 1 {
            return self.root(e);
        }
        if self.stack.len() == 2 {
            let format = self.format.expect("root checked");
            if name != format.kind.root_element() {
                return Err(
                    self.error(format!("expected <{}> under <Document> for {format}", format.kind.root_element()))
                );
            }
            return Ok(());
        }
        let format = self.format.expect("root checked");
        match name {
            _ if self.stack.len() == 3 && name == format.kind.statement_element() => {
                self.statements += 1;
                self.entries_in_statement = 0;
                self.statement = Some(Statement {
                    format,
                    message_id: self.message_id.clone(),
                    message_created: self.message_created.clone(),
                    message_page: self.message_page.clone(),
                    statement_id: None,
                    statement_page: None,
                    electronic_sequence: None,
                    legal_sequence: None,
                    created: None,
                    from: None,
                    to: None,
                    account: None,
                    account_currency: None,
                    owner: None,
                    servicer_bic: None,
                    balances: Vec::new(),
                    summary: None,
                    entries: Vec::new(),
                    xml_path: String::new(),
                    warnings: Vec::new(),
                });
                let path = self.path();
                self.statement.as_mut().expect("just set").xml_path = path;
            }
            "Ntry" if self.statement.is_some() && self.stack.len() == 4 => {
                self.entries_in_statement += 1;
                let index = self.entries_in_statement;
                self.entry = Some(EntryBuilder { index, ..EntryBuilder::default() });
                self.details_in_entry = 0;
            }
            "BkTxCd" if self.detail.is_none() => {
                if let Some(e) = self.entry.as_mut() {
                    e.has_bank_code = true;
                }
            }
            "TxDtls" if self.entry.is_some() => {
                self.details_in_entry += 1;
                self.detail = Some(TransactionDetail::default());
            }
            "Bal" if self.statement.is_some() && self.entry.is_none() => self.balance = Some(BalanceBuilder::default()),
            "TxsSummry" if self.statement.is_some() && self.entry.is_none() => {
                self.summary = Some(TxSummary::default())
            }
            _ => {}
        }
        Ok(())
    }

    fn root(&mut self, e: &BytesStart<'_>) -> Result<(), CamtError> {
        if self.stack[0] != "Document" {
            return Err(self.error(format!(
                "root element <{}>: expected <Document> of a camt.052, camt.053 or camt.054 message",
                e.name().as_ref()
            )));
        }
        let mut namespaces = Vec::new();
        for attr in e.attributes() {
            let attr = attr.map_err(|err| self.error(format!("malformed attribute: {err}")))?;
            let key = attr.key.as_ref();
            if key == "xmlns" || key.starts_with("xmlns:") {
                namespaces.push(
                    attr.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                        .map_err(|err| self.error(err.to_string()))?
                        .into_owned(),
                );
            }
        }
        let format = namespaces.iter().find_map(|ns| MessageFormat::from_namespace(ns)).ok_or_else(|| {
            let found = namespaces
                .iter()
                .find(|ns| ns.starts_with("urn:iso:std:iso:20022"))
                .cloned()
                .unwrap_or_else(|| "none".into());
            self.error(format!("namespace {found}: expected urn:iso:std:iso:20022:tech:xsd:camt.052/053/054.001.NN"))
        })?;
        if !MessageFormat::KNOWN_VERSIONS.contains(&format.version) {
            self.warnings.push(format!(
                "{format} is not a version this reader knows (.02 to .13): read as the nearest known layout"
            ));
        }
        self.format = Some(format);
        Ok(())
    }

    /// Ends the current element; returns a finished entry when entries are streamed.
    fn end(&mut self) -> Result<Option<Entry>, CamtError> {
        let text = std::mem::take(&mut self.text);
        let result = self.file_text(text.trim());
        self.text = text;
        self.text.clear();
        result?;
        let name = *self.stack.last().expect("an end has a start");
        if self.detail.is_some() && name == "TxDtls" {
            let detail = self.detail.take().expect("checked");
            if let Some(entry) = self.entry.as_mut() {
                entry.details.push(detail);
            }
        } else if self.entry.is_some() && name == "Ntry" && self.stack.len() == 4 {
            let entry = self.finish_entry()?;
            if !self.keep_entries {
                self.stack.pop();
                return Ok(Some(entry));
            }
            self.statement.as_mut().expect("entry inside statement").entries.push(entry);
        } else if self.balance.is_some() && name == "Bal" {
            let balance = self.balance.take().expect("checked");
            let code = balance.code.ok_or_else(|| self.error("balance without Tp/CdOrPrtry/Cd"))?;
            let mut amount = balance.amount.ok_or_else(|| self.error("balance without Amt"))?;
            match balance.direction {
                Some(Direction::Debit) => amount = amount.neg(),
                Some(Direction::Credit) => {}
                None => {
                    let path = self.path();
                    self.warn(format!(
                        "{path}: balance {code} without CdtDbtInd (schema violation): read as a credit balance"
                    ));
                }
            }
            self.statement.as_mut().expect("balance inside statement").balances.push(Balance {
                code,
                amount,
                date: balance.date,
            });
        } else if self.summary.is_some() && name == "TxsSummry" {
            let mut summary = self.summary.take().expect("checked");
            if let (Some(net), Some(Direction::Debit)) = (summary.net, self.summary_net_direction.take()) {
                summary.net = Some(-net);
            }
            self.statement.as_mut().expect("summary inside statement").summary = Some(summary);
        }
        self.stack.pop();
        Ok(None)
    }

    fn finish_entry(&mut self) -> Result<Entry, CamtError> {
        let path = self.path();
        let b = self.entry.take().expect("checked");
        let amount = b.amount.ok_or_else(|| self.error("entry without Amt"))?;
        let currency = b.currency.ok_or_else(|| self.error("entry Amt without Ccy"))?;
        let direction = b.direction.ok_or_else(|| self.error("entry without CdtDbtInd: expected CRDT or DBIT"))?;
        if !b.has_bank_code {
            self.warn(format!("{path}: entry without BkTxCd (schema violation)"));
        }
        let status = match b.status {
            Some(s) => s,
            None => {
                self.warn(format!("{path}: entry without Sts (schema violation): read as booked"));
                EntryStatus::Booked
            }
        };
        let bank_transaction_code = match (b.domain, b.family, b.subfamily, b.proprietary) {
            (Some(d), f, s, _) => Some([Some(d), f, s].into_iter().flatten().collect::<Vec<_>>().join("/")),
            (None, _, _, p) => p,
        };
        Ok(Entry {
            index: b.index,
            entry_reference: b.entry_reference,
            amount: Money::new(amount, currency),
            direction,
            reversal: b.reversal,
            status,
            booking_date: b.booking_date,
            value_date: b.value_date,
            account_servicer_reference: b.account_servicer_reference,
            bank_transaction_code,
            batch_count: b.batch_count,
            batch_total: b.batch_total,
            charges: b.total_charges.or(b.charges),
            additional_info: b.additional_info,
            details: b.details,
            xml_path: path,
        })
    }

    /// Schema patterns that banks get wrong: reported as warnings, the value is still read.
    fn check_pattern(&mut self, name: &str, text: &str) {
        let upper_alnum = |b: &u8| b.is_ascii_uppercase() || b.is_ascii_digit();
        let bytes = text.as_bytes();
        let ok = match name {
            "IBAN" => {
                bytes.len() >= 5
                    && bytes.len() <= 34
                    && bytes[..2].iter().all(u8::is_ascii_uppercase)
                    && bytes[2..4].iter().all(u8::is_ascii_digit)
                    && bytes[4..].iter().all(u8::is_ascii_alphanumeric)
            }
            "BIC" | "BICFI" => {
                (bytes.len() == 8 || bytes.len() == 11)
                    && bytes[..4].iter().all(upper_alnum)
                    && bytes[4..6].iter().all(u8::is_ascii_uppercase)
                    && bytes[6..].iter().all(upper_alnum)
            }
            "Ctry" => bytes.len() == 2 && bytes.iter().all(u8::is_ascii_uppercase),
            _ => true,
        };
        if !ok {
            let path = self.path();
            self.warn(format!("{path}: {text:?} does not match the schema's pattern for {name}"));
        }
    }

    /// Files the text of the element that is ending by where it stands.
    fn file_text(&mut self, text: &str) -> Result<(), CamtError> {
        // Control and invisible characters (a zero-width space in an EndToEndId, a right-to-left
        // override in a name) would make a text look like another: removed, with a warning.
        let visible = settle_core::text::without_hidden(text, false);
        if let std::borrow::Cow::Owned(_) = &visible {
            let removed: Vec<String> = text
                .chars()
                .filter(|&c| settle_core::text::is_hidden_or_control(c))
                .take(8)
                .map(|c| format!("U+{:04X}", u32::from(c)))
                .collect();
            let path = self.path();
            self.warn(format!(
                "{path}: removed {} (invisible or control characters) from the text",
                removed.join(", ")
            ));
        }
        let text = visible.as_ref();
        let name = *self.stack.last().expect("an end has a start");
        if matches!(name, "IBAN" | "BIC" | "BICFI" | "Ctry") {
            self.check_pattern(name, text);
        }
        let parent = self.parent();
        let grandparent = self.grandparent();
        if self.detail.is_some() {
            return self.detail_text(name, parent, grandparent, text);
        }
        if self.entry.is_some() {
            return self.entry_text(name, parent, grandparent, text);
        }
        if self.balance.is_some() {
            let money = if name == "Amt" && parent == "Bal" { Some(self.money(text)?) } else { None };
            let date = if parent == "Dt" && (name == "Dt" || name == "DtTm") { Some(self.date(text)?) } else { None };
            let b = self.balance.as_mut().expect("checked");
            match (name, parent) {
                ("Cd" | "Prtry", "CdOrPrtry") => set(&mut b.code, text),
                ("Cd", "Tp") => set(&mut b.code, text),
                ("Amt", "Bal") => b.amount = money,
                ("CdtDbtInd", "Bal") => b.direction = parse_direction(text),
                (_, "Dt") if date.is_some() => b.date = date,
                _ => {}
            }
            return Ok(());
        }
        if self.summary.is_some() {
            let in_group = matches!(parent, "TtlNtries" | "TtlCdtNtries" | "TtlDbtNtries");
            let count = if name == "NbOfNtries" && in_group { Some(self.count(text)?) } else { None };
            let value = if (name == "Sum" && in_group)
                || name == "TtlNetNtryAmt"
                || (name == "Amt" && parent == "TtlNetNtry")
            {
                Some(self.decimal(text)?)
            } else {
                None
            };
            let Some(s) = self.summary.as_mut() else { return Ok(()) };
            match (name, parent) {
                ("NbOfNtries", "TtlNtries") => s.total_count = count,
                ("Sum", "TtlNtries") => s.total_sum = value,
                ("TtlNetNtryAmt", "TtlNtries") | ("Amt", "TtlNetNtry") => s.net = value,
                ("CdtDbtInd", "TtlNtries" | "TtlNetNtry") => self.summary_net_direction = parse_direction(text),
                ("NbOfNtries", "TtlCdtNtries") => s.credit_count = count,
                ("Sum", "TtlCdtNtries") => s.credit_sum = value,
                ("NbOfNtries", "TtlDbtNtries") => s.debit_count = count,
                ("Sum", "TtlDbtNtries") => s.debit_sum = value,
                _ => {}
            }
            return Ok(());
        }
        if self.statement.is_some() {
            let is_statement = |n: &str| matches!(n, "Stmt" | "Rpt" | "Ntfctn");
            let currency = if name == "Ccy" && parent == "Acct" { Some(self.currency(text)?) } else { None };
            let in_account_id =
                self.ends_with(&["Acct", "Id", "IBAN"]) || self.ends_with(&["Acct", "Id", "Othr", "Id"]);
            let in_servicer = self.has_ancestor("Svcr") && parent == "FinInstnId";
            let in_owner = parent == "Ownr" || (parent == "Pty" && grandparent == "Ownr");
            let Some(s) = self.statement.as_mut() else { return Ok(()) };
            match (name, parent) {
                ("Id", p) if is_statement(p) => set(&mut s.statement_id, text),
                ("ElctrncSeqNb", p) if is_statement(p) => set(&mut s.electronic_sequence, text),
                ("LglSeqNb", p) if is_statement(p) => set(&mut s.legal_sequence, text),
                ("CreDtTm", p) if is_statement(p) => set(&mut s.created, text),
                ("FrDtTm", "FrToDt") => set(&mut s.from, text),
                ("ToDtTm", "FrToDt") => set(&mut s.to, text),
                ("Ccy", "Acct") => s.account_currency = currency,
                ("Nm", _) if in_owner => set(&mut s.owner, text),
                ("BIC" | "BICFI", _) if in_servicer => set(&mut s.servicer_bic, text),
                ("PgNb", "StmtPgntn" | "RptPgntn" | "NtfctnPgntn") => {
                    s.statement_page.get_or_insert_with(Pagination::default).page = Some(text.to_string());
                }
                ("LastPgInd", "StmtPgntn" | "RptPgntn" | "NtfctnPgntn") => {
                    s.statement_page.get_or_insert_with(Pagination::default).last_page =
                        Some(text == "true" || text == "1");
                }
                _ if in_account_id => set(&mut s.account, text),
                _ => {}
            }
            return Ok(());
        }
        if self.has_ancestor("GrpHdr") {
            match (name, parent) {
                ("MsgId", "GrpHdr") => set(&mut self.message_id, text),
                ("CreDtTm", "GrpHdr") => set(&mut self.message_created, text),
                ("PgNb", "MsgPgntn") => {
                    self.message_page.get_or_insert_with(Pagination::default).page = Some(text.to_string())
                }
                ("LastPgInd", "MsgPgntn") => {
                    self.message_page.get_or_insert_with(Pagination::default).last_page =
                        Some(text == "true" || text == "1");
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn entry_text(&mut self, name: &str, parent: &str, grandparent: &str, text: &str) -> Result<(), CamtError> {
        let is_money = matches!((name, parent), ("Amt", "Ntry") | ("TtlAmt", "Btch") | ("TtlChrgsAndTaxAmt", "Chrgs"))
            || (name == "Amt" && self.has_ancestor("Chrgs"));
        let money = if is_money { Some(self.money(text)?) } else { None };
        let date = if matches!(parent, "BookgDt" | "ValDt") && matches!(name, "Dt" | "DtTm") {
            Some(self.date(text)?)
        } else {
            None
        };
        let count = if name == "NbOfTxs" && parent == "Btch" { Some(self.count(text)?) } else { None };
        let status = if ((name == "Sts" && parent == "Ntry") || (name == "Cd" && parent == "Sts")) && !text.is_empty() {
            Some(
                EntryStatus::parse(text)
                    .ok_or_else(|| self.error(format!("status {text:?}: expected BOOK, PDNG or INFO")))?,
            )
        } else {
            None
        };
        let direction = if name == "CdtDbtInd" && parent == "Ntry" {
            Some(
                parse_direction(text)
                    .ok_or_else(|| self.error(format!("CdtDbtInd {text:?}: expected CRDT or DBIT")))?,
            )
        } else {
            None
        };
        let ccy = self.ccy;
        let e = self.entry.as_mut().expect("checked");
        match (name, parent) {
            ("NtryRef", "Ntry") => set(&mut e.entry_reference, text),
            ("Amt", "Ntry") => {
                e.amount = money.map(|m| m.amount());
                e.currency = ccy;
            }
            ("CdtDbtInd", "Ntry") => e.direction = direction,
            ("RvslInd", "Ntry") => e.reversal = text == "true" || text == "1",
            ("Sts", "Ntry") | ("Cd", "Sts") if status.is_some() => e.status = status,
            (_, "BookgDt") if date.is_some() => e.booking_date = date,
            (_, "ValDt") if date.is_some() => e.value_date = date,
            ("AcctSvcrRef", "Ntry") => set(&mut e.account_servicer_reference, text),
            ("Cd", "Domn") => set(&mut e.domain, text),
            ("Cd", "Fmly") => set(&mut e.family, text),
            ("SubFmlyCd", "Fmly") => set(&mut e.subfamily, text),
            ("Cd", "Prtry") if grandparent == "BkTxCd" => set(&mut e.proprietary, text),
            ("NbOfTxs", "Btch") => e.batch_count = count,
            ("TtlAmt", "Btch") => e.batch_total = money,
            ("TtlChrgsAndTaxAmt", "Chrgs") => e.total_charges = money,
            ("Amt", _) if money.is_some() => add_money(&mut e.charges, money.expect("checked")),
            ("AddtlNtryInf", "Ntry") => set(&mut e.additional_info, text),
            _ => {}
        }
        Ok(())
    }

    fn detail_text(&mut self, name: &str, parent: &str, grandparent: &str, text: &str) -> Result<(), CamtError> {
        let in_charges = self.has_ancestor("Chrgs");
        let is_money = name == "Amt" || name == "TtlChrgsAndTaxAmt";
        let money = if is_money && self.ccy.is_some() { Some(self.money(text)?) } else { None };
        let in_ccy_xchg = parent == "CcyXchg";
        let ccy_value = if in_ccy_xchg && matches!(name, "SrcCcy" | "TrgtCcy" | "UnitCcy") {
            Some(self.currency(text)?)
        } else {
            None
        };
        let rate = if in_ccy_xchg && name == "XchgRate" { Some(self.decimal(text)?) } else { None };
        // The party an element belongs to: the nearest party, account or agent ancestor.
        let party = self
            .stack
            .iter()
            .rev()
            .skip(1)
            .find(|n| {
                matches!(
                    **n,
                    "Dbtr" | "Cdtr" | "UltmtDbtr" | "UltmtCdtr" | "DbtrAcct" | "CdtrAcct" | "DbtrAgt" | "CdtrAgt"
                )
            })
            .copied();
        let direct_party_name =
            name == "Nm" && (matches!(parent, "Dbtr" | "Cdtr" | "UltmtDbtr" | "UltmtCdtr") || parent == "Pty");
        let account_id = self.ends_with(&["Id", "IBAN"]) || self.ends_with(&["Id", "Othr", "Id"]);
        let d = self.detail.as_mut().expect("checked");
        // Set when this Ustrd is the one that reaches REMITTANCE_CHARS_MAX: the reader says so once.
        let mut cut = false;
        if in_charges {
            if let Some(m) = money {
                if name == "TtlChrgsAndTaxAmt" {
                    if let Some(entry) = self.entry.as_mut() {
                        entry.detail_total_charges = Some(m);
                    }
                    d.more_mut().charges = Some(m);
                } else if parent == "Rcrd" || parent == "Chrgs" {
                    add_money(&mut d.more_mut().charges, m);
                }
            }
            return Ok(());
        }
        match (name, parent) {
            ("MsgId", "Refs") => set_more(d, text, |m| &mut m.message_id),
            ("PmtInfId", "Refs") => set_more(d, text, |m| &mut m.payment_information_id),
            ("InstrId", "Refs") => set(&mut d.instruction_id, text),
            ("EndToEndId", "Refs") => set(&mut d.end_to_end_id, text),
            ("TxId", "Refs") => set_more(d, text, |m| &mut m.transaction_id),
            ("MndtId", "Refs") => set(&mut d.mandate_id, text),
            ("AcctSvcrRef", "Refs") => set_more(d, text, |m| &mut m.account_servicer_reference),
            ("Amt", "TxDtls") if money.is_some() => d.more_mut().amount = money,
            ("Amt", "TxAmt") if money.is_some() && d.more().amount.is_none() => d.more_mut().amount = money,
            ("Amt", "InstdAmt") if money.is_some() => d.more_mut().instructed_amount = money,
            ("Amt", "CntrValAmt") if money.is_some() => d.more_mut().counter_value_amount = money,
            ("CdtDbtInd", "TxDtls") => {
                if let Some(direction) = parse_direction(text) {
                    d.more_mut().direction = Some(direction);
                }
            }
            (_, "CcyXchg") => {
                let x = d.more_mut().exchange.get_or_insert(ExchangeRate {
                    source_currency: None,
                    target_currency: None,
                    unit_currency: None,
                    rate: None,
                });
                match name {
                    "SrcCcy" => x.source_currency = x.source_currency.or(ccy_value),
                    "TrgtCcy" => x.target_currency = x.target_currency.or(ccy_value),
                    "UnitCcy" => x.unit_currency = x.unit_currency.or(ccy_value),
                    "XchgRate" => x.rate = x.rate.or(rate),
                    _ => {}
                }
            }
            ("Nm", _) if direct_party_name => match party {
                Some("Dbtr") => set(&mut d.debtor_name, text),
                Some("Cdtr") => set(&mut d.creditor_name, text),
                Some("UltmtDbtr") => set_more(d, text, |m| &mut m.ultimate_debtor),
                Some("UltmtCdtr") => set_more(d, text, |m| &mut m.ultimate_creditor),
                _ => {}
            },
            (_, _) if account_id && party == Some("DbtrAcct") => set(&mut d.debtor_account, text),
            (_, _) if account_id && party == Some("CdtrAcct") => set(&mut d.creditor_account, text),
            ("BIC" | "BICFI", "FinInstnId") => match party {
                Some("DbtrAgt") => set(&mut d.debtor_agent_bic, text),
                Some("CdtrAgt") => set(&mut d.creditor_agent_bic, text),
                _ => {}
            },
            ("Cd", "Purp") => set(&mut d.purpose_code, text),
            ("Ustrd", "RmtInf") if !text.is_empty() => {
                cut = append_remittance(&mut d.remittance_info, text);
            }
            ("Ref", "CdtrRefInf") => set_more(d, text, |m| &mut m.creditor_reference),
            ("Cd" | "Prtry", "Rsn") if grandparent == "RtrInf" => set(&mut d.return_reason, text),
            ("AddtlTxInf", "TxDtls") => set(&mut d.additional_info, text),
            _ => {}
        }
        if cut {
            let path = self.path();
            self.warn(format!(
                "{path}: the unstructured remittance text is longer than {REMITTANCE_CHARS_MAX} characters: the first {REMITTANCE_CHARS_MAX} are kept"
            ));
        }
        Ok(())
    }
}

/// The most of an entry's unstructured remittance text (its `Ustrd` lines, joined with a space) that is
/// kept: ISO 20022 allows 140 characters per `Ustrd`, SEPA one `Ustrd`, the other schemes (CBPR+,
/// Fedwire, ACH) up to nine or ten; ten lines of 140 is more than any scheme sends, and a hostile file's
/// ten thousand lines never reach a carry file or the report.
pub const REMITTANCE_CHARS_MAX: usize = 1_400;

/// Appends a `Ustrd` to the remittance text, up to `REMITTANCE_CHARS_MAX` characters; true when this
/// line is the one cut (the text was shorter than the bound before it).
fn append_remittance(remittance: &mut Option<settle_core::Text>, text: &str) -> bool {
    let r = remittance.get_or_insert_with(settle_core::Text::default);
    let had = r.chars().count();
    if had >= REMITTANCE_CHARS_MAX {
        return false;
    }
    let room = if had == 0 { REMITTANCE_CHARS_MAX } else { REMITTANCE_CHARS_MAX - had - 1 };
    if had > 0 && room > 0 {
        r.push(' ');
    }
    let kept: String = text.chars().take(room).collect();
    r.push_str(&kept);
    kept.chars().count() < text.chars().count() || (had > 0 && room == 0)
}

/// What the streaming reader hands to its caller. Events are moved once into the callback and never
/// stored side by side, so the size of the entry variant costs nothing (hence the allowed lint).
#[allow(clippy::large_enum_variant)]
pub enum CamtEvent<'a> {
    /// An entry, as soon as it ends, with the head of its statement (ids, account, balances, summary;
    /// `entries` empty). Only when entries are streamed.
    Entry(&'a Statement, Entry),
    /// A statement (report, notification) as soon as it ends: with its entries when they are kept,
    /// without them when they were streamed.
    Statement(Box<Statement>),
}

/// Reads a camt.052/053/054 document from `input`, handing each statement (report, notification) to
/// `on_statement` as soon as it is complete, with its entries. `file` names the input in errors.
pub fn read_camt<R: Read>(
    file: &str,
    input: R,
    limits: Limits,
    on_statement: &mut dyn FnMut(Statement) -> Result<(), CamtError>,
) -> Result<DocumentInfo, CamtError> {
    read_camt_events(file, input, limits, true, &mut |event| match event {
        CamtEvent::Statement(s) => on_statement(*s),
        CamtEvent::Entry(..) => Ok(()),
    })
}

/// The streaming reader. With `keep_entries` false, each entry is handed over as it ends and
/// statements come without entries: memory does not grow with the number of entries.
pub fn read_camt_events<R: Read>(
    file: &str,
    input: R,
    limits: Limits,
    keep_entries: bool,
    on_event: &mut dyn FnMut(CamtEvent<'_>) -> Result<(), CamtError>,
) -> Result<DocumentInfo, CamtError> {
    let fail = |message: String| CamtError { file: file.to_string(), byte: None, path: "/".into(), message };
    let (encoding, buffered) = prepare(input, limits).map_err(fail)?;
    let mut reader = Reader::from_reader(buffered);
    reader.config_mut().check_end_names = true;
    let mut parser = Parser {
        file,
        limits,
        keep_entries,
        stack: Vec::with_capacity(32),
        text: String::new(),
        ccy: None,
        format: None,
        warnings: Vec::new(),
        message_id: None,
        message_created: None,
        message_page: None,
        statement: None,
        statements: 0,
        entry: None,
        detail: None,
        details_in_entry: 0,
        entries_in_statement: 0,
        balance: None,
        summary: None,
        summary_net_direction: None,
        byte: 0,
    };
    let mut buf = Vec::with_capacity(4096);
    loop {
        parser.byte = reader.buffer_position();
        let event = match reader.read_event_into(&mut buf) {
            Ok(event) => event,
            Err(err) => {
                let mut e = parser.error(crate::xml::read_error_message(&err));
                e.byte = Some(reader.error_position());
                return Err(e);
            }
        };
        match event {
            Event::Start(e) => parser.start(&e)?,
            Event::Empty(e) => {
                parser.start(&e)?;
                if let Some(entry) = parser.end()? {
                    on_event(CamtEvent::Entry(parser.statement.as_ref().expect("entry inside statement"), entry))?;
                }
            }
            Event::End(_) => {
                let closing_statement = parser.stack.len() == 3
                    && parser.format.is_some_and(|f| parser.stack[2] == f.kind.statement_element());
                if let Some(entry) = parser.end()? {
                    on_event(CamtEvent::Entry(parser.statement.as_ref().expect("entry inside statement"), entry))?;
                }
                if closing_statement && let Some(statement) = parser.statement.take() {
                    on_event(CamtEvent::Statement(Box::new(statement)))?;
                }
            }
            Event::Text(t) => {
                if parser.stack.is_empty() {
                    if !t.xml10_content().trim().is_empty() {
                        return Err(parser.error("text outside the root element"));
                    }
                } else {
                    parser.text.push_str(&t.xml10_content());
                }
            }
            Event::CData(t) => parser.text.push_str(&t.xml10_content()),
            Event::GeneralRef(r) => {
                let ch = crate::xml::resolve_reference(&r).map_err(|message| parser.error(message))?;
                parser.text.extend(ch);
            }
            Event::DocType(_) => {
                return Err(parser
                    .error("DOCTYPE declarations are refused (they enable entity expansion and external entities)"));
            }
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::Eof => break,
        }
        buf.clear();
    }
    let format = parser.format.ok_or_else(|| CamtError {
        file: file.to_string(),
        byte: None,
        path: "/".into(),
        message: "empty document: expected a camt.052, camt.053 or camt.054 <Document>".into(),
    })?;
    if !parser.stack.is_empty() {
        return Err(parser.error("the document ends inside an element"));
    }
    Ok(DocumentInfo { format, encoding, statements: parser.statements, warnings: parser.warnings })
}

/// Reads a whole document and returns its statements (for files that fit in memory).
pub fn read_camt_all<R: Read>(
    file: &str,
    input: R,
    limits: Limits,
) -> Result<(DocumentInfo, Vec<Statement>), CamtError> {
    let mut statements = Vec::new();
    let info = read_camt(file, input, limits, &mut |s| {
        statements.push(s);
        Ok(())
    })?;
    Ok((info, statements))
}
