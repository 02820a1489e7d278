//! `:86:` information to account owner, by dialect, mapped to a canonical `TransactionDetail`.

use settle_core::{Direction, TransactionDetail};

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

const SEPA_KEYWORDS: [&str; 16] = [
    "EREF+", "KREF+", "MREF+", "CRED+", "DEBT+", "SVWZ+", "ABWA+", "ABWE+", "IBAN+", "BIC+", "COAM+", "OAMT+", "SQTP+",
    "PURP+", "RTRN+", "BREF+",
];

/// The SEPA keyword whose `+` is at `plus` in `text`, with its start. Four-letter keywords are compared
/// as one 32-bit word (this runs for every `+` of every German remittance text).
fn sepa_keyword_before(text: &[u8], plus: usize) -> Option<(usize, &'static str)> {
    if plus >= 4 {
        let word = u32::from_le_bytes([text[plus - 4], text[plus - 3], text[plus - 2], text[plus - 1]]);
        for kw in SEPA_KEYWORDS {
            let k = kw.as_bytes();
            if k.len() == 5 && word == u32::from_le_bytes([k[0], k[1], k[2], k[3]]) {
                return Some((plus - 4, kw));
            }
        }
    }
    (plus >= 3 && &text[plus - 3..plus] == b"BIC").then_some((plus - 3, "BIC+"))
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

fn set(slot: &mut Option<String>, value: &str) {
    let v = value.trim_ascii();
    if slot.is_none() && !v.is_empty() {
        *slot = Some(v.to_string());
    }
}

fn usable(value: &str) -> Option<&str> {
    let v = value.trim_ascii();
    (!v.is_empty() && v != "NOTPROVIDED" && v != "NONREF").then_some(v)
}

/// Parses an `:86:` text into a detail. `direction` says which side the counterparty is on: the
/// debtor of a credit, the creditor of a debit. Returns the detail and the GVC (German) or TRCD (Dutch)
/// transaction code when there is one.
pub fn parse_information(text: &str, direction: Direction) -> (TransactionDetail, Option<String>) {
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
) -> Option<String> {
    match dialect(text) {
        Dialect::GermanGvc => german(text, direction, scratch, d),
        Dialect::DutchTags => {
            let (detail, code) = dutch(text, direction);
            *d = detail;
            code
        }
        Dialect::Unstructured => {
            let joined = text.lines().map(str::trim_end).filter(|l| !l.trim().is_empty()).collect::<Vec<_>>().join(" ");
            set(&mut d.remittance_info, &joined);
            None
        }
    }
}

fn counterparty(
    d: &mut TransactionDetail,
    direction: Direction,
    name: Option<String>,
    account: Option<String>,
    bic: Option<String>,
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

fn german(text: &str, direction: Direction, remittance: &mut String, d: &mut TransactionDetail) -> Option<String> {
    // Continuation lines continue the sub-field they break: join them without a separator (the reader
    // already stores GVC texts joined, so this borrows).
    let joined: std::borrow::Cow<'_, str> = if memchr::memchr2(b'\n', b'\r', text.as_bytes()).is_some() {
        std::borrow::Cow::Owned(text.lines().map(|l| l.trim_end_matches(['\r'])).collect())
    } else {
        std::borrow::Cow::Borrowed(text)
    };
    let joined = joined.trim();
    let gvc = joined[..3].to_string();
    // Sub-fields `?NN`, taken as they are found (no list of them is built).
    remittance.clear();
    let (mut name, mut account, mut bic) = (String::new(), None, None);
    let mut take = |code: u8, value: &str, d: &mut TransactionDetail| match code {
        0 => set(&mut d.additional_info, value),
        20..=29 | 60..=63 => remittance.push_str(value),
        30 => bic = usable(value).map(str::to_string),
        31 => account = usable(value).map(str::to_string),
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
    // SEPA keywords split the remittance into typed parts: one pass over the `+` signs.
    let remittance: &str = remittance;
    let mut marks_buf: [(usize, &str); SEPA_MARKS_MAX] = [(0, ""); SEPA_MARKS_MAX];
    let mut marks_len = 0usize;
    let rb = remittance.as_bytes();
    let mut from = 0;
    while let Some(offset) = memchr_byte(b'+', &rb[from..]) {
        let plus = from + offset;
        if marks_len == SEPA_MARKS_MAX {
            break;
        }
        if let Some((start, kw)) = sepa_keyword_before(rb, plus) {
            marks_buf[marks_len] = (start, kw);
            marks_len += 1;
        }
        from = plus + 1;
    }
    let marks = &marks_buf[..marks_len];
    if marks.is_empty() {
        set(&mut d.remittance_info, remittance);
    } else {
        let before = &remittance[..marks[0].0];
        for (n, (pos, kw)) in marks.iter().enumerate() {
            let end = marks.get(n + 1).map_or(remittance.len(), |m| m.0);
            let value = remittance[pos + kw.len()..end].trim();
            match *kw {
                "EREF+" => {
                    if let Some(v) = usable(value) {
                        set(&mut d.end_to_end_id, v);
                    }
                }
                "KREF+" => set(&mut d.instruction_id, value),
                "MREF+" => set(&mut d.mandate_id, value),
                "CRED+" => set(&mut d.creditor_id, value),
                "SVWZ+" => set(&mut d.remittance_info, value),
                "PURP+" => set(&mut d.purpose_code, value),
                "RTRN+" => set(&mut d.return_reason, value),
                "ABWA+" => set(
                    if direction == Direction::Credit { &mut d.ultimate_debtor } else { &mut d.ultimate_creditor },
                    value,
                ),
                "ABWE+" => set(
                    if direction == Direction::Credit { &mut d.ultimate_creditor } else { &mut d.ultimate_debtor },
                    value,
                ),
                _ => {}
            }
        }
        if d.remittance_info.is_none() {
            set(&mut d.remittance_info, before);
        }
    }
    // The name as read, without a second copy unless it needs trimming.
    let name = match usable(&name) {
        Some(trimmed) if trimmed.len() == name.len() => Some(name),
        Some(trimmed) => Some(trimmed.to_string()),
        None => None,
    };
    counterparty(d, direction, name, account, bic);
    Some(gvc)
}

fn dutch(text: &str, direction: Direction) -> (TransactionDetail, Option<String>) {
    let joined: String = text.lines().map(|l| l.trim_end_matches(['\r'])).collect();
    let parts: Vec<&str> = joined.trim().trim_start_matches('/').split('/').collect();
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
            "TRCD" => code = usable(first).map(str::to_string),
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
                    set(&mut d.creditor_reference, values.get(2).copied().unwrap_or(""));
                } else {
                    let text = values.iter().skip(1).filter(|v| !v.is_empty()).copied().collect::<Vec<_>>().join("/");
                    set(&mut d.remittance_info, if values.first() == Some(&"USTD") { &text } else { &all });
                }
            }
            "CNTP" | "ORDP" | "BENM" => {
                // IBAN/BIC/NAME/CITY (CNTP) or /ID/NAME… (ORDP, BENM)
                if *tag == "CNTP" {
                    account = account.or(usable(values.first().copied().unwrap_or("")).map(str::to_string));
                    bic = bic.or(usable(values.get(1).copied().unwrap_or("")).map(str::to_string));
                    name = name.or(usable(values.get(2).copied().unwrap_or("")).map(str::to_string));
                } else {
                    let n = values
                        .iter()
                        .skip_while(|v| v.is_empty() || **v == "NAME")
                        .find(|v| !v.is_empty())
                        .copied()
                        .unwrap_or("");
                    name = name.or(usable(n).map(str::to_string));
                }
            }
            "NAME" => name = name.or(usable(first).map(str::to_string)),
            "IBAN" => account = account.or(usable(first).map(str::to_string)),
            "BIC" => bic = bic.or(usable(first).map(str::to_string)),
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
