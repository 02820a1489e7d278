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
