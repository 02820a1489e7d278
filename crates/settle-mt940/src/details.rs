//! `:86:` information to account owner, by dialect, mapped to a canonical `TransactionDetail`.

use settle_core::{Direction, Text, TransactionDetail};

/// Which `:86:` layout a text follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// German banks: a three-digit GVC, then `?NN` sub-fields, SEPA keywords (`EREF+`, `SVWZ+`, …).
    GermanGvc,
    /// Dutch banks (ING, ABN AMRO SEPA, Rabobank new format): `/TAG/value` pairs.
    DutchTags,
    /// Anything else: the text is the remittance information.
    Unstructured,
}

const DUTCH_TAGS: [&str; 24] = [
    "TRCD",
    "BUSP",
    "CNTP",
    "REMI",
    "EREF",
    "MARF",
    "CSID",
    "ORDP",
    "BENM",
    "RTRN",
    "PURP",
    "ULTC",
    "ULTD",
    "ULTB",
    "ISDT",
    "PREF",
    "NRTX",
    "SWOC",
    "IBAN",
    "BIC",
    "NAME",
    "ADDR",
    "CDTRREF",
    "CDTRREFTP",
];

/// The SEPA keywords of German remittance texts (`EREF+` …), as read: the match on a keyword is on
/// this enum, not on its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sepa {
    Eref,
    Kref,
    Mref,
    Cred,
    Debt,
    Svwz,
    Abwa,
    Abwe,
    Iban,
    Bic,
    Coam,
    Oamt,
    Sqtp,
    Purp,
    Rtrn,
    Bref,
}

/// The four-letter keywords (without their `+`); `BIC+` has three letters and is told apart by itself.
const SEPA_KEYWORDS: [(&[u8; 4], Sepa); 15] = [
    (b"EREF", Sepa::Eref),
    (b"KREF", Sepa::Kref),
    (b"MREF", Sepa::Mref),
    (b"CRED", Sepa::Cred),
    (b"DEBT", Sepa::Debt),
    (b"SVWZ", Sepa::Svwz),
    (b"ABWA", Sepa::Abwa),
    (b"ABWE", Sepa::Abwe),
    (b"IBAN", Sepa::Iban),
    (b"COAM", Sepa::Coam),
    (b"OAMT", Sepa::Oamt),
    (b"SQTP", Sepa::Sqtp),
    (b"PURP", Sepa::Purp),
    (b"RTRN", Sepa::Rtrn),
    (b"BREF", Sepa::Bref),
];

/// The SEPA keyword whose `+` is at `plus` in `text`: its start, its length with the `+`, the keyword.
/// Four-letter keywords are compared as one 32-bit word (this runs for every `+` of every German
/// remittance text).
fn sepa_keyword_before(text: &[u8], plus: usize) -> Option<(usize, usize, Sepa)> {
    if plus >= 4 {
        let word = u32::from_le_bytes([text[plus - 4], text[plus - 3], text[plus - 2], text[plus - 1]]);
        for (k, kw) in SEPA_KEYWORDS {
            if word == u32::from_le_bytes(*k) {
                return Some((plus - 4, 5, kw));
            }
        }
    }
    // `then`, not `then_some`: the tuple must not be computed (`plus - 3` underflows) when `plus < 3`.
    (plus >= 3 && &text[plus - 3..plus] == b"BIC").then(|| (plus - 3, 4, Sepa::Bic))
}

/// Tells the dialect of an `:86:` text (its lines as given).
pub fn dialect(text: &str) -> Dialect {
    let t = text.trim_start();
    let b = t.as_bytes();
    if b.len() >= 4 && b[..3].iter().all(u8::is_ascii_digit) && b[3] == b'?' {
        return Dialect::GermanGvc;
    }
    if t.starts_with('/') && ["/TRCD/", "/EREF/", "/REMI/", "/CNTP/", "/ORDP/", "/BENM/"].iter().any(|k| t.contains(k))
    {
        return Dialect::DutchTags;
    }
    Dialect::Unstructured
}

fn set(slot: &mut Option<Text>, value: &str) {
    let v = value.trim_ascii();
    if slot.is_none() && !v.is_empty() {
        *slot = Some(Text::from(v));
    }
}

fn usable(value: &str) -> Option<&str> {
    let v = value.trim_ascii();
    (!v.is_empty() && v != "NOTPROVIDED" && v != "NONREF").then_some(v)
}

/// Parses an `:86:` text into a detail. `direction` says which side the counterparty is on: the
/// debtor of a credit, the creditor of a debit. Returns the detail and the GVC (German) or TRCD (Dutch)
/// transaction code when there is one.
pub fn parse_information(text: &str, direction: Direction) -> (TransactionDetail, Option<Text>) {
    let mut d = TransactionDetail::default();
    let code = parse_information_into(text, direction, &mut String::new(), &mut d);
    (d, code)
}

/// `parse_information` into a caller's (default) detail, with a scratch buffer reused across the
/// entries of a file: the detail is filled where it will live, never moved.
pub(crate) fn parse_information_into(
    text: &str,
    direction: Direction,
    scratch: &mut String,
    d: &mut TransactionDetail,
) -> Option<Text> {
    match dialect(text) {
        Dialect::GermanGvc => german(text, direction, scratch, d),
        Dialect::DutchTags => {
            let (detail, code) = dutch(text, direction);
            *d = detail;
            code
        }
        Dialect::Unstructured => {
            let joined =
                text.lines().map(str::trim_end).filter(|l| !l.trim_ascii().is_empty()).collect::<Vec<_>>().join(" ");
            set(&mut d.remittance_info, &joined);
            None
        }
    }
}

fn counterparty(
    d: &mut TransactionDetail,
    direction: Direction,
    name: Option<Text>,
    account: Option<Text>,
    bic: Option<Text>,
) {
    match direction {
        Direction::Credit => {
            d.debtor_name = d.debtor_name.take().or(name);
            d.debtor_account = d.debtor_account.take().or(account);
            d.debtor_agent_bic = d.debtor_agent_bic.take().or(bic);
        }
        Direction::Debit => {
            d.creditor_name = d.creditor_name.take().or(name);
            d.creditor_account = d.creditor_account.take().or(account);
            d.creditor_agent_bic = d.creditor_agent_bic.take().or(bic);
        }
    }
}

fn memchr_byte(needle: u8, haystack: &[u8]) -> Option<usize> {
    memchr::memchr(needle, haystack)
}

/// SEPA keywords one remittance text can hold that are read as keywords; any further `+` marks stay in
/// the value before them. A GVC text has at most 14 remittance sub-fields of 27 characters (378), and a
/// keyword takes at least 5 of them: 80 is above any real text.
const SEPA_MARKS_MAX: usize = 80;

/// Stores the value of one SEPA keyword (`EREF+`, `SVWZ+`, …) in its field; the first value wins.
fn sepa_value(d: &mut TransactionDetail, direction: Direction, keyword: Sepa, value: &str) {
    let value = value.trim_ascii();
    match keyword {
        Sepa::Eref => {
            if let Some(v) = usable(value) {
                set(&mut d.end_to_end_id, v);
            }
        }
        Sepa::Kref => set(&mut d.instruction_id, value),
        Sepa::Mref => set(&mut d.mandate_id, value),
        Sepa::Cred => set(&mut d.creditor_id, value),
        Sepa::Svwz => set(&mut d.remittance_info, value),
        Sepa::Purp => set(&mut d.purpose_code, value),
        Sepa::Rtrn => set(&mut d.return_reason, value),
        // Ultimate parties are rare: `more` is made only for a value.
        Sepa::Abwa if !value.is_empty() => {
            let m = d.more_mut();
            set(if direction == Direction::Credit { &mut m.ultimate_debtor } else { &mut m.ultimate_creditor }, value)
        }
        Sepa::Abwe if !value.is_empty() => {
            let m = d.more_mut();
            set(if direction == Direction::Credit { &mut m.ultimate_creditor } else { &mut m.ultimate_debtor }, value)
        }
        _ => {}
    }
}

fn german(text: &str, direction: Direction, remittance: &mut String, d: &mut TransactionDetail) -> Option<Text> {
    // Continuation lines continue the sub-field they break: join them without a separator (the reader
    // already stores GVC texts joined, so this borrows).
    let joined: std::borrow::Cow<'_, str> = if memchr::memchr2(b'\n', b'\r', text.as_bytes()).is_some() {
        std::borrow::Cow::Owned(text.lines().map(|l| l.trim_end_matches(['\r'])).collect())
    } else {
        std::borrow::Cow::Borrowed(text)
    };
    let joined = joined.trim_ascii();
    let gvc = Text::from(&joined[..3]);
    // Sub-fields `?NN`, taken as they are found (no list of them is built).
    remittance.clear();
    let (mut name, mut account, mut bic) = (Text::default(), None, None);
    let mut take = |code: u8, value: &str, d: &mut TransactionDetail| match code {
        0 => set(&mut d.additional_info, value),
        20..=29 | 60..=63 => remittance.push_str(value),
        30 => bic = usable(value).map(Text::from),
        31 => account = usable(value).map(Text::from),
        32 | 33 => name.push_str(value),
        _ => {}
    };
    let bytes = joined.as_bytes();
    let mut start = None;
    let mut current = 0u8;
    let mut i = 3;
    while let Some(offset) = memchr_byte(b'?', &bytes[i..]) {
        let q = i + offset;
        if q + 2 < bytes.len() && bytes[q + 1].is_ascii_digit() && bytes[q + 2].is_ascii_digit() {
            if let Some(s) = start {
                take(current, &joined[s..q], d);
            }
            current = (bytes[q + 1] - b'0') * 10 + (bytes[q + 2] - b'0');
            start = Some(q + 3);
            i = q + 3;
        } else {
            i = q + 1;
        }
    }
    if let Some(s) = start {
        take(current, &joined[s..], d);
    }
    // SEPA keywords split the remittance into typed parts: one pass over the `+` signs, each keyword's
    // value taken when the next keyword (or the end) is found, so no list of keywords is built.
    let remittance: &str = remittance;
    let rb = remittance.as_bytes();
    let mut first_mark = None;
    let mut open: Option<(usize, usize, Sepa)> = None;
    let mut marks = 0usize;
    let mut from = 0;
    while marks < SEPA_MARKS_MAX
        && let Some(offset) = memchr_byte(b'+', &rb[from..])
    {
        let plus = from + offset;
        if let Some((start, len, kw)) = sepa_keyword_before(rb, plus) {
            if let Some((pos, open_len, open_kw)) = open {
                sepa_value(d, direction, open_kw, &remittance[pos + open_len..start]);
            }
            first_mark.get_or_insert(start);
            open = Some((start, len, kw));
            marks += 1;
        }
        from = plus + 1;
    }
    if let Some((pos, len, kw)) = open {
        sepa_value(d, direction, kw, &remittance[pos + len..]);
    }
    match first_mark {
        None => set(&mut d.remittance_info, remittance),
        Some(start) if d.remittance_info.is_none() => set(&mut d.remittance_info, &remittance[..start]),
        Some(_) => {}
    }
    // The name as read, without a second copy unless it needs trimming.
    let name = match usable(&name) {
        Some(trimmed) if trimmed.len() == name.len() => Some(name),
        Some(trimmed) => Some(Text::from(trimmed)),
        None => None,
    };
    counterparty(d, direction, name, account, bic);
    Some(gvc)
}

fn dutch(text: &str, direction: Direction) -> (TransactionDetail, Option<Text>) {
    let joined: String = text.lines().map(|l| l.trim_end_matches(['\r'])).collect();
    let parts: Vec<&str> = joined.trim_ascii().trim_start_matches('/').split('/').collect();
    // Tag, then its value parts up to the next known tag.
    let mut pairs: Vec<(&str, Vec<&str>)> = Vec::new();
    for part in parts {
        if DUTCH_TAGS.contains(&part) {
            pairs.push((part, Vec::new()));
        } else if let Some(last) = pairs.last_mut() {
            last.1.push(part);
        }
    }
    let mut d = TransactionDetail::default();
    let mut code = None;
    let (mut name, mut account, mut bic) = (None, None, None);
    for (tag, values) in &pairs {
        let all = values.join("/");
        let first = values.first().copied().unwrap_or("");
        match *tag {
            "TRCD" => code = usable(first).map(Text::from),
            "EREF" => {
                if let Some(v) = usable(first) {
                    set(&mut d.end_to_end_id, v);
                }
            }
            "MARF" => set(&mut d.mandate_id, first),
            "CSID" => set(&mut d.creditor_id, first),
            "PURP" => set(&mut d.purpose_code, values.iter().find(|v| !v.is_empty()).copied().unwrap_or("")),
            "RTRN" => set(&mut d.return_reason, first),
            "REMI" => {
                // USTD//text, or STRD/CUR/reference
                if values.first() == Some(&"STRD") {
                    let reference = values.get(2).copied().unwrap_or("").trim_ascii();
                    if !reference.is_empty() {
                        set(&mut d.more_mut().creditor_reference, reference);
                    }
                } else {
                    let text = values.iter().skip(1).filter(|v| !v.is_empty()).copied().collect::<Vec<_>>().join("/");
                    set(&mut d.remittance_info, if values.first() == Some(&"USTD") { &text } else { &all });
                }
            }
            "CNTP" | "ORDP" | "BENM" => {
                // IBAN/BIC/NAME/CITY (CNTP) or /ID/NAME… (ORDP, BENM)
                if *tag == "CNTP" {
                    account = account.or(usable(values.first().copied().unwrap_or("")).map(Text::from));
                    bic = bic.or(usable(values.get(1).copied().unwrap_or("")).map(Text::from));
                    name = name.or(usable(values.get(2).copied().unwrap_or("")).map(Text::from));
                } else {
                    let n = values
                        .iter()
                        .skip_while(|v| v.is_empty() || **v == "NAME")
                        .find(|v| !v.is_empty())
                        .copied()
                        .unwrap_or("");
                    name = name.or(usable(n).map(Text::from));
                }
            }
            "NAME" => name = name.or(usable(first).map(Text::from)),
            "IBAN" => account = account.or(usable(first).map(Text::from)),
            "BIC" => bic = bic.or(usable(first).map(Text::from)),
            _ => {}
        }
    }
    counterparty(&mut d, direction, name, account, bic);
    (d, code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn german_gvc_with_sepa_keywords_and_broken_lines() {
        let text = "109?00SEPA-LASTSCHR. RETOURE CORE?109075/629?20EREF+A1.200080779.\n400143254?21.4961336 KREF+SEPA-DA202006?2201221740-34972000-P1 MR\nEF+2?230852HW2723821 CRED+DE41EON0?240000129793 OAMT+11,85 SVWZ+?\n25SONSTIGE GRUENDE ENDABRECHN?26UNG NR. 500106875 ZU VERTRA?2740\n0143254, KUNDENNUM MER 2?2802227779?30CSDBDE71XXX?31DE50712345600\n200691329?32TESTER?33EL";
        assert_eq!(dialect(text), Dialect::GermanGvc);
        let (d, code) = parse_information(text, Direction::Debit);
        assert_eq!(code.as_deref(), Some("109"));
        assert_eq!(d.end_to_end_id.as_deref(), Some("A1.200080779.400143254.4961336"));
        assert_eq!(d.instruction_id.as_deref(), Some("SEPA-DA20200601221740-34972000-P1"));
        assert_eq!(d.mandate_id.as_deref(), Some("20852HW2723821"));
        assert_eq!(d.creditor_id.as_deref(), Some("DE41EON00000129793"));
        assert_eq!(
            d.remittance_info.as_deref(),
            Some("SONSTIGE GRUENDE ENDABRECHNUNG NR. 500106875 ZU VERTRA400143254, KUNDENNUM MER 202227779"),
            "the sub-fields concatenate exactly (the file has no G after VERTRA)"
        );
        assert_eq!(d.creditor_name.as_deref(), Some("TESTEREL"));
        assert_eq!(d.creditor_account.as_deref(), Some("DE50712345600200691329"));
        assert_eq!(d.creditor_agent_bic.as_deref(), Some("CSDBDE71XXX"));
        assert_eq!(d.additional_info.as_deref(), Some("SEPA-LASTSCHR. RETOURE CORE"));
    }

    #[test]
    fn dutch_tags() {
        let text = "/TRCD/00100/CNTP/NL32INGB0000012345/INGBNL2A/ING BANK NV INZAKE WEB/AMSTERDAM/REMI/USTD//Kosten zakelijk betalen 01-10-2014 tot en met 31-12-\n2014/EREF/NOTPROVIDED/";
        assert_eq!(dialect(text), Dialect::DutchTags);
        let (d, code) = parse_information(text, Direction::Debit);
        assert_eq!(code.as_deref(), Some("00100"));
        assert_eq!(d.creditor_account.as_deref(), Some("NL32INGB0000012345"));
        assert_eq!(d.creditor_agent_bic.as_deref(), Some("INGBNL2A"));
        assert_eq!(d.creditor_name.as_deref(), Some("ING BANK NV INZAKE WEB"));
        assert_eq!(d.remittance_info.as_deref(), Some("Kosten zakelijk betalen 01-10-2014 tot en met 31-12-2014"));
        assert_eq!(d.end_to_end_id, None, "NOTPROVIDED is no reference");
    }

    #[test]
    fn a_colon_in_text_is_text() {
        let (d, _) = parse_information("BEA   NR:XXX1234   21.05.11/12.54 DIRCKIII\nKATWIJK,PAS999", Direction::Debit);
        assert_eq!(d.remittance_info.as_deref(), Some("BEA   NR:XXX1234   21.05.11/12.54 DIRCKIII KATWIJK,PAS999"));
    }
}
