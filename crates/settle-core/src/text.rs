//! Text: the short-string type of canonical records, and single-byte text encodings (decoding
//! Windows-1252, ISO-8859-1, CP850 and CP852 bytes to text).
//!
//! Pure functions (no I/O), shared by the MT940 and CSV readers. Code page tables for bytes 0x80–0xFF
//! (CP850, CP852) were generated from the code pages' published mappings (as Python's `codecs` carries
//! them); Windows-1252 and Latin-1 are as in settle-iso20022.

/// The text of a canonical record's field (ids, names, references, remittance lines). Up to 24 bytes
/// are stored inline, without an allocation: most ids, IBANs, BICs and names are shorter, and a
/// statement of a million entries would otherwise make a dozen small allocations per entry. Derefs to
/// `str`; serializes as a string.
pub type Text = compact_str::CompactString;

/// A text encoding bank and channel files come in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TextEncoding {
    Utf8,
    Latin1,
    Windows1252,
    /// DOS Western Europe.
    Cp850,
    /// DOS Central Europe (Polish, Czech, Hungarian banks).
    Cp852,
}

impl TextEncoding {
    pub fn name(self) -> &'static str {
        match self {
            TextEncoding::Utf8 => "UTF-8",
            TextEncoding::Latin1 => "ISO-8859-1",
            TextEncoding::Windows1252 => "Windows-1252",
            TextEncoding::Cp850 => "CP850",
            TextEncoding::Cp852 => "CP852",
        }
    }

    pub fn parse(name: &str) -> Option<TextEncoding> {
        match name.to_ascii_lowercase().replace(['_', ' '], "-").as_str() {
            "utf-8" | "utf8" => Some(TextEncoding::Utf8),
            "iso-8859-1" | "latin1" | "latin-1" => Some(TextEncoding::Latin1),
            "windows-1252" | "cp1252" => Some(TextEncoding::Windows1252),
            "cp850" | "ibm850" => Some(TextEncoding::Cp850),
            "cp852" | "ibm852" => Some(TextEncoding::Cp852),
            _ => None,
        }
    }
}

const CP850: [u16; 128] = [
    0x00C7, 0x00FC, 0x00E9, 0x00E2, 0x00E4, 0x00E0, 0x00E5, 0x00E7, 0x00EA, 0x00EB, 0x00E8, 0x00EF, 0x00EE, 0x00EC,
    0x00C4, 0x00C5, 0x00C9, 0x00E6, 0x00C6, 0x00F4, 0x00F6, 0x00F2, 0x00FB, 0x00F9, 0x00FF, 0x00D6, 0x00DC, 0x00F8,
    0x00A3, 0x00D8, 0x00D7, 0x0192, 0x00E1, 0x00ED, 0x00F3, 0x00FA, 0x00F1, 0x00D1, 0x00AA, 0x00BA, 0x00BF, 0x00AE,
    0x00AC, 0x00BD, 0x00BC, 0x00A1, 0x00AB, 0x00BB, 0x2591, 0x2592, 0x2593, 0x2502, 0x2524, 0x00C1, 0x00C2, 0x00C0,
    0x00A9, 0x2563, 0x2551, 0x2557, 0x255D, 0x00A2, 0x00A5, 0x2510, 0x2514, 0x2534, 0x252C, 0x251C, 0x2500, 0x253C,
    0x00E3, 0x00C3, 0x255A, 0x2554, 0x2569, 0x2566, 0x2560, 0x2550, 0x256C, 0x00A4, 0x00F0, 0x00D0, 0x00CA, 0x00CB,
    0x00C8, 0x0131, 0x00CD, 0x00CE, 0x00CF, 0x2518, 0x250C, 0x2588, 0x2584, 0x00A6, 0x00CC, 0x2580, 0x00D3, 0x00DF,
    0x00D4, 0x00D2, 0x00F5, 0x00D5, 0x00B5, 0x00FE, 0x00DE, 0x00DA, 0x00DB, 0x00D9, 0x00FD, 0x00DD, 0x00AF, 0x00B4,
    0x00AD, 0x00B1, 0x2017, 0x00BE, 0x00B6, 0x00A7, 0x00F7, 0x00B8, 0x00B0, 0x00A8, 0x00B7, 0x00B9, 0x00B3, 0x00B2,
    0x25A0, 0x00A0,
];

const CP852: [u16; 128] = [
    0x00C7, 0x00FC, 0x00E9, 0x00E2, 0x00E4, 0x016F, 0x0107, 0x00E7, 0x0142, 0x00EB, 0x0150, 0x0151, 0x00EE, 0x0179,
    0x00C4, 0x0106, 0x00C9, 0x0139, 0x013A, 0x00F4, 0x00F6, 0x013D, 0x013E, 0x015A, 0x015B, 0x00D6, 0x00DC, 0x0164,
    0x0165, 0x0141, 0x00D7, 0x010D, 0x00E1, 0x00ED, 0x00F3, 0x00FA, 0x0104, 0x0105, 0x017D, 0x017E, 0x0118, 0x0119,
    0x00AC, 0x017A, 0x010C, 0x015F, 0x00AB, 0x00BB, 0x2591, 0x2592, 0x2593, 0x2502, 0x2524, 0x00C1, 0x00C2, 0x011A,
    0x015E, 0x2563, 0x2551, 0x2557, 0x255D, 0x017B, 0x017C, 0x2510, 0x2514, 0x2534, 0x252C, 0x251C, 0x2500, 0x253C,
    0x0102, 0x0103, 0x255A, 0x2554, 0x2569, 0x2566, 0x2560, 0x2550, 0x256C, 0x00A4, 0x0111, 0x0110, 0x010E, 0x00CB,
    0x010F, 0x0147, 0x00CD, 0x00CE, 0x011B, 0x2518, 0x250C, 0x2588, 0x2584, 0x0162, 0x016E, 0x2580, 0x00D3, 0x00DF,
    0x00D4, 0x0143, 0x0144, 0x0148, 0x0160, 0x0161, 0x0154, 0x00DA, 0x0155, 0x0170, 0x00FD, 0x00DD, 0x0163, 0x00B4,
    0x00AD, 0x02DD, 0x02DB, 0x02C7, 0x02D8, 0x00A7, 0x00F7, 0x00B8, 0x00B0, 0x00A8, 0x02D9, 0x0171, 0x0158, 0x0159,
    0x25A0, 0x00A0,
];

const CP1252: [u16; 32] = [
    0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008D,
    0x017D, 0x008F, 0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A,
    0x0153, 0x009D, 0x017E, 0x0178,
];

pub fn decode_byte(encoding: TextEncoding, b: u8) -> char {
    let code = match (encoding, b) {
        (_, 0..=0x7F) => u32::from(b),
        (TextEncoding::Cp850, _) => u32::from(CP850[usize::from(b - 0x80)]),
        (TextEncoding::Cp852, _) => u32::from(CP852[usize::from(b - 0x80)]),
        (TextEncoding::Windows1252, 0x80..=0x9F) => u32::from(CP1252[usize::from(b - 0x80)]),
        _ => u32::from(b),
    };
    char::from_u32(code).unwrap_or('\u{FFFD}')
}

/// What `scan_lines` found wrong with a text file's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineFault {
    /// A NUL byte at byte `at`, on line `line` (from 1): a binary, padded or damaged file.
    Nul { line: u64, at: usize },
    /// Line `line` runs at least `length` bytes, over the limit.
    TooLong { line: u64, length: usize },
}

/// The pass every line-based input (CSV, MT940) gets before it is parsed: no NUL byte and no line longer
/// than `line_bytes_max`, so a damaged or hostile file is refused before a parser's buffer grows to hold
/// it. A line ends at `\n` or `\r`; lines are numbered by `\n`. One memchr pass (≈ 3.5 GB/s).
pub fn scan_lines(bytes: &[u8], line_bytes_max: usize) -> Result<(), LineFault> {
    let (mut line, mut line_start) = (1u64, 0usize);
    // Bounded by the bytes: each round moves past one NUL or line end, or ends.
    for at in memchr::memchr3_iter(0, b'\n', b'\r', bytes).chain(std::iter::once(bytes.len())) {
        if at - line_start > line_bytes_max {
            return Err(LineFault::TooLong { line, length: at - line_start });
        }
        if at == bytes.len() {
            break;
        }
        match bytes[at] {
            0 => return Err(LineFault::Nul { line, at }),
            b'\n' => line += 1,
            _ => {}
        }
        line_start = at + 1;
    }
    Ok(())
}

/// Decodes with a single-byte encoding (UTF-8 input should use `str::from_utf8`).
pub fn decode_single_byte(bytes: &[u8], encoding: TextEncoding) -> String {
    bytes.iter().map(|b| decode_byte(encoding, *b)).collect()
}

#[cfg(test)]
mod scan_tests {
    use super::*;

    #[test]
    fn scan_lines_names_the_line_of_a_nul_or_an_overlong_line() {
        assert_eq!(scan_lines(b"a,b\r\nc,d\n", 3), Ok(()));
        assert_eq!(scan_lines(b"a\nb\0c\n", 8), Err(LineFault::Nul { line: 2, at: 3 }));
        assert_eq!(scan_lines(b"ab\nabcd\n", 3), Err(LineFault::TooLong { line: 2, length: 4 }));
        // A last line without its end is measured too; `\r` alone ends a line (old Mac files).
        assert_eq!(scan_lines(b"ab\nabcd", 3), Err(LineFault::TooLong { line: 2, length: 4 }));
        assert_eq!(scan_lines(b"abc\rabc\rabc", 3), Ok(()));
    }
}

/// Whether `c` has no place in an id, a code or a payment text: a control character (Unicode category
/// Cc: C0 but tab, line feed and carriage return, DEL, C1), an invisible format character (Cf: the byte
/// order mark U+FEFF, zero-width spaces and joiners, the bidirectional overrides U+202A–U+202E and
/// isolates U+2066–U+2069 that reorder a name on screen, soft hyphens, tags), a surrogate or private-use
/// code point, or a Unicode non-character (U+FDD0–U+FDEF, U+xFFFE, U+xFFFF). XML 1.0 forbids most
/// of them outright; the rest make two different texts look the same.
pub fn is_hidden_or_control(c: char) -> bool {
    use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};
    if c.is_ascii() {
        return c.is_ascii_control() && !matches!(c, '\t' | '\n' | '\r');
    }
    let code = u32::from(c);
    let noncharacter = (0xFDD0..=0xFDEF).contains(&code) || code & 0xFFFE == 0xFFFE;
    noncharacter
        || matches!(
            c.general_category(),
            GeneralCategory::Control
                | GeneralCategory::Format
                | GeneralCategory::Surrogate
                | GeneralCategory::PrivateUse
        )
}

/// `text` without the characters `is_hidden_or_control` refuses (tab, line feed and carriage return
/// become spaces when `spaces` is set); borrowed when there are none.
pub fn without_hidden(text: &str, spaces: bool) -> std::borrow::Cow<'_, str> {
    let changes = |c: char| is_hidden_or_control(c) || (spaces && matches!(c, '\t' | '\n' | '\r'));
    // Most texts have no byte a hidden character (or, with `spaces`, a line break) can start with.
    let candidate =
        |b: &u8| *b == 0 || HIDDEN_LEADS[usize::from(*b)] || (spaces && matches!(*b, b'\t' | b'\n' | b'\r'));
    if !text.as_bytes().iter().any(candidate) || !text.chars().any(changes) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if !is_hidden_or_control(c) {
            out.push(if spaces && matches!(c, '\t' | '\n' | '\r') { ' ' } else { c });
        }
    }
    std::borrow::Cow::Owned(out)
}

/// At most `max_chars` characters of `text` for a message, with `…` and the full length when cut: a
/// hostile 100 MB name is never echoed whole.
pub fn brief(text: &str, max_chars: usize) -> std::borrow::Cow<'_, str> {
    match text.char_indices().nth(max_chars) {
        None => std::borrow::Cow::Borrowed(text),
        Some((end, _)) => {
            std::borrow::Cow::Owned(format!("{}… ({} characters in all)", &text[..end], text.chars().count()))
        }
    }
}

/// The bytes a UTF-8 hidden or control character (`is_hidden_or_control`) can start with, NUL aside (the
/// readers refuse it): C0 controls but tab/LF/CR, DEL, C2 (C1 controls, soft hyphen), D8/DB/DC
/// (Arabic and Syriac format characters), E0/E1 (U+08E2, U+180E), E2 (U+200B–U+206F), EE/EF (private use,
/// U+FEFF, U+FFF9–U+FFFF, U+FDD0–U+FDEF), F0–F4 (tags, the planes' non-characters, private use planes).
/// `hidden_leads_cover_every_hidden_character` checks it against every code point.
static HIDDEN_LEADS: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 1;
    while b < 0x20 {
        table[b] = !matches!(b as u8, b'\t' | b'\n' | b'\r');
        b += 1;
    }
    let leads = [0x7F, 0xC2, 0xD8, 0xDB, 0xDC, 0xE0, 0xE1, 0xE2, 0xEE, 0xEF, 0xF0, 0xF1, 0xF2, 0xF3, 0xF4];
    let mut i = 0;
    while i < leads.len() {
        table[leads[i]] = true;
        i += 1;
    }
    table
};

/// One hidden or control character `strip_hidden` removed from a text file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stripped {
    /// 1-based line.
    pub line: u64,
    pub character: char,
}

/// A UTF-8 text file (CSV) without the hidden and control characters of `is_hidden_or_control` (a
/// leading byte order mark is kept: readers skip it), with each one removed and its line; `None` when
/// there are none (the common case costs a scan for the lead bytes of such characters). Line breaks are
/// never removed, so line numbers stay the file's; NUL bytes are left for the readers to refuse.
pub fn strip_hidden(bytes: &[u8]) -> Option<(Vec<u8>, Vec<Stripped>)> {
    let start = if bytes.starts_with(b"\xEF\xBB\xBF") { 3 } else { 0 };
    // ASCII controls other than tab/LF/CR, and the lead bytes a hidden character can have
    // (`HIDDEN_LEADS`): each is decoded and checked; nothing is copied unless one is hidden. Letters
    // such as é and ü (lead bytes C3, C5, …) are skipped without decoding.
    let mut found: Vec<(usize, usize, char)> = Vec::new();
    let mut at = start;
    while let Some(offset) = bytes[at..].iter().position(|&b| HIDDEN_LEADS[usize::from(b)]) {
        at += offset;
        let width = match bytes[at] {
            b if b < 0x80 => 1,
            b if b >= 0xF0 => 4,
            b if b >= 0xE0 => 3,
            _ => 2,
        };
        // Not UTF-8 here: the file's reader reports it (or decodes its declared single-byte encoding).
        let c = bytes.get(at..at + width).and_then(|s| std::str::from_utf8(s).ok())?.chars().next()?;
        if is_hidden_or_control(c) {
            found.push((at, width, c));
        }
        at += width;
    }
    if found.is_empty() {
        return None;
    }
    let mut out: Vec<u8> = Vec::with_capacity(bytes.len());
    let mut stripped = Vec::with_capacity(found.len());
    let (mut copied, mut line) = (0usize, 1u64);
    for (at, width, character) in found {
        line += memchr::memchr_iter(b'\n', &bytes[copied..at]).count() as u64;
        out.extend_from_slice(&bytes[copied..at]);
        copied = at + width;
        stripped.push(Stripped { line, character });
    }
    out.extend_from_slice(&bytes[copied..]);
    Some((out, stripped))
}

#[cfg(test)]
mod hidden_tests {
    use super::*;

    #[test]
    fn hidden_and_control_characters_are_told_apart_from_text() {
        for c in [
            '\u{1}',
            '\u{b}',
            '\u{1b}',
            '\u{7f}',
            '\u{85}',
            '\u{9f}',
            '\u{feff}',
            '\u{200b}',
            '\u{202e}',
            '\u{2066}',
            '\u{ad}',
            '\u{fffe}',
            '\u{ffff}',
            '\u{fdd0}',
            '\u{e000}',
            '\u{e0041}',
            '\u{10fffe}',
        ] {
            assert!(is_hidden_or_control(c), "{:04X}", u32::from(c));
        }
        for c in ['a', ' ', '\t', '\n', '\r', 'é', 'ß', '€', '中', '\u{a0}', 'Ω', '\u{1f600}'] {
            assert!(!is_hidden_or_control(c), "{:04X}", u32::from(c));
        }
        assert_eq!(without_hidden("Acme\u{202e}gnp.exe", true), "Acmegnp.exe");
        assert_eq!(without_hidden("A\tB\u{1}C", true), "A BC");
        assert!(matches!(without_hidden("Müller & Söhne", true), std::borrow::Cow::Borrowed(_)));
    }

    #[test]
    fn hidden_leads_cover_every_hidden_character() {
        let mut buf = [0u8; 4];
        for c in (1..=0x10FFFFu32).filter_map(char::from_u32).filter(|&c| is_hidden_or_control(c)) {
            let lead = c.encode_utf8(&mut buf).as_bytes()[0];
            assert!(HIDDEN_LEADS[usize::from(lead)], "U+{:04X} starts with {lead:#04X}", u32::from(c));
        }
    }

    #[test]
    fn a_byte_order_mark_inside_a_csv_is_stripped_naming_its_line() {
        let file = "\u{feff}order_id,amount\nO-1,1.00\n\u{feff}O-2,2.00\nO-\u{200b}3,3.00 €\n".as_bytes();
        let (clean, stripped) = strip_hidden(file).unwrap();
        assert_eq!(clean, "\u{feff}order_id,amount\nO-1,1.00\nO-2,2.00\nO-3,3.00 €\n".as_bytes());
        assert_eq!(
            stripped,
            [Stripped { line: 3, character: '\u{feff}' }, Stripped { line: 4, character: '\u{200b}' }]
        );
        assert!(strip_hidden("\u{feff}a,b\n1,€ é\n".as_bytes()).is_none());
        assert!(strip_hidden(b"a,b\n1,2\n").is_none());
    }
}
