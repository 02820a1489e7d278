//! pain.001 (customer credit transfer initiation) writer: versions .09 (default) and .03, in each
//! version's schema element order, with `NbOfTxs` and `CtrlSum` at group and batch level.
//!
//! The writer is pure and deterministic: the creation time is an argument (a run derives it from its
//! business date), ids are the caller's, batches and transfers are written in the order given. It
//! refuses what a bank would reject on the file's form (empty or over-long ids, amounts not above zero
//! or with more decimals than the currency has, malformed IBAN/BIC/country codes, texts over the
//! schema's lengths); whether a payout should be paid at all is settle-payout's business.
//!
//! `Charset::SepaLatin` restricts texts to the EPC's Latin subset (`a–z A–Z 0–9 / - ? : ( ) . , ' +`
//! and space): letters with diacritics lose them (`é` → `e`, `ß` → `ss`, `Æ` → `AE`), `&` becomes `+`,
//! anything else `.`; every change is returned so the run can log it. Ids are never transliterated: an
//! id outside the subset is an error.

use std::fmt::Write as _;

use settle_core::{Currency, Date, Decimal, Money, format_minor};

use crate::write::escape_into;

/// Which pain.001 the bank takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Pain001Version {
    /// pain.001.001.03 (2009), still the most widely accepted SEPA version.
    V03,
    /// pain.001.001.09 (2019).
    V09,
}

impl Pain001Version {
    pub fn namespace(self) -> &'static str {
        match self {
            Pain001Version::V03 => "urn:iso:std:iso:20022:tech:xsd:pain.001.001.03",
            Pain001Version::V09 => "urn:iso:std:iso:20022:tech:xsd:pain.001.001.09",
        }
    }

    pub fn parse(text: &str) -> Option<Pain001Version> {
        match text {
            "pain.001.001.03" | "03" | "3" => Some(Pain001Version::V03),
            "pain.001.001.09" | "09" | "9" => Some(Pain001Version::V09),
            _ => None,
        }
    }
}

/// The characters a file may hold in its texts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Charset {
    /// Any Unicode (UTF-8) but control and invisible characters (`settle_core::text::is_hidden_or_control`),
    /// which are removed (and reported as a change); XML's own characters are escaped.
    Utf8,
    /// The EPC SEPA Latin subset, with transliteration (see the module docs).
    SepaLatin,
}

/// Who bears the charges of a transfer (`ChrgBr`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChargeBearer {
    /// `SLEV`: per the service level (SEPA).
    ServiceLevel,
    /// `SHAR`: shared.
    Shared,
    /// `DEBT`: the debtor (we) pay all charges.
    Debtor,
    /// `CRED`: the creditor pays all charges.
    Creditor,
}

impl ChargeBearer {
    pub fn code(self) -> &'static str {
        match self {
            ChargeBearer::ServiceLevel => "SLEV",
            ChargeBearer::Shared => "SHAR",
            ChargeBearer::Debtor => "DEBT",
            ChargeBearer::Creditor => "CRED",
        }
    }

    pub fn parse(code: &str) -> Option<ChargeBearer> {
        match code {
            "SLEV" => Some(ChargeBearer::ServiceLevel),
            "SHAR" => Some(ChargeBearer::Shared),
            "DEBT" => Some(ChargeBearer::Debtor),
            "CRED" => Some(ChargeBearer::Creditor),
            _ => None,
        }
    }
}

/// A structured postal address (the parts both versions have, in their order).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PostalAddress {
    pub street: Option<String>,
    pub building_number: Option<String>,
    pub post_code: Option<String>,
    pub town: Option<String>,
    /// ISO 3166 alpha-2.
    pub country: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Party {
    pub name: String,
    pub address: Option<PostalAddress>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Account {
    Iban(String),
    /// An account number outside IBAN countries (`Othr/Id`).
    Other(String),
}

/// A bank: its BIC and/or its clearing system membership (`ClrSysMmbId`: e.g. `USABA` + ABA routing number).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Agent {
    pub bic: Option<String>,
    /// (clearing system code, member id)
    pub clearing: Option<(String, String)>,
}

/// One credit transfer (`CdtTrfTxInf`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreditTransfer {
    pub instruction_id: Option<String>,
    pub end_to_end_id: String,
    pub amount: Money,
    /// Set per transfer when the batch does not set it.
    pub charge_bearer: Option<ChargeBearer>,
    pub creditor_agent: Option<Agent>,
    pub creditor: Party,
    pub creditor_account: Account,
    /// `Purp/Cd` (ExternalPurpose1Code, e.g. `SUPP`).
    pub purpose: Option<String>,
    /// `RgltryRptg/Dtls/Cd` (the central bank's reporting code), when the job gives one.
    pub regulatory_code: Option<String>,
    /// `RmtInf/Ustrd`.
    pub remittance: Option<String>,
}

/// One payment batch (`PmtInf`): one debtor account, currency, execution date and payment type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentBatch {
    pub payment_info_id: String,
    pub batch_booking: Option<bool>,
    /// `PmtTpInf/SvcLvl/Cd` (`SEPA`, `URGP`, …).
    pub service_level: Option<String>,
    pub execution_date: Date,
    pub debtor: Party,
    pub debtor_account: Account,
    pub debtor_account_currency: Option<Currency>,
    pub debtor_agent: Agent,
    pub charge_bearer: Option<ChargeBearer>,
    pub transfers: Vec<CreditTransfer>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pain001 {
    pub version: Pain001Version,
    pub message_id: String,
    /// xs:dateTime, e.g. `2026-10-31T18:00:00+01:00`: the caller's, never the clock's.
    pub created: String,
    pub initiating_party: Party,
    pub batches: Vec<PaymentBatch>,
}

/// A text the SEPA charset changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transliteration {
    /// Where: `PmtInf[1]/CdtTrfTxInf[2]/Cdtr/Nm`.
    pub path: String,
    pub from: String,
    pub to: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    pub xml: String,
    pub transactions: u64,
    pub control_sum: Decimal,
    pub transliterated: Vec<Transliteration>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("pain.001 {path}: {message}")]
pub struct Pain001Error {
    /// Where in the message: `GrpHdr/MsgId`, `PmtInf[1]/CdtTrfTxInf[2]/Amt`.
    pub path: String,
    pub message: String,
}

fn fail<T>(path: &str, message: impl Into<String>) -> Result<T, Pain001Error> {
    Err(Pain001Error { path: path.to_string(), message: message.into() })
}

/// The EPC SEPA Latin subset.
fn sepa_allowed(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '/' | '-' | '?' | ':' | '(' | ')' | '.' | ',' | '\'' | '+' | ' ')
}

/// `c` in the SEPA subset: itself, its letter without diacritics, or a stand-in.
fn sepa_char(c: char, out: &mut String) {
    if sepa_allowed(c) {
        out.push(c);
        return;
    }
    let base = match c {
        'À' | 'Á' | 'Â' | 'Ã' | 'Ä' | 'Å' | 'Ā' | 'Ă' | 'Ą' => "A",
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' => "a",
        'Æ' => "AE",
        'æ' => "ae",
        'Ç' | 'Ć' | 'Ĉ' | 'Ċ' | 'Č' => "C",
        'ç' | 'ć' | 'ĉ' | 'ċ' | 'č' => "c",
        'Ď' | 'Đ' | 'Ð' => "D",
        'ď' | 'đ' | 'ð' => "d",
        'È' | 'É' | 'Ê' | 'Ë' | 'Ē' | 'Ĕ' | 'Ė' | 'Ę' | 'Ě' => "E",
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ĕ' | 'ė' | 'ę' | 'ě' => "e",
        'Ĝ' | 'Ğ' | 'Ġ' | 'Ģ' => "G",
        'ĝ' | 'ğ' | 'ġ' | 'ģ' => "g",
        'Ĥ' | 'Ħ' => "H",
        'ĥ' | 'ħ' => "h",
        'Ì' | 'Í' | 'Î' | 'Ï' | 'Ĩ' | 'Ī' | 'Ĭ' | 'Į' | 'İ' => "I",
        'ì' | 'í' | 'î' | 'ï' | 'ĩ' | 'ī' | 'ĭ' | 'į' | 'ı' => "i",
        'Ĵ' => "J",
        'ĵ' => "j",
        'Ķ' => "K",
        'ķ' => "k",
        'Ĺ' | 'Ļ' | 'Ľ' | 'Ŀ' | 'Ł' => "L",
        'ĺ' | 'ļ' | 'ľ' | 'ŀ' | 'ł' => "l",
        'Ñ' | 'Ń' | 'Ņ' | 'Ň' => "N",
        'ñ' | 'ń' | 'ņ' | 'ň' => "n",
        'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ö' | 'Ø' | 'Ō' | 'Ŏ' | 'Ő' => "O",
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ŏ' | 'ő' => "o",
        'Œ' => "OE",
        'œ' => "oe",
        'Ŕ' | 'Ŗ' | 'Ř' => "R",
        'ŕ' | 'ŗ' | 'ř' => "r",
        'Ś' | 'Ŝ' | 'Ş' | 'Š' | 'Ș' => "S",
        'ś' | 'ŝ' | 'ş' | 'š' | 'ș' => "s",
        'ß' => "ss",
        'Ţ' | 'Ť' | 'Ŧ' | 'Ț' => "T",
        'ţ' | 'ť' | 'ŧ' | 'ț' => "t",
        'Þ' => "TH",
        'þ' => "th",
        'Ù' | 'Ú' | 'Û' | 'Ü' | 'Ũ' | 'Ū' | 'Ŭ' | 'Ů' | 'Ű' | 'Ų' => "U",
        'ù' | 'ú' | 'û' | 'ü' | 'ũ' | 'ū' | 'ŭ' | 'ů' | 'ű' | 'ų' => "u",
        'Ŵ' => "W",
        'ŵ' => "w",
        'Ý' | 'Ÿ' | 'Ŷ' => "Y",
        'ý' | 'ÿ' | 'ŷ' => "y",
        'Ź' | 'Ż' | 'Ž' => "Z",
        'ź' | 'ż' | 'ž' => "z",
        '&' => "+",
        '\t' | '\n' | '\r' => " ",
        _ => ".",
    };
    out.push_str(base);
}

/// A text as a file in `charset` holds it (before trimming): without control and invisible characters,
/// and in the SEPA subset when the charset is.
pub fn written_text(value: &str, charset: Charset) -> String {
    let visible = settle_core::text::without_hidden(value, true);
    match charset {
        Charset::Utf8 => visible.into_owned(),
        Charset::SepaLatin => sepa_latin(&visible),
    }
}

/// `text` in the SEPA subset.
pub fn sepa_latin(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        sepa_char(c, &mut out);
    }
    out
}

fn valid_bic(bic: &str) -> bool {
    let b = bic.as_bytes();
    (b.len() == 8 || b.len() == 11)
        && b[..6].iter().all(u8::is_ascii_uppercase)
        && b[6..8].iter().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        && b[8..].iter().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

fn valid_iban_shape(iban: &str) -> bool {
    let b = iban.as_bytes();
    (5..=34).contains(&b.len())
        && b[..2].iter().all(u8::is_ascii_uppercase)
        && b[2..4].iter().all(u8::is_ascii_digit)
        && b[4..].iter().all(u8::is_ascii_alphanumeric)
}

fn valid_country(code: &str) -> bool {
    code.len() == 2 && code.bytes().all(|c| c.is_ascii_uppercase())
}

/// Output is handed to the sink in pieces of about this size: memory does not grow with the file.
const FLUSH_BYTES: usize = 1 << 16;

struct Xml<'a> {
    out: String,
    sink: &'a mut dyn std::io::Write,
    io_error: Option<std::io::Error>,
    depth: usize,
    charset: Charset,
    transliterated: &'a mut Vec<Transliteration>,
}

impl Xml<'_> {
    fn open(&mut self, name: &str) {
        self.indent();
        let _ = writeln!(self.out, "<{name}>");
        self.depth += 1;
    }

    fn close(&mut self, name: &str) {
        self.depth -= 1;
        self.indent();
        let _ = writeln!(self.out, "</{name}>");
        if self.out.len() >= FLUSH_BYTES {
            self.flush();
        }
    }

    fn flush(&mut self) {
        if self.io_error.is_none()
            && let Err(e) = self.sink.write_all(self.out.as_bytes())
        {
            self.io_error = Some(e);
        }
        self.out.clear();
    }

    fn indent(&mut self) {
        for _ in 0..self.depth {
            self.out.push_str("  ");
        }
    }

    fn raw(&mut self, name: &str, value: &str) {
        self.indent();
        let _ = write!(self.out, "<{name}>");
        escape_into(&mut self.out, value);
        let _ = writeln!(self.out, "</{name}>");
    }

    /// A text of at most `max_chars` characters (after the charset's changes).
    fn text(&mut self, path: &str, name: &str, value: &str, max_chars: usize) -> Result<(), Pain001Error> {
        // Control and invisible characters never reach the file (XML 1.0 forbids most; the others, such
        // as a right-to-left override, make a name read otherwise on screen): removed in either charset.
        let written = written_text(value, self.charset);
        if written != value {
            self.transliterated.push(Transliteration {
                path: format!("{path}/{name}"),
                from: value.to_string(),
                to: written.clone(),
            });
        }
        let trimmed = written.trim();
        if trimmed.is_empty() {
            return fail(&format!("{path}/{name}"), "is empty");
        }
        if trimmed.chars().count() > max_chars {
            let brief = settle_core::text::brief(trimmed, 60);
            return fail(&format!("{path}/{name}"), format!("{brief:?} is longer than {max_chars} characters"));
        }
        self.raw(name, trimmed);
        Ok(())
    }

    /// An id: 1–35 characters, never transliterated; in the SEPA subset when the charset is.
    fn id(&mut self, path: &str, name: &str, value: &str) -> Result<(), Pain001Error> {
        let at = format!("{path}/{name}");
        if value.is_empty() || value.chars().count() > 35 {
            return fail(&at, format!("{value:?}: expected 1 to 35 characters"));
        }
        if self.charset == Charset::SepaLatin
            && (!value.chars().all(sepa_allowed)
                || value.starts_with('/')
                || value.ends_with('/')
                || value.contains("//"))
        {
            return fail(
                &at,
                format!(
                    "{value:?}: an id in a SEPA file takes A–Z a–z 0–9 / - ? : ( ) . , ' + and space, no leading, trailing or double /"
                ),
            );
        }
        self.raw(name, value);
        Ok(())
    }
}

/// The amount as the schema writes it: positive, at most the currency's minor units.
fn checked_amount(path: &str, amount: Money) -> Result<String, Pain001Error> {
    if amount.amount() <= Decimal::ZERO {
        return fail(path, format!("{amount}: a transfer's amount must be above zero"));
    }
    let units = amount.currency().minor_units().unwrap_or(0);
    if amount.amount().normalize().scale() > u32::from(units) {
        return fail(path, format!("{amount}: more decimals than {} has ({units})", amount.currency()));
    }
    Ok(format_minor(amount.amount(), amount.currency()))
}

/// Texts at the lengths both versions' schemas allow (`Max140Text` names; `Max70Text`, `Max16Text`,
/// `Max35Text` address parts).
fn party(x: &mut Xml<'_>, path: &str, name: &str, p: &Party) -> Result<(), Pain001Error> {
    let at = format!("{path}/{name}");
    x.open(name);
    x.text(&at, "Nm", &p.name, 140)?;
    if let Some(a) = &p.address {
        let at = format!("{at}/PstlAdr");
        x.open("PstlAdr");
        for (tag, value, max) in [
            ("StrtNm", &a.street, 70),
            ("BldgNb", &a.building_number, 16),
            ("PstCd", &a.post_code, 16),
            ("TwnNm", &a.town, 35),
        ] {
            if let Some(v) = value.as_deref().filter(|v| !v.trim().is_empty()) {
                x.text(&at, tag, v, max)?;
            }
        }
        if !valid_country(&a.country) {
            return fail(&format!("{at}/Ctry"), format!("{:?}: expected an ISO 3166 alpha-2 code", a.country));
        }
        x.raw("Ctry", &a.country);
        x.close("PstlAdr");
    }
    x.close(name);
    Ok(())
}

fn account(
    x: &mut Xml<'_>,
    path: &str,
    name: &str,
    a: &Account,
    currency: Option<Currency>,
) -> Result<(), Pain001Error> {
    x.open(name);
    x.open("Id");
    match a {
        Account::Iban(iban) => {
            if !valid_iban_shape(iban) {
                return fail(&format!("{path}/{name}/Id/IBAN"), format!("{iban:?}: not an IBAN"));
            }
            x.raw("IBAN", iban);
        }
        Account::Other(id) => {
            x.open("Othr");
            x.id(&format!("{path}/{name}/Id/Othr"), "Id", id)?;
            x.close("Othr");
        }
    }
    x.close("Id");
    if let Some(c) = currency {
        x.raw("Ccy", c.code());
    }
    x.close(name);
    Ok(())
}

fn agent(x: &mut Xml<'_>, path: &str, name: &str, a: &Agent, version: Pain001Version) -> Result<(), Pain001Error> {
    let at = format!("{path}/{name}/FinInstnId");
    x.open(name);
    x.open("FinInstnId");
    if let Some(bic) = &a.bic {
        let tag = match version {
            Pain001Version::V03 => "BIC",
            Pain001Version::V09 => "BICFI",
        };
        if !valid_bic(bic) {
            return fail(&format!("{at}/{tag}"), format!("{bic:?}: not a BIC (8 or 11 letters and digits)"));
        }
        x.raw(tag, bic);
    }
    if let Some((system, member)) = &a.clearing {
        x.open("ClrSysMmbId");
        x.open("ClrSysId");
        x.raw("Cd", system);
        x.close("ClrSysId");
        x.id(&format!("{at}/ClrSysMmbId"), "MmbId", member)?;
        x.close("ClrSysMmbId");
    }
    if a.bic.is_none() && a.clearing.is_none() {
        // The schema allows an empty FinInstnId only as `Othr/Id NOTPROVIDED` (EPC guidance).
        x.open("Othr");
        x.raw("Id", "NOTPROVIDED");
        x.close("Othr");
    }
    x.close("FinInstnId");
    x.close(name);
    Ok(())
}

/// What `write_pain001_to` wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub transactions: u64,
    pub control_sum: Decimal,
    pub transliterated: Vec<Transliteration>,
}

/// Writes `doc` as a pain.001 of its version. Every batch and transfer is written in the order given.
pub fn write_pain001(doc: &Pain001, charset: Charset) -> Result<Written, Pain001Error> {
    let mut bytes = Vec::with_capacity(2048 + doc.batches.iter().map(|b| b.transfers.len() * 900).sum::<usize>());
    let summary = write_pain001_to(doc, charset, &mut bytes)?;
    let xml = String::from_utf8(bytes).expect("the writer writes UTF-8");
    Ok(Written {
        xml,
        transactions: summary.transactions,
        control_sum: summary.control_sum,
        transliterated: summary.transliterated,
    })
}

/// Writes `doc` into `sink` in pieces of about 64 KiB, so memory does not grow with the file. On an
/// error (a field the bank would reject, or the sink's) part of the file may have been written: write
/// into a temporary file and keep it only on success.
pub fn write_pain001_to(
    doc: &Pain001,
    charset: Charset,
    sink: &mut dyn std::io::Write,
) -> Result<Summary, Pain001Error> {
    let version = doc.version;
    if doc.batches.is_empty() {
        return fail("PmtInf", "a file needs at least one payment batch");
    }
    // Totals first (the group header comes before the batches).
    let mut transactions = 0u64;
    let mut control_sum = Decimal::ZERO;
    let mut batch_totals = Vec::with_capacity(doc.batches.len());
    for (b, batch) in doc.batches.iter().enumerate() {
        if batch.transfers.is_empty() {
            return fail(&format!("PmtInf[{}]", b + 1), "a payment batch needs at least one transfer");
        }
        let mut sum = Decimal::ZERO;
        for (t, transfer) in batch.transfers.iter().enumerate() {
            checked_amount(&format!("PmtInf[{}]/CdtTrfTxInf[{}]/Amt/InstdAmt", b + 1, t + 1), transfer.amount)?;
            sum = sum.checked_add(transfer.amount.amount()).ok_or_else(|| Pain001Error {
                path: format!("PmtInf[{}]/CtrlSum", b + 1),
                message: "the batch total overflows".into(),
            })?;
        }
        control_sum = control_sum.checked_add(sum).ok_or_else(|| Pain001Error {
            path: "GrpHdr/CtrlSum".into(),
            message: "the file total overflows".into(),
        })?;
        transactions += batch.transfers.len() as u64;
        batch_totals.push((batch.transfers.len(), sum));
    }

    let mut transliterated = Vec::new();
    let mut x = Xml {
        out: String::with_capacity(FLUSH_BYTES + 4096),
        sink,
        io_error: None,
        depth: 0,
        charset,
        transliterated: &mut transliterated,
    };
    x.out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(x.out, "<Document xmlns=\"{}\">", version.namespace());
    x.depth = 1;
    x.open("CstmrCdtTrfInitn");
    x.open("GrpHdr");
    x.id("GrpHdr", "MsgId", &doc.message_id)?;
    x.raw("CreDtTm", &doc.created);
    x.raw("NbOfTxs", &transactions.to_string());
    x.raw("CtrlSum", &control_sum.to_string());
    x.open("InitgPty");
    x.text("GrpHdr/InitgPty", "Nm", &doc.initiating_party.name, 140)?;
    x.close("InitgPty");
    x.close("GrpHdr");
    for (b, (batch, (count, sum))) in doc.batches.iter().zip(&batch_totals).enumerate() {
        let at = format!("PmtInf[{}]", b + 1);
        x.open("PmtInf");
        x.id(&at, "PmtInfId", &batch.payment_info_id)?;
        x.raw("PmtMtd", "TRF");
        if let Some(booking) = batch.batch_booking {
            x.raw("BtchBookg", if booking { "true" } else { "false" });
        }
        x.raw("NbOfTxs", &count.to_string());
        x.raw("CtrlSum", &sum.to_string());
        if let Some(level) = &batch.service_level {
            x.open("PmtTpInf");
            x.open("SvcLvl");
            x.raw("Cd", level);
            x.close("SvcLvl");
            x.close("PmtTpInf");
        }
        match version {
            Pain001Version::V03 => x.raw("ReqdExctnDt", &batch.execution_date.to_string()),
            Pain001Version::V09 => {
                x.open("ReqdExctnDt");
                x.raw("Dt", &batch.execution_date.to_string());
                x.close("ReqdExctnDt");
            }
        }
        party(&mut x, &at, "Dbtr", &batch.debtor)?;
        account(&mut x, &at, "DbtrAcct", &batch.debtor_account, batch.debtor_account_currency)?;
        agent(&mut x, &at, "DbtrAgt", &batch.debtor_agent, version)?;
        if let Some(bearer) = batch.charge_bearer {
            x.raw("ChrgBr", bearer.code());
        }
        for (t, transfer) in batch.transfers.iter().enumerate() {
            let at = format!("{at}/CdtTrfTxInf[{}]", t + 1);
            x.open("CdtTrfTxInf");
            x.open("PmtId");
            if let Some(id) = &transfer.instruction_id {
                x.id(&format!("{at}/PmtId"), "InstrId", id)?;
            }
            x.id(&format!("{at}/PmtId"), "EndToEndId", &transfer.end_to_end_id)?;
            x.close("PmtId");
            x.open("Amt");
            let amount = checked_amount(&format!("{at}/Amt/InstdAmt"), transfer.amount)?;
            x.indent();
            let _ = writeln!(x.out, "<InstdAmt Ccy=\"{}\">{amount}</InstdAmt>", transfer.amount.currency().code());
            x.close("Amt");
            if let (None, Some(bearer)) = (batch.charge_bearer, transfer.charge_bearer) {
                x.raw("ChrgBr", bearer.code());
            }
            if let Some(creditor_agent) = &transfer.creditor_agent {
                agent(&mut x, &at, "CdtrAgt", creditor_agent, version)?;
            }
            party(&mut x, &at, "Cdtr", &transfer.creditor)?;
            account(&mut x, &at, "CdtrAcct", &transfer.creditor_account, None)?;
            if let Some(purpose) = &transfer.purpose {
                if purpose.is_empty() || purpose.len() > 4 || !purpose.bytes().all(|c| c.is_ascii_alphanumeric()) {
                    return fail(
                        &format!("{at}/Purp/Cd"),
                        format!("{purpose:?}: expected an ISO purpose code (1–4 letters)"),
                    );
                }
                x.open("Purp");
                x.raw("Cd", purpose);
                x.close("Purp");
            }
            if let Some(code) = &transfer.regulatory_code {
                x.open("RgltryRptg");
                x.open("Dtls");
                x.text(&format!("{at}/RgltryRptg/Dtls"), "Cd", code, 10)?;
                x.close("Dtls");
                x.close("RgltryRptg");
            }
            if let Some(text) = transfer.remittance.as_deref().filter(|t| !t.trim().is_empty()) {
                x.open("RmtInf");
                x.text(&format!("{at}/RmtInf"), "Ustrd", text, 140)?;
                x.close("RmtInf");
            }
            x.close("CdtTrfTxInf");
        }
        x.close("PmtInf");
    }
    x.close("CstmrCdtTrfInitn");
    x.out.push_str("</Document>\n");
    x.flush();
    if let Some(e) = x.io_error.take() {
        return fail("(output)", format!("cannot write: {e}"));
    }
    Ok(Summary { transactions, control_sum, transliterated })
}
