//! Splitting MT940/MT942 text into messages and fields, and reading each field's grammar.

use settle_core::{AmountFormat, Currency, Date, Direction, ExtraDigits, Money, Text, TransactionDetail, parse_amount};

use crate::details::parse_information_into;

/// MT940 (statement) or MT942 (interim transaction report).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MessageType {
    Mt940,
    Mt942,
}

impl MessageType {
    pub fn name(self) -> &'static str {
        match self {
            MessageType::Mt940 => "mt940",
            MessageType::Mt942 => "mt942",
        }
    }
}

/// A balance line (`:60F:`, `:60M:`, `:62F:`, `:62M:`, `:64:`, `:65:`), signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Balance {
    /// `F` final (first/last of the statement) or `M` intermediate (a multi-part statement).
    pub final_balance: bool,
    pub date: Date,
    pub amount: Money,
}

/// The `:61:` mark: credit, debit, or the reversal of one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    Credit,
    Debit,
    /// Reversal of a credit: money goes out.
    ReversalCredit,
    /// Reversal of a debit: money comes in.
    ReversalDebit,
}

impl Mark {
    /// The direction the money moves on the account.
    pub fn direction(self) -> Direction {
        match self {
            Mark::Credit | Mark::ReversalDebit => Direction::Credit,
            Mark::Debit | Mark::ReversalCredit => Direction::Debit,
        }
    }

    pub fn is_reversal(self) -> bool {
        matches!(self, Mark::ReversalCredit | Mark::ReversalDebit)
    }
}

/// One `:61:` statement line with its `:86:` information.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// 1-based position in the message.
    pub index: usize,
    /// Line of the `:61:` tag in the file.
    pub line: u64,
    pub value_date: Date,
    /// Booking date (the optional MMDD, its year inferred from the value date across a year end).
    pub entry_date: Option<Date>,
    pub mark: Mark,
    pub funds_code: Option<char>,
    /// Unsigned, in the statement's currency.
    pub amount: Money,
    /// N/F/S + three characters, e.g. `NTRF`.
    pub transaction_type: Text,
    /// Customer reference; `NONREF` kept as written.
    pub customer_reference: Text,
    /// After `//`.
    pub bank_reference: Option<Text>,
    /// The next line(s) of `:61:` (e.g. `/OCMT/EUR11,85//CHGS/EUR0,50/`).
    pub supplementary: Option<String>,
    /// The `:86:` text as written, lines joined with `\n` — except German GVC texts (`166?00…`), whose
    /// sub-fields continue across line breaks: their lines are joined without a separator.
    pub information: Option<String>,
    /// What the `:86:` dialect reader made of it: empty before the dialect is read, else one detail.
    /// A `Vec` (not a struct field) so the detail moves into the canonical row without a copy.
    pub details: Vec<TransactionDetail>,
    /// The GVC (German) or TRCD (Dutch) code from `:86:`.
    pub information_code: Option<Text>,
}

/// One message: an MT940 statement (or one part of a multi-part one) or an MT942 report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub message_type: MessageType,
    /// Line of the message's first field in the file.
    pub line: u64,
    /// `:20:`
    pub reference: Option<String>,
    /// `:21:`
    pub related_reference: Option<String>,
    /// `:25:`
    pub account: Option<String>,
    /// `:28C:` (or the old `:28:`): statement number / sequence.
    pub sequence: Option<String>,
    pub opening: Option<Balance>,
    pub closing: Option<Balance>,
    pub closing_available: Option<Balance>,
    pub forward_available: Vec<Balance>,
    /// MT942 `:13D:` date-time as written.
    pub report_time: Option<String>,
    /// MT942 `:34F:` floor limit(s) as written.
    pub floor_limit: Vec<String>,
    /// MT942 `:90D:` / `:90C:`: number and sum of debit / credit entries.
    pub debit_summary: Option<(u64, Money)>,
    pub credit_summary: Option<(u64, Money)>,
    /// The message's currency (from its balances, `:34F:` or `:90x:`).
    pub currency: Option<Currency>,
    pub entries: Vec<Entry>,
    /// `:86:` after the closing balance (information for the whole statement).
    pub information: Option<String>,
    pub warnings: Vec<String>,
}

/// A field could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {tag}: {message}")]
pub struct Mt940Error {
    pub file: String,
    pub line: u64,
    pub tag: String,
    pub message: String,
}

/// A field: its tag (`61`, `86`, `NS`, …), first line number, and its lines (borrowed from the text).
#[derive(Debug, Clone)]
struct Field<'a> {
    tag: &'a str,
    line: u64,
    /// The first line after the tag.
    first: &'a str,
    /// The continuation lines as they stand in the file (raw, `\n`-separated; each is cleaned as it is
    /// read), or `None`. A span of the text, not a list: reading a field allocates nothing.
    more: Option<&'a str>,
}

impl<'a> Field<'a> {
    /// The continuation lines, cleaned.
    fn more_lines(&self) -> impl Iterator<Item = &'a str> + use<'a> {
        self.more.into_iter().flat_map(|span| span.split('\n')).map(|raw| clean_line(raw).1)
    }

    /// The field's text, lines joined with `\n`, or with nothing for a German GVC `:86:` text.
    fn information(&self) -> String {
        if crate::details::dialect(self.first) == crate::details::Dialect::GermanGvc {
            return self.joined("");
        }
        self.text()
    }

    /// The field's text, lines joined with `\n`.
    fn text(&self) -> String {
        self.joined("\n")
    }

    fn joined(&self, separator: &str) -> String {
        let size = self.first.len() + self.more.map_or(0, |span| span.len() + separator.len());
        let mut out = String::with_capacity(size);
        out.push_str(self.first);
        for l in self.more_lines() {
            out.push_str(separator);
            out.push_str(l);
        }
        out
    }
}

/// Is `line` the start of a field (`:61:`, `:28C:`, `:NS:`)? A colon anywhere else is text.
fn field_tag(line: &str) -> Option<(&str, &str)> {
    let rest = line.strip_prefix(':')?;
    // A tag has at most three characters: look no further for its closing colon.
    let end = memchr::memchr(b':', &rest.as_bytes()[..rest.len().min(5)])?;
    let tag = &rest[..end];
    let b = tag.as_bytes();
    let ok = (b.len() == 2 || b.len() == 3)
        && ((b[0].is_ascii_digit() && b[1].is_ascii_digit() && (b.len() == 2 || b[2].is_ascii_uppercase()))
            || (b.len() == 2 && b.iter().all(u8::is_ascii_uppercase)));
    ok.then(|| (tag, &rest[end + 1..]))
}

/// Strips SWIFT header blocks (balanced braces, nested in `{3:}`) and the text block opener `{4:` from
/// the start of a line.
fn strip_blocks(mut line: &str) -> &str {
    while line.starts_with('{') {
        if let Some(rest) = line.strip_prefix("{4:") {
            return rest;
        }
        let mut depth = 0usize;
        let mut end = None;
        for (i, c) in line.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = Some(i);
                        break;
                    }
                }
                _ => {}
            }
        }
        match end {
            Some(end) => line = &line[end + 1..],
            None => return "",
        }
    }
    line
}

/// One line of the file without what is not MT940 text: SOH/ETX, 0x1A, a BOM, SWIFT blocks, `-}`
/// closers, `{5:}` trailers and a leading `:940:` (all returned as a message end, `-`). Borrowed: the
/// text is never copied line by line.
fn clean_line(raw: &str) -> (Option<&'static str>, &str) {
    // Fast path: most lines end in a visible character and start with `:` or text.
    let needs_end = raw.as_bytes().last().is_some_and(|b| matches!(b, b'\r' | 0x03 | 0x1a | b' ' | b'\t'));
    let line = if needs_end { raw.trim_end_matches(['\r', '\u{3}', '\u{1a}', ' ', '\t']) } else { raw };
    let needs_start = line.as_bytes().first().is_some_and(|b| *b == 0x01 || *b == 0xEF);
    let line = if needs_start { line.trim_start_matches(['\u{1}', '\u{feff}']) } else { line };
    if !line.starts_with(['-', '{', ':']) {
        return (None, line);
    }
    // A message end and the next message's SWIFT blocks can share a line: `-}{1:…}{2:…}{3:{108:…}}{4:`.
    if let Some(rest) = line.strip_prefix("-}") {
        return (Some("-"), strip_blocks(rest));
    }
    if line == "-" || line.starts_with("{5:") || line == ":940:" {
        return (Some("-"), "");
    }
    (None, strip_blocks(line))
}

/// Calls `on_message` with the fields of each message in turn; a line that does not start a field
/// continues the current one. Lines before a message's first field (bank file headers like `ABNANL2A`
/// / `940`) are dropped; `-` ends a message, and so does a second `:20:`.
fn for_each_message<'a>(
    text: &'a str,
    mut on_message: impl FnMut(Vec<Field<'a>>) -> Result<(), Mt940Error>,
) -> Result<(), Mt940Error> {
    let mut current: Vec<Field<'a>> = Vec::new();
    // Lines found with memchr (SIMD), borrowed from the text.
    let bytes = text.as_bytes();
    let ends = memchr::memchr_iter(b'\n', bytes).chain(std::iter::once(bytes.len()));
    let mut line_start = 0usize;
    // Where the current field's continuation lines start in the text.
    let mut more_start = 0usize;
    for (n, end) in ends.enumerate() {
        let raw = &text[line_start..end];
        let this_line_start = line_start;
        line_start = end + 1;
        let (end, line) = clean_line(raw);
        if end.is_some() && !current.is_empty() {
            on_message(std::mem::take(&mut current))?;
        }
        if line.is_empty() && end.is_some() {
            continue;
        }
        match field_tag(line) {
            Some((tag, rest)) => {
                if tag == "20" && current.iter().any(|f| f.tag == "20") {
                    on_message(std::mem::take(&mut current))?;
                }
                current.push(Field { tag, line: n as u64 + 1, first: rest, more: None });
            }
            None => {
                if let Some(field) = current.last_mut() {
                    // Continuation lines follow their field without a gap: the span grows to this line.
                    if field.more.is_none() {
                        more_start = this_line_start;
                    }
                    field.more = Some(&text[more_start..this_line_start + raw.len()]);
                }
            }
        }
    }
    if !current.is_empty() {
        on_message(current)?;
    }
    Ok(())
}

struct Ctx<'a> {
    file: &'a str,
    line: u64,
    tag: &'a str,
}

impl Ctx<'_> {
    fn err(&self, message: impl Into<String>) -> Mt940Error {
        Mt940Error {
            file: self.file.to_string(),
            line: self.line,
            tag: format!(":{}:", self.tag),
            message: message.into(),
        }
    }
}

/// YYMMDD, with 19YY for YY ≥ 80 (SWIFT dates are two-digit years).
fn yymmdd(text: &str, ctx: &Ctx<'_>) -> Result<Date, Mt940Error> {
    let b = text.as_bytes();
    if b.len() < 6 || !b[..6].iter().all(u8::is_ascii_digit) {
        return Err(ctx.err(format!("{text:?}: expected a date YYMMDD")));
    }
    // Two ASCII digits each (checked above).
    let two = |i: usize| (b[i] - b'0') * 10 + (b[i + 1] - b'0');
    let yy = i16::from(two(0));
    let year = if yy >= 80 { 1900 + yy } else { 2000 + yy };
    let (month, day) = (two(2) as i8, two(4) as i8);
    Date::new(year, month, day).map_err(|_| ctx.err(format!("{:?} is not a calendar date (YYMMDD)", &text[..6])))
}

/// SWIFT amounts: digits with a mandatory decimal comma and optional decimals (`107,` is 107). Old
/// Rabobank files write a decimal point instead (`000000000282.81`, `348000.`); it is accepted when the
/// amount has no comma.
fn amount(text: &str, currency: Currency, ctx: &Ctx<'_>) -> Result<Money, Mt940Error> {
    let t = text.trim_ascii();
    let format = if !t.contains(',') && t.contains('.') { AmountFormat::POINT } else { AmountFormat::COMMA };
    let t = t.strip_suffix([',', '.']).unwrap_or(t);
    parse_amount(t, format, currency, ExtraDigits::Allow).map_err(|e| ctx.err(e.to_string()))
}

fn currency(text: &str, ctx: &Ctx<'_>) -> Result<Currency, Mt940Error> {
    Currency::from_code(text).map_err(|e| ctx.err(e.to_string()))
}

/// `C200331EUR1234,56`
fn balance(text: &str, final_balance: bool, ctx: &Ctx<'_>) -> Result<Balance, Mt940Error> {
    let t = text.trim_ascii();
    let sign = t.chars().next().ok_or_else(|| ctx.err("empty balance: expected D/C, date, currency, amount"))?;
    if sign != 'C' && sign != 'D' {
        return Err(ctx.err(format!("{t:?}: expected D or C, then YYMMDD, currency and amount")));
    }
    let date = yymmdd(t.get(1..7).unwrap_or(""), ctx)?;
    let cur = currency(t.get(7..10).unwrap_or(""), ctx)?;
    let mut money = amount(t.get(10..).unwrap_or(""), cur, ctx)?;
    if sign == 'D' {
        money = money.neg();
    }
    Ok(Balance { final_balance, date, amount: money })
}

/// The `:61:` line (and its supplementary lines).
fn statement_line(
    first: &str,
    more: &[&str],
    index: usize,
    line: u64,
    currency: Currency,
    ctx: &Ctx<'_>,
) -> Result<Entry, Mt940Error> {
    let supplementary = (!more.is_empty()).then(|| more.join("\n").trim_ascii().to_string()).filter(|s| !s.is_empty());
    let b = first.as_bytes();
    let value_date = yymmdd(first, ctx)?;
    let mut i = 6;
    let mut entry_date = None;
    if b.len() >= i + 4 && b[i..i + 4].iter().all(u8::is_ascii_digit) {
        let month: i8 = first[i..i + 2].parse().expect("digits");
        let day: i8 = first[i + 2..i + 4].parse().expect("digits");
        let mut year = value_date.year();
        // An entry booked in January for a December value date (or the reverse) crosses the year end.
        if month == 1 && value_date.month() == 12 {
            year += 1;
        } else if month == 12 && value_date.month() == 1 {
            year -= 1;
        }
        entry_date = Some(
            Date::new(year, month, day)
                .map_err(|_| ctx.err(format!("{:?}: entry date MMDD is not a date", &first[i..i + 4])))?,
        );
        i += 4;
    }
    let rest = &first[i..];
    let (mark, mark_len) = if rest.starts_with("RC") {
        (Mark::ReversalCredit, 2)
    } else if rest.starts_with("RD") {
        (Mark::ReversalDebit, 2)
    } else if rest.starts_with('C') {
        (Mark::Credit, 1)
    } else if rest.starts_with('D') {
        (Mark::Debit, 1)
    } else {
        return Err(ctx.err(format!("{first:?}: expected C, D, RC or RD after the date(s)")));
    };
    i += mark_len;
    let mut funds_code = None;
    if let Some(c) = first[i..].chars().next()
        && c.is_ascii_alphabetic()
    {
        funds_code = Some(c);
        i += 1;
    }
    let amount_len =
        b[i..].iter().position(|c| !(c.is_ascii_digit() || *c == b',' || *c == b'.')).unwrap_or(b.len() - i);
    if amount_len == 0 {
        return Err(ctx.err(format!("{first:?}: expected the amount (digits with a decimal comma) after the mark")));
    }
    let money = amount(&first[i..i + amount_len], currency, ctx)?;
    i += amount_len;
    // Some banks (Deutsche Bank, Commerzbank) put a space between the amount and the transaction type.
    i += first[i..].len() - first[i..].trim_start_matches(' ').len();
    let kind = match first.get(i..i + 4) {
        Some(kind) if matches!(b[i], b'N' | b'F' | b'S') => Text::from(kind),
        _ => Text::default(),
    };
    if kind.is_empty() {
        return Err(ctx.err(format!(
            "{first:?}: expected the transaction type (N, F or S and three characters) after the amount"
        )));
    }
    i += kind.len();
    let tail = &first[i..];
    let (customer, bank) = match memchr::memmem::find(tail.as_bytes(), b"//") {
        Some(p) => {
            (Text::from(tail[..p].trim_ascii()), Some(Text::from(tail[p + 2..].trim_ascii())).filter(|s| !s.is_empty()))
        }
        None => (Text::from(tail.trim_ascii()), None),
    };
    Ok(Entry {
        index,
        line,
        value_date,
        entry_date,
        mark,
        funds_code,
        amount: money,
        transaction_type: kind,
        customer_reference: customer,
        bank_reference: bank,
        supplementary,
        information: None,
        details: Vec::new(),
        information_code: None,
    })
}

/// `:90D:` / `:90C:`: count, currency, amount (`5PLN1234,56`).
fn summary(text: &str, ctx: &Ctx<'_>) -> Result<(u64, Money), Mt940Error> {
    let t = text.trim_ascii();
    let digits = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let count: u64 =
        t[..digits].parse().map_err(|_| ctx.err(format!("{t:?}: expected a count, currency and amount")))?;
    let cur = currency(t.get(digits..digits + 3).unwrap_or(""), ctx)?;
    Ok((count, amount(t.get(digits + 3..).unwrap_or(""), cur, ctx)?))
}

/// Reads every message of a decoded MT940/MT942 text.
pub fn parse_messages(file: &str, text: &str) -> Result<Vec<Message>, Mt940Error> {
    let mut out = Vec::new();
    for_each_parsed_message(file, text, true, |m| {
        out.push(m);
        Ok(())
    })?;
    Ok(out)
}

/// Reads the messages of a decoded MT940/MT942 text one by one, handing each to `on_message`: memory
/// holds one message at a time besides the text.
pub fn for_each_parsed_message(
    file: &str,
    text: &str,
    parse_details: bool,
    mut on_message: impl FnMut(Message) -> Result<(), Mt940Error>,
) -> Result<(), Mt940Error> {
    for_each_message(text, |fields| {
        let is_942 = fields.iter().any(|f| f.tag == "13D" || f.tag == "34F" || f.tag == "13");
        let mut m = Message {
            message_type: if is_942 { MessageType::Mt942 } else { MessageType::Mt940 },
            line: fields[0].line,
            reference: None,
            related_reference: None,
            account: None,
            sequence: None,
            opening: None,
            closing: None,
            closing_available: None,
            forward_available: Vec::new(),
            report_time: None,
            floor_limit: Vec::new(),
            debit_summary: None,
            credit_summary: None,
            currency: None,
            entries: Vec::with_capacity(fields.iter().filter(|f| f.tag == "61").count()),
            information: None,
            warnings: Vec::new(),
        };
        for f in &fields {
            let ctx = Ctx { file, line: f.line, tag: f.tag };
            // Statement lines and information read the field's lines themselves: join only for the rest.
            let joined;
            let value = if f.more.is_none() || f.tag == "61" || f.tag == "86" {
                f.first.trim_ascii()
            } else {
                joined = f.text();
                joined.trim_ascii()
            };
            match f.tag {
                "20" => m.reference = Some(value.to_string()),
                "21" => m.related_reference = Some(value.to_string()),
                "25" => m.account = Some(value.to_string()),
                "28C" | "28" => m.sequence = Some(value.to_string()),
                "60F" | "60M" => {
                    let b = balance(value, f.tag == "60F", &ctx)?;
                    m.currency = Some(b.amount.currency());
                    m.opening = Some(b);
                }
                "62F" | "62M" => {
                    let b = balance(value, f.tag == "62F", &ctx)?;
                    m.currency = m.currency.or(Some(b.amount.currency()));
                    m.closing = Some(b);
                }
                "64" => m.closing_available = Some(balance(value, true, &ctx)?),
                "65" => m.forward_available.push(balance(value, true, &ctx)?),
                "13D" | "13" => m.report_time = Some(value.to_string()),
                "34F" => {
                    m.floor_limit.push(value.to_string());
                    if m.currency.is_none() {
                        m.currency = Some(currency(value.get(..3).unwrap_or(""), &ctx)?);
                    }
                }
                "90D" => m.debit_summary = Some(summary(value, &ctx)?),
                "90C" => m.credit_summary = Some(summary(value, &ctx)?),
                "61" => {
                    let cur = m.currency.ok_or_else(|| {
                        ctx.err("a statement line before any balance or :34F:: the currency is unknown")
                    })?;
                    let entry = statement_line(
                        f.first,
                        &f.more_lines().collect::<Vec<_>>(),
                        m.entries.len() + 1,
                        f.line,
                        cur,
                        &ctx,
                    )?;
                    m.entries.push(entry);
                }
                "86" => {
                    // After a :61: (and before the closing balance) it belongs to that entry; several :86:
                    // fields in a row (old Rabobank) are joined.
                    let attach = m.closing.is_none() && !m.entries.is_empty();
                    if attach {
                        let entry = m.entries.last_mut().expect("checked");
                        match &mut entry.information {
                            Some(info) => {
                                info.push('\n');
                                info.push_str(&f.text());
                            }
                            None => entry.information = Some(f.information()),
                        }
                    } else {
                        m.information = Some(f.text());
                    }
                }
                _ => {}
            }
        }
        let mut scratch = String::new();
        for e in m.entries.iter_mut().filter(|_| parse_details) {
            if let Some(info) = &e.information {
                // `vec![…]` allocates exactly one (a first `push` would reserve room for four 640-byte
                // details).
                e.details = vec![TransactionDetail::default()];
                e.information_code = parse_information_into(info, e.mark.direction(), &mut scratch, &mut e.details[0]);
            }
        }
        on_message(m)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> Ctx<'static> {
        Ctx { file: "t.sta", line: 3, tag: "61" }
    }

    #[test]
    fn statement_line_grammar() {
        let eur = Currency::from_code("EUR").unwrap();
        let e = statement_line(
            "2006080608D12,35 NRTIKREF+//2016021783252833",
            &["/OCMT/EUR11,85//CHGS/EUR0,50/"],
            1,
            3,
            eur,
            &ctx(),
        )
        .unwrap();
        assert_eq!(e.value_date.to_string(), "2020-06-08");
        assert_eq!(e.entry_date.unwrap().to_string(), "2020-06-08");
        assert_eq!(e.mark, Mark::Debit);
        assert_eq!(e.amount.to_string(), "12.35 EUR");
        assert_eq!(e.transaction_type, "NRTI", "the space after the amount is skipped");
        assert_eq!(e.customer_reference, "KREF+");
        assert_eq!(e.bank_reference.as_deref(), Some("2016021783252833"));
        assert_eq!(e.supplementary.as_deref(), Some("/OCMT/EUR11,85//CHGS/EUR0,50/"));
        let e =
            statement_line("030109D00000000348000.NMSCNONREF          TOKYO SPORTS", &[], 1, 3, eur, &ctx()).unwrap();
        assert_eq!(e.amount.to_string(), "348000.00 EUR");
        assert_eq!(e.customer_reference, "NONREF          TOKYO SPORTS");
        let e = statement_line("0709040904CR125004,88NTRFNONREF//0724710290624796", &[], 1, 3, eur, &ctx()).unwrap();
        assert_eq!((e.mark, e.funds_code), (Mark::Credit, Some('R')));
        let e = statement_line("1105210523D107,N426NONREF", &[], 1, 3, eur, &ctx()).unwrap();
        assert_eq!(e.amount.to_string(), "107.00 EUR");
        assert_eq!(e.transaction_type, "N426");
        assert_eq!(e.customer_reference, "NONREF");
        let e = statement_line("1712310102RCR1,00NTRFREF1//B2", &[], 1, 3, eur, &ctx()).unwrap();
        assert_eq!(e.mark, Mark::ReversalCredit);
        assert_eq!(e.funds_code, Some('R'));
        assert_eq!(e.entry_date.unwrap().to_string(), "2018-01-02", "booked in January for a December value date");
        assert_eq!(e.bank_reference.as_deref(), Some("B2"));
        assert!(
            statement_line("2006080608X12,35NTRF", &[], 1, 3, eur, &ctx())
                .unwrap_err()
                .to_string()
                .starts_with("t.sta:3: :61:")
        );
    }

    #[test]
    fn field_tags_only_at_line_start() {
        assert_eq!(field_tag(":61:2006"), Some(("61", "2006")));
        assert_eq!(field_tag(":28C:00143/1"), Some(("28C", "00143/1")));
        assert_eq!(field_tag(":NS:22JOHN"), Some(("NS", "22JOHN")));
        assert_eq!(field_tag("BEA NR:XXX1234 21.05.11"), None);
        assert_eq!(field_tag(":Kosten: 5"), None);
    }
}
